package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

func init() {
	register(&command{
		name:    "demo",
		summary: msg{"一時フォルダで登録簿の操作を実演する", "walk through the registry in a temporary folder"},
		usage:   "mykey demo [--dir DIR]",
		desc: msg{
			"一時フォルダに設定ファイルと登録簿を作り、マイキーIDの発行、利用者番号との紐付け、照会、入力ミスの検出、一覧、監査ログを実際のコマンドで順に実演します。普段の設定と登録簿には触れません。（カードの読み取りとキー入力の実演は、その機能とともに追加されます。）",
			"Creates a configuration and a registry in a temporary folder and runs the real commands one by one: minting a MyKey ID, linking a patron number, lookups, catching a typing mistake, the list and the audit log. Your own configuration and registry are not touched. (Card reading and typing join the demo with those features.)",
		},
		examples: []string{"mykey demo", "mykey demo --lang en", "mykey demo --dir ./demo-registry"},
		setup: func(a *app, fs *flag.FlagSet) func([]string) int {
			dir := fs.String("dir", "", a.t(msg{"実演に使うフォルダ `DIR`（既定: 一時フォルダを作って最後に消す）", "folder `DIR` to use (default: a temporary folder, removed at the end)"}))
			return func(args []string) int {
				if len(args) > 0 {
					return a.usageError(commandNamed("demo"), a.t(mExtraArgs, args))
				}
				return a.demo(*dir)
			}
		},
	})
}

func (a *app) demo(dir string) int {
	if dir == "" {
		tmp, err := os.MkdirTemp("", "mykey-demo-")
		if err != nil {
			return a.fail(err, "")
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	cfg := filepath.Join(dir, "mykey.toml")
	step := 0
	say := func(ja, en string) {
		step++
		fmt.Fprintf(a.stdout, "\n== %d. %s\n     %s\n", step, ja, en)
	}
	// sh runs one mykey command in this process, showing it as typed.
	sh := func(args ...string) (string, int) {
		fmt.Fprintf(a.stdout, "$ mykey %s\n", strings.Join(args, " "))
		var out bytes.Buffer
		full := append([]string{"--config", cfg, "--lang", a.lang}, args...)
		code := run(full, a.stdin, &out, &out)
		a.stdout.Write(out.Bytes())
		return out.String(), code
	}

	say("設定ファイルを作り、登録簿の場所をこのフォルダにします。", "Write a configuration and keep the registry in this folder.")
	if _, code := sh("config", "init"); code != exitOK {
		return code
	}
	if err := setDatabase(cfg, filepath.Join(dir, "registry.db")); err != nil {
		return a.fail(err, "")
	}
	if _, code := sh("config", "check"); code != exitOK {
		return code
	}

	say("マイキーIDを発行します（カード登録のときに自動で行われる手順です）。", "Mint a MyKey ID (card registration does this by itself).")
	out, code := sh("id", "new", "--json")
	if code != exitOK {
		return code
	}
	var minted struct {
		IDs []string `json:"mykey_ids"`
	}
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &minted); err != nil || len(minted.IDs) != 1 {
		return a.fail(fmt.Errorf("unexpected output of id new: %q", out), "")
	}
	id := minted.IDs[0]

	say("利用者番号に紐付けます。全角の数字も受け付けます。", "Link it to a patron number; full-width digits are accepted.")
	if _, code := sh("link", "--mykey-id", id, "--patron", "１２３４５６７８"); code != exitOK {
		return code
	}

	say("利用者番号からマイキーIDを調べます。", "Look the patron number up.")
	if _, code := sh("lookup", "--patron", "12345678"); code != exitOK {
		return code
	}

	typo := []byte(id)
	typo[2], typo[3] = typo[3], typo[2]
	if typo[2] == typo[3] {
		typo[0] = map[bool]byte{true: '1', false: '0'}[typo[0] == '0']
	}
	say("入力ミス（隣り合う2文字の入れ替え）は検査文字で見つかります。", "A typing mistake (two neighbours swapped) is caught by the check character.")
	if _, code := sh("id", "check", string(typo)); code == exitOK {
		return exitFailure
	}

	say("登録簿の一覧と、監査ログ（利用者番号は記録されません）。", "The registry list, and the audit log (which never records patron numbers).")
	if _, code := sh("list"); code != exitOK {
		return code
	}
	if _, code := sh("audit"); code != exitOK {
		return code
	}
	fmt.Fprintln(a.stdout, "\n"+a.t(msg{"実演は終わりです。", "The demo is complete."}))
	return exitOK
}

// setDatabase points the configuration at the demo's registry file.
func setDatabase(cfg, db string) error {
	b, err := os.ReadFile(cfg)
	if err != nil {
		return err
	}
	q, _ := json.Marshal(db) // a JSON string is a valid TOML basic string
	s := strings.Replace(string(b), "[database]\n", "[database]\npath = "+string(q)+"\n", 1)
	s = strings.Replace(s, "\npath = \"\"\n\n[keyfile]", "\n\n[keyfile]", 1)
	return os.WriteFile(cfg, []byte(s), 0o644)
}
