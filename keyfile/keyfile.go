// Package keyfile keeps the per-installation pseudonym secret in its own file,
// beside the configuration and never in the registry database or its backups.
//
// The file is created on first use, readable by its owner only (mode 0600 on
// Unix; on Windows a protected ACL for SYSTEM, Administrators and the
// creating user). A file that others can read is refused, as ssh refuses a
// private key with loose permissions.
package keyfile

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/mykey-jp/mykey/internal/fileperm"
	"github.com/mykey-jp/mykey/keyid"
)

// ErrPermissions means the key file can be read by users other than its owner.
var ErrPermissions = errors.New("key file is readable by other users")

// ErrFormat means the key file does not hold a secret in the expected form.
var ErrFormat = errors.New("key file is malformed")

const header = `# mykey pseudonym secret. Keep this file secret, and back it up apart from
# the registry database: without it, registered cards can no longer be
# recognised. Do not edit.
`

// Load reads the secret from path. It returns fs.ErrNotExist (wrapped) when the
// file is missing, ErrPermissions when it is readable by others, and ErrFormat
// when its content is not a secret written by this package.
func Load(path string) ([]byte, error) {
	// Look before opening: opening a FIFO would wait for a writer.
	if fi, err := os.Stat(path); err != nil {
		return nil, err
	} else if !fi.Mode().IsRegular() || fi.Size() > 64<<10 {
		return nil, fmt.Errorf("%s: %w: not a key file (%v, %d bytes)", path, ErrFormat, fi.Mode().Type(), fi.Size())
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if err := checkPrivate(f, path); err != nil {
		return nil, err
	}
	return parse(f, path)
}

// LoadOrCreate returns the secret in path, creating the file with a fresh
// secret from r (crypto/rand when nil) if it does not exist yet. created tells
// whether it did. Concurrent callers all end up with the same secret.
func LoadOrCreate(path string, r io.Reader) (secret []byte, created bool, err error) {
	secret, err = Load(path)
	if !errors.Is(err, fs.ErrNotExist) {
		return secret, false, err
	}
	if r == nil {
		r = rand.Reader
	}
	secret = make([]byte, keyid.SecretLen)
	if _, err := io.ReadFull(r, secret); err != nil {
		return nil, false, fmt.Errorf("reading randomness: %w", err)
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, false, err
	}
	tmp, err := os.CreateTemp(dir, ".pseudonym-*.tmp")
	if err != nil {
		return nil, false, err
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	if err := tmp.Chmod(0o600); err != nil && !errors.Is(err, errChmodUnsupported) {
		tmp.Close()
		return nil, false, err
	}
	_, err = tmp.WriteString(header + hex.EncodeToString(secret) + "\n")
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, false, err
	}
	if err := fileperm.RestrictToOwner(tmpName); err != nil {
		return nil, false, fmt.Errorf("restricting access to %s: %w", tmpName, err)
	}
	// Link fails if another process created the file meanwhile; then its
	// secret wins and ours is discarded.
	if err := os.Link(tmpName, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			s, err := Load(path)
			return s, false, err
		}
		return nil, false, err
	}
	return secret, true, nil
}

func parse(r io.Reader, path string) ([]byte, error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		b, err := hex.DecodeString(line)
		if err != nil || len(b) != keyid.SecretLen {
			return nil, fmt.Errorf("%s: %w: want %d hex-encoded bytes", path, ErrFormat, keyid.SecretLen)
		}
		return b, nil
	}
	if err := sc.Err(); err != nil { // a line longer than any key file has
		return nil, fmt.Errorf("%s: %w: %v", path, ErrFormat, err)
	}
	return nil, fmt.Errorf("%s: %w: no secret in file", path, ErrFormat)
}
