// Package ocsptest is a real OCSP responder on loopback for tests and the
// demo, built with golang.org/x/crypto/ocsp. Its Mode makes it answer well
// or badly.
package ocsptest

import (
	"crypto"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"io"
	"math/big"
	"net"
	"net/http"
	"sync"
	"time"

	"golang.org/x/crypto/ocsp"

	"github.com/mykey-jp/mykey/internal/testpki"
)

// Mode selects how the responder answers.
type Mode int

// Modes.
const (
	Normal         Mode = iota // signed by the CA: good, or revoked for Revoked serials
	Delegated                  // signed by a responder certificate the CA issued with OCSPSigning
	DelegatedNoEKU             // a CA-issued responder certificate without OCSPSigning
	Forged                     // signed by a key the CA never certified
	Unknown                    // status unknown
	Stale                      // nextUpdate in the past
	Error500                   // HTTP 500
	Hang                       // never answers (until the client gives up)
	Garbage                    // not an OCSP response
)

// Responder answers OCSP requests for one CA.
type Responder struct {
	CA      *x509.Certificate
	Key     *rsa.PrivateKey
	Now     func() time.Time
	URL     string
	mu      sync.Mutex
	mode    Mode
	revoked map[string]time.Time
	hits    int
}

// New returns a responder for ca, to serve with an HTTP server of the
// caller's (the demo's).
func New(ca *x509.Certificate, key *rsa.PrivateKey, now func() time.Time) *Responder {
	return &Responder{CA: ca, Key: key, Now: now, revoked: map[string]time.Time{}}
}

// TB is the part of testing.TB that Start uses (this package links no
// testing code: the demo uses it too).
type TB interface {
	Helper()
	Fatal(args ...any)
	Cleanup(func())
}

// Start runs a responder for the CA fixture caName on 127.0.0.1; it stops
// when the test ends.
func Start(t TB, caName string, now func() time.Time) *Responder {
	t.Helper()
	caDER, key, err := testpki.Load(caName)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	r := New(ca, key, now)
	// Derive the delegated responder's key now (about 0.2 s under -race),
	// not inside the first delegated answer, where it ate the client's
	// timeout on a loaded machine.
	testpki.Key("ocsp responder")
	stop, err := r.Serve()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return r
}

// Serve answers on a free port of 127.0.0.1, sets URL, and returns how to
// stop.
func (r *Responder) Serve() (stop func(), err error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	r.URL = "http://" + ln.Addr().String()
	return func() { srv.Close() }, nil
}

// SetMode changes how it answers.
func (r *Responder) SetMode(m Mode) { r.mu.Lock(); r.mode = m; r.mu.Unlock() }

// Revoke marks serial revoked.
func (r *Responder) Revoke(serial *big.Int) {
	r.mu.Lock()
	r.revoked[string(serial.Bytes())] = r.Now().Add(-48 * time.Hour)
	r.mu.Unlock()
}

// Hits returns the number of requests served.
func (r *Responder) Hits() int { r.mu.Lock(); defer r.mu.Unlock(); return r.hits }

func (r *Responder) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	r.hits++
	mode := r.mode
	r.mu.Unlock()
	body, _ := io.ReadAll(req.Body)
	switch mode {
	case Error500:
		http.Error(w, "responder down", http.StatusInternalServerError)
		return
	case Hang:
		<-req.Context().Done()
		return
	case Garbage:
		w.Write([]byte("<html>maintenance</html>"))
		return
	}
	q, err := ocsp.ParseRequest(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	now := r.Now()
	tmpl := ocsp.Response{
		Status: ocsp.Good, SerialNumber: q.SerialNumber,
		ThisUpdate: now.Add(-time.Minute), NextUpdate: now.Add(15 * time.Minute),
	}
	r.mu.Lock()
	if at, ok := r.revoked[string(q.SerialNumber.Bytes())]; ok {
		tmpl.Status, tmpl.RevokedAt, tmpl.RevocationReason = ocsp.Revoked, at, ocsp.KeyCompromise
	}
	r.mu.Unlock()
	signerCert, signerKey := r.CA, crypto.Signer(r.Key)
	switch mode {
	case Unknown:
		tmpl.Status = ocsp.Unknown
	case Stale:
		tmpl.ThisUpdate, tmpl.NextUpdate = now.Add(-48*time.Hour), now.Add(-24*time.Hour)
	case Delegated, DelegatedNoEKU:
		signerCert, signerKey = r.delegate(mode == Delegated, true)
		tmpl.Certificate = signerCert
	case Forged:
		signerCert, signerKey = r.delegate(true, false)
		tmpl.Certificate = signerCert
	}
	der, err := ocsp.CreateResponse(r.CA, signerCert, tmpl, signerKey)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/ocsp-response")
	w.Write(der)
}

// delegate makes a responder certificate, issued by the CA (byCA) or
// self-signed, with or without the OCSP-signing usage.
func (r *Responder) delegate(eku, byCA bool) (*x509.Certificate, crypto.Signer) {
	key := testpki.Key("ocsp responder")
	now := r.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(0x0C5A), Subject: pkix.Name{CommonName: "JPKI OCSP responder (test)"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature,
	}
	if eku {
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageOCSPSigning}
	}
	parent, signer := r.CA, crypto.Signer(r.Key)
	if !byCA {
		parent, signer = tmpl, key
		tmpl.Issuer = r.CA.Subject // pretends to be the CA's
	}
	der, err := x509.CreateCertificate(nil, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		panic(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c, key
}
