package batch

import (
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

func FuzzRead(f *testing.F) {
	f.Add([]byte("マイキーID,利用者番号\r\nABC,123\r\n"))
	f.Add([]byte("\"a\"\"b\",c\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		text, _, err := Decode(data, Auto)
		if err != nil {
			return
		}
		Read(text, cols, 2, func(Record) bool { return true })
	})
}
