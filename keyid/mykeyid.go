package keyid

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// Alphabet is the 32 symbols of a MyKey ID: the digits and the capital
// letters without I, L, O and U, which are easily confused with 1, 1, 0 and V
// when read aloud or handwritten.
const Alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// IDLen is the length of a MyKey ID: DataLen random symbols and one check
// character.
const (
	IDLen   = 8
	DataLen = IDLen - 1
)

// ID is a canonical MyKey ID: eight symbols from Alphabet, the last one being
// the check character. The zero value is not a valid ID.
type ID string

// String returns the canonical eight-character form.
func (id ID) String() string { return string(id) }

// Key packs the ID's bytes into a number, big-endian: distinct for distinct
// canonical IDs and ordered as they are, so bulk work can hash and sort
// numbers instead of strings. Only the first IDLen bytes count.
func (id ID) Key() uint64 {
	var k uint64
	for i := 0; i < IDLen && i < len(id); i++ {
		k = k<<8 | uint64(id[i])
	}
	return k
}

// Reason tells why a text is not a MyKey ID.
type Reason int

// The reasons Parse may give.
const (
	ReasonLength Reason = iota + 1 // not eight symbols after normalisation
	ReasonSymbol                   // a character outside Alphabet
	ReasonCheck                    // the check character does not match
)

func (r Reason) String() string {
	switch r {
	case ReasonLength:
		return "length"
	case ReasonSymbol:
		return "symbol"
	case ReasonCheck:
		return "check character"
	}
	return "unknown"
}

// ErrInvalidID is the sentinel every *ParseError unwraps to.
var ErrInvalidID = errors.New("invalid MyKey ID")

// ParseError describes why Parse refused its input.
type ParseError struct {
	Input  string // the text as given
	Reason Reason
	Pos    int  // 1-based position of the offending symbol, for ReasonSymbol
	Char   rune // the offending character, for ReasonSymbol
	Len    int  // the number of symbols found, for ReasonLength
}

func (e *ParseError) Error() string {
	switch e.Reason {
	case ReasonLength:
		return fmt.Sprintf("invalid MyKey ID %q: %d symbols, want %d", e.Input, e.Len, IDLen)
	case ReasonSymbol:
		return fmt.Sprintf("invalid MyKey ID %q: character %q at position %d is not one of %s", e.Input, e.Char, e.Pos, Alphabet)
	default:
		return fmt.Sprintf("invalid MyKey ID %q: check character does not match", e.Input)
	}
}

func (e *ParseError) Unwrap() error { return ErrInvalidID }

// symbolValue maps an upper-case ASCII byte to its index in Alphabet, or -1.
var symbolValue = func() (t [256]int8) {
	for i := range t {
		t[i] = -1
	}
	for i := 0; i < len(Alphabet); i++ {
		t[Alphabet[i]] = int8(i)
	}
	return t
}()

// The check character is computed in the finite field GF(32), built as
// polynomials over GF(2) modulo x^5 + x^2 + 1 (a primitive polynomial). Each
// symbol's index in Alphabet is read as a field element d_i. The eight symbols
// d_1..d_8 of a valid ID satisfy
//
//	a^7·d_1 + a^6·d_2 + ... + a·d_7 + d_8 = 0,   a = x (the element 2)
//
// so the check character is d_8 = a^7·d_1 + ... + a·d_7 (addition is XOR).
// Because every weight is non-zero, any single-symbol substitution changes the
// sum. Swapping neighbours x, y (x ≠ y) at weights a^(k+1), a^k changes it by
// a^k·(a+1)·(x+y), which is non-zero because a ≠ 1; the same holds for a swap
// that involves the check character. Swaps across one symbol (a^k·(a+1)^2) and
// twin errors (xx → yy) are detected too. The sum can be evaluated with
// Horner's rule: r ← a·r + d_i.
const gfPoly = 0x25 // x^5 + x^2 + 1

// mulA multiplies a field element by a = x.
func mulA(v byte) byte {
	v <<= 1
	if v&0x20 != 0 {
		v ^= gfPoly
	}
	return v
}

// checkValue returns a·(…(a·(a·d_1 + d_2) …) + d_n), the weighted sum of
// symbols given as field elements, multiplied once more by a.
func checkValue(symbols []byte) byte {
	var r byte
	for _, d := range symbols {
		r = mulA(r ^ d)
	}
	return r
}

// CheckChar returns the check character for the seven data symbols data,
// which must come from Alphabet.
func CheckChar(data string) (byte, error) {
	if len(data) != DataLen {
		return 0, &ParseError{Input: data, Reason: ReasonLength, Len: len(data)}
	}
	vals := make([]byte, DataLen)
	for i := 0; i < DataLen; i++ {
		v := symbolValue[data[i]]
		if v < 0 {
			return 0, &ParseError{Input: data, Reason: ReasonSymbol, Pos: i + 1, Char: rune(data[i])}
		}
		vals[i] = byte(v)
	}
	return Alphabet[checkValue(vals)], nil
}

// New mints a random MyKey ID, reading randomness from r (crypto/rand.Reader
// when r is nil). Each of the seven data symbols takes five uniformly random
// bits, so there are 32^7 ≈ 3.4·10^10 IDs.
func New(r io.Reader) (ID, error) {
	if r == nil {
		r = rand.Reader
	}
	var buf [DataLen]byte
	if _, err := io.ReadFull(r, buf[:]); err != nil {
		return "", fmt.Errorf("reading randomness: %w", err)
	}
	var b [IDLen]byte
	vals := make([]byte, DataLen)
	for i, x := range buf {
		vals[i] = x & 0x1f
		b[i] = Alphabet[vals[i]]
	}
	b[DataLen] = Alphabet[checkValue(vals)]
	return ID(b[:]), nil
}

// Parse normalises s and returns the MyKey ID it spells. It accepts lower
// case, full-width characters (NFKC), and spaces and hyphens anywhere (as in
// "ab12-cd34"). It returns a *ParseError, which unwraps to ErrInvalidID, with
// the reason: wrong length, a symbol outside Alphabet, or a wrong check
// character.
func Parse(s string) (ID, error) {
	n := s
	if !isASCII(s) {
		n = norm.NFKC.String(s)
	}
	n = strings.ToUpper(n)
	var syms []rune
	for _, c := range n {
		if c == ' ' || c == '-' || c == '\t' {
			continue
		}
		syms = append(syms, c)
	}
	if len(syms) != IDLen {
		return "", &ParseError{Input: s, Reason: ReasonLength, Len: len(syms)}
	}
	vals := make([]byte, IDLen)
	for i, c := range syms {
		if c > 0x7f || symbolValue[c] < 0 {
			return "", &ParseError{Input: s, Reason: ReasonSymbol, Pos: i + 1, Char: c}
		}
		vals[i] = byte(symbolValue[c])
	}
	if checkValue(vals[:DataLen]) != vals[DataLen] {
		return "", &ParseError{Input: s, Reason: ReasonCheck}
	}
	return ID(string(syms)), nil
}

// isASCII reports whether s is ASCII, which NFKC leaves unchanged.
func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}
