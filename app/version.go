package app

import (
	"runtime"
	"runtime/debug"
)

// Set at release build time with -ldflags "-X
// github.com/mykey-jp/mykey/app.version=... -X ...app.commit=...".
var (
	version = "dev"
	commit  = ""
)

// BuildInfo says which mykey this is, for every front end (the CLI's
// version, the console's desk health, support reports).
type BuildInfo struct {
	Version, Commit, Go, OS, Arch string
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
