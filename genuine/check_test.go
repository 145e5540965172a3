package genuine_test

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/cardio/vcard"
	"github.com/mykey-jp/mykey/genuine"
	"github.com/mykey-jp/mykey/internal/testcard"
	"github.com/mykey-jp/mykey/internal/testpki"
	"github.com/mykey-jp/mykey/keyid"
)

const dob = "19800217"

func card(t testing.TB, variant string, log *bytes.Buffer) *vcard.Card {
	t.Helper()
	cert, key, err := testpki.Load("user")
	if err != nil {
		t.Fatal(err)
	}
	ca, _, _ := testpki.Load("ca-2023")
	s, err := testcard.Surface("user", dob, variant)
	if err != nil {
		t.Fatal(err)
	}
	cfg := vcard.Config{AuthCert: cert, AuthCA: ca, Key: key, PIN: "1234", Surface: s, Assist: testcard.Assist(dob, "5678")}
	var c *vcard.Card
	if log != nil {
		c, err = vcard.New(cfg, log)
	} else {
		c, err = vcard.New(cfg, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func checker(t testing.TB, mode genuine.Mode) *genuine.Checker {
	keys, _ := keyid.NewPseudonymizer(bytes.Repeat([]byte{7}, 32))
	id, k := testpki.CVCCA()
	return &genuine.Checker{Mode: mode, Authorities: genuine.Authorities{id: &k.PublicKey}, Keys: keys}
}

// session reads the JPKI certificate first, as the desk does, and leaves
// the session on the card for the check.
func session(t testing.TB, c *vcard.Card, extended bool) *cardio.Session {
	t.Helper()
	c.Reset()
	s := &cardio.Session{T: c, Extended: extended}
	if err := s.Select(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Leaf(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestTap registers the genuine card in each mode, then taps every variant
// of it: the genuine card passes, each variant fails with its own error.
func TestTap(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []genuine.Mode{genuine.ModeDOB, genuine.ModeCardKey} {
		t.Run(string(mode), func(t *testing.T) {
			chk := checker(t, mode)
			kept, err := chk.Capture(ctx, session(t, card(t, testcard.Genuine, nil), false), dob)
			if err != nil {
				t.Fatal(err)
			}
			if (mode == genuine.ModeDOB) != (kept.DOB == dob) || (mode == genuine.ModeCardKey) != (kept.CardKey != nil) {
				t.Fatalf("mode %s keeps %+v: not only what it needs", mode, kept)
			}
			if err := chk.Tap(ctx, session(t, card(t, testcard.Genuine, nil), false), &kept); err != nil {
				t.Fatalf("genuine card: %v", err)
			}
			want := map[string]error{
				testcard.NoSurface:   cardio.ErrNoSurfaceAP,
				testcard.Cloned:      genuine.ErrChallenge,
				testcard.DOBLocked:   genuine.ErrDOBLocked,
				testcard.WrongDOB:    genuine.ErrDOBMismatch,
				testcard.Uncertified: genuine.ErrRecord,
				testcard.OtherCard:   genuine.ErrOtherCard,
			}
			if mode == genuine.ModeCardKey {
				// No DOB, no record: only the chip's key tells, and the
				// variants that keep the registered chip pass.
				want[testcard.DOBLocked], want[testcard.WrongDOB], want[testcard.Uncertified] = nil, nil, nil
				want[testcard.OtherCard] = genuine.ErrChallenge
			}
			for _, v := range testcard.Variants {
				err := chk.Tap(ctx, session(t, card(t, v, nil), false), &kept)
				if !errors.Is(err, want[v]) || (want[v] == nil) != (err == nil) {
					t.Errorf("%s: Tap = %v, want %v", v, err, want[v])
				}
			}
			if err := chk.Tap(ctx, session(t, card(t, testcard.Genuine, nil), false), nil); !errors.Is(err, genuine.ErrMissing) {
				t.Errorf("nothing kept: Tap = %v, want ErrMissing", err)
			}
			other := checker(t, mode)
			other.Mode = map[genuine.Mode]genuine.Mode{genuine.ModeDOB: genuine.ModeCardKey, genuine.ModeCardKey: genuine.ModeDOB}[mode]
			if err := other.Tap(ctx, session(t, card(t, testcard.Genuine, nil), false), &kept); !errors.Is(err, genuine.ErrMissing) {
				t.Errorf("kept for another mode: Tap = %v, want ErrMissing", err)
			}
		})
	}
}

// TestCaptureRefusals: registration refuses a card that fails the check,
// and an unknown CVC authority.
func TestCaptureRefusals(t *testing.T) {
	ctx := context.Background()
	chk := checker(t, genuine.ModeDOB)
	for v, want := range map[string]error{
		testcard.NoSurface: cardio.ErrNoSurfaceAP, testcard.Cloned: genuine.ErrChallenge, testcard.DOBLocked: genuine.ErrDOBLocked,
		testcard.WrongDOB: genuine.ErrDOBMismatch, testcard.Uncertified: genuine.ErrRecord,
	} {
		if _, err := chk.Capture(ctx, session(t, card(t, v, nil), false), dob); !errors.Is(err, want) {
			t.Errorf("%s: Capture = %v, want %v", v, err, want)
		}
	}
	none := &genuine.Checker{Mode: genuine.ModeDOB, Keys: chk.Keys}
	if _, err := none.Capture(ctx, session(t, card(t, testcard.Genuine, nil), false), dob); !errors.Is(err, genuine.ErrUnknownAuthority) {
		t.Errorf("no authority: Capture = %v", err)
	}
}

// TestWrongDOBKeepsLastTry: a wrong date of birth spends a try, but never
// the last one.
func TestWrongDOBKeepsLastTry(t *testing.T) {
	ctx := context.Background()
	chk := checker(t, genuine.ModeDOB)
	c := card(t, testcard.Genuine, nil)
	for i := 0; ; i++ {
		_, err := chk.Capture(ctx, session(t, c, false), "19800218")
		if errors.Is(err, genuine.ErrDOBLocked) {
			break
		}
		if !errors.Is(err, genuine.ErrDOBMismatch) || i > vcard.DOBTries {
			t.Fatalf("try %d: %v", i, err)
		}
	}
	if got := c.DOBTriesLeft(); got != 1 {
		t.Fatalf("%d tries left after wrong dates of birth, want 1 (the last is never spent)", got)
	}
	if _, err := chk.Capture(ctx, session(t, c, false), dob); !errors.Is(err, genuine.ErrDOBLocked) {
		t.Fatalf("the right DOB with one try left: %v, want ErrDOBLocked (not tried)", err)
	}
}

// TestAPDUs counts the APDUs the check adds to a tap with the CVC cached,
// and makes sure the log shows no date of birth.
func TestAPDUs(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		mode     genuine.Mode
		extended bool
		max      int
	}{{genuine.ModeDOB, false, 10}, {genuine.ModeDOB, true, 8}, {genuine.ModeCardKey, false, 2}} {
		chk := checker(t, tt.mode)
		var log bytes.Buffer
		c := card(t, testcard.Genuine, &log)
		kept, err := chk.Capture(ctx, session(t, c, tt.extended), dob)
		if err != nil {
			t.Fatal(err)
		}
		s := session(t, c, tt.extended)
		before := s.Stats.APDUs
		if err := chk.Tap(ctx, s, &kept); err != nil {
			t.Fatal(err)
		}
		n := s.Stats.APDUs - before
		t.Logf("mode %s, extended=%v: %d APDUs", tt.mode, tt.extended, n)
		if n > tt.max {
			t.Errorf("mode %s, extended=%v: %d APDUs, want ≤ %d", tt.mode, tt.extended, n, tt.max)
		}
		for _, secret := range []string{"550217", "19800217", "3535303231", "3139383030323137"} {
			if bytes.Contains(log.Bytes(), []byte(secret)) {
				t.Errorf("the APDU log holds %q", secret)
			}
		}
	}
}
