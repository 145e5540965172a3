//go:build linux

package main

import (
	"archive/zip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/internal/ocsptest"
	"github.com/mykey-jp/mykey/internal/pcsctest"
	"github.com/mykey-jp/mykey/internal/testcard"
	"github.com/mykey-jp/mykey/internal/testpki"
	"github.com/mykey-jp/mykey/internal/xdesk"
	"github.com/mykey-jp/mykey/keyfile"
)

type doctorReport struct {
	Findings []struct {
		Check, Verdict, Code, Detail string
	}
}

func (r doctorReport) find(check string) (verdict, code string) {
	for _, f := range r.Findings {
		if f.Check == check {
			return f.Verdict, f.Code
		}
	}
	return "", ""
}

// TestDoctor runs mykey doctor on a healthy desk (pcscd with a card, Xvfb
// with the library system focused, an OCSP responder on loopback, a
// registry with a registered card), then with each fault injected, and
// writes a support bundle that holds no personal data.
func TestDoctor(t *testing.T) {
	pcscd := pcsctest.Start(t, 1)
	d := xdesk.Start(t)
	t.Setenv("DISPLAY", d.Display)
	target := d.Target("ILS", false)
	r := ocsptest.Start(t, "ca-2023", time.Now)
	dir := setupCLI(t)
	pki := testpki.Dir()
	base := func(extra string) string {
		return fmt.Sprintf("[database]\npath = \"registry.db\"\n[wedge]\nallow_exe = [\"xterm\"]\nallow_title = \"^ILS$\"\n[revocation]\nocsp_url = %q\nocsp_timeout_ms = 1500\ntrust_anchors = [%q]\n%s[log]\ndir = \"logs\"\n%s",
			r.URL, filepath.Join(pki, "ca-2023.der"), extra, testcard.ConfigTOML(pki))
	}
	cfgPath := filepath.Join(dir, "mykey.toml")
	setCfg := func(s string) { os.WriteFile(cfgPath, []byte(s), 0o644) }
	setCfg(base(""))
	crl := filepath.Join(dir, "auth.crl")
	writeCRL(t, crl, 1)
	registerOn(t, crl, "11112222") // and left on the reader
	target.Focus()

	doctor := func(t *testing.T) (doctorReport, int) {
		t.Helper()
		out, errs, code := cli(t, "doctor", "--json")
		var rep doctorReport
		if err := json.Unmarshal([]byte(out), &rep); err != nil || len(rep.Findings) != 9 {
			t.Fatalf("doctor --json: %v\n%s%s", err, out, errs)
		}
		return rep, code
	}

	t.Run("healthy", func(t *testing.T) {
		rep, code := doctor(t)
		for _, f := range rep.Findings {
			if f.Verdict != "ok" {
				t.Errorf("%s: %s %s: %s", f.Check, f.Verdict, f.Code, f.Detail)
			}
		}
		if code != 0 {
			t.Errorf("exit %d", code)
		}
		out, _, _ := cli(t, "--lang", "ja", "doctor")
		if !strings.Contains(out, "[正常] 登録簿:") || !strings.Contains(out, "結果: すべて正常です。") || !strings.Contains(out, "the card on") {
			t.Errorf("doctor:\n%s", out)
		}
	})

	// Each fault is named by its check and code; the others stay ok.
	faults := []struct {
		name, check, verdict, code string
		inject, undo               func()
	}{
		{"OCSP down", "ocsp", "warn", "ocsp-unreachable", func() { r.SetMode(ocsptest.Error500) }, func() { r.SetMode(ocsptest.Normal) }},
		{"no reader", "readers", "fail", "no-reader", func() { setCfg(base("[readers]\ninclude = [\"Sony\"]\n")) }, nil},
		{"wrong key file mode", "keyfile", "fail", "key-unusable", func() { os.Chmod(filepath.Join(dir, "pseudonym.key"), 0o644) }, func() { os.Chmod(filepath.Join(dir, "pseudonym.key"), 0o600) }},
		{"expired trust anchor", "anchors", "fail", "anchor-invalid", func() {
			p := filepath.Join(dir, "expired-ca.der")
			os.WriteFile(p, expiredCA(t), 0o644)
			setCfg(strings.Replace(base(""), fmt.Sprintf("trust_anchors = [%q]", filepath.Join(pki, "ca-2023.der")), fmt.Sprintf("trust_anchors = [%q, %q]", filepath.Join(pki, "ca-2023.der"), p), 1))
		}, nil},
		{"stale CRL", "crl", "fail", "crl-stale", func() {
			stale := filepath.Join(dir, "stale.crl")
			writeStaleCRL(t, stale)
			setCfg(base("crl_dir = \"crl-stale\"\n"))
			if _, errs, code := cli(t, "crl", "import", stale); code != 0 {
				t.Fatalf("crl import: %s", errs)
			}
		}, nil},
		{"another key file", "registry", "fail", "key-mismatch", func() {
			key := filepath.Join(dir, "pseudonym.key")
			os.Rename(key, key+".good")
			if _, _, err := keyfile.LoadOrCreate(key, rand.Reader); err != nil {
				t.Fatal(err)
			}
		}, func() {
			key := filepath.Join(dir, "pseudonym.key")
			os.Rename(key+".good", key)
		}},
		{"corrupt registry", "registry", "fail", "registry-damaged", func() {
			db := filepath.Join(dir, "registry.db")
			b, _ := os.ReadFile(db)
			os.WriteFile(db+".good", b, 0o600)
			for i := 4096; i < len(b) && i < 4096*3; i++ {
				b[i] ^= 0x5a
			}
			os.WriteFile(db, b, 0o600)
		}, func() {
			db := filepath.Join(dir, "registry.db")
			os.Rename(db+".good", db)
		}},
		// The doctor does not wait for it as a desk does (it did, forever).
		{"PC/SC service down", "readers", "fail", "readers-unavailable", pcscd.Stop, pcscd.Restart},
	}
	for _, f := range faults {
		t.Run(f.name, func(t *testing.T) {
			f.inject()
			defer func() {
				if f.undo != nil {
					f.undo()
				}
				setCfg(base(""))
			}()
			rep, code := doctor(t)
			if v, c := rep.find(f.check); v != f.verdict || c != f.code {
				t.Fatalf("%s: %s %s, want %s %s\n%+v", f.check, v, c, f.verdict, f.code, rep)
			}
			for _, g := range rep.Findings {
				if g.Check != f.check && g.Verdict == "fail" {
					t.Errorf("%s also failed: %s %s", g.Check, g.Code, g.Detail)
				}
			}
			if (f.verdict == "fail") != (code != 0) {
				t.Errorf("exit %d", code)
			}
			out, _, _ := cli(t, "--lang", "en", "doctor")
			if !strings.Contains(out, "→ ") {
				t.Errorf("no advice:\n%s", out)
			}
		})
	}

	t.Run("bundle", func(t *testing.T) {
		// A log line holding a patron number (as an old version might
		// have written) is redacted in the bundle.
		os.MkdirAll(filepath.Join(dir, "logs"), 0o700)
		os.WriteFile(filepath.Join(dir, "logs", "mykey.log"), []byte(`{"level":"info","reader":"Virtual PCD 00 00","outcome":"typed","mykey_id":"ABCD2345","message":"tap"}`+"\n"+`{"level":"warn","message":"typed 11112222"}`+"\n"), 0o600)
		zipPath := filepath.Join(dir, "support.zip")
		if _, errs, code := cli(t, "doctor", "--bundle", zipPath); code != 0 {
			t.Fatalf("doctor --bundle: %s", errs)
		}
		if _, _, code := cli(t, "doctor", "--bundle", zipPath); code == 0 {
			t.Error("an existing bundle was replaced without --force")
		}
		zr, err := zip.OpenReader(zipPath)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		der, _, _ := testpki.Load("user")
		leaf, _ := x509.ParseCertificate(der)
		forbidden := []string{"11112222", leaf.SerialNumber.String(), fmt.Sprintf("%x", leaf.SerialNumber), fmt.Sprintf("%X", leaf.SerialNumber), testcard.DOB}
		var names []string
		for _, f := range zr.File {
			names = append(names, f.Name)
			rc, _ := f.Open()
			b, _ := io.ReadAll(rc)
			rc.Close()
			for _, s := range forbidden {
				if strings.Contains(string(b), s) {
					t.Errorf("%s holds %q", f.Name, s)
				}
			}
			if f.Name == "mykey.log" && !strings.Contains(string(b), "typed [patron]") {
				t.Errorf("mykey.log in the bundle:\n%s", b)
			}
		}
		if got := strings.Join(names, " "); got != "doctor.txt doctor.json version.json config.toml mykey.log" {
			t.Errorf("bundle holds %s", got)
		}
	})
}

// expiredCA returns a self-signed CA certificate that expired yesterday.
func expiredCA(t *testing.T) []byte {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "expired test CA"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// writeStaleCRL writes a CRL of ca-2023 whose next update was two days ago.
func writeStaleCRL(t *testing.T, path string) {
	now := time.Now()
	if err := testpki.WriteCRLFile(path, 1, now.Add(-72*time.Hour), now.Add(-48*time.Hour)); err != nil {
		t.Fatal(err)
	}
}
