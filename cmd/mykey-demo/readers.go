package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/cardio/pcsc"
	"github.com/mykey-jp/mykey/cardio/vcard"
)

// reader is where the demo holds its virtual cards.
type reader interface {
	name() string
	readers() cardio.Readers
	// insert puts card on the reader; remove takes it off and waits until
	// the readers see it gone, so that the next insertion is a new event.
	insert(ctx context.Context, card *vcard.Card) (remove func(), err error)
}

// builtin is the in-process virtual reader.
type builtin struct{ r *vcard.Readers }

const builtinName = "mykey built-in virtual reader 0"

func newBuiltin() builtin { return builtin{vcard.NewReaders(builtinName)} }

func (b builtin) name() string            { return builtinName }
func (b builtin) readers() cardio.Readers { return b.r }

func (b builtin) insert(_ context.Context, card *vcard.Card) (func(), error) {
	if err := b.r.Insert(builtinName, card); err != nil {
		return nil, err
	}
	return func() { b.r.Remove(builtinName) }, nil
}

// viaPCSCD is pcscd with the vpcd virtual reader.
type viaPCSCD struct {
	client *pcsc.Client
	reader string
	stop   func()
}

func (p *viaPCSCD) name() string            { return p.reader }
func (p *viaPCSCD) readers() cardio.Readers { return p.client }

func (p *viaPCSCD) insert(ctx context.Context, card *vcard.Card) (func(), error) {
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); card.Serve(cctx, vcard.DefaultVPCD) }()
	return func() {
		cancel()
		<-done
		p.waitGone(ctx)
	}, nil
}

// waitGone waits until pcscd sees the reader empty (it polls every 400 ms).
func (p *viaPCSCD) waitGone(ctx context.Context) {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		rs, err := p.client.Readers(ctx)
		if err != nil {
			return
		}
		for _, r := range rs {
			if r.Name == p.reader && !r.Present {
				return
			}
		}
	}
}

// startPCSCD makes sure pcscd runs with the vpcd virtual reader, starting
// it (as root) when it does not.
func (d *demo) startPCSCD(ctx context.Context) (*viaPCSCD, error) {
	p := &viaPCSCD{client: &pcsc.Client{Retry: 100 * time.Millisecond}}
	p.stop = func() { p.client.Close() }
	err := p.find(ctx, 500*time.Millisecond)
	if err == nil {
		d.info(d.t("pcscd は動いています。", "pcscd is running."))
		return p, nil
	}
	if !errors.Is(err, cardio.ErrReaderGone) {
		return nil, err // pcscd runs without the virtual reader
	}
	if _, err := exec.LookPath("pcscd"); err != nil {
		return nil, errors.New("pcscd is not installed: run sh scripts/setup-debian.sh (apt install pcscd vsmartcard-vpcd)")
	}
	if os.Geteuid() != 0 {
		return nil, errors.New("pcscd is not running, and starting it needs root: run the demo with sudo, or start pcscd")
	}
	cmd := exec.Command("pcscd", "--foreground")
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting pcscd: %w", err)
	}
	p.stop = func() {
		p.client.Close()
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	d.info(d.t("pcscd を起動しました（実演の終わりに止めます）。", "started pcscd (stopped at the end of the demo)."))
	if err := p.find(ctx, 10*time.Second); err != nil {
		p.stop()
		return nil, err
	}
	return p, nil
}

// find looks for the vpcd reader that vcard.DefaultVPCD feeds.
func (p *viaPCSCD) find(ctx context.Context, timeout time.Duration) error {
	cctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	rs, err := p.client.Readers(cctx)
	if err != nil {
		return err
	}
	for _, r := range rs {
		if strings.HasPrefix(r.Name, "Virtual PCD") && strings.HasSuffix(r.Name, "00 00") {
			p.reader = r.Name
			return nil
		}
	}
	return errors.New("pcscd runs but has no vpcd virtual reader: install vsmartcard-vpcd and restart pcscd")
}
