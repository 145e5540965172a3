package keyboardwedge

import (
	"fmt"
	"slices"
	"strings"
)

// Key is a real key the wedge presses.
type Key int

// The keys a template may name.
const (
	KeyEnter Key = iota + 1
	KeyTab
)

func (k Key) String() string {
	switch k {
	case KeyEnter:
		return "{enter}"
	case KeyTab:
		return "{tab}"
	}
	return "{?}"
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
var Placeholders = []string{"{patron}", "{tab}", "{enter}"}

// ParseTemplate parses an output template: {patron} exactly once, {tab} and
// {enter} as keys, and printable ASCII literals around them (for example
// Codabar start and stop letters: "A{patron}A{enter}").
func ParseTemplate(s string) (*Template, error) {
	t := &Template{src: s}
	if strings.Count(s, "{patron}") != 1 {
		return nil, fmt.Errorf("template %q must contain {patron} exactly once", s)
	}
	rest := s
	for rest != "" {
		if rest[0] == '{' {
			end := strings.IndexByte(rest, '}')
			if end < 0 || !slices.Contains(Placeholders, rest[:end+1]) {
				return nil, fmt.Errorf("template %q: unknown placeholder (known: %s)", s, strings.Join(Placeholders, " "))
			}
			switch rest[:end+1] {
			case "{patron}":
				t.parts = append(t.parts, part{patron: true})
			case "{tab}":
				t.parts = append(t.parts, part{key: KeyTab})
			case "{enter}":
				t.parts = append(t.parts, part{key: KeyEnter})
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
