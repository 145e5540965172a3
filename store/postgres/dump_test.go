package postgres_test

import (
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/keyid"
	"github.com/mykey-jp/mykey/store"
	"github.com/mykey-jp/mykey/store/postgres"
	"github.com/mykey-jp/mykey/store/sqlite"
)

// TestLoadFromSQLite: a SQLite registry with every kind of row, loaded
// into PostgreSQL, reads back with the same digest, the same answers and
// an audit chain that verifies; a registry that is not empty refuses it.
func TestLoadFromSQLite(t *testing.T) {
	clock := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	opts := store.Options{User: "desk", Clock: func() time.Time { return clock }}
	src, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "registry.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var p keyid.Pseudonym
	var ids []keyid.ID
	for i := range 20 {
		p[0] = byte(i)
		r, err := src.Register(ctx, store.Registration{Pseudonym: p, NotAfter: clock.AddDate(5, 0, 0), Service: store.DefaultService, Patron: "",
			Genuine: func(keyid.ID) (store.Genuine, error) {
				return store.Genuine{Mode: "dob", DOB: []byte{byte(i), 1}, KeyFP: []byte{9}}, nil
			}})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, r.MyKeyID)
		clock = clock.Add(time.Minute)
	}
	if err := src.ImportRoster(ctx, store.DefaultService, []store.RosterRow{{Patron: "1001", Active: true}, {Patron: "1002", Active: true, Expires: clock.AddDate(1, 0, 0).Truncate(24 * time.Hour)}, {Patron: "1003"}}, store.RosterOptions{}); err != nil {
		t.Fatal(err)
	}
	for i, patron := range []string{"1001", "1002"} {
		if _, err := src.Link(ctx, store.DefaultService, ids[i], patron, store.LinkOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	p[0] = 100
	if err := src.AddCertificate(ctx, store.Certificate{Pseudonym: p, MyKeyID: ids[0], NotAfter: clock.AddDate(5, 0, 0)}); err != nil { // renewed
		t.Fatal(err)
	}
	if err := src.BindKey(ctx, "fingerprint"); err != nil {
		t.Fatal(err)
	}
	if err := src.SetConsolePassword(ctx, "hash"); err != nil {
		t.Fatal(err)
	}
	dump, err := src.Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}

	dst := open(t, store.Options{})
	if err := dst.Load(ctx, dump); err != nil {
		t.Fatal(err)
	}
	back, err := dst.Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if back.Digest() != dump.Digest() {
		t.Fatalf("digest %s after the load, %s before\n%v\n%v", back.Digest(), dump.Digest(), back.Counts(), dump.Counts())
	}
	if n, err := dst.VerifyAudit(ctx); err != nil || n != len(dump.Audit) {
		t.Fatalf("audit chain after the load: %d %v", n, err)
	}
	want, _ := src.List(ctx, store.DefaultService)
	got, _ := dst.List(ctx, store.DefaultService)
	if !slices.EqualFunc(want, got, func(a, b store.Entry) bool {
		return a.MyKeyID == b.MyKeyID && a.CreatedAt.Equal(b.CreatedAt) && (a.Link == nil) == (b.Link == nil) && a.Certificates == b.Certificates
	}) {
		t.Fatalf("List differs:\n%+v\n%+v", want, got)
	}
	if _, err := dst.Link(ctx, store.DefaultService, ids[2], "1003", store.LinkOptions{}); !errors.Is(err, store.ErrPatronInactive) {
		t.Fatalf("the roster did not come along: %v", err)
	}
	// One change on either side, and the digests differ.
	if _, err := dst.UnlinkID(ctx, store.DefaultService, ids[1]); err != nil {
		t.Fatal(err)
	}
	if again, _ := dst.Dump(ctx); again.Digest() == dump.Digest() {
		t.Fatal("the digest does not see an unlink")
	}
	if err := dst.Load(ctx, dump); !errors.Is(err, postgres.ErrNotEmpty) {
		t.Fatalf("loading into a registry with data: %v", err)
	}
}
