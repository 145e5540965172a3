package store

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/mykey-jp/mykey/keyid"
)

// Dump is a whole registry in memory, to move it from one engine to
// another (mykey registry migrate): every table but the change log.
type Dump struct {
	IDs     []DumpID // in the order of registration
	Certs   []Certificate
	Links   []Link
	Rosters []DumpRoster
	Patrons []DumpPatron
	Meta    map[string]string
	Genuine map[keyid.ID]Genuine
	Audit   []AuditEntry // by seq, with their hashes
}

// DumpID is a MyKey ID and when it was made.
type DumpID struct {
	ID      keyid.ID
	Created time.Time
}

// DumpRoster is a service's roster header.
type DumpRoster struct {
	Service  string
	LoadedAt time.Time
	Patrons  int
}

// DumpPatron is one patron number of a service's roster.
type DumpPatron struct {
	Service string
	RosterRow
}

// Counts says how many rows each table holds.
func (d *Dump) Counts() map[string]int {
	return map[string]int{"mykey_ids": len(d.IDs), "certificates": len(d.Certs), "links": len(d.Links), "rosters": len(d.Rosters),
		"roster_patrons": len(d.Patrons), "meta": len(d.Meta), "genuine": len(d.Genuine), "audit": len(d.Audit)}
}

// Empty reports a registry with nothing in it.
func (d *Dump) Empty() bool {
	for _, n := range d.Counts() {
		if n > 0 {
			return false
		}
	}
	return true
}

// Digest is a SHA-256 over every row in a canonical order and form (times
// in UTC to the second), the same for the same registry in any engine.
func (d *Dump) Digest() string {
	h := sha256.New()
	field := func(s string) { binary.Write(h, binary.BigEndian, uint32(len(s))); h.Write([]byte(s)) }
	tm := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Truncate(time.Second).Format(time.RFC3339)
	}
	table := func(name string, n int) { field(name); field(fmt.Sprint(n)) }
	ids := slices.Clone(d.IDs) // the order matters (List): kept
	table("mykey_ids", len(ids))
	for _, r := range ids {
		field(string(r.ID))
		field(tm(r.Created))
	}
	certs := slices.SortedFunc(slices.Values(d.Certs), func(a, b Certificate) int { return bytes.Compare(a.Pseudonym[:], b.Pseudonym[:]) })
	table("certificates", len(certs))
	for _, c := range certs {
		field(string(c.Pseudonym[:]))
		field(string(c.MyKeyID))
		field(tm(c.NotAfter))
		field(string(c.Status))
		field(tm(c.RegisteredAt))
	}
	links := slices.SortedFunc(slices.Values(d.Links), func(a, b Link) int {
		return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(a.MyKeyID, b.MyKeyID))
	})
	table("links", len(links))
	for _, l := range links {
		field(l.Service)
		field(string(l.MyKeyID))
		field(l.Patron)
		field(tm(l.LinkedAt))
	}
	rosters := slices.SortedFunc(slices.Values(d.Rosters), func(a, b DumpRoster) int { return cmp.Compare(a.Service, b.Service) })
	table("rosters", len(rosters))
	for _, r := range rosters {
		field(r.Service)
		field(tm(r.LoadedAt))
		field(fmt.Sprint(r.Patrons))
	}
	patrons := slices.SortedFunc(slices.Values(d.Patrons), func(a, b DumpPatron) int {
		return cmp.Or(cmp.Compare(a.Service, b.Service), cmp.Compare(a.Patron, b.Patron))
	})
	table("roster_patrons", len(patrons))
	for _, p := range patrons {
		field(p.Service)
		field(p.Patron)
		field(fmt.Sprint(p.Active))
		if p.Expires.IsZero() {
			field("")
		} else {
			field(p.Expires.Format(time.DateOnly))
		}
	}
	table("meta", len(d.Meta))
	for _, k := range slices.Sorted(maps.Keys(d.Meta)) {
		field(k)
		field(d.Meta[k])
	}
	table("genuine", len(d.Genuine))
	for _, id := range slices.Sorted(maps.Keys(d.Genuine)) {
		g := d.Genuine[id]
		field(string(id))
		field(g.Mode)
		field(string(g.DOB))
		field(string(g.CardKey))
		field(string(g.KeyFP))
		field(tm(g.CapturedAt))
	}
	audit := slices.SortedFunc(slices.Values(d.Audit), func(a, b AuditEntry) int { return cmp.Compare(a.Seq, b.Seq) })
	table("audit", len(audit))
	for _, e := range audit {
		for _, s := range []string{fmt.Sprint(e.Seq), tm(e.At), e.User, e.Action, string(e.MyKeyID), e.Outcome, e.Detail, string(e.Hash)} {
			field(s)
		}
	}
	return hex.EncodeToString(h.Sum(nil))
}
