package keyfile

import (
	"bytes"
	"errors"
	"testing"
)

func TestSealUnseal(t *testing.T) {
	secret := bytes.Repeat([]byte{7}, 32)
	sealed, err := Seal(secret, []byte("correct horse battery"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(sealed, []byte("0707")) {
		t.Fatal("the sealed file shows the secret")
	}
	got, err := Unseal(sealed, []byte("correct horse battery"))
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("Unseal = %x, %v", got, err)
	}
	if _, err := Unseal(sealed, []byte("correct horse batterz")); !errors.Is(err, ErrPassphrase) {
		t.Errorf("wrong passphrase: %v", err)
	}
	// Any change to the sealed part is detected.
	i := bytes.LastIndexByte(sealed, ' ') + 5
	changed := bytes.Clone(sealed)
	changed[i] ^= 1
	if _, err := Unseal(changed, []byte("correct horse battery")); err == nil {
		t.Error("a changed file opened")
	}
	for _, bad := range []string{"", "hello", "mykey-key-v1 a b c", "mykey-key-v2 AAAA AAAA AAAA"} {
		if _, err := Unseal([]byte(bad), []byte("x")); !errors.Is(err, ErrFormat) {
			t.Errorf("%q: %v", bad, err)
		}
	}
	// Each sealing differs (fresh salt and nonce).
	again, _ := Seal(secret, []byte("correct horse battery"), nil)
	if bytes.Equal(again, sealed) {
		t.Error("two sealings are equal")
	}
}
