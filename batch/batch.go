// Package batch reads the CSV files batch operators make, often in Excel on
// Japanese Windows: UTF-8 with or without BOM, or Shift_JIS (CP932),
// detected automatically; CRLF or LF; an optional header in English or
// Japanese; quoted fields; full-width characters (NFKC); blank lines
// ignored. Every problem is reported with its line, column and reason.
package batch

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"
	"golang.org/x/text/transform"
	"golang.org/x/text/unicode/norm"
)

// Encoding names a file encoding.
type Encoding string

// Encodings.
const (
	Auto  Encoding = ""
	UTF8  Encoding = "utf-8"
	CP932 Encoding = "cp932"
)

// ParseEncoding reads an --encoding value.
func ParseEncoding(s string) (Encoding, error) {
	switch strings.ToLower(strings.ReplaceAll(s, "_", "-")) {
	case "", "auto":
		return Auto, nil
	case "utf-8", "utf8":
		return UTF8, nil
	case "cp932", "shift-jis", "sjis", "windows-31j":
		return CP932, nil
	}
	return "", fmt.Errorf("unknown encoding %q (want utf-8 or cp932)", s)
}

// Decode returns data as UTF-8 text: a UTF-8 BOM is dropped; without one,
// data that is not valid UTF-8 is read as CP932 (Auto). It returns the
// encoding it used.
func Decode(data []byte, enc Encoding) ([]byte, Encoding, error) {
	if enc == Auto {
		enc = CP932
		if bytes.HasPrefix(data, []byte("\xef\xbb\xbf")) || utf8.Valid(data) {
			enc = UTF8
		}
	}
	if enc == UTF8 {
		data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
		if !utf8.Valid(data) {
			return nil, enc, errors.New("the file is not valid UTF-8 (try --encoding cp932)")
		}
		return data, enc, nil
	}
	out, _, err := transform.Bytes(japanese.ShiftJIS.NewDecoder(), data)
	if err != nil {
		return nil, enc, fmt.Errorf("the file is not valid CP932: %w", err)
	}
	return out, enc, nil
}

// Column is a field the importer knows, with the header names it accepts.
type Column struct {
	Name    string   // canonical English name
	Headers []string // accepted header texts, compared after NFKC and lower-casing
}

// Problem is one invalid cell or row.
type Problem struct {
	Line   int    // 1-based line in the file
	Column int    // 1-based column; 0 for the whole row
	Field  string // the column's name
	Code   string // machine-readable reason
	Msg    string // English detail
	// Err is the error behind the problem, for callers that word it (an
	// invalid MyKey ID or patron number, a registry refusal).
	Err error
	// Earlier is the first line of a duplicate (Code "duplicate").
	Earlier int
}

func (p Problem) String() string {
	if p.Column > 0 {
		return fmt.Sprintf("line %d, column %d (%s): %s", p.Line, p.Column, p.Field, p.Msg)
	}
	return fmt.Sprintf("line %d: %s", p.Line, p.Msg)
}

// Record is one data row: its line and its fields, each normalised with
// NFKC and trimmed. It is valid only during the callback.
type Record struct {
	Line  int
	names []string // column name of each field
	vals  []string
}

// Get returns the field of column name ("" when absent).
func (r Record) Get(name string) string {
	for i, n := range r.names {
		if n == name && i < len(r.vals) {
			return r.vals[i]
		}
	}
	return ""
}

// Col returns the 1-based column of name in this row (0 when absent).
func (r Record) Col(name string) int {
	for i, n := range r.names {
		if n == name {
			return i + 1
		}
	}
	return 0
}

// Normalize is NFKC plus trimming, as every cell gets. ASCII, which NFKC
// leaves as it is, skips the normalisation (most cells of a big file).
func Normalize(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return strings.TrimSpace(norm.NFKC.String(s))
		}
	}
	return strings.TrimSpace(s)
}

// Read reads CSV text (already decoded). When the first row names known
// columns it is the header; otherwise columns are taken in the order given.
// Rows with more fields than columns, or fewer than required, are problems.
// A line the CSV reader cannot parse (a stray quote) is a problem too, and
// reading goes on at the next line: no row after it vanishes. fn is called
// for every data row; returning false stops the read.
func Read(text []byte, cols []Column, required int, fn func(Record) bool) ([]Problem, error) {
	probs, _, err := ReadCounting(text, cols, required, fn)
	return probs, err
}

// Counts says what the lines of a file were besides rows and problems.
type Counts struct {
	Blank  int // blank lines, ignored
	Header int // 1 when the first line named the columns
}

// ReadCounting is Read that also counts the blank lines and the header, so
// that a summary can account for every line.
func ReadCounting(text []byte, cols []Column, required int, fn func(Record) bool) ([]Problem, Counts, error) {
	order := make([]string, len(cols))
	for i, c := range cols {
		order[i] = c.Name
	}
	rd := &reader{cols: cols, order: order, required: required, fn: fn, first: true}
	for offset, base := 0, 0; offset < len(text); {
		line, err := rd.read(text[offset:], base)
		if err != nil || line == 0 {
			return rd.probs, rd.counts, err
		}
		// Go on at the line after the one that broke: skip its lines.
		for n := line - base; n > 0 && offset < len(text); n-- {
			if i := bytes.IndexByte(text[offset:], '\n'); i >= 0 {
				offset += i + 1
			} else {
				offset = len(text)
			}
		}
		base = line
	}
	return rd.probs, rd.counts, nil
}

// reader is the state of one Read.
type reader struct {
	cols     []Column
	order    []string
	required int
	fn       func(Record) bool
	first    bool
	probs    []Problem
	vals     []string
	counts   Counts
}

// read reads text, whose first line is line base+1, until its end (0), or
// until a line it cannot parse: it records the problem and returns that
// line's number.
func (rd *reader) read(text []byte, base int) (int, error) {
	r := csv.NewReader(bytes.NewReader(text))
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return 0, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				rd.probs = append(rd.probs, Problem{Line: base + pe.StartLine, Column: pe.Column, Code: "csv", Msg: pe.Err.Error()})
				return base + pe.StartLine, nil
			}
			return 0, err
		}
		line, _ := r.FieldPos(0)
		if !rd.row(rec, base+line) {
			return 0, nil
		}
	}
}

// row handles one record; false stops the read.
func (rd *reader) row(rec []string, line int) bool {
	order := rd.order
	switch {
	case allBlank(rec):
		rd.counts.Blank++
		return true
	case rd.first:
		rd.first = false
		if h, ok := header(rec, rd.cols); ok {
			rd.order, rd.counts.Header = h, 1
			return true
		}
	}
	if len(rec) > len(order) {
		rd.probs = append(rd.probs, Problem{Line: line, Column: len(order) + 1, Code: "extra-field", Msg: fmt.Sprintf("%d fields, at most %d expected", len(rec), len(order))})
		return true
	}
	if len(rec) < rd.required {
		rd.probs = append(rd.probs, Problem{Line: line, Column: len(rec) + 1, Field: order[min(len(rec), len(order)-1)], Code: "missing-field", Msg: fmt.Sprintf("%d fields, at least %d expected", len(rec), rd.required)})
		return true
	}
	rd.vals = rd.vals[:0]
	for _, v := range rec {
		rd.vals = append(rd.vals, Normalize(v))
	}
	return rd.fn(Record{Line: line, names: order, vals: rd.vals})
}

func allBlank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// header maps a header row to column names, if every cell names a column.
func header(rec []string, cols []Column) ([]string, bool) {
	out := make([]string, len(rec))
	for i, cell := range rec {
		h := strings.ToLower(strings.ReplaceAll(Normalize(cell), " ", ""))
		found := false
		for _, c := range cols {
			for _, name := range c.Headers {
				if h == strings.ToLower(strings.ReplaceAll(Normalize(name), " ", "")) {
					out[i], found = c.Name, true
				}
			}
		}
		if !found {
			return nil, false
		}
	}
	return out, true
}

// Neutralize makes a cell safe to open in Excel: a cell starting with = + -
// or @ (a formula) gets a leading apostrophe.
func Neutralize(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// Encode converts UTF-8 text to enc for writing.
func Encode(text []byte, enc Encoding) ([]byte, error) {
	if enc != CP932 {
		return text, nil
	}
	out, _, err := transform.Bytes(japanese.ShiftJIS.NewEncoder(), text)
	return out, err
}
