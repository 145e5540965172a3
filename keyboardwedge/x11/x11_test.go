//go:build linux

package x11_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/internal/xdesk"
	"github.com/mykey-jp/mykey/keyboardwedge"
	"github.com/mykey-jp/mykey/keyboardwedge/x11"
)

var ctx = context.Background()

func open(t testing.TB, d *xdesk.Desk) *x11.Display {
	t.Helper()
	x, err := x11.Open(d.Display)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(x.Close)
	return x
}

func typer(t testing.TB, x *x11.Display, tmpl string, g keyboardwedge.Guard) *keyboardwedge.Typer {
	tp, err := keyboardwedge.ParseTemplate(tmpl)
	if err != nil {
		t.Fatal(err)
	}
	return &keyboardwedge.Typer{Injector: x, Focus: x, Guard: g, Template: tp}
}

func TestNoDisplay(t *testing.T) {
	t.Setenv("DISPLAY", "")
	if _, err := x11.Open(""); !errors.Is(err, keyboardwedge.ErrNoDisplay) {
		t.Fatalf("no DISPLAY: %v", err)
	}
	if _, err := x11.Open(":99"); !errors.Is(err, keyboardwedge.ErrNoDisplay) {
		t.Fatalf("no server: %v", err)
	}
}

func TestTypingUnderXvfb(t *testing.T) {
	d := xdesk.Start(t)
	x := open(t, d)
	target := d.Target("mykey target", false)
	decoy := d.Target("decoy", false)
	guard := keyboardwedge.Guard{Exes: []string{"xterm"}, Title: regexp.MustCompile("^mykey target$")}

	t.Run("focus reports the window", func(t *testing.T) {
		target.Focus()
		w, err := x.Focused(ctx)
		if err != nil || w.Title != "mykey target" || w.Exe != "xterm" || w.PID == 0 {
			t.Fatalf("Focused = %+v, %v", w, err)
		}
	})

	t.Run("50 times in a row", func(t *testing.T) {
		target.Focus()
		ty := typer(t, x, "{patron}{enter}", guard)
		want := ""
		for i := range 50 {
			n := "1234567890"
			if i%2 == 1 {
				n = "0987654321"
			}
			if _, err := ty.Type(ctx, n); err != nil {
				t.Fatalf("round %d: %v", i, err)
			}
			want += n + "^M"
		}
		target.Wait(want, 10*time.Second)
		if decoy.Content() != "" {
			t.Fatalf("decoy received %q", decoy.Content())
		}
	})

	t.Run("decoy focused: refused, nothing typed", func(t *testing.T) {
		before := target.Content()
		decoy.Focus()
		ty := typer(t, x, "{patron}{enter}", guard)
		_, err := ty.Type(ctx, "5555")
		var re *keyboardwedge.RefusedError
		if !errors.As(err, &re) || re.Window.Title != "decoy" {
			t.Fatalf("Type with the decoy focused = %v", err)
		}
		time.Sleep(200 * time.Millisecond)
		if decoy.Content() != "" || target.Content() != before {
			t.Fatalf("something arrived: decoy %q", decoy.Content())
		}
	})

	t.Run("focus moved mid-typing stops", func(t *testing.T) {
		target.Focus()
		before := target.Content()
		ty := typer(t, x, "{patron}{enter}", keyboardwedge.Guard{})
		ty.KeyDelay = 40 * time.Millisecond
		go func() { time.Sleep(150 * time.Millisecond); decoy.Focus() }()
		_, err := ty.Type(ctx, "1234567890")
		var ie *keyboardwedge.InterruptedError
		if !errors.As(err, &ie) || ie.To.Title != "decoy" || len(ie.Typed) == 0 || len(ie.Typed) >= 10 {
			t.Fatalf("Type = %v", err)
		}
		target.Wait(before+ie.Typed, 5*time.Second)
		time.Sleep(100 * time.Millisecond)
		if decoy.Content() != "" {
			t.Fatalf("decoy received %q", decoy.Content())
		}
	})

	t.Run("JIS layout and CapsLock", func(t *testing.T) {
		d.Run("setxkbmap", "jp")
		defer d.Run("setxkbmap", "us")
		target.Focus()
		before := target.Content()
		ty := typer(t, x, "A{patron}B{tab}{enter}", guard)
		if _, err := ty.Type(ctx, "Ab-12cD"); err != nil {
			t.Fatal(err)
		}
		d.Run("xdotool", "key", "Caps_Lock")
		defer d.Run("xdotool", "key", "Caps_Lock")
		if _, err := ty.Type(ctx, "xY-90"); err != nil {
			t.Fatal(err)
		}
		target.Wait(before+"AAb-12cDB\t^MAxY-90B\t^M", 5*time.Second) // cat -v shows Tab as is
	})
}

func TestSlowTarget(t *testing.T) {
	d := xdesk.Start(t)
	x := open(t, d)
	slow := d.Target("slow", true)
	slow.Focus()
	ty := typer(t, x, "{patron}{enter}", keyboardwedge.Guard{})
	want := ""
	for range 5 {
		if _, err := ty.Type(ctx, "31415926535"); err != nil {
			t.Fatal(err)
		}
		want += "31415926535^M"
	}
	slow.Wait(want, 20*time.Second)
}

// BenchmarkType types a 10-digit number and Enter into an xterm, with the
// focus guard (checked before every key) on and off; ms/number and ms/key
// are reported. The keys' arrival is checked at the end.
//
//	go test -run '^$' -bench Type ./keyboardwedge/x11/
func BenchmarkType(b *testing.B) {
	d := xdesk.Start(b)
	x := open(b, d)
	target := d.Target("bench", false)
	target.Focus()
	for _, bc := range []struct {
		name    string
		guarded bool
		delay   time.Duration
	}{
		{"guard-on", true, 0},
		{"guard-off", false, 0},
		{"guard-on-default-delay-2ms", true, 2 * time.Millisecond},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ty := typer(b, x, "{patron}{enter}", keyboardwedge.Guard{Exes: []string{"xterm"}})
			ty.KeyDelay = bc.delay
			if !bc.guarded {
				ty.Focus = nil
			}
			n := 0
			start := time.Now()
			for b.Loop() {
				if _, err := ty.Type(ctx, "1234567890"); err != nil {
					b.Fatal(err)
				}
				n++
			}
			el := time.Since(start)
			b.ReportMetric(float64(el.Milliseconds())/float64(n), "ms/number")
			b.ReportMetric(float64(el.Microseconds())/1000/float64(n*11), "ms/key")
		})
	}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) && strings.Count(target.Content(), "^M") == 0 {
		time.Sleep(20 * time.Millisecond)
	}
	if !strings.HasPrefix(target.Content(), "1234567890^M") {
		b.Fatalf("target received %.40q", target.Content())
	}
}
