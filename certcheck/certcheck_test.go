package certcheck_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/certcheck"
	"github.com/mykey-jp/mykey/internal/ocsptest"
	"github.com/mykey-jp/mykey/internal/testpki"
)

// now is inside every fixture's validity but user-expired's.
var now = time.Date(2026, 5, 1, 3, 0, 0, 0, time.UTC)

func clock() time.Time { return now }

func cert(t testing.TB, name string) *x509.Certificate {
	t.Helper()
	der, _, err := testpki.Load(name)
	if err != nil {
		t.Fatal(err)
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func anchors(t testing.TB, names ...string) []*x509.Certificate {
	var out []*x509.Certificate
	for _, n := range names {
		out = append(out, cert(t, n))
	}
	return out
}

func TestChain(t *testing.T) {
	all := anchors(t, "ca-2019", "ca-2023", "ca-test")
	// A leaf without the JPKI policy, issued by the 2023 CA.
	caDER, caKey, _ := testpki.Load("ca-2023")
	ca, _ := x509.ParseCertificate(caDER)
	leafKey := testpki.Key("user")
	noPolicyDER, err := x509.CreateCertificate(nil, &x509.Certificate{
		SerialNumber: big.NewInt(77), Subject: pkix.Name{CommonName: "no policy"},
		NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(1, 0, 0), KeyUsage: x509.KeyUsageDigitalSignature,
	}, ca, &leafKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	noPolicy, _ := x509.ParseCertificate(noPolicyDER)
	tests := []struct {
		name     string
		leaf     *x509.Certificate
		anchors  []*x509.Certificate
		testMode bool
		at       time.Time
		want     certcheck.Reason
		issuer   string
	}{
		{"2023 generation", cert(t, "user"), all, false, now, certcheck.Good, "ca-2023"},
		{"2019 generation, same DN", cert(t, "user-2019"), all, false, now, certcheck.Good, "ca-2019"},
		{"only the other generation", cert(t, "user"), anchors(t, "ca-2019"), false, now, certcheck.Untrusted, ""},
		{"no anchors", cert(t, "user"), nil, false, now, certcheck.Untrusted, ""},
		{"expired", cert(t, "user-expired"), all, false, now, certcheck.Expired, "ca-2019"},
		{"not yet valid", cert(t, "user-renewed"), all, false, time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), certcheck.NotYetValid, "ca-2023"},
		{"test card refused", cert(t, "user-testcard"), all, false, now, certcheck.TestCard, "ca-test"},
		{"test card in test mode", cert(t, "user-testcard"), all, true, now, certcheck.Good, "ca-test"},
		{"no policy", noPolicy, all, false, now, certcheck.BadProfile, "ca-2023"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			at := tt.at
			c := &certcheck.Chain{Anchors: tt.anchors, TestMode: tt.testMode, Now: func() time.Time { return at }}
			issuer, reason, detail := c.Check(tt.leaf)
			if reason != tt.want {
				t.Fatalf("reason %s (%s), want %s", reason, detail, tt.want)
			}
			if tt.issuer != "" && !bytes.Equal(issuer.Raw, cert(t, tt.issuer).Raw) {
				t.Errorf("issuer %v, want %s", issuer.Subject, tt.issuer)
			}
		})
	}
}

// writeCRL writes a CRL by the fixture CA caName with the given serials
// revoked, using the standard library (an independent encoder).
func stdlibCRL(t testing.TB, caName string, number int64, this time.Time, serials ...*big.Int) []byte {
	t.Helper()
	caDER, key, _ := testpki.Load(caName)
	ca, _ := x509.ParseCertificate(caDER)
	var entries []x509.RevocationListEntry
	for _, s := range serials {
		entries = append(entries, x509.RevocationListEntry{SerialNumber: s, RevocationTime: this.Add(-time.Hour)})
	}
	der, err := x509.CreateRevocationList(rand.Reader, &x509.RevocationList{
		Number: big.NewInt(number), ThisUpdate: this, NextUpdate: this.Add(24 * time.Hour),
		RevokedCertificateEntries: entries,
	}, ca, key)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

func store(t testing.TB, names ...string) *certcheck.CRLStore {
	return &certcheck.CRLStore{Dir: t.TempDir(), Anchors: anchors(t, names...), Now: clock}
}

func TestCRLImport(t *testing.T) {
	s := store(t, "ca-2019", "ca-2023")
	user, u2019 := cert(t, "user"), cert(t, "user-2019")
	big1 := new(big.Int).Lsh(big.NewInt(1), 100) // a 13-byte serial
	ix, err := s.Import(bytes.NewReader(stdlibCRL(t, "ca-2023", 5, now.Add(-time.Hour), user.SerialNumber, big.NewInt(1), big1)), -1)
	if err != nil {
		t.Fatal(err)
	}
	if ix.Entries != 3 || ix.Number.Int64() != 5 || !ix.ThisUpdate.Equal(now.Add(-time.Hour)) {
		t.Errorf("index %+v", ix)
	}
	ix, err = s.Index(cert(t, "ca-2023"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		serial *big.Int
		want   bool
	}{{user.SerialNumber, true}, {big.NewInt(1), true}, {big1, true}, {big.NewInt(2), false}, {u2019.SerialNumber, false}} {
		if got := ix.Revoked(tt.serial); got != tt.want {
			t.Errorf("Revoked(%x) = %v", tt.serial, got)
		}
	}
	// The 2019 CA has no CRL yet; the other index is untouched by it.
	if _, err := s.Index(cert(t, "ca-2019")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("2019 index: %v", err)
	}
	st, _ := s.Status()
	if len(st) != 1 {
		t.Errorf("status: %d indexes", len(st))
	}
}

func TestCRLFailuresKeepTheOldIndex(t *testing.T) {
	s := store(t, "ca-2023")
	user := cert(t, "user")
	good := stdlibCRL(t, "ca-2023", 7, now.Add(-time.Hour), user.SerialNumber)
	if _, err := s.Import(bytes.NewReader(good), -1); err != nil {
		t.Fatal(err)
	}
	badSig := bytes.Clone(good)
	badSig[len(badSig)-5] ^= 0xFF
	other := stdlibCRL(t, "ca-test", 8, now, big.NewInt(1))
	// Same DN as ca-2023, other key: the 2019 generation signed it.
	wrongGen := stdlibCRL(t, "ca-2019", 9, now, big.NewInt(1))
	older := stdlibCRL(t, "ca-2023", 6, now, big.NewInt(1))
	tests := []struct {
		name string
		data []byte
		want error
	}{
		{"bad signature", badSig, certcheck.ErrCRLSignature},
		{"untrusted issuer", other, certcheck.ErrCRLIssuer},
		{"other generation's key", wrongGen, certcheck.ErrCRLSignature},
		{"older CRL number", older, certcheck.ErrCRLOlder},
		{"truncated", good[:len(good)/2], certcheck.ErrCRL},
		{"garbage", []byte("<html>404 not found</html>"), certcheck.ErrCRL},
		{"empty", nil, certcheck.ErrCRL},
		{"PEM", []byte("-----BEGIN X509 CRL-----\nMIIB\n-----END X509 CRL-----\n"), certcheck.ErrCRL},
		{"trailing data", append(bytes.Clone(good), 0, 0), certcheck.ErrCRL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Import(bytes.NewReader(tt.data), -1); !errors.Is(err, tt.want) {
				t.Fatalf("Import = %v, want %v", err, tt.want)
			}
			ix, err := s.Index(cert(t, "ca-2023"))
			if err != nil || ix.Number.Int64() != 7 || !ix.Revoked(user.SerialNumber) {
				t.Fatalf("old index not kept: %+v, %v", ix, err)
			}
		})
	}
	// A file that declares more bytes than it holds is refused before its
	// entries are read.
	if _, err := s.Import(bytes.NewReader(good[:100]), 100); !errors.Is(err, certcheck.ErrCRL) || !strings.Contains(err.Error(), "declares") {
		t.Errorf("Import(declared length > file) = %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(s.Dir, ".crl-*"))
	if len(files) != 0 {
		t.Errorf("temporary files left: %v", files)
	}
	// A damaged index file is reported, and a good import replaces it.
	idx, _ := filepath.Glob(filepath.Join(s.Dir, "crl-*.idx"))
	b, _ := os.ReadFile(idx[0])
	b[20] ^= 1
	os.WriteFile(idx[0], b, 0o644)
	time.Sleep(10 * time.Millisecond)
	os.Chtimes(idx[0], time.Now(), time.Now())
	if _, err := s.Index(cert(t, "ca-2023")); !errors.Is(err, certcheck.ErrIndex) {
		t.Fatalf("damaged index: %v", err)
	}
	if _, err := s.Import(bytes.NewReader(good), -1); err != nil {
		t.Fatalf("import over a damaged index: %v", err)
	}
}

// TestStreamingWriterAgreesWithStdlib cross-checks the streaming CRL writer
// (used for the million-entry benchmark) against the standard library's
// parser, and the scanner against both.
func TestStreamingWriterAgreesWithStdlib(t *testing.T) {
	caDER, key, _ := testpki.Load("ca-2023")
	ca, _ := x509.ParseCertificate(caDER)
	var buf bytes.Buffer
	const n = 1000
	if err := testpki.WriteCRL(&buf, ca, key, testpki.CRLSpec{Number: 3, ThisUpdate: now, NextUpdate: now.Add(24 * time.Hour), Count: n, Serial: testpki.SpreadSerial}); err != nil {
		t.Fatal(err)
	}
	rl, err := x509.ParseRevocationList(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if err := rl.CheckSignatureFrom(ca); err != nil || len(rl.RevokedCertificateEntries) != n || rl.Number.Int64() != 3 {
		t.Fatalf("stdlib reads: %v, %d entries", err, len(rl.RevokedCertificateEntries))
	}
	s := store(t, "ca-2023")
	ix, err := s.Import(bytes.NewReader(buf.Bytes()), -1)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range rl.RevokedCertificateEntries {
		if !ix.Revoked(e.SerialNumber) {
			t.Fatalf("serial %x missing", e.SerialNumber)
		}
	}
	if ix.Revoked(big.NewInt(0x0FFFFFFF)) {
		t.Error("an unlisted serial is revoked")
	}
}

func FuzzScanCRL(f *testing.F) {
	f.Add(stdlibCRL(f, "ca-2023", 1, now, big.NewInt(5), big.NewInt(0x01020304)))
	f.Add([]byte{0x30, 0x03, 0x30, 0x01, 0x02})
	f.Fuzz(func(t *testing.T, data []byte) {
		sc, err := certcheck.ScanCRL(bytes.NewReader(data), int64(len(data)), func([]byte, crypto.Hash, []byte, []byte) error { return nil })
		if err == nil && sc.Entries != len(sc.Small)+len(sc.Large) {
			t.Fatalf("entries %d, kept %d+%d", sc.Entries, len(sc.Small), len(sc.Large))
		}
	})
}

const ocspTimeout = 1500 * time.Millisecond

func policy(t testing.TB, method certcheck.Method, r *ocsptest.Responder, s *certcheck.CRLStore) *certcheck.Policy {
	p := &certcheck.Policy{
		Chain:    &certcheck.Chain{Anchors: anchors(t, "ca-2019", "ca-2023", "ca-test"), Now: clock},
		Method:   method,
		CRL:      s,
		CRLGrace: 24 * time.Hour,
	}
	if r != nil {
		// Generous for a loaded machine (a race-enabled answer signed by a
		// delegated responder once took over 300 ms); a hang costs this much.
		p.OCSP = &certcheck.OCSP{URL: r.URL, Timeout: ocspTimeout, Now: clock}
	}
	return p
}

func TestOCSPOnLoopback(t *testing.T) {
	ctx := context.Background()
	user := cert(t, "user")
	r := ocsptest.Start(t, "ca-2023", clock)
	tests := []struct {
		mode ocsptest.Mode
		want certcheck.Reason
	}{
		{ocsptest.Normal, certcheck.Good},
		{ocsptest.Delegated, certcheck.Good},
		{ocsptest.DelegatedNoEKU, certcheck.Unavailable},
		{ocsptest.Forged, certcheck.Unavailable},
		{ocsptest.Unknown, certcheck.Unknown},
		{ocsptest.Stale, certcheck.Unavailable},
		{ocsptest.Error500, certcheck.Unavailable},
		{ocsptest.Hang, certcheck.Unavailable},
		{ocsptest.Garbage, certcheck.Unavailable},
	}
	for _, tt := range tests {
		t.Run(map[ocsptest.Mode]string{0: "normal", 1: "delegated", 2: "delegated without EKU", 3: "forged", 4: "unknown", 5: "stale", 6: "500", 7: "hang", 8: "garbage"}[tt.mode], func(t *testing.T) {
			r.SetMode(tt.mode)
			p := policy(t, certcheck.MethodOCSP, r, nil) // fresh cache
			start := time.Now()
			d := p.Check(ctx, user)
			if d.Reason != tt.want || d.Method != "ocsp" {
				t.Fatalf("decision %v, want %s by ocsp", d, tt.want)
			}
			if time.Since(start) > ocspTimeout+time.Second {
				t.Errorf("took %v", time.Since(start))
			}
		})
	}
	// Revoked, by the responder.
	r.SetMode(ocsptest.Normal)
	r.Revoke(user.SerialNumber)
	if d := policy(t, certcheck.MethodOCSP, r, nil).Check(ctx, user); d.Reason != certcheck.Revoked {
		t.Fatalf("revoked: %v", d)
	}
}

func TestOCSPCache(t *testing.T) {
	r := ocsptest.Start(t, "ca-2023", clock)
	p := policy(t, certcheck.MethodOCSP, r, nil)
	user := cert(t, "user")
	for range 3 {
		if d := p.Check(context.Background(), user); !d.OK() {
			t.Fatal(d)
		}
	}
	if r.Hits() != 1 {
		t.Errorf("responder asked %d times, want 1 (cached until nextUpdate)", r.Hits())
	}
}

func TestPolicy(t *testing.T) {
	ctx := context.Background()
	user, renewed := cert(t, "user"), cert(t, "user-renewed")
	r := ocsptest.Start(t, "ca-2023", clock)
	s := store(t, "ca-2019", "ca-2023")
	if _, err := s.Import(bytes.NewReader(stdlibCRL(t, "ca-2023", 1, now.Add(-time.Hour), renewed.SerialNumber)), -1); err != nil {
		t.Fatal(err)
	}
	// OCSP hangs: the CRL answers, within the OCSP timeout.
	r.SetMode(ocsptest.Hang)
	p := policy(t, certcheck.MethodOCSPThenCRL, r, s)
	if d := p.Check(ctx, user); d.Reason != certcheck.Good || d.Method != "crl" {
		t.Errorf("fallback, good: %v", d)
	}
	if d := p.Check(ctx, renewed); d.Reason != certcheck.Revoked || d.Method != "crl" {
		t.Errorf("fallback, revoked: %v", d)
	}
	// A revoked answer from OCSP is final: no fallback.
	r.SetMode(ocsptest.Normal)
	r.Revoke(user.SerialNumber)
	if d := policy(t, certcheck.MethodOCSPThenCRL, r, s).Check(ctx, user); d.Reason != certcheck.Revoked || d.Method != "ocsp" {
		t.Errorf("OCSP revoked: %v", d)
	}
	// No CRL for the 2019 generation and OCSP down: unavailable, denied.
	r.SetMode(ocsptest.Error500)
	u2019 := cert(t, "user-2019")
	if d := policy(t, certcheck.MethodOCSPThenCRL, r, s).Check(ctx, u2019); d.Reason != certcheck.Unavailable {
		t.Errorf("nothing answers: %v", d)
	}
	allow := policy(t, certcheck.MethodOCSPThenCRL, r, s)
	allow.AllowUnavailable = true
	if d := allow.Check(ctx, u2019); !d.OK() {
		t.Errorf("allowed when unavailable: %v", d)
	}
	// A stale CRL: past nextUpdate plus grace.
	later := now.Add(72 * time.Hour)
	stale := policy(t, certcheck.MethodCRL, nil, s)
	s.Now = func() time.Time { return later }
	stale.Chain.Now = s.Now
	if d := stale.Check(ctx, user); d.Reason != certcheck.StaleCRL {
		t.Errorf("stale CRL: %v", d)
	}
	// Chain failures come first, whatever the method.
	if d := policy(t, certcheck.MethodCRL, nil, s).Check(ctx, cert(t, "user-expired")); d.Reason != certcheck.Expired || d.Method != "chain" {
		t.Errorf("expired: %v", d)
	}
	if d := policy(t, certcheck.MethodCRL, nil, s).Check(ctx, cert(t, "user-testcard")); d.Reason != certcheck.TestCard {
		t.Errorf("test card: %v", d)
	}
}
