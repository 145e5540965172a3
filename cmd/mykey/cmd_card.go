package main

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/mykey-jp/mykey/app"
	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/cardio/vcard"
)

var (
	mFlagReader   = msg{"使うカードリーダー `NAME`（名前の一部でよい。既定: カードのあるリーダー）", "card reader `NAME` to use (a part of the name will do; default: the one holding a card)"}
	mFlagWait     = msg{"カードがかざされるまで待つ時間 `DURATION`", "how long to wait for a card, `DURATION`"}
	mFlagExtended = msg{"拡張長 APDU で読む（対応リーダーのみ。既定: 設定の readers.extended_length）", "read with extended-length APDUs (if the reader supports them; default: readers.extended_length)"}
	mNoReaders    = msg{"カードリーダーが見つかりません。接続とドライバー、スマートカードサービス（Linux: pcscd）を確かめてください。", "no card reader found; check the connection, its driver and the smart-card service (Linux: pcscd)."}
	mNoSuchReader = msg{"カードリーダー %q が見つかりません。mykey readers で名前を確かめてください。", "no card reader matches %q; see mykey readers for the names."}
	mHoldCard     = msg{"カードをかざしてください…", "hold the card on the reader…"}
	mNoCard       = msg{"カードがかざされませんでした。", "no card was presented."}
	mReaderGone   = msg{"カードリーダーまたはスマートカードサービス（Linux: pcscd）が応答しません。接続とサービスを確かめてください。", "the card reader or the smart-card service (Linux: pcscd) is not responding; check the connection and the service."}
	mCardRemoved  = msg{"読み取り中にカードが離されました。もう一度かざしてください。", "the card was removed while being read; hold it on the reader again."}
	mNotJPKI      = msg{"マイナンバーカードではありません（JPKI の機能がありません）。", "this is not a My Number Card (no JPKI applet)."}
	mBadCert      = msg{"カードの証明書を読み取れません。カードをかざし直してください。続くときはカードの不具合です。", "the certificate on the card cannot be read; hold the card again. If it persists, the card is faulty."}
	mCardMalform  = msg{"カードの応答が正しくありません。かざし直してください。", "the card gave a malformed answer; hold it again."}
	mPINBlocked   = msg{"暗証番号がロックされています。市区町村の窓口で解除が必要です。", "the PIN is blocked; the city office must unlock it."}
	mPINLastTry   = msg{"暗証番号の残り回数が 1 回です。間違えるとロックされます。", "only one PIN try is left; a wrong PIN blocks the card."}
	mTries        = msg{"利用者証明用暗証番号の残り回数: %d 回", "user-identification PIN tries left: %d"}
	mTriesUnknown = msg{"暗証番号は照合済みです（残り回数は表示されません）。", "the PIN is already verified (the card does not tell the tries left)."}
	mReaderLine   = msg{"%s\t%s", "%s\t%s"}
	mPresent      = msg{"カードあり", "card present"}
	mEmpty        = msg{"カードなし", "no card"}
)

// cardFailure explains card-side errors; explain falls back to it.
func (a *invocation) cardFailure(err error) (failure, bool) {
	switch {
	case errors.Is(err, cardio.ErrNotJPKI):
		return failure{"not-jpki", exitFailure, a.t(mNotJPKI)}, true
	case errors.Is(err, cardio.ErrCardRemoved):
		return failure{"card-removed", exitFailure, a.t(mCardRemoved)}, true
	case errors.Is(err, cardio.ErrReaderGone):
		return failure{"reader-gone", exitFailure, a.t(mReaderGone) + "\n  " + err.Error()}, true
	case errors.Is(err, cardio.ErrBadCertificate):
		return failure{"bad-certificate", exitFailure, a.t(mBadCert) + "\n  " + err.Error()}, true
	case errors.Is(err, cardio.ErrMalformed):
		return failure{"malformed", exitFailure, a.t(mCardMalform) + "\n  " + err.Error()}, true
	case errors.Is(err, cardio.ErrPINBlocked):
		return failure{"pin-blocked", exitFailure, a.t(mPINBlocked)}, true
	case errors.Is(err, cardio.ErrLastTry):
		return failure{"pin-last-try", exitFailure, a.t(mPINLastTry)}, true
	case errors.Is(err, app.ErrNoCard):
		return failure{"no-card", exitNotFound, a.t(mNoCard)}, true
	case errors.Is(err, app.ErrNoReaders):
		return failure{"no-readers", exitFailure, a.t(mNoReaders)}, true
	}
	var nr *app.NoSuchReaderError
	if errors.As(err, &nr) {
		return failure{"no-such-reader", exitUsage, a.t(mNoSuchReader, nr.Name)}, true
	}
	return failure{}, false
}

// cardFlags adds --reader, --wait and --json.
func (a *invocation) cardFlags(fs *flag.FlagSet) *app.CardRequest {
	q := &app.CardRequest{}
	fs.StringVar(&q.Reader, "reader", "", a.t(mFlagReader))
	fs.DurationVar(&q.Wait, "wait", 10*time.Second, a.t(mFlagWait))
	fs.BoolVar(&a.json, "json", false, a.t(mFlagJSON))
	return q
}

// cardContext is the context of a card command: it ends on Ctrl-C or
// SIGTERM.
func (a *invocation) cardCore() (*app.App, context.Context, context.CancelFunc, error) {
	core, err := a.app()
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := signalContext()
	return core, ctx, cancel, nil
}

func init() {
	register(&command{
		name:    "readers",
		summary: msg{"カードリーダーとカードの有無を表示する", "list card readers and whether they hold a card"},
		usage:   "mykey readers [--json]",
		desc: msg{
			"スマートカードサービス（Windows: Smart Card、Linux: pcscd）が知っているカードリーダーと、カードがあるかどうかを表示します。",
			"Lists the card readers the smart-card service (Windows: Smart Card; Linux: pcscd) knows, and whether each holds a card.",
		},
		examples: []string{"mykey readers", "mykey readers --json"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			fs.BoolVar(&a.json, "json", false, a.t(mFlagJSON))
			return func(args []string) int {
				if len(args) > 0 {
					return a.usageError(commandNamed("readers"), a.t(mExtraArgs, args))
				}
				rs, err := a.readers()
				if err != nil {
					return a.fail(err, "")
				}
				if a.json {
					out := make([]map[string]any, len(rs))
					for i, r := range rs {
						out[i] = map[string]any{"name": r.Name, "card_present": r.Present, "atr": hex.EncodeToString(r.ATR)}
					}
					a.printJSON(map[string]any{"ok": true, "readers": out})
					return exitOK
				}
				if len(rs) == 0 {
					fmt.Fprintln(a.stderr, a.t(mNoReaders))
					return exitNotFound
				}
				for _, r := range rs {
					state := a.t(mEmpty)
					if r.Present {
						state = a.t(mPresent)
					}
					fmt.Fprintln(a.stdout, a.t(mReaderLine, r.Name, state))
				}
				return exitOK
			}
		},
	})

	register(&command{
		name:    "card read",
		summary: msg{"カードの利用者証明用証明書を読む（暗証番号不要）", "read the card's user-identification certificate (no PIN)"},
		usage:   "mykey card read [--reader NAME] [--wait DURATION] [--extended] [--json]",
		desc: msg{
			"暗証番号なしで、JPKI の利用者証明用電子証明書を読み取り、その内容（発行者、有効期間、シリアル番号＝発行番号、指紋）と読み取りにかかった APDU 数・時間を表示します。表示するだけで、どこにも保存しません。基本4情報は読みません。",
			"Reads the JPKI user-identification certificate without a PIN and shows its issuer, validity, serial number (the issuance number) and fingerprint, with the APDUs and time the read took. Nothing is stored. The personal-data applications are never read.",
		},
		examples: []string{"mykey card read", "mykey card read --reader PaSoRi --json", "mykey card read --extended --json"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			q := a.cardFlags(fs)
			ext := fs.Bool("extended", false, a.t(mFlagExtended))
			return func(args []string) int {
				if len(args) > 0 {
					return a.usageError(commandNamed("card read"), a.t(mExtraArgs, args))
				}
				if isSet(fs, "extended") {
					q.Extended = ext // else as configured
				}
				return a.cardRead(*q)
			}
		},
	})

	register(&command{
		name:    "card pin-status",
		summary: msg{"暗証番号の残り回数を表示する", "show the PIN tries left"},
		usage:   "mykey card pin-status [--reader NAME] [--wait DURATION] [--json]",
		desc: msg{
			"利用者証明用暗証番号の残り回数を、回数を減らさずに表示します。0 ならロックされています。",
			"Shows how many tries the user-identification PIN has left, without using one. 0 means blocked.",
		},
		examples: []string{"mykey card pin-status", "mykey card pin-status --json"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			q := a.cardFlags(fs)
			return func(args []string) int {
				if len(args) > 0 {
					return a.usageError(commandNamed("card pin-status"), a.t(mExtraArgs, args))
				}
				return a.pinStatus(*q)
			}
		},
	})

	register(&command{
		name:    "vcard",
		summary: msg{"仮想 JPKI カードを仮想リーダー（vpcd）に挿す", "insert a virtual JPKI card into the vpcd virtual reader"},
		usage:   "mykey vcard --cert FILE --key FILE --ca FILE --pin 1234 [--vpcd ADDR] [--fault LIST] [--apdu-log FILE]",
		desc: msg{
			"試験・実演用の仮想マイナンバーカードです。pcscd の vpcd 仮想リーダーにつながり、終了（Ctrl+C）まで挿したままにします。抜かれた後は --reinsert の間隔でまた挿します。--fault で故障を再現できます（カンマ区切り）: remove-after=N, delay=50ms, not-jpki, short-reads=N, get-response, wrong-le=N, empty-eof, no-extended。APDU の記録では暗証番号を伏せます。",
			"A virtual My Number Card for tests and demos. It connects to pcscd's vpcd virtual reader and stays inserted until stopped (Ctrl+C); after a removal it is inserted again after --reinsert. --fault reproduces faults (comma separated): remove-after=N, delay=50ms, not-jpki, short-reads=N, get-response, wrong-le=N, empty-eof, no-extended. The APDU log never shows the PIN.",
		},
		examples: []string{
			"mykey vcard --cert testdata/pki/user.der --key testdata/pki/user.key --ca testdata/pki/ca-2023.der --pin 1234",
			"mykey vcard --cert user.der --key user.key --ca ca.der --pin 1234 --fault remove-after=5,delay=20ms --apdu-log apdu.txt",
		},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			certPath := fs.String("cert", "", a.t(msg{"利用者証明用証明書 `FILE`（DER または PEM）", "user-identification certificate `FILE` (DER or PEM)"}))
			keyPath := fs.String("key", "", a.t(msg{"その秘密鍵 `FILE`（PEM）", "its private key `FILE` (PEM)"}))
			caPath := fs.String("ca", "", a.t(msg{"CA 証明書 `FILE`（DER または PEM）", "CA certificate `FILE` (DER or PEM)"}))
			pin := fs.String("pin", "", a.t(msg{"仮想カードの暗証番号 `PIN`（4桁）", "the virtual card's `PIN` (4 digits)"}))
			tries := fs.Int("tries", vcard.MaxTries, a.t(msg{"暗証番号の残り回数の初期値 `N`", "initial PIN tries left, `N`"}))
			addr := fs.String("vpcd", vcard.DefaultVPCD, a.t(msg{"vpcd の `ADDR`", "vpcd `ADDR`ess"}))
			faults := fs.String("fault", "", a.t(msg{"再現する故障 `LIST`", "faults to reproduce, `LIST`"}))
			apduLog := fs.String("apdu-log", "", a.t(msg{"APDU を記録する `FILE`", "`FILE` to log APDUs to"}))
			reinsert := fs.Duration("reinsert", time.Second, a.t(msg{"抜かれてから挿し直すまで `DURATION`", "pause before re-inserting after a removal, `DURATION`"}))
			return func(args []string) int {
				c := commandNamed("vcard")
				if len(args) > 0 {
					return a.usageError(c, a.t(mExtraArgs, args))
				}
				if *certPath == "" || *keyPath == "" || *caPath == "" || *pin == "" {
					return a.usageError(c, a.t(mNeedFlag, "--cert, --key, --ca, --pin"))
				}
				f, err := parseFaults(*faults)
				if err != nil {
					return a.usageError(c, err.Error())
				}
				cert, err := readCertFile(*certPath)
				if err != nil {
					return a.usageError(c, err.Error())
				}
				ca, err := readCertFile(*caPath)
				if err != nil {
					return a.usageError(c, err.Error())
				}
				key, err := readKeyFile(*keyPath)
				if err != nil {
					return a.usageError(c, err.Error())
				}
				cfg := vcard.Config{AuthCert: cert, AuthCA: ca, Key: key, PIN: *pin, TriesLeft: *tries, Faults: f}
				return a.serveVCard(cfg, *apduLog, *addr, *reinsert)
			}
		},
	})
}

func (a *invocation) readers() ([]cardio.Reader, error) {
	core, ctx, cancel, err := a.cardCore()
	if err != nil {
		return nil, err
	}
	defer cancel()
	ctx, cancel2 := context.WithTimeout(ctx, 3*time.Second)
	defer cancel2()
	return core.Readers(ctx)
}

func (a *invocation) cardRead(q app.CardRequest) int {
	core, ctx, cancel, err := a.cardCore()
	if err != nil {
		return a.fail(err, "")
	}
	defer cancel()
	info, err := core.ReadCard(ctx, q)
	if err != nil {
		return a.fail(err, "")
	}
	cert := info.Certificate
	res := map[string]any{
		"ok": true, "reader": info.Reader, "token": info.Token,
		"serial":     hex.EncodeToString(cert.SerialNumber.Bytes()),
		"issuer":     cert.Issuer.String(),
		"subject":    cert.Subject.String(),
		"not_before": cert.NotBefore.UTC().Format(time.RFC3339),
		"not_after":  cert.NotAfter.UTC().Format(time.RFC3339),
		"sha256":     hex.EncodeToString(info.SHA256[:]),
		"apdus":      info.Stats.APDUs, "bytes": info.Stats.Bytes,
		"elapsed_ms": ms(info.Elapsed),
		"extended":   info.Extended,
	}
	if a.json {
		a.printJSON(res)
		return exitOK
	}
	for _, k := range []string{"reader", "token", "issuer", "subject", "serial", "not_before", "not_after", "sha256", "apdus", "bytes", "elapsed_ms"} {
		fmt.Fprintf(a.stdout, "%-11s %v\n", k+":", res[k])
	}
	return exitOK
}

func (a *invocation) pinStatus(q app.CardRequest) int {
	core, ctx, cancel, err := a.cardCore()
	if err != nil {
		return a.fail(err, "")
	}
	defer cancel()
	reader, n, err := core.PINStatus(ctx, q)
	if err != nil {
		return a.fail(err, "")
	}
	if a.json {
		a.printJSON(map[string]any{"ok": true, "reader": reader, "tries_left": n, "blocked": n == 0})
		return exitOK
	}
	if n < 0 {
		a.println(a.t(mTriesUnknown))
	} else {
		a.println(a.t(mTries, n))
	}
	if n == 0 {
		fmt.Fprintln(a.stderr, a.t(mPINBlocked))
	}
	return exitOK
}

// serveVCard keeps a virtual card in the vpcd reader at addr until Ctrl-C.
func (a *invocation) serveVCard(cfg vcard.Config, apduLog, addr string, reinsert time.Duration) int {
	var log io.Writer
	if apduLog != "" {
		f, err := os.Create(apduLog)
		if err != nil {
			return a.fail(err, "")
		}
		defer f.Close()
		log = f
	}
	card, err := vcard.New(cfg, log)
	if err != nil {
		return a.usageError(commandNamed("vcard"), err.Error())
	}
	ctx, cancel := signalContext()
	defer cancel()
	fmt.Fprintln(a.stderr, a.t(msg{"仮想カードを %s に挿しました（Ctrl+C で終了）。", "virtual card inserted at %s (Ctrl+C to stop)."}, addr))
	card.ServeLoop(ctx, addr, reinsert, a.printError)
	return exitOK
}

func (a *invocation) printError(err error) { fmt.Fprintln(a.stderr, a.t(mError)+err.Error()) }

// parseFaults reads "remove-after=5,delay=20ms,not-jpki".
func parseFaults(s string) (vcard.Faults, error) {
	var f vcard.Faults
	if s == "" {
		return f, nil
	}
	for _, item := range strings.Split(s, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(item), "=")
		n := func() (int, error) {
			i, err := strconv.Atoi(v)
			if err != nil || i < 0 {
				return 0, fmt.Errorf("--fault %s: want a whole number, got %q", k, v)
			}
			return i, nil
		}
		var err error
		switch k {
		case "remove-after":
			f.RemoveAfter, err = n()
		case "short-reads":
			f.ShortReads, err = n()
		case "wrong-le":
			f.WrongLe, err = n()
		case "delay":
			f.Delay, err = time.ParseDuration(v)
		case "not-jpki":
			f.NotJPKI = true
		case "get-response":
			f.GetResponse = true
		case "empty-eof":
			f.EmptyEOF = true
		case "no-extended":
			f.NoExtended = true
		default:
			return f, fmt.Errorf("--fault: unknown fault %q", k)
		}
		if err != nil {
			return f, err
		}
	}
	return f, nil
}

func readCertFile(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	if _, err := x509.ParseCertificate(b); err != nil {
		return nil, fmt.Errorf("%s: not a certificate: %v", path, err)
	}
	return b, nil
}

func readKeyFile(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	if k, err := x509.ParsePKCS1PrivateKey(blk.Bytes); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return nil, fmt.Errorf("%s: not an RSA private key: %v", path, err)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an RSA private key", path)
	}
	return rk, nil
}
