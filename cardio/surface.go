package cardio

import (
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"math/big"
	"time"
)

// The card-surface confirmation applet (券面事項確認AP): PIN-less, a
// date-of-birth key opens the age record, and the applet's own key signs a
// challenge, which shows the card is a genuine My Number Card
// (../shared/docs/genuine-card.md).
var SurfaceAID = []byte{0xD3, 0x92, 0x10, 0x00, 0x31, 0x00, 0x01, 0x01, 0x04, 0x02}

// Elementary files of the surface applet that mykey uses. EF 0002 (the
// card face) and EF 0005 (the My Number image) are never read.
const (
	EFAgeRecord  = 0x0001 // DOB and the card key, signed by the AP key (needs the DOB key)
	EFSurfaceCVC = 0x0004 // the AP key's card-verifiable certificate
	EFDOBKey     = 0x0011 // the date-of-birth key (6 ASCII digits, era year)
)

// Errors of the surface applet.
var (
	ErrNoSurfaceAP = errors.New("the card has no card-surface applet: not a My Number Card")
	ErrBadRecord   = errors.New("malformed age record or certificate on the card")
)

// KeyID names a CVC key: 7 ASCII digits, 08 05, 3 ASCII digits, three zero
// bytes and a last byte ("5000023/001").
type KeyID [16]byte

func (k KeyID) String() string {
	return fmt.Sprintf("%s/%s", printable(k[:7]), printable(k[9:12]))
}

func printable(b []byte) string {
	for _, c := range b {
		if c < '0' || c > '9' {
			return fmt.Sprintf("%X", b)
		}
	}
	return string(b)
}

// MakeKeyID builds a key id from its two numbers ("5000023", "001").
func MakeKeyID(authority, key string) (KeyID, error) {
	var k KeyID
	if len(authority) != 7 || len(key) != 3 || printable([]byte(authority+key)) != authority+key {
		return k, fmt.Errorf("key id %s/%s: want 7 and 3 digits", authority, key)
	}
	copy(k[:7], authority)
	k[7], k[8] = 0x08, 0x05
	copy(k[9:12], key)
	return k, nil
}

// tlv reads one BER-TLV object (a 1- or 2-byte tag; a short, 81 or 82
// length) from b and returns its tag, value, the whole object and the rest.
func tlv(b []byte) (tag uint16, value, whole, rest []byte, err error) {
	bad := fmt.Errorf("%w: truncated or malformed TLV", ErrBadRecord)
	if len(b) < 2 {
		return 0, nil, nil, nil, bad
	}
	i := 1
	tag = uint16(b[0])
	if b[0]&0x1F == 0x1F {
		tag = tag<<8 | uint16(b[1])
		i = 2
	}
	if len(b) < i+1 {
		return 0, nil, nil, nil, bad
	}
	n := int(b[i])
	i++
	switch {
	case n == 0x81 && len(b) >= i+1:
		n, i = int(b[i]), i+1
	case n == 0x82 && len(b) >= i+2:
		n, i = int(b[i])<<8|int(b[i+1]), i+2
	case n >= 0x80:
		return 0, nil, nil, nil, bad
	}
	if len(b) < i+n {
		return 0, nil, nil, nil, bad
	}
	return tag, b[i : i+n], b[:i+n], b[i+n:], nil
}

// ParseCardKey reads an RSA public key as the card encodes it: 90
// (exponent) then 91 (modulus), unsigned big-endian.
func ParseCardKey(b []byte) (*rsa.PublicKey, error) {
	t1, e, _, rest, err := tlv(b)
	if err != nil || t1 != 0x90 || len(e) == 0 || len(e) > 4 {
		return nil, fmt.Errorf("%w: public key exponent", ErrBadRecord)
	}
	t2, m, _, _, err := tlv(rest)
	if err != nil || t2 != 0x91 || len(m) < 128 || len(m) > 512 || m[0] == 0 {
		return nil, fmt.Errorf("%w: public key modulus", ErrBadRecord)
	}
	exp := int(new(big.Int).SetBytes(e).Int64())
	if exp < 3 || exp%2 == 0 {
		return nil, fmt.Errorf("%w: public key exponent %d", ErrBadRecord, exp)
	}
	return &rsa.PublicKey{N: new(big.Int).SetBytes(m), E: exp}, nil
}

// CVC is the surface applet's card-verifiable certificate (EF 0004): the
// issuer's key id, the AP key's id and the AP key, signed by the issuer.
type CVC struct {
	Issuer, Subject KeyID
	Key             *rsa.PublicKey
	Body            []byte // the signed bytes: the value of 5F4E
	Signature       []byte // 5F37
}

// ParseCVC reads a CVC (7F21 { 5F4E body, 5F37 signature }); bytes after
// the object (filler) are ignored.
func ParseCVC(b []byte) (*CVC, error) {
	tag, v, _, _, err := tlv(b)
	if err != nil || tag != 0x7F21 {
		return nil, fmt.Errorf("%w: not a CVC", ErrBadRecord)
	}
	t1, body, _, rest, err := tlv(v)
	if err != nil || t1 != 0x5F4E || len(body) < 32+10 {
		return nil, fmt.Errorf("%w: CVC body", ErrBadRecord)
	}
	t2, sig, _, _, err := tlv(rest)
	if err != nil || t2 != 0x5F37 || len(sig) == 0 {
		return nil, fmt.Errorf("%w: CVC signature", ErrBadRecord)
	}
	c := &CVC{Body: body, Signature: sig}
	copy(c.Issuer[:], body[:16])
	copy(c.Subject[:], body[16:32])
	if c.Key, err = ParseCardKey(body[32:]); err != nil {
		return nil, err
	}
	return c, nil
}

// AgeRecord is the surface applet's age record (EF 0001): the date of
// birth and the card's public key, signed by the AP key. It holds no name,
// address or sex. Keep the DOB only as long as a check needs it.
type AgeRecord struct {
	DOB       string // YYYYMMDD, Gregorian
	CardKey   *rsa.PublicKey
	KeyBytes  []byte // the card key as the card encodes it (DF12's value)
	Signed    []byte // the DF11 and DF12 objects as written, which DF13 signs
	Signature []byte // DF13
}

// ParseAgeRecord reads an age record (FF10 { DF11 DOB, DF12 key, DF13
// signature }); bytes after the object are ignored.
func ParseAgeRecord(b []byte) (*AgeRecord, error) {
	tag, v, _, _, err := tlv(b)
	if err != nil || tag != 0xFF10 {
		return nil, fmt.Errorf("%w: not an age record", ErrBadRecord)
	}
	t1, dob, w1, rest, err := tlv(v)
	if err != nil || t1 != 0xDF11 || len(dob) != 8 {
		return nil, fmt.Errorf("%w: date of birth", ErrBadRecord)
	}
	if _, err := time.Parse("20060102", string(dob)); err != nil {
		return nil, fmt.Errorf("%w: date of birth is not YYYYMMDD", ErrBadRecord)
	}
	t2, key, w2, rest, err := tlv(rest)
	if err != nil || t2 != 0xDF12 {
		return nil, fmt.Errorf("%w: card key", ErrBadRecord)
	}
	t3, sig, _, _, err := tlv(rest)
	if err != nil || t3 != 0xDF13 || len(sig) == 0 {
		return nil, fmt.Errorf("%w: record signature", ErrBadRecord)
	}
	r := &AgeRecord{DOB: string(dob), Signature: append([]byte(nil), sig...)} // copies: the caller may clear b
	r.Signed = append(append([]byte(nil), w1...), w2...)
	r.KeyBytes = append([]byte(nil), key...)
	if r.CardKey, err = ParseCardKey(key); err != nil {
		return nil, err
	}
	return r, nil
}

// eras are the Japanese eras a living holder may be born in, newest first.
var eras = []time.Time{
	time.Date(2019, 5, 1, 0, 0, 0, 0, time.UTC),   // 令和
	time.Date(1989, 1, 8, 0, 0, 0, 0, time.UTC),   // 平成
	time.Date(1926, 12, 25, 0, 0, 0, 0, time.UTC), // 昭和
	time.Date(1912, 7, 30, 0, 0, 0, 0, time.UTC),  // 大正
}

// DOBKey is the date-of-birth key the surface applet verifies: YYMMDD with
// the year of the Japanese era (1989-01-07 → "640107", 昭和64; 1989-01-08 →
// "010108", 平成元年). dob is YYYYMMDD, Gregorian.
func DOBKey(dob string) (string, error) {
	t, err := time.Parse("20060102", dob)
	if err != nil {
		return "", errors.New("the date of birth must be a date written YYYYMMDD (e.g. 19800217)")
	}
	for _, start := range eras {
		if !t.Before(start) {
			return fmt.Sprintf("%02d%s", t.Year()-start.Year()+1, t.Format("0102")), nil
		}
	}
	return "", fmt.Errorf("date of birth %s is before 大正", dob)
}

// digestInfoSHA256 is the DER prefix of a SHA-256 DigestInfo.
var digestInfoSHA256 = []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}

// DigestInfoSHA256 is the DigestInfo a card signs for msg: SHA-256's
// algorithm identifier and hash (the card adds the PKCS#1 v1.5 padding).
func DigestInfoSHA256(msg []byte) []byte {
	h := sha256.Sum256(msg)
	return append(append([]byte(nil), digestInfoSHA256...), h[:]...)
}
