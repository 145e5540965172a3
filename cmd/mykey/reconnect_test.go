//go:build linux

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/internal/testenv"
	"github.com/mykey-jp/mykey/keyboardwedge"
)

// startXvfb starts Xvfb on display n and waits for its socket.
func startXvfb(t *testing.T, n int) *exec.Cmd {
	t.Helper()
	os.Remove(fmt.Sprintf("/tmp/.X%d-lock", n)) // left by a killed server
	x := exec.Command("Xvfb", fmt.Sprintf(":%d", n), "-nolisten", "tcp", "-screen", "0", "640x480x24")
	if err := x.Start(); err != nil {
		testenv.Unavailable(t, "Xvfb: %v", err)
	}
	sock := fmt.Sprintf("/tmp/.X11-unix/X%d", n)
	for range 100 {
		if _, err := os.Stat(sock); err == nil {
			return x
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("Xvfb :%d did not start", n)
	return nil
}

// TestWedgeSurvivesDisplayRestart types through the desk's X11 wedge, stops
// the X server (a clear error, no crash), starts it again, and types again.
func TestWedgeSurvivesDisplayRestart(t *testing.T) {
	if _, err := exec.LookPath("Xvfb"); err != nil {
		testenv.Unavailable(t, "Xvfb missing")
	}
	n := 90 + os.Getpid()%9
	t.Setenv("DISPLAY", fmt.Sprintf(":%d", n))
	inj, focus, _, closeFn, err := systemWedge()
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	tmpl, _ := keyboardwedge.ParseTemplate("{patron}{enter}")
	ty := &keyboardwedge.Typer{Injector: inj, Focus: focus, Template: tmpl}
	target := func() (string, func()) {
		file := filepath.Join(t.TempDir(), "keys")
		os.WriteFile(file, nil, 0o644)
		c := exec.Command("xterm", "-T", "target", "-e", "sh", "-c", "stty raw -echo; exec cat -v > "+file)
		c.Env = os.Environ()
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		for range 100 {
			if out, _ := exec.Command("xdotool", "search", "--onlyvisible", "--name", "^target$").Output(); len(strings.TrimSpace(string(out))) > 0 {
				exec.Command("xdotool", "windowfocus", "--sync", strings.Fields(string(out))[0]).Run()
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(300 * time.Millisecond)
		return file, func() { c.Process.Kill(); c.Wait() }
	}
	typeAndCheck := func(file string) {
		t.Helper()
		if _, err := ty.Type(context.Background(), "2468"); err != nil {
			t.Fatalf("typing: %v", err)
		}
		for range 100 {
			if b, _ := os.ReadFile(file); string(b) == "2468^M" {
				return
			}
			time.Sleep(20 * time.Millisecond)
		}
		b, _ := os.ReadFile(file)
		t.Fatalf("target received %q", b)
	}

	x := startXvfb(t, n)
	file, stop := target()
	typeAndCheck(file)
	stop()
	x.Process.Kill()
	x.Wait()
	os.Remove(fmt.Sprintf("/tmp/.X11-unix/X%d", n))

	// The display is gone: a clear error, not a crash.
	if _, err = ty.Type(context.Background(), "2468"); !errors.Is(err, keyboardwedge.ErrNoDisplay) {
		t.Fatalf("typing without a display: %v, want ErrNoDisplay", err)
	}

	// It comes back: the next number arrives.
	x = startXvfb(t, n)
	defer func() { x.Process.Kill(); x.Wait() }()
	file, stop = target()
	defer stop()
	typeAndCheck(file)
}
