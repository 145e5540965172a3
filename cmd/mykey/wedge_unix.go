//go:build !windows

package main

import (
	"github.com/mykey-jp/mykey/keyboardwedge"
	"github.com/mykey-jp/mykey/keyboardwedge/x11"
)

// systemWedge connects to the X display. There is no IME to manage.
func systemWedge() (keyboardwedge.Injector, keyboardwedge.FocusReader, keyboardwedge.IME, func(), error) {
	d, err := x11.Open("")
	if err != nil {
		return nil, nil, nil, nil, err
	}
	return d, d, nil, d.Close, nil
}
