package keyboardwedge

import (
	"context"
	"strings"
	"sync"
)

// Device is the desk's keyboard: one owner per operating system (X11 on
// Unix, the Windows desktop) that types, reads the focus, handles the IME
// and beeps. It connects lazily and again after its display went away.
type Device interface {
	Injector
	FocusReader
	IME // a device without an input method reports it closed
	// Beep gives the desk's feedback sound: once for typed, differently for
	// anything else. Without a speaker it is silent.
	Beep(ok bool)
	// Close releases the device; it may be used again after, reconnecting.
	Close() error
}

// Recorder is a Device in memory: it records what is typed into which
// window, reports the focused window, has an IME that can be open, and
// counts beeps. For tests, scripts and the shared wedge suite.
type Recorder struct {
	mu     sync.Mutex
	Window Window // the focused window; a zero Window means none has focus
	text   strings.Builder
	into   map[uint64]string // by window ID
	beeps  int
	imeOn  bool
	keysIM int // keys sent while the IME was open
}

func (r *Recorder) record(s string) {
	r.text.WriteString(s)
	if r.into == nil {
		r.into = map[uint64]string{}
	}
	r.into[r.Window.ID] += s
	if r.imeOn {
		r.keysIM++
	}
}

var _ Device = (*Recorder)(nil)

// TypeChar implements Injector.
func (r *Recorder) TypeChar(_ context.Context, c rune) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.record(string(c))
	return nil
}

// Press implements Injector: Enter as a new line, Tab as a tab, a function
// key as {f2}.
func (r *Recorder) Press(_ context.Context, k Key) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.record(pressed(k))
	return nil
}

// Focused implements FocusReader.
func (r *Recorder) Focused(context.Context) (Window, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Window == (Window{}) {
		return Window{}, ErrNoFocus
	}
	return r.Window, nil
}

// SetFocus moves the focus to w.
func (r *Recorder) SetFocus(w Window) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.Window = w
}

// IsOpen implements IME.
func (r *Recorder) IsOpen(Window) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.imeOn, nil
}

// SetOpen implements IME.
func (r *Recorder) SetOpen(_ Window, open bool) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.imeOn = open
	return nil
}

// Beep implements Device.
func (r *Recorder) Beep(bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.beeps++
}

// Close implements Device.
func (r *Recorder) Close() error { return nil }

// Typed returns what was typed so far and forgets it.
func (r *Recorder) Typed() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.text.String()
	r.text.Reset()
	return s
}

// TypedInto returns everything typed while window id had the focus.
func (r *Recorder) TypedInto(id uint64) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.into[id]
}

// TypedWithIME counts the keys sent while the IME was open (it should stay
// 0: an open IME would convert them).
func (r *Recorder) TypedWithIME() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.keysIM
}

// Beeps returns how many beeps there were.
func (r *Recorder) Beeps() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.beeps
}

// NewTyper returns a Typer on dev: dev types, guards the focus and
// handles the IME.
func NewTyper(dev Device, tmpl *Template, guard Guard) *Typer {
	return &Typer{Injector: dev, Focus: dev, IME: dev, Guard: guard, Template: tmpl}
}
