//go:build linux

package main

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/internal/xdesk"
	"github.com/mykey-jp/mykey/keyboardwedge"
)

// TestWedgeSurvivesDisplayRestart types through the desk's X11 wedge, stops
// the X server (a clear error, no crash), starts it again, and types again.
func TestWedgeSurvivesDisplayRestart(t *testing.T) {
	d := xdesk.Start(t)
	t.Setenv("DISPLAY", d.Display)
	inj, focus, _, closeFn, err := systemWedge()
	if err != nil {
		t.Fatal(err)
	}
	defer closeFn()
	tmpl, _ := keyboardwedge.ParseTemplate("{patron}{enter}")
	ty := &keyboardwedge.Typer{Injector: inj, Focus: focus, Template: tmpl}
	typeInto := func(target *xdesk.Target) {
		t.Helper()
		target.Focus()
		if _, err := ty.Type(context.Background(), "2468"); err != nil {
			t.Fatalf("typing: %v", err)
		}
		target.Wait("2468^M", 5*time.Second)
	}
	typeInto(d.Target("before", false))

	// The display goes away: a clear error, not a crash.
	d.Kill()
	// (A dead connection may answer as if nothing had the focus.)
	if _, err := ty.Type(context.Background(), "2468"); !errors.Is(err, keyboardwedge.ErrNoDisplay) && !errors.Is(err, keyboardwedge.ErrNoFocus) {
		t.Fatalf("typing without a display: %v, want ErrNoDisplay or ErrNoFocus", err)
	}
	// Meanwhile another X server (another test package's) gets another
	// display number, not this one.
	if other := xdesk.Start(t); other.Display == d.Display {
		t.Fatalf("a new Xvfb took display %s while it was down", d.Display)
	}
	// It comes back: the next number arrives.
	d.Restart()
	typeInto(d.Target("after", false))
}
