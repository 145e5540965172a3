package certcheck

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
	"io"
	"math/big"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// ErrCRL is the sentinel every CRL parsing or verification error unwraps to.
var ErrCRL = errors.New("invalid CRL")

// CRLError says what is wrong with a CRL and where (byte offset).
type CRLError struct {
	Offset int64
	Msg    string
}

func (e *CRLError) Error() string { return fmt.Sprintf("invalid CRL at byte %d: %s", e.Offset, e.Msg) }
func (e *CRLError) Unwrap() error { return ErrCRL }

// ScannedCRL is what a scan keeps of a CRL: its metadata and the revoked
// serial numbers, never the parsed structure.
type ScannedCRL struct {
	Issuer     []byte // raw DER of the issuer Name
	ThisUpdate time.Time
	NextUpdate time.Time // zero when absent
	Number     *big.Int  // CRL number extension; nil when absent
	Small      []uint64  // serials that fit 8 bytes (unsorted as scanned)
	Large      []string  // longer serials, as raw big-endian bytes
	Entries    int
}

// derStream reads DER TLVs from a stream, feeding every byte of the TBS to
// a hash once its algorithm is known.
type derStream struct {
	r      *bufio.Reader
	off    int64
	h      hash.Hash // nil until the TBS signature algorithm is read
	prefix []byte    // TBS bytes read before h was known
	inTBS  bool
}

func (d *derStream) fail(format string, args ...any) error {
	return &CRLError{Offset: d.off, Msg: fmt.Sprintf(format, args...)}
}

// consume accounts for bytes read; TBS bytes are batched for the hash
// (hashing each small entry on its own costs more than the copy).
func (d *derStream) consume(b []byte) {
	d.off += int64(len(b))
	if !d.inTBS {
		return
	}
	d.prefix = append(d.prefix, b...)
	if d.h != nil && len(d.prefix) >= 32*1024 {
		d.flushHash()
	}
}

func (d *derStream) flushHash() {
	d.h.Write(d.prefix)
	d.prefix = d.prefix[:0]
}

// readFull reads exactly len(b) bytes.
func (d *derStream) readFull(b []byte) error {
	if _, err := io.ReadFull(d.r, b); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return d.fail("file ends early (truncated download?)")
		}
		return err
	}
	d.consume(b)
	return nil
}

// header reads a tag and a definite length (at most 4 length bytes).
func (d *derStream) header() (tag byte, length int, err error) {
	var b [6]byte
	if err := d.readFull(b[:2]); err != nil {
		return 0, 0, err
	}
	tag, l := b[0], int(b[1])
	if l < 0x80 {
		return tag, l, nil
	}
	n := l & 0x7F
	if n == 0 || n > 4 {
		return 0, 0, d.fail("unsupported length form %02X", l)
	}
	if err := d.readFull(b[2 : 2+n]); err != nil {
		return 0, 0, err
	}
	length = 0
	for _, c := range b[2 : 2+n] {
		length = length<<8 | int(c)
	}
	if length < 0x80 || (n > 1 && b[2] == 0) {
		return 0, 0, d.fail("non-minimal length")
	}
	return tag, length, nil
}

// element reads a whole TLV of at most max content bytes into buf (reused
// when large enough) and returns the full encoding.
func (d *derStream) element(buf []byte, max int) (tag byte, der []byte, err error) {
	start := d.off
	tag, l, err := d.header()
	if err != nil {
		return 0, nil, err
	}
	if l > max {
		return 0, nil, d.fail("element of %d bytes is too large", l)
	}
	hl := int(d.off - start)
	need := hl + l
	if cap(buf) < need {
		buf = make([]byte, need)
	}
	buf = buf[:need]
	// Re-create the header bytes (already consumed) in front of the content.
	encodeHeader(buf[:hl], tag, l)
	if err := d.readFull(buf[hl:]); err != nil {
		return 0, nil, err
	}
	return tag, buf, nil
}

func encodeHeader(dst []byte, tag byte, l int) {
	dst[0] = tag
	if len(dst) == 2 {
		dst[1] = byte(l)
		return
	}
	n := len(dst) - 2
	dst[1] = 0x80 | byte(n)
	for i := n - 1; i >= 0; i-- {
		dst[2+i] = byte(l)
		l >>= 8
	}
}

var (
	oidSHA256WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11}
	oidSHA384WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 12}
	oidSHA512WithRSA   = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 13}
	oidECDSAWithSHA256 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 2}
	oidECDSAWithSHA384 = asn1.ObjectIdentifier{1, 2, 840, 10045, 4, 3, 3}
	oidCRLNumber       = asn1.ObjectIdentifier{2, 5, 29, 20}
)

func sigHash(oid asn1.ObjectIdentifier) (crypto.Hash, bool) {
	switch {
	case oid.Equal(oidSHA256WithRSA), oid.Equal(oidECDSAWithSHA256):
		return crypto.SHA256, true
	case oid.Equal(oidSHA384WithRSA), oid.Equal(oidECDSAWithSHA384):
		return crypto.SHA384, true
	case oid.Equal(oidSHA512WithRSA):
		return crypto.SHA512, true
	}
	return 0, false
}

// algOID extracts the OID of a DER AlgorithmIdentifier.
func algOID(der []byte) (asn1.ObjectIdentifier, bool) {
	s := cryptobyte.String(der)
	var seq cryptobyte.String
	var oid asn1.ObjectIdentifier
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !seq.ReadASN1ObjectIdentifier(&oid) {
		return nil, false
	}
	return oid, true
}

func parseTime(der []byte) (time.Time, bool) {
	s := cryptobyte.String(der)
	var t time.Time
	switch {
	case s.PeekASN1Tag(cbasn1.UTCTime):
		return t, s.ReadASN1UTCTime(&t)
	case s.PeekASN1Tag(cbasn1.GeneralizedTime):
		return t, s.ReadASN1GeneralizedTime(&t)
	}
	return t, false
}

// Limits for the small elements of a CRL.
const (
	maxSmall = 64 * 1024 // issuer, algorithm, extensions, signature
	maxEntry = 4 * 1024  // one revoked-certificate entry
)

// ScanCRL reads a DER CRL from r, checks its signature with the public key of
// a candidate issuer chosen by verify (called with the issuer Name, the hash
// algorithm, the digest and the signature once they are known), and keeps the
// revoked serials. It never holds more of the CRL than one entry at a time.
func ScanCRL(r io.Reader, size int64, verify func(issuer []byte, h crypto.Hash, digest, sig []byte) error) (*ScannedCRL, error) {
	d := &derStream{r: bufio.NewReaderSize(r, 256*1024)}
	out := &ScannedCRL{}
	tag, total, err := d.header()
	if err != nil {
		return nil, err
	}
	if tag != 0x30 {
		return nil, d.fail("not a DER CRL (starts with %02X; PEM or HTML?)", tag)
	}
	if size >= 0 && d.off+int64(total) != size {
		return nil, d.fail("the CRL declares %d bytes, but there are %d", d.off+int64(total), size)
	}
	d.inTBS = true
	tag, tbsLen, err := d.header()
	if err != nil {
		return nil, err
	}
	if tag != 0x30 {
		return nil, d.fail("TBSCertList is not a SEQUENCE")
	}
	tbsEnd := d.off + int64(tbsLen)
	var buf []byte
	next := func(max int) (byte, []byte, error) {
		if d.off >= tbsEnd {
			return 0, nil, nil
		}
		t, der, err := d.element(buf, max)
		if err == nil && cap(der) > cap(buf) {
			buf = der
		}
		return t, der, err
	}
	copyOf := func(b []byte) []byte { return append([]byte(nil), b...) }

	t, der, err := next(maxSmall)
	if err != nil {
		return nil, err
	}
	if t == 0x02 { // version
		if t, der, err = next(maxSmall); err != nil {
			return nil, err
		}
	}
	if t != 0x30 {
		return nil, d.fail("missing signature algorithm")
	}
	tbsAlg := copyOf(der)
	oid, ok := algOID(tbsAlg)
	if !ok {
		return nil, d.fail("malformed signature algorithm")
	}
	h, ok := sigHash(oid)
	if !ok {
		return nil, d.fail("unsupported signature algorithm %v", oid)
	}
	d.h = h.New()
	d.prefix = append(make([]byte, 0, 40*1024), d.prefix...)

	if t, der, err = next(maxSmall); err != nil {
		return nil, err
	}
	if t != 0x30 {
		return nil, d.fail("missing issuer")
	}
	out.Issuer = copyOf(der)

	if _, der, err = next(maxSmall); err != nil {
		return nil, err
	}
	if out.ThisUpdate, ok = parseTime(der); !ok {
		return nil, d.fail("malformed thisUpdate")
	}
	t, der, err = next(maxSmall)
	if err != nil {
		return nil, err
	}
	if t == 0x17 || t == 0x18 {
		if out.NextUpdate, ok = parseTime(der); !ok {
			return nil, d.fail("malformed nextUpdate")
		}
		t, der, err = 0, nil, nil
	}
	// revokedCertificates: read entry by entry.
	if t == 0 && d.off < tbsEnd {
		peek, err := d.r.Peek(1)
		if err != nil {
			return nil, d.fail("file ends early (truncated download?)")
		}
		if peek[0] == 0x30 {
			_, listLen, err := d.header()
			if err != nil {
				return nil, err
			}
			end := d.off + int64(listLen)
			if end > tbsEnd {
				return nil, d.fail("revoked list runs past the TBS")
			}
			for d.off < end {
				before := d.off
				_, entry, err := d.element(buf, maxEntry)
				if err != nil {
					return nil, err
				}
				if cap(entry) > cap(buf) {
					buf = entry
				}
				if out.Small == nil {
					// Entries are of similar size: size the list once.
					out.Small = make([]uint64, 0, int((end-before)/(d.off-before))+16)
				}
				if err := out.addEntry(entry); err != nil {
					return nil, d.fail("%v", err)
				}
			}
			if d.off != end {
				return nil, d.fail("revoked list length mismatch")
			}
		}
		if t, der, err = next(maxSmall); err != nil {
			return nil, err
		}
	}
	if t == 0xA0 { // crlExtensions
		if out.Number, err = crlNumber(der); err != nil {
			return nil, d.fail("%v", err)
		}
		t, der, err = next(maxSmall)
		if err != nil {
			return nil, err
		}
	}
	if t != 0 || d.off != tbsEnd {
		return nil, d.fail("unexpected data in the TBS")
	}
	d.flushHash()
	digest := d.h.Sum(nil)
	d.inTBS = false

	t, der, err = d.element(nil, maxSmall)
	if err != nil {
		return nil, err
	}
	if t != 0x30 || !bytes.Equal(der, tbsAlg) {
		return nil, d.fail("outer signature algorithm differs from the TBS one")
	}
	t, der, err = d.element(nil, maxSmall)
	if err != nil {
		return nil, err
	}
	s := cryptobyte.String(der)
	var bits asn1.BitString
	if t != 0x03 || !s.ReadASN1BitString(&bits) || bits.BitLength%8 != 0 {
		return nil, d.fail("malformed signature")
	}
	if _, err := d.r.Peek(1); err != io.EOF {
		return nil, d.fail("data after the CRL")
	}
	if err := verify(out.Issuer, h, digest, bits.Bytes); err != nil {
		return nil, err
	}
	return out, nil
}

// addEntry keeps the serial of one revokedCertificate entry.
func (c *ScannedCRL) addEntry(der []byte) error {
	s := cryptobyte.String(der)
	var entry, serial cryptobyte.String
	if !s.ReadASN1(&entry, cbasn1.SEQUENCE) || !entry.ReadASN1(&serial, cbasn1.INTEGER) || len(serial) == 0 {
		return errors.New("malformed revoked-certificate entry")
	}
	c.Entries++
	b := []byte(serial)
	negative := b[0]&0x80 != 0 // non-conformant; kept, never matches
	for len(b) > 1 && b[0] == 0 {
		b = b[1:]
	}
	if !negative && len(b) <= 8 {
		var v uint64
		for _, x := range b {
			v = v<<8 | uint64(x)
		}
		c.Small = append(c.Small, v)
		return nil
	}
	c.Large = append(c.Large, string(b))
	return nil
}

// serialKey returns how a serial is kept: a uint64 when it fits, else bytes.
func serialKey(n *big.Int) (uint64, string, bool) {
	b := n.Bytes()
	if n.Sign() >= 0 && len(b) <= 8 {
		var v uint64
		for _, x := range b {
			v = v<<8 | uint64(x)
		}
		return v, "", true
	}
	return 0, string(b), false
}

func crlNumber(der []byte) (*big.Int, error) {
	s := cryptobyte.String(der)
	var exts, seq cryptobyte.String
	if !s.ReadASN1(&exts, cbasn1.Tag(0).Constructed().ContextSpecific()) || !exts.ReadASN1(&seq, cbasn1.SEQUENCE) {
		return nil, errors.New("malformed CRL extensions")
	}
	for !seq.Empty() {
		var ext, val cryptobyte.String
		var oid asn1.ObjectIdentifier
		if !seq.ReadASN1(&ext, cbasn1.SEQUENCE) || !ext.ReadASN1ObjectIdentifier(&oid) {
			return nil, errors.New("malformed CRL extension")
		}
		ext.SkipOptionalASN1(cbasn1.BOOLEAN)
		if !ext.ReadASN1(&val, cbasn1.OCTET_STRING) {
			return nil, errors.New("malformed CRL extension value")
		}
		if oid.Equal(oidCRLNumber) {
			n := new(big.Int)
			if !val.ReadASN1Integer(n) {
				return nil, errors.New("malformed CRL number")
			}
			return n, nil
		}
	}
	return nil, nil
}

// verifySignature checks sig over digest with pub.
func verifySignature(pub crypto.PublicKey, h crypto.Hash, digest, sig []byte) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, h, digest, sig)
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, digest, sig) {
			return errors.New("ECDSA verification failure")
		}
		return nil
	}
	return fmt.Errorf("unsupported public key %T", pub)
}

// VerifyWithAnchors returns a verify function for ScanCRL that accepts the
// CRL if one of anchors (matching the issuer Name) signed it, and reports
// which through signer.
func VerifyWithAnchors(anchors []*x509.Certificate, signer **x509.Certificate) func([]byte, crypto.Hash, []byte, []byte) error {
	return func(issuer []byte, h crypto.Hash, digest, sig []byte) error {
		named := false
		for _, a := range anchors {
			if !bytes.Equal(a.RawSubject, issuer) {
				continue
			}
			named = true
			if verifySignature(a.PublicKey, h, digest, sig) == nil {
				*signer = a
				return nil
			}
		}
		if !named {
			return fmt.Errorf("%w: issued by a CA that is not a configured trust anchor", ErrCRLIssuer)
		}
		return fmt.Errorf("%w: the signature does not verify with any trust anchor of that name", ErrCRLSignature)
	}
}

// CRL verification failures.
var (
	ErrCRLIssuer    = errors.New("CRL from an untrusted issuer")
	ErrCRLSignature = errors.New("CRL signature invalid")
)
