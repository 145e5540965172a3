package keyboardwedge

import (
	"strings"
	"testing"
)

// FuzzTemplate feeds wedge.template values (outside input: the
// configuration) to the parser: it never panics, and what a template it
// accepts types is the template with the number in place of {patron}, and
// only printable ASCII characters or real keys.
func FuzzTemplate(f *testing.F) {
	for _, s := range []string{"{patron}{enter}", "A{patron}A{enter}", "{tab}{patron}{tab}", "{patron", "{patron}{patron}", "x{bell}{patron}", "{patron}\x00", "}{patron}{"} {
		f.Add(s, "12345678")
	}
	f.Fuzz(func(t *testing.T, src, patron string) {
		tmpl, err := ParseTemplate(src)
		if err != nil {
			return
		}
		p, err := Normalize(patron)
		if err != nil {
			return
		}
		steps := tmpl.Expand(p)
		if got, want := Render(steps), strings.Replace(src, "{patron}", p, 1); got != want {
			t.Fatalf("template %q types %q, want %q", src, got, want)
		}
		for _, s := range steps {
			if s.Key == 0 && (s.Char < 0x20 || s.Char > 0x7e) {
				t.Fatalf("template %q types %q", src, s.Char)
			}
		}
	})
}
