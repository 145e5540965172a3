package console

import (
	"context"
	"errors"
	"net/http"
	"os/exec"
	"runtime"
	"time"

	"github.com/mykey-jp/mykey/app"
)

// Run serves the console on 127.0.0.1:port (0: a free port) until ctx
// ends. ready is called with a launch URL once it listens.
func Run(ctx context.Context, core *app.App, o Options, port int, ready func(url string)) error {
	s, err := New(core, o)
	if err != nil {
		return err
	}
	defer s.Close()
	l, err := s.Listen(port)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(sctx)
	}()
	if ready != nil {
		ready(s.LaunchURL())
	}
	if err := srv.Serve(l); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// OpenBrowser opens url in the desktop's default browser.
func OpenBrowser(url string) error {
	if runtime.GOOS == "windows" {
		return exec.Command("rundll32", "url.dll,FileProtocolHandler", url).Start()
	}
	return exec.Command("xdg-open", url).Start()
}
