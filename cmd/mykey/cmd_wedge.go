package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/mykey-jp/mykey/keyboardwedge"
)

var (
	mNoDisplay   = msg{"画面（デスクトップ）がないため入力できません。利用者がログインしたデスクトップで動かしてください。", "there is no display (desktop session) to type into; run it in a logged-in desktop session."}
	mRefused     = msg{"入力先 %s には入力しません: %s。設定の wedge.allow_exe と wedge.allow_title を確かめてください（mykey wedge focus で名前を調べられます）。", "not typing into %s: %s. Check wedge.allow_exe and wedge.allow_title (mykey wedge focus shows the names)."}
	mInterrupted = msg{"入力中にフォーカスが %s に移ったため中断しました。入力済み: %q", "focus moved to %s while typing; stopped after %q."}
	mNoFocus     = msg{"キー入力を受けるウィンドウがありません。", "no window has keyboard focus."}
	mBadText     = msg{"入力できない文字があります: %v", "the text cannot be typed: %v"}
	mClickTarget = msg{"%s 以内に入力先（図書館システムの入力欄）をクリックしてください…", "click into the target (the library system's input field) within %s…"}
	mTyped       = msg{"%s に入力しました: %s（%d キー、%.1f ms）", "typed into %s: %s (%d keys, %.1f ms)"}
	mFocusLine   = msg{"プログラム: %s\nタイトル: %s\nPID: %d", "program: %s\ntitle: %s\nPID: %d"}
)

func (a *invocation) wedgeFailure(err error) (failure, bool) {
	var re *keyboardwedge.RefusedError
	var ie *keyboardwedge.InterruptedError
	switch {
	case errors.As(err, &re):
		return failure{"focus-refused", exitFailure, a.t(mRefused, re.Window, re.Why)}, true
	case errors.As(err, &ie):
		return failure{"focus-moved", exitFailure, a.t(mInterrupted, ie.To, ie.Typed)}, true
	case errors.Is(err, keyboardwedge.ErrNoDisplay):
		return failure{"no-display", exitFailure, a.t(mNoDisplay) + "\n  " + err.Error()}, true
	case errors.Is(err, keyboardwedge.ErrNoFocus):
		return failure{"no-focus", exitFailure, a.t(mNoFocus)}, true
	case errors.Is(err, keyboardwedge.ErrBadText):
		return failure{"bad-text", exitUsage, a.t(mBadText, err)}, true
	}
	return failure{}, false
}

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
		name:    "wedge test",
		summary: msg{"設定どおりにキー入力を試す", "type a test text through the configured wedge"},
		usage:   "mykey wedge test --text T [--after DURATION] [--json]",
		desc: msg{
			"窓口の設定用です。T を設定の書式（wedge.template）と入力先の制限（wedge.allow_exe, wedge.allow_title）のとおりに、フォーカスのあるウィンドウへキー入力します。--after の間に入力先をクリックしてください。許可されていないウィンドウには入力しません。",
			"For setting up a desk: types T through the configured template (wedge.template) and target allowlist (wedge.allow_exe, wedge.allow_title) into the focused window. Click into the target during --after. Windows not allowed receive nothing.",
		},
		examples: []string{"mykey wedge test --text 12345678", "mykey wedge test --text 12345678 --after 5s --json"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			text := fs.String("text", "", a.t(msg{"入力する文字 `T`（数字、英字、-）", "`T`ext to type (digits, letters, -)"}))
			after := fs.Duration("after", 3*time.Second, a.t(msg{"入力を始めるまでの待ち時間 `DURATION`", "pause before typing, `DURATION`"}))
			fs.BoolVar(&a.json, "json", false, a.t(mFlagJSON))
			return func(args []string) int {
				if len(args) > 0 || *text == "" {
					return a.usageError(commandNamed("wedge test"), a.t(mNeedFlag, "--text"))
				}
				return a.wedgeTest(*text, *after)
			}
		},
	})

	register(&command{
		name:    "wedge focus",
		summary: msg{"フォーカスのあるウィンドウを表示する", "show the window that has keyboard focus"},
		usage:   "mykey wedge focus [--after DURATION] [--json]",
		desc: msg{
			"キー入力を受けるウィンドウのプログラム名、タイトル、PID を表示します。設定の wedge.allow_exe と wedge.allow_title を書くときに使います。--after の間に図書館システムの入力欄をクリックしてください。",
			"Shows the program name, title and PID of the window that receives keys, for writing wedge.allow_exe and wedge.allow_title. Click into the library system's input field during --after.",
		},
		examples: []string{"mykey wedge focus --after 5s", "mykey wedge focus --json"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			after := fs.Duration("after", 0, a.t(msg{"調べるまでの待ち時間 `DURATION`", "pause before looking, `DURATION`"}))
			fs.BoolVar(&a.json, "json", false, a.t(mFlagJSON))
			return func(args []string) int {
				if len(args) > 0 {
					return a.usageError(commandNamed("wedge focus"), a.t(mExtraArgs, args))
				}
				return a.wedgeFocus(*after)
			}
		},
	})
}

func (a *invocation) wedgeTest(text string, after time.Duration) int {
	core, err := a.app()
	if err != nil {
		return a.fail(err, "")
	}
	if _, err := core.Typer(); err != nil {
		return a.fail(err, "")
	}
	ctx, cancel := signalContext()
	defer cancel()
	if err := a.pause(ctx, after); err != nil {
		return a.fail(err, "")
	}
	res, err := core.TypeTest(ctx, text)
	if err != nil {
		return a.fail(err, "")
	}
	if a.json {
		a.printJSON(map[string]any{"ok": true, "typed": res.Typed, "keys": res.Keys, "window": windowJSON(res.Window), "took_ms": ms(res.Took)})
		return exitOK
	}
	fmt.Fprintln(a.stderr, a.t(mTyped, res.Window, res.Typed, res.Keys, ms(res.Took)))
	return exitOK
}

func (a *invocation) wedgeFocus(after time.Duration) int {
	core, err := a.app()
	if err != nil {
		return a.fail(err, "")
	}
	ctx, cancel := signalContext()
	defer cancel()
	if err := a.pause(ctx, after); err != nil {
		return a.fail(err, "")
	}
	w, err := core.Focused(ctx)
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
