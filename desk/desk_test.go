package desk_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/cardio/vcard"
	"github.com/mykey-jp/mykey/certcheck"
	"github.com/mykey-jp/mykey/desk"
	"github.com/mykey-jp/mykey/internal/testpki"
	"github.com/mykey-jp/mykey/keyboardwedge"
	"github.com/mykey-jp/mykey/keyid"
	"github.com/mykey-jp/mykey/store"
)

var (
	ctx = context.Background()
	now = time.Date(2026, 5, 1, 3, 0, 0, 0, time.UTC)
)

func clock() time.Time { return now }

// readers serves in-process virtual cards by reader name.
type readers struct {
	mu    sync.Mutex
	cards map[string]*vcard.Card
}

type nopCloser struct{ *vcard.Card }

func (nopCloser) Close() error { return nil }

func (r *readers) Readers(context.Context) ([]cardio.Reader, error) { return nil, nil }

func (r *readers) Watch(ctx context.Context, fn func(cardio.Event)) error {
	<-ctx.Done()
	return ctx.Err()
}

func (r *readers) Connect(_ context.Context, name string) (cardio.Card, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return nopCloser{r.cards[name]}, nil
}

// typer records what it typed, or fails with err.
type typer struct {
	mu  sync.Mutex
	got []string
	err error
}

func (t *typer) Type(_ context.Context, p string) (keyboardwedge.Result, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return keyboardwedge.Result{}, t.err
	}
	t.got = append(t.got, p)
	return keyboardwedge.Result{Keys: len(p) + 1}, nil
}

func load(t testing.TB, name string) (*x509.Certificate, []byte) {
	der, _, err := testpki.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, der
}

func vc(t testing.TB, name string, f vcard.Faults) *vcard.Card {
	_, der := load(t, name)
	_, key, _ := testpki.Load(name)
	_, ca := load(t, "ca-2023")
	c, err := vcard.New(vcard.Config{AuthCert: der, AuthCA: ca, Key: key, PIN: "1234", Faults: f}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type fixture struct {
	d   *desk.Desk
	r   *readers
	ty  *typer
	reg *store.Memory
}

func setup(t *testing.T) *fixture {
	var anchors []*x509.Certificate
	for _, n := range []string{"ca-2019", "ca-2023", "ca-test"} {
		c, _ := load(t, n)
		anchors = append(anchors, c)
	}
	crl := &certcheck.CRLStore{Dir: t.TempDir(), Anchors: anchors, Now: clock}
	ca, _ := load(t, "ca-2023")
	_, caKey, _ := testpki.Load("ca-2023")
	renewed, _ := load(t, "user-renewed")
	var buf bytes.Buffer
	if err := testpki.WriteCRL(&buf, ca, caKey, testpki.CRLSpec{Number: 1, ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(time.Hour), Count: 1,
		Serial: func(int) uint32 { return uint32(renewed.SerialNumber.Int64()) }}); err != nil {
		t.Fatal(err)
	}
	if _, err := crl.Import(&buf, int64(buf.Len())); err != nil {
		t.Fatal(err)
	}
	pseudo, _ := keyid.NewPseudonymizer(bytes.Repeat([]byte{7}, 32))
	f := &fixture{r: &readers{cards: map[string]*vcard.Card{}}, ty: &typer{}, reg: store.NewMemory(store.Options{User: "desk"})}
	f.d = &desk.Desk{
		Readers: f.r, Registry: f.reg, Pseudo: pseudo, Typer: f.ty, Service: store.DefaultService,
		Checker: &certcheck.Policy{Chain: &certcheck.Chain{Anchors: anchors, Now: clock}, Method: certcheck.MethodCRL, CRL: crl},
		Dedup:   &keyboardwedge.Dedup{}, Now: clock,
	}
	return f
}

// register registers fixture name's certificate, linked to patron if set.
func (f *fixture) register(t *testing.T, name, patron string) keyid.ID {
	leaf, _ := load(t, name)
	ca, _ := load(t, "ca-2023")
	res, err := f.reg.Register(ctx, store.Registration{Pseudonym: f.d.Pseudo.Pseudonym(ca.RawSubjectPublicKeyInfo, leaf.SerialNumber), NotAfter: leaf.NotAfter, Service: store.DefaultService, Patron: patron})
	if err != nil {
		t.Fatal(err)
	}
	return res.MyKeyID
}

func (f *fixture) tap(reader string, card *vcard.Card) desk.Status {
	f.r.mu.Lock()
	f.r.cards[reader] = card
	f.r.mu.Unlock()
	return f.d.Tap(ctx, reader)
}

func TestTapOutcomes(t *testing.T) {
	f := setup(t)
	id := f.register(t, "user", "12345678")
	f.register(t, "user-renewed", "")

	st := f.tap("r1", vc(t, "user", vcard.Faults{}))
	if st.Outcome != desk.Typed || st.MyKeyID != id || len(f.ty.got) != 1 || f.ty.got[0] != "12345678" {
		t.Fatalf("registered card: %+v typed %v", st, f.ty.got)
	}
	// Left on the reader: typed once; after removal, again.
	if st := f.tap("r1", vc(t, "user", vcard.Faults{})); st.Outcome != desk.Duplicate {
		t.Fatalf("second read without removal: %v", st.Outcome)
	}
	f.d.Dedup.Removed("r1")
	if st := f.tap("r1", vc(t, "user", vcard.Faults{})); st.Outcome != desk.Typed {
		t.Fatalf("after removal: %v", st.Outcome)
	}
	tests := []struct {
		card   string
		faults vcard.Faults
		want   desk.Outcome
		reason certcheck.Reason
	}{
		{"user-2019", vcard.Faults{}, desk.Unknown, ""}, // valid, not registered (2019 CA, no CRL → refused below)
		{"user-renewed", vcard.Faults{}, desk.Rejected, certcheck.Revoked},
		{"user-expired", vcard.Faults{}, desk.Rejected, certcheck.Expired},
		{"user-testcard", vcard.Faults{}, desk.Rejected, certcheck.TestCard},
		{"user", vcard.Faults{NotJPKI: true}, desk.NotJPKI, ""},
		{"user", vcard.Faults{RemoveAfter: 4}, desk.Removed, ""},
	}
	for i, tt := range tests {
		reader := fmt.Sprintf("r-%d", i)
		st := f.tap(reader, vc(t, tt.card, tt.faults))
		want := tt.want
		if tt.card == "user-2019" {
			// The 2019 generation has no CRL imported: revocation unavailable.
			want, tt.reason = desk.Rejected, certcheck.Unavailable
		}
		if st.Outcome != want || (tt.reason != "" && st.Decision.Reason != tt.reason) {
			t.Errorf("%s %+v: %v / %v (%s)", tt.card, tt.faults, st.Outcome, st.Decision.Reason, st.Detail)
		}
	}
	if len(f.ty.got) != 2 {
		t.Fatalf("typed %v, want only the two good taps", f.ty.got)
	}
	// The next tap after a card pulled mid-read works.
	if st := f.tap("r-5", vc(t, "user", vcard.Faults{})); st.Outcome != desk.Typed {
		t.Fatalf("after a pulled card: %v", st.Outcome)
	}
	// The audit log has every tap, and no patron number.
	log, _ := f.reg.AuditLog(ctx, 0)
	scans := 0
	for _, e := range log {
		if e.Action == "scan" {
			scans++
		}
		if strings.Contains(fmt.Sprint(e), "12345678") {
			t.Errorf("audit entry with a patron number: %+v", e)
		}
	}
	if scans != 9 {
		t.Errorf("%d scan entries, want 9 (duplicates are not audited)", scans)
	}
}

func TestNotLinkedPausedAndFocus(t *testing.T) {
	f := setup(t)
	f.register(t, "user", "")
	if st := f.tap("r", vc(t, "user", vcard.Faults{})); st.Outcome != desk.NotLinked {
		t.Fatalf("not linked: %v", st.Outcome)
	}
	f2 := setup(t)
	f2.register(t, "user", "0001")
	f2.d.Pause()
	if st := f2.tap("r", vc(t, "user", vcard.Faults{})); st.Outcome != desk.Paused || len(f2.ty.got) != 0 {
		t.Fatalf("paused: %v", st.Outcome)
	}
	f2.d.Resume()
	f2.d.Dedup.Removed("r")
	f2.ty.err = &keyboardwedge.RefusedError{Window: keyboardwedge.Window{Title: "decoy"}, Why: "not allowed"}
	if st := f2.tap("r", vc(t, "user", vcard.Faults{})); st.Outcome != desk.FocusRefused {
		t.Fatalf("focus refused: %v", st.Outcome)
	}
	// Not typed, so the same card may be tried again at once.
	f2.ty.err = nil
	if st := f2.tap("r", vc(t, "user", vcard.Faults{})); st.Outcome != desk.Typed {
		t.Fatalf("retry after refusal: %v", st.Outcome)
	}
}

func TestReaderProfiles(t *testing.T) {
	f := setup(t)
	id := f.register(t, "user", "12345678")
	f.register(t, "user-renewed", "")
	counter := &typer{}
	f.d.Profiles = []desk.Profile{
		{Name: "registration", Match: func(r string) bool { return r == "reg" }},
		{Name: "counter", Match: func(r string) bool { return r == "counter" }, Typer: counter},
	}
	// The counter reader types through its own typer.
	if st := f.tap("counter", vc(t, "user", vcard.Faults{})); st.Outcome != desk.Typed || st.Profile != "counter" || len(counter.got) != 1 || len(f.ty.got) != 0 {
		t.Fatalf("counter: %+v, counter typed %v, default typed %v", st, counter.got, f.ty.got)
	}
	// The registration reader looks up and never types.
	st := f.tap("reg", vc(t, "user", vcard.Faults{}))
	if st.Outcome != desk.LookedUp || st.MyKeyID != id || st.Profile != "registration" || st.Typed != 0 {
		t.Fatalf("look-up reader: %+v", st)
	}
	// ... and reports a card that would not be typed as the desk does.
	if st := f.tap("reg", vc(t, "user-renewed", vcard.Faults{})); st.Outcome != desk.Rejected {
		t.Fatalf("look-up reader, revoked card: %+v", st)
	}
	// A reader of no profile uses the desk's typer.
	f.d.Dedup = nil
	if st := f.tap("other", vc(t, "user", vcard.Faults{})); st.Outcome != desk.Typed || st.Profile != "" || len(f.ty.got) != 1 || len(counter.got) != 1 {
		t.Fatalf("default reader: %+v", st)
	}
	// The audit entries name the profile.
	log, _ := f.reg.AuditLog(ctx, 10)
	var looked bool
	for _, e := range log {
		looked = looked || e.Outcome == "looked-up" && strings.Contains(e.Detail, "profile=registration")
	}
	if !looked {
		t.Errorf("audit: %+v", log)
	}
}
