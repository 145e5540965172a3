//go:build !linux

// Package xdesk runs a real X desktop for tests; only on Linux.
package xdesk

import (
	"testing"

	"github.com/mykey-jp/mykey/internal/testenv"
)

// Desk is Linux-only.
type Desk struct{ Display string }

// Start skips (or fails under MYKEY_REQUIRE_REAL).
func Start(t testing.TB) *Desk {
	testenv.Unavailable(t, "X desktop tests run on Linux only")
	return nil
}
