package app

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/config"
	"github.com/mykey-jp/mykey/desk"
	"github.com/mykey-jp/mykey/genuine"
	"github.com/mykey-jp/mykey/internal/fileperm"
	"github.com/mykey-jp/mykey/keyid"
	"github.com/mykey-jp/mykey/store"
)

// ErrNoAuthorities means the genuine-card check is on but no CVC CA key is
// configured: no card could pass it.
var ErrNoAuthorities = errors.New("the genuine-card check has no CVC CA keys configured (genuine.authorities)")

// maxAuthorityBytes bounds a CVC CA key file.
const maxAuthorityBytes = 64 << 10

// GenuineChecker builds the configured genuine-card check, sealing and
// fingerprinting with keys (the registry's pseudonym key).
func (a *App) GenuineChecker(keys genuine.Keys) (*genuine.Checker, error) {
	c := a.Config.Genuine
	chk := &genuine.Checker{Mode: genuine.Mode(c.Mode), Keys: keys, Rand: a.Devices.Rand, Authorities: genuine.Authorities{}}
	if chk.Mode == genuine.ModeOff {
		return chk, nil
	}
	if len(c.Authorities) == 0 {
		return nil, ErrNoAuthorities
	}
	const key = "genuine.authorities"
	var probs []config.Problem
	for _, entry := range c.Authorities {
		bad := func(format string, args ...any) {
			probs = append(probs, a.Config.Problem(key, format, args...))
		}
		idText, path, _ := config.Authority(entry)
		id, err := genuine.Authority(idText)
		if err != nil {
			bad("%v", err)
			continue
		}
		if err := fileperm.CheckTrusted(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			bad("%v: only its owner (or the administrator) may be able to change a trusted key", err)
			continue
		}
		if _, err := RegularFile(path, maxAuthorityBytes); err != nil {
			bad("cannot be used: %v", err)
			continue
		}
		b, err := os.ReadFile(path)
		if err == nil {
			chk.Authorities[id], err = genuine.ParseAuthorityKey(b)
		}
		if err != nil {
			bad("%s: %v", path, err)
		}
	}
	if len(probs) > 0 {
		return nil, &config.Error{Problems: probs}
	}
	return chk, nil
}

// CheckGenuine checks every configured CVC CA key file as the desk will
// load it (none configured is not a problem here: the desk says so).
func (a *App) CheckGenuine() []config.Problem {
	var ce *config.Error
	if _, err := a.GenuineChecker(nil); errors.As(err, &ce) {
		return ce.Problems
	}
	return nil
}

// GenuineCount counts the linked MyKey IDs of service that still lack what
// the configured genuine-card check needs: those cards are refused at the
// desk until registered again.
func (a *App) GenuineCount(ctx context.Context, service string) (store.GenuineCount, error) {
	var n store.GenuineCount
	err := a.withRegistry(ctx, func(r store.Registry) error {
		var err error
		n, err = a.genuineCount(ctx, r, service)
		return err
	})
	return n, err
}

// DeskGenuineCount is GenuineCount on a running desk's registry (a shared
// registry's copy: the desk does not wait for the server to say it).
func (a *App) DeskGenuineCount(ctx context.Context, d *desk.Desk) (store.GenuineCount, error) {
	return a.genuineCount(ctx, d.Registry, "")
}

func (a *App) genuineCount(ctx context.Context, r store.Registry, service string) (store.GenuineCount, error) {
	if a.Config.Genuine.Mode == string(genuine.ModeOff) {
		return store.GenuineCount{}, nil
	}
	return r.CountGenuine(ctx, a.Service(service), a.Config.Genuine.Mode)
}

// captureGenuine returns the registration's hook that captures what the
// check needs in the registration's connection: the date of birth (typed
// by staff, or read through the input-assist applet with its own PIN),
// then the full check once; nil when the check is off.
func (a *App) captureGenuine(chk *genuine.Checker, keys *keyid.Pseudonymizer, q RegisterRequest) func(context.Context, *cardio.Session) (func(keyid.ID) (store.Genuine, error), error) {
	if chk.Mode == genuine.ModeOff {
		return nil
	}
	return func(ctx context.Context, s *cardio.Session) (func(keyid.ID) (store.Genuine, error), error) {
		dob := q.DOB
		if dob == "" {
			var err error
			if dob, err = a.assistDOB(ctx, s, q); err != nil {
				return nil, err
			}
		}
		kept, err := chk.Capture(ctx, s, dob)
		if err != nil {
			return nil, err
		}
		return func(id keyid.ID) (store.Genuine, error) { return kept.Seal(keys, a.Devices.Rand, id) }, nil
	}
}

// ErrAssistPIN wraps a failure of the input-assist applet's PIN (wrong,
// blocked, last try kept), which is not the JPKI PIN.
var ErrAssistPIN = errors.New("input-assist PIN")

// ErrNoDOB means registration has no date of birth to capture: neither
// typed by staff nor a way to ask the input-assist PIN.
var ErrNoDOB = errors.New("the genuine-card check needs the date of birth: type it from the card face, or have the patron enter the input-assist PIN")

// assistDOB reads the date of birth through the input-assist applet,
// asking for its PIN with the tries left, never spending the last try
// (below two left, only with ForceLast).
func (a *App) assistDOB(ctx context.Context, s *cardio.Session, q RegisterRequest) (string, error) {
	if q.AssistPIN == nil {
		return "", ErrNoDOB
	}
	if err := s.SelectAssist(ctx); err != nil {
		return "", err
	}
	tries, err := s.AssistTriesLeft(ctx)
	if err != nil {
		return "", err
	}
	keep := 1
	if q.ForceLast {
		keep = 0
	}
	switch {
	case tries == 0:
		return "", fmt.Errorf("%w: %w", ErrAssistPIN, cardio.ErrPINBlocked)
	case tries > 0 && tries <= keep:
		return "", fmt.Errorf("%w: %w", ErrAssistPIN, cardio.ErrLastTry)
	}
	pin, err := q.AssistPIN(tries)
	if err != nil {
		return "", err
	}
	if err := s.VerifyAssistPIN(ctx, pin, keep); err != nil { // clears pin
		return "", fmt.Errorf("%w: %w", ErrAssistPIN, err)
	}
	return s.AssistDOB(ctx)
}
