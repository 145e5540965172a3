package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/cardio/pcsc"
	"github.com/mykey-jp/mykey/cardio/vcard"
	"github.com/mykey-jp/mykey/desk"
	"github.com/mykey-jp/mykey/enroll"
	"github.com/mykey-jp/mykey/internal/ocsptest"
	"github.com/mykey-jp/mykey/internal/testpki"
	"github.com/mykey-jp/mykey/keyboardwedge"
)

const demoPatron = "12345678"

func init() {
	register(&command{
		name:    "demo",
		summary: msg{"仮想カードで受付の流れを実演する", "show the desk end to end with a virtual card"},
		usage:   "mykey demo [--dir DIR] [--output keyboard|stdout]",
		desc: msg{
			"カードリーダーのない PC で、製品の流れを最初から最後まで実演します。テスト用の PKI（JPKI-TEST）と OCSP レスポンダー（127.0.0.1）を用意し、必要なら pcscd と仮想リーダーを起動し、仮想マイナンバーカードを暗証番号で登録して利用者番号に紐付け、受付を開始してカードをかざします。画面（X）があればフォーカスのあるウィンドウに入力し、なければ入力内容を表示します。続けて未登録のカードをかざし、入力されないことを示します。普段の設定と登録簿には触れません。",
			"Shows the product end to end on a PC without a card reader: a test PKI (JPKI-TEST) and an OCSP responder on 127.0.0.1, pcscd with the virtual reader if it is not running, a virtual My Number Card registered with its PIN and linked to a patron number, then the desk service and a tap of the card. With a display (X) it types into the focused window; without one it prints what would be typed. Then an unregistered card is tapped, and nothing is typed. Your own configuration and registry are not touched.",
		},
		examples: []string{"mykey demo", "mykey demo --lang en", "mykey demo --output stdout"},
		setup: func(a *app, fs *flag.FlagSet) func([]string) int {
			dir := fs.String("dir", "", a.t(msg{"実演に使うフォルダ `DIR`（既定: 一時フォルダを作って最後に消す）", "folder `DIR` to use (default: a temporary folder, removed at the end)"}))
			output := fs.String("output", "", a.t(msg{"入力先 `OUT`: keyboard または stdout（既定: 画面があれば keyboard）", "`OUT`put: keyboard or stdout (default: keyboard when there is a display)"}))
			return func(args []string) int {
				if len(args) > 0 {
					return a.usageError(commandNamed("demo"), a.t(mExtraArgs, args))
				}
				if *output != "" && *output != "keyboard" && *output != "stdout" {
					return a.usageError(commandNamed("demo"), a.t(msg{"--output には keyboard か stdout を指定してください（%q は使えません）", "--output must be keyboard or stdout, not %q"}, *output))
				}
				return a.demo(*dir, *output)
			}
		},
	})
}

// demoStep prints one numbered step in Japanese and English.
type demoStep struct {
	a *app
	n int
}

func (s *demoStep) say(ja, en string) {
	s.n++
	fmt.Fprintf(s.a.stdout, "\n== %d. %s\n     %s\n", s.n, ja, en)
}

func (s *demoStep) info(format string, args ...any) {
	fmt.Fprintf(s.a.stdout, "   "+format+"\n", args...)
}

func (a *app) demo(dir, output string) int {
	ctx, cancel := signalContext()
	defer cancel()
	if dir == "" {
		tmp, err := os.MkdirTemp("", "mykey-demo-")
		if err != nil {
			return a.fail(err, "")
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	st := &demoStep{a: a}

	st.say("テスト用の PKI（JPKI-TEST の CA と仮想カード2枚）と OCSP レスポンダーを用意します。",
		"Make a test PKI (a JPKI-TEST CA and two virtual cards) and an OCSP responder.")
	pki, err := testpki.Demo(time.Now(), 2)
	if err != nil {
		return a.fail(err, "")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return a.fail(err, "")
	}
	srv := &http.Server{Handler: ocsptest.New(pki.CA, pki.CAKey, time.Now), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	ocspURL := "http://" + ln.Addr().String() + "/"
	caPath := filepath.Join(dir, "demo-ca.der")
	if err := os.WriteFile(caPath, pki.CADER, 0o644); err != nil {
		return a.fail(err, "")
	}
	st.info("CA: %s", pki.CA.Subject)
	st.info("OCSP: %s", ocspURL)

	if output == "" {
		output = "stdout"
		if os.Getenv("DISPLAY") != "" {
			output = "keyboard"
		}
	}
	cfg := filepath.Join(dir, "mykey.toml")
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	conf := fmt.Sprintf("lang = %q\n[database]\npath = %s\n[keyfile]\npath = %s\n[wedge]\noutput = %q\n[revocation]\nmethod = \"ocsp\"\nocsp_url = %s\ntrust_anchors = [%s]\ntest_mode = true\n[log]\ndir = %s\n",
		a.lang, q(filepath.Join(dir, "registry.db")), q(filepath.Join(dir, "pseudonym.key")), output, q(ocspURL), q(caPath), q(filepath.Join(dir, "logs")))
	if err := os.WriteFile(cfg, []byte(conf), 0o644); err != nil {
		return a.fail(err, "")
	}
	a.configPath, a.configExplicit, a.cfg = cfg, true, nil
	st.info("%s", a.t(msg{"設定: %s（test_mode = true: テスト用カードを受け付けます）", "configuration: %s (test_mode = true: test cards are accepted)"}, cfg))

	st.say("スマートカードサービス（pcscd）と仮想カードリーダーを確かめます。", "Check the smart-card service (pcscd) and the virtual reader.")
	stopPCSCD, reader, err := a.demoPCSCD(ctx)
	if err != nil {
		return a.fail(err, "")
	}
	defer stopPCSCD()
	st.info("%s", a.t(msg{"仮想リーダー: %s", "virtual reader: %s"}, reader))

	cards := make([]*vcard.Card, len(pki.Cards))
	for i, c := range pki.Cards {
		if cards[i], err = vcard.New(vcard.Config{AuthCert: c.Cert, AuthCA: pki.CADER, Key: c.Key, PIN: "1234"}, nil); err != nil {
			return a.fail(err, "")
		}
	}
	insert := func(c *vcard.Card) (remove func()) {
		cctx, ccancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); c.Serve(cctx, vcard.DefaultVPCD) }()
		return func() { ccancel(); <-done }
	}

	st.say(fmt.Sprintf("窓口でカード1を登録します（暗証番号 1234 を入力、カードが乱数に署名）。利用者番号 %s に紐付けます。", demoPatron),
		fmt.Sprintf("Register card 1 at the counter (PIN 1234; the card signs a random challenge) and link patron number %s.", demoPatron))
	remove := insert(cards[0])
	id, err := a.demoRegister(ctx, reader)
	remove()
	if err != nil {
		return a.fail(err, "")
	}
	st.info("%s", a.t(mRegistered, id))
	if err := a.waitCardGone(ctx, reader); err != nil {
		return a.fail(err, "")
	}

	st.say("受付を開始します（mykey run と同じ処理）。", "Start the desk (what mykey run does).")
	d, _, closeDesk, err := a.newLoggedDesk()
	if err != nil {
		return a.fail(err, "")
	}
	defer closeDesk()
	var typed bytes.Buffer
	if output == "stdout" {
		d.Typer.(*keyboardwedge.Typer).Injector = &keyboardwedge.TextSink{W: &typed}
		st.info("%s", a.t(msg{"画面がないため、入力する内容を表示します。", "no display: what would be typed is shown."}))
	} else {
		st.info("%s", a.t(msg{"フォーカスのあるウィンドウにキー入力します。", "keys go to the focused window."}))
	}
	statuses := make(chan desk.Status, 4)
	d.OnStatus = func(s desk.Status) { statuses <- s }
	dctx, dcancel := context.WithCancel(ctx)
	ddone := make(chan struct{})
	go func() { defer close(ddone); d.Run(dctx) }()
	defer func() { dcancel(); <-ddone }()

	tap := func(c *vcard.Card) (desk.Status, error) {
		remove := insert(c)
		defer remove()
		select {
		case s := <-statuses:
			return s, nil
		case <-time.After(15 * time.Second):
			return desk.Status{}, errors.New("the desk saw no card within 15 s")
		case <-ctx.Done():
			return desk.Status{}, ctx.Err()
		}
	}
	show := func(s desk.Status) {
		st.info("%s: %s", a.t(msg{"結果", "result"}), a.statusText(s))
		st.info("%s", a.t(msg{"確認: %s（%s）、読み取り %.1f ms、確認 %.1f ms、照会 %.1f ms、入力 %.1f ms", "check: %s (%s), read %.1f ms, check %.1f ms, lookup %.1f ms, typing %.1f ms"},
			s.Decision.Reason, s.Decision.Method, ms(s.Timing.Read), ms(s.Timing.Check), ms(s.Timing.Lookup), ms(s.Timing.Type)))
		if output == "stdout" {
			st.info("%s: %q", a.t(msg{"キー入力", "keys"}), strings.ReplaceAll(typed.String(), "\n", "⏎"))
			typed.Reset()
		}
	}

	st.say("登録したカード1をかざします。", "Hold up the registered card 1.")
	s1, err := tap(cards[0])
	if err != nil {
		return a.fail(err, "")
	}
	show(s1)
	if err := a.waitCardGone(ctx, reader); err != nil {
		return a.fail(err, "")
	}

	st.say("登録していないカード2をかざします。何も入力されません。", "Hold up card 2, which is not registered: nothing is typed.")
	s2, err := tap(cards[1])
	if err != nil {
		return a.fail(err, "")
	}
	show(s2)

	if s1.Outcome != desk.Typed || s2.Outcome != desk.Unknown {
		fmt.Fprintln(a.stderr, a.t(mError)+a.t(msg{"実演の結果が想定と違います。", "the demo did not go as expected."}))
		return exitFailure
	}
	fmt.Fprintln(a.stdout, "\n"+a.t(msg{"実演は終わりです。実際の窓口では mykey register で登録し、mykey run で受付をします。", "The demo is complete. At a real desk, register with mykey register and run the desk with mykey run."}))
	return exitOK
}

// demoRegister registers the card in reader with PIN 1234 and the demo
// patron number.
func (a *app) demoRegister(ctx context.Context, reader string) (string, error) {
	pol, err := a.policy()
	if err != nil {
		return "", err
	}
	pseudo, err := a.pseudonymizer()
	if err != nil {
		return "", err
	}
	reg, err := a.registry(ctx)
	if err != nil {
		return "", err
	}
	defer reg.Close()
	c := &pcsc.Client{}
	defer c.Close()
	if _, err := a.pickReader(ctx, c, reader, 10*time.Second); err != nil {
		return "", err
	}
	k, err := c.Connect(ctx, reader)
	if err != nil {
		return "", err
	}
	defer k.Close()
	s := &cardio.Session{T: k}
	if err := s.Select(ctx); err != nil {
		return "", err
	}
	cfg, _ := a.config()
	res, err := enroll.Enroll(ctx, enroll.Request{
		Session: s, Checker: pol, Registry: reg, Pseudo: pseudo, Patron: demoPatron, Service: cfg.Patron.Service,
		PIN: func(int) ([]byte, error) { return []byte("1234"), nil },
	})
	return string(res.MyKeyID), err
}

// waitCardGone waits until pcscd sees the reader empty (it polls every
// 400 ms), so that the next insertion is a new event.
func (a *app) waitCardGone(ctx context.Context, reader string) error {
	c := &pcsc.Client{}
	defer c.Close()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		rs, err := c.Readers(ctx)
		if err != nil {
			return err
		}
		for _, r := range rs {
			if r.Name == reader && !r.Present {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return errors.New("the virtual card did not leave the reader")
}

// demoPCSCD makes sure pcscd runs with the vpcd virtual reader, starting it
// (as root) when it does not, and returns how to stop what it started and
// the reader vcard.DefaultVPCD feeds.
func (a *app) demoPCSCD(ctx context.Context) (stop func(), reader string, err error) {
	stop = func() {}
	find := func(timeout time.Duration) (string, error) {
		cctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		c := &pcsc.Client{Retry: 100 * time.Millisecond}
		defer c.Close()
		rs, err := c.Readers(cctx)
		if err != nil {
			return "", err
		}
		for _, r := range rs {
			if strings.HasPrefix(r.Name, "Virtual PCD") && strings.HasSuffix(r.Name, "00 00") {
				return r.Name, nil
			}
		}
		return "", errors.New("pcscd runs but has no vpcd virtual reader: install vsmartcard-vpcd and restart pcscd")
	}
	if reader, err = find(500 * time.Millisecond); err == nil {
		fmt.Fprintf(a.stdout, "   %s\n", a.t(msg{"pcscd は動いています。", "pcscd is running."}))
		return stop, reader, nil
	}
	if !errors.Is(err, cardio.ErrReaderGone) {
		return stop, "", err
	}
	if _, lerr := exec.LookPath("pcscd"); lerr != nil {
		return stop, "", errors.New("pcscd is not installed: run sh scripts/setup-debian.sh (apt install pcscd vsmartcard-vpcd)")
	}
	if os.Geteuid() != 0 {
		return stop, "", errors.New("pcscd is not running, and starting it needs root: run the demo with sudo, or start pcscd")
	}
	cmd := exec.Command("pcscd", "--foreground")
	if err := cmd.Start(); err != nil {
		return stop, "", fmt.Errorf("starting pcscd: %w", err)
	}
	stop = func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}
	fmt.Fprintf(a.stdout, "   %s\n", a.t(msg{"pcscd を起動しました（実演の終わりに止めます）。", "started pcscd (stopped at the end of the demo)."}))
	if reader, err = find(10 * time.Second); err != nil {
		stop()
		return func() {}, "", err
	}
	return stop, reader, nil
}
