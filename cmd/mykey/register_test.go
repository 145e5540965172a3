//go:build linux

package main

import (
	"encoding/json"
	"fmt"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/cardio/vcard"
	"github.com/mykey-jp/mykey/internal/pcsctest"
	"github.com/mykey-jp/mykey/internal/testcard"
	"github.com/mykey-jp/mykey/internal/testpki"
)

// TestRegisterThroughPCSCD registers virtual cards through pcscd with the
// real command: good PIN, wrong PIN (tries shown), the last-try refusal and
// --force-last-try, a blocked PIN, a card pulled between steps, a renewed
// card kept on the same MyKey ID, and a copied certificate (a card whose
// key does not match it). Every failure leaves the registry unchanged.
func TestRegisterThroughPCSCD(t *testing.T) {
	pcsctest.Start(t, 1)
	dir := setupCLI(t)
	pki := testpki.Dir()
	// No CRL is imported: accept "unavailable" for these tests only.
	writeConfig(t, dir, fmt.Sprintf("[revocation]\nmethod = \"crl\"\non_unavailable = \"allow\"\naccept_possibly_revoked_cards = true\ntrust_anchors = [%q, %q]\n",
		filepath.Join(pki, "ca-2019.der"), filepath.Join(pki, "ca-2023.der")))
	reg := func(card *testcard.Held, pin string, args ...string) (map[string]any, string, int) {
		t.Helper()
		card.Insert(pcsctest.Addr(0, 0))
		defer func() { card.Remove(); waitCard(t, false) }()
		waitCard(t, true)
		if !strings.Contains(pin, "\n") { // the date of birth from the card face
			args = append(args, "--dob", testcard.DOB)
		}
		out, errs, code := cliStdin(t, pin+"\n", append([]string{"register", "--pin-stdin", "--json", "--wait", "5s"}, args...)...)
		var m map[string]any
		json.Unmarshal([]byte(out), &m)
		return m, errs, code
	}
	count := func() int {
		var l struct {
			Entries []any `json:"entries"`
		}
		cliJSON(t, &l, "list")
		return len(l.Entries)
	}

	good := newFixtureCard(t, "user", vcard.Faults{})
	m, errs, code := reg(good, "0000", "--patron", "12345678")
	if code != exitFailure || m["error"] != "wrong-pin" || !strings.Contains(errs, "残り 2 回") || count() != 0 {
		t.Fatalf("wrong PIN: %d %v %s", code, m, errs)
	}
	m, errs, code = reg(good, "1234", "--patron", "12345678")
	if code != 0 || m["minted"] != true || m["linked"] != true {
		t.Fatalf("good PIN: %d %v %s", code, m, errs)
	}
	id := m["mykey_id"]

	// The renewed card of the same patron: the same MyKey ID.
	renewed := newFixtureCard(t, "user-renewed", vcard.Faults{})
	m, errs, code = reg(renewed, "1234", "--patron", "12345678")
	if code != 0 || m["mykey_id"] != id || m["superseded"] != true {
		t.Fatalf("renewed card: %d %v %s", code, m, errs)
	}

	before := count()
	// One try left: refused without --force-last-try, the PIN never sent.
	der, key, _ := testpki.Load("user-unregistered")
	ca, _, _ := testpki.Load("ca-2023")
	last, _ := vcard.New(vcard.Config{AuthCert: der, AuthCA: ca, Key: key, PIN: "1234", TriesLeft: 1}, nil)
	lastCard := &testcard.Held{Card: last}
	t.Cleanup(lastCard.Remove)
	m, errs, code = reg(lastCard, "0000", "--patron", "55556666")
	if code != exitFailure || m["error"] != "pin-last-try" || last.TriesLeft() != 1 {
		t.Fatalf("last try: %d %v %s (tries %d)", code, m, errs, last.TriesLeft())
	}
	// Forced and wrong: the PIN blocks.
	m, _, code = reg(lastCard, "0000", "--patron", "55556666", "--force-last-try")
	if code != exitFailure || last.TriesLeft() != 0 {
		t.Fatalf("forced wrong last try: %d %v", code, m)
	}
	m, errs, code = reg(lastCard, "1234", "--patron", "55556666", "--force-last-try")
	if code != exitFailure || m["error"] != "pin-blocked" || !strings.Contains(errs, "市区町村") {
		t.Fatalf("blocked: %d %v %s", code, m, errs)
	}
	// Pulled between reading the certificate and the PIN.
	pulled := newFixtureCard(t, "user-unregistered", vcard.Faults{RemoveAfter: 9})
	m, _, code = reg(pulled, "1234", "--patron", "55556666")
	if code != exitFailure || m["error"] != "card-removed" {
		t.Fatalf("pulled: %d %v", code, m)
	}
	// A copied certificate: the card's key does not match it.
	_, otherKey, _ := testpki.Load("user")
	copied, _ := vcard.New(vcard.Config{AuthCert: der, AuthCA: ca, Key: otherKey, PIN: "1234"}, nil)
	copiedCard := &testcard.Held{Card: copied}
	t.Cleanup(copiedCard.Remove)
	m, errs, code = reg(copiedCard, "1234", "--patron", "55556666")
	if code != exitFailure || m["error"] != "not-genuine" {
		t.Fatalf("copied certificate: %d %v %s", code, m, errs)
	}
	if n := count(); n != before {
		t.Fatalf("failed registrations changed the registry: %d → %d", before, n)
	}
	// The audit log has the outcomes, never the PIN.
	out, _, _ := cli(t, "audit", "--json")
	for _, want := range []string{`"outcome": "wrong-pin"`, `"outcome": "pin-last-try"`, `"outcome": "not-genuine"`, `"action": "register"`} {
		if !strings.Contains(out, want) {
			t.Errorf("audit lacks %s", want)
		}
	}
	if strings.Contains(out, "1234\"") || strings.Contains(out, "0000") {
		t.Errorf("audit shows a PIN")
	}
}

// TestGenuineRegisterThroughPCSCD registers through pcscd with the date of
// birth read with the input-assist PIN, shows that the APDU log holds no
// PIN and no date of birth, and that a mistyped date of birth is refused
// without ever spending the date-of-birth key's last try.
func TestGenuineRegisterThroughPCSCD(t *testing.T) {
	pcsctest.Start(t, 1)
	dir := setupCLI(t)
	pki := testpki.Dir()
	writeConfig(t, dir, fmt.Sprintf("[revocation]\nmethod = \"crl\"\non_unavailable = \"allow\"\naccept_possibly_revoked_cards = true\ntrust_anchors = [%q]\n", filepath.Join(pki, "ca-2023.der")))
	logged := func(name string, dobTries int, log io.Writer) *testcard.Held {
		der, key, _ := testpki.Load(name)
		ca, _, _ := testpki.Load("ca-2023")
		cfg := vcard.Config{AuthCert: der, AuthCA: ca, Key: key, PIN: "1234"}
		if err := testcard.Apply(&cfg, name, testcard.Genuine); err != nil {
			t.Fatal(err)
		}
		cfg.Surface.TriesLeft = dobTries
		c, _ := vcard.New(cfg, log)
		fc := &testcard.Held{Card: c}
		t.Cleanup(fc.Remove)
		return fc
	}
	reg := func(c *testcard.Held, in string, args ...string) (map[string]any, string) {
		c.Insert(pcsctest.Addr(0, 0))
		defer func() { c.Remove(); waitCard(t, false) }()
		waitCard(t, true)
		out, errs, _ := cliStdin(t, in, append([]string{"register", "--pin-stdin", "--json", "--wait", "5s"}, args...)...)
		var m map[string]any
		json.Unmarshal([]byte(out), &m)
		return m, errs
	}
	var log syncBuffer
	good := logged("user", 0, &log)
	m, errs := reg(good, "1234\n"+testcard.AssistPIN+"\n", "--patron", "12345678")
	if m["ok"] != true || m["genuine"] != true || !strings.Contains(errs, "券面事項入力補助用暗証番号の残り回数: 3 回") {
		t.Fatalf("register with the input-assist PIN: %v %s", m, errs)
	}
	apdus := log.String()
	for _, secret := range []string{"31323334", "35363738", "3139383030323137", "353530323137"} { // 1234, 5678, 19800217, 550217
		if strings.Contains(apdus, secret) {
			t.Errorf("the APDU log holds %s in clear", secret)
		}
	}
	if !strings.Contains(apdus, "00a4040c0ad39210003100010104") || !strings.Contains(apdus, "802a0000") {
		t.Errorf("the APDU log shows no surface applet check:\n%s", apdus)
	}

	// A mistyped date of birth: one try gone, the tries left shown; with
	// one try left, nothing is sent.
	other := logged("user-unregistered", 2, nil)
	m, errs = reg(other, "1234\n", "--patron", "55556666", "--dob", "19800218")
	if m["error"] != "dob-mismatch" || !strings.Contains(errs, "残り 1 回") || other.DOBTriesLeft() != 1 {
		t.Fatalf("mistyped DOB: %v %s (%d tries left)", m, errs, other.DOBTriesLeft())
	}
	m, errs = reg(other, "1234\n", "--patron", "55556666", "--dob", testcard.DOB)
	if m["error"] != "dob-locked" || other.DOBTriesLeft() != 1 {
		t.Fatalf("the last try: %v %s (%d tries left)", m, errs, other.DOBTriesLeft())
	}
	out, _, _ := cli(t, "audit", "--json")
	if !strings.Contains(out, `"outcome": "dob-locked"`) || strings.Contains(out, testcard.DOB) || strings.Contains(out, "19800218") {
		t.Errorf("audit:\n%s", out)
	}

	// Mode card-key end to end: registering again keeps the card key; mykey
	// run types the genuine card (to stdout here) and refuses another chip.
	writeConfig(t, dir, fmt.Sprintf("[revocation]\nmethod = \"crl\"\non_unavailable = \"allow\"\naccept_possibly_revoked_cards = true\ntrust_anchors = [%q]\n[wedge]\noutput = \"stdout\"\n%s",
		filepath.Join(pki, "ca-2023.der"), testcard.ConfigTOML(pki, "card-key")))
	if m, errs := reg(good, "1234\n", "--patron", "12345678", "--dob", testcard.DOB); m["genuine"] != true {
		t.Fatalf("register in mode card-key: %v %s", m, errs)
	}
	svc := startService(t, nil)
	time.Sleep(500 * time.Millisecond) // the service finds the readers
	for _, tt := range []struct {
		card    *testcard.Held
		outcome string
	}{{good, "typed"}, {newFixtureCard(t, "user", vcard.Faults{}, testcard.OtherCard), "cloned-card"}} {
		tt.card.Insert(pcsctest.Addr(0, 0))
		if st := svc.next(t); st["outcome"] != tt.outcome {
			t.Errorf("mode card-key: %v, want %s", st, tt.outcome)
		}
		tt.card.Remove()
		waitCard(t, false)
	}
}
