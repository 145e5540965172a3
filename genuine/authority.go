package genuine

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"unicode"

	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/keyid"
	"github.com/mykey-jp/mykey/store"
)

// ParseAuthorityKey reads a CVC CA public key: PEM ("PUBLIC KEY" or "RSA
// PUBLIC KEY") or the RSA modulus in hex (exponent 65537), as CVC CA keys
// are often published.
func ParseAuthorityKey(b []byte) (*rsa.PublicKey, error) {
	if blk, _ := pem.Decode(b); blk != nil {
		var k any
		var err error
		switch blk.Type {
		case "PUBLIC KEY":
			k, err = x509.ParsePKIXPublicKey(blk.Bytes)
		case "RSA PUBLIC KEY":
			k, err = x509.ParsePKCS1PublicKey(blk.Bytes)
		default:
			return nil, fmt.Errorf("a PEM %q block: want PUBLIC KEY or RSA PUBLIC KEY", blk.Type)
		}
		if err != nil {
			return nil, err
		}
		rk, ok := k.(*rsa.PublicKey)
		if !ok {
			return nil, errors.New("not an RSA public key")
		}
		return rk, checkSize(rk)
	}
	h := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) || r == ':' {
			return -1
		}
		return r
	}, string(b))
	m, err := hex.DecodeString(strings.TrimPrefix(strings.ToLower(h), "0x"))
	if err != nil {
		return nil, errors.New("neither PEM nor a modulus in hex")
	}
	k := &rsa.PublicKey{N: new(big.Int).SetBytes(m), E: 65537}
	return k, checkSize(k)
}

func checkSize(k *rsa.PublicKey) error {
	if n := k.N.BitLen(); n < 2048 || n > 4096 {
		return fmt.Errorf("an RSA key of %d bits: want 2048 to 4096", n)
	}
	return nil
}

// Authority returns the key id printed as "5000023/001" as a KeyID.
func Authority(id string) (cardio.KeyID, error) {
	a, k, _ := strings.Cut(id, "/")
	return cardio.MakeKeyID(a, k)
}

// Registered runs the check in s for the card registered as MyKey ID id,
// against what r keeps for it (ErrMissing when nothing).
func (c *Checker) Registered(ctx context.Context, s *cardio.Session, r store.Registry, id keyid.ID) error {
	if c.Mode == ModeOff {
		return nil
	}
	g, err := r.Genuine(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return ErrMissing
	}
	if err != nil {
		return err
	}
	k, err := Unseal(c.Keys, id, g)
	if err != nil {
		return err
	}
	return c.Tap(ctx, s, &k)
}
