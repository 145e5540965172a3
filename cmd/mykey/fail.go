package main

import (
	"errors"
	"fmt"
	"io/fs"

	"github.com/mykey-jp/mykey/config"
	"github.com/mykey-jp/mykey/keyfile"
	"github.com/mykey-jp/mykey/keyid"
	"github.com/mykey-jp/mykey/store"
)

// failure is what one error means for the user: a code for scripts, the
// exit code, and the message.
type failure struct {
	code string
	exit int
	text string
}

// explain maps an error to its failure. subject names the ID or patron
// number the command was about, for messages that quote it.
func (a *invocation) explain(err error, subject string) failure {
	var ce *config.Error
	var pe *keyid.ParseError
	var pat *keyid.PatronError
	if a.interrupted != nil && a.interrupted() != nil {
		return failure{"interrupted", exitFailure, a.t(mRolledBack)}
	}
	if f, ok := a.cardFailure(err); ok {
		return f
	}
	if f, ok := a.certFailure(err); ok {
		return f
	}
	if f, ok := a.wedgeFailure(err); ok {
		return f
	}
	if f, ok := a.enrollFailure(err); ok {
		return f
	}
	switch {
	case errors.As(err, &ce):
		text := a.t(mConfigProblems)
		for _, p := range ce.Problems {
			text += "\n  " + p.String()
		}
		return failure{"config", exitUsage, text}
	case errors.As(err, &pe):
		switch pe.Reason {
		case keyid.ReasonLength:
			return failure{"invalid-id", exitUsage, a.t(mBadIDLength, pe.Input, pe.Len)}
		case keyid.ReasonSymbol:
			return failure{"invalid-id", exitUsage, a.t(mBadIDSymbol, pe.Input, pe.Pos, string(pe.Char))}
		default:
			return failure{"invalid-id", exitUsage, a.t(mBadIDCheck, pe.Input)}
		}
	case errors.As(err, &pat):
		return failure{"invalid-patron", exitUsage, a.t(mBadPatron, pat.Input, a.patronReason(pat))}
	case errors.Is(err, store.ErrUnknownID):
		return failure{"unknown-id", exitNotFound, a.t(mUnknownID, subject)}
	case errors.Is(err, store.ErrNotFound):
		return failure{"not-found", exitNotFound, a.t(mPatronUnknown, subject)}
	case errors.Is(err, store.ErrIDLinked):
		return failure{"id-linked", exitFailure, a.t(mIDLinked, subject)}
	case errors.Is(err, store.ErrPatronLinked):
		return failure{"patron-linked", exitFailure, a.t(mPatronLinked, subject)}
	case errors.Is(err, store.ErrNotInRoster):
		return failure{"not-in-roster", exitFailure, a.t(msg{"利用者番号 %s は図書館の利用者名簿にありません（mykey import patrons で取り込んだ名簿）。", "patron number %s is not on the library's roster (imported with mykey import patrons)."}, subject)}
	case errors.Is(err, store.ErrPatronInactive):
		return failure{"inactive", exitFailure, a.t(msg{"利用者番号 %s は利用者名簿で無効か期限切れです。", "patron number %s is inactive or expired on the roster."}, subject)}
	case errors.Is(err, store.ErrCorrupt):
		return failure{"corrupt", exitFailure, a.t(mCorrupt) + "\n  " + err.Error()}
	case errors.Is(err, store.ErrReadOnly):
		return failure{"read-only", exitFailure, a.t(mReadOnly) + "\n  " + err.Error()}
	case errors.Is(err, store.ErrBusy):
		return failure{"busy", exitFailure, a.t(mBusy) + "\n  " + err.Error()}
	case errors.Is(err, store.ErrSchemaTooNew):
		return failure{"schema-too-new", exitFailure, a.t(mTooNew) + "\n  " + err.Error()}
	case errors.Is(err, store.ErrCannotOpen):
		return failure{"cannot-open", exitFailure, a.t(mCannotOpen) + "\n  " + err.Error()}
	case errors.Is(err, keyfile.ErrPermissions):
		return failure{"key-permissions", exitUsage, a.t(mKeyPerm) + "\n  " + err.Error()}
	case errors.Is(err, keyfile.ErrFormat):
		return failure{"key-format", exitFailure, a.t(mKeyFormat) + "\n  " + err.Error()}
	case errors.Is(err, fs.ErrNotExist) && a.configExplicit && a.cfg == nil:
		return failure{"config", exitUsage, a.t(mConfigRead, a.configPath, err)}
	}
	return failure{"error", exitFailure, err.Error()}
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

// patronReason words why a patron number was refused.
func (a *invocation) patronReason(e *keyid.PatronError) string {
	switch e.Reason {
	case keyid.PatronEmpty:
		return a.t(mPatronEmpty)
	case keyid.PatronPattern:
		return a.t(mPatronPattern, e.Detail)
	case keyid.PatronCheckDigit:
		return a.t(mPatronCheck, e.Detail)
	}
	return e.Reason.String()
}
