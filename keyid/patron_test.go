package keyid

import (
	"errors"
	"fmt"
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

// TestCheckDigitPublishedExamples computes check digits of examples that
// barcode references publish (the data, then the digit they give).
func TestCheckDigitPublishedExamples(t *testing.T) {
	for _, tt := range []struct {
		scheme string
		data   string
		want   byte
	}{
		{"m10w31", "491234567890", '4'},  // JAN-13, weights 3,1
		{"m10w31", "1456995111617", '6'}, // ITF-14
		{"m10w31", "400763000011", '6'},  // EAN-13
		{"m10w31", "4972253", '6'},       // JAN-8
		{"luhn", "12345678", '2'},        // NW-7 "M10W21 分割"
		{"luhn", "7992739871", '3'},      // the textbook Luhn example
		{"m10w21", "12345678", '4'},      // NW-7 "M10W21 一括"
		{"7dr", "99991234567", '0'},      // NW-7 "7DR": the number mod 7
	} {
		scheme, err := ParseCheckDigit(tt.scheme)
		if err != nil {
			t.Fatal(err)
		}
		if got := CheckDigitFor(scheme, tt.data); got != tt.want {
			t.Errorf("%s(%s) = %c, want %c", tt.scheme, tt.data, got, tt.want)
		}
	}
}

// TestMod7LongNumbers: mod7 is the remainder for numbers of any length
// (long division), as math/big computes it.
func TestMod7LongNumbers(t *testing.T) {
	for _, n := range []string{"0", "6", "7", "12345678", "99991234567", "123456789012345678901234567890"} {
		b, _ := new(big.Int).SetString(n, 10)
		want := byte('0' + new(big.Int).Mod(b, big.NewInt(7)).Int64())
		if got := CheckDigitFor(CheckMod7, n); got != want {
			t.Errorf("mod7(%s) = %c, want %c", n, got, want)
		}
	}
}

// TestCheckDigitSingleErrors changes every digit of many numbers to every
// other digit and counts the changes each scheme misses. M10W31 and Luhn
// miss none; the others miss exactly what their arithmetic says: M10W21
// 一括 a change by 5 where the weight is 2 (2 × 5 ≡ 0 mod 10), mod7 a change
// by 7 (0↔7, 1↔8, 2↔9), mod11 only where two remainders share the digit 0.
func TestCheckDigitSingleErrors(t *testing.T) {
	for _, scheme := range CheckDigits[1:] {
		missed, total := 0, 0
		for n := 0; n < 20000; n += 7 {
			data := []byte(fmt.Sprintf("%08d", n*4999%100000000))
			check := CheckDigitFor(scheme, string(data))
			for pos := range data {
				orig := data[pos]
				for d := byte('0'); d <= '9'; d++ {
					if d == orig {
						continue
					}
					data[pos] = d
					total++
					if CheckDigitFor(scheme, string(data)) == check {
						missed++
						delta := int(d) - int(orig)
						fromRight := len(data) - 1 - pos
						ok := scheme == CheckM10W21 && (delta == 5 || delta == -5) && fromRight%2 == 0 ||
							scheme == CheckMod7 && (delta == 7 || delta == -7) ||
							scheme == CheckMod11 && mod11Rem(string(data)) <= 1 && mod11Rem(fmt.Sprintf("%s%c%s", data[:pos], orig, data[pos+1:])) <= 1
						if !ok {
							t.Fatalf("%s misses %c→%c at position %d of %s", scheme, orig, d, pos, data)
						}
					}
				}
				data[pos] = orig
			}
		}
		t.Logf("%s: %d of %d single-digit errors undetected", scheme, missed, total)
		if (scheme == CheckMod10 || scheme == CheckLuhn) && missed != 0 {
			t.Errorf("%s missed %d single-digit errors", scheme, missed)
		}
	}
}

// mod11Rem is the remainder mod11 divides by 11 (weights 2..7 from the right).
func mod11Rem(data string) int {
	sum := 0
	for i := 0; i < len(data); i++ {
		sum += int(data[len(data)-1-i]-'0') * (2 + i%6)
	}
	return sum % 11
}
