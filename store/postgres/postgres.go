// Package postgres is the registry on PostgreSQL, shared by every desk and
// branch of a library: the same rules as the SQLite registry (they live in
// package store), versioned migrations embedded in the binary, one advisory
// lock per write transaction (so the audit chain never forks and writers
// queue as they do on SQLite), and a change log (tables clock and changes)
// that the desk replicas follow (package store/replica).
package postgres

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mykey-jp/mykey/keyid"
	"github.com/mykey-jp/mykey/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// writeLock is the advisory lock every write transaction holds: the
// registry's writers queue, as on SQLite.
const writeLock = 0x6d796b6579 // "mykey"

// DB is the PostgreSQL registry.
type DB struct {
	pool *pgxpool.Pool
	name string // the server and database, for messages (no password)
	opts store.Options
}

var _ store.Registry = (*DB)(nil)

// Source is where the registry is: a postgres:// URL (or key=value string)
// and, when not in it, the password (else PGPASSWORD or ~/.pgpass apply).
type Source struct {
	URL      string
	Password string
}

// Open connects to the registry at src and
// applies pending migrations. Errors unwrap to store.ErrOffline (no
// server), ErrCannotOpen (refused: wrong password, no such database),
// ErrNotAllowed (a role that may not create the schema), ErrSchemaTooNew or
// ErrCorrupt and name the server.
func Open(ctx context.Context, src Source, opts store.Options) (*DB, error) {
	d, err := Connect(ctx, src, opts)
	if err != nil {
		return nil, err
	}
	if err := d.migrate(ctx); err != nil {
		d.Close()
		return nil, d.wrap(err)
	}
	// The schema's owner keeps the change log short (a desk's role may
	// not); a failure here costs only space.
	var may bool
	if err := d.pool.QueryRow(ctx, "SELECT has_table_privilege('changes', 'DELETE')").Scan(&may); err == nil && may {
		d.PruneChanges(ctx, Retention)
	}
	return d, nil
}

// Connect is Open without touching the server: connections are made when
// first needed (a desk starts from its copy while the server is down), and
// the schema is neither created nor upgraded (a desk's role may not).
func Connect(ctx context.Context, src Source, opts store.Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(src.URL)
	if err != nil {
		return nil, fmt.Errorf("%w: the database URL: %v", store.ErrCannotOpen, redact(err))
	}
	cfg.ConnConfig.RuntimeParams["application_name"] = "mykey"
	cfg.ConnConfig.RuntimeParams["timezone"] = "UTC"
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = 5 * time.Second
	}
	if src.Password != "" {
		cfg.ConnConfig.Password = src.Password
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", store.ErrCannotOpen, redact(err))
	}
	return &DB{pool: pool, name: Describe(cfg.ConnConfig), opts: opts}, nil
}

// Describe names a server and database for messages, without the password.
func Describe(c *pgx.ConnConfig) string {
	host := c.Host
	if strings.HasPrefix(host, "/") {
		host = "socket " + host
	}
	return fmt.Sprintf("postgres %s@%s:%d/%s", c.User, host, c.Port, c.Database)
}

// redact drops what a parse error may quote of the URL: it may hold a
// password (pgconn's redaction is best effort, and its inner errors quote
// the URL as is).
func redact(err error) error {
	var pe *pgconn.ParseConfigError
	if errors.As(err, &pe) {
		var fe *fs.PathError
		if errors.As(err, &fe) { // a TLS file it names (the path is no secret)
			return fmt.Errorf("cannot read %s, which the URL names: %w", fe.Path, fe.Err)
		}
		return errors.New("cannot parse the URL or use the TLS files it names (check its form: postgres://user@host:port/database?sslmode=verify-full&sslrootcert=/full/path/ca.pem)")
	}
	return err
}

// Retention is how long the server keeps its change log: a desk's copy
// older than that is built again instead of brought up to date.
const Retention = 30 * 24 * time.Hour

// PruneChanges drops the change log of the revisions taken more than
// olderThan ago, raises the revision below which a copy must be built again
// (clock.pruned), and returns how many changes it dropped.
func (d *DB) PruneChanges(ctx context.Context, olderThan time.Duration) (int64, error) {
	var n int64
	err := d.tx(ctx, func(tx pgx.Tx) error {
		var upto *int64
		if err := tx.QueryRow(ctx, "SELECT max(rev) FROM revisions WHERE at < now() - make_interval(secs => $1)", olderThan.Seconds()).Scan(&upto); err != nil || upto == nil {
			return err
		}
		tag, err := tx.Exec(ctx, "DELETE FROM changes WHERE rev <= $1", *upto)
		if err != nil {
			return err
		}
		n = tag.RowsAffected()
		if _, err := tx.Exec(ctx, "DELETE FROM revisions WHERE rev <= $1", *upto); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, "UPDATE clock SET pruned = greatest(pruned, $1)", *upto)
		return err
	})
	return n, d.wrap(err)
}

// Name names the server and database (no password).
func (d *DB) Name() string { return d.name }

// Pool is the connection pool, for the replica's reads of the change log.
func (d *DB) Pool() *pgxpool.Pool { return d.pool }

// Wrap maps an error of a query on Pool as the registry's own are.
func (d *DB) Wrap(err error) error { return d.wrap(err) }

// The server was reached but the connection refused: a setting to fix, not
// the network (both are store.ErrCannotOpen).
var (
	// ErrUntrusted: the server's certificate did not verify
	// (sslmode=verify-full: the authority in sslrootcert, the host name).
	ErrUntrusted = fmt.Errorf("%w: the server's certificate did not verify", store.ErrCannotOpen)
	// ErrLogin: the server refused the role, its password or the database.
	ErrLogin = fmt.Errorf("%w: the server refused the login", store.ErrCannotOpen)
)

// wrap maps PostgreSQL failures to the store's sentinels and names the
// server.
func (d *DB) wrap(err error) error {
	if err == nil {
		return nil
	}
	var s error
	var pe *pgconn.PgError
	var ne net.Error
	var cv *tls.CertificateVerificationError
	var ua x509.UnknownAuthorityError
	var he x509.HostnameError
	var ci x509.CertificateInvalidError
	switch {
	case errors.As(err, &cv), errors.As(err, &ua), errors.As(err, &he), errors.As(err, &ci):
		s = ErrUntrusted
	case errors.As(err, &pe):
		switch {
		case pe.Code == "42501": // insufficient_privilege
			s = store.ErrNotAllowed
		case pe.Code == "28P01", pe.Code == "28000", pe.Code == "3D000": // bad password, no access, no database
			s = ErrLogin
		case strings.HasPrefix(pe.Code, "57P"), strings.HasPrefix(pe.Code, "08"): // shut down, connection
			s = store.ErrOffline
		case pe.Code == "55P03", pe.Code == "40P01", pe.Code == "40001": // lock, deadlock, serialization
			s = store.ErrBusy
		}
	case pgconn.SafeToRetry(err), errors.As(err, &ne), pgconn.Timeout(err), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		s = store.ErrOffline
	case errors.Is(err, store.ErrSchemaTooNew), errors.Is(err, store.ErrCorrupt):
		return fmt.Errorf("%s: %w", d.name, err)
	default:
		var ce *pgconn.ConnectError
		if errors.As(err, &ce) {
			s = store.ErrOffline
		}
	}
	if s != nil && !errors.Is(err, s) {
		return fmt.Errorf("%s: %w: %w", d.name, s, err)
	}
	return err
}

// Version is the schema version this mykey writes.
func Version() int {
	names, _ := fs.Glob(migrations, "migrations/*.sql")
	return len(names)
}

// migrate applies the embedded migrations newer than the database's
// version, each in its own transaction, under the write lock.
func (d *DB) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	version, err := d.version(ctx)
	if err != nil {
		return err
	}
	if version > len(names) {
		return fmt.Errorf("%w: schema version %d, this mykey knows up to %d", store.ErrSchemaTooNew, version, len(names))
	}
	for i := version; i < len(names); i++ {
		body, err := migrations.ReadFile(names[i])
		if err != nil {
			return err
		}
		err = d.tx(ctx, func(tx pgx.Tx) error {
			// Re-check under the lock: another desk may have migrated.
			if _, err := tx.Exec(ctx, "CREATE TABLE IF NOT EXISTS mykey_schema (version integer NOT NULL)"); err != nil {
				return err
			}
			var v int
			if err := tx.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM mykey_schema").Scan(&v); err != nil {
				return err
			}
			if v > i {
				return nil
			}
			if v == 0 {
				var n int
				if err := tx.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'mykey_schema'").Scan(&n); err != nil {
					return err
				}
				if n > 0 {
					return fmt.Errorf("%w: schema %q holds %d tables but no mykey schema version", store.ErrCorrupt, "current", n)
				}
			}
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return fmt.Errorf("applying %s: %w", names[i], err)
			}
			_, err := tx.Exec(ctx, fmt.Sprintf("DELETE FROM mykey_schema; INSERT INTO mykey_schema VALUES (%d)", i+1))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// version reads the schema version (0: none yet).
func (d *DB) version(ctx context.Context) (int, error) {
	var exists bool
	if err := d.pool.QueryRow(ctx, "SELECT to_regclass('mykey_schema') IS NOT NULL").Scan(&exists); err != nil || !exists {
		return 0, err
	}
	var v int
	err := d.pool.QueryRow(ctx, "SELECT coalesce(max(version), 0) FROM mykey_schema").Scan(&v)
	return v, err
}

// tx runs fn in a write transaction holding the write lock.
func (d *DB) tx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, d.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", writeLock); err != nil {
			return err
		}
		return fn(tx)
	})
}

func (d *DB) now() time.Time { return d.opts.Time() }

// appendAudit appends e after the last entry, with its chain hash; e's
// time and user are now and the registry's user unless set. An entry with
// an idempotency key already delivered is not appended again.
func (d *DB) appendAudit(ctx context.Context, tx pgx.Tx, e store.AuditEntry, idem string) error {
	var prev []byte
	err := tx.QueryRow(ctx, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").Scan(&e.Seq, &prev)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	e.Seq++
	if e.At.IsZero() {
		e.At, e.User = d.opts.Time(), d.opts.User
	}
	e.At = e.At.UTC().Truncate(time.Second)
	e.Hash = store.ChainHash(prev, e)
	_, err = tx.Exec(ctx,
		"INSERT INTO audit (seq, at, os_user, action, mykey_id, outcome, detail, hash, idem) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (idem) DO NOTHING",
		e.Seq, e.At, e.User, e.Action, string(e.MyKeyID), e.Outcome, e.Detail, e.Hash, nullString(idem))
	return err
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// readAudit reads audit entries; suffix ends the query. They are returned
// oldest first unless keepOrder.
func readAudit(ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, suffix string, keepOrder bool, args ...any) ([]store.AuditEntry, error) {
	rows, err := q.Query(ctx, "SELECT seq, at, os_user, action, mykey_id, outcome, detail, hash FROM audit "+suffix, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []store.AuditEntry
	for rows.Next() {
		var e store.AuditEntry
		if err := rows.Scan(&e.Seq, &e.At, &e.User, &e.Action, (*string)(&e.MyKeyID), &e.Outcome, &e.Detail, &e.Hash); err != nil {
			return nil, err
		}
		e.At = e.At.UTC()
		out = append(out, e)
	}
	if !keepOrder {
		slices.SortFunc(out, func(a, b store.AuditEntry) int { return cmp.Compare(a.Seq, b.Seq) })
	}
	return out, rows.Err()
}

// VerifyAudit implements store.Registry.
func (d *DB) VerifyAudit(ctx context.Context) (int, error) {
	log, err := readAudit(ctx, d.pool, "ORDER BY seq", false)
	if err != nil {
		return 0, d.wrap(err)
	}
	return len(log), store.VerifyChain(log)
}

// mutate runs fn in a write transaction and records the audit entry it
// describes: with the change when fn succeeds, in a transaction of its own
// when it fails with a domain error. skip=true (with no error) records
// nothing.
func (d *DB) mutate(ctx context.Context, action string, id keyid.ID, fn func(pgx.Tx) (detail string, skip bool, err error)) error {
	var fnErr error
	var detail string
	err := d.tx(ctx, func(tx pgx.Tx) error {
		var skip bool
		detail, skip, fnErr = fn(tx)
		if fnErr != nil {
			return fnErr
		}
		if skip {
			return nil
		}
		return d.appendAudit(ctx, tx, store.AuditEntry{Action: action, MyKeyID: id, Outcome: "ok", Detail: detail}, "")
	})
	if err != nil && fnErr != nil && store.Outcome(fnErr) != "error" {
		if aerr := d.tx(ctx, func(tx pgx.Tx) error {
			return d.appendAudit(ctx, tx, store.AuditEntry{Action: action, MyKeyID: id, Outcome: store.Outcome(fnErr), Detail: detail}, "")
		}); aerr != nil {
			return d.wrap(aerr)
		}
	}
	return d.wrap(err)
}

func isConstraint(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// one returns the one text column of the row query finds, "" for none.
func one(ctx context.Context, tx pgx.Tx, query string, args ...any) (string, error) {
	var v string
	err := tx.QueryRow(ctx, query, args...).Scan(&v)
	if errors.Is(err, pgx.ErrNoRows) {
		return "", nil
	}
	return v, err
}

func idExists(ctx context.Context, tx pgx.Tx, id keyid.ID) error {
	v, err := one(ctx, tx, "SELECT id FROM mykey_ids WHERE id = $1", string(id))
	if err == nil && v == "" {
		return store.ErrUnknownID
	}
	return err
}

// NewID implements store.Registry.
func (d *DB) NewID(ctx context.Context) (keyid.ID, error) {
	for range store.MaxIDAttempts {
		id, err := d.opts.NewID()
		if err != nil {
			return "", err
		}
		err = d.mutate(ctx, store.ActionNewID, id, func(tx pgx.Tx) (string, bool, error) {
			_, err := tx.Exec(ctx, "INSERT INTO mykey_ids (id, created_at) VALUES ($1, $2)", string(id), d.now())
			return "", false, err
		})
		if isConstraint(err) {
			continue // collision with an existing ID: draw again
		}
		return id, err
	}
	return "", errors.New("minting a MyKey ID: too many collisions in a row")
}

// Link implements store.Registry.
func (d *DB) Link(ctx context.Context, service string, id keyid.ID, patron string, opts store.LinkOptions) (bool, error) {
	action := store.ActionLink
	if opts.Replace {
		action = store.ActionRelink
	}
	var changed bool
	err := d.mutate(ctx, action, id, func(tx pgx.Tx) (string, bool, error) {
		dec, err := store.DecideLink(service, patron, opts.Replace, store.LinkFacts{
			Exists: func() error { return idExists(ctx, tx, id) },
			Current: func() (string, error) {
				return one(ctx, tx, "SELECT patron FROM links WHERE service = $1 AND mykey_id = $2", service, string(id))
			},
			Roster: func() error { return d.rosterCheck(ctx, tx, service, patron) },
			Owner: func() (keyid.ID, error) {
				owner, err := one(ctx, tx, "SELECT mykey_id FROM links WHERE service = $1 AND patron = $2", service, patron)
				return keyid.ID(owner), err
			},
		})
		if err != nil || !dec.Change {
			return dec.Detail, err == nil, err
		}
		if _, err := tx.Exec(ctx, "DELETE FROM links WHERE service = $1 AND (mykey_id = $2 OR patron = $3)", service, string(id), patron); err != nil {
			return "", false, err
		}
		if _, err := tx.Exec(ctx, "INSERT INTO links (service, mykey_id, patron, linked_at) VALUES ($1, $2, $3, $4)", service, string(id), patron, d.now()); err != nil {
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
	var id keyid.ID
	if column == "mykey_id" {
		id = keyid.ID(value)
	}
	err := d.tx(ctx, func(tx pgx.Tx) error {
		err := tx.QueryRow(ctx, "DELETE FROM links WHERE service = $1 AND "+column+" = $2 RETURNING mykey_id, patron, linked_at", service, value).
			Scan((*string)(&l.MyKeyID), &l.Patron, &l.LinkedAt)
		if errors.Is(err, pgx.ErrNoRows) {
			return store.ErrNotFound
		}
		if err != nil {
			return err
		}
		l.Service, l.LinkedAt, id = service, l.LinkedAt.UTC(), l.MyKeyID
		return d.appendAudit(ctx, tx, store.AuditEntry{Action: store.ActionUnlink, MyKeyID: id, Outcome: "ok", Detail: "service=" + service}, "")
	})
	if errors.Is(err, store.ErrNotFound) {
		if aerr := d.tx(ctx, func(tx pgx.Tx) error {
			return d.appendAudit(ctx, tx, store.AuditEntry{Action: store.ActionUnlink, MyKeyID: id, Outcome: store.Outcome(err), Detail: "service=" + service}, "")
		}); aerr != nil {
			return l, d.wrap(aerr)
		}
	}
	return l, d.wrap(err)
}

const entryQuery = `
SELECT m.id, m.created_at, l.patron, l.linked_at,
       (SELECT count(*) FROM certificates c WHERE c.mykey_id = m.id AND c.status = 'active')
FROM mykey_ids m LEFT JOIN links l ON l.mykey_id = m.id AND l.service = $1`

func scanEntry(service string, sc pgx.Row) (store.Entry, error) {
	var e store.Entry
	var patron *string
	var linked *time.Time
	if err := sc.Scan((*string)(&e.MyKeyID), &e.CreatedAt, &patron, &linked, &e.Certificates); err != nil {
		return e, err
	}
	e.CreatedAt = e.CreatedAt.UTC()
	if patron != nil {
		e.Link = &store.Link{Service: service, MyKeyID: e.MyKeyID, Patron: *patron, LinkedAt: linked.UTC()}
	}
	return e, nil
}

// LookupID implements store.Registry.
func (d *DB) LookupID(ctx context.Context, service string, id keyid.ID) (store.Entry, error) {
	e, err := scanEntry(service, d.pool.QueryRow(ctx, entryQuery+" WHERE m.id = $2", service, string(id)))
	if errors.Is(err, pgx.ErrNoRows) {
		return e, store.ErrUnknownID
	}
	return e, d.wrap(err)
}

// LookupPatron implements store.Registry.
func (d *DB) LookupPatron(ctx context.Context, service, patron string) (store.Entry, error) {
	e, err := scanEntry(service, d.pool.QueryRow(ctx, entryQuery+" WHERE l.patron = $2", service, patron))
	if errors.Is(err, pgx.ErrNoRows) {
		return e, store.ErrNotFound
	}
	return e, d.wrap(err)
}

// List implements store.Registry.
func (d *DB) List(ctx context.Context, service string) ([]store.Entry, error) {
	rows, err := d.pool.Query(ctx, entryQuery+" ORDER BY m.ord", service)
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
	return d.mutate(ctx, store.ActionAddCert, c.MyKeyID, func(tx pgx.Tx) (string, bool, error) {
		detail := "pseudonym=" + c.Pseudonym.Short()
		if err := idExists(ctx, tx, c.MyKeyID); err != nil {
			return detail, false, err
		}
		var owner, status string
		err := tx.QueryRow(ctx, "SELECT mykey_id, status FROM certificates WHERE pseudonym = $1", c.Pseudonym[:]).Scan(&owner, &status)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return detail, false, err
		case owner != string(c.MyKeyID):
			return detail, false, store.ErrCertRegistered
		case status == string(store.CertActive):
			return detail, true, nil
		}
		if _, err := tx.Exec(ctx, "UPDATE certificates SET status = 'superseded' WHERE mykey_id = $1 AND status = 'active'", string(c.MyKeyID)); err != nil {
			return detail, false, err
		}
		_, err = tx.Exec(ctx, `INSERT INTO certificates (pseudonym, mykey_id, not_after, status, registered_at) VALUES ($1, $2, $3, 'active', $4)
			ON CONFLICT (pseudonym) DO UPDATE SET status = 'active', not_after = excluded.not_after, registered_at = excluded.registered_at`,
			c.Pseudonym[:], string(c.MyKeyID), c.NotAfter.UTC().Truncate(time.Second), d.now())
		return detail, false, err
	})
}

// Certificate implements store.Registry.
func (d *DB) Certificate(ctx context.Context, p keyid.Pseudonym) (store.Certificate, error) {
	c := store.Certificate{Pseudonym: p}
	err := d.pool.QueryRow(ctx, "SELECT mykey_id, not_after, status, registered_at FROM certificates WHERE pseudonym = $1", p[:]).
		Scan((*string)(&c.MyKeyID), &c.NotAfter, (*string)(&c.Status), &c.RegisteredAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return c, store.ErrNotFound
	}
	c.NotAfter, c.RegisteredAt = c.NotAfter.UTC(), c.RegisteredAt.UTC()
	return c, d.wrap(err)
}

// Certificates implements store.Registry.
func (d *DB) Certificates(ctx context.Context, id keyid.ID) ([]store.Certificate, error) {
	rows, err := d.pool.Query(ctx, "SELECT pseudonym, not_after, status, registered_at FROM certificates WHERE mykey_id = $1 ORDER BY registered_at DESC, pseudonym DESC", string(id))
	if err != nil {
		return nil, d.wrap(err)
	}
	defer rows.Close()
	var out []store.Certificate
	for rows.Next() {
		c := store.Certificate{MyKeyID: id}
		var p []byte
		if err := rows.Scan(&p, &c.NotAfter, (*string)(&c.Status), &c.RegisteredAt); err != nil {
			return nil, d.wrap(err)
		}
		copy(c.Pseudonym[:], p)
		c.NotAfter, c.RegisteredAt = c.NotAfter.UTC(), c.RegisteredAt.UTC()
		out = append(out, c)
	}
	return out, d.wrap(rows.Err())
}

// Audit implements store.Registry.
func (d *DB) Audit(ctx context.Context, e store.AuditEntry) error {
	e.At, e.User = time.Time{}, "" // now, by this registry's user
	return d.wrap(d.tx(ctx, func(tx pgx.Tx) error { return d.appendAudit(ctx, tx, e, "") }))
}

// Deliver appends entries that a desk queued while the registry was out of
// reach (or a busy desk batched), keeping their time and user; an entry
// whose idempotency key was delivered before is skipped. All or none, in
// three statements whatever their number.
func (d *DB) Deliver(ctx context.Context, entries []store.AuditEntry, idem []string) error {
	return d.wrap(d.tx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, "SELECT idem FROM audit WHERE idem = ANY($1)", idem)
		if err != nil {
			return err
		}
		had, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		var prev []byte
		var seq int64
		if err := tx.QueryRow(ctx, "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").Scan(&seq, &prev); err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		var cols struct {
			seq                                     []int64
			at                                      []time.Time
			user, action, id, outcome, detail, idem []string
			hash                                    [][]byte
		}
		for i, e := range entries {
			if slices.Contains(had, idem[i]) {
				continue
			}
			seq++
			e.Seq, e.At = seq, e.At.UTC().Truncate(time.Second)
			e.Hash = store.ChainHash(prev, e)
			prev = e.Hash
			cols.seq, cols.at, cols.hash = append(cols.seq, e.Seq), append(cols.at, e.At), append(cols.hash, e.Hash)
			cols.user, cols.action, cols.id = append(cols.user, e.User), append(cols.action, e.Action), append(cols.id, string(e.MyKeyID))
			cols.outcome, cols.detail, cols.idem = append(cols.outcome, e.Outcome), append(cols.detail, e.Detail), append(cols.idem, idem[i])
		}
		if len(cols.seq) == 0 {
			return nil
		}
		_, err = tx.Exec(ctx, `INSERT INTO audit (seq, at, os_user, action, mykey_id, outcome, detail, hash, idem)
			SELECT * FROM unnest($1::bigint[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bytea[], $9::text[])`,
			cols.seq, cols.at, cols.user, cols.action, cols.id, cols.outcome, cols.detail, cols.hash, cols.idem)
		return err
	}))
}

// AuditLog implements store.Registry.
func (d *DB) AuditLog(ctx context.Context, limit int) ([]store.AuditEntry, error) {
	suffix := "ORDER BY seq"
	if limit > 0 {
		suffix = fmt.Sprintf("ORDER BY seq DESC LIMIT %d", limit)
	}
	log, err := readAudit(ctx, d.pool, suffix, false)
	return log, d.wrap(err)
}

// SearchAudit implements store.Registry.
func (d *DB) SearchAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, int, error) {
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, fmt.Sprintf(cond, len(args)))
	}
	if !q.From.IsZero() {
		add("at >= $%d", q.From.UTC())
	}
	if !q.To.IsZero() {
		add("at < $%d", q.To.UTC())
	}
	if q.Action != "" {
		add("action = $%d", q.Action)
	}
	if q.MyKeyID != "" {
		add("mykey_id = $%d", string(q.MyKeyID))
	}
	if q.User != "" {
		add("strpos(os_user, $%d) > 0", q.User)
	}
	cond := ""
	if len(where) > 0 {
		cond = "WHERE " + strings.Join(where, " AND ")
	}
	var total int
	if err := d.pool.QueryRow(ctx, fmt.Sprintf("SELECT count(*) FROM (SELECT 1 FROM audit %s LIMIT %d) m", cond, store.AuditCountCap+1), args...).Scan(&total); err != nil {
		return nil, 0, d.wrap(err)
	}
	limit := "ALL"
	if q.Limit > 0 {
		limit = fmt.Sprint(q.Limit)
	}
	page, err := readAudit(ctx, d.pool, fmt.Sprintf("%s ORDER BY at DESC, seq DESC LIMIT %s OFFSET %d", cond, limit, max(q.Offset, 0)), true, args...)
	return page, total, d.wrap(err)
}

// Close implements store.Registry.
func (d *DB) Close() error {
	d.pool.Close()
	return nil
}

// Register implements store.Registry.
func (d *DB) Register(ctx context.Context, r store.Registration) (store.Registered, error) {
	for range store.MaxIDAttempts {
		var res store.Registered
		var fnErr error
		err := d.tx(ctx, func(tx pgx.Tx) error {
			res, fnErr = d.register(ctx, tx, r)
			if fnErr != nil {
				return fnErr
			}
			return d.appendAudit(ctx, tx, store.AuditEntry{Action: store.ActionRegister, MyKeyID: res.MyKeyID, Outcome: "ok", Detail: store.RegisterDetail(r, res)}, "")
		})
		if res.Minted && isConstraint(err) {
			continue // the minted ID collided: draw again
		}
		if err != nil && fnErr != nil && store.Outcome(fnErr) != "error" {
			if aerr := d.tx(ctx, func(tx pgx.Tx) error {
				return d.appendAudit(ctx, tx, store.AuditEntry{Action: store.ActionRegister, MyKeyID: r.MyKeyID, Outcome: store.Outcome(fnErr), Detail: store.RegisterDetail(r, store.Registered{})}, "")
			}); aerr != nil {
				return res, d.wrap(aerr)
			}
		}
		return res, d.wrap(err)
	}
	return store.Registered{}, errors.New("minting a MyKey ID: too many collisions in a row")
}

func (d *DB) register(ctx context.Context, tx pgx.Tx, r store.Registration) (store.Registered, error) {
	var res store.Registered
	if err := store.CheckService(r.Service); err != nil {
		return res, err
	}
	if r.MyKeyID != "" {
		if err := idExists(ctx, tx, r.MyKeyID); err != nil {
			return res, err
		}
	}
	var patronOwner string
	if r.Patron != "" {
		var err error
		if patronOwner, err = one(ctx, tx, "SELECT mykey_id FROM links WHERE service = $1 AND patron = $2", r.Service, r.Patron); err != nil {
			return res, err
		}
	}
	certOwner, err := one(ctx, tx, "SELECT mykey_id FROM certificates WHERE pseudonym = $1", r.Pseudonym[:])
	if err != nil {
		return res, err
	}
	id, newLink, err := store.RegistrationTarget(r, keyid.ID(patronOwner), keyid.ID(certOwner), func(id keyid.ID) (string, error) {
		return one(ctx, tx, "SELECT patron FROM links WHERE service = $1 AND mykey_id = $2", r.Service, string(id))
	})
	if err != nil {
		return res, err
	}
	if newLink {
		if err := d.rosterCheck(ctx, tx, r.Service, r.Patron); err != nil {
			return res, err
		}
	}
	if id == "" {
		if id, err = d.opts.NewID(); err != nil {
			return res, err
		}
		res.Minted = true
		if _, err := tx.Exec(ctx, "INSERT INTO mykey_ids (id, created_at) VALUES ($1, $2)", string(id), d.now()); err != nil {
			return res, err
		}
	}
	res.MyKeyID = id
	n, err := tx.Exec(ctx, "UPDATE certificates SET status = 'superseded' WHERE mykey_id = $1 AND status = 'active' AND pseudonym <> $2", string(id), r.Pseudonym[:])
	if err != nil {
		return res, err
	}
	res.Superseded = n.RowsAffected() > 0
	if _, err := tx.Exec(ctx, `INSERT INTO certificates (pseudonym, mykey_id, not_after, status, registered_at) VALUES ($1, $2, $3, 'active', $4)
		ON CONFLICT (pseudonym) DO UPDATE SET status = 'active', not_after = excluded.not_after`,
		r.Pseudonym[:], string(id), r.NotAfter.UTC().Truncate(time.Second), d.now()); err != nil {
		return res, err
	}
	if newLink {
		if _, err := tx.Exec(ctx, "INSERT INTO links (service, mykey_id, patron, linked_at) VALUES ($1, $2, $3, $4)", r.Service, string(id), r.Patron, d.now()); err != nil {
			return res, err
		}
		res.Linked = true
	}
	if r.Genuine != nil {
		g, err := r.Genuine(id)
		if err == nil {
			err = g.Check()
		}
		if err != nil {
			return res, err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO genuine (mykey_id, mode, dob, card_key, key_fp, captured_at) VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (mykey_id) DO UPDATE SET mode = excluded.mode, dob = excluded.dob, card_key = excluded.card_key, key_fp = excluded.key_fp, captured_at = excluded.captured_at`,
			string(id), g.Mode, nullBytes(g.DOB), nullBytes(g.CardKey), g.KeyFP, d.now()); err != nil {
			return res, err
		}
		res.Genuine = true
	}
	return res, nil
}

func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// Genuine implements store.Registry.
func (d *DB) Genuine(ctx context.Context, id keyid.ID) (store.Genuine, error) {
	var g store.Genuine
	err := d.pool.QueryRow(ctx, "SELECT mode, dob, card_key, key_fp, captured_at FROM genuine WHERE mykey_id = $1", string(id)).
		Scan(&g.Mode, &g.DOB, &g.CardKey, &g.KeyFP, &g.CapturedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return g, store.ErrNotFound
	}
	g.CapturedAt = g.CapturedAt.UTC()
	return g, d.wrap(err)
}

// CountGenuine implements store.Registry.
func (d *DB) CountGenuine(ctx context.Context, service, mode string) (store.GenuineCount, error) {
	var c store.GenuineCount
	err := d.pool.QueryRow(ctx, `SELECT count(*), count(*) FILTER (WHERE g.mode IS NULL OR g.mode <> $1)
		FROM links l LEFT JOIN genuine g ON g.mykey_id = l.mykey_id WHERE l.service = $2`, mode, service).Scan(&c.Linked, &c.Missing)
	return c, d.wrap(err)
}

// loadRoster returns service's roster, or nil when none was imported.
func (d *DB) loadRoster(ctx context.Context, tx pgx.Tx, service string) (store.Roster, error) {
	var n int
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM rosters WHERE service = $1", service).Scan(&n); err != nil || n == 0 {
		return nil, err
	}
	rows, err := tx.Query(ctx, "SELECT patron, active, expires FROM roster_patrons WHERE service = $1", service)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	r := store.Roster{}
	for rows.Next() {
		var row store.RosterRow
		var exp *time.Time
		if err := rows.Scan(&row.Patron, &row.Active, &exp); err != nil {
			return nil, err
		}
		if exp != nil {
			row.Expires = *exp
		}
		r[row.Patron] = row
	}
	return r, rows.Err()
}

// rosterCheck checks one patron number against service's roster, if any.
func (d *DB) rosterCheck(ctx context.Context, tx pgx.Tx, service, patron string) error {
	var n int
	if err := tx.QueryRow(ctx, "SELECT count(*) FROM rosters WHERE service = $1", service).Scan(&n); err != nil || n == 0 {
		return err
	}
	row := store.RosterRow{Patron: patron}
	var exp *time.Time
	err := tx.QueryRow(ctx, "SELECT active, expires FROM roster_patrons WHERE service = $1 AND patron = $2", service, patron).Scan(&row.Active, &exp)
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotInRoster
	}
	if err != nil {
		return err
	}
	if exp != nil {
		row.Expires = *exp
	}
	return store.Roster{patron: row}.Check(patron, d.now())
}

// ImportRoster implements store.Registry.
func (d *DB) ImportRoster(ctx context.Context, service string, rows []store.RosterRow, opts store.RosterOptions) error {
	if err := store.CheckService(service); err != nil {
		return err
	}
	return d.mutate(ctx, store.ActionImportRoster, "", func(tx pgx.Tx) (string, bool, error) {
		detail := fmt.Sprintf("service=%s patrons=%d", service, len(rows))
		var old int
		if err := tx.QueryRow(ctx, "SELECT count(*) FROM roster_patrons WHERE service = $1", service).Scan(&old); err != nil {
			return "", false, err
		}
		if err := store.CheckShrink(old, len(rows), opts.AllowShrink); err != nil {
			return detail, false, err
		}
		if opts.DryRun {
			return "", true, nil
		}
		if _, err := tx.Exec(ctx, "DELETE FROM roster_patrons WHERE service = $1", service); err != nil {
			return "", false, err
		}
		_, err := tx.CopyFrom(ctx, pgx.Identifier{"roster_patrons"}, []string{"service", "patron", "active", "expires"},
			pgx.CopyFromSlice(len(rows), func(i int) ([]any, error) {
				var exp any
				if !rows[i].Expires.IsZero() {
					exp = rows[i].Expires
				}
				return []any{service, rows[i].Patron, rows[i].Active, exp}, nil
			}))
		if err != nil {
			return "", false, err
		}
		_, err = tx.Exec(ctx, "INSERT INTO rosters (service, loaded_at, patrons) VALUES ($1, $2, $3) ON CONFLICT (service) DO UPDATE SET loaded_at = excluded.loaded_at, patrons = excluded.patrons",
			service, d.now(), len(rows))
		return detail, false, err
	})
}

// metaKeyFingerprint and metaConsolePassword are meta rows.
const (
	metaKeyFingerprint  = "key_fingerprint"
	metaConsolePassword = "console_password"
)

// KeyBinding implements store.Registry.
func (d *DB) KeyBinding(ctx context.Context) (fingerprint string, certificates int, err error) {
	err = d.pool.QueryRow(ctx, "SELECT coalesce((SELECT value FROM meta WHERE key = $1), ''), (SELECT count(*) FROM certificates)", metaKeyFingerprint).
		Scan(&fingerprint, &certificates)
	return fingerprint, certificates, d.wrap(err)
}

// BindKey implements store.Registry.
func (d *DB) BindKey(ctx context.Context, fingerprint string) error {
	return d.mutate(ctx, store.ActionBindKey, "", func(tx pgx.Tx) (string, bool, error) {
		cur, err := one(ctx, tx, "SELECT value FROM meta WHERE key = $1", metaKeyFingerprint)
		switch {
		case err != nil:
			return "", false, err
		case cur == fingerprint:
			return "", true, nil
		case cur != "":
			return "", false, fmt.Errorf("%w: bound to key %s, not %s", store.ErrKeyMismatch, cur, fingerprint)
		}
		_, err = tx.Exec(ctx, "INSERT INTO meta (key, value) VALUES ($1, $2)", metaKeyFingerprint, fingerprint)
		return "fingerprint=" + fingerprint, false, err
	})
}

// ConsolePassword implements store.Registry.
func (d *DB) ConsolePassword(ctx context.Context) (string, error) {
	var h string
	err := d.pool.QueryRow(ctx, "SELECT coalesce((SELECT value FROM meta WHERE key = $1), '')", metaConsolePassword).Scan(&h)
	return h, d.wrap(err)
}

// SetConsolePassword implements store.Registry.
func (d *DB) SetConsolePassword(ctx context.Context, hash string) error {
	return d.mutate(ctx, store.ActionPassword, "", func(tx pgx.Tx) (string, bool, error) {
		if hash == "" {
			return "", false, fmt.Errorf("%w: empty password hash", store.ErrInvalidArgument)
		}
		_, err := tx.Exec(ctx, "INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value", metaConsolePassword, hash)
		return "", false, err
	})
}

// RolesSQL creates the desk role and its grants (see the file).
//
//go:embed roles.sql
var RolesSQL string
