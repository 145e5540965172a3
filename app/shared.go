package app

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/mykey-jp/mykey/config"
	"github.com/mykey-jp/mykey/store"
	"github.com/mykey-jp/mykey/store/postgres"
	"github.com/mykey-jp/mykey/store/replica"
	"github.com/mykey-jp/mykey/store/sqlite"
)

// options are the registry options of this desk.
func (a *App) options() store.Options {
	return store.Options{User: a.User, Clock: a.Devices.Clock, Mint: a.mint()}
}

// source is the shared registry's address, with the password from
// database.password_file when set (else PGPASSWORD, ~/.pgpass).
func (a *App) source() (postgres.Source, error) {
	db := a.Config.Database
	src := postgres.Source{URL: db.URL}
	if db.PasswordFile == "" {
		return src, nil
	}
	var err error
	if src.Password, err = readPassword(db.PasswordFile); err != nil {
		return src, &config.Error{Problems: []config.Problem{a.Config.Problem("database.password_file", "%v", err)}}
	}
	return src, nil
}

// readPassword reads a database password from a file that only its owner
// may read (on Unix; Windows files are guarded by their ACL).
func readPassword(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%s has mode %04o: others may read the password (chmod 600 it)", path, fi.Mode().Perm())
	}
	b, err := os.ReadFile(path)
	return strings.TrimRight(string(b), "\r\n"), err
}

// openStore opens the configured registry: the SQLite file, or the shared
// PostgreSQL registry (its schema created or upgraded when the role may).
func (a *App) openStore(ctx context.Context) (store.Registry, error) {
	if !a.Config.Database.Shared() {
		return sqlite.Open(ctx, a.Config.Database.Path, a.options())
	}
	src, err := a.source()
	if err != nil {
		return nil, err
	}
	return postgres.Open(ctx, src, a.options())
}

// openDeskStore opens what the desk reads taps from: the SQLite file, or
// the desk's copy of the shared registry, kept up to date until ctx ends.
func (a *App) openDeskStore(ctx context.Context, log zerolog.Logger) (store.Registry, func() replica.Status, error) {
	if !a.Config.Database.Shared() {
		r, err := sqlite.Open(ctx, a.Config.Database.Path, a.options())
		return r, nil, err
	}
	src, err := a.source()
	if err != nil {
		return nil, nil, err
	}
	srv, err := postgres.Connect(ctx, src, a.options())
	if err != nil {
		return nil, nil, err
	}
	db := a.Config.Database
	r, err := replica.Open(ctx, srv, db.Replica, a.options(), replica.Options{
		Poll: time.Duration(db.PollSeconds) * time.Second,
		Event: func(e replica.Event) {
			switch e.Kind {
			case "offline":
				log.Warn().Err(e.Err).Str("server", srv.Name()).Msg("shared registry offline: taps continue from the replica")
			case "online":
				log.Info().Str("server", srv.Name()).Msg("shared registry online")
			case "rebuilt":
				log.Info().Int("rows", e.N).Str("replica", db.Replica).Msg("replica built from the shared registry")
			case "delivered":
				log.Info().Int("entries", e.N).Msg("queued audit entries delivered")
			}
		},
	})
	if err != nil {
		srv.Close()
		return nil, nil, err
	}
	r.Start(ctx)
	log.Info().Str("server", srv.Name()).Str("replica", db.Replica).Msg("shared registry")
	return closing{r, srv}, r.Status, nil
}

// closing closes the replica, then the server's pool.
type closing struct {
	*replica.Replica
	srv *postgres.DB
}

func (c closing) Close() error {
	err := c.Replica.Close()
	c.srv.Close()
	return err
}

// RegistryState is what mykey status shows about the registry.
type RegistryState struct {
	Shared       bool      `json:"shared"`
	Where        string    `json:"where"` // the file, or the server (no password)
	Online       bool      `json:"online"`
	OfflineSince time.Time `json:"offline_since,omitzero"`
	Synced       time.Time `json:"replica_synced,omitzero"`
	Rev          int64     `json:"replica_revision,omitempty"`
	Queued       int       `json:"queued"`
	Err          string    `json:"error,omitempty"`
	err          error     // Err's error, for its kind
}

// RegistryStatus says where the registry is and, for a shared one, whether
// the server answers now and how old this desk's copy is (as the running
// desk last recorded it).
func (a *App) RegistryStatus(ctx context.Context) RegistryState {
	db := a.Config.Database
	if !db.Shared() {
		st := RegistryState{Where: db.Path, Online: true}
		if _, err := os.Stat(db.Path); err != nil {
			st.Err = err.Error() // made at first use
		}
		return st
	}
	st := RegistryState{Shared: true}
	rs, err := replica.ReadStatus(ctx, db.Replica)
	if err != nil {
		st.Err = err.Error()
	}
	st.OfflineSince, st.Synced, st.Rev, st.Queued = rs.OfflineSince, rs.Synced, rs.Rev, rs.Queued
	src, err := a.source()
	if err == nil {
		var s *postgres.DB
		if s, err = postgres.Connect(ctx, src, a.options()); err == nil {
			st.Where = s.Name()
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err = s.Wrap(s.Pool().Ping(cctx))
			cancel()
			s.Close()
		}
	}
	st.Online = err == nil
	if err != nil {
		st.Err, st.err = err.Error(), err
		if st.OfflineSince.IsZero() {
			st.OfflineSince = time.Now()
		}
	} else {
		st.OfflineSince = time.Time{}
	}
	return st
}

// DeskRegistry is the running desk's registry state from its copy of the
// shared registry; false with a SQLite registry or before Desk.
func (a *App) DeskRegistry() (RegistryState, bool) {
	if a.RegistryLive == nil {
		return RegistryState{}, false
	}
	rs := a.RegistryLive()
	return RegistryState{Shared: true, Where: a.Config.Database.Replica, Online: rs.Online, OfflineSince: rs.OfflineSince,
		Synced: rs.Synced, Rev: rs.Rev, Queued: rs.Queued, Err: rs.Err}, true
}

// MigrateReport is what MigrateTo did.
type MigrateReport struct {
	Target  string         `json:"target"` // the server and database (no password)
	Counts  map[string]int `json:"counts"`
	Digest  string         `json:"digest"`  // SHA-256 over every row, the same on both sides
	Already bool           `json:"already"` // the target held this registry already: nothing written
}

// MigrateTo moves the single-desk SQLite registry (database.path) into the
// PostgreSQL registry at url, creating its schema: every MyKey ID,
// certificate, link, roster, the key binding and the audit log with its
// chain, in one transaction. It then reads the target back and compares
// the digest. Run again, it finds the same digest and writes nothing; a
// target holding other data is refused (postgres.ErrNotEmpty). The
// password comes from passwordFile when given, else PGPASSWORD or
// ~/.pgpass.
func (a *App) MigrateTo(ctx context.Context, url, passwordFile string) (MigrateReport, error) {
	var rep MigrateReport
	path := a.Config.Database.Path
	if _, err := os.Stat(path); err != nil {
		return rep, fmt.Errorf("%w: %w", store.ErrCannotOpen, err) // never an empty new file
	}
	from, err := sqlite.Open(ctx, path, a.options())
	if err != nil {
		return rep, err
	}
	defer from.Close()
	dump, err := from.Dump(ctx)
	if err != nil {
		return rep, err
	}
	src := postgres.Source{URL: url}
	if passwordFile != "" {
		var err error
		if src.Password, err = readPassword(passwordFile); err != nil {
			return rep, err
		}
	}
	to, err := postgres.Open(ctx, src, a.options())
	if err != nil {
		return rep, err
	}
	defer to.Close()
	rep.Target, rep.Counts, rep.Digest = to.Name(), dump.Counts(), dump.Digest()
	cur, err := to.Dump(ctx)
	switch {
	case err != nil:
		return rep, err
	case cur.Digest() == rep.Digest:
		rep.Already = true
		return rep, nil
	case !cur.Empty():
		return rep, fmt.Errorf("%s: %w (%v)", to.Name(), postgres.ErrNotEmpty, cur.Counts())
	}
	if err := to.Load(ctx, dump); err != nil {
		return rep, err
	}
	after, err := to.Dump(ctx)
	if err != nil {
		return rep, err
	}
	if got := after.Digest(); got != rep.Digest {
		return rep, fmt.Errorf("%s: the registry read back differs from the source (digest %s, want %s; counts %v, want %v)", to.Name(), got, rep.Digest, after.Counts(), rep.Counts)
	}
	return rep, nil
}
