package keyfile

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mykey-jp/mykey/keyid"
)

// FuzzParse feeds key files to the parser: it never panics, and it either
// returns a secret of exactly keyid.SecretLen bytes or ErrFormat.
func FuzzParse(f *testing.F) {
	f.Add([]byte("# mykey pseudonym secret\n" + string(bytes.Repeat([]byte("ab"), keyid.SecretLen)) + "\n"))
	f.Add([]byte("# mykey pseudonym secret\nabcdef\n"))
	f.Add([]byte(""))
	f.Add([]byte("\n\n#\n" + string(bytes.Repeat([]byte("0"), 2*keyid.SecretLen+1))))
	f.Add(bytes.Repeat([]byte("a"), 70000)) // longer than a scanner line
	f.Fuzz(func(t *testing.T, data []byte) {
		secret, err := parse(bytes.NewReader(data), "key")
		if err != nil {
			if !errors.Is(err, ErrFormat) {
				t.Fatalf("error %v is not ErrFormat", err)
			}
			return
		}
		if len(secret) != keyid.SecretLen {
			t.Fatalf("secret of %d bytes", len(secret))
		}
	})
}
