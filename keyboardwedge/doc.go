// Package keyboardwedge types patron numbers into the focused program, as a
// USB barcode scanner would, but only where they belong.
//
// A Typer expands the configured output template ("{patron}{enter}"),
// normalises the number (NFKC; only digits, ASCII letters and '-' reach the
// keyboard), checks before every key that the focused window is allowed and
// has not changed, closes a Japanese IME while typing (Windows), and sends
// the keys through an Injector. Dedup suppresses double input of a card left
// on the reader.
//
// The OS sits behind small interfaces (Injector, FocusReader, IME); the X11
// implementation is in keyboardwedge/x11, the Windows one in
// keyboardwedge/win, and TextSink writes to a stream for headless use.
package keyboardwedge
