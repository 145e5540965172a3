package sqlite

import (
	"database/sql"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mykey-jp/mykey/store"
)

// liveWithLink is a registry with one MyKey ID linked to patron 12345678,
// bound to key "k1", and its backup.
func liveWithLink(t *testing.T) (*DB, string) {
	t.Helper()
	d := openTemp(t, store.Options{})
	id, err := d.NewID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Link(ctx, store.DefaultService, id, "12345678", store.LinkOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := d.BindKey(ctx, "k1"); err != nil {
		t.Fatal(err)
	}
	bk := filepath.Join(t.TempDir(), "backup.db")
	if err := d.Backup(ctx, bk); err != nil {
		t.Fatal(err)
	}
	return d, bk
}

// tamper copies the backup and runs statements on the copy with plain SQL.
func tamper(t *testing.T, bk string, stmts ...string) string {
	t.Helper()
	b, _ := os.ReadFile(bk)
	out := filepath.Join(t.TempDir(), "tampered.db")
	os.WriteFile(out, b, 0o600)
	db, err := sql.Open("sqlite3", "file:"+out)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
	return out
}

// state is what the live registry holds, to compare before and after.
func state(t *testing.T, d *DB) string {
	t.Helper()
	var b strings.Builder
	for _, q := range []string{"SELECT group_concat(service || '/' || mykey_id || '/' || patron) FROM links", "SELECT count(*) FROM audit",
		"SELECT group_concat(type || ':' || name) FROM sqlite_master"} {
		var s sql.NullString
		d.db.QueryRow(q).Scan(&s)
		b.WriteString(s.String + "|")
	}
	return b.String()
}

// TestRestoreRefusesHostileBackups feeds restore backups that were
// tampered with: each is refused, or restored without what is not mykey's
// (reported), and a refused one leaves the live registry as it was.
func TestRestoreRefusesHostileBackups(t *testing.T) {
	d, bk := liveWithLink(t)
	for _, tt := range []struct {
		name    string
		stmts   []string
		want    error  // nil: restored, with ignored reporting ignored
		ignored string // a part of the report's ignored objects
	}{
		{"trigger rewriting links", []string{"CREATE TRIGGER evil AFTER INSERT ON links BEGIN UPDATE links SET patron = '99999999' WHERE rowid = NEW.rowid; END"}, nil, "trigger evil on links"},
		{"a view", []string{"CREATE VIEW v AS SELECT * FROM links"}, nil, "view v on v"},
		{"an extra table", []string{"CREATE TABLE extra (x)", "INSERT INTO extra VALUES (1)"}, nil, "table extra on extra"},
		{"no unique index, a duplicate patron", []string{"DROP INDEX links_patron", "INSERT INTO mykey_ids VALUES ('0000001M', '2026-01-01T00:00:00Z')",
			"INSERT INTO links SELECT service, '0000001M', patron, linked_at FROM links"}, store.ErrCorrupt, ""},
		{"no append-only triggers", []string{"DROP TRIGGER audit_no_update", "DROP TRIGGER audit_no_delete"}, nil, ""},
		{"a link to an unknown MyKey ID", []string{"PRAGMA foreign_keys = off", "INSERT INTO links VALUES ('library', 'ZZZZZZZZ', '1', 'x')"}, store.ErrCorrupt, ""},
		{"a future schema", []string{"PRAGMA user_version = 99"}, store.ErrNotRegistry, ""},
		{"no schema version", []string{"PRAGMA user_version = 0"}, store.ErrNotRegistry, ""},
		{"a missing table", []string{"DROP TABLE certificates"}, store.ErrNotRegistry, ""},
		{"another key", []string{"UPDATE meta SET value = 'k2' WHERE key = 'key_fingerprint'"}, store.ErrKeyMismatch, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			bad := tamper(t, bk, tt.stmts...)
			before := state(t, d)
			rep, err := d.Restore(ctx, bad)
			if tt.want != nil {
				if !errors.Is(err, tt.want) {
					t.Fatalf("Restore = %v, want %v", err, tt.want)
				}
				if after := state(t, d); after != before {
					t.Fatalf("a refused restore changed the registry:\n%s\n%s", before, after)
				}
				return
			}
			if err != nil {
				t.Fatalf("Restore: %v", err)
			}
			if tt.ignored != "" && !strings.Contains(strings.Join(rep.Ignored, ";"), tt.ignored) {
				t.Errorf("report %q lacks %q", rep.Ignored, tt.ignored)
			}
			// The registry is mykey's schema with the backup's data: the
			// link reads and writes as it should.
			e, err := d.LookupPatron(ctx, store.DefaultService, "12345678")
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.Link(ctx, store.DefaultService, e.MyKeyID, "12345678", store.LinkOptions{}); err != nil {
				t.Fatal(err)
			}
			var n int
			d.db.QueryRow("SELECT count(*) FROM sqlite_master WHERE name IN ('evil', 'v', 'extra')").Scan(&n)
			if n != 0 {
				t.Fatal("a foreign schema object was restored")
			}
			if _, err := d.db.Exec("UPDATE audit SET outcome = 'x'"); err == nil {
				t.Fatal("the audit log is not append-only after the restore")
			}
		})
	}
}

// TestRestoreCorruptPage restores a backup with a damaged page: refused,
// the live registry unchanged, and a good backup still restores after.
func TestRestoreCorruptPage(t *testing.T) {
	d, bk := liveWithLink(t)
	b, _ := os.ReadFile(bk)
	bad := filepath.Join(t.TempDir(), "corrupt.db")
	if len(b) < 3*4096 {
		t.Fatalf("backup of %d bytes", len(b))
	}
	for i := 4096; i < 4096+12; i++ { // the b-tree header of the second page
		b[i] ^= 0x5a
	}
	os.WriteFile(bad, b, 0o600)
	before := state(t, d)
	if _, err := d.Restore(ctx, bad); !errors.Is(err, store.ErrCorrupt) && !errors.Is(err, store.ErrNotRegistry) {
		t.Fatalf("Restore(corrupt) = %v", err)
	}
	if state(t, d) != before {
		t.Fatal("a refused restore changed the registry")
	}
	if _, err := d.Restore(ctx, bk); err != nil {
		t.Fatalf("the good backup after a refused one: %v", err)
	}
}

// TestEmptyRegistryIsDamaged opens a 0-byte registry file: it is reported
// as damaged and left as it is, never started anew.
func TestEmptyRegistryIsDamaged(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	os.WriteFile(path, nil, 0o600)
	if _, err := Open(ctx, path, store.Options{}); !errors.Is(err, store.ErrCorrupt) || !strings.Contains(err.Error(), "empty") {
		t.Fatalf("Open(empty) = %v, want ErrCorrupt", err)
	}
	if fi, _ := os.Stat(path); fi.Size() != 0 {
		t.Fatal("the empty registry was written to")
	}
	if _, err := Open(ctx, t.TempDir(), store.Options{}); !errors.Is(err, store.ErrCannotOpen) {
		t.Fatalf("Open(folder) = %v, want ErrCannotOpen", err)
	}
}

// TestBackupVerifies checks that a backup is verified before it is
// reported, and never replaces or follows an existing path.
func TestBackupVerifies(t *testing.T) {
	d, bk := liveWithLink(t)
	if _, err := Check(ctx, bk); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	link := filepath.Join(dir, "link.db")
	target := filepath.Join(dir, "target")
	os.Symlink(target, link)
	if err := d.Backup(ctx, link); !errors.Is(err, fs.ErrExist) {
		t.Fatalf("Backup onto a dangling symlink = %v, want ErrExist", err)
	}
	if _, err := os.Lstat(target); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("the backup followed the symlink")
	}
	// A registry whose content breaks the rules (made so with plain SQL)
	// gives no backup.
	d.db.Exec("PRAGMA foreign_keys = off")
	if _, err := d.db.Exec("INSERT INTO links VALUES ('library', 'ZZZZZZZZ', '2', 'x')"); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "bad-backup.db")
	if err := d.Backup(ctx, out); !errors.Is(err, store.ErrCorrupt) {
		t.Fatalf("Backup of a broken registry = %v, want ErrCorrupt", err)
	}
	if _, err := os.Stat(out); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("an unverified backup was left behind")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".tmp") {
			t.Errorf("left over: %s", e.Name())
		}
	}
}

// TestAuditTamperEvident rewrites, removes and slips in audit entries with
// plain SQL: what SQLite can block is blocked, and what it cannot (with its
// triggers dropped) breaks the chain at the entry, which verify names and
// restore refuses.
func TestAuditTamperEvident(t *testing.T) {
	for _, tt := range []struct {
		name  string
		stmts []string
		at    int64 // the first entry that no longer verifies
	}{
		{"rewritten", []string{"DROP TRIGGER audit_no_update", "UPDATE audit SET outcome = 'ok', detail = '' WHERE seq = 3"}, 3},
		{"removed", []string{"DROP TRIGGER audit_no_delete", "DELETE FROM audit WHERE seq = 2"}, 3},
		{"slipped in", []string{"DROP TRIGGER audit_no_replace", "DELETE FROM audit WHERE 0",
			"INSERT INTO audit (seq, at, os_user, action, mykey_id, outcome, detail, hash) SELECT 100, at, os_user, action, mykey_id, outcome, detail, hash FROM audit WHERE seq = 4"}, 100},
	} {
		t.Run(tt.name, func(t *testing.T) {
			d, _ := liveWithLink(t)
			for _, s := range tt.stmts {
				if _, err := d.db.Exec(s); err != nil {
					t.Fatalf("%s: %v", s, err)
				}
			}
			var be *store.AuditBreakError
			if _, err := d.VerifyAudit(ctx); !errors.As(err, &be) || be.Seq != tt.at {
				t.Fatalf("VerifyAudit = %v, want a break at %d", err, tt.at)
			}
			bk := filepath.Join(t.TempDir(), "b.db")
			if err := d.Backup(ctx, bk); !errors.Is(err, store.ErrAuditBroken) {
				t.Fatalf("Backup of a broken log = %v, want ErrAuditBroken", err)
			}
		})
	}
	d, bk := liveWithLink(t)
	for _, s := range []string{
		"UPDATE audit SET outcome = 'ok'",
		"DELETE FROM audit",
		"INSERT OR REPLACE INTO audit (seq, at, os_user, action, mykey_id, outcome, detail) VALUES (1, 'x', 'x', 'x', '', 'x', 'x')",
		"UPDATE audit SET hash = NULL",
	} {
		if _, err := d.db.Exec(s); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want refused", s, err)
		}
	}
	if n, err := d.VerifyAudit(ctx); err != nil || n < 4 {
		t.Fatalf("VerifyAudit = %d, %v", n, err)
	}
	bad := tamper(t, bk, "DROP TRIGGER audit_no_update", "UPDATE audit SET detail = 'x' WHERE seq = 1")
	if _, err := d.Restore(ctx, bad); !errors.Is(err, store.ErrAuditBroken) {
		t.Fatalf("Restore of a backup with a broken chain = %v", err)
	}
}

// TestChainsAnOlderAuditLog opens a version 4 registry with audit entries
// made before the chain: they get their hashes, and the log verifies.
func TestChainsAnOlderAuditLog(t *testing.T) {
	path := filepath.Join(t.TempDir(), "v4.db")
	raw, err := sql.Open("sqlite3", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	for _, name := range names[:4] {
		body, _ := migrations.ReadFile(name)
		if _, err := raw.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	for _, q := range []string{"PRAGMA user_version = 4",
		"INSERT INTO audit (at, os_user, action, mykey_id, outcome, detail) VALUES ('2026-01-01T00:00:00Z', 'a', 'id.new', '00000012', 'ok', ''), ('2026-01-02T00:00:00Z', 'b', 'lookup', '', 'not-found', 'service=library')"} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()
	d, err := Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	d.Audit(ctx, store.AuditEntry{Action: store.ActionList, Outcome: "ok"})
	if n, err := d.VerifyAudit(ctx); n != 3 || err != nil {
		t.Fatalf("VerifyAudit = %d, %v", n, err)
	}
}
