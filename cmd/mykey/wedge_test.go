//go:build linux

package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/internal/testcard"
	"github.com/mykey-jp/mykey/internal/testpki"
	"github.com/mykey-jp/mykey/internal/xdesk"
)

func writeConfig(t *testing.T, dir, extra string) {
	t.Helper()
	if !strings.Contains(extra, "[genuine]") { // the check on, with the test CVC CA
		extra += testcard.ConfigTOML(testpki.Dir())
	}
	if err := os.WriteFile(filepath.Join(dir, "mykey.toml"), []byte("[database]\npath = \"registry.db\"\n"+extra), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestWedgeCommandsUnderXvfb(t *testing.T) {
	d := xdesk.Start(t)
	t.Setenv("DISPLAY", d.Display)
	dir := setupCLI(t)
	writeConfig(t, dir, "[wedge]\nallow_exe = [\"xterm\"]\nallow_title = \"^mykey target$\"\n")
	target := d.Target("mykey target", false)
	decoy := d.Target("decoy", false)

	target.Focus()
	var f struct {
		Exe, Title string
		PID        int `json:"pid"`
	}
	cliJSON(t, &f, "wedge", "focus")
	if f.Exe != "xterm" || f.Title != "mykey target" || f.PID == 0 {
		t.Fatalf("wedge focus: %+v", f)
	}
	var r struct {
		Typed string `json:"typed"`
		Keys  int    `json:"keys"`
	}
	cliJSON(t, &r, "wedge", "test", "--text", "１２３４５６７８", "--after", "0s")
	if r.Typed != "12345678{enter}" || r.Keys != 9 {
		t.Fatalf("wedge test: %+v", r)
	}
	target.Wait("12345678^M", 5*time.Second)

	decoy.Focus()
	_, errs, code := cli(t, "wedge", "test", "--text", "999", "--after", "0s")
	if code != exitFailure || !strings.Contains(errs, "入力しません") || !strings.Contains(errs, "decoy") {
		t.Fatalf("decoy: exit %d %s", code, errs)
	}
	_, errs, code = cli(t, "wedge", "test", "--text", "12;34", "--after", "0s")
	if code != exitUsage || !strings.Contains(errs, "入力できない文字") {
		t.Fatalf("bad text: exit %d %s", code, errs)
	}
	time.Sleep(200 * time.Millisecond)
	if decoy.Content() != "" || target.Content() != "12345678^M" {
		t.Fatalf("decoy %q, target %q", decoy.Content(), target.Content())
	}
}

func TestWedgeWithoutDisplay(t *testing.T) {
	t.Setenv("DISPLAY", "")
	setupCLI(t)
	_, errs, code := cli(t, "wedge", "test", "--text", "1234", "--after", "0s")
	if code != exitFailure || !strings.Contains(errs, "画面（デスクトップ）がない") {
		t.Fatalf("exit %d %s", code, errs)
	}
	out, _, code := cli(t, "--lang", "en", "wedge", "focus", "--json")
	var m map[string]any
	if code != exitFailure || json.Unmarshal([]byte(out), &m) != nil || m["error"] != "no-display" {
		t.Fatalf("focus without display: exit %d %s", code, out)
	}
}

func TestWedgeStdoutSink(t *testing.T) {
	dir := setupCLI(t)
	writeConfig(t, dir, "[wedge]\noutput = \"stdout\"\ntemplate = \"A{patron}A{enter}\"\n")
	out, errs, code := cli(t, "wedge", "test", "--text", "1234", "--after", "0s")
	if code != 0 || out != "A1234A\n" {
		t.Fatalf("stdout sink: exit %d %q %s", code, out, errs)
	}
}
