// Package testcard makes the card-surface and input-assist applets of
// virtual test cards (cardio/vcard), genuine or showing one of the ways the
// genuine-card check must fail. Everything is signed under the test CVC CA
// (testpki.CVCCA, id 6000023/001): never accepted in production.
package testcard

import (
	"crypto/rsa"
	"encoding/binary"
	"fmt"
	"path/filepath"

	"github.com/mykey-jp/mykey/cardio/vcard"
	"github.com/mykey-jp/mykey/internal/testpki"
)

// Variants of the card-surface applet.
const (
	Genuine     = ""            // a genuine My Number Card
	NoSurface   = "no-surface"  // no card-surface applet (a 住基 card with JPKI)
	Cloned      = "cloned"      // the applet signs with another key than its record's
	DOBLocked   = "dob-locked"  // the date-of-birth key is blocked
	WrongDOB    = "wrong-dob"   // the holder's date of birth is another than registered
	Uncertified = "uncertified" // the record is signed by a key no CVC certifies
	OtherCard   = "other-card"  // a genuine card of the same DOB, but not the registered one
)

// Variants lists every variant but Genuine.
var Variants = []string{NoSurface, Cloned, DOBLocked, WrongDOB, Uncertified, OtherCard}

// OtherDOB is the date of birth of the WrongDOB variant.
const OtherDOB = "19900101"

// Surface returns the card-surface applet of holder's card (holder seeds
// its card key) for date of birth dob (YYYYMMDD), as variant shows it; nil
// for NoSurface.
func Surface(holder, dob, variant string) (*vcard.Surface, error) {
	seed := "surface card " + holder
	switch variant {
	case NoSurface:
		return nil, nil
	case WrongDOB:
		dob = OtherDOB
	case OtherCard:
		seed += " (another card)"
	case Genuine, Cloned, DOBLocked, Uncertified:
	default:
		return nil, fmt.Errorf("unknown card variant %q (want one of %v)", variant, Variants)
	}
	key := testpki.Key(seed)
	rec, cvc, err := testpki.SurfaceFiles(dob, &key.PublicKey)
	if err != nil {
		return nil, err
	}
	s := &vcard.Surface{DOB: dob, CardKey: key, AgeRecord: rec, CVC: cvc}
	switch variant {
	case Cloned:
		s.CardKey = testpki.Key("a cloner's key")
	case DOBLocked:
		s.TriesLeft = -1
	case Uncertified:
		s.AgeRecord, err = testpki.UncertifiedRecord(dob, &key.PublicKey)
	}
	return s, err
}

// Assist returns an input-assist applet holding dob (YYYYMMDD) behind pin,
// with a made-up name, address and sex around it, as on a card.
func Assist(dob, pin string) *vcard.Assist {
	fields := [][]byte{
		tlv(0xDF22, []byte("試験\u3000花子")),
		tlv(0xDF23, []byte("東京都千代田区霞が関一丁目一番一号")),
		tlv(0xDF24, []byte(dob)),
		tlv(0xDF25, []byte("2")),
	}
	offsets := make([]byte, 8)
	var body []byte
	// Offsets count from the file's first byte: FF20, its length (82 LL LL:
	// 4 bytes), then DF21 08 with the offsets (11 bytes).
	at := 2 + 3 + 11
	for i, f := range fields {
		binary.BigEndian.PutUint16(offsets[2*i:], uint16(at))
		at += len(f)
		body = append(body, f...)
	}
	v := append(tlv(0xDF21, offsets), body...)
	basic := []byte{0xFF, 0x20, 0x82, byte(len(v) >> 8), byte(len(v))}
	return &vcard.Assist{PIN: pin, Basic: append(basic, v...)}
}

func tlv(tag uint16, v []byte) []byte {
	return append([]byte{byte(tag >> 8), byte(tag), byte(len(v))}, v...)
}

// Key is the public card key of holder's genuine card.
func Key(holder string) *rsa.PublicKey { return &testpki.Key("surface card " + holder).PublicKey }

// What the test cards hold and the test configurations name.
const (
	DOB         = "19800217" // every test card's holder's date of birth
	AssistPIN   = "5678"     // the input-assist PIN (the JPKI PIN is 1234)
	AuthorityID = "6000023/001"
	KeyFile     = "cvc-ca-test.pem" // the test CVC CA key, in testpki.Dir()
)

// ConfigTOML is the [genuine] section of a test configuration: mode dob
// (or mode, when given) with the test CVC CA key in pkiDir.
func ConfigTOML(pkiDir string, mode ...string) string {
	m := "dob"
	if len(mode) > 0 {
		m = mode[0]
	}
	return fmt.Sprintf("[genuine]\nmode = %q\nauthorities = [%q]\ntest_keys = true\n", m, AuthorityID+"="+filepath.Join(pkiDir, KeyFile))
}

// Apply gives cfg holder's card-surface applet as variant shows it, and
// an input-assist applet, both for DOB.
func Apply(cfg *vcard.Config, holder, variant string) error {
	s, err := Surface(holder, DOB, variant)
	if err != nil {
		return err
	}
	cfg.Surface, cfg.Assist = s, Assist(DOB, AssistPIN)
	return nil
}
