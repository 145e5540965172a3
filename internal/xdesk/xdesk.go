//go:build linux

// Package xdesk runs a real X desktop for tests: Xvfb, the jwm window
// manager, and xterm windows that record every key they receive to a file
// (an xterm in raw mode running cat -v: Enter arrives as ^M).
package xdesk

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/internal/testenv"
)

// Desk is a running X server with a window manager.
type Desk struct {
	t       testing.TB
	Display string // e.g. ":7"
	x, wm   *exec.Cmd
	hold    net.Listener // keeps the display number between Kill and Restart
}

// Start starts Xvfb and jwm; both stop when the test ends.
func Start(t testing.TB) *Desk {
	t.Helper()
	for _, tool := range []string{"Xvfb", "jwm", "xterm", "xdotool", "setxkbmap"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Unavailable(t, "%s missing (apt install xvfb jwm xterm xdotool x11-xkb-utils)", tool)
		}
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	x := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "1024x768x24", "-nolisten", "tcp", "-noreset")
	x.ExtraFiles = []*os.File{w}
	if err := x.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	d := &Desk{t: t, x: x}
	t.Cleanup(func() {
		d.Kill()
		d.release()
	})
	select {
	case n := <-line:
		if n == "" {
			t.Fatal("Xvfb did not report its display")
		}
		d.Display = ":" + n
	case <-time.After(10 * time.Second):
		t.Fatal("Xvfb did not start")
	}
	d.startWM()
	return d
}

func (d *Desk) startWM() {
	d.wm = d.command("jwm")
	if err := d.wm.Start(); err != nil {
		d.t.Fatal(err)
	}
}

// Kill stops the X server and the window manager: the display goes away.
// Its number stays reserved for Restart: Xvfb picks a free display by its
// abstract socket, so this process binds that name (answering nothing) and
// another test package's Xvfb passes the number by.
func (d *Desk) Kill() {
	for _, c := range []*exec.Cmd{d.wm, d.x} {
		if c != nil && c.Process != nil {
			c.Process.Kill()
			c.Wait()
		}
	}
	d.wm, d.x = nil, nil
	if d.Display == "" || d.hold != nil {
		return
	}
	for range 100 {
		l, err := net.Listen("unix", "@/tmp/.X11-unix/X"+strings.TrimPrefix(d.Display, ":"))
		if err == nil {
			d.hold = l
			go func() {
				for {
					c, err := l.Accept()
					if err != nil {
						return
					}
					c.Close()
				}
			}()
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (d *Desk) release() {
	if d.hold != nil {
		d.hold.Close()
		d.hold = nil
	}
}

// Restart starts a new X server and window manager on the same display
// after Kill: the display comes back.
func (d *Desk) Restart() {
	d.t.Helper()
	n := strings.TrimPrefix(d.Display, ":")
	d.release()
	os.Remove("/tmp/.X" + n + "-lock")
	os.Remove("/tmp/.X11-unix/X" + n)
	d.x = exec.Command("Xvfb", d.Display, "-screen", "0", "1024x768x24", "-nolisten", "tcp", "-noreset")
	if err := d.x.Start(); err != nil {
		d.t.Fatal(err)
	}
	for range 200 {
		if _, err := os.Stat("/tmp/.X11-unix/X" + n); err == nil {
			d.startWM()
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	d.t.Fatalf("Xvfb %s did not come back", d.Display)
}

func (d *Desk) command(name string, args ...string) *exec.Cmd {
	c := exec.Command(name, args...)
	c.Env = append(os.Environ(), "DISPLAY="+d.Display)
	return c
}

// Run runs an X client (xdotool, setxkbmap, ...) on the desk.
func (d *Desk) Run(name string, args ...string) string {
	d.t.Helper()
	out, err := d.command(name, args...).CombinedOutput()
	if err != nil {
		d.t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// Target is an xterm that records its keys.
type Target struct {
	d      *Desk
	Title  string
	Window string // X window id, decimal
	File   string
}

// Target opens an xterm titled title. With slow set, each byte reaches the
// file 20 ms after the previous one (a slow program).
func (d *Desk) Target(title string, slow bool) *Target {
	d.t.Helper()
	file := filepath.Join(d.t.TempDir(), strings.ReplaceAll(title, " ", "_")+".keys")
	os.WriteFile(file, nil, 0o644)
	// The shell says when the terminal is raw (before that, Enter would
	// arrive as a newline).
	ready := file + ".ready"
	script := "stty raw -echo && : > " + ready + " && exec cat -v > " + file
	if slow {
		script = "stty raw -echo && : > " + ready + " && cat -v | while dd bs=1 count=1 2>/dev/null; do sleep 0.02; done > " + file
	}
	c := d.command("xterm", "-T", title, "-geometry", "60x10", "-e", "sh", "-c", script)
	if err := c.Start(); err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(func() { c.Process.Kill(); c.Wait() })
	tg := &Target{d: d, Title: title, File: file}
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		out, err := d.command("xdotool", "search", "--onlyvisible", "--name", "^"+title+"$").Output()
		if id := strings.Fields(string(out)); err == nil && len(id) > 0 {
			tg.Window = id[0]
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if tg.Window == "" {
		d.t.Fatalf("xterm %q did not appear", title)
	}
	for {
		if _, err := os.Stat(ready); err == nil {
			return tg
		}
		if time.Now().After(deadline) {
			d.t.Fatalf("xterm %q: its terminal did not become raw", title)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Focus gives the target the keyboard focus and waits until it has it.
func (tg *Target) Focus() {
	tg.d.t.Helper()
	var out []byte
	var err error
	for range 20 { // a loaded machine may still be mapping the window
		if out, err = tg.d.command("xdotool", "windowactivate", "--sync", tg.Window).CombinedOutput(); err == nil {
			if out, err = tg.d.command("xdotool", "windowfocus", "--sync", tg.Window).CombinedOutput(); err == nil {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	tg.d.t.Fatalf("focusing %v: %v\n%s", tg, err, out)
}

// Content returns what the target received so far.
func (tg *Target) Content() string {
	b, _ := os.ReadFile(tg.File)
	return string(b)
}

// Wait polls until the target received want, and fails the test with what
// arrived otherwise.
func (tg *Target) Wait(want string, timeout time.Duration) {
	tg.d.t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if tg.Content() == want {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	tg.d.t.Fatalf("%s received %q, want %q", tg.Title, tg.Content(), want)
}

// String names the target for messages.
func (tg *Target) String() string { return fmt.Sprintf("%s (window %s)", tg.Title, tg.Window) }
