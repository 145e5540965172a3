package keyid

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"math/big"
)

// SecretLen is the length of the per-installation pseudonym secret.
const SecretLen = 32

// Pseudonym stands in for a certificate's issuance number. It is
// HMAC-SHA256(secret, SHA-256(issuer SubjectPublicKeyInfo) || serial), where
// serial is the certificate serial number as unsigned big-endian bytes without
// leading zeros. Without the secret it cannot be linked back to the issuance
// number, and the same card gives a different pseudonym at another library.
type Pseudonym [sha256.Size]byte

// String returns the pseudonym in lower-case hex.
func (p Pseudonym) String() string { return hex.EncodeToString(p[:]) }

// Short returns the first 12 hex digits, enough to tell pseudonyms apart in
// logs and messages.
func (p Pseudonym) Short() string { return hex.EncodeToString(p[:6]) }

// ErrSecret is returned for a pseudonym secret of the wrong length.
var ErrSecret = errors.New("pseudonym secret must be 32 bytes")

// Pseudonymizer turns issuance numbers into pseudonyms with one secret.
type Pseudonymizer struct {
	secret []byte
}

// NewPseudonymizer returns a Pseudonymizer for a SecretLen-byte secret.
func NewPseudonymizer(secret []byte) (*Pseudonymizer, error) {
	if len(secret) != SecretLen {
		return nil, ErrSecret
	}
	return &Pseudonymizer{secret: append([]byte(nil), secret...)}, nil
}

// Pseudonym returns the pseudonym of the certificate with serial number
// serial issued under the CA whose DER SubjectPublicKeyInfo is issuerSPKI.
func (p *Pseudonymizer) Pseudonym(issuerSPKI []byte, serial *big.Int) Pseudonym {
	caHash := sha256.Sum256(issuerSPKI)
	m := hmac.New(sha256.New, p.secret)
	m.Write(caHash[:])
	m.Write(serial.Bytes())
	var out Pseudonym
	m.Sum(out[:0])
	return out
}

// Fingerprint names the secret without revealing it: the first 16 bytes of
// HMAC-SHA256(secret, "mykey pseudonym key fingerprint"), in hex. A
// registry records it to know which key its pseudonyms were made with.
func (p *Pseudonymizer) Fingerprint() string {
	m := hmac.New(sha256.New, p.secret)
	m.Write([]byte("mykey pseudonym key fingerprint"))
	return hex.EncodeToString(m.Sum(nil)[:16])
}
