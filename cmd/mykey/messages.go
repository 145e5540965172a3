package main

import "fmt"

// msg is one user-facing text in Japanese and English.
type msg struct{ ja, en string }

func (a *invocation) t(m msg, args ...any) string {
	s := m.ja
	if a.lang == "en" {
		s = m.en
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
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
	mConfigProblems = msg{"設定ファイルに問題があります。次の箇所を直してから、もう一度実行してください:", "the configuration has problems; fix these and run again:"}
	mConfigRead     = msg{"設定ファイル %s を読めません: %v", "cannot read the configuration %s: %v"}
	mConfigOK       = msg{"設定ファイル %s に問題はありません。", "the configuration %s is valid."}
	mConfigDefaults = msg{"設定ファイル %s はありません。既定値を使います。", "no configuration file at %s; using the defaults."}
	mConfigExists   = msg{"%s は既にあります。上書きするには --force を付けてください。", "%s already exists; add --force to overwrite it."}
	mConfigWritten  = msg{"設定ファイルを作成しました: %s", "wrote the configuration file %s"}
	mPathDatabase   = msg{"登録簿", "registry"}
	mPathKey        = msg{"秘密鍵", "secret key"}
	mPathLog        = msg{"ログ", "logs"}

	// identifiers
	mBadIDLength   = msg{"マイキーID %q は %d 文字です。8 文字で入力してください。", "MyKey ID %q has %d symbols; it must have 8."}
	mBadIDSymbol   = msg{"マイキーID %q の %d 文字目 %q は使えない文字です（使える文字: 数字と I・L・O・U 以外の英大文字）。", "MyKey ID %q: character %d, %q, is not allowed (digits and capital letters except I, L, O, U)."}
	mBadIDCheck    = msg{"マイキーID %q の検査文字が合いません。入力ミスがないか確かめてください。", "MyKey ID %q: the check character does not match; check for a typing mistake."}
	mIDValid       = msg{"%s は正しいマイキーIDです。", "%s is a valid MyKey ID."}
	mBadPatron     = msg{"利用者番号 %q は使えません: %s。設定の patron.pattern と patron.check_digit を確かめてください。", "patron number %q is not valid: %s. See patron.pattern and patron.check_digit in the configuration."}
	mPatronEmpty   = msg{"空です", "it is empty"}
	mPatronPattern = msg{"形式 %s に合いません", "it does not match the pattern %s"}
	mPatronCheck   = msg{"チェックディジット（%s）が合いません", "its check digit (%s) is wrong"}

	// registry
	mUnknownID     = msg{"マイキーID %s は登録されていません。", "MyKey ID %s is not registered."}
	mPatronUnknown = msg{"利用者番号 %s はどのマイキーIDにも紐付いていません。", "patron number %s is not linked to any MyKey ID."}
	mIDNotLinked   = msg{"マイキーID %s は紐付けられていません。", "MyKey ID %s is not linked."}
	mIDLinked      = msg{"マイキーID %s は既に別の利用者番号に紐付いています。付け替えるには --replace を付けてください。", "MyKey ID %s is already linked to another patron number; add --replace to relink it."}
	mPatronLinked  = msg{"利用者番号 %s は既に別のマイキーIDに紐付いています。付け替えるには --replace を付けてください。", "patron number %s is already linked to another MyKey ID; add --replace to relink it."}
	mCorrupt       = msg{"登録簿が壊れているか、mykey の登録簿ではありません。バックアップから戻してください。", "the registry is corrupt or not a mykey registry; restore it from a backup."}
	mReadOnly      = msg{"登録簿に書き込めません。フォルダとファイルの権限を確かめてください。", "the registry cannot be written; check the permissions of its folder and file."}
	mCannotOpen    = msg{"登録簿を開けません。設定の database.path を確かめてください。", "the registry cannot be opened; check database.path in the configuration."}
	mBusy          = msg{"登録簿を別のプログラムが使用中です。しばらくしてからもう一度実行してください。", "another program is using the registry; try again in a moment."}
	mRolledBack    = msg{"中断しました。処理中だった変更は取り消されました。", "interrupted: the change in progress was rolled back."}
	mTooNew        = msg{"登録簿は新しい版の mykey で作られています。mykey を更新してください。", "the registry was written by a newer mykey; update mykey."}
	mKeyPerm       = msg{"秘密鍵ファイルを他のユーザーが読める状態です。所有者だけが読めるようにしてください（Linux: chmod 600 ファイル）。", "the secret key file is readable by other users; make it readable by its owner only (Linux: chmod 600 FILE)."}
	mKeyFormat     = msg{"秘密鍵ファイルの内容が正しくありません。バックアップから戻してください。", "the secret key file is malformed; restore it from a backup."}
	mKeyCreated    = msg{"秘密鍵ファイルを作成しました: %s（登録簿とは別にバックアップしてください）", "created the secret key file %s (back it up apart from the registry)"}

	mLinked    = msg{"マイキーID %s を利用者番号 %s に紐付けました。", "linked MyKey ID %s to patron number %s."}
	mRelinked  = msg{"マイキーID %s を利用者番号 %s に付け替えました。", "relinked MyKey ID %s to patron number %s."}
	mUnchanged = msg{"マイキーID %s は既に利用者番号 %s に紐付いています（変更なし）。", "MyKey ID %s is already linked to patron number %s (no change)."}
	mUnlinked  = msg{"マイキーID %s と利用者番号 %s の紐付けを解除しました。", "unlinked MyKey ID %s from patron number %s."}
	mNewID     = msg{"新しいマイキーIDを登録しました: %s", "registered a new MyKey ID: %s"}

	mFieldID      = msg{"マイキーID", "MyKey ID"}
	mFieldPatron  = msg{"利用者番号", "Patron number"}
	mFieldCreated = msg{"登録日時", "Registered"}
	mFieldLinked  = msg{"紐付け日時", "Linked"}
	mFieldCerts   = msg{"有効な証明書", "Active certificates"}
	mFieldService = msg{"サービス", "Service"}
	mNone         = msg{"（なし）", "(none)"}
	mListEmpty    = msg{"登録されているマイキーIDはありません。", "no MyKey IDs are registered."}
	mListCount    = msg{"%d 件", "%d entries"}
)
