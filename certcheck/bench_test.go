//go:build linux

package certcheck_test

import (
	"bufio"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/certcheck"
	"github.com/mykey-jp/mykey/internal/testpki"
)

// BenchmarkCRLLoad generates CRLs with 1M and 3M entries and loads each in
// a fresh process with the streaming index importer and with
// x509.ParseRevocationList (plus a map of the serials, as a lookup needs),
// reporting time, peak memory (the child's maximum RSS) and the ratios.
//
//	go test -run '^$' -bench CRLLoad -benchtime 1x ./certcheck/
func BenchmarkCRLLoad(b *testing.B) {
	caDER, key, _ := testpki.Load("ca-2023")
	ca, _ := x509.ParseCertificate(caDER)
	dir := b.TempDir()
	for _, n := range []int{1_000_000, 3_000_000} {
		path := filepath.Join(dir, fmt.Sprintf("crl-%d.der", n))
		f, err := os.Create(path)
		if err != nil {
			b.Fatal(err)
		}
		err = testpki.WriteCRL(f, ca, key, testpki.CRLSpec{Number: 1, ThisUpdate: now, NextUpdate: now.Add(24 * time.Hour), Count: n, Serial: testpki.SpreadSerial})
		f.Close()
		if err != nil {
			b.Fatal(err)
		}
		fi, _ := os.Stat(path)
		b.Run(fmt.Sprintf("%dM", n/1_000_000), func(b *testing.B) {
			for b.Loop() {
				idx := child(b, "index", path, n)
				std := child(b, "stdlib", path, n)
				b.ReportMetric(idx.Seconds, "index-s")
				b.ReportMetric(float64(idx.MaxRSS)/1e6, "index-MB")
				b.ReportMetric(std.Seconds, "stdlib-s")
				b.ReportMetric(float64(std.MaxRSS)/1e6, "stdlib-MB")
				b.ReportMetric(std.Seconds/idx.Seconds, "x-faster")
				b.ReportMetric(float64(std.MaxRSS)/float64(idx.MaxRSS), "x-smaller")
				b.Logf("%d entries (%.0f MB DER): index %.3f s %.0f MB | stdlib %.3f s %.0f MB | %.1fx faster, %.1fx smaller",
					n, float64(fi.Size())/1e6, idx.Seconds, float64(idx.MaxRSS)/1e6, std.Seconds, float64(std.MaxRSS)/1e6,
					std.Seconds/idx.Seconds, float64(std.MaxRSS)/float64(idx.MaxRSS))
			}
		})
	}
}

type loadResult struct {
	Seconds float64
	MaxRSS  int64 // bytes
}

// child loads the CRL at path in a new process of this test binary.
func child(b *testing.B, mode, path string, n int) loadResult {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCRLLoadChild$")
	cmd.Env = append(os.Environ(), "MYKEY_CRL_CHILD="+mode, "MYKEY_CRL_PATH="+path, fmt.Sprint("MYKEY_CRL_N=", n))
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("%s child: %v\n%s", mode, err, out)
	}
	var r loadResult
	for _, line := range splitLines(out) {
		if json.Unmarshal([]byte(line), &r) == nil && r.Seconds > 0 {
			break
		}
	}
	r.MaxRSS = cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss * 1024 // Linux reports KiB
	return r
}

func splitLines(b []byte) []string {
	var out []string
	sc := bufio.NewScanner(bytesReader(b))
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

// TestCRLLoadChild is the child of BenchmarkCRLLoad; it does nothing in a
// normal test run.
func TestCRLLoadChild(t *testing.T) {
	mode := os.Getenv("MYKEY_CRL_CHILD")
	if mode == "" {
		return
	}
	path := os.Getenv("MYKEY_CRL_PATH")
	var n int
	fmt.Sscan(os.Getenv("MYKEY_CRL_N"), &n)
	runtime.GC()
	start := time.Now()
	switch mode {
	case "index":
		s := &certcheck.CRLStore{Dir: t.TempDir(), Anchors: anchors(t, "ca-2023"), Now: clock}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		ix, err := s.Import(f, -1)
		f.Close()
		if err != nil || ix.Entries != n {
			t.Fatalf("import: %v", err)
		}
	case "stdlib":
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		rl, err := x509.ParseRevocationList(data)
		if err != nil {
			t.Fatal(err)
		}
		if err := rl.CheckSignatureFrom(anchors(t, "ca-2023")[0]); err != nil {
			t.Fatal(err)
		}
		m := make(map[string]struct{}, len(rl.RevokedCertificateEntries))
		for _, e := range rl.RevokedCertificateEntries {
			m[string(e.SerialNumber.Bytes())] = struct{}{}
		}
		if len(m) != n {
			t.Fatalf("%d serials", len(m))
		}
	}
	el := time.Since(start)
	json.NewEncoder(os.Stdout).Encode(loadResult{Seconds: el.Seconds()})
}

// BenchmarkCRLLookup looks serials up in a 3M-entry index.
func BenchmarkCRLLookup(b *testing.B) {
	caDER, key, _ := testpki.Load("ca-2023")
	ca, _ := x509.ParseCertificate(caDER)
	path := filepath.Join(b.TempDir(), "crl.der")
	f, _ := os.Create(path)
	const n = 3_000_000
	testpki.WriteCRL(f, ca, key, testpki.CRLSpec{Number: 1, ThisUpdate: now, NextUpdate: now.Add(24 * time.Hour), Count: n, Serial: testpki.SpreadSerial})
	f.Close()
	s := &certcheck.CRLStore{Dir: b.TempDir(), Anchors: []*x509.Certificate{ca}, Now: clock}
	f, _ = os.Open(path)
	if _, err := s.Import(f, -1); err != nil {
		b.Fatal(err)
	}
	f.Close()
	ix, _ := s.Index(ca)
	serials := make([]*big.Int, 1024)
	for i := range serials {
		if i%2 == 0 {
			serials[i] = big.NewInt(int64(testpki.SpreadSerial(i * 2929)))
		} else {
			serials[i] = big.NewInt(int64(0x01000000 + i)) // not revoked
		}
	}
	b.ResetTimer()
	hits := 0
	for i := 0; b.Loop(); i++ {
		if ix.Revoked(serials[i%len(serials)]) {
			hits++
		}
	}
	if hits == 0 {
		b.Fatal("no revoked serial found")
	}
}

func bytesReader(b []byte) *bytesReaderT { return &bytesReaderT{b: b} }

type bytesReaderT struct{ b []byte }

func (r *bytesReaderT) Read(p []byte) (int, error) {
	if len(r.b) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.b)
	r.b = r.b[n:]
	return n, nil
}
