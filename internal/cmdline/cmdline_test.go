package cmdline

import (
	"bytes"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
)

func TestFind(t *testing.T) {
	names := []string{"link", "card read", "card pin-status", "id new"}
	for _, tt := range []struct {
		args []string
		want int
		rest []string
	}{
		{[]string{"card", "read", "--json"}, 1, []string{"--json"}},
		{[]string{"link", "--patron", "1"}, 0, []string{"--patron", "1"}},
		{[]string{"card"}, -1, []string{"card"}},
		{[]string{"id", "check"}, -1, []string{"id", "check"}},
		{nil, -1, nil},
	} {
		i, rest := Find(names, tt.args)
		if i != tt.want || !slices.Equal(rest, tt.rest) {
			t.Errorf("Find(%q) = %d %q, want %d %q", tt.args, i, rest, tt.want, tt.rest)
		}
	}
}

func TestParse(t *testing.T) {
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	j := fs.Bool("json", false, "")
	n := fs.Int("n", 0, "")
	pos, err := Parse(fs, []string{"a", "--json", "b", "-n", "3", "--", "--not-a-flag", "c"})
	if err != nil || !*j || *n != 3 || !slices.Equal(pos, []string{"a", "b", "--not-a-flag", "c"}) {
		t.Fatalf("Parse = %q, %v (json %v, n %d)", pos, err, *j, *n)
	}
	if _, err := Parse(fs, []string{"a", "--nope"}); err == nil {
		t.Fatal("an unknown flag after an argument was accepted")
	}
	if !IsSet(fs, "json") || IsSet(fs, "nothing") {
		t.Fatal("IsSet")
	}
}

func TestCheckArgs(t *testing.T) {
	for _, tt := range []struct {
		spec    string
		args    []string
		extra   bool
		missing string
	}{
		{"", nil, false, ""},
		{"", []string{"x"}, true, ""},
		{"FILE", nil, false, "FILE"},
		{"FILE", []string{"a"}, false, ""},
		{"FILE", []string{"a", "b"}, false, "FILE"},
		{"ID...", nil, false, "ID"},
		{"ID...", []string{"a", "b", "c"}, false, ""},
		{"*", []string{"a", "b"}, false, ""},
	} {
		extra, missing := CheckArgs(tt.spec, tt.args)
		if extra != tt.extra || missing != tt.missing {
			t.Errorf("CheckArgs(%q, %q) = %v %q, want %v %q", tt.spec, tt.args, extra, missing, tt.extra, tt.missing)
		}
	}
}

func TestLookup(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
		ok   bool
	}{
		{[]string{"--lang", "en", "version"}, "en", true},
		{[]string{"version", "--lang=ja"}, "ja", true},
		{[]string{"--lang=ja", "--lang", "en"}, "en", true}, // the last wins
		{[]string{"--language", "en"}, "", false},
		{[]string{"--lang"}, "", false},
		{[]string{"version"}, "", false},
	} {
		if v, ok := Lookup(tt.args, "lang"); v != tt.want || ok != tt.ok {
			t.Errorf("Lookup(%q) = %q %v, want %q %v", tt.args, v, ok, tt.want, tt.ok)
		}
	}
}

func TestHelpLayout(t *testing.T) {
	var b bytes.Buffer
	WriteCommands(&b, map[string]string{"z": "last", "a b": "first"})
	if got := b.String(); got != "  a b              first\n  z                last\n" {
		t.Errorf("WriteCommands:\n%s", got)
	}
	b.Reset()
	fs := flag.NewFlagSet("x", flag.ContinueOnError)
	fs.String("reader", "", "card reader `NAME`")
	WriteFlags(&b, fs)
	if !strings.Contains(b.String(), "--reader NAME") {
		t.Errorf("WriteFlags:\n%s", b.String())
	}
}
