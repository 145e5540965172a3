// Package replica keeps a desk's local copy of the shared registry: a
// SQLite file with what a tap reads (MyKey IDs, certificates, links, the
// genuine-card data, the registry's key fingerprint), refreshed from
// PostgreSQL when the server notifies a change and by a periodic poll, and
// a local queue of the audit entries the desk records, delivered to the
// server exactly once.
//
// A tap reads only the local copy and writes only the local queue: it never
// waits for the network. While the server is out of reach the desk keeps
// typing from the copy; changes (registration, link, import) are refused
// with store.ErrOffline.
//
// The copy follows the server's change log by revision (package postgres:
// revisions commit in order, none is skipped), so a change can never be
// missed: the copy holds every change up to its revision and none after.
package replica

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/mykey-jp/mykey/keyid"
	"github.com/mykey-jp/mykey/store"
	"github.com/mykey-jp/mykey/store/postgres"
	"github.com/mykey-jp/mykey/store/sqlite"
)

// Options tune a Replica.
type Options struct {
	Poll time.Duration // how often to look for changes without a notification (default 5 s)
	// Event, when not nil, hears about going offline and back online,
	// deliveries, changes applied and rebuilds.
	Event func(Event)
}

// Event is something the replica did or saw.
type Event struct {
	Kind string // "online", "offline", "rebuilt", "delivered", "synced" (changes applied)
	Err  error  // why, for "offline"
	N    int    // entries delivered, rows rebuilt
	Rev  int64  // the revision the copy holds, for "synced" and "rebuilt"
}

// Status is the replica's state, for the tray and mykey status.
type Status struct {
	Online       bool
	OfflineSince time.Time // when the server was last lost (zero while online)
	Synced       time.Time // when the copy was last brought up to date
	Rev          int64     // the server revision the copy holds
	Queued       int       // audit entries waiting for the server
	Err          string    // the last failure
}

// Replica is a store.Registry for a desk: reads and the audit log from the
// local copy, changes on the server.
type Replica struct {
	server *postgres.DB
	path   string
	opts   store.Options
	ropts  Options

	mu    sync.RWMutex // guards local (swapped by a rebuild)
	local *sqlite.DB
	queue *sql.DB // the outbox, a SQLite file beside the copy

	pullMu    sync.Mutex // one pull at a time
	deliverMu sync.Mutex // one delivery at a time
	stop      context.CancelFunc
	done      chan struct{} // closed when Run, started by Start, returns
	stMu      sync.Mutex
	st        Status
	noted     time.Time // when synced_at was last written
	known     bool      // st.Online was found once
	kick      chan struct{}
}

var _ store.Registry = (*Replica)(nil)

// Open opens (or builds) the copy at path and its queue at path+".queue",
// and brings the copy up to date when the server answers. Without a usable
// copy and without the server it fails with store.ErrOffline: the desk has
// nothing to serve taps from.
func Open(ctx context.Context, server *postgres.DB, path string, opts store.Options, ropts Options) (*Replica, error) {
	if ropts.Poll <= 0 {
		ropts.Poll = 5 * time.Second
	}
	r := &Replica{server: server, path: path, opts: opts, ropts: ropts, kick: make(chan struct{}, 1)}
	q, err := openQueue(ctx, path+".queue")
	if err != nil {
		return nil, err
	}
	r.queue = q
	if l, err := r.openLocal(ctx, path); err == nil {
		r.local = l
		r.st.Rev, _ = r.localRev(ctx, l)
	}
	if r.local != nil && r.st.Rev > 0 {
		// A desk with a copy serves taps from it at once: it waits for a
		// server that does not answer only briefly (Run catches up).
		pctx, cancel := context.WithTimeout(ctx, openWait)
		err = server.Wrap(server.Pool().Ping(pctx))
		cancel()
		if err != nil {
			r.setOnline(err)
			return r, nil
		}
	}
	err = r.Sync(ctx)
	if err != nil && (r.local == nil || r.st.Rev == 0) {
		r.Close()
		return nil, fmt.Errorf("%s: no usable copy of the registry, and none could be made from the server: %w", path, err)
	}
	return r, nil
}

// openLocal opens a copy that is sound and complete (it records the revision
// it holds); anything else is an error and the copy will be rebuilt.
func (r *Replica) openLocal(ctx context.Context, path string) (*sqlite.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	l, err := sqlite.OpenCopy(ctx, path, r.opts)
	if err != nil {
		return nil, err
	}
	var ok string
	if err := l.SQL().QueryRowContext(ctx, "PRAGMA quick_check").Scan(&ok); err != nil || ok != "ok" {
		l.Close()
		return nil, fmt.Errorf("%w: quick_check: %s %v", store.ErrCorrupt, ok, err)
	}
	if _, err := r.localRev(ctx, l); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

const stateDDL = "CREATE TABLE IF NOT EXISTS replica_state (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT"

func (r *Replica) localRev(ctx context.Context, l *sqlite.DB) (int64, error) {
	var v string
	err := l.SQL().QueryRowContext(ctx, "SELECT value FROM replica_state WHERE key = 'rev'").Scan(&v)
	if err != nil {
		return 0, fmt.Errorf("%w: the copy records no revision: %v", store.ErrCorrupt, err)
	}
	return strconv.ParseInt(v, 10, 64)
}

// Status returns the replica's state.
func (r *Replica) Status() Status {
	r.stMu.Lock()
	st := r.st
	r.stMu.Unlock()
	st.Queued = r.queued()
	return st
}

func (r *Replica) setOnline(err error) {
	online := err == nil
	r.stMu.Lock()
	changed := !r.known || r.st.Online != online
	r.known, r.st.Online = true, online
	if online {
		r.st.OfflineSince, r.st.Err = time.Time{}, ""
	} else {
		r.st.Err = err.Error()
		if changed {
			r.st.OfflineSince = time.Now()
		}
	}
	since := r.st.OfflineSince
	r.stMu.Unlock()
	if !changed {
		return
	}
	kind, value := "online", ""
	if !online {
		kind, value = "offline", since.UTC().Format(time.RFC3339Nano)
	}
	r.note("offline_since", value)
	if r.ropts.Event != nil {
		r.ropts.Event(Event{Kind: kind, Err: err})
	}
}

// Start runs Run in the background until ctx ends or Close.
func (r *Replica) Start(ctx context.Context) {
	ctx, r.stop = context.WithCancel(ctx)
	r.done = make(chan struct{})
	go func() {
		defer close(r.done)
		r.Run(ctx)
	}()
}

// Run keeps the copy up to date and delivers the queue until ctx ends:
// it pulls the changes when the server notifies one the copy lacks and
// every Options.Poll, delivers the queue shortly after an entry is queued
// (entries of a busy desk go together), and reconnects when the server
// comes back.
func (r *Replica) Run(ctx context.Context) {
	var latest atomic.Int64 // the newest revision notified
	notified := make(chan struct{}, 1)
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		r.listen(ctx, &latest, notified)
	}()
	go func() {
		defer wg.Done()
		r.deliverLoop(ctx)
	}()
	defer wg.Wait()
	t := time.NewTicker(r.ropts.Poll)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.Sync(ctx)
		case <-notified:
			// A registration or an import is often several transactions
			// in a row: one pull for them; and the desks, notified
			// together, do not all ask the server at once.
			select {
			case <-ctx.Done():
				return
			case <-time.After(notifyDelay + rand.N(notifyJitter)):
			}
			r.stMu.Lock()
			behind := r.st.Rev < latest.Load()
			r.stMu.Unlock()
			if behind { // (Status would also count the queue: a query)
				r.pullNow(ctx)
			}
		}
	}
}

// A desk waits notifyDelay and up to notifyJitter more after a
// notification before it pulls.
const notifyDelay, notifyJitter = 50 * time.Millisecond, 200 * time.Millisecond

// deliverDelay is how long the queue waits after an entry for more.
const deliverDelay = time.Second

func (r *Replica) deliverLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(deliverDelay):
		}
		r.deliverNow(ctx)
	}
}

// listen waits for notifications on its own connection, reconnecting
// after a second when it is lost; latest keeps the newest revision
// notified.
func (r *Replica) listen(ctx context.Context, latest *atomic.Int64, notified chan<- struct{}) {
	for ctx.Err() == nil {
		conn, err := r.server.Pool().Acquire(ctx)
		if err == nil {
			_, err = conn.Exec(ctx, "LISTEN mykey_changes")
			for err == nil {
				var n *pgconn.Notification
				if n, err = conn.Conn().WaitForNotification(ctx); err == nil {
					rev, _ := strconv.ParseInt(n.Payload, 10, 64)
					if rev > latest.Load() {
						latest.Store(rev)
					}
					select {
					case notified <- struct{}{}:
					default:
					}
				}
			}
			conn.Hijack().Close(context.Background()) // never back to the pool while listening
		}
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// Sync delivers the queued audit entries and brings the copy up to date
// (rebuilding it when it is missing, unsound, or too far behind).
func (r *Replica) Sync(ctx context.Context) error {
	if err := r.deliverNow(ctx); err != nil {
		return err
	}
	return r.pullNow(ctx)
}

func (r *Replica) deliverNow(ctx context.Context) error {
	r.deliverMu.Lock()
	defer r.deliverMu.Unlock()
	err := r.deliver(ctx)
	r.setOnline(err)
	return err
}

func (r *Replica) pullNow(ctx context.Context) error {
	r.pullMu.Lock()
	defer r.pullMu.Unlock()
	err := r.pull(ctx)
	r.setOnline(err)
	return err
}

// pull applies the server's changes since the copy's revision: one query
// on the server (one statement, so one snapshot) returns the revision and
// every changed row as JSON, which one transaction on the copy applies.
func (r *Replica) pull(ctx context.Context) error {
	r.mu.RLock()
	l := r.local
	r.mu.RUnlock()
	if l == nil {
		return r.rebuild(ctx)
	}
	have, err := r.localRev(ctx, l)
	if err != nil {
		return r.rebuild(ctx)
	}
	var rev, pruned int64
	var version, n int
	var changed *string
	if err := r.server.Pool().QueryRow(ctx, pullQuery, have, rebuildOver).Scan(&rev, &pruned, &version, &n, &changed); err != nil {
		return r.server.Wrap(err)
	}
	switch {
	case version != postgres.Version():
		return schemaDiffers(version)
	case rev == have:
		r.synced(rev)
		return nil
	case rev < have, changed == nil, have < pruned: // restored from a backup, much changed, or changes pruned
		return r.rebuild(ctx)
	}
	w, err := l.SQL().BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer w.Rollback()
	for _, q := range applySQL {
		if _, err := w.ExecContext(ctx, q, *changed); err != nil {
			return fmt.Errorf("%s: applying the registry's changes: %w", r.path, err)
		}
	}
	if _, err := w.ExecContext(ctx, "UPDATE replica_state SET value = ? WHERE key = 'rev'", strconv.FormatInt(rev, 10)); err != nil {
		return err
	}
	if err := w.Commit(); err != nil {
		return err
	}
	r.synced(rev)
	if r.ropts.Event != nil {
		r.ropts.Event(Event{Kind: "synced", Rev: rev, N: n})
	}
	return nil
}

// openWait is how long Open waits for the server to answer when the desk
// has a copy to serve from (a server that refuses answers at once; one
// that does not answer would hold the desk for the connect timeout).
const openWait = 2 * time.Second

// rebuildOver is how many changed keys make a rebuild cheaper than applying
// them.
const rebuildOver = 50000

// utc formats a timestamptz column as the copy keeps times.
func utc(col string) string {
	return `to_char(` + col + ` AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`
}

// pullQuery returns the server's revision, the revision up to which its
// change log was pruned, its schema version, the number of
// keys changed after revision $1 and, unless more than $2, a JSON object:
// "keys" [table, service, key] and each changed table's current rows
// (binary columns in hex).
var pullQuery = `WITH ch AS (SELECT DISTINCT tbl, service, key FROM changes WHERE rev > $1),
n AS (SELECT count(*) AS n FROM ch)
SELECT (SELECT rev FROM clock), (SELECT pruned FROM clock), (SELECT max(version) FROM mykey_schema), (SELECT n FROM n)::int,
CASE WHEN (SELECT n FROM n) > $2 THEN NULL ELSE json_build_object(
  'keys', (SELECT coalesce(json_agg(json_build_array(tbl, service, key)), '[]') FROM ch),
  'mykey_ids', (SELECT coalesce(json_agg(json_build_array(id, ` + utc("created_at") + `)), '[]') FROM mykey_ids
    WHERE id IN (SELECT key FROM ch WHERE tbl = 'mykey_ids')),
  'certificates', (SELECT coalesce(json_agg(json_build_array(encode(pseudonym, 'hex'), mykey_id, ` + utc("not_after") + `, status, ` + utc("registered_at") + `)), '[]') FROM certificates
    WHERE pseudonym IN (SELECT decode(key, 'hex') FROM ch WHERE tbl = 'certificates')),
  'links', (SELECT coalesce(json_agg(json_build_array(service, mykey_id, patron, ` + utc("linked_at") + `)), '[]') FROM links
    WHERE (service, mykey_id) IN (SELECT service, key FROM ch WHERE tbl = 'links')),
  'genuine', (SELECT coalesce(json_agg(json_build_array(mykey_id, mode, encode(dob, 'hex'), encode(card_key, 'hex'), encode(key_fp, 'hex'), ` + utc("captured_at") + `)), '[]') FROM genuine
    WHERE mykey_id IN (SELECT key FROM ch WHERE tbl = 'genuine')),
  'meta', (SELECT coalesce(json_agg(json_build_array(key, value)), '[]') FROM meta
    WHERE key IN (SELECT key FROM ch WHERE tbl = 'meta'))
)::text END`

// applySQL applies pullQuery's JSON ($1) to the copy: the changed keys'
// rows go, then the server's current rows come (parents first; MyKey IDs
// are never removed, only upserted).
var applySQL = []string{
	`DELETE FROM certificates WHERE pseudonym IN (SELECT unhex(value ->> 2) FROM json_each(?, '$.keys') WHERE value ->> 0 = 'certificates')`,
	`DELETE FROM links WHERE (service, mykey_id) IN (SELECT value ->> 1, value ->> 2 FROM json_each(?, '$.keys') WHERE value ->> 0 = 'links')`,
	`DELETE FROM genuine WHERE mykey_id IN (SELECT value ->> 2 FROM json_each(?, '$.keys') WHERE value ->> 0 = 'genuine')`,
	`DELETE FROM meta WHERE key IN (SELECT value ->> 2 FROM json_each(?, '$.keys') WHERE value ->> 0 = 'meta')`,
	`INSERT INTO mykey_ids (id, created_at) SELECT value ->> 0, value ->> 1 FROM json_each(?, '$.mykey_ids') WHERE true
		ON CONFLICT (id) DO UPDATE SET created_at = excluded.created_at`,
	`INSERT INTO certificates (pseudonym, mykey_id, not_after, status, registered_at)
		SELECT unhex(value ->> 0), value ->> 1, value ->> 2, value ->> 3, value ->> 4 FROM json_each(?, '$.certificates')`,
	`INSERT INTO links (service, mykey_id, patron, linked_at) SELECT value ->> 0, value ->> 1, value ->> 2, value ->> 3 FROM json_each(?, '$.links')`,
	`INSERT INTO genuine (mykey_id, mode, dob, card_key, key_fp, captured_at)
		SELECT value ->> 0, value ->> 1, unhex(value ->> 2), unhex(value ->> 3), unhex(value ->> 4), value ->> 5 FROM json_each(?, '$.genuine')`,
	`INSERT INTO meta (key, value) SELECT value ->> 0, value ->> 1 FROM json_each(?, '$.meta')`,
}

func (r *Replica) synced(rev int64) {
	now := time.Now()
	r.stMu.Lock()
	r.st.Rev, r.st.Synced = rev, now
	write := now.Sub(r.noted) >= time.Second
	if write {
		r.noted = now
	}
	r.stMu.Unlock()
	if write { // for mykey status: at most once a second
		r.note("synced_at", now.UTC().Format(time.RFC3339Nano))
	}
}

// note records a fact of the replica's state in the copy, for mykey status
// (another process) to read with ReadStatus.
func (r *Replica) note(key, value string) {
	read(r, func(l *sqlite.DB) (sql.Result, error) {
		return l.SQL().Exec("INSERT INTO replica_state (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value", key, value)
	})
}

// ReadStatus reads the state the running desk recorded in the copy at path
// and counts its queue, without changing either.
func ReadStatus(ctx context.Context, path string) (Status, error) {
	var st Status
	db, err := sql.Open("sqlite3", "file:"+filepath.ToSlash(path)+"?mode=ro&_busy_timeout=5000")
	if err != nil {
		return st, err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, "SELECT key, value FROM replica_state")
	if err != nil {
		return st, fmt.Errorf("%s: %w", path, err)
	}
	defer rows.Close()
	st.Online = true
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return st, err
		}
		switch k {
		case "rev":
			st.Rev, _ = strconv.ParseInt(v, 10, 64)
		case "synced_at":
			st.Synced, _ = time.Parse(time.RFC3339Nano, v)
		case "offline_since":
			st.OfflineSince, _ = time.Parse(time.RFC3339Nano, v)
			st.Online = v == ""
		}
	}
	if q, err := sql.Open("sqlite3", "file:"+filepath.ToSlash(path+".queue")+"?mode=ro&_busy_timeout=5000"); err == nil {
		q.QueryRowContext(ctx, "SELECT count(*) FROM queue").Scan(&st.Queued)
		q.Close()
	}
	return st, rows.Err()
}

func schemaDiffers(v int) error {
	return fmt.Errorf("%w: the server's registry has schema version %d, this mykey %d: update mykey on every desk together", store.ErrSchemaTooNew, v, postgres.Version())
}

// snapshot runs fn in a read-only, repeatable-read transaction on the
// server with the revision it sees.
func (r *Replica) snapshot(ctx context.Context, fn func(pgx.Tx, int64) error) error {
	err := pgx.BeginTxFunc(ctx, r.server.Pool(), pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		var v int
		var rev int64
		if err := tx.QueryRow(ctx, "SELECT (SELECT max(version) FROM mykey_schema), (SELECT rev FROM clock)").Scan(&v, &rev); err != nil {
			return err
		}
		if v != postgres.Version() {
			return schemaDiffers(v)
		}
		return fn(tx, rev)
	})
	return r.server.Wrap(err)
}

// read runs fn on the copy.
func read[T any](r *Replica, fn func(*sqlite.DB) (T, error)) (T, error) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if r.local == nil {
		var zero T
		return zero, fmt.Errorf("%s: %w: the desk's copy of the registry is not there (being rebuilt?)", r.path, store.ErrCannotOpen)
	}
	return fn(r.local)
}

// Certificate implements store.Registry from the copy.
func (r *Replica) Certificate(ctx context.Context, p keyid.Pseudonym) (store.Certificate, error) {
	return read(r, func(l *sqlite.DB) (store.Certificate, error) { return l.Certificate(ctx, p) })
}

// Certificates implements store.Registry from the copy.
func (r *Replica) Certificates(ctx context.Context, id keyid.ID) ([]store.Certificate, error) {
	return read(r, func(l *sqlite.DB) ([]store.Certificate, error) { return l.Certificates(ctx, id) })
}

// LookupID implements store.Registry from the copy.
func (r *Replica) LookupID(ctx context.Context, service string, id keyid.ID) (store.Entry, error) {
	return read(r, func(l *sqlite.DB) (store.Entry, error) { return l.LookupID(ctx, service, id) })
}

// LookupPatron implements store.Registry from the copy.
func (r *Replica) LookupPatron(ctx context.Context, service, patron string) (store.Entry, error) {
	return read(r, func(l *sqlite.DB) (store.Entry, error) { return l.LookupPatron(ctx, service, patron) })
}

// Genuine implements store.Registry from the copy.
func (r *Replica) Genuine(ctx context.Context, id keyid.ID) (store.Genuine, error) {
	return read(r, func(l *sqlite.DB) (store.Genuine, error) { return l.Genuine(ctx, id) })
}

// KeyBinding implements store.Registry from the copy.
func (r *Replica) KeyBinding(ctx context.Context) (string, int, error) {
	var n int
	fp, err := read(r, func(l *sqlite.DB) (fp string, err error) {
		fp, n, err = l.KeyBinding(ctx)
		return fp, err
	})
	return fp, n, err
}

// ConsolePassword implements store.Registry from the copy.
func (r *Replica) ConsolePassword(ctx context.Context) (string, error) {
	return read(r, func(l *sqlite.DB) (string, error) { return l.ConsolePassword(ctx) })
}

// changed runs a change on the server and then brings the copy up to date,
// so that this desk sees its own change at once.
func changed[T any](ctx context.Context, r *Replica, fn func(*postgres.DB) (T, error)) (T, error) {
	v, err := fn(r.server)
	if err == nil {
		r.Sync(ctx)
	} else if errors.Is(err, store.ErrOffline) {
		r.setOnline(err)
	}
	return v, err
}

// NewID implements store.Registry on the server.
func (r *Replica) NewID(ctx context.Context) (keyid.ID, error) {
	return changed(ctx, r, func(s *postgres.DB) (keyid.ID, error) { return s.NewID(ctx) })
}

// Link implements store.Registry on the server.
func (r *Replica) Link(ctx context.Context, service string, id keyid.ID, patron string, opts store.LinkOptions) (bool, error) {
	return changed(ctx, r, func(s *postgres.DB) (bool, error) { return s.Link(ctx, service, id, patron, opts) })
}

// UnlinkID implements store.Registry on the server.
func (r *Replica) UnlinkID(ctx context.Context, service string, id keyid.ID) (store.Link, error) {
	return changed(ctx, r, func(s *postgres.DB) (store.Link, error) { return s.UnlinkID(ctx, service, id) })
}

// UnlinkPatron implements store.Registry on the server.
func (r *Replica) UnlinkPatron(ctx context.Context, service, patron string) (store.Link, error) {
	return changed(ctx, r, func(s *postgres.DB) (store.Link, error) { return s.UnlinkPatron(ctx, service, patron) })
}

// AddCertificate implements store.Registry on the server.
func (r *Replica) AddCertificate(ctx context.Context, c store.Certificate) error {
	_, err := changed(ctx, r, func(s *postgres.DB) (struct{}, error) { return struct{}{}, s.AddCertificate(ctx, c) })
	return err
}

// Register implements store.Registry on the server.
func (r *Replica) Register(ctx context.Context, reg store.Registration) (store.Registered, error) {
	return changed(ctx, r, func(s *postgres.DB) (store.Registered, error) { return s.Register(ctx, reg) })
}

// ImportLinks implements store.Registry on the server.
func (r *Replica) ImportLinks(ctx context.Context, rows []store.BatchLink, keep func([]store.BatchResult) bool) ([]store.BatchResult, bool, error) {
	var ok bool
	res, err := changed(ctx, r, func(s *postgres.DB) ([]store.BatchResult, error) {
		res, c, err := s.ImportLinks(ctx, rows, keep)
		ok = c
		return res, err
	})
	return res, ok, err
}

// ImportRoster implements store.Registry on the server.
func (r *Replica) ImportRoster(ctx context.Context, service string, rows []store.RosterRow, opts store.RosterOptions) error {
	_, err := changed(ctx, r, func(s *postgres.DB) (struct{}, error) {
		return struct{}{}, s.ImportRoster(ctx, service, rows, opts)
	})
	return err
}

// BindKey implements store.Registry on the server.
func (r *Replica) BindKey(ctx context.Context, fingerprint string) error {
	_, err := changed(ctx, r, func(s *postgres.DB) (struct{}, error) { return struct{}{}, s.BindKey(ctx, fingerprint) })
	return err
}

// SetConsolePassword implements store.Registry on the server.
func (r *Replica) SetConsolePassword(ctx context.Context, hash string) error {
	_, err := changed(ctx, r, func(s *postgres.DB) (struct{}, error) { return struct{}{}, s.SetConsolePassword(ctx, hash) })
	return err
}

// List implements store.Registry on the server.
func (r *Replica) List(ctx context.Context, service string) ([]store.Entry, error) {
	return r.server.List(ctx, service)
}

// CountGenuine implements store.Registry on the copy (a desk counts at
// start without waiting for the server).
func (r *Replica) CountGenuine(ctx context.Context, service, mode string) (store.GenuineCount, error) {
	return read(r, func(l *sqlite.DB) (store.GenuineCount, error) { return l.CountGenuine(ctx, service, mode) })
}

// AuditLog implements store.Registry on the server.
func (r *Replica) AuditLog(ctx context.Context, limit int) ([]store.AuditEntry, error) {
	return r.server.AuditLog(ctx, limit)
}

// SearchAudit implements store.Registry on the server.
func (r *Replica) SearchAudit(ctx context.Context, q store.AuditQuery) ([]store.AuditEntry, int, error) {
	return r.server.SearchAudit(ctx, q)
}

// VerifyAudit implements store.Registry on the server.
func (r *Replica) VerifyAudit(ctx context.Context) (int, error) {
	return r.server.VerifyAudit(ctx)
}

// Close implements store.Registry: it stops what Start started and closes
// the copy and the queue (the server's pool belongs to the caller).
func (r *Replica) Close() error {
	if r.stop != nil {
		r.stop()
		<-r.done
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var errs []error
	if r.local != nil {
		errs = append(errs, r.local.Close())
		r.local = nil
	}
	if r.queue != nil {
		errs = append(errs, r.queue.Close())
		r.queue = nil
	}
	return errors.Join(errs...)
}
