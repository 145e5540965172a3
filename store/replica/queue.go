package replica

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"time"

	_ "github.com/mattn/go-sqlite3" // the queue's driver

	"github.com/mykey-jp/mykey/store"
)

// The queue holds the audit entries the desk recorded (scans, look-ups)
// until the server has them. Each carries an idempotency key: delivered
// again after a crash between the server's commit and the queue's delete,
// the server keeps it once.
const queueDDL = `CREATE TABLE IF NOT EXISTS queue (
    n        INTEGER PRIMARY KEY AUTOINCREMENT,
    idem     TEXT NOT NULL UNIQUE,
    at       TEXT NOT NULL,
    os_user  TEXT NOT NULL,
    action   TEXT NOT NULL,
    mykey_id TEXT NOT NULL,
    outcome  TEXT NOT NULL,
    detail   TEXT NOT NULL
) STRICT`

func openQueue(ctx context.Context, path string) (*sql.DB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	if f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600); err == nil {
		f.Close()
	}
	q := url.Values{}
	q.Set("_busy_timeout", "10000")
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite3", "file:"+filepath.ToSlash(path)+"?"+q.Encode())
	if err == nil {
		_, err = db.ExecContext(ctx, queueDDL)
	}
	if err != nil {
		if db != nil {
			db.Close()
		}
		return nil, fmt.Errorf("%s: %w: %w", path, store.ErrCannotOpen, err)
	}
	return db, nil
}

// Audit implements store.Registry: the entry goes to the local queue (a
// tap never waits for the server) and is delivered in the background.
func (r *Replica) Audit(ctx context.Context, e store.AuditEntry) error {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	_, err := r.queue.ExecContext(ctx, "INSERT INTO queue (idem, at, os_user, action, mykey_id, outcome, detail) VALUES (?, ?, ?, ?, ?, ?, ?)",
		hex.EncodeToString(b[:]), r.opts.Time().Format(time.RFC3339), r.opts.User, e.Action, string(e.MyKeyID), e.Outcome, e.Detail)
	if err != nil {
		return fmt.Errorf("%s.queue: %w", r.path, err)
	}
	select {
	case r.kick <- struct{}{}:
	default:
	}
	return nil
}

// deliverBatch bounds one delivery transaction.
const deliverBatch = 1000

// deliver sends the queued entries, oldest first, to the server and
// removes those it has.
func (r *Replica) deliver(ctx context.Context) error {
	for {
		rows, err := r.queue.QueryContext(ctx, "SELECT n, idem, at, os_user, action, mykey_id, outcome, detail FROM queue ORDER BY n LIMIT ?", deliverBatch)
		if err != nil {
			return err
		}
		var last int64
		var entries []store.AuditEntry
		var idem []string
		for rows.Next() {
			var e store.AuditEntry
			var at, key string
			if err := rows.Scan(&last, &key, &at, &e.User, &e.Action, (*string)(&e.MyKeyID), &e.Outcome, &e.Detail); err != nil {
				rows.Close()
				return err
			}
			e.At, _ = time.Parse(time.RFC3339, at)
			entries, idem = append(entries, e), append(idem, key)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(entries) == 0 {
			return err
		}
		if err := r.server.Deliver(ctx, entries, idem); err != nil {
			return err
		}
		if _, err := r.queue.ExecContext(ctx, "DELETE FROM queue WHERE n <= ?", last); err != nil {
			return err
		}
		if r.ropts.Event != nil {
			r.ropts.Event(Event{Kind: "delivered", N: len(entries)})
		}
	}
}

// queued counts the entries waiting.
func (r *Replica) queued() int {
	var n int
	if r.queue != nil {
		r.queue.QueryRow("SELECT count(*) FROM queue").Scan(&n)
	}
	return n
}
