// Package wording is what mykey says to people, Japanese first and English
// alike: the message type, the words for every error the application core
// returns (with a code for scripts and a kind the front end maps to an exit
// code or an HTTP status), for certificate decisions, desk outcomes and
// import problems. The CLI, the tray and the browser console word things
// through it, so each says the same.
package wording

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mykey-jp/mykey/app"
	"github.com/mykey-jp/mykey/batch"
	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/certcheck"
	"github.com/mykey-jp/mykey/config"
	"github.com/mykey-jp/mykey/desk"
	"github.com/mykey-jp/mykey/enroll"
	"github.com/mykey-jp/mykey/genuine"
	"github.com/mykey-jp/mykey/keyboardwedge"
	"github.com/mykey-jp/mykey/keyfile"
	"github.com/mykey-jp/mykey/keyid"
	"github.com/mykey-jp/mykey/store"
	"github.com/mykey-jp/mykey/store/postgres"
)

// Msg is one text in Japanese and English (with fmt verbs when it takes
// arguments).
type Msg struct{ JA, EN string }

// Lang is "ja" or "en"; anything but "en" is Japanese.
type Lang string

// T words m in l, formatting args into it.
func (l Lang) T(m Msg, args ...any) string {
	s := m.JA
	if l == "en" {
		s = m.EN
	}
	if len(args) == 0 {
		return s
	}
	return fmt.Sprintf(s, args...)
}

// Kind is what kind of failure an error is.
type Kind int

// The kinds. A CLI maps them to exit codes 1, 2 and 3.
const (
	Failed   Kind = iota + 1 // it did not work
	Usage                    // the input or the configuration is wrong
	NotFound                 // not found or not registered
)

var (
	mTooLarge       = Msg{"大きすぎるため読みません（上限は設定の revocation.crl_max_mb、CSV は 512 MB）。ファイルを確かめてください。", "too large to read (the bounds: revocation.crl_max_mb; 512 MB for CSV files); check the file."}
	mNotAFile       = Msg{"通常のファイルではないため読みません（フォルダ、パイプ、デバイスは読めません）。ファイルの名前を確かめてください。", "not a regular file (a folder, pipe or device cannot be read); check the file name."}
	mRosterShrink   = Msg{"利用者名簿が %d 人から %d 人に減ります。ファイルを取り違えていないか確かめてください。このまま取り込むには --allow-shrink を付けてください（名簿にない利用者番号は登録・紐付けできなくなります）。", "the roster would shrink from %d to %d patrons. Check that this is the right file; to import it all the same, add --allow-shrink (patron numbers not on it can no longer be registered or linked)."}
	mIDNotLinked    = Msg{"マイキーID %s は紐付けられていません。", "MyKey ID %s is not linked."}
	mAuditBroken    = Msg{"監査ログの記録の連鎖が %d 番で切れています。その記録か、その前の記録が mykey の外で書き換え・削除・挿入されました。登録簿のファイルを誰が変更できるか確かめ、必要ならバックアップから戻してください。", "the audit log's chain is broken at entry %d: it, or an entry before it, was changed, removed or inserted outside mykey. Check who can write the registry file, and restore a backup if needed."}
	mKeyMissing     = Msg{"秘密鍵ファイルがありません。登録簿には、この鍵で登録したカードがあるため、新しい鍵は作りません（作るとすべてのカードが未登録になります）。別に保管した秘密鍵ファイルのバックアップを元の場所に戻してください。", "the secret key file is missing. The registry holds cards registered with it, so no new key is made (every card would become unregistered); put the backup of the secret key file back in its place."}
	mKeyMismatch    = Msg{"秘密鍵ファイルがこの登録簿のものではありません（別の鍵で登録した登録簿です）。この登録簿と一緒に使っていた秘密鍵ファイルを戻すか、設定の keyfile.path と database.path を確かめてください。共有登録簿の窓口では、登録簿の鍵を mykey key export / mykey key import で取り込んでください。", "the secret key file does not belong to this registry (it was registered with another key). Put back the key file used with this registry, or check keyfile.path and database.path in the configuration. At a desk of a shared registry, bring in the registry's key with mykey key export / mykey key import."}
	mConfigProblems = Msg{"設定ファイルに問題があります。次の箇所を直してから、もう一度実行してください:", "the configuration has problems; fix these and run again:"}
	mBadIDLength    = Msg{"マイキーID %q は %d 文字です。8 文字で入力してください。", "MyKey ID %q has %d symbols; it must have 8."}
	mBadIDSymbol    = Msg{"マイキーID %q の %d 文字目 %q は使えない文字です（使える文字: 数字と I・L・O・U 以外の英大文字）。", "MyKey ID %q: character %d, %q, is not allowed (digits and capital letters except I, L, O, U)."}
	mBadIDCheck     = Msg{"マイキーID %q の検査文字が合いません。入力ミスがないか確かめてください。", "MyKey ID %q: the check character does not match; check for a typing mistake."}
	mBadPatron      = Msg{"利用者番号 %q は使えません: %s。設定の patron.pattern と patron.check_digit を確かめてください。", "patron number %q is not valid: %s. See patron.pattern and patron.check_digit in the configuration."}
	mPatronEmpty    = Msg{"空です", "it is empty"}
	mPatronPattern  = Msg{"形式 %s に合いません", "it does not match the pattern %s"}
	mPatronCheck    = Msg{"チェックディジット（%s）が合いません", "its check digit (%s) is wrong"}
	mUnknownID      = Msg{"マイキーID %s は登録されていません。", "MyKey ID %s is not registered."}
	mPatronUnknown  = Msg{"利用者番号 %s はどのマイキーIDにも紐付いていません。", "patron number %s is not linked to any MyKey ID."}
	mIDLinked       = Msg{"マイキーID %s は既に別の利用者番号に紐付いています。付け替えるには --replace を付けてください。", "MyKey ID %s is already linked to another patron number; add --replace to relink it."}
	mPatronLinked   = Msg{"利用者番号 %s は既に別のマイキーIDに紐付いています。付け替えるには --replace を付けてください。", "patron number %s is already linked to another MyKey ID; add --replace to relink it."}
	mCorrupt        = Msg{"登録簿が壊れているか、mykey の登録簿ではありません。バックアップから戻してください。", "the registry is corrupt or not a mykey registry; restore it from a backup."}
	mReadOnly       = Msg{"登録簿に書き込めません。フォルダとファイルの権限を確かめてください。", "the registry cannot be written; check the permissions of its folder and file."}
	mCannotOpen     = Msg{"登録簿を開けません。設定の database.path を確かめてください。", "the registry cannot be opened; check database.path in the configuration."}
	mBusy           = Msg{"登録簿を別のプログラムが使用中です。しばらくしてからもう一度実行してください。", "another program is using the registry; try again in a moment."}
	mTooNew         = Msg{"登録簿は新しい版の mykey で作られています。mykey を更新してください。", "the registry was written by a newer mykey; update mykey."}
	mKeyPerm        = Msg{"秘密鍵ファイルを他のユーザーが読める状態です。所有者だけが読めるようにしてください（Linux: chmod 600 ファイル）。", "the secret key file is readable by other users; make it readable by its owner only (Linux: chmod 600 FILE)."}
	mKeyFormat      = Msg{"秘密鍵ファイルの内容が正しくありません。バックアップから戻してください。", "the secret key file is malformed; restore it from a backup."}
	mNotJPKI        = Msg{"マイナンバーカードではありません（JPKI の機能がありません）。", "this is not a My Number Card (no JPKI applet)."}
	mCardRemoved    = Msg{"読み取り中にカードが離されました。もう一度かざしてください。", "the card was removed while being read; hold it on the reader again."}
	mReaderGone     = Msg{"カードリーダーまたはスマートカードサービス（Linux: pcscd）が応答しません。接続とサービスを確かめてください。", "the card reader or the smart-card service (Linux: pcscd) is not responding; check the connection and the service."}
	mBadCert        = Msg{"カードの証明書を読み取れません。カードをかざし直してください。続くときはカードの不具合です。", "the certificate on the card cannot be read; hold the card again. If it persists, the card is faulty."}
	mCardMalform    = Msg{"カードの応答が正しくありません。かざし直してください。", "the card gave a malformed answer; hold it again."}
	PINBlocked      = Msg{"暗証番号がロックされています。市区町村の窓口で解除が必要です。", "the PIN is blocked; the city office must unlock it."}
	mPINLastTry     = Msg{"暗証番号の残り回数が 1 回です。間違えるとロックされます。", "only one PIN try is left; a wrong PIN blocks the card."}
	mNoCard         = Msg{"カードがかざされませんでした。", "no card was presented."}
	NoReaders       = Msg{"カードリーダーが見つかりません。接続とドライバー、スマートカードサービス（Linux: pcscd）を確かめてください。", "no card reader found; check the connection, its driver and the smart-card service (Linux: pcscd)."}
	mNoSuchReader   = Msg{"カードリーダー %q が見つかりません。mykey readers で名前を確かめてください。", "no card reader matches %q; see mykey readers for the names."}
	mWrongPIN       = Msg{"暗証番号が違います。残り %d 回です。", "wrong PIN; %d tries left."}
	mBadPINFormat   = Msg{"暗証番号は数字4桁です。", "the PIN is 4 digits."}
	mNotGenuine     = Msg{"カードの署名が証明書と合いません。証明書の写しか、カードの故障です。登録しません。", "the card's signature does not match its certificate: a copied certificate or a faulty card. Not registered."}
	mRejected       = Msg{"証明書を確認できないため登録しません: %s", "not registered, the certificate check failed: %s"}
	mNoAnchors      = Msg{"信頼する CA 証明書が設定されていません。設定の revocation.trust_anchors に J-LIS の利用者証明用 CA 証明書のファイルを書いてください。", "no trusted CA certificates are configured; list J-LIS's user-identification CA certificate files in revocation.trust_anchors."}
	mCRLBad         = Msg{"CRL を取り込めません。元の CRL はそのまま使われます。", "the CRL cannot be imported; the previous one stays in use."}
	mCRLOlder       = Msg{"この CRL は取り込み済みのものより古いため、取り込みません。", "this CRL is older than the one already imported; not imported."}
	mRefused        = Msg{"入力先 %s には入力しません: %s。設定の wedge.allow_exe と wedge.allow_title を確かめてください（mykey wedge focus で名前を調べられます）。", "not typing into %s: %s. Check wedge.allow_exe and wedge.allow_title (mykey wedge focus shows the names)."}
	mInterrupted    = Msg{"入力中にフォーカスが %s に移ったため中断しました。入力済み: %q", "focus moved to %s while typing; stopped after %q."}
	mNoDisplay      = Msg{"画面（デスクトップ）がないため入力できません。利用者がログインしたデスクトップで動かしてください。", "there is no display (desktop session) to type into; run it in a logged-in desktop session."}
	mNoFocus        = Msg{"キー入力を受けるウィンドウがありません。", "no window has keyboard focus."}
	mBadText        = Msg{"入力できない文字があります: %v", "the text cannot be typed: %v"}
	mSameID         = Msg{"%d 行目と同じマイキーID", "same MyKey ID as line %d"}
	mSamePatron     = Msg{"%d 行目と同じ利用者番号", "same patron number as line %d"}
)

// Failure is what one error means for the user: a code for scripts, its
// kind, and the message.
type Failure struct {
	Code string
	Kind Kind
	Text string
}

// Explain maps an error to its failure. subject names the ID or patron
// number the call was about, for messages that quote it. Errors it does not
// know are Failed with the error's own text.
func (l Lang) Explain(err error, subject string) Failure {
	var ce *config.Error
	var pe *keyid.ParseError
	var pat *keyid.PatronError
	var ab *store.AuditBreakError
	var rs *store.RosterShrinkError
	if f, ok := l.genuineFailure(err); ok { // before cardFailure: its PIN errors are another PIN's
		return f
	}
	if f, ok := l.cardFailure(err); ok {
		return f
	}
	if f, ok := l.certFailure(err); ok {
		return f
	}
	if f, ok := l.wedgeFailure(err); ok {
		return f
	}
	if f, ok := l.enrollFailure(err); ok {
		return f
	}
	switch {
	case errors.As(err, &ab): // before ErrCorrupt: a backup refuses a broken chain as corrupt
		return Failure{"audit-broken", Failed, l.T(mAuditBroken, ab.Seq)}
	case errors.As(err, &ce):
		text := l.T(mConfigProblems)
		for _, p := range ce.Problems {
			text += "\n  " + p.String()
		}
		return Failure{"config", Usage, text}
	case errors.As(err, &pe):
		switch pe.Reason {
		case keyid.ReasonLength:
			return Failure{"invalid-id", Usage, l.T(mBadIDLength, pe.Input, pe.Len)}
		case keyid.ReasonSymbol:
			return Failure{"invalid-id", Usage, l.T(mBadIDSymbol, pe.Input, pe.Pos, string(pe.Char))}
		default:
			return Failure{"invalid-id", Usage, l.T(mBadIDCheck, pe.Input)}
		}
	case errors.As(err, &pat):
		return Failure{"invalid-patron", Usage, l.T(mBadPatron, pat.Input, l.patronReason(pat))}
	case errors.Is(err, app.ErrIDNotLinked):
		return Failure{"not-found", NotFound, l.T(mIDNotLinked, subject)}
	case errors.Is(err, store.ErrUnknownID):
		return Failure{"unknown-id", NotFound, l.T(mUnknownID, subject)}
	case errors.Is(err, store.ErrNotFound):
		return Failure{"not-found", NotFound, l.T(mPatronUnknown, subject)}
	case errors.Is(err, store.ErrIDLinked):
		return Failure{"id-linked", Failed, l.T(mIDLinked, subject)}
	case errors.Is(err, store.ErrPatronLinked):
		return Failure{"patron-linked", Failed, l.T(mPatronLinked, subject)}
	case errors.Is(err, store.ErrNotInRoster):
		return Failure{"not-in-roster", Failed, l.T(Msg{"利用者番号 %s は図書館の利用者名簿にありません（mykey import patrons で取り込んだ名簿）。", "patron number %s is not on the library's roster (imported with mykey import patrons)."}, subject)}
	case errors.Is(err, store.ErrPatronInactive):
		return Failure{"inactive", Failed, l.T(Msg{"利用者番号 %s は利用者名簿で無効か期限切れです。", "patron number %s is inactive or expired on the roster."}, subject)}
	case errors.Is(err, store.ErrCorrupt):
		return Failure{"corrupt", Failed, l.T(mCorrupt) + "\n  " + err.Error()}
	case errors.Is(err, postgres.ErrNotEmpty):
		return Failure{"not-empty", Failed, l.T(Msg{"移行先の共有登録簿には別のデータがあります。上書きしません。空のデータベースを指定するか、移行先を確かめてください。", "the target shared registry holds other data; it is not overwritten. Give an empty database, or check the target."}) + "\n  " + err.Error()}
	case errors.Is(err, store.ErrNoBackup):
		return Failure{"no-backup", Failed, l.T(Msg{"共有登録簿（PostgreSQL）は mykey ではバックアップ・復元しません。データベースの道具（pg_dump / pg_restore）で行ってください。", "mykey does not back up or restore the shared registry (PostgreSQL): use the database's tools (pg_dump / pg_restore)."})}
	case errors.Is(err, postgres.ErrUntrusted):
		return Failure{"untrusted", Failed, l.T(Msg{"共有登録簿（PostgreSQL）のサーバー証明書を確かめられませんでした。database.url の sslrootcert がサーバー証明書を発行した認証局の証明書ファイルを指しているか、URL のホスト名がサーバー証明書にある名前と同じかを確かめてください。", "the shared registry's (PostgreSQL) server certificate did not verify: check that sslrootcert in database.url names the certificate file of the authority that issued it, and that the URL's host name is a name in that certificate."}) + "\n  " + err.Error()}
	case errors.Is(err, postgres.ErrLogin):
		return Failure{"login", Failed, l.T(Msg{"共有登録簿（PostgreSQL）がログインを断りました。database.url の役割（ユーザー名）とデータベース名、database.password_file のパスワード、サーバーの pg_hba.conf を確かめてください。", "the shared registry (PostgreSQL) refused the login: check the role (user name) and the database in database.url, the password in database.password_file, and the server's pg_hba.conf."}) + "\n  " + err.Error()}
	case errors.Is(err, store.ErrOffline):
		return Failure{"offline", Failed, l.T(Msg{"共有登録簿（PostgreSQL）に接続できません。登録・紐付け・取り込みはつながってから行ってください（窓口での入力は複製で続きます）。ネットワークとデータベースサーバーを確かめてください。", "the shared registry (PostgreSQL) cannot be reached: register, link and import once it is back (taps at the desk keep working from the replica). Check the network and the database server."}) + "\n  " + err.Error()}
	case errors.Is(err, store.ErrNotAllowed):
		return Failure{"not-allowed", Failed, l.T(Msg{"この PC のデータベースの役割には、この操作の権限がありません。窓口用の役割では登録簿を変更できないため、登録・紐付け・取り込みは管理者の役割を database.url に設定した PC で行ってください。窓口が登録簿を読めないときは、IT 担当者が mykey registry roles-sql の権限をサーバーに入れ直してください。", "this PC's database role lacks the permission for this. A desk's role may not change the registry: register, link and import from a PC with the administrator's role in database.url. If a desk cannot read the registry, IT staff re-apply the grants of mykey registry roles-sql on the server."}) + "\n  " + err.Error()}
	case errors.Is(err, store.ErrReadOnly):
		return Failure{"read-only", Failed, l.T(mReadOnly) + "\n  " + err.Error()}
	case errors.Is(err, store.ErrBusy):
		return Failure{"busy", Failed, l.T(mBusy) + "\n  " + err.Error()}
	case errors.Is(err, store.ErrSchemaTooNew):
		return Failure{"schema-too-new", Failed, l.T(mTooNew) + "\n  " + err.Error()}
	case errors.Is(err, store.ErrCannotOpen):
		return Failure{"cannot-open", Failed, l.T(mCannotOpen) + "\n  " + err.Error()}
	case errors.As(err, &rs):
		return Failure{"roster-shrink", Failed, l.T(mRosterShrink, rs.Old, rs.New)}
	case errors.Is(err, app.ErrWrongPassword):
		return Failure{"wrong-password", Usage, l.T(Msg{"管理者パスワードが違います。", "The administrator password is wrong."})}
	case errors.Is(err, app.ErrNoPassword):
		return Failure{"no-password", Usage, l.T(Msg{"管理画面の管理者パスワードが設定されていません。IT 担当者が mykey console password で設定してください。", "No console administrator password is set; IT staff set one with mykey console password."})}
	case errors.Is(err, app.ErrWeakPassword):
		return Failure{"weak-password", Usage, l.T(Msg{"管理者パスワードは 10〜128 文字にしてください。", "The administrator password must be 10 to 128 characters."})}
	case errors.Is(err, app.ErrWeakPassphrase):
		return Failure{"weak-passphrase", Usage, l.T(Msg{"パスフレーズは 12〜256 文字にしてください。", "The passphrase must be 12 to 256 characters."})}
	case errors.Is(err, keyfile.ErrPassphrase):
		return Failure{"wrong-passphrase", Failed, l.T(Msg{"%s を開けません。パスフレーズが違うか、ファイルが変えられています。", "%s cannot be opened: wrong passphrase, or the file was changed."}, subject)}
	case errors.Is(err, app.ErrKeyExists):
		return Failure{"key-exists", Failed, l.T(Msg{"この窓口には別の秘密鍵ファイルがあります。置き換えません（必要なら別の場所へ移してから取り込んでください）。\n  %v", "this desk has another key file; it is not replaced (move it away first if it is not needed).\n  %v"}, err)}
	case errors.Is(err, app.ErrTooLarge):
		return Failure{"too-large", Usage, l.T(mTooLarge) + "\n  " + err.Error()}
	case errors.Is(err, app.ErrNotAFile):
		return Failure{"not-a-file", Usage, l.T(mNotAFile) + "\n  " + err.Error()}
	case errors.Is(err, app.ErrKeyMissing):
		return Failure{"key-missing", Failed, l.T(mKeyMissing) + "\n  " + err.Error()}
	case errors.Is(err, store.ErrKeyMismatch):
		return Failure{"key-mismatch", Failed, l.T(mKeyMismatch) + "\n  " + err.Error()}
	case errors.Is(err, keyfile.ErrPermissions):
		return Failure{"key-permissions", Usage, l.T(mKeyPerm) + "\n  " + err.Error()}
	case errors.Is(err, keyfile.ErrFormat):
		return Failure{"key-format", Failed, l.T(mKeyFormat) + "\n  " + err.Error()}
	}
	return Failure{"error", Failed, err.Error()}
}

// patronReason words why a patron number was refused.
func (l Lang) patronReason(e *keyid.PatronError) string {
	switch e.Reason {
	case keyid.PatronEmpty:
		return l.T(mPatronEmpty)
	case keyid.PatronPattern:
		return l.T(mPatronPattern, e.Detail)
	case keyid.PatronCheckDigit:
		return l.T(mPatronCheck, e.Detail)
	}
	return e.Reason.String()
}

// cardFailure explains card-side errors; explain falls back to it.
func (l Lang) cardFailure(err error) (Failure, bool) {
	switch {
	case errors.Is(err, cardio.ErrNotJPKI):
		return Failure{"not-jpki", Failed, l.T(mNotJPKI)}, true
	case errors.Is(err, cardio.ErrCardRemoved):
		return Failure{"card-removed", Failed, l.T(mCardRemoved)}, true
	case errors.Is(err, cardio.ErrReaderGone):
		return Failure{"reader-gone", Failed, l.T(mReaderGone) + "\n  " + err.Error()}, true
	case errors.Is(err, cardio.ErrBadCertificate):
		return Failure{"bad-certificate", Failed, l.T(mBadCert) + "\n  " + err.Error()}, true
	case errors.Is(err, cardio.ErrMalformed):
		return Failure{"malformed", Failed, l.T(mCardMalform) + "\n  " + err.Error()}, true
	case errors.Is(err, cardio.ErrPINBlocked):
		return Failure{"pin-blocked", Failed, l.T(PINBlocked)}, true
	case errors.Is(err, cardio.ErrLastTry):
		return Failure{"pin-last-try", Failed, l.T(mPINLastTry)}, true
	case errors.Is(err, app.ErrNoCard):
		return Failure{"no-card", NotFound, l.T(mNoCard)}, true
	case errors.Is(err, app.ErrNoReaders):
		return Failure{"no-readers", Failed, l.T(NoReaders)}, true
	}
	var nr *app.NoSuchReaderError
	if errors.As(err, &nr) {
		return Failure{"no-such-reader", Usage, l.T(mNoSuchReader, nr.Name)}, true
	}
	return Failure{}, false
}

var ReasonText = map[certcheck.Reason]Msg{
	certcheck.Good:        {"有効な証明書です。", "the certificate is valid."},
	certcheck.Revoked:     {"この証明書は失効しています。", "the certificate is revoked."},
	certcheck.Expired:     {"この証明書は有効期限が切れています。カードの更新が必要です。", "the certificate has expired; the card needs renewal."},
	certcheck.NotYetValid: {"この証明書はまだ有効期間の前です。PC の時計を確かめてください。", "the certificate is not valid yet; check the PC's clock."},
	certcheck.Untrusted:   {"信頼する発行元（設定の revocation.trust_anchors）のものではありません。", "not issued by a trusted CA (revocation.trust_anchors in the configuration)."},
	certcheck.TestCard:    {"テスト用カードです。本番では使えません（設定の revocation.test_mode）。", "this is a test card; it is refused in production (revocation.test_mode)."},
	certcheck.BadProfile:  {"利用者証明用電子証明書の形式ではありません。", "not a user-identification certificate."},
	certcheck.StaleCRL:    {"CRL が古くなっています。mykey crl import で最新の CRL を取り込んでください。", "the CRL is out of date; import a new one with mykey crl import."},
	certcheck.Unknown:     {"OCSP レスポンダーはこの証明書を知らないと答えました。", "the OCSP responder does not know this certificate."},
	certcheck.Unavailable: {"失効を確認できません（OCSP も CRL も答えがありません）。", "revocation cannot be checked (neither OCSP nor a CRL answers)."},
}

func (l Lang) certFailure(err error) (Failure, bool) {
	switch {
	case errors.Is(err, app.ErrNoAnchors):
		return Failure{"no-trust-anchors", Usage, l.T(mNoAnchors)}, true
	case errors.Is(err, certcheck.ErrCRLOlder):
		return Failure{"crl-older", Failed, l.T(mCRLOlder) + "\n  " + err.Error()}, true
	case errors.Is(err, certcheck.ErrCRL), errors.Is(err, certcheck.ErrCRLIssuer), errors.Is(err, certcheck.ErrCRLSignature):
		return Failure{"crl-invalid", Failed, l.T(mCRLBad) + "\n  " + err.Error()}, true
	}
	return Failure{}, false
}

func (l Lang) wedgeFailure(err error) (Failure, bool) {
	var re *keyboardwedge.RefusedError
	var ie *keyboardwedge.InterruptedError
	switch {
	case errors.As(err, &re):
		return Failure{"focus-refused", Failed, l.T(mRefused, re.Window, re.Why)}, true
	case errors.As(err, &ie):
		return Failure{"focus-moved", Failed, l.T(mInterrupted, ie.To, ie.Typed)}, true
	case errors.Is(err, keyboardwedge.ErrNoDisplay):
		return Failure{"no-display", Failed, l.T(mNoDisplay) + "\n  " + err.Error()}, true
	case errors.Is(err, keyboardwedge.ErrNoFocus):
		return Failure{"no-focus", Failed, l.T(mNoFocus)}, true
	case errors.Is(err, keyboardwedge.ErrBadText):
		return Failure{"bad-text", Usage, l.T(mBadText, err)}, true
	}
	return Failure{}, false
}

func (l Lang) enrollFailure(err error) (Failure, bool) {
	var pe *cardio.PINError
	var re *enroll.RejectedError
	switch {
	case errors.As(err, &pe):
		return Failure{"wrong-pin", Failed, l.T(mWrongPIN, pe.TriesLeft)}, true
	case errors.Is(err, cardio.ErrBadPIN):
		return Failure{"bad-pin", Usage, l.T(mBadPINFormat)}, true
	case errors.Is(err, enroll.ErrNotGenuine):
		return Failure{"not-genuine", Failed, l.T(mNotGenuine)}, true
	case errors.As(err, &re):
		return Failure{"rejected", Failed, l.T(mRejected, l.T(ReasonText[re.Decision.Reason]))}, true
	case errors.Is(err, store.ErrCertRegistered):
		return Failure{"cert-registered", Failed, l.T(Msg{"このカードは別のマイキーIDに登録されています。", "this card is registered to another MyKey ID."})}, true
	}
	return Failure{}, false
}

// Texts of the genuine-card check's failures, by genuine.Outcome.
var genuineText = map[string]Msg{
	"no-surface-ap":        {"券面事項確認APがないカードです（マイナンバーカードではありません）。PIN なしでは受け付けられません。", "the card has no card-surface applet (not a My Number Card): it cannot be accepted without a PIN."},
	"genuine-data-missing": {"このカードには真正性確認のための登録がありません。窓口で登録し直してください（mykey register）。", "this card was registered before the genuine-card check: register it again at the counter (mykey register)."},
	"dob-locked":           {"カードの生年月日による照合がロックされている（または残り回数がわずかな）ため、確認できません。市区町村の窓口での手続きを案内してください。", "the card's date-of-birth key is blocked (or nearly): the card cannot be checked; the holder must see the city office."},
	"cloned-card":          {"登録されたカードではないか、複製の疑いがあるカードです。入力しません。", "not the registered card, or a suspected clone: nothing typed."},
	"not-genuine":          {"本物のマイナンバーカードであることを確認できません（発行者の署名または生年月日が一致しません）。", "the card cannot be confirmed as a genuine My Number Card (the issuer's signatures or the date of birth do not match)."},
}

// genuineFailure explains the genuine-card check's errors, at the desk and
// at registration.
func (l Lang) genuineFailure(err error) (Failure, bool) {
	var pe *cardio.PINError
	var de *cardio.DOBError
	switch {
	case errors.Is(err, app.ErrNoAuthorities):
		return Failure{"no-cvc-authorities", Usage, l.T(Msg{"真正性確認に使う CVC 発行者の公開鍵が設定されていません。設定の genuine.authorities に \"鍵ID=ファイル\" を書いてください（README 参照）。", "no CVC CA keys are configured for the genuine-card check: list \"KEY ID=FILE\" in genuine.authorities (see the README)."})}, true
	case errors.Is(err, app.ErrBadDOB):
		return Failure{"bad-dob", Usage, l.T(Msg{"生年月日は西暦 8 桁（YYYYMMDD、例: 19800217）で入力してください。", "type the date of birth as YYYYMMDD (e.g. 19800217)."})}, true
	case errors.Is(err, app.ErrNoDOB):
		return Failure{"no-dob", Usage, l.T(Msg{"真正性確認には生年月日が必要です。券面の生年月日を --dob YYYYMMDD で入力するか、--dob-from-card で券面事項入力補助用の暗証番号を入力してもらってください。", "the genuine-card check needs the date of birth: type it from the card face with --dob YYYYMMDD, or use --dob-from-card and have the patron enter the input-assist PIN."})}, true
	case errors.Is(err, app.ErrAssistPIN) && errors.As(err, &pe):
		return Failure{"wrong-assist-pin", Failed, l.T(Msg{"券面事項入力補助用の暗証番号が違います（残り %d 回）。続けて間違えるとロックされます。", "wrong input-assist PIN (%d tries left); more wrong tries lock it."}, pe.TriesLeft)}, true
	case errors.Is(err, app.ErrAssistPIN) && errors.Is(err, cardio.ErrLastTry):
		return Failure{"assist-pin-last-try", Failed, l.T(Msg{"券面事項入力補助用の暗証番号の残りが 1 回のため使いません。--dob で券面の生年月日を入力してください。", "the input-assist PIN has one try left, which is kept: type the date of birth from the card face with --dob."})}, true
	case errors.Is(err, app.ErrAssistPIN) && errors.Is(err, cardio.ErrPINBlocked):
		return Failure{"assist-pin-blocked", Failed, l.T(Msg{"券面事項入力補助用の暗証番号がロックされています。--dob で券面の生年月日を入力してください。", "the input-assist PIN is blocked: type the date of birth from the card face with --dob."})}, true
	case errors.Is(err, app.ErrAssistPIN) && errors.Is(err, cardio.ErrBadPIN):
		return Failure{"bad-pin", Usage, l.T(Msg{"券面事項入力補助用の暗証番号は数字 4 桁です。", "the input-assist PIN is 4 digits."})}, true
	case errors.Is(err, genuine.ErrDOBMismatch) && errors.As(err, &de):
		return Failure{"dob-mismatch", Failed, l.T(Msg{"生年月日がカードと一致しません（残り %d 回）。同じ値で再試行せず、券面を確かめてください。", "the date of birth does not match the card (%d tries left); do not retry the same value: check the card face."}, de.TriesLeft)}, true
	}
	if code := genuine.Outcome(err); code != "" {
		return Failure{code, Failed, l.T(genuineText[code])}, true
	}
	return Failure{}, false
}

// Inspection words what a card shows of the genuine-card check.
func (l Lang) Inspection(in *genuine.Inspection) string {
	if in.Problem != "" {
		return l.T(Msg{"真正性確認: 不可（%s）", "genuine-card check: would fail (%s)"}, in.Problem)
	}
	return l.T(Msg{"真正性確認: 券面事項確認APあり、CVC %s 検証済み、生年月日照合の残り %d 回（照合には登録時の生年月日が必要）", "genuine-card check: card-surface applet present, CVC %s verified, date-of-birth key %d tries left (the full check needs the registered date of birth)"}, in.CVC, in.DOBTriesLeft)
}

// GenuineCount words how many links of the genuine-card check's mode lack
// its data.
func (l Lang) GenuineCount(mode string, n store.GenuineCount) string {
	return l.T(Msg{"真正性確認（%s）: 紐付け %d 件、情報なし %d 件", "genuine-card check (%s): %d links, %d lacking the data"}, mode, n.Linked, n.Missing)
}

// GenuineMissing warns, as the desk starts, of links that lack the data.
func (l Lang) GenuineMissing(n store.GenuineCount) string {
	return l.T(Msg{"注意: 紐付け %[2]d 件のうち %[1]d 件は真正性確認の情報がなく、かざしても入力されません。窓口で mykey register をやり直してください。",
		"note: %[1]d of %[2]d linked cards lack the genuine-card data and type nothing when held up; register them again at the counter (mykey register)."}, n.Missing, n.Linked)
}

var OutcomeText = map[desk.Outcome]Msg{
	desk.NotGenuine:     genuineText["not-genuine"],
	desk.Cloned:         genuineText["cloned-card"],
	desk.NoSurface:      genuineText["no-surface-ap"],
	desk.DOBLocked:      genuineText["dob-locked"],
	desk.GenuineMissing: genuineText["genuine-data-missing"],
	desk.Typed:          {"入力しました。", "typed."},
	desk.LookedUp:       {"照合しました: 登録済みで利用者番号に紐付いています（この読み取り機は入力しません）。", "looked up: registered and linked (this reader never types)."},
	desk.Duplicate:      {"同じカードです（入力済み）。", "the same card again (already typed)."},
	desk.Paused:         {"一時停止中のため入力しません。", "paused: nothing typed."},
	desk.Unknown:        {"登録されていないカードです。窓口で登録してください。", "this card is not registered; register it at the counter."},
	desk.Superseded:     {"更新前の古い証明書です。新しいカードで登録し直してください。", "an old certificate replaced by a renewed card; register the new card."},
	desk.NotLinked:      {"このカードは利用者番号に紐付いていません。", "this card is not linked to a patron number."},
	desk.NotJPKI:        {"マイナンバーカードではありません。", "this is not a My Number Card."},
	desk.Removed:        {"読み取り中にカードが離されました。もう一度かざしてください。", "the card was removed while being read; hold it again."},
	desk.Unreadable:     {"カードを読み取れません。かざし直してください。", "the card cannot be read; hold it again."},
	desk.FocusRefused:   {"入力先が許可されたウィンドウではないため入力しません。", "the focused window is not allowed: nothing typed."},
	desk.FocusMoved:     {"入力中にフォーカスが移ったため中断しました。", "the focus moved while typing: stopped."},
	desk.NoDisplay:      {"画面がないため入力できません。", "no display to type into."},
	desk.Failed:         {"エラーのため入力しません。ログを確かめてください。", "an error occurred: nothing typed; see the log."},
}

// TapLine is one line for a tap: time, reader, message, MyKey ID.
func (l Lang) TapLine(st desk.Status) string {
	id := ""
	if st.MyKeyID != "" {
		id = " [" + string(st.MyKeyID) + "]"
	}
	return fmt.Sprintf("%s %s: %s%s", st.At.Local().Format("15:04:05"), st.Reader, l.Status(st), id)
}

// Status is the desk message for a tap.
func (l Lang) Status(st desk.Status) string {
	if st.Outcome == desk.Rejected {
		return l.T(ReasonText[st.Decision.Reason])
	}
	return l.T(OutcomeText[st.Outcome])
}

var problemText = map[string]Msg{
	"invalid-id":     {"マイキーIDが正しくありません", "invalid MyKey ID"},
	"invalid-patron": {"利用者番号が正しくありません", "invalid patron number"},
	"invalid":        {"値が正しくありません", "invalid value"},
	"duplicate":      {"ファイル内で重複しています", "duplicate in the file"},
	"unknown-id":     {"登録されていないマイキーIDです", "unknown MyKey ID"},
	"id-linked":      {"マイキーIDは既に別の利用者番号に紐付いています", "the MyKey ID is already linked to another patron number"},
	"patron-linked":  {"利用者番号は既に別のマイキーIDに紐付いています", "the patron number is already linked to another MyKey ID"},
	"extra-field":    {"列が多すぎます", "too many fields"},
	"missing-field":  {"列が足りません", "missing fields"},
	"csv":            {"CSV の書式が正しくありません", "malformed CSV"},
	"not-in-roster":  {"利用者番号が図書館の利用者名簿にありません", "the patron number is not on the library's roster"},
	"inactive":       {"利用者番号は名簿で無効か期限切れです", "the patron number is inactive or expired on the roster"},
	"invalid-status": {"状態が正しくありません（active / inactive / 有効 / 無効）", "invalid status (active / inactive / 有効 / 無効)"},
	"invalid-date":   {"日付が正しくありません（2027-03-31 の形）", "invalid date (like 2027-03-31)"},
}

// Problem words one problem of an import.
func (l Lang) Problem(p batch.Problem) string {
	reason := p.Code
	if m, ok := problemText[p.Code]; ok {
		reason = l.T(m)
	}
	detail := p.Msg
	switch {
	case p.Code == batch.CodeInvalidID || p.Code == batch.CodeInvalidPatron:
		detail = l.Explain(p.Err, "").Text
	case p.Code == batch.CodeDuplicate && p.Field == "patron":
		detail = l.T(mSamePatron, p.Earlier)
	case p.Code == batch.CodeDuplicate:
		detail = l.T(mSameID, p.Earlier)
	}
	if detail != "" && detail != p.Code {
		reason += " (" + detail + ")"
	}
	if p.Column > 0 {
		return l.T(Msg{"%d 行目 %d 列（%s）: %s", "line %d, column %d (%s): %s"}, p.Line, p.Column, p.Field, reason)
	}
	return l.T(Msg{"%d 行目: %s", "line %d: %s"}, p.Line, reason)
}

// Managed lists the managed settings and where each is set, "" for none.
func (l Lang) Managed(s []config.Setting) string {
	if len(s) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString(l.T(Msg{"管理された設定（設定ファイルより優先）:", "managed settings (they override the file):"}) + "\n")
	for _, m := range s {
		fmt.Fprintf(&b, "  %s ← %s\n", m.Key, m.From)
	}
	return b.String()
}

var doctorCheck = map[string]Msg{
	app.CheckConfig:   {"設定", "configuration"},
	app.CheckKeyFile:  {"秘密鍵ファイル", "key file"},
	app.CheckRegistry: {"登録簿", "registry"},
	app.CheckAnchors:  {"信頼する CA 証明書", "trust anchors"},
	app.CheckCRL:      {"失効リスト（CRL）", "CRL"},
	app.CheckOCSP:     {"OCSP レスポンダー", "OCSP responder"},
	app.CheckReaders:  {"カード読み取り機", "card readers"},
	app.CheckWedge:    {"入力先ウィンドウ", "input window"},
	app.CheckClock:    {"時計", "clock"},
}

var doctorVerdict = map[app.Verdict]Msg{
	app.OK:   {"正常", "ok"},
	app.Warn: {"注意", "warning"},
	app.Fail: {"異常", "FAILED"},
	app.Skip: {"対象外", "skipped"},
}

// doctorAdvice says what to do about a finding, by its code.
var doctorAdvice = map[string]Msg{
	"config-invalid":      {"設定ファイルを直してください（mykey config check）。", "fix the configuration (mykey config check)."},
	"key-missing":         {"登録済みのカードがあるなら、元の秘密鍵ファイルを戻してください。", "if cards are registered, put the original key file back."},
	"key-unusable":        {"秘密鍵ファイルを所有者だけが読めるようにしてください（Linux: chmod 600）。", "make the key file readable by its owner only (Linux: chmod 600)."},
	"key-mismatch":        {"この登録簿の秘密鍵ファイルを戻してください。", "put back this registry's key file."},
	"registry-damaged":    {"バックアップから戻してください（mykey restore）。", "restore it from a backup (mykey restore)."},
	"anchor-invalid":      {"revocation.trust_anchors の CA 証明書を確かめてください。", "check the CA certificates in revocation.trust_anchors."},
	"anchor-none":         {"J-LIS の CA 証明書を revocation.trust_anchors に設定してください。", "set the J-LIS CA certificates in revocation.trust_anchors."},
	"anchor-expiring":     {"新しい CA 証明書を用意してください。", "get the new CA certificate ready."},
	"crl-none":            {"CRL を取り込んでください（mykey crl import）。", "import a CRL (mykey crl import)."},
	"crl-stale":           {"新しい CRL を取り込んでください（mykey crl import）。", "import a current CRL (mykey crl import)."},
	"ocsp-unreachable":    {"ネットワークと revocation.ocsp_url を確かめてください。", "check the network and revocation.ocsp_url."},
	"readers-unavailable": {"スマートカードのサービスを起動してください（Windows: Smart Card サービス、Linux: systemctl start pcscd）。", "start the smart-card service (Windows: the Smart Card service; Linux: systemctl start pcscd)."},
	"registry-offline":    {"ネットワークとデータベースサーバーを確かめてください（入力は複製で続きます）。", "check the network and the database server (taps continue from the replica)."},
	"registry-refused":    {"database.url（sslrootcert、役割、データベース名）と database.password_file を確かめてください。", "check database.url (sslrootcert, the role, the database) and database.password_file."},
	"no-reader":           {"読み取り機の接続と readers.include/exclude を確かめてください（mykey readers）。", "check the reader's cable and readers.include/exclude (mykey readers)."},
	"card-unreadable":     {"カードをかざし直してください。", "hold the card again."},
	"no-display":          {"デスクトップにログインした状態で動かしてください。", "run it in a desktop session."},
	"window-not-allowed":  {"図書館システムの入力欄をクリックしてから、もう一度確かめてください。", "click the library system's field, then check again."},
	"no-allowlist":        {"wedge.allow_exe に図書館システムのプログラム名を設定してください。", "set the library system's program in wedge.allow_exe."},
	"clock-skew":          {"PC の時計を合わせてください。", "set the PC's clock."},
}

// Doctor words the doctor's report, one line per check, then the verdict.
func (l Lang) Doctor(r app.Report) string {
	var b strings.Builder
	for _, f := range r.Findings {
		detail := f.Detail
		if f.Err != nil && f.Verdict == app.Fail {
			detail = l.Explain(f.Err, "").Text
		}
		fmt.Fprintf(&b, "[%s] %s: %s\n", l.DoctorVerdict(f.Verdict), l.DoctorCheck(f.Check), detail)
		if a, ok := doctorAdvice[f.Code]; ok && (f.Verdict == app.Fail || f.Verdict == app.Warn) {
			fmt.Fprintf(&b, "      → %s\n", l.T(a))
		}
	}
	switch r.Worst() {
	case app.Fail:
		b.WriteString(l.T(Msg{"結果: 異常があります。上の「異常」の行を直してください。", "result: something is wrong; fix the FAILED lines above."}))
	case app.Warn:
		b.WriteString(l.T(Msg{"結果: 動きますが、注意の行を確かめてください。", "result: the desk works; check the warnings."}))
	default:
		b.WriteString(l.T(Msg{"結果: すべて正常です。", "result: all good."}))
	}
	return b.String() + "\n"
}

// DoctorCheck names a doctor check.
func (l Lang) DoctorCheck(check string) string { return l.T(doctorCheck[check]) }

// DoctorVerdict names a verdict.
func (l Lang) DoctorVerdict(v app.Verdict) string { return l.T(doctorVerdict[v]) }

// OutcomeName is a tap outcome as staff read it, for counts.
func (l Lang) OutcomeName(outcome string) string {
	if m, ok := OutcomeText[desk.Outcome(outcome)]; ok {
		return outcome + ": " + l.T(m)
	}
	return outcome
}

// Registered words a registration's result, one line each.
func (l Lang) Registered(res enroll.Result, patron string) string {
	var b strings.Builder
	switch {
	case res.Superseded:
		b.WriteString(l.T(Msg{"更新されたカードを同じマイキーID %s に登録しました（古い証明書は無効にしました）。", "registered the renewed card to the same MyKey ID %s (the old certificate is superseded)."}, res.MyKeyID))
	case res.Minted:
		b.WriteString(l.T(Msg{"登録しました。マイキーID: %s", "registered. MyKey ID: %s"}, res.MyKeyID))
	default:
		b.WriteString(l.T(Msg{"このカードは登録済みです。マイキーID: %s", "this card is already registered. MyKey ID: %s"}, res.MyKeyID))
	}
	b.WriteString("\n")
	if res.Linked {
		b.WriteString(l.T(Msg{"利用者番号 %s に紐付けました。", "linked to patron number %s."}, patron) + "\n")
	}
	if res.Genuine {
		b.WriteString(l.T(Msg{"真正性確認のための情報を登録しました（生年月日は暗号化して保存）。", "kept what the genuine-card check needs (the date of birth only sealed)."}) + "\n")
	}
	return b.String()
}

var (
	mFieldID      = Msg{"マイキーID", "MyKey ID"}
	mFieldPatron  = Msg{"利用者番号", "Patron number"}
	mFieldCreated = Msg{"登録日時", "Registered"}
	mFieldCerts   = Msg{"有効な証明書", "Active certificates"}
)

// Entry shows a registry entry, a field a line.
func (l Lang) Entry(service string, e store.Entry) string {
	var b strings.Builder
	patron := l.T(Msg{"（なし）", "(none)"})
	if e.Link != nil {
		patron = e.Link.Patron
	}
	fmt.Fprintf(&b, "%s: %s\n%s: %s\n%s: %s\n", l.T(mFieldID), e.MyKeyID, l.T(mFieldPatron), patron, l.T(Msg{"サービス", "Service"}), service)
	if e.Link != nil {
		fmt.Fprintf(&b, "%s: %s\n", l.T(Msg{"紐付け日時", "Linked"}), e.Link.LinkedAt.Local().Format("2006-01-02 15:04:05"))
	}
	fmt.Fprintf(&b, "%s: %s\n%s: %d\n", l.T(mFieldCreated), e.CreatedAt.Local().Format("2006-01-02 15:04:05"), l.T(mFieldCerts), e.Certificates)
	return b.String()
}

// List shows registry entries as a table, with their count.
func (l Lang) List(list []store.Entry) string {
	if len(list) == 0 {
		return l.T(Msg{"登録されているマイキーIDはありません。", "no MyKey IDs are registered."}) + "\n"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-10s %-18s %-20s %s\n", l.T(mFieldID), l.T(mFieldPatron), l.T(mFieldCreated), l.T(mFieldCerts))
	for _, e := range list {
		p := "-"
		if e.Link != nil {
			p = e.Link.Patron
		}
		fmt.Fprintf(&b, "%-10s %-18s %-20s %d\n", e.MyKeyID, p, e.CreatedAt.Local().Format("2006-01-02 15:04:05"), e.Certificates)
	}
	return b.String() + l.T(Msg{"%d 件", "%d entries"}, len(list)) + "\n"
}

// AuditLines shows audit entries, one a line, oldest first.
func AuditLines(log []store.AuditEntry) string {
	var b strings.Builder
	for _, e := range log {
		id := string(e.MyKeyID)
		if id == "" {
			id = "-"
		}
		fmt.Fprintf(&b, "%5d %s %-10s %-8s %-8s %-14s %s\n", e.Seq, e.At.Local().Format("2006-01-02 15:04:05"), e.User, e.Action, id, e.Outcome, e.Detail)
	}
	return b.String()
}

// KeyMoved says where the pseudonym key went, with its fingerprint.
func (l Lang) KeyMoved(export, created bool, path, fingerprint string) string {
	switch {
	case export:
		return l.T(Msg{"秘密鍵を封をして %s に書き出しました。指紋: %s", "wrote the pseudonym key, sealed, to %s. fingerprint: %s"}, path, fingerprint)
	case created:
		return l.T(Msg{"%s の秘密鍵をこの窓口に取り込みました。指紋: %s", "installed the pseudonym key from %s at this desk. fingerprint: %s"}, path, fingerprint)
	}
	return l.T(Msg{"この窓口にはすでに同じ秘密鍵があります（%s）。指紋: %s", "this desk already has the same pseudonym key (%s). fingerprint: %s"}, path, fingerprint)
}

// Registry words the registry's state for the tray and mykey status: where
// it is and, for a shared one, online or offline since when, how old the
// desk's copy is and what waits to be delivered.
func (l Lang) Registry(st app.RegistryState, now time.Time) string {
	if !st.Shared {
		return l.T(Msg{"登録簿: この PC のファイル %s", "registry: this PC's file %s"}, st.Where)
	}
	var s string
	if st.Online {
		s = l.T(Msg{"登録簿: オンライン（%s）", "registry online (%s)"}, st.Where)
	} else {
		s = l.T(Msg{"登録簿: オフライン（%s から。入力は複製で続きます）", "registry offline since %s (taps continue from the replica)"}, st.OfflineSince.Local().Format("15:04"))
	}
	if st.Synced.IsZero() {
		s += l.T(Msg{"、複製なし（mykey run の初回起動で作られます）", ", no replica yet (mykey run builds it)"})
	} else {
		s += l.T(Msg{"、複製は %d 秒前のもの", ", replica %d s old"}, int(now.Sub(st.Synced).Seconds()))
	}
	if st.Queued > 0 {
		s += l.T(Msg{"、未送信の記録 %d 件", ", %d audit records queued"}, st.Queued)
	}
	return s
}

// Migrated words what mykey registry migrate did.
func (l Lang) Migrated(rep app.MigrateReport) string {
	s := l.T(Msg{"%s へ移しました。", "moved to %s."}, rep.Target)
	if rep.Already {
		s = l.T(Msg{"%s はすでにこの登録簿と同じ内容です（何も書きませんでした）。", "%s holds this registry already (nothing written)."}, rep.Target)
	}
	c := rep.Counts
	return s + "\n" + l.T(Msg{"  マイキーID %d、証明書 %d、紐付け %d、名簿 %d 人、監査ログ %d 件、ダイジェスト %s（元と一致）", "  MyKey IDs %d, certificates %d, links %d, roster patrons %d, audit entries %d, digest %s (matches the source)"},
		c["mykey_ids"], c["certificates"], c["links"], c["roster_patrons"], c["audit"], rep.Digest)
}
