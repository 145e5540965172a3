package console

import (
	"errors"
	"net/http"
	"time"

	"github.com/mykey-jp/mykey/app"
	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/internal/wording"
)

// registerForm is the register page's data. The PINs are never put back in
// a page.
type registerForm struct {
	Patron, MyKeyID, DOB string
	Reader               string
	Tries                int // PIN tries left, when the card was checked (-1: not yet)
	LastTry              bool
	Result               *registerResult
}

type registerResult struct {
	MyKeyID, Patron string
	Minted, Renewed bool
	Linked, Genuine bool
}

func (s *Server) registerRoutes(mux *http.ServeMux, op func(func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc) {
	mux.HandleFunc("GET /register", op(func(w http.ResponseWriter, r *http.Request, ss *session) {
		s.render(w, "register", ss, page{Data: registerForm{Tries: -1}})
	}))
	mux.HandleFunc("POST /register/check", op(s.registerCheck))
	mux.HandleFunc("POST /register", op(s.registerPost))
}

func formOf(r *http.Request) registerForm {
	return registerForm{Patron: trimField(r.FormValue("patron"), 64), MyKeyID: trimField(r.FormValue("id"), 32), DOB: trimField(r.FormValue("dob"), 8), Tries: -1}
}

// registerCheck shows the card's reader and PIN tries left, using none.
func (s *Server) registerCheck(w http.ResponseWriter, r *http.Request, ss *session) {
	f := formOf(r)
	reader, tries, err := s.core(ss).PINStatus(r.Context(), app.CardRequest{Wait: 2 * time.Second})
	if err != nil {
		s.render(w, "register", ss, page{Error: explain(ss, err, ""), Data: f})
		return
	}
	f.Reader, f.Tries, f.LastTry = reader, tries, tries == 1
	s.render(w, "register", ss, page{Data: f})
}

// registerPost registers the card held up. The PIN is sent once over
// loopback, used for this card and forgotten: never stored, logged or
// shown again. The last PIN try needs the administrator password.
func (s *Server) registerPost(w http.ResponseWriter, r *http.Request, ss *session) {
	f := formOf(r)
	core := s.core(ss)
	l := ss.words()
	fail := func(err error, subject string) {
		s.render(w, "register", ss, page{Error: explain(ss, err, subject), Data: f})
	}
	t, err := core.Resolve(app.Selector{Patron: f.Patron, MyKeyID: f.MyKeyID})
	if err != nil {
		fail(err, f.MyKeyID)
		return
	}
	force := r.FormValue("force_last_try") == "yes"
	if force {
		if err := core.CheckConsolePassword(r.Context(), []byte(r.FormValue("password"))); err != nil {
			fail(err, "")
			return
		}
	}
	pin, assist := []byte(r.FormValue("pin")), []byte(r.FormValue("assist_pin"))
	q := app.RegisterRequest{
		Card: app.CardRequest{Wait: 5 * time.Second}, Target: t, ForceLast: force, DOB: f.DOB,
		PIN: func(tries int) ([]byte, error) {
			f.Tries = tries
			if len(pin) == 0 {
				return nil, cardio.ErrBadPIN
			}
			return pin, nil
		},
	}
	if f.DOB == "" {
		q.AssistPIN = func(int) ([]byte, error) {
			if len(assist) == 0 {
				return nil, app.ErrNoDOB
			}
			return assist, nil
		}
	}
	res, err := core.Register(r.Context(), q)
	clear(pin)
	clear(assist)
	if err != nil {
		if errors.Is(err, cardio.ErrLastTry) {
			f.LastTry = true
		}
		msg := explain(ss, err, app.Subject(err, t))
		if f.Tries >= 0 {
			msg += " " + l.T(wording.Msg{JA: "（入力前の残り回数: %d）", EN: "(tries left before: %d)"}, f.Tries)
		}
		s.render(w, "register", ss, page{Error: msg, Data: f})
		return
	}
	f.Result = &registerResult{MyKeyID: string(res.MyKeyID), Patron: t.Patron, Minted: res.Minted, Renewed: res.Superseded, Linked: res.Linked, Genuine: res.Genuine}
	s.render(w, "register", ss, page{Notice: l.T(wording.Msg{JA: "登録しました。", EN: "Registered."}), Data: f})
}
