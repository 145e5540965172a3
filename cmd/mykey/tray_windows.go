//go:build windows

package main

import "os/exec"

// iconIsICO: the Windows notification area takes ICO.
const iconIsICO = true

// openFolder opens dir in Explorer.
func openFolder(dir string) { exec.Command("explorer.exe", dir).Start() }
