package cardio

import (
	"context"
	"crypto/x509"
	"fmt"
	"strings"
)

// EventKind says what changed at the readers.
type EventKind int

// The kinds of Event.
const (
	ReaderAdded EventKind = iota + 1
	ReaderRemoved
	CardInserted
	CardRemoved
	ServiceLost // the smart-card service went away; Watch reconnects
)

func (k EventKind) String() string {
	if k < ReaderAdded || k > ServiceLost {
		return fmt.Sprintf("event(%d)", int(k))
	}
	return [...]string{"", "reader added", "reader removed", "card inserted", "card removed", "service lost"}[k]
}

// Event is one change at the readers.
type Event struct {
	Kind   EventKind
	Reader string
	ATR    []byte // for CardInserted, when known
}

// Reader is a card reader and what it holds.
type Reader struct {
	Name    string
	Present bool   // a card is in the field or the slot
	ATR     []byte // the card's ATR when present
}

// Card is a connection to the card in one reader. Close it when done.
type Card interface {
	Transport
	Close() error
}

// Readers is the card-reader side of the desk: PC/SC in production
// (cardio/pcsc.Client), an in-process virtual card in tests and the demo
// (cardio/vcard.Readers). Methods return (wrapped) ErrReaderGone when the
// smart-card service is unreachable, and ctx.Err() when ctx ends first.
type Readers interface {
	// Readers lists the readers and whether each holds a card.
	Readers(ctx context.Context) ([]Reader, error)
	// Watch reports changes to fn until ctx ends, starting with every
	// reader present (ReaderAdded) and every card already inserted
	// (CardInserted), and surviving service restarts (ServiceLost).
	Watch(ctx context.Context, fn func(Event)) error
	// Connect connects to the card in reader.
	Connect(ctx context.Context, reader string) (Card, error)
}

// Leaf reads the user-identification certificate from a session whose
// applet is selected and parses it. A certificate that does not parse is
// ErrBadCertificate. It returns the DER too, for fingerprints.
func (s *Session) Leaf(ctx context.Context) (*x509.Certificate, []byte, error) {
	der, err := s.AuthCertificate(ctx)
	if err != nil {
		return nil, nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("%w: %v", ErrBadCertificate, err)
	}
	return leaf, der, nil
}

// Open connects to the card in reader and selects the JPKI applet. The
// caller closes the returned card.
func Open(ctx context.Context, rs Readers, reader string, extended bool) (*Session, Card, error) {
	k, err := rs.Connect(ctx, reader)
	if err != nil {
		return nil, nil, err
	}
	s := &Session{T: k, Extended: extended}
	if err := s.Select(ctx); err != nil {
		k.Close()
		return nil, nil, err
	}
	return s, k, nil
}

// Matches reports whether reader passes include/exclude filters (substrings;
// an empty include admits every reader).
func Matches(reader string, include, exclude []string) bool {
	for _, x := range exclude {
		if strings.Contains(reader, x) {
			return false
		}
	}
	if len(include) == 0 {
		return true
	}
	for _, x := range include {
		if strings.Contains(reader, x) {
			return true
		}
	}
	return false
}
