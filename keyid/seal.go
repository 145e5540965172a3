package keyid

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
)

// ErrSealed means a sealed value does not open: it was made under another
// pseudonym secret, for another MyKey ID or purpose, or was altered.
var ErrSealed = errors.New("a sealed value does not open (another key, another MyKey ID, or altered)")

// derive returns a key for purpose, derived from the pseudonym secret: the
// secret itself is only ever used as an HMAC key.
func (p *Pseudonymizer) derive(purpose string) []byte {
	m := hmac.New(sha256.New, p.secret)
	m.Write([]byte("mykey derived key\x00" + purpose))
	return m.Sum(nil)
}

func (p *Pseudonymizer) aead() cipher.AEAD {
	b, _ := aes.NewCipher(p.derive("seal v1")) // a 32-byte key never fails
	g, _ := cipher.NewGCM(b)
	return g
}

// Seal encrypts plaintext (a date of birth, a card key) with AES-256-GCM
// under a key derived from the pseudonym secret, bound to id and purpose:
// it opens only with the same secret, for the same MyKey ID and purpose.
// The nonce comes from r (crypto/rand when nil).
func (p *Pseudonymizer) Seal(r io.Reader, id ID, purpose string, plaintext []byte) ([]byte, error) {
	if r == nil {
		r = rand.Reader
	}
	g := p.aead()
	nonce := make([]byte, g.NonceSize(), g.NonceSize()+len(plaintext)+g.Overhead())
	if _, err := io.ReadFull(r, nonce); err != nil {
		return nil, err
	}
	return g.Seal(nonce, nonce, plaintext, sealData(id, purpose)), nil
}

// Open decrypts what Seal made for id and purpose; ErrSealed otherwise.
func (p *Pseudonymizer) Open(id ID, purpose string, sealed []byte) ([]byte, error) {
	g := p.aead()
	if len(sealed) < g.NonceSize()+g.Overhead() {
		return nil, ErrSealed
	}
	out, err := g.Open(nil, sealed[:g.NonceSize()], sealed[g.NonceSize():], sealData(id, purpose))
	if err != nil {
		return nil, ErrSealed
	}
	return out, nil
}

func sealData(id ID, purpose string) []byte {
	return []byte("mykey seal\x00" + purpose + "\x00" + string(id))
}

// Keyed returns HMAC-SHA256 of b under a key derived from the pseudonym
// secret for purpose: a fingerprint that says whether two values are the
// same without revealing either, and differs between libraries.
func (p *Pseudonymizer) Keyed(purpose string, b []byte) []byte {
	m := hmac.New(sha256.New, p.derive("keyed\x00"+purpose))
	m.Write(b)
	return m.Sum(nil)
}
