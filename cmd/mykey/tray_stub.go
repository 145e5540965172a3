package main

import (
	"context"

	"github.com/mykey-jp/mykey/desk"
)

// runTray shows the tray icon until ctx ends. Not built yet: the service
// runs without it (as with --no-tray) and says so.
func (a *app) runTray(ctx context.Context, cancel context.CancelFunc, d *desk.Desk, statuses <-chan desk.Status) {
	a.println(a.t(msg{"（常駐アイコンはこの版にはまだありません。--no-tray と同じく動きます。）", "(the tray icon is not in this version yet; running as with --no-tray.)"}))
}
