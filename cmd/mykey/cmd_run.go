package main

import (
	"flag"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/mykey-jp/mykey/config"
	"github.com/mykey-jp/mykey/desk"
	"github.com/mykey-jp/mykey/tray"
)

func (a *invocation) printStatus(st desk.Status) {
	if a.json {
		a.encode(map[string]any{
			"at": st.At.Format(time.RFC3339Nano), "reader": st.Reader, "profile": st.Profile, "outcome": string(st.Outcome), "message": a.words().Status(st),
			"check": string(st.Decision.Reason), "method": st.Decision.Method, "mykey_id": string(st.MyKeyID), "keys": st.Typed,
			"read_ms": ms(st.Timing.Read), "check_ms": ms(st.Timing.Check), "lookup_ms": ms(st.Timing.Lookup), "genuine_ms": ms(st.Timing.Genuine), "type_ms": ms(st.Timing.Type),
		}, "")
		return
	}
	id := ""
	if st.MyKeyID != "" {
		id = " [" + string(st.MyKeyID) + "]"
	}
	fmt.Fprintf(a.stdout, "%s %s: %s%s\n", st.At.Local().Format("15:04:05"), st.Reader, a.words().Status(st), id)
}

func init() {
	register(&command{
		name:     "run",
		summary:  msg{"窓口で常駐し、カードをかざすと利用者番号を入力する", "run at the desk: a card held up types its patron number"},
		usage:    "mykey run [--no-tray] [--json] [--taps N]",
		desc:     msg{"窓口の常駐サービスです。カードリーダーを見張り、カードがかざされると証明書を読み、有効性と失効を確かめ、登録簿から利用者番号を引いて、許可されたウィンドウにキー入力します。どれかの段階で失敗したときは何も入力せず、理由を表示します。リーダーの抜き差し、スマートカードサービスの再起動、画面の切断があっても動き続けます。ログは設定の log.dir に保存します（利用者番号は記録しません）。Ctrl+C または終了メニューで止まります。", "The desk service. It watches the card readers; when a card is held up it reads the certificate, checks validity and revocation, finds the patron number in the registry and types it into the allowed window. If any step fails nothing is typed and the reason is shown. It keeps running across reader unplugging, smart-card service restarts and display loss. Logs go to log.dir (no patron numbers). Ctrl+C or Quit stops it."},
		examples: []string{"mykey run", "mykey run --no-tray --json"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			noTray := fs.Bool("no-tray", false, a.t(msg{"常駐アイコンを出さない（画面のない環境用）", "no tray icon (headless)"}))
			fs.BoolVar(&a.json, "json", false, a.t(msg{"各読み取りの結果を1行の JSON で出力する", "print each tap's result as one JSON line"}))
			taps := fs.Int("taps", 0, a.t(msg{"`N` 回かざされたら終了する（確認・試験用。0: 終了しない）", "stop after `N` taps (for checks and tests; 0: never)"}))
			return func([]string) int { return a.runDesk(!*noTray, *taps) }
		},
	})
}

// runDesk runs the desk until Ctrl-C, SIGTERM, the tray's Quit or, when
// taps > 0, that many taps, with the tray when asked for.
func (a *invocation) runDesk(showTray bool, taps int) int {
	if !a.configExplicit {
		if created, err := config.FromExample(a.configPath); err != nil {
			return a.fail(err, "")
		} else if created {
			fmt.Fprintln(a.stderr, a.t(msg{"設定ファイルを雛形から作りました: %s", "created the configuration from the template: %s"}, a.configPath))
		}
	}
	core, err := a.app()
	if err != nil {
		return a.fail(err, "")
	}
	log, closeLog, err := core.OpenLog()
	if err != nil {
		return a.fail(err, "")
	}
	defer closeLog()
	ctx, cancel := signalContext()
	defer cancel()
	var icon *tray.Tray // nil without the tray
	if showTray {
		icon = tray.New(a.words(), core.Config.Log.Dir, a.trayShown)
	}
	var tapped atomic.Int64
	d, closeDesk, err := core.Desk(ctx, log, func(st desk.Status) {
		a.printStatus(st)
		icon.Status(st)
		if tapped.Add(1) == int64(taps) { // --taps: a bounded run
			cancel()
		}
	})
	if err != nil {
		return a.fail(err, "")
	}
	defer closeDesk()
	d.OnEvent = icon.Event
	if core.TypesAnywhere() {
		fmt.Fprintln(a.stderr, a.t(msg{"注意: wedge.allow_exe と wedge.allow_title が空のため、どのウィンドウにも入力します。図書館システムのプログラム名を設定してください（mykey wedge focus）。",
			"note: wedge.allow_exe and wedge.allow_title are empty, so numbers are typed into any window; set the library system's program (see mykey wedge focus)."}))
	}
	if n, err := core.GenuineCount(ctx, ""); err == nil && n.Missing > 0 {
		fmt.Fprintln(a.stderr, a.words().GenuineMissing(n))
	}
	if !a.json {
		fmt.Fprintln(a.stderr, a.t(msg{"受付を開始しました。カードをかざしてください（Ctrl+C で終了）。", "ready: hold a card on the reader (Ctrl+C to stop)."}))
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		core.RunDesk(ctx, d)
	}()
	if icon != nil {
		icon.Run(ctx, cancel, d)
	}
	<-ctx.Done()
	<-done
	log.Info().Msg("desk stopped")
	return exitOK
}

func init() {
	register(&command{
		name:     "genuine status",
		summary:  msg{"真正性確認の情報がない紐付けの数を表示する", "count the links that lack the genuine-card data"},
		usage:    "mykey genuine status [--json]",
		needs:    needCore,
		desc:     msg{"設定の genuine.mode の真正性確認に必要な情報（登録時に確かめた生年月日またはカードの鍵）がない紐付けを数えます。その利用者のカードはかざしても入力されないため、窓口で登録し直してください。1 件以上あれば終了コード 1。", "Counts the links whose card lacks what genuine.mode's check needs (the date of birth or card key confirmed at registration): those cards type nothing when held up until registered again at the counter. Exits 1 when there is one or more."},
		examples: []string{"mykey genuine status", "mykey genuine status --json"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			fs.BoolVar(&a.json, "json", false, a.t(mFlagJSON))
			return func([]string) int {
				n, err := a.core.GenuineCount(a.ctx, "")
				if err != nil {
					return a.fail(err, "")
				}
				if a.json {
					a.printJSON(map[string]any{"ok": n.Missing == 0, "mode": a.cfg.Genuine.Mode, "linked": n.Linked, "missing": n.Missing})
				} else {
					a.println(a.words().GenuineCount(a.cfg.Genuine.Mode, n))
				}
				return map[bool]int{true: exitOK, false: exitFailure}[n.Missing == 0]
			}
		},
	})
}

func (a *invocation) trayShown() {
	if !a.json {
		fmt.Fprintln(a.stderr, a.t(msg{"常駐アイコンを表示しました。", "tray icon shown."}))
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
