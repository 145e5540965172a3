// Package atomicfile writes the files mykey makes for people (exports,
// configuration templates) so that they never clobber or follow: an
// existing path is refused unless the caller forces it, a symbolic link is
// replaced rather than followed, the content goes to a temporary file in
// the same folder first and appears whole or not at all.
package atomicfile

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/mykey-jp/mykey/internal/fileperm"
)

// Write writes data to path with permissions perm. Without force an
// existing path (a file, a link, anything) is fs.ErrExist; with force a
// file or a link there is replaced, a folder never.
func Write(path string, data []byte, perm fs.FileMode, force bool) error {
	fi, err := os.Lstat(path)
	switch {
	case err == nil && !force:
		return fmt.Errorf("%s: %w", path, fs.ErrExist)
	case err == nil && fi.IsDir():
		return fmt.Errorf("%s: %w: it is a folder", path, fs.ErrExist)
	case err != nil && !os.IsNotExist(err):
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if perm&0o077 == 0 { // owner-only: the same on Windows, by ACL
		if err := fileperm.RestrictToOwner(tmp); err != nil {
			f.Close()
			return err
		}
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if force {
		return os.Rename(tmp, path) // replaces a link itself, never its target
	}
	if err := os.Link(tmp, path); err != nil { // fails if the path appeared meanwhile
		return err
	}
	return nil
}
