package genuine_test

import (
	"crypto"
	"crypto/rsa"
	"errors"
	"testing"

	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/genuine"
	"github.com/mykey-jp/mykey/internal/testpki"
)

// TestVerify breaks each link of the chain in turn: each break is named.
func TestVerify(t *testing.T) {
	card := testpki.Key("surface card user")
	recBytes, cvcBytes, err := testpki.SurfaceFiles("19800217", &card.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	nonce := []byte("a fresh nonce from the verifier")
	sig, _ := rsa.SignPKCS1v15(nil, card, crypto.Hash(0), cardio.DigestInfoSHA256(nonce))
	caID, caKey := testpki.CVCCA()
	other := testpki.Key("other")
	parse := func() (*cardio.CVC, *cardio.AgeRecord) {
		c, err := cardio.ParseCVC(cvcBytes)
		if err != nil {
			t.Fatal(err)
		}
		r, err := cardio.ParseAgeRecord(recBytes)
		if err != nil {
			t.Fatal(err)
		}
		return c, r
	}
	for _, tt := range []struct {
		name   string
		cas    genuine.Authorities
		change func(*cardio.CVC, *cardio.AgeRecord)
		nonce  []byte
		want   error
	}{
		{"genuine", genuine.Authorities{caID: &caKey.PublicKey}, nil, nonce, nil},
		{"unknown CA", genuine.Authorities{}, nil, nonce, genuine.ErrUnknownAuthority},
		{"CVC under another CA key", genuine.Authorities{caID: &other.PublicKey}, nil, nonce, genuine.ErrCVC},
		{"a forged CVC key", genuine.Authorities{caID: &caKey.PublicKey}, func(c *cardio.CVC, _ *cardio.AgeRecord) { c.Key = &other.PublicKey }, nonce, genuine.ErrRecord},
		{"another DOB in the record", genuine.Authorities{caID: &caKey.PublicKey}, func(_ *cardio.CVC, r *cardio.AgeRecord) { r.Signed[3] = '2' }, nonce, genuine.ErrRecord},
		{"a chip with another key", genuine.Authorities{caID: &caKey.PublicKey}, func(_ *cardio.CVC, r *cardio.AgeRecord) { r.CardKey = &other.PublicKey }, nonce, genuine.ErrChallenge},
		{"a replayed signature", genuine.Authorities{caID: &caKey.PublicKey}, nil, []byte("another nonce"), genuine.ErrChallenge},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, r := parse()
			if tt.change != nil {
				tt.change(c, r)
			}
			if err := genuine.Verify(tt.cas, c, r, tt.nonce, sig); !errors.Is(err, tt.want) {
				t.Fatalf("Verify = %v, want %v", err, tt.want)
			}
		})
	}
}
