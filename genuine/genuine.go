// Package genuine checks that a card is a genuine My Number Card without a
// PIN (JPKI Act Art. 38-4 ②; ../shared/docs/genuine-card.md): the
// card-surface applet's CVC is verified under a configured CVC CA key, the
// age record under the CVC's AP key, and a signature over the verifier's
// fresh nonce under the record's card key. The caller then compares the
// record's date of birth and card key with what registration kept.
package genuine

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/mykey-jp/mykey/cardio"
)

// Errors, one per link of the chain.
var (
	ErrUnknownAuthority = errors.New("the card's CVC is issued by a key that is not configured")
	ErrCVC              = errors.New("the card's CVC does not verify")
	ErrRecord           = errors.New("the card's age record does not verify")
	ErrChallenge        = errors.New("the card's signature over the challenge does not verify")
)

// Authorities are the trusted CVC CA public keys by key id.
type Authorities map[cardio.KeyID]*rsa.PublicKey

// Verify checks the chain: cvc under its issuer's key in cas, rec under
// the CVC's key, and sig (the card's signature of
// cardio.DigestInfoSHA256(nonce)) under rec's card key.
func Verify(cas Authorities, cvc *cardio.CVC, rec *cardio.AgeRecord, nonce, sig []byte) error {
	if err := cas.certify(cvc); err != nil {
		return err
	}
	if err := verifyRecord(cvc.Key, rec); err != nil {
		return err
	}
	return verifyChallenge(rec.CardKey, nonce, sig)
}

// certify verifies cvc under its issuer's key in cas.
func (cas Authorities) certify(cvc *cardio.CVC) error {
	ca, ok := cas[cvc.Issuer]
	if !ok {
		return fmt.Errorf("%w (%s)", ErrUnknownAuthority, cvc.Issuer)
	}
	if err := verify(ca, cvc.Body, cvc.Signature); err != nil {
		return fmt.Errorf("%w: %v", ErrCVC, err)
	}
	return nil
}

// verifyRecord verifies rec under the AP key apKey.
func verifyRecord(apKey *rsa.PublicKey, rec *cardio.AgeRecord) error {
	if err := verify(apKey, rec.Signed, rec.Signature); err != nil {
		return fmt.Errorf("%w: %v", ErrRecord, err)
	}
	return nil
}

// verifyChallenge verifies the card's signature sig over nonce with its
// card key.
func verifyChallenge(cardKey *rsa.PublicKey, nonce, sig []byte) error {
	if err := verify(cardKey, nonce, sig); err != nil {
		return fmt.Errorf("%w: %v", ErrChallenge, err)
	}
	return nil
}

func verify(k *rsa.PublicKey, msg, sig []byte) error {
	h := sha256.Sum256(msg)
	return rsa.VerifyPKCS1v15(k, crypto.SHA256, h[:], sig)
}
