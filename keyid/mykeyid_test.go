package keyid

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// seeded returns a deterministic randomness source for reproducible IDs.
type seeded struct{ r *rand.ChaCha8 }

func (s seeded) Read(p []byte) (int, error) { return s.r.Read(p) }

func newSeeded(seed byte) seeded {
	var k [32]byte
	k[0] = seed
	return seeded{rand.NewChaCha8(k)}
}

func TestNewIsValid(t *testing.T) {
	src := newSeeded(1)
	seen := map[ID]bool{}
	for range 10000 {
		id, err := New(src)
		if err != nil {
			t.Fatal(err)
		}
		if len(id) != IDLen {
			t.Fatalf("%q: length %d", id, len(id))
		}
		if _, err := Parse(string(id)); err != nil {
			t.Fatalf("minted ID %q does not parse: %v", id, err)
		}
		seen[id] = true
	}
	if len(seen) < 9990 {
		t.Errorf("only %d distinct IDs out of 10000", len(seen))
	}
}

func TestNewUsesEveryDataSymbol(t *testing.T) {
	src := newSeeded(2)
	var count [IDLen][32]int
	for range 20000 {
		id, _ := New(src)
		for i := 0; i < DataLen; i++ {
			count[i][bytes.IndexByte([]byte(Alphabet), id[i])]++
		}
	}
	for i := 0; i < DataLen; i++ {
		for s, n := range count[i] {
			// Expected 625 each; a fair source stays well inside 400..850.
			if n < 400 || n > 850 {
				t.Errorf("position %d symbol %c drawn %d times", i, Alphabet[s], n)
			}
		}
	}
}

func TestNewRandomnessError(t *testing.T) {
	if _, err := New(bytes.NewReader([]byte{1, 2})); err == nil {
		t.Fatal("want an error from a short randomness source")
	}
}

// TestDetectsEverySingleErrorAndAdjacentSwap proves, exhaustively over many
// IDs, that every single-symbol substitution and every adjacent transposition
// of a valid ID is rejected with ReasonCheck.
func TestDetectsEverySingleErrorAndAdjacentSwap(t *testing.T) {
	src := newSeeded(3)
	for range 3000 {
		id, _ := New(src)
		b := []byte(id)
		for pos := 0; pos < IDLen; pos++ {
			for s := 0; s < len(Alphabet); s++ {
				if Alphabet[s] == b[pos] {
					continue
				}
				c := append([]byte(nil), b...)
				c[pos] = Alphabet[s]
				wantReason(t, string(c), ReasonCheck)
			}
		}
		for pos := 0; pos+1 < IDLen; pos++ {
			if b[pos] == b[pos+1] {
				continue
			}
			c := append([]byte(nil), b...)
			c[pos], c[pos+1] = c[pos+1], c[pos]
			wantReason(t, string(c), ReasonCheck)
		}
	}
}

func wantReason(t *testing.T, s string, r Reason) {
	t.Helper()
	_, err := Parse(s)
	var pe *ParseError
	if !errors.As(err, &pe) || pe.Reason != r {
		t.Fatalf("Parse(%q) = %v, want reason %v", s, err, r)
	}
	if !errors.Is(err, ErrInvalidID) {
		t.Fatalf("Parse(%q) error does not unwrap to ErrInvalidID", s)
	}
}

func TestParseNormalises(t *testing.T) {
	id, _ := New(newSeeded(4))
	s := string(id)
	lower := bytes.ToLower([]byte(s))
	full := ""
	for _, c := range s {
		full += string(c - 0x21 + 0xFF01) // ASCII → full-width form
	}
	for _, in := range []string{
		s,
		string(lower),
		s[:4] + "-" + s[4:],
		" " + s[:4] + " " + s[4:] + " ",
		full,
		full[:12] + "－" + full[12:], // full-width hyphen-minus
	} {
		got, err := Parse(in)
		if err != nil || got != id {
			t.Errorf("Parse(%q) = %q, %v; want %q", in, got, err, id)
		}
	}
}

func TestParseReasons(t *testing.T) {
	id, _ := New(newSeeded(5))
	s := string(id)
	tests := []struct {
		in     string
		reason Reason
		pos    int
	}{
		{"", ReasonLength, 0},
		{s[:7], ReasonLength, 0},
		{s + "0", ReasonLength, 0},
		{"I" + s[1:], ReasonSymbol, 1},
		{s[:3] + "O" + s[4:], ReasonSymbol, 4},
		{s[:7] + "U", ReasonSymbol, 8},
		{s[:2] + "あ" + s[3:], ReasonSymbol, 3},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Reason != tt.reason || pe.Pos != tt.pos {
			t.Errorf("Parse(%q) = %#v, want reason %v at %d", tt.in, err, tt.reason, tt.pos)
		}
	}
}

func TestCheckChar(t *testing.T) {
	id, _ := New(newSeeded(6))
	c, err := CheckChar(string(id[:DataLen]))
	if err != nil || c != id[DataLen] {
		t.Fatalf("CheckChar = %c, %v; want %c", c, err, id[DataLen])
	}
	// Hand-computed: data "0000001" has only d_7 = 1 with weight a, so the
	// check symbol is the field element 2, i.e. Alphabet[2] = '2'.
	if c, _ := CheckChar("0000001"); c != '2' {
		t.Errorf("CheckChar(0000001) = %c, want 2", c)
	}
	if _, err := CheckChar("000000I"); err == nil {
		t.Error("CheckChar accepted I")
	}
}

func FuzzParse(f *testing.F) {
	f.Add("0000001 2")
	f.Add("ＡＢＣＤ－ｅｆｇｈ")
	f.Fuzz(func(t *testing.T, s string) {
		id, err := Parse(s)
		if err != nil {
			return
		}
		again, err := Parse(string(id))
		if err != nil || again != id {
			t.Fatalf("canonical form %q of %q does not round-trip: %v", id, s, err)
		}
	})
}

func TestKeyOrdersAsTheID(t *testing.T) {
	src := newSeeded(7)
	ids := make([]ID, 3000)
	keys := map[uint64]ID{}
	for i := range ids {
		ids[i], _ = New(src)
		if other, dup := keys[ids[i].Key()]; dup && other != ids[i] {
			t.Fatalf("%s and %s share key %x", other, ids[i], ids[i].Key())
		}
		keys[ids[i].Key()] = ids[i]
	}
	for i := 1; i < len(ids); i++ {
		a, b := ids[i-1], ids[i]
		if (a < b) != (a.Key() < b.Key()) || (a == b) != (a.Key() == b.Key()) {
			t.Fatalf("%s vs %s: keys %x vs %x order differently", a, b, a.Key(), b.Key())
		}
	}
}
