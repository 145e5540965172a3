package keyid

import (
	"errors"
	"math/big"
	"testing"
)

func TestCheckDigitKnownValues(t *testing.T) {
	tests := []struct {
		scheme CheckDigit
		number string
	}{
		{CheckLuhn, "79927398713"}, // the textbook Luhn example
		{CheckLuhn, "4539148803436467"},
		{CheckMod10, "9780306406157"}, // ISBN-13 / EAN-13
		{CheckMod10, "4901085089392"}, // a JAN code
		// mod11 by hand: data 12345, weights 2..6 from the right:
		// 5·2+4·3+3·4+2·5+1·6 = 50; 50 mod 11 = 6; 11-6 = 5.
		{CheckMod11, "123455"},
		// 7 weights wrap: data 1000000, the 1 has weight 2 again: 2 mod 11 = 2; 11-2 = 9.
		{CheckMod11, "10000009"},
		// remainder 0 gives 0: data 0000.
		{CheckMod11, "00000"},
		// remainder 1 gives 0: data 6 with weight 2 = 12, 12 mod 11 = 1.
		{CheckMod11, "60"},
	}
	for _, tt := range tests {
		r, err := NewPatronRule(`^[0-9]+$`, tt.scheme)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Check(tt.number); err != nil {
			t.Errorf("%s %s: %v", tt.scheme, tt.number, err)
		}
		// Every other last digit must be refused.
		for d := byte('0'); d <= '9'; d++ {
			if d == tt.number[len(tt.number)-1] {
				continue
			}
			bad := tt.number[:len(tt.number)-1] + string(d)
			if _, err := r.Check(bad); !errors.Is(err, ErrInvalidPatron) {
				t.Errorf("%s accepted %s", tt.scheme, bad)
			}
		}
	}
}

func TestPatronNormalisation(t *testing.T) {
	r, err := NewPatronRule("", "")
	if err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]string{
		"12345678":   "12345678",
		"　１２３４５６７８　": "12345678",
		" 0001\t":    "0001",
	} {
		got, err := r.Check(in)
		if err != nil || got != want {
			t.Errorf("Check(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"", "   ", "123", "12345678901234567", "1234a", "12 34"} {
		var pe *PatronError
		if _, err := r.Check(in); !errors.As(err, &pe) {
			t.Errorf("Check(%q) = %v, want a PatronError", in, err)
		}
	}
}

func TestPatronRuleErrors(t *testing.T) {
	if _, err := NewPatronRule("([", ""); err == nil {
		t.Error("bad regexp accepted")
	}
	if _, err := NewPatronRule("", "mod97"); err == nil {
		t.Error("unknown scheme accepted")
	}
	r, _ := NewPatronRule(`^[A-Z0-9]+$`, CheckLuhn)
	if _, err := r.Check("AB12"); err == nil {
		t.Error("letters accepted under a check-digit scheme")
	}
}

func TestPseudonym(t *testing.T) {
	secret := make([]byte, SecretLen)
	p, err := NewPseudonymizer(secret)
	if err != nil {
		t.Fatal(err)
	}
	spkiA, spkiB := []byte("CA key A"), []byte("CA key B")
	a1 := p.Pseudonym(spkiA, big.NewInt(1234))
	if a1 != p.Pseudonym(spkiA, big.NewInt(1234)) {
		t.Error("pseudonym is not deterministic")
	}
	if a1 == p.Pseudonym(spkiB, big.NewInt(1234)) {
		t.Error("same serial under another CA key gives the same pseudonym")
	}
	if a1 == p.Pseudonym(spkiA, big.NewInt(1235)) {
		t.Error("different serials give the same pseudonym")
	}
	secret[0] = 1
	q, _ := NewPseudonymizer(secret)
	if a1 == q.Pseudonym(spkiA, big.NewInt(1234)) {
		t.Error("another secret gives the same pseudonym")
	}
	if _, err := NewPseudonymizer(secret[:16]); !errors.Is(err, ErrSecret) {
		t.Errorf("short secret: %v", err)
	}
	if len(a1.String()) != 64 || len(a1.Short()) != 12 {
		t.Errorf("String %q Short %q", a1, a1.Short())
	}
}
