package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/mykey-jp/mykey/app"
	"github.com/mykey-jp/mykey/batch"
)

var (
	mImportAborted   = msg{"正しくない行が %d 行あるため、何も取り込みませんでした（正しい行だけ取り込むには --skip-invalid）。", "%d invalid rows: nothing was imported (--skip-invalid imports the valid rows)."}
	mImportDone      = msg{"取り込みました: %d 行（新しい紐付け %d、変更なし %d、飛ばした行 %d。ファイル %d 行のうち見出し %d、空行 %d）。", "imported %d rows (%d new links, %d unchanged, %d skipped; of the file's %d lines, %d header and %d blank)."}
	mImportDry       = msg{"確認のみ（--dry-run）: %d 行（新しい紐付け %d、変更なし %d、正しくない行 %d）。何も変えていません。", "dry run: %d rows (%d new links, %d unchanged, %d invalid); nothing changed."}
	mExported        = msg{"%d 件を %s に書き出しました（%s）。", "exported %d links to %s (%s)."}
	mProgress        = msg{"\r読み込み中: %s %d / %d 行", "\rreading: %s line %d of %d"}
	mProgressRead    = msg{"\r読み込み完了: %d 行。登録簿と照合しています…\n", "\rread %d rows; checking them against the registry…\n"}
	mProgressWrite   = msg{"\r書き込み中: %s %d / %d 件", "\rwriting: %s link %d of %d"}
	mProgressWritten = msg{"\r書き込み完了: %d 件。索引を更新して確定しています…\n", "\rwrote %d links; updating the indexes and committing…\n"}
)

func init() {
	register(&command{
		name:     "import links",
		summary:  msg{"マイキーIDと利用者番号の組を CSV から取り込む", "import (MyKey ID, patron number) pairs from CSV"},
		usage:    "mykey import links FILE [--encoding auto|utf-8|cp932] [--dry-run] [--skip-invalid] [--json]",
		args:     "FILE",
		needs:    needRegistry,
		desc:     msg{"CSV の各行（マイキーID, 利用者番号[, サービス]）で紐付けます。文字コードは UTF-8（BOM あり・なし）と Shift_JIS（CP932）を自動で判別し、改行は CRLF と LF、見出し行は英語でも日本語（マイキーID、利用者番号）でもなくてもよく、全角の数字や英字も受け付け、空行は無視します。既定では1行でも正しくなければ何も変えません（--skip-invalid で正しい行だけ取り込み）。正しくない行はすべて行・列・理由を表示します。同じファイルをもう一度取り込んでも何も変わりません。途中で止まっても登録簿は元のままです。", "Links each CSV row (MyKey ID, patron number[, service]). UTF-8 with or without BOM and Shift_JIS (CP932) are detected; CRLF or LF; the header is optional, in English or Japanese (マイキーID, 利用者番号); full-width characters are accepted; blank lines are ignored. By default any invalid row aborts the whole import and nothing changes (--skip-invalid imports the valid rows). Every invalid row is listed with its line, column and reason. Importing the same file again changes nothing; an interrupted import leaves the registry as it was."},
		examples: []string{"mykey import links links.csv --dry-run", "mykey import links links.csv", "mykey import links links.csv --skip-invalid --json"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			q := a.importFlags(fs, batch.Auto)
			fs.BoolVar(&q.SkipInvalid, "skip-invalid", false, a.t(msg{"正しい行だけ取り込む", "import the valid rows, skip the others"}))
			return func(args []string) int { return a.importLinks(args[0], *q) }
		},
	})

	register(&command{
		name:     "import patrons",
		summary:  msg{"図書館の利用者名簿を CSV から取り込む", "import the library's patron roster from CSV"},
		usage:    "mykey import patrons FILE [--encoding auto|utf-8|cp932] [--dry-run] [--allow-shrink] [--service S] [--json]",
		args:     "FILE",
		needs:    needRegistry,
		desc:     msg{"図書館システムから書き出した利用者名簿（利用者番号[, 状態, 有効期限]）を取り込み、そのサービスの名簿を置き換えます。名簿を取り込んだ後は、名簿にない利用者番号や、無効・期限切れの利用者番号は登録・紐付けできません（既存の紐付けはそのまま）。状態は active / inactive（有効 / 無効）、有効期限は 2027-03-31 の形です。文字コードや見出しの扱いは import links と同じで、1行でも正しくなければ何も変えません。", "Imports the patron roster exported from the library system (patron number[, status, expiry]) and replaces that service's roster. From then on, registration and linking refuse patron numbers that are not on it, or are inactive or expired (existing links stay). Status is active / inactive (有効 / 無効); expiry looks like 2027-03-31. Encodings and headers as for import links; any invalid row aborts the import."},
		examples: []string{"mykey import patrons roster.csv --dry-run", "mykey import patrons roster.csv"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			q := a.importFlags(fs, batch.Auto)
			fs.BoolVar(&q.AllowShrink, "allow-shrink", false, a.t(msg{"名簿が空になる・半分未満になる取り込みを認める", "allow a roster that is empty or less than half as long as the current one"}))
			return func(args []string) int { return a.importPatrons(args[0], *q) }
		},
	})

	register(&command{
		name:     "export links",
		summary:  msg{"紐付けを CSV に書き出す", "export the links to CSV"},
		usage:    "mykey export links FILE [--encoding utf-8|cp932] [--service S] [--force]",
		args:     "FILE",
		needs:    needRegistry,
		desc:     msg{"紐付け（マイキーID, 利用者番号, サービス）を Excel で開ける CSV に書き出します。既定は BOM 付き UTF-8、--encoding cp932 で Shift_JIS。= + - @ で始まるセルは数式として実行されないよう先頭に ' を付けます。", "Writes the links (MyKey ID, patron number, service) as a CSV that Excel opens safely: UTF-8 with BOM by default, Shift_JIS with --encoding cp932. Cells starting with = + - @ get a leading ' so they are never run as formulas."},
		examples: []string{"mykey export links links.csv", "mykey export links links-sjis.csv --encoding cp932"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			q := a.importFlags(fs, batch.UTF8)
			force := fs.Bool("force", false, a.t(msg{"既にあるファイルを置き換える", "replace an existing file"}))
			return func(args []string) int { return a.exportLinks(args[0], *q, *force) }
		},
	})
}

// importFlags adds --encoding (auto only where def is), --service and, for
// imports, --dry-run and --json.
func (a *invocation) importFlags(fs *flag.FlagSet, def batch.Encoding) *app.ImportRequest {
	q := &app.ImportRequest{Encoding: def}
	fs.Func("encoding", a.t(msg{"文字コード `ENC`（auto, utf-8, cp932。既定: %s）", "file encoding `ENC` (auto, utf-8, cp932; default: %s)"}, cmp.Or(string(def), "auto")), func(s string) (err error) {
		if q.Encoding, err = batch.ParseEncoding(s); err == nil && q.Encoding == batch.Auto && def != batch.Auto {
			err = fmt.Errorf("%q: give utf-8 or cp932", s)
		}
		return err
	})
	fs.StringVar(&q.Service, "service", "", a.t(mFlagService))
	if def == batch.Auto {
		fs.BoolVar(&q.DryRun, "dry-run", false, a.t(msg{"確かめるだけで変更しない", "validate only, change nothing"}))
		fs.BoolVar(&a.json, "json", false, a.t(mFlagJSON))
	}
	return q
}

// problemsJSON is the JSON form of import problems.
func (a *invocation) problemsJSON(probs []batch.Problem) []map[string]any {
	list := make([]map[string]any, len(probs))
	for i, p := range probs {
		list[i] = map[string]any{"line": p.Line, "column": p.Column, "field": p.Field, "code": p.Code, "message": a.words().Problem(p)}
	}
	return list
}

// importProgress shows a big import's progress on a terminal.
func (a *invocation) importProgress(path string) *app.ImportProgress {
	fi, err := os.Stat(path)
	if a.json || err != nil || fi.Size() <= 1<<20 || !term.IsTerminal(int(os.Stderr.Fd())) {
		return nil
	}
	return &app.ImportProgress{
		Read:    a.progressRead,
		Parsed:  a.progressParsed,
		Written: a.progressWritten,
	}
}

func (a *invocation) progressRead(line, lines int) {
	fmt.Fprintf(a.stderr, a.t(mProgress), progressBar(line, lines), line, lines)
}

func (a *invocation) progressParsed(rows int) { fmt.Fprintf(a.stderr, a.t(mProgressRead), rows) }

func (a *invocation) progressWritten(done, total int) {
	if done < total {
		fmt.Fprintf(a.stderr, a.t(mProgressWrite), progressBar(done, total), done, total)
	} else {
		fmt.Fprintf(a.stderr, a.t(mProgressWritten), total)
	}
}

func (a *invocation) importLinks(path string, q app.ImportRequest) int {
	q.Path, q.Progress = path, a.importProgress(path)
	dry := q.DryRun
	res, err := a.core.ImportLinks(a.ctx, q)
	if err != nil {
		return a.fail(err, "")
	}
	if a.json {
		a.printJSON(map[string]any{"ok": res.OK(dry), "committed": res.Committed, "dry_run": dry, "encoding": string(res.Encoding),
			"rows": res.Rows, "linked": res.Linked, "unchanged": res.Unchanged, "invalid": a.problemsJSON(res.Problems), "lines": res.Lines, "header_lines": res.Counts.Header, "blank_lines": res.Counts.Blank})
	} else {
		for _, p := range res.Problems {
			fmt.Fprintln(a.stderr, a.words().Problem(p))
		}
		switch {
		case dry:
			a.println(a.t(mImportDry, res.Rows, res.Linked, res.Unchanged, len(res.Problems)))
		case res.Committed:
			a.println(a.t(mImportDone, res.Linked+res.Unchanged, res.Linked, res.Unchanged, len(res.Problems), res.Lines, res.Counts.Header, res.Counts.Blank))
		default:
			fmt.Fprintln(a.stderr, a.t(mError)+a.t(mImportAborted, len(res.Problems)))
		}
	}
	if res.OK(dry) {
		return exitOK
	}
	return exitFailure
}

// progressBar draws done out of total as a 20-cell bar with a percentage.
func progressBar(done, total int) string {
	const width = 20
	done = min(done, total)
	cells := width * done / max(total, 1)
	return "[" + strings.Repeat("#", cells) + strings.Repeat(".", width-cells) + fmt.Sprintf("] %3d%%", 100*done/max(total, 1))
}

func (a *invocation) exportLinks(path string, q app.ImportRequest, force bool) int {
	n, err := a.core.ExportLinks(a.ctx, path, q.Encoding, q.Service, force)
	if errors.Is(err, fs.ErrExist) {
		return a.fail(errors.New(a.t(mConfigExists, path)), "")
	} else if err != nil {
		return a.fail(err, "")
	}
	a.println(a.t(mExported, n, path, q.Encoding))
	return exitOK
}

func (a *invocation) importPatrons(path string, q app.ImportRequest) int {
	q.Path = path
	dry, service := q.DryRun, q.Service
	res, err := a.core.ImportPatrons(a.ctx, q)
	if err != nil {
		return a.fail(err, "")
	}
	probs := res.Problems
	if a.json {
		a.printJSON(map[string]any{"ok": len(probs) == 0, "committed": res.Committed, "dry_run": dry, "encoding": string(res.Encoding), "patrons": res.Patrons, "invalid": a.problemsJSON(probs)})
	} else {
		for _, p := range probs {
			fmt.Fprintln(a.stderr, a.words().Problem(p))
		}
		switch {
		case len(probs) > 0:
			fmt.Fprintln(a.stderr, a.t(mError)+a.t(mImportAborted, len(probs)))
		case dry:
			a.println(a.t(msg{"確認のみ（--dry-run）: 利用者 %d 人。何も変えていません。", "dry run: %d patrons; nothing changed."}, res.Patrons))
		default:
			a.println(a.t(msg{"利用者名簿を取り込みました: %d 人（サービス %s）。", "imported the roster: %d patrons (service %s)."}, res.Patrons, a.core.Service(service)))
		}
	}
	if len(probs) > 0 {
		return exitFailure
	}
	return exitOK
}
