//go:build linux

package x11_test

import (
	"errors"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/internal/xdesk"
	"github.com/mykey-jp/mykey/keyboardwedge"
	"github.com/mykey-jp/mykey/keyboardwedge/wedgetest"
	"github.com/mykey-jp/mykey/keyboardwedge/x11"
)

// TestOwnerSurvivesDisplayRestart types through the desk's X11 device,
// stops the X server (a clear error, no crash), starts it again, and types
// again.
func TestOwnerSurvivesDisplayRestart(t *testing.T) {
	d := xdesk.Start(t)
	t.Setenv("DISPLAY", d.Display)
	owner := &x11.Owner{}
	defer owner.Close()
	tmpl, _ := keyboardwedge.ParseTemplate("{patron}{enter}")
	ty := keyboardwedge.NewTyper(owner, tmpl, keyboardwedge.Guard{})
	typeInto := func(target *xdesk.Target) {
		t.Helper()
		target.Focus()
		if _, err := ty.Type(ctx, "2468"); err != nil {
			t.Fatalf("typing: %v", err)
		}
		target.Wait("2468^M", 5*time.Second)
	}
	typeInto(d.Target("before", false))

	// The display goes away: a clear error, not a crash.
	d.Kill()
	// (A dead connection may answer as if nothing had the focus.)
	if _, err := ty.Type(ctx, "2468"); !errors.Is(err, keyboardwedge.ErrNoDisplay) && !errors.Is(err, keyboardwedge.ErrNoFocus) {
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

// xterm is an xterm target of the shared suite.
type xterm struct{ *xdesk.Target }

func (x xterm) Received() string { return x.Content() }
func (x xterm) Wait(t *testing.T, want string, d time.Duration) {
	t.Helper()
	x.Target.Wait(want, d)
}

// TestOwnerSuite runs the shared wedge suite on the X11 device under Xvfb,
// typing into xterm windows.
func TestOwnerSuite(t *testing.T) {
	d := xdesk.Start(t)
	owner := &x11.Owner{Display: d.Display}
	defer owner.Close()
	wedgetest.Run(t, wedgetest.Env{
		Device: owner, Exe: "xterm", Enter: "^M", Tab: "\t", F2: "^[OQ", CtrlB: "^B",
		NewTarget: func(t *testing.T, title string) wedgetest.Target { return xterm{d.Target(title, false)} },
	})
}
