package console

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/mykey-jp/mykey/app"
	"github.com/mykey-jp/mykey/batch"
	"github.com/mykey-jp/mykey/internal/wording"
)

// identity is the lookup page's card held up.
type identity struct {
	app.Identity
	Result string // the tap's outcome, worded
}

func (s *Server) fileRoutes(mux *http.ServeMux, op func(func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc) {
	mux.HandleFunc("POST /tap", op(s.tap))
	mux.HandleFunc("GET /export.csv", op(s.export))
	mux.HandleFunc("POST /backup", op(s.backup))
	mux.HandleFunc("POST /restore", op(s.restore))
}

// tap identifies the card held up on the desk's reader; nothing is typed.
func (s *Server) tap(w http.ResponseWriter, r *http.Request, ss *session) {
	ctx, cancel := context.WithTimeout(r.Context(), 15*time.Second)
	defer cancel()
	id, err := s.core(ss).Identify(ctx, app.CardRequest{Wait: 10 * time.Second})
	res := lookupResult{Card: &identity{Identity: id, Result: ss.words().Status(id.Status)}}
	pg := page{Data: res}
	if err != nil {
		pg.Error, res.Card = explain(ss, err, ""), nil
		pg.Data = res
	}
	s.render(w, "lookup", ss, pg)
}

// download writes a file made by make in a private temporary folder to the
// browser, then removes it.
func download(w http.ResponseWriter, ss *session, name, contentType string, make func(path string) error) {
	dir, err := os.MkdirTemp("", "mykey-console-")
	if err != nil {
		http.Error(w, explain(ss, err, ""), http.StatusInternalServerError)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, name)
	if err := make(path); err != nil {
		http.Error(w, explain(ss, err, ""), http.StatusInternalServerError)
		return
	}
	f, err := os.Open(path)
	if err != nil {
		http.Error(w, explain(ss, err, ""), http.StatusInternalServerError)
		return
	}
	defer f.Close()
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	io.Copy(w, f)
}

// export downloads the links as the CLI's Excel-safe CSV (audited).
func (s *Server) export(w http.ResponseWriter, r *http.Request, ss *session) {
	enc := batch.UTF8
	if r.FormValue("encoding") == "cp932" {
		enc = batch.CP932
	}
	download(w, ss, "mykey-links.csv", "text/csv", func(path string) error {
		_, err := s.core(ss).ExportLinks(r.Context(), path, enc, "", false)
		return err
	})
}

// backup downloads a verified backup of the registry (audited); it never
// holds the pseudonym key.
func (s *Server) backup(w http.ResponseWriter, r *http.Request, ss *session) {
	name := "mykey-backup-" + s.opts.Now().Format("20060102-150405") + ".db"
	download(w, ss, name, "application/octet-stream", func(path string) error {
		return s.core(ss).Backup(r.Context(), path)
	})
}

// restore replaces the registry's content with an uploaded backup, checked
// as the CLI's restore checks it, after the administrator password and a
// confirmation. A refused backup leaves the registry as it was.
func (s *Server) restore(w http.ResponseWriter, r *http.Request, ss *session) {
	l := ss.words()
	fail := func(err error) { s.render(w, "import", ss, page{Error: explain(ss, err, ""), Data: importView{}}) }
	r.Body = http.MaxBytesReader(w, r.Body, 2<<30)
	if r.FormValue("confirm") != "yes" {
		s.render(w, "import", ss, page{Error: l.T(wording.Msg{JA: "登録簿の内容を置き換えることを確認してください。", EN: "Confirm that the registry's content is replaced."}), Data: importView{}})
		return
	}
	if err := s.core(ss).CheckConsolePassword(r.Context(), []byte(r.FormValue("password"))); err != nil {
		fail(err)
		return
	}
	file, _, err := r.FormFile("backup")
	if err != nil {
		fail(err)
		return
	}
	defer file.Close()
	path, err := saveUpload(file, 2<<30)
	if err != nil {
		fail(err)
		return
	}
	defer os.Remove(path)
	rep, err := s.core(ss).Restore(r.Context(), path)
	if err != nil {
		fail(err)
		return
	}
	s.render(w, "import", ss, page{Notice: l.T(wording.Msg{JA: "バックアップから戻しました（紐付け %d 件、監査記録 %d 件）。", EN: "Restored from the backup (%d links, %d audit entries)."}, rep.Rows["links"], rep.Rows["audit"]), Data: importView{}})
}
