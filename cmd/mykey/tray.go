package main

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/color"
	"image/png"

	"fyne.io/systray"

	"github.com/mykey-jp/mykey/desk"
)

// Tray states, each with its own icon colour.
type trayState int

const (
	trayReady trayState = iota
	trayReading
	trayOK
	trayError
	trayPaused
)

var trayColors = map[trayState]color.RGBA{
	trayReady:   {0x1f, 0x6f, 0xd0, 0xff}, // blue: waiting for a card
	trayReading: {0xe0, 0x9a, 0x1a, 0xff}, // amber: reading a card
	trayOK:      {0x2e, 0xa0, 0x43, 0xff}, // green: typed
	trayError:   {0xd0, 0x2f, 0x2f, 0xff}, // red: refused or failed
	trayPaused:  {0x80, 0x80, 0x80, 0xff}, // grey: paused
}

// trayIcon draws a 32×32 card-shaped icon in the state's colour, as an ICO
// (a PNG inside, which Windows accepts) or a PNG for other systems.
func trayIcon(s trayState, ico bool) []byte {
	const n = 32
	img := image.NewRGBA(image.Rect(0, 0, n, n))
	c := trayColors[s]
	for y := 6; y < 26; y++ {
		for x := 2; x < 30; x++ {
			img.Set(x, y, c)
		}
	}
	for y := 11; y < 17; y++ { // the chip
		for x := 6; x < 13; x++ {
			img.Set(x, y, color.RGBA{0xf0, 0xd0, 0x60, 0xff})
		}
	}
	var p bytes.Buffer
	png.Encode(&p, img)
	if !ico {
		return p.Bytes()
	}
	var b bytes.Buffer
	binary.Write(&b, binary.LittleEndian, []uint16{0, 1, 1})                 // ICONDIR: icon, one image
	b.Write([]byte{n, n, 0, 0})                                              // width, height, colours, reserved
	binary.Write(&b, binary.LittleEndian, []uint16{1, 32})                   // planes, bits per pixel
	binary.Write(&b, binary.LittleEndian, []uint32{uint32(p.Len()), 6 + 16}) // size, offset
	b.Write(p.Bytes())
	return b.Bytes()
}

var (
	mTrayReady   = msg{"mykey: 受付中（カードをかざしてください）", "mykey: ready (hold a card on the reader)"}
	mTrayPaused  = msg{"mykey: 一時停止中", "mykey: paused"}
	mTrayReading = msg{"mykey: 読み取り中…", "mykey: reading…"}
	mTrayPause   = msg{"入力を一時停止", "Pause typing"}
	mTrayResume  = msg{"入力を再開", "Resume typing"}
	mTrayLast    = msg{"最後の結果: %s", "Last result: %s"}
	mTrayNone    = msg{"最後の結果: なし", "Last result: none"}
	mTrayLogs    = msg{"ログのフォルダを開く", "Open the log folder"}
	mTrayQuit    = msg{"終了", "Quit"}
	mTrayStarted = msg{"常駐アイコンを表示しました。", "tray icon shown."}
)

// runTray shows the tray icon and its menu until ctx ends or Quit is
// chosen (which cancels ctx). It must run on the main goroutine.
func (a *invocation) runTray(ctx context.Context, cancel context.CancelFunc, d *desk.Desk, statuses <-chan desk.Status, reading <-chan struct{}) {
	logDir := ""
	if c, err := a.config(); err == nil {
		logDir = c.Log.Dir
	}
	initial := func() {
		systray.SetIcon(trayIcon(trayReady, iconIsICO))
		systray.SetTitle("mykey")
		systray.SetTooltip(a.t(mTrayReady))
	}
	if setBeforeRun {
		initial()
	}
	onReady := func() {
		if !setBeforeRun {
			initial()
		}
		pause := systray.AddMenuItem(a.t(mTrayPause), "")
		last := systray.AddMenuItem(a.t(mTrayNone), "")
		last.Disable()
		logs := systray.AddMenuItem(a.t(mTrayLogs), "")
		systray.AddSeparator()
		quit := systray.AddMenuItem(a.t(mTrayQuit), "")
		if !a.json {
			fmt.Fprintln(a.stderr, a.t(mTrayStarted))
		}
		go func() {
			for {
				select {
				case <-ctx.Done():
					systray.Quit()
					return
				case <-quit.ClickedCh:
					cancel()
				case <-logs.ClickedCh:
					openFolder(logDir)
				case <-pause.ClickedCh:
					if d.IsPaused() {
						d.Resume()
						pause.SetTitle(a.t(mTrayPause))
						systray.SetIcon(trayIcon(trayReady, iconIsICO))
						systray.SetTooltip(a.t(mTrayReady))
					} else {
						d.Pause()
						pause.SetTitle(a.t(mTrayResume))
						systray.SetIcon(trayIcon(trayPaused, iconIsICO))
						systray.SetTooltip(a.t(mTrayPaused))
					}
				case <-reading:
					systray.SetIcon(trayIcon(trayReading, iconIsICO))
					systray.SetTooltip(a.t(mTrayReading))
				case st := <-statuses:
					text := a.statusText(st)
					last.SetTitle(a.t(mTrayLast, text))
					state := trayError
					if st.Outcome == desk.Typed || st.Outcome == desk.Duplicate {
						state = trayOK
					}
					if d.IsPaused() {
						state = trayPaused
					}
					systray.SetIcon(trayIcon(state, iconIsICO))
					systray.SetTooltip("mykey: " + text)
				}
			}
		}()
	}
	systray.Run(onReady, func() {})
}
