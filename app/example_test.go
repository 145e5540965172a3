package app_test

import (
	"context"
	"crypto/x509"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/mykey-jp/mykey/app"
	"github.com/mykey-jp/mykey/cardio/vcard"
	"github.com/mykey-jp/mykey/config"
	"github.com/mykey-jp/mykey/desk"
	"github.com/mykey-jp/mykey/internal/testcard"
	"github.com/mykey-jp/mykey/internal/testpki"
	"github.com/mykey-jp/mykey/keyboardwedge"
)

// setup writes a configuration trusting the fixture CAs (checking
// revocation with an imported CRL of ca-2023 that revokes the named
// fixtures) and a card holding fixture name.
func setup(dir string, revoked ...string) (*config.Config, error) {
	pki := testpki.Dir()
	conf := fmt.Sprintf("[database]\npath = \"registry.db\"\n[revocation]\nmethod = \"crl\"\ntrust_anchors = [%q, %q]\n[wedge]\nallow_exe = [\"ils.exe\"]\nkey_delay_ms = 0\n[log]\ndir = \"logs\"\n%s",
		filepath.Join(pki, "ca-2019.der"), filepath.Join(pki, "ca-2023.der"), testcard.ConfigTOML(pki))
	path := filepath.Join(dir, "mykey.toml")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		return nil, err
	}
	caDER, caKey, _ := testpki.Load("ca-2023")
	ca, _ := x509.ParseCertificate(caDER)
	var serials []uint32
	for _, n := range revoked {
		der, _, _ := testpki.Load(n)
		c, _ := x509.ParseCertificate(der)
		serials = append(serials, uint32(c.SerialNumber.Int64()))
	}
	f, err := os.Create(filepath.Join(dir, "auth.crl"))
	if err != nil {
		return nil, err
	}
	defer f.Close()
	now := time.Now()
	err = testpki.WriteCRL(f, ca, caKey, testpki.CRLSpec{Number: 1, ThisUpdate: now.Add(-time.Hour), NextUpdate: now.Add(23 * time.Hour),
		Count: len(serials), Serial: func(i int) uint32 { return serials[i] }})
	if err != nil {
		return nil, err
	}
	return config.Load(path, false)
}

// card is fixture name's card, a genuine My Number Card (testcard.Genuine)
// or another variant.
func card(name string, variant ...string) *vcard.Card {
	der, key, _ := testpki.Load(name)
	ca, _, _ := testpki.Load("ca-2023")
	cfg := vcard.Config{AuthCert: der, AuthCA: ca, Key: key, PIN: "1234"}
	testcard.Apply(&cfg, name, append(variant, testcard.Genuine)[0])
	c, _ := vcard.New(cfg, nil)
	return c
}

// The application core on an in-process virtual card and a recording
// keyboard: a card is registered at the counter with its PIN (and the date
// of birth from the card face, for the genuine-card check) and linked to a
// patron number, then held up at the desk, which checks it is genuine and
// types the number into the library system's window.
func Example() {
	dir, _ := os.MkdirTemp("", "mykey-example-")
	defer os.RemoveAll(dir)
	cfg, err := setup(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	readers := vcard.NewReaders("reader")
	keyboard := &keyboardwedge.Recorder{Window: keyboardwedge.Window{ID: 1, Exe: "ils.exe", Title: "ILS"}}
	core := app.New(cfg, app.Devices{Readers: readers, Wedge: keyboard, Rand: rand.NewChaCha8([32]byte{})}, "librarian")
	defer core.Close()
	ctx := context.Background()
	if _, err := core.ImportCRL(ctx, filepath.Join(dir, "auth.crl")); err != nil {
		fmt.Println(err)
		return
	}

	// At the counter.
	readers.Insert("reader", card("user"))
	t, _ := core.Resolve(app.Selector{Patron: "１２３４５６７８"})
	res, err := core.Register(ctx, app.RegisterRequest{Target: t, PIN: func(int) ([]byte, error) { return []byte("1234"), nil }, DOB: testcard.DOB})
	fmt.Println("registered:", res.Minted, res.Linked, res.Decision.Reason, err)
	readers.Remove("reader")

	// At the desk.
	log, closeLog, _ := core.OpenLog()
	defer closeLog()
	statuses := make(chan desk.Status, 1)
	d, closeDesk, err := core.Desk(ctx, log, func(st desk.Status) { statuses <- st })
	if err != nil {
		fmt.Println(err)
		return
	}
	defer closeDesk()
	dctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); core.RunDesk(dctx, d) }()
	readers.Insert("reader", card("user"))
	st := <-statuses
	stop()
	<-done
	fmt.Println("tap:", st.Outcome, st.MyKeyID == res.MyKeyID)
	fmt.Printf("typed: %q\n", keyboard.Typed())
	// Output:
	// registered: true true good <nil>
	// tap: typed true
	// typed: "12345678\n"
}
