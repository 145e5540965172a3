package main

import (
	"context"

	"github.com/mykey-jp/mykey/cardio/pcsc"
	"github.com/mykey-jp/mykey/desk"
)

// pcscReaders adapts the PC/SC client to the desk.
type pcscReaders struct{ c *pcsc.Client }

func (r pcscReaders) Watch(ctx context.Context, fn func(desk.Event)) error {
	return r.c.Watch(ctx, func(e pcsc.Event) {
		kind := map[pcsc.EventKind]desk.EventKind{
			pcsc.ReaderAdded: desk.ReaderAdded, pcsc.ReaderRemoved: desk.ReaderRemoved,
			pcsc.CardInserted: desk.CardInserted, pcsc.CardRemoved: desk.CardRemoved, pcsc.ServiceLost: desk.ServiceLost,
		}[e.Kind]
		fn(desk.Event{Kind: kind, Reader: e.Reader})
	})
}

func (r pcscReaders) Connect(ctx context.Context, reader string) (desk.Card, error) {
	return r.c.Connect(ctx, reader)
}
