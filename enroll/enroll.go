// Package enroll registers a patron's My Number Card at the counter: it
// reads and checks the user-identification certificate, asks for the PIN
// (refusing to use the last try unless forced), has the card sign a fresh
// random challenge and verifies the signature with the certificate's key,
// which proves the card is genuine and not a copy of a public certificate,
// and then registers the certificate's pseudonym to a MyKey ID (reusing it
// for a renewed card) and links the patron number, in one transaction.
package enroll

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"

	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/certcheck"
	"github.com/mykey-jp/mykey/keyid"
	"github.com/mykey-jp/mykey/store"
)

// ErrNotGenuine means the card's signature does not verify with its
// certificate: the certificate was copied, or the card is faulty.
var ErrNotGenuine = errors.New("the card's signature does not match its certificate")

// RejectedError means the certificate check refused the card.
type RejectedError struct{ Decision certcheck.Decision }

func (e *RejectedError) Error() string { return "certificate refused: " + e.Decision.String() }

// Checker decides about a certificate (certcheck.Policy).
type Checker interface {
	Check(ctx context.Context, leaf *x509.Certificate) certcheck.Decision
}

// Request is one registration.
type Request struct {
	Session  *cardio.Session // the applet is selected
	Checker  Checker
	Registry store.Registry
	Pseudo   *keyid.Pseudonymizer
	// PIN is called with the tries left and returns the PIN; its bytes are
	// cleared after the VERIFY.
	PIN       func(triesLeft int) ([]byte, error)
	ForceLast bool     // allow using the last PIN try
	MyKeyID   keyid.ID // attach to this MyKey ID (a renewed card)
	Patron    string   // normalised patron number to link, or ""
	Service   string
	Rand      io.Reader // challenge randomness; crypto/rand when nil
}

// Result is what a registration did.
type Result struct {
	store.Registered
	Decision  certcheck.Decision
	TriesLeft int // before the PIN was entered
	NotAfter  string
}

// digestInfoSHA256 is the DER prefix of a SHA-256 DigestInfo.
var digestInfoSHA256 = []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}

// Enroll runs the registration. Any failure leaves the registry unchanged.
func Enroll(ctx context.Context, q Request) (Result, error) {
	var res Result
	s := q.Session
	der, err := s.AuthCertificate(ctx)
	if err != nil {
		return res, fmt.Errorf("reading the certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return res, fmt.Errorf("%w: %v", cardio.ErrBadCertificate, err)
	}
	res.NotAfter = leaf.NotAfter.UTC().Format("2006-01-02")
	res.Decision = q.Checker.Check(ctx, leaf)
	if !res.Decision.OK() {
		return res, &RejectedError{res.Decision}
	}
	pub, ok := leaf.PublicKey.(*rsa.PublicKey)
	if !ok {
		return res, fmt.Errorf("%w: not an RSA key", cardio.ErrBadCertificate)
	}

	tries, err := s.PINTriesLeft(ctx)
	if err != nil {
		return res, fmt.Errorf("asking for the PIN tries left: %w", err)
	}
	res.TriesLeft = tries
	switch {
	case tries == 0:
		return res, cardio.ErrPINBlocked
	case tries == 1 && !q.ForceLast:
		return res, cardio.ErrLastTry
	}
	pin, err := q.PIN(tries)
	if err != nil {
		return res, err
	}
	err = s.VerifyPIN(ctx, pin, q.ForceLast) // clears pin
	clear(pin)
	if err != nil {
		return res, err
	}

	r := q.Rand
	if r == nil {
		r = rand.Reader
	}
	challenge := make([]byte, 32)
	if _, err := io.ReadFull(r, challenge); err != nil {
		return res, fmt.Errorf("making the challenge: %w", err)
	}
	digest := sha256.Sum256(challenge)
	sig, err := s.Sign(ctx, append(append([]byte(nil), digestInfoSHA256...), digest[:]...))
	if err != nil {
		return res, fmt.Errorf("having the card sign: %w", err)
	}
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
		return res, ErrNotGenuine
	}

	p := q.Pseudo.Pseudonym(res.Decision.Issuer.RawSubjectPublicKeyInfo, leaf.SerialNumber)
	res.Registered, err = q.Registry.Register(ctx, store.Registration{
		Pseudonym: p, NotAfter: leaf.NotAfter, MyKeyID: q.MyKeyID, Service: q.Service, Patron: q.Patron,
	})
	return res, err
}
