package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"time"
)

// ErrAuditBroken means the audit log's hash chain does not hold: an entry
// was changed, removed or put in with plain SQL.
var ErrAuditBroken = errors.New("the audit log's chain is broken")

// AuditBreakError names the first entry whose hash does not follow.
type AuditBreakError struct {
	Seq int64 // the first entry that does not verify
}

func (e *AuditBreakError) Error() string {
	return fmt.Sprintf("%v at entry %d: it, or an entry before it, was changed, removed or inserted outside mykey", ErrAuditBroken, e.Seq)
}

func (e *AuditBreakError) Unwrap() error { return ErrAuditBroken }

// ChainHash is the hash an audit entry carries: SHA-256 over the previous
// entry's hash (none for the first) and the entry's fields, each
// length-prefixed: sequence number, time (UTC, to the second, RFC 3339),
// OS user, action, MyKey ID, outcome and detail.
func ChainHash(prev []byte, e AuditEntry) []byte {
	h := sha256.New()
	field := func(b []byte) {
		binary.Write(h, binary.BigEndian, uint32(len(b)))
		h.Write(b)
	}
	field(prev)
	field(binary.BigEndian.AppendUint64(nil, uint64(e.Seq)))
	for _, s := range []string{e.At.UTC().Truncate(time.Second).Format(time.RFC3339), e.User, e.Action, string(e.MyKeyID), e.Outcome, e.Detail} {
		field([]byte(s))
	}
	return h.Sum(nil)
}

// VerifyChain checks entries, oldest first and each with its Hash, and
// returns an *AuditBreakError for the first one that does not follow.
func VerifyChain(entries []AuditEntry) error {
	var prev []byte
	for _, e := range entries {
		if want := ChainHash(prev, e); !bytes.Equal(e.Hash, want) {
			return &AuditBreakError{Seq: e.Seq}
		}
		prev = e.Hash
	}
	return nil
}
