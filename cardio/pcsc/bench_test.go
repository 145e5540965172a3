package pcsc_test

import (
	"context"
	"testing"

	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/cardio/cardiotest"
	"github.com/mykey-jp/mykey/cardio/pcsc"
	"github.com/mykey-jp/mykey/cardio/vcard"
	"github.com/mykey-jp/mykey/internal/pcsctest"
)

// BenchmarkRead measures one PIN-less read of the user-identification
// certificate (select applet, select EF, READ BINARY) through pcscd and vpcd,
// with 256-byte reads and with extended length side by side, and the same
// read against the card in process as the baseline without the PC/SC stack.
// It reports APDUs and bytes per read; ns/op is the time.
//
//	sh scripts/pcsc-ns.sh go test -run '^$' -bench Read ./cardio/pcsc/
func BenchmarkRead(b *testing.B) {
	pcsctest.Start(b, 1)
	c := &pcsc.Client{}
	defer c.Close()
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
	defer k.Close()
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
