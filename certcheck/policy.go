package certcheck

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"time"

	"golang.org/x/crypto/ocsp"
)

// Method is how revocation is checked.
type Method string

// The methods the configuration may name.
const (
	MethodOCSP        Method = "ocsp"
	MethodCRL         Method = "crl"
	MethodOCSPThenCRL Method = "ocsp-then-crl" // the CRL when OCSP gives no usable answer
)

// Decision is the outcome of a check: the reason (Good only when the
// certificate may be used), the method that decided, and a detail for logs
// and administrators (no personal data).
type Decision struct {
	Reason Reason
	Method string // "chain", "ocsp", "crl" or "none"
	Detail string
	Issuer *x509.Certificate // the trust anchor that issued it, once the chain checked out
}

func dec(r Reason, method, detail string) Decision {
	return Decision{Reason: r, Method: method, Detail: detail}
}

// OK reports whether the certificate may be used.
func (d Decision) OK() bool { return d.Reason == Good }

func (d Decision) String() string {
	s := fmt.Sprintf("%s (%s)", d.Reason, d.Method)
	if d.Detail != "" {
		s += ": " + d.Detail
	}
	return s
}

// Policy runs the configured checks.
type Policy struct {
	Chain  *Chain
	Method Method
	OCSP   *OCSP     // for ocsp and ocsp-then-crl
	CRL    *CRLStore // for crl and ocsp-then-crl
	// CRLGrace is how long a CRL may be used past its nextUpdate.
	CRLGrace time.Duration
	// AllowUnavailable accepts a certificate when no method can answer
	// (including a stale CRL); the default denies.
	AllowUnavailable bool
}

// Check decides about leaf.
func (p *Policy) Check(ctx context.Context, leaf *x509.Certificate) Decision {
	issuer, reason, detail := p.Chain.Check(leaf)
	if reason != Good {
		d := dec(reason, "chain", detail)
		d.Issuer = issuer
		return d
	}
	d := p.revocation(ctx, leaf, issuer)
	d.Issuer = issuer
	return d
}

func (p *Policy) revocation(ctx context.Context, leaf, issuer *x509.Certificate) Decision {
	var d Decision
	switch p.Method {
	case MethodOCSP:
		d = p.viaOCSP(ctx, leaf, issuer)
	case MethodCRL:
		d = p.viaCRL(leaf, issuer)
	case MethodOCSPThenCRL:
		d = p.viaOCSP(ctx, leaf, issuer)
		if d.Reason == Unavailable {
			c := p.viaCRL(leaf, issuer)
			c.Detail = "OCSP: " + d.Detail + "; " + c.Detail
			d = c
		}
	default:
		d = dec(Unavailable, "none", fmt.Sprintf("unknown method %q", p.Method))
	}
	if (d.Reason == Unavailable || d.Reason == StaleCRL) && p.AllowUnavailable {
		return dec(Good, d.Method, "accepted by policy although "+string(d.Reason)+": "+d.Detail)
	}
	return d
}

func (p *Policy) viaOCSP(ctx context.Context, leaf, issuer *x509.Certificate) Decision {
	if p.OCSP == nil {
		return dec(Unavailable, "ocsp", "no OCSP responder configured")
	}
	r, err := p.OCSP.Status(ctx, leaf, issuer)
	if err != nil {
		return dec(Unavailable, "ocsp", err.Error())
	}
	switch r.Status {
	case ocsp.Good:
		return dec(Good, "ocsp", "")
	case ocsp.Revoked:
		return dec(Revoked, "ocsp", "revoked "+r.RevokedAt.UTC().Format(time.RFC3339))
	}
	return dec(Unknown, "ocsp", "the responder does not know this certificate")
}

func (p *Policy) viaCRL(leaf, issuer *x509.Certificate) Decision {
	if p.CRL == nil {
		return dec(Unavailable, "crl", "no CRL store configured")
	}
	ix, err := p.CRL.Index(issuer)
	if errors.Is(err, fs.ErrNotExist) {
		return dec(Unavailable, "crl", "no CRL imported for "+issuer.Subject.String())
	}
	if err != nil {
		return dec(Unavailable, "crl", err.Error())
	}
	if ix.Revoked(leaf.SerialNumber) {
		return dec(Revoked, "crl", "listed on the CRL of "+ix.ThisUpdate.UTC().Format(time.RFC3339))
	}
	if ix.Stale(p.CRL.now(), p.CRLGrace) {
		return dec(StaleCRL, "crl", "the CRL's nextUpdate "+ix.NextUpdate.UTC().Format(time.RFC3339)+" has passed")
	}
	return dec(Good, "crl", "")
}
