// Package pcsc connects cardio to real card readers through PC/SC (pcscd on
// Linux, the Smart Card service on Windows) with github.com/ebfe/scard. It is
// the only package that imports scard.
//
// A Client establishes its PC/SC context lazily and again after the service
// restarts, retrying while the service is not up yet. Every blocking call
// takes a context; ending it cancels the wait.
package pcsc

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/ebfe/scard"

	"github.com/mykey-jp/mykey/cardio"
)

// pnpReader is the pseudo reader whose state changes when readers come and go.
const pnpReader = `\\?PnP?\Notification`

// Client is a PC/SC client. It is safe for concurrent use.
type Client struct {
	// Retry is the pause between attempts to reach the PC/SC service.
	Retry time.Duration

	mu  sync.Mutex
	ctx *scard.Context
}

// Reader is a card reader and what it holds (cardio's vocabulary).
type Reader = cardio.Reader

// Client satisfies the desk's reader interface directly.
var _ cardio.Readers = (*Client)(nil)

// context returns the shared PC/SC context for Readers and Connect,
// establishing it when needed.
func (c *Client) context(ctx context.Context) (*scard.Context, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx != nil {
		if ok, _ := c.ctx.IsValid(); ok {
			return c.ctx, nil
		}
		c.ctx.Release()
		c.ctx = nil
	}
	sc, err := c.establish(ctx)
	if err == nil {
		c.ctx = sc
	}
	return sc, err
}

// establish makes a PC/SC context, retrying until ctx ends while the
// service is down.
func (c *Client) establish(ctx context.Context) (*scard.Context, error) {
	retry := c.Retry
	if retry <= 0 {
		retry = 500 * time.Millisecond
	}
	for {
		sc, err := scard.EstablishContext()
		if err == nil {
			return sc, nil
		}
		if !serviceDown(err) {
			return nil, fmt.Errorf("establishing the PC/SC context: %w", err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("%w: PC/SC service not reachable: %v (%w)", cardio.ErrReaderGone, err, ctx.Err())
		case <-time.After(retry):
		}
	}
}

// drop forgets the PC/SC context after the service went away.
func (c *Client) drop(sc *scard.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == sc && c.ctx != nil {
		c.ctx.Release()
		c.ctx = nil
	}
}

// dropShared forgets the shared context, whatever it is.
func (c *Client) dropShared() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx != nil {
		c.ctx.Release()
		c.ctx = nil
	}
}

// Close releases the PC/SC context.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx == nil {
		return nil
	}
	err := c.ctx.Release()
	c.ctx = nil
	return err
}

func serviceDown(err error) bool {
	return errors.Is(err, scard.ErrNoService) || errors.Is(err, scard.ErrServiceStopped) ||
		errors.Is(err, scard.ErrInvalidHandle) || errors.Is(err, scard.ErrCommError)
}

// serviceLost reports whether err, from a call on an established context
// or card connection, means pcscd went away. libpcsclite reports a
// connection reset (pcscd ended with our request unread, which a busy
// machine makes likely) as SCARD_W_SECURITY_VIOLATION, the code it also
// gives for a polkit refusal; those come only when establishing a context
// or connecting to a card, where this is not used as is.
func serviceLost(err error) bool {
	return serviceDown(err) || errors.Is(err, scard.ErrSecurityViolation)
}

// mapLost is mapErr for the calls where serviceLost applies.
func mapLost(err error) error {
	if errors.Is(err, scard.ErrSecurityViolation) {
		return fmt.Errorf("%w: connection to the PC/SC service reset: %v", cardio.ErrReaderGone, err)
	}
	return mapErr(err)
}

// mapErr turns PC/SC errors into cardio's sentinels, keeping the original.
func mapErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, scard.ErrRemovedCard), errors.Is(err, scard.ErrNoSmartcard),
		errors.Is(err, scard.ErrResetCard), errors.Is(err, scard.ErrUnpoweredCard),
		errors.Is(err, scard.ErrUnresponsiveCard), errors.Is(err, scard.ErrCommDataLost),
		errors.Is(err, scard.ErrNotTransacted):
		return fmt.Errorf("%w: %v", cardio.ErrCardRemoved, err)
	case serviceDown(err), errors.Is(err, scard.ErrReaderUnavailable), errors.Is(err, scard.ErrUnknownReader),
		errors.Is(err, scard.ErrNoReadersAvailable):
		return fmt.Errorf("%w: %v", cardio.ErrReaderGone, err)
	}
	return err
}

// Readers lists the readers and whether each holds a card.
func (c *Client) Readers(ctx context.Context) ([]Reader, error) {
	sc, err := c.context(ctx)
	if err != nil {
		return nil, err
	}
	names, err := sc.ListReaders()
	if errors.Is(err, scard.ErrNoReadersAvailable) {
		return nil, nil
	}
	if err != nil {
		if serviceLost(err) {
			c.drop(sc)
		}
		return nil, mapLost(err)
	}
	states := make([]scard.ReaderState, len(names))
	for i, n := range names {
		states[i] = scard.ReaderState{Reader: n, CurrentState: scard.StateUnaware}
	}
	if err := sc.GetStatusChange(states, 0); err != nil && !errors.Is(err, scard.ErrTimeout) {
		if serviceLost(err) {
			c.drop(sc)
		}
		return nil, mapLost(err)
	}
	out := make([]Reader, len(names))
	for i, s := range states {
		out[i] = Reader{Name: s.Reader, Present: s.EventState&scard.StatePresent != 0 && s.EventState&scard.StateMute == 0}
		if out[i].Present {
			out[i].ATR = slices.Clone(s.Atr)
		}
	}
	return out, nil
}

// Card is a connection to the card in one reader. It implements
// cardio.Transport. Close it when done.
type Card struct {
	Reader string
	mu     sync.Mutex
	card   *scard.Card
	busy   sync.WaitGroup
}

// Connect connects to the card in reader (shared mode, T=0 or T=1). The
// card is a *Card.
func (c *Client) Connect(ctx context.Context, reader string) (cardio.Card, error) {
	sc, err := c.context(ctx)
	if err != nil {
		return nil, err
	}
	card, err := sc.Connect(reader, scard.ShareShared, scard.ProtocolAny)
	lost := serviceDown(err)
	if errors.Is(err, scard.ErrSecurityViolation) {
		// Refused by polkit, or pcscd went away: only then does the
		// context stop working.
		_, lerr := sc.ListReaders()
		lost = serviceLost(lerr)
	}
	if err != nil {
		mapped := mapErr(err)
		if lost {
			c.drop(sc)
			mapped = mapLost(err)
		}
		return nil, fmt.Errorf("connecting to %q: %w", reader, mapped)
	}
	return &Card{Reader: reader, card: card}, nil
}

// Transmit implements cardio.Transport. PC/SC cannot abort a transmission
// in flight, so when ctx ends first Transmit returns ctx.Err() at once and
// the transmission finishes in the background; Close waits for it.
func (k *Card) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	type result struct {
		resp []byte
		err  error
	}
	done := make(chan result, 1)
	k.busy.Add(1)
	go func() {
		defer k.busy.Done()
		k.mu.Lock()
		defer k.mu.Unlock()
		if k.card == nil {
			done <- result{nil, cardio.ErrCardRemoved}
			return
		}
		resp, err := k.card.Transmit(apdu)
		done <- result{resp, mapLost(err)}
	}()
	select {
	case r := <-done:
		return r.resp, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Close disconnects, leaving the card powered (pcscd powers it off later).
func (k *Card) Close() error {
	k.busy.Wait()
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.card == nil {
		return nil
	}
	err := k.card.Disconnect(scard.LeaveCard)
	k.card = nil
	if errors.Is(err, scard.ErrRemovedCard) || errors.Is(err, scard.ErrInvalidHandle) {
		err = nil
	}
	return mapErr(err)
}

// EventKind and Event are cardio's.
type (
	EventKind = cardio.EventKind
	Event     = cardio.Event
)

// The kinds of Event.
const (
	ReaderAdded   = cardio.ReaderAdded
	ReaderRemoved = cardio.ReaderRemoved
	CardInserted  = cardio.CardInserted
	CardRemoved   = cardio.CardRemoved
	ServiceLost   = cardio.ServiceLost
)

// livenessCheck bounds each wait of Watch. SCardCancel is lost when it
// comes between two waits, so this also bounds how long Watch takes to
// stop.
const livenessCheck = 250 * time.Millisecond

// Watch reports changes of readers and cards to fn until ctx ends. It starts
// by reporting every reader present (ReaderAdded) and every card already
// inserted (CardInserted). When the PC/SC service goes away it reports
// ServiceLost and the removal of every reader, waits for the service, and
// goes on. It returns ctx.Err() when ctx ends.
func (c *Client) Watch(ctx context.Context, fn func(Event)) error {
	known := map[string]bool{} // reader → card present
	for {
		err := c.watch(ctx, known, fn)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if !errors.Is(err, cardio.ErrReaderGone) {
			return err
		}
		fn(Event{Kind: ServiceLost})
		for _, r := range sortedKeys(known) {
			if known[r] {
				fn(Event{Kind: CardRemoved, Reader: r})
			}
			fn(Event{Kind: ReaderRemoved, Reader: r})
			delete(known, r)
		}
	}
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// watch runs one PC/SC context's worth of Watch. It has a context of its
// own: pcsc-lite serialises the calls on one context, so a waiting
// GetStatusChange would hold up Connect and Transmit on a shared one.
func (c *Client) watch(ctx context.Context, known map[string]bool, fn func(Event)) error {
	sc, err := c.establish(ctx)
	if err != nil {
		return err
	}
	defer sc.Release()
	// Cancel the blocking GetStatusChange when ctx ends.
	stop := context.AfterFunc(ctx, func() { sc.Cancel() })
	defer stop()
	fail := func(err error) error {
		if serviceLost(err) {
			c.dropShared() // the shared context is gone too
		}
		return mapLost(err)
	}
	for {
		names, err := sc.ListReaders()
		if err != nil && !errors.Is(err, scard.ErrNoReadersAvailable) {
			return fail(err)
		}
		present := map[string]bool{}
		for _, n := range names {
			present[n] = true
		}
		for _, r := range sortedKeys(known) {
			if !present[r] {
				if known[r] {
					fn(Event{Kind: CardRemoved, Reader: r})
				}
				fn(Event{Kind: ReaderRemoved, Reader: r})
				delete(known, r)
			}
		}
		states := []scard.ReaderState{{Reader: pnpReader, CurrentState: scard.StateUnaware}}
		for _, n := range names {
			cur := scard.StateUnaware
			if _, ok := known[n]; !ok {
				known[n] = false
				fn(Event{Kind: ReaderAdded, Reader: n})
			}
			states = append(states, scard.ReaderState{Reader: n, CurrentState: cur})
		}
		// Learn the current state of every reader, then wait for changes.
		if err := sc.GetStatusChange(states, 0); err != nil && !errors.Is(err, scard.ErrTimeout) {
			return fail(err)
		}
		for {
			for i := range states {
				s := &states[i]
				if s.Reader != pnpReader {
					has := s.EventState&scard.StatePresent != 0 && s.EventState&scard.StateMute == 0
					if has != known[s.Reader] {
						known[s.Reader] = has
						if has {
							fn(Event{Kind: CardInserted, Reader: s.Reader, ATR: slices.Clone(s.Atr)})
						} else {
							fn(Event{Kind: CardRemoved, Reader: s.Reader})
						}
					}
				}
				s.CurrentState = s.EventState &^ scard.StateChanged
			}
			// Wait in bounded steps: a blocked wait does not always notice
			// that pcscd went away, so each timeout checks the reader list.
			if ctx.Err() != nil {
				return ctx.Err()
			}
			err := sc.GetStatusChange(states, livenessCheck)
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if errors.Is(err, scard.ErrTimeout) {
				now, err := sc.ListReaders()
				if err != nil && !errors.Is(err, scard.ErrNoReadersAvailable) {
					return fail(err)
				}
				if !slices.Equal(now, names) {
					break
				}
				continue
			}
			if err != nil && !errors.Is(err, scard.ErrUnknownReader) {
				return fail(err)
			}
			// A reader came or went: list them again.
			if err != nil || states[0].EventState&scard.StateChanged != 0 || readerGone(states) {
				break
			}
		}
	}
}

func readerGone(states []scard.ReaderState) bool {
	for _, s := range states[1:] {
		if s.EventState&(scard.StateUnknown|scard.StateUnavailable) != 0 {
			return true
		}
	}
	return false
}
