package replica_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/internal/pgtest"
	"github.com/mykey-jp/mykey/store"
	"github.com/mykey-jp/mykey/store/postgres"
	"github.com/mykey-jp/mykey/store/replica"
)

// TestOverTLS: a server reached over TCP on localhost with
// sslmode=verify-full (the form the README and the configuration template
// give) and a password. The administrator's registry and a desk's replica
// (its build opens a connection of its own) work over TLS; a server
// certificate from another authority, one that does not name the host,
// a wrong password and a connection without TLS are refused, and no
// message holds the password.
func TestOverTLS(t *testing.T) {
	dir := t.TempDir()
	ca, caKey := newCA(t, "mykey test CA")
	other, _ := newCA(t, "another CA")
	cert, key := newServerCert(t, ca, caKey, "localhost")
	c := pgtest.StartTLS(t, cert, key)
	caFile, otherFile := filepath.Join(dir, "ca.pem"), filepath.Join(dir, "other.pem")
	for f, der := range map[string][]byte{caFile: ca.Raw, otherFile: other.Raw} {
		if err := os.WriteFile(f, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const password = "tls-test-Passw0rd"
	u, err := neturl.Parse(c.NewDB(t))
	if err != nil {
		t.Fatal(err)
	}
	db := strings.TrimPrefix(u.Path, "/")
	c.Psql(t, db, "CREATE ROLE mykey_tls LOGIN PASSWORD '"+password+"'")
	c.Psql(t, db, "ALTER DATABASE "+db+" OWNER TO mykey_tls")
	url := func(host, mode, root string) string {
		return fmt.Sprintf("postgres://mykey_tls@%s:%d/%s?sslmode=%s&sslrootcert=%s", host, c.Port, db, mode, root)
	}

	admin, err := postgres.Open(ctx, postgres.Source{URL: url("localhost", "verify-full", caFile), Password: password}, store.Options{User: "admin"})
	if err != nil {
		t.Fatalf("over TLS: %v", err)
	}
	defer admin.Close()
	var ssl bool
	if err := admin.Pool().QueryRow(ctx, "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()").Scan(&ssl); err != nil || !ssl {
		t.Fatalf("the connection is not TLS: %v %v", ssl, err)
	}
	id, err := admin.NewID(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Link(ctx, store.DefaultService, id, "7007", store.LinkOptions{}); err != nil {
		t.Fatal(err)
	}

	desk, err := postgres.Connect(ctx, postgres.Source{URL: url("localhost", "verify-full", caFile), Password: password}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer desk.Close()
	r, err := replica.Open(ctx, desk, filepath.Join(dir, "replica.db"), store.Options{User: "desk1"}, replica.Options{})
	if err != nil {
		t.Fatalf("a desk's replica over TLS: %v", err)
	}
	defer r.Close()
	if patronOf(t, r, id) != "7007" {
		t.Fatal("the replica built over TLS lacks the link")
	}
	var plain int
	if err := admin.Pool().QueryRow(ctx, "SELECT count(*) FROM pg_stat_activity a JOIN pg_stat_ssl s USING (pid) WHERE a.usename = 'mykey_tls' AND NOT s.ssl").Scan(&plain); err != nil || plain != 0 {
		t.Errorf("%d connections without TLS (%v)", plain, err)
	}

	missing := filepath.Join(dir, "missing-ca.pem")
	for _, bad := range []struct {
		name, url, password, want string
		kind                      error
	}{
		{"another authority", url("localhost", "verify-full", otherFile), password, "certificate signed by unknown authority", postgres.ErrUntrusted},
		{"a host the certificate does not name", url("127.0.0.1", "verify-full", caFile), password, "127.0.0.1", postgres.ErrUntrusted},
		{"a wrong password", url("localhost", "verify-full", caFile), "not-the-password", "password authentication failed", postgres.ErrLogin},
		{"no TLS", url("localhost", "disable", caFile), password, "no encryption", postgres.ErrLogin},
		{"no CA file", url("localhost", "verify-full", missing), password, "cannot read " + missing, store.ErrCannotOpen},
	} {
		s, err := postgres.Open(ctx, postgres.Source{URL: bad.url, Password: bad.password}, store.Options{})
		if err == nil {
			s.Close()
			t.Errorf("%s: connected", bad.name)
			continue
		}
		t.Logf("%s: %v", bad.name, err)
		if !errors.Is(err, bad.kind) || !strings.Contains(err.Error(), bad.want) || strings.Contains(err.Error(), password) || strings.Contains(err.Error(), bad.password) {
			t.Errorf("%s: %v", bad.name, err)
		}
	}
}

// newCA returns a new certificate authority's certificate and key.
func newCA(t *testing.T, name string) (*x509.Certificate, *ecdsa.PrivateKey) {
	return issue(t, &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}, nil, nil)
}

// newServerCert returns a server certificate for host issued by ca, and
// its key, in PEM.
func newServerCert(t *testing.T, ca *x509.Certificate, caKey *ecdsa.PrivateKey, host string) (cert, key []byte) {
	c, k := issue(t, &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: host}, DNSNames: []string{host},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, caKey)
	kder, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

// issue makes the certificate tmpl describes for a new key, signed by
// parent's key (self-signed when parent is nil).
func issue(t *testing.T, tmpl, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err == nil {
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(der); err == nil {
			return cert, key
		}
	}
	t.Fatal(err)
	return nil, nil
}
