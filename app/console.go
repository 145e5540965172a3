package app

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"

	"github.com/mykey-jp/mykey/store"
)

// Errors of the console's administrator password.
var (
	ErrNoPassword    = errors.New("no console administrator password is set (mykey console password)")
	ErrWrongPassword = errors.New("the administrator password is wrong")
	ErrWeakPassword  = errors.New("the administrator password must be 10 to 128 characters")
)

// The password hash: Argon2id, 64 MiB, 2 passes, 2 lanes (about 0.1 s on
// a desk PC), a 16-byte random salt.
const (
	argonTime    = 2
	argonMemory  = 64 << 10
	argonThreads = 2
	argonKeyLen  = 32
)

// SetConsolePassword sets the administrator password that the console asks
// before relink, unlink, import, restore and a forced last PIN try. Only
// its Argon2id hash is stored, in the registry; pw is cleared.
func (a *App) SetConsolePassword(ctx context.Context, pw []byte) error {
	defer clear(pw)
	if n := utf8.RuneCount(pw); n < 10 || n > 128 {
		return ErrWeakPassword
	}
	salt := make([]byte, 16)
	if _, err := a.Devices.Rand.Read(salt); err != nil {
		return err
	}
	key := argon2.IDKey(pw, salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	hash := fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads, enc.EncodeToString(salt), enc.EncodeToString(key))
	return a.withRegistry(ctx, func(r store.Registry) error { return r.SetConsolePassword(ctx, hash) })
}

// CheckConsolePassword returns nil when pw is the administrator password,
// ErrWrongPassword when not, ErrNoPassword when none is set.
func (a *App) CheckConsolePassword(ctx context.Context, pw []byte) error {
	var hash string
	if err := a.withRegistry(ctx, func(r store.Registry) (err error) {
		hash, err = r.ConsolePassword(ctx)
		return err
	}); err != nil {
		return err
	}
	if hash == "" {
		return ErrNoPassword
	}
	var v, m, t, p int
	f := strings.Split(hash, "$")
	if len(f) != 6 || f[1] != "argon2id" {
		return fmt.Errorf("%w: the stored hash is not Argon2id", ErrWrongPassword)
	}
	if _, err := fmt.Sscanf(f[2]+" "+f[3], "v=%d m=%d,t=%d,p=%d", &v, &m, &t, &p); err != nil || v != argon2.Version || m <= 0 || m > 1<<20 || t <= 0 || t > 10 || p <= 0 || p > 16 {
		return fmt.Errorf("%w: the stored hash's parameters are not usable", ErrWrongPassword)
	}
	enc := base64.RawStdEncoding
	salt, err1 := enc.DecodeString(f[4])
	want, err2 := enc.DecodeString(f[5])
	if err1 != nil || err2 != nil || len(want) == 0 {
		return fmt.Errorf("%w: the stored hash is damaged", ErrWrongPassword)
	}
	got := argon2.IDKey(pw, salt, uint32(t), uint32(m), uint8(p), uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrWrongPassword
	}
	return nil
}

// AsOperator returns the core acting for an operator who signed in to the
// console: the audit log records the OS user and the operator's name.
func (a *App) AsOperator(name string) *App {
	b := *a
	b.User = fmt.Sprintf("%s (console: %s)", a.User, name)
	return &b
}

// Note records a remark about an action in the audit log (the reason staff
// gave for a change), without personal data by the staff's care.
func (a *App) Note(ctx context.Context, action string, t Target, reason string) error {
	return a.withRegistry(ctx, func(r store.Registry) error {
		return r.Audit(ctx, store.AuditEntry{Action: store.ActionNote, MyKeyID: t.MyKeyID, Outcome: "ok", Detail: fmt.Sprintf("%s: %s", action, reason)})
	})
}

// SearchAudit returns the audit entries that match q, newest first, a page
// of them, and how many match in all.
func (a *App) SearchAudit(ctx context.Context, q store.AuditQuery) (page []store.AuditEntry, total int, err error) {
	err = a.withRegistry(ctx, func(r store.Registry) error {
		page, total, err = r.SearchAudit(ctx, q)
		return err
	})
	return page, total, err
}

// TapCounts counts the taps at the desk since a time, by outcome (counts
// only: no personal data).
func (a *App) TapCounts(ctx context.Context, since time.Time) (map[string]int, error) {
	log, _, err := a.SearchAudit(ctx, store.AuditQuery{From: since, Action: store.ActionScan})
	n := map[string]int{}
	for _, e := range log {
		if e.Action == store.ActionScan {
			n[e.Outcome]++
		}
	}
	return n, err
}
