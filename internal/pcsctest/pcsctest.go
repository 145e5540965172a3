//go:build linux

// Package pcsctest runs a real pcscd with vpcd virtual readers for tests.
// It only starts pcscd inside the private namespaces of scripts/pcsc-ns.sh
// (MYKEY_PCSC_NS=1); elsewhere the test is skipped, or fails in CI.
//
// Test binaries of several packages may run at once: a lock file on the
// private /run/pcscd gives one test at a time its own pcscd.
package pcsctest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/internal/testenv"
)

const (
	socket  = "/run/pcscd/pcscd.comm"
	confDir = "/etc/reader.conf.d"
	driver  = "/usr/lib/pcsc/drivers/serial/libifdvpcd.so"
)

// Port returns the vpcd TCP port of reader slot i of vpcd entry e: entry 0
// serves 35963 and 35964, entry 1 35965 and 35966, and so on.
func Port(entry, slot int) int { return 35963 + 2*entry + slot }

// Addr is Port on loopback.
func Addr(entry, slot int) string { return fmt.Sprintf("127.0.0.1:%d", Port(entry, slot)) }

// Daemon is a pcscd started for one test.
type Daemon struct {
	mu      sync.Mutex // guards cmd: tests restart pcscd from goroutines
	t       testing.TB
	cmd     *exec.Cmd
	logPath string
	lock    *os.File
	entries int
}

// Start starts pcscd with entries vpcd entries (two readers each) and
// waits until it accepts clients. It is stopped when the test ends.
func Start(t testing.TB, entries int) *Daemon {
	t.Helper()
	if os.Getenv("MYKEY_PCSC_NS") != "1" {
		testenv.Unavailable(t, "pcscd tests run inside scripts/pcsc-ns.sh (private namespaces, root)")
	}
	if _, err := os.Stat(driver); err != nil {
		testenv.Unavailable(t, "vpcd driver missing (apt install vsmartcard-vpcd): %v", err)
	}
	lock, err := os.OpenFile("/run/pcscd/mykey-test.lock", os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	d := &Daemon{t: t, logPath: filepath.Join(t.TempDir(), "pcscd.log"), lock: lock}
	t.Cleanup(func() {
		d.Stop()
		lock.Close()
	})
	old, _ := filepath.Glob(filepath.Join(confDir, "*"))
	for _, f := range old {
		os.Remove(f)
	}
	for range entries {
		d.AddEntry()
	}
	d.Restart()
	return d
}

// AddEntry writes another vpcd entry (with its own copy of the driver, as
// pcscd needs) and returns its index. It takes effect at the next Restart:
// Debian's pcscd (built for udev hotplug) does not rescan reader.conf.d on
// SIGUSR1, and trying makes it stop answering.
func (d *Daemon) AddEntry() int {
	d.t.Helper()
	e := d.entries
	d.entries++
	lib := driver
	if e > 0 {
		lib = fmt.Sprintf("/run/pcscd/libifdvpcd-%d.so", e)
		b, err := os.ReadFile(driver)
		if err != nil {
			d.t.Fatal(err)
		}
		if err := os.WriteFile(lib, b, 0o755); err != nil {
			d.t.Fatal(err)
		}
	}
	// Entries need distinct names: pcscd numbers equal names alike.
	name := "Virtual PCD"
	if e > 0 {
		name = fmt.Sprintf("Virtual PCD %d", e)
	}
	conf := fmt.Sprintf("FRIENDLYNAME \"%s\"\nDEVICENAME /dev/null:0x%04X\nLIBPATH %s\nCHANNELID 0x%04X\n", name, Port(e, 0), lib, Port(e, 0))
	if err := os.WriteFile(filepath.Join(confDir, fmt.Sprintf("vpcd-%d", e)), []byte(conf), 0o644); err != nil {
		d.t.Fatal(err)
	}
	return e
}

// Stop stops pcscd (SIGTERM, then waits).
func (d *Daemon) Stop() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stop()
}

func (d *Daemon) stop() {
	if d.cmd == nil {
		return
	}
	d.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { d.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		d.cmd.Process.Kill()
		<-done
	}
	d.cmd = nil
	os.Remove(socket)
}

// Restart stops pcscd if it runs and starts it again.
func (d *Daemon) Restart() {
	d.t.Helper()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.stop()
	log, err := os.OpenFile(d.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		d.t.Fatal(err)
	}
	defer log.Close()
	cmd := exec.Command("pcscd", "--foreground", "--apdu")
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		testenv.Unavailable(d.t, "starting pcscd (apt install pcscd): %v", err)
	}
	d.cmd = cmd
	if err := d.waitReady(5 * time.Second); err != nil {
		b, _ := os.ReadFile(d.logPath)
		d.t.Fatalf("pcscd did not come up: %v\n%s", err, b)
	}
}

func (d *Daemon) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		c, err := net.Dial("unix", socket)
		if err == nil {
			c.Close()
			// Each vpcd entry listens once pcscd has initialised its reader.
			// Dialling it would insert a card, so look at /proc instead.
			ready := true
			for e := range d.entries {
				ready = ready && Listening(Port(e, 0))
			}
			if ready {
				return nil
			}
			err = fmt.Errorf("vpcd not listening yet")
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Listening reports whether a TCP socket listens on port (from /proc/net/tcp).
func Listening(port int) bool {
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		want := fmt.Sprintf(":%04X ", port)
		for _, line := range strings.Split(string(b), "\n") {
			fields := strings.Fields(line)
			if len(fields) > 3 && strings.HasSuffix(fields[1]+" ", want) && fields[3] == "0A" {
				return true
			}
		}
	}
	return false
}

// Log returns what pcscd printed so far.
func (d *Daemon) Log() string {
	b, _ := os.ReadFile(d.logPath)
	return string(b)
}
