//go:build windows

package main

import (
	"github.com/mykey-jp/mykey/keyboardwedge"
	"github.com/mykey-jp/mykey/keyboardwedge/win"
)

// systemWedge returns the Windows wedge, which also manages the IME.
func systemWedge() (keyboardwedge.Injector, keyboardwedge.FocusReader, keyboardwedge.IME, func(), error) {
	w := win.New()
	return w, w, w, func() {}, nil
}
