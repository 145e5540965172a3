package cardio

import (
	"errors"
	"fmt"
)

// Sentinel errors. Transport implementations return (wrapped) ErrCardRemoved
// and ErrReaderGone; the session maps status words to the others.
var (
	ErrNotJPKI        = errors.New("not a JPKI card: the JPKI applet is missing")
	ErrCardRemoved    = errors.New("card removed")
	ErrReaderGone     = errors.New("card reader unavailable")
	ErrFileNotFound   = errors.New("file not found on the card")
	ErrSecurity       = errors.New("security status not satisfied (PIN needed)")
	ErrPINBlocked     = errors.New("PIN is blocked")
	ErrLastTry        = errors.New("only one PIN try is left; refusing to use it without force")
	ErrMalformed      = errors.New("malformed response from the card")
	ErrBadCertificate = errors.New("certificate file on the card is malformed")
	ErrBadPIN         = errors.New("the PIN must be 4 digits") // nothing was sent
)

// StatusError is a status word the session has no more specific error for.
type StatusError struct {
	SW  uint16
	Ins byte // instruction of the command that got it
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("card answered status %04X to instruction %02X", e.SW, e.Ins)
}

// PINError is a wrong PIN; TriesLeft tries remain before the PIN blocks.
type PINError struct {
	TriesLeft int
}

func (e *PINError) Error() string {
	return fmt.Sprintf("wrong PIN: %d tries left", e.TriesLeft)
}
