//go:build linux

package main

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mykey-jp/mykey/internal/pcsctest"
	"github.com/mykey-jp/mykey/internal/testcard"
	"github.com/mykey-jp/mykey/internal/testenv"
	"github.com/mykey-jp/mykey/internal/testpki"
	"github.com/mykey-jp/mykey/internal/xdesk"
)

// sessionBus starts a private D-Bus session daemon and returns its address.
func sessionBus(t *testing.T) string {
	if _, err := exec.LookPath("dbus-daemon"); err != nil {
		testenv.Unavailable(t, "dbus-daemon missing (apt install dbus-daemon)")
	}
	cmd := exec.Command("dbus-daemon", "--session", "--nofork", "--print-address=1")
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(addr)
}

// TestTrayStartsAndQuits runs `mykey run` with its tray icon under Xvfb and
// a private D-Bus session, finds the StatusNotifierItem it exports, and
// clicks Quit in its menu: the service must exit cleanly within a second.
func TestTrayStartsAndQuits(t *testing.T) {
	pcsctest.Start(t, 1)
	d := xdesk.Start(t)
	bus := sessionBus(t)
	dir := setupCLI(t)
	pki := testpki.Dir()
	os.WriteFile(filepath.Join(dir, "mykey.toml"), []byte(fmt.Sprintf("[database]\npath = \"registry.db\"\n[revocation]\ntrust_anchors = [%q]\n[log]\ndir = \"logs\"\n%s",
		filepath.Join(pki, "ca-2023.der"), testcard.ConfigTOML(pki))), 0o644)

	cmd := exec.Command(os.Args[0], "run", "--lang", "en")
	cmd.Env = append(os.Environ(), "MYKEY_RUN_MAIN=1", "GORACE=atexit_sleep_ms=0", "DISPLAY="+d.Display, "DBUS_SESSION_BUS_ADDRESS="+bus)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	defer func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
		}
	}()

	conn, err := dbus.Connect(bus)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	name := fmt.Sprintf("org.kde.StatusNotifierItem-%d-1", cmd.Process.Pid)
	deadline := time.Now().Add(10 * time.Second)
	for {
		var names []string
		conn.BusObject().Call("org.freedesktop.DBus.ListNames", 0).Store(&names)
		if strings.Contains(strings.Join(names, " "), name) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s on the bus\n%s", name, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The item's name is on the bus a moment before its properties are
	// exported: wait for the title and tooltip (when systray lost them
	// they never came).
	item := conn.Object(name, "/StatusNotifierItem")
	waitProp := func(prop, want string) {
		t.Helper()
		var v dbus.Variant
		var err error
		for range 200 {
			if v, err = item.GetProperty("org.kde.StatusNotifierItem." + prop); err == nil && strings.Contains(fmt.Sprint(v.Value()), want) {
				return
			}
			time.Sleep(25 * time.Millisecond)
		}
		t.Fatalf("%s = %v, %v; want %q in it\n%s", prop, v, err, want, stderr.String())
	}
	waitProp("Title", "mykey")
	waitProp("ToolTip", "ready")
	if v, err := item.GetProperty("org.kde.StatusNotifierItem.IconPixmap"); err != nil || len(fmt.Sprint(v.Value())) < 100 {
		t.Fatalf("IconPixmap = %.80v, %v; want the icon's pixels", v, err)
	}

	// Find Quit in the menu and click it.
	menu := conn.Object(name, "/StatusNotifierItem/menu")
	var rev uint32
	var layout struct {
		ID       int32
		Props    map[string]dbus.Variant
		Children []dbus.Variant
	}
	if err := menu.Call("com.canonical.dbusmenu.GetLayout", 0, int32(0), int32(-1), []string{}).Store(&rev, &layout); err != nil {
		t.Fatal(err)
	}
	quitID := int32(-1)
	var labels []string
	for _, c := range layout.Children {
		f, ok := c.Value().([]interface{})
		if !ok || len(f) < 2 {
			continue
		}
		props, _ := f[1].(map[string]dbus.Variant)
		label := fmt.Sprint(props["label"].Value())
		labels = append(labels, label)
		if label == "Quit" {
			quitID = f[0].(int32)
		}
	}
	if quitID < 0 {
		t.Fatalf("no Quit in the menu: %q", labels)
	}
	start := time.Now()
	if err := menu.Call("com.canonical.dbusmenu.Event", 0, quitID, "clicked", dbus.MakeVariant(""), uint32(0)).Err; err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("mykey run after Quit: %v\n%s", err, stderr.String())
		}
		if time.Since(start) > time.Second {
			t.Errorf("Quit took %v", time.Since(start))
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("mykey run did not quit\n%s", stderr.String())
	}
}
