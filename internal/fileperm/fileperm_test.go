//go:build !windows

package fileperm

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestCheckTrusted(t *testing.T) {
	p := filepath.Join(t.TempDir(), "mykey.toml")
	os.WriteFile(p, []byte("x"), 0o644)
	for _, tt := range []struct {
		mode os.FileMode
		ok   bool
	}{{0o644, true}, {0o600, true}, {0o664, false}, {0o646, false}, {0o666, false}} {
		os.Chmod(p, tt.mode)
		if err := CheckTrusted(p); (err == nil) != tt.ok || !tt.ok && !errors.Is(err, ErrUntrusted) {
			t.Errorf("mode %04o: %v", tt.mode, err)
		}
	}
	if os.Geteuid() == 0 {
		os.Chmod(p, 0o644)
		os.Chown(p, 4242, 4242)
		if err := CheckTrusted(p); !errors.Is(err, ErrUntrusted) {
			t.Errorf("owned by another user: %v", err)
		}
	}
}
