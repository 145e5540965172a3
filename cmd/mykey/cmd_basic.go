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

	register(&command{
		name:     "doctor",
		summary:  msg{"この窓口の状態を順に診断する", "diagnose this desk, step by step"},
		usage:    "mykey doctor [--json] [--bundle FILE [--force]]",
		desc:     msg{"設定（管理された設定を含む）、秘密鍵ファイルの権限、登録簿の整合性とスキーマ、信頼する CA 証明書と期限、CRL の鮮度、OCSP への到達（時間制限つき）、読み取り機（カードがあれば読み取り）、入力先ウィンドウと許可リスト、時計を順に調べ、行ごとに判定を表示します。何も変更しません。異常があれば終了コード 1 です。--bundle はヘルプデスクに送るサポート用 zip（診断結果、バージョン、秘密を除いた設定、ログの末尾）を書きます。個人情報は含みません。", "Checks, in order, the configuration (with its managed settings), the key file's permissions, the registry's integrity and schema, the trust anchors and their expiry, CRL freshness, the OCSP responder (bounded), the readers (reading a card if one is on a reader), the focused window against the allowlist, and the clock, with a verdict per line. Changes nothing. Exit code 1 when a check failed. --bundle writes a support zip for the help desk (the report, versions, the configuration without secrets, the log's last lines), without personal data."},
		examples: []string{"mykey doctor", "mykey doctor --json", "mykey doctor --bundle mykey-support.zip"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			fs.BoolVar(&a.json, "json", false, a.t(mFlagJSON))
			bundle := fs.String("bundle", "", a.t(msg{"サポート用 zip をこのファイルに書く", "write a support zip to this file"}))
			force := fs.Bool("force", false, a.t(msg{"既にあるファイルを置き換える", "replace an existing file"}))
			return func([]string) int {
				ctx, cancel := signalContext()
				defer cancel()
				c, err := a.config()
				rep := app.Doctor(ctx, c, err, a.devices, app.OSUser())
				text := a.words().Doctor(rep)
				if a.json {
					a.printJSON(rep)
				} else {
					fmt.Fprint(a.stdout, text)
				}
				if *bundle != "" {
					if err := app.Bundle(ctx, c, a.devices, *bundle, rep, text, *force); err != nil {
						return a.fail(err, *bundle)
					}
					fmt.Fprintln(a.stderr, a.t(msg{"サポート用 zip を書きました: %s", "support zip written: %s"}, *bundle))
				}
				if !rep.OK() {
					return exitFailure
				}
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
