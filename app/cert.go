package app

import (
	"context"
	"errors"
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
	r, size, err := a.openSource(ctx, src)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	ix, err := p.CRL.Import(r, size)
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

// ErrTooLarge means an input is larger than its configured bound.
var ErrTooLarge = errors.New("the input is larger than allowed")

// openSource opens a regular file, or fetches an http(s) URL with
// Devices.HTTP, within revocation.crl_max_mb and crl_timeout_s. It returns
// the size when known (-1 when not), so that the CRL's declared length is
// checked against it before anything is read.
func (a *App) openSource(ctx context.Context, src string) (io.ReadCloser, int64, error) {
	max := int64(a.Config.Revocation.CRLMaxMB) << 20
	if !strings.HasPrefix(src, "http://") && !strings.HasPrefix(src, "https://") {
		size, err := RegularFile(src, max)
		if err != nil {
			return nil, 0, err
		}
		f, err := os.Open(src)
		return f, size, err
	}
	ctx, cancel := context.WithTimeout(ctx, time.Duration(a.Config.Revocation.CRLTimeoutS)*time.Second)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, src, nil)
	if err != nil {
		cancel()
		return nil, 0, err
	}
	resp, err := a.Devices.HTTP.Do(req)
	if err != nil {
		cancel()
		return nil, 0, fmt.Errorf("downloading %s: %w", src, err)
	}
	if resp.StatusCode != http.StatusOK || resp.ContentLength > max {
		resp.Body.Close()
		cancel()
		if resp.StatusCode == http.StatusOK {
			return nil, 0, fmt.Errorf("downloading %s: %w: %d bytes (revocation.crl_max_mb)", src, ErrTooLarge, resp.ContentLength)
		}
		return nil, 0, fmt.Errorf("downloading %s: HTTP %s", src, resp.Status)
	}
	body := &bounded{r: resp.Body, left: max, what: src}
	return readCloser{body, func() error { cancel(); return resp.Body.Close() }}, resp.ContentLength, nil
}

// bounded fails with ErrTooLarge once more than left bytes were read.
type bounded struct {
	r    io.Reader
	left int64
	what string
}

func (b *bounded) Read(p []byte) (int, error) {
	if b.left < 0 {
		return 0, fmt.Errorf("%s: %w", b.what, ErrTooLarge)
	}
	if int64(len(p)) > b.left+1 {
		p = p[:b.left+1]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	if b.left < 0 {
		return n, fmt.Errorf("%s: %w", b.what, ErrTooLarge)
	}
	return n, err
}

// RegularFile returns the size of the file at path, refusing up front what
// is not a regular file (a folder, a FIFO, a device such as /dev/zero,
// which a read would block on or never finish) and a file over max bytes.
func RegularFile(path string, max int64) (int64, error) {
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return 0, err
	case !fi.Mode().IsRegular():
		return 0, fmt.Errorf("%s: %w (%s)", path, ErrNotAFile, fi.Mode().Type())
	case fi.Size() > max:
		return 0, fmt.Errorf("%s: %w: %d bytes, at most %d", path, ErrTooLarge, fi.Size(), max)
	}
	return fi.Size(), nil
}

// ErrNotAFile means a path that must be a regular file is not one.
var ErrNotAFile = errors.New("not a regular file")

type readCloser struct {
	io.Reader
	close func() error
}

func (r readCloser) Close() error { return r.close() }
