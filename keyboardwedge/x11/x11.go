//go:build !windows

// Package x11 is the keyboard wedge on X11: keys are sent with the XTEST
// extension and the focus is the server's real input focus (not the window
// manager's idea of it), both over github.com/jezek/xgb in pure Go.
//
// Characters are typed by keysym: the keycode and shift level that produce
// the character in the current layout are looked up, and CapsLock is taken
// into account, so the text arrives the same under US, JIS or any layout.
// (robotgo's X11 typing sleeps 5 ms per character, which alone would miss
// the desk's 30 ms budget for a 10-digit number; robotgo serves Windows.)
package x11

import (
	"context"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/jezek/xgb"
	"github.com/jezek/xgb/xproto"
	"github.com/jezek/xgb/xtest"

	"github.com/mykey-jp/mykey/keyboardwedge"
)

const (
	ksReturn = 0xff0d
	ksTab    = 0xff09
	ksF1     = 0xffbe
	ksShiftL = 0xffe1
	ksCtrlL  = 0xffe3
	ksAltL   = 0xffe9
)

func init() {
	// xgb logs to stderr by default; a library must not.
	xgb.Logger = log.New(io.Discard, "", 0)
}

// Display is a connection to an X server. It implements
// keyboardwedge.Injector and keyboardwedge.FocusReader.
type Display struct {
	mu    sync.Mutex
	conn  *xgb.Conn
	root  xproto.Window
	atoms map[string]xproto.Atom

	minCode  xproto.Keycode
	perCode  int
	syms     []xproto.Keysym
	loadedAt time.Time
}

// Open connects to display ("" means $DISPLAY). Without a display it returns
// keyboardwedge.ErrNoDisplay (wrapped), never crashes.
func Open(display string) (*Display, error) {
	if display == "" {
		display = os.Getenv("DISPLAY")
	}
	if display == "" {
		return nil, fmt.Errorf("%w (DISPLAY is not set)", keyboardwedge.ErrNoDisplay)
	}
	conn, err := xgb.NewConnDisplay(display)
	if err != nil {
		return nil, fmt.Errorf("%w: connecting to %s: %v", keyboardwedge.ErrNoDisplay, display, err)
	}
	if err := xtest.Init(conn); err != nil {
		conn.Close()
		return nil, fmt.Errorf("the X server at %s lacks the XTEST extension: %w", display, err)
	}
	d := &Display{conn: conn, root: xproto.Setup(conn).DefaultScreen(conn).Root, atoms: map[string]xproto.Atom{}}
	for _, name := range []string{"_NET_WM_PID", "_NET_WM_NAME", "UTF8_STRING", "WM_NAME"} {
		r, err := xproto.InternAtom(conn, false, uint16(len(name)), name).Reply()
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("%w: %v", keyboardwedge.ErrNoDisplay, err)
		}
		d.atoms[name] = r.Atom
	}
	return d, nil
}

// Close closes the connection.
func (d *Display) Close() { d.conn.Close() }

// loadKeymap reads the keyboard mapping, at most once a second (layouts
// change with setxkbmap).
func (d *Display) loadKeymap() error {
	if time.Since(d.loadedAt) < time.Second && d.syms != nil {
		return nil
	}
	setup := xproto.Setup(d.conn)
	count := byte(setup.MaxKeycode - setup.MinKeycode + 1)
	r, err := xproto.GetKeyboardMapping(d.conn, setup.MinKeycode, count).Reply()
	if err != nil {
		return fmt.Errorf("reading the keyboard mapping: %w", err)
	}
	d.minCode, d.perCode, d.syms, d.loadedAt = setup.MinKeycode, int(r.KeysymsPerKeycode), r.Keysyms, time.Now()
	return nil
}

// find returns the keycode producing ks, and whether Shift is needed.
func (d *Display) find(ks xproto.Keysym) (xproto.Keycode, bool, bool) {
	for level := 0; level < 2 && level < d.perCode; level++ {
		for i := 0; i*d.perCode+level < len(d.syms); i++ {
			if d.syms[i*d.perCode+level] == ks {
				return d.minCode + xproto.Keycode(i), level == 1, true
			}
		}
	}
	return 0, false, false
}

func (d *Display) capsLock() bool {
	r, err := xproto.QueryPointer(d.conn, d.root).Reply()
	return err == nil && r.Mask&xproto.ModMaskLock != 0
}

func (d *Display) fake(press bool, code xproto.Keycode) {
	t := byte(xproto.KeyRelease)
	if press {
		t = xproto.KeyPress
	}
	xtest.FakeInput(d.conn, t, byte(code), 0, d.root, 0, 0, 0)
}

// sync waits until the server has processed everything sent.
func (d *Display) sync() error {
	_, err := xproto.GetInputFocus(d.conn).Reply()
	return err
}

// tap presses and releases ks with mods held, and with Shift when the
// layout (or CapsLock, for a letter) needs it.
func (d *Display) tap(ks xproto.Keysym, letter bool, mods ...xproto.Keysym) error {
	if err := d.loadKeymap(); err != nil {
		return err
	}
	code, shift, ok := d.find(ks)
	if !ok {
		return fmt.Errorf("%w: keysym %#x is not on the current keyboard layout", keyboardwedge.ErrBadText, ks)
	}
	if letter && d.capsLock() {
		shift = !shift // CapsLock inverts Shift for letters
	}
	if shift && !slices.Contains(mods, ksShiftL) {
		mods = append(mods, ksShiftL)
	}
	held := make([]xproto.Keycode, len(mods))
	for i, m := range mods {
		if held[i], _, ok = d.find(m); !ok {
			return fmt.Errorf("no modifier key %#x on the current keyboard layout", m)
		}
	}
	for _, c := range held {
		d.fake(true, c)
	}
	d.fake(true, code)
	d.fake(false, code)
	for i := len(held) - 1; i >= 0; i-- {
		d.fake(false, held[i])
	}
	return d.sync()
}

// TypeChar implements keyboardwedge.Injector for printable ASCII.
func (d *Display) TypeChar(_ context.Context, r rune) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if r < 0x20 || r > 0x7e {
		return fmt.Errorf("%w: %q is not printable ASCII", keyboardwedge.ErrBadText, r)
	}
	letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
	return d.tap(xproto.Keysym(r), letter)
}

// Press implements keyboardwedge.Injector.
func (d *Display) Press(_ context.Context, k keyboardwedge.Key) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	ks := xproto.Keysym(ksReturn)
	if k.Base() == keyboardwedge.KeyTab {
		ks = ksTab
	}
	if n, ok := k.FunctionKey(); ok {
		ks = xproto.Keysym(ksF1 + n - 1)
	}
	if c, ok := k.Char(); ok {
		ks = xproto.Keysym(c)
	}
	var mods []xproto.Keysym
	for _, m := range []struct {
		mod keyboardwedge.Key
		ks  xproto.Keysym
	}{{keyboardwedge.ModCtrl, ksCtrlL}, {keyboardwedge.ModAlt, ksAltL}, {keyboardwedge.ModShift, ksShiftL}} {
		if k&m.mod != 0 {
			mods = append(mods, m.ks)
		}
	}
	return d.tap(ks, false, mods...)
}

// Focused implements keyboardwedge.FocusReader with the server's input
// focus, described by the nearest window up the tree that names itself.
func (d *Display) Focused(context.Context) (keyboardwedge.Window, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	f, err := xproto.GetInputFocus(d.conn).Reply()
	if err != nil {
		return keyboardwedge.Window{}, fmt.Errorf("%w: %v", keyboardwedge.ErrNoDisplay, err)
	}
	if f.Focus == xproto.WindowNone || f.Focus == 1 /* PointerRoot */ || f.Focus == d.root {
		return keyboardwedge.Window{}, keyboardwedge.ErrNoFocus
	}
	w := keyboardwedge.Window{ID: uint64(f.Focus)}
	for win := f.Focus; win != 0 && win != d.root; {
		if w.Title == "" {
			w.Title = d.title(win)
			if w.Title != "" {
				w.ID = uint64(win)
			}
		}
		if w.PID == 0 {
			w.PID = d.pid(win)
		}
		if w.Title != "" && w.PID != 0 {
			break
		}
		t, err := xproto.QueryTree(d.conn, win).Reply()
		if err != nil {
			break
		}
		win = t.Parent
	}
	if w.PID != 0 {
		if exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", w.PID)); err == nil {
			w.Exe = filepath.Base(exe)
		}
	}
	return w, nil
}

func (d *Display) prop(win xproto.Window, name, typ string) []byte {
	t := xproto.Atom(xproto.GetPropertyTypeAny)
	if typ != "" {
		t = d.atoms[typ]
	}
	r, err := xproto.GetProperty(d.conn, false, win, d.atoms[name], t, 0, 1024).Reply()
	if err != nil || r == nil {
		return nil
	}
	return r.Value
}

func (d *Display) title(win xproto.Window) string {
	if v := d.prop(win, "_NET_WM_NAME", "UTF8_STRING"); len(v) > 0 {
		return string(v)
	}
	return string(d.prop(win, "WM_NAME", ""))
}

func (d *Display) pid(win xproto.Window) int {
	v := d.prop(win, "_NET_WM_PID", "")
	if len(v) < 4 {
		return 0
	}
	return int(xgb.Get32(v))
}

// Bell rings the X server's bell.
func (d *Display) Bell() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	xproto.Bell(d.conn, 0)
	return d.sync()
}
