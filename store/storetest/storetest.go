// Package storetest is the one test suite every store.Registry passes.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/keyid"
	"github.com/mykey-jp/mykey/store"
)

// Opener returns a fresh, empty registry built with opts.
type Opener func(t testing.TB, opts store.Options) store.Registry

// Clock is a settable clock for the suite.
type Clock struct{ T time.Time }

// Now returns the clock's time.
func (c *Clock) Now() time.Time { return c.T }

// Run runs the whole suite against the registries open returns.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Registry, *Clock)
	}{
		{"NewIDAndLookup", testNewIDAndLookup},
		{"Link", testLink},
		{"LinkConflicts", testLinkConflicts},
		{"Relink", testRelink},
		{"Unlink", testUnlink},
		{"Services", testServices},
		{"List", testList},
		{"CertificatesOf", testCertificatesOf},
		{"Register", testRegister},
		{"ImportLinks", testImportLinks},
		{"Roster", testRoster},
		{"AuditHasNoPatronNumbers", testAuditNoPatron},
		{"AuditLimit", testAuditLimit},
		{"KeyBinding", testKeyBinding},
		{"ConsolePassword", testConsolePassword},
		{"SearchAudit", testSearchAudit},
		{"CertificatesOf", testCertificatesOf},
		{"AuditChain", testAuditChain},
		{"Genuine", testGenuine},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := &Clock{T: time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)}
			r := open(t, store.Options{Clock: clock.Now, User: "tester"})
			defer r.Close()
			tt.fn(t, r, clock)
		})
	}
	t.Run("MintCollision", func(t *testing.T) { testMintCollision(t, open) })
}

var ctx = context.Background()

func mustID(t testing.TB, r store.Registry) keyid.ID {
	t.Helper()
	id, err := r.NewID(ctx)
	if err != nil {
		t.Fatalf("NewID: %v", err)
	}
	return id
}

func mustLink(t testing.TB, r store.Registry, id keyid.ID, patron string) {
	t.Helper()
	changed, err := r.Link(ctx, store.DefaultService, id, patron, store.LinkOptions{})
	if err != nil || !changed {
		t.Fatalf("Link(%s, %s) = %v, %v", id, patron, changed, err)
	}
}

func lastAudit(t testing.TB, r store.Registry) store.AuditEntry {
	t.Helper()
	a, err := r.AuditLog(ctx, 1)
	if err != nil || len(a) != 1 {
		t.Fatalf("AuditLog(1) = %v, %v", a, err)
	}
	return a[0]
}

func wantAudit(t testing.TB, r store.Registry, action string, id keyid.ID, outcome string) {
	t.Helper()
	a := lastAudit(t, r)
	if a.Action != action || a.MyKeyID != id || a.Outcome != outcome || a.User != "tester" {
		t.Fatalf("last audit = %+v, want %s %s %s by tester", a, action, id, outcome)
	}
}

func testNewIDAndLookup(t *testing.T, r store.Registry, c *Clock) {
	id := mustID(t, r)
	if _, err := keyid.Parse(string(id)); err != nil {
		t.Fatalf("minted ID %q: %v", id, err)
	}
	wantAudit(t, r, store.ActionNewID, id, "ok")
	e, err := r.LookupID(ctx, store.DefaultService, id)
	if err != nil || e.MyKeyID != id || e.Link != nil || !e.CreatedAt.Equal(c.T) {
		t.Fatalf("LookupID = %+v, %v", e, err)
	}
	other, _ := keyid.New(nil)
	if _, err := r.LookupID(ctx, store.DefaultService, other); !errors.Is(err, store.ErrUnknownID) {
		t.Fatalf("LookupID(unknown) = %v", err)
	}
	if _, err := r.LookupPatron(ctx, store.DefaultService, "0000"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("LookupPatron(unknown) = %v", err)
	}
}

func testLink(t *testing.T, r store.Registry, c *Clock) {
	id := mustID(t, r)
	c.T = c.T.Add(time.Minute)
	mustLink(t, r, id, "1234567")
	wantAudit(t, r, store.ActionLink, id, "ok")
	for _, e := range []func() (store.Entry, error){
		func() (store.Entry, error) { return r.LookupID(ctx, store.DefaultService, id) },
		func() (store.Entry, error) { return r.LookupPatron(ctx, store.DefaultService, "1234567") },
	} {
		got, err := e()
		if err != nil || got.MyKeyID != id || got.Link == nil || got.Link.Patron != "1234567" || !got.Link.LinkedAt.Equal(c.T) {
			t.Fatalf("lookup = %+v (%+v), %v", got, got.Link, err)
		}
	}
	// The same link again is a no-op and writes no audit entry.
	before, _ := r.AuditLog(ctx, 0)
	changed, err := r.Link(ctx, store.DefaultService, id, "1234567", store.LinkOptions{})
	if err != nil || changed {
		t.Fatalf("relinking the same pair = %v, %v", changed, err)
	}
	after, _ := r.AuditLog(ctx, 0)
	if len(after) != len(before) {
		t.Errorf("no-op link wrote an audit entry")
	}
}

func testLinkConflicts(t *testing.T, r store.Registry, c *Clock) {
	a, b := mustID(t, r), mustID(t, r)
	mustLink(t, r, a, "1111")
	if _, err := r.Link(ctx, store.DefaultService, b, "1111", store.LinkOptions{}); !errors.Is(err, store.ErrPatronLinked) {
		t.Fatalf("patron taken: %v", err)
	}
	wantAudit(t, r, store.ActionLink, b, "patron-linked")
	if _, err := r.Link(ctx, store.DefaultService, a, "2222", store.LinkOptions{}); !errors.Is(err, store.ErrIDLinked) {
		t.Fatalf("ID linked: %v", err)
	}
	wantAudit(t, r, store.ActionLink, a, "id-linked")
	unknown, _ := keyid.New(nil)
	if _, err := r.Link(ctx, store.DefaultService, unknown, "3333", store.LinkOptions{}); !errors.Is(err, store.ErrUnknownID) {
		t.Fatalf("unknown ID: %v", err)
	}
	if _, err := r.Link(ctx, store.DefaultService, b, "", store.LinkOptions{}); !errors.Is(err, store.ErrInvalidArgument) {
		t.Fatalf("empty patron: %v", err)
	}
	if _, err := r.Link(ctx, "", b, "3333", store.LinkOptions{}); !errors.Is(err, store.ErrInvalidArgument) {
		t.Fatalf("empty service: %v", err)
	}
	// Nothing changed by the failures.
	e, _ := r.LookupID(ctx, store.DefaultService, b)
	if e.Link != nil {
		t.Fatalf("failed links left %+v", e.Link)
	}
	e, _ = r.LookupPatron(ctx, store.DefaultService, "1111")
	if e.MyKeyID != a {
		t.Fatalf("patron 1111 now at %s", e.MyKeyID)
	}
}

func testRelink(t *testing.T, r store.Registry, c *Clock) {
	a, b := mustID(t, r), mustID(t, r)
	mustLink(t, r, a, "1111")
	mustLink(t, r, b, "2222")
	// The patron 1111 moves to b; b's old patron 2222 is unlinked.
	changed, err := r.Link(ctx, store.DefaultService, b, "1111", store.LinkOptions{Replace: true})
	if err != nil || !changed {
		t.Fatalf("relink = %v, %v", changed, err)
	}
	wantAudit(t, r, store.ActionRelink, b, "ok")
	if e, _ := r.LookupPatron(ctx, store.DefaultService, "1111"); e.MyKeyID != b {
		t.Errorf("1111 at %s, want %s", e.MyKeyID, b)
	}
	if _, err := r.LookupPatron(ctx, store.DefaultService, "2222"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("2222 still linked: %v", err)
	}
	if e, _ := r.LookupID(ctx, store.DefaultService, a); e.Link != nil {
		t.Errorf("a still linked to %s", e.Link.Patron)
	}
}

func testUnlink(t *testing.T, r store.Registry, c *Clock) {
	a, b := mustID(t, r), mustID(t, r)
	mustLink(t, r, a, "1111")
	mustLink(t, r, b, "2222")
	l, err := r.UnlinkID(ctx, store.DefaultService, a)
	if err != nil || l.Patron != "1111" || l.MyKeyID != a {
		t.Fatalf("UnlinkID = %+v, %v", l, err)
	}
	wantAudit(t, r, store.ActionUnlink, a, "ok")
	l, err = r.UnlinkPatron(ctx, store.DefaultService, "2222")
	if err != nil || l.MyKeyID != b {
		t.Fatalf("UnlinkPatron = %+v, %v", l, err)
	}
	wantAudit(t, r, store.ActionUnlink, b, "ok")
	if _, err := r.UnlinkID(ctx, store.DefaultService, a); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second UnlinkID = %v", err)
	}
	wantAudit(t, r, store.ActionUnlink, a, "not-found")
	if _, err := r.UnlinkPatron(ctx, store.DefaultService, "2222"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second UnlinkPatron = %v", err)
	}
	// The MyKey ID itself stays registered and can be linked again.
	mustLink(t, r, a, "2222")
}

func testServices(t *testing.T, r store.Registry, c *Clock) {
	a, b := mustID(t, r), mustID(t, r)
	mustLink(t, r, a, "1111")
	// The same patron number in another service belongs to another ID.
	if _, err := r.Link(ctx, "gym", b, "1111", store.LinkOptions{}); err != nil {
		t.Fatalf("other service: %v", err)
	}
	if e, _ := r.LookupPatron(ctx, "gym", "1111"); e.MyKeyID != b {
		t.Errorf("gym 1111 at %s", e.MyKeyID)
	}
	if e, _ := r.LookupID(ctx, "gym", a); e.Link != nil {
		t.Errorf("a linked in gym: %+v", e.Link)
	}
}

func testList(t *testing.T, r store.Registry, c *Clock) {
	var ids []keyid.ID
	for i := range 5 {
		c.T = c.T.Add(time.Second)
		ids = append(ids, mustID(t, r))
		if i%2 == 0 {
			mustLink(t, r, ids[i], fmt.Sprintf("%04d", i))
		}
	}
	list, err := r.List(ctx, store.DefaultService)
	if err != nil || len(list) != 5 {
		t.Fatalf("List = %d entries, %v", len(list), err)
	}
	for i, e := range list {
		if e.MyKeyID != ids[i] {
			t.Errorf("entry %d is %s, want %s", i, e.MyKeyID, ids[i])
		}
		if (e.Link != nil) != (i%2 == 0) {
			t.Errorf("entry %d link %+v", i, e.Link)
		}
	}
}

func testCertificates(t *testing.T, r store.Registry, c *Clock) {
	a, b := mustID(t, r), mustID(t, r)
	p1, p2 := keyid.Pseudonym{1}, keyid.Pseudonym{2}
	notAfter := time.Date(2031, 3, 31, 14, 59, 59, 0, time.UTC)
	if err := r.AddCertificate(ctx, store.Certificate{Pseudonym: p1, MyKeyID: a, NotAfter: notAfter}); err != nil {
		t.Fatal(err)
	}
	wantAudit(t, r, store.ActionAddCert, a, "ok")
	if a := lastAudit(t, r); a.Detail != "pseudonym="+p1.Short() {
		t.Errorf("audit detail %q", a.Detail)
	}
	got, err := r.Certificate(ctx, p1)
	if err != nil || got.MyKeyID != a || got.Status != store.CertActive || !got.NotAfter.Equal(notAfter) {
		t.Fatalf("Certificate = %+v, %v", got, err)
	}
	// Registering it again for a is a no-op; for b it is refused.
	if err := r.AddCertificate(ctx, store.Certificate{Pseudonym: p1, MyKeyID: a, NotAfter: notAfter}); err != nil {
		t.Fatal(err)
	}
	if err := r.AddCertificate(ctx, store.Certificate{Pseudonym: p1, MyKeyID: b, NotAfter: notAfter}); !errors.Is(err, store.ErrCertRegistered) {
		t.Fatalf("cert for another ID: %v", err)
	}
	wantAudit(t, r, store.ActionAddCert, b, "cert-registered")
	unknown, _ := keyid.New(nil)
	if err := r.AddCertificate(ctx, store.Certificate{Pseudonym: p2, MyKeyID: unknown}); !errors.Is(err, store.ErrUnknownID) {
		t.Fatalf("cert for unknown ID: %v", err)
	}
	// A renewed certificate supersedes the old one and keeps the MyKey ID.
	if err := r.AddCertificate(ctx, store.Certificate{Pseudonym: p2, MyKeyID: a, NotAfter: notAfter.AddDate(5, 0, 0)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := r.Certificate(ctx, p1); got.Status != store.CertSuperseded || got.MyKeyID != a {
		t.Errorf("old certificate %+v", got)
	}
	if got, _ := r.Certificate(ctx, p2); got.Status != store.CertActive || got.MyKeyID != a {
		t.Errorf("new certificate %+v", got)
	}
	if e, _ := r.LookupID(ctx, store.DefaultService, a); e.Certificates != 1 {
		t.Errorf("active certificates = %d, want 1", e.Certificates)
	}
	if _, err := r.Certificate(ctx, keyid.Pseudonym{9}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown pseudonym: %v", err)
	}
}

func testAuditNoPatron(t *testing.T, r store.Registry, c *Clock) {
	a := mustID(t, r)
	mustLink(t, r, a, "98765432")
	r.Link(ctx, store.DefaultService, a, "55555555", store.LinkOptions{})
	r.UnlinkPatron(ctx, store.DefaultService, "98765432")
	r.UnlinkPatron(ctx, store.DefaultService, "98765432")
	log, err := r.AuditLog(ctx, 0)
	if err != nil || len(log) < 5 {
		t.Fatalf("AuditLog = %d entries, %v", len(log), err)
	}
	for _, e := range log {
		s := fmt.Sprintf("%+v", e)
		for _, p := range []string{"98765432", "55555555"} {
			if strings.Contains(s, p) {
				t.Errorf("audit entry carries a patron number: %s", s)
			}
		}
	}
}

func testAuditLimit(t *testing.T, r store.Registry, c *Clock) {
	for i := range 5 {
		if err := r.Audit(ctx, store.AuditEntry{Action: store.ActionLookup, Outcome: "ok", Detail: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	a, err := r.AuditLog(ctx, 3)
	if err != nil || len(a) != 3 || a[0].Detail != "2" || a[2].Detail != "4" || a[0].Seq >= a[2].Seq {
		t.Fatalf("AuditLog(3) = %+v, %v", a, err)
	}
	if a[0].User != "tester" || !a[0].At.Equal(c.T) {
		t.Errorf("audit user/time = %q %v", a[0].User, a[0].At)
	}
}

func testMintCollision(t *testing.T, open Opener) {
	fixed, _ := keyid.New(nil)
	next, _ := keyid.New(nil)
	calls := 0
	mint := func() (keyid.ID, error) {
		calls++
		if calls <= 3 {
			return fixed, nil
		}
		return next, nil
	}
	r := open(t, store.Options{Mint: mint, User: "tester"})
	defer r.Close()
	if id := mustID(t, r); id != fixed {
		t.Fatalf("first ID %s", id)
	}
	// The next two draws collide with the first ID; the registry draws again.
	if id := mustID(t, r); id != next {
		t.Fatalf("second ID %s, want %s after collisions", id, next)
	}
	if calls != 4 {
		t.Errorf("mint called %d times, want 4", calls)
	}
}

func testRegister(t *testing.T, r store.Registry, c *Clock) {
	p1, p2, p3 := keyid.Pseudonym{1}, keyid.Pseudonym{2}, keyid.Pseudonym{3}
	na := time.Date(2030, 3, 31, 14, 59, 59, 0, time.UTC)
	reg := func(rg store.Registration) (store.Registered, error) {
		rg.NotAfter = na
		if rg.Service == "" {
			rg.Service = store.DefaultService
		}
		return r.Register(ctx, rg)
	}
	// A new card with a patron number: a new MyKey ID, linked.
	res, err := reg(store.Registration{Pseudonym: p1, Patron: "1111"})
	if err != nil || !res.Minted || !res.Linked || res.Superseded {
		t.Fatalf("first registration = %+v, %v", res, err)
	}
	id := res.MyKeyID
	wantAudit(t, r, store.ActionRegister, id, "ok")
	// The same card again: the same MyKey ID, nothing new.
	if res, err := reg(store.Registration{Pseudonym: p1, Patron: "1111"}); err != nil || res.MyKeyID != id || res.Minted || res.Linked {
		t.Fatalf("again = %+v, %v", res, err)
	}
	// The renewed card, found by the patron number: same ID, old superseded.
	res, err = reg(store.Registration{Pseudonym: p2, Patron: "1111"})
	if err != nil || res.MyKeyID != id || res.Minted || !res.Superseded {
		t.Fatalf("renewal by patron = %+v, %v", res, err)
	}
	if got, _ := r.Certificate(ctx, p1); got.Status != store.CertSuperseded {
		t.Errorf("old certificate %+v", got)
	}
	// The renewal named by MyKey ID, without a patron number.
	if res, err := reg(store.Registration{Pseudonym: p3, MyKeyID: id}); err != nil || res.MyKeyID != id || !res.Superseded {
		t.Fatalf("renewal by ID = %+v, %v", res, err)
	}
	// Conflicts change nothing.
	other := mustID(t, r)
	mustLink(t, r, other, "2222")
	before, _ := r.List(ctx, store.DefaultService)
	for name, rg := range map[string]store.Registration{
		"certificate of another ID":   {Pseudonym: p3, MyKeyID: other},
		"patron of another ID":        {Pseudonym: keyid.Pseudonym{9}, MyKeyID: id, Patron: "2222"},
		"ID linked to another patron": {Pseudonym: keyid.Pseudonym{9}, MyKeyID: id, Patron: "3333"},
		"unknown ID":                  {Pseudonym: keyid.Pseudonym{9}, MyKeyID: "0000001" + "2"},
	} {
		if _, err := reg(rg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	after, _ := r.List(ctx, store.DefaultService)
	if len(after) != len(before) {
		t.Errorf("failed registrations added IDs: %d → %d", len(before), len(after))
	}
	if got, _ := r.Certificate(ctx, keyid.Pseudonym{9}); got.MyKeyID != "" {
		t.Errorf("failed registration stored a certificate: %+v", got)
	}
}

func testImportLinks(t *testing.T, r store.Registry, c *Clock) {
	a, b, z, x, y := mustID(t, r), mustID(t, r), mustID(t, r), mustID(t, r), mustID(t, r)
	mustLink(t, r, a, "1111")
	mustLink(t, r, z, "7777")
	unknown := keyid.ID("00000012")
	svc := store.DefaultService
	rows := []store.BatchLink{
		{Line: 2, Service: svc, MyKeyID: a, Patron: "1111"}, // unchanged
		{Line: 3, Service: svc, MyKeyID: b, Patron: "2222"}, // linked
		{Line: 4, Service: svc, MyKeyID: unknown, Patron: "3333"},
		{Line: 5, Service: svc, MyKeyID: z, Patron: "4444"},  // z is linked to 7777
		{Line: 6, Service: svc, MyKeyID: x, Patron: "7777"},  // 7777 belongs to z
		{Line: 7, Service: svc, MyKeyID: y, Patron: "2222"},  // 2222 taken by line 3
		{Line: 8, Service: svc, MyKeyID: x, Patron: "5555"},  // linked
		{Line: 9, Service: svc, MyKeyID: b, Patron: "6666"},  // b linked by line 3
		{Line: 10, Service: svc, MyKeyID: a, Patron: "1111"}, // the same as line 2
	}
	want := []string{"unchanged", "linked", "unknown-id", "id-linked", "patron-linked", "duplicate-patron 3", "linked", "duplicate-id 3", "duplicate-id 2"}
	check := func(res []store.BatchResult) {
		t.Helper()
		for i, r := range res {
			got := r.Outcome
			if r.Earlier > 0 {
				got += fmt.Sprintf(" %d", r.Earlier)
			}
			if got != want[i] || r.Line != rows[i].Line {
				t.Errorf("row %d: %+v, want %s", rows[i].Line, r, want[i])
			}
		}
	}
	// Not kept: nothing changes.
	res, committed, err := r.ImportLinks(ctx, rows, func([]store.BatchResult) bool { return false })
	if err != nil || committed || len(res) != len(rows) {
		t.Fatalf("dry run = %v, %v", committed, err)
	}
	check(res)
	if _, err := r.LookupPatron(ctx, svc, "2222"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a rolled-back import linked 2222: %v", err)
	}
	// Kept: the valid rows are linked, the others not.
	res, committed, err = r.ImportLinks(ctx, rows, func([]store.BatchResult) bool { return true })
	if err != nil || !committed {
		t.Fatalf("import = %v, %v", committed, err)
	}
	check(res)
	for p, id := range map[string]keyid.ID{"1111": a, "2222": b, "5555": x} {
		if e, err := r.LookupPatron(ctx, svc, p); err != nil || e.MyKeyID != id {
			t.Errorf("patron %s: %+v, %v", p, e, err)
		}
	}
	if e, _ := r.LookupID(ctx, svc, y); e.Link != nil {
		t.Errorf("y linked: %+v", e.Link)
	}
	wantAudit(t, r, store.ActionImportLinks, "", "ok")
	// The same file again changes nothing.
	res, _, _ = r.ImportLinks(ctx, rows[:3], func([]store.BatchResult) bool { return true })
	if res[0].Outcome != "unchanged" || res[1].Outcome != "unchanged" {
		t.Errorf("re-import: %+v", res)
	}
}

func testRoster(t *testing.T, r store.Registry, c *Clock) {
	svc := store.DefaultService
	day := func(d int) time.Time { y, m, dd := c.T.Date(); return time.Date(y, m, dd+d, 0, 0, 0, 0, time.UTC) }
	a, b := mustID(t, r), mustID(t, r)
	mustLink(t, r, a, "9999") // linked before the roster: stays
	if err := r.ImportRoster(ctx, svc, []store.RosterRow{
		{Patron: "1111", Active: true},
		{Patron: "2222", Active: false},
		{Patron: "3333", Active: true, Expires: day(-1)},
		{Patron: "5555", Active: true, Expires: day(0)}, // valid through today
		{Patron: "9999", Active: true},
	}, store.RosterOptions{}); err != nil {
		t.Fatal(err)
	}
	wantAudit(t, r, store.ActionImportRoster, "", "ok")
	for patron, want := range map[string]error{"2222": store.ErrPatronInactive, "3333": store.ErrPatronInactive, "4444": store.ErrNotInRoster} {
		if _, err := r.Link(ctx, svc, b, patron, store.LinkOptions{}); !errors.Is(err, want) {
			t.Errorf("link %s: %v, want %v", patron, err, want)
		}
	}
	if _, err := r.Register(ctx, store.Registration{Pseudonym: keyid.Pseudonym{42}, Service: svc, Patron: "4444"}); !errors.Is(err, store.ErrNotInRoster) {
		t.Errorf("register with an unknown patron: %v", err)
	}
	if _, err := r.Certificate(ctx, keyid.Pseudonym{42}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a refused registration stored the certificate: %v", err)
	}
	res, _, err := r.ImportLinks(ctx, []store.BatchLink{
		{Line: 1, Service: svc, MyKeyID: a, Patron: "9999"},
		{Line: 2, Service: svc, MyKeyID: b, Patron: "2222"},
		{Line: 3, Service: svc, MyKeyID: b, Patron: "4444"},
		{Line: 4, Service: svc, MyKeyID: b, Patron: "5555"},
	}, func([]store.BatchResult) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	got := []string{res[0].Outcome, res[1].Outcome, res[2].Outcome, res[3].Outcome}
	if strings.Join(got, " ") != "unchanged inactive not-in-roster linked" {
		t.Errorf("import outcomes %v", got)
	}
	// Another service has no roster: anything goes there.
	if _, err := r.Link(ctx, "gym", b, "4444", store.LinkOptions{}); err != nil {
		t.Errorf("service without a roster: %v", err)
	}
	// A roster less than half as long, or empty, needs confirming.
	for _, rows := range [][]store.RosterRow{{{Patron: "2222", Active: true}}, nil} {
		if err := r.ImportRoster(ctx, svc, rows, store.RosterOptions{}); !errors.Is(err, store.ErrRosterShrink) {
			t.Fatalf("shrinking the roster to %d: %v, want ErrRosterShrink", len(rows), err)
		}
	}
	wantAudit(t, r, store.ActionImportRoster, "", "roster-shrink")
	if _, err := r.Link(ctx, svc, mustID(t, r), "1111", store.LinkOptions{}); err != nil {
		t.Fatalf("a refused roster import changed the roster: %v", err)
	}
	// Confirmed, a new roster replaces the old one.
	if err := r.ImportRoster(ctx, svc, []store.RosterRow{{Patron: "2222", Active: true}}, store.RosterOptions{AllowShrink: true}); err != nil {
		t.Fatal(err)
	}
	c2 := mustID(t, r)
	if _, err := r.Link(ctx, svc, c2, "2222", store.LinkOptions{}); err != nil {
		t.Errorf("after the new roster: %v", err)
	}
}

func testKeyBinding(t *testing.T, r store.Registry, c *Clock) {
	if fp, n, err := r.KeyBinding(ctx); fp != "" || n != 0 || err != nil {
		t.Fatalf("new registry: KeyBinding = %q, %d, %v", fp, n, err)
	}
	if err := r.BindKey(ctx, "aaaa"); err != nil {
		t.Fatal(err)
	}
	wantAudit(t, r, store.ActionBindKey, "", "ok")
	if err := r.BindKey(ctx, "aaaa"); err != nil {
		t.Fatalf("binding the same key again: %v", err)
	}
	if err := r.BindKey(ctx, "bbbb"); !errors.Is(err, store.ErrKeyMismatch) {
		t.Fatalf("binding another key: %v, want ErrKeyMismatch", err)
	}
	wantAudit(t, r, store.ActionBindKey, "", "key-mismatch")
	p := keyid.Pseudonym{1}
	if _, err := r.Register(ctx, store.Registration{Pseudonym: p, NotAfter: c.T.AddDate(1, 0, 0), Service: store.DefaultService}); err != nil {
		t.Fatal(err)
	}
	if fp, n, err := r.KeyBinding(ctx); fp != "aaaa" || n != 1 || err != nil {
		t.Fatalf("KeyBinding = %q, %d, %v", fp, n, err)
	}
}

func testCertificatesOf(t *testing.T, r store.Registry, c *Clock) {
	first, err := r.Register(ctx, store.Registration{Pseudonym: keyid.Pseudonym{1}, NotAfter: c.T.AddDate(1, 0, 0), Service: store.DefaultService})
	if err != nil {
		t.Fatal(err)
	}
	c.T = c.T.Add(time.Hour)
	if _, err := r.Register(ctx, store.Registration{Pseudonym: keyid.Pseudonym{2}, NotAfter: c.T.AddDate(5, 0, 0), Service: store.DefaultService, MyKeyID: first.MyKeyID}); err != nil {
		t.Fatal(err)
	}
	other := mustID(t, r)
	list, err := r.Certificates(ctx, first.MyKeyID)
	if err != nil || len(list) != 2 || list[0].Pseudonym != (keyid.Pseudonym{2}) || list[0].Status != store.CertActive || list[1].Status != store.CertSuperseded || !list[0].NotAfter.After(list[1].NotAfter) {
		t.Fatalf("Certificates = %+v, %v", list, err)
	}
	if list, err := r.Certificates(ctx, other); err != nil || len(list) != 0 {
		t.Fatalf("an ID without certificates: %+v, %v", list, err)
	}
}

func testConsolePassword(t *testing.T, r store.Registry, c *Clock) {
	if h, err := r.ConsolePassword(ctx); h != "" || err != nil {
		t.Fatalf("new registry: ConsolePassword = %q, %v", h, err)
	}
	for _, h := range []string{"$argon2id$one", "$argon2id$two"} {
		if err := r.SetConsolePassword(ctx, h); err != nil {
			t.Fatal(err)
		}
		wantAudit(t, r, store.ActionPassword, "", "ok")
		if got, err := r.ConsolePassword(ctx); got != h || err != nil {
			t.Fatalf("ConsolePassword = %q, %v; want %q", got, err, h)
		}
	}
	if err := r.SetConsolePassword(ctx, ""); !errors.Is(err, store.ErrInvalidArgument) {
		t.Fatalf("empty hash: %v", err)
	}
	log, _ := r.AuditLog(ctx, 0)
	for _, e := range log {
		if strings.Contains(e.Detail, "argon2id") {
			t.Fatalf("the audit log holds the hash: %+v", e)
		}
	}
}

func testSearchAudit(t *testing.T, r store.Registry, c *Clock) {
	start := c.T
	id := mustID(t, r) // one "id.new" entry at start
	for i := range 30 {
		c.T = c.T.Add(time.Hour)
		e := store.AuditEntry{Action: store.ActionScan, Outcome: "typed", Detail: fmt.Sprint(i)}
		if i%3 == 0 {
			e.MyKeyID = id
		}
		if err := r.Audit(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	all, _ := r.AuditLog(ctx, 0)
	if len(all) == 0 || all[0].User == "" {
		t.Fatalf("audit log %+v", all)
	}
	for _, q := range []store.AuditQuery{
		{},
		{User: all[0].User[1:], Limit: 4},
		{Action: store.ActionScan},
		{Action: store.ActionScan, MyKeyID: id},
		{MyKeyID: id, Limit: 3},
		{From: start.Add(5 * time.Hour), To: start.Add(10 * time.Hour)},
		{Action: store.ActionScan, Offset: 25, Limit: 10},
		{User: "nobody"},
		{Action: "none"},
	} {
		page, total, err := r.SearchAudit(ctx, q)
		if err != nil {
			t.Fatalf("%+v: %v", q, err)
		}
		// The expected answer, from the whole log.
		var want []store.AuditEntry
		n := 0
		newest := slices.Clone(all)
		slices.SortStableFunc(newest, store.NewestFirst)
		for _, e := range newest {
			if q.Match(e) {
				if n >= q.Offset && (q.Limit == 0 || len(want) < q.Limit) {
					want = append(want, e)
				}
				n++
			}
		}
		if total != min(n, store.AuditCountCap+1) || len(page) != len(want) {
			t.Fatalf("%+v: %d entries of %d, want %d of %d", q, len(page), total, len(want), n)
		}
		for i := range page {
			if page[i].Seq != want[i].Seq {
				t.Fatalf("%+v: entry %d is #%d, want #%d", q, i, page[i].Seq, want[i].Seq)
			}
		}
	}
	if _, total, _ := r.SearchAudit(ctx, store.AuditQuery{Action: store.ActionScan, MyKeyID: id}); total != 10 {
		t.Fatalf("scans of the ID: %d, want 10", total)
	}
	if _, total, _ := r.SearchAudit(ctx, store.AuditQuery{From: start.Add(5 * time.Hour), To: start.Add(10 * time.Hour)}); total != 5 {
		t.Fatalf("entries in five hours: %d, want 5", total)
	}
}

func testAuditChain(t *testing.T, r store.Registry, c *Clock) {
	for i := range 5 {
		mustID(t, r)
		c.T = c.T.Add(time.Minute)
		if err := r.Audit(ctx, store.AuditEntry{Action: store.ActionLookup, Outcome: "ok", Detail: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	n, err := r.VerifyAudit(ctx)
	if err != nil || n != 10 {
		t.Fatalf("VerifyAudit = %d, %v", n, err)
	}
	log, _ := r.AuditLog(ctx, 0)
	for i, e := range log {
		if len(e.Hash) != 32 || e.Seq != int64(i+1) {
			t.Fatalf("entry %d: seq %d, hash %x", i, e.Seq, e.Hash)
		}
	}
}

func testGenuine(t *testing.T, r store.Registry, c *Clock) {
	na := time.Date(2030, 3, 31, 14, 59, 59, 0, time.UTC)
	var boundTo keyid.ID
	dob := store.Genuine{Mode: "dob", DOB: []byte("sealed dob"), KeyFP: []byte("fp1")}
	res, err := r.Register(ctx, store.Registration{Pseudonym: keyid.Pseudonym{7}, NotAfter: na, Service: store.DefaultService, Patron: "7777",
		Genuine: func(id keyid.ID) (store.Genuine, error) { boundTo = id; return dob, nil }})
	if err != nil || !res.Genuine || res.MyKeyID != boundTo {
		t.Fatalf("Register with genuine-card data = %+v, %v (sealed for %q)", res, err, boundTo)
	}
	g, err := r.Genuine(ctx, res.MyKeyID)
	if err != nil || g.Mode != "dob" || string(g.DOB) != "sealed dob" || g.CardKey != nil || string(g.KeyFP) != "fp1" || !g.CapturedAt.Equal(c.T) {
		t.Fatalf("Genuine = %+v, %v", g, err)
	}
	if n, err := r.CountGenuine(ctx, store.DefaultService, "dob"); err != nil || n != (store.GenuineCount{Linked: 1}) {
		t.Fatalf("CountGenuine(dob) = %+v, %v", n, err)
	}
	if n, _ := r.CountGenuine(ctx, store.DefaultService, "card-key"); n != (store.GenuineCount{Linked: 1, Missing: 1}) {
		t.Fatalf("CountGenuine(card-key) = %+v", n)
	}
	// A registration without the data: another linked ID lacks it.
	other, err := r.Register(ctx, store.Registration{Pseudonym: keyid.Pseudonym{8}, NotAfter: na, Service: store.DefaultService, Patron: "8888"})
	if err != nil || other.Genuine {
		t.Fatal(other, err)
	}
	if _, err := r.Genuine(ctx, other.MyKeyID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Genuine without data = %v", err)
	}
	if n, _ := r.CountGenuine(ctx, store.DefaultService, "dob"); n != (store.GenuineCount{Linked: 2, Missing: 1}) {
		t.Fatalf("CountGenuine = %+v", n)
	}
	// Failing or malformed data: nothing changes, not even a new MyKey ID.
	before, _ := r.List(ctx, store.DefaultService)
	for name, fn := range map[string]func(keyid.ID) (store.Genuine, error){
		"sealing fails": func(keyid.ID) (store.Genuine, error) { return store.Genuine{}, errors.New("no randomness") },
		"mode mismatch": func(keyid.ID) (store.Genuine, error) {
			return store.Genuine{Mode: "card-key", DOB: []byte("x"), KeyFP: []byte("f")}, nil
		},
		"no fingerprint": func(keyid.ID) (store.Genuine, error) { return store.Genuine{Mode: "dob", DOB: []byte("x")}, nil },
	} {
		if _, err := r.Register(ctx, store.Registration{Pseudonym: keyid.Pseudonym{9}, NotAfter: na, Service: store.DefaultService, Patron: "9999", Genuine: fn}); err == nil {
			t.Errorf("%s: registered", name)
		}
	}
	if after, _ := r.List(ctx, store.DefaultService); len(after) != len(before) {
		t.Fatalf("a failed registration left %d MyKey IDs, want %d", len(after), len(before))
	}
	// Registering again replaces the data (here: the mode changed).
	ck := store.Genuine{Mode: "card-key", CardKey: []byte("sealed key"), KeyFP: []byte("fp2")}
	if _, err := r.Register(ctx, store.Registration{Pseudonym: keyid.Pseudonym{7}, NotAfter: na, Service: store.DefaultService, Patron: "7777",
		Genuine: func(keyid.ID) (store.Genuine, error) { return ck, nil }}); err != nil {
		t.Fatal(err)
	}
	if g, _ := r.Genuine(ctx, res.MyKeyID); g.Mode != "card-key" || g.DOB != nil || string(g.CardKey) != "sealed key" {
		t.Fatalf("after re-registration = %+v", g)
	}
}
