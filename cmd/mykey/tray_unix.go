//go:build !windows

package main

import "os/exec"

// iconIsICO: the freedesktop tray takes PNG.
const iconIsICO = false

// openFolder opens dir in the desktop's file manager.
func openFolder(dir string) { exec.Command("xdg-open", dir).Start() }
