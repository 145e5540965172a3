package cardio

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// The card-face input-assist applet (券面事項入力補助AP): its own 4-digit
// PIN opens the holder's basic information, of which mykey reads only the
// date of birth, at registration (../shared/docs/genuine-card.md §3).
var AssistAID = []byte{0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x08}

// Files of the input-assist applet that mykey uses. EF 0001 (the My
// Number) and EF 0003 are never read; of EF 0002 only the header and the
// date of birth.
const (
	EFAssistPIN = 0x0011
	EFBasicInfo = 0x0002 // name, address, DOB, sex: only the DOB is read
)

// ErrNoAssistAP means the card has no input-assist applet.
var ErrNoAssistAP = errors.New("the card has no input-assist applet")

// SelectAssist selects the input-assist applet.
func (s *Session) SelectAssist(ctx context.Context) error {
	apdu := append([]byte{0x00, 0xA4, 0x04, 0x0C, byte(len(AssistAID))}, AssistAID...)
	_, sw, err := s.transmit(ctx, apdu)
	if err != nil {
		return err
	}
	if sw != swOK {
		return fmt.Errorf("%w (status %04X)", ErrNoAssistAP, sw)
	}
	return nil
}

// AssistTriesLeft returns the tries left of the input-assist PIN (0:
// blocked; -1: the card does not say), without using one.
func (s *Session) AssistTriesLeft(ctx context.Context) (int, error) {
	return s.triesLeft(ctx, EFAssistPIN)
}

// VerifyAssistPIN verifies the input-assist PIN (4 digits, which may differ
// from the JPKI PIN), refusing to use a try when fewer than keep+1 are
// left (ErrLastTry) or none (ErrPINBlocked). A wrong PIN is a *PINError.
// pin is cleared.
func (s *Session) VerifyAssistPIN(ctx context.Context, pin []byte, keep int) error {
	defer clear(pin)
	if !fourDigits(pin) {
		return ErrBadPIN
	}
	wrong, left, err := s.verify(ctx, EFAssistPIN, pin, keep)
	if wrong {
		return &PINError{TriesLeft: left}
	}
	return err
}

// AssistDOB reads the date of birth (YYYYMMDD) from the basic information
// with the input-assist PIN verified: the header with the fields' offsets,
// then the 11 bytes of the DOB field only, so that the name, address and
// sex never leave the card.
func (s *Session) AssistDOB(ctx context.Context) (string, error) {
	if err := s.selectEF(ctx, EFBasicInfo); err != nil {
		return "", err
	}
	// 14 bytes hold the header with a one-byte length; a longer length
	// form needs one or two more. Never more: the name follows.
	head, err := s.readFile(ctx, 14)
	if err == nil && len(head) == 14 && (head[2] == 0x81 || head[2] == 0x82) {
		var more []byte
		more, _, err = s.readAt(ctx, 14, int(head[2]-0x80))
		head = append(head, more...)
	}
	if err != nil {
		return "", fmt.Errorf("reading the basic information's header: %w", err)
	}
	off, err := dobOffset(head)
	if err != nil {
		return "", err
	}
	b, _, err := s.readAt(ctx, off, 11)
	if err != nil {
		return "", fmt.Errorf("reading the date of birth: %w", err)
	}
	defer clear(b)
	if len(b) < 11 || b[0] != 0xDF || b[1] != 0x24 || b[2] != 0x08 {
		return "", fmt.Errorf("%w: no date of birth at offset %d of the basic information", ErrBadRecord, off)
	}
	dob := string(b[3:11])
	if _, err := time.Parse("20060102", dob); err != nil {
		return "", fmt.Errorf("%w: the date of birth is not YYYYMMDD", ErrBadRecord)
	}
	return dob, nil
}

// dobOffset finds the DOB field's offset in the basic information's header:
// FF20 <length> DF21 08 <four big-endian offsets>, the third being the DOB's.
func dobOffset(head []byte) (int, error) {
	bad := fmt.Errorf("%w: the basic information's header", ErrBadRecord)
	if len(head) < 3 || head[0] != 0xFF || head[1] != 0x20 {
		return 0, bad
	}
	i := 3
	switch head[2] {
	case 0x81:
		i = 4
	case 0x82:
		i = 5
	}
	if len(head) < i+11 || head[i] != 0xDF || head[i+1] != 0x21 || head[i+2] != 0x08 {
		return 0, bad
	}
	off := int(binary.BigEndian.Uint16(head[i+7:]))
	if off < i+11 || off > 0x7FFF {
		return 0, bad
	}
	return off, nil
}
