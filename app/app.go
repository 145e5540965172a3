// Package app is mykey's application core: it opens what a use case needs
// from the configuration (the registry, the revocation policy, the
// pseudonymiser, the typer, the desk) and runs each use case as one call —
// read a card, register, link, look up, import, export, back up, restore,
// read the audit log, import a CRL, run the desk. The CLI, the tray and the
// browser console are thin callers of it.
//
// Its devices (card readers, keyboard, clock, randomness, HTTP client) come
// in as one Devices struct, so tests and the demo hand it an in-process
// virtual card and a text sink. It returns typed results and errors and
// never prints; what a front end may want to show while a call runs comes
// through the Notify hook.
package app

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"regexp"
	"time"

	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/cardio/pcsc"
	"github.com/mykey-jp/mykey/certcheck"
	"github.com/mykey-jp/mykey/config"
	"github.com/mykey-jp/mykey/internal/fileperm"
	"github.com/mykey-jp/mykey/keyboardwedge"
	"github.com/mykey-jp/mykey/keyfile"
	"github.com/mykey-jp/mykey/keyid"
	"github.com/mykey-jp/mykey/store"
	"github.com/mykey-jp/mykey/store/replica"
)

// Devices are the hardware and OS services the core uses. A nil field gets
// the production default.
type Devices struct {
	Readers cardio.Readers       // PC/SC when nil
	Wedge   keyboardwedge.Device // the OS's keyboard (X11, Windows) when nil
	Output  io.Writer            // where wedge.output = "stdout" types; os.Stdout when nil
	Clock   func() time.Time     // time.Now when nil
	Rand    io.Reader            // crypto/rand when nil
	HTTP    *http.Client         // http.DefaultClient when nil
}

// NoticeKind is something a front end may tell its user while a call runs.
type NoticeKind int

// Notices.
const (
	KeyCreated NoticeKind = iota + 1 // the pseudonym key file was created (Path)
	HoldCard                         // waiting for a card to be held on a reader
)

// Notice is one notice.
type Notice struct {
	Kind NoticeKind
	Path string
}

// App is the core for one configuration.
type App struct {
	Config  *config.Config
	Devices Devices
	User    string       // the OS user, for the audit log
	Notify  func(Notice) // may be nil
	// RegistryLive reports the running desk's copy of the shared registry
	// (set by Desk; nil with a SQLite registry).
	RegistryLive func() replica.Status
}

// New returns the core for cfg with devices; nil fields of devices get the
// production defaults. Close releases the devices.
func New(cfg *config.Config, devices Devices, user string) *App {
	if devices.Readers == nil {
		devices.Readers = &pcsc.Client{}
	}
	if devices.Wedge == nil {
		devices.Wedge = systemWedge()
	}
	if devices.Output == nil {
		devices.Output = os.Stdout
	}
	if devices.Clock == nil {
		devices.Clock = time.Now
	}
	if devices.HTTP == nil {
		devices.HTTP = http.DefaultClient
	}
	if devices.Rand == nil {
		devices.Rand = rand.Reader
	}
	return &App{Config: cfg, Devices: devices, User: user}
}

// Close releases the devices.
func (a *App) Close() error {
	var errs []error
	if c, ok := a.Devices.Readers.(io.Closer); ok {
		errs = append(errs, c.Close())
	}
	errs = append(errs, a.Devices.Wedge.Close())
	return errors.Join(errs...)
}

func (a *App) notify(n Notice) {
	if a.Notify != nil {
		a.Notify(n)
	}
}

// Errors of opening.
var (
	ErrNoAnchors = errors.New("no trust anchors configured")
	// ErrKeyMissing means the pseudonym key file is missing while the
	// registry holds cards registered with it: a new key would make every
	// card unknown, so none is made.
	ErrKeyMissing = errors.New("the pseudonym key file is missing but the registry holds cards registered with it")
)

// Registry opens the configured registry with its pseudonym key (see
// open). Close it when done.
func (a *App) Registry(ctx context.Context) (store.Registry, error) {
	r, _, err := a.open(ctx)
	return r, err
}

// open opens the configured registry and its pseudonym key, which belong
// together: the registry records the key's fingerprint the first time they
// meet. A registry bound to another key is store.ErrKeyMismatch; a missing
// key file is made (KeyCreated) only for a registry that holds no
// registered card and is bound to no key, else it is ErrKeyMissing.
func (a *App) open(ctx context.Context) (store.Registry, *keyid.Pseudonymizer, error) {
	r, err := a.openStore(ctx)
	if err != nil {
		return nil, nil, err
	}
	p, err := a.boundKey(ctx, r)
	if err != nil {
		r.Close()
		return nil, nil, err
	}
	return r, p, nil
}

func (a *App) boundKey(ctx context.Context, r store.Registry) (*keyid.Pseudonymizer, error) {
	path := a.Config.KeyFile.Path
	bound, certs, err := r.KeyBinding(ctx)
	if err != nil {
		return nil, err
	}
	secret, err := keyfile.Load(path)
	if errors.Is(err, fs.ErrNotExist) {
		if bound != "" || certs > 0 {
			return nil, fmt.Errorf("%s: %w (%d registered certificates)", path, ErrKeyMissing, certs)
		}
		var created bool
		if secret, created, err = keyfile.LoadOrCreate(path, a.Devices.Rand); err == nil && created {
			a.notify(Notice{Kind: KeyCreated, Path: path})
		}
	}
	if err != nil {
		return nil, err
	}
	p, err := keyid.NewPseudonymizer(secret)
	if err != nil {
		return nil, err
	}
	if bound != p.Fingerprint() { // bind (or be refused); bound already, no write is needed
		err := r.BindKey(ctx, p.Fingerprint())
		switch {
		case err == nil, errors.Is(err, store.ErrKeyMismatch):
		case bound != "": // refused even when the shared registry is out of reach
			err = fmt.Errorf("%w: bound to key %s, not %s", store.ErrKeyMismatch, bound, p.Fingerprint())
		case certs == 0 && (errors.Is(err, store.ErrNotAllowed) || errors.Is(err, store.ErrOffline)):
			err = nil // a desk's role binds nothing, and nothing is registered yet
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	return p, nil
}

// mint mints MyKey IDs from the configured randomness.
func (a *App) mint() func() (keyid.ID, error) {
	return func() (keyid.ID, error) { return keyid.New(a.Devices.Rand) }
}

// withRegistry runs fn on the opened registry and closes it.
func (a *App) withRegistry(ctx context.Context, fn func(r store.Registry) error) error {
	r, err := a.Registry(ctx)
	if err != nil {
		return err
	}
	defer r.Close()
	return fn(r)
}

// PatronRule returns the configured patron-number rule.
func (a *App) PatronRule() (*keyid.PatronRule, error) {
	return keyid.NewPatronRule(a.Config.Patron.Pattern, keyid.CheckDigit(a.Config.Patron.CheckDigit))
}

// Anchors loads the configured trust anchors: ErrNoAnchors when none, a
// *config.Error naming each file that is missing, unreadable, not a CA
// certificate, expired or not valid yet (CheckAnchors).
func (a *App) Anchors() ([]*x509.Certificate, error) {
	if len(a.Config.Revocation.TrustAnchors) == 0 {
		return nil, ErrNoAnchors
	}
	anchors, probs := a.loadAnchors()
	if len(probs) > 0 {
		return nil, &config.Error{Problems: probs}
	}
	return anchors, nil
}

// CheckAnchors checks every configured trust-anchor file: a regular file
// others cannot change, parseable, CA certificates, valid now. The problems
// point at the configuration's trust_anchors line.
func (a *App) CheckAnchors() []config.Problem {
	_, probs := a.loadAnchors()
	return probs
}

// maxAnchorBytes bounds a trust-anchor file (a CA certificate is ~1.5 KB).
const maxAnchorBytes = 1 << 20

// loadAnchors loads the trust anchors once, with every problem found.
func (a *App) loadAnchors() ([]*x509.Certificate, []config.Problem) {
	const key = "revocation.trust_anchors"
	c, now := a.Config, a.Devices.Clock()
	var anchors []*x509.Certificate
	var probs []config.Problem
	bad := func(format string, args ...any) {
		probs = append(probs, c.Problem(key, format, args...))
	}
	for _, path := range c.Revocation.TrustAnchors {
		if err := fileperm.CheckTrusted(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			bad("%v: only its owner (or the administrator) may be able to change a trust anchor", err)
			continue
		}
		if _, err := RegularFile(path, maxAnchorBytes); err != nil && !errors.Is(err, fs.ErrNotExist) {
			bad("cannot be used: %v", err) // a FIFO would block the read
			continue
		}
		certs, err := certcheck.LoadCertificates([]string{path})
		if err != nil {
			bad("cannot be used: %v", err) // names the file
			continue
		}
		anchors = append(anchors, certs...)
		for _, ca := range certs {
			switch {
			case !ca.IsCA: // its subject is not shown: it may be a person's
				bad("%s: not a CA certificate", path)
			case now.After(ca.NotAfter):
				bad("%s: %q expired on %s", path, ca.Subject, ca.NotAfter.Format(time.DateOnly))
			case now.Before(ca.NotBefore):
				bad("%s: %q is not valid before %s (check the PC's clock)", path, ca.Subject, ca.NotBefore.Format(time.DateOnly))
			}
		}
	}
	return anchors, probs
}

// Policy builds the configured certificate and revocation policy.
func (a *App) Policy() (*certcheck.Policy, error) {
	anchors, err := a.Anchors()
	if err != nil {
		return nil, err
	}
	r, now := a.Config.Revocation, a.Devices.Clock
	return &certcheck.Policy{
		Chain:            &certcheck.Chain{Anchors: anchors, TestMode: r.TestMode, Now: now},
		Method:           certcheck.Method(r.Method),
		OCSP:             &certcheck.OCSP{URL: r.OCSPURL, Timeout: time.Duration(r.OCSPTimeoutMS) * time.Millisecond, Client: a.Devices.HTTP, Now: now},
		CRL:              &certcheck.CRLStore{Dir: r.CRLDir, Anchors: anchors, Now: now},
		CRLGrace:         time.Duration(r.CRLGraceHours) * time.Hour,
		AllowUnavailable: r.OnUnavailable == "allow",
	}, nil
}

// Typer builds the configured typer: the keyboard device with the window
// allowlist, or the text sink on Devices.Output when wedge.output is
// "stdout".
func (a *App) Typer() (*keyboardwedge.Typer, error) {
	w := a.Config.Wedge
	return a.typer(w.Template, w.AllowExe, w.AllowTitle)
}

// typer builds a typer with the [wedge] settings but for its template and
// window allowlist (a reader profile's).
func (a *App) typer(template string, allowExe []string, allowTitle string) (*keyboardwedge.Typer, error) {
	w := a.Config.Wedge
	tmpl, err := keyboardwedge.ParseTemplate(template)
	if err != nil {
		return nil, err
	}
	format := keyboardwedge.Format{TrimPrefix: w.TrimPrefix, Width: w.PadWidth}
	if scheme, err := keyid.ParseCheckDigit(w.CheckDigit); err != nil {
		return nil, fmt.Errorf("wedge.check_digit: %w", err)
	} else if scheme != keyid.CheckNone {
		format.Check = func(digits string) byte { return keyid.CheckDigitFor(scheme, digits) }
	}
	if w.Output == "stdout" {
		return &keyboardwedge.Typer{Injector: &keyboardwedge.TextSink{W: a.Devices.Output}, Template: tmpl, Format: format}, nil
	}
	g := keyboardwedge.Guard{Exes: allowExe}
	if allowTitle != "" {
		if g.Title, err = regexp.Compile(allowTitle); err != nil {
			return nil, fmt.Errorf("allow_title: %w", err)
		}
	}
	t := keyboardwedge.NewTyper(a.Devices.Wedge, tmpl, g)
	t.KeyDelay, t.Format = time.Duration(w.KeyDelayMS)*time.Millisecond, format
	return t, nil
}

// Service returns s, or the configured service when s is empty.
func (a *App) Service(s string) string {
	if s == "" {
		return a.Config.Patron.Service
	}
	return s
}
