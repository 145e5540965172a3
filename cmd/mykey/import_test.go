package main

import (
	"bufio"
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mykey-jp/mykey/internal/pgtest"
	"github.com/mykey-jp/mykey/internal/testenv"
	"github.com/mykey-jp/mykey/keyid"
	"github.com/mykey-jp/mykey/store"
	"github.com/mykey-jp/mykey/store/sqlite"
)

type seededReader struct{ r *rand.ChaCha8 }

func (s seededReader) Read(p []byte) (int, error) { return s.r.Read(p) }

// bulkRegistry creates the registry at path with n MyKey IDs (inserted
// directly, many per statement: this is test setup) and writes a CSV file
// linking each to a patron number. It returns the CSV's path.
func bulkRegistry(t testing.TB, dir string, n int) (db, csvPath string) {
	t.Helper()
	db = filepath.Join(dir, "registry.db")
	d, err := sqlite.Open(context.Background(), db, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	raw, err := sql.Open("sqlite3", "file:"+db+"?_journal_mode=WAL")
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	var seed [32]byte
	src := seededReader{rand.NewChaCha8(seed)}
	csvPath = filepath.Join(dir, "links.csv")
	f, _ := os.Create(csvPath)
	w := bufio.NewWriter(f)
	w.WriteString("マイキーID,利用者番号\r\n")
	tx, _ := raw.Begin()
	seen := map[keyid.ID]bool{}
	var args []any
	flush := func() {
		if len(args) > 0 {
			if _, err := tx.Exec("INSERT INTO mykey_ids (id, created_at) VALUES "+strings.TrimSuffix(strings.Repeat("(?, '2026-01-01T00:00:00Z'),", len(args)), ","), args...); err != nil {
				t.Fatal(err)
			}
			args = args[:0]
		}
	}
	for i := 0; i < n; {
		id, _ := keyid.New(src)
		if seen[id] {
			continue
		}
		seen[id] = true
		args = append(args, string(id))
		fmt.Fprintf(w, "%s,%010d\r\n", id, i+1)
		if len(args) == 500 {
			flush()
		}
		i++
	}
	flush()
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	w.Flush()
	f.Close()
	return db, csvPath
}

func mykeyProcess(dir string, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "MYKEY_RUN_MAIN=1", "GORACE=atexit_sleep_ms=0", "MYKEY_CONFIG="+filepath.Join(dir, "mykey.toml"), "MYKEY_LANG=en")
	return cmd
}

// bulkConfig writes the configuration the bulk tests import with.
func bulkConfig(dir string) {
	os.WriteFile(filepath.Join(dir, "mykey.toml"), []byte("[database]\npath = \"registry.db\"\n[patron]\npattern = '^[0-9]{10}$'\n"), 0o644)
}

// registryState reads the registry's links, its successful link imports
// in the audit log, and its integrity check.
func registryState(t testing.TB, db string) (links, imports int, integrity string) {
	raw, err := sql.Open("sqlite3", "file:"+db)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.QueryRow("PRAGMA integrity_check").Scan(&integrity)
	raw.QueryRow("SELECT count(*) FROM links").Scan(&links)
	raw.QueryRow("SELECT count(*) FROM audit WHERE action = 'import.links' AND outcome = 'ok'").Scan(&imports)
	return links, imports, integrity
}

// TestImportKilled kills (SIGKILL) a 1M-row import while it reads the file
// and at two points while it writes (its WAL past 1 MB and past 30 MB): the
// registry then passes the integrity check, has no links and no import in
// its audit log, or all of them, and the same import run again completes.
// Ctrl-C while it writes leaves no links either, and says so.
func TestImportKilled(t *testing.T) {
	const n = 1_000_000
	seed := t.TempDir()
	seedDB, csvPath := bulkRegistry(t, seed, n)
	for _, tc := range []struct {
		name string
		wal  int64 // kill when the WAL passes this size; 0: kill after 100 ms
		sig  os.Signal
	}{
		{"reading", 0, os.Kill},
		{"writing 1MB", 1 << 20, os.Kill},
		{"writing 30MB", 30 << 20, os.Kill},
		// Ctrl-C: the transaction is rolled back and the user told so.
		{"interrupted writing", 1 << 20, os.Interrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "registry.db")
			data, err := os.ReadFile(seedDB)
			if err != nil {
				t.Fatal(err)
			}
			os.WriteFile(db, data, 0o600)
			bulkConfig(dir)
			cmd := mykeyProcess(dir, "import", "links", csvPath)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			exited := make(chan error, 1)
			go func() { exited <- cmd.Wait() }()
			if tc.wal == 0 {
				time.Sleep(100 * time.Millisecond)
			} else {
				for {
					if fi, err := os.Stat(db + "-wal"); err == nil && fi.Size() > tc.wal {
						break
					}
					select {
					case err := <-exited:
						t.Fatalf("the import ended (%v) before its WAL reached %d bytes", err, tc.wal)
					case <-time.After(time.Millisecond):
					}
				}
			}
			cmd.Process.Signal(tc.sig)
			err = <-exited
			count, audits, ok := registryState(t, db)
			if tc.sig == os.Interrupt {
				if code := cmd.ProcessState.ExitCode(); code != exitFailure || !strings.Contains(stderr.String(), "interrupted: the change in progress was rolled back") {
					t.Errorf("interrupted import: %v (exit %d)\n%s", err, code, stderr.String())
				}
				if ok != "ok" || count != 0 || audits != 0 {
					t.Fatalf("after Ctrl-C: integrity %q, %d links, %d import audit entries (want none)", ok, count, audits)
				}
			}
			if ok != "ok" || !(count == 0 && audits == 0 || count == n && audits == 1) {
				t.Fatalf("after the kill: integrity %q, %d links, %d import audit entries (want none or %d and 1)", ok, count, audits, n)
			}
			t.Logf("killed: %d links", count)
			if out, err := mykeyProcess(dir, "import", "links", csvPath).CombinedOutput(); err != nil {
				t.Fatalf("import again: %v\n%s", err, out)
			}
			if count, _, ok = registryState(t, db); ok != "ok" || count != n {
				t.Fatalf("import again: integrity %q, %d links", ok, count)
			}
		})
	}
}

// BenchmarkImportLinks imports 1,000,000 link rows with `mykey import links`
// and, in the same run, loads the same file with the sqlite3 shell's
// .import into an equivalent table: the same keys and a foreign key to the
// same MyKey IDs (the check the import makes). It reports both times and
// their ratio, and the ratio against the shell into a table with the keys
// only (no foreign key), the stricter comparison.
//
//	go test -run '^$' -bench ImportLinks -benchtime 1x ./cmd/mykey/
func BenchmarkImportLinks(b *testing.B) {
	if _, err := exec.LookPath("sqlite3"); err != nil {
		testenv.Unavailable(b, "sqlite3 shell missing (apt install sqlite3)")
	}
	const n = 1_000_000
	for b.Loop() {
		dir := b.TempDir()
		db, csvPath := bulkRegistry(b, dir, n)
		bulkConfig(dir)
		start := time.Now()
		out, err := mykeyProcess(dir, "import", "links", csvPath).CombinedOutput()
		ours := time.Since(start)
		if err != nil {
			b.Fatalf("import: %v\n%s", err, out)
		}
		if c, _, _ := registryState(b, db); c != n {
			b.Fatalf("%d links imported", c)
		}
		shell := func(name, links string) time.Duration {
			shellDB := filepath.Join(dir, name+".db")
			sqlite3 := func(script string) {
				cmd := exec.Command("sqlite3", shellDB)
				cmd.Stdin = strings.NewReader(script)
				if out, err := cmd.CombinedOutput(); err != nil {
					b.Fatalf("sqlite3: %v\n%s", err, out)
				}
			}
			// The MyKey IDs load before the clock starts.
			sqlite3("PRAGMA journal_mode=WAL;\nCREATE TABLE mykey_ids (id TEXT PRIMARY KEY) STRICT;\n" +
				"CREATE TABLE links (" + links + ") STRICT;\n" +
				"ATTACH '" + db + "' AS reg;\nINSERT INTO mykey_ids SELECT id FROM reg.mykey_ids;\n")
			start := time.Now()
			sqlite3("PRAGMA foreign_keys = ON;\n.import --csv --skip 1 " + csvPath + " links\n")
			return time.Since(start)
		}
		withFK := shell("shell", "mykey_id TEXT PRIMARY KEY REFERENCES mykey_ids (id), patron TEXT NOT NULL UNIQUE")
		keysOnly := shell("shell-keys", "mykey_id TEXT PRIMARY KEY, patron TEXT NOT NULL UNIQUE")
		b.ReportMetric(ours.Seconds(), "mykey-s")
		b.ReportMetric(withFK.Seconds(), "sqlite3-s")
		b.ReportMetric(ours.Seconds()/withFK.Seconds(), "ratio")
		b.ReportMetric(keysOnly.Seconds(), "sqlite3-keys-s")
		b.ReportMetric(ours.Seconds()/keysOnly.Seconds(), "ratio-keys")
		b.Logf("1M rows: mykey import links %.2f s (validated, one transaction); sqlite3 .import %.2f s with the foreign key, ratio %.2f; %.2f s with the keys only, ratio %.2f",
			ours.Seconds(), withFK.Seconds(), ours.Seconds()/withFK.Seconds(), keysOnly.Seconds(), ours.Seconds()/keysOnly.Seconds())
	}
}

func TestProgressBar(t *testing.T) {
	for _, tc := range []struct {
		done, total int
		want        string
	}{
		{0, 1000, "[....................]   0%"},
		{500, 1000, "[##########..........]  50%"},
		{999, 1000, "[###################.]  99%"},
		{1000, 1000, "[####################] 100%"},
		{1200, 1000, "[####################] 100%"},
		{0, 0, "[....................]   0%"},
	} {
		if got := progressBar(tc.done, tc.total); got != tc.want {
			t.Errorf("progressBar(%d, %d) = %q, want %q", tc.done, tc.total, got, tc.want)
		}
	}
}

// BenchmarkImportLinksPostgres imports 1M links from a CSV file into the
// shared registry on PostgreSQL (mykey import links: parsed, validated,
// one transaction with COPY), after moving the 1M MyKey IDs there with
// mykey registry migrate, against psql \copy of the same file into an
// equivalent table with the same keys (the primary key, the unique
// patron number, the foreign key to the MyKey IDs), in the same run. It
// reports both times and their ratio (target: at most 1.0), and the ratio
// against a table with the keys only (no foreign key).
//
//	go test -run '^$' -bench ImportLinksPostgres -benchtime 1x ./cmd/mykey/
func BenchmarkImportLinksPostgres(b *testing.B) {
	const n = 1_000_000
	pg := pgtest.Start(b)
	for b.Loop() {
		url := pg.NewDB(b)
		u, _ := neturl.Parse(url)
		db := strings.TrimPrefix(u.Path, "/")
		dir := b.TempDir()
		_, csvPath := bulkRegistry(b, dir, n)
		bulkConfig(dir)
		start := time.Now()
		if out, err := mykeyProcess(dir, "registry", "migrate", "--to", url).CombinedOutput(); err != nil {
			b.Fatalf("migrate: %v\n%s", err, out)
		}
		migrate := time.Since(start)
		os.WriteFile(filepath.Join(dir, "mykey.toml"), []byte(fmt.Sprintf("[database]\npath = \"registry.db\"\nurl = %q\n[patron]\npattern = '^[0-9]{10}$'\n", url)), 0o644)
		start = time.Now()
		out, err := mykeyProcess(dir, "import", "links", csvPath).CombinedOutput()
		ours := time.Since(start)
		if err != nil {
			b.Fatalf("import: %v\n%s", err, out)
		}
		var links int
		conn, err := pgx.Connect(context.Background(), url)
		if err != nil {
			b.Fatal(err)
		}
		conn.QueryRow(context.Background(), "SELECT count(*) FROM links").Scan(&links)
		conn.Close(context.Background())
		if links != n {
			b.Fatalf("%d links imported", links)
		}
		psql := func(table, def string) time.Duration {
			pg.Psql(b, db, "CREATE TABLE "+table+" ("+def+")")
			cmd := pg.Psqlcmd(db, "-c", `\copy `+table+` (mykey_id, patron) FROM STDIN WITH (FORMAT csv, HEADER true)`)
			f, err := os.Open(csvPath)
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			cmd.Stdin = f
			start := time.Now()
			if out, err := cmd.CombinedOutput(); err != nil {
				b.Fatalf("psql: %v\n%s", err, out)
			}
			return time.Since(start)
		}
		withFK := psql("links_psql", "mykey_id text PRIMARY KEY REFERENCES mykey_ids (id), patron text NOT NULL UNIQUE")
		keysOnly := psql("links_psql_keys", "mykey_id text PRIMARY KEY, patron text NOT NULL UNIQUE")
		b.ReportMetric(ours.Seconds(), "mykey-s")
		b.ReportMetric(withFK.Seconds(), "psql-s")
		b.ReportMetric(ours.Seconds()/withFK.Seconds(), "ratio")
		b.ReportMetric(ours.Seconds()/keysOnly.Seconds(), "ratio-keys")
		b.Logf("1M rows into PostgreSQL: mykey import links %.2f s (validated, one transaction); psql \\copy %.2f s with the foreign key, ratio %.2f; %.2f s with the keys only, ratio %.2f; registry migrate of 1M MyKey IDs %.2f s",
			ours.Seconds(), withFK.Seconds(), ours.Seconds()/withFK.Seconds(), keysOnly.Seconds(), ours.Seconds()/keysOnly.Seconds(), migrate.Seconds())
	}
}
