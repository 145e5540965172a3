package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/mykey-jp/mykey/keyid"
	"github.com/mykey-jp/mykey/store"
)

var _ store.StreamImporter = (*DB)(nil)

// ImportLinks implements store.Registry.
func (d *DB) ImportLinks(ctx context.Context, rows []store.BatchLink, keep func([]store.BatchResult) bool) ([]store.BatchResult, bool, error) {
	return d.ImportLinksFrom(ctx, func() ([]store.BatchLink, error) { return rows, nil }, keep, nil)
}

// ImportLinksFrom implements store.StreamImporter. Under the write lock, it
// reads the MyKey IDs (while rowsFn parses on the other core) and the
// involved services' links, checks the rows in memory with the rules the
// SQLite registry uses, and COPYs the new links into the links table in
// MyKey ID order, all in one transaction: a failure, a kill of mykey or of
// the server leaves the registry as it was.
func (d *DB) ImportLinksFrom(ctx context.Context, rowsFn func() ([]store.BatchLink, error), keep func([]store.BatchResult) bool, progress func(written, total int)) ([]store.BatchResult, bool, error) {
	var rows []store.BatchLink
	var results []store.BatchResult
	errRollback := errors.New("rollback")
	err := d.tx(ctx, func(tx pgx.Tx) error {
		var add []int32
		var err error
		rows, results, add, err = store.PlanImport(rowsFn, store.ImportSource{
			IDs: func() (all string, err error) {
				err = tx.QueryRow(ctx, "SELECT coalesce(string_agg(id, ''), '') FROM mykey_ids").Scan(&all)
				return all, err
			},
			Links: func(service string, add func(keyid.ID, string)) error {
				q, err := tx.Query(ctx, "SELECT mykey_id, patron FROM links WHERE service = $1", service)
				if err != nil {
					return err
				}
				defer q.Close()
				for q.Next() {
					var id, p string
					if err := q.Scan(&id, &p); err != nil {
						return err
					}
					add(keyid.ID(id), p)
				}
				return q.Err()
			},
			Roster: func(service string) (store.Roster, error) { return d.loadRoster(ctx, tx, service) },
		}, d.now(), keep)
		if err != nil {
			return err
		}
		if add == nil {
			return errRollback
		}
		if len(add) > 0 {
			if err := d.copyLinks(ctx, tx, &linkSource{rows: rows, add: add, at: d.now(), progress: progress}); err != nil {
				return err
			}
		}
		return d.appendAudit(ctx, tx, store.AuditEntry{Action: store.ActionImportLinks, Outcome: "ok", Detail: store.BatchDetail(results)}, "")
	})
	if errors.Is(err, errRollback) {
		return results, false, nil
	}
	if err != nil {
		return results, false, d.wrap(err)
	}
	return results, true, nil
}

// bulkFrom is how many new links make an import check the links' foreign
// key once for all rows instead of row by row.
const bulkFrom = 10000

// copyLinks COPYs the new links. Many of them: the links' foreign keys are
// dropped first and added back after (read from the catalogue, so the
// migrations stay their only definition), which checks them in one join
// instead of a look-up per row; every row was checked against the MyKey
// IDs under the write lock already, and a failure or a crash rolls the
// drop back with the rest.
func (d *DB) copyLinks(ctx context.Context, tx pgx.Tx, src *linkSource) error {
	var fks [][2]string
	if len(src.add) >= bulkFrom {
		rows, err := tx.Query(ctx, "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'links'::regclass AND contype = 'f' ORDER BY conname")
		if err != nil {
			return err
		}
		if fks, err = pgx.CollectRows(rows, func(r pgx.CollectableRow) ([2]string, error) {
			var fk [2]string
			return fk, r.Scan(&fk[0], &fk[1])
		}); err != nil {
			return err
		}
		for _, fk := range fks {
			if _, err := tx.Exec(ctx, "ALTER TABLE links DROP CONSTRAINT "+pgx.Identifier{fk[0]}.Sanitize()); err != nil {
				return err
			}
		}
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"links"}, []string{"service", "mykey_id", "patron", "linked_at"}, src); err != nil {
		return err
	}
	for _, fk := range fks {
		if _, err := tx.Exec(ctx, "ALTER TABLE links ADD CONSTRAINT "+pgx.Identifier{fk[0]}.Sanitize()+" "+fk[1]); err != nil {
			return err
		}
	}
	return nil
}

// linkSource feeds the new links to COPY and reports progress every
// progressEvery rows.
type linkSource struct {
	rows     []store.BatchLink
	add      []int32
	at       any
	i        int
	progress func(written, total int)
}

const progressEvery = 10000

func (s *linkSource) Next() bool {
	if s.progress != nil && s.i > 0 && (s.i%progressEvery == 0 || s.i == len(s.add)) {
		s.progress(s.i, len(s.add))
	}
	s.i++
	return s.i <= len(s.add)
}

func (s *linkSource) Values() ([]any, error) {
	r := s.rows[s.add[s.i-1]]
	return []any{r.Service, string(r.MyKeyID), r.Patron, s.at}, nil
}

func (s *linkSource) Err() error { return nil }
