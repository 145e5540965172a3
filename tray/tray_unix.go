//go:build !windows

package tray

import "os/exec"

// iconIsICO: the freedesktop tray takes PNG.
const iconIsICO = false

// setBeforeRun: systray exports the StatusNotifierItem's properties while
// onReady runs on another goroutine, and a title or tooltip set between the
// two is lost (seen in the tray test). Set before Run, they are exported
// with the item.
const setBeforeRun = true

// openFolder opens dir in the desktop's file manager.
func openFolder(dir string) { exec.Command("xdg-open", dir).Start() }
