package vcard_test

import (
	"testing"

	"github.com/mykey-jp/mykey/cardio/cardiotest"
	"github.com/mykey-jp/mykey/cardio/vcard"
)

// TestReadersSuite runs the shared transport suite on the in-process
// virtual readers.
func TestReadersSuite(t *testing.T) {
	r := vcard.NewReaders("Virtual Reader 0")
	cardiotest.Run(t, cardiotest.Slot{
		Readers: r, Reader: "Virtual Reader 0",
		Insert: func(t *testing.T, c *vcard.Card) {
			if err := r.Insert("Virtual Reader 0", c); err != nil {
				t.Fatal(err)
			}
		},
		Remove: func(*testing.T) { r.Remove("Virtual Reader 0") },
	})
}
