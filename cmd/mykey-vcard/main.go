// Command mykey-vcard is a virtual My Number Card for tests and demos on a
// machine with pcscd and the vpcd virtual reader (vsmartcard-vpcd): it
// connects to vpcd and stays inserted until stopped (Ctrl+C, SIGTERM);
// after a removal it is inserted again. --fault reproduces card faults. The
// card has the card-surface and input-assist applets of the genuine-card
// check (date of birth 19800217, input-assist PIN 5678, signed under the
// test CVC CA 6000023/001), genuine or as --variant shows them. The APDU
// log never shows a PIN or the date of birth. It is not shipped in the
// release.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mykey-jp/mykey/cardio/vcard"
	"github.com/mykey-jp/mykey/internal/testcard"
)

func main() { os.Exit(run(os.Args[1:], os.Stderr)) }

func run(args []string, stderr io.Writer) int {
	fs := flag.NewFlagSet("mykey-vcard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	certPath := fs.String("cert", "", "user-identification certificate `FILE` (DER or PEM) / 利用者証明用証明書")
	keyPath := fs.String("key", "", "its private key `FILE` (PEM) / その秘密鍵")
	caPath := fs.String("ca", "", "CA certificate `FILE` (DER or PEM) / CA 証明書")
	pin := fs.String("pin", "", "the virtual card's `PIN` (4 digits) / 暗証番号")
	tries := fs.Int("tries", vcard.MaxTries, "initial PIN tries left / 暗証番号の残り回数")
	addr := fs.String("vpcd", vcard.DefaultVPCD, "vpcd `ADDR`ess")
	faults := fs.String("fault", "", "faults to reproduce, comma separated: remove-after=N, delay=50ms, not-jpki, short-reads=N, get-response, wrong-le=N, empty-eof, no-extended / 再現する故障")
	apduLog := fs.String("apdu-log", "", "`FILE` to log APDUs to (PIN redacted) / APDU の記録")
	reinsert := fs.Duration("reinsert", time.Second, "pause before re-inserting after a removal / 挿し直すまでの時間")
	variant := fs.String("variant", "", "the card-surface applet: genuine when empty, or one of "+strings.Join(testcard.Variants, ", ")+" / 券面事項確認APの状態")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: mykey-vcard --cert FILE --key FILE --ca FILE --pin 1234 [--vpcd ADDR] [--fault LIST] [--variant V] [--apdu-log FILE]")
		fmt.Fprintln(stderr, "試験・実演用の仮想マイナンバーカードを pcscd の vpcd 仮想リーダーに挿します（Ctrl+C で終了）。")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || *certPath == "" || *keyPath == "" || *caPath == "" || *pin == "" {
		fs.Usage()
		return 2
	}
	cfg, err := load(*certPath, *keyPath, *caPath, *faults)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 2
	}
	cfg.PIN, cfg.TriesLeft = *pin, *tries
	if err := testcard.Apply(&cfg, *certPath, *variant); err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 2
	}
	var log io.Writer
	if *apduLog != "" {
		f, err := os.Create(*apduLog)
		if err != nil {
			fmt.Fprintln(stderr, "error:", err)
			return 1
		}
		defer f.Close()
		log = f
	}
	card, err := vcard.New(cfg, log)
	if err != nil {
		fmt.Fprintln(stderr, "error:", err)
		return 2
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	fmt.Fprintf(stderr, "仮想カードを %s に挿しました（Ctrl+C で終了）。 / virtual card inserted at %s (Ctrl+C to stop).\n", *addr, *addr)
	card.ServeLoop(ctx, *addr, *reinsert, func(err error) { fmt.Fprintln(stderr, "error:", err) })
	return 0
}

func load(certPath, keyPath, caPath, faults string) (vcard.Config, error) {
	var cfg vcard.Config
	var err error
	if cfg.Faults, err = vcard.ParseFaults(faults); err != nil {
		return cfg, err
	}
	if cfg.AuthCert, err = vcard.ReadCertificate(certPath); err != nil {
		return cfg, err
	}
	if cfg.AuthCA, err = vcard.ReadCertificate(caPath); err != nil {
		return cfg, err
	}
	cfg.Key, err = vcard.ReadKey(keyPath)
	return cfg, err
}
