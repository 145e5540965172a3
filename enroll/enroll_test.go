package enroll_test

import (
	"context"
	"crypto/x509"
	"errors"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/cardio/vcard"
	"github.com/mykey-jp/mykey/certcheck"
	"github.com/mykey-jp/mykey/enroll"
	"github.com/mykey-jp/mykey/internal/testpki"
	"github.com/mykey-jp/mykey/keyid"
	"github.com/mykey-jp/mykey/store"
)

var ctx = context.Background()

func policy(t testing.TB) *certcheck.Policy {
	var anchors []*x509.Certificate
	for _, n := range []string{"ca-2019", "ca-2023", "ca-test"} {
		der, _, _ := testpki.Load(n)
		c, _ := x509.ParseCertificate(der)
		anchors = append(anchors, c)
	}
	now := func() time.Time { return time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC) }
	return &certcheck.Policy{
		Chain:  &certcheck.Chain{Anchors: anchors, Now: now},
		Method: certcheck.MethodCRL, CRL: &certcheck.CRLStore{Dir: t.TempDir(), Anchors: anchors, Now: now},
		AllowUnavailable: true, // no CRL in these tests; the desk tests check revocation
	}
}

// card makes a virtual card holding fixture cert with the key of fixture key.
func card(t testing.TB, cert, key string, tries int, f vcard.Faults) *vcard.Card {
	c, _, err := testpki.Load(cert)
	if err != nil {
		t.Fatal(err)
	}
	_, k, _ := testpki.Load(key)
	ca, _, _ := testpki.Load("ca-2023")
	v, err := vcard.New(vcard.Config{AuthCert: c, AuthCA: ca, Key: k, PIN: "1234", TriesLeft: tries, Faults: f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

type env struct {
	reg    *store.Memory
	pseudo *keyid.Pseudonymizer
	pol    *certcheck.Policy
}

func newEnv(t testing.TB) *env {
	p, _ := keyid.NewPseudonymizer(make([]byte, 32))
	return &env{reg: store.NewMemory(store.Options{User: "admin"}), pseudo: p, pol: policy(t)}
}

func (e *env) enroll(v *vcard.Card, pin string, patron string, mod func(*enroll.Request)) (enroll.Result, error) {
	s := &cardio.Session{T: v}
	if err := s.Select(ctx); err != nil {
		return enroll.Result{}, err
	}
	q := enroll.Request{
		Session: s, Checker: e.pol, Registry: e.reg, Pseudo: e.pseudo, Service: store.DefaultService, Patron: patron,
		PIN: func(int) ([]byte, error) { return []byte(pin), nil },
	}
	if mod != nil {
		mod(&q)
	}
	return enroll.Enroll(ctx, q)
}

func (e *env) count(t testing.TB) int {
	l, _ := e.reg.List(ctx, store.DefaultService)
	return len(l)
}

func TestEnroll(t *testing.T) {
	e := newEnv(t)
	res, err := e.enroll(card(t, "user", "user", 0, vcard.Faults{}), "1234", "12345678", nil)
	if err != nil || !res.Minted || !res.Linked || res.TriesLeft != 3 {
		t.Fatalf("enroll = %+v, %v", res, err)
	}
	id := res.MyKeyID
	if ent, _ := e.reg.LookupPatron(ctx, store.DefaultService, "12345678"); ent.MyKeyID != id || ent.Certificates != 1 {
		t.Fatalf("registry: %+v", ent)
	}
	// The renewed card of the same patron keeps the MyKey ID.
	res, err = e.enroll(card(t, "user-renewed", "user-renewed", 0, vcard.Faults{}), "1234", "12345678", nil)
	if err != nil || res.MyKeyID != id || res.Minted || !res.Superseded {
		t.Fatalf("renewal = %+v, %v", res, err)
	}
}

func TestEnrollFailuresChangeNothing(t *testing.T) {
	tests := []struct {
		name  string
		card  func(t testing.TB) *vcard.Card
		pin   string
		force bool
		check func(t *testing.T, err error)
	}{
		{"wrong PIN", func(t testing.TB) *vcard.Card { return card(t, "user", "user", 0, vcard.Faults{}) }, "0000", false,
			func(t *testing.T, err error) {
				var pe *cardio.PINError
				if !errors.As(err, &pe) || pe.TriesLeft != 2 {
					t.Fatal(err)
				}
			}},
		{"last try refused", func(t testing.TB) *vcard.Card { return card(t, "user", "user", 1, vcard.Faults{}) }, "1234", false,
			func(t *testing.T, err error) {
				if !errors.Is(err, cardio.ErrLastTry) {
					t.Fatal(err)
				}
			}},
		{"blocked", func(t testing.TB) *vcard.Card {
			c := card(t, "user", "user", 1, vcard.Faults{})
			s := &cardio.Session{T: c}
			s.Select(ctx)
			s.VerifyPIN(ctx, []byte("0000"), true)
			return c
		}, "1234", true, func(t *testing.T, err error) {
			if !errors.Is(err, cardio.ErrPINBlocked) {
				t.Fatal(err)
			}
		}},
		{"pulled between steps", func(t testing.TB) *vcard.Card { return card(t, "user", "user", 0, vcard.Faults{RemoveAfter: 9}) }, "1234", false,
			func(t *testing.T, err error) {
				if !errors.Is(err, cardio.ErrCardRemoved) {
					t.Fatal(err)
				}
			}},
		{"copied certificate", func(t testing.TB) *vcard.Card { return card(t, "user", "user-renewed", 0, vcard.Faults{}) }, "1234", false,
			func(t *testing.T, err error) {
				if !errors.Is(err, enroll.ErrNotGenuine) {
					t.Fatal(err)
				}
			}},
		{"test card", func(t testing.TB) *vcard.Card { return card(t, "user-testcard", "user-testcard", 0, vcard.Faults{}) }, "1234", false,
			func(t *testing.T, err error) {
				var re *enroll.RejectedError
				if !errors.As(err, &re) || re.Decision.Reason != certcheck.TestCard {
					t.Fatal(err)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t)
			_, err := e.enroll(tt.card(t), tt.pin, "12345678", func(q *enroll.Request) { q.ForceLast = tt.force })
			tt.check(t, err)
			if n := e.count(t); n != 0 {
				t.Fatalf("%d MyKey IDs after a failed registration", n)
			}
		})
	}
}

func TestPINIsCleared(t *testing.T) {
	e := newEnv(t)
	var pin []byte
	_, err := e.enroll(card(t, "user", "user", 0, vcard.Faults{}), "", "", func(q *enroll.Request) {
		q.PIN = func(int) ([]byte, error) { pin = []byte("1234"); return pin, nil }
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(pin) != "\x00\x00\x00\x00" {
		t.Errorf("PIN buffer still holds %q", pin)
	}
}
