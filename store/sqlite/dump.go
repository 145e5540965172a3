package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/mykey-jp/mykey/keyid"
	"github.com/mykey-jp/mykey/store"
)

// Dump reads the whole registry in one read transaction.
func (d *DB) Dump(ctx context.Context) (*store.Dump, error) {
	tx, err := d.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, d.wrap(err)
	}
	defer tx.Rollback()
	out := &store.Dump{Meta: map[string]string{}, Genuine: map[keyid.ID]store.Genuine{}}
	each := func(q string, scan func(*sql.Rows) error) error {
		rows, err := tx.QueryContext(ctx, q)
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
	var a, b, c string
	err = each("SELECT id, created_at FROM mykey_ids ORDER BY rowid", func(r *sql.Rows) error {
		var id store.DumpID
		err := r.Scan((*string)(&id.ID), &a)
		id.Created = parseTime(a)
		out.IDs = append(out.IDs, id)
		return err
	})
	if err == nil {
		err = each("SELECT pseudonym, mykey_id, not_after, status, registered_at FROM certificates", func(r *sql.Rows) error {
			var ce store.Certificate
			var p []byte
			err := r.Scan(&p, (*string)(&ce.MyKeyID), &a, (*string)(&ce.Status), &b)
			copy(ce.Pseudonym[:], p)
			ce.NotAfter, ce.RegisteredAt = parseTime(a), parseTime(b)
			out.Certs = append(out.Certs, ce)
			return err
		})
	}
	if err == nil {
		err = each("SELECT service, mykey_id, patron, linked_at FROM links", func(r *sql.Rows) error {
			var l store.Link
			err := r.Scan(&l.Service, (*string)(&l.MyKeyID), &l.Patron, &a)
			l.LinkedAt = parseTime(a)
			out.Links = append(out.Links, l)
			return err
		})
	}
	if err == nil {
		err = each("SELECT service, loaded_at, patrons FROM rosters", func(r *sql.Rows) error {
			var ro store.DumpRoster
			err := r.Scan(&ro.Service, &a, &ro.Patrons)
			ro.LoadedAt = parseTime(a)
			out.Rosters = append(out.Rosters, ro)
			return err
		})
	}
	if err == nil {
		err = each("SELECT service, patron, active, expires FROM roster_patrons", func(r *sql.Rows) error {
			var p store.DumpPatron
			err := r.Scan(&p.Service, &p.Patron, &p.Active, &c)
			p.Expires, _ = time.Parse(time.DateOnly, c)
			out.Patrons = append(out.Patrons, p)
			return err
		})
	}
	if err == nil {
		err = each("SELECT key, value FROM meta", func(r *sql.Rows) error {
			err := r.Scan(&a, &b)
			out.Meta[a] = b
			return err
		})
	}
	if err == nil {
		err = each("SELECT mykey_id, mode, dob, card_key, key_fp, captured_at FROM genuine", func(r *sql.Rows) error {
			var g store.Genuine
			var id string
			err := r.Scan(&id, &g.Mode, &g.DOB, &g.CardKey, &g.KeyFP, &a)
			g.CapturedAt = parseTime(a)
			out.Genuine[keyid.ID(id)] = g
			return err
		})
	}
	if err == nil {
		out.Audit, err = readAudit(ctx, tx, "")
	}
	return out, d.wrap(err)
}
