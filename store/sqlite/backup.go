package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/mykey-jp/mykey/internal/fileperm"
	"github.com/mykey-jp/mykey/store"
)

// ErrNotRegistry is store.ErrNotRegistry.
var ErrNotRegistry = store.ErrNotRegistry

// table is a table of the registry with the columns a backup's data is
// copied from, and the schema version that made it.
type table struct {
	name  string
	since int
	cols  []string
}

// tables are the registry's tables, parents before children.
var tables = []table{
	{"mykey_ids", 1, []string{"id", "created_at"}},
	{"certificates", 1, []string{"pseudonym", "mykey_id", "not_after", "status", "registered_at"}},
	{"links", 1, []string{"service", "mykey_id", "patron", "linked_at"}},
	{"audit", 1, []string{"seq", "at", "os_user", "action", "mykey_id", "outcome", "detail"}},
	{"rosters", 2, []string{"service", "loaded_at", "patrons"}},
	{"roster_patrons", 2, []string{"service", "patron", "active", "expires"}},
	{"meta", 4, []string{"key", "value"}},
	{"genuine", 6, []string{"mykey_id", "mode", "dob", "card_key", "key_fp", "captured_at"}},
}

// ownObjects are the other schema objects mykey makes: a backup holding
// anything else (a trigger, a view, a table) gets it ignored and reported.
var ownObjects = []string{"sqlite_sequence", "certificates_mykey_id", "links_mykey_id", "links_patron", "audit_no_update", "audit_no_delete"}

// RestoreReport is store.RestoreReport.
type RestoreReport = store.RestoreReport

// copyDB copies the main database of src into dst with SQLite's online
// backup, which is consistent while other connections write, and replaces
// dst's content in one write transaction.
func copyDB(ctx context.Context, dst, src *sql.DB) error {
	dc, err := dst.Conn(ctx)
	if err != nil {
		return err
	}
	defer dc.Close()
	sc, err := src.Conn(ctx)
	if err != nil {
		return err
	}
	defer sc.Close()
	return dc.Raw(func(d any) error {
		return sc.Raw(func(s any) error { return step(ctx, d.(*sqlite3.SQLiteConn), s.(*sqlite3.SQLiteConn)) })
	})
}

func step(ctx context.Context, dst, src *sqlite3.SQLiteConn) error {
	b, err := dst.Backup("main", src, "main")
	if err != nil {
		return err
	}
	for {
		done, err := b.Step(256)
		if err != nil {
			b.Finish()
			return err
		}
		if done {
			return b.Finish()
		}
		if err := ctx.Err(); err != nil {
			b.Finish()
			return err
		}
	}
}

// regularFile refuses what is not a plain file (a FIFO, a device, a
// folder) before anything reads it.
func regularFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: %w: not a regular file (%s)", path, ErrNotRegistry, fi.Mode().Type())
	}
	return nil
}

// removeDB removes a database file and its journal files.
func removeDB(path string) {
	for _, s := range []string{"", "-wal", "-shm", "-journal"} {
		os.Remove(path + s)
	}
}

// rebuild makes a fresh registry at dst with this mykey's own migrations
// and copies into it only the known tables' known columns of the backup at
// src (a registry of this or an older schema), so that the fresh schema's
// rules (types, checks, foreign keys, uniqueness, the append-only audit
// log) hold for every row. It then verifies the copy: integrity, foreign
// keys, and that every row arrived. dst is replaced.
func rebuild(ctx context.Context, src, dst string) (RestoreReport, error) {
	rep := RestoreReport{Rows: map[string]int{}}
	if err := regularFile(src); err != nil {
		return rep, err
	}
	b, err := sql.Open("sqlite3", "file:"+filepath.ToSlash(src)+"?mode=ro")
	if err != nil {
		return rep, err
	}
	defer b.Close()
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	if err := b.QueryRowContext(ctx, "PRAGMA user_version").Scan(&rep.Version); err != nil {
		return rep, fmt.Errorf("%s: %w: %v", src, ErrNotRegistry, err)
	}
	switch {
	case rep.Version < 1:
		return rep, fmt.Errorf("%s: %w: no mykey schema version", src, ErrNotRegistry)
	case rep.Version > len(names):
		return rep, fmt.Errorf("%s: %w: schema version %d is from a newer mykey (this one knows up to %d); restore it with that version", src, ErrNotRegistry, rep.Version, len(names))
	}
	var ok string
	if err := b.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		return rep, fmt.Errorf("%s: %w: the integrity check says %q (%v)", src, store.ErrCorrupt, ok, err)
	}
	if rep.Ignored, err = foreignObjects(ctx, b, rep.Version); err != nil {
		return rep, fmt.Errorf("%s: %w", src, err)
	}
	removeDB(dst)
	fresh, err := Open(ctx, dst, store.Options{})
	if err != nil {
		return rep, err
	}
	defer fresh.Close()
	conn, err := fresh.db.Conn(ctx)
	if err != nil {
		return rep, err
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "ATTACH DATABASE ? AS b", "file:"+filepath.ToSlash(src)+"?mode=ro"); err != nil {
		return rep, fmt.Errorf("%s: %w: %v", src, ErrNotRegistry, err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), "DETACH DATABASE b")
	if err := copyTables(ctx, conn, rep); err != nil {
		return rep, fmt.Errorf("%s: %w", src, err)
	}
	if rep.Version < 5 { // before the chain: make it now
		if err := txOn(ctx, conn, func(tx *sql.Tx) error { return chainAudit(ctx, tx) }); err != nil {
			return rep, err
		}
	}
	if _, err := fresh.VerifyAudit(ctx); err != nil {
		return rep, fmt.Errorf("%s: %w: %w", src, store.ErrCorrupt, err)
	}
	if rep.Key, _, err = fresh.KeyBinding(ctx); err != nil {
		return rep, err
	}
	return rep, verify(ctx, conn)
}

// foreignObjects lists the backup's schema objects that are not mykey's,
// and fails when one of the tables of its schema version is missing.
func foreignObjects(ctx context.Context, b *sql.DB, version int) ([]string, error) {
	rows, err := b.QueryContext(ctx, "SELECT type, name, tbl_name FROM sqlite_master WHERE name NOT LIKE 'sqlite_autoindex_%'")
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotRegistry, err)
	}
	defer rows.Close()
	have := map[string]bool{}
	var ignored []string
	for rows.Next() {
		var typ, name, tbl string
		if err := rows.Scan(&typ, &name, &tbl); err != nil {
			return nil, err
		}
		have[name] = true
		if !slices.Contains(ownObjects, name) && !slices.ContainsFunc(tables, func(t table) bool { return t.name == name }) {
			ignored = append(ignored, fmt.Sprintf("%s %s on %s", typ, name, tbl))
		}
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, t := range tables {
		if t.since <= version && !have[t.name] {
			return nil, fmt.Errorf("%w: table %s is missing", ErrNotRegistry, t.name)
		}
	}
	return ignored, nil
}

// copyTables copies the known columns of the attached backup b into main,
// in one transaction, under the fresh schema's rules.
func copyTables(ctx context.Context, conn *sql.Conn, rep RestoreReport) error {
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	for _, t := range tables {
		if t.since > rep.Version {
			continue
		}
		cols := strings.Join(t.cols, ", ")
		if t.name == "audit" && rep.Version >= 5 {
			cols += ", hash" // the chain, verified after the copy
		}
		var want int64
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM b."+t.name).Scan(&want); err != nil {
			return fmt.Errorf("%w: table %s: %v", ErrNotRegistry, t.name, err)
		}
		res, err := tx.ExecContext(ctx, fmt.Sprintf("INSERT INTO main.%s (%s) SELECT %s FROM b.%s", t.name, cols, cols, t.name))
		if err != nil {
			return fmt.Errorf("%w: table %s breaks the registry's rules: %v", store.ErrCorrupt, t.name, err)
		}
		if n, _ := res.RowsAffected(); n != want {
			return fmt.Errorf("%w: table %s: %d of %d rows copied", store.ErrCorrupt, t.name, n, want)
		}
		rep.Rows[t.name] = int(want)
	}
	return tx.Commit()
}

// verify checks a rebuilt registry: foreign keys and integrity.
func verify(ctx context.Context, conn *sql.Conn) error {
	rows, err := conn.QueryContext(ctx, "PRAGMA main.foreign_key_check")
	if err != nil {
		return err
	}
	bad := rows.Next()
	rows.Close()
	if bad {
		return fmt.Errorf("%w: rows refer to missing MyKey IDs", store.ErrCorrupt)
	}
	var ok string
	if err := conn.QueryRowContext(ctx, "PRAGMA main.integrity_check").Scan(&ok); err != nil || ok != "ok" {
		return fmt.Errorf("%w: the rebuilt registry's integrity check says %q (%v)", store.ErrCorrupt, ok, err)
	}
	return nil
}

// Check reports whether the file at path is a backup this mykey would
// restore: it rebuilds it in a temporary file beside it, then removes that.
func Check(ctx context.Context, path string) (RestoreReport, error) {
	tmp, err := tempBeside(path, ".check-*.tmp")
	if err != nil {
		return RestoreReport{}, err
	}
	defer removeDB(tmp)
	return rebuild(ctx, path, tmp)
}

// tempBeside reserves a temporary file name in path's folder (owner-only).
func tempBeside(path, pattern string) (string, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+pattern)
	if err != nil {
		return "", err
	}
	name := f.Name()
	f.Close()
	os.Remove(name)
	return name, nil
}

// Backup writes a consistent copy of the registry to path (a new file, mode
// 0600; an existing path, or a link there, is fs.ErrExist), safe while the
// desk service runs, and verifies it as restore would before it reports
// success: a backup restore would refuse is never left behind. The copy
// never holds the pseudonym secret, which lives in its own file.
func (d *DB) Backup(ctx context.Context, path string) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s: %w", path, fs.ErrExist)
	}
	tmp, err := tempBeside(path, ".partial-*.tmp")
	if err != nil {
		return err
	}
	defer removeDB(tmp)
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	f.Close()
	if err := fileperm.RestrictToOwner(tmp); err != nil { // personal data: owner-only on Windows too
		return err
	}
	dst, err := sql.Open("sqlite3", "file:"+filepath.ToSlash(tmp))
	if err != nil {
		return err
	}
	err = copyDB(ctx, dst, d.db)
	if cerr := dst.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("backing up to %s: %w", path, err)
	}
	if _, err := Check(ctx, tmp); err != nil {
		return fmt.Errorf("backing up to %s: the copy does not verify, so it was removed: %w", path, err)
	}
	if err := os.Link(tmp, path); err != nil { // never replaces a file made meanwhile
		return err
	}
	// The backup exists: record it even if ctx ends now (Ctrl-C).
	return d.Audit(context.WithoutCancel(ctx), store.AuditEntry{Action: store.ActionBackup, Outcome: "ok", Detail: "file=" + filepath.Base(path)})
}

// Restore replaces the registry's content with the backup at path. The
// backup is rebuilt into a fresh registry beside the live one (see
// rebuild); only when that verifies, and the backup belongs to the same
// pseudonym key (store.ErrKeyMismatch), does one write transaction replace
// the live content, so any failure leaves the live registry as it was. The
// audit log is not rolled back: the entries written since the backup are
// carried over, and the restore is recorded with what was ignored.
func (d *DB) Restore(ctx context.Context, path string) (RestoreReport, error) {
	tmp, err := tempBeside(d.path, ".restore-*.tmp")
	if err != nil {
		return RestoreReport{}, err
	}
	defer removeDB(tmp)
	rep, err := rebuild(ctx, path, tmp)
	if err != nil {
		return rep, err
	}
	fresh, err := Open(ctx, tmp, store.Options{})
	if err != nil {
		return rep, err
	}
	defer fresh.Close()
	if err := d.carryOver(ctx, fresh, path); err != nil {
		return rep, err
	}
	if err := copyDB(ctx, d.db, fresh.db); err != nil {
		return rep, d.wrap(fmt.Errorf("restoring from %s: %w", path, err))
	}
	detail := fmt.Sprintf("file=%s version=%d ignored=%d", filepath.Base(path), rep.Version, len(rep.Ignored))
	return rep, d.Audit(context.WithoutCancel(ctx), store.AuditEntry{Action: store.ActionRestore, Outcome: "ok", Detail: detail})
}

// carryOver checks that the rebuilt backup belongs to the live registry's
// key (binding it when the backup predates bindings), and appends the live
// audit entries written since the backup to it.
func (d *DB) carryOver(ctx context.Context, fresh *DB, path string) error {
	live, _, err := d.KeyBinding(ctx)
	if err != nil {
		return err
	}
	var last int64
	if err := fresh.db.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) FROM audit").Scan(&last); err != nil {
		return err
	}
	if old, _, err := fresh.KeyBinding(ctx); err != nil {
		return err
	} else if live != "" && old != "" && old != live {
		return fmt.Errorf("%s: %w: the backup was made with key %s, this registry uses %s", path, store.ErrKeyMismatch, old, live)
	}
	if live != "" {
		if err := fresh.BindKey(ctx, live); err != nil {
			return err
		}
	}
	log, err := d.AuditLog(ctx, 0)
	if err != nil {
		return err
	}
	return fresh.tx(ctx, func(tx *sql.Tx) error {
		for _, e := range log {
			if e.Seq <= last {
				continue
			}
			if err := fresh.appendAudit(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
}
