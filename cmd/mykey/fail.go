package main

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/mykey-jp/mykey/internal/wording"
)

// failure is what one error means for the user: a code for scripts, the
// exit code, and the message.
type failure struct {
	code string
	exit int
	text string
}

// exitCodes maps the kinds of failure to exit codes.
var exitCodes = map[wording.Kind]int{wording.Failed: exitFailure, wording.Usage: exitUsage, wording.NotFound: exitNotFound}

// explain maps an error to its failure (see wording.Explain). A registry
// command interrupted by Ctrl-C was rolled back, and a missing --config
// file is named as such.
func (a *invocation) explain(err error, subject string) failure {
	switch {
	case a.interrupted != nil && a.interrupted() != nil:
		return failure{"interrupted", exitFailure, a.t(mRolledBack)}
	case errors.Is(err, fs.ErrNotExist) && a.configExplicit && a.cfg == nil:
		return failure{"config", exitUsage, a.t(mConfigRead, a.configPath, err)}
	}
	f := a.words().Explain(err, subject)
	return failure{f.Code, exitCodes[f.Kind], f.Text}
}

// fail reports err and returns its exit code. With --json a JSON object
// with the code and message goes to stdout as well.
func (a *invocation) fail(err error, subject string) int {
	f := a.explain(err, subject)
	fmt.Fprintln(a.stderr, a.t(mError)+f.text)
	if a.json {
		a.printJSON(map[string]any{"ok": false, "error": f.code, "message": f.text})
	}
	return f.exit
}
