package postgres_test

import (
	"context"
	"errors"
	neturl "net/url"
	"os"
	"strings"
	"time"

	"testing"

	"github.com/mykey-jp/mykey/internal/pgtest"
	"github.com/mykey-jp/mykey/store"
	"github.com/mykey-jp/mykey/store/postgres"
	"github.com/mykey-jp/mykey/store/storetest"
)

var ctx = context.Background()

// open returns a registry on a new database of the package's cluster.
func open(t testing.TB, opts store.Options) *postgres.DB {
	t.Helper()
	c := pgtest.Shared(t)
	d, err := postgres.Open(ctx, postgres.Source{URL: c.NewDB(t)}, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestSuite(t *testing.T) {
	storetest.Run(t, func(t testing.TB, opts store.Options) store.Registry { return open(t, opts) })
}

func TestMain(m *testing.M) { pgtest.Main(m) }

// TestDeskRole: with roles.sql applied, a desk's role reads what taps need
// and appends audit entries, and can change nothing else.
func TestDeskRole(t *testing.T) {
	c := pgtest.Shared(t)
	url := c.NewDB(t)
	admin, err := postgres.Open(ctx, postgres.Source{URL: url}, store.Options{User: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	id, err := admin.NewID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Link(ctx, store.DefaultService, id, "1001", store.LinkOptions{}); err != nil {
		t.Fatal(err)
	}
	u, _ := neturl.Parse(url)
	db := strings.TrimPrefix(u.Path, "/")
	c.Psql(t, db, postgres.RolesSQL)
	c.Psql(t, db, postgres.RolesSQL) // again, as after an upgrade
	c.Psql(t, db, "CREATE ROLE desk_role_test LOGIN IN ROLE mykey_desk")

	desk, err := postgres.Open(ctx, postgres.Source{URL: c.DBURL(db, "desk_role_test")}, store.Options{User: "desk1"})
	if err != nil {
		t.Fatalf("the desk role opens the registry: %v", err)
	}
	defer desk.Close()
	if e, err := desk.LookupID(ctx, store.DefaultService, id); err != nil || e.Link == nil {
		t.Fatalf("desk lookup: %+v, %v", e, err)
	}
	if err := desk.Audit(ctx, store.AuditEntry{Action: store.ActionScan, MyKeyID: id, Outcome: "typed"}); err != nil {
		t.Fatalf("desk appends audit: %v", err)
	}
	if _, err := desk.Link(ctx, store.DefaultService, id, "2002", store.LinkOptions{Replace: true}); !errors.Is(err, store.ErrNotAllowed) {
		t.Fatalf("desk relink: %v", err)
	}
	if _, err := desk.UnlinkID(ctx, store.DefaultService, id); !errors.Is(err, store.ErrNotAllowed) {
		t.Fatalf("desk unlink: %v", err)
	}
	if _, err := desk.NewID(ctx); !errors.Is(err, store.ErrNotAllowed) {
		t.Fatalf("desk new ID: %v", err)
	}
	for _, q := range []string{
		"UPDATE links SET patron = '2002'",
		"DELETE FROM links",
		"INSERT INTO links (service, mykey_id, patron, linked_at) VALUES ('library', '" + string(id) + "', '3003', now())",
		"UPDATE meta SET value = 'x'",
		"UPDATE clock SET rev = 0",
		"DELETE FROM changes",
		"UPDATE audit SET detail = 'x'",
		"DELETE FROM audit",
	} {
		if _, err := desk.Pool().Exec(ctx, q); err == nil {
			t.Errorf("the desk role may %s", q)
		}
	}
	if e, _ := admin.LookupID(ctx, store.DefaultService, id); e.Link == nil || e.Link.Patron != "1001" {
		t.Fatalf("the link changed: %+v", e.Link)
	}
	// Nobody, not even the owner, rewrites the audit log.
	if _, err := admin.Pool().Exec(ctx, "UPDATE audit SET detail = 'x'"); err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("owner rewrote the audit log: %v", err)
	}
	if n, err := admin.VerifyAudit(ctx); err != nil || n != 3 {
		t.Fatalf("audit chain %d, %v", n, err)
	}
}

func contextTimeout(d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, d)
}

// TestUpgradeFromVersion1: a registry made by the first schema, with
// changes logged, is upgraded in place: its logged revisions get their
// time (now: they are kept for the retention from the upgrade), nothing is
// pruned, and what is written afterwards is logged as before.
func TestUpgradeFromVersion1(t *testing.T) {
	c := pgtest.Shared(t)
	url := c.NewDB(t)
	u, _ := neturl.Parse(url)
	db := strings.TrimPrefix(u.Path, "/")
	v1, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	c.Psql(t, db, string(v1)+`
CREATE TABLE mykey_schema (version integer NOT NULL);
INSERT INTO mykey_schema VALUES (1);
INSERT INTO mykey_ids (id, created_at) VALUES ('A0000001', now());
INSERT INTO links (service, mykey_id, patron, linked_at) VALUES ('library', 'A0000001', '1001', now());`)
	// psql -c runs it all in one transaction: one revision, logged; the new
	// ID below is the second.
	s, err := postgres.Open(ctx, postgres.Source{URL: url}, store.Options{User: "admin"})
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	defer s.Close()
	if e, err := s.LookupID(ctx, store.DefaultService, "A0000001"); err != nil || e.Link == nil || e.Link.Patron != "1001" {
		t.Fatalf("after the upgrade: %+v %v", e, err)
	}
	id, err := s.NewID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var version int
	var revs, logged, pruned int64
	if err := s.Pool().QueryRow(ctx, `SELECT (SELECT max(version) FROM mykey_schema), (SELECT count(*) FROM revisions),
		(SELECT count(DISTINCT rev) FROM changes), (SELECT pruned FROM clock)`).Scan(&version, &revs, &logged, &pruned); err != nil {
		t.Fatal(err)
	}
	if version != postgres.Version() || revs != logged || logged != 2 || pruned != 0 {
		t.Errorf("schema %d, %d revisions timed, %d logged, pruned up to %d (new ID %s)", version, revs, logged, pruned, id)
	}
}
