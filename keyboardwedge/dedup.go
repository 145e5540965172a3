package keyboardwedge

import (
	"sync"
	"time"
)

// Dedup suppresses double input: a card read again on the same reader is
// typed again only after it was removed, or once Lockout has passed since
// it was typed (Lockout 0: only after removal).
type Dedup struct {
	Lockout time.Duration

	mu   sync.Mutex
	last map[string]typed // reader → what it last typed
}

type typed struct {
	card string
	at   time.Time
}

// Allow reports whether card (any stable identifier, e.g. its pseudonym)
// read on reader at now should be typed, and records it if so.
func (d *Dedup) Allow(reader, card string, now time.Time) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.last == nil {
		d.last = map[string]typed{}
	}
	if l, ok := d.last[reader]; ok && l.card == card {
		if d.Lockout == 0 || now.Sub(l.at) < d.Lockout {
			return false
		}
	}
	d.last[reader] = typed{card, now}
	return true
}

// Removed records that the card left reader.
func (d *Dedup) Removed(reader string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	delete(d.last, reader)
}
