// Package wedgetest is the one test suite every keyboard device passes: the
// in-memory Recorder and the X11 device under Xvfb (and, where it can run,
// the Windows one). It types through a Typer with a window allowlist into
// real target windows and checks what each window received.
package wedgetest

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/keyboardwedge"
	"github.com/mykey-jp/mykey/keyid"
)

// Target is a window of the desktop under test.
type Target interface {
	Focus()                                          // give it the keyboard focus
	Wait(t *testing.T, want string, d time.Duration) // wait until it received exactly want
	Received() string                                // what it received so far
}

// Env is a desktop with a keyboard device.
type Env struct {
	Device keyboardwedge.Device
	// NewTarget opens a window titled title.
	NewTarget func(t *testing.T, title string) Target
	Exe       string // the target windows' program name
	Enter     string // how a target shows Enter ("\n", "^M")
	Tab, F2   string // how a target shows Tab ("\t") and F2 ("{f2}", "^[OQ" in xterm)
	CtrlB     string // how a target shows Ctrl+B ("{ctrl+b}", "^B" in xterm)
	// IME is true when the device's IME can be opened (SetOpen) and must be
	// closed while typing; TypedWithIME then counts keys typed while open.
	IME          bool
	TypedWithIME func() int
}

// Run runs the suite on env.
func Run(t *testing.T, env Env) {
	ctx := context.Background()
	tmpl, err := keyboardwedge.ParseTemplate("{patron}{enter}")
	if err != nil {
		t.Fatal(err)
	}
	guard := keyboardwedge.Guard{Exes: []string{env.Exe}, Title: regexp.MustCompile("^library system$")}
	ty := keyboardwedge.NewTyper(env.Device, tmpl, guard)
	ils := env.NewTarget(t, "library system")
	decoy := env.NewTarget(t, "decoy")

	t.Run("focus", func(t *testing.T) {
		ils.Focus()
		w, err := env.Device.Focused(ctx)
		if err != nil || w.Title != "library system" || !strings.EqualFold(w.Exe, env.Exe) {
			t.Fatalf("Focused = %+v, %v", w, err)
		}
	})

	t.Run("types into the allowed window", func(t *testing.T) {
		ils.Focus()
		res, err := ty.Type(ctx, "１２３４５６７８") // full-width digits are normalised
		if err != nil || res.Typed != "12345678{enter}" || res.Keys != 9 {
			t.Fatalf("Type = %+v, %v", res, err)
		}
		ils.Wait(t, "12345678"+env.Enter, 5*time.Second)
	})

	t.Run("refuses another window", func(t *testing.T) {
		decoy.Focus()
		var re *keyboardwedge.RefusedError
		if _, err := ty.Type(ctx, "999"); !errors.As(err, &re) || re.Window.Title != "decoy" {
			t.Fatalf("Type into the decoy = %v, want RefusedError", err)
		}
		time.Sleep(100 * time.Millisecond)
		if got := decoy.Received(); got != "" {
			t.Fatalf("the decoy received %q", got)
		}
	})

	t.Run("refuses untypable text", func(t *testing.T) {
		ils.Focus()
		before := ils.Received()
		if _, err := ty.Type(ctx, "12;34"); !errors.Is(err, keyboardwedge.ErrBadText) {
			t.Fatalf("Type = %v, want ErrBadText", err)
		}
		if got := ils.Received(); got != before {
			t.Fatalf("typed %q", strings.TrimPrefix(got, before))
		}
	})

	t.Run("formats the number and presses its keys", func(t *testing.T) {
		// An NW-7 field: F2 and Ctrl+B focus it, start/stop A, the
		// library's "L" prefix trimmed, 8 digits, the 7DR check digit,
		// then Tab.
		tmpl, err := keyboardwedge.ParseTemplate("{f2}{ctrl+b}A{patron}A{tab}")
		if err != nil {
			t.Fatal(err)
		}
		nw7 := keyboardwedge.NewTyper(env.Device, tmpl, guard)
		nw7.Format = keyboardwedge.Format{TrimPrefix: "L", Width: 8, Check: func(d string) byte { return keyid.CheckDigitFor(keyid.CheckMod7, d) }}
		ils.Focus()
		want := ils.Received()
		res, err := nw7.Type(ctx, "L1234")
		if err != nil || res.Typed != "{f2}{ctrl+b}A000012342A{tab}" {
			t.Fatalf("Type = %+v, %v", res, err)
		}
		ils.Wait(t, want+env.F2+env.CtrlB+"A000012342A"+env.Tab, 5*time.Second)
	})

	t.Run("many numbers in a row", func(t *testing.T) {
		ils.Focus()
		want := ils.Received()
		for _, n := range []string{"1", "22", "0123456789", "A-1", "987654321"} {
			if _, err := ty.Type(ctx, n); err != nil {
				t.Fatalf("Type(%q): %v", n, err)
			}
			want += n + env.Enter
		}
		ils.Wait(t, want, 5*time.Second)
	})

	if env.IME {
		t.Run("closes the IME while typing", func(t *testing.T) {
			ils.Focus()
			w, _ := env.Device.Focused(ctx)
			if err := env.Device.SetOpen(w, true); err != nil {
				t.Fatal(err)
			}
			before := env.TypedWithIME()
			if _, err := ty.Type(ctx, "4321"); err != nil {
				t.Fatal(err)
			}
			if n := env.TypedWithIME() - before; n != 0 {
				t.Fatalf("%d keys typed with the IME open", n)
			}
			if open, _ := env.Device.IsOpen(w); !open {
				t.Fatal("the IME was not opened again after typing")
			}
		})
	}
}
