package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mykey-jp/mykey/keyid"
	"github.com/mykey-jp/mykey/store"
)

// ErrNotEmpty means a registry to load into holds other data.
var ErrNotEmpty = errors.New("the target registry already holds other data")

// Dump reads the whole registry in one repeatable-read transaction.
func (d *DB) Dump(ctx context.Context) (*store.Dump, error) {
	out := &store.Dump{Meta: map[string]string{}, Genuine: map[keyid.ID]store.Genuine{}}
	err := pgx.BeginTxFunc(ctx, d.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		each := func(q string, scan func(pgx.Rows) error) error {
			rows, err := tx.Query(ctx, q)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				if err := scan(rows); err != nil {
					return err
				}
			}
			return rows.Err()
		}
		var err error
		for _, step := range []func() error{
			func() error {
				return each("SELECT id, created_at FROM mykey_ids ORDER BY ord", func(r pgx.Rows) error {
					var id store.DumpID
					err := r.Scan((*string)(&id.ID), &id.Created)
					out.IDs = append(out.IDs, id)
					return err
				})
			},
			func() error {
				return each("SELECT pseudonym, mykey_id, not_after, status, registered_at FROM certificates", func(r pgx.Rows) error {
					var c store.Certificate
					var p []byte
					err := r.Scan(&p, (*string)(&c.MyKeyID), &c.NotAfter, (*string)(&c.Status), &c.RegisteredAt)
					copy(c.Pseudonym[:], p)
					out.Certs = append(out.Certs, c)
					return err
				})
			},
			func() error {
				return each("SELECT service, mykey_id, patron, linked_at FROM links", func(r pgx.Rows) error {
					var l store.Link
					err := r.Scan(&l.Service, (*string)(&l.MyKeyID), &l.Patron, &l.LinkedAt)
					out.Links = append(out.Links, l)
					return err
				})
			},
			func() error {
				return each("SELECT service, loaded_at, patrons FROM rosters", func(r pgx.Rows) error {
					var ro store.DumpRoster
					err := r.Scan(&ro.Service, &ro.LoadedAt, &ro.Patrons)
					out.Rosters = append(out.Rosters, ro)
					return err
				})
			},
			func() error {
				return each("SELECT service, patron, active, expires FROM roster_patrons", func(r pgx.Rows) error {
					var p store.DumpPatron
					var exp *time.Time
					err := r.Scan(&p.Service, &p.Patron, &p.Active, &exp)
					if exp != nil {
						p.Expires = *exp
					}
					out.Patrons = append(out.Patrons, p)
					return err
				})
			},
			func() error {
				return each("SELECT key, value FROM meta", func(r pgx.Rows) error {
					var k, v string
					err := r.Scan(&k, &v)
					out.Meta[k] = v
					return err
				})
			},
			func() error {
				return each("SELECT mykey_id, mode, dob, card_key, key_fp, captured_at FROM genuine", func(r pgx.Rows) error {
					var g store.Genuine
					var id string
					err := r.Scan(&id, &g.Mode, &g.DOB, &g.CardKey, &g.KeyFP, &g.CapturedAt)
					out.Genuine[keyid.ID(id)] = g
					return err
				})
			},
			func() (err error) {
				out.Audit, err = readAudit(ctx, tx, "ORDER BY seq", false)
				return err
			},
		} {
			if err = step(); err != nil {
				return err
			}
		}
		return nil
	})
	return out, d.wrap(err)
}

// Load writes dump into this registry, which must be empty, in one
// transaction (COPY per table; the audit log keeps its sequence numbers and
// hashes, so its chain still verifies).
func (d *DB) Load(ctx context.Context, dump *store.Dump) error {
	return d.wrap(d.tx(ctx, func(tx pgx.Tx) error {
		var n int
		if err := tx.QueryRow(ctx, "SELECT (SELECT count(*) FROM mykey_ids) + (SELECT count(*) FROM audit) + (SELECT count(*) FROM meta) + (SELECT count(*) FROM rosters)").Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrNotEmpty
		}
		copyRows := func(table string, cols []string, n int, row func(int) []any) error {
			_, err := tx.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromSlice(n, func(i int) ([]any, error) { return row(i), nil }))
			if err != nil {
				return fmt.Errorf("%s: %w", table, err)
			}
			return nil
		}
		utc := func(t time.Time) time.Time { return t.UTC().Truncate(time.Second) }
		meta := slices.Sorted(maps.Keys(dump.Meta))
		genuine := slices.Sorted(maps.Keys(dump.Genuine))
		for _, err := range []func() error{
			func() error {
				return copyRows("mykey_ids", []string{"id", "created_at"}, len(dump.IDs), func(i int) []any {
					return []any{string(dump.IDs[i].ID), utc(dump.IDs[i].Created)}
				})
			},
			func() error {
				return copyRows("certificates", []string{"pseudonym", "mykey_id", "not_after", "status", "registered_at"}, len(dump.Certs), func(i int) []any {
					c := dump.Certs[i]
					return []any{c.Pseudonym[:], string(c.MyKeyID), utc(c.NotAfter), string(c.Status), utc(c.RegisteredAt)}
				})
			},
			func() error {
				return copyRows("links", []string{"service", "mykey_id", "patron", "linked_at"}, len(dump.Links), func(i int) []any {
					l := dump.Links[i]
					return []any{l.Service, string(l.MyKeyID), l.Patron, utc(l.LinkedAt)}
				})
			},
			func() error {
				return copyRows("rosters", []string{"service", "loaded_at", "patrons"}, len(dump.Rosters), func(i int) []any {
					r := dump.Rosters[i]
					return []any{r.Service, utc(r.LoadedAt), r.Patrons}
				})
			},
			func() error {
				return copyRows("roster_patrons", []string{"service", "patron", "active", "expires"}, len(dump.Patrons), func(i int) []any {
					p := dump.Patrons[i]
					var exp any
					if !p.Expires.IsZero() {
						exp = p.Expires
					}
					return []any{p.Service, p.Patron, p.Active, exp}
				})
			},
			func() error {
				return copyRows("meta", []string{"key", "value"}, len(meta), func(i int) []any { return []any{meta[i], dump.Meta[meta[i]]} })
			},
			func() error {
				return copyRows("genuine", []string{"mykey_id", "mode", "dob", "card_key", "key_fp", "captured_at"}, len(genuine), func(i int) []any {
					g := dump.Genuine[genuine[i]]
					return []any{string(genuine[i]), g.Mode, nullBytes(g.DOB), nullBytes(g.CardKey), g.KeyFP, utc(g.CapturedAt)}
				})
			},
			func() error {
				return copyRows("audit", []string{"seq", "at", "os_user", "action", "mykey_id", "outcome", "detail", "hash"}, len(dump.Audit), func(i int) []any {
					e := dump.Audit[i]
					return []any{e.Seq, utc(e.At), e.User, e.Action, string(e.MyKeyID), e.Outcome, e.Detail, e.Hash}
				})
			},
		} {
			if err := err(); err != nil {
				return err
			}
		}
		return nil
	}))
}
