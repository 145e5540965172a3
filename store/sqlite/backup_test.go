package sqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/mykey-jp/mykey/store"
)

func TestBackupAndRestore(t *testing.T) {
	dir := t.TempDir()
	d := openTemp(t, store.Options{})
	for i := range 50 {
		id, _ := d.NewID(ctx)
		d.Link(ctx, store.DefaultService, id, fmt.Sprintf("%05d", i), store.LinkOptions{})
	}
	// A writer keeps going while the backup runs.
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 50 {
			d.NewID(ctx)
		}
	}()
	bk := filepath.Join(dir, "backup.db")
	if err := d.Backup(ctx, bk); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if err := d.Backup(ctx, bk); !errors.Is(err, fs.ErrExist) {
		t.Errorf("overwriting a backup: %v", err)
	}
	if fi, _ := os.Stat(bk); fi.Mode().Perm() != 0o600 {
		t.Errorf("backup mode %04o", fi.Mode().Perm())
	}
	if _, err := Check(ctx, bk); err != nil {
		t.Fatalf("Check(backup): %v", err)
	}
	// Change the live registry, then restore: the links are back.
	d.UnlinkPatron(ctx, store.DefaultService, "00007")
	if _, err := d.Restore(ctx, bk); err != nil {
		t.Fatal(err)
	}
	if _, err := d.LookupPatron(ctx, store.DefaultService, "00007"); err != nil {
		t.Errorf("after restore: %v", err)
	}
	a, _ := d.AuditLog(ctx, 1)
	if len(a) != 1 || a[0].Action != "restore" {
		t.Errorf("last audit %+v", a)
	}
	// Files that are not registries are refused and change nothing.
	garbage := filepath.Join(dir, "garbage.db")
	os.WriteFile(garbage, []byte("not a database at all, really not"), 0o600)
	empty := filepath.Join(dir, "empty.db")
	other, _ := Open(ctx, filepath.Join(dir, "other.db"), store.Options{})
	other.db.Exec("PRAGMA user_version = 0")
	other.Close()
	os.Rename(filepath.Join(dir, "other.db"), empty)
	for _, p := range []string{garbage, empty, filepath.Join(dir, "missing.db")} {
		if _, err := d.Restore(ctx, p); err == nil {
			t.Errorf("restored %s", filepath.Base(p))
		}
	}
	if _, err := d.LookupPatron(ctx, store.DefaultService, "00007"); err != nil {
		t.Errorf("a refused restore changed the registry: %v", err)
	}
}
