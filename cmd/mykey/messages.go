package main

import "github.com/mykey-jp/mykey/internal/wording"

// msg is one user-facing text of the CLI in Japanese and English; the words
// shared with the other front ends are in package wording.
type msg struct{ ja, en string }

// words is the invocation's language.
func (a *invocation) words() wording.Lang { return wording.Lang(a.lang) }

func (a *invocation) t(m msg, args ...any) string {
	return a.words().T(wording.Msg{JA: m.ja, EN: m.en}, args...)
}

// Messages. Japanese first; the English must say the same.
var (
	mUsageTop = msg{
		"使い方: mykey [--config ファイル] [--lang ja|en] <コマンド> [オプション]\n\nマイナンバーカードを図書館カードとして使うための受付用ツールです。\n\nコマンド:\n",
		"Usage: mykey [--config FILE] [--lang ja|en] <command> [options]\n\nThe desk utility that lets a library accept the My Number Card as a library card.\n\nCommands:\n",
	}
	mUsageTail = msg{
		"\n各コマンドの説明: mykey <コマンド> --help\n終了コード: 0 成功、1 失敗、2 使い方・設定の誤り、3 見つからない・未登録\n",
		"\nHelp on a command: mykey <command> --help\nExit codes: 0 ok, 1 failure, 2 usage or configuration error, 3 not found or not registered\n",
	}
	mUsage      = msg{"使い方: %s", "Usage: %s"}
	mOptions    = msg{"オプション:", "Options:"}
	mExamples   = msg{"例:", "Examples:"}
	mUnknownCmd = msg{"不明なコマンドです: %q（mykey --help で一覧を表示）", "unknown command %q (see mykey --help)"}
	mExtraArgs  = msg{"余分な引数があります: %v", "unexpected arguments: %v"}
	mNeedOne    = msg{"%s のどちらか一方を指定してください", "give exactly one of %s"}
	mNeedFlag   = msg{"%s を指定してください", "%s is required"}
	mError      = msg{"エラー: ", "error: "}

	mFlagConfig  = msg{"設定ファイル `FILE`（既定: %s）", "configuration `FILE` (default: %s)"}
	mFlagLang    = msg{"表示言語 `LANG`: ja または en", "`LANG`uage of messages: ja or en"}
	mFlagJSON    = msg{"結果を JSON で出力する", "print the result as JSON"}
	mFlagService = msg{"サービス名 `S`（既定: 設定の patron.service）", "service name `S` (default: patron.service from the configuration)"}
	mFlagID      = msg{"マイキーID `ID`（8文字）", "MyKey `ID` (8 characters)"}
	mFlagPatron  = msg{"利用者番号 `N`", "patron number `N`"}

	// config
	mConfigRead     = msg{"設定ファイル %s を読めません: %v", "cannot read the configuration %s: %v"}
	mNoAnchorsYet   = msg{"注意: 信頼する CA 証明書（revocation.trust_anchors）がまだありません。このままでは受付でどのカードも受け付けません。", "note: no trusted CA certificates (revocation.trust_anchors) yet: the desk would accept no card."}
	mConfigOK       = msg{"設定ファイル %s に問題はありません。", "the configuration %s is valid."}
	mConfigDefaults = msg{"設定ファイル %s はありません。既定値を使います。", "no configuration file at %s; using the defaults."}
	mConfigExists   = msg{"%s は既にあります。上書きするには --force を付けてください。", "%s already exists; add --force to overwrite it."}
	mConfigWritten  = msg{"設定ファイルを作成しました: %s", "wrote the configuration file %s"}
	mPathDatabase   = msg{"登録簿", "registry"}
	mPathKey        = msg{"秘密鍵", "secret key"}
	mPathLog        = msg{"ログ", "logs"}

	// identifiers
	mIDValid = msg{"%s は正しいマイキーIDです。", "%s is a valid MyKey ID."}

	// registry
	mRolledBack = msg{"中断しました。処理中だった変更は取り消されました。", "interrupted: the change in progress was rolled back."}
	mKeyCreated = msg{"秘密鍵ファイルを作成しました: %s（登録簿とは別にバックアップしてください）", "created the secret key file %s (back it up apart from the registry)"}

	mLinked    = msg{"マイキーID %s を利用者番号 %s に紐付けました。", "linked MyKey ID %s to patron number %s."}
	mRelinked  = msg{"マイキーID %s を利用者番号 %s に付け替えました。", "relinked MyKey ID %s to patron number %s."}
	mUnchanged = msg{"マイキーID %s は既に利用者番号 %s に紐付いています（変更なし）。", "MyKey ID %s is already linked to patron number %s (no change)."}
	mUnlinked  = msg{"マイキーID %s と利用者番号 %s の紐付けを解除しました。", "unlinked MyKey ID %s from patron number %s."}
	mNewID     = msg{"新しいマイキーIDを登録しました: %s", "registered a new MyKey ID: %s"}
)
