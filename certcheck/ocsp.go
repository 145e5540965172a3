package certcheck

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"time"

	"golang.org/x/crypto/ocsp"
)

// ErrOCSPUnavailable means the responder gave no usable answer: it could not
// be reached, timed out, failed, or sent a response that does not check out
// (bad signature, unauthorised signer, stale, for another certificate).
// The policy may fall back to the CRL.
var ErrOCSPUnavailable = errors.New("OCSP responder gave no usable answer")

// OCSP asks an OCSP responder about certificates.
type OCSP struct {
	URL     string
	Timeout time.Duration // per request; 3 s when zero
	Client  *http.Client  // http.DefaultClient when nil
	Now     func() time.Time
	// Skew tolerated between the responder's clock and ours.
	Skew time.Duration

	mu    sync.Mutex
	cache map[[32]byte]*ocsp.Response // good answers, until their NextUpdate
}

func (o *OCSP) now() time.Time {
	if o.Now != nil {
		return o.Now()
	}
	return time.Now()
}

func cacheKey(leaf, issuer *x509.Certificate) [32]byte {
	return sha256.Sum256(append(append([]byte(nil), issuer.RawSubjectPublicKeyInfo...), leaf.SerialNumber.Bytes()...))
}

// Status asks about leaf, issued by issuer. It returns the response (Status
// ocsp.Good, ocsp.Revoked or ocsp.Unknown) after checking the signer's
// authority (the CA itself, or a certificate it issued with the OCSP-signing
// usage, valid now), the signature, that the answer is for leaf, and its
// freshness. Any failure is an ErrOCSPUnavailable. Good answers are cached
// until their NextUpdate.
func (o *OCSP) Status(ctx context.Context, leaf, issuer *x509.Certificate) (*ocsp.Response, error) {
	now := o.now()
	key := cacheKey(leaf, issuer)
	o.mu.Lock()
	if r, ok := o.cache[key]; ok && now.Before(r.NextUpdate) {
		o.mu.Unlock()
		return r, nil
	}
	o.mu.Unlock()
	if o.URL == "" {
		return nil, fmt.Errorf("%w: no responder URL configured", ErrOCSPUnavailable)
	}
	req, err := ocsp.CreateRequest(leaf, issuer, &ocsp.RequestOptions{Hash: 0})
	if err != nil {
		return nil, fmt.Errorf("creating the OCSP request: %w", err)
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 3 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, o.URL, bytes.NewReader(req))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOCSPUnavailable, err)
	}
	hreq.Header.Set("Content-Type", "application/ocsp-request")
	hreq.Header.Set("Accept", "application/ocsp-response")
	client := o.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(hreq)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOCSPUnavailable, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%w: HTTP %s", ErrOCSPUnavailable, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: reading the response: %v", ErrOCSPUnavailable, err)
	}
	r, err := o.check(body, leaf, issuer, now)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrOCSPUnavailable, err)
	}
	if r.Status == ocsp.Good && !r.NextUpdate.IsZero() {
		o.mu.Lock()
		if o.cache == nil {
			o.cache = map[[32]byte]*ocsp.Response{}
		}
		o.cache[key] = r
		o.mu.Unlock()
	}
	return r, nil
}

func (o *OCSP) check(body []byte, leaf, issuer *x509.Certificate, now time.Time) (*ocsp.Response, error) {
	// ParseResponseForCert checks the signature (by the embedded responder
	// certificate, which it checks was signed by issuer, or by issuer
	// itself) and picks the answer for leaf's serial.
	r, err := ocsp.ParseResponseForCert(body, leaf, issuer)
	if err != nil {
		return nil, err
	}
	if r.SerialNumber == nil || r.SerialNumber.Cmp(leaf.SerialNumber) != 0 {
		return nil, errors.New("the response is for another certificate")
	}
	if r.Certificate != nil && !slices.Equal(r.Certificate.Raw, issuer.Raw) {
		// A delegated responder: issued by the CA (checked by the parser),
		// for OCSP signing, and valid now.
		if !slices.Contains(r.Certificate.ExtKeyUsage, x509.ExtKeyUsageOCSPSigning) {
			return nil, errors.New("the responder certificate lacks the OCSP-signing usage")
		}
		if now.Before(r.Certificate.NotBefore) || now.After(r.Certificate.NotAfter) {
			return nil, errors.New("the responder certificate is outside its validity")
		}
	}
	skew := o.Skew
	if skew == 0 {
		skew = 5 * time.Minute
	}
	if r.ThisUpdate.After(now.Add(skew)) {
		return nil, fmt.Errorf("the response is from the future (thisUpdate %v)", r.ThisUpdate)
	}
	if !r.NextUpdate.IsZero() && now.After(r.NextUpdate.Add(skew)) {
		return nil, fmt.Errorf("the response is stale (nextUpdate %v)", r.NextUpdate)
	}
	if r.NextUpdate.IsZero() && now.Sub(r.ThisUpdate) > time.Hour {
		return nil, fmt.Errorf("the response is stale (thisUpdate %v, no nextUpdate)", r.ThisUpdate)
	}
	return r, nil
}
