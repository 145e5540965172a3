package keyboardwedge

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"golang.org/x/text/unicode/norm"
)

// Injector sends keystrokes to whatever has keyboard focus.
type Injector interface {
	// TypeChar types one character as a character event, whatever the
	// keyboard layout and CapsLock.
	TypeChar(ctx context.Context, r rune) error
	// Press presses and releases a real key.
	Press(ctx context.Context, k Key) error
}

// Window is the window with keyboard focus.
type Window struct {
	ID    uint64
	PID   int
	Exe   string // executable file name, e.g. "ils.exe" or "xterm"
	Title string
}

func (w Window) String() string {
	return fmt.Sprintf("%q (%s, pid %d, window %#x)", w.Title, w.Exe, w.PID, w.ID)
}

// FocusReader tells which window has keyboard focus. It returns ErrNoFocus
// when none has, and ErrNoDisplay when there is no desktop at all.
type FocusReader interface {
	Focused(ctx context.Context) (Window, error)
}

// IME opens and closes the input method of a window (Windows' Japanese IME).
type IME interface {
	IsOpen(w Window) (bool, error)
	SetOpen(w Window, open bool) error
}

// Errors.
var (
	ErrNoDisplay = errors.New("no display: no desktop session to type into")
	ErrNoFocus   = errors.New("no window has keyboard focus")
	ErrBadText   = errors.New("text cannot be typed")
)

// RefusedError means the focused window is not on the allowlist; nothing
// was typed.
type RefusedError struct {
	Window Window
	Why    string
}

func (e *RefusedError) Error() string {
	return fmt.Sprintf("not typing into %v: %s", e.Window, e.Why)
}

// InterruptedError means the focus changed while typing: Typed was sent to
// the first window, the rest was not.
type InterruptedError struct {
	Typed string
	From  Window
	To    Window
}

func (e *InterruptedError) Error() string {
	return fmt.Sprintf("focus moved from %v to %v after %q; typing stopped", e.From, e.To, e.Typed)
}

// Guard is the allowlist of windows that may receive input. Empty fields
// admit any window; when both are set, both must match.
type Guard struct {
	Exes  []string       // executable names, compared without case
	Title *regexp.Regexp // window title pattern
}

// Allows reports whether w may receive input and, if not, why.
func (g Guard) Allows(w Window) (bool, string) {
	if len(g.Exes) > 0 && !slices.ContainsFunc(g.Exes, func(e string) bool {
		return strings.EqualFold(e, filepath.Base(w.Exe))
	}) {
		return false, fmt.Sprintf("program %q is not in wedge.allow_exe", w.Exe)
	}
	if g.Title != nil && !g.Title.MatchString(w.Title) {
		return false, fmt.Sprintf("title %q does not match wedge.allow_title", w.Title)
	}
	return true, ""
}

// Typer types patron numbers.
type Typer struct {
	Injector Injector
	Focus    FocusReader // nil: no focus guard (the stdout sink)
	IME      IME         // nil where there is none to manage
	Guard    Guard
	Template *Template
	Format   Format        // applied to the patron number before the template
	KeyDelay time.Duration // pause after each key
}

// Result says what was typed where.
type Result struct {
	Typed  string // rendered steps, keys as {enter}
	Keys   int
	Window Window
	Took   time.Duration
}

// Normalize applies NFKC and checks that only digits, ASCII letters and '-'
// remain; anything else is refused with the offending character.
func Normalize(s string) (string, error) {
	n := strings.TrimSpace(norm.NFKC.String(s))
	if n == "" {
		return "", fmt.Errorf("%w: empty", ErrBadText)
	}
	for i, r := range n {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r == '-') {
			return "", fmt.Errorf("%w: character %q at byte %d (only digits, ASCII letters and '-')", ErrBadText, r, i)
		}
	}
	return n, nil
}

// Type normalises patron and types it through the template into the
// focused window, if the guard allows that window. Before every key it
// checks that the focus has not moved; at the first change it stops and
// returns an *InterruptedError saying what was typed.
func (t *Typer) Type(ctx context.Context, patron string) (Result, error) {
	start := time.Now()
	n, err := Normalize(patron)
	if err == nil {
		n, err = t.Format.Apply(n)
	}
	if err != nil {
		return Result{}, err
	}
	steps := t.Template.Expand(n)
	var win Window
	if t.Focus != nil {
		if win, err = t.Focus.Focused(ctx); err != nil {
			return Result{}, err
		}
		if ok, why := t.Guard.Allows(win); !ok {
			return Result{Window: win}, &RefusedError{Window: win, Why: why}
		}
	}
	if t.IME != nil {
		if open, err := t.IME.IsOpen(win); err == nil && open {
			if err := t.IME.SetOpen(win, false); err == nil {
				defer t.IME.SetOpen(win, true)
			}
		}
	}
	res := Result{Window: win}
	for i, s := range steps {
		if err := ctx.Err(); err != nil {
			return res, err
		}
		if t.Focus != nil && i > 0 {
			now, err := t.Focus.Focused(ctx)
			if err != nil || now.ID != win.ID {
				return res, &InterruptedError{Typed: Render(steps[:i]), From: win, To: now}
			}
		}
		if s.Key != 0 {
			err = t.Injector.Press(ctx, s.Key)
		} else {
			err = t.Injector.TypeChar(ctx, s.Char)
		}
		if err != nil {
			return res, fmt.Errorf("typing key %d of %d: %w", i+1, len(steps), err) // not the key: it is part of a patron number
		}
		res.Keys++
		res.Typed = Render(steps[:i+1])
		if t.KeyDelay > 0 {
			time.Sleep(t.KeyDelay)
		}
	}
	res.Took = time.Since(start)
	return res, nil
}
