package app

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/mykey-jp/mykey/certcheck"
)

// ImportCRL imports a DER CRL from a file or an http(s) URL into the
// configured CRL store, after checking its signature against the trust
// anchors. The previous index stays when anything is wrong.
func (a *App) ImportCRL(ctx context.Context, src string) (*certcheck.Index, error) {
	p, err := a.Policy()
	if err != nil {
		return nil, err
	}
	r, err := a.openSource(ctx, src)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	ix, err := p.CRL.Import(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src, err)
	}
	return ix, nil
}

// CRLs returns the imported CRL indexes and the grace they get past their
// next update.
func (a *App) CRLs() ([]*certcheck.Index, time.Duration, error) {
	p, err := a.Policy()
	if err != nil {
		return nil, 0, err
	}
	list, err := p.CRL.Status()
	return list, p.CRLGrace, err
}

// openSource opens a file, or fetches an http(s) URL with Devices.HTTP.
func (a *App) openSource(ctx context.Context, src string) (io.ReadCloser, error) {
	if !strings.HasPrefix(src, "http://") && !strings.HasPrefix(src, "https://") {
		return os.Open(src)
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		cancel()
		return nil, err
	}
	resp, err := a.Devices.HTTP.Do(req)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("downloading %s: %w", src, err)
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		cancel()
		return nil, fmt.Errorf("downloading %s: HTTP %s", src, resp.Status)
	}
	return readCloser{resp.Body, func() error { cancel(); return resp.Body.Close() }}, nil
}

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }
