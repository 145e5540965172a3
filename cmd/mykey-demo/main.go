// Command mykey-demo shows mykey end to end on a PC without a card reader:
// a test PKI (JPKI-TEST) and an OCSP responder on 127.0.0.1, a virtual My
// Number Card registered with its PIN (and its date of birth, for the
// genuine-card check) and linked to a patron number, then the desk and a
// tap of the card, which types the number; then a tap of an unregistered
// card and of a clone carrying a copy of the first card's certificate,
// which type nothing. It is a thin caller of the
// application core (package app), like mykey itself, and is not shipped in
// the release: its PKI is a test one.
//
// By default the cards sit in a built-in virtual reader, in this process.
// With --pcscd they go through the system's smart-card service: pcscd with
// the vpcd virtual reader (started when it is not running and this is root).
package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mykey-jp/mykey/app"
	"github.com/mykey-jp/mykey/cardio/vcard"
	"github.com/mykey-jp/mykey/config"
	"github.com/mykey-jp/mykey/desk"
	"github.com/mykey-jp/mykey/internal/ocsptest"
	"github.com/mykey-jp/mykey/internal/testcard"
	"github.com/mykey-jp/mykey/internal/testpki"
)

const (
	demoPatron = "12345678"
	demoPIN    = "1234"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// demo is one run of the demo.
type demo struct {
	lang   string
	out    io.Writer
	step   int
	output string // keyboard or stdout
	typed  bytes.Buffer
}

// t picks the Japanese or the English text.
func (d *demo) t(ja, en string, args ...any) string {
	s := ja
	if d.lang == "en" {
		s = en
	}
	return fmt.Sprintf(s, args...)
}

func (d *demo) say(ja, en string, args ...any) {
	d.step++
	fmt.Fprintf(d.out, "\n== %d. %s\n     %s\n", d.step, fmt.Sprintf(ja, args...), fmt.Sprintf(en, args...))
}

func (d *demo) info(s string) { fmt.Fprintf(d.out, "   %s\n", s) }

func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mykey-demo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	lang := fs.String("lang", langDefault(), "language of messages: ja or en / 表示言語")
	dir := fs.String("dir", "", "folder to use (default: a temporary folder, removed at the end) / 実演に使うフォルダ")
	output := fs.String("output", "", "keyboard or stdout (default: keyboard when there is a display) / 入力先")
	viaPCSCD := fs.Bool("pcscd", false, "use pcscd with the vpcd virtual reader instead of the built-in one / pcscd と仮想リーダーを使う")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "使い方 / usage: mykey-demo [--lang ja|en] [--dir DIR] [--output keyboard|stdout] [--pcscd]")
		fmt.Fprintln(stderr, "仮想マイナンバーカードで、登録から窓口での入力までを実演します。普段の設定と登録簿には触れません。")
		fmt.Fprintln(stderr, "Shows mykey end to end with virtual My Number Cards; your own configuration and registry are not touched.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || (*output != "" && *output != "keyboard" && *output != "stdout") || (*lang != "ja" && *lang != "en") {
		fs.Usage()
		return 2
	}
	d := &demo{lang: *lang, out: stdout, output: *output}
	if err := d.run(*dir, *viaPCSCD); err != nil {
		fmt.Fprintln(stderr, d.t("エラー: %v", "error: %v", err))
		return 1
	}
	return 0
}

func langDefault() string {
	if os.Getenv("MYKEY_LANG") == "en" {
		return "en"
	}
	return "ja"
}

func (d *demo) run(dir string, viaPCSCD bool) error {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if dir == "" {
		tmp, err := os.MkdirTemp("", "mykey-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}

	d.say("テスト用の PKI（JPKI-TEST の CA と仮想カード2枚）と OCSP レスポンダーを用意します。",
		"Make a test PKI (a JPKI-TEST CA and two virtual cards) and an OCSP responder.")
	pki, err := testpki.Demo(time.Now(), 2)
	if err != nil {
		return err
	}
	resp := ocsptest.New(pki.CA, pki.CAKey, time.Now)
	stopOCSP, err := resp.Serve()
	if err != nil {
		return err
	}
	defer stopOCSP()
	d.info("CA: " + pki.CA.Subject.String())
	d.info("OCSP: " + resp.URL)

	if d.output == "" {
		d.output = "stdout"
		if os.Getenv("DISPLAY") != "" {
			d.output = "keyboard"
		}
	}
	cfg, err := d.config(dir, pki.CADER, resp.URL)
	if err != nil {
		return err
	}
	d.info(d.t("設定: %s（test_mode = true: テスト用カードを受け付けます）", "configuration: %s (test_mode = true: test cards are accepted)", cfg.File))

	// Cards 1 and 2, genuine My Number Cards (both applets of the
	// genuine-card check), and a clone of card 1: its certificate copied
	// onto a card whose surface applet signs with a key of its own.
	var cards []*vcard.Card
	for i, c := range append(pki.Cards, pki.Cards[0]) {
		vc := vcard.Config{AuthCert: c.Cert, AuthCA: pki.CADER, Key: c.Key, PIN: demoPIN}
		variant := testcard.Genuine
		if i == len(pki.Cards) {
			variant = testcard.Cloned
		}
		if err := testcard.Apply(&vc, fmt.Sprintf("demo %d", i%len(pki.Cards)), variant); err != nil {
			return err
		}
		card, err := vcard.New(vc, nil)
		if err != nil {
			return err
		}
		cards = append(cards, card)
	}
	var r reader
	if viaPCSCD {
		d.say("スマートカードサービス（pcscd）と仮想カードリーダーを確かめます。", "Check the smart-card service (pcscd) and the virtual reader.")
		p, err := d.startPCSCD(ctx)
		if err != nil {
			return err
		}
		defer p.stop()
		r = p
	} else {
		r = newBuiltin()
	}
	d.info(d.t("仮想リーダー: %s", "virtual reader: %s", r.name()))

	devices := app.Devices{Readers: r.readers(), Output: &d.typed}
	core := app.New(cfg, devices, "demo")
	defer core.Close()

	d.say("窓口でカード1を登録します（暗証番号 %s を入力、カードが乱数に署名）。利用者番号 %s に紐付けます。真正性確認のため、券面事項入力補助用暗証番号 %s でカードから生年月日を読み、カードで照合して暗号化して保存します。",
		"Register card 1 at the counter (PIN %s; the card signs a random challenge) and link patron number %s. For the genuine-card check, the date of birth is read from the card with the input-assist PIN %s, confirmed by the card and kept sealed.", demoPIN, demoPatron, testcard.AssistPIN)
	id, err := d.register(ctx, core, r, cards[0])
	if err != nil {
		return err
	}
	d.info(d.t("登録しました。マイキーID: %s", "registered. MyKey ID: %s", id))

	d.say("受付を開始します（mykey run と同じ処理）。", "Start the desk (what mykey run does).")
	log, closeLog, err := core.OpenLog()
	if err != nil {
		return err
	}
	defer closeLog()
	statuses := make(chan desk.Status, 4)
	dk, closeDesk, err := core.Desk(ctx, log, func(s desk.Status) { statuses <- s })
	if err != nil {
		return err
	}
	defer closeDesk()
	if d.output == "stdout" {
		d.info(d.t("画面がないため、入力する内容を表示します。", "no display: what would be typed is shown."))
	} else {
		d.info(d.t("フォーカスのあるウィンドウにキー入力します。", "keys go to the focused window."))
	}
	dctx, dcancel := context.WithCancel(ctx)
	ddone := make(chan struct{})
	go func() { defer close(ddone); core.RunDesk(dctx, dk) }()
	defer func() { dcancel(); <-ddone }()

	d.say("登録したカード1をかざします。", "Hold up the registered card 1.")
	s1, err := d.tap(ctx, r, cards[0], statuses)
	if err != nil {
		return err
	}
	d.say("登録していないカード2をかざします。何も入力されません。", "Hold up card 2, which is not registered: nothing is typed.")
	s2, err := d.tap(ctx, r, cards[1], statuses)
	if err != nil {
		return err
	}
	d.say("カード1の証明書を写した偽のカードをかざします。真正性確認で見抜かれ、何も入力されません。",
		"Hold up a fake card carrying a copy of card 1's certificate: the genuine-card check catches it, nothing is typed.")
	s3, err := d.tap(ctx, r, cards[2], statuses)
	if err != nil {
		return err
	}
	if s1.Outcome != desk.Typed || s2.Outcome != desk.Unknown || s3.Outcome != desk.Cloned {
		return errors.New(d.t("実演の結果が想定と違います。", "the demo did not go as expected."))
	}
	fmt.Fprintln(d.out, "\n"+d.t("実演は終わりです。実際の窓口では mykey register で登録し、mykey run で受付をします。",
		"The demo is complete. At a real desk, register with mykey register and run the desk with mykey run."))
	return nil
}

// config writes the demo's configuration into dir and loads it.
func (d *demo) config(dir string, caDER []byte, ocspURL string) (*config.Config, error) {
	caPath, cvcPath := filepath.Join(dir, "demo-ca.der"), filepath.Join(dir, testcard.KeyFile)
	if err := os.WriteFile(caPath, caDER, 0o644); err != nil {
		return nil, err
	}
	_, cvcKey := testpki.CVCCA()
	der, _ := x509.MarshalPKIXPublicKey(&cvcKey.PublicKey)
	if err := os.WriteFile(cvcPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		return nil, err
	}
	q := func(s string) string { b, _ := json.Marshal(s); return string(b) }
	text := fmt.Sprintf("lang = %q\n[database]\npath = %s\n[keyfile]\npath = %s\n[wedge]\noutput = %q\n[revocation]\nmethod = \"ocsp\"\nocsp_url = %s\ntrust_anchors = [%s]\ntest_mode = true\n[log]\ndir = %s\n[genuine]\nmode = \"dob\"\nauthorities = [%s]\ntest_keys = true\n",
		d.lang, q(filepath.Join(dir, "registry.db")), q(filepath.Join(dir, "pseudonym.key")), d.output, q(ocspURL), q(caPath), q(filepath.Join(dir, "logs")), q(testcard.AuthorityID+"="+cvcPath))
	path := filepath.Join(dir, "mykey.toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		return nil, err
	}
	return config.Load(path, false)
}

// register registers card with the demo PIN and patron number.
func (d *demo) register(ctx context.Context, core *app.App, r reader, card *vcard.Card) (string, error) {
	remove, err := r.insert(ctx, card)
	if err != nil {
		return "", err
	}
	defer remove()
	res, err := core.Register(ctx, app.RegisterRequest{
		Card:      app.CardRequest{Reader: r.name(), Wait: 10 * time.Second},
		Target:    app.Target{Patron: demoPatron, Service: core.Service("")},
		PIN:       func(int) ([]byte, error) { return []byte(demoPIN), nil },
		AssistPIN: func(int) ([]byte, error) { return []byte(testcard.AssistPIN), nil },
	})
	return string(res.MyKeyID), err
}

// tap holds card on the reader until the desk reports its status, and
// shows it.
func (d *demo) tap(ctx context.Context, r reader, card *vcard.Card, statuses <-chan desk.Status) (desk.Status, error) {
	remove, err := r.insert(ctx, card)
	if err != nil {
		return desk.Status{}, err
	}
	defer remove()
	var s desk.Status
	select {
	case s = <-statuses:
	case <-time.After(15 * time.Second):
		return s, errors.New("the desk saw no card within 15 s")
	case <-ctx.Done():
		return s, ctx.Err()
	}
	d.info(d.t("結果: %s", "result: %s", outcomeText(d, s)))
	d.info(d.t("確認: %s（%s）、読み取り %.1f ms、確認 %.1f ms、照会 %.1f ms、真正性確認 %.1f ms、入力 %.1f ms", "check: %s (%s), read %.1f ms, check %.1f ms, lookup %.1f ms, genuine card %.1f ms, typing %.1f ms",
		s.Decision.Reason, s.Decision.Method, ms(s.Timing.Read), ms(s.Timing.Check), ms(s.Timing.Lookup), ms(s.Timing.Genuine), ms(s.Timing.Type)))
	if d.output == "stdout" {
		d.info(d.t("キー入力: %q", "keys: %q", strings.ReplaceAll(d.typed.String(), "\n", "⏎")))
		d.typed.Reset()
	}
	return s, nil
}

func ms(t time.Duration) float64 { return float64(t.Microseconds()) / 1000 }

// outcomeText words the two outcomes the demo shows.
func outcomeText(d *demo, s desk.Status) string {
	switch s.Outcome {
	case desk.Typed:
		return d.t("入力しました。", "typed.")
	case desk.Unknown:
		return d.t("登録されていないカードです。窓口で登録してください。", "this card is not registered; register it at the counter.")
	case desk.Cloned:
		return d.t("登録されたカードではないか、複製の疑いがあるカードです。入力しません。", "not the registered card, or a suspected clone: nothing typed.")
	}
	return fmt.Sprintf("%s (%s)", s.Outcome, s.Detail)
}
