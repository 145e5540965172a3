package app_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/app"
	"github.com/mykey-jp/mykey/config"
	"github.com/mykey-jp/mykey/keyboardwedge"
)

// TestCheckAnchors checks the trust anchors against the clock: expired
// and not-yet-valid CA certificates are problems at the configuration's
// trust_anchors line, and the policy refuses them.
func TestCheckAnchors(t *testing.T) {
	dir := t.TempDir()
	cfg, err := setup(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		now  time.Time
		want string
	}{
		{time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC), ""},
		{time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), "ca-2019.der: \"OU=JPKI for user authentication+OU=Japan Agency for Local Authority Information Systems,O=JPKI,C=JP\" expired on 2029-04-01"},
		{time.Date(2018, 1, 1, 0, 0, 0, 0, time.UTC), "is not valid before 2019-04-01 (check the PC's clock)"},
	} {
		core := app.New(cfg, app.Devices{Wedge: &keyboardwedge.Recorder{}, Clock: func() time.Time { return tt.now }}, "t")
		probs := core.CheckAnchors()
		var got []string
		for _, p := range probs {
			got = append(got, p.String())
		}
		if tt.want == "" && len(probs) > 0 || tt.want != "" && !strings.Contains(strings.Join(got, "\n"), tt.want) {
			t.Errorf("at %s: %q, want %q", tt.now, got, tt.want)
		}
		if len(probs) > 0 && probs[0].Line != 5 {
			t.Errorf("problem line %d, want trust_anchors' line 5", probs[0].Line)
		}
		var ce *config.Error
		if _, err := core.Policy(); (tt.want != "") != errors.As(err, &ce) {
			t.Errorf("at %s: Policy = %v", tt.now, err)
		}
	}
}

// TestCRLDownloadBounded imports CRLs from loopback servers that send too
// much: one that streams forever and one that declares a huge length. Both
// end with ErrTooLarge, quickly, and the previous index stays.
func TestCRLDownloadBounded(t *testing.T) {
	dir := t.TempDir()
	cfg, err := setup(dir)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Revocation.CRLMaxMB, cfg.Revocation.CRLTimeoutS = 1, 5
	core := app.New(cfg, app.Devices{Wedge: &keyboardwedge.Recorder{}}, "t")
	// A CRL that declares 2 GB and whose revoked list never ends.
	head := []byte{0x30, 0x84, 0x7f, 0xff, 0xff, 0xf0, 0x30, 0x84, 0x7f, 0xff, 0xff, 0x00,
		0x02, 0x01, 0x01, // version
		0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b, 0x05, 0x00} // sha256WithRSA
	utc := append([]byte{0x17, 0x0d}, "260101000000Z"...)
	head = append(append(append(append(head, 0x30, 0x00), utc...), utc...), 0x30, 0x84, 0x7f, 0xff, 0x00, 0x00)
	entry := append([]byte{0x30, 0x15, 0x02, 0x04, 0x11, 0x22, 0x33, 0x44}, utc...)
	chunk := bytes.Repeat(entry, 4096)
	forever := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(head)
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	}))
	defer forever.Close()
	huge := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", "10000000000")
		w.Write(chunk)
	}))
	defer huge.Close()
	for _, url := range []string{forever.URL, huge.URL} {
		start := time.Now()
		_, err := core.ImportCRL(context.Background(), url)
		if !errors.Is(err, app.ErrTooLarge) {
			t.Errorf("%s: %v, want ErrTooLarge", url, err)
		}
		if d := time.Since(start); d > 4*time.Second {
			t.Errorf("%s: refused after %v", url, d)
		}
	}
	if _, err := core.ImportCRL(context.Background(), filepath.Join(dir, "auth.crl")); err != nil {
		t.Fatalf("a good CRL after the refused ones: %v", err)
	}
}
