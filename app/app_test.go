package app_test

import (
	"errors"
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
