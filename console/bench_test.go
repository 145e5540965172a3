package console_test

import (
	"context"
	"database/sql"
	"fmt"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/app"
	"github.com/mykey-jp/mykey/config"
	"github.com/mykey-jp/mykey/console"
	"github.com/mykey-jp/mykey/keyboardwedge"
	"github.com/mykey-jp/mykey/keyid"
)

// benchRows is the size of the benchmark's registry: links and audit
// entries (MYKEY_BENCH_ROWS overrides, for a quick look).
func benchRows() int {
	var n int
	if _, err := fmt.Sscan(os.Getenv("MYKEY_BENCH_ROWS"), &n); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

var (
	bigOnce sync.Once
	bigDir  string
	bigIDs  []keyid.ID
	bigErr  error
)

// bigRegistry makes, once per test binary, a registry of n linked MyKey IDs
// and n audit entries (scans, lookups and links of those IDs over a year),
// written straight with SQL after mykey made the schema.
func bigRegistry(b *testing.B, n int) (string, []keyid.ID) {
	bigOnce.Do(func() {
		bigDir, bigErr = os.MkdirTemp("", "mykey-console-bench-")
		if bigErr != nil {
			return
		}
		path := filepath.Join(bigDir, "mykey.toml")
		os.WriteFile(path, []byte("[database]\npath = \"registry.db\"\n"), 0o644)
		cfg, err := config.Load(path, false)
		if err != nil {
			bigErr = err
			return
		}
		core := app.New(cfg, app.Devices{Wedge: &keyboardwedge.Recorder{}}, "bench")
		if _, bigErr = core.NewIDs(context.Background(), 1, nil); bigErr != nil { // the schema
			return
		}
		db, err := sql.Open("sqlite3", "file:"+filepath.Join(bigDir, "registry.db"))
		if err != nil {
			bigErr = err
			return
		}
		defer db.Close()
		tx, _ := db.Begin()
		ids, _ := tx.Prepare("INSERT INTO mykey_ids (id, created_at) VALUES (?, ?)")
		links, _ := tx.Prepare("INSERT INTO links (service, mykey_id, patron, linked_at) VALUES ('library', ?, ?, ?)")
		audit, _ := tx.Prepare("INSERT INTO audit (at, os_user, action, mykey_id, outcome, detail) VALUES (?, ?, ?, ?, ?, ?)")
		rng := mrand.New(mrand.NewPCG(1, 2))
		start := time.Date(2025, 12, 1, 0, 0, 0, 0, time.UTC)
		seen := map[keyid.ID]bool{}
		for len(bigIDs) < n {
			id, err := keyid.New(rngReader{rng})
			if err != nil || seen[id] {
				continue
			}
			seen[id] = true
			bigIDs = append(bigIDs, id)
			at := start.Add(time.Duration(len(bigIDs)) * 30 * time.Second).Format(time.RFC3339)
			ids.Exec(string(id), at)
			links.Exec(string(id), fmt.Sprintf("%08d", len(bigIDs)), at)
		}
		actions := []string{"scan", "scan", "scan", "scan", "lookup", "link", "register"}
		for i := range n {
			id := bigIDs[rng.IntN(n)]
			at := start.Add(time.Duration(i) * 31 * time.Second).Format(time.RFC3339)
			if _, bigErr = audit.Exec(at, fmt.Sprintf("desk%d (console: staff%d)", i%5, i%17), actions[i%len(actions)], string(id), "ok", "reader=\"Virtual PCD 00 00\""); bigErr != nil {
				tx.Rollback()
				return
			}
		}
		bigErr = tx.Commit()
	})
	if bigErr != nil {
		b.Fatal(bigErr)
	}
	return bigDir, bigIDs
}

type rngReader struct{ r *mrand.Rand }

func (r rngReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r.r.Uint32())
	}
	return len(p), nil
}

// BenchmarkConsoleLargeRegistry measures the server time of the console's
// lookup and audit pages over a registry of a million links and a million
// audit entries (handler time, no network), and reports each page's p95
// in milliseconds. Target: p95 < 50 ms.
func BenchmarkConsoleLargeRegistry(b *testing.B) {
	n := benchRows()
	dir, ids := bigRegistry(b, n)
	cfg, err := config.Load(filepath.Join(dir, "mykey.toml"), false)
	if err != nil {
		b.Fatal(err)
	}
	core := app.New(cfg, app.Devices{Wedge: &keyboardwedge.Recorder{}}, "bench")
	s, err := console.New(core, console.Options{Lang: "ja"})
	if err != nil {
		b.Fatal(err)
	}
	s.SetPort(80)
	h := s.Handler()
	// Sign in once; the cookie is replayed.
	launch := strings.TrimPrefix(s.LaunchURL(), "http://127.0.0.1:80")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, request("GET", launch, ""))
	cookie := rec.Result().Cookies()[0]
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, withCookie(request("POST", "/signin", "operator=bench"), cookie))
	rng := mrand.New(mrand.NewPCG(3, 4))
	pages := []struct {
		name string
		url  func() string
		want string
	}{
		{"lookup_patron", func() string { return fmt.Sprintf("/lookup?by=patron&q=%08d", 1+rng.IntN(n)) }, `id="entry"`},
		{"lookup_id", func() string { return "/lookup?by=id&q=" + string(ids[rng.IntN(n)]) }, `id="entry"`},
		{"audit_first_page", func() string { return "/audit" }, `id="audit"`},
		{"audit_by_id", func() string { return "/audit?id=" + string(ids[rng.IntN(n)]) }, `id="audit"`},
		{"audit_by_action_page", func() string { return fmt.Sprintf("/audit?action=lookup&page=%d", 1+rng.IntN(100)) }, `id="audit"`},
		{"audit_by_month", func() string { return "/audit?from=2026-03-01&to=2026-03-31&action=scan" }, `id="audit"`},
		{"audit_by_operator", func() string { return "/audit?operator=staff3" }, `id="audit"`},
	}
	times := make([][]time.Duration, len(pages))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		p := pages[i%len(pages)]
		req := withCookie(request("GET", p.url(), ""), cookie)
		rec := httptest.NewRecorder()
		t0 := time.Now()
		h.ServeHTTP(rec, req)
		times[i%len(pages)] = append(times[i%len(pages)], time.Since(t0))
		if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), p.want) {
			b.Fatalf("%s: %d %s", p.name, rec.Code, rec.Body.String())
		}
	}
	b.StopTimer()
	for i, p := range pages {
		if len(times[i]) == 0 {
			continue
		}
		slices.Sort(times[i])
		p95 := times[i][len(times[i])*95/100]
		b.ReportMetric(float64(p95.Microseconds())/1000, p.name+"_p95_ms")
	}
}

func request(method, target, form string) *http.Request {
	r := httptest.NewRequest(method, "http://127.0.0.1:80"+target, strings.NewReader(form))
	if form != "" {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return r
}

func withCookie(r *http.Request, c *http.Cookie) *http.Request {
	r.AddCookie(c)
	return r
}

// TestMain removes the benchmark's registry when the tests end.
func TestMain(m *testing.M) {
	code := m.Run()
	if bigDir != "" {
		os.RemoveAll(bigDir)
	}
	os.Exit(code)
}
