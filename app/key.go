package app

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"unicode/utf8"

	"github.com/mykey-jp/mykey/internal/atomicfile"
	"github.com/mykey-jp/mykey/internal/fileperm"
	"github.com/mykey-jp/mykey/keyfile"
	"github.com/mykey-jp/mykey/keyid"
)

// Errors of carrying the pseudonym key between desks.
var (
	ErrWeakPassphrase = errors.New("the passphrase must be 12 to 256 characters")
	ErrKeyExists      = errors.New("another pseudonym key file is already in place")
)

// ExportKey writes this desk's pseudonym key to path sealed with a
// passphrase (keyfile.Seal), for another desk of the same registry, and
// returns the key's fingerprint to compare there. The passphrase is
// cleared; an existing path is refused unless force.
func (a *App) ExportKey(path string, passphrase []byte, force bool) (fingerprint string, err error) {
	defer clear(passphrase)
	if n := utf8.RuneCount(passphrase); n < 12 || n > 256 {
		return "", ErrWeakPassphrase
	}
	secret, err := keyfile.Load(a.Config.KeyFile.Path)
	if err != nil {
		return "", err
	}
	defer clear(secret)
	p, err := keyid.NewPseudonymizer(secret)
	if err != nil {
		return "", err
	}
	sealed, err := keyfile.Seal(secret, passphrase, a.Devices.Rand)
	if err != nil {
		return "", err
	}
	if err := atomicfile.Write(path, sealed, 0o600, force); err != nil {
		return "", err
	}
	return p.Fingerprint(), fileperm.RestrictToOwner(path)
}

// ImportKey installs the pseudonym key sealed in path as this desk's key
// file (owner-only) and returns its fingerprint; created is false when the
// same key was already in place. A different key file already in place is
// ErrKeyExists: it is never replaced.
func (a *App) ImportKey(path string, passphrase []byte) (fingerprint string, created bool, err error) {
	defer clear(passphrase)
	if _, err := RegularFile(path, 64<<10); err != nil {
		return "", false, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", false, err
	}
	secret, err := keyfile.Unseal(data, passphrase)
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", path, err)
	}
	defer clear(secret)
	p, err := keyid.NewPseudonymizer(secret)
	if err != nil {
		return "", false, err
	}
	have, created, err := keyfile.LoadOrCreate(a.Config.KeyFile.Path, bytes.NewReader(secret))
	if err != nil {
		return "", false, err
	}
	if !bytes.Equal(have, secret) {
		return "", false, fmt.Errorf("%s: %w; move it away first if this desk's registry does not need it", a.Config.KeyFile.Path, ErrKeyExists)
	}
	return p.Fingerprint(), created, nil
}
