// Package desk is the pipeline at the library desk: when a card is held on a
// reader it reads the user-identification certificate without a PIN, checks
// it with the revocation policy, turns its issuance number into the keyed
// pseudonym, finds the MyKey ID and the linked patron number, confirms in
// the same card connection that the card is a genuine My Number Card
// (package genuine), and types the number through the keyboard wedge.
// Nothing is typed unless every step succeeded; every tap ends in a Status
// with a distinct Outcome, and an audit record without personal data.
package desk

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/certcheck"
	"github.com/mykey-jp/mykey/genuine"
	"github.com/mykey-jp/mykey/keyboardwedge"
	"github.com/mykey-jp/mykey/keyid"
	"github.com/mykey-jp/mykey/store"
)

// Checker decides about a certificate (certcheck.Policy).
type Checker interface {
	Check(ctx context.Context, leaf *x509.Certificate) certcheck.Decision
}

// Typer types a patron number (keyboardwedge.Typer).
type Typer interface {
	Type(ctx context.Context, patron string) (keyboardwedge.Result, error)
}

// Outcome is how a tap ended.
type Outcome string

// Outcomes. Only Typed put anything on the keyboard.
const (
	Typed        Outcome = "typed"
	Duplicate    Outcome = "duplicate"     // the same card still on the reader: typed once
	Paused       Outcome = "paused"        // typing is paused
	Unknown      Outcome = "unknown-card"  // no MyKey ID for this certificate
	Superseded   Outcome = "superseded"    // a renewed certificate replaced this one
	NotLinked    Outcome = "not-linked"    // MyKey ID without a patron number
	Rejected     Outcome = "rejected"      // the certificate check refused; Decision says why
	NotJPKI      Outcome = "not-jpki"      // another kind of card
	Removed      Outcome = "card-removed"  // pulled mid-read
	Unreadable   Outcome = "unreadable"    // the card or reader failed
	FocusRefused Outcome = "focus-refused" // the focused window is not allowed
	FocusMoved   Outcome = "focus-moved"   // the focus moved while typing
	NoDisplay    Outcome = "no-display"
	Failed       Outcome = "error"     // anything else (the registry, a bad number)
	LookedUp     Outcome = "looked-up" // every check passed on a look-up-only reader: nothing typed, by design

	// The genuine-card check failed (JPKI Act Art. 38-4 ②).
	NotGenuine     Outcome = "not-genuine"          // the issuer's chain or the date of birth fails
	Cloned         Outcome = "cloned-card"          // not the registered chip, or it cannot sign as its record says
	NoSurface      Outcome = "no-surface-ap"        // no card-surface applet: not a My Number Card
	DOBLocked      Outcome = "dob-locked"           // the date-of-birth key is blocked (or nearly)
	GenuineMissing Outcome = "genuine-data-missing" // registered before the check: register again
)

// Timing splits a tap's time.
type Timing struct {
	Read, Check, Lookup, Genuine, Type time.Duration
}

// Status is the result of one tap, for the tray, logs and tests. It carries
// no patron number and no issuance number.
type Status struct {
	At       time.Time
	Reader   string
	Profile  string // the reader's profile; "" for the desk's default
	Outcome  Outcome
	Decision certcheck.Decision // for Rejected, and the method otherwise
	MyKeyID  keyid.ID
	Detail   string // technical detail, without personal data
	Typed    int    // keys typed
	Timing   Timing
}

// Profile handles the taps of matching readers differently from the desk's
// default Typer.
type Profile struct {
	Name  string
	Match func(reader string) bool
	Typer Typer // nil: look up only: identify, check and report, never type
}

// Desk runs the pipeline.
type Desk struct {
	Readers  cardio.Readers // PC/SC in production
	Checker  Checker
	Registry store.Registry
	Pseudo   *keyid.Pseudonymizer
	Genuine  *genuine.Checker // the genuine-card check, in the connection that read the certificate; nil: off
	Typer    Typer
	Profiles []Profile // the first that matches a reader replaces Typer for it
	Dedup    *keyboardwedge.Dedup
	Service  string
	Extended bool               // extended-length reads
	Accept   func(string) bool  // reader filter; nil accepts all
	Log      zerolog.Logger     // no personal data is logged
	OnStatus func(Status)       // called after every tap
	OnEvent  func(cardio.Event) // called for every reader event
	Now      func() time.Time

	paused atomic.Bool
	typing sync.Mutex // one number at a time on the keyboard
}

// Pause stops typing (taps end as Paused) until Resume.
func (d *Desk) Pause() { d.paused.Store(true) }

// Resume resumes typing.
func (d *Desk) Resume() { d.paused.Store(false) }

// IsPaused reports whether typing is paused.
func (d *Desk) IsPaused() bool { return d.paused.Load() }

func (d *Desk) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// Run watches the readers and handles every card until ctx ends. Cards on
// different readers are read concurrently; typing is one at a time.
func (d *Desk) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	defer wg.Wait()
	return d.Readers.Watch(ctx, func(e cardio.Event) {
		if d.OnEvent != nil {
			d.OnEvent(e)
		}
		if d.Accept != nil && e.Reader != "" && !d.Accept(e.Reader) {
			return
		}
		switch e.Kind {
		case cardio.CardInserted:
			wg.Add(1)
			go func() {
				defer wg.Done()
				d.Tap(ctx, e.Reader)
			}()
		case cardio.CardRemoved, cardio.ReaderRemoved:
			if d.Dedup != nil {
				d.Dedup.Removed(e.Reader)
			}
		case cardio.ServiceLost:
			d.Log.Warn().Msg("card reader service lost; waiting for it")
		}
	})
}

// Tap handles the card now on reader and returns (and reports) its Status.
func (d *Desk) Tap(ctx context.Context, reader string) Status {
	st := d.tap(ctx, reader)
	st.At, st.Reader = d.now(), reader
	d.record(ctx, st)
	if d.OnStatus != nil {
		d.OnStatus(st)
	}
	return st
}

func (d *Desk) tap(ctx context.Context, reader string) (st Status) {
	profile, typer := "", d.Typer
	for _, pr := range d.Profiles {
		if pr.Match(reader) {
			profile, typer = pr.Name, pr.Typer
			break
		}
	}
	st, patron, p := d.identify(ctx, reader)
	st.Profile = profile
	if st.Outcome != "" {
		return st
	}
	if typer == nil {
		st.Outcome = LookedUp
		return st
	}
	if d.paused.Load() {
		st.Outcome = Paused
		return st
	}
	if d.Dedup != nil && !d.Dedup.Allow(reader, p.String(), d.now()) {
		st.Outcome = Duplicate
		return st
	}
	d.typing.Lock()
	t3 := time.Now()
	res, err := typer.Type(ctx, patron)
	st.Timing.Type = time.Since(t3)
	d.typing.Unlock()
	st.Typed = res.Keys
	if err != nil {
		if d.Dedup != nil {
			d.Dedup.Removed(reader) // not typed: the next tap may try again
		}
		return failStatus(st, err)
	}
	st.Outcome = Typed
	return st
}

// identify reads the card on reader, checks its certificate, finds its
// linked patron number and runs the genuine-card check, all in one card
// connection, which it closes before returning. A Status with an Outcome
// ends the tap.
func (d *Desk) identify(ctx context.Context, reader string) (st Status, patron string, p keyid.Pseudonym) {
	t0 := time.Now()
	s, k, err := cardio.Open(ctx, d.Readers, reader, d.Extended)
	if err != nil {
		return failStatus(st, err), "", p
	}
	defer k.Close()
	leaf, _, err := s.Leaf(ctx)
	st.Timing.Read = time.Since(t0)
	if err != nil {
		return failStatus(st, err), "", p
	}
	t1 := time.Now()
	st.Decision = d.Checker.Check(ctx, leaf)
	st.Timing.Check = time.Since(t1)
	if !st.Decision.OK() {
		st.Outcome, st.Detail = Rejected, st.Decision.String()
		return st, "", p
	}
	t2 := time.Now()
	if st.Decision.Issuer == nil {
		st.Outcome, st.Detail = Failed, "the checker named no issuer"
		return st, "", p
	}
	p = d.Pseudo.Pseudonym(st.Decision.Issuer.RawSubjectPublicKeyInfo, leaf.SerialNumber)
	st.Detail = "pseudonym=" + p.Short()
	cert, err := d.Registry.Certificate(ctx, p)
	switch {
	case errors.Is(err, store.ErrNotFound):
		st.Outcome, st.Timing.Lookup = Unknown, time.Since(t2)
		return st, "", p
	case err != nil:
		st.Outcome, st.Detail = Failed, fmt.Sprintf("registry: %v", err)
		return st, "", p
	}
	st.MyKeyID = cert.MyKeyID
	if cert.Status == store.CertSuperseded {
		st.Outcome, st.Timing.Lookup = Superseded, time.Since(t2)
		return st, "", p
	}
	if cert.Status == store.CertRevoked {
		st.Outcome, st.Timing.Lookup = Rejected, time.Since(t2)
		st.Decision = certcheck.Decision{Reason: certcheck.Revoked, Method: "registry"}
		return st, "", p
	}
	e, err := d.Registry.LookupID(ctx, d.Service, cert.MyKeyID)
	st.Timing.Lookup = time.Since(t2)
	if err != nil {
		st.Outcome, st.Detail = Failed, fmt.Sprintf("registry: %v", err)
		return st, "", p
	}
	if e.Link == nil {
		st.Outcome = NotLinked
		return st, "", p
	}
	if d.Genuine != nil {
		t3 := time.Now()
		err := d.Genuine.Registered(ctx, s, d.Registry, cert.MyKeyID)
		st.Timing.Genuine = time.Since(t3)
		if err != nil {
			if o := genuine.Outcome(err); o != "" {
				st.Outcome, st.Detail = Outcome(o), st.Detail+" genuine: "+err.Error()
				return st, "", p
			}
			return failStatus(st, err), "", p
		}
	}
	return st, e.Link.Patron, p
}

func failStatus(st Status, err error) Status {
	var re *keyboardwedge.RefusedError
	var ie *keyboardwedge.InterruptedError
	switch {
	case errors.Is(err, cardio.ErrNotJPKI):
		st.Outcome = NotJPKI
	case errors.Is(err, cardio.ErrCardRemoved):
		st.Outcome = Removed
	case errors.Is(err, cardio.ErrReaderGone), errors.Is(err, cardio.ErrBadCertificate), errors.Is(err, cardio.ErrMalformed), errors.Is(err, cardio.ErrFileNotFound):
		st.Outcome = Unreadable
	// Window titles are never kept: a library system may show a patron's
	// name in its title. The program name is enough to diagnose.
	case errors.As(err, &re):
		st.Outcome = FocusRefused
		st.Detail = fmt.Sprintf("the focused window of %q is not allowed", re.Window.Exe)
		return st
	case errors.As(err, &ie):
		st.Outcome = FocusMoved
		st.Detail = fmt.Sprintf("%d keys typed before the focus moved to a window of %q", len(ie.Typed), ie.To.Exe)
		return st
	case errors.Is(err, keyboardwedge.ErrNoDisplay), errors.Is(err, keyboardwedge.ErrNoFocus):
		st.Outcome = NoDisplay
	default:
		st.Outcome = Failed
	}
	st.Detail = err.Error()
	return st
}

// record writes the tap to the audit log and the service log.
func (d *Desk) record(ctx context.Context, st Status) {
	detail := fmt.Sprintf("reader=%q %s", st.Reader, st.Detail)
	if st.Profile != "" {
		detail = fmt.Sprintf("reader=%q profile=%s %s", st.Reader, st.Profile, st.Detail)
	}
	if st.Decision.Method != "" {
		detail += fmt.Sprintf(" check=%s/%s", st.Decision.Reason, st.Decision.Method)
	}
	if st.Outcome != Duplicate && st.Outcome != Paused {
		if err := d.Registry.Audit(ctx, store.AuditEntry{Action: store.ActionScan, MyKeyID: st.MyKeyID, Outcome: string(st.Outcome), Detail: detail}); err != nil {
			d.Log.Error().Err(err).Msg("writing the audit entry")
		}
	}
	ev := d.Log.Info()
	if st.Outcome != Typed {
		ev = d.Log.Warn()
	}
	ev.Str("reader", st.Reader).Str("profile", st.Profile).Str("outcome", string(st.Outcome)).Str("mykey_id", string(st.MyKeyID)).
		Str("detail", st.Detail).Str("check", string(st.Decision.Reason)).Str("method", st.Decision.Method).
		Dur("read", st.Timing.Read).Dur("check_time", st.Timing.Check).Dur("lookup", st.Timing.Lookup).Dur("genuine", st.Timing.Genuine).Dur("type", st.Timing.Type).
		Msg("tap")
}
