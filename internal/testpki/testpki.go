// Package testpki makes the test PKI under testdata/pki: JPKI-like CAs (two
// generations sharing one DN, and a JPKI-TEST CA) and user-identification
// certificates that follow the public profile (see pki-and-revocation.md).
//
// Everything is deterministic: RSA keys are derived from fixed seeds and
// certificates are signed with PKCS#1 v1.5, so running the generator again
// gives the same bytes. TestFixtures checks that the committed files are what
// the generator makes; run `go test ./internal/testpki -update` to rewrite
// them.
package testpki

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// AuthPolicy is the certificate policy OID of the user-identification
// certificate.
var AuthPolicy = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 1, 3, 30}

// drbg is a deterministic byte stream: SHA-256 of seed and a counter.
type drbg struct {
	seed []byte
	n    uint64
	buf  []byte
}

func (d *drbg) Read(p []byte) (int, error) {
	for i := range p {
		if len(d.buf) == 0 {
			var c [8]byte
			binary.BigEndian.PutUint64(c[:], d.n)
			d.n++
			h := sha256.Sum256(append(append([]byte(nil), d.seed...), c[:]...))
			d.buf = h[:]
		}
		p[i], d.buf = d.buf[0], d.buf[1:]
	}
	return len(p), nil
}

var (
	keyMu    sync.Mutex
	keyCache = map[string]*rsa.PrivateKey{}
)

// Key derives a 2048-bit RSA key (e = 65537) from seed. Keys are cached.
func Key(seed string) *rsa.PrivateKey {
	keyMu.Lock()
	defer keyMu.Unlock()
	if k, ok := keyCache[seed]; ok {
		return k
	}
	k := deriveKey(seed)
	keyCache[seed] = k
	return k
}

func deriveKey(seed string) *rsa.PrivateKey {
	r := &drbg{seed: []byte("mykey test key: " + seed)}
	e := big.NewInt(65537)
	one := big.NewInt(1)
	prime := func() *big.Int {
		b := make([]byte, 128)
		r.Read(b)
		b[0] |= 0xC0
		b[127] |= 1
		p := new(big.Int).SetBytes(b)
		for {
			pm1 := new(big.Int).Sub(p, one)
			if p.ProbablyPrime(20) && new(big.Int).GCD(nil, nil, e, pm1).Cmp(one) == 0 {
				return p
			}
			p.Add(p, big.NewInt(2))
		}
	}
	for {
		p, q := prime(), prime()
		if p.Cmp(q) == 0 {
			continue
		}
		n := new(big.Int).Mul(p, q)
		phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
		d := new(big.Int).ModInverse(e, phi)
		if d == nil || n.BitLen() != 2048 {
			continue
		}
		k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: n, E: 65537}, D: d, Primes: []*big.Int{p, q}}
		k.Precompute()
		if k.Validate() == nil {
			return k
		}
	}
}

// JPKIAuthCA is the DN every generation of the user-identification CA shares.
func caName(org string) pkix.Name {
	return pkix.Name{
		Country:            []string{"JP"},
		Organization:       []string{org},
		OrganizationalUnit: []string{"JPKI for user authentication", "Japan Agency for Local Authority Information Systems"},
	}
}

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// Fixture is one file set of the test PKI.
type Fixture struct {
	Name   string // file stem under testdata/pki
	Cert   []byte // DER
	Key    *rsa.PrivateKey
	Issuer string // fixture name of the issuer ("" for self-signed)
}

type spec struct {
	name, issuer, org, cn string
	serial                int64
	from, to              time.Time
}

var specs = []spec{
	{name: "ca-2019", org: "JPKI", serial: 0x01000019, from: date(2019, 4, 1), to: date(2029, 4, 1)},
	{name: "ca-2023", org: "JPKI", serial: 0x01000023, from: date(2023, 4, 1), to: date(2033, 4, 1)},
	{name: "ca-test", org: "JPKI-TEST", serial: 0x0100FFFF, from: date(2023, 4, 1), to: date(2033, 4, 1)},
	{name: "user", issuer: "ca-2023", cn: "A1B2C3D4E5F6G7H8J9K0L1M", serial: 0x2A0B1C3D, from: date(2025, 4, 1), to: date(2030, 3, 31)},
	{name: "user-renewed", issuer: "ca-2023", cn: "N2P3Q4R5S6T7U8V9W0X1Y2Z", serial: 0x2A0B9F01, from: date(2026, 4, 1), to: date(2031, 3, 31)},
	{name: "user-2019", issuer: "ca-2019", cn: "B7C8D9E0F1G2H3J4K5L6M7N", serial: 0x1F00A1B2, from: date(2021, 6, 1), to: date(2026, 5, 31)},
	{name: "user-expired", issuer: "ca-2019", cn: "C3D4E5F6G7H8J9K0L1M2N3P", serial: 0x1E00C3D4, from: date(2019, 7, 1), to: date(2024, 6, 30)},
	{name: "user-testcard", issuer: "ca-test", cn: "TESTCARD0000000000000001", serial: 0x7E000001, from: date(2025, 4, 1), to: date(2030, 3, 31)},
	{name: "user-unregistered", issuer: "ca-2023", cn: "D5E6F7G8H9J0K1L2M3N4P5Q", serial: 0x2A0C7E11, from: date(2025, 10, 1), to: date(2030, 9, 30)},
}

// policiesExtension is certificatePolicies with the user-identification
// policy and a CPS pointer, as in the real profile.
func policiesExtension() (pkix.Extension, error) {
	type qualifier struct {
		ID  asn1.ObjectIdentifier
		CPS string `asn1:"ia5"`
	}
	type policy struct {
		ID         asn1.ObjectIdentifier
		Qualifiers []qualifier
	}
	v, err := asn1.Marshal([]policy{{
		ID:         AuthPolicy,
		Qualifiers: []qualifier{{ID: asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 2, 1}, CPS: "http://jpki-cps.invalid/cps/auth-cps.pdf"}},
	}})
	return pkix.Extension{Id: asn1.ObjectIdentifier{2, 5, 29, 32}, Value: v}, err
}

// Generate makes every fixture, CAs first.
func Generate() ([]Fixture, error) {
	byName := map[string]*Fixture{}
	var out []Fixture
	for _, s := range specs {
		key := Key(s.name)
		tmpl := &x509.Certificate{
			SerialNumber:       big.NewInt(s.serial),
			NotBefore:          s.from,
			NotAfter:           s.to.Add(-time.Second + 15*time.Hour), // 14:59:59 UTC = 23:59:59 JST
			SignatureAlgorithm: x509.SHA256WithRSA,
		}
		parent, signer := tmpl, key
		if s.issuer == "" {
			tmpl.Subject = caName(s.org)
			tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
			tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
		} else {
			iss := byName[s.issuer]
			ic, err := x509.ParseCertificate(iss.Cert)
			if err != nil {
				return nil, err
			}
			parent, signer = ic, iss.Key
			tmpl.Subject = pkix.Name{Country: []string{"JP"}, CommonName: s.cn}
			tmpl.KeyUsage = x509.KeyUsageDigitalSignature
			tmpl.CRLDistributionPoints = []string{
				"ldap://jpki-dir.invalid/cn%3dCRLDP1%2cou%3dJPKI%20for%20user%20authentication%2co%3dJPKI%2cc%3dJP?certificateRevocationList",
				"http://jpki-crl.invalid/auth/crl/CRLDP1.crl",
			}
			tmpl.OCSPServer = []string{"http://jpki-ocsp.invalid/auth"}
			tmpl.IssuingCertificateURL = []string{"http://jpki-ca.invalid/auth/ca.cer"}
			pol, err := policiesExtension()
			if err != nil {
				return nil, err
			}
			tmpl.ExtraExtensions = []pkix.Extension{pol}
		}
		der, err := x509.CreateCertificate(nil, tmpl, parent, &key.PublicKey, signer)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		f := Fixture{Name: s.name, Cert: der, Key: key, Issuer: s.issuer}
		out = append(out, f)
		byName[s.name] = &out[len(out)-1]
	}
	return out, nil
}

// Write stores the fixtures in dir as NAME.der and NAME.key (PKCS#8 PEM).
func Write(dir string, fx []Fixture) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, f := range fx {
		k, err := x509.MarshalPKCS8PrivateKey(f.Key)
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, f.Name+".der"), f.Cert, 0o644); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, f.Name+".key"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: k}), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// Dir returns testdata/pki from any package directory of the module, or
// $MYKEY_TESTPKI when set (for test processes that run elsewhere).
func Dir() string {
	if d := os.Getenv("MYKEY_TESTPKI"); d != "" {
		return d
	}
	for dir, _ := os.Getwd(); ; dir = filepath.Dir(dir) {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "testdata", "pki")
		}
		if filepath.Dir(dir) == dir {
			return filepath.Join("testdata", "pki")
		}
	}
}

// Load reads fixture name (certificate and key) from Dir().
func Load(name string) (cert []byte, key *rsa.PrivateKey, err error) {
	dir := Dir()
	cert, err = os.ReadFile(filepath.Join(dir, name+".der"))
	if err != nil {
		return nil, nil, err
	}
	b, err := os.ReadFile(filepath.Join(dir, name+".key"))
	if err != nil {
		return nil, nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, nil, fmt.Errorf("%s.key: no PEM block", name)
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, nil, err
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, nil, fmt.Errorf("%s.key: not an RSA key", name)
	}
	return cert, rk, nil
}
