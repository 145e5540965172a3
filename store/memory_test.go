package store_test

import (
	"testing"

	"github.com/mykey-jp/mykey/store"
	"github.com/mykey-jp/mykey/store/storetest"
)

func TestMemory(t *testing.T) {
	storetest.Run(t, func(t testing.TB, opts store.Options) store.Registry {
		return store.NewMemory(opts)
	})
}
