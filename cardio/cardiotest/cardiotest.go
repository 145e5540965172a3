// Package cardiotest is the one test suite every card transport passes:
// the in-process virtual readers (cardio/vcard) and PC/SC through pcscd with
// the vpcd virtual reader (cardio/pcsc). It reads certificates through the
// card faults the desk meets (short reads, 61xx, 6Cxx, slow cards, another
// kind of card, a card pulled mid-read), uses the PIN and the signature key,
// and watches cards come and go.
package cardiotest

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/cardio/vcard"
	"github.com/mykey-jp/mykey/genuine"
	"github.com/mykey-jp/mykey/internal/testpki"
)

// Slot is one reader of the transport under test.
type Slot struct {
	Readers cardio.Readers
	Reader  string
	// Insert puts card on the reader and returns once the transport sees
	// it; Remove takes it off and returns once the transport sees it gone.
	Insert func(t *testing.T, card *vcard.Card)
	Remove func(t *testing.T)
}

// DOB is the date of birth on NewCard's card-surface applet.
const DOB = "19800217"

// NewCard returns the virtual "user" fixture card with PIN 1234, a
// card-surface applet for DOB, and its certificate.
func NewCard(t testing.TB, f vcard.Faults) (*vcard.Card, []byte) {
	t.Helper()
	cert, key, err := testpki.Load("user")
	if err != nil {
		t.Fatal(err)
	}
	ca, _, _ := testpki.Load("ca-2023")
	cardKey := testpki.Key("surface card user")
	rec, cvc, err := testpki.SurfaceFiles(DOB, &cardKey.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	surface := &vcard.Surface{DOB: DOB, CardKey: cardKey, AgeRecord: rec, CVC: cvc}
	c, err := vcard.New(vcard.Config{AuthCert: cert, AuthCA: ca, Key: key, PIN: "1234", Faults: f, Surface: surface}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c, cert
}

func read(ctx context.Context, s Slot, extended bool) ([]byte, error) {
	sess, k, err := cardio.Open(ctx, s.Readers, s.Reader, extended)
	if err != nil {
		return nil, err
	}
	defer k.Close()
	_, der, err := sess.Leaf(ctx)
	return der, err
}

// Run runs the suite on s; the reader must be empty.
func Run(t *testing.T, s Slot) {
	ctx := context.Background()
	card, cert := NewCard(t, vcard.Faults{})

	t.Run("watch", func(t *testing.T) {
		wctx, cancel := context.WithCancel(ctx)
		events := make(chan cardio.Event, 64)
		done := make(chan error, 1)
		go func() { done <- s.Readers.Watch(wctx, func(e cardio.Event) { events <- e }) }()
		expect := func(kind cardio.EventKind) {
			t.Helper()
			for timeout := time.After(10 * time.Second); ; {
				select {
				case e := <-events:
					if e.Kind == kind && e.Reader == s.Reader {
						return
					}
				case <-timeout:
					t.Fatalf("no %v event for %q", kind, s.Reader)
				}
			}
		}
		expect(cardio.ReaderAdded)
		s.Insert(t, card)
		expect(cardio.CardInserted)
		s.Remove(t)
		expect(cardio.CardRemoved)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Watch after cancel = %v, want context.Canceled", err)
		}
	})

	s.Insert(t, card)
	t.Run("read", func(t *testing.T) {
		for _, ext := range []bool{false, true} {
			if got, err := read(ctx, s, ext); err != nil || !bytes.Equal(got, cert) {
				t.Fatalf("extended=%v: %d bytes, %v", ext, len(got), err)
			}
		}
		rs, err := s.Readers.Readers(ctx)
		if err != nil || !present(rs, s.Reader) {
			t.Fatalf("Readers = %+v, %v; want %q present", rs, err, s.Reader)
		}
	})

	t.Run("faults", func(t *testing.T) {
		for _, tt := range []struct {
			name   string
			faults vcard.Faults
			want   error // nil: the read succeeds
		}{
			{"short reads", vcard.Faults{ShortReads: 50}, nil},
			{"61xx", vcard.Faults{GetResponse: true}, nil},
			{"6Cxx", vcard.Faults{WrongLe: 0x80}, nil},
			{"empty 9000 past end", vcard.Faults{EmptyEOF: true}, nil},
			{"slow card", vcard.Faults{Delay: 20 * time.Millisecond}, nil},
			{"no extended length", vcard.Faults{NoExtended: true}, nil},
			{"not JPKI", vcard.Faults{NotJPKI: true}, cardio.ErrNotJPKI},
		} {
			t.Run(tt.name, func(t *testing.T) {
				card.SetFaults(tt.faults)
				defer card.SetFaults(vcard.Faults{})
				got, err := read(ctx, s, false)
				if tt.want == nil && (err != nil || !bytes.Equal(got, cert)) {
					t.Fatalf("read: %v", err)
				}
				if tt.want != nil && !errors.Is(err, tt.want) {
					t.Fatalf("read = %v, want %v", err, tt.want)
				}
			})
		}
	})

	t.Run("pin and signature", func(t *testing.T) {
		sess, k, err := cardio.Open(ctx, s.Readers, s.Reader, false)
		if err != nil {
			t.Fatal(err)
		}
		defer k.Close()
		if n, err := sess.PINTriesLeft(ctx); n != 3 || err != nil {
			t.Fatalf("tries = %d, %v", n, err)
		}
		var pe *cardio.PINError
		if err := sess.VerifyPIN(ctx, []byte("9999"), false); !errors.As(err, &pe) || pe.TriesLeft != 2 {
			t.Fatalf("wrong PIN = %v, want 2 tries left", err)
		}
		if err := sess.VerifyPIN(ctx, []byte("1234"), false); err != nil {
			t.Fatalf("right PIN: %v", err)
		}
		digest := sha256.Sum256([]byte("challenge"))
		prefix := []byte{0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20}
		sig, err := sess.Sign(ctx, append(prefix, digest[:]...))
		if err != nil {
			t.Fatal(err)
		}
		leaf, _ := x509.ParseCertificate(cert)
		if err := rsa.VerifyPKCS1v15(leaf.PublicKey.(*rsa.PublicKey), crypto.SHA256, digest[:], sig); err != nil {
			t.Fatalf("signature: %v", err)
		}
	})

	t.Run("card surface", func(t *testing.T) { surface(t, s) })

	t.Run("pulled mid-read", func(t *testing.T) {
		card.SetFaults(vcard.Faults{RemoveAfter: 4})
		if _, err := read(ctx, s, false); !errors.Is(err, cardio.ErrCardRemoved) {
			t.Fatalf("pulled mid-read = %v, want ErrCardRemoved", err)
		}
		s.Remove(t)
		card.SetFaults(vcard.Faults{})
		s.Insert(t, card)
		if got, err := read(ctx, s, false); err != nil || !bytes.Equal(got, cert) {
			t.Fatalf("held up again: %v", err)
		}
	})
	s.Remove(t)
}

func present(rs []cardio.Reader, name string) bool {
	for _, r := range rs {
		if r.Name == name {
			return r.Present
		}
	}
	return false
}

// surface runs the PIN-less genuine-card check on the inserted card: the
// date-of-birth key (a wrong one costs a try), the age record, the CVC and
// a signature over a fresh nonce, verified up to the test CVC CA.
func surface(t *testing.T, s Slot) {
	ctx := context.Background()
	sess, k, err := cardio.Open(ctx, s.Readers, s.Reader, false)
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	if err := sess.SelectSurface(ctx); err != nil {
		t.Fatal(err)
	}
	before, err := sess.DOBTriesLeft(ctx)
	if err != nil || before < 2 {
		t.Fatalf("DOB tries = %d, %v", before, err)
	}
	var de *cardio.DOBError
	if err := sess.VerifyDOB(ctx, "000101", 1); !errors.As(err, &de) || de.TriesLeft != before-1 {
		t.Fatalf("wrong DOB = %v", err)
	}
	if _, err := sess.AgeRecord(ctx); !errors.Is(err, cardio.ErrSecurity) {
		t.Fatalf("age record without the DOB key = %v, want ErrSecurity", err)
	}
	key, _ := cardio.DOBKey(DOB)
	if err := sess.VerifyDOB(ctx, key, 1); err != nil {
		t.Fatalf("VerifyDOB: %v", err)
	}
	rec, err := sess.AgeRecord(ctx)
	if err != nil || rec.DOB != DOB {
		t.Fatalf("AgeRecord = %+v, %v", rec, err)
	}
	cvc, err := sess.SurfaceCVC(ctx)
	if err != nil {
		t.Fatal(err)
	}
	nonce := make([]byte, 32)
	rand.Read(nonce)
	sig, err := sess.SurfaceSign(ctx, cardio.DigestInfoSHA256(nonce))
	if err != nil {
		t.Fatal(err)
	}
	caID, caKey := testpki.CVCCA()
	cas := genuine.Authorities{caID: &caKey.PublicKey}
	if err := genuine.Verify(cas, cvc, rec, nonce, sig); err != nil {
		t.Fatalf("genuine.Verify: %v", err)
	}
	if err := genuine.Verify(cas, cvc, rec, append(nonce, 0), sig); !errors.Is(err, genuine.ErrChallenge) {
		t.Fatalf("another nonce = %v, want ErrChallenge", err)
	}
}
