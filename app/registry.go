package app

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mykey-jp/mykey/keyid"
	"github.com/mykey-jp/mykey/store"
)

// Selector names a MyKey ID and/or a patron number of one service, as the
// user typed them.
type Selector struct {
	MyKeyID, Patron, Service string
}

// Target is a checked Selector: the parsed MyKey ID and normalised patron
// number (either may be empty) and the service (the configured one when
// none was named).
type Target struct {
	MyKeyID keyid.ID
	Patron  string
	Service string
}

// Resolve checks s: the MyKey ID's form and check character, the patron
// number against the configured rule. Errors are *keyid.ParseError and
// *keyid.PatronError.
func (a *App) Resolve(s Selector) (Target, error) {
	t := Target{Service: a.Service(s.Service)}
	var err error
	if s.MyKeyID != "" {
		if t.MyKeyID, err = keyid.Parse(s.MyKeyID); err != nil {
			return t, err
		}
	}
	if s.Patron != "" {
		rule, err := a.PatronRule()
		if err != nil {
			return t, err
		}
		if t.Patron, err = rule.Check(s.Patron); err != nil {
			return t, err
		}
	}
	return t, nil
}

// Link links t's MyKey ID to its patron number; replace relinks either
// one's old link. changed is false when the link already was so.
func (a *App) Link(ctx context.Context, t Target, replace bool) (changed bool, err error) {
	err = a.withRegistry(ctx, func(r store.Registry) error {
		changed, err = r.Link(ctx, t.Service, t.MyKeyID, t.Patron, store.LinkOptions{Replace: replace})
		return err
	})
	return changed, err
}

// ErrIDNotLinked means the MyKey ID to unlink has no link (it wraps
// store.ErrNotFound).
var ErrIDNotLinked = fmt.Errorf("MyKey ID is not linked: %w", store.ErrNotFound)

// Unlink removes the link of t's MyKey ID, or else of its patron number,
// and returns the removed link (ErrIDNotLinked, or store.ErrNotFound for a
// patron number, when there is none).
func (a *App) Unlink(ctx context.Context, t Target) (l store.Link, err error) {
	err = a.withRegistry(ctx, func(r store.Registry) error {
		if t.MyKeyID != "" {
			if l, err = r.UnlinkID(ctx, t.Service, t.MyKeyID); errors.Is(err, store.ErrNotFound) {
				err = ErrIDNotLinked
			}
		} else {
			l, err = r.UnlinkPatron(ctx, t.Service, t.Patron)
		}
		return err
	})
	return l, err
}

// Lookup finds the entry of t's MyKey ID, or else of its patron number.
// Every lookup is audited, found or not.
func (a *App) Lookup(ctx context.Context, t Target) (e store.Entry, err error) {
	err = a.withRegistry(ctx, func(r store.Registry) error {
		if t.MyKeyID != "" {
			e, err = r.LookupID(ctx, t.Service, t.MyKeyID)
		} else {
			e, err = r.LookupPatron(ctx, t.Service, t.Patron)
		}
		if aerr := r.Audit(ctx, store.AuditEntry{Action: store.ActionLookup, MyKeyID: e.MyKeyID, Outcome: store.Outcome(err), Detail: "service=" + t.Service}); aerr != nil {
			return aerr
		}
		return err
	})
	return e, err
}

// Certificates returns the certificates registered to id, newest first:
// validity and state (active, superseded by a renewed card, revoked).
func (a *App) Certificates(ctx context.Context, id keyid.ID) (list []store.Certificate, err error) {
	err = a.withRegistry(ctx, func(r store.Registry) error {
		list, err = r.Certificates(ctx, id)
		return err
	})
	return list, err
}

// List returns every MyKey ID with its link for service; listing is
// audited.
func (a *App) List(ctx context.Context, service string) (list []store.Entry, err error) {
	service = a.Service(service)
	err = a.withRegistry(ctx, func(r store.Registry) error {
		if list, err = r.List(ctx, service); err != nil {
			return err
		}
		return r.Audit(ctx, store.AuditEntry{Action: store.ActionList, Outcome: "ok", Detail: fmt.Sprintf("service=%s entries=%d", service, len(list))})
	})
	return list, err
}

// NewIDs mints and registers n MyKey IDs. each, when not nil, is called
// with every ID as it is registered.
func (a *App) NewIDs(ctx context.Context, n int, each func(keyid.ID)) (ids []keyid.ID, err error) {
	err = a.withRegistry(ctx, func(r store.Registry) error {
		for range n {
			id, err := r.NewID(ctx)
			if err != nil {
				return err
			}
			ids = append(ids, id)
			if each != nil {
				each(id)
			}
		}
		return nil
	})
	return ids, err
}

// ParseSince reads the start of an audit period: a date (from its local
// midnight) or an RFC 3339 time.
func ParseSince(s string) (time.Time, error) {
	if t, err := time.ParseInLocation(time.DateOnly, s, time.Local); err == nil {
		return t, nil
	}
	return time.Parse(time.RFC3339, s)
}

// AuditLog returns the newest limit entries (0: all), oldest first, from
// since on.
func (a *App) AuditLog(ctx context.Context, since time.Time, limit int) (log []store.AuditEntry, err error) {
	err = a.withRegistry(ctx, func(r store.Registry) error {
		all, err := r.AuditLog(ctx, limit)
		for _, e := range all {
			if !e.At.Before(since) {
				log = append(log, e)
			}
		}
		return err
	})
	return log, err
}

// VerifyAudit checks the audit log's hash chain; a break is a
// *store.AuditBreakError naming the first entry that does not follow.
func (a *App) VerifyAudit(ctx context.Context) (n int, err error) {
	err = a.withRegistry(ctx, func(r store.Registry) error {
		n, err = r.VerifyAudit(ctx)
		return err
	})
	return n, err
}

// backuper opens the registry as a store.Backuper.
func (a *App) withBackuper(ctx context.Context, fn func(b store.Backuper) error) error {
	return a.withRegistry(ctx, func(r store.Registry) error {
		b, ok := r.(store.Backuper)
		if !ok {
			return store.ErrNoBackup
		}
		return fn(b)
	})
}

// Backup writes a consistent copy of the registry to path (never the
// pseudonym key); an existing path is fs.ErrExist.
func (a *App) Backup(ctx context.Context, path string) error {
	return a.withBackuper(ctx, func(b store.Backuper) error { return b.Backup(ctx, path) })
}

// Restore replaces the registry's content with the backup at path, rebuilt
// under this version's schema and verified first (store.ErrNotRegistry,
// store.ErrCorrupt, store.ErrKeyMismatch leave the registry as it was).
func (a *App) Restore(ctx context.Context, path string) (rep store.RestoreReport, err error) {
	err = a.withBackuper(ctx, func(b store.Backuper) error {
		rep, err = b.Restore(ctx, path)
		return err
	})
	return rep, err
}

// Entry is the outside form of a registry entry (JSON for scripts and the
// console).
type Entry struct {
	MyKeyID      string `json:"mykey_id"`
	CreatedAt    string `json:"created_at"`
	Service      string `json:"service"`
	Patron       string `json:"patron,omitempty"`
	LinkedAt     string `json:"linked_at,omitempty"`
	Certificates int    `json:"certificates"`
}

// EntryView returns e's outside form.
func EntryView(service string, e store.Entry) Entry {
	j := Entry{MyKeyID: string(e.MyKeyID), CreatedAt: e.CreatedAt.Format(time.RFC3339), Service: service, Certificates: e.Certificates}
	if e.Link != nil {
		j.Patron, j.LinkedAt = e.Link.Patron, e.Link.LinkedAt.Format(time.RFC3339)
	}
	return j
}

// EntryViews returns the outside form of entries.
func EntryViews(service string, list []store.Entry) []Entry {
	out := make([]Entry, len(list))
	for i, e := range list {
		out[i] = EntryView(service, e)
	}
	return out
}

// AuditEntry is the outside form of an audit entry.
type AuditEntry struct {
	Seq     int64  `json:"seq"`
	At      string `json:"at"`
	User    string `json:"user"`
	Action  string `json:"action"`
	MyKeyID string `json:"mykey_id"`
	Outcome string `json:"outcome"`
	Detail  string `json:"detail"`
}

// AuditViews returns the outside form of audit entries.
func AuditViews(log []store.AuditEntry) []AuditEntry {
	out := make([]AuditEntry, len(log))
	for i, e := range log {
		out[i] = AuditEntry{e.Seq, e.At.Format(time.RFC3339), e.User, e.Action, string(e.MyKeyID), e.Outcome, e.Detail}
	}
	return out
}

// Subject is what a registry refusal is about, for its message: the patron
// number for refusals about it, else the MyKey ID.
func Subject(err error, t Target) string {
	if errors.Is(err, store.ErrPatronLinked) || errors.Is(err, store.ErrNotInRoster) || errors.Is(err, store.ErrPatronInactive) {
		return t.Patron
	}
	return string(t.MyKeyID)
}
