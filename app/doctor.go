package app

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
	"golang.org/x/crypto/ocsp"

	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/config"
	"github.com/mykey-jp/mykey/internal/atomicfile"
	"github.com/mykey-jp/mykey/internal/fileperm"
	"github.com/mykey-jp/mykey/keyfile"
	"github.com/mykey-jp/mykey/keyid"
	"github.com/mykey-jp/mykey/store"
	"github.com/mykey-jp/mykey/store/postgres"
	"github.com/mykey-jp/mykey/store/sqlite"
)

// Verdict is how one doctor check ended.
type Verdict string

// Verdicts, from good to bad. Skip: the check does not apply, or an
// earlier failure makes it meaningless.
const (
	OK   Verdict = "ok"
	Warn Verdict = "warn"
	Fail Verdict = "fail"
	Skip Verdict = "skip"
)

// The doctor's checks, in the order they run.
const (
	CheckConfig   = "config"
	CheckKeyFile  = "keyfile"
	CheckRegistry = "registry"
	CheckAnchors  = "anchors"
	CheckCRL      = "crl"
	CheckOCSP     = "ocsp"
	CheckReaders  = "readers"
	CheckWedge    = "wedge"
	CheckClock    = "clock"
)

// Finding is the result of one check. Detail is technical (English) and
// never holds personal data: no patron number, no certificate serial, no
// window title. Err, when set, is worded for staff by the front end.
type Finding struct {
	Check   string  `json:"check"`
	Verdict Verdict `json:"verdict"`
	Code    string  `json:"code,omitempty"` // what is wrong, e.g. "anchor-expired"
	Detail  string  `json:"detail"`
	Err     error   `json:"-"`
}

// Report is the doctor's findings, in order.
type Report struct {
	Findings []Finding `json:"findings"`
}

// OK reports whether no check failed.
func (r Report) OK() bool {
	for _, f := range r.Findings {
		if f.Verdict == Fail {
			return false
		}
	}
	return true
}

// Worst returns the worst verdict.
func (r Report) Worst() Verdict {
	w := OK
	for _, f := range r.Findings {
		switch {
		case f.Verdict == Fail:
			return Fail
		case f.Verdict == Warn:
			w = Warn
		}
	}
	return w
}

// Doctor-specific thresholds.
const (
	anchorWarnBefore = 90 * 24 * time.Hour // an anchor expiring within this is a warning
	clockTolerance   = 5 * time.Minute     // the clock may differ this much from the OCSP responder's
)

// Doctor checks the desk as it would run, in order, changing nothing: the
// configuration (cfgErr is its load error), the key file, the registry, the
// trust anchors, the CRLs, the OCSP responder, the readers (and a card on
// one), the focused window against the allowlist, and the clock.
func Doctor(ctx context.Context, cfg *config.Config, cfgErr error, devices Devices, user string) Report {
	var r Report
	add := func(f Finding) { r.Findings = append(r.Findings, f) }
	if cfgErr != nil {
		add(Finding{Check: CheckConfig, Verdict: Fail, Code: "config-invalid", Detail: cfgErr.Error(), Err: cfgErr})
		for _, c := range []string{CheckKeyFile, CheckRegistry, CheckAnchors, CheckCRL, CheckOCSP, CheckReaders, CheckWedge, CheckClock} {
			add(Finding{Check: c, Verdict: Skip, Detail: "the configuration is not valid"})
		}
		return r
	}
	a := New(cfg, devices, user)
	defer a.Close()
	return a.Diagnose(ctx)
}

// Diagnose runs the doctor's checks on this core's configuration, which
// loaded.
func (a *App) Diagnose(ctx context.Context) Report {
	var r Report
	add := func(f Finding) { r.Findings = append(r.Findings, f) }
	cfg := a.Config
	detail := "valid"
	if cfg.File == "" {
		detail = "no configuration file: defaults"
	}
	if m := cfg.Managed(); len(m) > 0 {
		detail += fmt.Sprintf("; %d managed settings", len(m))
	}
	add(Finding{Check: CheckConfig, Verdict: OK, Detail: detail})
	add(a.doctorKeyFile())
	add(a.doctorRegistry(ctx))
	anchors := a.doctorAnchors()
	add(anchors)
	var responderTime time.Time
	if anchors.Verdict == Fail { // revocation cannot be checked without them
		for _, c := range []string{CheckCRL, CheckOCSP} {
			add(Finding{Check: c, Verdict: Skip, Detail: "the trust anchors are not valid"})
		}
	} else {
		add(a.doctorCRL())
		var f Finding
		f, responderTime = a.doctorOCSP(ctx)
		add(f)
	}
	add(a.doctorReaders(ctx))
	add(a.doctorWedge(ctx))
	add(a.doctorClock(responderTime))
	return r
}

func (a *App) doctorKeyFile() Finding {
	path := a.Config.KeyFile.Path
	_, err := keyfile.Load(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return Finding{Check: CheckKeyFile, Verdict: Warn, Code: "key-missing", Detail: path + ": no key file yet (created with the first registry use; a registry with cards needs its own key back)", Err: err}
	case err != nil:
		return Finding{Check: CheckKeyFile, Verdict: Fail, Code: "key-unusable", Detail: err.Error(), Err: err}
	}
	return Finding{Check: CheckKeyFile, Verdict: OK, Detail: path + ": owner-only"}
}

func (a *App) doctorRegistry(ctx context.Context) Finding {
	if a.Config.Database.Shared() {
		return a.doctorShared(ctx)
	}
	path := a.Config.Database.Path
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return Finding{Check: CheckRegistry, Verdict: Warn, Code: "registry-missing", Detail: path + ": no registry yet (created at first use)"}
	}
	// Check rebuilds a copy beside the file as restore would: integrity,
	// foreign keys, schema version, the audit chain and the key it is bound
	// to; the registry itself is only read.
	rep, err := sqlite.Check(ctx, path)
	if err != nil {
		return Finding{Check: CheckRegistry, Verdict: Fail, Code: "registry-damaged", Detail: fmt.Sprintf("%s: %v", path, err), Err: err}
	}
	// The registry and the key belong together (the key's fingerprint).
	if secret, err := keyfile.Load(a.Config.KeyFile.Path); err == nil {
		if p, err := keyid.NewPseudonymizer(secret); err == nil && rep.Key != "" && rep.Key != p.Fingerprint() {
			return Finding{Check: CheckRegistry, Verdict: Fail, Code: "key-mismatch", Detail: fmt.Sprintf("%s: bound to another pseudonym key than %s", path, a.Config.KeyFile.Path), Err: fmt.Errorf("%s: %w", path, store.ErrKeyMismatch)}
		}
	} else if errors.Is(err, fs.ErrNotExist) && rep.Rows["certificates"] > 0 {
		return Finding{Check: CheckRegistry, Verdict: Fail, Code: "key-missing", Detail: fmt.Sprintf("%s: %d registered certificates but no key file", path, rep.Rows["certificates"]), Err: fmt.Errorf("%s: %w", a.Config.KeyFile.Path, ErrKeyMissing)}
	}
	return Finding{Check: CheckRegistry, Verdict: OK, Detail: fmt.Sprintf("%s: schema %d, %d links, %d certificates, integrity and audit chain verified", path, rep.Version, rep.Rows["links"], rep.Rows["certificates"])}
}

// readersWait is how long the doctor waits for the PC/SC service.
const readersWait = 3 * time.Second

// doctorShared checks the shared registry: the server answers (else the
// desk works from its replica, if it has one), its key is this desk's.
func (a *App) doctorShared(ctx context.Context) Finding {
	st := a.RegistryStatus(ctx)
	age := "no replica yet"
	if !st.Synced.IsZero() {
		age = fmt.Sprintf("replica %d s old", int(a.Devices.Clock().Sub(st.Synced).Seconds()))
	}
	if !st.Online {
		if errors.Is(st.err, store.ErrCannotOpen) { // reached, and refused: a setting, not the network
			return Finding{Check: CheckRegistry, Verdict: Fail, Code: "registry-refused", Detail: fmt.Sprintf("the shared registry refuses this desk (taps continue from the replica, if any; %s): %s", age, st.Err), Err: st.err}
		}
		if st.Synced.IsZero() {
			return Finding{Check: CheckRegistry, Verdict: Fail, Code: "registry-offline", Detail: "the shared registry cannot be reached and this desk has no replica: no tap can be served: " + st.Err, Err: store.ErrOffline}
		}
		return Finding{Check: CheckRegistry, Verdict: Warn, Code: "registry-offline", Detail: fmt.Sprintf("the shared registry cannot be reached (taps continue from the replica; %s, %d records queued): %s", age, st.Queued, st.Err), Err: store.ErrOffline}
	}
	src, err := a.source()
	var s *postgres.DB
	if err == nil {
		s, err = postgres.Connect(ctx, src, a.options())
	}
	var bound string
	if err == nil {
		bound, _, err = s.KeyBinding(ctx)
		s.Close()
	}
	if err != nil {
		return Finding{Check: CheckRegistry, Verdict: Fail, Code: "registry-unreadable", Detail: err.Error(), Err: err}
	}
	if secret, err := keyfile.Load(a.Config.KeyFile.Path); err == nil {
		if p, err := keyid.NewPseudonymizer(secret); err == nil && bound != "" && bound != p.Fingerprint() {
			return Finding{Check: CheckRegistry, Verdict: Fail, Code: "key-mismatch", Detail: fmt.Sprintf("%s: bound to another pseudonym key than %s (mykey key import the registry's key)", st.Where, a.Config.KeyFile.Path), Err: store.ErrKeyMismatch}
		}
	}
	return Finding{Check: CheckRegistry, Verdict: OK, Detail: fmt.Sprintf("%s: online, %s, %d records queued", st.Where, age, st.Queued)}
}

func (a *App) doctorAnchors() Finding {
	anchors, probs := a.loadAnchors()
	if len(probs) > 0 {
		err := &config.Error{Problems: probs}
		return Finding{Check: CheckAnchors, Verdict: Fail, Code: "anchor-invalid", Detail: err.Error(), Err: err}
	}
	if len(anchors) == 0 {
		return Finding{Check: CheckAnchors, Verdict: Fail, Code: "anchor-none", Detail: "no trusted CA certificates (revocation.trust_anchors): no card is accepted"}
	}
	now := a.Devices.Clock()
	first := anchors[0]
	for _, c := range anchors {
		if c.NotAfter.Before(first.NotAfter) {
			first = c
		}
	}
	detail := fmt.Sprintf("%d trusted CA certificates; the first expires %s", len(anchors), first.NotAfter.Format("2006-01-02"))
	if first.NotAfter.Sub(now) < anchorWarnBefore {
		return Finding{Check: CheckAnchors, Verdict: Warn, Code: "anchor-expiring", Detail: detail + ": replace it before then"}
	}
	return Finding{Check: CheckAnchors, Verdict: OK, Detail: detail}
}

func (a *App) doctorCRL() Finding {
	method := a.Config.Revocation.Method
	list, grace, err := a.CRLs()
	if err != nil {
		return Finding{Check: CheckCRL, Verdict: Fail, Code: "crl-unreadable", Detail: err.Error(), Err: err}
	}
	missing := Fail // the CRL decides, or backs OCSP up
	if method == "ocsp" {
		missing = Skip
	}
	if len(list) == 0 {
		return Finding{Check: CheckCRL, Verdict: missing, Code: "crl-none", Detail: "no CRL imported (mykey crl import)"}
	}
	now := a.Devices.Clock()
	for _, ix := range list {
		if now.After(ix.NextUpdate.Add(grace)) {
			return Finding{Check: CheckCRL, Verdict: missing, Code: "crl-stale", Detail: fmt.Sprintf("a CRL's next update was %s (grace %v): import a current one (mykey crl import)", ix.NextUpdate.Format(time.RFC3339), grace)}
		}
	}
	next := list[0].NextUpdate
	for _, ix := range list {
		if ix.NextUpdate.Before(next) {
			next = ix.NextUpdate
		}
	}
	return Finding{Check: CheckCRL, Verdict: OK, Detail: fmt.Sprintf("%d CRLs, current; the next update is due %s", len(list), next.Local().Format("2006-01-02 15:04"))}
}

// doctorOCSP asks the responder about a made-up certificate of the first
// trust anchor, within ocsp_timeout_ms, and returns the responder's time.
func (a *App) doctorOCSP(ctx context.Context) (Finding, time.Time) {
	rv := a.Config.Revocation
	if rv.OCSPURL == "" {
		v := Skip
		if rv.Method == "ocsp" {
			v = Fail
		}
		return Finding{Check: CheckOCSP, Verdict: v, Code: "ocsp-none", Detail: "no OCSP responder configured (revocation.ocsp_url)"}, time.Time{}
	}
	down := Warn // the CRL backs it up
	if rv.Method == "ocsp" {
		down = Fail
	}
	anchors, err := a.Anchors()
	if err != nil || len(anchors) == 0 {
		return Finding{Check: CheckOCSP, Verdict: Skip, Detail: "no trust anchor to ask about"}, time.Time{}
	}
	issuer := anchors[0]
	req, err := ocsp.CreateRequest(&x509.Certificate{SerialNumber: big.NewInt(1)}, issuer, nil)
	if err != nil {
		return Finding{Check: CheckOCSP, Verdict: Fail, Code: "ocsp-request", Detail: err.Error(), Err: err}, time.Time{}
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(rv.OCSPTimeoutMS)*time.Millisecond)
	defer cancel()
	hr, _ := http.NewRequestWithContext(ctx, http.MethodPost, rv.OCSPURL, bytes.NewReader(req))
	hr.Header.Set("Content-Type", "application/ocsp-request")
	start := time.Now()
	resp, err := a.Devices.HTTP.Do(hr)
	if err != nil {
		return Finding{Check: CheckOCSP, Verdict: down, Code: "ocsp-unreachable", Detail: fmt.Sprintf("%s: %v", rv.OCSPURL, err), Err: err}, time.Time{}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	took := time.Since(start).Round(time.Millisecond)
	if resp.StatusCode != http.StatusOK {
		return Finding{Check: CheckOCSP, Verdict: down, Code: "ocsp-unreachable", Detail: fmt.Sprintf("%s: HTTP %s", rv.OCSPURL, resp.Status)}, time.Time{}
	}
	at, _ := http.ParseTime(resp.Header.Get("Date"))
	if r, err := ocsp.ParseResponse(body, issuer); err == nil && !r.ProducedAt.IsZero() {
		at = r.ProducedAt
	}
	return Finding{Check: CheckOCSP, Verdict: OK, Detail: fmt.Sprintf("%s answered in %v", rv.OCSPURL, took)}, at
}

func (a *App) doctorReaders(ctx context.Context) Finding {
	// A desk waits for the PC/SC service to come back; the doctor says it
	// is not there.
	rctx, cancel := context.WithTimeout(ctx, readersWait)
	readers, err := a.Readers(rctx)
	cancel()
	if err != nil {
		return Finding{Check: CheckReaders, Verdict: Fail, Code: "readers-unavailable", Detail: err.Error(), Err: err}
	}
	var watched []cardio.Reader
	for _, r := range readers {
		if cardio.Matches(r.Name, a.Config.Readers.Include, a.Config.Readers.Exclude) {
			watched = append(watched, r)
		}
	}
	if len(watched) == 0 {
		return Finding{Check: CheckReaders, Verdict: Fail, Code: "no-reader", Detail: fmt.Sprintf("no card reader to watch (%d connected, none matching readers.include/exclude)", len(readers))}
	}
	detail := fmt.Sprintf("%d readers: %q", len(watched), watched[0].Name)
	for _, r := range watched {
		if !r.Present {
			continue
		}
		if _, err := a.ReadCard(ctx, CardRequest{Reader: r.Name}); err != nil {
			return Finding{Check: CheckReaders, Verdict: Warn, Code: "card-unreadable", Detail: fmt.Sprintf("the card on %q cannot be read: %v", r.Name, err), Err: err}
		}
		detail += fmt.Sprintf("; the card on %q was read", r.Name)
	}
	return Finding{Check: CheckReaders, Verdict: OK, Detail: detail}
}

func (a *App) doctorWedge(ctx context.Context) Finding {
	if a.Config.Wedge.Output == "stdout" {
		return Finding{Check: CheckWedge, Verdict: OK, Detail: `wedge.output = "stdout": numbers are printed, not typed`}
	}
	t, err := a.Typer()
	if err != nil {
		return Finding{Check: CheckWedge, Verdict: Fail, Code: "wedge-invalid", Detail: err.Error(), Err: err}
	}
	w, err := a.Focused(ctx)
	if err != nil {
		return Finding{Check: CheckWedge, Verdict: Fail, Code: "no-display", Detail: err.Error(), Err: err}
	}
	// Only the program name: a title may show a patron's name.
	if ok, why := t.Guard.Allows(w); !ok {
		return Finding{Check: CheckWedge, Verdict: Warn, Code: "window-not-allowed", Detail: fmt.Sprintf("the focused window (%s) is not allowed: %s; a tap now would type nothing", filepath.Base(w.Exe), why)}
	}
	if a.TypesAnywhere() {
		return Finding{Check: CheckWedge, Verdict: Warn, Code: "no-allowlist", Detail: "no allowlist (wedge.allow_exe, wedge.allow_title): numbers are typed into any window"}
	}
	return Finding{Check: CheckWedge, Verdict: OK, Detail: fmt.Sprintf("the focused window (%s) is allowed", filepath.Base(w.Exe))}
}

func (a *App) doctorClock(responder time.Time) Finding {
	if responder.IsZero() {
		return Finding{Check: CheckClock, Verdict: Skip, Detail: "no OCSP response to compare with"}
	}
	d := a.Devices.Clock().Sub(responder)
	detail := fmt.Sprintf("%v from the OCSP responder's time", d.Round(time.Second))
	if d > clockTolerance || d < -clockTolerance {
		return Finding{Check: CheckClock, Verdict: Warn, Code: "clock-skew", Detail: detail + ": set the clock (certificate validity and CRL freshness depend on it)"}
	}
	return Finding{Check: CheckClock, Verdict: OK, Detail: detail}
}

// BundleLogLines is how many of the log's last lines a support bundle
// holds.
const BundleLogLines = 500

// Bundle writes a support archive (zip) to path for the help desk: the
// doctor's report (text as worded for staff, and JSON), this build, the
// effective configuration and where managed settings come from, and the
// log's last lines. It holds no personal data: the log carries none by
// design, and any patron number of the registry found in it anyway is
// replaced; the registry, the key and the audit log are not included. An
// existing path is refused unless force. With a nil cfg (the configuration
// did not load) the archive holds the report and the build only.
func Bundle(ctx context.Context, cfg *config.Config, devices Devices, path string, rep Report, text string, force bool) error {
	a := New(cfg, devices, OSUser())
	defer a.Close()
	var buf bytes.Buffer
	z := zip.NewWriter(&buf)
	add := func(name string, data []byte) error {
		w, err := z.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate, Modified: a.Devices.Clock()})
		if err == nil {
			_, err = w.Write(data)
		}
		return err
	}
	js, _ := json.MarshalIndent(rep, "", "  ")
	bi, _ := json.MarshalIndent(Build(), "", "  ")
	type file struct {
		name string
		data []byte
	}
	files := []file{{"doctor.txt", []byte(text)}, {"doctor.json", js}, {"version.json", bi}}
	if cfg != nil {
		var c bytes.Buffer
		fmt.Fprintf(&c, "# effective configuration of %s (managed settings applied)\n", cfg.File)
		for _, m := range cfg.Managed() {
			fmt.Fprintf(&c, "# managed: %s <- %s\n", m.Key, m.From)
		}
		if err := toml.NewEncoder(&c).Encode(cfg); err != nil {
			return err
		}
		log, err := a.logTail(ctx)
		if err != nil {
			log = []byte(fmt.Sprintf("(the log could not be read: %v)\n", err))
		}
		files = append(files, file{"config.toml", c.Bytes()}, file{"mykey.log", log})
	}
	for _, f := range files {
		if err := add(f.name, f.data); err != nil {
			return err
		}
	}
	if err := z.Close(); err != nil {
		return err
	}
	if err := atomicfile.Write(path, buf.Bytes(), 0o600, force); err != nil {
		return err
	}
	return fileperm.RestrictToOwner(path)
}

// logTail returns the service log's last lines, with every patron number
// the registry links replaced by "[patron]".
func (a *App) logTail(ctx context.Context) ([]byte, error) {
	name := filepath.Join(a.Config.Log.Dir, "mykey.log")
	if _, err := RegularFile(name, 1<<30); err != nil {
		return nil, err
	}
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	lines := strings.SplitAfter(string(data), "\n")
	lines = lines[max(0, len(lines)-BundleLogLines):]
	text := strings.Join(lines, "")
	local := a.Config.Database.Path
	if a.Config.Database.Shared() {
		local = a.Config.Database.Replica // the desk's copy holds the links
	}
	if _, err := os.Stat(local); err == nil {
		if r, err := sqlite.OpenCopy(ctx, local, a.options()); err == nil {
			entries, _ := r.List(ctx, a.Config.Patron.Service)
			r.Close()
			var pairs []string
			for _, e := range entries {
				if e.Link != nil && e.Link.Patron != "" {
					pairs = append(pairs, e.Link.Patron, "[patron]")
				}
			}
			text = strings.NewReplacer(pairs...).Replace(text)
		}
	}
	return []byte(text), nil
}
