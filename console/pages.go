package console

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/mykey-jp/mykey/app"
	"github.com/mykey-jp/mykey/config"
	"github.com/mykey-jp/mykey/internal/wording"
	"github.com/mykey-jp/mykey/store"
)

// page is what a template shows besides the session.
type page struct {
	Error   string // a failure, worded for staff
	Notice  string // a success
	Refresh bool   // the page reloads itself each second (progress)
	Data    any
}

// view is a template's data: the page, the session's language and name.
type view struct {
	page
	Lang     string
	Operator string
	Path     string
}

// T picks the session's language.
func (v view) T(ja, en string) string { return wording.Lang(v.Lang).T(wording.Msg{JA: ja, EN: en}) }

// parse parses each page with the layout.
func (s *Server) parse() error {
	s.pages = map[string]*template.Template{}
	for _, name := range []string{"denied", "signin", "lookup", "link", "register", "import", "audit", "health"} {
		t, err := template.New("layout.html").ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return err
		}
		s.pages[name] = t
	}
	return nil
}

func (s *Server) render(w http.ResponseWriter, name string, ss *session, p any) {
	v := view{Lang: ss.lang, Operator: ss.operator, Path: "/" + name}
	if pg, ok := p.(page); ok {
		v.page = pg
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := s.pages[name].Execute(w, v); err != nil {
		fmt.Fprintf(w, "<p>template: %s</p>", template.HTMLEscapeString(err.Error()))
	}
}

// core returns the application core acting for the session's operator.
func (s *Server) core(ss *session) *app.App { return s.app.AsOperator(ss.operator) }

// explain words an error for staff.
func explain(ss *session, err error, subject string) string {
	return ss.words().Explain(err, subject).Text
}

func (s *Server) routes(mux *http.ServeMux) {
	op := func(h func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
		return s.signedIn(h, true)
	}
	mux.HandleFunc("GET /{$}", op(s.lookupPage))
	mux.HandleFunc("GET /lookup", op(s.lookupPage))
	mux.HandleFunc("GET /link", op(s.linkPage))
	mux.HandleFunc("POST /link", op(s.linkPost))
	mux.HandleFunc("GET /audit", op(s.auditPage))
	mux.HandleFunc("GET /audit.csv", op(s.auditCSV))
	mux.HandleFunc("GET /health", op(s.healthPage))
	s.registerRoutes(mux, op)
	s.fileRoutes(mux, op)
	s.importRoutes(mux, op)
}

// certRow is a registered certificate as the lookup page shows it.
type certRow struct {
	Registered, NotAfter, Status string
	Expired                      bool
}

// lookupResult is the lookup page's data.
type lookupResult struct {
	Query, By string
	Found     bool
	Entry     app.Entry
	LastUse   string // the last tap at a desk, "" for none
	Certs     []certRow
	Card      *identity // a card held up
}

func (s *Server) lookupPage(w http.ResponseWriter, r *http.Request, ss *session) {
	q, by := trimField(r.FormValue("q"), 64), r.FormValue("by")
	res := lookupResult{Query: q, By: by}
	if q == "" {
		s.render(w, "lookup", ss, page{Data: res})
		return
	}
	sel := app.Selector{Patron: q}
	if by == "id" {
		sel = app.Selector{MyKeyID: q}
	}
	core := s.core(ss)
	t, err := core.Resolve(sel)
	if err == nil {
		var e store.Entry
		if e, err = core.Lookup(r.Context(), t); err == nil {
			res.Found, res.Entry = true, app.EntryView(t.Service, e)
			res.Entry.CreatedAt, res.Entry.LinkedAt = localTime(res.Entry.CreatedAt), localTime(res.Entry.LinkedAt)
			certs, _ := core.Certificates(r.Context(), e.MyKeyID)
			for _, c := range certs {
				res.Certs = append(res.Certs, certRow{Registered: c.RegisteredAt.Local().Format("2006-01-02"), NotAfter: c.NotAfter.Local().Format("2006-01-02"),
					Status: string(c.Status), Expired: c.NotAfter.Before(s.opts.Now())})
			}
			if last, _, _ := core.SearchAudit(r.Context(), store.AuditQuery{Action: store.ActionScan, MyKeyID: e.MyKeyID, Limit: 1}); len(last) == 1 {
				res.LastUse = last[0].At.Local().Format("2006-01-02 15:04") + " (" + last[0].Outcome + ")"
			}
		}
	}
	pg := page{Data: res}
	if err != nil {
		pg.Error = explain(ss, err, q)
	}
	s.render(w, "lookup", ss, pg)
}

// linkForm is the link page's data.
type linkForm struct {
	Action, MyKeyID, Patron, Reason string
	Old                             *app.Entry // relink: the current links, old → new
	Confirm                         bool       // the change is shown, waiting for confirmation
}

func (s *Server) linkPage(w http.ResponseWriter, r *http.Request, ss *session) {
	s.render(w, "link", ss, page{Data: linkForm{Action: "link", MyKeyID: r.FormValue("id"), Patron: r.FormValue("patron")}})
}

// linkPost links, relinks or unlinks, in two steps: the change is shown
// (relink: old → new) and done only when confirmed, with a reason, and for
// relink and unlink the administrator password.
func (s *Server) linkPost(w http.ResponseWriter, r *http.Request, ss *session) {
	f := linkForm{Action: r.FormValue("action"), MyKeyID: trimField(r.FormValue("id"), 32), Patron: trimField(r.FormValue("patron"), 64), Reason: trimField(r.FormValue("reason"), 200)}
	fail := func(msg string) { s.render(w, "link", ss, page{Error: msg, Data: f}) }
	l := ss.words()
	if f.Action != "link" && f.Action != "relink" && f.Action != "unlink" {
		fail(l.T(wording.Msg{JA: "操作（紐付け・付け替え・解除）を選んでください。", EN: "Choose an action: link, relink or unlink."}))
		return
	}
	if f.Reason == "" {
		fail(l.T(wording.Msg{JA: "理由を入力してください（氏名などの個人情報は書かないでください）。", EN: "Give a reason (no names or other personal data)."}))
		return
	}
	core := s.core(ss)
	sel := app.Selector{MyKeyID: f.MyKeyID, Patron: f.Patron}
	if f.Action == "unlink" && f.MyKeyID != "" {
		sel.Patron = ""
	}
	t, err := core.Resolve(sel)
	if err != nil {
		fail(explain(ss, err, f.MyKeyID))
		return
	}
	if (f.Action != "unlink" && (t.MyKeyID == "" || t.Patron == "")) || (f.Action == "unlink" && t.MyKeyID == "" && t.Patron == "") {
		fail(l.T(wording.Msg{JA: "マイキーIDと利用者番号を入力してください。", EN: "Enter the MyKey ID and the patron number."}))
		return
	}
	if r.FormValue("confirm") != "yes" {
		f.Confirm = true
		if f.Action == "relink" {
			if e, err := core.Lookup(r.Context(), app.Target{MyKeyID: t.MyKeyID, Service: t.Service}); err == nil {
				old := app.EntryView(t.Service, e)
				f.Old = &old
			}
		}
		s.render(w, "link", ss, page{Data: f})
		return
	}
	if f.Action != "link" {
		if err := core.CheckConsolePassword(r.Context(), []byte(r.FormValue("password"))); err != nil {
			f.Confirm = true
			fail(explain(ss, err, ""))
			return
		}
	}
	var msg string
	switch f.Action {
	case "unlink":
		var old store.Link
		if old, err = core.Unlink(r.Context(), t); err == nil {
			msg = l.T(wording.Msg{JA: "マイキーID %s と利用者番号 %s の紐付けを外しました。", EN: "Unlinked MyKey ID %s from patron number %s."}, old.MyKeyID, old.Patron)
		}
	default:
		var changed bool
		if changed, err = core.Link(r.Context(), t, f.Action == "relink"); err == nil {
			msg = l.T(wording.Msg{JA: "マイキーID %s を利用者番号 %s に紐付けました。", EN: "Linked MyKey ID %s to patron number %s."}, t.MyKeyID, t.Patron)
			if !changed {
				msg = l.T(wording.Msg{JA: "既にその紐付けです（変更なし）。", EN: "Already linked so (nothing changed)."})
			}
		}
	}
	if err != nil {
		fail(explain(ss, err, app.Subject(err, t)))
		return
	}
	if err := core.Note(r.Context(), f.Action, t, f.Reason); err != nil {
		fail(explain(ss, err, ""))
		return
	}
	s.render(w, "link", ss, page{Notice: msg, Data: linkForm{Action: "link"}})
}

// auditFilter is the audit page's filter and result.
type auditFilter struct {
	From, To, Action, ID, Operator string
	Page, Pages, Total             int
	More                           bool // more than Total match (the count stops at store.AuditCountCap)
	Entries                        []store.AuditEntry
	Prev, Next                     string // query strings of the neighbouring pages
	CSV                            string
}

const auditPageSize = 50

func (s *Server) auditQuery(r *http.Request) (store.AuditQuery, auditFilter, error) {
	f := auditFilter{From: r.FormValue("from"), To: r.FormValue("to"), Action: trimField(r.FormValue("action"), 32), ID: trimField(r.FormValue("id"), 32), Operator: trimField(r.FormValue("operator"), 64)}
	f.Page, _ = strconv.Atoi(r.FormValue("page"))
	f.Page = max(f.Page, 1)
	q := store.AuditQuery{Action: f.Action, User: f.Operator, Offset: (f.Page - 1) * auditPageSize, Limit: auditPageSize}
	var err error
	if f.From != "" {
		if q.From, err = time.ParseInLocation(time.DateOnly, f.From, time.Local); err != nil {
			return q, f, err
		}
	}
	if f.To != "" {
		var to time.Time
		if to, err = time.ParseInLocation(time.DateOnly, f.To, time.Local); err != nil {
			return q, f, err
		}
		q.To = to.AddDate(0, 0, 1) // the whole last day
	}
	if f.ID != "" {
		t, err := s.app.Resolve(app.Selector{MyKeyID: f.ID})
		if err != nil {
			return q, f, err
		}
		q.MyKeyID = t.MyKeyID
	}
	return q, f, nil
}

func (s *Server) auditPage(w http.ResponseWriter, r *http.Request, ss *session) {
	q, f, err := s.auditQuery(r)
	if err == nil {
		f.Entries, f.Total, err = s.core(ss).SearchAudit(r.Context(), q)
	}
	if err != nil {
		s.render(w, "audit", ss, page{Error: explain(ss, err, ""), Data: f})
		return
	}
	if f.Total > store.AuditCountCap {
		f.Total, f.More = store.AuditCountCap, true
	}
	f.Pages = max(1, (f.Total+auditPageSize-1)/auditPageSize)
	link := func(p int) string {
		v := url.Values{"from": {f.From}, "to": {f.To}, "action": {f.Action}, "id": {f.ID}, "operator": {f.Operator}}
		if p > 0 {
			v.Set("page", strconv.Itoa(p))
		}
		return v.Encode()
	}
	if f.Page > 1 {
		f.Prev = link(f.Page - 1)
	}
	if f.Page < f.Pages {
		f.Next = link(f.Page + 1)
	}
	f.CSV = link(0)
	s.render(w, "audit", ss, page{Data: f})
}

func (s *Server) auditCSV(w http.ResponseWriter, r *http.Request, ss *session) {
	q, _, err := s.auditQuery(r)
	if err != nil {
		http.Error(w, explain(ss, err, ""), http.StatusBadRequest)
		return
	}
	q.Offset, q.Limit = 0, 0
	entries, _, err := s.core(ss).SearchAudit(r.Context(), q)
	if err != nil {
		http.Error(w, explain(ss, err, ""), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="mykey-audit.csv"`)
	writeAuditCSV(w, entries)
}

// health is the desk health page's data.
type health struct {
	Report  app.Report
	Lines   []healthLine
	Taps    []tapCount
	Managed []config.Setting
}

type healthLine struct{ Check, Verdict, Class, Detail string }
type tapCount struct {
	Outcome string
	N       int
}

func (s *Server) healthPage(w http.ResponseWriter, r *http.Request, ss *session) {
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	defer cancel()
	l := ss.words()
	rep := s.app.Diagnose(ctx)
	h := health{Report: rep, Managed: s.app.Config.Managed()}
	for _, f := range rep.Findings {
		detail := f.Detail
		if f.Err != nil && f.Verdict == app.Fail {
			detail = l.Explain(f.Err, "").Text
		}
		h.Lines = append(h.Lines, healthLine{Check: l.DoctorCheck(f.Check), Verdict: l.DoctorVerdict(f.Verdict), Class: string(f.Verdict), Detail: detail})
	}
	now := s.opts.Now()
	midnight := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())
	counts, err := s.app.TapCounts(ctx, midnight)
	for _, o := range sortedKeys(counts) {
		h.Taps = append(h.Taps, tapCount{Outcome: l.OutcomeName(o), N: counts[o]})
	}
	pg := page{Data: h}
	if err != nil && !errors.Is(err, context.Canceled) {
		pg.Error = explain(ss, err, "")
	}
	s.render(w, "health", ss, pg)
}

// localTime shows an RFC 3339 time in the desk's time zone, to the minute.
func localTime(s string) string {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return s
	}
	return t.Local().Format("2006-01-02 15:04")
}
