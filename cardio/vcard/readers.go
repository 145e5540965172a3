package vcard

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/mykey-jp/mykey/cardio"
)

// Readers is a set of in-process virtual card readers: cardio.Readers
// without pcscd, for tests, benchmarks and the demo. Cards are put on and
// taken off with Insert and Remove; a connection to a card that was taken
// off answers cardio.ErrCardRemoved. It is safe for concurrent use.
type Readers struct {
	mu    sync.Mutex
	names []string
	slots map[string]*slot
	subs  map[*sub]struct{}
	down  bool
}

type slot struct {
	card *Card
	gen  int // counts insertions, so a connection knows its card left
}

var _ cardio.Readers = (*Readers)(nil)

// NewReaders returns empty virtual readers with these names.
func NewReaders(names ...string) *Readers {
	r := &Readers{names: slices.Clone(names), slots: map[string]*slot{}, subs: map[*sub]struct{}{}}
	for _, n := range names {
		r.slots[n] = &slot{}
	}
	return r
}

// sub is one Watch's queue of events: unbounded, so that publishing never
// waits for a watcher (which may be connecting to a card).
type sub struct {
	q    []cardio.Event // guarded by Readers.mu
	wake chan struct{}
}

// publish queues e for every watcher; r.mu is held.
func (r *Readers) publish(e cardio.Event) {
	for s := range r.subs {
		s.q = append(s.q, e)
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// Insert puts c on reader, in a freshly reset state, replacing any card
// there.
func (r *Readers) Insert(reader string, c *Card) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.slots[reader]
	if !ok {
		return fmt.Errorf("%w: no virtual reader %q", cardio.ErrReaderGone, reader)
	}
	if s.card != nil {
		r.publish(cardio.Event{Kind: cardio.CardRemoved, Reader: reader})
	}
	c.Insert()
	s.card, s.gen = c, s.gen+1
	r.publish(cardio.Event{Kind: cardio.CardInserted, Reader: reader})
	return nil
}

// Remove takes the card off reader, if there is one.
func (r *Readers) Remove(reader string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if s, ok := r.slots[reader]; ok && s.card != nil {
		s.card, s.gen = nil, s.gen+1
		r.publish(cardio.Event{Kind: cardio.CardRemoved, Reader: reader})
	}
}

// SetServiceDown makes every call fail with cardio.ErrReaderGone, as when
// the smart-card service stops, or lets them work again.
func (r *Readers) SetServiceDown(down bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = down
}

// Readers implements cardio.Readers.
func (r *Readers) Readers(ctx context.Context) ([]cardio.Reader, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.down {
		return nil, fmt.Errorf("%w: virtual service down", cardio.ErrReaderGone)
	}
	out := make([]cardio.Reader, len(r.names))
	for i, n := range r.names {
		out[i] = cardio.Reader{Name: n, Present: r.slots[n].card != nil}
	}
	return out, ctx.Err()
}

// Watch implements cardio.Readers.
func (r *Readers) Watch(ctx context.Context, fn func(cardio.Event)) error {
	w := &sub{wake: make(chan struct{}, 1)}
	r.mu.Lock()
	for _, n := range r.names {
		w.q = append(w.q, cardio.Event{Kind: cardio.ReaderAdded, Reader: n})
		if r.slots[n].card != nil {
			w.q = append(w.q, cardio.Event{Kind: cardio.CardInserted, Reader: n})
		}
	}
	r.subs[w] = struct{}{}
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.subs, w)
		r.mu.Unlock()
	}()
	for {
		r.mu.Lock()
		q := w.q
		w.q = nil
		r.mu.Unlock()
		for _, e := range q {
			fn(e)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-w.wake:
		}
	}
}

// Connect implements cardio.Readers.
func (r *Readers) Connect(ctx context.Context, reader string) (cardio.Card, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, ok := r.slots[reader]
	switch {
	case r.down || !ok:
		return nil, fmt.Errorf("connecting to %q: %w", reader, cardio.ErrReaderGone)
	case s.card == nil:
		return nil, fmt.Errorf("connecting to %q: %w", reader, cardio.ErrCardRemoved)
	}
	return &conn{r: r, reader: reader, card: s.card, gen: s.gen}, ctx.Err()
}

// conn is a connection to one insertion of a card.
type conn struct {
	r      *Readers
	reader string
	card   *Card
	gen    int
}

func (k *conn) Transmit(ctx context.Context, apdu []byte) ([]byte, error) {
	k.r.mu.Lock()
	s := k.r.slots[k.reader]
	gone, down := s.gen != k.gen, k.r.down
	k.r.mu.Unlock()
	switch {
	case down:
		return nil, cardio.ErrReaderGone
	case gone:
		return nil, cardio.ErrCardRemoved
	}
	return k.card.Transmit(ctx, apdu)
}

func (k *conn) Close() error { return nil }
