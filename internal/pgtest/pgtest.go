// Package pgtest starts a throwaway PostgreSQL 15 cluster for a test run:
// initdb and pg_ctl from Debian's postgresql-15, run as the postgres user
// when the tests run as root (initdb refuses root), with the data and the
// Unix socket in a new temporary folder and no TCP listener; it is stopped
// and removed when the test ends. Without PostgreSQL the test is skipped,
// or fails under MYKEY_REQUIRE_REAL (CI).
package pgtest

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
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

	uid, gid int // who runs it (-1: this user)
	t        testing.TB
}

// Start initialises and starts a cluster; t's cleanup stops and removes it.
func Start(t testing.TB) *Cluster {
	t.Helper()
	if _, err := os.Stat(filepath.Join(Bin, "initdb")); err != nil {
		testenv.Unavailable(t, "PostgreSQL 15 is not installed (%v); sh scripts/setup-debian.sh installs it", err)
	}
	dir, err := os.MkdirTemp("", "mykey-pg-")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{Dir: dir, Data: filepath.Join(dir, "data"), Socket: dir, uid: -1, gid: -1, t: t}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			testenv.Unavailable(t, "no postgres user to run PostgreSQL as (%v)", err)
		}
		c.uid, _ = strconv.Atoi(u.Uid)
		c.gid, _ = strconv.Atoi(u.Gid)
		if err := os.Chown(dir, c.uid, c.gid); err != nil {
			t.Fatal(err)
		}
	}
	t.Cleanup(func() {
		c.run("pg_ctl", "-D", c.Data, "-m", "immediate", "-w", "stop")
		os.RemoveAll(dir)
	})
	if out, err := c.run("initdb", "-D", c.Data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	c.URL = fmt.Sprintf("postgres://postgres@/postgres?host=%s&port=5432&sslmode=disable", c.Socket)
	c.StartAgain()
	return c
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
func (c *Cluster) Stop() {
	c.t.Helper()
	if out, err := c.run("pg_ctl", "-D", c.Data, "-m", "immediate", "-w", "stop"); err != nil {
		c.t.Fatalf("pg_ctl stop: %v\n%s", err, out)
	}
}

// StartAgain starts the server (after Stop): Unix socket only, no fsync.
func (c *Cluster) StartAgain() {
	c.t.Helper()
	opts := fmt.Sprintf("-k %s -c listen_addresses='' -c fsync=off -c full_page_writes=off", c.Socket)
	if out, err := c.run("pg_ctl", "-D", c.Data, "-o", opts, "-l", filepath.Join(c.Dir, "postgres.log"), "-w", "-t", "30", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(c.Dir, "postgres.log"))
		c.t.Fatalf("pg_ctl start: %v\n%s\n%s", err, out, log)
	}
}
