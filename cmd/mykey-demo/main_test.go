package main

import (
	"bytes"
	"strings"
	"testing"
)

// TestDemoBuiltin runs the README's first command (headless) on the
// built-in virtual reader: no pcscd, no display.
func TestDemoBuiltin(t *testing.T) {
	t.Setenv("DISPLAY", "")
	var out, errs bytes.Buffer
	if code := run([]string{"--lang", "en"}, &out, &errs); code != 0 {
		t.Fatalf("demo: exit %d\n%s%s", code, out.String(), errs.String())
	}
	for _, want := range []string{"registered. MyKey ID:", "result: typed.", `keys: "12345678⏎"`, "this card is not registered", `keys: ""`, "The demo is complete."} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("demo output lacks %q:\n%s", want, out.String())
		}
	}
}

func TestDemoBadOutput(t *testing.T) {
	var out, errs bytes.Buffer
	if code := run([]string{"--output", "printer"}, &out, &errs); code != 2 || !strings.Contains(errs.String(), "--output keyboard|stdout") {
		t.Fatalf("exit %d\n%s", code, errs.String())
	}
}
