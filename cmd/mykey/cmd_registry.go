package main

import (
	"cmp"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/mykey-jp/mykey/app"
	"github.com/mykey-jp/mykey/internal/wording"
	"github.com/mykey-jp/mykey/keyid"
)

// selectorFlags adds the --mykey-id / --patron / --service flags shared by
// the link commands, and --json.
func (a *invocation) selectorFlags(fs *flag.FlagSet) *app.Selector {
	s := &app.Selector{}
	fs.StringVar(&s.MyKeyID, "mykey-id", "", a.t(mFlagID))
	fs.StringVar(&s.Patron, "patron", "", a.t(mFlagPatron))
	fs.StringVar(&s.Service, "service", "", a.t(mFlagService))
	fs.BoolVar(&a.json, "json", false, a.t(mFlagJSON))
	return s
}

// resolveOne checks that exactly one of --mykey-id and --patron is given,
// and resolves the selector.
func (a *invocation) resolveOne(c *command, s *app.Selector) (app.Target, int) {
	if (s.MyKeyID == "") == (s.Patron == "") {
		return app.Target{}, a.usageError(c, a.t(mNeedOne, "--mykey-id, --patron"))
	}
	t, err := a.core.Resolve(*s)
	if err != nil {
		return t, a.fail(err, s.MyKeyID)
	}
	return t, exitOK
}

// linkSetup is the setup of link and relink (which always replaces).
func linkSetup(name string, alwaysReplace bool) func(a *invocation, fs *flag.FlagSet) func([]string) int {
	return func(a *invocation, fs *flag.FlagSet) func([]string) int {
		s := a.selectorFlags(fs)
		replace := &alwaysReplace
		if !alwaysReplace {
			replace = fs.Bool("replace", false, a.t(msg{"既存の紐付けを外して付け替える", "remove existing links and relink"}))
		}
		return func([]string) int { return a.link(commandNamed(name), s, *replace) }
	}
}

func (a *invocation) link(c *command, s *app.Selector, replace bool) int {
	if s.MyKeyID == "" || s.Patron == "" {
		return a.usageError(c, a.t(mNeedFlag, "--mykey-id, --patron"))
	}
	t, err := a.core.Resolve(*s)
	if err != nil {
		return a.fail(err, s.MyKeyID)
	}
	changed, err := a.core.Link(a.ctx, t, replace)
	if err != nil {
		return a.fail(err, app.Subject(err, t))
	}
	if a.json {
		a.printJSON(map[string]any{"ok": true, "changed": changed, "mykey_id": string(t.MyKeyID), "patron": t.Patron, "service": t.Service})
		return exitOK
	}
	switch {
	case !changed:
		a.println(a.t(mUnchanged, t.MyKeyID, t.Patron))
	case replace:
		a.println(a.t(mRelinked, t.MyKeyID, t.Patron))
	default:
		a.println(a.t(mLinked, t.MyKeyID, t.Patron))
	}
	return exitOK
}

func init() {
	register(&command{
		name:     "id new",
		summary:  msg{"新しいマイキーIDを発行して登録する", "mint and register new MyKey IDs"},
		usage:    "mykey id new [--count N] [--json]",
		needs:    needRegistry,
		desc:     msg{"乱数から新しいマイキーID（8文字、最後の1文字は検査文字）を発行し、登録簿に記録します。通常はカード登録（mykey register）が自動で発行します。", "Mints new random MyKey IDs (8 symbols, the last one a check character) and records them in the registry. Card registration (mykey register) normally does this itself."},
		examples: []string{"mykey id new", "mykey id new --count 3 --json"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			count := fs.Int("count", 1, a.t(msg{"発行する数 `N`（1〜1000）", "how many to mint, `N` (1 to 1000)"}))
			fs.BoolVar(&a.json, "json", false, a.t(mFlagJSON))
			return func(args []string) int {
				c := commandNamed("id new")
				if *count < 1 || *count > 1000 {
					return a.usageError(c, "--count: 1..1000")
				}
				return a.newIDs(*count)
			}
		},
	})

	register(&command{
		name:     "id check",
		summary:  msg{"マイキーIDの書式と検査文字を確かめる", "check the form and check character of MyKey IDs"},
		usage:    "mykey id check [--json] ID...",
		args:     "ID...",
		desc:     msg{"マイキーIDの書式と検査文字を確かめます（登録簿は見ません）。小文字、全角文字、空白やハイフンは受け付けます。1つでも誤りがあれば終了コード 2 です。", "Checks the form and check character of MyKey IDs, without looking at the registry. Lower case, full-width characters, spaces and hyphens are accepted. Exits with 2 if any is invalid."},
		examples: []string{"mykey id check 7K3M9QXF", "mykey id check 7k3m-9qxf --json"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			fs.BoolVar(&a.json, "json", false, a.t(mFlagJSON))
			return func(args []string) int {
				code := exitOK
				var results []map[string]any
				for _, s := range args {
					id, err := keyid.Parse(s)
					if err != nil {
						f := a.explain(err, s)
						code = f.exit
						fmt.Fprintln(a.stderr, a.t(mError)+f.text)
						r := map[string]any{"input": s, "valid": false, "message": f.text}
						if pe := (*keyid.ParseError)(nil); errors.As(err, &pe) {
							r["reason"] = pe.Reason.String()
							if pe.Pos > 0 {
								r["position"] = pe.Pos
							}
						}
						results = append(results, r)
						continue
					}
					if !a.json {
						a.println(a.t(mIDValid, id))
					}
					results = append(results, map[string]any{"input": s, "valid": true, "mykey_id": string(id)})
				}
				if a.json {
					a.printJSON(map[string]any{"ok": code == exitOK, "results": results})
				}
				return code
			}
		},
	})

	register(&command{
		name:     "audit verify",
		summary:  msg{"監査ログが改ざんされていないか確かめる", "check that the audit log was not tampered with"},
		usage:    "mykey audit verify [--json]",
		needs:    needRegistry,
		desc:     msg{"監査ログの各記録は、前の記録を含めたハッシュで連鎖しています。最初の記録から連鎖をたどり、mykey の外で書き換え・削除・挿入された記録があれば、最初に連鎖が切れた番号を示して終了コード 1 で終わります。", "Every audit entry carries a hash that covers the entry before it. This follows the chain from the first entry; if an entry was changed, removed or inserted outside mykey it names the first entry where the chain breaks and exits with 1."},
		examples: []string{"mykey audit verify", "mykey audit verify --json"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			fs.BoolVar(&a.json, "json", false, a.t(mFlagJSON))
			return func([]string) int { return a.auditVerify() }
		},
	})

	register(&command{
		name:     "link",
		summary:  msg{"マイキーIDと利用者番号を紐付ける", "link a MyKey ID to a patron number"},
		usage:    "mykey link --mykey-id ID --patron N [--service S] [--replace] [--json]",
		needs:    needRegistry,
		desc:     msg{"マイキーIDを利用者番号に紐付けます。1つのマイキーIDには1つの利用者番号、1つの利用者番号には1つのマイキーIDです（サービスごと）。既に別の相手と紐付いていれば失敗します。--replace を付けると古い紐付けを外して付け替えます。監査ログに記録されます。", "Links a MyKey ID to a patron number: one patron number per MyKey ID and one MyKey ID per patron number, per service. Fails if either is already linked elsewhere; --replace removes the old links and relinks. Recorded in the audit log."},
		examples: []string{"mykey link --mykey-id 7K3M9QXF --patron 12345678", "mykey link --mykey-id 7K3M9QXF --patron 87654321 --replace --json"},
		setup:    linkSetup("link", false),
	})

	register(&command{
		name:     "relink",
		summary:  msg{"紐付けを付け替える（link --replace と同じ）", "relink (the same as link --replace)"},
		usage:    "mykey relink --mykey-id ID --patron N [--service S] [--json]",
		needs:    needRegistry,
		desc:     msg{"マイキーIDを利用者番号に紐付け、どちらかの古い紐付けがあれば外します。利用者番号が変わったとき（図書館カードの再発行）や、別のマイキーIDに移すときに使います。監査ログに記録されます。", "Links a MyKey ID to a patron number, removing either one's old link: for a patron number that changed (a reissued library card) or moved to another MyKey ID. Recorded in the audit log."},
		examples: []string{"mykey relink --mykey-id 7K3M9QXF --patron 87654321"},
		setup:    linkSetup("relink", true),
	})

	register(&command{
		name:     "unlink",
		summary:  msg{"紐付けを解除する", "remove a link"},
		usage:    "mykey unlink (--mykey-id ID | --patron N) [--service S] [--json]",
		needs:    needRegistry,
		desc:     msg{"マイキーIDまたは利用者番号の紐付けを解除します。マイキーID自体と証明書の登録は残ります。監査ログに記録されます。", "Removes the link of a MyKey ID or of a patron number. The MyKey ID and its certificates stay registered. Recorded in the audit log."},
		examples: []string{"mykey unlink --mykey-id 7K3M9QXF", "mykey unlink --patron 12345678 --json"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			s := a.selectorFlags(fs)
			return func([]string) int { return a.unlink(s) }
		},
	})

	register(&command{
		name:     "lookup",
		summary:  msg{"マイキーIDまたは利用者番号を調べる", "look up a MyKey ID or a patron number"},
		usage:    "mykey lookup (--mykey-id ID | --patron N) [--service S] [--json]",
		needs:    needRegistry,
		desc:     msg{"マイキーIDから利用者番号を、または利用者番号からマイキーIDを調べます。見つからなければ終了コード 3 です。照会は監査ログに記録されます。", "Finds the patron number of a MyKey ID, or the MyKey ID of a patron number. Exits with 3 if there is none. Lookups are recorded in the audit log."},
		examples: []string{"mykey lookup --mykey-id 7K3M9QXF", "mykey lookup --patron 12345678 --json"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			s := a.selectorFlags(fs)
			return func([]string) int { return a.lookup(s) }
		},
	})

	register(&command{
		name:     "list",
		summary:  msg{"登録されているマイキーIDの一覧", "list the registered MyKey IDs"},
		usage:    "mykey list [--service S] [--json]",
		needs:    needRegistry,
		desc:     msg{"登録されているすべてのマイキーIDを、紐付いた利用者番号とともに登録順に表示します。一覧の表示は監査ログに記録されます。", "Lists every registered MyKey ID in order of registration, with its patron number. Listing is recorded in the audit log."},
		examples: []string{"mykey list", "mykey list --json > registry.json"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			service := fs.String("service", "", a.t(mFlagService))
			fs.BoolVar(&a.json, "json", false, a.t(mFlagJSON))
			return func([]string) int { return a.list(*service) }
		},
	})

	register(&command{
		name:     "audit",
		summary:  msg{"監査ログを表示する", "show the audit log"},
		usage:    "mykey audit [--since T] [--limit N] [--json]",
		needs:    needRegistry,
		desc:     msg{"監査ログ（いつ、誰が、何を、どのマイキーIDに、結果）を古い順に表示します。利用者番号や発行番号は記録されません。", "Shows the audit log (when, which OS user, what, which MyKey ID, outcome), oldest first. Patron numbers and issuance numbers are never recorded."},
		examples: []string{"mykey audit", "mykey audit --since 2026-11-01 --limit 0 --json"},
		setup: func(a *invocation, fs *flag.FlagSet) func([]string) int {
			limit := fs.Int("limit", 100, a.t(msg{"表示する件数 `N`（0 ならすべて）", "show the newest `N` entries (0: all)"}))
			since := fs.String("since", "", a.t(msg{"この日時以降だけ `T`（2026-11-01 または 2026-11-01T09:00:00+09:00）", "only entries from `T` on (2026-11-01 or 2026-11-01T09:00:00+09:00)"}))
			fs.BoolVar(&a.json, "json", false, a.t(mFlagJSON))
			return func([]string) int { return a.audit(*since, *limit) }
		},
	})
}

func (a *invocation) newIDs(n int) int {
	var ids []string
	_, err := a.core.NewIDs(a.ctx, n, func(id keyid.ID) {
		ids = append(ids, string(id))
		if !a.json {
			a.println(a.t(mNewID, id))
		}
	})
	if err != nil {
		return a.fail(err, "")
	}
	if a.json {
		a.printJSON(map[string]any{"ok": true, "mykey_ids": ids})
	}
	return exitOK
}

func (a *invocation) unlink(s *app.Selector) int {
	t, code := a.resolveOne(commandNamed("unlink"), s)
	if code != exitOK {
		return code
	}
	l, err := a.core.Unlink(a.ctx, t)
	if err != nil {
		return a.fail(err, cmp.Or(string(t.MyKeyID), t.Patron))
	}
	if a.json {
		a.printJSON(map[string]any{"ok": true, "mykey_id": string(l.MyKeyID), "patron": l.Patron, "service": t.Service})
		return exitOK
	}
	a.println(a.t(mUnlinked, l.MyKeyID, l.Patron))
	return exitOK
}

func (a *invocation) lookup(s *app.Selector) int {
	t, code := a.resolveOne(commandNamed("lookup"), s)
	if code != exitOK {
		return code
	}
	e, err := a.core.Lookup(a.ctx, t)
	if err != nil {
		return a.fail(err, cmp.Or(string(t.MyKeyID), t.Patron))
	}
	if a.json {
		a.printJSON(map[string]any{"ok": true, "entry": app.EntryView(t.Service, e)})
		return exitOK
	}
	fmt.Fprint(a.stdout, a.words().Entry(t.Service, e))
	return exitOK
}

func (a *invocation) list(service string) int {
	service = a.core.Service(service)
	list, err := a.core.List(a.ctx, service)
	if err != nil {
		return a.fail(err, "")
	}
	if a.json {
		a.printJSON(map[string]any{"ok": true, "service": service, "entries": app.EntryViews(service, list)})
		return exitOK
	}
	fmt.Fprint(a.stdout, a.words().List(list))
	return exitOK
}

func (a *invocation) audit(since string, limit int) int {
	var from time.Time
	if since != "" {
		var err error
		if from, err = app.ParseSince(since); err != nil {
			return a.usageError(commandNamed("audit"), "--since: "+err.Error())
		}
	}
	log, err := a.core.AuditLog(a.ctx, from, limit)
	if err != nil {
		return a.fail(err, "")
	}
	if a.json {
		a.printJSON(map[string]any{"ok": true, "entries": app.AuditViews(log)})
		return exitOK
	}
	fmt.Fprint(a.stdout, wording.AuditLines(log))
	return exitOK
}

func (a *invocation) auditVerify() int {
	n, err := a.core.VerifyAudit(a.ctx)
	if err != nil {
		return a.fail(err, "")
	}
	if a.json {
		a.printJSON(map[string]any{"ok": true, "entries": n})
		return exitOK
	}
	a.println(a.t(msg{"監査ログの %d 件を確かめました。連鎖は切れていません。", "checked %d audit entries: the chain holds."}, n))
	return exitOK
}
