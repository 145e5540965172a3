//go:build linux

package console_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/mykey-jp/mykey/app"
	"github.com/mykey-jp/mykey/cardio/vcard"
	"github.com/mykey-jp/mykey/config"
	"github.com/mykey-jp/mykey/console"
	"github.com/mykey-jp/mykey/internal/pcsctest"
	"github.com/mykey-jp/mykey/internal/testcard"
	"github.com/mykey-jp/mykey/internal/testenv"
	"github.com/mykey-jp/mykey/internal/testpki"
	"github.com/mykey-jp/mykey/keyboardwedge"
)

// browser starts headless Chromium (Debian's chromium-headless-shell) with
// evil.test resolving to 127.0.0.1, for the DNS-rebinding case.
func browser(t *testing.T) context.Context {
	exe, err := exec.LookPath("chromium-headless-shell")
	if err != nil {
		testenv.Unavailable(t, "chromium-headless-shell is not installed (sh scripts/setup-debian.sh)")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("no-first-run", true), chromedp.Flag("disable-quic", true),
		chromedp.Flag("host-resolver-rules", "MAP evil.test 127.0.0.1"),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1100, 800))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	if err := chromedp.Do(ctx); err != nil {
		testenv.Unavailable(t, "chromium does not start: %v", err)
	}
	return ctx
}

// run runs browser actions with a bound, failing the test on error.
func run(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(tctx, actions...); err != nil {
		body, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("html")))
		t.Fatalf("%s: %v\npage: %s", what, err, body)
	}
}

// get runs one action that returns a value.
func get[T any](t *testing.T, ctx context.Context, what string, a chromedp.Action[T]) T {
	t.Helper()
	tctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(tctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// text returns the text of the element sel.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	return get(t, ctx, "read "+sel, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
}

// shot saves a screenshot of the page for the README when
// MYKEY_SCREENSHOTS names a folder.
func shot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("MYKEY_SCREENSHOTS")
	if dir == "" {
		return
	}
	png := get(t, ctx, "screenshot", chromedp.FullScreenshot(100))
	os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644)
}

// TestConsoleInBrowser drives the console in real headless Chromium: the
// whole registration with the virtual card through pcscd and vpcd (a wrong
// PIN with the tries shown, the last try refused), a CSV upload with
// invalid rows shown and nothing written, then a valid commit, a relink
// with the password, the audit filter, and the security cases.
func TestConsoleInBrowser(t *testing.T) {
	pcsctest.Start(t, 1)
	ctx := browser(t)
	dir := t.TempDir()
	pki := testpki.Dir()
	cfgPath := filepath.Join(dir, "mykey.toml")
	os.WriteFile(cfgPath, []byte(fmt.Sprintf("[database]\npath = \"registry.db\"\n[revocation]\nmethod = \"crl\"\ntrust_anchors = [%q]\n[log]\ndir = \"logs\"\n%s",
		filepath.Join(pki, "ca-2023.der"), testcard.ConfigTOML(pki))), 0o644)
	cfg, err := config.Load(cfgPath, false)
	if err != nil {
		t.Fatal(err)
	}
	core := app.New(cfg, app.Devices{Wedge: &keyboardwedge.Recorder{}}, "desk")
	crl := filepath.Join(dir, "auth.crl")
	writeCRL(t, crl)
	if _, err := core.ImportCRL(context.Background(), crl); err != nil {
		t.Fatal(err)
	}
	if err := core.SetConsolePassword(context.Background(), []byte(password)); err != nil {
		t.Fatal(err)
	}
	s, err := console.New(core, console.Options{Lang: "ja"})
	if err != nil {
		t.Fatal(err)
	}
	l, err := s.Listen(0)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: s.Handler()}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close(); s.Close() })
	base := "http://" + l.Addr().String()
	port := l.Addr().(*net.TCPAddr).Port
	alerts := 0
	chromedp.Listen(ctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			alerts++
		}
	})

	// No token: refused.
	run(t, ctx, "no token", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#page-denied")))
	// The launch URL signs in; the operator's name is asked first.
	start := time.Now()
	run(t, ctx, "launch", chromedp.Navigate(s.LaunchURL()), chromedp.WaitVisible(chromedp.CSS("#page-signin")))
	shot(t, ctx, "console-signin")
	run(t, ctx, "sign in", chromedp.SendKeys(chromedp.CSS("#operator"), "佐藤"), chromedp.KeyEvent(kb.Enter),
		chromedp.WaitVisible(chromedp.CSS("#page-lookup")))
	t.Logf("first page after sign-in in %v", time.Since(start))
	// A wrong Host (DNS rebinding) gets nothing, even with the session.
	run(t, ctx, "wrong host", chromedp.Navigate(fmt.Sprintf("http://evil.test:%d/", port)))
	if body := text(t, ctx, "body"); !strings.Contains(body, "misdirected") {
		t.Errorf("wrong Host: %q", body)
	}

	// Registration: the card held up, its tries shown, a wrong PIN (tries
	// shown), then the right one.
	card, err := testcard.NewHeld("user", vcard.Faults{}, "")
	if err != nil {
		t.Fatal(err)
	}
	card.Insert(pcsctest.Addr(0, 0))
	t.Cleanup(card.Remove)
	waitCard(t, core)
	run(t, ctx, "register page", chromedp.Navigate(base+"/register"), chromedp.WaitVisible(chromedp.CSS("#page-register")),
		chromedp.SendKeys(chromedp.CSS("#patron"), "12345678"), chromedp.Click(chromedp.CSS("#check-card")),
		chromedp.WaitVisible(chromedp.CSS("#tries")))
	if tries := text(t, ctx, "#tries"); !strings.Contains(tries, "残り回数 3") {
		t.Errorf("tries: %q", tries)
	}
	run(t, ctx, "wrong PIN", chromedp.SendKeys(chromedp.CSS("#pin"), "9999"), chromedp.SendKeys(chromedp.CSS("#assist_pin"), testcard.AssistPIN),
		chromedp.Click(chromedp.CSS("#register")), chromedp.WaitVisible(chromedp.CSS("#error")))
	if e := text(t, ctx, "#error"); !strings.Contains(e, "暗証番号") || !strings.Contains(e, "2") {
		t.Errorf("wrong PIN: %q", e)
	}
	if pinValue := get(t, ctx, "PIN not echoed", chromedp.Value(chromedp.CSS("#pin"))); pinValue != "" {
		t.Errorf("the page gave the PIN back: %q", pinValue)
	}
	shot(t, ctx, "console-register")
	run(t, ctx, "right PIN", chromedp.SendKeys(chromedp.CSS("#pin"), "1234"), chromedp.SendKeys(chromedp.CSS("#assist_pin"), testcard.AssistPIN),
		chromedp.Click(chromedp.CSS("#register")), chromedp.WaitVisible(chromedp.CSS("#new-id")))
	id := text(t, ctx, "#new-id")
	if len(id) != 8 {
		t.Fatalf("MyKey ID %q", id)
	}
	card.Remove()
	waitCard(t, core, false)

	// Another card with two wrong PINs: the last try is refused without an
	// administrator, and the card keeps it.
	other, _ := testcard.NewHeld("user-renewed", vcard.Faults{}, "")
	other.Insert(pcsctest.Addr(0, 0))
	t.Cleanup(other.Remove)
	waitCard(t, core)
	run(t, ctx, "the other card", chromedp.Navigate(base+"/register"), chromedp.WaitVisible(chromedp.CSS("#page-register")),
		chromedp.Click(chromedp.CSS("#check-card")), chromedp.WaitVisible(chromedp.CSS("#tries")))
	if tries := text(t, ctx, "#tries"); !strings.Contains(tries, "残り回数 3") {
		t.Fatalf("the other card's tries: %q", tries)
	}
	for i := range 2 {
		run(t, ctx, "wrong PIN again", chromedp.Navigate(base+"/register"), chromedp.WaitVisible(chromedp.CSS("#page-register")),
			chromedp.SendKeys(chromedp.CSS("#patron"), "55556666"), chromedp.SendKeys(chromedp.CSS("#pin"), "000"+fmt.Sprint(i)),
			chromedp.SendKeys(chromedp.CSS("#assist_pin"), testcard.AssistPIN), chromedp.Click(chromedp.CSS("#register")),
			chromedp.WaitVisible(chromedp.CSS("#error")))
		if e := text(t, ctx, "#error"); !strings.Contains(e, fmt.Sprint(2-i)) {
			t.Fatalf("wrong PIN %d: %q", i+1, e)
		}
	}
	run(t, ctx, "last try", chromedp.Navigate(base+"/register"), chromedp.WaitVisible(chromedp.CSS("#page-register")),
		chromedp.SendKeys(chromedp.CSS("#patron"), "55556666"), chromedp.SendKeys(chromedp.CSS("#pin"), "1234"),
		chromedp.Click(chromedp.CSS("#register")), chromedp.WaitVisible(chromedp.CSS("#last-try")))
	if other.TriesLeft() != 1 {
		t.Errorf("the last try was used: %d left", other.TriesLeft())
	}
	// An administrator confirms the last try: a wrong password still keeps
	// it; the right one sends the (right) PIN.
	run(t, ctx, "last try, wrong password", chromedp.SendKeys(chromedp.CSS("#pin"), "1234"), chromedp.SendKeys(chromedp.CSS("#assist_pin"), testcard.AssistPIN),
		chromedp.Click(chromedp.CSS(`input[name="force_last_try"]`)), chromedp.SendKeys(chromedp.CSS("#password"), "not the password"),
		chromedp.Click(chromedp.CSS("#register")))
	waitText(t, ctx, "#error", "管理者パスワードが違います")
	if other.TriesLeft() != 1 {
		t.Errorf("a wrong password used the last try: %d left", other.TriesLeft())
	}
	run(t, ctx, "last try, confirmed", chromedp.Navigate(base+"/register"), chromedp.WaitVisible(chromedp.CSS("#page-register")),
		chromedp.SendKeys(chromedp.CSS("#patron"), "55556666"), chromedp.SendKeys(chromedp.CSS("#pin"), "1234"),
		chromedp.Click(chromedp.CSS("#register")), chromedp.WaitVisible(chromedp.CSS("#last-try")),
		chromedp.SendKeys(chromedp.CSS("#pin"), "1234"), chromedp.SendKeys(chromedp.CSS("#assist_pin"), testcard.AssistPIN),
		chromedp.Click(chromedp.CSS(`input[name="force_last_try"]`)), chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("#register")), chromedp.WaitVisible(chromedp.CSS("#new-id")))
	if other.TriesLeft() != 3 {
		t.Errorf("after the right PIN: %d tries left", other.TriesLeft())
	}
	other.Remove()
	waitCard(t, core, false)

	// The card held up again, looked up on the lookup page: nothing typed.
	card.Insert(pcsctest.Addr(0, 0))
	waitCard(t, core)
	run(t, ctx, "tap lookup", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#page-lookup")),
		chromedp.Click(chromedp.CSS("#tap")), chromedp.WaitVisible(chromedp.CSS("#card")))
	if c := text(t, ctx, "#card"); !strings.Contains(c, id) || !strings.Contains(c, "12345678") || !strings.Contains(c, "looked-up") {
		t.Errorf("card held up: %q", c)
	}
	card.Remove()
	waitCard(t, core, false)

	// Lookup of the registered patron.
	// With the keyboard: type the number into the lookup field (focused
	// first: autofocus may land after the page is reported loaded), Enter
	// looks up.
	run(t, ctx, "lookup", chromedp.Navigate(base+"/"), chromedp.WaitVisible(chromedp.CSS("#page-lookup")), chromedp.Focus(chromedp.CSS("#q")),
		chromedp.KeyEvent("12345678"+kb.Enter), chromedp.WaitVisible(chromedp.CSS("#entry")))
	if e := text(t, ctx, "#entry"); !strings.Contains(e, id) || !strings.Contains(e, "2030-03-31 · active") {
		t.Errorf("lookup: %q", e)
	}
	shot(t, ctx, "console-lookup")

	// Import: invalid rows (one with a <script>) shown as text, nothing
	// written; then a valid file committed with the password.
	ids, _ := core.NewIDs(context.Background(), 2, nil)
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("mykey_id,patron\r\n"+string(ids[0])+",22223333\r\n"+string(ids[1])+",<script>alert(1)</script>\r\n"), 0o644)
	run(t, ctx, "upload bad", chromedp.Navigate(base+"/import"), chromedp.WaitVisible(chromedp.CSS("#page-import")),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{bad}), chromedp.Click(chromedp.CSS("#upload")),
		chromedp.WaitVisible(chromedp.CSS("#problems")))
	if p := text(t, ctx, "#problems"); !strings.Contains(p, "<script>alert(1)</script>") {
		t.Errorf("problems: %q", p)
	}
	shot(t, ctx, "console-import")
	if e, _ := core.Lookup(context.Background(), app.Target{MyKeyID: ids[0], Service: "library"}); e.Link != nil {
		t.Fatal("the checked file wrote a link")
	}
	good := filepath.Join(dir, "good.csv")
	os.WriteFile(good, []byte("mykey_id,patron\r\n"+string(ids[0])+",22223333\r\n"+string(ids[1])+",44445555\r\n"), 0o644)
	run(t, ctx, "upload good", chromedp.Navigate(base+"/import"), chromedp.WaitVisible(chromedp.CSS("#page-import")),
		chromedp.SetUploadFiles(chromedp.CSS("#file"), []string{good}), chromedp.Click(chromedp.CSS("#upload")),
		chromedp.WaitVisible(chromedp.CSS("#commit-form")),
		chromedp.SendKeys(chromedp.CSS("#password"), password), chromedp.Click(chromedp.CSS("#commit")),
		chromedp.WaitVisible(chromedp.CSS("#notice")))
	if e, _ := core.Lookup(context.Background(), app.Target{MyKeyID: ids[1], Service: "library"}); e.Link == nil || e.Link.Patron != "44445555" {
		t.Fatalf("after commit: %+v", e)
	}

	// Relink with the password: old → new shown, then done.
	run(t, ctx, "relink", chromedp.Navigate(base+"/link"), chromedp.WaitVisible(chromedp.CSS("#page-link")),
		chromedp.Click(chromedp.CSS(`input[value="relink"]`)), chromedp.SendKeys(chromedp.CSS("#id"), id),
		chromedp.SendKeys(chromedp.CSS("#patron"), "87654321"), chromedp.SendKeys(chromedp.CSS("#reason"), "利用者カード再発行"),
		chromedp.Click(chromedp.CSS("#check")), chromedp.WaitVisible(chromedp.CSS("#old-new")))
	if o := text(t, ctx, "#old-new"); o != id+": 12345678 → 87654321" {
		t.Errorf("old → new: %q", o)
	}
	shot(t, ctx, "console-relink")
	run(t, ctx, "relink confirm", chromedp.SendKeys(chromedp.CSS("#password"), password), chromedp.Click(chromedp.CSS("#do")),
		chromedp.WaitVisible(chromedp.CSS("#notice")))

	// The audit filter finds the relink, by its operator.
	run(t, ctx, "audit", chromedp.Navigate(base+"/audit?action=relink&operator="+"%E4%BD%90%E8%97%A4"), chromedp.WaitVisible(chromedp.CSS("#audit")))
	if total := text(t, ctx, "#total"); !strings.HasPrefix(total, "1 件") {
		t.Errorf("audit filter: %q", total)
	}
	start = time.Now()
	run(t, ctx, "audit all", chromedp.Navigate(base+"/audit"), chromedp.WaitVisible(chromedp.CSS("#audit")))
	t.Logf("the audit list's first page in %v", time.Since(start))
	shot(t, ctx, "console-audit")
	run(t, ctx, "health", chromedp.Navigate(base+"/health"), chromedp.WaitVisible(chromedp.CSS("#checks")))
	shot(t, ctx, "console-health")

	// A cross-origin form post (another site on this PC) is refused, even
	// though the browser holds the session.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<!doctype html><form method="post" action="%s/link"><input name="action" value="unlink"><input name="id" value="%s"><input name="reason" value="x"><input name="confirm" value="yes"><input name="password" value="%s"><button id="go">go</button></form>`, base, id, password)
	}))
	defer evil.Close()
	run(t, ctx, "cross-origin post", chromedp.Navigate(evil.URL), chromedp.WaitVisible(chromedp.CSS("#go")), chromedp.Click(chromedp.CSS("#go")),
		chromedp.WaitReady(chromedp.CSS("body")))
	time.Sleep(300 * time.Millisecond)
	if body := text(t, ctx, "body"); !strings.Contains(body, "cross-origin") {
		t.Errorf("the cross-origin post was answered with %q", body)
	}
	if e, _ := core.Lookup(context.Background(), app.Target{MyKeyID: mustID(t, id), Service: "library"}); e.Link == nil {
		t.Error("a cross-origin post unlinked")
	}
	if alerts != 0 {
		t.Errorf("%d script dialogs opened", alerts)
	}
}

// waitText waits until the element sel holds text (the page after a form
// post replaced the one before).
func waitText(t *testing.T, ctx context.Context, sel, text string) {
	t.Helper()
	var got string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		tctx, cancel := context.WithTimeout(ctx, time.Second)
		got, _ = chromedp.Run(tctx, chromedp.Text(chromedp.CSS(sel), chromedp.NodeVisible))
		cancel()
		if strings.Contains(got, text) {
			return
		}
	}
	t.Fatalf("%s: %q, want %q", sel, got, text)
}

// waitCard waits until a reader holds a card (or, with present false,
// none does), as pcscd sees it.
func waitCard(t *testing.T, core *app.App, present ...bool) {
	t.Helper()
	want := append(present, true)[0]
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		readers, err := core.Readers(context.Background())
		held := false
		for _, r := range readers {
			held = held || r.Present
		}
		if err == nil && held == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no card became present=%v on the readers", want)
}
