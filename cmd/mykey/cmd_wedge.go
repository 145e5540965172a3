package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"github.com/mykey-jp/mykey/app"
	"github.com/mykey-jp/mykey/keyboardwedge"
)

var (
	mClickTarget = msg{"%s 以内に入力先（図書館システムの入力欄）をクリックしてください…", "click into the target (the library system's input field) within %s…"}
	mTyped       = msg{"%s に入力しました: %s（%d キー、%.1f ms）", "typed into %s: %s (%d keys, %.1f ms)"}
	mFocusLine   = msg{"プログラム: %s\nタイトル: %s\nPID: %d", "program: %s\ntitle: %s\nPID: %d"}
)

// pause gives the administrator time to click into the target window.
func (a *invocation) pause(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return nil
	}
	fmt.Fprintln(a.stderr, a.t(mClickTarget, d))
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func windowJSON(w keyboardwedge.Window) map[string]any {
	return map[string]any{"exe": w.Exe, "title": w.Title, "pid": w.PID, "window": fmt.Sprintf("%#x", w.ID)}
}

func init() {
	register(&command{
		name:     "wedge test",
		summary:  msg{"設定どおりにキー入力を試す", "type a test text through the configured wedge"},
		usage:    "mykey wedge test --text T [--after DURATION] [--json]",
		needs:    needCore,
		desc:     msg{"窓口の設定用です。T を設定の書式（wedge.template）と入力先の制限（wedge.allow_exe, wedge.allow_title）のとおりに、フォーカスのあるウィンドウへキー入力します。--after の間に入力先をクリックしてください。許可されていないウィンドウには入力しません。", "For setting up a desk: types T through the configured template (wedge.template) and target allowlist (wedge.allow_exe, wedge.allow_title) into the focused window. Click into the target during --after. Windows not allowed receive nothing."},
		examples: []string{"mykey wedge test --text 12345678", "mykey wedge test --text 12345678 --after 5s --json"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			text := fs.String("text", "", a.t(msg{"入力する文字 `T`（数字、英字、-）", "`T`ext to type (digits, letters, -)"}))
			after := fs.Duration("after", 3*time.Second, a.t(msg{"入力を始めるまでの待ち時間 `DURATION`", "pause before typing, `DURATION`"}))
			fs.BoolVar(&a.json, "json", false, a.t(mFlagJSON))
			return func(args []string) int {
				if *text == "" {
					return a.usageError(commandNamed("wedge test"), a.t(mNeedFlag, "--text"))
				}
				return a.wedgeTest(*text, *after)
			}
		},
	})

	register(&command{
		name:     "wedge focus",
		summary:  msg{"フォーカスのあるウィンドウを表示する", "show the window that has keyboard focus"},
		usage:    "mykey wedge focus [--after DURATION] [--json]",
		needs:    needCore,
		desc:     msg{"キー入力を受けるウィンドウのプログラム名、タイトル、PID を表示します。設定の wedge.allow_exe と wedge.allow_title を書くときに使います。--after の間に図書館システムの入力欄をクリックしてください。", "Shows the program name, title and PID of the window that receives keys, for writing wedge.allow_exe and wedge.allow_title. Click into the library system's input field during --after."},
		examples: []string{"mykey wedge focus --after 5s", "mykey wedge focus --json"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			after := fs.Duration("after", 0, a.t(msg{"調べるまでの待ち時間 `DURATION`", "pause before looking, `DURATION`"}))
			fs.BoolVar(&a.json, "json", false, a.t(mFlagJSON))
			return func([]string) int { return a.wedgeFocus(*after) }
		},
	})
}

func (a *invocation) wedgeTest(text string, after time.Duration) int {
	if _, err := a.core.Typer(); err != nil {
		return a.fail(err, "")
	}
	if err := a.pause(a.ctx, after); err != nil {
		return a.fail(err, "")
	}
	res, err := a.core.TypeTest(a.ctx, text)
	if err != nil {
		return a.fail(err, "")
	}
	if a.json {
		a.printJSON(map[string]any{"ok": true, "typed": res.Typed, "keys": res.Keys, "window": windowJSON(res.Window), "took_ms": app.Millis(res.Took)})
		return exitOK
	}
	fmt.Fprintln(a.stderr, a.t(mTyped, res.Window, res.Typed, res.Keys, app.Millis(res.Took)))
	return exitOK
}

func (a *invocation) wedgeFocus(after time.Duration) int {
	if err := a.pause(a.ctx, after); err != nil {
		return a.fail(err, "")
	}
	w, err := a.core.Focused(a.ctx)
	if err != nil {
		return a.fail(err, "")
	}
	if a.json {
		m := windowJSON(w)
		m["ok"] = true
		a.printJSON(m)
		return exitOK
	}
	a.println(a.t(mFocusLine, w.Exe, w.Title, w.PID))
	return exitOK
}
