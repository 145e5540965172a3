// Package tray is the desk's notification-area icon and menu (fyne.io/
// systray): its colour and tooltip follow the desk (ready, reading, typed,
// refused, paused), and its menu pauses and resumes typing, shows the last
// result, opens the log folder and quits. It is a front end like the CLI:
// it words through package wording and decides nothing itself.
package tray

import (
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"image/color"
	"image/png"
	"time"

	"fyne.io/systray"

	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/desk"
	"github.com/mykey-jp/mykey/internal/wording"
)

// Tray states, each with its own icon colour.
type state int

const (
	trayReady state = iota
	trayReading
	trayOK
	trayError
	trayPaused
)

var trayColors = map[state]color.RGBA{
	trayReady:   {0x1f, 0x6f, 0xd0, 0xff}, // blue: waiting for a card
	trayReading: {0xe0, 0x9a, 0x1a, 0xff}, // amber: reading a card
	trayOK:      {0x2e, 0xa0, 0x43, 0xff}, // green: typed
	trayError:   {0xd0, 0x2f, 0x2f, 0xff}, // red: refused or failed
	trayPaused:  {0x80, 0x80, 0x80, 0xff}, // grey: paused
}

// trayIcon draws a 32×32 card-shaped icon in the state's colour, as an ICO
// (a PNG inside, which Windows accepts) or a PNG for other systems.
func trayIcon(s state, ico bool) []byte {
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
	mTrayReady   = wording.Msg{JA: "mykey: 受付中（カードをかざしてください）", EN: "mykey: ready (hold a card on the reader)"}
	mTrayPaused  = wording.Msg{JA: "mykey: 一時停止中", EN: "mykey: paused"}
	mTrayReading = wording.Msg{JA: "mykey: 読み取り中…", EN: "mykey: reading…"}
	mTrayPause   = wording.Msg{JA: "入力を一時停止", EN: "Pause typing"}
	mTrayResume  = wording.Msg{JA: "入力を再開", EN: "Resume typing"}
	mTrayLast    = wording.Msg{JA: "最後の結果: %s", EN: "Last result: %s"}
	mTrayNone    = wording.Msg{JA: "最後の結果: なし", EN: "Last result: none"}
	mTrayLogs    = wording.Msg{JA: "ログのフォルダを開く", EN: "Open the log folder"}
	mTrayConsole = wording.Msg{JA: "管理画面を開く", EN: "Open console"}
	mTrayQuit    = wording.Msg{JA: "終了", EN: "Quit"}
)

// Tray is the icon of one running desk. Its Status and Event take the
// desk's reports without ever blocking the desk; on a nil *Tray they do
// nothing (a desk without the tray).
type Tray struct {
	lang    wording.Lang
	desk    *desk.Desk
	logDir  string // opened by the menu
	onReady func() // called once the icon is shown; may be nil
	// OpenConsole opens the administration console in the browser, signed
	// in (console.Opener); nil: no menu item.
	OpenConsole func() error
	// Registry words the shared registry's state (online or offline
	// since, the replica's age), refreshed every few seconds; nil: no
	// menu item (a SQLite registry).
	Registry func() string
	statuses chan desk.Status
	reading  chan struct{}
}

// New returns the tray of a desk that logs to logDir.
func New(lang wording.Lang, logDir string, onReady func()) *Tray {
	return &Tray{lang: lang, logDir: logDir, onReady: onReady, statuses: make(chan desk.Status, 16), reading: make(chan struct{}, 1)}
}

// Status shows a tap's result (desk.Desk.OnStatus).
func (t *Tray) Status(st desk.Status) {
	if t == nil {
		return
	}
	select {
	case t.statuses <- st:
	default:
	}
}

// Event shows a card being read (desk.Desk.OnEvent).
func (t *Tray) Event(e cardio.Event) {
	if t == nil || e.Kind != cardio.CardInserted {
		return
	}
	select {
	case t.reading <- struct{}{}:
	default:
	}
}

// Run shows the tray icon and its menu for d until ctx ends or Quit is
// chosen (which calls cancel). It must run on the main goroutine.
func (t *Tray) Run(ctx context.Context, cancel context.CancelFunc, d *desk.Desk) {
	t.desk = d
	if setBeforeRun {
		t.show(trayReady, t.lang.T(mTrayReady))
	}
	systray.Run(func() { t.ready(ctx, cancel) }, func() {})
}

// show sets the icon's state and tooltip.
func (t *Tray) show(s state, tooltip string) {
	systray.SetIcon(trayIcon(s, iconIsICO))
	systray.SetTitle("mykey")
	systray.SetTooltip(tooltip)
}

// ready builds the menu once systray runs and follows the desk.
func (t *Tray) ready(ctx context.Context, cancel context.CancelFunc) {
	l := t.lang
	if !setBeforeRun {
		t.show(trayReady, l.T(mTrayReady))
	}
	m := menu{
		pause:   systray.AddMenuItem(l.T(mTrayPause), ""),
		last:    systray.AddMenuItem(l.T(mTrayNone), ""),
		reg:     systray.AddMenuItem("", ""),
		console: systray.AddMenuItem(l.T(mTrayConsole), ""),
		logs:    systray.AddMenuItem(l.T(mTrayLogs), ""),
	}
	if t.OpenConsole == nil {
		m.console.Hide()
	}
	m.last.Disable()
	m.reg.Disable()
	if t.Registry == nil {
		m.reg.Hide()
	} else {
		m.reg.SetTitle(t.Registry())
	}
	systray.AddSeparator()
	m.quit = systray.AddMenuItem(l.T(mTrayQuit), "")
	if t.onReady != nil {
		t.onReady()
	}
	go t.follow(ctx, cancel, m)
}

type menu struct{ pause, last, reg, console, logs, quit *systray.MenuItem }

// follow handles the menu and the desk's events until ctx ends.
func (t *Tray) follow(ctx context.Context, cancel context.CancelFunc, m menu) {
	d, l := t.desk, t.lang
	refresh := time.NewTicker(3 * time.Second)
	defer refresh.Stop()
	for {
		select {
		case <-ctx.Done():
			systray.Quit()
			return
		case <-refresh.C:
			if t.Registry != nil {
				m.reg.SetTitle(t.Registry())
			}
		case <-m.quit.ClickedCh:
			cancel()
		case <-m.logs.ClickedCh:
			openFolder(t.logDir)
		case <-m.console.ClickedCh:
			go t.OpenConsole()
		case <-m.pause.ClickedCh:
			if d.IsPaused() {
				d.Resume()
				m.pause.SetTitle(l.T(mTrayPause))
				t.show(trayReady, l.T(mTrayReady))
			} else {
				d.Pause()
				m.pause.SetTitle(l.T(mTrayResume))
				t.show(trayPaused, l.T(mTrayPaused))
			}
		case <-t.reading:
			t.show(trayReading, l.T(mTrayReading))
		case st := <-t.statuses:
			text := l.Status(st)
			m.last.SetTitle(l.T(mTrayLast, text))
			s := trayError
			if st.Outcome == desk.Typed || st.Outcome == desk.Duplicate || st.Outcome == desk.LookedUp {
				s = trayOK
			}
			if d.IsPaused() {
				s = trayPaused
			}
			t.show(s, "mykey: "+text)
		}
	}
}
