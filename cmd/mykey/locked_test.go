package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/cardio/vcard"
	"github.com/mykey-jp/mykey/certcheck"
	"github.com/mykey-jp/mykey/desk"
	"github.com/mykey-jp/mykey/internal/testpki"
	"github.com/mykey-jp/mykey/keyboardwedge"
	"github.com/mykey-jp/mykey/keyid"
	"github.com/mykey-jp/mykey/store"
	"github.com/mykey-jp/mykey/store/sqlite"
)

// TestTapWhileDatabaseLocked taps a registered card while another process
// holds the registry's write lock for a moment: the number is typed (reads
// do not wait in WAL mode) and the audit entry is written once the lock is
// released (the busy timeout), and the next tap works.
func TestTapWhileDatabaseLocked(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "registry.db")
	reg, err := sqlite.Open(ctx, path, store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	pseudo, _ := keyid.NewPseudonymizer(make([]byte, 32))
	leafDER, key, _ := testpki.Load("user")
	caDER, _, _ := testpki.Load("ca-2023")
	leaf, _ := x509.ParseCertificate(leafDER)
	ca, _ := x509.ParseCertificate(caDER)
	if _, err := reg.Register(ctx, store.Registration{Pseudonym: pseudo.Pseudonym(ca.RawSubjectPublicKeyInfo, leaf.SerialNumber), NotAfter: leaf.NotAfter, Service: store.DefaultService, Patron: "13572468"}); err != nil {
		t.Fatal(err)
	}
	card, _ := vcard.New(vcard.Config{AuthCert: leafDER, AuthCA: caDER, Key: key, PIN: "1234"}, nil)
	readers := vcard.NewReaders("reader", "reader2")
	readers.Insert("reader", card)
	readers.Insert("reader2", card)
	var typed bytes.Buffer
	tmpl, _ := keyboardwedge.ParseTemplate("{patron}{enter}")
	d := &desk.Desk{
		Readers: readers, Registry: reg, Pseudo: pseudo, Service: store.DefaultService,
		Checker: &certcheck.Policy{Chain: &certcheck.Chain{Anchors: []*x509.Certificate{ca}}, Method: certcheck.MethodCRL, AllowUnavailable: true},
		Typer:   &keyboardwedge.Typer{Injector: &keyboardwedge.TextSink{W: &typed}, Template: tmpl},
	}

	// Another process (here: another connection) holds the write lock.
	other, err := sql.Open("sqlite3", "file:"+path+"?_txlock=immediate")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.Begin()
	if err != nil {
		t.Fatal(err)
	}
	go func() { time.Sleep(700 * time.Millisecond); tx.Rollback() }()
	st := d.Tap(ctx, "reader")
	if st.Outcome != desk.Typed || typed.String() != "13572468\n" {
		t.Fatalf("tap under a lock: %v %q", st.Outcome, typed.String())
	}
	log, _ := reg.AuditLog(ctx, 1)
	if len(log) != 1 || log[0].Action != "scan" || log[0].Outcome != "typed" {
		t.Fatalf("audit after the lock: %+v", log)
	}
	typed.Reset()
	if st := d.Tap(ctx, "reader2"); st.Outcome != desk.Typed {
		t.Fatalf("next tap: %v", st.Outcome)
	}
}
