//go:build linux

package main

import (
	"context"
	"crypto/x509"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/cardio/pcsc"
	"github.com/mykey-jp/mykey/cardio/vcard"
	"github.com/mykey-jp/mykey/certcheck"
	"github.com/mykey-jp/mykey/desk"
	"github.com/mykey-jp/mykey/internal/ocsptest"
	"github.com/mykey-jp/mykey/internal/pcsctest"
	"github.com/mykey-jp/mykey/internal/testpki"
	"github.com/mykey-jp/mykey/internal/xdesk"
	"github.com/mykey-jp/mykey/keyboardwedge"
	"github.com/mykey-jp/mykey/keyboardwedge/x11"
	"github.com/mykey-jp/mykey/keyid"
	"github.com/mykey-jp/mykey/store"
	"github.com/mykey-jp/mykey/store/sqlite"
)

// firstKey records when the first key of each number is sent.
type firstKey struct {
	keyboardwedge.Injector
	mu    sync.Mutex
	first time.Time
}

func (f *firstKey) TypeChar(ctx context.Context, r rune) error {
	f.mu.Lock()
	if f.first.IsZero() {
		f.first = time.Now()
	}
	f.mu.Unlock()
	return f.Injector.TypeChar(ctx, r)
}

// BenchmarkDeskTap taps the virtual card through the desk (pcscd and vpcd,
// OCSP on loopback, a SQLite registry, XTEST into an xterm with the focus
// guard) and reports the median and p95 from "card present" (the reader
// event) to the first keystroke, split into read, check, lookup and typing,
// and the pipeline overhead (all but card I/O and typing).
//
//	sh scripts/pcsc-ns.sh go test -run '^$' -bench DeskTap -benchtime 1x ./cmd/mykey/
func BenchmarkDeskTap(b *testing.B) {
	pcsctest.Start(b, 1)
	xd := xdesk.Start(b)
	target := xd.Target("ILS", false)
	target.Focus()
	resp := ocsptest.Start(b, "ca-2023", time.Now)
	var anchors []*x509.Certificate
	for _, n := range []string{"ca-2019", "ca-2023"} {
		der, _, _ := testpki.Load(n)
		c, _ := x509.ParseCertificate(der)
		anchors = append(anchors, c)
	}
	reg, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "registry.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer reg.Close()
	pseudo, _ := keyid.NewPseudonymizer(make([]byte, 32))
	leafDER, key, _ := testpki.Load("user")
	leaf, _ := x509.ParseCertificate(leafDER)
	if _, err := reg.Register(context.Background(), store.Registration{Pseudonym: pseudo.Pseudonym(anchors[1].RawSubjectPublicKeyInfo, leaf.SerialNumber),
		NotAfter: leaf.NotAfter, Service: store.DefaultService, Patron: "1234567890"}); err != nil {
		b.Fatal(err)
	}
	disp, err := x11.Open(xd.Display)
	if err != nil {
		b.Fatal(err)
	}
	defer disp.Close()
	tmpl, _ := keyboardwedge.ParseTemplate("{patron}{enter}")
	fk := &firstKey{Injector: disp}
	client := &pcsc.Client{}
	defer client.Close()
	var mu sync.Mutex
	var present time.Time
	statuses := make(chan desk.Status, 1)
	d := &desk.Desk{
		Readers: client, Registry: reg, Pseudo: pseudo, Service: store.DefaultService,
		Checker: &certcheck.Policy{Chain: &certcheck.Chain{Anchors: anchors}, Method: certcheck.MethodOCSP,
			OCSP: &certcheck.OCSP{URL: resp.URL}},
		Typer: &keyboardwedge.Typer{Injector: fk, Focus: disp, Template: tmpl, KeyDelay: 2 * time.Millisecond,
			Guard: keyboardwedge.Guard{Exes: []string{"xterm"}}},
		OnEvent: func(e cardio.Event) {
			if e.Kind == cardio.CardInserted {
				mu.Lock()
				present = time.Now()
				mu.Unlock()
			}
		},
		OnStatus: func(s desk.Status) { statuses <- s },
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go d.Run(ctx)
	ca, _, _ := testpki.Load("ca-2023")
	card, _ := vcard.New(vcard.Config{AuthCert: leafDER, AuthCA: ca, Key: key, PIN: "1234"}, nil)

	const taps = 20
	var read, check, lookup, typing, toFirst, overhead []time.Duration
	for b.Loop() {
		for range taps {
			fk.mu.Lock()
			fk.first = time.Time{}
			fk.mu.Unlock()
			cctx, ccancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); card.Serve(cctx, pcsctest.Addr(0, 0)) }()
			s := <-statuses
			ccancel()
			<-done
			if s.Outcome != desk.Typed {
				b.Fatalf("tap: %+v", s)
			}
			mu.Lock()
			p := present
			mu.Unlock()
			fk.mu.Lock()
			first := fk.first.Sub(p)
			fk.mu.Unlock()
			read, check, lookup, typing = append(read, s.Timing.Read), append(check, s.Timing.Check), append(lookup, s.Timing.Lookup), append(typing, s.Timing.Type)
			toFirst = append(toFirst, first)
			overhead = append(overhead, first-s.Timing.Read)
			// pcscd polls every 400 ms: wait until it saw the card go.
			time.Sleep(500 * time.Millisecond)
		}
	}
	stat := func(name string, v []time.Duration) {
		slices.Sort(v)
		med, p95 := v[len(v)/2], v[len(v)*95/100]
		b.ReportMetric(float64(med.Microseconds())/1000, name+"-median-ms")
		b.ReportMetric(float64(p95.Microseconds())/1000, name+"-p95-ms")
		b.Logf("%-22s median %7.2f ms   p95 %7.2f ms", name, float64(med.Microseconds())/1000, float64(p95.Microseconds())/1000)
	}
	stat("read", read)
	stat("check", check)
	stat("lookup", lookup)
	stat("type-all-keys", typing)
	stat("present-to-first-key", toFirst)
	stat("overhead", overhead)
	if resp.Hits() != 1 {
		b.Logf("OCSP requests: %d (good answers are cached)", resp.Hits())
	}
	target.Wait(target.Content(), time.Second)
}
