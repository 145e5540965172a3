package keyid_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mykey-jp/mykey/keyid"
)

func TestSeal(t *testing.T) {
	p, _ := keyid.NewPseudonymizer(bytes.Repeat([]byte{1}, 32))
	other, _ := keyid.NewPseudonymizer(bytes.Repeat([]byte{2}, 32))
	s, err := p.Seal(nil, "ABCDEFGH", "dob", []byte("19800217"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(s, []byte("19800217")) {
		t.Fatal("the sealed value holds the plaintext")
	}
	if got, err := p.Open("ABCDEFGH", "dob", s); err != nil || string(got) != "19800217" {
		t.Fatalf("Open = %q, %v", got, err)
	}
	s2, _ := p.Seal(nil, "ABCDEFGH", "dob", []byte("19800217"))
	if bytes.Equal(s, s2) {
		t.Error("two seals of one value are equal: the nonce is not fresh")
	}
	altered := append([]byte(nil), s...)
	altered[len(altered)-1] ^= 1
	for name, open := range map[string]func() ([]byte, error){
		"another MyKey ID": func() ([]byte, error) { return p.Open("ABCDEFGJ", "dob", s) },
		"another purpose":  func() ([]byte, error) { return p.Open("ABCDEFGH", "card-key", s) },
		"another secret":   func() ([]byte, error) { return other.Open("ABCDEFGH", "dob", s) },
		"altered":          func() ([]byte, error) { return p.Open("ABCDEFGH", "dob", altered) },
		"truncated":        func() ([]byte, error) { return p.Open("ABCDEFGH", "dob", s[:10]) },
	} {
		if _, err := open(); !errors.Is(err, keyid.ErrSealed) {
			t.Errorf("%s: Open = %v, want ErrSealed", name, err)
		}
	}
	if a, b := p.Keyed("card key", []byte("k")), other.Keyed("card key", []byte("k")); bytes.Equal(a, b) {
		t.Error("the keyed fingerprint does not depend on the secret")
	}
	if a, b := p.Keyed("card key", []byte("k")), p.Keyed("card key", []byte("k")); !bytes.Equal(a, b) {
		t.Error("the keyed fingerprint is not stable")
	}
}
