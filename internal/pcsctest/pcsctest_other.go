//go:build !linux

// Package pcsctest runs a real pcscd for tests; only on Linux.
package pcsctest

import (
	"fmt"
	"testing"

	"github.com/mykey-jp/mykey/internal/testenv"
)

// Daemon is a pcscd started for one test; see the Linux implementation.
type Daemon struct{}

// Start skips (or fails under MYKEY_REQUIRE_REAL): pcscd tests are Linux-only.
func Start(t testing.TB, entries int) *Daemon {
	testenv.Unavailable(t, "pcscd tests run on Linux only")
	return nil
}

// AddEntry is Linux-only.
func (d *Daemon) AddEntry() int { return 0 }

// Stop is Linux-only.
func (d *Daemon) Stop() {}

// Restart is Linux-only.
func (d *Daemon) Restart() {}

// Log is Linux-only.
func (d *Daemon) Log() string { return "" }

// Addr is the vpcd address of reader slot of entry.
func Addr(entry, slot int) string { return fmt.Sprintf("127.0.0.1:%d", 35963+2*entry+slot) }
