//go:build linux

package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/internal/testcard"
	"github.com/mykey-jp/mykey/internal/testenv"
	"github.com/mykey-jp/mykey/internal/testpki"
)

// TestPINPromptInterrupted presses Ctrl-C at the no-echo PIN prompt of
// register on a real terminal (a pty from script(1)): the command ends at
// once, says the registration was rolled back, and the terminal echoes
// again.
func TestPINPromptInterrupted(t *testing.T) {
	if _, err := exec.LookPath("script"); err != nil {
		testenv.Unavailable(t, "script(1) for a pty: %v", err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mykey.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("[database]\npath = \"registry.db\"\n[revocation]\nmethod = \"crl\"\non_unavailable = \"allow\"\naccept_possibly_revoked_cards = true\ntrust_anchors = [%q]\n%s",
		filepath.Join(testpki.Dir(), "ca-2023.der"), testcard.ConfigTOML(testpki.Dir()))), 0o644)
	// The shell traps SIGINT so that it goes on to stty after Ctrl-C
	// whichever shell script(1) starts (dash dies of an untrapped one).
	cmd := exec.Command("script", "-qfc", "trap : INT; "+os.Args[0]+" register --patron 12345678; stty -a", "/dev/null")
	cmd.Env = append(os.Environ(), "MYKEY_RUN_MAIN=1", "VCARDS=user", "MYKEY_TESTPKI="+testpki.Dir(), "MYKEY_CONFIG="+cfg, "MYKEY_LANG=", "GORACE=atexit_sleep_ms=0")
	cmd.Dir = dir
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	in, _ := cmd.StdinPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "暗証番号（数字4桁）を入力してください") {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no PIN prompt:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // the terminal is switched to no echo
	pressed := time.Now()
	in.Write([]byte{3}) // Ctrl-C
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("register did not end on Ctrl-C at the PIN prompt:\n%s", out.String())
	}
	t.Logf("ended %v after Ctrl-C", time.Since(pressed))
	got := out.String()
	if !strings.Contains(got, "中断しました") {
		t.Errorf("no interruption message:\n%s", got)
	}
	if strings.Contains(got, " -echo ") || !strings.Contains(got, " echo ") {
		t.Errorf("the terminal does not echo after the interrupted prompt:\n%s", got)
	}
}
