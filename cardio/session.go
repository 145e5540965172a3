package cardio

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// Transport sends one command APDU and returns the response APDU (data and
// status word). It returns ErrCardRemoved (wrapped) when the card is gone and
// ErrReaderGone when the reader or the PC/SC service is, and ctx.Err() when
// ctx ends first.
type Transport interface {
	Transmit(ctx context.Context, apdu []byte) ([]byte, error)
}

// AID is the application identifier of the JPKI applet.
var AID = []byte{0xD3, 0x92, 0xF0, 0x00, 0x26, 0x01, 0x00, 0x00, 0x00, 0x01}

// Elementary files of the JPKI applet that mykey uses.
const (
	EFTokenInfo = 0x0006 // 32 ASCII bytes, space padded
	EFAuthCert  = 0x000A // user-identification certificate (DER)
	EFAuthCA    = 0x000B // its CA certificate (DER)
	EFAuthKey   = 0x0017 // authentication private key
	EFAuthPIN   = 0x0018 // user-identification PIN
)

// Status words.
const (
	swOK            = 0x9000
	swEndOfFile     = 0x6282
	swWrongLength   = 0x6700
	swSecurity      = 0x6982
	swAuthBlocked   = 0x6983
	swRefDataNotUse = 0x6984
	swNotFound      = 0x6A82
	swWrongP1P2     = 0x6B00
)

// Stats counts what a session exchanged with the card.
type Stats struct {
	APDUs int // command APDUs sent, GET RESPONSE and repeats included
	Bytes int // bytes sent and received
}

// Session is a conversation with one JPKI card. It is not safe for
// concurrent use.
type Session struct {
	T Transport
	// Extended makes READ BINARY ask for up to 65535 bytes at once
	// (extended-length APDUs). Not every reader supports them.
	Extended bool
	Stats    Stats
}

// maxResponseLoops bounds GET RESPONSE chains and 6Cxx repeats, so that a
// misbehaving card cannot keep the session spinning.
const maxResponseLoops = 64

// transmit sends apdu and returns the response data and final status word,
// following 61xx with GET RESPONSE and repeating after 6Cxx with the right Le.
func (s *Session) transmit(ctx context.Context, apdu []byte) ([]byte, uint16, error) {
	var data []byte
	for range maxResponseLoops {
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
		resp, err := s.T.Transmit(ctx, apdu)
		s.Stats.APDUs++
		s.Stats.Bytes += len(apdu) + len(resp)
		if err != nil {
			return nil, 0, err
		}
		if len(resp) < 2 {
			// A dying card answers success with no bytes once, then
			// "removed": treat it as pulled.
			return nil, 0, fmt.Errorf("%w: %w: %d-byte response to instruction %02X", ErrCardRemoved, ErrMalformed, len(resp), apdu[1])
		}
		sw := binary.BigEndian.Uint16(resp[len(resp)-2:])
		data = append(data, resp[:len(resp)-2]...)
		switch sw >> 8 {
		case 0x61: // more data waiting: GET RESPONSE
			apdu = []byte{0x00, 0xC0, 0x00, 0x00, byte(sw)}
			continue
		case 0x6C: // wrong Le: repeat with the length the card offers
			if len(apdu) < 5 {
				return nil, 0, fmt.Errorf("%w: 6Cxx to a command without Le", ErrMalformed)
			}
			if isExtendedLe(apdu) {
				apdu = append(apdu[:4:4], byte(sw))
			} else {
				apdu = append(append([]byte(nil), apdu[:len(apdu)-1]...), byte(sw))
			}
			data = nil
			continue
		}
		return data, sw, nil
	}
	return nil, 0, fmt.Errorf("%w: more than %d chained responses", ErrMalformed, maxResponseLoops)
}

// isExtendedLe reports whether apdu is a case-2 extended APDU (00 Le1 Le2).
func isExtendedLe(apdu []byte) bool { return len(apdu) == 7 && apdu[4] == 0 }

func checkSW(sw uint16, ins byte) error {
	switch sw {
	case swOK:
		return nil
	case swNotFound:
		return ErrFileNotFound
	case swSecurity:
		return ErrSecurity
	}
	return &StatusError{SW: sw, Ins: ins}
}

// Select selects the JPKI applet. It answers ErrNotJPKI for a card without
// it. Select again after every connect: pcscd powers idle cards off, which
// resets the selection.
func (s *Session) Select(ctx context.Context) error {
	apdu := append([]byte{0x00, 0xA4, 0x04, 0x0C, byte(len(AID))}, AID...)
	_, sw, err := s.transmit(ctx, apdu)
	if err != nil {
		return err
	}
	if sw != swOK {
		return fmt.Errorf("%w (status %04X)", ErrNotJPKI, sw)
	}
	return nil
}

func (s *Session) selectEF(ctx context.Context, ef uint16) error {
	_, sw, err := s.transmit(ctx, []byte{0x00, 0xA4, 0x02, 0x0C, 0x02, byte(ef >> 8), byte(ef)})
	if err != nil {
		return err
	}
	if err := checkSW(sw, 0xA4); err != nil {
		return fmt.Errorf("selecting EF %04X: %w", ef, err)
	}
	return nil
}

// readAt sends one READ BINARY at offset asking for up to want bytes. It
// returns the data (possibly fewer bytes), and eof when the card says the
// offset is at or past the end.
func (s *Session) readAt(ctx context.Context, offset, want int) ([]byte, bool, error) {
	if offset > 0x7FFF {
		return nil, true, nil
	}
	apdu := []byte{0x00, 0xB0, byte(offset >> 8), byte(offset)}
	if s.Extended && want > 256 {
		apdu = append(apdu, 0x00, byte(want>>8), byte(want))
	} else {
		apdu = append(apdu, byte(min(want, 256))) // 00 means 256
	}
	data, sw, err := s.transmit(ctx, apdu)
	if err != nil {
		return nil, false, err
	}
	switch sw {
	case swOK, swEndOfFile:
		return data, len(data) == 0, nil
	case swWrongP1P2:
		return nil, true, nil
	}
	return nil, false, checkSW(sw, 0xB0)
}

// ReadFile reads n bytes from the start of the selected EF, looping over
// short responses. It stops early, without error, at the end of the file.
func (s *Session) readFile(ctx context.Context, n int) ([]byte, error) {
	out := make([]byte, 0, n)
	for len(out) < n {
		chunk, eof, err := s.readAt(ctx, len(out), n-len(out))
		if err != nil {
			return nil, err
		}
		if eof {
			break
		}
		out = append(out, chunk...)
	}
	if len(out) > n {
		out = out[:n]
	}
	return out, nil
}

// TokenInfo reads EF 0006: "JPKIAPICCTOKEN2" for a My Number Card.
func (s *Session) TokenInfo(ctx context.Context) (string, error) {
	if err := s.selectEF(ctx, EFTokenInfo); err != nil {
		return "", err
	}
	b, err := s.readFile(ctx, 32)
	if err != nil {
		return "", fmt.Errorf("reading token info: %w", err)
	}
	return strings.TrimRight(string(b), " \x00"), nil
}

// AuthCertificate reads the user-identification certificate (EF 000A), DER.
func (s *Session) AuthCertificate(ctx context.Context) ([]byte, error) {
	return s.readCertificate(ctx, EFAuthCert)
}

// AuthCACertificate reads the CA certificate of the user-identification
// certificate (EF 000B), DER.
func (s *Session) AuthCACertificate(ctx context.Context) ([]byte, error) {
	return s.readCertificate(ctx, EFAuthCA)
}

// readCertificate reads the DER certificate at the start of ef.
func (s *Session) readCertificate(ctx context.Context, ef uint16) ([]byte, error) {
	b, err := s.readObject(ctx, ef, ErrBadCertificate)
	if err == nil && b[0] != 0x30 {
		return nil, fmt.Errorf("EF %04X: %w: starts with %02X, not a SEQUENCE", ef, ErrBadCertificate, b[0])
	}
	return b, err
}

// readObject reads the BER-TLV object at the start of ef. The first READ
// asks for a whole chunk (256 bytes, or all with extended length); the
// header tells how much more to read. Padding after the object is ignored.
// A damaged or truncated object is bad (wrapped).
func (s *Session) readObject(ctx context.Context, ef uint16, bad error) ([]byte, error) {
	if err := s.selectEF(ctx, ef); err != nil {
		return nil, err
	}
	first := 256
	if s.Extended {
		first = 0xFFFF
	}
	var buf []byte
	total, err := 0, errShortHeader
	for errors.Is(err, errShortHeader) {
		chunk, eof, rerr := s.readAt(ctx, len(buf), first-len(buf))
		if rerr != nil {
			return nil, fmt.Errorf("reading EF %04X: %w", ef, rerr)
		}
		if eof {
			return nil, fmt.Errorf("EF %04X: %w: %d bytes", ef, bad, len(buf))
		}
		buf = append(buf, chunk...)
		total, err = objectLength(buf)
	}
	if err != nil {
		return nil, fmt.Errorf("EF %04X: %w: %v", ef, bad, err)
	}
	for len(buf) < total {
		chunk, eof, err := s.readAt(ctx, len(buf), total-len(buf))
		if err != nil {
			return nil, fmt.Errorf("reading EF %04X: %w", ef, err)
		}
		if eof {
			return nil, fmt.Errorf("EF %04X: %w: file ends after %d of %d bytes", ef, bad, len(buf), total)
		}
		buf = append(buf, chunk...)
	}
	return buf[:total], nil
}

// errShortHeader: more bytes are needed to read an object's header.
var errShortHeader = errors.New("truncated header")

// maxObjectLen bounds the length an object's header may claim.
const maxObjectLen = 16 * 1024

// objectLength returns the total length (header included) of the BER-TLV
// object whose first bytes are b: a 1- or 2-byte tag, a short, 81 or 82
// length.
func objectLength(b []byte) (int, error) {
	i := 1
	if len(b) > 0 && b[0]&0x1F == 0x1F {
		i = 2
	}
	if len(b) < i+1 {
		return 0, errShortHeader
	}
	var n int
	switch l := b[i]; {
	case l < 0x80:
		n, i = int(l), i+1
	case l == 0x81 && len(b) >= i+2:
		n, i = int(b[i+1]), i+2
	case l == 0x82 && len(b) >= i+3:
		n, i = int(b[i+1])<<8|int(b[i+2]), i+3
	case l == 0x81 || l == 0x82:
		return 0, errShortHeader
	default:
		return 0, fmt.Errorf("length form %02X", l)
	}
	if n+i > maxObjectLen {
		return 0, fmt.Errorf("claims %d bytes", n+i)
	}
	return n + i, nil
}

// PINTriesLeft returns how many tries the user-identification PIN has left
// (0 when blocked), without using one.
func (s *Session) PINTriesLeft(ctx context.Context) (int, error) {
	return s.triesLeft(ctx, EFAuthPIN)
}

// triesLeft selects the key or PIN ef and asks how many tries it has left
// (0: blocked; -1: the card does not say, as when it is verified already),
// without using one.
func (s *Session) triesLeft(ctx context.Context, ef uint16) (int, error) {
	if err := s.selectEF(ctx, ef); err != nil {
		return 0, err
	}
	_, sw, err := s.transmit(ctx, []byte{0x00, 0x20, 0x00, 0x80})
	if err != nil {
		return 0, err
	}
	switch {
	case sw&0xFFF0 == 0x63C0:
		return int(sw & 0x0F), nil
	case sw == swAuthBlocked || sw == swRefDataNotUse:
		return 0, nil
	case sw == swOK:
		return -1, nil
	}
	return 0, checkSW(sw, 0x20)
}

// verify asks the tries left of the key or PIN ef and, unless fewer than
// keep+1 are left (ErrLastTry) or none (ErrPINBlocked), sends one VERIFY
// with secret. A wrong secret returns wrong=true and the tries left. The
// APDU's copy of secret is cleared.
func (s *Session) verify(ctx context.Context, ef uint16, secret []byte, keep int) (wrong bool, left int, err error) {
	left, err = s.triesLeft(ctx, ef)
	switch {
	case err != nil:
		return false, 0, err
	case left == 0:
		return false, 0, ErrPINBlocked
	case left > 0 && left <= keep:
		return false, left, ErrLastTry
	}
	apdu := append([]byte{0x00, 0x20, 0x00, 0x80, byte(len(secret))}, secret...)
	defer clear(apdu)
	_, sw, err := s.transmit(ctx, apdu)
	switch {
	case err != nil:
		return false, 0, err
	case sw == swOK:
		return false, 0, nil
	case sw == 0x63C0 || sw == swAuthBlocked || sw == swRefDataNotUse:
		return false, 0, ErrPINBlocked
	case sw&0xFFF0 == 0x63C0:
		return true, int(sw & 0x0F), nil
	}
	return false, 0, checkSW(sw, 0x20)
}

// VerifyPIN verifies the user-identification PIN (4 ASCII digits). It asks
// for the tries left first and refuses with ErrLastTry when only one is
// left, unless force is set; ErrPINBlocked when none is. A wrong PIN gives a
// *PINError. The PIN bytes are overwritten before VerifyPIN returns.
func (s *Session) VerifyPIN(ctx context.Context, pin []byte, force bool) error {
	defer clear(pin)
	if !fourDigits(pin) {
		return ErrBadPIN
	}
	keep := 1
	if force {
		keep = 0
	}
	wrong, left, err := s.verify(ctx, EFAuthPIN, pin, keep)
	if wrong {
		return &PINError{TriesLeft: left}
	}
	return err
}

func fourDigits(pin []byte) bool {
	return len(pin) == 4 && strings.Trim(string(pin), "0123456789") == ""
}

// Sign signs digestInfo (a DER DigestInfo: algorithm and hash) with the
// authentication key; the card applies PKCS#1 v1.5 padding. It needs a
// verified PIN in the same card session, else ErrSecurity.
func (s *Session) Sign(ctx context.Context, digestInfo []byte) ([]byte, error) {
	if len(digestInfo) == 0 || len(digestInfo) > 255 {
		return nil, fmt.Errorf("DigestInfo of %d bytes", len(digestInfo))
	}
	if err := s.selectEF(ctx, EFAuthKey); err != nil {
		return nil, err
	}
	apdu := append([]byte{0x80, 0x2A, 0x00, 0x80, byte(len(digestInfo))}, digestInfo...)
	apdu = append(apdu, 0x00)
	sig, sw, err := s.transmit(ctx, apdu)
	if err != nil {
		return nil, err
	}
	if err := checkSW(sw, 0x2A); err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	if len(sig) == 0 {
		return nil, fmt.Errorf("%w: empty signature", ErrMalformed)
	}
	return sig, nil
}
