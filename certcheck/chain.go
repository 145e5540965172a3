package certcheck

import (
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"os"
	"slices"
	"time"
)

// AuthPolicy is the certificate policy of the JPKI user-identification
// certificate.
var AuthPolicy = asn1.ObjectIdentifier{1, 2, 392, 200149, 8, 5, 1, 3, 30}

// TestOrganization marks test cards' issuers.
const TestOrganization = "JPKI-TEST"

// Reason is why a certificate was accepted or refused.
type Reason string

// The reasons a Decision carries.
const (
	Good        Reason = "good"
	Revoked     Reason = "revoked"
	Expired     Reason = "expired"
	NotYetValid Reason = "not-yet-valid"
	Untrusted   Reason = "untrusted"
	TestCard    Reason = "test-card"
	BadProfile  Reason = "bad-profile"
	StaleCRL    Reason = "stale-crl"
	Unknown     Reason = "unknown" // the OCSP responder does not know the certificate
	Unavailable Reason = "unavailable"
)

// Chain checks certificates against trust anchors and the JPKI profile.
type Chain struct {
	Anchors  []*x509.Certificate
	TestMode bool             // accept JPKI-TEST issuers
	Now      func() time.Time // time.Now when nil
}

func (c *Chain) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// Check returns the anchor that issued leaf, or the reason it is refused
// with a detail. Only anchors with the leaf's issuer DN are tried, and the
// one whose key verifies the signature wins (CA generations share a DN).
func (c *Chain) Check(leaf *x509.Certificate) (*x509.Certificate, Reason, string) {
	var issuer *x509.Certificate
	for _, a := range c.Anchors {
		if slices.Equal(a.RawSubject, leaf.RawIssuer) && leaf.CheckSignatureFrom(a) == nil {
			issuer = a
			break
		}
	}
	if issuer == nil {
		return nil, Untrusted, "no configured trust anchor signed it"
	}
	if slices.Contains(issuer.Subject.Organization, TestOrganization) && !c.TestMode {
		return issuer, TestCard, "issued by a JPKI-TEST CA"
	}
	now := c.now()
	switch {
	case now.Before(leaf.NotBefore):
		return issuer, NotYetValid, "valid from " + leaf.NotBefore.UTC().Format(time.RFC3339)
	case now.After(leaf.NotAfter):
		return issuer, Expired, "expired " + leaf.NotAfter.UTC().Format(time.RFC3339)
	case now.Before(issuer.NotBefore) || now.After(issuer.NotAfter):
		return issuer, Untrusted, "the issuing CA certificate is outside its validity"
	case leaf.KeyUsage&x509.KeyUsageDigitalSignature == 0:
		return issuer, BadProfile, "key usage lacks digitalSignature"
	case !hasPolicy(leaf):
		return issuer, BadProfile, fmt.Sprintf("certificate policy %v missing", AuthPolicy)
	}
	return issuer, Good, ""
}

func hasPolicy(c *x509.Certificate) bool {
	for _, p := range c.PolicyIdentifiers {
		if p.Equal(AuthPolicy) {
			return true
		}
	}
	return false
}

// LoadCertificates reads DER or PEM certificate files (PEM files may hold
// several).
func LoadCertificates(paths []string) ([]*x509.Certificate, error) {
	var out []*x509.Certificate
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		if blk, rest := pem.Decode(b); blk != nil {
			for blk != nil {
				c, err := x509.ParseCertificate(blk.Bytes)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", p, err)
				}
				out = append(out, c)
				blk, rest = pem.Decode(rest)
			}
			continue
		}
		c, err := x509.ParseCertificate(b)
		if err != nil {
			return nil, fmt.Errorf("%s: not a DER or PEM certificate: %w", p, err)
		}
		out = append(out, c)
	}
	return out, nil
}
