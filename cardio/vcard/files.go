package vcard

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// ParseFaults reads a fault list like "remove-after=5,delay=20ms,not-jpki":
// remove-after=N, short-reads=N, wrong-le=N, delay=DURATION, not-jpki,
// get-response, empty-eof, no-extended.
func ParseFaults(s string) (Faults, error) {
	var f Faults
	if s == "" {
		return f, nil
	}
	for _, item := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(item), "=")
		var err error
		switch k {
		case "remove-after":
			f.RemoveAfter, err = count(k, v)
		case "short-reads":
			f.ShortReads, err = count(k, v)
		case "wrong-le":
			f.WrongLe, err = count(k, v)
		case "delay":
			f.Delay, err = time.ParseDuration(v)
		case "not-jpki":
			f.NotJPKI = true
		case "get-response":
			f.GetResponse = true
		case "empty-eof":
			f.EmptyEOF = true
		case "no-extended":
			f.NoExtended = true
		default:
			return f, fmt.Errorf("--fault: unknown fault %q", k)
		}
		if err != nil {
			return f, err
		}
	}
	return f, nil
}

func count(k, v string) (int, error) {
	i, err := strconv.Atoi(v)
	if err != nil || i < 0 {
		return 0, fmt.Errorf("--fault %s: want a whole number, got %q", k, v)
	}
	return i, nil
}

// ReadCertificate reads a certificate file, DER or PEM, and returns the
// DER.
func ReadCertificate(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	if _, err := x509.ParseCertificate(b); err != nil {
		return nil, fmt.Errorf("%s: not a certificate: %v", path, err)
	}
	return b, nil
}

// ReadKey reads an RSA private key file (PEM, PKCS #1 or PKCS #8).
func ReadKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: not an RSA private key: %v", path, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an RSA private key", path)
	}
	return rk, nil
}
