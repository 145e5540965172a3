package keyboardwedge

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/keyid"
)

// recorder is an Injector that records keys; onKey runs before each.
type recorder struct {
	got   strings.Builder
	onKey func(n int)
	n     int
}

func (r *recorder) TypeChar(_ context.Context, c rune) error {
	r.step()
	r.got.WriteRune(c)
	return nil
}

func (r *recorder) Press(_ context.Context, k Key) error {
	r.step()
	r.got.WriteString(k.String())
	return nil
}

func (r *recorder) step() {
	if r.onKey != nil {
		r.onKey(r.n)
	}
	r.n++
}

// focus is a FocusReader whose answer the test changes.
type focus struct {
	w   Window
	err error
}

func (f *focus) Focused(context.Context) (Window, error) { return f.w, f.err }

var ils = Window{ID: 0x400001, PID: 42, Exe: "ils.exe", Title: "貸出 - 図書館システム"}
var notepad = Window{ID: 0x500001, PID: 43, Exe: "notepad.exe", Title: "無題 - メモ帳"}

func typer(t *testing.T, tmpl string, f FocusReader, g Guard) (*Typer, *recorder) {
	tp, err := ParseTemplate(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	r := &recorder{}
	return &Typer{Injector: r, Focus: f, Guard: g, Template: tp}, r
}

func TestTemplates(t *testing.T) {
	for tmpl, want := range map[string]string{
		"{patron}{enter}":    "12345678{enter}",
		"A{patron}A{enter}":  "A12345678A{enter}",
		"{tab}{patron}{tab}": "{tab}12345678{tab}",
		"ID:{patron}{enter}": "ID:12345678{enter}",
		"{patron}":           "12345678",
		// Pre-keys with modifiers, written in any case, rendered canonically.
		"{Ctrl+F2}{patron}{enter}":    "{ctrl+f2}12345678{enter}",
		"{alt+ctrl+p}{patron}":        "{ctrl+alt+p}12345678",
		"{ctrl+b}{patron}{shift+tab}": "{ctrl+b}12345678{shift+tab}",
		"{alt+1}{patron}":             "{alt+1}12345678",
	} {
		tp, err := ParseTemplate(tmpl)
		if err != nil {
			t.Fatalf("%s: %v", tmpl, err)
		}
		if got := Render(tp.Expand("12345678")); got != want {
			t.Errorf("%s: %q, want %q", tmpl, got, want)
		}
	}
	for _, bad := range []string{"", "{enter}", "{patron}{patron}", "{patron}{esc}", "{patron", "{patron}\n", "{patron}あ",
		"{ctrl+}{patron}", "{+b}{patron}", "{shift+b}{patron}", "{b}{patron}", "{ctrl+ctrl+b}{patron}", "{ctrl+bb}{patron}", "{ctrl+;}{patron}", "{meta+b}{patron}", "{ctrl+patron}"} {
		if _, err := ParseTemplate(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{"１２３４": "1234", " AB-12 ": "AB-12", "ｘｙｚ９": "xyz9"} {
		if got, err := Normalize(in); err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "12 34", "12\t34", "12_34", "図書", "12;rm"} {
		if _, err := Normalize(bad); !errors.Is(err, ErrBadText) {
			t.Errorf("Normalize(%q) = %v", bad, err)
		}
	}
}

func TestTypeIntoAllowedWindow(t *testing.T) {
	f := &focus{w: ils}
	ty, r := typer(t, "{patron}{enter}", f, Guard{Exes: []string{"ILS.EXE"}, Title: regexp.MustCompile("図書館")})
	res, err := ty.Type(context.Background(), "１２３４５６７８")
	if err != nil || r.got.String() != "12345678{enter}" || res.Keys != 9 || res.Window != ils {
		t.Fatalf("Type = %+v, %v; typed %q", res, err, r.got.String())
	}
}

func TestGuardRefuses(t *testing.T) {
	for name, g := range map[string]Guard{
		"exe":   {Exes: []string{"ils.exe"}},
		"title": {Title: regexp.MustCompile("図書館")},
		"both":  {Exes: []string{"notepad.exe"}, Title: regexp.MustCompile("図書館")},
	} {
		ty, r := typer(t, "{patron}{enter}", &focus{w: notepad}, g)
		_, err := ty.Type(context.Background(), "1234")
		var re *RefusedError
		if !errors.As(err, &re) || re.Window != notepad || r.got.Len() != 0 {
			t.Errorf("%s: %v, typed %q", name, err, r.got.String())
		}
	}
	ty, _ := typer(t, "{patron}", &focus{err: ErrNoDisplay}, Guard{})
	if _, err := ty.Type(context.Background(), "1234"); !errors.Is(err, ErrNoDisplay) {
		t.Errorf("no display: %v", err)
	}
}

func TestFocusMovedMidTyping(t *testing.T) {
	f := &focus{w: ils}
	ty, r := typer(t, "{patron}{enter}", f, Guard{})
	r.onKey = func(n int) {
		if n == 3 {
			f.w = notepad // the user clicks elsewhere after the 4th key
		}
	}
	_, err := ty.Type(context.Background(), "12345678")
	var ie *InterruptedError
	if !errors.As(err, &ie) || ie.Typed != "1234" || ie.To != notepad || r.got.String() != "1234" {
		t.Fatalf("err %v, typed %q", err, r.got.String())
	}
}

// fakeIME records opening and closing.
type fakeIME struct {
	open bool
	log  []bool
}

func (f *fakeIME) IsOpen(Window) (bool, error) { return f.open, nil }
func (f *fakeIME) SetOpen(_ Window, o bool) error {
	f.open = o
	f.log = append(f.log, o)
	return nil
}

func TestIMEClosedWhileTyping(t *testing.T) {
	ime := &fakeIME{open: true}
	ty, r := typer(t, "{patron}{enter}", &focus{w: ils}, Guard{})
	ty.IME = ime
	r.onKey = func(int) {
		if ime.open {
			t.Fatal("typed while the IME was open")
		}
	}
	if _, err := ty.Type(context.Background(), "1234"); err != nil {
		t.Fatal(err)
	}
	if !ime.open || len(ime.log) != 2 {
		t.Errorf("IME not restored: %v", ime.log)
	}
	// A closed IME is left alone.
	ime = &fakeIME{}
	ty.IME = ime
	ty.Type(context.Background(), "1234")
	if len(ime.log) != 0 {
		t.Errorf("closed IME touched: %v", ime.log)
	}
}

func TestKeyDelayAndSink(t *testing.T) {
	var b strings.Builder
	tp, _ := ParseTemplate("{patron}{tab}{enter}")
	ty := &Typer{Injector: &TextSink{W: &b}, Template: tp, KeyDelay: 2 * time.Millisecond}
	res, err := ty.Type(context.Background(), "42")
	if err != nil || b.String() != "42\t\n" || res.Took < 8*time.Millisecond {
		t.Fatalf("%q %+v %v", b.String(), res, err)
	}
}

func TestDedup(t *testing.T) {
	now := time.Now()
	d := &Dedup{}
	if !d.Allow("r1", "cardA", now) {
		t.Fatal("first read refused")
	}
	if d.Allow("r1", "cardA", now.Add(time.Hour)) {
		t.Error("card left on the reader typed again")
	}
	if !d.Allow("r2", "cardA", now) || !d.Allow("r1", "cardB", now) {
		t.Error("other reader or other card refused")
	}
	d.Removed("r1")
	if !d.Allow("r1", "cardB", now) {
		t.Error("after removal refused")
	}
	l := &Dedup{Lockout: 10 * time.Second}
	l.Allow("r", "c", now)
	if l.Allow("r", "c", now.Add(5*time.Second)) || !l.Allow("r", "c", now.Add(11*time.Second)) {
		t.Error("lockout not applied")
	}
}

// TestFormat: prefix, padding and check digit, in that order; a check
// digit refuses a number with letters; the zero Format changes nothing.
func TestFormat(t *testing.T) {
	mod10 := func(d string) byte { return keyid.CheckDigitFor(keyid.CheckMod10, d) } // M10W31
	for _, tt := range []struct {
		f       Format
		in, out string
	}{
		{Format{}, "A-12", "A-12"},
		{Format{TrimPrefix: "L"}, "L0042", "0042"},
		{Format{TrimPrefix: "L"}, "0042", "0042"},
		{Format{Width: 6}, "42", "000042"},
		{Format{Width: 2}, "12345", "12345"}, // never cut
		{Format{Check: mod10}, "491234567890", "4912345678904"},
		{Format{TrimPrefix: "L", Width: 12, Check: mod10}, "L91234567890", "0912345678908"},
	} {
		if got, err := tt.f.Apply(tt.in); err != nil || got != tt.out {
			t.Errorf("%+v.Apply(%q) = %q, %v; want %q", tt.f, tt.in, got, err, tt.out)
		}
	}
	if _, err := (Format{Check: mod10}).Apply("A-12"); !errors.Is(err, ErrBadText) {
		t.Errorf("a check digit over letters: %v", err)
	}
	for n := 1; n <= 12; n++ {
		tmpl, err := ParseTemplate(fmt.Sprintf("{f%d}{patron}", n))
		if err != nil || Render(tmpl.Expand("1")) != fmt.Sprintf("{f%d}1", n) {
			t.Errorf("{f%d}: %v", n, err)
		}
	}
	if _, err := ParseTemplate("{f13}{patron}"); err == nil {
		t.Error("{f13} accepted")
	}
}
