package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/cardio/vcard"
	"github.com/mykey-jp/mykey/internal/pcsctest"
	"github.com/mykey-jp/mykey/internal/testenv"
	"github.com/mykey-jp/mykey/internal/testpki"
)

// cli runs mykey in this process and returns its output and exit code.
func cli(t testing.TB, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	return cliStdin(t, "", args...)
}

// cliStdin is cli with stdin.
func cliStdin(t testing.TB, stdin string, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

func cliJSON(t testing.TB, v any, args ...string) {
	t.Helper()
	out, errs, code := cli(t, append(args, "--json")...)
	if code != 0 {
		t.Fatalf("mykey %v: exit %d\n%s%s", args, code, out, errs)
	}
	if err := json.Unmarshal([]byte(out), v); err != nil {
		t.Fatalf("mykey %v: %v\n%s", args, err, out)
	}
}

// startVCard inserts the fixture "user" card into the first vpcd slot,
// served in process as mykey-vcard serves it (re-inserted a second after
// a removal), with faults as mykey-vcard --fault takes them, and returns a
// function that pulls it.
func startVCard(t testing.TB, apduLog string, faults string) (stop func()) {
	t.Helper()
	cert, key, err := testpki.Load("user")
	if err != nil {
		t.Fatal(err)
	}
	ca, _, _ := testpki.Load("ca-2023")
	f, err := vcard.ParseFaults(faults)
	if err != nil {
		t.Fatal(err)
	}
	log, err := os.Create(apduLog)
	if err != nil {
		t.Fatal(err)
	}
	card, err := vcard.New(vcard.Config{AuthCert: cert, AuthCA: ca, Key: key, PIN: "1234", Faults: f}, log)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		card.ServeLoop(ctx, pcsctest.Addr(0, 0), time.Second, func(err error) { t.Logf("virtual card: %v", err) })
	}()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		<-done
		log.Close()
		// pcscd polls every 400 ms: let it see the card go before the next.
		waitCard(t, false)
	}
	t.Cleanup(stop)
	waitCard(t, true)
	return stop
}

// waitCard polls `mykey readers` until the first vpcd slot holds a card (or not).
func waitCard(t testing.TB, present bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		var r struct {
			Readers []struct {
				Name    string `json:"name"`
				Present bool   `json:"card_present"`
			} `json:"readers"`
		}
		out, _, code := cli(t, "readers", "--json")
		if code == 0 && json.Unmarshal([]byte(out), &r) == nil {
			for _, rd := range r.Readers {
				if rd.Name == "Virtual PCD 00 00" && rd.Present == present {
					return
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("the reader never had card_present=%v", present)
}

func setupCLI(t *testing.T) string {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "mykey.toml")
	os.WriteFile(cfg, []byte("[database]\npath = \"registry.db\"\n"), 0o644)
	t.Setenv("MYKEY_CONFIG", cfg)
	t.Setenv("MYKEY_LANG", "")
	return dir
}

func TestCardCommandsThroughPCSCD(t *testing.T) {
	pcsctest.Start(t, 1)
	dir := setupCLI(t)
	apduLog := filepath.Join(dir, "apdu.log")
	startVCard(t, apduLog, "")

	cert, _, err := testpki.Load("user")
	if err != nil {
		t.Fatal(err)
	}
	parsed, _ := x509.ParseCertificate(cert)
	sum := sha256.Sum256(cert)
	for _, extended := range []bool{false, true} {
		args := []string{"card", "read", "--wait", "5s"}
		if extended {
			args = append(args, "--extended")
		}
		var r struct {
			Reader, Token, Serial, Issuer, Subject, SHA256 string
			NotAfter                                       string  `json:"not_after"`
			APDUs                                          int     `json:"apdus"`
			Bytes                                          int     `json:"bytes"`
			Elapsed                                        float64 `json:"elapsed_ms"`
		}
		cliJSON(t, &r, args...)
		if r.Serial != hex.EncodeToString(parsed.SerialNumber.Bytes()) || r.SHA256 != hex.EncodeToString(sum[:]) ||
			r.Token != "JPKIAPICCTOKEN2" || r.Reader != "Virtual PCD 00 00" || !strings.Contains(r.Issuer, "JPKI for user authentication") ||
			r.NotAfter != parsed.NotAfter.UTC().Format(time.RFC3339) {
			t.Errorf("card read (extended=%v) = %+v", extended, r)
		}
		// Applet 1, token info 2, certificate 1 + 5 short reads or 1
		// extended one.
		if max := map[bool]int{false: 9, true: 5}[extended]; r.APDUs > max || r.Bytes < len(cert) {
			t.Errorf("extended=%v: %d APDUs, %d bytes", extended, r.APDUs, r.Bytes)
		}
	}
	var pin struct {
		TriesLeft int `json:"tries_left"`
	}
	cliJSON(t, &pin, "card", "pin-status")
	if pin.TriesLeft != 3 {
		t.Errorf("tries_left = %d", pin.TriesLeft)
	}
	out, _, code := cli(t, "card", "read", "--reader", "No Such Reader", "--wait", "0s")
	if code != exitUsage {
		t.Errorf("unknown reader: exit %d %s", code, out)
	}
	_, errs, code := cli(t, "card", "read", "--reader", "Virtual PCD 00 01", "--wait", "200ms")
	if code != exitNotFound || !strings.Contains(errs, "カードがかざされませんでした") {
		t.Errorf("empty reader: exit %d %s", code, errs)
	}

	// The APDU log shows our commands.
	log, _ := os.ReadFile(apduLog)
	if !strings.Contains(string(log), "> 00a4040c0ad392f000260100000001") {
		t.Errorf("APDU log lacks the applet selection:\n%s", log)
	}
}

func TestCardFaultsThroughCLI(t *testing.T) {
	pcsctest.Start(t, 1)
	dir := setupCLI(t)
	tests := []struct {
		fault, want string
	}{
		{"not-jpki", "マイナンバーカードではありません"},
		{"remove-after=4", "読み取り中にカードが離されました"},
		{"remove-after=1", "読み取り中にカードが離されました"},
	}
	for _, tt := range tests {
		t.Run(tt.fault, func(t *testing.T) {
			stop := startVCard(t, filepath.Join(dir, "apdu.log"), tt.fault)
			defer stop()
			out, errs, code := cli(t, "card", "read", "--wait", "5s")
			if code != exitFailure || !strings.Contains(errs, tt.want) {
				t.Fatalf("card read with %s: exit %d\n%s%s", tt.fault, code, out, errs)
			}
			if out != "" {
				t.Errorf("stdout on failure: %q", out)
			}
			if tt.fault == "not-jpki" {
				return
			}
			// Held up again (the card re-inserts itself), it reads.
			waitCard(t, false)
			waitCard(t, true)
			if _, errs, code := cli(t, "card", "read", "--wait", "5s"); code != 0 {
				t.Fatalf("next read: exit %d %s", code, errs)
			}
		})
	}
	// After the faults, a good card reads again.
	stop := startVCard(t, filepath.Join(dir, "apdu.log"), "")
	defer stop()
	if _, errs, code := cli(t, "card", "read", "--wait", "5s"); code != 0 {
		t.Fatalf("read after faults: %d %s", code, errs)
	}
}

// TestOpenSC cross-checks the virtual card with OpenSC, an independent
// JPKI client: it must recognise the card, read certificate 000A as the
// fixture, and sign with the auth key after the PIN.
func TestOpenSC(t *testing.T) {
	for _, tool := range []string{"opensc-tool", "pkcs15-tool", "pkcs11-tool", "openssl"} {
		if _, err := exec.LookPath(tool); err != nil {
			testenv.Unavailable(t, "%s missing (apt install opensc openssl)", tool)
		}
	}
	pcsctest.Start(t, 1)
	dir := setupCLI(t)
	apduLog := filepath.Join(dir, "apdu.log")
	startVCard(t, apduLog, "")
	sh := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
		return string(out)
	}
	if out := sh("opensc-tool", "-n"); !strings.Contains(out, "jpki") {
		t.Fatalf("opensc-tool -n = %q, want jpki", out)
	}
	pemOut := sh("pkcs15-tool", "--read-certificate", "01")
	blk, _ := pem.Decode([]byte(pemOut[strings.Index(pemOut, "-----BEGIN"):]))
	cert, _, _ := testpki.Load("user")
	if blk == nil || !bytes.Equal(blk.Bytes, cert) {
		t.Fatalf("pkcs15-tool read a different certificate 01:\n%s", pemOut)
	}
	data := filepath.Join(dir, "data.bin")
	sig := filepath.Join(dir, "sig.bin")
	pub := filepath.Join(dir, "pub.pem")
	certPEM := filepath.Join(dir, "cert.pem")
	os.WriteFile(data, []byte("challenge from the desk"), 0o644)
	os.WriteFile(certPEM, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert}), 0o644)
	sh("pkcs11-tool", "--module", pkcs11Module(t), "--login", "--pin", "1234", "--sign", "--id", "01",
		"-m", "SHA256-RSA-PKCS", "-i", data, "-o", sig)
	sh("openssl", "x509", "-in", certPEM, "-pubkey", "-noout", "-out", pub)
	if out := sh("openssl", "dgst", "-sha256", "-verify", pub, "-signature", sig, data); !strings.Contains(out, "Verified OK") {
		t.Fatalf("openssl: %s", out)
	}
	// The PIN went through the card, but never into the APDU log.
	log, _ := os.ReadFile(apduLog)
	if !strings.Contains(string(log), "<PIN redacted>") || strings.Contains(string(log), "0400200080043132333") {
		t.Errorf("APDU log shows the PIN or no VERIFY:\n%s", log)
	}
}

func pkcs11Module(t testing.TB) string {
	for _, p := range []string{"/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so", "/usr/lib/opensc-pkcs11.so", "/usr/lib64/opensc-pkcs11.so"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	testenv.Unavailable(t, "opensc-pkcs11.so not found")
	return ""
}
