package pcsc_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/cardio/cardiotest"
	"github.com/mykey-jp/mykey/cardio/pcsc"
	"github.com/mykey-jp/mykey/cardio/vcard"
	"github.com/mykey-jp/mykey/genuine"
	"github.com/mykey-jp/mykey/internal/pcsctest"
	"github.com/mykey-jp/mykey/internal/testpki"
	"github.com/mykey-jp/mykey/keyid"
)

// BenchmarkRead measures one PIN-less read of the user-identification
// certificate (select applet, select EF, READ BINARY) through pcscd and vpcd,
// with 256-byte reads and with extended length side by side, and the same
// read against the card in process as the baseline without the PC/SC stack.
// It reports APDUs and bytes per read; ns/op is the time.
//
//	sh scripts/pcsc-ns.sh go test -run '^$' -bench Read ./cardio/pcsc/
func BenchmarkRead(b *testing.B) {
	ctx := context.Background()
	card, cert, k := connected(b)
	for _, bc := range []struct {
		name     string
		t        cardio.Transport
		extended bool
	}{
		{"pcscd/short", k, false},
		{"pcscd/extended", k, true},
		{"in-process/short", card, false},
		{"in-process/extended", card, true},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var st cardio.Stats
			for b.Loop() {
				s := &cardio.Session{T: bc.t, Extended: bc.extended}
				if err := s.Select(ctx); err != nil {
					b.Fatal(err)
				}
				got, err := s.AuthCertificate(ctx)
				if err != nil || len(got) != len(cert) {
					b.Fatal(err)
				}
				st = s.Stats
			}
			b.ReportMetric(float64(st.APDUs), "apdus/read")
			b.ReportMetric(float64(st.Bytes), "bytes/read")
			b.ReportMetric(float64(len(cert)), "cert-bytes")
		})
	}
}

// BenchmarkGenuineCheck measures what the genuine-card check adds to a tap,
// per mode, through pcscd and vpcd and in process: each op reads the
// certificate as the desk does (not counted) and then runs the check in the
// same connection (counted). It reports the check's APDUs and its time per
// tap; targets: dob ≤ 10 short APDUs (≤ 8 extended) with the CVC cached,
// card-key ≤ 2, ≤ 10 ms through pcscd.
//
//	sh scripts/pcsc-ns.sh go test -run '^$' -bench GenuineCheck ./cardio/pcsc/
func BenchmarkGenuineCheck(b *testing.B) {
	ctx := context.Background()
	card, _, k := connected(b)
	keys, _ := keyid.NewPseudonymizer(make([]byte, keyid.SecretLen))
	id, ca := testpki.CVCCA()
	for _, tr := range []struct {
		name string
		t    cardio.Transport
	}{{"pcscd", k}, {"in-process", card}} {
		for _, bc := range []struct {
			mode     genuine.Mode
			extended bool
		}{{genuine.ModeDOB, false}, {genuine.ModeDOB, true}, {genuine.ModeCardKey, false}} {
			name := fmt.Sprintf("%s/%s/extended=%v", tr.name, bc.mode, bc.extended)
			b.Run(name, func(b *testing.B) {
				chk := &genuine.Checker{Mode: bc.mode, Authorities: genuine.Authorities{id: &ca.PublicKey}, Keys: keys}
				session := func() *cardio.Session {
					s := &cardio.Session{T: tr.t, Extended: bc.extended}
					if err := s.Select(ctx); err != nil {
						b.Fatal(err)
					}
					if _, _, err := s.Leaf(ctx); err != nil {
						b.Fatal(err)
					}
					return s
				}
				kept, err := chk.Capture(ctx, session(), cardiotest.DOB) // registration; caches the CVC
				if err != nil {
					b.Fatal(err)
				}
				var spent time.Duration
				var apdus int
				for b.Loop() {
					s := session()
					before, t0 := s.Stats.APDUs, time.Now()
					if err := chk.Tap(ctx, s, &kept); err != nil {
						b.Fatal(err)
					}
					spent += time.Since(t0)
					apdus = s.Stats.APDUs - before
				}
				b.ReportMetric(float64(apdus), "extra-apdus/tap")
				b.ReportMetric(float64(spent.Microseconds())/1000/float64(b.N), "extra-ms/tap")
			})
		}
	}
}

// connected starts pcscd with one vpcd reader, inserts the test card and
// connects to it through pcscd; all is released when b ends.
func connected(b *testing.B) (*vcard.Card, []byte, cardio.Card) {
	pcsctest.Start(b, 1)
	c := &pcsc.Client{}
	b.Cleanup(func() { c.Close() })
	ctx := context.Background()
	card, cert := cardiotest.NewCard(b, vcard.Faults{})
	insert(b, card, pcsctest.Addr(0, 0))
	rs, err := c.Readers(ctx)
	if err != nil || len(rs) == 0 {
		b.Fatal(err)
	}
	waitPresent(b, c, rs[0].Name, true)
	k, err := c.Connect(ctx, rs[0].Name)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { k.Close() })
	return card, cert, k
}
