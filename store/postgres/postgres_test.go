package postgres_test

import (
	"context"

	"testing"

	"github.com/mykey-jp/mykey/internal/pgtest"
	"github.com/mykey-jp/mykey/store"
	"github.com/mykey-jp/mykey/store/postgres"
	"github.com/mykey-jp/mykey/store/storetest"
)

var ctx = context.Background()

// open returns a registry on a new database of the package's cluster.
func open(t testing.TB, opts store.Options) *postgres.DB {
	t.Helper()
	c := pgtest.Shared(t)
	d, err := postgres.Open(ctx, c.NewDB(t), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func TestSuite(t *testing.T) {
	storetest.Run(t, func(t testing.TB, opts store.Options) store.Registry { return open(t, opts) })
}

func TestMain(m *testing.M) { pgtest.Main(m) }
