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
	"github.com/mykey-jp/mykey/genuine"
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
	// Genuine, when not nil, runs after the signature in the same
	// connection and captures what the genuine-card check needs; the
	// function it returns seals it for the MyKey ID, in the registry's
	// transaction.
	Genuine func(ctx context.Context, s *cardio.Session) (func(keyid.ID) (store.Genuine, error), error)
}

// Result is what a registration did.
type Result struct {
	store.Registered
	Decision  certcheck.Decision
	TriesLeft int // before the PIN was entered
	NotAfter  string
}

// Enroll runs the registration. Any failure leaves the registry unchanged;
// a failure before the registry step (the card, the certificate check, the
// PIN, the signature, the roster) is written to the audit log as action
// register with Outcome(err), since the registry audits only what it did.
func Enroll(ctx context.Context, q Request) (Result, error) {
	res, err := enroll(ctx, q)
	if err != nil && !registryRefusal(err) {
		q.Registry.Audit(ctx, store.AuditEntry{Action: store.ActionRegister, MyKeyID: q.MyKeyID, Outcome: Outcome(err)})
	}
	return res, err
}

// registryRefusal reports errors the registry has audited itself.
func registryRefusal(err error) bool {
	return errors.Is(err, store.ErrPatronLinked) || errors.Is(err, store.ErrIDLinked) ||
		errors.Is(err, store.ErrCertRegistered) || errors.Is(err, store.ErrUnknownID)
}

// Outcome is the audit outcome of a failed registration: a short code
// without personal data.
func Outcome(err error) string {
	var pe *cardio.PINError
	var re *RejectedError
	codes := []struct {
		err  error
		code string
	}{
		{cardio.ErrNotJPKI, "not-jpki"}, {cardio.ErrCardRemoved, "card-removed"}, {cardio.ErrReaderGone, "reader-gone"},
		{cardio.ErrBadCertificate, "bad-certificate"}, {cardio.ErrMalformed, "malformed"}, {cardio.ErrPINBlocked, "pin-blocked"},
		{cardio.ErrLastTry, "pin-last-try"}, {cardio.ErrBadPIN, "bad-pin"}, {ErrNotGenuine, "not-genuine"},
		{store.ErrCorrupt, "corrupt"}, {store.ErrReadOnly, "read-only"}, {store.ErrBusy, "busy"},
		{store.ErrSchemaTooNew, "schema-too-new"}, {store.ErrCannotOpen, "cannot-open"},
	}
	switch {
	case errors.As(err, &pe):
		return "wrong-pin"
	case errors.As(err, &re):
		return "rejected"
	}
	if code := genuine.Outcome(err); code != "" {
		return code
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return c.code
		}
	}
	return store.Outcome(err)
}

func enroll(ctx context.Context, q Request) (Result, error) {
	var res Result
	s := q.Session
	leaf, _, err := s.Leaf(ctx)
	if err != nil {
		return res, fmt.Errorf("reading the certificate: %w", err)
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
	sig, err := s.Sign(ctx, cardio.DigestInfoSHA256(challenge))
	if err != nil {
		return res, fmt.Errorf("having the card sign: %w", err)
	}
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
		return res, ErrNotGenuine
	}

	var seal func(keyid.ID) (store.Genuine, error)
	if q.Genuine != nil {
		if seal, err = q.Genuine(ctx, s); err != nil {
			return res, fmt.Errorf("genuine-card check: %w", err)
		}
	}
	p := q.Pseudo.Pseudonym(res.Decision.Issuer.RawSubjectPublicKeyInfo, leaf.SerialNumber)
	res.Registered, err = q.Registry.Register(ctx, store.Registration{
		Pseudonym: p, NotAfter: leaf.NotAfter, MyKeyID: q.MyKeyID, Service: q.Service, Patron: q.Patron, Genuine: seal,
	})
	return res, err
}
