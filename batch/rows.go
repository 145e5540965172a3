package batch

import (
	"bytes"
	"encoding/csv"
	"errors"
	"slices"
	"strings"
	"time"

	"github.com/mykey-jp/mykey/keyid"
	"github.com/mykey-jp/mykey/store"
)

// LinkColumns are the columns of a links file.
var LinkColumns = []Column{
	{Name: "mykey_id", Headers: []string{"mykey_id", "mykey id", "mykeyid", "マイキーID", "マイキー ID"}},
	{Name: "patron", Headers: []string{"patron", "patron_number", "patron number", "利用者番号", "利用者ID", "図書館カード番号"}},
	{Name: "service", Headers: []string{"service", "サービス"}},
}

// PatronColumns are the columns of a roster file.
var PatronColumns = []Column{
	{Name: "patron", Headers: []string{"patron", "patron_number", "patron number", "利用者番号", "利用者ID", "図書館カード番号"}},
	{Name: "status", Headers: []string{"status", "状態", "ステータス"}},
	{Name: "expires", Headers: []string{"expires", "expiry", "有効期限", "期限"}},
}

// Problem codes beyond the reader's own ("csv", "extra-field",
// "missing-field"); the registry's refusals use store.Outcome's words.
const (
	CodeInvalidID     = "invalid-id"
	CodeInvalidPatron = "invalid-patron"
	CodeDuplicate     = "duplicate" // Earlier names the first line
	CodeInvalidStatus = "invalid-status"
	CodeInvalidDate   = "invalid-date"
)

// Links is a parsed links file.
type Links struct {
	Rows     []store.BatchLink
	Problems []Problem // rows that could not be parsed, in line order
	// IDColumn and PatronColumn are where the fields are (the same in every
	// row), for problems the registry finds later.
	IDColumn, PatronColumn int
	Lines                  int // lines in the file
	Counts                     // blank lines and the header
}

// ParseLinks reads a links file: each row a MyKey ID, a patron number
// checked with rule, and an optional service (default service). progress,
// when not nil, is called every 50,000 rows with the line reached.
func ParseLinks(text []byte, rule *keyid.PatronRule, service string, progress func(line, lines int)) (*Links, error) {
	l := &Links{Lines: bytes.Count(text, []byte{'\n'})}
	if !bytes.HasSuffix(text, []byte{'\n'}) {
		l.Lines++
	}
	l.Rows = make([]store.BatchLink, 0, l.Lines)
	var probs []Problem
	readProbs, counts, err := ReadCounting(text, LinkColumns, 2, func(r Record) bool {
		id, err := keyid.Parse(r.Get("mykey_id"))
		if err != nil {
			probs = append(probs, Problem{Line: r.Line, Column: r.Col("mykey_id"), Field: "mykey_id", Code: CodeInvalidID, Err: err})
			return true
		}
		patron, err := rule.Check(r.Get("patron"))
		if err != nil {
			probs = append(probs, Problem{Line: r.Line, Column: r.Col("patron"), Field: "patron", Code: CodeInvalidPatron, Err: err})
			return true
		}
		svc := service
		if s := r.Get("service"); s != "" {
			svc = s
		}
		l.Rows = append(l.Rows, store.BatchLink{Line: r.Line, Service: svc, MyKeyID: id, Patron: patron})
		l.IDColumn, l.PatronColumn = r.Col("mykey_id"), r.Col("patron")
		if progress != nil && len(l.Rows)%50000 == 0 {
			progress(r.Line, l.Lines)
		}
		return true
	})
	l.Problems, l.Counts = append(readProbs, probs...), counts
	return l, err
}

// Refused turns the registry's verdicts on l's rows into problems at the
// right cell: the patron number's column for refusals about it, the MyKey
// ID's otherwise. It returns the counts of new and unchanged links.
func (l *Links) Refused(results []store.BatchResult) (linked, unchanged int, probs []Problem) {
	for i, x := range results {
		switch x.Outcome {
		case store.BatchLinked:
			linked++
			continue
		case store.BatchUnchanged:
			unchanged++
			continue
		}
		p := Problem{Line: l.Rows[i].Line, Column: l.IDColumn, Field: "mykey_id", Code: x.Outcome, Err: x.Err}
		switch {
		case errors.Is(x.Err, store.ErrDuplicateID):
			p.Code, p.Earlier = CodeDuplicate, x.Earlier
		case errors.Is(x.Err, store.ErrDuplicatePatron):
			p.Code, p.Earlier = CodeDuplicate, x.Earlier
			p.Column, p.Field = l.PatronColumn, "patron"
		case errors.Is(x.Err, store.ErrPatronLinked), errors.Is(x.Err, store.ErrNotInRoster), errors.Is(x.Err, store.ErrPatronInactive):
			p.Column, p.Field = l.PatronColumn, "patron"
		}
		probs = append(probs, p)
	}
	return linked, unchanged, probs
}

// ParseRoster reads a roster file: each row a patron number checked with
// rule, an optional status word (active / inactive, 有効 / 無効 …) and an
// optional expiry date (2027-03-31 or 2027/03/31). A patron number may
// appear once.
func ParseRoster(text []byte, rule *keyid.PatronRule) ([]store.RosterRow, []Problem, error) {
	var rows []store.RosterRow
	var probs []Problem
	seen := map[string]int{}
	readProbs, err := Read(text, PatronColumns, 1, func(r Record) bool {
		bad := func(field, code string, e error, detail string) {
			probs = append(probs, Problem{Line: r.Line, Column: r.Col(field), Field: field, Code: code, Err: e, Msg: detail})
		}
		patron, err := rule.Check(r.Get("patron"))
		if err != nil {
			bad("patron", CodeInvalidPatron, err, "")
			return true
		}
		if l, dup := seen[patron]; dup {
			probs = append(probs, Problem{Line: r.Line, Column: r.Col("patron"), Field: "patron", Code: CodeDuplicate, Earlier: l})
			return true
		}
		seen[patron] = r.Line
		row := store.RosterRow{Patron: patron}
		st := strings.ToLower(r.Get("status"))
		active, ok := ParseStatus(st)
		if !ok {
			bad("status", CodeInvalidStatus, nil, st)
			return true
		}
		row.Active = active
		if e := strings.ReplaceAll(r.Get("expires"), "/", "-"); e != "" {
			if row.Expires, err = time.Parse(time.DateOnly, e); err != nil {
				bad("expires", CodeInvalidDate, nil, e)
				return true
			}
		}
		rows = append(rows, row)
		return true
	})
	if err != nil {
		return nil, nil, err
	}
	probs = append(readProbs, probs...)
	SortProblems(probs)
	return rows, probs, nil
}

// ParseStatus reads a roster status word (lower-cased); empty is active.
func ParseStatus(s string) (active, ok bool) {
	switch s {
	case "", "active", "有効", "1", "true", "yes":
		return true, true
	case "inactive", "無効", "0", "false", "no", "停止":
		return false, true
	}
	return false, false
}

// SortProblems orders problems by line, keeping the order within a line.
func SortProblems(p []Problem) {
	slices.SortStableFunc(p, func(x, y Problem) int { return x.Line - y.Line })
}

// ExportLinks is the export format of the linked entries of service: a
// header row in Japanese, then one row per link, CRLF, every cell
// neutralised against formulas, encoded with enc (UTF-8 gets the BOM Excel
// needs). It returns the file and the number of links.
func ExportLinks(entries []store.Entry, service string, enc Encoding) ([]byte, int, error) {
	var buf bytes.Buffer
	if enc == UTF8 {
		buf.WriteString("\xef\xbb\xbf") // Excel reads UTF-8 only with a BOM
	}
	w := csv.NewWriter(&buf)
	w.UseCRLF = true
	w.Write([]string{"マイキーID", "利用者番号", "サービス"})
	n := 0
	for _, e := range entries {
		if e.Link == nil {
			continue
		}
		w.Write([]string{Neutralize(string(e.MyKeyID)), Neutralize(e.Link.Patron), Neutralize(service)})
		n++
	}
	w.Flush()
	out, err := Encode(buf.Bytes(), enc)
	return out, n, err
}
