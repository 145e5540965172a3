//go:build !windows

package main

import (
	"time"

	"github.com/mykey-jp/mykey/keyboardwedge"
)

// beeper returns the desk's feedback sound: the X bell, once for typed and
// twice for anything else. Without a display it is silent.
func beeper(inj keyboardwedge.Injector) func(ok bool) {
	l, isX := inj.(*lazyX11)
	if !isX {
		return func(bool) {}
	}
	return func(ok bool) {
		l.beep()
		if !ok {
			time.Sleep(150 * time.Millisecond)
			l.beep()
		}
	}
}
