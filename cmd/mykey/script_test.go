package main

import (
	"crypto/x509"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/mykey-jp/mykey/app"
	"github.com/mykey-jp/mykey/cardio/vcard"
	"github.com/mykey-jp/mykey/internal/testcard"
	"github.com/mykey-jp/mykey/internal/testpki"
	"github.com/mykey-jp/mykey/keyboardwedge"
)

func TestMain(m *testing.M) {
	// Tests start the real CLI as a separate process this way.
	if os.Getenv("MYKEY_RUN_MAIN") == "1" {
		if os.Getenv("VCARDS") != "" { // the scripts' virtual readers
			os.Exit(runScripted(os.Args[1:]))
		}
		os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
	}
	testscript.Main(m, map[string]func(){
		"mykey": func() { os.Exit(runScripted(os.Args[1:])) },
	})
}

// The virtual readers of the scripts: VCARDS lists the fixture cards held
// on "Virtual Reader 0", "Virtual Reader 1"… ("-" leaves a reader empty),
// VCARD_TRIES sets their PIN tries left, VCARD_FAULT their faults (as
// mykey vcard --fault), VCARD_KEY makes them hold another fixture's key (a
// copied certificate), VCARD_VARIANT their card-surface applet (a
// testcard variant; genuine when empty). Cards hold PIN 1234, input-assist
// PIN 5678 and date of birth 19800217. The keyboard is a recorder
// whose focused window is VWINDOW ("exe:title"; none when empty); what it
// typed is appended to $WORK/typed.txt.
func runScripted(args []string) int {
	readers, err := scriptReaders()
	if err != nil {
		fmt.Fprintln(os.Stderr, "script readers:", err)
		return 99
	}
	rec := &keyboardwedge.Recorder{}
	if exe, title, ok := strings.Cut(os.Getenv("VWINDOW"), ":"); ok {
		rec.Window = keyboardwedge.Window{ID: 1, PID: 4242, Exe: exe, Title: title}
	}
	code := runWith(app.Devices{Readers: readers, Wedge: rec}, args, os.Stdin, os.Stdout, os.Stderr)
	if typed := rec.Typed(); typed != "" {
		f, err := os.OpenFile("typed.txt", os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err == nil {
			f.WriteString(strings.ReplaceAll(typed, "\n", "⏎\n"))
			f.Close()
		}
	}
	return code
}

func scriptReaders() (*vcard.Readers, error) {
	names := strings.Fields(strings.ReplaceAll(os.Getenv("VCARDS"), ",", " "))
	if len(names) == 0 {
		names = []string{"-"}
	}
	faults, err := vcard.ParseFaults(os.Getenv("VCARD_FAULT"))
	if err != nil {
		return nil, err
	}
	tries := vcard.MaxTries
	if s := os.Getenv("VCARD_TRIES"); s != "" {
		if tries, err = strconv.Atoi(s); err != nil {
			return nil, err
		}
	}
	var readerNames []string
	for i := range names {
		readerNames = append(readerNames, fmt.Sprintf("Virtual Reader %d", i))
	}
	r := vcard.NewReaders(readerNames...)
	for i, name := range names {
		if name == "-" {
			continue
		}
		cert, key, err := testpki.Load(name)
		if err != nil {
			return nil, err
		}
		if k := os.Getenv("VCARD_KEY"); k != "" {
			if _, key, err = testpki.Load(k); err != nil {
				return nil, err
			}
		}
		c, _ := x509.ParseCertificate(cert)
		issuer := "ca-2023"
		for _, ca := range []string{"ca-2019", "ca-test"} {
			if der, _, _ := testpki.Load(ca); der != nil {
				if p, _ := x509.ParseCertificate(der); p != nil && c.CheckSignatureFrom(p) == nil {
					issuer = ca
				}
			}
		}
		caDER, _, err := testpki.Load(issuer)
		if err != nil {
			return nil, err
		}
		cfg := vcard.Config{AuthCert: cert, AuthCA: caDER, Key: key, PIN: "1234", TriesLeft: tries, Faults: faults}
		if err := testcard.Apply(&cfg, name, os.Getenv("VCARD_VARIANT")); err != nil {
			return nil, err
		}
		card, err := vcard.New(cfg, nil)
		if err != nil {
			return nil, err
		}
		r.Insert(readerNames[i], card)
	}
	return r, nil
}

// TestScripts runs the CLI scripts in testdata/script. Each starts in a
// fresh $WORK with MYKEY_CONFIG pointing at $WORK/mykey.toml, which keeps the
// registry in $WORK.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir: "testdata/script",
		Setup: func(e *testscript.Env) error {
			cfg := filepath.Join(e.WorkDir, "mykey.toml")
			e.Setenv("MYKEY_CONFIG", cfg)
			e.Setenv("MYKEY_LANG", "")
			e.Setenv("MYKEY_TESTPKI", testpki.Dir())
			return os.WriteFile(cfg, []byte("[database]\npath = \"registry.db\"\n"), 0o644)
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			// mode FILE OCTAL: the file's permission bits are OCTAL.
			"mode": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) != 2 {
					ts.Fatalf("usage: mode FILE OCTAL")
				}
				fi, err := os.Stat(ts.MkAbs(args[0]))
				ts.Check(err)
				want, err := strconv.ParseUint(args[1], 8, 32)
				ts.Check(err)
				if got := uint64(fi.Mode().Perm()); (got == want) == neg {
					ts.Fatalf("%s has mode %04o, want %s%04o", args[0], got, map[bool]string{true: "not ", false: ""}[neg], want)
				}
			},
			// crl FILE NUMBER [FIXTURE...]: a CRL of ca-2023, valid now,
			// revoking the fixture certificates named.
			"crl": func(ts *testscript.TestScript, neg bool, args []string) {
				if len(args) < 2 {
					ts.Fatalf("usage: crl FILE NUMBER [FIXTURE...]")
				}
				n, err := strconv.ParseInt(args[1], 10, 64)
				ts.Check(err)
				ts.Check(writeCRLFile(ts.MkAbs(args[0]), n, args[2:]...))
			},
			// chmod OCTAL FILE
			"chmod": func(ts *testscript.TestScript, neg bool, args []string) {
				m, err := strconv.ParseUint(args[0], 8, 32)
				ts.Check(err)
				ts.Check(os.Chmod(ts.MkAbs(args[1]), os.FileMode(m)))
			},
		},
		Condition: func(cond string) (bool, error) {
			switch cond {
			case "root":
				return os.Geteuid() == 0, nil
			}
			return false, fmt.Errorf("unknown condition %q", cond)
		},
	})
}
