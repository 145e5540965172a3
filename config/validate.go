package config

import (
	"fmt"
	"maps"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	"github.com/mykey-jp/mykey/keyboardwedge"
	"github.com/mykey-jp/mykey/keyid"
)

// validate checks values whose type is right but whose content is not.
func (c *Config) validate() []Problem {
	var p []Problem
	bad := func(key, format string, args ...any) {
		p = append(p, Problem{Key: key, Msg: fmt.Sprintf(format, args...)})
	}
	oneOf := func(key, v string, allowed ...string) {
		if !slices.Contains(allowed, v) {
			bad(key, "%q is not one of %s", v, strings.Join(allowed, ", "))
		}
	}
	between := func(key string, v, lo, hi int) {
		if v < lo || v > hi {
			bad(key, "%d is outside %d..%d", v, lo, hi)
		}
	}

	oneOf("lang", c.Lang, "ja", "en")

	if c.Database.URL != "" {
		u, err := url.Parse(c.Database.URL)
		switch {
		case err != nil, u.Scheme != "postgres" && u.Scheme != "postgresql":
			bad("database.url", "not a postgres:// URL (postgres://USER@HOST:5432/DATABASE?sslmode=verify-full)")
		case u.User != nil && func() bool { _, ok := u.User.Password(); return ok }(), u.Query().Has("password"):
			bad("database.url", "holds a password: put it in the file database.password_file names (readable by this user only) or in PGPASSWORD, not in the configuration")
		default:
			// The TLS files the URL names are read when the desk connects,
			// from whatever folder it was started in.
			for _, k := range []string{"sslrootcert", "sslcert", "sslkey"} {
				if f := u.Query().Get(k); f != "" && !filepath.IsAbs(f) && !(k == "sslrootcert" && f == "system") {
					bad("database.url", "%s=%s: give the file's full path", k, f)
				}
			}
		}
	}
	between("database.poll_seconds", c.Database.PollSeconds, 1, 3600)

	if c.Patron.Service == "" || len(c.Patron.Service) > 64 {
		bad("patron.service", "must be 1 to 64 characters")
	}
	if _, err := keyid.ParseCheckDigit(c.Patron.CheckDigit); err != nil {
		bad("patron.check_digit", "%v", err)
	} else if _, err := keyid.NewPatronRule(c.Patron.Pattern, keyid.CheckDigit(c.Patron.CheckDigit)); err != nil {
		bad("patron.pattern", "%v", err)
	}

	oneOf("wedge.output", c.Wedge.Output, "keyboard", "stdout")
	if _, err := keyboardwedge.ParseTemplate(c.Wedge.Template); err != nil {
		bad("wedge.template", "%v", err)
	}
	between("wedge.key_delay_ms", c.Wedge.KeyDelayMS, 0, 1000)
	between("wedge.pad_width", c.Wedge.PadWidth, 0, 32)
	if _, err := keyid.ParseCheckDigit(c.Wedge.CheckDigit); err != nil {
		bad("wedge.check_digit", "%v", err)
	}
	if len(c.Wedge.TrimPrefix) > 16 || strings.Trim(c.Wedge.TrimPrefix, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-") != "" {
		bad("wedge.trim_prefix", "%q: want up to 16 letters, digits or '-' (what a patron number may hold)", c.Wedge.TrimPrefix)
	}
	between("wedge.lockout_seconds", c.Wedge.LockoutSeconds, 0, 3600)
	if c.Wedge.AllowTitle != "" {
		if _, err := regexp.Compile(c.Wedge.AllowTitle); err != nil {
			bad("wedge.allow_title", "%v", err)
		}
	}

	oneOf("revocation.method", c.Revocation.Method, "ocsp", "crl", "ocsp-then-crl")
	oneOf("revocation.on_unavailable", c.Revocation.OnUnavailable, "deny", "allow")
	between("revocation.ocsp_timeout_ms", c.Revocation.OCSPTimeoutMS, 100, 60000)
	between("revocation.crl_grace_hours", c.Revocation.CRLGraceHours, 0, 720)
	between("revocation.crl_max_mb", c.Revocation.CRLMaxMB, 1, 16384)
	between("revocation.crl_timeout_s", c.Revocation.CRLTimeoutS, 5, 3600)
	for _, k := range []struct{ key, v string }{{"revocation.ocsp_url", c.Revocation.OCSPURL}, {"revocation.crl_url", c.Revocation.CRLURL}} {
		if k.v == "" {
			continue
		}
		if u, err := url.Parse(k.v); err != nil || (u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "ldap") || u.Host == "" {
			bad(k.key, "%q is not an http, https or ldap URL", k.v)
		}
	}

	// Nothing may accept a revoked card unless the administrator says so.
	if c.Revocation.OnUnavailable == "allow" && !c.Revocation.AcceptPossiblyRevoked {
		bad("revocation.on_unavailable", `"allow" accepts every card whose revocation cannot be checked, revoked ones included; to mean that, also set accept_possibly_revoked_cards = true`)
	}
	if c.Revocation.Method == "ocsp" && c.Revocation.OCSPURL == "" {
		bad("revocation.method", `"ocsp" needs ocsp_url, the OCSP responder's URL`)
	}

	oneOf("genuine.mode", c.Genuine.Mode, "dob", "card-key", "off")
	if c.Genuine.Mode == "off" && c.Genuine.OffAcknowledgement != OffPhraseJA && c.Genuine.OffAcknowledgement != OffPhraseEN {
		bad("genuine.mode", `"off" types numbers without confirming that the card is a genuine My Number Card, which the law asks of PIN-less use; to mean that (a test desk), also set off_acknowledgement = %q`, OffPhraseEN)
	}
	for _, a := range c.Genuine.Authorities {
		id, _, ok := Authority(a)
		authority, key, _ := strings.Cut(id, "/")
		switch {
		case !ok || len(authority) != 7 || len(key) != 3 || strings.Trim(authority+key, "0123456789") != "":
			bad("genuine.authorities", "%q: want \"KEY ID=FILE\", e.g. \"5000023/001=cvc-ca.pem\"", a)
		case authority[0] == '6' && !c.Genuine.TestKeys:
			bad("genuine.authorities", "%s is a key of the J-LIS test hierarchy, for test cards only; a test desk also sets test_keys = true", id)
		}
	}

	for _, n := range slices.Sorted(maps.Keys(c.Profiles)) {
		pr, key := c.Profiles[n], "profiles."+n
		if n == "" || len(n) > 32 || strings.Trim(n, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_") != "" {
			bad(key, "profile name %q: want up to 32 letters, digits, '-' or '_'", n)
		}
		if len(pr.Readers) == 0 || slices.Contains(pr.Readers, "") {
			bad(key+".readers", "name the readers of this profile: parts of their names, e.g. [\"Sony\"] (mykey card readers lists them)")
		}
		oneOf(key+".action", pr.Action, ActionType, ActionLookup)
		if _, err := keyboardwedge.ParseTemplate(pr.Template); err != nil {
			bad(key+".template", "%v", err)
		}
		if pr.AllowTitle != "" {
			if _, err := regexp.Compile(pr.AllowTitle); err != nil {
				bad(key+".allow_title", "%v", err)
			}
		}
	}

	oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	between("log.max_size_mb", c.Log.MaxSizeMB, 1, 1000)
	between("log.max_backups", c.Log.MaxBackups, 0, 100)
	return p
}
