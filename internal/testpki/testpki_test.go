package testpki

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/pki")

// TestFixtures regenerates the PKI and compares it with the committed files.
func TestFixtures(t *testing.T) {
	fx, err := Generate()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := Write(Dir(), fx); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range fx {
		got, err := os.ReadFile(filepath.Join(Dir(), f.Name+".der"))
		if err != nil {
			t.Fatalf("%v (run go test ./internal/testpki -update)", err)
		}
		if !bytes.Equal(got, f.Cert) {
			t.Errorf("%s.der differs from what the generator makes", f.Name)
		}
		_, key, err := Load(f.Name)
		if err != nil || !key.Equal(f.Key) {
			t.Errorf("%s.key: %v", f.Name, err)
		}
	}
}

// TestProfile checks the leaf certificates against the public profile.
func TestProfile(t *testing.T) {
	fx, _ := Generate()
	certs := map[string]*x509.Certificate{}
	for _, f := range fx {
		c, err := x509.ParseCertificate(f.Cert)
		if err != nil {
			t.Fatal(err)
		}
		certs[f.Name] = c
	}
	if certs["ca-2019"].Subject.String() != certs["ca-2023"].Subject.String() {
		t.Error("CA generations must share one DN")
	}
	for _, f := range fx {
		c := certs[f.Name]
		if f.Issuer == "" {
			continue
		}
		if err := c.CheckSignatureFrom(certs[f.Issuer]); err != nil {
			t.Errorf("%s: %v", f.Name, err)
		}
		if c.KeyUsage != x509.KeyUsageDigitalSignature || len(c.PolicyIdentifiers) != 1 || !c.PolicyIdentifiers[0].Equal(AuthPolicy) {
			t.Errorf("%s: key usage %v policies %v", f.Name, c.KeyUsage, c.PolicyIdentifiers)
		}
		if len(f.Cert) < 1200 || len(f.Cert) > 1800 {
			t.Errorf("%s: %d bytes, want a real-sized certificate (about 1.5 KB)", f.Name, len(f.Cert))
		}
		if len(c.Subject.Names) != 2 || c.PublicKey.(interface{ Size() int }).Size() != 256 {
			t.Errorf("%s: subject %v", f.Name, c.Subject)
		}
	}
	// Picking the issuer by name alone would be wrong: only the right
	// generation verifies.
	if certs["user"].CheckSignatureFrom(certs["ca-2019"]) == nil {
		t.Error("user verifies under the wrong CA generation")
	}
}

// TestCVCCAFile: the test CVC CA key file the test and demo configurations
// name is CVCCA's public key.
func TestCVCCAFile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(Dir(), "cvc-ca-test.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		t.Fatal("cvc-ca-test.pem: no PEM block")
	}
	k, err := x509.ParsePKIXPublicKey(blk.Bytes)
	_, want := CVCCA()
	if err != nil || !want.PublicKey.Equal(k) {
		t.Fatalf("cvc-ca-test.pem is not CVCCA's key (%v)", err)
	}
}
