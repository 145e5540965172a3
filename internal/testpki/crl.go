package testpki

import (
	"bufio"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"io"
	"math/big"
	"os"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// CRLSpec describes a CRL for WriteCRL.
type CRLSpec struct {
	Number     int64
	ThisUpdate time.Time
	NextUpdate time.Time
	Count      int                // revoked entries
	Serial     func(i int) uint32 // i-th revoked serial; must be >= 0x01000000 and < 0x80000000
}

// SpreadSerial is a Serial function that gives distinct 4-byte serials in
// scrambled order (a multiplication modulo 2^28 by an odd number is a
// bijection).
func SpreadSerial(i int) uint32 { return 0x10000000 + uint32(uint64(i)*2654435761%(1<<28)) }

// WriteCRL writes a DER CRL signed with SHA-256/RSA by ca's key, streaming
// its entries: millions of them need no more memory than one. Each entry is
// a 4-byte serial, a revocation date and a reasonCode extension, about the
// 33+ bytes per entry of real CRLs.
func WriteCRL(out io.Writer, ca *x509.Certificate, key *rsa.PrivateKey, s CRLSpec) error {
	w := bufio.NewWriterSize(out, 1<<20)
	h := sha256.New()
	both := io.MultiWriter(w, h)

	der := func(f func(*cryptobyte.Builder)) []byte {
		var b cryptobyte.Builder
		f(&b)
		return b.BytesOrPanic()
	}
	algo := der(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
			b.AddASN1ObjectIdentifier(asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 11})
			b.AddASN1NULL()
		})
	})
	utc := func(b *cryptobyte.Builder, t time.Time) { b.AddASN1UTCTime(t.UTC()) }
	head := der(func(b *cryptobyte.Builder) {
		b.AddASN1Int64(1) // v2
		b.AddBytes(algo)
		b.AddBytes(ca.RawSubject)
		utc(b, s.ThisUpdate)
		utc(b, s.NextUpdate)
	})
	exts := der(func(b *cryptobyte.Builder) {
		b.AddASN1(cbasn1.Tag(0).Constructed().ContextSpecific(), func(b *cryptobyte.Builder) {
			b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
				b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) { // CRL number
					b.AddASN1ObjectIdentifier(asn1.ObjectIdentifier{2, 5, 29, 20})
					b.AddASN1OctetString(der(func(b *cryptobyte.Builder) { b.AddASN1BigInt(big.NewInt(s.Number)) }))
				})
			})
		})
	})
	revDate := der(func(b *cryptobyte.Builder) { utc(b, s.ThisUpdate.Add(-24*time.Hour)) })
	reason := []byte{0x30, 0x0C, 0x30, 0x0A, 0x06, 0x03, 0x55, 0x1D, 0x15, 0x04, 0x03, 0x0A, 0x01, 0x01}
	entryBody := 6 + len(revDate) + len(reason)
	entryLen := 2 + entryBody
	listLen := s.Count * entryLen
	hdr := func(tag byte, n int) []byte {
		switch {
		case n < 0x80:
			return []byte{tag, byte(n)}
		case n < 0x100:
			return []byte{tag, 0x81, byte(n)}
		case n < 0x10000:
			return []byte{tag, 0x82, byte(n >> 8), byte(n)}
		case n < 0x1000000:
			return []byte{tag, 0x83, byte(n >> 16), byte(n >> 8), byte(n)}
		}
		return []byte{tag, 0x84, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}
	}
	var listHdr []byte
	if s.Count > 0 {
		listHdr = hdr(0x30, listLen)
	}
	tbsBody := len(head) + len(listHdr) + listLen + len(exts)
	tbsHdr := hdr(0x30, tbsBody)
	sigLen := key.Size()
	sigBits := hdr(0x03, sigLen+1)
	total := len(tbsHdr) + tbsBody + len(algo) + len(sigBits) + 1 + sigLen

	w.Write(hdr(0x30, total))
	both.Write(tbsHdr)
	both.Write(head)
	both.Write(listHdr)
	entry := make([]byte, entryLen)
	entry[0], entry[1] = 0x30, byte(entryBody)
	entry[2], entry[3] = 0x02, 0x04
	copy(entry[8:], revDate)
	copy(entry[8+len(revDate):], reason)
	for i := range s.Count {
		v := s.Serial(i)
		entry[4], entry[5], entry[6], entry[7] = byte(v>>24), byte(v>>16), byte(v>>8), byte(v)
		both.Write(entry)
	}
	both.Write(exts)
	sig, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, h.Sum(nil))
	if err != nil {
		return err
	}
	w.Write(algo)
	w.Write(sigBits)
	w.WriteByte(0)
	w.Write(sig)
	return w.Flush()
}

// WriteCRLFile writes to path a CRL of the fixture CA ca-2023 valid from
// thisUpdate to nextUpdate, revoking the fixture certificates named.
func WriteCRLFile(path string, number int64, thisUpdate, nextUpdate time.Time, revoked ...string) error {
	caDER, key, err := Load("ca-2023")
	if err != nil {
		return err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	var serials []uint32
	for _, name := range revoked {
		c, _, err := Load(name)
		if err != nil {
			return err
		}
		p, _ := x509.ParseCertificate(c)
		serials = append(serials, uint32(p.SerialNumber.Int64()))
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	err = WriteCRL(f, ca, key, CRLSpec{Number: number, ThisUpdate: thisUpdate, NextUpdate: nextUpdate,
		Count: len(serials), Serial: func(i int) uint32 { return serials[i] }})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
