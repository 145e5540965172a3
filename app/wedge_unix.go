//go:build !windows

package app

import (
	"github.com/mykey-jp/mykey/keyboardwedge"
	"github.com/mykey-jp/mykey/keyboardwedge/x11"
)

// systemWedge is the X11 keyboard, connected on first use.
func systemWedge() keyboardwedge.Device { return &x11.Owner{} }
