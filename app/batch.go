package app

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/mykey-jp/mykey/batch"
	"github.com/mykey-jp/mykey/internal/atomicfile"
	"github.com/mykey-jp/mykey/keyid"
	"github.com/mykey-jp/mykey/store"
)

// ImportRequest is a CSV import.
type ImportRequest struct {
	Path        string
	Encoding    batch.Encoding // batch.Auto detects
	DryRun      bool           // check only
	SkipInvalid bool           // links: import the valid rows, skip the others
	AllowShrink bool           // roster: the administrator confirmed a drastic shrink
	Service     string         // default service; the configured one when ""
	// Progress, when not nil, is told how a long import goes.
	Progress *ImportProgress
}

// ImportProgress receives the progress of a links import.
type ImportProgress struct {
	Read    func(line, lines int) // every 50,000 rows read
	Parsed  func(rows int)        // once the file is read
	Written func(done, total int) // after each chunk written (done == total at the end)
}

// ImportResult is what an import found and did.
type ImportResult struct {
	Encoding  batch.Encoding  // the file's encoding (detected or given)
	Size      int             // bytes in the file
	Rows      int             // rows read, the malformed ones included
	Lines     int             // lines in the file: the rows, blank lines and the header (links)
	Counts    batch.Counts    // blank lines and the header (links)
	Linked    int             // new links (links import)
	Unchanged int             // links that were already so
	Patrons   int             // roster rows (roster import)
	Problems  []batch.Problem // invalid rows, in line order
	Committed bool
}

// OK reports whether the import did what was asked: committed, or a dry
// run without problems.
func (r ImportResult) OK(dry bool) bool { return r.Committed || (dry && len(r.Problems) == 0) }

// MaxCSVBytes bounds a CSV file (a million rows take about 30 MB).
const MaxCSVBytes = 512 << 20

// openCSV reads and decodes the import's file, a regular file of at most
// MaxCSVBytes, and returns it with the patron-number rule and the result's
// encoding and size filled in.
func (a *App) openCSV(q ImportRequest) ([]byte, *keyid.PatronRule, ImportResult, error) {
	res := ImportResult{}
	rule, err := a.PatronRule()
	if err != nil {
		return nil, nil, res, err
	}
	if _, err := RegularFile(q.Path, MaxCSVBytes); err != nil {
		return nil, nil, res, err
	}
	data, err := os.ReadFile(q.Path)
	if err != nil {
		return nil, nil, res, err
	}
	text, enc, err := batch.Decode(data, q.Encoding)
	if err != nil {
		return nil, nil, res, fmt.Errorf("%s: %w", q.Path, err)
	}
	res.Encoding, res.Size = enc, len(data)
	return text, rule, res, nil
}

// ImportLinks links each row of a links CSV: all or nothing unless
// SkipInvalid; an aborted import is audited. The file is parsed while the
// registry loads what the checks need, where the registry can.
func (a *App) ImportLinks(ctx context.Context, q ImportRequest) (ImportResult, error) {
	text, rule, res, err := a.openCSV(q)
	if err != nil {
		return res, err
	}
	p := q.Progress
	if p == nil {
		p = &ImportProgress{}
	}
	var links *batch.Links
	parse := func() ([]store.BatchLink, error) {
		var err error
		links, err = batch.ParseLinks(text, rule, a.Service(q.Service), p.Read)
		if p.Parsed != nil {
			p.Parsed(len(links.Rows))
		}
		return links.Rows, err
	}
	keep := func(results []store.BatchResult) bool {
		switch {
		case q.DryRun:
			return false
		case q.SkipInvalid:
			return true
		case len(links.Problems) > 0:
			return false
		}
		for _, x := range results {
			if x.Err != nil {
				return false
			}
		}
		return true
	}
	err = a.withRegistry(ctx, func(r store.Registry) error {
		var results []store.BatchResult
		var err error
		if s, ok := r.(store.StreamImporter); ok {
			results, res.Committed, err = s.ImportLinksFrom(ctx, parse, keep, p.Written)
		} else if _, err = parse(); err == nil {
			results, res.Committed, err = r.ImportLinks(ctx, links.Rows, keep)
		}
		if err != nil {
			return err
		}
		var refused []batch.Problem
		res.Linked, res.Unchanged, refused = links.Refused(results)
		res.Rows = len(links.Rows) + len(links.Problems) // with those too malformed to be checked
		res.Lines, res.Counts = links.Lines, links.Counts
		res.Problems = append(links.Problems, refused...)
		batch.SortProblems(res.Problems)
		if !res.Committed && !q.DryRun {
			r.Audit(ctx, store.AuditEntry{Action: store.ActionImportLinks, Outcome: "aborted", Detail: fmt.Sprintf("file=%s invalid=%d", filepath.Base(q.Path), len(res.Problems))})
		}
		return nil
	})
	return res, err
}

// ImportPatrons replaces service's roster with a roster CSV; any invalid
// row aborts it.
func (a *App) ImportPatrons(ctx context.Context, q ImportRequest) (ImportResult, error) {
	text, rule, res, err := a.openCSV(q)
	if err != nil {
		return res, err
	}
	rows, probs, err := batch.ParseRoster(text, rule)
	if err != nil {
		return res, err
	}
	res.Patrons, res.Problems = len(rows), probs
	err = a.withRegistry(ctx, func(r store.Registry) error {
		if len(probs) > 0 {
			return nil
		}
		if err := r.ImportRoster(ctx, a.Service(q.Service), rows, store.RosterOptions{DryRun: q.DryRun, AllowShrink: q.AllowShrink}); err != nil {
			return err
		}
		res.Committed = !q.DryRun
		return nil
	})
	return res, err
}

// ExportLinks writes service's links to path in the export format
// (batch.ExportLinks), owner-only, and returns how many. An existing path
// is fs.ErrExist unless force; the file appears whole or not at all and a
// link there is never followed (atomicfile).
func (a *App) ExportLinks(ctx context.Context, path string, enc batch.Encoding, service string, force bool) (n int, err error) {
	service = a.Service(service)
	err = a.withRegistry(ctx, func(r store.Registry) error {
		list, err := r.List(ctx, service)
		if err != nil {
			return err
		}
		out, count, err := batch.ExportLinks(list, service, enc)
		if err != nil {
			return err
		}
		if err := atomicfile.Write(path, out, 0o600, force); err != nil {
			return err
		}
		n = count
		r.Audit(ctx, store.AuditEntry{Action: store.ActionExportLinks, Outcome: "ok", Detail: fmt.Sprintf("service=%s rows=%d", service, n)})
		return nil
	})
	return n, err
}
