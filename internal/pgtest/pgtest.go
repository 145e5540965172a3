// Package pgtest starts a throwaway PostgreSQL 15 cluster for a test run:
// initdb and pg_ctl from Debian's postgresql-15, run as the postgres user
// when the tests run as root (initdb refuses root), with the data and the
// Unix socket in a new temporary folder and no TCP listener (StartTLS adds
// one on localhost, TLS only); it is stopped and removed when the test (or,
// for Shared, the test binary) ends. Without PostgreSQL the test is
// skipped, or fails under MYKEY_REQUIRE_REAL (CI).
package pgtest

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mykey-jp/mykey/internal/testenv"
)

// Bin is where Debian installs PostgreSQL 15's programs.
const Bin = "/usr/lib/postgresql/15/bin"

// Cluster is a running throwaway cluster.
type Cluster struct {
	Dir    string // the temporary folder: data/, the socket, the log
	Data   string
	Socket string // the folder of the Unix socket
	URL    string // a connection URL for the superuser "postgres"
	Port   int    // the socket's number, and the TCP port of StartTLS

	uid, gid int          // who runs it (-1: this user)
	n        atomic.Int64 // databases made by NewDB
	listen   string       // server options for TCP (StartTLS)
}

// errMissing says PostgreSQL is not there to start.
var errMissing = errors.New("PostgreSQL 15 is not available")

// Start initialises and starts a cluster; t's cleanup stops and removes it.
func Start(t testing.TB) *Cluster {
	t.Helper()
	return started(t, nil)
}

// StartTLS starts a cluster that also listens on localhost over TCP (a
// free port), TLS only with the certificate and key given (PEM), a
// password (SCRAM) required there; the Unix socket stays open to the
// superuser without one. t's cleanup stops and removes it.
func StartTLS(t testing.TB, cert, key []byte) *Cluster {
	t.Helper()
	return started(t, func(c *Cluster) error {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		c.Port = l.Addr().(*net.TCPAddr).Port
		l.Close()
		for name, data := range map[string][]byte{"server.crt": cert, "server.key": key} {
			if err := c.write(filepath.Join(c.Data, name), data); err != nil {
				return err
			}
		}
		hba := "local all all trust\nhostssl all all 127.0.0.1/32 scram-sha-256\nhostssl all all ::1/128 scram-sha-256\n"
		if err := c.write(filepath.Join(c.Data, "pg_hba.conf"), []byte(hba)); err != nil {
			return err
		}
		c.listen = "-c listen_addresses=localhost -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key"
		return nil
	})
}

// write writes a file of the cluster's, readable by its user only.
func (c *Cluster) write(path string, data []byte) error {
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return err
	}
	if c.uid >= 0 {
		return os.Chown(path, c.uid, c.gid)
	}
	return nil
}

func started(t testing.TB, setup func(*Cluster) error) *Cluster {
	t.Helper()
	c, err := start(setup)
	if errors.Is(err, errMissing) {
		testenv.Unavailable(t, "%v; sh scripts/setup-debian.sh installs it", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.remove)
	return c
}

var shared struct {
	sync.Mutex
	c   *Cluster
	err error
}

// Shared returns the test binary's one cluster, started on first use; Main
// stops it. Tests that need their own (to stop it) call Start.
func Shared(t testing.TB) *Cluster {
	t.Helper()
	shared.Lock()
	defer shared.Unlock()
	if shared.c == nil && shared.err == nil {
		shared.c, shared.err = start(nil)
	}
	if errors.Is(shared.err, errMissing) {
		testenv.Unavailable(t, "%v; sh scripts/setup-debian.sh installs it", shared.err)
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.c
}

// Main runs the tests and then stops the shared cluster.
func Main(m *testing.M) {
	code := m.Run()
	shared.Lock()
	if shared.c != nil {
		shared.c.remove()
	}
	shared.Unlock()
	os.Exit(code)
}

// start makes and starts a cluster; setup, when not nil, runs between
// initdb and the start.
func start(setup func(*Cluster) error) (*Cluster, error) {
	if _, err := os.Stat(filepath.Join(Bin, "initdb")); err != nil {
		return nil, fmt.Errorf("%w (%v)", errMissing, err)
	}
	dir, err := os.MkdirTemp("", "mykey-pg-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, Data: filepath.Join(dir, "data"), Socket: dir, Port: 5432, uid: -1, gid: -1}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("%w: no postgres user to run it as (%v)", errMissing, err)
		}
		c.uid, _ = strconv.Atoi(u.Uid)
		c.gid, _ = strconv.Atoi(u.Gid)
		if err := os.Chown(dir, c.uid, c.gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	if out, err := c.run("initdb", "-D", c.Data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	if setup != nil {
		if err := setup(c); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
	}
	c.URL = c.DBURL("postgres", "postgres")
	if err := c.startServer(); err != nil {
		c.remove()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) remove() {
	c.run("pg_ctl", "-D", c.Data, "-m", "immediate", "-w", "stop")
	os.RemoveAll(c.Dir)
}

// run runs a PostgreSQL program as the cluster's user.
func (c *Cluster) run(name string, args ...string) ([]byte, error) {
	cmd := exec.Command(filepath.Join(Bin, name), args...)
	if c.uid >= 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(Bin, name)}, args...)...)
	}
	cmd.Dir = c.Dir
	return cmd.CombinedOutput()
}

// Stop stops the server abruptly (as a crash or a pulled network cable
// would look to its clients).
func (c *Cluster) Stop(t testing.TB) {
	t.Helper()
	if out, err := c.run("pg_ctl", "-D", c.Data, "-m", "immediate", "-w", "stop"); err != nil {
		t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

// StartAgain starts the server (after Stop).
func (c *Cluster) StartAgain(t testing.TB) {
	t.Helper()
	if err := c.startServer(); err != nil {
		t.Fatal(err)
	}
}

// startServer starts the server: Unix socket only unless StartTLS, no
// fsync.
func (c *Cluster) startServer() error {
	listen := c.listen
	if listen == "" {
		listen = "-c listen_addresses=''"
	}
	opts := fmt.Sprintf("-k %s -p %d %s -c fsync=off -c full_page_writes=off -c max_connections=300", c.Socket, c.Port, listen)
	if out, err := c.run("pg_ctl", "-D", c.Data, "-o", opts, "-l", filepath.Join(c.Dir, "postgres.log"), "-w", "-t", "30", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.Dir, "postgres.log"))
		return fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
	return nil
}

// NewDB creates an empty database and returns its URL.
func (c *Cluster) NewDB(t testing.TB) string {
	t.Helper()
	name := fmt.Sprintf("t%d", c.n.Add(1))
	if out, err := c.run("createdb", "-h", c.Socket, "-p", strconv.Itoa(c.Port), "-U", "postgres", name); err != nil {
		t.Fatalf("createdb: %v\n%s", err, out)
	}
	return c.DBURL(name, "postgres")
}

// DBURL is the URL of database name for role user.
func (c *Cluster) DBURL(name, user string) string {
	return fmt.Sprintf("postgres://%s@/%s?host=%s&port=%d&sslmode=disable", user, name, c.Socket, c.Port)
}

// Psql runs SQL with psql as the superuser on database name.
func (c *Cluster) Psql(t testing.TB, name, sql string) string {
	t.Helper()
	out, err := c.Psqlcmd(name, "-c", sql).CombinedOutput()
	if err != nil {
		t.Fatalf("psql: %v\n%s", err, out)
	}
	return string(out)
}

// Psqlcmd is psql on database name as the superuser, run as the cluster's
// user, for a test to give its input and time it.
func (c *Cluster) Psqlcmd(name string, args ...string) *exec.Cmd {
	args = append([]string{"-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", c.Socket, "-p", strconv.Itoa(c.Port), "-U", "postgres", "-d", name}, args...)
	cmd := exec.Command(filepath.Join(Bin, "psql"), args...)
	if c.uid >= 0 {
		cmd = exec.Command("runuser", append([]string{"-u", "postgres", "--", filepath.Join(Bin, "psql")}, args...)...)
	}
	cmd.Dir = c.Dir
	return cmd
}
