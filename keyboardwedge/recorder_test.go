package keyboardwedge_test

import (
	"hash/fnv"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/keyboardwedge"
	"github.com/mykey-jp/mykey/keyboardwedge/wedgetest"
)

// window is a target on the Recorder's desktop.
type window struct {
	rec *keyboardwedge.Recorder
	w   keyboardwedge.Window
}

func (w window) Focus()           { w.rec.SetFocus(w.w) }
func (w window) Received() string { return w.rec.TypedInto(w.w.ID) }
func (w window) Wait(t *testing.T, want string, _ time.Duration) {
	t.Helper()
	if got := w.Received(); got != want {
		t.Fatalf("%q received %q, want %q", w.w.Title, got, want)
	}
}

// TestRecorderSuite runs the shared wedge suite on the in-memory device.
func TestRecorderSuite(t *testing.T) {
	rec := &keyboardwedge.Recorder{}
	wedgetest.Run(t, wedgetest.Env{
		Device: rec, Exe: "ils.exe", Enter: "\n", Tab: "\t", F2: "{f2}", CtrlB: "{ctrl+b}", IME: true,
		TypedWithIME: rec.TypedWithIME,
		NewTarget: func(t *testing.T, title string) wedgetest.Target {
			h := fnv.New64()
			h.Write([]byte(title))
			return window{rec, keyboardwedge.Window{ID: h.Sum64(), PID: 100, Exe: "ILS.EXE", Title: title}}
		},
	})
}
