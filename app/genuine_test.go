package app_test

import (
	"context"

	"errors"
	"github.com/rs/zerolog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/app"
	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/cardio/vcard"
	"github.com/mykey-jp/mykey/config"
	"github.com/mykey-jp/mykey/desk"
	"github.com/mykey-jp/mykey/genuine"
	"github.com/mykey-jp/mykey/internal/testcard"
	"github.com/mykey-jp/mykey/keyboardwedge"
	"github.com/mykey-jp/mykey/store"
)

// genuineCore is the core with the genuine-card check in mode, one
// in-process reader, and the CRL imported.
func genuineCore(t *testing.T, dir, mode string) (*app.App, *vcard.Readers, *keyboardwedge.Recorder) {
	t.Helper()
	cfg, err := setup(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Genuine.Mode = mode
	if mode == "off" {
		cfg.Genuine.OffAcknowledgement = config.OffPhraseEN
	}
	readers := vcard.NewReaders("reader")
	kb := &keyboardwedge.Recorder{Window: keyboardwedge.Window{ID: 1, Exe: "ils.exe", Title: "ILS"}}
	core := app.New(cfg, app.Devices{Readers: readers, Wedge: kb, Rand: rand.NewChaCha8([32]byte{1})}, "librarian")
	t.Cleanup(func() { core.Close() })
	if _, err := core.ImportCRL(context.Background(), dir+"/auth.crl"); err != nil {
		t.Fatal(err)
	}
	return core, readers, kb
}

func pin(s string) func(int) ([]byte, error) {
	return func(int) ([]byte, error) { return []byte(s), nil }
}

// tap holds c on the reader of a fresh desk and returns the tap's status.
func tap(t *testing.T, core *app.App, readers *vcard.Readers, c *vcard.Card) desk.Status {
	t.Helper()
	d, closeDesk, err := core.Desk(context.Background(), zerolog.Nop(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer closeDesk()
	readers.Insert("reader", c)
	defer readers.Remove("reader")
	return d.Tap(context.Background(), "reader")
}

// TestGenuineDesk registers a genuine card with the date of birth read
// through the input-assist applet, then taps it and every failing variant:
// only the genuine card is typed, each variant ends in its own outcome.
func TestGenuineDesk(t *testing.T) {
	for _, mode := range []string{"dob", "card-key"} {
		t.Run(mode, func(t *testing.T) {
			core, readers, kb := genuineCore(t, t.TempDir(), mode)
			ctx := context.Background()
			readers.Insert("reader", card("user"))
			tgt, _ := core.Resolve(app.Selector{Patron: "12345678"})
			var assistTries int
			res, err := core.Register(ctx, app.RegisterRequest{Target: tgt, PIN: pin("1234"),
				AssistPIN: func(n int) ([]byte, error) { assistTries = n; return []byte(testcard.AssistPIN), nil }})
			readers.Remove("reader")
			if err != nil || !res.Genuine || assistTries != vcard.MaxTries {
				t.Fatalf("Register = %+v, %v (input-assist tries shown: %d)", res, err, assistTries)
			}
			if st := tap(t, core, readers, card("user")); st.Outcome != desk.Typed || kb.Typed() != "12345678\n" {
				t.Fatalf("genuine card: %s (%s), typed %q", st.Outcome, st.Detail, kb.Typed())
			}
			want := map[string]desk.Outcome{
				testcard.NoSurface: desk.NoSurface, testcard.Cloned: desk.Cloned, testcard.DOBLocked: desk.DOBLocked,
				testcard.WrongDOB: desk.NotGenuine, testcard.Uncertified: desk.NotGenuine, testcard.OtherCard: desk.Cloned,
			}
			if mode == "card-key" { // only the chip's key is checked
				want[testcard.DOBLocked], want[testcard.WrongDOB], want[testcard.Uncertified] = desk.Typed, desk.Typed, desk.Typed
			}
			for _, v := range testcard.Variants {
				st := tap(t, core, readers, card("user", v))
				if st.Outcome != want[v] {
					t.Errorf("%s: %s (%s), want %s", v, st.Outcome, st.Detail, want[v])
				}
				if typed := kb.Typed(); st.Outcome != desk.Typed && typed != "" {
					t.Errorf("%s: typed %q", v, typed)
				}
			}
			log, _ := core.AuditLog(ctx, time.Time{}, 0)
			var cloned bool
			for _, e := range log {
				cloned = cloned || e.Outcome == string(desk.Cloned)
				if strings.Contains(e.Detail, testcard.DOB) || strings.Contains(e.Detail, "12345678") {
					t.Errorf("audit entry with personal data: %+v", e)
				}
			}
			if !cloned {
				t.Error("no audit entry for the cloned card")
			}
		})
	}
}

// TestGenuineMissing: a card registered while the check was off is refused
// with its own outcome once the check is on, counted as lacking the data,
// and registering it again adds the data to the same MyKey ID.
func TestGenuineMissing(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	off, readers, _ := genuineCore(t, dir, "off")
	readers.Insert("reader", card("user"))
	tgt, _ := off.Resolve(app.Selector{Patron: "12345678"})
	first, err := off.Register(ctx, app.RegisterRequest{Target: tgt, PIN: pin("1234")})
	readers.Remove("reader")
	if err != nil || first.Genuine {
		t.Fatalf("Register with the check off = %+v, %v", first, err)
	}
	off.Close()

	core, readers, kb := genuineCore(t, dir, "dob")
	if n, err := core.GenuineCount(ctx, ""); err != nil || n != (store.GenuineCount{Linked: 1, Missing: 1}) {
		t.Fatalf("GenuineCount = %+v, %v", n, err)
	}
	if st := tap(t, core, readers, card("user")); st.Outcome != desk.GenuineMissing || kb.Typed() != "" {
		t.Fatalf("tap = %s, typed %q", st.Outcome, kb.Typed())
	}
	readers.Insert("reader", card("user"))
	tgt, _ = core.Resolve(app.Selector{Patron: "12345678"})
	again, err := core.Register(ctx, app.RegisterRequest{Target: tgt, PIN: pin("1234"), DOB: testcard.DOB})
	readers.Remove("reader")
	if err != nil || again.MyKeyID != first.MyKeyID || !again.Genuine || again.Minted {
		t.Fatalf("Register again = %+v, %v; want the same MyKey ID %s with the data", again, err, first.MyKeyID)
	}
	if n, _ := core.GenuineCount(ctx, ""); n.Missing != 0 {
		t.Fatalf("GenuineCount after registering again = %+v", n)
	}
	if st := tap(t, core, readers, card("user")); st.Outcome != desk.Typed {
		t.Fatalf("tap after registering again = %s (%s)", st.Outcome, st.Detail)
	}
}

// TestGenuineRegistrationRefusals: registration writes nothing when the
// date of birth or the card fails, and keeps the input-assist PIN's and
// the DOB key's last try.
func TestGenuineRegistrationRefusals(t *testing.T) {
	core, readers, _ := genuineCore(t, t.TempDir(), "dob")
	ctx := context.Background()
	register := func(c *vcard.Card, q app.RegisterRequest) error {
		readers.Insert("reader", c)
		defer readers.Remove("reader")
		q.Target, _ = core.Resolve(app.Selector{Patron: "12345678"})
		q.PIN = pin("1234")
		_, err := core.Register(ctx, q)
		return err
	}
	var de *cardio.DOBError
	if err := register(card("user"), app.RegisterRequest{DOB: "19800218"}); !errors.Is(err, genuine.ErrDOBMismatch) || !errors.As(err, &de) || de.TriesLeft != vcard.DOBTries-1 {
		t.Errorf("a mistyped DOB: %v", err)
	}
	var pe *cardio.PINError
	if err := register(card("user"), app.RegisterRequest{AssistPIN: pin("1234")}); !errors.Is(err, app.ErrAssistPIN) || !errors.As(err, &pe) || pe.TriesLeft != 2 {
		t.Errorf("the JPKI PIN at the input-assist applet: %v", err)
	}
	if err := register(card("user"), app.RegisterRequest{}); !errors.Is(err, app.ErrNoDOB) {
		t.Errorf("no DOB source: %v", err)
	}
	for _, v := range testcard.Variants {
		if v == testcard.OtherCard { // a genuine card: registration cannot tell
			continue
		}
		if err := register(card("user", v), app.RegisterRequest{DOB: testcard.DOB}); err == nil {
			t.Errorf("%s: registered", v)
		}
	}
	ids, _ := core.List(ctx, "")
	if len(ids) != 0 {
		t.Fatalf("failed registrations left %d MyKey IDs", len(ids))
	}
	// One try left of the input-assist PIN: kept.
	c := card("user")
	for range 2 {
		register(c, app.RegisterRequest{AssistPIN: pin("0000")})
	}
	asked := false
	if err := register(c, app.RegisterRequest{AssistPIN: func(int) ([]byte, error) { asked = true; return []byte("0000"), nil }}); !errors.Is(err, cardio.ErrLastTry) || asked || c.AssistTriesLeft() != 1 {
		t.Errorf("one input-assist try left: %v (asked: %v, %d left)", err, asked, c.AssistTriesLeft())
	}
}
