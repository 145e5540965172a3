//go:build windows

package app

import (
	"github.com/mykey-jp/mykey/keyboardwedge"
	"github.com/mykey-jp/mykey/keyboardwedge/win"
)

// systemWedge is the Windows keyboard, which also manages the IME.
func systemWedge() keyboardwedge.Device { return win.New() }
