//go:build windows

package tray

import "os/exec"

// iconIsICO: the Windows notification area takes ICO.
const iconIsICO = true

// setBeforeRun: the notification icon exists only once Run has created its
// window.
const setBeforeRun = false

// openFolder opens dir in Explorer.
func openFolder(dir string) { exec.Command("explorer.exe", dir).Start() }
