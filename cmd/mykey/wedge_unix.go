//go:build !windows

package main

import (
	"context"
	"errors"
	"sync"

	"github.com/mykey-jp/mykey/keyboardwedge"
	"github.com/mykey-jp/mykey/keyboardwedge/x11"
)

// systemWedge returns the X11 wedge, connecting on first use and again
// after the display went away. There is no IME to manage.
func systemWedge() (keyboardwedge.Injector, keyboardwedge.FocusReader, keyboardwedge.IME, func(), error) {
	l := &lazyX11{}
	return l, l, nil, l.close, nil
}

type lazyX11 struct {
	mu sync.Mutex
	d  *x11.Display
}

// use runs fn on the connection, opening it if needed.
func (l *lazyX11) use(fn func(*x11.Display) error) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.d == nil {
		d, err := x11.Open("")
		if err != nil {
			return err
		}
		l.d = d
	}
	err := fn(l.d)
	// A dead connection can look like "no focus": drop it on anything but
	// untypable text, and connect again next time (about a millisecond).
	if err != nil && !errors.Is(err, keyboardwedge.ErrBadText) {
		l.d.Close()
		l.d = nil
	}
	return err
}

func (l *lazyX11) close() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.d != nil {
		l.d.Close()
		l.d = nil
	}
}

func (l *lazyX11) TypeChar(ctx context.Context, r rune) error {
	return l.use(func(d *x11.Display) error { return d.TypeChar(ctx, r) })
}

func (l *lazyX11) Press(ctx context.Context, k keyboardwedge.Key) error {
	return l.use(func(d *x11.Display) error { return d.Press(ctx, k) })
}

func (l *lazyX11) Focused(ctx context.Context) (w keyboardwedge.Window, err error) {
	err = l.use(func(d *x11.Display) error {
		w, err = d.Focused(ctx)
		return err
	})
	return w, err
}

// beep rings the X bell (the desk's speaker where X has one).
func (l *lazyX11) beep() error {
	return l.use(func(d *x11.Display) error { return d.Bell() })
}
