package certcheck

import (
	"crypto/sha256"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzIndex feeds the CRL index reader damaged and crafted index files
// (with a valid checksum, so the parser behind it is reached): it must
// refuse them with ErrIndex, never panic, hang or allocate what the file
// says without checking it, and read back what writeIndex wrote.
func FuzzIndex(f *testing.F) {
	dir := f.TempDir()
	ix := &Index{Issuer: "CN=test", ThisUpdate: time.Unix(1700000000, 0).UTC(), Imported: time.Unix(1700000100, 0).UTC(),
		Number: big.NewInt(7), Entries: 3, small: []uint64{1, 5, 9}, large: []string{"\x01\x02\x03\x04\x05\x06\x07\x08\x09"}}
	path := filepath.Join(dir, "seed.idx")
	if err := writeIndex(path, ix); err != nil {
		f.Fatal(err)
	}
	seed, _ := os.ReadFile(path)
	f.Add(seed[:len(seed)-32])
	f.Add([]byte(indexMagic))
	f.Add(append([]byte(indexMagic), 0xff, 0xff, 0xff, 0xff))
	f.Fuzz(func(t *testing.T, body []byte) {
		sum := sha256.Sum256(body)
		got, err := parseIndex(append(body, sum[:]...))
		if err != nil {
			return
		}
		if got.Entries < 0 || len(got.small) > len(body)/8 || len(got.large) > len(body)/4 {
			t.Fatalf("accepted an index larger than its file: %d small, %d large in %d bytes", len(got.small), len(got.large), len(body))
		}
	})
}
