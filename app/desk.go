package app

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/rs/zerolog"
	"gopkg.in/natefinch/lumberjack.v2"

	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/config"
	"github.com/mykey-jp/mykey/desk"
	"github.com/mykey-jp/mykey/genuine"
	"github.com/mykey-jp/mykey/keyboardwedge"
)

// OpenLog opens the service log: structured lines in a rotating file in
// log.dir. close closes it.
func (a *App) OpenLog() (log zerolog.Logger, close func(), err error) {
	c := a.Config.Log
	if err := os.MkdirAll(c.Dir, 0o750); err != nil {
		return zerolog.Nop(), nil, fmt.Errorf("creating the log folder %s: %w", c.Dir, err)
	}
	name := filepath.Join(c.Dir, "mykey.log")
	if fi, err := os.Lstat(name); err == nil && !fi.Mode().IsRegular() { // never written through a link
		return zerolog.Nop(), nil, fmt.Errorf("%s: %w (%s)", name, ErrNotAFile, fi.Mode().Type())
	}
	lj := &lumberjack.Logger{Filename: name, MaxSize: c.MaxSizeMB, MaxBackups: c.MaxBackups}
	level, _ := zerolog.ParseLevel(c.Level)
	zerolog.TimeFieldFormat = time.RFC3339Nano
	return zerolog.New(lj).Level(level).With().Timestamp().Logger(), func() { lj.Close() }, nil
}

// TypesAnywhere reports that the keyboard output has no window allowlist:
// numbers would be typed into any window.
func (a *App) TypesAnywhere() bool {
	w := a.Config.Wedge
	return w.Output == "keyboard" && len(w.AllowExe) == 0 && w.AllowTitle == ""
}

// Desk builds the desk pipeline from the configuration. onStatus (may be
// nil) is called after every tap, after the desk's feedback sound started.
// The caller closes the desk's registry with close.
//
// With a shared registry, the desk reads taps from its copy, kept up to
// date until ctx ends; RegistryLive then reports the copy's state.
func (a *App) Desk(ctx context.Context, log zerolog.Logger, onStatus func(desk.Status)) (d *desk.Desk, close func(), err error) {
	c := a.Config
	pol, err := a.Policy()
	if err != nil {
		return nil, nil, err
	}
	ty, err := a.Typer()
	if err != nil {
		return nil, nil, err
	}
	profiles, err := a.Profiles()
	if err != nil {
		return nil, nil, err
	}
	reg, live, err := a.openDeskStore(ctx, log)
	if err != nil {
		return nil, nil, err
	}
	pseudo, err := a.boundKey(ctx, reg)
	if err != nil {
		reg.Close()
		return nil, nil, err
	}
	a.RegistryLive = live
	chk, err := a.GenuineChecker(pseudo)
	if err != nil {
		reg.Close()
		return nil, nil, err
	}
	if chk.Mode == genuine.ModeOff {
		chk = nil
	}
	sound := func(profile string) bool {
		if p, ok := c.Profiles[profile]; ok {
			return p.Sound && c.Wedge.Output == "keyboard"
		}
		return c.Wedge.Sound && c.Wedge.Output == "keyboard"
	}
	d = &desk.Desk{
		Readers: a.Devices.Readers, Checker: pol, Registry: reg, Pseudo: pseudo, Genuine: chk, Typer: ty, Profiles: profiles,
		Dedup:   &keyboardwedge.Dedup{Lockout: time.Duration(c.Wedge.LockoutSeconds) * time.Second},
		Service: c.Patron.Service, Extended: c.Readers.ExtendedLength, Log: log, Now: a.Devices.Clock,
		Accept: func(r string) bool { return cardio.Matches(r, c.Readers.Include, c.Readers.Exclude) },
		OnStatus: func(st desk.Status) {
			if sound(st.Profile) && st.Outcome != desk.Duplicate {
				go a.Devices.Wedge.Beep(st.Outcome == desk.Typed)
			}
			if onStatus != nil {
				onStatus(st)
			}
		},
	}
	return d, func() { reg.Close() }, nil
}

// RunDesk runs d until ctx ends, watching the readers again a second after
// the watch failed.
func (a *App) RunDesk(ctx context.Context, d *desk.Desk) {
	d.Log.Info().Msg("desk started")
	if a.TypesAnywhere() {
		d.Log.Warn().Msg("no wedge allowlist: typing into any window")
	}
	for ctx.Err() == nil {
		err := d.Run(ctx)
		if ctx.Err() != nil {
			break
		}
		d.Log.Error().Err(err).Msg("watching the readers failed; retrying")
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	d.Log.Info().Msg("stopping")
}

// TypeTest types text through the configured typer, as a tap would.
func (a *App) TypeTest(ctx context.Context, text string) (keyboardwedge.Result, error) {
	t, err := a.Typer()
	if err != nil {
		return keyboardwedge.Result{}, err
	}
	return t.Type(ctx, text)
}

// Focused returns the window that has keyboard focus.
func (a *App) Focused(ctx context.Context) (keyboardwedge.Window, error) {
	return a.Devices.Wedge.Focused(ctx)
}

// Profiles builds the desk's reader profiles from the configuration, in
// the order they are matched.
func (a *App) Profiles() ([]desk.Profile, error) {
	c := a.Config
	var out []desk.Profile
	for _, name := range slices.Sorted(maps.Keys(c.Profiles)) {
		p := c.Profiles[name]
		dp := desk.Profile{Name: name, Match: func(r string) bool { n, _, ok := c.ProfileFor(r); return ok && n == name }}
		if p.Action == config.ActionType {
			t, err := a.typer(p.Template, p.AllowExe, p.AllowTitle)
			if err != nil {
				return nil, fmt.Errorf("profiles.%s: %w", name, err)
			}
			dp.Typer = t
		}
		out = append(out, dp)
	}
	return out, nil
}

// Tap is the outside form of a tap's status (one JSON line per tap).
type Tap struct {
	At        string  `json:"at"`
	Reader    string  `json:"reader"`
	Profile   string  `json:"profile"`
	Outcome   string  `json:"outcome"`
	Message   string  `json:"message"`
	Check     string  `json:"check"`
	Method    string  `json:"method"`
	MyKeyID   string  `json:"mykey_id"`
	Keys      int     `json:"keys"`
	ReadMS    float64 `json:"read_ms"`
	CheckMS   float64 `json:"check_ms"`
	LookupMS  float64 `json:"lookup_ms"`
	GenuineMS float64 `json:"genuine_ms"`
	TypeMS    float64 `json:"type_ms"`
}

// StatusView returns st's outside form with message, its words for staff.
func StatusView(st desk.Status, message string) Tap {
	ms := Millis
	return Tap{At: st.At.Format(time.RFC3339Nano), Reader: st.Reader, Profile: st.Profile, Outcome: string(st.Outcome), Message: message,
		Check: string(st.Decision.Reason), Method: st.Decision.Method, MyKeyID: string(st.MyKeyID), Keys: st.Typed,
		ReadMS: ms(st.Timing.Read), CheckMS: ms(st.Timing.Check), LookupMS: ms(st.Timing.Lookup), GenuineMS: ms(st.Timing.Genuine), TypeMS: ms(st.Timing.Type)}
}

// Millis is d in milliseconds, to the microsecond, for JSON.
func Millis(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
