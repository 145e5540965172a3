package keyid

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/text/unicode/norm"
)

// DefaultPatronPattern is the patron-number pattern used when none is
// configured: 4 to 16 ASCII digits.
const DefaultPatronPattern = `^[0-9]{4,16}$`

// CheckDigit names a check-digit scheme for patron numbers. The last digit of
// the number is the check digit over the digits before it.
type CheckDigit string

// The supported check-digit schemes.
const (
	// CheckNone: no check digit.
	CheckNone CheckDigit = "none"
	// CheckMod10: modulus 10, weights 3,1,3,1… from the rightmost data digit
	// (as JAN/EAN barcodes); check = (10 - sum mod 10) mod 10.
	CheckMod10 CheckDigit = "mod10"
	// CheckMod11: modulus 11, weights 2,3,4,5,6,7,2,3… from the rightmost data
	// digit; check = 11 - (sum mod 11), where a remainder of 0 or 1 gives 0
	// (the common Japanese convention, which needs no 'X').
	CheckMod11 CheckDigit = "mod11"
	// CheckLuhn: the Luhn algorithm (modulus 10, weights 2,1 with digit sums;
	// NW-7 label printers call it "M10W21 分割").
	CheckLuhn CheckDigit = "luhn"
	// CheckM10W21: modulus 10, weights 2,1,2,1… from the rightmost data
	// digit, products summed whole ("M10W21 一括"); check = (10 - sum mod
	// 10) mod 10.
	CheckM10W21 CheckDigit = "m10w21"
	// CheckMod7: the remainder of the number divided by 7 ("7DR", as NW-7
	// numbering uses).
	CheckMod7 CheckDigit = "mod7"
)

// CheckDigits lists the schemes in the order they are documented.
var CheckDigits = []CheckDigit{CheckNone, CheckMod10, CheckMod11, CheckLuhn, CheckM10W21, CheckMod7}

// CheckDigitNames are other names of the schemes, as label printers and
// barcode readers call them.
var CheckDigitNames = map[string]CheckDigit{"m10w31": CheckMod10, "7dr": CheckMod7}

// ParseCheckDigit returns the scheme named s (a scheme or one of its other
// names, any case; empty means none).
func ParseCheckDigit(s string) (CheckDigit, error) {
	s = strings.ToLower(strings.TrimSpace(s))
	if s == "" {
		return CheckNone, nil
	}
	if c, ok := CheckDigitNames[s]; ok {
		return c, nil
	}
	if c := CheckDigit(s); slices.Contains(CheckDigits, c) {
		return c, nil
	}
	return "", fmt.Errorf("unknown check-digit scheme %q (want one of %v, or m10w31, 7dr)", s, CheckDigits)
}

// ErrInvalidPatron is the sentinel every patron-number error unwraps to.
var ErrInvalidPatron = errors.New("invalid patron number")

// PatronReason is why a patron number was refused.
type PatronReason int

// The reasons.
const (
	PatronEmpty      PatronReason = iota + 1 // nothing was entered
	PatronPattern                            // it does not match the pattern
	PatronCheckDigit                         // its check digit is wrong
)

func (r PatronReason) String() string {
	switch r {
	case PatronEmpty:
		return "empty"
	case PatronPattern:
		return "pattern"
	case PatronCheckDigit:
		return "check digit"
	}
	return fmt.Sprintf("reason(%d)", int(r))
}

// PatronError says why a patron number was refused.
type PatronError struct {
	Input  string
	Reason PatronReason
	Detail string // the pattern, or the check-digit scheme
}

func (e *PatronError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("invalid patron number %q: %s (%s)", e.Input, e.Reason, e.Detail)
	}
	return fmt.Sprintf("invalid patron number %q: %s", e.Input, e.Reason)
}

func (e *PatronError) Unwrap() error { return ErrInvalidPatron }

// PatronRule normalises and validates patron numbers.
type PatronRule struct {
	pattern *regexp.Regexp
	check   CheckDigit
}

// NewPatronRule compiles a rule from a regular expression (Go RE2 syntax;
// empty means DefaultPatronPattern) and a check-digit scheme (empty means
// none). A scheme other than none needs the pattern to admit only digits; that
// is checked per number.
func NewPatronRule(pattern string, check CheckDigit) (*PatronRule, error) {
	if pattern == "" {
		pattern = DefaultPatronPattern
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("compiling patron pattern: %w", err)
	}
	check, err = ParseCheckDigit(string(check))
	if err != nil {
		return nil, err
	}
	return &PatronRule{pattern: re, check: check}, nil
}

// NormalizePatron applies NFKC (full-width digits and letters become ASCII)
// and trims surrounding white space.
func NormalizePatron(s string) string {
	if isASCII(s) {
		return strings.TrimSpace(s)
	}
	return strings.TrimSpace(norm.NFKC.String(s))
}

// Check normalises s and returns it if it matches the pattern and carries a
// valid check digit; otherwise a *PatronError.
func (r *PatronRule) Check(s string) (string, error) {
	n := NormalizePatron(s)
	if n == "" {
		return "", &PatronError{Input: s, Reason: PatronEmpty}
	}
	if !r.pattern.MatchString(n) {
		return "", &PatronError{Input: s, Reason: PatronPattern, Detail: r.pattern.String()}
	}
	if r.check == CheckNone {
		return n, nil
	}
	// A check digit needs digits, at least one of data and itself.
	if len(n) < 2 || strings.Trim(n, "0123456789") != "" || CheckDigitFor(r.check, n[:len(n)-1]) != n[len(n)-1] {
		return "", &PatronError{Input: s, Reason: PatronCheckDigit, Detail: string(r.check)}
	}
	return n, nil
}

// CheckDigitFor returns the check digit that scheme appends to the decimal
// digits data. data must consist of ASCII digits only.
func CheckDigitFor(scheme CheckDigit, data string) byte {
	if scheme == CheckMod7 { // long division: any length
		r := 0
		for i := 0; i < len(data); i++ {
			r = (r*10 + int(data[i]-'0')) % 7
		}
		return byte('0' + r)
	}
	sum := 0
	// i counts positions from the rightmost data digit, starting at 0.
	for i := 0; i < len(data); i++ {
		d := int(data[len(data)-1-i] - '0')
		switch scheme {
		case CheckMod10:
			if i%2 == 0 {
				d *= 3
			}
		case CheckMod11:
			d *= 2 + i%6
		case CheckLuhn:
			if i%2 == 0 {
				d *= 2
				if d > 9 {
					d -= 9
				}
			}
		case CheckM10W21:
			if i%2 == 0 {
				d *= 2
			}
		}
		sum += d
	}
	switch scheme {
	case CheckMod10, CheckLuhn, CheckM10W21:
		return byte('0' + (10-sum%10)%10)
	case CheckMod11:
		r := sum % 11
		if r <= 1 {
			return '0'
		}
		return byte('0' + 11 - r)
	}
	return 0
}
