package main

import (
	"errors"
	"flag"
	"fmt"
	"os"

	"github.com/mykey-jp/mykey/app"
	"github.com/mykey-jp/mykey/config"
)

func init() {
	register(&command{
		name:     "version",
		summary:  msg{"版を表示する", "print the version"},
		usage:    "mykey version [--json]",
		desc:     msg{"mykey の版、ビルドのコミット、Go の版を表示します。", "Prints mykey's version, the commit it was built from, and the Go version."},
		examples: []string{"mykey version", "mykey version --json"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			fs.BoolVar(&a.json, "json", false, a.t(mFlagJSON))
			return func(args []string) int {
				b := app.Build()
				if a.json {
					a.printJSON(b)
					return exitOK
				}
				fmt.Fprintf(a.stdout, "mykey %s %s (%s %s/%s)\n", b.Version, b.Commit, b.Go, b.OS, b.Arch)
				return exitOK
			}
		},
	})

	register(&command{
		name:     "config init",
		summary:  msg{"説明付きの設定ファイルを作る", "write a commented configuration file"},
		usage:    "mykey config init [--path FILE] [--force]",
		desc:     msg{"すべての項目と説明を含む設定ファイルを書き出します。既定の書き出し先は --config の場所です。既にあるファイルは --force がない限り上書きしません。", "Writes a configuration file with every key and its explanation. It goes where --config points unless --path is given. An existing file is kept unless --force is given."},
		examples: []string{"mykey config init", "mykey config init --path ./mykey.toml", "mykey --config ./mykey.toml config check"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			path := fs.String("path", "", a.t(msg{"書き出すファイル `FILE`", "`FILE` to write"}))
			force := fs.Bool("force", false, a.t(msg{"既にあるファイルを上書きする", "overwrite an existing file"}))
			forWindows := fs.Bool("windows-defaults", false, a.t(msg{"Windows の既定の場所を説明に書く（インストーラーの作成用）", "describe the Windows default locations (for building the installer)"}))
			return func(args []string) int {
				p := a.configPath
				if *path != "" {
					p = *path
				}
				if err := config.WriteTemplate(p, *forWindows, *force); errors.Is(err, os.ErrExist) {
					fmt.Fprintln(a.stderr, a.t(mError)+a.t(mConfigExists, p))
					return exitFailure
				} else if err != nil {
					return a.fail(err, "")
				}
				a.println(a.t(mConfigWritten, p))
				return exitOK
			}
		},
	})

	register(&command{
		name:     "config check",
		summary:  msg{"設定ファイルを検査する", "check the configuration file"},
		usage:    "mykey [--config FILE] config check [--json]",
		desc:     msg{"設定ファイルを読み、この窓口で安全に動かせるかを確かめます。信頼する CA 証明書（あるか、読めるか、CA か、有効期間内か）と、失効したカードを受け付けてしまう設定も調べ、問題をすべて「ファイル:行: キー: 内容」の形で表示します。問題があれば終了コード 2 です。問題がなければ、使われる登録簿・秘密鍵・ログの場所を表示します。", "Checks that the configuration is safe to run at this desk: besides every key, the trusted CA certificates (present, readable, CA certificates, valid now) and settings that would accept revoked cards. Every problem is listed as FILE:LINE: KEY: PROBLEM, with exit code 2. Otherwise prints where the registry, secret key and logs will be."},
		examples: []string{"mykey config check", "mykey --config C:\\ProgramData\\mykey\\mykey.toml config check --json"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			fs.BoolVar(&a.json, "json", false, a.t(mFlagJSON))
			return func(args []string) int {
				c, err := a.config()
				if err == nil {
					err = a.checkAnchors()
				}
				var ce *config.Error
				if errors.As(err, &ce) && a.json {
					a.printJSON(map[string]any{"ok": false, "file": a.configPath, "problems": ce.Problems})
					fmt.Fprintln(a.stderr, a.t(mError)+a.explain(err, "").text)
					return exitUsage
				}
				if err != nil {
					return a.fail(err, "")
				}
				_, statErr := os.Stat(a.configPath)
				exists := !errors.Is(statErr, os.ErrNotExist)
				if a.json {
					a.printJSON(map[string]any{"ok": true, "file": a.configPath, "exists": exists, "database": c.Database.Path, "keyfile": c.KeyFile.Path, "log_dir": c.Log.Dir, "lang": c.Lang, "managed": c.Managed()})
					return exitOK
				}
				if exists {
					a.println(a.t(mConfigOK, a.configPath))
				} else {
					a.println(a.t(mConfigDefaults, a.configPath))
				}
				fmt.Fprintf(a.stdout, "  %s: %s\n  %s: %s\n  %s: %s\n", a.t(mPathDatabase), c.Database.Path, a.t(mPathKey), c.KeyFile.Path, a.t(mPathLog), c.Log.Dir)
				fmt.Fprint(a.stdout, a.words().Managed(c.Managed()))
				return exitOK
			}
		},
	})
}

// checkAnchors checks the trust anchors as the desk will load them.
func (a *invocation) checkAnchors() error {
	core, err := a.app()
	if err != nil {
		return err
	}
	if probs := append(core.CheckAnchors(), core.CheckGenuine()...); len(probs) > 0 {
		return &config.Error{Problems: probs}
	}
	if len(core.Config.Revocation.TrustAnchors) == 0 && !a.json {
		fmt.Fprintln(a.stderr, a.t(mNoAnchorsYet))
	}
	if g := core.Config.Genuine; g.Mode != "off" && len(g.Authorities) == 0 && !a.json {
		fmt.Fprintln(a.stderr, a.words().Explain(app.ErrNoAuthorities, "").Text)
	}
	return nil
}

func commandNamed(name string) *command {
	for _, c := range commands {
		if c.name == name {
			return c
		}
	}
	panic("no command " + name)
}
