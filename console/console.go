// Package console is the administration console in the browser: a small
// HTTP server on 127.0.0.1 that the tray and `mykey console` open already
// signed in. It is a front end like the CLI: every rule lives in package
// app, every word for staff in internal/wording.
//
// It manages personal links on a shared desk PC, so: it binds the loopback
// address only; it answers only requests whose Host is a loopback name on
// its port (DNS rebinding); every state change passes Go's cross-origin
// protection; a one-time launch token is exchanged for an HttpOnly,
// SameSite=Strict session cookie that ends after an idle time; pages carry a
// Content-Security-Policy without inline script and may not be framed;
// relink, unlink, import, restore and a forced last PIN try need the
// administrator password; the operator's name (typed at sign-in) and the
// OS user go into every audit entry. Templates escape everything they show.
package console

import (
	"crypto/rand"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/mykey-jp/mykey/app"
	"github.com/mykey-jp/mykey/internal/wording"
)

//go:embed templates/*.html static/*
var assets embed.FS

// Options configure a Server.
type Options struct {
	Lang string           // the first page's language ("ja" when empty)
	Idle time.Duration    // a session ends after this long unused (15 minutes when 0)
	Now  func() time.Time // time.Now when nil
	Log  zerolog.Logger   // where the console says it started (never a launch token)
}

// Server is the console for one application core.
type Server struct {
	app   *app.App
	opts  Options
	pages map[string]*template.Template

	mu       sync.Mutex
	port     int
	tokens   map[string]time.Time // one-time launch tokens → expiry
	sessions map[string]*session
	uploads  map[string]*upload // CSV files checked and waiting for commit, by id
}

// session is one signed-in browser.
type session struct {
	id       string
	operator string // typed at sign-in
	lang     string
	last     time.Time
}

// New returns the console for core.
func New(core *app.App, o Options) (*Server, error) {
	if o.Idle == 0 {
		o.Idle = 15 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Lang == "" {
		o.Lang = "ja"
	}
	s := &Server{app: core, opts: o, tokens: map[string]time.Time{}, sessions: map[string]*session{}, uploads: map[string]*upload{}}
	if err := s.parse(); err != nil {
		return nil, err
	}
	return s, nil
}

// Listen opens the console's listener on 127.0.0.1 (port 0: any free
// port) and fixes the port the Host check admits.
func (s *Server) Listen(port int) (net.Listener, error) {
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
	if err != nil {
		return nil, err
	}
	s.SetPort(l.Addr().(*net.TCPAddr).Port)
	return l, nil
}

// SetPort sets the port the Host check admits (tests on httptest).
func (s *Server) SetPort(port int) {
	s.mu.Lock()
	s.port = port
	s.mu.Unlock()
}

// LaunchURL returns a URL that signs a browser in once, within a minute.
func (s *Server) LaunchURL() string {
	tok := randomID()
	now := s.opts.Now()
	s.mu.Lock()
	for t, exp := range s.tokens { // forget unused ones
		if now.After(exp) {
			delete(s.tokens, t)
		}
	}
	for id, ss := range s.sessions {
		if now.Sub(ss.last) > s.opts.Idle {
			delete(s.sessions, id)
		}
	}
	s.tokens[tok] = now.Add(time.Minute)
	port := s.port
	s.mu.Unlock()
	return fmt.Sprintf("http://127.0.0.1:%d/launch?token=%s", port, tok)
}

// Handler returns the console's HTTP handler with every protection.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	static, _ := fs.Sub(assets, "static")
	mux.Handle("GET /static/", http.StripPrefix("/static/", http.FileServerFS(static)))
	mux.HandleFunc("GET /launch", s.launch)
	mux.HandleFunc("GET /signin", s.signedIn(s.signinPage, false))
	mux.HandleFunc("POST /signin", s.signedIn(s.signin, false))
	mux.HandleFunc("POST /lang", s.signedIn(s.setLang, false))
	mux.HandleFunc("POST /signout", s.signedIn(s.signout, false))
	s.routes(mux)
	cop := http.NewCrossOriginProtection()
	return s.headers(s.checkHost(cop.Handler(mux)))
}

// headers sets the security headers on every answer.
func (s *Server) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'self'; img-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
		h.Set("X-Frame-Options", "DENY")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// checkHost refuses requests whose Host is not a loopback name on the
// console's port: a page of another site that resolves its own name to
// 127.0.0.1 (DNS rebinding) gets nothing.
func (s *Server) checkHost(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		port := strconv.Itoa(s.port)
		s.mu.Unlock()
		host, p, err := net.SplitHostPort(r.Host)
		if err != nil || p != port || (host != "127.0.0.1" && host != "localhost" && host != "::1") {
			http.Error(w, "misdirected request: the console answers only on its loopback address", http.StatusMisdirectedRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

const cookieName = "mykey_console"

// launch exchanges a one-time token for a session cookie.
func (s *Server) launch(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	now := s.opts.Now()
	s.mu.Lock()
	exp, ok := s.tokens[tok]
	delete(s.tokens, tok)
	var ss *session
	if ok && now.Before(exp) {
		ss = &session{id: randomID(), lang: s.opts.Lang, last: now}
		s.sessions[ss.id] = ss
	}
	s.mu.Unlock()
	if ss == nil {
		s.deny(w, r, http.StatusForbidden)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: ss.id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/signin", http.StatusSeeOther)
}

// session returns a copy of the request's live session, touching it (a
// handler that changes the session does so under the lock, by its id).
func (s *Server) session(r *http.Request) *session {
	c, err := r.Cookie(cookieName)
	if err != nil {
		return nil
	}
	now := s.opts.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.sessions[c.Value]
	if ss == nil {
		return nil
	}
	if now.Sub(ss.last) > s.opts.Idle {
		delete(s.sessions, ss.id)
		return nil
	}
	ss.last = now
	cp := *ss
	return &cp
}

// update changes the stored session ss names, and ss.
func (s *Server) update(ss *session, fn func(*session)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if stored := s.sessions[ss.id]; stored != nil {
		fn(stored)
	}
	fn(ss)
}

// signedIn wraps a handler that needs a session and, when operator is
// true, an operator's name.
func (s *Server) signedIn(h func(http.ResponseWriter, *http.Request, *session), operator bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ss := s.session(r)
		if ss == nil {
			s.deny(w, r, http.StatusUnauthorized)
			return
		}
		if operator && ss.operator == "" {
			http.Redirect(w, r, "/signin", http.StatusSeeOther)
			return
		}
		h(w, r, ss)
	}
}

// deny answers a request without a valid session or token.
func (s *Server) deny(w http.ResponseWriter, r *http.Request, code int) {
	w.WriteHeader(code)
	s.render(w, "denied", &session{lang: s.opts.Lang}, nil)
}

func (s *Server) signinPage(w http.ResponseWriter, r *http.Request, ss *session) {
	s.render(w, "signin", ss, nil)
}

func (s *Server) signin(w http.ResponseWriter, r *http.Request, ss *session) {
	name := trimField(r.FormValue("operator"), 64)
	if name == "" {
		s.render(w, "signin", ss, page{Error: ss.words().T(wording.Msg{JA: "担当者名を入力してください。", EN: "Type your name."})})
		return
	}
	s.update(ss, func(ss *session) { ss.operator = name })
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *Server) setLang(w http.ResponseWriter, r *http.Request, ss *session) {
	if l := r.FormValue("lang"); l == "ja" || l == "en" {
		s.update(ss, func(ss *session) { ss.lang = l })
	}
	back := r.FormValue("back")
	if len(back) == 0 || back[0] != '/' || (len(back) > 1 && (back[1] == '/' || back[1] == '\\')) {
		back = "/"
	}
	http.Redirect(w, r, back, http.StatusSeeOther)
}

func (s *Server) signout(w http.ResponseWriter, r *http.Request, ss *session) {
	s.mu.Lock()
	delete(s.sessions, ss.id)
	s.mu.Unlock()
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteStrictMode})
	s.render(w, "denied", ss, page{Notice: ss.words().T(wording.Msg{JA: "サインアウトしました。", EN: "Signed out."})})
}

func (ss *session) words() wording.Lang { return wording.Lang(ss.lang) }

func randomID() string {
	b := make([]byte, 32)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// trimField returns a form value trimmed of spaces, cut to max runes.
func trimField(v string, max int) string {
	r := []rune(v)
	for len(r) > 0 && (r[0] == ' ' || r[0] == '\u3000' || r[0] == '\t') {
		r = r[1:]
	}
	for len(r) > 0 && (r[len(r)-1] == ' ' || r[len(r)-1] == '\u3000' || r[len(r)-1] == '\t') {
		r = r[:len(r)-1]
	}
	if len(r) > max {
		r = r[:max]
	}
	return string(r)
}
