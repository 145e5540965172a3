package main

import (
	"crypto/x509"
	"flag"
	"fmt"
	"time"

	"github.com/mykey-jp/mykey/app"
	"github.com/mykey-jp/mykey/certcheck"
	"github.com/mykey-jp/mykey/genuine"
	"github.com/mykey-jp/mykey/internal/wording"
)

var (
	mCRLDone    = msg{"CRL を取り込みました: %s（%d 件、発行 %s、次回更新 %s）", "imported the CRL of %s (%d entries, issued %s, next update %s)"}
	mCRLNone    = msg{"取り込まれた CRL はありません。mykey crl import で取り込んでください。", "no CRL has been imported; use mykey crl import."}
	mCRLStale   = msg{"（古い: 次回更新予定を過ぎています）", "(stale: past its next update)"}
	mCertReason = msg{"判定: %s（方式: %s）", "decision: %s (method: %s)"}
)

func init() {
	register(&command{
		name:     "crl import",
		summary:  msg{"CRL（失効リスト）を取り込む", "import a CRL (revocation list)"},
		usage:    "mykey crl import (FILE | URL) [--json]",
		args:     "FILE | URL",
		needs:    needCore,
		desc:     msg{"DER 形式の CRL をファイルまたは URL から読み、信頼する CA の署名を確かめ、失効した発行番号だけを小さな索引にして保存します。CRL 番号が戻る（古い CRL）ときや、壊れている・署名が合わないときは取り込まず、前の索引をそのまま使います。数百万件でも 1 秒ほどで、メモリもわずかです。", "Reads a DER CRL from a file or a URL, checks its signature against the trusted CAs, and keeps only the revoked serial numbers in a compact index. An older CRL (its number going backwards), a damaged file or a bad signature is refused and the previous index stays in use. Millions of entries take about a second and little memory."},
		examples: []string{"mykey crl import auth.crl", "mykey crl import http://crl.example.jp/auth.crl --json"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			fs.BoolVar(&a.json, "json", false, a.t(mFlagJSON))
			return func(args []string) int { return a.crlImport(args[0]) }
		},
	})

	register(&command{
		name:     "crl status",
		summary:  msg{"取り込んだ CRL の状態", "show the imported CRLs"},
		usage:    "mykey crl status [--json]",
		needs:    needCore,
		desc:     msg{"信頼する CA ごとに、取り込んだ CRL の発行日時、次回更新予定、件数、経過時間、古くなっていないかを表示します。", "Shows, for each trusted CA, the imported CRL's issue time, next update, entries, age, and whether it is stale."},
		examples: []string{"mykey crl status", "mykey crl status --json"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			fs.BoolVar(&a.json, "json", false, a.t(mFlagJSON))
			return func([]string) int { return a.crlStatus() }
		},
	})

	register(&command{
		name:     "cert check",
		summary:  msg{"証明書の有効性と失効を確認する", "check a certificate's validity and revocation"},
		usage:    "mykey cert check (FILE | --card [--reader NAME]) [--json]",
		args:     "*",
		needs:    needCore,
		desc:     msg{"証明書ファイル、またはカードの利用者証明用電子証明書を、設定の方式（OCSP、CRL、OCSP がだめなら CRL）で確かめ、判定とその理由を表示します。有効なときだけ終了コード 0 です。", "Checks a certificate file, or the card's user-identification certificate, with the configured method (OCSP, CRL, or OCSP then CRL) and shows the decision and why. Exits 0 only when the certificate is good."},
		examples: []string{"mykey cert check user.der", "mykey cert check --card --json"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			card := fs.Bool("card", false, a.t(msg{"カードから読む", "read it from the card"}))
			q := a.cardFlags(fs)
			return func(args []string) int {
				if *card == (len(args) == 1) || len(args) > 1 {
					return a.usageError(commandNamed("cert check"), a.t(mNeedOne, "FILE, --card"))
				}
				return a.certCheck(args, *card, *q)
			}
		},
	})
}

func (a *invocation) crlImport(src string) int {
	ix, err := a.core.ImportCRL(a.ctx, src)
	if err != nil {
		return a.fail(err, "")
	}
	if a.json {
		a.printJSON(indexJSON(ix, time.Duration(a.core.Config.Revocation.CRLGraceHours)*time.Hour))
		return exitOK
	}
	a.println(a.t(mCRLDone, ix.Issuer, ix.Entries, ix.ThisUpdate.Local().Format(time.DateTime), ix.NextUpdate.Local().Format(time.DateTime)))
	return exitOK
}

func (a *invocation) crlStatus() int {
	list, grace, err := a.core.CRLs()
	if err != nil {
		return a.fail(err, "")
	}
	if a.json {
		out := make([]map[string]any, len(list))
		for i, ix := range list {
			out[i] = indexJSON(ix, grace)
		}
		a.printJSON(map[string]any{"ok": true, "crls": out})
		return exitOK
	}
	if len(list) == 0 {
		fmt.Fprintln(a.stderr, a.t(mCRLNone))
		return exitNotFound
	}
	for _, ix := range list {
		stale := ""
		if ix.Stale(time.Now(), grace) {
			stale = " " + a.t(mCRLStale)
		}
		fmt.Fprintf(a.stdout, "%s\n  thisUpdate %s  nextUpdate %s  entries %d  age %s%s\n", ix.Issuer,
			ix.ThisUpdate.Local().Format(time.DateTime), ix.NextUpdate.Local().Format(time.DateTime), ix.Entries,
			time.Since(ix.ThisUpdate).Round(time.Minute), stale)
	}
	return exitOK
}

// certCheck checks the certificate in the file args[0], or on the card.
func (a *invocation) certCheck(args []string, card bool, q app.CardRequest) int {
	if _, err := a.core.Policy(); err != nil {
		return a.fail(err, "")
	}
	var leaf *x509.Certificate
	var onCard *genuine.Inspection
	if card {
		info, err := a.core.ReadCard(a.ctx, q)
		if err != nil {
			return a.fail(err, "")
		}
		leaf, onCard = info.Certificate, info.Genuine
	} else {
		certs, err := certcheck.LoadCertificates(args)
		if err != nil || len(certs) == 0 {
			return a.usageError(commandNamed("cert check"), fmt.Sprint(err))
		}
		leaf = certs[0]
	}
	d, err := a.core.CheckCertificate(a.ctx, leaf)
	if err != nil {
		return a.fail(err, "")
	}
	text := a.words().T(wording.ReasonText[d.Reason])
	if a.json {
		a.printJSON(map[string]any{"ok": d.OK(), "reason": string(d.Reason), "method": d.Method, "detail": d.Detail, "message": text,
			"not_after": leaf.NotAfter.UTC().Format(time.RFC3339), "genuine": onCard})
	} else {
		fmt.Fprintln(a.stdout, text)
		fmt.Fprintln(a.stdout, a.t(mCertReason, d.Reason, d.Method))
		if d.Detail != "" {
			fmt.Fprintln(a.stdout, "  "+d.Detail)
		}
		if onCard != nil {
			fmt.Fprintln(a.stdout, a.words().Inspection(onCard))
		}
	}
	if !d.OK() {
		return exitFailure
	}
	return exitOK
}

func indexJSON(ix *certcheck.Index, grace time.Duration) map[string]any {
	m := map[string]any{
		"issuer": ix.Issuer, "this_update": ix.ThisUpdate.Format(time.RFC3339), "entries": ix.Entries,
		"imported": ix.Imported.Format(time.RFC3339), "age_seconds": int(time.Since(ix.ThisUpdate).Seconds()),
		"stale": ix.Stale(time.Now(), grace),
	}
	if !ix.NextUpdate.IsZero() {
		m["next_update"] = ix.NextUpdate.Format(time.RFC3339)
	}
	if ix.Number != nil {
		m["number"] = ix.Number.String()
	}
	return m
}
