package main

import (
	"errors"
	"flag"
	"fmt"
	"github.com/mykey-jp/mykey/store/postgres"
	"io/fs"

	"github.com/mykey-jp/mykey/store"
)

var (
	mBackupDone   = msg{"登録簿をバックアップしました: %s\n秘密鍵ファイル（%s）は含まれません。別に安全な場所へ保管してください。", "backed up the registry to %s\nThe secret key file (%s) is not in it: keep a copy of it apart, somewhere safe."}
	mBackupExists = msg{"%s は既にあります。別の名前を指定してください。", "%s already exists; choose another name."}
	mRestoreDone  = msg{"登録簿を %s から復元しました。", "restored the registry from %s."}
	mRestoreYes   = msg{"復元すると今の登録簿の内容は置き換わります。よければ --yes を付けてください。", "restoring replaces the current registry; add --yes to go ahead."}
	mIgnored      = msg{"バックアップの中の %s は mykey のものではないため、復元していません。", "not restored: %s in the backup is not mykey's."}
	mNotRegistry  = msg{"このファイルからは復元できません。今の登録簿はそのままです。", "this file cannot be restored: the registry is unchanged."}
)

func init() {
	register(&command{
		name:     "backup",
		summary:  msg{"登録簿をバックアップする", "back up the registry"},
		usage:    "mykey backup FILE",
		args:     "FILE",
		needs:    needRegistry,
		desc:     msg{"登録簿の一貫したコピーを FILE に作ります（受付サービスが動いていても安全です）。ファイルは所有者だけが読めます。秘密鍵ファイルは含まれないので、別に保管してください（両方そろわないと復元後にカードを識別できません）。", "Writes a consistent copy of the registry to FILE, safe while the desk service runs; only its owner can read it. The secret key file is not included: keep it apart (both are needed to recognise cards after a restore)."},
		examples: []string{"mykey backup D:\\backup\\mykey-2026-11-27.db"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			return func(args []string) int { return a.backup(args[0]) }
		},
	})

	register(&command{
		name:     "restore",
		summary:  msg{"バックアップから登録簿を戻す", "restore the registry from a backup"},
		usage:    "mykey restore FILE --yes",
		args:     "FILE",
		needs:    needRegistry,
		desc:     msg{"バックアップ FILE が mykey の登録簿であること（形式と整合性）を確かめてから、今の登録簿の内容を置き換えます。違うファイルは受け付けません。秘密鍵ファイルはバックアップを取ったときと同じものが必要です。", "Checks that FILE is a mykey registry (schema and integrity), then replaces the current registry's content with it. Other files are refused. The secret key file must be the one in use when the backup was made."},
		examples: []string{"mykey restore D:\\backup\\mykey-2026-11-27.db --yes"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			yes := fs.Bool("yes", false, a.t(msg{"置き換えてよいことを確認する", "confirm replacing the registry"}))
			return func(args []string) int {
				if !*yes {
					return a.usageError(commandNamed("restore"), a.t(mRestoreYes))
				}
				return a.restore(args[0])
			}
		},
	})
}

func (a *invocation) backup(path string) int {
	if err := a.core.Backup(a.ctx, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return a.fail(errors.New(a.t(mBackupExists, path)), "")
		}
		return a.fail(err, "")
	}
	a.println(a.t(mBackupDone, path, a.core.Config.KeyFile.Path))
	return exitOK
}

func (a *invocation) restore(path string) int {
	rep, err := a.core.Restore(a.ctx, path)
	if err != nil {
		if errors.Is(err, store.ErrNotRegistry) || errors.Is(err, store.ErrCorrupt) {
			return a.fail(errors.New(a.t(mNotRegistry)+"\n  "+err.Error()), "")
		}
		return a.fail(err, "")
	}
	for _, o := range rep.Ignored {
		fmt.Fprintln(a.stderr, a.t(mIgnored, o))
	}
	a.println(a.t(mRestoreDone, path))
	return exitOK
}

func init() {
	for _, export := range []bool{true, false} {
		c := &command{name: "key import", args: "FILE", needs: needCore, usage: "mykey key import FILE [--stdin]",
			summary:  msg{"ほかの窓口の秘密鍵を取り込む", "install the pseudonym key of another desk"},
			desc:     msg{"mykey key export で封をした秘密鍵ファイルを、パスフレーズで開いてこの窓口の秘密鍵ファイル（所有者だけが読める）にします。表示される指紋が書き出した窓口のものと同じか確かめてください。違う秘密鍵ファイルがすでにあれば置き換えません。", "Opens a key sealed by mykey key export with its passphrase and installs it as this desk's key file (owner-only). Compare the fingerprint shown with the one the exporting desk showed. A different key file already in place is never replaced."},
			examples: []string{"mykey key import E:\\mykey-key.sealed"}}
		if export {
			c.name, c.usage = "key export", "mykey key export FILE [--stdin] [--force]"
			c.summary = msg{"秘密鍵をパスフレーズで封をして書き出す", "write the pseudonym key sealed with a passphrase"}
			c.desc = msg{"同じ登録簿を使うほかの窓口へ運ぶため、この窓口の秘密鍵をパスフレーズ（12文字以上）で封をして FILE に書きます（Argon2id と AES-256-GCM、所有者だけが読めるファイル）。パスフレーズはファイルとは別の方法で伝えてください。", "Writes this desk's pseudonym key to FILE sealed with a passphrase (12 characters or more; Argon2id and AES-256-GCM; owner-only file), to carry it to another desk of the same registry. Pass the passphrase on by another way than the file."}
			c.examples = []string{"mykey key export E:\\mykey-key.sealed"}
		}
		c.setup = func(a *invocation, fs *flag.FlagSet) func([]string) int {
			stdin := fs.Bool("stdin", false, a.t(msg{"パスフレーズを標準入力から読む", "read the passphrase from standard input"}))
			force := fs.Bool("force", false, a.t(msg{"既にあるファイルを置き換える", "replace an existing file"}))
			return func(args []string) int { return a.keyTransport(args[0], export, *stdin, *force) }
		}
		register(c)
	}
}

// keyTransport exports or imports the sealed pseudonym key.
func (a *invocation) keyTransport(path string, export, stdin, force bool) int {
	pass, err := a.readPIN(stdin, a.t(msg{"パスフレーズ: ", "passphrase: "}))
	fp, created := "", false
	if err == nil && export {
		fp, err = a.core.ExportKey(path, pass, force)
	} else if err == nil {
		fp, created, err = a.core.ImportKey(path, pass)
	}
	if err != nil {
		return a.fail(err, path)
	}
	a.println(a.words().KeyMoved(export, created, path, fp))
	return exitOK
}

func init() {
	register(&command{
		name:    "registry migrate",
		summary: msg{"この PC の登録簿（SQLite）を共有登録簿（PostgreSQL）へ移す", "move this PC's registry (SQLite) into a shared registry (PostgreSQL)"},
		usage:   "mykey registry migrate --to URL [--password-file FILE] [--json]",
		needs:   needCore,
		desc: msg{"database.path の登録簿のすべて（マイキーID、証明書の仮名、紐付け、利用者名簿、鍵の指紋、監査ログとその連鎖）を、URL の PostgreSQL に一つのトランザクションで書き込みます（スキーマがなければ作ります）。書き込んだ後に読み返し、件数とダイジェストが元と一致することを確かめます。もう一度実行しても何も書きません。別のデータがある移行先は拒否します。パスワードは URL に書かず、--password-file か PGPASSWORD で渡してください。移した後は各窓口の設定の database.url を設定します（README「複数の窓口」）。",
			"Writes everything in the registry at database.path (MyKey IDs, certificate pseudonyms, links, rosters, the key fingerprint, the audit log and its chain) into the PostgreSQL registry at URL in one transaction, creating its schema if needed, then reads it back and checks that counts and digest match the source. Run again, it writes nothing; a target holding other data is refused. Give the password with --password-file or PGPASSWORD, not in the URL. Afterwards set database.url at each desk (README, \"Several desks\")."},
		examples: []string{"mykey registry migrate --to postgres://mykey_owner@db.example.lg.jp/mykey?sslmode=verify-full --password-file C:\\ProgramData\\mykey\\pgpass.txt"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			to := fs.String("to", "", a.t(msg{"移行先の PostgreSQL の `URL`", "the PostgreSQL registry's `URL`"}))
			pw := fs.String("password-file", "", a.t(msg{"データベースのパスワードを書いた `FILE`", "a `FILE` holding the database password"}))
			fs.BoolVar(&a.json, "json", false, a.t(mFlagJSON))
			return func([]string) int {
				if *to == "" {
					return a.usageError(commandNamed("registry migrate"), a.t(msg{"--to を指定してください", "--to is required"}))
				}
				rep, err := a.core.MigrateTo(a.ctx, *to, *pw)
				if err != nil {
					return a.fail(err, "")
				}
				if a.json {
					a.printJSON(map[string]any{"ok": true, "migrate": rep})
					return exitOK
				}
				a.println(a.words().Migrated(rep))
				return exitOK
			}
		},
	})

	register(&command{
		name:     "registry roles-sql",
		summary:  msg{"共有登録簿の窓口用ロールを作る SQL を表示する", "print the SQL that creates the shared registry's desk role"},
		usage:    "mykey registry roles-sql",
		desc:     msg{"PostgreSQL の共有登録簿で、窓口の PC が使うロール mykey_desk（読み取りと監査記録の追加だけ）を作り、権限を与える SQL を表示します。スーパーユーザーで登録簿のデータベースに流してください（mykey を更新したときも再度）。", "Prints the SQL that creates the role desk PCs use on the shared PostgreSQL registry, mykey_desk (reads and appending audit records only), and grants its rights. Run it as a superuser in the registry's database (again after updating mykey)."},
		examples: []string{"mykey registry roles-sql | sudo -u postgres psql -d mykey -v ON_ERROR_STOP=1"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			return func([]string) int { fmt.Fprint(a.stdout, postgres.RolesSQL); return exitOK }
		},
	})
}
