package keyfile

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/argon2"

	"github.com/mykey-jp/mykey/keyid"
)

// ErrPassphrase means a sealed key could not be opened: the passphrase is
// wrong, or the file was changed.
var ErrPassphrase = errors.New("the sealed key cannot be opened: wrong passphrase, or the file was changed")

// sealTag names the sealed form and is bound into its encryption.
const sealTag = "mykey-key-v1"

// Seal returns the secret sealed with a passphrase, to carry it to another
// desk (mykey key export): AES-256-GCM under a key derived from the
// passphrase with Argon2id (64 MiB, 3 passes) and a random salt, as text.
func Seal(secret, passphrase []byte, r io.Reader) ([]byte, error) {
	if r == nil {
		r = rand.Reader
	}
	salt, nonce := make([]byte, 16), make([]byte, 12)
	if _, err := io.ReadFull(r, salt); err != nil {
		return nil, err
	}
	if _, err := io.ReadFull(r, nonce); err != nil {
		return nil, err
	}
	aead, err := sealer(passphrase, salt)
	if err != nil {
		return nil, err
	}
	enc := base64.StdEncoding
	return fmt.Appendf(nil, "# mykey pseudonym key, sealed with a passphrase to carry it to another desk.\n# Import it there with: mykey key import FILE\n%s %s %s %s\n",
		sealTag, enc.EncodeToString(salt), enc.EncodeToString(nonce), enc.EncodeToString(aead.Seal(nil, nonce, secret, []byte(sealTag)))), nil
}

// Unseal opens what Seal made.
func Unseal(data, passphrase []byte) ([]byte, error) {
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if len(f) != 4 || f[0] != sealTag {
			break
		}
		enc := base64.StdEncoding
		salt, err1 := enc.DecodeString(f[1])
		nonce, err2 := enc.DecodeString(f[2])
		box, err3 := enc.DecodeString(f[3])
		if err1 != nil || err2 != nil || err3 != nil || len(salt) != 16 || len(nonce) != 12 {
			break
		}
		aead, err := sealer(passphrase, salt)
		if err != nil {
			return nil, err
		}
		secret, err := aead.Open(nil, nonce, box, []byte(sealTag))
		if err != nil || len(secret) != keyid.SecretLen {
			return nil, ErrPassphrase
		}
		return secret, nil
	}
	return nil, fmt.Errorf("%w: not a sealed mykey key (%s)", ErrFormat, sealTag)
}

func sealer(passphrase, salt []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(argon2.IDKey(passphrase, salt, 3, 64<<10, 2, 32))
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
