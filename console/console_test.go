package console_test

import (
	"bytes"
	"context"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mykey-jp/mykey/app"
	"github.com/mykey-jp/mykey/config"
	"github.com/mykey-jp/mykey/console"
	"github.com/mykey-jp/mykey/internal/testpki"
	"github.com/mykey-jp/mykey/keyboardwedge"
	"github.com/mykey-jp/mykey/keyid"
	"github.com/mykey-jp/mykey/store"
)

const password = "correct horse battery"

// fixture is a console on httptest with a real SQLite registry.
type fixture struct {
	t      *testing.T
	core   *app.App
	s      *console.Server
	srv    *httptest.Server
	client *http.Client
	mu     sync.Mutex
	now    time.Time
}

func (f *fixture) clock() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fixture) advance(d time.Duration) {
	f.mu.Lock()
	f.now = f.now.Add(d)
	f.mu.Unlock()
}

func setup(t *testing.T) *fixture {
	dir := t.TempDir()
	path := filepath.Join(dir, "mykey.toml")
	os.WriteFile(path, []byte("[database]\npath = \"registry.db\"\n[log]\ndir = \"logs\"\n"), 0o644)
	cfg, err := config.Load(path, false)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, now: time.Date(2026, 11, 30, 10, 0, 0, 0, time.Local)}
	f.core = app.New(cfg, app.Devices{Wedge: &keyboardwedge.Recorder{}}, "desk")
	if f.s, err = console.New(f.core, console.Options{Lang: "en", Now: f.clock}); err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(f.s.Handler())
	t.Cleanup(f.srv.Close)
	t.Cleanup(f.s.Close)
	u, _ := url.Parse(f.srv.URL)
	port := u.Port()
	var p int
	for _, c := range port {
		p = p*10 + int(c-'0')
	}
	f.s.SetPort(p)
	jar, _ := cookiejar.New(nil)
	f.client = &http.Client{Jar: jar}
	return f
}

// signIn launches the console and signs in as operator.
func (f *fixture) signIn(operator string) {
	f.t.Helper()
	body := f.get(f.s.LaunchURL())
	if !strings.Contains(body, `id="page-signin"`) {
		f.t.Fatalf("launch: %s", body)
	}
	if body := f.post("/signin", url.Values{"operator": {operator}}); !strings.Contains(body, `id="page-lookup"`) {
		f.t.Fatalf("sign-in: %s", body)
	}
}

func (f *fixture) do(req *http.Request) (int, string) {
	f.t.Helper()
	resp, err := f.client.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (f *fixture) get(u string) string {
	if strings.HasPrefix(u, "/") {
		u = f.srv.URL + u
	}
	req, _ := http.NewRequest("GET", u, nil)
	_, body := f.do(req)
	return body
}

func (f *fixture) post(path string, v url.Values) string {
	req, _ := http.NewRequest("POST", f.srv.URL+path, strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	_, body := f.do(req)
	return body
}

// postFile posts a multipart form to path: fields, and one file.
func (f *fixture) postFile(path string, fields url.Values, field, name, content string) string {
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	for k, vs := range fields {
		for _, v := range vs {
			w.WriteField(k, v)
		}
	}
	fw, _ := w.CreateFormFile(field, name)
	io.WriteString(fw, content)
	w.Close()
	req, _ := http.NewRequest("POST", f.srv.URL+path, &b)
	req.Header.Set("Content-Type", w.FormDataContentType())
	_, body := f.do(req)
	return body
}

func (f *fixture) upload(kind, name, content string) string {
	return f.postFile("/import", url.Values{"kind": {kind}}, "file", name, content)
}

func TestSecurity(t *testing.T) {
	f := setup(t)
	// No session: nothing but the refusal.
	req, _ := http.NewRequest("GET", f.srv.URL+"/", nil)
	if code, body := f.do(req); code != http.StatusUnauthorized || strings.Contains(body, "page-lookup") {
		t.Errorf("no session: %d", code)
	}
	// A wrong or reused token.
	req, _ = http.NewRequest("GET", f.srv.URL+"/launch?token=00", nil)
	if code, _ := f.do(req); code != http.StatusForbidden {
		t.Errorf("bad token: %d", code)
	}
	launch := f.s.LaunchURL()
	f.get(launch)
	other := &http.Client{}
	req, _ = http.NewRequest("GET", launch, nil)
	if resp, err := other.Do(req); err != nil || resp.StatusCode != http.StatusForbidden {
		t.Errorf("token reused: %v %v", resp.StatusCode, err)
	}
	f.post("/signin", url.Values{"operator": {"Sato"}})
	// Headers.
	resp, _ := f.client.Get(f.srv.URL + "/")
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") || resp.Header.Get("X-Frame-Options") != "DENY" {
		t.Errorf("headers %v", resp.Header)
	}
	// DNS rebinding: another Host on the same address.
	req, _ = http.NewRequest("GET", f.srv.URL+"/", nil)
	req.Host = "evil.example:" + strings.Split(f.srv.URL, ":")[2]
	if code, _ := f.do(req); code != http.StatusMisdirectedRequest {
		t.Errorf("wrong Host: %d", code)
	}
	// A cross-origin form post is refused before the handler.
	ids, _ := f.core.NewIDs(context.Background(), 1, nil)
	req, _ = http.NewRequest("POST", f.srv.URL+"/link", strings.NewReader(url.Values{"action": {"link"}, "id": {string(ids[0])}, "patron": {"12345678"}, "reason": {"x"}, "confirm": {"yes"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "http://evil.example")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if code, _ := f.do(req); code != http.StatusForbidden {
		t.Errorf("cross-origin post: %d", code)
	}
	if e, err := f.core.Lookup(context.Background(), app.Target{MyKeyID: ids[0], Service: "library"}); err != nil || e.Link != nil {
		t.Errorf("the cross-origin post linked: %+v %v", e, err)
	}
	// The language switch, back to the page it came from, never elsewhere.
	if body := f.post("/lang", url.Values{"lang": {"ja"}, "back": {"/audit"}}); !strings.Contains(body, `id="page-audit"`) || !strings.Contains(body, "監査ログ") {
		t.Errorf("switch to Japanese: %s", body)
	}
	if body := f.post("/lang", url.Values{"lang": {"en"}, "back": {"//evil.example/"}}); !strings.Contains(body, `id="page-lookup"`) || !strings.Contains(body, "Look up") {
		t.Errorf("switch with an outside back: %s", body)
	}
	// Signing out ends the session.
	f.post("/signout", nil)
	req, _ = http.NewRequest("GET", f.srv.URL+"/", nil)
	if code, _ := f.do(req); code != http.StatusUnauthorized {
		t.Errorf("after sign-out: %d", code)
	}
	f.signIn("Sato")
	// The session ends after the idle time.
	f.advance(16 * time.Minute)
	req, _ = http.NewRequest("GET", f.srv.URL+"/", nil)
	if code, _ := f.do(req); code != http.StatusUnauthorized {
		t.Errorf("idle session: %d", code)
	}
}

func TestLinkRelinkUnlink(t *testing.T) {
	f := setup(t)
	f.signIn("Sato Hanako")
	ctx := context.Background()
	ids, _ := f.core.NewIDs(ctx, 2, nil)
	id := string(ids[0])
	form := url.Values{"action": {"link"}, "id": {id}, "patron": {"12345678"}, "reason": {"new card"}}
	if body := f.post("/link", form); !strings.Contains(body, `id="confirm"`) {
		t.Fatalf("link, first step: %s", body)
	}
	form.Set("confirm", "yes")
	if body := f.post("/link", form); !strings.Contains(body, "Linked MyKey ID "+id+" to patron number 12345678") {
		t.Fatalf("link: %s", body)
	}
	// Relink shows old → new and needs the password.
	form = url.Values{"action": {"relink"}, "id": {id}, "patron": {"87654321"}, "reason": {"library card reissued"}}
	if body := f.post("/link", form); !strings.Contains(body, id+": 12345678 → 87654321") {
		t.Fatalf("relink, first step: %s", body)
	}
	form.Set("confirm", "yes")
	form.Set("password", password)
	if body := f.post("/link", form); !strings.Contains(body, "No console administrator password is set") {
		t.Fatalf("relink without a password set: %s", body)
	}
	if err := f.core.SetConsolePassword(ctx, []byte(password)); err != nil {
		t.Fatal(err)
	}
	form.Set("password", "wrong password!")
	if body := f.post("/link", form); !strings.Contains(body, "The administrator password is wrong") {
		t.Fatalf("relink, wrong password: %s", body)
	}
	form.Set("password", password)
	if body := f.post("/link", form); !strings.Contains(body, "to patron number 87654321") {
		t.Fatalf("relink: %s", body)
	}
	// Unlink by MyKey ID.
	form = url.Values{"action": {"unlink"}, "id": {id}, "reason": {"left the library"}, "confirm": {"yes"}, "password": {password}}
	if body := f.post("/link", form); !strings.Contains(body, "Unlinked MyKey ID "+id+" from patron number 87654321") {
		t.Fatalf("unlink: %s", body)
	}
	// The audit log names the OS user and the operator, and the reasons.
	log, _ := f.core.AuditLog(ctx, time.Time{}, 0)
	var users, notes []string
	for _, e := range log {
		if e.Action == "relink" || e.Action == "unlink" || e.Action == "link" {
			users = append(users, e.User)
		}
		if e.Action == "note" {
			notes = append(notes, e.Detail)
		}
	}
	if len(users) != 3 || users[0] != "desk (console: Sato Hanako)" {
		t.Errorf("audit users %q", users)
	}
	if strings.Join(notes, "|") != "link: new card|relink: library card reissued|unlink: left the library" {
		t.Errorf("notes %q", notes)
	}
	// The audit page filters by action and operator.
	body := f.get("/audit?action=relink&operator=Sato")
	if !strings.Contains(body, `<p id="total">1 entries`) {
		t.Errorf("audit filter: %s", body)
	}
	csv := f.get("/audit.csv?action=note")
	if strings.Count(csv, "\n") != 4 || !strings.Contains(csv, "library card reissued") {
		t.Errorf("audit CSV:\n%s", csv)
	}
	// Lookup.
	if body := f.get("/lookup?by=id&q=" + string(ids[1])); !strings.Contains(body, `id="entry"`) || !strings.Contains(body, "(not linked)") {
		t.Errorf("lookup: %s", body)
	}
	if body := f.get("/lookup?by=patron&q=abc"); !strings.Contains(body, `id="error"`) {
		t.Errorf("lookup of a bad number: %s", body)
	}
}

func TestImport(t *testing.T) {
	f := setup(t)
	f.signIn("Sato")
	ctx := context.Background()
	ids, _ := f.core.NewIDs(ctx, 3, nil)
	f.core.SetConsolePassword(ctx, []byte(password))
	// Invalid rows are shown, as text, and nothing is written.
	bad := "mykey_id,patron\r\n" + string(ids[0]) + ",11110000\r\n" + string(ids[1]) + ",<script>alert(1)</script>\r\n=cmd|' /C calc'!A0,22220000\r\n"
	body := f.upload("links", "links.csv", bad)
	if !strings.Contains(body, `id="problems"`) || strings.Contains(body, "<script>alert") || !strings.Contains(body, "&lt;script&gt;alert(1)&lt;/script&gt;") || !strings.Contains(body, "<td>4</td><td>1</td><td>mykey_id</td>") {
		t.Fatalf("invalid upload: %s", body)
	}
	if strings.Contains(body, `id="commit-form"`) {
		t.Error("a file with invalid rows can be committed")
	}
	if e, _ := f.core.Lookup(ctx, app.Target{MyKeyID: ids[0], Service: "library"}); e.Link != nil {
		t.Fatal("the dry run wrote a link")
	}
	// The invalid rows download, formula cells defused.
	u := between(body, `/import/invalid.csv?u=`, `"`)
	rows := f.get("/import/invalid.csv?u=" + u)
	if !strings.Contains(rows, "line,column,field,problem") || strings.Contains(rows, "\n=cmd") {
		t.Errorf("invalid rows CSV:\n%s", rows)
	}
	// A valid file: checked, then committed with the password.
	good := "mykey_id,patron\r\n" + string(ids[0]) + ",11110000\r\n" + string(ids[1]) + ",22220000\r\n"
	body = f.upload("links", "links.csv", good)
	if !strings.Contains(body, `id="commit-form"`) {
		t.Fatalf("valid upload: %s", body)
	}
	u = between(body, `name="u" value="`, `"`)
	if body := f.post("/import/commit", url.Values{"u": {u}, "password": {"nope nope nope"}}); !strings.Contains(body, "password is wrong") {
		t.Fatalf("commit with a wrong password: %s", body)
	}
	body = f.post("/import/commit", url.Values{"u": {u}, "password": {password}})
	for deadline := time.Now().Add(10 * time.Second); strings.Contains(body, `id="progress"`) && time.Now().Before(deadline); {
		if !strings.Contains(body, `<meta http-equiv="refresh" content="1">`) {
			t.Fatalf("the progress page does not refresh: %s", body)
		}
		time.Sleep(50 * time.Millisecond)
		body = f.get("/import/progress?u=" + u)
	}
	if !strings.Contains(body, "Imported (2 new links") {
		t.Fatalf("commit: %s", body)
	}
	if e, _ := f.core.Lookup(ctx, app.Target{MyKeyID: ids[1], Service: "library"}); e.Link == nil || e.Link.Patron != "22220000" {
		t.Fatalf("after commit: %+v", e)
	}
	if body := f.post("/import/commit", url.Values{"u": {u}, "password": {password}}); !strings.Contains(body, "upload is gone") {
		t.Errorf("commit twice: %s", body)
	}
	// Export and backup download.
	if csv := f.get("/export.csv"); !strings.Contains(csv, string(ids[1])) || !strings.Contains(csv, "22220000") {
		t.Errorf("export:\n%s", csv)
	}
	db := f.post("/backup", nil)
	if !strings.HasPrefix(db, "SQLite format 3\x00") {
		t.Errorf("backup: %.40q", db)
	}
	// Restore: the backup taken above, after a change, with the password.
	f.post("/link", url.Values{"action": {"link"}, "id": {string(ids[2])}, "patron": {"33330000"}, "reason": {"x"}, "confirm": {"yes"}})
	restore := func(pw string, content string) string {
		return f.postFile("/restore", url.Values{"confirm": {"yes"}, "password": {pw}}, "backup", "b.db", content)
	}
	if body := restore("wrong password!!", db); !strings.Contains(body, "password is wrong") {
		t.Errorf("restore with a wrong password: %s", body)
	}
	if body := restore(password, "not a registry"); !strings.Contains(body, `id="error"`) {
		t.Errorf("restore of garbage: %s", body)
	}
	if e, _ := f.core.Lookup(ctx, app.Target{MyKeyID: ids[2], Service: "library"}); e.Link == nil {
		t.Fatal("a refused restore changed the registry")
	}
	if body := restore(password, db); !strings.Contains(body, "Restored from the backup (2 links") {
		t.Errorf("restore: %s", body)
	}
	if e, _ := f.core.Lookup(ctx, app.Target{MyKeyID: ids[2], Service: "library"}); e.Link != nil {
		t.Error("the restore kept the later link")
	}
	log, _, _ := f.core.SearchAudit(ctx, store.AuditQuery{Action: store.ActionBackup})
	if len(log) != 1 || !strings.Contains(log[0].User, "console: Sato") {
		t.Errorf("backup audit %+v", log)
	}
}

func between(s, start, end string) string {
	i := strings.Index(s, start)
	if i < 0 {
		return ""
	}
	s = s[i+len(start):]
	return s[:strings.Index(s, end)]
}

// writeCRL writes a CRL of ca-2023, valid now, revoking nothing.
func writeCRL(t *testing.T, path string) {
	now := time.Now()
	if err := testpki.WriteCRLFile(path, 1, now.Add(-time.Hour), now.Add(23*time.Hour)); err != nil {
		t.Fatal(err)
	}
}

func mustID(t *testing.T, s string) keyid.ID {
	id, err := keyid.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return id
}
