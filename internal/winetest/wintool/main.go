//go:build windows

// Command wintool is a test-only helper run under Wine by
// scripts/wine-check.sh; it is never shipped.
//
//	wintool text TITLE      prints the text of the Edit control in the window TITLE
//	wintool click CLASS ID  posts WM_COMMAND ID to the window of class CLASS
//	                        (a tray menu click)
package main

import (
	"fmt"
	"os"
	"strconv"
	"unsafe"

	"golang.org/x/sys/windows"
)

var (
	user32        = windows.NewLazySystemDLL("user32.dll")
	findWindowW   = user32.NewProc("FindWindowW")
	findWindowExW = user32.NewProc("FindWindowExW")
	sendMessageW  = user32.NewProc("SendMessageW")
	postMessageW  = user32.NewProc("PostMessageW")
)

const (
	wmGetText       = 0x000D
	wmGetTextLength = 0x000E
	wmCommand       = 0x0111
)

func ptr(s string) uintptr {
	if s == "" {
		return 0
	}
	p, _ := windows.UTF16PtrFromString(s)
	return uintptr(unsafe.Pointer(p))
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: wintool text TITLE | click CLASS ID")
		os.Exit(2)
	}
	switch os.Args[1] {
	case "text":
		w, _, _ := findWindowW.Call(0, ptr(os.Args[2]))
		if w == 0 {
			fmt.Fprintln(os.Stderr, "no window", os.Args[2])
			os.Exit(1)
		}
		edit, _, _ := findWindowExW.Call(w, 0, ptr("Edit"), 0)
		if edit == 0 {
			fmt.Fprintln(os.Stderr, "no Edit control")
			os.Exit(1)
		}
		n, _, _ := sendMessageW.Call(edit, wmGetTextLength, 0, 0)
		buf := make([]uint16, n+1)
		sendMessageW.Call(edit, wmGetText, uintptr(len(buf)), uintptr(unsafe.Pointer(&buf[0])))
		fmt.Print(windows.UTF16ToString(buf))
	case "click":
		w, _, _ := findWindowW.Call(ptr(os.Args[2]), 0)
		id, _ := strconv.Atoi(os.Args[3])
		if w == 0 {
			fmt.Fprintln(os.Stderr, "no window of class", os.Args[2])
			os.Exit(1)
		}
		postMessageW.Call(w, wmCommand, uintptr(id), 0)
	default:
		os.Exit(2)
	}
}
