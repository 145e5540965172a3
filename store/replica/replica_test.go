package replica_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"net"
	neturl "net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mykey-jp/mykey/internal/pgtest"
	"github.com/mykey-jp/mykey/keyid"
	"github.com/mykey-jp/mykey/store"
	"github.com/mykey-jp/mykey/store/postgres"
	"github.com/mykey-jp/mykey/store/replica"
)

var ctx = context.Background()

func TestMain(m *testing.M) { pgtest.Main(m) }

func server(t testing.TB, url string) *postgres.DB {
	t.Helper()
	s, err := postgres.Open(ctx, postgres.Source{URL: url}, store.Options{User: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func openReplica(t testing.TB, s *postgres.DB, path string) *replica.Replica {
	t.Helper()
	r, err := replica.Open(ctx, s, path, store.Options{User: "desk1"}, replica.Options{Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

func pseudonym(b byte) keyid.Pseudonym {
	var p keyid.Pseudonym
	for i := range p {
		p[i] = b
	}
	return p
}

func patronOf(t testing.TB, r store.Registry, id keyid.ID) string {
	t.Helper()
	e, err := r.LookupID(ctx, store.DefaultService, id)
	if err != nil {
		t.Fatalf("LookupID(%s): %v", id, err)
	}
	if e.Link == nil {
		return ""
	}
	return e.Link.Patron
}

// TestFollows: what an administrator changes on the server reaches the
// copy, which a tap then reads without the server.
func TestFollows(t *testing.T) {
	c := pgtest.Shared(t)
	s := server(t, c.NewDB(t))
	r := openReplica(t, s, filepath.Join(t.TempDir(), "replica.db"))

	reg, err := s.Register(ctx, store.Registration{Pseudonym: pseudonym(1), NotAfter: time.Now().Add(time.Hour), Service: store.DefaultService, Patron: "1001",
		Genuine: func(keyid.ID) (store.Genuine, error) {
			return store.Genuine{Mode: "dob", DOB: []byte("sealed"), KeyFP: []byte("fp")}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.NewID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.BindKey(ctx, "fp-1"); err != nil {
		t.Fatal(err)
	}
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got := patronOf(t, r, reg.MyKeyID); got != "1001" {
		t.Fatalf("copy: patron %q", got)
	}
	if cert, err := r.Certificate(ctx, pseudonym(1)); err != nil || cert.MyKeyID != reg.MyKeyID || cert.Status != store.CertActive {
		t.Fatalf("copy: certificate %+v, %v", cert, err)
	}
	if g, err := r.Genuine(ctx, reg.MyKeyID); err != nil || string(g.DOB) != "sealed" {
		t.Fatalf("copy: genuine %+v, %v", g, err)
	}
	if fp, n, err := r.KeyBinding(ctx); fp != "fp-1" || n != 1 || err != nil {
		t.Fatalf("copy: key binding %q %d %v", fp, n, err)
	}

	// A relink moves the patron number: both sides change in the copy.
	if _, err := s.Link(ctx, store.DefaultService, other, "1001", store.LinkOptions{Replace: true}); err != nil {
		t.Fatal(err)
	}
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if a, b := patronOf(t, r, reg.MyKeyID), patronOf(t, r, other); a != "" || b != "1001" {
		t.Fatalf("after relink: %q %q", a, b)
	}
	// A renewed card supersedes the old certificate.
	if _, err := s.Register(ctx, store.Registration{Pseudonym: pseudonym(2), NotAfter: time.Now().Add(time.Hour), MyKeyID: reg.MyKeyID, Service: store.DefaultService}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UnlinkID(ctx, store.DefaultService, other); err != nil {
		t.Fatal(err)
	}
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if cert, _ := r.Certificate(ctx, pseudonym(1)); cert.Status != store.CertSuperseded {
		t.Fatalf("old certificate %s", cert.Status)
	}
	if patronOf(t, r, other) != "" {
		t.Fatal("unlink not in the copy")
	}
	// Changes made through the replica reach its own copy at once.
	if _, err := r.Link(ctx, store.DefaultService, other, "2002", store.LinkOptions{}); err != nil {
		t.Fatal(err)
	}
	if patronOf(t, r, other) != "2002" {
		t.Fatal("a desk's own change is not in its copy")
	}
	if st := r.Status(); !st.Online || st.Rev == 0 || st.Synced.IsZero() {
		t.Fatalf("status %+v", st)
	}
}

// TestNotified: with Run going, a change reaches the copy by notification
// well before the next poll.
func TestNotified(t *testing.T) {
	c := pgtest.Shared(t)
	s := server(t, c.NewDB(t))
	r, err := replica.Open(ctx, s, filepath.Join(t.TempDir(), "replica.db"), store.Options{}, replica.Options{Poll: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go r.Run(rctx)
	time.Sleep(200 * time.Millisecond) // LISTEN is in place
	id := linkNew(t, s, "3003")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if e, err := r.LookupID(ctx, store.DefaultService, id); err == nil && e.Link != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the link did not reach the copy by notification (the poll is an hour)")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestOutOfOrderCommit: transaction A takes a revision and stays open;
// transaction B, begun later, must not commit a higher revision before A
// does — else a copy that read B would move past A's revision and never
// see A. The clock row makes B wait for A: the copy sees neither while A is
// open, and both after.
func TestOutOfOrderCommit(t *testing.T) {
	c := pgtest.Shared(t)
	url := c.NewDB(t)
	s := server(t, url)
	r := openReplica(t, s, filepath.Join(t.TempDir(), "replica.db"))
	a, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close(ctx)
	b, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close(ctx)
	// Plain SQL, without mykey's write lock: the change log must hold by
	// itself, whoever writes.
	txA, err := a.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := txA.Exec(ctx, "INSERT INTO mykey_ids (id, created_at) VALUES ('AAAAAAAA', now())"); err != nil {
		t.Fatal(err)
	}
	var pidB uint32 = b.PgConn().PID()
	doneB := make(chan error, 1)
	go func() {
		_, err := b.Exec(ctx, "INSERT INTO mykey_ids (id, created_at) VALUES ('BBBBBBBB', now())")
		doneB <- err
	}()
	// Wait until B is blocked on a lock (held by A), not for a time.
	for i := 0; ; i++ {
		var wait *string
		if err := s.Pool().QueryRow(ctx, "SELECT wait_event_type FROM pg_stat_activity WHERE pid = $1", pidB).Scan(&wait); err != nil {
			t.Fatal(err)
		}
		if wait != nil && *wait == "Lock" {
			break
		}
		if i > 500 {
			t.Fatal("B is not waiting for A")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	before := r.Status().Rev
	for _, id := range []keyid.ID{"AAAAAAAA", "BBBBBBBB"} {
		if _, err := r.LookupID(ctx, store.DefaultService, id); !errors.Is(err, store.ErrUnknownID) {
			t.Fatalf("%s in the copy before any commit: %v", id, err)
		}
	}
	if err := txA.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-doneB; err != nil {
		t.Fatal(err)
	}
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	for _, id := range []keyid.ID{"AAAAAAAA", "BBBBBBBB"} {
		if _, err := r.LookupID(ctx, store.DefaultService, id); err != nil {
			t.Fatalf("%s not in the copy: %v", id, err)
		}
	}
	var revA, revB int64
	if err := s.Pool().QueryRow(ctx, "SELECT (SELECT rev FROM changes WHERE key = 'AAAAAAAA'), (SELECT rev FROM changes WHERE key = 'BBBBBBBB')").Scan(&revA, &revB); err != nil {
		t.Fatal(err)
	}
	if !(before < revA && revA < revB) {
		t.Fatalf("revisions: copy at %d before, A %d, B %d", before, revA, revB)
	}
}

// TestOffline: with the server stopped the copy still answers, audit
// entries queue, changes are refused as offline; with it back, the queue
// is delivered once and the copy catches up.
func TestOffline(t *testing.T) {
	c := pgtest.Start(t)
	s := server(t, c.URL)
	var mu sync.Mutex
	var events []string
	r, err := replica.Open(ctx, s, filepath.Join(t.TempDir(), "replica.db"), store.Options{User: "desk1"}, replica.Options{Poll: time.Hour, Event: func(e replica.Event) {
		mu.Lock()
		events = append(events, e.Kind)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	id := linkNew(t, s, "4004")
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}

	c.Stop(t)
	if patronOf(t, r, id) != "4004" {
		t.Fatal("the copy does not answer with the server down")
	}
	for range 3 {
		if err := r.Audit(ctx, store.AuditEntry{Action: store.ActionScan, MyKeyID: id, Outcome: "typed"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Sync(ctx); !errors.Is(err, store.ErrOffline) {
		t.Fatalf("sync with the server down: %v", err)
	}
	if _, err := r.Link(ctx, store.DefaultService, id, "5005", store.LinkOptions{Replace: true}); !errors.Is(err, store.ErrOffline) {
		t.Fatalf("link with the server down: %v", err)
	}
	st := r.Status()
	if st.Online || st.OfflineSince.IsZero() || st.Queued != 3 {
		t.Fatalf("status offline: %+v", st)
	}

	c.StartAgain(t)
	if err := r.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	log, err := s.AuditLog(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	scans := 0
	for _, e := range log {
		if e.Action == store.ActionScan {
			scans++
			if e.User != "desk1" {
				t.Errorf("delivered entry by %q", e.User)
			}
		}
	}
	if scans != 3 {
		t.Fatalf("%d scans delivered, want 3", scans)
	}
	if n, err := s.VerifyAudit(ctx); err != nil {
		t.Fatalf("audit chain after delivery (%d): %v", n, err)
	}
	if st := r.Status(); !st.Online || st.Queued != 0 {
		t.Fatalf("status back online: %+v", st)
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Contains(events, "offline") || !slices.Contains(events, "online") || !slices.Contains(events, "delivered") {
		t.Fatalf("events %v", events)
	}
}

// linkNew makes a MyKey ID on the server and links it to patron.
func linkNew(t *testing.T, s *postgres.DB, patron string) keyid.ID {
	t.Helper()
	id, err := s.NewID(ctx)
	if err == nil {
		_, err = s.Link(ctx, store.DefaultService, id, patron, store.LinkOptions{})
	}
	if err != nil {
		t.Fatal(err)
	}
	return id
}

// TestDeliverOnce: an entry delivered again (a crash after the server's
// commit, before the queue forgot it) is kept once.
func TestDeliverOnce(t *testing.T) {
	c := pgtest.Shared(t)
	s := server(t, c.NewDB(t))
	e := []store.AuditEntry{{At: time.Date(2026, 11, 30, 9, 0, 0, 0, time.UTC), User: "desk1", Action: store.ActionScan, Outcome: "typed"}}
	for range 2 {
		if err := s.Deliver(ctx, e, []string{"k1"}); err != nil {
			t.Fatal(err)
		}
	}
	log, err := s.AuditLog(ctx, 0)
	if err != nil || len(log) != 1 {
		t.Fatalf("log %d entries, %v", len(log), err)
	}
}

// TestRebuild: a corrupt copy, or none, is rebuilt from the server; without
// the server and without a copy the desk cannot start.
func TestRebuild(t *testing.T) {
	c := pgtest.Shared(t)
	s := server(t, c.NewDB(t))
	id := linkNew(t, s, "6006")
	path := filepath.Join(t.TempDir(), "replica.db")
	if err := os.WriteFile(path, []byte("this is not a database, it was damaged"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := openReplica(t, s, path)
	if patronOf(t, r, id) != "6006" {
		t.Fatal("rebuilt copy lacks the link")
	}
	r.Close()

	dead, err := postgres.Connect(ctx, postgres.Source{URL: "postgres://nobody@/mykey?host=/nonexistent&sslmode=disable"}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dead.Close()
	if _, err := replica.Open(ctx, dead, filepath.Join(t.TempDir(), "none.db"), store.Options{}, replica.Options{}); !errors.Is(err, store.ErrOffline) {
		t.Fatalf("no copy, no server: %v", err)
	}
	// An existing copy serves without the server.
	r2, err := replica.Open(ctx, dead, path, store.Options{}, replica.Options{})
	if err != nil {
		t.Fatalf("a good copy without the server: %v", err)
	}
	defer r2.Close()
	if patronOf(t, r2, id) != "6006" {
		t.Fatal("copy without the server lacks the link")
	}
}

// TestRebuildMatchesPull: a copy built whole from the server and one kept
// up by following its changes hold the same rows, byte for byte: the
// build formats the server's binary times itself, the changes come
// formatted by the server. Times before 2000 and 1970, with fractions of
// a second, in another zone; every replicated table; many certificates,
// which the build writes into a file of their own and moves across.
func TestRebuildMatchesPull(t *testing.T) {
	s := server(t, pgtest.Shared(t).NewDB(t))
	dir := t.TempDir()
	pulled := openReplica(t, s, filepath.Join(dir, "pulled.db")) // empty registry: it follows the changes
	if _, err := s.Pool().Exec(ctx, `
INSERT INTO mykey_ids (id, created_at) VALUES
  ('A0000001', '1999-12-31 23:59:59.999999+00'), ('A0000002', '2000-01-01 00:00:00+00'),
  ('A0000003', '2024-02-29 23:30:00.5-09'), ('A0000004', '1969-07-20 20:17:40.25+00');
INSERT INTO mykey_ids (id, created_at)
  SELECT 'B' || lpad(i::text, 7, '0'), timestamptz '2026-11-30 12:00:00+00' + i * interval '37 minutes 13.3 seconds'
  FROM generate_series(1, 3000) AS i;
INSERT INTO certificates (pseudonym, mykey_id, not_after, status, registered_at)
  SELECT sha256(id::bytea), id, created_at + interval '5 years', CASE WHEN id < 'B0001000' THEN 'superseded' ELSE 'active' END, created_at
  FROM mykey_ids;
INSERT INTO links (service, mykey_id, patron, linked_at)
  SELECT 'library', id, 'P' || id, created_at + interval '1 second' FROM mykey_ids WHERE id >= 'B0000500';
INSERT INTO genuine (mykey_id, mode, dob, card_key, key_fp, captured_at) VALUES
  ('A0000001', 'dob', '\x0102', NULL, '\xaa', '2001-09-09 01:46:40+00'),
  ('A0000003', 'card-key', NULL, '\x0304', '\xbb', '2038-01-19 03:14:08+00');
INSERT INTO meta (key, value) VALUES ('test-note', 'ノート');`); err != nil {
		t.Fatal(err)
	}
	if err := pulled.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	built := openReplica(t, s, filepath.Join(dir, "built.db")) // no copy: built whole
	pulled.Close()
	built.Close()
	if files, _ := filepath.Glob(filepath.Join(dir, "built.db.build*")); len(files) > 0 {
		t.Errorf("build files left behind: %v", files)
	}
	want, got := dumpCopy(t, filepath.Join(dir, "pulled.db")), dumpCopy(t, filepath.Join(dir, "built.db"))
	for _, table := range []string{"mykey_ids", "certificates", "links", "genuine", "meta"} {
		if len(got[table]) == 0 || !slices.Equal(got[table], want[table]) {
			t.Errorf("%s: built %d rows, pulled %d; first built %q, first pulled %q", table, len(got[table]), len(want[table]), first(got[table]), first(want[table]))
		}
	}
	for _, row := range got["mykey_ids"] {
		if strings.HasPrefix(row, "'A0000003'") && row != "'A0000003'|'2024-03-01T08:30:00Z'" ||
			strings.HasPrefix(row, "'A0000004'") && row != "'A0000004'|'1969-07-20T20:17:40Z'" {
			t.Errorf("time written as %s", row)
		}
	}
	if ok := got["integrity"]; len(ok) != 1 || ok[0] != "ok" {
		t.Errorf("built copy's integrity_check: %v", ok)
	}
}

// dumpCopy reads every row of a copy's replicated tables as text (SQL
// literals, so that bytes show), sorted, and its integrity check.
func dumpCopy(t *testing.T, path string) map[string][]string {
	t.Helper()
	db, err := sql.Open("sqlite3", "file:"+filepath.ToSlash(path)+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := map[string][]string{}
	read := func(key, q string) {
		rows, err := db.QueryContext(ctx, q)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		defer rows.Close()
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			out[key] = append(out[key], s)
		}
		if err := rows.Err(); err != nil {
			t.Fatal(err)
		}
	}
	for table, cols := range map[string]string{
		"mykey_ids":    "id, created_at",
		"certificates": "pseudonym, mykey_id, not_after, status, registered_at",
		"links":        "service, mykey_id, patron, linked_at",
		"genuine":      "mykey_id, mode, dob, card_key, key_fp, captured_at",
		"meta":         "key, value",
	} {
		lit := "quote(" + strings.ReplaceAll(cols, ", ", ") || '|' || quote(") + ")"
		read(table, "SELECT "+lit+" FROM "+table+" ORDER BY 1")
	}
	read("integrity", "PRAGMA integrity_check")
	return out
}

func first(rows []string) string {
	if len(rows) == 0 {
		return ""
	}
	return rows[0]
}

// TestRebuildFails: when either of the build's two writers fails, the
// build stops with that writer's error (not the other's being stopped)
// and leaves no files behind.
func TestRebuildFails(t *testing.T) {
	c := pgtest.Shared(t)
	url := c.NewDB(t)
	s := server(t, url)
	if _, err := s.NewID(ctx); err != nil {
		t.Fatal(err)
	}
	u, _ := neturl.Parse(url)
	db := strings.TrimPrefix(u.Path, "/")
	for _, hidden := range []string{"certificates", "links"} {
		role := "rebuild_no_" + hidden
		c.Psql(t, db, "CREATE ROLE "+role+" LOGIN")
		for _, table := range []string{"mykey_ids", "certificates", "links", "genuine", "meta", "clock", "changes", "mykey_schema"} {
			if table != hidden {
				c.Psql(t, db, "GRANT SELECT ON "+table+" TO "+role)
			}
		}
		desk, err := postgres.Connect(ctx, postgres.Source{URL: c.DBURL(db, role)}, store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		dir := t.TempDir()
		_, err = replica.Open(ctx, desk, filepath.Join(dir, "replica.db"), store.Options{}, replica.Options{})
		desk.Close()
		if err == nil || !strings.Contains(err.Error(), "permission denied for table "+hidden) {
			t.Errorf("no SELECT on %s: %v", hidden, err)
		}
		if files, _ := filepath.Glob(filepath.Join(dir, "replica.db*")); len(files) > 1 { // the audit queue stays
			t.Errorf("no SELECT on %s: files left: %v", hidden, files)
		}
	}
}

// TestOpenHungServer: a desk with a copy starts serving taps from it when
// the server takes connections and never answers (a hung server, a
// half-open network), after a short wait, not the connect timeout; the
// copy says offline until the server answers.
func TestOpenHungServer(t *testing.T) {
	s := server(t, pgtest.Shared(t).NewDB(t))
	id := linkNew(t, s, "8008")
	path := filepath.Join(t.TempDir(), "replica.db")
	openReplica(t, s, path).Close()

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() { // accepts, reads, never answers
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go io.Copy(io.Discard, c)
		}
	}()
	hung, err := postgres.Connect(ctx, postgres.Source{URL: "postgres://desk@" + l.Addr().String() + "/mykey?sslmode=disable&connect_timeout=30"}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer hung.Close()
	start := time.Now()
	r, err := replica.Open(ctx, hung, path, store.Options{User: "desk1"}, replica.Options{})
	if err != nil {
		t.Fatalf("a copy and a hung server: %v", err)
	}
	defer r.Close()
	if took := time.Since(start); took > 10*time.Second {
		t.Errorf("Open waited %v for a server that does not answer (its connect timeout is 30 s)", took)
	}
	if st := r.Status(); st.Online || st.Err == "" {
		t.Errorf("status with a hung server: %+v", st)
	}
	if patronOf(t, r, id) != "8008" {
		t.Error("the copy does not serve with a hung server")
	}
}

// TestPruned: the server's change log is pruned after its retention. A copy
// that had not read the pruned changes is built again (it cannot miss
// them); one that had read them goes on pulling changes.
func TestPruned(t *testing.T) {
	url := pgtest.Shared(t).NewDB(t)
	s := server(t, url)
	var mu sync.Mutex
	events := map[string][]string{}
	open := func(name string) *replica.Replica {
		t.Helper()
		r, err := replica.Open(ctx, s, filepath.Join(t.TempDir(), name+".db"), store.Options{User: name}, replica.Options{Event: func(e replica.Event) {
			mu.Lock()
			events[name] = append(events[name], e.Kind)
			mu.Unlock()
		}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		return r
	}
	linkNew(t, s, "1001")
	behind := open("behind")
	id2 := linkNew(t, s, "2002")
	current := open("current")
	if _, err := s.Pool().Exec(ctx, "UPDATE revisions SET at = now() - interval '40 days'"); err != nil {
		t.Fatal(err)
	}
	server(t, url) // an administrator's command: it prunes on opening
	var left, pruned int64
	s.Pool().QueryRow(ctx, "SELECT (SELECT count(*) FROM changes), (SELECT pruned FROM clock)").Scan(&left, &pruned)
	if left != 0 || pruned == 0 {
		t.Fatalf("after an administrator's open: %d changes left, pruned up to %d", left, pruned)
	}
	if n, err := s.PruneChanges(ctx, postgres.Retention); err != nil || n != 0 {
		t.Fatalf("prune again: %d, %v", n, err)
	}
	mu.Lock()
	events = map[string][]string{}
	mu.Unlock()

	if err := behind.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if patronOf(t, behind, id2) != "2002" || !slices.Contains(events["behind"], "rebuilt") {
		t.Errorf("a copy behind the pruned log: %v", events["behind"])
	}
	id3 := linkNew(t, s, "3003")
	if err := current.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if patronOf(t, current, id3) != "3003" || slices.Contains(events["current"], "rebuilt") || !slices.Contains(events["current"], "synced") {
		t.Errorf("a copy that had read the pruned changes: %v", events["current"])
	}
}
