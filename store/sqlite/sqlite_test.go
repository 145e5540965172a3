package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/keyid"
	"github.com/mykey-jp/mykey/store"
	"github.com/mykey-jp/mykey/store/storetest"
)

var ctx = context.Background()

func openTemp(t testing.TB, opts store.Options) *DB {
	t.Helper()
	d, err := Open(ctx, filepath.Join(t.TempDir(), "registry.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestSuite(t *testing.T) {
	storetest.Run(t, func(t testing.TB, opts store.Options) store.Registry {
		return openTemp(t, opts)
	})
}

func TestFileModes(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("Unix permission bits")
	}
	dir := filepath.Join(t.TempDir(), "data")
	path := filepath.Join(dir, "registry.db")
	d, err := Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.NewID(ctx); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s mode %04o, want 0600", filepath.Base(p), fi.Mode().Perm())
		}
	}
	if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %04o, want 0700", fi.Mode().Perm())
	}
	d.Close()
}

func TestPersistsAndMigratesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	d, err := Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	id, _ := d.NewID(ctx)
	d.Link(ctx, store.DefaultService, id, "1234", store.LinkOptions{})
	d.Close()
	d, err = Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	e, err := d.LookupPatron(ctx, store.DefaultService, "1234")
	if err != nil || e.MyKeyID != id {
		t.Fatalf("after reopen: %+v, %v", e, err)
	}
}

func TestAuditIsAppendOnly(t *testing.T) {
	d := openTemp(t, store.Options{})
	d.NewID(ctx)
	for _, q := range []string{"UPDATE audit SET outcome = 'x'", "DELETE FROM audit"} {
		if _, err := d.db.Exec(q); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v", q, err)
		}
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.db")
	os.WriteFile(garbage, []byte(strings.Repeat("this is not a database\n", 300)), 0o600)
	foreign := filepath.Join(dir, "foreign.db")
	{
		d, err := Open(ctx, filepath.Join(dir, "seed.db"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		d.db.Exec("PRAGMA user_version = 99")
		d.Close()
	}
	tooNew := filepath.Join(dir, "seed.db")
	{
		d, err := Open(ctx, filepath.Join(dir, "other.db"), store.Options{})
		if err != nil {
			t.Fatal(err)
		}
		d.db.Exec("PRAGMA user_version = 0")
		d.Close()
		os.Rename(filepath.Join(dir, "other.db"), foreign)
	}
	tests := []struct {
		path string
		want error
	}{
		{garbage, store.ErrCorrupt},
		{foreign, store.ErrCorrupt},
		{tooNew, store.ErrSchemaTooNew},
	}
	if runtime.GOOS != "windows" {
		ro := filepath.Join(dir, "ro")
		os.Mkdir(ro, 0o500)
		if os.Geteuid() == 0 {
			// Permission bits do not stop root; sysfs refuses everyone.
			ro = "/sys/mykey-test"
		}
		tests = append(tests, struct {
			path string
			want error
		}{filepath.Join(ro, "registry.db"), store.ErrReadOnly})
	}
	// A directory where the file should be: cannot open.
	asDir := filepath.Join(dir, "adir.db")
	os.Mkdir(asDir, 0o700)
	tests = append(tests, struct {
		path string
		want error
	}{asDir, store.ErrCannotOpen})
	for _, tt := range tests {
		d, err := Open(ctx, tt.path, store.Options{})
		if !errors.Is(err, tt.want) {
			t.Errorf("Open(%s) = %v, want %v", filepath.Base(tt.path), err, tt.want)
		}
		if err != nil && !strings.Contains(err.Error(), tt.path) {
			t.Errorf("error %q does not name the file", err)
		}
		if d != nil {
			d.Close()
		}
	}
}

// TestBusy holds the write lock from another connection: a writer gives up
// after the busy timeout with ErrBusy, and succeeds once the lock is gone.
func TestBusy(t *testing.T) {
	defer func(old time.Duration) { BusyTimeout = old }(BusyTimeout)
	BusyTimeout = 200 * time.Millisecond
	path := filepath.Join(t.TempDir(), "registry.db")
	d, err := Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	other, err := Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.db.BeginTx(ctx, nil) // BEGIN IMMEDIATE: takes the write lock
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.NewID(ctx); !errors.Is(err, store.ErrBusy) || !strings.Contains(err.Error(), path) {
		t.Fatalf("NewID under lock = %v, want ErrBusy naming the file", err)
	}
	tx.Rollback()
	if _, err := d.NewID(ctx); err != nil {
		t.Fatalf("NewID after unlock: %v", err)
	}
}

// TestConcurrentProcesses runs two real processes that link at the same
// time on one file: every operation succeeds or fails cleanly, no link is
// lost, and the contested patron number ends up with exactly one MyKey ID.
func TestConcurrentProcesses(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	d, err := Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	const perProcess = 40
	var wg sync.WaitGroup
	outs := make([]string, 2)
	errs := make([]error, 2)
	for p := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
			cmd.Env = append(os.Environ(), "MYKEY_HELPER_DB="+path, fmt.Sprintf("MYKEY_HELPER_N=%d", p))
			out, err := cmd.CombinedOutput()
			outs[p], errs[p] = string(out), err
		}()
	}
	wg.Wait()
	for p := range 2 {
		if errs[p] != nil {
			t.Fatalf("process %d: %v\n%s", p, errs[p], outs[p])
		}
	}
	d, err = Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	list, _ := d.List(ctx, store.DefaultService)
	if len(list) != 2*perProcess+2 {
		t.Errorf("%d MyKey IDs, want %d", len(list), 2*perProcess+2)
	}
	linked := 0
	for _, e := range list {
		if e.Link != nil {
			linked++
		}
	}
	if linked != 2*perProcess+1 {
		t.Errorf("%d links, want %d (each own patron plus one winner of the contested one)", linked, 2*perProcess+1)
	}
	won := strings.Count(outs[0]+outs[1], "contested:ok")
	lost := strings.Count(outs[0]+outs[1], "contested:patron-linked")
	if won != 1 || lost != 1 {
		t.Errorf("contested patron: %d won, %d lost\n%s\n%s", won, lost, outs[0], outs[1])
	}
}

func TestHelperProcess(t *testing.T) {
	path := os.Getenv("MYKEY_HELPER_DB")
	if path == "" {
		return // only a child process of TestConcurrentProcesses does work
	}
	n := os.Getenv("MYKEY_HELPER_N")
	d, err := Open(ctx, path, store.Options{User: "proc" + n})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	for i := range 40 {
		id, err := d.NewID(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Link(ctx, store.DefaultService, id, fmt.Sprintf("%s%05d", n, i), store.LinkOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	id, err := d.NewID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Link(ctx, store.DefaultService, id, "99999", store.LinkOptions{})
	fmt.Printf("contested:%s\n", store.Outcome(err))
	if err != nil && !errors.Is(err, store.ErrPatronLinked) {
		t.Fatal(err)
	}
}

func BenchmarkLookupPatron(b *testing.B) {
	d := openTemp(b, store.Options{})
	var ids []keyid.ID
	for i := range 1000 {
		id, _ := d.NewID(ctx)
		d.Link(ctx, store.DefaultService, id, fmt.Sprintf("%08d", i), store.LinkOptions{})
		ids = append(ids, id)
	}
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := d.LookupID(ctx, store.DefaultService, ids[i%len(ids)]); err != nil {
			b.Fatal(err)
		}
	}
}

// TestImportLinksPaths imports into an empty links table (indexes dropped
// and rebuilt) and into one holding more links than the import (indexes
// updated in place), and checks the result the same way: every link back,
// text intact, both uniqueness rules and the foreign key still enforced.
func TestImportLinksPaths(t *testing.T) {
	svc := store.DefaultService
	patron := func(i int) string {
		switch i % 4 {
		case 0:
			return fmt.Sprintf("%08d", i) // leading zeros stay text
		case 1:
			return fmt.Sprintf(`p"%d\x`, i) // JSON-escaped on the way in
		case 2:
			return fmt.Sprintf("利用者%d", i)
		}
		return fmt.Sprintf("tab\t%d", i)
	}
	for _, tc := range []struct {
		name              string
		existing, import_ int
		wantRebuild       bool
	}{
		{"rebuild", 0, 300, true},
		{"rebuild over fewer links", 100, 200, true},
		{"in place", 200, 60, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := openTemp(t, store.Options{})
			d.db.SetMaxOpenConns(1) // the import's connection is the one checked below
			ids := make([]keyid.ID, tc.existing+tc.import_)
			for i := range ids {
				var err error
				if ids[i], err = d.NewID(ctx); err != nil {
					t.Fatal(err)
				}
			}
			for i := range tc.existing {
				if _, err := d.Link(ctx, svc, ids[i], patron(i), store.LinkOptions{}); err != nil {
					t.Fatal(err)
				}
			}
			var rows []store.BatchLink
			for i := tc.existing; i < len(ids); i++ {
				rows = append(rows, store.BatchLink{Line: i + 2, Service: svc, MyKeyID: ids[i], Patron: patron(i)})
			}
			var before, after int // the schema changes when indexes are dropped and rebuilt
			d.db.QueryRow("PRAGMA schema_version").Scan(&before)
			res, committed, err := d.ImportLinks(ctx, rows, func([]store.BatchResult) bool { return true })
			if err != nil || !committed {
				t.Fatalf("import: %v, committed %v", err, committed)
			}
			d.db.QueryRow("PRAGMA schema_version").Scan(&after)
			if rebuilt := after != before; rebuilt != tc.wantRebuild {
				t.Errorf("indexes rebuilt: %v, want %v", rebuilt, tc.wantRebuild)
			}
			for i, r := range res {
				if r.Outcome != store.BatchLinked {
					t.Fatalf("row %d: %+v", rows[i].Line, r)
				}
			}
			for i, id := range ids {
				e, err := d.LookupPatron(ctx, svc, patron(i))
				if err != nil || e.MyKeyID != id {
					t.Fatalf("patron %q: %+v, %v", patron(i), e, err)
				}
			}
			var indexes string
			d.db.QueryRow("SELECT group_concat(name, ' ') FROM (SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'links' ORDER BY name)").Scan(&indexes)
			if indexes != "links_mykey_id links_patron" {
				t.Errorf("links indexes after the import: %q", indexes)
			}
			var fk int
			d.db.QueryRow("PRAGMA foreign_keys").Scan(&fk)
			if fk != 1 {
				t.Errorf("foreign keys off after the import")
			}
			for _, bad := range []struct{ id, patron, want string }{
				{string(ids[0]), "new-patron", "UNIQUE"},         // the ID's second patron
				{string(ids[1]), patron(len(ids) - 1), "UNIQUE"}, // a taken patron number
				{"00000012", "new-patron-2", "FOREIGN KEY"},      // no such MyKey ID
			} {
				_, err := d.db.Exec("INSERT INTO links (service, mykey_id, patron, linked_at) VALUES (?, ?, ?, 'x')", svc, bad.id, bad.patron)
				if err == nil || !strings.Contains(err.Error(), bad.want) {
					t.Errorf("insert %s %s: %v, want a %s failure", bad.id, bad.patron, err, bad.want)
				}
			}
		})
	}
}

// The import tells its progress after each chunk of links written, the
// last call with all of them.
func TestImportLinksProgress(t *testing.T) {
	d := openTemp(t, store.Options{})
	n := 2*importChunk + 1
	tx, err := d.db.Begin()
	if err != nil {
		t.Fatal(err)
	}
	var rows []store.BatchLink
	for len(rows) < n {
		id, err := keyid.New(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if r, err := tx.Exec("INSERT OR IGNORE INTO mykey_ids (id, created_at) VALUES (?, 'x')", string(id)); err != nil {
			t.Fatal(err)
		} else if k, _ := r.RowsAffected(); k == 1 {
			rows = append(rows, store.BatchLink{Line: len(rows) + 2, Service: store.DefaultService, MyKeyID: id, Patron: fmt.Sprint(len(rows))})
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	var calls [][2]int
	_, committed, err := d.ImportLinksFrom(ctx, func() ([]store.BatchLink, error) { return rows, nil },
		func([]store.BatchResult) bool { return true },
		func(written, total int) { calls = append(calls, [2]int{written, total}) })
	want := [][2]int{{importChunk, n}, {2 * importChunk, n}, {n, n}}
	if err != nil || !committed || !slices.Equal(calls, want) {
		t.Fatalf("import: %v, committed %v, progress %v, want %v", err, committed, calls, want)
	}
}

// writeVersion2 writes a registry as a mykey at schema version 2 (inline
// link constraints) left it: two MyKey IDs, the first linked to 0042.
func writeVersion2(t *testing.T, path string) {
	t.Helper()
	raw, err := sql.Open("sqlite3", "file:"+path+"?_foreign_keys=on")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, name := range []string{"migrations/0001_init.sql", "migrations/0002_roster.sql"} {
		body, _ := migrations.ReadFile(name)
		if _, err := raw.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	for _, q := range []string{
		"PRAGMA user_version = 2",
		"INSERT INTO mykey_ids VALUES ('00000012', '2026-01-01T00:00:00Z'), ('0000001M', '2026-01-01T00:00:00Z')",
		"INSERT INTO links VALUES ('library', '00000012', '0042', '2026-01-02T00:00:00Z')",
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}

// TestMigratesVersion2Links opens a version 2 registry, and restores a
// version 2 backup into a current one: the links survive the move to named
// indexes, and the rules still hold.
func TestMigratesVersion2Links(t *testing.T) {
	opened := filepath.Join(t.TempDir(), "v2.db")
	writeVersion2(t, opened)
	d, err := Open(ctx, opened, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	backup := filepath.Join(t.TempDir(), "v2-backup.db")
	writeVersion2(t, backup)
	restored := openTemp(t, store.Options{})
	if _, err := restored.Restore(ctx, backup); err != nil {
		t.Fatalf("restoring a version 2 backup: %v", err)
	}
	for name, d := range map[string]*DB{"opened": d, "restored": restored} {
		var version int
		d.db.QueryRow("PRAGMA user_version").Scan(&version)
		if names, _ := fs.Glob(migrations, "migrations/*.sql"); version != len(names) {
			t.Errorf("%s: schema version %d, want %d", name, version, len(names))
		}
		if e, err := d.LookupPatron(ctx, "library", "0042"); err != nil || e.MyKeyID != "00000012" || !e.Link.LinkedAt.Equal(time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)) {
			t.Errorf("%s: link after the migration: %+v, %v", name, e, err)
		}
		if _, err := d.Link(ctx, "library", "0000001M", "0042", store.LinkOptions{}); !errors.Is(err, store.ErrPatronLinked) {
			t.Errorf("%s: linking a taken patron number after the migration: %v", name, err)
		}
		if _, err := d.db.Exec("INSERT INTO links VALUES ('library', '0000001M', '0042', 'x')"); err == nil || !strings.Contains(err.Error(), "UNIQUE") {
			t.Errorf("%s: the patron rule is gone from the schema: %v", name, err)
		}
	}
}

// TestDeskDuringImport looks a linked MyKey ID up and writes audit entries
// from a second handle on the file (as the desk service does) all through
// an import that drops and rebuilds the links indexes: every lookup finds
// the link, and the writes wait for the import instead of failing.
func TestDeskDuringImport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	admin, err := Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	desk, err := Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer desk.Close()
	known, _ := admin.NewID(ctx)
	if _, err := admin.Link(ctx, store.DefaultService, known, "0001", store.LinkOptions{}); err != nil {
		t.Fatal(err)
	}
	const n = 50_000
	rows := make([]store.BatchLink, n)
	var args []any
	seen := map[keyid.ID]bool{known: true}
	for i := 0; i < n; {
		id, err := keyid.New(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		if seen[id] { // 50k random IDs repeat one now and then
			continue
		}
		seen[id] = true
		rows[i] = store.BatchLink{Line: i + 2, Service: store.DefaultService, MyKeyID: id, Patron: fmt.Sprintf("P%07d", i)}
		args = append(args, string(id))
		i++
	}
	for len(args) > 0 {
		k := min(len(args), 500)
		if _, err := admin.db.Exec("INSERT INTO mykey_ids (id, created_at) VALUES "+strings.TrimSuffix(strings.Repeat("(?, 'x'),", k), ","), args[:k]...); err != nil {
			t.Fatal(err)
		}
		args = args[k:]
	}
	stop := make(chan struct{})
	var lookups, audits int
	var deskErr error
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			e, err := desk.LookupID(ctx, store.DefaultService, known)
			if err != nil || e.Link == nil || e.Link.Patron != "0001" {
				deskErr = fmt.Errorf("lookup %d: %+v, %v", lookups, e, err)
				return
			}
			lookups++
			if lookups%50 == 0 {
				if err := desk.Audit(ctx, store.AuditEntry{Action: "scan", MyKeyID: known, Outcome: "ok"}); err != nil {
					deskErr = fmt.Errorf("audit %d: %v", audits, err)
					return
				}
				audits++
			}
		}
	}()
	var before, after int
	admin.db.QueryRow("PRAGMA schema_version").Scan(&before)
	_, committed, err := admin.ImportLinks(ctx, rows, func([]store.BatchResult) bool { return true })
	admin.db.QueryRow("PRAGMA schema_version").Scan(&after)
	time.Sleep(50 * time.Millisecond) // lookups after the commit too
	close(stop)
	<-done
	if err != nil || !committed {
		t.Fatalf("import: %v, %v", err, committed)
	}
	if deskErr != nil {
		t.Fatal(deskErr)
	}
	if after == before {
		t.Fatal("the import did not rebuild the indexes; the test needs it to")
	}
	if lookups < 10 {
		t.Fatalf("only %d lookups ran during the import", lookups)
	}
	e, err := desk.LookupPatron(ctx, store.DefaultService, fmt.Sprintf("P%07d", n-1))
	if err != nil || e.MyKeyID != rows[n-1].MyKeyID {
		t.Errorf("the desk after the import: %+v, %v", e, err)
	}
	t.Logf("%d lookups and %d audit entries during and after the import", lookups, audits)
}
