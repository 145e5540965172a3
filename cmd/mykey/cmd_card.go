package main

import (
	"context"
	"encoding/hex"
	"flag"
	"fmt"
	"time"

	"github.com/mykey-jp/mykey/app"
	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/internal/cmdline"
	"github.com/mykey-jp/mykey/internal/wording"
)

var (
	mFlagReader   = msg{"使うカードリーダー `NAME`（名前の一部でよい。既定: カードのあるリーダー）", "card reader `NAME` to use (a part of the name will do; default: the one holding a card)"}
	mFlagWait     = msg{"カードがかざされるまで待つ時間 `DURATION`", "how long to wait for a card, `DURATION`"}
	mFlagExtended = msg{"拡張長 APDU で読む（対応リーダーのみ。既定: 設定の readers.extended_length）", "read with extended-length APDUs (if the reader supports them; default: readers.extended_length)"}
	mHoldCard     = msg{"カードをかざしてください…", "hold the card on the reader…"}
	mTries        = msg{"利用者証明用暗証番号の残り回数: %d 回", "user-identification PIN tries left: %d"}
	mTriesUnknown = msg{"暗証番号は照合済みです（残り回数は表示されません）。", "the PIN is already verified (the card does not tell the tries left)."}
	mReaderLine   = msg{"%s\t%s", "%s\t%s"}
	mPresent      = msg{"カードあり", "card present"}
	mEmpty        = msg{"カードなし", "no card"}
)

// cardFlags adds --reader, --wait and --json.
func (a *invocation) cardFlags(fs *flag.FlagSet) *app.CardRequest {
	q := &app.CardRequest{}
	fs.StringVar(&q.Reader, "reader", "", a.t(mFlagReader))
	fs.DurationVar(&q.Wait, "wait", 10*time.Second, a.t(mFlagWait))
	fs.BoolVar(&a.json, "json", false, a.t(mFlagJSON))
	return q
}

func init() {
	register(&command{
		name:     "readers",
		summary:  msg{"カードリーダーとカードの有無を表示する", "list card readers and whether they hold a card"},
		usage:    "mykey readers [--json]",
		needs:    needCore,
		desc:     msg{"スマートカードサービス（Windows: Smart Card、Linux: pcscd）が知っているカードリーダーと、カードがあるかどうかを表示します。", "Lists the card readers the smart-card service (Windows: Smart Card; Linux: pcscd) knows, and whether each holds a card."},
		examples: []string{"mykey readers", "mykey readers --json"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			fs.BoolVar(&a.json, "json", false, a.t(mFlagJSON))
			return func(args []string) int {
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
					fmt.Fprintln(a.stderr, a.words().T(wording.NoReaders))
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
		name:     "card read",
		summary:  msg{"カードの利用者証明用証明書を読む（暗証番号不要）", "read the card's user-identification certificate (no PIN)"},
		usage:    "mykey card read [--reader NAME] [--wait DURATION] [--extended] [--json]",
		needs:    needCore,
		desc:     msg{"暗証番号なしで、JPKI の利用者証明用電子証明書を読み取り、その内容（発行者、有効期間、シリアル番号＝発行番号、指紋）と読み取りにかかった APDU 数・時間を表示します。表示するだけで、どこにも保存しません。基本4情報は読みません。真正性確認が有効なら、券面事項確認APの CVC の検証結果と生年月日照合の残り回数も表示します（生年月日は読みません）。", "Reads the JPKI user-identification certificate without a PIN and shows its issuer, validity, serial number (the issuance number) and fingerprint, with the APDUs and time the read took. Nothing is stored; name, address, sex and birth date are never read. With the genuine-card check on, it also shows whether the card-surface applet's CVC verifies and the date-of-birth key's tries left (the date of birth itself is not read)."},
		examples: []string{"mykey card read", "mykey card read --reader PaSoRi --json", "mykey card read --extended --json"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			q := a.cardFlags(fs)
			ext := fs.Bool("extended", false, a.t(mFlagExtended))
			return func(args []string) int {
				if cmdline.IsSet(fs, "extended") {
					q.Extended = ext // else as configured
				}
				return a.cardRead(*q)
			}
		},
	})

	register(&command{
		name:     "card pin-status",
		summary:  msg{"暗証番号の残り回数を表示する", "show the PIN tries left"},
		usage:    "mykey card pin-status [--reader NAME] [--wait DURATION] [--json]",
		needs:    needCore,
		desc:     msg{"利用者証明用暗証番号の残り回数を、回数を減らさずに表示します。0 ならロックされています。", "Shows how many tries the user-identification PIN has left, without using one. 0 means blocked."},
		examples: []string{"mykey card pin-status", "mykey card pin-status --json"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			q := a.cardFlags(fs)
			return func([]string) int { return a.pinStatus(*q) }
		},
	})
}

func (a *invocation) readers() ([]cardio.Reader, error) {
	ctx, cancel := context.WithTimeout(a.ctx, 3*time.Second)
	defer cancel()
	return a.core.Readers(ctx)
}

func (a *invocation) cardRead(q app.CardRequest) int {
	info, err := a.core.ReadCard(a.ctx, q)
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
		"elapsed_ms": app.Millis(info.Elapsed),
		"extended":   info.Extended,
		"genuine":    info.Genuine,
	}
	if a.json {
		a.printJSON(res)
		return exitOK
	}
	for _, k := range []string{"reader", "token", "issuer", "subject", "serial", "not_before", "not_after", "sha256", "apdus", "bytes", "elapsed_ms"} {
		fmt.Fprintf(a.stdout, "%-11s %v\n", k+":", res[k])
	}
	if info.Genuine != nil {
		fmt.Fprintln(a.stdout, a.words().Inspection(info.Genuine))
	}
	return exitOK
}

func (a *invocation) pinStatus(q app.CardRequest) int {
	reader, n, err := a.core.PINStatus(a.ctx, q)
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
		fmt.Fprintln(a.stderr, a.words().T(wording.PINBlocked))
	}
	return exitOK
}
