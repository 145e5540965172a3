package cardio_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/cardio/vcard"
	"github.com/mykey-jp/mykey/internal/testpki"
)

var ctx = context.Background()

func newCard(t testing.TB, f vcard.Faults, padding int) (*vcard.Card, []byte, []byte) {
	t.Helper()
	cert, key, err := testpki.Load("user")
	if err != nil {
		t.Fatal(err)
	}
	ca, _, err := testpki.Load("ca-2023")
	if err != nil {
		t.Fatal(err)
	}
	c, err := vcard.New(vcard.Config{AuthCert: cert, AuthCA: ca, Key: key, PIN: "1234", Padding: padding, Faults: f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, cert, ca
}

func TestReadUnderEveryReaderBehaviour(t *testing.T) {
	tests := []struct {
		name     string
		faults   vcard.Faults
		extended bool
		padding  int
	}{
		{"plain", vcard.Faults{}, false, 0},
		{"padded EF", vcard.Faults{}, false, 700},
		{"extended", vcard.Faults{}, true, 0},
		{"extended padded", vcard.Faults{}, true, 300},
		{"short reads", vcard.Faults{ShortReads: 37}, false, 0},
		{"short reads extended", vcard.Faults{ShortReads: 200}, true, 0},
		{"61xx GET RESPONSE", vcard.Faults{GetResponse: true}, false, 0},
		{"61xx extended", vcard.Faults{GetResponse: true}, true, 0},
		{"6Cxx wrong Le", vcard.Faults{WrongLe: 0xE0}, false, 0},
		{"6Cxx extended", vcard.Faults{WrongLe: 0xE0}, true, 0},
		{"empty 9000 past end", vcard.Faults{EmptyEOF: true}, false, 0},
		{"all at once", vcard.Faults{ShortReads: 100, GetResponse: true, EmptyEOF: true}, false, 13},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			card, cert, ca := newCard(t, tt.faults, tt.padding)
			s := &cardio.Session{T: card, Extended: tt.extended}
			if err := s.Select(ctx); err != nil {
				t.Fatal(err)
			}
			tok, err := s.TokenInfo(ctx)
			if err != nil || tok != "JPKIAPICCTOKEN2" {
				t.Fatalf("TokenInfo = %q, %v", tok, err)
			}
			got, err := s.AuthCertificate(ctx)
			if err != nil || !bytes.Equal(got, cert) {
				t.Fatalf("AuthCertificate: %d bytes, %v", len(got), err)
			}
			got, err = s.AuthCACertificate(ctx)
			if err != nil || !bytes.Equal(got, ca) {
				t.Fatalf("AuthCACertificate: %d bytes, %v", len(got), err)
			}
		})
	}
}

func TestAPDUCounts(t *testing.T) {
	for _, tt := range []struct {
		extended bool
		max      int
	}{{false, 8}, {true, 3}} {
		card, _, _ := newCard(t, vcard.Faults{}, 0)
		s := &cardio.Session{T: card, Extended: tt.extended}
		s.Select(ctx)
		if _, err := s.AuthCertificate(ctx); err != nil {
			t.Fatal(err)
		}
		if s.Stats.APDUs > tt.max {
			t.Errorf("extended=%v: %d APDUs for one certificate read, want at most %d", tt.extended, s.Stats.APDUs, tt.max)
		}
	}
}

func TestNoExtendedReaderFailsCleanly(t *testing.T) {
	card, _, _ := newCard(t, vcard.Faults{NoExtended: true}, 0)
	s := &cardio.Session{T: card, Extended: true}
	s.Select(ctx)
	_, err := s.AuthCertificate(ctx)
	var se *cardio.StatusError
	if !errors.As(err, &se) || se.SW != 0x6700 {
		t.Fatalf("extended read on a short-only card = %v, want status 6700", err)
	}
}

func TestNotJPKI(t *testing.T) {
	card, _, _ := newCard(t, vcard.Faults{NotJPKI: true}, 0)
	s := &cardio.Session{T: card}
	if err := s.Select(ctx); !errors.Is(err, cardio.ErrNotJPKI) {
		t.Fatalf("Select = %v", err)
	}
}

func TestRemovedMidRead(t *testing.T) {
	for n := 1; n <= 6; n++ {
		card, cert, _ := newCard(t, vcard.Faults{RemoveAfter: n}, 0)
		s := &cardio.Session{T: card}
		err := s.Select(ctx)
		if err == nil {
			_, err = s.AuthCertificate(ctx)
		}
		if !errors.Is(err, cardio.ErrCardRemoved) {
			t.Fatalf("removed after %d APDUs: %v", n, err)
		}
		// The card held up again reads fine.
		card.Insert()
		s = &cardio.Session{T: card}
		if err := s.Select(ctx); err != nil {
			t.Fatal(err)
		}
		if got, err := s.AuthCertificate(ctx); err != nil || !bytes.Equal(got, cert) {
			t.Fatalf("next read after removal: %v", err)
		}
	}
}

func TestPINAndSign(t *testing.T) {
	card, certDER, _ := newCard(t, vcard.Faults{}, 0)
	cert, _ := x509.ParseCertificate(certDER)
	s := &cardio.Session{T: card}
	s.Select(ctx)
	digest := sha256.Sum256([]byte("challenge"))
	di := append([]byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}, digest[:]...)

	if _, err := s.Sign(ctx, di); !errors.Is(err, cardio.ErrSecurity) {
		t.Fatalf("Sign without PIN = %v, want ErrSecurity", err)
	}
	if n, err := s.PINTriesLeft(ctx); n != 3 || err != nil {
		t.Fatalf("PINTriesLeft = %d, %v", n, err)
	}
	pin := []byte("0000")
	err := s.VerifyPIN(ctx, pin, false)
	var pe *cardio.PINError
	if !errors.As(err, &pe) || pe.TriesLeft != 2 {
		t.Fatalf("wrong PIN = %v", err)
	}
	if !bytes.Equal(pin, []byte{0, 0, 0, 0}) {
		t.Error("the PIN buffer was not cleared")
	}
	if err := s.VerifyPIN(ctx, []byte("12a4"), false); !errors.Is(err, cardio.ErrBadPIN) || card.TriesLeft() != 2 {
		t.Fatalf("malformed PIN = %v, tries %d", err, card.TriesLeft())
	}
	if err := s.VerifyPIN(ctx, []byte("1234"), false); err != nil {
		t.Fatalf("right PIN: %v", err)
	}
	sig, err := s.Sign(ctx, di)
	if err != nil {
		t.Fatal(err)
	}
	if err := rsa.VerifyPKCS1v15(cert.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig); err != nil {
		t.Fatalf("signature does not verify: %v", err)
	}
	// A power cycle forgets the verification but keeps the counter.
	card.Reset()
	s.Select(ctx)
	if _, err := s.Sign(ctx, di); !errors.Is(err, cardio.ErrSecurity) {
		t.Fatalf("Sign after reset = %v", err)
	}
}

func TestLastTryAndBlocked(t *testing.T) {
	card, _, _ := newCard(t, vcard.Faults{}, 0)
	s := &cardio.Session{T: card}
	s.Select(ctx)
	s.VerifyPIN(ctx, []byte("0000"), false)
	s.VerifyPIN(ctx, []byte("0000"), false)
	if err := s.VerifyPIN(ctx, []byte("0000"), false); !errors.Is(err, cardio.ErrLastTry) || card.TriesLeft() != 1 {
		t.Fatalf("last try without force = %v, tries %d", err, card.TriesLeft())
	}
	if err := s.VerifyPIN(ctx, []byte("0000"), true); !errors.Is(err, cardio.ErrPINBlocked) {
		t.Fatalf("forced wrong last try = %v, want ErrPINBlocked", err)
	}
	if n, err := s.PINTriesLeft(ctx); n != 0 || err != nil {
		t.Fatalf("tries after block = %d, %v", n, err)
	}
	if err := s.VerifyPIN(ctx, []byte("1234"), true); !errors.Is(err, cardio.ErrPINBlocked) {
		t.Fatalf("right PIN on a blocked card = %v", err)
	}
}

func TestContextCancelled(t *testing.T) {
	card, _, _ := newCard(t, vcard.Faults{Delay: 50 * time.Millisecond}, 0)
	s := &cardio.Session{T: card}
	c, cancel := context.WithTimeout(ctx, 80*time.Millisecond)
	defer cancel()
	s.Select(c)
	if _, err := s.AuthCertificate(c); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("read past the deadline = %v", err)
	}
}

// scripted replays responses, then answers 6F00.
type scripted struct{ resp [][]byte }

func (s *scripted) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	if len(s.resp) == 0 {
		return []byte{0x6F, 0x00}, nil
	}
	r := s.resp[0]
	s.resp = s.resp[1:]
	return r, nil
}

func TestMalformedResponses(t *testing.T) {
	ok := []byte{0x90, 0x00}
	tests := []struct {
		name string
		resp [][]byte
		want error
	}{
		{"empty response", [][]byte{ok, {}}, cardio.ErrMalformed},
		{"one byte", [][]byte{ok, {0x90}}, cardio.ErrMalformed},
		{"not a SEQUENCE", [][]byte{ok, append(bytes.Repeat([]byte{0x04}, 10), 0x90, 0x00)}, cardio.ErrBadCertificate},
		{"file ends early", [][]byte{ok, {0x30, 0x82, 0x01, 0x00, 0x01, 0x90, 0x00}, {0x6B, 0x00}}, cardio.ErrBadCertificate},
		{"empty file", [][]byte{ok, {0x6B, 0x00}}, cardio.ErrBadCertificate},
		{"huge claim", [][]byte{ok, {0x30, 0x82, 0xFF, 0xFF, 0x90, 0x00}}, cardio.ErrBadCertificate},
		{"endless 61xx", append([][]byte{ok}, bytes.Split(bytes.Repeat([]byte{0x61, 0x10, 0xFF}, 100), []byte{0xFF})...), cardio.ErrMalformed},
		{"EF missing", [][]byte{{0x6A, 0x82}}, cardio.ErrFileNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &cardio.Session{T: &scripted{resp: tt.resp}}
			if _, err := s.AuthCertificate(ctx); !errors.Is(err, tt.want) {
				t.Fatalf("AuthCertificate = %v, want %v", err, tt.want)
			}
		})
	}
}

// FuzzSession feeds arbitrary response sequences to the session: it must
// return an error or a certificate of the size its header claims, never
// panic or loop forever.
func FuzzSession(f *testing.F) {
	f.Add([]byte{0x90, 0x00, 0xFF, 0x30, 0x03, 0x01, 0x02, 0x03, 0x90, 0x00})
	f.Add([]byte{0x90, 0x00, 0xFF, 0x61, 0x05, 0xFF, 0x30, 0x03, 0x01, 0x02, 0x03, 0x90, 0x00})
	f.Add([]byte{0x90, 0x00, 0xFF, 0x6C, 0x05, 0xFF, 0x30, 0x82, 0x00, 0x02, 0x90, 0x00, 0xFF, 0x6B, 0x00})
	f.Fuzz(func(t *testing.T, data []byte) {
		s := &cardio.Session{T: &scripted{resp: bytes.Split(data, []byte{0xFF})}}
		cert, err := s.AuthCertificate(ctx)
		if err == nil && (len(cert) < 2 || cert[0] != 0x30) {
			t.Fatalf("accepted %x", cert)
		}
		s.PINTriesLeft(ctx)
		s.Sign(ctx, []byte{1})
	})
}
