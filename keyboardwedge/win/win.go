//go:build windows

// Package win is the keyboard wedge on Windows: characters are sent with
// robotgo as Unicode key events (SendInput with KEYEVENTF_UNICODE, which
// ignores the layout), Enter and Tab as real key presses; the focus is the
// foreground window with its process image name and wide-character title;
// the Japanese IME is read and switched through IMM (WM_IME_CONTROL).
package win

import (
	"context"
	"fmt"
	"path/filepath"
	"syscall"
	"unsafe"

	"github.com/go-vgo/robotgo"
	"golang.org/x/sys/windows"

	"github.com/mykey-jp/mykey/keyboardwedge"
)

var (
	user32                       = windows.NewLazySystemDLL("user32.dll")
	imm32                        = windows.NewLazySystemDLL("imm32.dll")
	procGetForegroundWindow      = user32.NewProc("GetForegroundWindow")
	procGetWindowTextW           = user32.NewProc("GetWindowTextW")
	procGetWindowTextLengthW     = user32.NewProc("GetWindowTextLengthW")
	procGetWindowThreadProcessId = user32.NewProc("GetWindowThreadProcessId")
	procSendMessageW             = user32.NewProc("SendMessageW")
	procImmGetDefaultIMEWnd      = imm32.NewProc("ImmGetDefaultIMEWnd")
	procMessageBeep              = user32.NewProc("MessageBeep")
)

const (
	wmIMEControl     = 0x0283
	imcGetOpenStatus = 0x0005
	imcSetOpenStatus = 0x0006
)

// Wedge is the Windows keyboard device (keyboardwedge.Device).
type Wedge struct{}

var _ keyboardwedge.Device = (*Wedge)(nil)

// New returns the Windows wedge. robotgo's own pause after each key is
// switched off: the Typer's KeyDelay paces the keys.
func New() *Wedge {
	robotgo.KeySleep = 0
	return &Wedge{}
}

// TypeChar implements keyboardwedge.Injector.
func (*Wedge) TypeChar(_ context.Context, r rune) error {
	robotgo.UnicodeType(uint32(r))
	return nil
}

// Press implements keyboardwedge.Injector, holding the key's modifiers.
func (*Wedge) Press(_ context.Context, k keyboardwedge.Key) error {
	name := "enter"
	if k.Base() == keyboardwedge.KeyTab {
		name = "tab"
	}
	if n, ok := k.FunctionKey(); ok {
		name = fmt.Sprintf("f%d", n)
	}
	if c, ok := k.Char(); ok {
		name = string(c)
	}
	var mods []any
	for _, m := range []struct {
		mod  keyboardwedge.Key
		name string
	}{{keyboardwedge.ModCtrl, "ctrl"}, {keyboardwedge.ModAlt, "alt"}, {keyboardwedge.ModShift, "shift"}} {
		if k&m.mod != 0 {
			mods = append(mods, m.name)
		}
	}
	return robotgo.KeyTap(name, mods...)
}

// Focused implements keyboardwedge.FocusReader.
func (*Wedge) Focused(context.Context) (keyboardwedge.Window, error) {
	h, _, _ := procGetForegroundWindow.Call()
	if h == 0 {
		return keyboardwedge.Window{}, keyboardwedge.ErrNoFocus
	}
	w := keyboardwedge.Window{ID: uint64(h)}
	n, _, _ := procGetWindowTextLengthW.Call(h)
	buf := make([]uint16, n+1)
	procGetWindowTextW.Call(h, uintptr(unsafe.Pointer(&buf[0])), uintptr(len(buf)))
	w.Title = windows.UTF16ToString(buf)
	var pid uint32
	procGetWindowThreadProcessId.Call(h, uintptr(unsafe.Pointer(&pid)))
	w.PID = int(pid)
	if p, err := windows.OpenProcess(windows.PROCESS_QUERY_LIMITED_INFORMATION, false, pid); err == nil {
		defer windows.CloseHandle(p)
		name := make([]uint16, windows.MAX_LONG_PATH)
		size := uint32(len(name))
		if windows.QueryFullProcessImageName(p, 0, &name[0], &size) == nil {
			w.Exe = filepath.Base(windows.UTF16ToString(name[:size]))
		}
	}
	return w, nil
}

func imeWindow(w keyboardwedge.Window) uintptr {
	h, _, _ := procImmGetDefaultIMEWnd.Call(uintptr(w.ID))
	return h
}

// IsOpen implements keyboardwedge.IME.
func (*Wedge) IsOpen(w keyboardwedge.Window) (bool, error) {
	ime := imeWindow(w)
	if ime == 0 {
		return false, nil
	}
	r, _, _ := procSendMessageW.Call(ime, wmIMEControl, imcGetOpenStatus, 0)
	return r != 0, nil
}

// SetOpen implements keyboardwedge.IME.
func (*Wedge) SetOpen(w keyboardwedge.Window, open bool) error {
	ime := imeWindow(w)
	if ime == 0 {
		return syscall.EINVAL
	}
	var v uintptr
	if open {
		v = 1
	}
	procSendMessageW.Call(ime, wmIMEControl, imcSetOpenStatus, v)
	return nil
}

// Beep implements keyboardwedge.Device: the system's "OK" sound when
// typed, its "error" sound otherwise.
func (*Wedge) Beep(ok bool) {
	const mbOK, mbIconHand = 0x00000000, 0x00000010
	t := uintptr(mbIconHand)
	if ok {
		t = mbOK
	}
	procMessageBeep.Call(t)
}

// Close implements keyboardwedge.Device (nothing is held open).
func (*Wedge) Close() error { return nil }
