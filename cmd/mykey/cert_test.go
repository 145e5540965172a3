package main

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/internal/ocsptest"
	"github.com/mykey-jp/mykey/internal/pcsctest"
	"github.com/mykey-jp/mykey/internal/testpki"
)

// setupCert writes a configuration trusting the fixture CAs, with the given
// OCSP responder URL and method, and returns the test's folder.
func setupCert(t *testing.T, method, ocspURL string) string {
	dir := setupCLI(t)
	pki := testpki.Dir()
	cfg := fmt.Sprintf(`[database]
path = "registry.db"
[revocation]
method = %q
ocsp_url = %q
ocsp_timeout_ms = 1500
trust_anchors = [%q, %q, %q]
`, method, ocspURL, filepath.Join(pki, "ca-2019.der"), filepath.Join(pki, "ca-2023.der"), filepath.Join(pki, "ca-test.der"))
	if err := os.WriteFile(filepath.Join(dir, "mykey.toml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func writeCRL(t *testing.T, path string, number int64, revoked ...string) {
	t.Helper()
	if err := writeCRLFile(path, number, revoked...); err != nil {
		t.Fatal(err)
	}
}

// writeCRLFile writes a CRL of ca-2023, valid now, revoking the fixture
// certificates named.
func writeCRLFile(path string, number int64, revoked ...string) error {
	now := time.Now()
	return testpki.WriteCRLFile(path, number, now.Add(-time.Hour), now.Add(23*time.Hour), revoked...)
}

type decision struct {
	OK      bool   `json:"ok"`
	Reason  string `json:"reason"`
	Method  string `json:"method"`
	Message string `json:"message"`
}

func certCheck(t *testing.T, fixture string) (decision, int) {
	t.Helper()
	out, errs, code := cli(t, "cert", "check", filepath.Join(testpki.Dir(), fixture+".der"), "--json")
	var d decision
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("cert check %s: %v\n%s%s", fixture, err, out, errs)
	}
	return d, code
}

func TestCertCheckAndCRL(t *testing.T) {
	r := ocsptest.Start(t, "ca-2023", time.Now)
	dir := setupCert(t, "ocsp-then-crl", r.URL)

	// OCSP answers.
	if d, code := certCheck(t, "user"); code != 0 || d.Reason != "good" || d.Method != "ocsp" {
		t.Fatalf("good by OCSP: %+v exit %d", d, code)
	}
	// OCSP hangs and there is no CRL: unavailable, denied.
	r.SetMode(ocsptest.Hang)
	if d, code := certCheck(t, "user"); code != exitFailure || d.Reason != "unavailable" || !strings.Contains(d.Message, "失効を確認できません") {
		t.Fatalf("nothing answers: %+v exit %d", d, code)
	}
	// Import a CRL revoking user-renewed: the CRL answers.
	crl := filepath.Join(dir, "auth.crl")
	writeCRL(t, crl, 10, "user-renewed")
	var imp struct {
		Entries int    `json:"entries"`
		Number  string `json:"number"`
		Stale   bool   `json:"stale"`
	}
	cliJSON(t, &imp, "crl", "import", crl)
	if imp.Entries != 1 || imp.Number != "10" || imp.Stale {
		t.Fatalf("import: %+v", imp)
	}
	if d, code := certCheck(t, "user"); code != 0 || d.Method != "crl" {
		t.Fatalf("good by CRL: %+v exit %d", d, code)
	}
	if d, code := certCheck(t, "user-renewed"); code != exitFailure || d.Reason != "revoked" || d.Method != "crl" {
		t.Fatalf("revoked by CRL: %+v exit %d", d, code)
	}
	// An older CRL, a damaged one: refused, the index stays.
	older := filepath.Join(dir, "older.crl")
	writeCRL(t, older, 9)
	if _, errs, code := cli(t, "crl", "import", older); code != exitFailure || !strings.Contains(errs, "古いため") {
		t.Fatalf("older CRL: exit %d %s", code, errs)
	}
	b, _ := os.ReadFile(crl)
	os.WriteFile(older, b[:len(b)-40], 0o644)
	if _, errs, code := cli(t, "--lang", "en", "crl", "import", older); code != exitFailure || !strings.Contains(errs, "previous one stays in use") || !strings.Contains(errs, "older.crl") {
		t.Fatalf("truncated CRL: exit %d %s", code, errs)
	}
	if d, _ := certCheck(t, "user-renewed"); d.Reason != "revoked" {
		t.Fatalf("index lost after failed imports: %+v", d)
	}
	// Import over HTTP on loopback, a newer CRL revoking nothing.
	writeCRL(t, crl, 11)
	newer, _ := os.ReadFile(crl)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(newer) }))
	defer srv.Close()
	cliJSON(t, &imp, "crl", "import", srv.URL+"/auth.crl")
	if imp.Number != "11" || imp.Entries != 0 {
		t.Fatalf("import by URL: %+v", imp)
	}
	var st struct {
		CRLs []struct {
			Issuer string `json:"issuer"`
			Stale  bool   `json:"stale"`
		} `json:"crls"`
	}
	cliJSON(t, &st, "crl", "status")
	if len(st.CRLs) != 1 || st.CRLs[0].Stale || !strings.Contains(st.CRLs[0].Issuer, "JPKI") {
		t.Fatalf("status: %+v", st)
	}
	// OCSP back and revoking: revoked by OCSP wins.
	r.SetMode(ocsptest.Normal)
	c, _, _ := testpki.Load("user")
	p, _ := x509.ParseCertificate(c)
	r.Revoke(p.SerialNumber)
	if d, code := certCheck(t, "user"); code != exitFailure || d.Reason != "revoked" || d.Method != "ocsp" {
		t.Fatalf("revoked by OCSP: %+v exit %d", d, code)
	}
	// Chain reasons.
	for fixture, want := range map[string]string{"user-2019": "expired", "user-testcard": "test-card"} {
		if d, code := certCheck(t, fixture); code != exitFailure || d.Reason != want {
			t.Errorf("%s: %+v exit %d", fixture, d, code)
		}
	}
}

func TestCertCheckWithoutAnchors(t *testing.T) {
	setupCLI(t)
	_, errs, code := cli(t, "cert", "check", filepath.Join(testpki.Dir(), "user.der"))
	if code != exitUsage || !strings.Contains(errs, "trust_anchors") {
		t.Fatalf("exit %d %s", code, errs)
	}
	_, errs, code = cli(t, "cert", "check")
	if code != exitUsage || !bytes.Contains([]byte(errs), []byte("使い方")) {
		t.Fatalf("no argument: exit %d %s", code, errs)
	}
}

// TestCertCheckCard checks the certificate read from the virtual card
// through pcscd against a loopback OCSP responder.
func TestCertCheckCard(t *testing.T) {
	pcsctest.Start(t, 1)
	r := ocsptest.Start(t, "ca-2023", time.Now)
	dir := setupCert(t, "ocsp", r.URL)
	startVCard(t, filepath.Join(dir, "apdu.log"), "")
	var d decision
	cliJSON(t, &d, "cert", "check", "--card", "--wait", "5s")
	if !d.OK || d.Reason != "good" || d.Method != "ocsp" || r.Hits() != 1 {
		t.Fatalf("card check: %+v, %d OCSP requests", d, r.Hits())
	}
}
