package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/mykey-jp/mykey/app"
	"github.com/mykey-jp/mykey/cardio"
)

var (
	mTriesBefore = msg{"暗証番号の残り回数: %d 回", "PIN tries left: %d"}
	mEnterPIN    = msg{"利用者証明用暗証番号（数字4桁）を入力してください: ", "enter the user-identification PIN (4 digits): "}
	mAssistTries = msg{"券面事項入力補助用暗証番号の残り回数: %d 回", "input-assist PIN tries left: %d"}
	mAssistPIN   = msg{"券面事項入力補助用暗証番号（数字4桁、利用者証明用と異なる場合があります）を入力してください: ", "enter the input-assist PIN (4 digits; it may differ from the user-identification PIN): "}
)

// readPIN reads the PIN from stdin (--pin-stdin) or, without echo, from
// the terminal.
func (a *invocation) readPIN(fromStdin bool, prompt string) ([]byte, error) {
	if a.lines == nil {
		a.lines = bufio.NewReader(a.stdin)
	}
	read := func() ([]byte, error) {
		line, err := a.lines.ReadString('\n')
		if err != nil && line == "" {
			return nil, fmt.Errorf("reading the PIN from standard input: %w", err)
		}
		return []byte(strings.TrimSpace(line)), nil
	}
	fd := int(os.Stdin.Fd())
	if !fromStdin {
		fmt.Fprint(a.stderr, prompt)
		defer fmt.Fprintln(a.stderr)
		state, err := term.GetState(fd)
		if err != nil {
			return nil, errors.New("no terminal to read the PIN from; use --pin-stdin")
		}
		defer term.Restore(fd, state) // echo back on, also after Ctrl-C
		read = func() ([]byte, error) { return term.ReadPassword(fd) }
	}
	var pin []byte
	errc := make(chan error, 1)
	go func() { p, err := read(); pin = p; errc <- err }() // Ctrl-C must not wait for Enter
	select {
	case err := <-errc:
		return pin, err
	case <-a.ctx.Done():
		return nil, a.ctx.Err()
	}
}

func init() {
	register(&command{
		name:     "register",
		summary:  msg{"カードを登録する（暗証番号が必要）", "register a card (the PIN is needed)"},
		usage:    "mykey register [--patron N] [--mykey-id ID] [--dob YYYYMMDD] [--reader NAME] [--pin-stdin] [--force-last-try] [--json]",
		needs:    needRegistry,
		desc:     msg{"窓口でカードを登録します。証明書を確かめ、暗証番号の残り回数を表示し、利用者が暗証番号（数字4桁、画面に出ません）を入力すると、カードに乱数へ署名させて本物のカードであることを確かめます。そのうえでマイキーIDを発行し（登録済みのカードならそのIDを、更新されたカードなら --mykey-id か --patron の利用者のIDを使い続けます）、--patron があれば紐付けます。真正性確認（genuine.mode）のため、券面事項入力補助用の暗証番号（利用者証明用と異なることがあります）でカードから生年月日を読むか、--dob で券面の生年月日を受け取り、カードで照合して暗号化して保存します。残り1回のときは --force-last-try がない限り暗証番号を送りません。失敗したときは登録簿を変えません。暗証番号は記録も保存もしません。", "Registers a card at the counter: checks the certificate, shows the PIN tries left, takes the PIN (4 digits, not echoed), has the card sign a random challenge to prove it is genuine, then mints a MyKey ID (or keeps the card's, or, for a renewed card, the one named by --mykey-id or --patron) and links --patron. For the genuine-card check (genuine.mode) it reads the date of birth from the card with the input-assist PIN (which may differ from the JPKI PIN), or takes it from the card face with --dob, confirms it on the card and keeps it sealed. With one try left the PIN is not sent without --force-last-try. A failure leaves the registry unchanged. The PIN is never logged or stored."},
		examples: []string{"mykey register --patron 12345678", "mykey register --mykey-id 7K3M9QXF", "mykey register --patron 12345678 --dob 19800217", "printf '1234\\n5678\\n' | mykey register --pin-stdin --patron 12345678 --json"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			s := a.selectorFlags(fs)
			q := &app.RegisterRequest{}
			fs.StringVar(&q.Card.Reader, "reader", "", a.t(mFlagReader))
			fs.DurationVar(&q.Card.Wait, "wait", 10e9, a.t(mFlagWait))
			fs.BoolVar(&a.pinStdin, "pin-stdin", false, a.t(msg{"暗証番号を標準入力から読む（スクリプト用）", "read the PIN from standard input (for scripts)"}))
			fs.BoolVar(&q.ForceLast, "force-last-try", false, a.t(msg{"残り1回でも暗証番号を送る", "send the PIN even with one try left"}))
			fs.StringVar(&q.DOB, "dob", "", a.t(msg{"券面の生年月日（西暦 YYYYMMDD）。省略時は券面事項入力補助用暗証番号でカードから読む", "the date of birth from the card face (YYYYMMDD); without it, read from the card with the input-assist PIN"}))
			return func([]string) int { return a.register(s, q) }
		},
	})
}

func (a *invocation) register(s *app.Selector, q *app.RegisterRequest) int {
	t, err := a.core.Resolve(*s)
	if err != nil {
		return a.fail(err, s.MyKeyID)
	}
	q.Target, q.PIN = t, a.askPIN
	q.AssistPIN = func(tries int) ([]byte, error) {
		fmt.Fprintln(a.stderr, a.t(mAssistTries, tries))
		return a.readPIN(a.pinStdin, a.t(mAssistPIN))
	}
	res, err := a.core.Register(a.ctx, *q)
	if err != nil {
		if errors.Is(err, cardio.ErrLastTry) || errors.Is(err, cardio.ErrPINBlocked) {
			fmt.Fprintln(a.stderr, a.t(mTriesBefore, res.TriesLeft))
		}
		return a.fail(err, app.Subject(err, t))
	}
	if a.json {
		a.printJSON(map[string]any{"ok": true, "mykey_id": string(res.MyKeyID), "minted": res.Minted, "superseded": res.Superseded,
			"linked": res.Linked, "patron": t.Patron, "service": t.Service, "check": string(res.Decision.Reason), "method": res.Decision.Method,
			"not_after": res.NotAfter, "genuine": res.Genuine})
		return exitOK
	}
	fmt.Fprint(a.stdout, a.words().Registered(res, t.Patron))
	return exitOK
}

// askPIN shows the tries left and reads the PIN.
func (a *invocation) askPIN(tries int) ([]byte, error) {
	fmt.Fprintln(a.stderr, a.t(mTriesBefore, tries))
	return a.readPIN(a.pinStdin, a.t(mEnterPIN))
}
