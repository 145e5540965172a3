package genuine

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"sync"

	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/keyid"
	"github.com/mykey-jp/mykey/store"
)

// Mode is how the check runs at each tap.
type Mode string

// Modes.
const (
	// ModeDOB verifies the registered date of birth, the age record and
	// the CVC chain, and has the card sign a fresh challenge.
	ModeDOB Mode = "dob"
	// ModeCardKey only has the card sign a fresh challenge and verifies it
	// with the card key that registration verified and kept. Whether this
	// satisfies the ordinance is not confirmed.
	ModeCardKey Mode = "card-key"
	// ModeOff does no check (a test desk, acknowledged in the config).
	ModeOff Mode = "off"
)

// Errors of the per-tap check besides those of Verify and cardio
// (ErrNoSurfaceAP).
var (
	ErrMissing     = errors.New("no genuine-card data is registered for this card: register it again at the counter")
	ErrDOBMismatch = errors.New("the card does not open with the registered date of birth")
	ErrDOBLocked   = errors.New("the card's date-of-birth key is blocked or has too few tries left")
	ErrOtherCard   = errors.New("the card is not the one registered: its card key differs")
)

// Keys seals and fingerprints with the pseudonym secret (keyid.Pseudonymizer).
type Keys interface {
	Seal(r io.Reader, id keyid.ID, purpose string, plaintext []byte) ([]byte, error)
	Open(id keyid.ID, purpose string, sealed []byte) ([]byte, error)
	Keyed(purpose string, b []byte) []byte
}

// Kept is what registration keeps for the check, in clear: the caller
// seals it with Seal before it reaches the registry.
type Kept struct {
	Mode    Mode
	DOB     string // YYYYMMDD (ModeDOB)
	CardKey []byte // the card key as the card encodes it (ModeCardKey)
	KeyFP   []byte // keyed fingerprint of the card key
}

// Seal turns k into the registry's sealed form for MyKey ID id.
func (k Kept) Seal(keys Keys, r io.Reader, id keyid.ID) (store.Genuine, error) {
	g := store.Genuine{Mode: string(k.Mode), KeyFP: k.KeyFP}
	var err error
	switch k.Mode {
	case ModeDOB:
		g.DOB, err = keys.Seal(r, id, "dob", []byte(k.DOB))
	case ModeCardKey:
		g.CardKey, err = keys.Seal(r, id, "card-key", k.CardKey)
	default:
		err = fmt.Errorf("nothing to keep in mode %q", k.Mode)
	}
	return g, err
}

// Unseal opens what the registry keeps for id.
func Unseal(keys Keys, id keyid.ID, g store.Genuine) (Kept, error) {
	k := Kept{Mode: Mode(g.Mode), KeyFP: g.KeyFP}
	var err error
	switch k.Mode {
	case ModeDOB:
		var b []byte
		b, err = keys.Open(id, "dob", g.DOB)
		k.DOB = string(b)
		clear(b)
	case ModeCardKey:
		k.CardKey, err = keys.Open(id, "card-key", g.CardKey)
	default:
		err = fmt.Errorf("genuine-card data of unknown mode %q", g.Mode)
	}
	return k, err
}

// Checker runs the check on a card session. It is safe for concurrent
// use; CVCs it verified are cached by the AP key's id.
type Checker struct {
	Mode        Mode
	Authorities Authorities
	Keys        Keys
	Rand        io.Reader // the challenges' randomness; crypto/rand when nil

	mu     sync.Mutex
	apKeys map[cardio.KeyID]*rsa.PublicKey // AP keys of verified CVCs
}

// keepTries: a VERIFY of the date-of-birth key is never sent with this few
// tries left, so a wrong date of birth never blocks the key.
const keepTries = 1

func (c *Checker) fingerprint(cardKey []byte) []byte { return c.Keys.Keyed("card key", cardKey) }

// Tap runs the check in s, the connection that read the JPKI certificate,
// against what registration kept (nil: nothing kept, ErrMissing).
func (c *Checker) Tap(ctx context.Context, s *cardio.Session, k *Kept) error {
	if c.Mode == ModeOff {
		return nil
	}
	if k == nil || k.Mode != c.Mode {
		return ErrMissing
	}
	if err := s.SelectSurface(ctx); err != nil {
		return err
	}
	if c.Mode == ModeCardKey {
		if !hmac.Equal(c.fingerprint(k.CardKey), k.KeyFP) {
			return fmt.Errorf("%w: the kept card key does not match its fingerprint", ErrOtherCard)
		}
		key, err := cardio.ParseCardKey(k.CardKey)
		if err != nil {
			return err
		}
		return c.challenge(ctx, s, key)
	}
	rec, err := c.record(ctx, s, k.DOB)
	if err != nil {
		return err
	}
	if !hmac.Equal(c.fingerprint(rec.KeyBytes), k.KeyFP) {
		return ErrOtherCard
	}
	return c.challenge(ctx, s, rec.CardKey)
}

// Capture runs the full check at registration with the date of birth dob
// (YYYYMMDD, from the input-assist applet or the card face) and returns
// what the mode keeps. s is the registration's connection.
func (c *Checker) Capture(ctx context.Context, s *cardio.Session, dob string) (Kept, error) {
	if err := s.SelectSurface(ctx); err != nil {
		return Kept{}, err
	}
	rec, err := c.record(ctx, s, dob)
	if err != nil {
		return Kept{}, err
	}
	if err := c.challenge(ctx, s, rec.CardKey); err != nil {
		return Kept{}, err
	}
	k := Kept{Mode: c.Mode, KeyFP: c.fingerprint(rec.KeyBytes)}
	switch c.Mode {
	case ModeDOB:
		k.DOB = dob
	case ModeCardKey:
		k.CardKey = rec.KeyBytes
	default:
		return Kept{}, fmt.Errorf("the genuine-card check is off: nothing to capture")
	}
	return k, nil
}

// record verifies the date-of-birth key with dob, reads the age record,
// checks its date of birth and verifies it under a certified AP key.
func (c *Checker) record(ctx context.Context, s *cardio.Session, dob string) (*cardio.AgeRecord, error) {
	key, err := cardio.DOBKey(dob)
	if err != nil {
		return nil, err
	}
	var de *cardio.DOBError
	switch err := s.VerifyDOB(ctx, key, keepTries); {
	case errors.As(err, &de):
		return nil, fmt.Errorf("%w: %w", ErrDOBMismatch, de)
	case errors.Is(err, cardio.ErrPINBlocked), errors.Is(err, cardio.ErrLastTry):
		return nil, fmt.Errorf("%w: %v", ErrDOBLocked, err)
	case err != nil:
		return nil, err
	}
	rec, err := s.AgeRecord(ctx)
	if err != nil {
		return nil, err
	}
	if !hmac.Equal([]byte(rec.DOB), []byte(dob)) {
		return nil, ErrDOBMismatch
	}
	if c.cachedKeyVerifies(rec) {
		return rec, nil
	}
	cvc, err := s.SurfaceCVC(ctx)
	if err != nil {
		return nil, err
	}
	if err := c.certify(cvc); err != nil {
		return nil, err
	}
	return rec, verifyRecord(cvc.Key, rec)
}

// cachedKeyVerifies reports whether an AP key of a CVC verified before
// verifies rec.
func (c *Checker) cachedKeyVerifies(rec *cardio.AgeRecord) bool {
	c.mu.Lock()
	keys := make([]*rsa.PublicKey, 0, len(c.apKeys))
	for _, k := range c.apKeys {
		keys = append(keys, k)
	}
	c.mu.Unlock()
	for _, k := range keys {
		if verifyRecord(k, rec) == nil {
			return true
		}
	}
	return false
}

// certify verifies cvc under a configured authority and caches its key.
func (c *Checker) certify(cvc *cardio.CVC) error {
	if err := c.Authorities.certify(cvc); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.apKeys == nil {
		c.apKeys = map[cardio.KeyID]*rsa.PublicKey{}
	}
	c.apKeys[cvc.Subject] = cvc.Key
	return nil
}

// challenge has the card sign a fresh nonce and verifies it with key.
func (c *Checker) challenge(ctx context.Context, s *cardio.Session, key *rsa.PublicKey) error {
	r := c.Rand
	if r == nil {
		r = rand.Reader
	}
	nonce := make([]byte, 32)
	if _, err := io.ReadFull(r, nonce); err != nil {
		return fmt.Errorf("making the challenge: %w", err)
	}
	sig, err := s.SurfaceSign(ctx, cardio.DigestInfoSHA256(nonce))
	if err != nil {
		return err
	}
	return verifyChallenge(key, nonce, sig)
}

// Outcome names a failure of the check for audit entries and the desk:
// "no-surface-ap", "genuine-data-missing", "dob-locked", "cloned-card"
// (the chip is not the registered one, or cannot sign as its record says),
// "not-genuine" (the issuer's chain or the date of birth fails); "" for
// another error.
func Outcome(err error) string {
	switch {
	case errors.Is(err, cardio.ErrNoSurfaceAP):
		return "no-surface-ap"
	case errors.Is(err, ErrMissing):
		return "genuine-data-missing"
	case errors.Is(err, ErrDOBLocked):
		return "dob-locked"
	case errors.Is(err, ErrChallenge), errors.Is(err, ErrOtherCard):
		return "cloned-card"
	case errors.Is(err, ErrDOBMismatch), errors.Is(err, ErrRecord), errors.Is(err, ErrCVC), errors.Is(err, ErrUnknownAuthority), errors.Is(err, cardio.ErrBadRecord):
		return "not-genuine"
	}
	return ""
}

// Inspection is what a card shows of the check without its holder's date
// of birth: the surface applet, its CVC under the configured authorities,
// and the date-of-birth key's tries left.
type Inspection struct {
	SurfaceAP    bool   `json:"surface_ap"`
	CVC          string `json:"cvc,omitempty"` // "issuer → subject" key ids
	CVCVerified  bool   `json:"cvc_verified"`
	DOBTriesLeft int    `json:"dob_tries_left"`    // -1: the card does not say
	Problem      string `json:"problem,omitempty"` // why the card would fail, "" when nothing is seen
}

// Inspect looks at the card in s without a date of birth (nothing is
// spent): the full check needs the registered one.
func (c *Checker) Inspect(ctx context.Context, s *cardio.Session) Inspection {
	var in Inspection
	if err := s.SelectSurface(ctx); err != nil {
		in.Problem = err.Error()
		return in
	}
	in.SurfaceAP = true
	cvc, err := s.SurfaceCVC(ctx)
	if err != nil {
		in.Problem = err.Error()
		return in
	}
	in.CVC = cvc.Issuer.String() + " → " + cvc.Subject.String()
	if err := c.certify(cvc); err != nil {
		in.Problem = err.Error()
		return in
	}
	in.CVCVerified = true
	if in.DOBTriesLeft, err = s.DOBTriesLeft(ctx); err != nil {
		in.Problem = err.Error()
	} else if in.DOBTriesLeft >= 0 && in.DOBTriesLeft <= keepTries {
		in.Problem = ErrDOBLocked.Error()
	}
	return in
}
