package postgres_test

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mykey-jp/mykey/internal/pgtest"
	"github.com/mykey-jp/mykey/keyid"
	"github.com/mykey-jp/mykey/store"
	"github.com/mykey-jp/mykey/store/postgres"
)

// mint puts n fresh MyKey IDs straight into the registry and returns them.
func mint(t testing.TB, d *postgres.DB, n int) []keyid.ID {
	t.Helper()
	ids := make([]keyid.ID, n)
	seen := map[keyid.ID]bool{}
	for i := range ids {
		for {
			id, err := keyid.New(nil)
			if err != nil {
				t.Fatal(err)
			}
			if !seen[id] {
				seen[id], ids[i] = true, id
				break
			}
		}
	}
	now := time.Now()
	if _, err := d.Pool().CopyFrom(ctx, pgx.Identifier{"mykey_ids"}, []string{"id", "created_at"}, pgx.CopyFromSlice(n, func(i int) ([]any, error) {
		return []any{string(ids[i]), now}, nil
	})); err != nil {
		t.Fatal(err)
	}
	return ids
}

func batch(ids []keyid.ID) []store.BatchLink {
	rows := make([]store.BatchLink, len(ids))
	for i, id := range ids {
		rows[i] = store.BatchLink{Line: i + 2, Service: store.DefaultService, MyKeyID: id, Patron: fmt.Sprintf("P%08d", i)}
	}
	return rows
}

func countLinks(t testing.TB, d *postgres.DB) int {
	t.Helper()
	var n int
	if err := d.Pool().QueryRow(ctx, "SELECT count(*) FROM links").Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func all([]store.BatchResult) bool { return true }

// TestConcurrentRegistration: the same card registered at two desks at
// once, for two patron numbers: one wins, the other is told the card's
// MyKey ID is linked to another number, and there is one MyKey ID.
func TestConcurrentRegistration(t *testing.T) {
	url := pgtest.Shared(t).NewDB(t)
	var desks [2]*postgres.DB
	for i := range desks {
		d, err := postgres.Open(ctx, postgres.Source{URL: url}, store.Options{User: fmt.Sprintf("desk%d", i+1)})
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		desks[i] = d
	}
	var p keyid.Pseudonym
	p[0] = 7
	for round := range 10 {
		p[1] = byte(round)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		start := make(chan struct{})
		for i, d := range desks {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = d.Register(ctx, store.Registration{Pseudonym: p, NotAfter: time.Now().Add(time.Hour), Service: store.DefaultService, Patron: fmt.Sprintf("%d-%d", round, i)})
			}()
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, store.ErrIDLinked):
				t.Fatalf("round %d: the loser got %v, want ErrIDLinked", round, err)
			}
		}
		if ok != 1 {
			t.Fatalf("round %d: %d registrations succeeded (%v)", round, ok, errs)
		}
		var ids int
		if err := desks[0].Pool().QueryRow(ctx, "SELECT count(DISTINCT mykey_id) FROM certificates WHERE pseudonym = $1", p[:]).Scan(&ids); err != nil || ids != 1 {
			t.Fatalf("round %d: %d MyKey IDs hold the card, %v", round, ids, err)
		}
	}
	if n, err := desks[0].VerifyAudit(ctx); err != nil {
		t.Fatalf("audit chain (%d): %v", n, err)
	}
}

// TestServerKilledMidImport: PostgreSQL stopped abruptly while an import
// is COPYing: the import fails as offline, and after a restart the
// registry holds none of its links; the same import then commits whole.
func TestServerKilledMidImport(t *testing.T) {
	c := pgtest.Start(t)
	d, err := postgres.Open(ctx, postgres.Source{URL: c.URL}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	rows := batch(mint(t, d, 200000))
	var once sync.Once
	_, committed, err := d.ImportLinksFrom(ctx, func() ([]store.BatchLink, error) { return rows, nil }, all, func(written, total int) {
		once.Do(func() { c.Stop(t) })
	})
	if committed || !errors.Is(err, store.ErrOffline) {
		t.Fatalf("import with the server killed: committed=%v %v", committed, err)
	}
	c.StartAgain(t)
	if n := countLinks(t, d); n != 0 {
		t.Fatalf("%d links after the server was killed mid-import", n)
	}
	if _, committed, err := d.ImportLinks(ctx, rows, all); !committed || err != nil {
		t.Fatalf("the import again: %v %v", committed, err)
	}
	if n := countLinks(t, d); n != len(rows) {
		t.Fatalf("%d links, want %d", n, len(rows))
	}
	// The bulk import checked the foreign key in one go: it is back.
	if _, err := d.Pool().Exec(ctx, "INSERT INTO links (service, mykey_id, patron, linked_at) VALUES ('library', 'ZZZZZZZZ', 'x', now())"); err == nil || !strings.Contains(err.Error(), "foreign key") {
		t.Fatalf("a link to an unknown MyKey ID after a bulk import: %v", err)
	}
}

// TestImporterKilled: the process importing is killed (SIGKILL) while it
// COPYs: the server rolls the transaction back, the write lock is free, and
// the registry holds none of the links.
func TestImporterKilled(t *testing.T) {
	if url := os.Getenv("MYKEY_TEST_IMPORTER"); url != "" {
		importer(url)
		return
	}
	url := pgtest.Shared(t).NewDB(t)
	d, err := postgres.Open(ctx, postgres.Source{URL: url}, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	mint(t, d, 200000)
	cmd := exec.Command(os.Args[0], "-test.run", "^TestImporterKilled$")
	cmd.Env = append(os.Environ(), "MYKEY_TEST_IMPORTER="+url)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	for sc.Scan() && sc.Text() != "copying" {
	}
	cmd.Process.Kill()
	cmd.Wait()
	// The server notices the dead client and rolls back; the lock is free
	// once it has.
	lctx, cancel := contextTimeout(30 * time.Second)
	defer cancel()
	if _, err := d.NewID(lctx); err != nil {
		t.Fatalf("a write after the importer was killed: %v", err)
	}
	if n := countLinks(t, d); n != 0 {
		t.Fatalf("%d links after the importer was killed mid-import", n)
	}
}

// importer is the child of TestImporterKilled: it imports links for every
// MyKey ID and says when the COPY runs.
func importer(url string) {
	d, err := postgres.Open(ctx, postgres.Source{URL: url}, store.Options{})
	if err != nil {
		panic(err)
	}
	var ids []keyid.ID
	rows, _ := d.Pool().Query(ctx, "SELECT id FROM mykey_ids")
	for rows.Next() {
		var id string
		rows.Scan(&id)
		ids = append(ids, keyid.ID(id))
	}
	d.ImportLinksFrom(ctx, func() ([]store.BatchLink, error) { return batch(ids), nil }, all, func(written, total int) {
		fmt.Println("copying")
		time.Sleep(time.Second) // keep the COPY open for the kill
	})
	os.Exit(3) // never reached: killed
}
