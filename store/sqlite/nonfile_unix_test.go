//go:build !windows

package sqlite

import (
	"errors"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/mykey-jp/mykey/store"
)

// TestRestoreRefusesNonFiles gives restore a folder, a FIFO and a device.
func TestRestoreRefusesNonFiles(t *testing.T) {
	d, _ := liveWithLink(t)
	fifo := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{t.TempDir(), fifo, "/dev/zero"} {
		if _, err := d.Restore(ctx, p); !errors.Is(err, store.ErrNotRegistry) {
			t.Errorf("Restore(%s) = %v, want ErrNotRegistry", p, err)
		}
	}
}
