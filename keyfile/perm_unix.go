//go:build !windows

package keyfile

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

var errChmodUnsupported = errors.New("chmod unsupported")

// checkPrivate refuses a key file that group or others may access, or that
// another user owns (who could have replaced it).
func checkPrivate(f *os.File, path string) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if m := fi.Mode().Perm(); m&0o077 != 0 {
		return fmt.Errorf("%s has mode %04o: %w", path, m, ErrPermissions)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return fmt.Errorf("%s is owned by user %d, not by the user running mykey (%d): %w", path, st.Uid, os.Geteuid(), ErrPermissions)
	}
	return nil
}
