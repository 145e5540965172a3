//go:build windows

package main

import (
	"golang.org/x/sys/windows"

	"github.com/mykey-jp/mykey/keyboardwedge"
)

var procMessageBeep = windows.NewLazySystemDLL("user32.dll").NewProc("MessageBeep")

// beeper returns the desk's feedback sound: the system's "OK" sound when
// typed, its "error" sound otherwise.
func beeper(keyboardwedge.Injector) func(ok bool) {
	return func(ok bool) {
		const mbOK, mbIconHand = 0x00000000, 0x00000010
		t := uintptr(mbIconHand)
		if ok {
			t = mbOK
		}
		procMessageBeep.Call(t)
	}
}
