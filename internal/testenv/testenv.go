// Package testenv decides what a test does when a real part it needs (pcscd,
// an X server, Wine) is missing: skip with the reason on a laptop, fail in CI.
// CI sets MYKEY_REQUIRE_REAL=1 so that a green run never hides a skipped
// real-path test.
package testenv

import (
	"os"
	"testing"
)

// RequireReal reports whether missing real parts must fail tests.
func RequireReal() bool { return os.Getenv("MYKEY_REQUIRE_REAL") == "1" }

// Unavailable skips t, or fails it when RequireReal, saying which real part
// is missing and why.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if RequireReal() {
		t.Fatalf("real-path test cannot run (MYKEY_REQUIRE_REAL=1): "+format, args...)
	}
	t.Skipf("skipped, real part missing: "+format, args...)
}
