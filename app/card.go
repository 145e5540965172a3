package app

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/certcheck"
	"github.com/mykey-jp/mykey/desk"
	"github.com/mykey-jp/mykey/genuine"
)

// Errors of choosing a reader.
var (
	ErrNoCard    = errors.New("no card presented")
	ErrNoReaders = errors.New("no card readers")
)

// NoSuchReaderError means no reader matches the name asked for.
type NoSuchReaderError struct{ Name string }

func (e *NoSuchReaderError) Error() string { return fmt.Sprintf("no reader matches %q", e.Name) }

// CardRequest says which card to use.
type CardRequest struct {
	Reader   string        // a reader's name or part of it; "" for the first configured reader holding a card
	Wait     time.Duration // how long to wait for a card
	Extended *bool         // extended-length reads; nil: as configured
}

// Readers lists the card readers.
func (a *App) Readers(ctx context.Context) ([]cardio.Reader, error) {
	return a.Devices.Readers.Readers(ctx)
}

// pickReader returns the reader to use: the one named (exact, or
// containing the name), else the first configured reader holding a card,
// waiting up to wait for one (HoldCard is notified once).
func (a *App) pickReader(ctx context.Context, name string, wait time.Duration) (string, error) {
	deadline := a.Devices.Clock().Add(wait)
	prompted := false
	for {
		rs, err := a.Devices.Readers.Readers(ctx)
		if err != nil {
			return "", err
		}
		var usable []cardio.Reader
		for _, r := range rs {
			if name != "" && (r.Name == name || strings.Contains(r.Name, name)) {
				usable = append(usable, r)
			} else if name == "" && cardio.Matches(r.Name, a.Config.Readers.Include, a.Config.Readers.Exclude) {
				usable = append(usable, r)
			}
		}
		switch {
		case len(rs) == 0:
			return "", ErrNoReaders
		case name != "" && len(usable) == 0:
			return "", &NoSuchReaderError{name}
		}
		for _, r := range usable {
			if r.Present {
				return r.Name, nil
			}
		}
		if a.Devices.Clock().After(deadline) {
			return "", ErrNoCard
		}
		if !prompted {
			a.notify(Notice{Kind: HoldCard})
			prompted = true
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// WithCard waits for the card asked for, connects, selects the JPKI
// applet and runs fn on the session.
func (a *App) WithCard(ctx context.Context, q CardRequest, fn func(ctx context.Context, reader string, s *cardio.Session) error) error {
	// Do not wait forever for the service: the administrator is at the desk.
	pctx, cancel := context.WithTimeout(ctx, max(q.Wait, 3*time.Second))
	name, err := a.pickReader(pctx, q.Reader, q.Wait)
	cancel()
	if err != nil {
		return err
	}
	extended := a.Config.Readers.ExtendedLength
	if q.Extended != nil {
		extended = *q.Extended
	}
	s, k, err := cardio.Open(ctx, a.Devices.Readers, name, extended)
	if err != nil {
		return err
	}
	defer k.Close()
	return fn(ctx, name, s)
}

// CardInfo is what ReadCard read: the certificate's public facts (the
// serial is the issuance number: shown, never stored) and what the read
// cost.
type CardInfo struct {
	Reader      string
	Token       string
	Certificate *x509.Certificate
	SHA256      [32]byte
	Stats       cardio.Stats
	Elapsed     time.Duration
	Extended    bool
	// Genuine is what the card shows of the genuine-card check without a
	// date of birth (nil when the check is off or not configured).
	Genuine *genuine.Inspection
}

// ReadCard reads the user-identification certificate without a PIN.
func (a *App) ReadCard(ctx context.Context, q CardRequest) (CardInfo, error) {
	var info CardInfo
	err := a.WithCard(ctx, q, func(ctx context.Context, reader string, s *cardio.Session) error {
		start := time.Now()
		token, err := s.TokenInfo(ctx)
		if err != nil {
			return err
		}
		leaf, der, err := s.Leaf(ctx)
		if err != nil {
			return err
		}
		info = CardInfo{Reader: reader, Token: token, Certificate: leaf, SHA256: sha256.Sum256(der),
			Stats: s.Stats, Elapsed: time.Since(start), Extended: s.Extended}
		if chk, err := a.GenuineChecker(nil); err == nil && chk.Mode != genuine.ModeOff {
			in := chk.Inspect(ctx, s)
			info.Genuine = &in
		}
		return nil
	})
	return info, err
}

// PINStatus returns the reader used and the user-identification PIN's
// tries left, without using one (0: blocked; -1: already verified).
func (a *App) PINStatus(ctx context.Context, q CardRequest) (reader string, tries int, err error) {
	err = a.WithCard(ctx, q, func(ctx context.Context, r string, s *cardio.Session) error {
		reader = r
		tries, err = s.PINTriesLeft(ctx)
		return err
	})
	return reader, tries, err
}

// CheckCertificate decides about leaf with the configured policy.
func (a *App) CheckCertificate(ctx context.Context, leaf *x509.Certificate) (certcheck.Decision, error) {
	p, err := a.Policy()
	if err != nil {
		return certcheck.Decision{}, err
	}
	return p.Check(ctx, leaf), nil
}

// Identity is what a card held up at the console is: its tap through the
// desk's pipeline on a look-up-only profile (every check, nothing typed),
// and its registry entry when it has a MyKey ID.
type Identity struct {
	desk.Status
	Entry Entry
}

// Identify runs the card held up through the desk's pipeline as a
// look-up-only reader would: certificate, revocation, MyKey ID, link and
// the genuine-card check, audited as a tap; nothing is typed.
func (a *App) Identify(ctx context.Context, q CardRequest) (Identity, error) {
	pol, err := a.Policy()
	if err != nil {
		return Identity{}, err
	}
	r, pseudo, err := a.open(ctx)
	if err != nil {
		return Identity{}, err
	}
	defer r.Close()
	chk, err := a.GenuineChecker(pseudo)
	if err != nil {
		return Identity{}, err
	}
	if chk.Mode == genuine.ModeOff {
		chk = nil
	}
	pctx, cancel := context.WithTimeout(ctx, max(q.Wait, 3*time.Second))
	reader, err := a.pickReader(pctx, q.Reader, q.Wait)
	cancel()
	if err != nil {
		return Identity{}, err
	}
	service := a.Config.Patron.Service
	d := &desk.Desk{Readers: a.Devices.Readers, Checker: pol, Registry: r, Pseudo: pseudo, Genuine: chk, Service: service,
		Extended: a.Config.Readers.ExtendedLength, Now: a.Devices.Clock,
		Profiles: []desk.Profile{{Name: "console", Match: func(string) bool { return true }}}}
	id := Identity{Status: d.Tap(ctx, reader)}
	if id.MyKeyID != "" {
		if e, err := r.LookupID(ctx, service, id.MyKeyID); err == nil {
			id.Entry = EntryView(service, e)
		}
	}
	return id, nil
}
