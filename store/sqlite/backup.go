package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/mykey-jp/mykey/store"
)

// ErrNotRegistry is store.ErrNotRegistry.
var ErrNotRegistry = store.ErrNotRegistry

// copyDB copies the main database of src into dst with SQLite's online
// backup, which is consistent while other connections write.
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
		return sc.Raw(func(s any) error {
			b, err := d.(*sqlite3.SQLiteConn).Backup("main", s.(*sqlite3.SQLiteConn), "main")
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
		})
	})
}

// Backup writes a consistent copy of the registry to path (a new file, mode
// 0600), safe while the desk service runs. The copy never holds the
// pseudonym secret, which lives in its own file.
func (d *DB) Backup(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s: %w", path, fs.ErrExist)
	}
	tmp := path + ".partial"
	os.Remove(tmp)
	if err := create(tmp); err != nil {
		return err
	}
	defer os.Remove(tmp)
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
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	// The backup exists: record it even if ctx ends now (Ctrl-C).
	return d.Audit(context.WithoutCancel(ctx), store.AuditEntry{Action: store.ActionBackup, Outcome: "ok", Detail: "file=" + filepath.Base(path)})
}

// Check opens the file at path read-only and reports whether it is a sound
// registry of a schema this mykey knows.
func Check(ctx context.Context, path string) error {
	if _, err := os.Stat(path); err != nil {
		return err
	}
	db, err := sql.Open("sqlite3", "file:"+filepath.ToSlash(path)+"?mode=ro")
	if err != nil {
		return err
	}
	defer db.Close()
	var version int
	if err := db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return fmt.Errorf("%s: %w: %v", path, ErrNotRegistry, err)
	}
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	if version < 1 || version > len(names) {
		return fmt.Errorf("%s: %w: schema version %d", path, ErrNotRegistry, version)
	}
	for _, t := range []string{"mykey_ids", "certificates", "links", "audit"} {
		var n int
		if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?", t).Scan(&n); err != nil || n != 1 {
			return fmt.Errorf("%s: %w: table %s missing", path, ErrNotRegistry, t)
		}
	}
	var ok string
	if err := db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&ok); err != nil || ok != "ok" {
		return fmt.Errorf("%s: %w: integrity check says %q (%v)", path, store.ErrCorrupt, ok, err)
	}
	return nil
}

// Restore replaces the registry's content with the registry in path, after
// Check accepts it. The audit log is not rolled back: the entries written
// since the backup are carried over, and the restore is recorded.
func (d *DB) Restore(ctx context.Context, path string) error {
	if err := Check(ctx, path); err != nil {
		return err
	}
	src, err := sql.Open("sqlite3", "file:"+filepath.ToSlash(path)+"?mode=ro")
	if err != nil {
		return err
	}
	defer src.Close()
	var last int64
	if err := src.QueryRowContext(ctx, "SELECT coalesce(max(seq), 0) FROM audit").Scan(&last); err != nil {
		return fmt.Errorf("%s: %w: %v", path, ErrNotRegistry, err)
	}
	log, err := d.AuditLog(ctx, 0)
	if err != nil {
		return err
	}
	if err := copyDB(ctx, d.db, src); err != nil {
		return d.wrap(fmt.Errorf("restoring from %s: %w", path, err))
	}
	// The content is replaced: finish (audit entries carried over, schema
	// brought up to date, the restore recorded) even if ctx ends now.
	ctx = context.WithoutCancel(ctx)
	err = d.tx(ctx, func(tx *sql.Tx) error {
		for _, e := range log {
			if e.Seq <= last {
				continue
			}
			if _, err := tx.ExecContext(ctx, "INSERT INTO audit (at, os_user, action, mykey_id, outcome, detail) VALUES (?, ?, ?, ?, ?, ?)",
				e.At.UTC().Format(timeFormat), e.User, e.Action, string(e.MyKeyID), e.Outcome, e.Detail); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return d.wrap(fmt.Errorf("carrying the audit log over: %w", err))
	}
	if err := d.migrate(ctx); err != nil {
		return d.wrap(err)
	}
	return d.Audit(ctx, store.AuditEntry{Action: store.ActionRestore, Outcome: "ok", Detail: "file=" + filepath.Base(path)})
}
