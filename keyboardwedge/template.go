package keyboardwedge

import (
	"fmt"
	"strings"
)

// Key is a real key the wedge presses, possibly with modifiers held.
type Key int

// The keys a template may name: Enter, Tab, and the function keys F1–F12
// (KeyF1 + n - 1), which a library system may need pressed to focus its
// patron field. A letter or digit key is its lower-case ASCII code and is
// only pressed with Ctrl or Alt (alone it is typed as a character).
const (
	KeyEnter Key = iota + 1
	KeyTab
	KeyF1
	KeyF12 = KeyF1 + 11
)

// Modifiers held while a key is pressed, or-ed into a Key.
const (
	ModCtrl  Key = 1 << 8
	ModAlt   Key = 1 << 9
	ModShift Key = 1 << 10
	modMask      = ModCtrl | ModAlt | ModShift
)

var modNames = []struct {
	mod  Key
	name string
}{{ModCtrl, "ctrl"}, {ModAlt, "alt"}, {ModShift, "shift"}}

// Base returns the key without its modifiers.
func (k Key) Base() Key { return k &^ modMask }

// Mods returns the modifiers held with the key.
func (k Key) Mods() Key { return k & modMask }

// FunctionKey reports whether k's base is F1–F12, and which.
func (k Key) FunctionKey() (n int, ok bool) {
	b := k.Base()
	return int(b-KeyF1) + 1, b >= KeyF1 && b <= KeyF12
}

// Char returns the letter or digit of a letter or digit key.
func (k Key) Char() (rune, bool) {
	b := rune(k.Base())
	return b, b >= 'a' && b <= 'z' || b >= '0' && b <= '9'
}

// name is the base key's name in a placeholder: "enter", "f2", "b".
func (k Key) name() string {
	switch k.Base() {
	case KeyEnter:
		return "enter"
	case KeyTab:
		return "tab"
	}
	if n, ok := k.FunctionKey(); ok {
		return fmt.Sprintf("f%d", n)
	}
	if c, ok := k.Char(); ok {
		return string(c)
	}
	return "?"
}

func (k Key) String() string {
	var b strings.Builder
	b.WriteByte('{')
	for _, m := range modNames {
		if k&m.mod != 0 {
			b.WriteString(m.name + "+")
		}
	}
	b.WriteString(k.name() + "}")
	return b.String()
}

// keyNamed returns the key a placeholder names ("{enter}", "{f2}",
// "{ctrl+f2}", "{alt+p}"), 0 for none. A letter or digit needs Ctrl or
// Alt; each modifier may be named once.
func keyNamed(p string) Key {
	if len(p) < 3 || p[0] != '{' || p[len(p)-1] != '}' {
		return 0
	}
	names := strings.Split(strings.ToLower(p[1:len(p)-1]), "+")
	var k Key
next:
	for _, n := range names[:len(names)-1] {
		for _, m := range modNames {
			if m.name == n && k&m.mod == 0 {
				k |= m.mod
				continue next
			}
		}
		return 0
	}
	last := names[len(names)-1]
	for b := KeyEnter; b <= KeyF12; b++ {
		if b.name() == last {
			return k | b
		}
	}
	if len(last) != 1 || k&(ModCtrl|ModAlt) == 0 {
		return 0
	}
	if _, ok := Key(last[0]).Char(); ok {
		return k | Key(last[0])
	}
	return 0
}

// Step is one element of an expanded template: a character or a key.
type Step struct {
	Char rune // when Key == 0
	Key  Key
}

// Template is a parsed output template.
type Template struct {
	src   string
	parts []part
}

type part struct {
	literal string
	key     Key
	patron  bool
}

// Placeholders a template may use.
var Placeholders = []string{"{patron}", "{tab}", "{enter}", "{f1}…{f12}", "{ctrl+…}", "{alt+…}", "{shift+…}"}

// ParseTemplate parses an output template: {patron} exactly once, {tab},
// {enter} and {f1}…{f12} as keys, optionally with modifiers ("{ctrl+f2}",
// "{ctrl+b}", "{alt+p}"; a letter or digit needs Ctrl or Alt), and
// printable ASCII literals around them (for example Codabar start and stop
// letters: "A{patron}A{enter}", or a key that focuses the patron field
// first: "{f2}{patron}{enter}").
func ParseTemplate(s string) (*Template, error) {
	t := &Template{src: s}
	if strings.Count(s, "{patron}") != 1 {
		return nil, fmt.Errorf("template %q must contain {patron} exactly once", s)
	}
	rest := s
	for rest != "" {
		if rest[0] == '{' {
			end := strings.IndexByte(rest, '}')
			switch {
			case end >= 0 && rest[:end+1] == "{patron}":
				t.parts = append(t.parts, part{patron: true})
			case end >= 0 && keyNamed(rest[:end+1]) != 0:
				t.parts = append(t.parts, part{key: keyNamed(rest[:end+1])})
			default:
				return nil, fmt.Errorf("template %q: unknown placeholder (known: %s)", s, strings.Join(Placeholders, " "))
			}
			rest = rest[end+1:]
			continue
		}
		if rest[0] < 0x20 || rest[0] > 0x7e {
			return nil, fmt.Errorf("template %q: literal text must be printable ASCII", s)
		}
		if n := len(t.parts); n > 0 && t.parts[n-1].literal != "" {
			t.parts[n-1].literal += rest[:1]
		} else {
			t.parts = append(t.parts, part{literal: rest[:1]})
		}
		rest = rest[1:]
	}
	return t, nil
}

// String returns the template as written.
func (t *Template) String() string { return t.src }

// Expand returns the steps that type patron (already normalised).
func (t *Template) Expand(patron string) []Step {
	var out []Step
	for _, p := range t.parts {
		switch {
		case p.patron:
			for _, r := range patron {
				out = append(out, Step{Char: r})
			}
		case p.key != 0:
			out = append(out, Step{Key: p.key})
		default:
			for _, r := range p.literal {
				out = append(out, Step{Char: r})
			}
		}
	}
	return out
}

// Render shows steps as text: characters as they are, keys as {enter}.
func Render(steps []Step) string {
	var b strings.Builder
	for _, s := range steps {
		if s.Key != 0 {
			b.WriteString(s.Key.String())
		} else {
			b.WriteRune(s.Char)
		}
	}
	return b.String()
}

// Format turns a patron number into what the library system's field
// expects: a prefix trimmed, zeros on the left up to a width, and a check
// digit appended (computed over the padded number). The zero Format
// changes nothing.
type Format struct {
	TrimPrefix string
	Width      int                      // pad with zeros on the left to this width; 0: no padding
	Check      func(digits string) byte // the check digit to append; nil: none
}

// Apply formats n (already normalised).
func (f Format) Apply(n string) (string, error) {
	n = strings.TrimPrefix(n, f.TrimPrefix)
	if len(n) < f.Width {
		n = strings.Repeat("0", f.Width-len(n)) + n
	}
	if f.Check != nil {
		if n == "" || strings.Trim(n, "0123456789") != "" {
			return "", fmt.Errorf("%w: a check digit needs a number of digits only", ErrBadText)
		}
		n += string(f.Check(n))
	}
	return n, nil
}
