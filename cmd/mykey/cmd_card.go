package main

import (
	"context"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/cardio/pcsc"
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
func (a *app) cardFailure(err error) (failure, bool) {
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
	case errors.Is(err, errNoCard):
		return failure{"no-card", exitNotFound, a.t(mNoCard)}, true
	case errors.Is(err, errNoReaders):
		return failure{"no-readers", exitFailure, a.t(mNoReaders)}, true
	}
	var nr *noSuchReader
	if errors.As(err, &nr) {
		return failure{"no-such-reader", exitUsage, a.t(mNoSuchReader, nr.name)}, true
	}
	return failure{}, false
}

var (
	errNoCard    = errors.New("no card presented")
	errNoReaders = errors.New("no card readers")
)

type noSuchReader struct{ name string }

func (e *noSuchReader) Error() string { return fmt.Sprintf("no reader matches %q", e.name) }

// signalContext ends on SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

// pickReader returns the reader to use: the one named (exact, else the only
// one containing name), else the first configured reader holding a card,
// waiting up to wait for one.
func (a *app) pickReader(ctx context.Context, c *pcsc.Client, name string, wait time.Duration) (string, error) {
	cfg, err := a.config()
	if err != nil {
		return "", err
	}
	deadline := time.Now().Add(wait)
	prompted := false
	for {
		rs, err := c.Readers(ctx)
		if err != nil {
			return "", err
		}
		var usable []pcsc.Reader
		for _, r := range rs {
			if name != "" && (r.Name == name || strings.Contains(r.Name, name)) {
				usable = append(usable, r)
			} else if name == "" && pcsc.Matches(r.Name, cfg.Readers.Include, cfg.Readers.Exclude) {
				usable = append(usable, r)
			}
		}
		switch {
		case len(rs) == 0:
			return "", errNoReaders
		case name != "" && len(usable) == 0:
			return "", &noSuchReader{name}
		}
		for _, r := range usable {
			if r.Present {
				return r.Name, nil
			}
		}
		if time.Now().After(deadline) {
			return "", errNoCard
		}
		if !prompted {
			fmt.Fprintln(a.stderr, a.t(mHoldCard))
			prompted = true
		}
		select {
		case <-ctx.Done():
			return "", ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// withCard connects to the chosen reader's card, selects the JPKI applet
// and runs fn.
func (a *app) withCard(reader string, wait time.Duration, extended *bool, fn func(ctx context.Context, name string, s *cardio.Session) int) int {
	ctx, cancel := signalContext()
	defer cancel()
	cfg, err := a.config()
	if err != nil {
		return a.fail(err, "")
	}
	c := &pcsc.Client{}
	defer c.Close()
	// Do not wait forever for the service: the admin is at the desk.
	pctx, pcancel := context.WithTimeout(ctx, max(wait, 3*time.Second))
	defer pcancel()
	name, err := a.pickReader(pctx, c, reader, wait)
	if err != nil {
		return a.fail(err, "")
	}
	k, err := c.Connect(ctx, name)
	if err != nil {
		return a.fail(err, "")
	}
	defer k.Close()
	s := &cardio.Session{T: k, Extended: cfg.Readers.ExtendedLength}
	if extended != nil {
		s.Extended = *extended
	}
	if err := s.Select(ctx); err != nil {
		return a.fail(err, "")
	}
	return fn(ctx, name, s)
}

// readerFlags adds --reader, --wait and --json.
func (a *app) readerFlags(fs *flag.FlagSet) (*string, *time.Duration) {
	reader := fs.String("reader", "", a.t(mFlagReader))
	wait := fs.Duration("wait", 10*time.Second, a.t(mFlagWait))
	fs.BoolVar(&a.json, "json", false, a.t(mFlagJSON))
	return reader, wait
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
		setup: func(a *app, fs *flag.FlagSet) func([]string) int {
			fs.BoolVar(&a.json, "json", false, a.t(mFlagJSON))
			return func(args []string) int {
				if len(args) > 0 {
					return a.usageError(commandNamed("readers"), a.t(mExtraArgs, args))
				}
				ctx, cancel := signalContext()
				defer cancel()
				ctx, cancel2 := context.WithTimeout(ctx, 3*time.Second)
				defer cancel2()
				c := &pcsc.Client{}
				defer c.Close()
				rs, err := c.Readers(ctx)
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
		setup: func(a *app, fs *flag.FlagSet) func([]string) int {
			reader, wait := a.readerFlags(fs)
			ext := fs.Bool("extended", false, a.t(mFlagExtended))
			return func(args []string) int {
				if len(args) > 0 {
					return a.usageError(commandNamed("card read"), a.t(mExtraArgs, args))
				}
				var extended *bool // nil: as configured
				fs.Visit(func(f *flag.Flag) {
					if f.Name == "extended" {
						extended = ext
					}
				})
				return a.withCard(*reader, *wait, extended, func(ctx context.Context, name string, s *cardio.Session) int {
					start := time.Now()
					token, err := s.TokenInfo(ctx)
					if err != nil {
						return a.fail(err, "")
					}
					der, err := s.AuthCertificate(ctx)
					if err != nil {
						return a.fail(err, "")
					}
					elapsed := time.Since(start)
					cert, err := x509.ParseCertificate(der)
					if err != nil {
						return a.fail(fmt.Errorf("%w: %v", cardio.ErrBadCertificate, err), "")
					}
					sum := sha256.Sum256(der)
					res := map[string]any{
						"ok": true, "reader": name, "token": token,
						"serial":     hex.EncodeToString(cert.SerialNumber.Bytes()),
						"issuer":     cert.Issuer.String(),
						"subject":    cert.Subject.String(),
						"not_before": cert.NotBefore.UTC().Format(time.RFC3339),
						"not_after":  cert.NotAfter.UTC().Format(time.RFC3339),
						"sha256":     hex.EncodeToString(sum[:]),
						"apdus":      s.Stats.APDUs, "bytes": s.Stats.Bytes,
						"elapsed_ms": float64(elapsed.Microseconds()) / 1000,
						"extended":   s.Extended,
					}
					if a.json {
						a.printJSON(res)
						return exitOK
					}
					for _, k := range []string{"reader", "token", "issuer", "subject", "serial", "not_before", "not_after", "sha256", "apdus", "bytes", "elapsed_ms"} {
						fmt.Fprintf(a.stdout, "%-11s %v\n", k+":", res[k])
					}
					return exitOK
				})
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
		setup: func(a *app, fs *flag.FlagSet) func([]string) int {
			reader, wait := a.readerFlags(fs)
			return func(args []string) int {
				if len(args) > 0 {
					return a.usageError(commandNamed("card pin-status"), a.t(mExtraArgs, args))
				}
				return a.withCard(*reader, *wait, nil, func(ctx context.Context, name string, s *cardio.Session) int {
					n, err := s.PINTriesLeft(ctx)
					if err != nil {
						return a.fail(err, "")
					}
					if a.json {
						a.printJSON(map[string]any{"ok": true, "reader": name, "tries_left": n, "blocked": n == 0})
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
				})
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
		setup: func(a *app, fs *flag.FlagSet) func([]string) int {
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
				var logFile *os.File
				if *apduLog != "" {
					if logFile, err = os.Create(*apduLog); err != nil {
						return a.fail(err, "")
					}
					defer logFile.Close()
				}
				cfg := vcard.Config{AuthCert: cert, AuthCA: ca, Key: key, PIN: *pin, TriesLeft: *tries, Faults: f}
				var card *vcard.Card
				if logFile != nil {
					card, err = vcard.New(cfg, logFile)
				} else {
					card, err = vcard.New(cfg, nil)
				}
				if err != nil {
					return a.usageError(c, err.Error())
				}
				ctx, cancel := signalContext()
				defer cancel()
				fmt.Fprintln(a.stderr, a.t(msg{"仮想カードを %s に挿しました（Ctrl+C で終了）。", "virtual card inserted at %s (Ctrl+C to stop)."}, *addr))
				card.ServeLoop(ctx, *addr, *reinsert, func(err error) {
					fmt.Fprintln(a.stderr, a.t(mError)+err.Error())
				})
				return exitOK
			}
		},
	})
}

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
