package sqlite

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mykey-jp/mykey/store"
)

// FuzzRestore feeds the backup reader damaged and crafted backup files,
// seeded with a good backup and tampered ones (a trigger, a view, a dropped
// index with a duplicate, a future schema, a broken audit chain): it never
// panics, and whatever it accepts rebuilds into a registry whose rules and
// audit chain hold.
func FuzzRestore(f *testing.F) {
	d, err := Open(ctx, filepath.Join(f.TempDir(), "registry.db"), store.Options{})
	if err != nil {
		f.Fatal(err)
	}
	id, _ := d.NewID(ctx)
	d.Link(ctx, store.DefaultService, id, "12345678", store.LinkOptions{})
	d.BindKey(ctx, "k1")
	bk := filepath.Join(f.TempDir(), "backup.db")
	if err := d.Backup(ctx, bk); err != nil {
		f.Fatal(err)
	}
	d.Close()
	good, _ := os.ReadFile(bk)
	f.Add(good)
	for _, stmts := range [][]string{
		{"CREATE TRIGGER evil AFTER INSERT ON links BEGIN UPDATE links SET patron = '9' WHERE rowid = NEW.rowid; END"},
		{"CREATE VIEW v AS SELECT * FROM links"},
		{"DROP INDEX links_patron", "INSERT INTO mykey_ids VALUES ('0000001M', 'x')", "INSERT INTO links SELECT service, '0000001M', patron, linked_at FROM links"},
		{"PRAGMA user_version = 99"},
		{"DROP TRIGGER audit_no_update", "UPDATE audit SET detail = 'x' WHERE seq = 1"},
	} {
		f.Add(tamperBytes(f, good, stmts...))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		src, dst := filepath.Join(dir, "in.db"), filepath.Join(dir, "out.db")
		removeDB(src)
		if err := os.WriteFile(src, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := rebuild(ctx, src, dst); err != nil {
			return
		}
		r, err := Open(ctx, dst, store.Options{})
		if err != nil {
			t.Fatalf("an accepted backup does not open: %v", err)
		}
		defer r.Close()
		if _, err := r.VerifyAudit(ctx); err != nil {
			t.Fatalf("an accepted backup's audit chain: %v", err)
		}
		if _, err := r.List(ctx, store.DefaultService); err != nil {
			t.Fatalf("an accepted backup cannot be listed: %v", err)
		}
	})
}

// tamperBytes runs statements on a copy of a database's bytes.
func tamperBytes(f *testing.F, b []byte, stmts ...string) []byte {
	p := filepath.Join(f.TempDir(), "t.db")
	os.WriteFile(p, b, 0o600)
	db, err := Open(ctx, p, store.Options{})
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range stmts {
		if _, err := db.db.Exec(s); err != nil {
			f.Fatalf("%s: %v", s, err)
		}
	}
	db.Close()
	out, _ := os.ReadFile(p)
	return out
}
