package keyboardwedge

import (
	"context"
	"fmt"
	"io"
	"sync"
)

// TextSink is an Injector that writes what would be typed to a stream:
// characters as they are, Enter as a new line, Tab as a tab. For headless
// desks and demos (wedge.output = "stdout").
type TextSink struct {
	mu sync.Mutex
	W  io.Writer
}

// TypeChar implements Injector.
func (s *TextSink) TypeChar(_ context.Context, r rune) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := fmt.Fprintf(s.W, "%c", r)
	return err
}

// Press implements Injector.
func (s *TextSink) Press(_ context.Context, k Key) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, err := io.WriteString(s.W, pressed(k))
	return err
}

// pressed is what a key puts in a text: a new line, a tab; a function key
// is shown as {f2}.
func pressed(k Key) string {
	switch k {
	case KeyEnter:
		return "\n"
	case KeyTab:
		return "\t"
	}
	return k.String()
}
