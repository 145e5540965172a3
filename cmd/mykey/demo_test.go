//go:build linux

package main

import (
	"strings"
	"testing"

	"github.com/mykey-jp/mykey/internal/pcsctest"
)

// TestDemo runs the README's first command (headless) against a private
// pcscd with the vpcd reader.
func TestDemo(t *testing.T) {
	pcsctest.Start(t, 1)
	t.Setenv("DISPLAY", "")
	out, errs, code := cli(t, "demo", "--lang", "en")
	if code != 0 {
		t.Fatalf("demo: exit %d\n%s%s", code, out, errs)
	}
	for _, want := range []string{"registered. MyKey ID:", "result: typed.", `keys: "12345678⏎"`, "this card is not registered", "The demo is complete."} {
		if !strings.Contains(out, want) {
			t.Errorf("demo output lacks %q:\n%s", want, out)
		}
	}
}
