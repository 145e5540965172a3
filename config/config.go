package config

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"

	"github.com/mykey-jp/mykey/internal/fileperm"
	"github.com/mykey-jp/mykey/keyid"
)

// Config is mykey's configuration. Field tags name the TOML keys.
type Config struct {
	Lang       string     `toml:"lang"`
	Database   Database   `toml:"database"`
	KeyFile    KeyFile    `toml:"keyfile"`
	Patron     Patron     `toml:"patron"`
	Readers    Readers    `toml:"readers"`
	Wedge      Wedge      `toml:"wedge"`
	Revocation Revocation `toml:"revocation"`
	Genuine    Genuine    `toml:"genuine"`
	Log        Log        `toml:"log"`
	// Profiles handle the taps of some readers differently, by name.
	Profiles map[string]Profile `toml:"profiles"`

	// File is the file the configuration was read from ("" for defaults).
	File    string              `toml:"-"`
	lines   map[string]int      // key → line in File
	managed map[string]location // key → the managed source that set it
}

// Database locates the registry: a SQLite file for a single desk, or a
// shared PostgreSQL registry (URL) with a local copy at each desk.
type Database struct {
	Path         string `toml:"path"`
	URL          string `toml:"url"`           // postgres://…; empty: the SQLite file at Path
	PasswordFile string `toml:"password_file"` // the database password, when not in PGPASSWORD
	Replica      string `toml:"replica"`       // the desk's copy of the shared registry
	PollSeconds  int    `toml:"poll_seconds"`  // how often the copy looks for changes besides notifications
}

// Shared reports whether the registry is a shared PostgreSQL one.
func (d Database) Shared() bool { return d.URL != "" }

// KeyFile locates the pseudonym secret.
type KeyFile struct {
	Path string `toml:"path"`
}

// Patron describes the library's patron numbers.
type Patron struct {
	Service    string `toml:"service"`
	Pattern    string `toml:"pattern"`
	CheckDigit string `toml:"check_digit"`
}

// Readers selects the card readers to watch.
type Readers struct {
	Include        []string `toml:"include"`
	Exclude        []string `toml:"exclude"`
	ExtendedLength bool     `toml:"extended_length"`
}

// Wedge configures how patron numbers are typed.
type Wedge struct {
	Output         string   `toml:"output"`
	Template       string   `toml:"template"`
	KeyDelayMS     int      `toml:"key_delay_ms"`
	AllowExe       []string `toml:"allow_exe"`
	AllowTitle     string   `toml:"allow_title"`
	LockoutSeconds int      `toml:"lockout_seconds"`
	Sound          bool     `toml:"sound"`
	// The patron number's format before the template: a prefix trimmed,
	// zeros on the left to a width, a check digit appended.
	TrimPrefix string `toml:"trim_prefix"`
	PadWidth   int    `toml:"pad_width"`
	CheckDigit string `toml:"check_digit"`
}

// Profile is how taps on some readers are handled: the counter reader
// types into the circulation window, the registration reader only looks
// up. A key left out takes its value from [wedge].
type Profile struct {
	Readers    []string `toml:"readers"` // parts of reader names, as readers.include
	Action     string   `toml:"action"`  // "type" or "lookup" (identify and show, never type)
	Template   string   `toml:"template"`
	AllowExe   []string `toml:"allow_exe"`
	AllowTitle string   `toml:"allow_title"`
	Sound      bool     `toml:"sound"`
}

// Profile actions.
const (
	ActionType   = "type"
	ActionLookup = "lookup"
)

// ProfileFor returns the name and profile of the first profile (by name)
// whose readers match reader; ok is false when none does.
func (c *Config) ProfileFor(reader string) (name string, p Profile, ok bool) {
	names := make([]string, 0, len(c.Profiles))
	for n := range c.Profiles {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if c.Profiles[n].matches(reader) {
			return n, c.Profiles[n], true
		}
	}
	return "", Profile{}, false
}

func (p Profile) matches(reader string) bool {
	for _, x := range p.Readers {
		if strings.Contains(reader, x) {
			return true
		}
	}
	return false
}

// inherit fills each profile's keys that raw (the merged settings) leaves
// out from [wedge].
func (c *Config) inherit(raw map[string]any) {
	profiles, _ := raw["profiles"].(map[string]any)
	for n, p := range c.Profiles {
		set, _ := profiles[n].(map[string]any)
		has := func(k string) bool { _, ok := set[k]; return ok }
		if !has("action") {
			p.Action = ActionType
		}
		if !has("template") {
			p.Template = c.Wedge.Template
		}
		if !has("allow_exe") {
			p.AllowExe = c.Wedge.AllowExe
		}
		if !has("allow_title") {
			p.AllowTitle = c.Wedge.AllowTitle
		}
		if !has("sound") {
			p.Sound = c.Wedge.Sound
		}
		c.Profiles[n] = p
	}
}

// Revocation configures certificate checking.
type Revocation struct {
	Method        string `toml:"method"`
	OCSPURL       string `toml:"ocsp_url"`
	OCSPTimeoutMS int    `toml:"ocsp_timeout_ms"`
	CRLURL        string `toml:"crl_url"`
	CRLDir        string `toml:"crl_dir"`
	CRLGraceHours int    `toml:"crl_grace_hours"`
	CRLMaxMB      int    `toml:"crl_max_mb"`    // a CRL file or download larger than this is refused
	CRLTimeoutS   int    `toml:"crl_timeout_s"` // a CRL download that takes longer is abandoned
	OnUnavailable string `toml:"on_unavailable"`
	// AcceptPossiblyRevoked confirms on_unavailable = "allow": a card whose
	// revocation cannot be checked, a revoked one included, is accepted.
	AcceptPossiblyRevoked bool     `toml:"accept_possibly_revoked_cards"`
	TrustAnchors          []string `toml:"trust_anchors"`
	TestMode              bool     `toml:"test_mode"`
}

// Genuine configures the genuine-card check at each tap (JPKI Act Art.
// 38-4 ②).
type Genuine struct {
	Mode string `toml:"mode"` // "dob", "card-key" or "off"
	// Authorities are the trusted CVC CA public keys, "ID=FILE" (e.g.
	// "5000023/001=cvc-ca.pem"); FILE relative to the configuration's
	// folder.
	Authorities []string `toml:"authorities"`
	// TestKeys accepts authorities of the J-LIS test hierarchy (ids
	// starting with 6): test cards only, never in production.
	TestKeys bool `toml:"test_keys"`
	// OffAcknowledgement must be OffPhraseJA or OffPhraseEN for mode "off".
	OffAcknowledgement string `toml:"off_acknowledgement"`
}

// The sentences that make mode "off" acceptable, one in each language.
const (
	OffPhraseJA = "PIN なしの利用で真正性確認をしないことを了承します"
	OffPhraseEN = "I accept PIN-less use without the genuine-card check"
)

// Authority splits an authorities entry into its key id and file.
func Authority(entry string) (id, file string, ok bool) {
	id, file, ok = strings.Cut(entry, "=")
	id, file = strings.TrimSpace(id), strings.TrimSpace(file)
	return id, file, ok && id != "" && file != ""
}

// Log configures the desk service's log files.
type Log struct {
	Dir        string `toml:"dir"`
	Level      string `toml:"level"`
	MaxSizeMB  int    `toml:"max_size_mb"`
	MaxBackups int    `toml:"max_backups"`
}

// Locations are the per-OS default paths.
type Locations struct {
	Config   string
	Database string
	LogDir   string
}

// DefaultLocations returns this OS's default paths. The MYKEY_CONFIG
// environment variable overrides the configuration file's.
func DefaultLocations() Locations {
	l := defaultLocations()
	if p := os.Getenv("MYKEY_CONFIG"); p != "" {
		l.Config = p
	}
	return l
}

// Default returns the configuration used when no file sets a value.
func Default() *Config {
	return &Config{
		Lang:     "ja",
		Database: Database{PollSeconds: 5},
		Patron:   Patron{Service: "library", Pattern: keyid.DefaultPatronPattern, CheckDigit: "none"},
		Readers:  Readers{Include: []string{}, Exclude: []string{}},
		Wedge: Wedge{
			Output: "keyboard", Template: "{patron}{enter}", KeyDelayMS: 2,
			AllowExe: []string{}, LockoutSeconds: 10, Sound: true, CheckDigit: "none",
		},
		Revocation: Revocation{
			Method: "ocsp-then-crl", OCSPTimeoutMS: 3000, CRLGraceHours: 24, CRLMaxMB: 1024, CRLTimeoutS: 300,
			OnUnavailable: "deny", TrustAnchors: []string{},
		},
		Genuine:  Genuine{Mode: "dob", Authorities: []string{}},
		Log:      Log{Level: "info", MaxSizeMB: 10, MaxBackups: 5},
		Profiles: map[string]Profile{},
	}
}

// Problem is one thing wrong with a configuration file.
type Problem struct {
	File string `json:"file"`
	Line int    `json:"line"` // 1-based; 0 when unknown
	Key  string `json:"key"`  // dotted key, e.g. "wedge.key_delay_ms"
	Msg  string `json:"message"`
}

func (p Problem) String() string {
	loc := p.File
	if p.Line > 0 {
		loc = fmt.Sprintf("%s:%d", p.File, p.Line)
	}
	if p.Key != "" {
		return fmt.Sprintf("%s: %s: %s", loc, p.Key, p.Msg)
	}
	return fmt.Sprintf("%s: %s", loc, p.Msg)
}

// Error lists every problem found in a configuration file.
type Error struct {
	Problems []Problem
}

func (e *Error) Error() string {
	s := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		s[i] = p.String()
	}
	return strings.Join(s, "\n")
}

// MaxBytes bounds a configuration file (the commented template is about
// 8 KB).
const MaxBytes = 1 << 20

// Load reads the configuration in path, with the managed settings that
// override it (see DropInDir). A missing file is not an error when optional
// is true: the defaults are used. Every problem is reported at once in an
// *Error; what is not a regular file of at most MaxBytes is one too.
func Load(path string, optional bool) (*Config, error) {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	var data []byte
	fi, err := os.Stat(path)
	switch {
	case errors.Is(err, fs.ErrNotExist) && optional:
	case err != nil:
		return nil, err
	case !fi.Mode().IsRegular() || fi.Size() > MaxBytes: // a FIFO or /dev/zero would never end
		return nil, &Error{[]Problem{{File: path, Msg: fmt.Sprintf("not a configuration file: a regular file of at most %d KB is expected (%v, %d bytes)", MaxBytes>>10, fi.Mode().Type(), fi.Size())}}}
	default:
		if err := fileperm.CheckTrusted(path); err != nil {
			return nil, &Error{[]Problem{{File: path, Msg: fmt.Sprintf("%v; only its owner (or the administrator) may be able to change it (Linux: chmod 644, and chown to the desk user or root)", err)}}}
		}
		if data, err = os.ReadFile(path); err != nil {
			return nil, err
		}
	}
	managed, probs := managedLayers(path)
	c, err := parse(path, data, managed, probs)
	if err != nil {
		return nil, err
	}
	if data == nil {
		c.File, c.lines = "", nil // defaults
	}
	c.resolve(DefaultLocations(), path)
	return c, nil
}

// Parse parses and checks the content of a configuration file; name is used
// in problem reports. Paths are left as written.
func Parse(name string, data []byte) (*Config, error) { return parse(name, data, nil, nil) }

// parse lays the managed layers over the file's content, then checks the
// result; probs are the managed sources' own problems.
func parse(name string, data []byte, managed []layer, probs []Problem) (*Config, error) {
	base, p := fileLayer(name, data)
	if p != nil {
		return nil, &Error{p}
	}
	c := Default()
	c.File, c.lines, c.managed = name, keyLines(string(data)), map[string]location{}
	merged := map[string]any{}
	for i, l := range append([]layer{base}, managed...) {
		if i > 0 {
			coerceDWORDs(l.raw, reflect.TypeOf(Config{}))
		}
		checkTypes(l.raw, reflect.TypeOf(Config{}), "", func(key, msg string) {
			file, line := l.where(key)
			probs = append(probs, Problem{File: file, Line: line, Key: key, Msg: msg})
		})
		merge(merged, l.raw, "", func(key string) {
			if i > 0 {
				file, line := l.where(key)
				c.managed[key] = location{file, line}
			}
		})
	}
	if len(probs) > 0 {
		return nil, &Error{sortProblems(name, probs)}
	}
	var text bytes.Buffer
	if err := toml.NewEncoder(&text).Encode(merged); err != nil {
		return nil, &Error{[]Problem{{File: name, Msg: err.Error()}}}
	}
	if _, err := toml.Decode(text.String(), c); err != nil {
		return nil, &Error{[]Problem{{File: name, Msg: err.Error()}}}
	}
	c.inherit(merged)
	for _, p := range c.validate() {
		probs = append(probs, c.Problem(p.Key, "%s", p.Msg))
	}
	if len(probs) > 0 {
		return nil, &Error{sortProblems(name, probs)}
	}
	return c, nil
}

// rawError is a TOML syntax error at a line.
type rawError struct {
	line     int
	key, msg string
}

func (e *rawError) at(file string) Problem {
	return Problem{File: file, Line: e.line, Key: e.key, Msg: e.msg}
}

// decodeRaw decodes TOML into generic values.
func decodeRaw(data []byte, raw *map[string]any) *rawError {
	if _, err := toml.Decode(string(data), raw); err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) {
			return &rawError{pe.Position.Line, pe.LastKey, pe.Message}
		}
		return &rawError{msg: err.Error()}
	}
	return nil
}

// sortProblems orders problems by line, the configuration file's first,
// then each managed source's in the order they apply.
func sortProblems(file string, p []Problem) []Problem {
	rank := map[string]int{file: 0}
	for _, q := range p {
		if _, ok := rank[q.File]; !ok {
			rank[q.File] = len(rank)
		}
	}
	sort.SliceStable(p, func(i, j int) bool {
		if ri, rj := rank[p[i].File], rank[p[j].File]; ri != rj {
			return ri < rj
		}
		return p[i].Line < p[j].Line
	})
	return p
}

// resolve fills empty paths with defaults and makes relative paths relative
// to the configuration file's directory.
func (c *Config) resolve(loc Locations, file string) {
	base := filepath.Dir(file)
	abs := func(p, def string) string {
		if p == "" {
			return def
		}
		if !filepath.IsAbs(p) {
			return filepath.Join(base, p)
		}
		return p
	}
	c.Database.Path = abs(c.Database.Path, loc.Database)
	c.Database.Replica = abs(c.Database.Replica, filepath.Join(filepath.Dir(c.Database.Path), "replica.db"))
	if c.Database.PasswordFile != "" {
		c.Database.PasswordFile = abs(c.Database.PasswordFile, "")
	}
	c.KeyFile.Path = abs(c.KeyFile.Path, filepath.Join(base, "pseudonym.key"))
	c.Log.Dir = abs(c.Log.Dir, loc.LogDir)
	c.Revocation.CRLDir = abs(c.Revocation.CRLDir, filepath.Join(filepath.Dir(c.Database.Path), "crl"))
	for i, a := range c.Revocation.TrustAnchors {
		c.Revocation.TrustAnchors[i] = abs(a, a)
	}
	for i, a := range c.Genuine.Authorities {
		if id, file, ok := Authority(a); ok {
			c.Genuine.Authorities[i] = id + "=" + abs(file, file)
		}
	}
}

// tomlKind names the TOML type of a decoded value, as messages show it.
func tomlKind(v any) string {
	switch v.(type) {
	case string:
		return "string"
	case int64:
		return "integer"
	case float64:
		return "float"
	case bool:
		return "boolean"
	case []any, []map[string]any:
		return "array"
	case map[string]any:
		return "table"
	}
	return "date/time"
}

func goKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "string"
	case reflect.Int:
		return "integer"
	case reflect.Bool:
		return "boolean"
	case reflect.Slice:
		return "array of " + goKind(t.Elem()) + "s"
	case reflect.Struct, reflect.Map:
		return "table"
	}
	return t.String()
}

// checkTypes reports keys of raw that t has no field for, and values whose
// TOML type does not fit the field.
func checkTypes(raw map[string]any, t reflect.Type, prefix string, report func(key, msg string)) {
	fields := map[string]reflect.StructField{}
	var names []string
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if tag := f.Tag.Get("toml"); tag != "" && tag != "-" {
			fields[tag] = f
			names = append(names, tag)
		}
	}
	keys := make([]string, 0, len(raw))
	for k := range raw {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := raw[k]
		key := prefix + k
		f, ok := fields[k]
		if !ok {
			msg := "unknown key"
			if s := closest(k, names); s != "" {
				msg += fmt.Sprintf(" (did you mean %q?)", prefix+s)
			}
			report(key, msg)
			continue
		}
		if !fits(v, f.Type) {
			report(key, fmt.Sprintf("want %s, got %s", goKind(f.Type), tomlKind(v)))
			continue
		}
		m, _ := v.(map[string]any)
		switch f.Type.Kind() {
		case reflect.Struct:
			checkTypes(m, f.Type, key+".", report)
		case reflect.Map: // a table of named tables, e.g. [profiles.counter]
			names := make([]string, 0, len(m))
			for n := range m {
				names = append(names, n)
			}
			sort.Strings(names)
			for _, n := range names {
				if e, ok := m[n].(map[string]any); ok {
					checkTypes(e, f.Type.Elem(), key+"."+n+".", report)
				} else {
					report(key+"."+n, fmt.Sprintf("want table, got %s", tomlKind(m[n])))
				}
			}
		}
	}
}

func fits(v any, t reflect.Type) bool {
	switch t.Kind() {
	case reflect.String:
		_, ok := v.(string)
		return ok
	case reflect.Int:
		_, ok := v.(int64)
		return ok
	case reflect.Bool:
		_, ok := v.(bool)
		return ok
	case reflect.Struct, reflect.Map:
		_, ok := v.(map[string]any)
		return ok
	case reflect.Slice:
		a, ok := v.([]any)
		if !ok {
			return false
		}
		for _, e := range a {
			if !fits(e, t.Elem()) {
				return false
			}
		}
		return true
	}
	return false
}

// closest returns the name within edit distance 2 of k, if any.
func closest(k string, names []string) string {
	best, bestD := "", 3
	for _, n := range names {
		if d := editDistance(k, n); d < bestD {
			best, bestD = n, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// keyLines maps each dotted key (and table name) to the line it is set on,
// for problem reports. It understands the [table] headers and key = value
// lines mykey's configuration uses.
func keyLines(src string) map[string]int {
	lines := map[string]int{}
	table := ""
	for i, l := range strings.Split(src, "\n") {
		l = strings.TrimSpace(l)
		switch {
		case l == "" || l[0] == '#':
		case strings.HasPrefix(l, "[") && !strings.HasPrefix(l, "[["):
			end := strings.Index(l, "]")
			if end < 0 {
				continue
			}
			table = unquoteKey(l[1:end])
			if _, seen := lines[table]; !seen {
				lines[table] = i + 1
			}
		default:
			eq := strings.Index(l, "=")
			if eq < 0 {
				continue
			}
			key := unquoteKey(l[:eq])
			if table != "" {
				key = table + "." + key
			}
			if _, seen := lines[key]; !seen {
				lines[key] = i + 1
			}
		}
	}
	return lines
}

func unquoteKey(k string) string {
	parts := strings.Split(k, ".")
	for i, p := range parts {
		parts[i] = strings.Trim(strings.TrimSpace(p), `"'`)
	}
	return strings.Join(parts, ".")
}

// FromExample creates the configuration file at path from the installer's
// commented template beside it (mykey.example.toml) when path does not exist
// and the template does. created tells whether it did.
func FromExample(path string) (created bool, err error) {
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	b, err := os.ReadFile(filepath.Join(filepath.Dir(path), "mykey.example.toml"))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return false, err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return false, err
	}
	return true, f.Close()
}
