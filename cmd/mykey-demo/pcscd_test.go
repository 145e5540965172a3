//go:build linux

package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/mykey-jp/mykey/internal/pcsctest"
)

// TestDemoThroughPCSCD runs the demo through a private pcscd with the vpcd
// reader (the real smart-card path).
func TestDemoThroughPCSCD(t *testing.T) {
	pcsctest.Start(t, 1)
	t.Setenv("DISPLAY", "")
	var out, errs bytes.Buffer
	if code := run([]string{"--lang", "en", "--pcscd"}, &out, &errs); code != 0 {
		t.Fatalf("demo: exit %d\n%s%s", code, out.String(), errs.String())
	}
	for _, want := range []string{"pcscd is running.", "registered. MyKey ID:", `keys: "12345678⏎"`, "this card is not registered", "The demo is complete."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}
