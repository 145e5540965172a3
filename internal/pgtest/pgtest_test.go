package pgtest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mykey-jp/mykey/internal/pgtest"
)

// TestCluster starts a cluster, writes and reads a row, sends a
// notification from one connection to another (what the desk replicas will
// listen for), and survives a stop and a start.
func TestCluster(t *testing.T) {
	c := pgtest.Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE TABLE t (id bigint PRIMARY KEY, v text NOT NULL)"); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, "INSERT INTO t VALUES (1, '図書館')"); err != nil {
		t.Fatal(err)
	}
	var v string
	if err := conn.QueryRow(ctx, "SELECT v FROM t WHERE id = 1").Scan(&v); err != nil || v != "図書館" {
		t.Fatalf("read back %q, %v", v, err)
	}
	listener, err := pgx.Connect(ctx, c.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close(ctx)
	if _, err := listener.Exec(ctx, "LISTEN mykey_changes"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := conn.Exec(ctx, "SELECT pg_notify('mykey_changes', '42')"); err != nil {
		t.Fatal(err)
	}
	n, err := listener.WaitForNotification(ctx)
	if err != nil || n.Channel != "mykey_changes" || n.Payload != "42" {
		t.Fatalf("notification %+v, %v", n, err)
	}
	t.Logf("LISTEN/NOTIFY round trip %v", time.Since(start))

	c.Stop(t)
	if err := conn.Ping(ctx); err == nil {
		t.Fatal("the connection still answers after the server stopped")
	}
	c.StartAgain(t)
	again, err := pgx.Connect(ctx, c.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Close(ctx)
	if err := again.QueryRow(ctx, "SELECT v FROM t WHERE id = 1").Scan(&v); err != nil || v != "図書館" {
		t.Fatalf("after a restart: %q, %v", v, err)
	}
}
