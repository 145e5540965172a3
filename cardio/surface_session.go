package cardio

import (
	"context"
	"fmt"
	"strings"
)

// DOBError means the date-of-birth key did not match: one try is gone.
type DOBError struct{ TriesLeft int }

func (e *DOBError) Error() string {
	return fmt.Sprintf("the date of birth does not match the card (%d tries left)", e.TriesLeft)
}

// SelectSurface selects the card-surface applet: ErrNoSurfaceAP when the
// card has none (a 住基 card with JPKI, another card).
func (s *Session) SelectSurface(ctx context.Context) error {
	apdu := append([]byte{0x00, 0xA4, 0x04, 0x0C, byte(len(SurfaceAID))}, SurfaceAID...)
	_, sw, err := s.transmit(ctx, apdu)
	if err != nil {
		return err
	}
	if sw != swOK {
		return fmt.Errorf("%w (status %04X)", ErrNoSurfaceAP, sw)
	}
	return nil
}

// DOBTriesLeft returns how many tries the date-of-birth key has left (0:
// blocked; -1: the card does not say), without using one. The surface
// applet is selected.
func (s *Session) DOBTriesLeft(ctx context.Context) (int, error) {
	return s.triesLeft(ctx, EFDOBKey)
}

// VerifyDOB verifies the date-of-birth key (DOBKey: 6 ASCII digits). It
// refuses to spend a try when fewer than keep+1 are left (ErrLastTry), or
// none (ErrPINBlocked). A wrong key is a *DOBError. The surface applet is
// selected; reading the age record must follow without another SELECT of
// an applet.
func (s *Session) VerifyDOB(ctx context.Context, key string, keep int) error {
	if len(key) != 6 || strings.Trim(key, "0123456789") != "" {
		return fmt.Errorf("date-of-birth key: want 6 digits")
	}
	b := []byte(key)
	defer clear(b)
	wrong, left, err := s.verify(ctx, EFDOBKey, b, keep)
	if wrong {
		return &DOBError{TriesLeft: left}
	}
	return err
}

// AgeRecord reads the age record (needs the date-of-birth key verified).
// Its bytes hold the date of birth: parse them, use them, drop them.
func (s *Session) AgeRecord(ctx context.Context) (*AgeRecord, error) {
	b, err := s.readObject(ctx, EFAgeRecord, ErrBadRecord)
	if err != nil {
		return nil, err
	}
	defer clear(b)
	return ParseAgeRecord(b)
}

// SurfaceCVC reads the surface applet's CVC (no credential needed).
func (s *Session) SurfaceCVC(ctx context.Context) (*CVC, error) {
	b, err := s.readObject(ctx, EFSurfaceCVC, ErrBadRecord)
	if err != nil {
		return nil, err
	}
	return ParseCVC(b)
}

// SurfaceSign has the surface applet's card key sign digestInfo (a DER
// DigestInfo; the card pads with PKCS#1 v1.5). No credential is needed.
// The nonce behind it must be the verifier's, fresh for every tap.
func (s *Session) SurfaceSign(ctx context.Context, digestInfo []byte) ([]byte, error) {
	if len(digestInfo) == 0 || len(digestInfo) > 255 {
		return nil, fmt.Errorf("DigestInfo of %d bytes", len(digestInfo))
	}
	apdu := append([]byte{0x80, 0x2A, 0x00, 0x00, byte(len(digestInfo))}, digestInfo...)
	sig, sw, err := s.transmit(ctx, append(apdu, 0x00))
	if err != nil {
		return nil, err
	}
	if err := checkSW(sw, 0x2A); err != nil {
		return nil, fmt.Errorf("signing the challenge: %w", err)
	}
	if len(sig) == 0 {
		return nil, fmt.Errorf("%w: empty signature", ErrMalformed)
	}
	return sig, nil
}
