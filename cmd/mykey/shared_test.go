//go:build linux

package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	neturl "net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mykey-jp/mykey/internal/pcsctest"
	"github.com/mykey-jp/mykey/internal/pgtest"
	"github.com/mykey-jp/mykey/internal/testcard"
	"github.com/mykey-jp/mykey/internal/testpki"
	"github.com/mykey-jp/mykey/keyfile"
	"github.com/mykey-jp/mykey/store/postgres"
)

// sharedConfig is a desk's configuration on the shared registry at url.
func sharedConfig(url, readers string) string {
	pki := testpki.Dir()
	return fmt.Sprintf(`[database]
path = "registry.db"
url = %q
poll_seconds = 1
[readers]
include = [%q]
[wedge]
output = "stdout"
lockout_seconds = 0
[revocation]
method = "crl"
trust_anchors = [%q]
[log]
dir = "logs"
%s`, url, readers, filepath.Join(pki, "ca-2023.der"), testcard.ConfigTOML(pki))
}

// deskDir makes a desk's folder with its configuration, the registry's
// pseudonym key (copied from the administrator's, as mykey key export and
// key import carry it; tested in keymove.txtar) and the CRL imported.
func deskDir(t *testing.T, cfg string, key, crl string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "mykey.toml")
	os.WriteFile(path, []byte(cfg), 0o644)
	if key != "" {
		b, err := os.ReadFile(key)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(dir, "pseudonym.key"), b, 0o600)
	} else if _, _, err := keyfile.LoadOrCreate(filepath.Join(dir, "pseudonym.key"), rand.Reader); err != nil {
		t.Fatal(err) // a key of its own
	}
	if _, errs, code := cliAt(t, path, "crl", "import", crl); code != 0 {
		t.Fatalf("desk crl import: %s", errs)
	}
	return path
}

// cliAt runs mykey with the configuration at cfg.
func cliAt(t *testing.T, cfg string, args ...string) (string, string, int) {
	t.Helper()
	old := os.Getenv("MYKEY_CONFIG")
	os.Setenv("MYKEY_CONFIG", cfg)
	defer os.Setenv("MYKEY_CONFIG", old)
	return cli(t, args...)
}

type registryStatus struct {
	OK       bool `json:"ok"`
	Registry struct {
		Shared       bool      `json:"shared"`
		Online       bool      `json:"online"`
		OfflineSince time.Time `json:"offline_since"`
		Synced       time.Time `json:"replica_synced"`
		Queued       int       `json:"queued"`
	} `json:"registry"`
}

func deskStatus(t *testing.T, cfg string) registryStatus {
	t.Helper()
	var st registryStatus
	out, _, _ := cliAt(t, cfg, "status", "--json")
	if err := json.Unmarshal([]byte(out), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, out)
	}
	return st
}

// TestSharedRegistryTwoDesks runs two desks (two mykey run processes, each
// with its replica and the desk database role) on one PostgreSQL registry:
// a relink by the administrator reaches the other desk's taps; with the
// server stopped both desks keep typing from their replicas and queue the
// audit entries, which reach the server once when it is back, without a
// restart; a desk with another key refuses to start; the desk role cannot
// link.
func TestSharedRegistryTwoDesks(t *testing.T) {
	pcsctest.Start(t, 2)
	pg := pgtest.Start(t)
	adminURL := pg.NewDB(t)
	u, _ := neturl.Parse(adminURL)
	dbName := strings.TrimPrefix(u.Path, "/")

	dir := setupCLI(t)
	crl := filepath.Join(dir, "auth.crl")
	writeCRL(t, crl, 1)
	adminCfg := filepath.Join(dir, "mykey.toml")
	os.WriteFile(adminCfg, []byte(sharedConfig(adminURL, "Virtual PCD 00 00")), 0o644)
	card := registerOn(t, crl, "11112222") // creates the schema on the server and binds the key
	card.Remove()
	waitCard(t, false)
	var found struct {
		Entry struct {
			MyKeyID string `json:"mykey_id"`
		} `json:"entry"`
	}
	cliJSON(t, &found, "lookup", "--patron", "11112222")
	looked := found.Entry

	pg.Psql(t, dbName, postgres.RolesSQL)
	pg.Psql(t, dbName, "CREATE ROLE desk LOGIN IN ROLE mykey_desk")
	deskURL := pg.DBURL(dbName, "desk")
	key := filepath.Join(dir, "pseudonym.key")
	deskA := deskDir(t, sharedConfig(deskURL, "Virtual PCD 00 00"), key, crl)
	deskB := deskDir(t, sharedConfig(deskURL, "Virtual PCD 1 "), key, crl)

	// A card linked without the genuine-card data (as before the check was
	// configured): each desk says so at start, counted on its replica.
	var plain struct {
		IDs []string `json:"mykey_ids"`
	}
	if out, errs, code := cliAt(t, adminCfg, "id", "new", "--json"); code != 0 || json.Unmarshal([]byte(out), &plain) != nil || len(plain.IDs) != 1 {
		t.Fatalf("id new: %s%s", out, errs)
	}
	if out, errs, code := cliAt(t, adminCfg, "link", "--mykey-id", plain.IDs[0], "--patron", "99990000"); code != 0 {
		t.Fatalf("link: %s%s", out, errs)
	}

	a := startService(t, []string{"MYKEY_CONFIG=" + deskA})
	b := startService(t, []string{"MYKEY_CONFIG=" + deskB})
	taps := 0
	tap := func(s *service, entry int) (map[string]any, string) {
		t.Helper()
		card.Insert(pcsctest.Addr(entry, 0))
		m := s.next(t)
		card.Remove()
		taps++
		typed := ""
		if m["outcome"] == "typed" {
			select {
			case typed = <-s.typed:
			case <-time.After(5 * time.Second):
				t.Fatalf("typed %v but printed nothing", m)
			}
		}
		return m, typed
	}
	time.Sleep(time.Second) // both desks watch their readers
	if m, typed := tap(b, 1); m["outcome"] != "typed" || typed != "11112222" {
		t.Fatalf("desk B: %v %q", m, typed)
	}
	for _, s := range []*service{a, b} {
		if errs := s.stderr.String(); !strings.Contains(errs, "紐付け 2 件のうち 1 件は真正性確認の情報がなく") {
			t.Errorf("a desk's start does not count the link without genuine-card data:\n%s", errs)
		}
	}

	// The administrator relinks; desk B types the new number.
	if out, errs, code := cliAt(t, adminCfg, "relink", "--mykey-id", looked.MyKeyID, "--patron", "22223333"); code != 0 {
		t.Fatalf("relink: %s%s", out, errs)
	}
	relinked := time.Now()
	for {
		m, typed := tap(b, 1)
		if typed == "22223333" {
			t.Logf("a relink reached desk B's taps after %v (including the taps)", time.Since(relinked).Round(time.Millisecond))
			break
		}
		if m["outcome"] != "typed" || typed != "11112222" || time.Since(relinked) > 10*time.Second {
			t.Fatalf("desk B after the relink: %v %q", m, typed)
		}
	}
	// The desk's role may not link.
	if _, errs, code := cliAt(t, deskA, "link", "--mykey-id", looked.MyKeyID, "--patron", "33334444", "--replace"); code == 0 || !strings.Contains(errs, "mykey_desk") && !strings.Contains(errs, "データベースの役割") {
		t.Fatalf("desk role link: exit %d %s", code, errs)
	}

	// The server stops: both desks type from their replicas.
	pg.Stop(t)
	for _, d := range []struct {
		s     *service
		entry int
	}{{a, 0}, {b, 1}, {a, 0}} {
		if m, typed := tap(d.s, d.entry); m["outcome"] != "typed" || typed != "22223333" {
			t.Fatalf("offline tap on reader %d: %v %q", d.entry, m, typed)
		}
	}
	if _, errs, code := cliAt(t, adminCfg, "relink", "--mykey-id", looked.MyKeyID, "--patron", "44445555"); code == 0 || !strings.Contains(errs, "共有登録簿") {
		t.Fatalf("relink with the server down: exit %d %s", code, errs)
	}
	var st registryStatus
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		st = deskStatus(t, deskA)
		if !st.Registry.Online && !st.Registry.OfflineSince.IsZero() && st.Registry.Queued >= 1 || time.Now().After(deadline) {
			break
		}
	}
	if st.OK || st.Registry.Online || st.Registry.Queued < 1 {
		t.Fatalf("desk A status with the server down: %+v", st)
	}
	out, _, _ := cliAt(t, deskA, "status")
	t.Logf("mykey status (server down): %s", strings.TrimSpace(out))
	if out, _, _ := cliAt(t, deskA, "doctor", "--json"); !strings.Contains(out, `"registry-offline"`) {
		t.Fatalf("doctor with the server down:\n%s", out)
	}

	// The server is back: the desks catch up without a restart and
	// deliver what they queued, once.
	pg.StartAgain(t)
	for _, d := range []string{deskA, deskB} {
		for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(200 * time.Millisecond) {
			st = deskStatus(t, d)
			if st.OK && st.Registry.Queued == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("desk %s did not catch up: %+v", d, st)
			}
		}
	}
	if out, errs, code := cliAt(t, adminCfg, "relink", "--mykey-id", looked.MyKeyID, "--patron", "55556666"); code != 0 {
		t.Fatalf("relink after the restart: %s%s", out, errs)
	}
	for deadline := time.Now().Add(10 * time.Second); ; {
		m, typed := tap(a, 0)
		if typed == "55556666" {
			break
		}
		if m["outcome"] != "typed" || time.Now().After(deadline) {
			t.Fatalf("desk A after the server came back: %v %q", m, typed)
		}
	}
	time.Sleep(1500 * time.Millisecond) // the last tap's audit entry is delivered
	conn, err := pgx.Connect(context.Background(), adminURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var scans, distinct int
	if err := conn.QueryRow(context.Background(), "SELECT count(*), count(DISTINCT idem) FROM audit WHERE action = 'scan'").Scan(&scans, &distinct); err != nil {
		t.Fatal(err)
	}
	if scans != taps || distinct != taps {
		t.Fatalf("%d taps, %d scan entries on the server (%d distinct)", taps, scans, distinct)
	}
	if out, errs, code := cliAt(t, adminCfg, "audit", "verify"); code != 0 {
		t.Fatalf("audit verify: %s%s", out, errs)
	}

	// A desk with another pseudonym key refuses to start.
	other := deskDir(t, sharedConfig(deskURL, "Virtual PCD 00 00"), "", crl)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "run", "--no-tray", "--json")
	cmd.Env = append(os.Environ(), "MYKEY_RUN_MAIN=1", "MYKEY_CONFIG="+other)
	res, err := cmd.CombinedOutput()
	if ctx.Err() != nil || err == nil || !strings.Contains(string(res), "秘密鍵ファイルがこの登録簿のものではありません") || strings.Contains(string(res), "panic") {
		t.Fatalf("a desk with another key: %v\n%s", err, res)
	}
	t.Logf("a desk with another key: %s", strings.TrimSpace(string(res)))
	if out, _, _ := cliAt(t, other, "doctor", "--json"); !strings.Contains(out, `"key-mismatch"`) {
		t.Fatalf("doctor at a desk with another key:\n%s", out)
	}

	for _, s := range []*service{a, b} {
		s.cmd.Process.Signal(syscall.SIGTERM)
		s.cmd.Wait()
	}
}

// TestRegistryMigrate moves a single-desk SQLite registry into PostgreSQL
// with mykey registry migrate: counts and digest checked, a second run
// writes nothing, another registry is refused, and the desk then works on
// the shared registry (lookup, audit verify).
func TestRegistryMigrate(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.NewDB(t)
	dir := setupCLI(t)
	var minted struct {
		IDs []string `json:"mykey_ids"`
	}
	cliJSON(t, &minted, "id", "new", "--count", "3")
	if out, errs, code := cli(t, "link", "--mykey-id", minted.IDs[1], "--patron", "12345678"); code != 0 {
		t.Fatalf("link: %s%s", out, errs)
	}
	type report struct {
		Migrate struct {
			Counts  map[string]int `json:"counts"`
			Digest  string         `json:"digest"`
			Already bool           `json:"already"`
		} `json:"migrate"`
	}
	var first, second report
	cliJSON(t, &first, "registry", "migrate", "--to", url)
	if c := first.Migrate.Counts; first.Migrate.Already || c["mykey_ids"] != 3 || c["links"] != 1 || c["audit"] < 4 || first.Migrate.Digest == "" {
		t.Fatalf("first migrate: %+v", first)
	}
	cliJSON(t, &second, "registry", "migrate", "--to", url)
	if !second.Migrate.Already || second.Migrate.Digest != first.Migrate.Digest {
		t.Fatalf("second migrate: %+v", second)
	}
	// A password file others can read is refused before anything is sent.
	pw := filepath.Join(dir, "pgpass.txt")
	os.WriteFile(pw, []byte("secret\n"), 0o644)
	if _, errs, code := cli(t, "registry", "migrate", "--to", url, "--password-file", pw); code == 0 || !strings.Contains(errs, "chmod 600") {
		t.Fatalf("a readable password file: exit %d %s", code, errs)
	}
	// Another desk's registry into the same target: refused.
	other := filepath.Join(t.TempDir(), "mykey.toml")
	os.WriteFile(other, []byte("[database]\npath = \"registry.db\"\n"), 0o644)
	if _, errs, code := cliAt(t, other, "id", "new"); code != 0 {
		t.Fatal(errs)
	}
	if out, _, code := cliAt(t, other, "registry", "migrate", "--to", url, "--json"); code == 0 || !strings.Contains(out, `"not-empty"`) {
		t.Fatalf("a different registry into the same target: exit %d %s", code, out)
	}
	// The desk, pointed at the shared registry, finds its links there.
	cfg := filepath.Join(dir, "mykey.toml")
	os.WriteFile(cfg, []byte(fmt.Sprintf("[database]\npath = \"registry.db\"\nurl = %q\n", url)), 0o644)
	var found struct {
		Entry struct {
			MyKeyID string `json:"mykey_id"`
		} `json:"entry"`
	}
	cliJSON(t, &found, "lookup", "--patron", "12345678")
	if found.Entry.MyKeyID != minted.IDs[1] {
		t.Fatalf("lookup on the shared registry: %+v", found)
	}
	if out, errs, code := cli(t, "audit", "verify"); code != 0 {
		t.Fatalf("audit verify on the shared registry: %s%s", out, errs)
	}
	// A role the server does not know: a setting to fix, not the network.
	os.WriteFile(cfg, []byte(fmt.Sprintf("[database]\npath = \"registry.db\"\nurl = %q\n", strings.Replace(url, "postgres@", "nobody_here@", 1))), 0o644)
	if _, errs, code := cli(t, "lookup", "--patron", "12345678"); code == 0 || !strings.Contains(errs, "ログインを断りました") || !strings.Contains(errs, "pg_hba.conf") {
		t.Fatalf("an unknown role: exit %d %s", code, errs)
	}
	if out, _, code := cli(t, "doctor", "--json"); code == 0 || !strings.Contains(out, `"registry-refused"`) {
		t.Fatalf("doctor with an unknown role: exit %d %s", code, out)
	}
	// A password in the URL is a configuration error.
	os.WriteFile(cfg, []byte("[database]\nurl = \"postgres://u:secret@localhost/mykey\"\n"), 0o644)
	if _, errs, code := cli(t, "status"); code == 0 || !strings.Contains(errs, "database.url") || strings.Contains(errs, "secret") {
		t.Fatalf("a password in the URL: exit %d %s", code, errs)
	}
}
