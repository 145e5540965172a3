package main

import (
	"flag"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/mykey-jp/mykey/app"
	"github.com/mykey-jp/mykey/config"
	"github.com/mykey-jp/mykey/console"
	"github.com/mykey-jp/mykey/desk"
	"github.com/mykey-jp/mykey/tray"
)

func (a *invocation) printStatus(st desk.Status) {
	if a.json {
		a.encode(app.StatusView(st, a.words().Status(st)), "")
		return
	}
	fmt.Fprintln(a.stdout, a.words().TapLine(st))
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
		icon.OpenConsole = console.Opener(ctx, core, console.Options{Lang: a.lang, Log: log})
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
	if _, shared := core.DeskRegistry(); shared && icon != nil {
		icon.Registry = func() string { st, _ := core.DeskRegistry(); return a.words().Registry(st, time.Now()) }
	}
	if core.TypesAnywhere() {
		fmt.Fprintln(a.stderr, a.t(msg{"注意: wedge.allow_exe と wedge.allow_title が空のため、どのウィンドウにも入力します。図書館システムのプログラム名を設定してください（mykey wedge focus）。",
			"note: wedge.allow_exe and wedge.allow_title are empty, so numbers are typed into any window; set the library system's program (see mykey wedge focus)."}))
	}
	if n, err := core.DeskGenuineCount(ctx, d); err == nil && n.Missing > 0 {
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

func init() {
	register(&command{
		name:     "status",
		summary:  msg{"登録簿の状態（共有登録簿のオンライン／オフライン、複製の古さ）を表示する", "show the registry's state (the shared registry online or offline, the replica's age)"},
		usage:    "mykey status [--json]",
		needs:    needCore,
		desc:     msg{"登録簿の場所を表示します。共有登録簿（database.url）では、いまサーバーにつながるか、この窓口の複製がいつ更新されたか、サーバーへ未送信の監査記録の数を表示します（常駐中の mykey run が記録した状態）。つながらなければ終了コード 1。", "Shows where the registry is. For a shared registry (database.url): whether the server answers now, when this desk's replica was last brought up to date and how many audit records wait for the server (as the running mykey run recorded them). Exits 1 when the server does not answer."},
		examples: []string{"mykey status", "mykey status --json"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			fs.BoolVar(&a.json, "json", false, a.t(mFlagJSON))
			return func([]string) int {
				st := a.core.RegistryStatus(a.ctx)
				if a.json {
					a.printJSON(map[string]any{"ok": st.Online, "registry": st})
				} else {
					a.println(a.words().Registry(st, time.Now()))
					if st.Err != "" {
						a.println("  " + st.Err)
					}
				}
				return map[bool]int{true: exitOK, false: exitFailure}[st.Online]
			}
		},
	})
}

func (a *invocation) trayShown() {
	if !a.json {
		fmt.Fprintln(a.stderr, a.t(msg{"常駐アイコンを表示しました。", "tray icon shown."}))
	}
}

func init() {
	register(&command{
		name:     "console",
		summary:  msg{"管理画面をブラウザで開く", "open the administration console in the browser"},
		usage:    "mykey console [--port N] [--no-browser]",
		needs:    needCore,
		desc:     msg{"管理画面（照会、登録、紐付け、CSV の取り込み、監査ログ、窓口の状態）をこの PC だけから使えるように 127.0.0.1 で開き、サインイン済みの既定のブラウザを開きます。URL は一度だけ使えます。Ctrl-C で終了します。付け替え・解除・取り込み・最後の暗証番号の試行には管理者パスワード（mykey console password）が必要です。", "Serves the administration console (lookup, registration, links, CSV import, audit, desk health) on 127.0.0.1 only and opens the default browser, already signed in; the URL works once. Ctrl-C stops it. Relink, unlink, import and a forced last PIN try need the administrator password (mykey console password)."},
		examples: []string{"mykey console", "mykey console --no-browser --port 8765"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			port := fs.Int("port", 0, a.t(msg{"待ち受けるポート（0: 空いているポート）", "the port to listen on (0: any free port)"}))
			quiet := fs.Bool("no-browser", false, a.t(msg{"ブラウザを開かず URL だけ表示する", "print the URL, do not open a browser"}))
			return func([]string) int {
				err := console.Run(a.ctx, a.core, console.Options{Lang: a.lang}, *port, func(url string) {
					a.println(url)
					if !*quiet {
						console.OpenBrowser(url)
					}
				})
				if err != nil {
					return a.fail(err, "")
				}
				return exitOK
			}
		},
	})
	register(&command{
		name:     "console password",
		summary:  msg{"管理画面の管理者パスワードを設定する", "set the console's administrator password"},
		usage:    "mykey console password [--stdin]",
		needs:    needRegistry,
		desc:     msg{"管理画面で付け替え・解除・取り込み・最後の暗証番号の試行の前に求める管理者パスワード（10文字以上）を設定します。登録簿には Argon2id のハッシュだけを保存します。", "Sets the administrator password (10 characters or more) the console asks before relink, unlink, import and a forced last PIN try. The registry keeps only its Argon2id hash."},
		examples: []string{"mykey console password", "printf 'correct horse battery\\n' | mykey console password --stdin"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			stdin := fs.Bool("stdin", false, a.t(msg{"パスワードを標準入力から読む", "read the password from standard input"}))
			return func([]string) int {
				pw, err := a.readPIN(*stdin, a.t(msg{"新しい管理者パスワード: ", "new administrator password: "}))
				if err == nil {
					err = a.core.SetConsolePassword(a.ctx, pw) // clears pw
				}
				if err != nil {
					return a.fail(err, "")
				}
				a.println(a.t(msg{"管理者パスワードを設定しました。", "The administrator password is set."}))
				return exitOK
			}
		},
	})
}
