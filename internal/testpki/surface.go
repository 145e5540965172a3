package testpki

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"

	"github.com/mykey-jp/mykey/cardio"
)

// CVCCA is the test CVC CA: its id in the J-LIS test hierarchy (6000023/001)
// and its key. Never for production: production ids start with 5.
func CVCCA() (cardio.KeyID, *rsa.PrivateKey) {
	id, _ := cardio.MakeKeyID("6000023", "001")
	return id, Key("cvc ca")
}

// SurfaceFiles makes the files of a test card-surface applet: the age record
// (dob, YYYYMMDD, and the card's public key, signed by a test municipality
// AP key, 1322121/000) and the AP key's CVC, signed by the test CVC CA.
func SurfaceFiles(dob string, card *rsa.PublicKey) (ageRecord, cvc []byte, err error) {
	caID, caKey := CVCCA()
	apID, _ := cardio.MakeKeyID("1322121", "000")
	ap := Key("surface ap")
	body := append(append(caID[:], apID[:]...), CardKeyBytes(&ap.PublicKey)...)
	sig, err := sign(caKey, body)
	if err != nil {
		return nil, nil, err
	}
	cvc = tlv(0x7F21, append(tlv(0x5F4E, body), tlv(0x5F37, sig)...))
	signed := append(tlv(0xDF11, []byte(dob)), tlv(0xDF12, CardKeyBytes(card))...)
	if sig, err = sign(ap, signed); err != nil {
		return nil, nil, err
	}
	return tlv(0xFF10, append(signed, tlv(0xDF13, sig)...)), cvc, nil
}

func sign(k *rsa.PrivateKey, msg []byte) ([]byte, error) {
	h := sha256.Sum256(msg)
	return rsa.SignPKCS1v15(rand.Reader, k, crypto.SHA256, h[:])
}

// CardKeyBytes encodes an RSA public key as the card does: 90 exponent,
// 91 modulus.
func CardKeyBytes(k *rsa.PublicKey) []byte {
	e := []byte{byte(k.E >> 16), byte(k.E >> 8), byte(k.E)}
	return append(tlv(0x90, e), tlv(0x91, k.N.FillBytes(make([]byte, k.Size())))...)
}

// tlv encodes a BER-TLV object with a 1- or 2-byte tag.
func tlv(tag uint16, v []byte) []byte {
	var out []byte
	if tag > 0xFF {
		out = append(out, byte(tag>>8))
	}
	out = append(out, byte(tag))
	switch n := len(v); {
	case n < 0x80:
		out = append(out, byte(n))
	case n <= 0xFF:
		out = append(out, 0x81, byte(n))
	default:
		out = append(out, 0x82, byte(n>>8), byte(n))
	}
	return append(out, v...)
}

// UncertifiedRecord makes an age record for dob and card signed by a key
// that no CVC certifies.
func UncertifiedRecord(dob string, card *rsa.PublicKey) ([]byte, error) {
	signed := append(tlv(0xDF11, []byte(dob)), tlv(0xDF12, CardKeyBytes(card))...)
	sig, err := sign(Key("an uncertified ap key"), signed)
	if err != nil {
		return nil, err
	}
	return tlv(0xFF10, append(signed, tlv(0xDF13, sig)...)), nil
}
