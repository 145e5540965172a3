package batch

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"
)

var cols = []Column{
	{Name: "mykey_id", Headers: []string{"mykey_id", "マイキーID"}},
	{Name: "patron", Headers: []string{"patron", "利用者番号"}},
}

func read(t *testing.T, text string) ([]Record, []Problem) {
	t.Helper()
	var recs []Record
	probs, err := Read([]byte(text), cols, 2, func(r Record) bool {
		r.vals = append([]string(nil), r.vals...) // keep past the callback
		recs = append(recs, r)
		return true
	})
	if err != nil {
		t.Fatal(err)
	}
	return recs, probs
}

func TestDecode(t *testing.T) {
	sjis, _, _ := transform.String(japanese.ShiftJIS.NewEncoder(), "マイキーID,利用者番号\r\nABC,１２３\r\n")
	for name, tt := range map[string]struct {
		in   string
		enc  Encoding
		want Encoding
	}{
		"utf-8":     {"マイキーID,利用者番号\n", Auto, UTF8},
		"utf-8 BOM": {"\xef\xbb\xbfマイキーID,利用者番号\n", Auto, UTF8},
		"cp932":     {sjis, Auto, CP932},
		"forced":    {sjis, CP932, CP932},
	} {
		out, enc, err := Decode([]byte(tt.in), tt.enc)
		if err != nil || enc != tt.want || !strings.HasPrefix(string(out), "マイキーID") {
			t.Errorf("%s: %q %s %v", name, out, enc, err)
		}
	}
	if _, _, err := Decode([]byte(sjis), UTF8); err == nil {
		t.Error("CP932 accepted as UTF-8")
	}
}

func TestHeadersAndRows(t *testing.T) {
	recs, probs := read(t, "利用者番号,マイキーID\r\n\"１２３\",ab-cd\r\n\r\n,\n456,EF\n")
	if len(probs) != 0 || len(recs) != 2 {
		t.Fatalf("%+v %+v", recs, probs)
	}
	if recs[0].Get("patron") != "123" || recs[0].Get("mykey_id") != "ab-cd" || recs[0].Line != 2 || recs[0].Col("mykey_id") != 2 {
		t.Errorf("first row %+v", recs[0])
	}
	if recs[1].Line != 5 {
		t.Errorf("second row at line %d", recs[1].Line)
	}
	// Without a header, columns come in order.
	recs, _ = read(t, "X1,999\n")
	if recs[0].Get("mykey_id") != "X1" || recs[0].Line != 1 {
		t.Errorf("headerless %+v", recs[0])
	}
	_, probs = read(t, "a,b,c\nd\n\"open,quote\n")
	codes := []string{}
	for _, p := range probs {
		codes = append(codes, p.Code)
	}
	if strings.Join(codes, " ") != "extra-field missing-field csv" {
		t.Errorf("problems %+v", probs)
	}
}

func TestNeutralize(t *testing.T) {
	for in, want := range map[string]string{"=1+1": "'=1+1", "+81": "'+81", "-5": "'-5", "@SUM(A1)": "'@SUM(A1)", "12345": "12345", "": ""} {
		if got := Neutralize(in); got != want {
			t.Errorf("Neutralize(%q) = %q", in, got)
		}
	}
}

// TestBrokenQuoteMidFile: a line with a stray quote is a problem at its
// line, and the rows after it are still read.
func TestBrokenQuoteMidFile(t *testing.T) {
	text := []byte("a,1\nb,2\nc\"x,3\nd,\"4\ne,5\n\"f,6\ng,7\n")
	var lines []int
	probs, err := Read(text, cols, 2, func(r Record) bool { lines = append(lines, r.Line); return true })
	if err != nil {
		t.Fatal(err)
	}
	var bad []int
	for _, p := range probs {
		bad = append(bad, p.Line)
	}
	// Every line is a row or a problem: 1, 2 rows; 3 a bare quote; 4 an
	// unterminated quote (which would swallow the rest of the file); 5 a
	// row; 6 another unterminated quote; 7 a row.
	if fmt.Sprint(lines) != "[1 2 5 7]" || fmt.Sprint(bad) != "[3 4 6]" {
		t.Fatalf("rows at %v, problems at %v (%+v)", lines, bad, probs)
	}
}

// FuzzRead feeds the CSV reader anything: it never panics, never loses a
// line (every non-blank line is a row, a problem or the header), and its
// line numbers are lines of the file.
func FuzzRead(f *testing.F) {
	f.Add([]byte("マイキーID,利用者番号\r\nABC,123\r\n"))
	f.Add([]byte("\"a\"\"b\",c\n"))
	f.Add([]byte("a,1\nb\"x,2\nc,\"3\nd,4\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		text, _, err := Decode(data, Auto)
		if err != nil {
			return
		}
		lines := bytes.Count(text, []byte{'\n'}) + 1
		seen := map[int]bool{}
		probs, err := Read(text, cols, 2, func(r Record) bool { seen[r.Line] = true; return true })
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range probs {
			seen[p.Line] = true
		}
		for l := range seen {
			if l < 1 || l > lines {
				t.Fatalf("line %d of a %d-line text", l, lines)
			}
		}
		if bytes.ContainsAny(text, "\"\r") {
			return // quoted fields may span lines; CR counts differ
		}
		for i, line := range bytes.Split(text, []byte{'\n'}) {
			if len(bytes.TrimSpace(bytes.ReplaceAll(line, []byte(","), nil))) > 0 && !seen[i+1] && i > 0 {
				t.Fatalf("line %d (%q) vanished", i+1, line)
			}
		}
	})
}
