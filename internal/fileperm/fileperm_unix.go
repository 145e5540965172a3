//go:build !windows

package fileperm

import (
	"fmt"
	"os"
	"syscall"
)

func checkTrusted(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if m := fi.Mode().Perm(); m&0o022 != 0 {
		return fmt.Errorf("%s has mode %04o (group or others may write it): %w", path, m, ErrUntrusted)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Uid != 0 && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s is owned by user %d, not by the user running mykey (%d) or root: %w", path, st.Uid, os.Geteuid(), ErrUntrusted)
	}
	return nil
}

// restrictToOwner is a no-op on Unix: the files are created with mode
// 0600.
func restrictToOwner(string) error { return nil }
