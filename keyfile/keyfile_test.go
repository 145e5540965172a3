package keyfile

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

func TestLoadOrCreate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "pseudonym.key")
	s1, created, err := LoadOrCreate(path, nil)
	if err != nil || !created || len(s1) != 32 {
		t.Fatalf("first LoadOrCreate = %x, %v, %v", s1, created, err)
	}
	if runtime.GOOS != "windows" {
		fi, _ := os.Stat(path)
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("mode %04o, want 0600", fi.Mode().Perm())
		}
	}
	s2, created, err := LoadOrCreate(path, nil)
	if err != nil || created || !equal(s1, s2) {
		t.Fatalf("second LoadOrCreate = %x, %v, %v; want the same secret", s2, created, err)
	}
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), ".pseudonym-*"))
	if len(matches) != 0 {
		t.Errorf("temporary files left: %v", matches)
	}
}

func TestConcurrentCreateAgrees(t *testing.T) {
	path := filepath.Join(t.TempDir(), "pseudonym.key")
	var wg sync.WaitGroup
	got := make([][]byte, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, _, err := LoadOrCreate(path, nil)
			if err != nil {
				t.Error(err)
			}
			got[i] = s
		}()
	}
	wg.Wait()
	for i := range got {
		if !equal(got[i], got[0]) {
			t.Fatalf("caller %d got another secret", i)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	if _, err := Load(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
	bad := filepath.Join(dir, "bad.key")
	os.WriteFile(bad, []byte("# comment\nnot hex\n"), 0o600)
	if _, err := Load(bad); !errors.Is(err, ErrFormat) {
		t.Errorf("bad content: %v", err)
	}
	empty := filepath.Join(dir, "empty.key")
	os.WriteFile(empty, nil, 0o600)
	if _, err := Load(empty); !errors.Is(err, ErrFormat) {
		t.Errorf("empty: %v", err)
	}
	if runtime.GOOS != "windows" {
		path := filepath.Join(dir, "open.key")
		if _, _, err := LoadOrCreate(path, nil); err != nil {
			t.Fatal(err)
		}
		os.Chmod(path, 0o644)
		if _, err := Load(path); !errors.Is(err, ErrPermissions) {
			t.Errorf("mode 0644: %v", err)
		}
		if _, _, err := LoadOrCreate(path, nil); !errors.Is(err, ErrPermissions) {
			t.Errorf("LoadOrCreate with mode 0644: %v", err)
		}
	}
}

func equal(a, b []byte) bool { return bytes.Equal(a, b) }
