package replica

import (
	"context"
	"database/sql"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/mykey-jp/mykey/store"
	"github.com/mykey-jp/mykey/store/sqlite"
)

// rebuild builds a new copy from one snapshot of the server beside the
// old one and puts it in its place. Two writers work at once, each into
// its own file from its own connection on the same snapshot: the
// certificates into one, the other tables into the other. The
// certificates then move into the copy whole (SQLite copies a table and
// its indexes between files of the same schema without decoding a row).
func (r *Replica) rebuild(ctx context.Context) error {
	tmp := r.path + ".build"
	side := tmp + "-certificates"
	remove := func() error {
		for _, p := range []string{tmp, side} {
			for _, f := range []string{p, p + "-wal", p + "-shm"} {
				if err := os.Remove(f); err != nil && !errors.Is(err, fs.ErrNotExist) {
					return err
				}
			}
		}
		return nil
	}
	if err := remove(); err != nil {
		return err
	}
	defer remove() // what is left of a build that failed, or of one moved into place
	var rev int64
	var rows int
	err := newCopy(ctx, tmp, r.opts)
	if err == nil {
		err = newCopy(ctx, side, r.opts)
	}
	if err == nil {
		err = r.snapshot(ctx, func(tx pgx.Tx, v int64) error {
			rev = v
			var err error
			rows, err = r.fillBoth(ctx, tx, tmp, side)
			return err
		})
	}
	if err == nil {
		err = merge(ctx, tmp, side, rev)
	}
	if err == nil {
		err = r.swap(ctx, tmp)
	}
	if err != nil {
		return err
	}
	r.synced(rev)
	if r.ropts.Event != nil {
		r.ropts.Event(Event{Kind: "rebuilt", N: rows, Rev: rev})
	}
	return nil
}

// newCopy makes an empty copy at path with the registry's schema.
func newCopy(ctx context.Context, path string, opts store.Options) error {
	// Bigger pages: fewer B-tree pages to fill for a million rows.
	pre, err := sql.Open("sqlite3", "file:"+filepath.ToSlash(path))
	if err != nil {
		return err
	}
	_, err = pre.ExecContext(ctx, "PRAGMA page_size = 16384; VACUUM")
	if cerr := pre.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	l, err := sqlite.OpenCopy(ctx, path, opts)
	if err != nil {
		return err
	}
	return l.Close()
}

// openBulk opens a copy being built for writing in bulk. The file is thrown
// away if anything fails: no journal, no flushes, no foreign keys (the
// server checked them), sort threads for the indexes, and a 32 MiB cache
// (8 times more built 1M cards no faster and held 320 MiB, not 90).
func openBulk(ctx context.Context, path string) (*sql.DB, error) {
	bulk, err := sql.Open("sqlite3", "file:"+filepath.ToSlash(path)+"?_journal_mode=OFF&_synchronous=OFF&_cache_size=-32768&_foreign_keys=off")
	if err != nil {
		return nil, err
	}
	bulk.SetMaxOpenConns(1) // the PRAGMAs are the connection's
	if _, err := bulk.ExecContext(ctx, fmt.Sprintf("PRAGMA threads = %d", runtime.NumCPU())); err != nil {
		bulk.Close()
		return nil, err
	}
	return bulk, nil
}

// fillBoth fills the copy at tmp with the tables other than certificates
// from tx, and the one at side with the certificates from a second
// connection on tx's snapshot, both at once; it returns the rows copied.
func (r *Replica) fillBoth(ctx context.Context, tx pgx.Tx, tmp, side string) (int, error) {
	var snap string
	if err := tx.QueryRow(ctx, "SELECT pg_export_snapshot()").Scan(&snap); err != nil {
		return 0, err
	}
	if strings.Trim(snap, "0123456789ABCDEFabcdef-") != "" {
		return 0, fmt.Errorf("the server named its snapshot %q", snap)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// A connection of its own, not the pool's: the pool may be small, and
	// it serves the desk meanwhile.
	conn, err := pgx.ConnectConfig(ctx, r.server.Pool().Config().ConnConfig.Copy())
	if err != nil {
		return 0, err
	}
	defer conn.Close(context.Background())
	var certs int
	done := make(chan error, 1)
	go func() {
		err := pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
			if _, err := tx.Exec(ctx, "SET TRANSACTION SNAPSHOT '"+snap+"'"); err != nil {
				return err
			}
			var err error
			certs, err = fill(ctx, tx, side, sideTables)
			return err
		})
		if err != nil {
			cancel() // the other writer stops too
		}
		done <- err
	}()
	n, err := fill(ctx, tx, tmp, mainTables)
	if err != nil {
		cancel()
	}
	// The error that stopped the build, not the other writer's stop.
	if serr := <-done; serr != nil && (err == nil || errors.Is(err, context.Canceled)) {
		err = serr
	}
	return n + certs, err
}

// fill copies the rows of ts from the server into the copy at path, its
// named indexes dropped before and built again after, and returns how many.
func fill(ctx context.Context, tx pgx.Tx, path string, ts []table) (int, error) {
	bulk, err := openBulk(ctx, path)
	if err != nil {
		return 0, err
	}
	defer bulk.Close()
	w, err := bulk.BeginTx(ctx, nil)
	if err != nil {
		return 0, err
	}
	defer w.Rollback()
	// The secondary indexes are built once at the end from all rows (a
	// sort), not row by row in random order; the rows come sorted by their
	// primary keys, which stay.
	indexes, err := dropIndexes(ctx, w, ts)
	if err != nil {
		return 0, err
	}
	n, err := copyTables(ctx, tx, w, ts)
	if err != nil {
		return n, err
	}
	for _, def := range indexes {
		if _, err := w.ExecContext(ctx, def); err != nil {
			return n, err
		}
	}
	if err := w.Commit(); err != nil {
		return n, err
	}
	return n, bulk.Close()
}

// merge moves the certificates from the copy at side into the one at tmp,
// and records the copy's revision there.
func merge(ctx context.Context, tmp, side string, rev int64) error {
	bulk, err := openBulk(ctx, tmp)
	if err != nil {
		return err
	}
	defer bulk.Close()
	if _, err := bulk.ExecContext(ctx, "ATTACH DATABASE ? AS side", side); err != nil {
		return err
	}
	w, err := bulk.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer w.Rollback()
	for _, q := range []string{
		// The same table and indexes on both sides, this one empty, no
		// foreign keys checked: SQLite's transfer, not row by row.
		"INSERT INTO main.certificates SELECT * FROM side.certificates",
		stateDDL,
		"INSERT INTO replica_state (key, value) VALUES ('rev', '" + strconv.FormatInt(rev, 10) + "')",
	} {
		if _, err := w.ExecContext(ctx, q); err != nil {
			return err
		}
	}
	if err := w.Commit(); err != nil {
		return err
	}
	if _, err := bulk.ExecContext(ctx, "DETACH DATABASE side"); err != nil {
		return err
	}
	return bulk.Close()
}

// swap puts the copy built at tmp in the place of the current one.
func (r *Replica) swap(ctx context.Context, tmp string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.local != nil {
		r.local.Close()
		r.local = nil
	}
	for _, p := range []string{r.path + "-wal", r.path + "-shm"} {
		os.Remove(p)
	}
	if err := os.Rename(tmp, r.path); err != nil {
		return err
	}
	var err error
	r.local, err = sqlite.OpenCopy(ctx, r.path, r.opts)
	return err
}

// copyTables copies every row of the replicated tables from the server into
// a new copy, parents first, and returns how many: copyBatch rows per
// INSERT statement, the next batch read from the server while one is
// written.
// copyTables copies every row of the replicated tables from the server into
// a new copy, parents first, and returns how many: copyBatch rows per
// INSERT statement, the next batch read from the server while one is
// written.
func copyTables(ctx context.Context, tx pgx.Tx, w *sql.Tx, ts []table) (int, error) {
	n := 0
	for _, t := range ts {
		rows, err := tx.Query(ctx, t.sel+buildOrder[t.name], rawFormats)
		if err != nil {
			return n, err
		}
		cols := len(rows.FieldDescriptions())
		batches := make(chan []any, 4)
		read := make(chan error, 1)
		go func() { read <- readBatches(rows, batches) }()
		written, err := insertBatches(ctx, w, t.ins, cols, batches)
		for range batches { // drain after a failed write
		}
		if rerr := <-read; err == nil {
			err = rerr
		}
		n += written
		if err != nil {
			return n, fmt.Errorf("copying %s: %w", t.name, err)
		}
	}
	return n, nil
}

// rawFormats asks the server for bytea and timestamptz columns in binary:
// the bytes as they are, the times as a number to format here (the
// server's to_char costs more than reading the rows).
var rawFormats = pgx.QueryResultFormatsByOID{
	pgtype.ByteaOID:       pgx.BinaryFormatCode,
	pgtype.TimestamptzOID: pgx.BinaryFormatCode,
}

// readBatches sends rows to batches, copyBatch rows at a time, as the
// values the copy stores (text, bytes, times as text), and closes both.
// A batch's values are cut from two buffers (one string for the text):
// two allocations a batch, not one a value.
func readBatches(rows pgx.Rows, batches chan<- []any) error {
	defer close(batches)
	defer rows.Close()
	fields := rows.FieldDescriptions()
	kinds := make([]byte, len(fields))
	for i, f := range fields {
		switch {
		case f.DataTypeOID == pgtype.TextOID:
			kinds[i] = 't' // text is the same bytes in either format
		case f.DataTypeOID == pgtype.ByteaOID && f.Format == pgx.BinaryFormatCode:
			kinds[i] = 'b'
		case f.DataTypeOID == pgtype.TimestamptzOID && f.Format == pgx.BinaryFormatCode:
			kinds[i] = 'T'
		default:
			return fmt.Errorf("column %s: type %d in format %d is not one the copy takes", f.Name, f.DataTypeOID, f.Format)
		}
	}
	type span struct {
		from, to int
		kind     byte // 0 NULL, 'b' bytes, else text
	}
	var buf []byte
	times := make([]timeText, len(kinds)) // a date kept per column
	spans := make([]span, 0, copyBatch*len(kinds))
	send := func() {
		text := string(buf)
		vals := make([]any, len(spans))
		for i, sp := range spans {
			switch sp.kind {
			case 0:
			case 'b':
				vals[i] = buf[sp.from:sp.to:sp.to]
			default:
				vals[i] = text[sp.from:sp.to]
			}
		}
		batches <- vals
		buf, spans = nil, spans[:0]
	}
	for rows.Next() {
		for i, raw := range rows.RawValues() {
			sp := span{from: len(buf)}
			switch {
			case raw == nil:
			case kinds[i] == 'T':
				var err error
				if buf, err = times[i].append(buf, raw); err != nil {
					return fmt.Errorf("column %s: %w", fields[i].Name, err)
				}
				sp.kind = 't'
			default:
				buf = append(buf, raw...)
				sp.kind = kinds[i]
			}
			sp.to = len(buf)
			spans = append(spans, sp)
		}
		if len(spans) == cap(spans) {
			send()
		}
	}
	if err := rows.Err(); err != nil {
		return err
	}
	if len(spans) > 0 {
		send()
	}
	return nil
}

// timeText formats the server's binary times (microseconds since
// 2000-01-01 UTC) as the copy keeps them: "2006-01-02T15:04:05Z", whole
// seconds, as pullQuery's utc() has the server format them. It keeps the
// last day's date: rows registered on one day share it.
type timeText struct {
	day  int64
	date []byte // "2006-01-02T" of day
}

// pgEpoch is 2000-01-01 UTC in Unix seconds.
const pgEpoch = 946684800

func (t *timeText) append(buf, raw []byte) ([]byte, error) {
	if len(raw) != 8 {
		return buf, fmt.Errorf("a time of %d bytes", len(raw))
	}
	us := int64(binary.BigEndian.Uint64(raw))
	if us == math.MaxInt64 || us == math.MinInt64 {
		return buf, errors.New("an infinite time")
	}
	sec := floorDiv(us, 1e6) + pgEpoch
	day := floorDiv(sec, 86400)
	if t.date == nil || day != t.day {
		t.day, t.date = day, time.Unix(day*86400, 0).UTC().AppendFormat(t.date[:0], "2006-01-02T")
	}
	s := sec - day*86400
	h, m := s/3600, s/60%60
	s %= 60
	return append(append(buf, t.date...), byte('0'+h/10), byte('0'+h%10), ':', byte('0'+m/10), byte('0'+m%10), ':', byte('0'+s/10), byte('0'+s%10), 'Z'), nil
}

// floorDiv divides rounding down (times before 2000 are negative).
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// insertBatches writes each batch of rows (cols values each) with one
// INSERT statement. It runs the statement with Query, not Exec: the
// driver binds a query's values in one call into SQLite and an Exec's one
// call per value (a million rows have millions of values); the INSERT
// returns no rows and runs at the query's first step, errors included.
func insertBatches(ctx context.Context, w *sql.Tx, ins string, cols int, batches <-chan []any) (int, error) {
	one := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	stmts := map[int]*sql.Stmt{}
	defer func() {
		for _, st := range stmts {
			st.Close()
		}
	}()
	n := 0
	for vals := range batches {
		k := len(vals) / cols
		st := stmts[k]
		if st == nil {
			var err error
			if st, err = w.PrepareContext(ctx, ins+strings.TrimSuffix(strings.Repeat(one+", ", k), ", ")); err != nil {
				return n, err
			}
			stmts[k] = st
		}
		q, err := st.QueryContext(ctx, vals...)
		if err == nil {
			err = q.Close()
		}
		if err != nil {
			return n, err
		}
		n += k
	}
	return n, nil
}

// copyBatch is how many rows one statement writes into the copy.
const copyBatch = 2000 // × 6 columns at most: under SQLite's 32,766 parameters

// table is a replicated table: how to read it on the server and write it
// into a new copy.
type table struct{ name, sel, ins string }

// The replicated tables, parents first, as fillBoth writes them: the
// certificates into a file of their own, the others into the copy.
var (
	sideTables = []table{
		{"certificates", "SELECT pseudonym, mykey_id, not_after, status, registered_at FROM certificates",
			"INSERT INTO certificates (pseudonym, mykey_id, not_after, status, registered_at) VALUES "},
	}
	mainTables = []table{
		{"mykey_ids", "SELECT id, created_at FROM mykey_ids", "INSERT INTO mykey_ids (id, created_at) VALUES "},
		{"links", "SELECT service, mykey_id, patron, linked_at FROM links", "INSERT INTO links (service, mykey_id, patron, linked_at) VALUES "},
		{"genuine", "SELECT mykey_id, mode, dob, card_key, key_fp, captured_at FROM genuine",
			"INSERT INTO genuine (mykey_id, mode, dob, card_key, key_fp, captured_at) VALUES "},
		{"meta", "SELECT key, value FROM meta", "INSERT INTO meta (key, value) VALUES "},
	}
)

// buildOrder sorts each table by its primary key in the copy (bytewise,
// as SQLite compares), so that a full build appends to those indexes.
var buildOrder = map[string]string{
	"mykey_ids":    ` ORDER BY id COLLATE "C"`,
	"certificates": " ORDER BY pseudonym",
	"genuine":      ` ORDER BY mykey_id COLLATE "C"`,
}

// dropIndexes drops the named indexes of ts in the copy and returns their
// definitions (from the schema the migrations made: they stay its only
// source).
func dropIndexes(ctx context.Context, w *sql.Tx, ts []table) ([]string, error) {
	q, err := w.QueryContext(ctx, "SELECT name, tbl_name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
	if err != nil {
		return nil, err
	}
	var names, defs []string
	for q.Next() {
		var name, tbl, def string
		if err := q.Scan(&name, &tbl, &def); err != nil {
			q.Close()
			return nil, err
		}
		if slices.ContainsFunc(ts, func(t table) bool { return t.name == tbl }) {
			names, defs = append(names, name), append(defs, def)
		}
	}
	if err := q.Close(); err != nil {
		return nil, err
	}
	for _, name := range names {
		if _, err := w.ExecContext(ctx, "DROP INDEX "+name); err != nil {
			return nil, err
		}
	}
	return defs, nil
}
