//go:build linux

package main

import (
	"bufio"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/cardio/vcard"
	"github.com/mykey-jp/mykey/internal/ocsptest"
	"github.com/mykey-jp/mykey/internal/pcsctest"
	"github.com/mykey-jp/mykey/internal/testcard"
	"github.com/mykey-jp/mykey/internal/testpki"
	"github.com/mykey-jp/mykey/internal/xdesk"
)

// newFixtureCard makes a fixture card that is taken off its reader when
// the test ends.
func newFixtureCard(t testing.TB, name string, f vcard.Faults, variant ...string) *testcard.Held {
	t.Helper()
	c, err := testcard.NewHeld(name, f, append(variant, "")[0])
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Remove)
	return c
}

// service is `mykey run --no-tray --json` as its own process.
type service struct {
	cmd    *exec.Cmd
	lines  chan map[string]any
	typed  chan string // other lines: what wedge.output = "stdout" typed
	stderr syncBuffer
}

// syncBuffer collects a child's output; the test may read it while the
// child still writes.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func startService(t *testing.T, env []string) *service {
	t.Helper()
	s := &service{lines: make(chan map[string]any, 64), typed: make(chan string, 64)}
	s.cmd = exec.Command(os.Args[0], "run", "--no-tray", "--json")
	// The race detector sleeps 1 s at exit by default; the stop-time check
	// measures mykey, not that.
	s.cmd.Env = append(append(os.Environ(), "MYKEY_RUN_MAIN=1", "GORACE=atexit_sleep_ms=0"), env...)
	out, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stderr = &s.stderr
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				s.lines <- m
			} else {
				select {
				case s.typed <- sc.Text():
				default:
				}
			}
		}
		close(s.lines)
	}()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			s.cmd.Process.Kill()
			s.cmd.Wait()
		}
	})
	return s
}

// next waits for the next status line.
func (s *service) next(t *testing.T) map[string]any {
	t.Helper()
	select {
	case m, ok := <-s.lines:
		if !ok {
			t.Fatalf("mykey run ended:\n%s", s.stderr.String())
		}
		return m
	case <-time.After(15 * time.Second):
		t.Fatalf("no status from mykey run within 15 s\n%s", s.stderr.String())
	}
	return nil
}

func TestRunEndToEnd(t *testing.T) {
	pcscd := pcsctest.Start(t, 2)
	d := xdesk.Start(t)
	target := d.Target("ILS", false)
	decoy := d.Target("decoy", false)
	r := ocsptest.Start(t, "ca-2023", time.Now)
	dir := setupCLI(t)
	pki := testpki.Dir()
	crl := filepath.Join(dir, "auth.crl")
	writeCRL(t, crl, 1, "user-renewed")
	cfg := fmt.Sprintf(`[database]
path = "registry.db"
[wedge]
allow_exe = ["xterm"]
allow_title = "^ILS$"
key_delay_ms = 1
[revocation]
method = "ocsp-then-crl"
ocsp_url = %q
ocsp_timeout_ms = 1500
trust_anchors = [%q, %q, %q]
[log]
dir = "logs"
%s`, r.URL, filepath.Join(pki, "ca-2019.der"), filepath.Join(pki, "ca-2023.der"), filepath.Join(pki, "ca-test.der"), testcard.ConfigTOML(pki))
	os.WriteFile(filepath.Join(dir, "mykey.toml"), []byte(cfg), 0o644)
	if _, errs, code := cli(t, "crl", "import", crl); code != 0 {
		t.Fatalf("crl import: %s", errs)
	}

	// Register two cards through the real registration (PIN and signature,
	// then the date of birth for the genuine-card check: from the card with
	// the input-assist PIN, or typed from the card face).
	good := newFixtureCard(t, "user", vcard.Faults{})
	renewed := newFixtureCard(t, "user-renewed", vcard.Faults{})
	for _, reg := range []struct {
		card       *testcard.Held
		patron, in string
		dob        []string
	}{{good, "11112222", "1234\n" + testcard.AssistPIN + "\n", nil}, {renewed, "33334444", "1234\n", []string{"--dob", testcard.DOB}}} {
		reg.card.Insert(pcsctest.Addr(0, 0))
		waitCard(t, true)
		o, errs, code := cliStdin(t, reg.in, append([]string{"register", "--pin-stdin", "--patron", reg.patron, "--json"}, reg.dob...)...)
		if code != 0 {
			t.Fatalf("register %s: %s%s", reg.patron, o, errs)
		}
		reg.card.Remove()
		waitCard(t, false)
	}

	svc := startService(t, []string{"DISPLAY=" + d.Display})
	time.Sleep(500 * time.Millisecond) // the service finds the readers
	target.Focus()
	reader0, reader1 := "Virtual PCD 00 00", "Virtual PCD 1 00 00"

	tap := func(c *testcard.Held, addr string) map[string]any {
		t.Helper()
		c.Insert(addr)
		m := svc.next(t)
		c.Remove()
		return m
	}
	want := func(m map[string]any, outcome, check, method string) {
		t.Helper()
		if m["outcome"] != outcome || (check != "" && m["check"] != check) || (method != "" && m["method"] != method) {
			logb, _ := os.ReadFile(filepath.Join(dir, "logs", "mykey.log"))
			t.Fatalf("status %v, want %s %s %s\nmykey.log:\n%s", m, outcome, check, method, logb)
		}
	}
	typed := ""

	// A registered card: exactly the number and Enter arrive.
	m := tap(good, pcsctest.Addr(0, 0))
	want(m, "typed", "good", "ocsp")
	if m["reader"] != reader0 || m["mykey_id"] == "" {
		t.Errorf("status %v", m)
	}
	typed += "11112222^M"
	target.Wait(typed, 5*time.Second)

	// The genuine-card check: each card that is not the genuine registered
	// one ends in its own outcome and types nothing (the target's content
	// is compared at the end).
	for v, outcome := range map[string]string{
		testcard.NoSurface: "no-surface-ap", testcard.Cloned: "cloned-card", testcard.DOBLocked: "dob-locked",
		testcard.WrongDOB: "not-genuine", testcard.Uncertified: "not-genuine", testcard.OtherCard: "cloned-card",
	} {
		want(tap(newFixtureCard(t, "user", vcard.Faults{}, v), pcsctest.Addr(0, 0)), outcome, "good", "")
	}

	// Revoked by OCSP.
	c, _, _ := testpki.Load("user-renewed")
	cert, _ := x509.ParseCertificate(c)
	r.Revoke(cert.SerialNumber)
	want(tap(renewed, pcsctest.Addr(0, 0)), "rejected", "revoked", "ocsp")
	// OCSP down: the CRL says revoked.
	r.SetMode(ocsptest.Error500)
	want(tap(renewed, pcsctest.Addr(0, 0)), "rejected", "revoked", "crl")
	// ... and the good card, on the second reader, still good (its good
	// OCSP answer is cached until nextUpdate).
	m = tap(good, pcsctest.Addr(1, 0))
	want(m, "typed", "good", "ocsp")
	if m["reader"] != reader1 {
		t.Errorf("second reader: %v", m)
	}
	typed += "11112222^M"
	r.SetMode(ocsptest.Normal)
	// Expired, unknown.
	want(tap(newFixtureCard(t, "user-expired", vcard.Faults{}), pcsctest.Addr(0, 0)), "rejected", "expired", "chain")
	want(tap(newFixtureCard(t, "user-unregistered", vcard.Faults{}), pcsctest.Addr(0, 0)), "unknown-card", "good", "")
	// Pulled mid-read: nothing; held up again: typed.
	pulled := newFixtureCard(t, "user", vcard.Faults{RemoveAfter: 3})
	pulled.Insert(pcsctest.Addr(0, 0))
	want(svc.next(t), "card-removed", "", "")
	pulled.Remove()
	waitCard(t, false)
	want(tap(pulled, pcsctest.Addr(0, 0)), "typed", "good", "")
	typed += "11112222^M"
	target.Wait(typed, 5*time.Second)

	// pcscd restarted while running: the next tap works.
	pcscd.Restart()
	time.Sleep(time.Second) // the service notices within its 250 ms liveness check
	want(tap(good, pcsctest.Addr(0, 0)), "typed", "", "")
	typed += "11112222^M"
	target.Wait(typed, 5*time.Second)

	// Focus on a decoy: nothing typed there.
	decoy.Focus()
	want(tap(good, pcsctest.Addr(0, 0)), "focus-refused", "good", "")
	time.Sleep(200 * time.Millisecond)
	if decoy.Content() != "" || target.Content() != typed {
		t.Fatalf("decoy %q target %q", decoy.Content(), target.Content())
	}

	// SIGTERM stops it within a second, cleanly.
	start := time.Now()
	svc.cmd.Process.Signal(syscall.SIGTERM)
	err := svc.cmd.Wait()
	logb, _ := os.ReadFile(filepath.Join(dir, "logs", "mykey.log"))
	if err != nil || time.Since(start) > time.Second {
		t.Errorf("stop: %v after %v\n%s\n%s", err, time.Since(start), svc.stderr.String(), logb[max(0, len(logb)-600):])
	}
	// The log has the taps and no patron numbers.
	if !strings.Contains(string(logb), `"outcome":"typed"`) || strings.Contains(string(logb), "11112222") {
		t.Errorf("log:\n%s", logb)
	}
}

// TestProfilesEndToEnd runs the desk with two readers of different
// profiles, set by a managed drop-in file (pcscd + vpcd, Xvfb): the counter
// reader presses Ctrl+B and types into the ILS window with Tab; the
// registration reader looks up and types nothing.
func TestProfilesEndToEnd(t *testing.T) {
	pcsctest.Start(t, 2)
	d := xdesk.Start(t)
	target := d.Target("ILS", false)
	dir := setupCLI(t)
	pki := testpki.Dir()
	crl := filepath.Join(dir, "auth.crl")
	writeCRL(t, crl, 1)
	cfg := fmt.Sprintf("[database]\npath = \"registry.db\"\n[wedge]\nallow_exe = [\"xterm\"]\nallow_title = \"^nothing$\"\nkey_delay_ms = 1\n[revocation]\nmethod = \"crl\"\ntrust_anchors = [%q]\n[log]\ndir = \"logs\"\n%s",
		filepath.Join(pki, "ca-2023.der"), testcard.ConfigTOML(pki))
	os.WriteFile(filepath.Join(dir, "mykey.toml"), []byte(cfg), 0o644)
	os.Mkdir(filepath.Join(dir, "mykey.d"), 0o755)
	os.WriteFile(filepath.Join(dir, "mykey.d", "50-readers.toml"), []byte(`[profiles.counter]
readers = ["Virtual PCD 00 00"]
template = "{ctrl+b}{patron}{tab}"
allow_title = "^ILS$"
[profiles.registration]
readers = ["Virtual PCD 1 "]
action = "lookup"
`), 0o644)
	var check struct {
		Managed []struct{ Key, From string } `json:"managed"`
	}
	cliJSON(t, &check, "config", "check")
	if len(check.Managed) != 5 || check.Managed[0].Key != "profiles.counter.allow_title" || !strings.HasSuffix(check.Managed[0].From, "50-readers.toml:4") {
		t.Fatalf("config check: managed %+v", check.Managed)
	}
	good := registerOn(t, crl, "11112222")
	good.Remove()
	waitCard(t, false)

	svc := startService(t, []string{"DISPLAY=" + d.Display})
	time.Sleep(500 * time.Millisecond)
	target.Focus()
	tap := func(addr string) map[string]any {
		t.Helper()
		good.Insert(addr)
		m := svc.next(t)
		good.Remove()
		return m
	}
	if m := tap(pcsctest.Addr(0, 0)); m["outcome"] != "typed" || m["profile"] != "counter" {
		t.Fatalf("counter reader: %v", m)
	}
	target.Wait("^B11112222\t", 5*time.Second)
	if m := tap(pcsctest.Addr(1, 0)); m["outcome"] != "looked-up" || m["profile"] != "registration" || m["mykey_id"] == "" || m["keys"] != 0.0 {
		t.Fatalf("registration reader: %v", m)
	}
	time.Sleep(200 * time.Millisecond)
	if got := target.Content(); got != "^B11112222\t" {
		t.Fatalf("the look-up reader typed: %q", got)
	}
	svc.cmd.Process.Signal(syscall.SIGTERM)
	svc.cmd.Wait()
}

// registerOn imports the CRL, then registers the fixture card "user" on the
// first vpcd reader with the input-assist PIN, linked to patron, and leaves
// it there.
func registerOn(t *testing.T, crl, patron string) *testcard.Held {
	t.Helper()
	if _, errs, code := cli(t, "crl", "import", crl); code != 0 {
		t.Fatalf("crl import: %s", errs)
	}
	c := newFixtureCard(t, "user", vcard.Faults{})
	c.Insert(pcsctest.Addr(0, 0))
	waitCard(t, true)
	if o, errs, code := cliStdin(t, "1234\n"+testcard.AssistPIN+"\n", "register", "--pin-stdin", "--patron", patron); code != 0 {
		t.Fatalf("register: %s%s", o, errs)
	}
	return c
}
