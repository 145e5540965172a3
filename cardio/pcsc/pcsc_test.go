package pcsc_test

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/cardio/cardiotest"
	"github.com/mykey-jp/mykey/cardio/pcsc"
	"github.com/mykey-jp/mykey/cardio/vcard"
	"github.com/mykey-jp/mykey/internal/pcsctest"
)

// insert serves card on vpcd slot addr until the test ends or remove is
// called.
func insert(t testing.TB, card *vcard.Card, addr string) (remove func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := card.Serve(ctx, addr); err != nil {
			t.Errorf("serving the virtual card: %v", err)
		}
	}()
	remove = func() { cancel(); wg.Wait() }
	t.Cleanup(remove)
	return remove
}

// waitPresent polls until reader holds a card (or not).
func waitPresent(t testing.TB, c *pcsc.Client, reader string, want bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		rs, err := c.Readers(context.Background())
		if err == nil {
			for _, r := range rs {
				if r.Name == reader && r.Present == want {
					return
				}
			}
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("reader %q never had present=%v", reader, want)
}

func readCert(ctx context.Context, c *pcsc.Client, reader string, extended bool) ([]byte, cardio.Stats, error) {
	k, err := c.Connect(ctx, reader)
	if err != nil {
		return nil, cardio.Stats{}, err
	}
	defer k.Close()
	s := &cardio.Session{T: k, Extended: extended}
	if err := s.Select(ctx); err != nil {
		return nil, s.Stats, err
	}
	cert, err := s.AuthCertificate(ctx)
	return cert, s.Stats, err
}

func TestReadThroughPCSCD(t *testing.T) {
	pcsctest.Start(t, 1)
	c := &pcsc.Client{}
	defer c.Close()
	ctx := context.Background()
	rs, err := c.Readers(ctx)
	if err != nil || len(rs) != 2 {
		t.Fatalf("Readers = %+v, %v", rs, err)
	}
	if rs[0].Present || rs[1].Present {
		t.Fatalf("cards present before insertion: %+v", rs)
	}
	card, cert := cardiotest.NewCard(t, vcard.Faults{})
	insert(t, card, pcsctest.Addr(0, 0))
	waitPresent(t, c, rs[0].Name, true)
	rs, _ = c.Readers(ctx)
	if !bytes.Equal(rs[0].ATR, vcard.ATR) {
		t.Errorf("ATR %X", rs[0].ATR)
	}
	for _, ext := range []bool{false, true} {
		got, st, err := readCert(ctx, c, rs[0].Name, ext)
		if err != nil || !bytes.Equal(got, cert) {
			t.Fatalf("extended=%v: read %d bytes, %v", ext, len(got), err)
		}
		t.Logf("extended=%v: %d APDUs, %d bytes", ext, st.APDUs, st.Bytes)
	}
}

// TestSuiteThroughPCSCD runs the shared transport suite through a private
// pcscd with the vpcd virtual reader.
func TestSuiteThroughPCSCD(t *testing.T) {
	pcsctest.Start(t, 1)
	c := &pcsc.Client{Retry: 50 * time.Millisecond}
	defer c.Close()
	rs, err := c.Readers(context.Background())
	if err != nil || len(rs) == 0 {
		t.Fatalf("Readers = %+v, %v", rs, err)
	}
	reader := rs[0].Name
	var pull func()
	cardiotest.Run(t, cardiotest.Slot{
		Readers: c, Reader: reader,
		Insert: func(t *testing.T, card *vcard.Card) {
			pull = insert(t, card, pcsctest.Addr(0, 0))
			waitPresent(t, c, reader, true)
		},
		Remove: func(t *testing.T) {
			pull()
			waitPresent(t, c, reader, false)
		},
	})
}

func TestWatch(t *testing.T) {
	d := pcsctest.Start(t, 1)
	c := &pcsc.Client{Retry: 50 * time.Millisecond}
	defer c.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events := make(chan pcsc.Event, 64)
	done := make(chan error, 1)
	go func() { done <- c.Watch(ctx, func(e pcsc.Event) { events <- e }) }()
	expect := func(kind pcsc.EventKind, reader string) pcsc.Event {
		t.Helper()
		timeout := time.After(10 * time.Second)
		for {
			select {
			case e := <-events:
				t.Logf("event: %v %q", e.Kind, e.Reader)
				if e.Kind == kind && (reader == "" || e.Reader == reader) {
					return e
				}
			case <-timeout:
				t.Fatalf("no %v event for %q\npcscd log:\n%s", kind, reader, d.Log())
			}
		}
	}
	r0 := expect(pcsc.ReaderAdded, "").Reader
	card, _ := cardiotest.NewCard(t, vcard.Faults{})
	remove := insert(t, card, pcsctest.Addr(0, 0))
	if e := expect(pcsc.CardInserted, r0); !bytes.Equal(e.ATR, vcard.ATR) {
		t.Errorf("ATR %X", e.ATR)
	}
	remove()
	expect(pcsc.CardRemoved, r0)

	// pcscd restarted while Watch waits, now with two more readers: the loss
	// is reported, the readers come back with the new ones, and cards are
	// seen again.
	d.AddEntry()
	d.Restart()
	expect(pcsc.ServiceLost, "")
	seen := map[string]bool{}
	for len(seen) < 4 {
		seen[expect(pcsc.ReaderAdded, "").Reader] = true
	}
	if !seen[r0] {
		t.Fatalf("readers after restart: %v", seen)
	}
	insert(t, card, pcsctest.Addr(1, 0))
	if e := expect(pcsc.CardInserted, ""); e.Reader == r0 {
		t.Errorf("card in the new reader reported in %q", e.Reader)
	}

	// Cancellation ends the blocking wait promptly.
	start := time.Now()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Watch returned %v", err)
		}
		if time.Since(start) > 2*time.Second {
			t.Errorf("Watch took %v to stop", time.Since(start))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Watch did not stop after cancel")
	}
}

func TestServiceNotUpYet(t *testing.T) {
	d := pcsctest.Start(t, 1)
	d.Stop()
	c := &pcsc.Client{Retry: 50 * time.Millisecond}
	defer c.Close()
	// Without the service, a bounded call gives up with ErrReaderGone.
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if _, err := c.Readers(ctx); !errors.Is(err, cardio.ErrReaderGone) {
		t.Fatalf("Readers without pcscd = %v", err)
	}
	// A call waiting while the service comes up succeeds.
	restarted := make(chan struct{})
	go func() { time.Sleep(300 * time.Millisecond); d.Restart(); close(restarted) }()
	defer func() { <-restarted }()
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	rs, err := c.Readers(ctx)
	if err != nil || len(rs) != 2 {
		t.Fatalf("Readers once pcscd is up = %+v, %v", rs, err)
	}
}
