package keyboardwedge

import (
	"fmt"
	"strings"
)

// Key is a real key the wedge presses.
type Key int

// The keys a template may name: Enter, Tab, and the function keys F1–F12
// (KeyF1 + n - 1), which a library system may need pressed to focus its
// patron field.
const (
	KeyEnter Key = iota + 1
	KeyTab
	KeyF1
	KeyF12 = KeyF1 + 11
)

// FunctionKey reports whether k is F1–F12, and which.
func (k Key) FunctionKey() (n int, ok bool) {
	return int(k-KeyF1) + 1, k >= KeyF1 && k <= KeyF12
}

func (k Key) String() string {
	switch k {
	case KeyEnter:
		return "{enter}"
	case KeyTab:
		return "{tab}"
	}
	if n, ok := k.FunctionKey(); ok {
		return fmt.Sprintf("{f%d}", n)
	}
	return "{?}"
}

// keyNamed returns the key a placeholder names ("{enter}", "{f2}"), 0 for
// none.
func keyNamed(p string) Key {
	for k := KeyEnter; k <= KeyF12; k++ {
		if k.String() == p {
			return k
		}
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
var Placeholders = []string{"{patron}", "{tab}", "{enter}", "{f1}…{f12}"}

// ParseTemplate parses an output template: {patron} exactly once, {tab},
// {enter} and {f1}…{f12} as keys, and printable ASCII literals around them
// (for example Codabar start and stop letters: "A{patron}A{enter}", or a
// function key that focuses the patron field first: "{f2}{patron}{enter}").
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
