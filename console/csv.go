package console

import (
	"encoding/csv"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mykey-jp/mykey/store"
)

// writeAuditCSV writes audit entries as CSV (UTF-8 with a BOM, for Excel).
// A cell that a spreadsheet would run as a formula is quoted with a
// leading apostrophe.
func writeAuditCSV(w io.Writer, entries []store.AuditEntry) {
	io.WriteString(w, "\ufeff")
	c := csv.NewWriter(w)
	c.UseCRLF = true
	c.Write([]string{"seq", "at", "user", "action", "mykey_id", "outcome", "detail"})
	for _, e := range entries {
		c.Write([]string{strconv.FormatInt(e.Seq, 10), e.At.Local().Format(time.RFC3339), cell(e.User), e.Action, string(e.MyKeyID), e.Outcome, cell(e.Detail)})
	}
	c.Flush()
}

// cell keeps a spreadsheet from reading a value as a formula.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

func sortedKeys(m map[string]int) []string {
	k := make([]string, 0, len(m))
	for s := range m {
		k = append(k, s)
	}
	sort.Strings(k)
	return k
}
