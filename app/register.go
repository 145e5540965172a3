package app

import (
	"context"
	"errors"
	"fmt"

	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/enroll"
)

// ErrBadDOB means the date of birth typed is not a date written YYYYMMDD.
var ErrBadDOB = errors.New("the date of birth is not a date written YYYYMMDD")

// RegisterRequest is a registration at the counter.
type RegisterRequest struct {
	Card      CardRequest
	Target    Target // the MyKey ID of a renewed card, the patron number to link
	ForceLast bool   // allow using the last PIN try
	// PIN is called with the tries left and returns the PIN the patron
	// entered; its bytes are cleared after use. It is never stored or logged.
	PIN func(triesLeft int) ([]byte, error)
	// For the genuine-card check: DOB (YYYYMMDD) as staff typed it from the
	// card face, or else AssistPIN, called with the tries left of the
	// input-assist applet's PIN, which may differ from the JPKI one. The
	// date of birth is confirmed by the card and kept only sealed.
	DOB       string
	AssistPIN func(triesLeft int) ([]byte, error)
}

// Register registers the card held up: certificate check, PIN, the card
// signs a fresh challenge, then the MyKey ID (new, kept, or the renewed
// card's) and the link, all or nothing. Failures are audited (enroll).
func (a *App) Register(ctx context.Context, q RegisterRequest) (res enroll.Result, err error) {
	if _, err := cardio.DOBKey(q.DOB); q.DOB != "" && err != nil {
		return res, fmt.Errorf("%w: %v", ErrBadDOB, err)
	}
	pol, err := a.Policy()
	if err != nil {
		return res, err
	}
	r, pseudo, err := a.open(ctx)
	if err != nil {
		return res, err
	}
	defer r.Close()
	chk, err := a.GenuineChecker(pseudo)
	if err != nil {
		return res, err
	}
	err = a.WithCard(ctx, q.Card, func(ctx context.Context, _ string, s *cardio.Session) error {
		res, err = enroll.Enroll(ctx, enroll.Request{
			Session: s, Checker: pol, Registry: r, Pseudo: pseudo, ForceLast: q.ForceLast,
			MyKeyID: q.Target.MyKeyID, Patron: q.Target.Patron, Service: q.Target.Service,
			PIN: q.PIN, Rand: a.Devices.Rand, Genuine: a.captureGenuine(chk, pseudo, q),
		})
		return err
	})
	return res, err
}
