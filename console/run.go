package console

import (
	"context"
	"net/http"
	"os/exec"
	"runtime"
	"sync"
	"time"

	"github.com/mykey-jp/mykey/app"
)

// start serves the console on 127.0.0.1:port (0: a free port) until ctx
// ends, in the background.
func start(ctx context.Context, core *app.App, o Options, port int) (*Server, <-chan error, error) {
	s, err := New(core, o)
	if err != nil {
		return nil, nil, err
	}
	l, err := s.Listen(port)
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	o.Log.Info().Str("addr", l.Addr().String()).Msg("console started")
	done := make(chan error, 1)
	go func() {
		err := srv.Serve(l)
		s.Close()
		done <- err
	}()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	return s, done, nil
}

// Run serves the console until ctx ends. ready is called with a launch
// URL once it listens.
func Run(ctx context.Context, core *app.App, o Options, port int, ready func(url string)) error {
	s, done, err := start(ctx, core, o, port)
	if err != nil {
		return err
	}
	ready(s.LaunchURL())
	if err := <-done; err != http.ErrServerClosed {
		return err
	}
	return nil
}

// Opener returns what the tray's "Open console" does: the first call
// starts the console (until ctx ends), and every call opens the browser
// with a new launch URL.
func Opener(ctx context.Context, core *app.App, o Options) func() error {
	var mu sync.Mutex
	var s *Server
	return func() error {
		mu.Lock()
		defer mu.Unlock()
		if s == nil {
			var err error
			if s, _, err = start(ctx, core, o, 0); err != nil {
				return err
			}
		}
		return OpenBrowser(s.LaunchURL())
	}
}

// OpenBrowser opens url in the desktop's default browser.
func OpenBrowser(url string) error {
	if runtime.GOOS == "windows" {
		return exec.Command("rundll32", "url.dll,FileProtocolHandler", url).Start()
	}
	return exec.Command("xdg-open", url).Start()
}
