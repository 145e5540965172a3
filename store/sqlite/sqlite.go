// Package sqlite is the registry on a SQLite file: WAL journal, foreign keys,
// a busy timeout so that several processes can share the file, versioned
// migrations embedded in the binary, and a database file readable by its
// owner only.
package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strings"
	"time"

	sqlite3 "github.com/mattn/go-sqlite3"

	"github.com/mykey-jp/mykey/keyid"
	"github.com/mykey-jp/mykey/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// BusyTimeout is how long a writer waits for another process's lock before
// failing with store.ErrBusy. Tests shorten it.
var BusyTimeout = 10 * time.Second

// DB is the SQLite registry.
type DB struct {
	db   *sql.DB
	path string
	opts store.Options
}

var _ store.Registry = (*DB)(nil)

// Open opens the registry at path, creating the file (mode 0600) and its
// directory (0700) if needed, and applies pending migrations. Errors unwrap to
// store.ErrCannotOpen, ErrReadOnly, ErrCorrupt, ErrBusy or ErrSchemaTooNew
// and name the file.
func Open(ctx context.Context, path string, opts store.Options) (*DB, error) {
	return open(ctx, path, opts, "FULL")
}

// OpenCopy is Open for a copy that can be fetched again (a desk's replica
// of the shared registry): commits are not flushed to disk one by one (WAL
// with synchronous NORMAL), so a power cut may lose the last ones but never
// leaves the file inconsistent.
func OpenCopy(ctx context.Context, path string, opts store.Options) (*DB, error) {
	return open(ctx, path, opts, "NORMAL")
}

func open(ctx context.Context, path string, opts store.Options, synchronous string) (*DB, error) {
	if err := create(ctx, path); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(BusyTimeout.Milliseconds()))
	q.Set("_foreign_keys", "on")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", synchronous)
	q.Set("_txlock", "immediate")
	q.Set("_stmt_cache_size", "32") // a tap's queries are prepared once per connection
	db, err := sql.Open("sqlite3", "file:"+filepath.ToSlash(path)+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	// Opening a connection runs the pragmas above: keep a few open for
	// readers that come together (taps, a desk's copy being updated).
	db.SetMaxIdleConns(8)
	d := &DB{db: db, path: path, opts: opts}
	if err := d.migrate(ctx); err != nil {
		db.Close()
		return nil, d.wrap(err)
	}
	return d, nil
}

// create makes sure path holds a database file. An existing file must be a
// regular file with content: an empty one is a damaged registry
// (store.ErrCorrupt), never started anew. A new registry is made complete
// (migrated, owner-only) in a temporary file beside it and then linked into
// place, so that no one ever sees it half made; its folder is created 0700.
// SQLite copies the main file's mode to its -wal and -shm files.
func create(ctx context.Context, path string) error {
	fi, err := os.Stat(path)
	switch {
	case err == nil && !fi.Mode().IsRegular():
		return fmt.Errorf("%w: not a regular file (%s)", store.ErrCannotOpen, fi.Mode().Type())
	case err == nil && fi.Size() == 0:
		return fmt.Errorf("%w: the file is empty (0 bytes): restore the registry from a backup", store.ErrCorrupt)
	case err == nil:
		return nil
	case !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("%w: %w", classifyOS(err), err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("%w: %w", classifyOS(err), err)
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".new-*.tmp")
	if err != nil {
		return fmt.Errorf("%w: %w", classifyOS(err), err)
	}
	tmp := f.Name()
	f.Close()
	defer removeDB(tmp)
	if err := os.Chmod(tmp, 0o600); err != nil {
		return err
	}
	db, err := sql.Open("sqlite3", "file:"+filepath.ToSlash(tmp)+"?_foreign_keys=on")
	if err != nil {
		return err
	}
	err = (&DB{db: db, path: tmp}).migrate(ctx)
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Link(tmp, path); err != nil && !errors.Is(err, fs.ErrExist) { // another process made it first: use theirs
		return fmt.Errorf("%w: %w", classifyOS(err), err)
	}
	return nil
}

func classifyOS(err error) error {
	if errors.Is(err, fs.ErrPermission) {
		return store.ErrReadOnly
	}
	return store.ErrCannotOpen
}

// wrap maps SQLite failures to the store's sentinels and names the file.
func (d *DB) wrap(err error) error {
	if err == nil {
		return nil
	}
	var se sqlite3.Error
	if errors.As(err, &se) {
		var s error
		switch se.Code {
		case sqlite3.ErrNotADB, sqlite3.ErrCorrupt:
			s = store.ErrCorrupt
		case sqlite3.ErrReadonly, sqlite3.ErrPerm:
			s = store.ErrReadOnly
		case sqlite3.ErrCantOpen:
			s = store.ErrCannotOpen
		case sqlite3.ErrBusy, sqlite3.ErrLocked:
			s = store.ErrBusy
		}
		if s != nil {
			return fmt.Errorf("%s: %w: %w", d.path, s, err)
		}
	}
	if errors.Is(err, store.ErrSchemaTooNew) || errors.Is(err, store.ErrCorrupt) {
		return fmt.Errorf("%s: %w", d.path, err)
	}
	return err
}

// Path returns the database file's path.
func (d *DB) Path() string { return d.path }

// migrate applies the embedded migrations newer than the database's
// user_version, each in its own transaction.
func (d *DB) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	var version int
	if err := d.db.QueryRowContext(ctx, "PRAGMA user_version").Scan(&version); err != nil {
		return err
	}
	if version > len(names) {
		return fmt.Errorf("%w: schema version %d, this mykey knows up to %d", store.ErrSchemaTooNew, version, len(names))
	}
	if version == 0 {
		// A non-empty file that is not ours must not be written to.
		var n int
		if err := d.db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master").Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return fmt.Errorf("%w: it holds tables but no mykey schema version", store.ErrCorrupt)
		}
	}
	for i := version; i < len(names); i++ {
		body, err := migrations.ReadFile(names[i])
		if err != nil {
			return err
		}
		err = d.tx(ctx, func(tx *sql.Tx) error {
			// Re-check inside the write lock: another process may have
			// migrated meanwhile.
			var v int
			if err := tx.QueryRowContext(ctx, "PRAGMA user_version").Scan(&v); err != nil {
				return err
			}
			if v > i {
				return nil
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("applying %s: %w", names[i], err)
			}
			if step := goSteps[i+1]; step != nil {
				if err := step(ctx, tx); err != nil {
					return fmt.Errorf("applying %s: %w", names[i], err)
				}
			}
			_, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA user_version = %d", i+1))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func (d *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	return txOn(ctx, d.db, fn)
}

// txOn is tx on a given pool or connection.
func txOn(ctx context.Context, c interface {
	BeginTx(context.Context, *sql.TxOptions) (*sql.Tx, error)
}, fn func(*sql.Tx) error) error {
	tx, err := c.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

const timeFormat = time.RFC3339

func (d *DB) now() string { return d.opts.Time().Format(timeFormat) }

func parseTime(s string) time.Time {
	t, _ := time.Parse(timeFormat, s)
	return t
}

// appendAudit appends e to the audit log after the last entry, with its
// chain hash; e's time and user are now and the registry's user unless set
// (entries carried over by a restore keep theirs).
func (d *DB) appendAudit(ctx context.Context, tx *sql.Tx, e store.AuditEntry) error {
	var prev []byte
	err := tx.QueryRowContext(ctx, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").Scan(&e.Seq, &prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	e.Seq++
	if e.At.IsZero() {
		e.At, e.User = d.opts.Time(), d.opts.User
	}
	e.Hash = store.ChainHash(prev, e)
	_, err = tx.ExecContext(ctx,
		"INSERT INTO audit (seq, at, os_user, action, mykey_id, outcome, detail, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
		e.Seq, e.At.UTC().Format(timeFormat), e.User, e.Action, string(e.MyKeyID), e.Outcome, e.Detail, e.Hash)
	return err
}

// goSteps are migration steps SQL cannot do, by the schema version they
// complete; each runs in its migration's transaction.
var goSteps = map[int]func(context.Context, *sql.Tx) error{5: chainAudit}

// chainAudit fills in the hashes the audit entries lack, in order.
func chainAudit(ctx context.Context, tx *sql.Tx) error {
	log, err := readAudit(ctx, tx, "")
	if err != nil {
		return err
	}
	var prev []byte
	for _, e := range log {
		if e.Hash == nil {
			e.Hash = store.ChainHash(prev, e)
			if _, err := tx.ExecContext(ctx, "UPDATE audit SET hash = ? WHERE seq = ?", e.Hash, e.Seq); err != nil {
				return err
			}
		}
		prev = e.Hash
	}
	return nil
}

// querier is a *sql.DB, *sql.Conn or *sql.Tx.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// readAudit reads audit entries, oldest first; suffix ends the query
// ("ORDER BY seq DESC LIMIT n" reads the newest n, which are returned
// oldest first too).
func readAudit(ctx context.Context, q querier, suffix string, args ...any) ([]store.AuditEntry, error) {
	if suffix == "" {
		suffix = "ORDER BY seq"
	}
	rows, err := q.QueryContext(ctx, "SELECT seq, at, os_user, action, mykey_id, outcome, detail, hash FROM audit "+suffix, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.AuditEntry
	for rows.Next() {
		var e store.AuditEntry
		var at string
		if err := rows.Scan(&e.Seq, &at, &e.User, &e.Action, (*string)(&e.MyKeyID), &e.Outcome, &e.Detail, &e.Hash); err != nil {
			return nil, err
		}
		e.At = parseTime(at)
		out = append(out, e)
	}
	slices.SortFunc(out, func(a, b store.AuditEntry) int { return cmp.Compare(a.Seq, b.Seq) })
	return out, rows.Err()
}

// VerifyAudit implements store.Registry.
func (d *DB) VerifyAudit(ctx context.Context) (int, error) {
	log, err := readAudit(ctx, d.db, "")
	if err != nil {
		return 0, d.wrap(err)
	}
	return len(log), store.VerifyChain(log)
}

// mutate runs fn in a write transaction and records the audit entry it
// describes: with the change when fn succeeds, in a transaction of its own
// when it fails. skip=true (with no error) records nothing.
func (d *DB) mutate(ctx context.Context, action string, id keyid.ID, fn func(*sql.Tx) (detail string, skip bool, err error)) error {
	var fnErr error
	var detail string
	err := d.tx(ctx, func(tx *sql.Tx) error {
		var skip bool
		detail, skip, fnErr = fn(tx)
		if fnErr != nil {
			return fnErr
		}
		if skip {
			return nil
		}
		return d.appendAudit(ctx, tx, store.AuditEntry{Action: action, MyKeyID: id, Outcome: "ok", Detail: detail})
	})
	if err != nil && fnErr != nil && isDomainError(fnErr) {
		if aerr := d.tx(ctx, func(tx *sql.Tx) error {
			return d.appendAudit(ctx, tx, store.AuditEntry{Action: action, MyKeyID: id, Outcome: store.Outcome(fnErr), Detail: detail})
		}); aerr != nil {
			return d.wrap(aerr)
		}
	}
	return d.wrap(err)
}

func isDomainError(err error) bool { return store.Outcome(err) != "error" }

// NewID implements store.Registry.
func (d *DB) NewID(ctx context.Context) (keyid.ID, error) {
	for range store.MaxIDAttempts {
		id, err := d.opts.NewID()
		if err != nil {
			return "", err
		}
		err = d.mutate(ctx, store.ActionNewID, id, func(tx *sql.Tx) (string, bool, error) {
			_, err := tx.ExecContext(ctx, "INSERT INTO mykey_ids (id, created_at) VALUES (?, ?)", string(id), d.now())
			return "", false, err
		})
		if isConstraint(err) {
			continue // collision with an existing ID: draw again
		}
		return id, err
	}
	return "", errors.New("minting a MyKey ID: too many collisions in a row")
}

func isConstraint(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.Code == sqlite3.ErrConstraint
}

// queryOptional returns the one string column of the row query finds, or ""
// when there is none.
func queryOptional(ctx context.Context, tx *sql.Tx, query string, args ...any) (string, error) {
	var v string
	err := tx.QueryRowContext(ctx, query, args...).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	return v, err
}

func idExists(ctx context.Context, tx *sql.Tx, id keyid.ID) error {
	var one int
	err := tx.QueryRowContext(ctx, "SELECT 1 FROM mykey_ids WHERE id = ?", string(id)).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrUnknownID
	}
	return err
}

// Link implements store.Registry.
func (d *DB) Link(ctx context.Context, service string, id keyid.ID, patron string, opts store.LinkOptions) (bool, error) {
	action := store.ActionLink
	if opts.Replace {
		action = store.ActionRelink
	}
	var changed bool
	err := d.mutate(ctx, action, id, func(tx *sql.Tx) (string, bool, error) {
		dec, err := store.DecideLink(service, patron, opts.Replace, store.LinkFacts{
			Exists: func() error { return idExists(ctx, tx, id) },
			Current: func() (string, error) {
				return queryOptional(ctx, tx, "SELECT patron FROM links WHERE service = ? AND mykey_id = ?", service, string(id))
			},
			Roster: func() error { return d.rosterCheck(ctx, tx, service, patron) },
			Owner: func() (keyid.ID, error) {
				owner, err := queryOptional(ctx, tx, "SELECT mykey_id FROM links WHERE service = ? AND patron = ?", service, patron)
				return keyid.ID(owner), err
			},
		})
		if err != nil || !dec.Change {
			return dec.Detail, err == nil, err
		}
		if _, err := tx.ExecContext(ctx, "DELETE FROM links WHERE service = ? AND (mykey_id = ? OR patron = ?)", service, string(id), patron); err != nil {
			return "", false, err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO links (service, mykey_id, patron, linked_at) VALUES (?, ?, ?, ?)", service, string(id), patron, d.now()); err != nil {
			return "", false, err
		}
		changed = true
		return dec.Detail, false, nil
	})
	return changed, err
}

// UnlinkID implements store.Registry.
func (d *DB) UnlinkID(ctx context.Context, service string, id keyid.ID) (store.Link, error) {
	return d.unlink(ctx, service, "mykey_id", string(id))
}

// UnlinkPatron implements store.Registry.
func (d *DB) UnlinkPatron(ctx context.Context, service, patron string) (store.Link, error) {
	return d.unlink(ctx, service, "patron", patron)
}

func (d *DB) unlink(ctx context.Context, service, column, value string) (store.Link, error) {
	var l store.Link
	// The audit entry names the MyKey ID, found inside the transaction.
	var id keyid.ID
	if column == "mykey_id" {
		id = keyid.ID(value)
	}
	err := d.tx(ctx, func(tx *sql.Tx) error {
		var at string
		err := tx.QueryRowContext(ctx, "SELECT mykey_id, patron, linked_at FROM links WHERE service = ? AND "+column+" = ?", service, value).
			Scan((*string)(&l.MyKeyID), &l.Patron, &at)
		if errors.Is(err, sql.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		l.Service, l.LinkedAt, id = service, parseTime(at), l.MyKeyID
		if _, err := tx.ExecContext(ctx, "DELETE FROM links WHERE service = ? AND mykey_id = ?", service, string(l.MyKeyID)); err != nil {
			return err
		}
		return d.appendAudit(ctx, tx, store.AuditEntry{Action: store.ActionUnlink, MyKeyID: id, Outcome: "ok", Detail: "service=" + service})
	})
	if errors.Is(err, store.ErrNotFound) {
		if aerr := d.tx(ctx, func(tx *sql.Tx) error {
			return d.appendAudit(ctx, tx, store.AuditEntry{Action: store.ActionUnlink, MyKeyID: id, Outcome: store.Outcome(err), Detail: "service=" + service})
		}); aerr != nil {
			return l, d.wrap(aerr)
		}
	}
	return l, d.wrap(err)
}

const entryQuery = `
SELECT m.id, m.created_at, l.patron, l.linked_at,
       (SELECT count(*) FROM certificates c WHERE c.mykey_id = m.id AND c.status = 'active')
FROM mykey_ids m LEFT JOIN links l ON l.mykey_id = m.id AND l.service = ?`

func scanEntry(service string, sc interface{ Scan(...any) error }) (store.Entry, error) {
	var e store.Entry
	var created string
	var patron, linked sql.NullString
	if err := sc.Scan((*string)(&e.MyKeyID), &created, &patron, &linked, &e.Certificates); err != nil {
		return e, err
	}
	e.CreatedAt = parseTime(created)
	if patron.Valid {
		e.Link = &store.Link{Service: service, MyKeyID: e.MyKeyID, Patron: patron.String, LinkedAt: parseTime(linked.String)}
	}
	return e, nil
}

// LookupID implements store.Registry.
func (d *DB) LookupID(ctx context.Context, service string, id keyid.ID) (store.Entry, error) {
	e, err := scanEntry(service, d.db.QueryRowContext(ctx, entryQuery+" WHERE m.id = ?", service, string(id)))
	if errors.Is(err, sql.ErrNoRows) {
		return e, store.ErrUnknownID
	}
	return e, d.wrap(err)
}

// LookupPatron implements store.Registry.
func (d *DB) LookupPatron(ctx context.Context, service, patron string) (store.Entry, error) {
	e, err := scanEntry(service, d.db.QueryRowContext(ctx, entryQuery+" WHERE l.patron = ?", service, patron))
	if errors.Is(err, sql.ErrNoRows) {
		return e, store.ErrNotFound
	}
	return e, d.wrap(err)
}

// List implements store.Registry.
func (d *DB) List(ctx context.Context, service string) ([]store.Entry, error) {
	rows, err := d.db.QueryContext(ctx, entryQuery+" ORDER BY m.rowid", service)
	if err != nil {
		return nil, d.wrap(err)
	}
	defer rows.Close()
	var out []store.Entry
	for rows.Next() {
		e, err := scanEntry(service, rows)
		if err != nil {
			return nil, d.wrap(err)
		}
		out = append(out, e)
	}
	return out, d.wrap(rows.Err())
}

// AddCertificate implements store.Registry.
func (d *DB) AddCertificate(ctx context.Context, c store.Certificate) error {
	return d.mutate(ctx, store.ActionAddCert, c.MyKeyID, func(tx *sql.Tx) (string, bool, error) {
		detail := "pseudonym=" + c.Pseudonym.Short()
		if err := idExists(ctx, tx, c.MyKeyID); err != nil {
			return detail, false, err
		}
		var owner, status string
		err := tx.QueryRowContext(ctx, "SELECT mykey_id, status FROM certificates WHERE pseudonym = ?", c.Pseudonym[:]).Scan(&owner, &status)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return detail, false, err
		case owner != string(c.MyKeyID):
			return detail, false, store.ErrCertRegistered
		case status == string(store.CertActive):
			return detail, true, nil
		}
		if _, err := tx.ExecContext(ctx, "UPDATE certificates SET status = 'superseded' WHERE mykey_id = ? AND status = 'active'", string(c.MyKeyID)); err != nil {
			return detail, false, err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO certificates (pseudonym, mykey_id, not_after, status, registered_at) VALUES (?, ?, ?, 'active', ?)
			ON CONFLICT (pseudonym) DO UPDATE SET status = 'active', not_after = excluded.not_after, registered_at = excluded.registered_at`,
			c.Pseudonym[:], string(c.MyKeyID), c.NotAfter.UTC().Format(timeFormat), d.now())
		return detail, false, err
	})
}

// Certificate implements store.Registry.
func (d *DB) Certificate(ctx context.Context, p keyid.Pseudonym) (store.Certificate, error) {
	c := store.Certificate{Pseudonym: p}
	var notAfter, registered, status string
	err := d.db.QueryRowContext(ctx, "SELECT mykey_id, not_after, status, registered_at FROM certificates WHERE pseudonym = ?", p[:]).
		Scan((*string)(&c.MyKeyID), &notAfter, &status, &registered)
	if errors.Is(err, sql.ErrNoRows) {
		return c, store.ErrNotFound
	}
	c.NotAfter, c.RegisteredAt, c.Status = parseTime(notAfter), parseTime(registered), store.CertStatus(status)
	return c, d.wrap(err)
}

// Certificates implements store.Registry.
func (d *DB) Certificates(ctx context.Context, id keyid.ID) ([]store.Certificate, error) {
	rows, err := d.db.QueryContext(ctx, "SELECT pseudonym, not_after, status, registered_at FROM certificates WHERE mykey_id = ? ORDER BY registered_at DESC, pseudonym DESC", string(id))
	if err != nil {
		return nil, d.wrap(err)
	}
	defer rows.Close()
	var out []store.Certificate
	for rows.Next() {
		c := store.Certificate{MyKeyID: id}
		var p []byte
		var notAfter, registered, status string
		if err := rows.Scan(&p, &notAfter, &status, &registered); err != nil {
			return nil, d.wrap(err)
		}
		copy(c.Pseudonym[:], p)
		c.NotAfter, c.RegisteredAt, c.Status = parseTime(notAfter), parseTime(registered), store.CertStatus(status)
		out = append(out, c)
	}
	return out, d.wrap(rows.Err())
}

// Audit implements store.Registry.
func (d *DB) Audit(ctx context.Context, e store.AuditEntry) error {
	e.At, e.User = time.Time{}, "" // now, by this registry's user
	return d.wrap(d.tx(ctx, func(tx *sql.Tx) error { return d.appendAudit(ctx, tx, e) }))
}

// AuditLog implements store.Registry.
func (d *DB) AuditLog(ctx context.Context, limit int) ([]store.AuditEntry, error) {
	suffix := "ORDER BY seq"
	if limit > 0 {
		suffix = fmt.Sprintf("ORDER BY seq DESC LIMIT %d", limit)
	}
	log, err := readAudit(ctx, d.db, suffix)
	return log, d.wrap(err)
}

// SearchAudit implements store.Registry: the filters in SQL (indexed by
// action, MyKey ID and time), the page by seq.
func (d *DB) SearchAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, int, error) {
	var where []string
	var args []any
	add := func(cond string, v any) { where = append(where, cond); args = append(args, v) }
	if !q.From.IsZero() {
		add("at >= ?", q.From.UTC().Format(timeFormat))
	}
	if !q.To.IsZero() {
		add("at < ?", q.To.UTC().Format(timeFormat))
	}
	if q.Action != "" {
		add("action = ?", q.Action)
	}
	if q.MyKeyID != "" {
		add("mykey_id = ?", string(q.MyKeyID))
	}
	if q.User != "" {
		add("instr(os_user, ?) > 0", q.User)
	}
	cond := ""
	if len(where) > 0 {
		cond = "WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := d.db.QueryRowContext(ctx, fmt.Sprintf("SELECT count(*) FROM (SELECT 1 FROM audit %s LIMIT %d)", cond, store.AuditCountCap+1), args...).Scan(&total); err != nil {
		return nil, 0, d.wrap(err)
	}
	limit := q.Limit
	if limit <= 0 {
		limit = -1
	}
	// Newest first by time: each index ends in at, so the page is read in
	// order, never sorted from all matches.
	page, err := readAudit(ctx, d.db, fmt.Sprintf("%s ORDER BY at DESC, seq DESC LIMIT %d OFFSET %d", cond, limit, max(q.Offset, 0)), args...)
	slices.SortFunc(page, store.NewestFirst) // readAudit sorts by seq
	return page, total, d.wrap(err)
}

// Close implements store.Registry. It checkpoints the WAL into the main file.
func (d *DB) Close() error {
	_, _ = d.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	return d.db.Close()
}

// Register implements store.Registry.
func (d *DB) Register(ctx context.Context, r store.Registration) (store.Registered, error) {
	for range store.MaxIDAttempts {
		var res store.Registered
		var fnErr error
		err := d.tx(ctx, func(tx *sql.Tx) error {
			res, fnErr = d.register(ctx, tx, r)
			if fnErr != nil {
				return fnErr
			}
			return d.appendAudit(ctx, tx, store.AuditEntry{Action: store.ActionRegister, MyKeyID: res.MyKeyID, Outcome: "ok", Detail: store.RegisterDetail(r, res)})
		})
		if res.Minted && isConstraint(err) {
			continue // the minted ID collided: draw again
		}
		if err != nil && fnErr != nil && isDomainError(fnErr) {
			if aerr := d.tx(ctx, func(tx *sql.Tx) error {
				return d.appendAudit(ctx, tx, store.AuditEntry{Action: store.ActionRegister, MyKeyID: r.MyKeyID, Outcome: store.Outcome(fnErr), Detail: store.RegisterDetail(r, store.Registered{})})
			}); aerr != nil {
				return res, d.wrap(aerr)
			}
		}
		return res, d.wrap(err)
	}
	return store.Registered{}, errors.New("minting a MyKey ID: too many collisions in a row")
}

func (d *DB) register(ctx context.Context, tx *sql.Tx, r store.Registration) (store.Registered, error) {
	var res store.Registered
	if err := store.CheckService(r.Service); err != nil {
		return res, err
	}
	if r.MyKeyID != "" {
		if err := idExists(ctx, tx, r.MyKeyID); err != nil {
			return res, err
		}
	}
	one := func(q string, args ...any) (string, error) {
		var v string
		err := tx.QueryRowContext(ctx, q, args...).Scan(&v)
		if errors.Is(err, sql.ErrNoRows) {
			return "", nil
		}
		return v, err
	}
	var patronOwner string
	if r.Patron != "" {
		var err error
		if patronOwner, err = one("SELECT mykey_id FROM links WHERE service = ? AND patron = ?", r.Service, r.Patron); err != nil {
			return res, err
		}
	}
	certOwner, err := one("SELECT mykey_id FROM certificates WHERE pseudonym = ?", r.Pseudonym[:])
	if err != nil {
		return res, err
	}
	id, newLink, err := store.RegistrationTarget(r, keyid.ID(patronOwner), keyid.ID(certOwner), func(id keyid.ID) (string, error) {
		return one("SELECT patron FROM links WHERE service = ? AND mykey_id = ?", r.Service, string(id))
	})
	if err != nil {
		return res, err
	}
	if newLink {
		if err := d.rosterCheck(ctx, tx, r.Service, r.Patron); err != nil {
			return res, err
		}
	}
	target := string(id)
	if target == "" {
		id, err := d.opts.NewID()
		if err != nil {
			return res, err
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO mykey_ids (id, created_at) VALUES (?, ?)", string(id), d.now()); err != nil {
			res.Minted = true
			return res, err
		}
		target, res.Minted = string(id), true
	}
	res.MyKeyID = keyid.ID(target)
	n, err := tx.ExecContext(ctx, "UPDATE certificates SET status = 'superseded' WHERE mykey_id = ? AND status = 'active' AND pseudonym != ?", target, r.Pseudonym[:])
	if err != nil {
		return res, err
	}
	if k, _ := n.RowsAffected(); k > 0 {
		res.Superseded = true
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO certificates (pseudonym, mykey_id, not_after, status, registered_at) VALUES (?, ?, ?, 'active', ?)
		ON CONFLICT (pseudonym) DO UPDATE SET status = 'active', not_after = excluded.not_after`,
		r.Pseudonym[:], target, r.NotAfter.UTC().Format(timeFormat), d.now()); err != nil {
		return res, err
	}
	if newLink {
		if _, err := tx.ExecContext(ctx, "INSERT INTO links (service, mykey_id, patron, linked_at) VALUES (?, ?, ?, ?)", r.Service, target, r.Patron, d.now()); err != nil {
			return res, err
		}
		res.Linked = true
	}
	if r.Genuine != nil {
		g, err := r.Genuine(res.MyKeyID)
		if err == nil {
			err = g.Check()
		}
		if err != nil {
			return res, err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO genuine (mykey_id, mode, dob, card_key, key_fp, captured_at) VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (mykey_id) DO UPDATE SET mode = excluded.mode, dob = excluded.dob, card_key = excluded.card_key, key_fp = excluded.key_fp, captured_at = excluded.captured_at`,
			target, g.Mode, nullable(g.DOB), nullable(g.CardKey), g.KeyFP, d.now()); err != nil {
			return res, err
		}
		res.Genuine = true
	}
	return res, nil
}

func nullable(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// Genuine implements store.Registry.
func (d *DB) Genuine(ctx context.Context, id keyid.ID) (store.Genuine, error) {
	var g store.Genuine
	var at string
	err := d.db.QueryRowContext(ctx, "SELECT mode, dob, card_key, key_fp, captured_at FROM genuine WHERE mykey_id = ?", string(id)).
		Scan(&g.Mode, &g.DOB, &g.CardKey, &g.KeyFP, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return g, store.ErrNotFound
	}
	g.CapturedAt = parseTime(at)
	return g, d.wrap(err)
}

// CountGenuine implements store.Registry.
func (d *DB) CountGenuine(ctx context.Context, service, mode string) (store.GenuineCount, error) {
	var c store.GenuineCount
	err := d.db.QueryRowContext(ctx, `SELECT count(*), count(*) FILTER (WHERE g.mode IS NULL OR g.mode != ?)
		FROM links l LEFT JOIN genuine g ON g.mykey_id = l.mykey_id WHERE l.service = ?`, mode, service).Scan(&c.Linked, &c.Missing)
	return c, d.wrap(err)
}

// importChunk is how many rows one INSERT statement carries.
const importChunk = 10000

// ImportLinks implements store.Registry. It loads the MyKey IDs and the
// involved services' links once, checks the rows in memory, and inserts the
// new links with multi-row statements, all in one transaction.
func (d *DB) ImportLinks(ctx context.Context, rows []store.BatchLink, keep func([]store.BatchResult) bool) ([]store.BatchResult, bool, error) {
	return d.ImportLinksFrom(ctx, func() ([]store.BatchLink, error) { return rows, nil }, keep, nil)
}

// ImportLinksFrom is ImportLinks with rows produced by rowsFn, which runs
// inside the write transaction while the registry's MyKey IDs load on the
// other core: a big CSV is parsed and the registry read at once.
//
// The transaction runs on a connection of its own with foreign keys off: the
// rows are checked against the MyKey IDs read inside the same write
// transaction, so nothing can remove an ID between the check and the insert,
// and SQLite's own lookup per row would repeat that check at about a
// microsecond a row.
//
// progress, when not nil, is told how many of the new links are written,
// after each chunk; written == total comes before the indexes are built and
// the transaction commits.
func (d *DB) ImportLinksFrom(ctx context.Context, rowsFn func() ([]store.BatchLink, error), keep func([]store.BatchResult) bool, progress func(written, total int)) ([]store.BatchResult, bool, error) {
	var rows []store.BatchLink
	var results []store.BatchResult
	committed := false
	errRollback := errors.New("rollback")
	conn, err := d.db.Conn(ctx)
	if err != nil {
		return nil, false, d.wrap(err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, "PRAGMA foreign_keys = OFF"); err != nil {
		return nil, false, d.wrap(err)
	}
	defer func() {
		// The connection goes back to the pool: with foreign keys on, or
		// not at all.
		if _, err := conn.ExecContext(context.Background(), "PRAGMA foreign_keys = ON"); err != nil {
			conn.Raw(func(any) error { return driver.ErrBadConn })
		}
	}()
	err = txOn(ctx, conn, func(tx *sql.Tx) error {
		// Every MyKey ID in one string (IDs are 8 symbols: a CHECK holds
		// it): one round trip instead of one per row. It loads while rowsFn
		// runs; nothing else uses the transaction meanwhile.
		var add []int32
		var err error
		rows, results, add, err = store.PlanImport(rowsFn, store.ImportSource{
			IDs: func() (string, error) {
				var all sql.NullString
				err := tx.QueryRowContext(ctx, "SELECT group_concat(id, '') FROM mykey_ids").Scan(&all)
				return all.String, err
			},
			Links: func(service string, add func(keyid.ID, string)) error {
				q, err := tx.QueryContext(ctx, "SELECT mykey_id, patron FROM links WHERE service = ?", service)
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
		}, d.opts.Time(), keep)
		if err != nil {
			return err
		}
		if add == nil {
			return errRollback
		}
		if err := d.insertLinks(ctx, tx, rows, add, progress); err != nil {
			return err
		}
		committed = true
		return d.appendAudit(ctx, tx, store.AuditEntry{Action: store.ActionImportLinks, Outcome: "ok", Detail: store.BatchDetail(results)})
	})
	if errors.Is(err, errRollback) {
		return results, false, nil
	}
	if err != nil {
		return results, false, d.wrap(err)
	}
	return results, committed, nil
}

// insertLinks inserts rows[add...] (sorted by MyKey ID, so that the MyKey ID
// index is updated or built in key order). When they are at least as many as
// the links already there, it first drops the links indexes and builds each
// once afterwards from all rows: a sort and an append instead of a random
// index update per row. The indexes are read back from the schema, so the
// migrations stay their only definition; a crash before the commit leaves the
// old ones.
func (d *DB) insertLinks(ctx context.Context, tx *sql.Tx, rows []store.BatchLink, add []int32, progress func(written, total int)) error {
	if len(add) == 0 {
		return nil
	}
	var existing int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM links").Scan(&existing); err != nil {
		return err
	}
	var indexes []string
	if len(add) < existing {
		// New entries land all over the indexes: give this connection a
		// page cache that holds them (256 MB at most), then shrink it back.
		if _, err := tx.ExecContext(ctx, "PRAGMA cache_size = -262144"); err != nil {
			return err
		}
		defer tx.ExecContext(ctx, "PRAGMA cache_size = -2000")
	} else {
		// CREATE INDEX sorts in runs bounded by the (default, 2 MB) page
		// cache and hands them to helper threads: faster than one big
		// in-memory sort.
		if _, err := tx.ExecContext(ctx, fmt.Sprintf("PRAGMA threads = %d", runtime.NumCPU())); err != nil {
			return err
		}
		defer tx.ExecContext(ctx, "PRAGMA threads = 0")
		q, err := tx.QueryContext(ctx, "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'links' AND sql IS NOT NULL ORDER BY name")
		if err != nil {
			return err
		}
		var names []string
		for q.Next() {
			var name, def string
			if err := q.Scan(&name, &def); err != nil {
				q.Close()
				return err
			}
			names, indexes = append(names, name), append(indexes, def)
		}
		if err := q.Close(); err != nil {
			return err
		}
		for _, name := range names {
			if _, err := tx.ExecContext(ctx, "DROP INDEX "+name); err != nil {
				return err
			}
		}
	}
	// The rows go in as one JSON array per chunk, split by SQLite's
	// json_each: binding four values per row from Go costs more.
	st, err := tx.PrepareContext(ctx, "INSERT INTO links (service, mykey_id, patron, linked_at) SELECT value ->> 0, value ->> 1, value ->> 2, ? FROM json_each(?)")
	if err != nil {
		return err
	}
	defer st.Close()
	now := d.now()
	var buf []byte
	total := len(add)
	for len(add) > 0 {
		n := min(len(add), importChunk)
		buf = append(buf[:0], '[')
		for j, i := range add[:n] {
			if j > 0 {
				buf = append(buf, ',')
			}
			buf = append(buf, '[')
			buf = AppendJSONString(buf, rows[i].Service)
			buf = append(buf, ',')
			buf = AppendJSONString(buf, string(rows[i].MyKeyID))
			buf = append(buf, ',')
			buf = AppendJSONString(buf, rows[i].Patron)
			buf = append(buf, ']')
		}
		buf = append(buf, ']')
		if _, err := st.ExecContext(ctx, now, string(buf)); err != nil {
			return err
		}
		add = add[n:]
		if progress != nil {
			progress(total-len(add), total)
		}
	}
	for _, def := range indexes {
		if _, err := tx.ExecContext(ctx, def); err != nil {
			return err
		}
	}
	return nil
}

// loadRoster returns service's roster, or nil when none was imported.
func (d *DB) loadRoster(ctx context.Context, tx *sql.Tx, service string) (store.Roster, error) {
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM rosters WHERE service = ?", service).Scan(&n); err != nil || n == 0 {
		return nil, err
	}
	q, err := tx.QueryContext(ctx, "SELECT patron, active, expires FROM roster_patrons WHERE service = ?", service)
	if err != nil {
		return nil, err
	}
	defer q.Close()
	r := store.Roster{}
	for q.Next() {
		var row store.RosterRow
		var exp string
		if err := q.Scan(&row.Patron, &row.Active, &exp); err != nil {
			return nil, err
		}
		row.Expires, _ = time.Parse(time.DateOnly, exp)
		r[row.Patron] = row
	}
	return r, q.Err()
}

// rosterCheck checks one patron number against service's roster, if any.
func (d *DB) rosterCheck(ctx context.Context, tx *sql.Tx, service, patron string) error {
	var n int
	if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM rosters WHERE service = ?", service).Scan(&n); err != nil || n == 0 {
		return err
	}
	row := store.RosterRow{Patron: patron}
	var exp string
	err := tx.QueryRowContext(ctx, "SELECT active, expires FROM roster_patrons WHERE service = ? AND patron = ?", service, patron).Scan(&row.Active, &exp)
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotInRoster
	}
	if err != nil {
		return err
	}
	row.Expires, _ = time.Parse(time.DateOnly, exp)
	return store.Roster{patron: row}.Check(patron, d.opts.Time())
}

// ImportRoster implements store.Registry.
func (d *DB) ImportRoster(ctx context.Context, service string, rows []store.RosterRow, opts store.RosterOptions) error {
	if err := store.CheckService(service); err != nil {
		return err
	}
	return d.mutate(ctx, store.ActionImportRoster, "", func(tx *sql.Tx) (string, bool, error) {
		detail := fmt.Sprintf("service=%s patrons=%d", service, len(rows))
		var old int
		if err := tx.QueryRowContext(ctx, "SELECT count(*) FROM roster_patrons WHERE service = ?", service).Scan(&old); err != nil {
			return "", false, err
		}
		if err := store.CheckShrink(old, len(rows), opts.AllowShrink); err != nil {
			return detail, false, err
		}
		if opts.DryRun {
			return "", true, nil
		}
		return detail, false, d.replaceRoster(ctx, tx, service, rows)
	})
}

// replaceRoster writes service's new roster in tx.
func (d *DB) replaceRoster(ctx context.Context, tx *sql.Tx, service string, rows []store.RosterRow) error {
	if _, err := tx.ExecContext(ctx, "DELETE FROM roster_patrons WHERE service = ?", service); err != nil {
		return err
	}
	st, err := tx.PrepareContext(ctx, "INSERT INTO roster_patrons (service, patron, active, expires) VALUES (?, ?, ?, ?)")
	if err != nil {
		return err
	}
	defer st.Close()
	for _, r := range rows {
		exp := ""
		if !r.Expires.IsZero() {
			exp = r.Expires.Format(time.DateOnly)
		}
		if _, err := st.ExecContext(ctx, service, r.Patron, r.Active, exp); err != nil {
			return err
		}
	}
	_, err = tx.ExecContext(ctx, "INSERT INTO rosters (service, loaded_at, patrons) VALUES (?, ?, ?) ON CONFLICT (service) DO UPDATE SET loaded_at = excluded.loaded_at, patrons = excluded.patrons",
		service, d.now(), len(rows))
	return err
}

// AppendJSONString appends s as a JSON string: quotes, backslashes and
// control characters escaped, the rest copied as is (s is UTF-8).
func AppendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	done := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[done:i]...)
		if c < 0x20 {
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		} else {
			b = append(b, '\\', c)
		}
		done = i + 1
	}
	b = append(b, s[done:]...)
	return append(b, '"')
}

// metaKeyFingerprint is the meta row of the bound pseudonym key.
const metaKeyFingerprint = "key_fingerprint"

// KeyBinding implements store.Registry.
func (d *DB) KeyBinding(ctx context.Context) (fingerprint string, certificates int, err error) {
	err = d.db.QueryRowContext(ctx, "SELECT (SELECT coalesce(max(value), '') FROM meta WHERE key = ?), (SELECT count(*) FROM certificates)", metaKeyFingerprint).
		Scan(&fingerprint, &certificates)
	return fingerprint, certificates, d.wrap(err)
}

// BindKey implements store.Registry.
func (d *DB) BindKey(ctx context.Context, fingerprint string) error {
	return d.mutate(ctx, store.ActionBindKey, "", func(tx *sql.Tx) (string, bool, error) {
		cur, err := queryOptional(ctx, tx, "SELECT value FROM meta WHERE key = ?", metaKeyFingerprint)
		switch {
		case err != nil:
			return "", false, err
		case cur == fingerprint:
			return "", true, nil
		case cur != "":
			return "", false, fmt.Errorf("%w: bound to key %s, not %s", store.ErrKeyMismatch, cur, fingerprint)
		}
		_, err = tx.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES (?, ?)", metaKeyFingerprint, fingerprint)
		return "fingerprint=" + fingerprint, false, err
	})
}

// metaConsolePassword is the meta row of the console password's hash.
const metaConsolePassword = "console_password"

// ConsolePassword implements store.Registry.
func (d *DB) ConsolePassword(ctx context.Context) (string, error) {
	var h string
	err := d.db.QueryRowContext(ctx, "SELECT coalesce(max(value), '') FROM meta WHERE key = ?", metaConsolePassword).Scan(&h)
	return h, d.wrap(err)
}

// SetConsolePassword implements store.Registry.
func (d *DB) SetConsolePassword(ctx context.Context, hash string) error {
	return d.mutate(ctx, store.ActionPassword, "", func(tx *sql.Tx) (string, bool, error) {
		if hash == "" {
			return "", false, fmt.Errorf("%w: empty password hash", store.ErrInvalidArgument)
		}
		_, err := tx.ExecContext(ctx, "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", metaConsolePassword, hash)
		return "", false, err
	})
}

// SQL is the database handle, for a desk replica that fills the copy's
// tables itself (package store/replica).
func (d *DB) SQL() *sql.DB { return d.db }
