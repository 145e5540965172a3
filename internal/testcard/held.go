package testcard

import (
	"context"
	"sync"

	"github.com/mykey-jp/mykey/cardio/vcard"
	"github.com/mykey-jp/mykey/internal/testpki"
)

// Held is a fixture card (testpki's certificate and key for name, issued
// by ca-2023, PIN 1234, with the genuine-card applets of variant) that a
// test holds on a vpcd reader and takes off again.
type Held struct {
	*vcard.Card
	mu     sync.Mutex
	cancel func()
	done   chan struct{}
}

// NewHeld makes the fixture card name; variant "" is Genuine.
func NewHeld(name string, f vcard.Faults, variant string) (*Held, error) {
	der, key, err := testpki.Load(name)
	if err != nil {
		return nil, err
	}
	ca, _, _ := testpki.Load("ca-2023")
	cfg := vcard.Config{AuthCert: der, AuthCA: ca, Key: key, PIN: "1234", Faults: f}
	if variant == "" {
		variant = Genuine
	}
	if err := Apply(&cfg, name, variant); err != nil {
		return nil, err
	}
	c, err := vcard.New(cfg, nil)
	if err != nil {
		return nil, err
	}
	return &Held{Card: c}, nil
}

// Insert holds the card on the vpcd reader at addr (host:port).
func (c *Held) Insert(addr string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ctx, cancel := context.WithCancel(context.Background())
	c.cancel, c.done = cancel, make(chan struct{})
	go func(done chan struct{}) { defer close(done); c.Serve(ctx, addr) }(c.done)
}

// Remove takes the card off its reader; it may be called again.
func (c *Held) Remove() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cancel != nil {
		c.cancel()
		<-c.done
		c.cancel = nil
	}
}
