package console

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"

	"github.com/mykey-jp/mykey/app"
	"github.com/mykey-jp/mykey/batch"
	"github.com/mykey-jp/mykey/internal/wording"
)

// maxUpload bounds a CSV uploaded to the console (the CLI takes larger
// files).
const maxUpload = 64 << 20

// upload is a CSV file checked by a dry run and kept (owner-only, in the
// temporary folder) until it is committed or the session ends.
type upload struct {
	ID, Kind, Name string
	path           string
	owner          string // the session that uploaded it
	Result         app.ImportResult

	// While it is committed in the background:
	Running     bool
	Done, Total int   // rows written so far, of
	err         error // how the commit ended
}

// importView is the import page's data.
type importView struct {
	Upload   *upload
	Problems []problemRow
	Done     bool
	Running  bool
	Percent  int
}

type problemRow struct {
	Line, Column int
	Field, Text  string
}

func (s *Server) importRoutes(mux *http.ServeMux, op func(func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc) {
	mux.HandleFunc("GET /import", op(func(w http.ResponseWriter, r *http.Request, ss *session) {
		s.render(w, "import", ss, page{Data: importView{}})
	}))
	mux.HandleFunc("POST /import", op(s.importCheck))
	mux.HandleFunc("POST /import/commit", op(s.importCommit))
	mux.HandleFunc("GET /import/invalid.csv", op(s.importInvalid))
	mux.HandleFunc("GET /import/progress", op(s.importProgress))
}

// run imports the upload, as a dry run or for real, telling progress.
func (s *Server) run(ctx context.Context, ss *session, u *upload, dry, allowShrink bool) (app.ImportResult, error) {
	q := app.ImportRequest{Path: u.path, Encoding: batch.Auto, DryRun: dry, AllowShrink: allowShrink,
		Progress: &app.ImportProgress{Written: func(done, total int) {
			s.mu.Lock()
			u.Done, u.Total = done, total
			s.mu.Unlock()
		}}}
	if u.Kind == "patrons" {
		return s.core(ss).ImportPatrons(ctx, q)
	}
	return s.core(ss).ImportLinks(ctx, q)
}

// view is the import page's data for u: a copy taken under the lock, since
// a commit may be writing u's progress.
func (s *Server) view(ss *session, u *upload) importView {
	s.mu.Lock()
	cp := *u
	s.mu.Unlock()
	u = &cp
	v := importView{Upload: u, Done: u.Result.Committed}
	for _, p := range u.Result.Problems {
		v.Problems = append(v.Problems, problemRow{Line: p.Line, Column: p.Column, Field: p.Field, Text: ss.words().Problem(p)})
	}
	return v
}

// importCheck stores the uploaded file and runs a dry run: nothing is
// written; the page shows the counts and every invalid row.
func (s *Server) importCheck(w http.ResponseWriter, r *http.Request, ss *session) {
	fail := func(err error) { s.render(w, "import", ss, page{Error: explain(ss, err, ""), Data: importView{}}) }
	r.Body = http.MaxBytesReader(w, r.Body, maxUpload+1<<20)
	kind := r.FormValue("kind")
	if kind != "links" && kind != "patrons" {
		fail(errors.New("kind: links or patrons"))
		return
	}
	file, hdr, err := r.FormFile("file")
	if err != nil {
		fail(err)
		return
	}
	defer file.Close()
	path, err := saveUpload(file, maxUpload)
	if err != nil {
		fail(err)
		return
	}
	u := &upload{ID: randomID(), Kind: kind, Name: trimField(hdr.Filename, 120), path: path, owner: ss.id}
	if u.Result, err = s.run(r.Context(), ss, u, true, false); err != nil {
		os.Remove(u.path)
		fail(err)
		return
	}
	s.mu.Lock()
	s.uploads[u.ID] = u
	s.mu.Unlock()
	s.render(w, "import", ss, page{Data: s.view(ss, u)})
}

// errTooLarge is an upload past its bound.
var errTooLarge = fmt.Errorf("%w (console upload)", app.ErrTooLarge)

// saveUpload copies an uploaded file of at most max bytes to a new
// owner-only temporary file and returns its path; the caller removes it.
func saveUpload(src io.Reader, max int64) (string, error) {
	f, err := os.CreateTemp("", "mykey-console-*")
	if err != nil {
		return "", err
	}
	n, err := io.Copy(f, io.LimitReader(src, max+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > max {
		err = errTooLarge
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// upload returns the session's upload named in the request.
func (s *Server) upload(r *http.Request, ss *session) *upload {
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.uploads[r.FormValue("u")]
	if u == nil || u.owner != ss.id {
		return nil
	}
	return u
}

// importCommit imports the checked file, all or nothing, after the
// administrator password.
func (s *Server) importCommit(w http.ResponseWriter, r *http.Request, ss *session) {
	u := s.upload(r, ss)
	if u == nil {
		s.render(w, "import", ss, page{Error: ss.words().T(wording.Msg{JA: "アップロードが見つかりません。ファイルを選び直してください。", EN: "The upload is gone; choose the file again."}), Data: importView{}})
		return
	}
	if err := s.core(ss).CheckConsolePassword(r.Context(), []byte(r.FormValue("password"))); err != nil {
		s.render(w, "import", ss, page{Error: explain(ss, err, ""), Data: s.view(ss, u)})
		return
	}
	s.mu.Lock()
	running := u.Running
	u.Running, u.Done, u.Total = true, 0, u.Result.Rows
	s.mu.Unlock()
	if !running { // a second click only watches the first
		shrink := r.FormValue("allow_shrink") == "yes"
		go func() {
			res, err := s.run(context.WithoutCancel(r.Context()), ss, u, false, shrink)
			s.mu.Lock()
			u.Running, u.Result, u.err = false, res, err
			s.mu.Unlock()
		}()
	}
	http.Redirect(w, r, "/import/progress?u="+u.ID, http.StatusSeeOther)
}

// importProgress shows a commit's progress, refreshing itself each second
// (no script), then its result.
func (s *Server) importProgress(w http.ResponseWriter, r *http.Request, ss *session) {
	u := s.upload(r, ss)
	if u == nil {
		s.render(w, "import", ss, page{Error: ss.words().T(wording.Msg{JA: "アップロードが見つかりません。ファイルを選び直してください。", EN: "The upload is gone; choose the file again."}), Data: importView{}})
		return
	}
	s.mu.Lock()
	running, done, total, err, res := u.Running, u.Done, u.Total, u.err, u.Result
	s.mu.Unlock()
	if running {
		v := s.view(ss, u)
		v.Running, v.Percent = true, 0
		if total > 0 {
			v.Percent = done * 100 / total
		}
		s.render(w, "import", ss, page{Refresh: true, Data: v})
		return
	}
	if err != nil {
		s.render(w, "import", ss, page{Error: explain(ss, err, ""), Data: s.view(ss, u)})
		return
	}
	s.mu.Lock()
	delete(s.uploads, u.ID)
	s.mu.Unlock()
	os.Remove(u.path)
	msg := ss.words().T(wording.Msg{JA: "取り込みました（新しい紐付け %d 件、変更なし %d 件、名簿 %d 件）。", EN: "Imported (%d new links, %d unchanged, %d roster rows)."}, res.Linked, res.Unchanged, res.Patrons)
	if !res.Committed {
		msg = ""
	}
	s.render(w, "import", ss, page{Notice: msg, Data: s.view(ss, u)})
}

// importInvalid downloads the invalid rows of a checked upload as CSV.
func (s *Server) importInvalid(w http.ResponseWriter, r *http.Request, ss *session) {
	u := s.upload(r, ss)
	if u == nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="mykey-invalid-rows.csv"`)
	io.WriteString(w, "\ufeff")
	c := csv.NewWriter(w)
	c.UseCRLF = true
	c.Write([]string{"line", "column", "field", "problem"})
	for _, p := range s.view(ss, u).Problems {
		c.Write([]string{strconv.Itoa(p.Line), strconv.Itoa(p.Column), p.Field, cell(p.Text)})
	}
	c.Flush()
}

// Close removes the uploads waiting for commit.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, u := range s.uploads {
		os.Remove(u.path)
		delete(s.uploads, id)
	}
}
