//go:build !windows

package x11

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/mykey-jp/mykey/keyboardwedge"
)

// Owner is the X11 keyboard device: it connects to the display on first
// use and again after the connection died (the X server restarted, the
// session ended). X has no IME to manage. The zero value uses $DISPLAY.
type Owner struct {
	Display string // "" means $DISPLAY

	mu sync.Mutex
	d  *Display
}

var _ keyboardwedge.Device = (*Owner)(nil)

// use runs fn on the connection, opening it if needed.
func (o *Owner) use(fn func(*Display) error) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.d == nil {
		d, err := Open(o.Display)
		if err != nil {
			return err
		}
		o.d = d
	}
	err := fn(o.d)
	// A dead connection can look like "no focus": drop it on anything but
	// untypable text, and connect again next time (about a millisecond).
	if err != nil && !errors.Is(err, keyboardwedge.ErrBadText) {
		o.d.Close()
		o.d = nil
	}
	return err
}

// Close closes the connection, if open.
func (o *Owner) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.d != nil {
		o.d.Close()
		o.d = nil
	}
	return nil
}

// TypeChar implements keyboardwedge.Injector.
func (o *Owner) TypeChar(ctx context.Context, r rune) error {
	return o.use(func(d *Display) error { return d.TypeChar(ctx, r) })
}

// Press implements keyboardwedge.Injector.
func (o *Owner) Press(ctx context.Context, k keyboardwedge.Key) error {
	return o.use(func(d *Display) error { return d.Press(ctx, k) })
}

// Focused implements keyboardwedge.FocusReader.
func (o *Owner) Focused(ctx context.Context) (w keyboardwedge.Window, err error) {
	err = o.use(func(d *Display) error {
		w, err = d.Focused(ctx)
		return err
	})
	return w, err
}

// IsOpen implements keyboardwedge.IME: X has no input method to manage.
func (*Owner) IsOpen(keyboardwedge.Window) (bool, error) { return false, nil }

// SetOpen implements keyboardwedge.IME (nothing to do).
func (*Owner) SetOpen(keyboardwedge.Window, bool) error { return nil }

// Beep rings the X bell: once for ok, twice otherwise. Without a display it
// is silent.
func (o *Owner) Beep(ok bool) {
	bell := func() error { return o.use(func(d *Display) error { return d.Bell() }) }
	if bell() != nil || ok {
		return
	}
	time.Sleep(150 * time.Millisecond)
	bell()
}
