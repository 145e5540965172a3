package certcheck

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"sync"
	"time"
)

// Index is the compact form of one CA's CRL: its metadata and the sorted
// revoked serial numbers.
type Index struct {
	Issuer     string    // the CA's DN, for display
	AnchorHash [32]byte  // SHA-256 of the signing anchor's SubjectPublicKeyInfo
	ThisUpdate time.Time // from the CRL
	NextUpdate time.Time // from the CRL; zero when absent
	Number     *big.Int  // CRL number; nil when absent
	Entries    int
	Imported   time.Time
	small      []uint64 // sorted
	large      []string // sorted
}

// Revoked reports whether serial is on the CRL.
func (ix *Index) Revoked(serial *big.Int) bool {
	if v, s, small := serialKey(serial); small {
		_, found := slices.BinarySearch(ix.small, v)
		return found
	} else {
		_, found := slices.BinarySearch(ix.large, s)
		return found
	}
}

// Stale reports whether the CRL is past its nextUpdate plus grace at now.
// A CRL without nextUpdate is stale after grace from thisUpdate.
func (ix *Index) Stale(now time.Time, grace time.Duration) bool {
	limit := ix.NextUpdate
	if limit.IsZero() {
		limit = ix.ThisUpdate
	}
	return now.After(limit.Add(grace))
}

// radixSort sorts v in place by bytes, least significant first, skipping
// bytes that are equal in every value (4-byte serials need four passes).
func radixSort(v []uint64) {
	if slices.IsSorted(v) {
		return
	}
	tmp := make([]uint64, len(v))
	src, dst := v, tmp
	for shift := uint(0); shift < 64; shift += 8 {
		var count [256]int
		for _, x := range src {
			count[byte(x>>shift)]++
		}
		if count[byte(src[0]>>shift)] == len(src) {
			continue // this byte is the same everywhere
		}
		pos := 0
		for i, c := range count {
			count[i] = pos
			pos += c
		}
		for _, x := range src {
			b := byte(x >> shift)
			dst[count[b]] = x
			count[b]++
		}
		src, dst = dst, src
	}
	if &src[0] != &v[0] {
		copy(v, src)
	}
}

const indexMagic = "MYKEYCRL"
const indexVersion = 1

// ErrIndex means an index file is damaged or of an unknown version.
var ErrIndex = errors.New("CRL index is damaged")

func writeIndex(path string, ix *Index) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".crl-*.tmp")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	h := sha256.New()
	w := bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20)
	le := binary.LittleEndian
	var b8 [8]byte
	u32 := func(v uint32) { le.PutUint32(b8[:4], v); w.Write(b8[:4]) }
	u64 := func(v uint64) { le.PutUint64(b8[:], v); w.Write(b8[:]) }
	blob := func(b []byte) { u32(uint32(len(b))); w.Write(b) }
	w.WriteString(indexMagic)
	u32(indexVersion)
	blob([]byte(ix.Issuer))
	w.Write(ix.AnchorHash[:])
	u64(uint64(ix.ThisUpdate.Unix()))
	u64(uint64(ix.NextUpdate.Unix()))
	u64(uint64(ix.Imported.Unix()))
	var num []byte
	if ix.Number != nil {
		num = ix.Number.Bytes()
	}
	blob(num)
	u64(uint64(ix.Entries))
	u64(uint64(len(ix.small)))
	u64(uint64(len(ix.large)))
	for _, v := range ix.small {
		u64(v)
	}
	for _, s := range ix.large {
		blob([]byte(s))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(h.Sum(nil)); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

func readIndex(path string) (*Index, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ix, err := parseIndex(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return ix, nil
}

// parseIndex reads an index file's bytes. No length read from them decides
// an allocation or a loop before it is checked against what is there.
func parseIndex(data []byte) (*Index, error) {
	bad := func(what string) error { return fmt.Errorf("%w: %s", ErrIndex, what) }
	if len(data) < len(indexMagic)+32 || string(data[:len(indexMagic)]) != indexMagic {
		return nil, bad("not an index file")
	}
	body, sum := data[:len(data)-32], data[len(data)-32:]
	if s := sha256.Sum256(body); !bytes.Equal(s[:], sum) {
		return nil, bad("checksum mismatch")
	}
	p := body[len(indexMagic):]
	le := binary.LittleEndian
	ok := true
	take := func(n int) []byte {
		if !ok || n < 0 || len(p) < n {
			ok = false
			return make([]byte, 8)
		}
		b := p[:n]
		p = p[n:]
		return b
	}
	u32 := func() uint32 { return le.Uint32(take(4)) }
	u64 := func() uint64 { return le.Uint64(take(8)) }
	blob := func() []byte { return take(int(u32())) }
	if v := u32(); v != indexVersion {
		return nil, bad(fmt.Sprintf("version %d", v))
	}
	ix := &Index{Issuer: string(blob())}
	copy(ix.AnchorHash[:], take(32))
	ix.ThisUpdate = time.Unix(int64(u64()), 0).UTC()
	if n := int64(u64()); n > 0 {
		ix.NextUpdate = time.Unix(n, 0).UTC()
	}
	ix.Imported = time.Unix(int64(u64()), 0).UTC()
	if num := blob(); len(num) > 0 {
		ix.Number = new(big.Int).SetBytes(num)
	}
	ix.Entries = int(u64())
	ns, nl := u64(), u64()
	if !ok || ns > uint64(len(p)/8) {
		return nil, bad("truncated")
	}
	ix.small = make([]uint64, ns)
	raw := take(int(ns) * 8)
	for i := range ix.small {
		ix.small[i] = le.Uint64(raw[i*8:])
	}
	if nl > uint64(len(p)/4) { // every long serial takes 4 bytes at least
		return nil, bad("truncated")
	}
	for range nl {
		ix.large = append(ix.large, string(blob()))
	}
	if !ok || len(p) != 0 {
		return nil, bad("truncated")
	}
	return ix, nil
}

// CRLStore keeps one index per trust anchor in Dir.
type CRLStore struct {
	Dir     string
	Anchors []*x509.Certificate
	Now     func() time.Time

	mu    sync.Mutex
	cache map[string]cachedIndex
}

type cachedIndex struct {
	mod time.Time
	ix  *Index
}

func (s *CRLStore) now() time.Time {
	if s.Now != nil {
		return s.Now()
	}
	return time.Now()
}

func anchorHash(a *x509.Certificate) [32]byte { return sha256.Sum256(a.RawSubjectPublicKeyInfo) }

func (s *CRLStore) path(a *x509.Certificate) string {
	h := anchorHash(a)
	return filepath.Join(s.Dir, "crl-"+hex.EncodeToString(h[:8])+".idx")
}

// ErrCRLOlder means an import would replace a newer CRL with an older one.
var ErrCRLOlder = errors.New("CRL is older than the one already imported")

// Import scans a DER CRL, verifies it against the trust anchors, refuses it
// if its CRL number (or, without numbers, its thisUpdate) goes backwards,
// and replaces that anchor's index atomically: a failed or interrupted
// import leaves the previous index in place.
func (s *CRLStore) Import(r io.Reader, size int64) (*Index, error) {
	var signer *x509.Certificate
	sc, err := ScanCRL(r, size, VerifyWithAnchors(s.Anchors, &signer))
	if err != nil {
		return nil, err
	}
	ix := &Index{
		AnchorHash: anchorHash(signer), Issuer: signer.Subject.String(),
		ThisUpdate: sc.ThisUpdate, NextUpdate: sc.NextUpdate, Number: sc.Number,
		Entries: sc.Entries, Imported: s.now().UTC(), small: sc.Small, large: sc.Large,
	}
	path := s.path(signer)
	old, err := readIndex(path)
	switch {
	case err == nil:
		if ix.Number != nil && old.Number != nil {
			if ix.Number.Cmp(old.Number) < 0 {
				return nil, fmt.Errorf("%w: CRL number %v, imported already %v", ErrCRLOlder, ix.Number, old.Number)
			}
		} else if ix.ThisUpdate.Before(old.ThisUpdate) {
			return nil, fmt.Errorf("%w: thisUpdate %v, imported already %v", ErrCRLOlder, ix.ThisUpdate, old.ThisUpdate)
		}
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, ErrIndex):
		// first import, or replacing a damaged index
	default:
		return nil, err
	}
	radixSort(ix.small)
	sort.Strings(ix.large)
	if err := writeIndex(path, ix); err != nil {
		return nil, fmt.Errorf("writing the CRL index: %w", err)
	}
	return ix, nil
}

// Index returns the index for anchor, reading it again when the file
// changed. fs.ErrNotExist (wrapped) when no CRL was imported for it.
func (s *CRLStore) Index(anchor *x509.Certificate) (*Index, error) {
	path := s.path(anchor)
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c, ok := s.cache[path]; ok && c.mod.Equal(fi.ModTime()) {
		return c.ix, nil
	}
	ix, err := readIndex(path)
	if err != nil {
		return nil, err
	}
	if s.cache == nil {
		s.cache = map[string]cachedIndex{}
	}
	s.cache[path] = cachedIndex{fi.ModTime(), ix}
	return ix, nil
}

// Status returns the index of every anchor that has one.
func (s *CRLStore) Status() ([]*Index, error) {
	var out []*Index
	for _, a := range s.Anchors {
		ix, err := s.Index(a)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, ix)
	}
	return out, nil
}
