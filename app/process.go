package app

import (
	"os"
	"os/user"
	"runtime"
	"runtime/debug"
)

// OSUser names the operating-system user running this process, as the
// audit log records who acted.
func OSUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	for _, k := range []string{"USER", "USERNAME"} {
		if v := os.Getenv(k); v != "" {
			return v
		}
	}
	return "unknown"
}

// Set at release build time with -ldflags "-X
// github.com/mykey-jp/mykey/app.version=... -X ...app.commit=...".
var (
	version = "dev"
	commit  = ""
)

// BuildInfo says which mykey this is, for every front end (the CLI's
// version, the console's desk health, support reports).
type BuildInfo struct {
	Version string `json:"version"`
	Commit  string `json:"commit"`
	Go      string `json:"go"`
	OS      string `json:"os"`
	Arch    string `json:"arch"`
}

// Build returns this executable's build information; without a commit set
// at build time, the one the Go toolchain recorded.
func Build() BuildInfo {
	b := BuildInfo{Version: version, Commit: commit, Go: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok && b.Commit == "" {
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" {
				b.Commit = s.Value
			}
		}
	}
	return b
}
