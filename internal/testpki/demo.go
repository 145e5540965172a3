package testpki

import (
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"fmt"
	"math/big"
	"time"
)

// DemoCard is a virtual card's certificate and key.
type DemoCard struct {
	Cert []byte
	Key  *rsa.PrivateKey
}

// DemoPKI is a JPKI-TEST CA, valid now, with user-identification
// certificates for virtual cards: for the demo and end-to-end tests, never
// for production (mykey refuses JPKI-TEST cards unless test_mode is on).
type DemoPKI struct {
	CA    *x509.Certificate
	CADER []byte
	CAKey *rsa.PrivateKey
	Cards []DemoCard
}

// Demo makes a JPKI-TEST CA and n cards valid around now.
func Demo(now time.Time, n int) (*DemoPKI, error) {
	caKey := Key("demo ca")
	from := now.Add(-24 * time.Hour).Truncate(time.Hour)
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(0x0100D0E0), Subject: caName("JPKI-TEST"),
		NotBefore: from, NotAfter: from.AddDate(10, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		SignatureAlgorithm: x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificate(nil, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	p := &DemoPKI{CADER: der, CAKey: caKey}
	if p.CA, err = x509.ParseCertificate(der); err != nil {
		return nil, err
	}
	pol, err := policiesExtension()
	if err != nil {
		return nil, err
	}
	for i := range n {
		key := Key(fmt.Sprintf("demo card %d", i))
		leaf := &x509.Certificate{
			SerialNumber: big.NewInt(int64(0x3D000001 + i)),
			Subject:      pkix.Name{Country: []string{"JP"}, CommonName: fmt.Sprintf("DEMOCARD%015d", i+1)},
			NotBefore:    from, NotAfter: from.AddDate(5, 0, 0),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtraExtensions: []pkix.Extension{pol},
			SignatureAlgorithm: x509.SHA256WithRSA,
		}
		cd, err := x509.CreateCertificate(nil, leaf, p.CA, &key.PublicKey, caKey)
		if err != nil {
			return nil, err
		}
		p.Cards = append(p.Cards, DemoCard{Cert: cd, Key: key})
	}
	return p, nil
}
