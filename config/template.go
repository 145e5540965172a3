package config

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/mykey-jp/mykey/internal/atomicfile"
)

// Template returns the fully commented configuration file that
// `mykey config init` writes for a file at path. Every key is present with
// its default value; the default locations are shown in comments.
func Template(path string) string {
	return TemplateFor(DefaultLocations(), path)
}

// WindowsLocations are the default locations of a Windows installation,
// for building the installer's configuration on another system.
var WindowsLocations = Locations{
	Config:   `C:\ProgramData\mykey\mykey.toml`,
	Database: `C:\ProgramData\mykey\registry.db`,
	LogDir:   `C:\ProgramData\mykey\logs`,
}

// TemplateFor is Template with the given default locations.
func TemplateFor(loc Locations, path string) string {
	r := strings.NewReplacer(
		"@DB@", loc.Database,
		"@KEY@", keyBeside(path),
		"@LOG@", loc.LogDir,
	)
	return r.Replace(templateText)
}

const templateText = `# mykey 設定ファイル / mykey configuration
#
# 書式は TOML です。知らないキーや型の違う値はエラーになります
# （打ち間違いが黙って既定値に戻ることはありません）。
# 変更後は "mykey config check" で確認してください。
#
# TOML format. Unknown keys and values of the wrong type are errors (a typo
# never silently falls back to a default). Check with "mykey config check".
# Relative paths are relative to this file's folder.

# 表示言語: "ja"（日本語）または "en"（英語）
# Language of messages: "ja" or "en".
lang = "ja"

[database]
# 登録簿（SQLite）のファイル。空なら既定の場所: @DB@
# The registry (SQLite) file. Empty means the default: @DB@
path = ""
# 複数の窓口・分館で一つの登録簿を共有するときの PostgreSQL の URL。空なら上の
# SQLite ファイルを使います。パスワードは URL に書かず、password_file か環境変数
# PGPASSWORD で渡してください。sslmode=verify-full はサーバー証明書とホスト名を
# 確かめます。sslrootcert には証明書を発行した認証局の証明書ファイルをフルパスで
# 書きます（Windows の証明書ストアではなくファイル）。例:
#   url = "postgres://desk_honkan1@db.example.lg.jp:5432/mykey?sslmode=verify-full&sslrootcert=C:/ProgramData/mykey/db-ca.pem"
# The shared registry on PostgreSQL, for several desks and branches. Empty
# means the SQLite file above. Never put the password in the URL: use
# password_file or PGPASSWORD. sslmode=verify-full checks the server's
# certificate and host name; sslrootcert is the full path of the issuing
# authority's certificate file.
url = ""
# データベースのパスワードを1行で書いたファイル（このユーザーだけが読めること）。
# A file holding the database password on one line (readable by this user only).
password_file = ""
# 共有登録簿の窓口用の複製（SQLite）。空なら path と同じフォルダの replica.db。
# 読み取りはこの複製から行うため、ネットワークが止まっても入力は続きます。
# The desk's copy of the shared registry; empty means replica.db beside path.
# Taps read the copy, so they keep working when the network is down.
replica = ""
# 変更の通知とは別に、共有登録簿の変更を確かめる間隔（秒）。
# How often the copy looks for changes besides the server's notifications.
poll_seconds = 5

[keyfile]
# 仮名化の秘密鍵ファイル。初回に自動作成されます。登録簿とは別にバックアップし、
# 他人に読ませないでください。失うと登録済みのカードを識別できなくなります。
# 空なら設定ファイルと同じフォルダ: @KEY@
# The pseudonym secret, created on first use. Back it up apart from the
# registry and keep it private: without it registered cards are no longer
# recognised. Empty means beside this file: @KEY@
path = ""

[patron]
# 利用者番号を紐付けるサービス名（通常は "library" のまま）。
# The service patron numbers are linked for (normally "library").
service = "library"
# 利用者番号の形式（正規表現）。全角数字は自動で半角にします。
# Patron number format (regular expression), checked after NFKC (full-width
# digits become ASCII).
pattern = '^[0-9]{4,16}$'
# 利用者番号の末尾のチェックディジットの方式: "none", "mod10"（M10W31、重み3-1、JAN式）,
# "mod11"（重み2-7）, "luhn"（M10W21 分割）, "m10w21"（M10W21 一括）, "mod7"（7DR）
# Check digit at the end of patron numbers: "none", "mod10" (M10W31, weights
# 3-1, as JAN), "mod11" (weights 2-7), "luhn" (M10W21 split), "m10w21"
# (M10W21 whole products), "mod7" (7DR, the remainder by 7).
check_digit = "none"

[readers]
# 監視するカードリーダー名（部分一致）。空ならすべて。
# Card readers to watch (substring of the reader name). Empty means all.
include = []
# 無視するリーダー名（部分一致）。
# Readers to ignore (substring of the reader name).
exclude = []
# 拡張長 APDU で証明書を1回で読む。対応しないリーダーでは読めなくなるので、
# "mykey card read --extended" で確かめてから true にしてください。
# Read the certificate in one extended-length APDU. Readers without support
# then fail: check with "mykey card read --extended" before turning it on.
extended_length = false

[wedge]
# 出力先: "keyboard"（図書館システムへキー入力）または "stdout"（画面表示のみ）
# Output: "keyboard" (type into the library system) or "stdout" (print only).
output = "keyboard"
# 入力の書式。{patron} が利用者番号、{tab}、{enter}、{f1}〜{f12} はキー（{ctrl+f2}、
# {ctrl+b}、{alt+p} のように Ctrl・Alt・Shift と組み合わせ可）。前後に英数字を
# 付けられます（例: NW-7 の開始・終了文字 "A{patron}A{enter}"、利用者欄へ移るキーを先に
# 押す "{f2}{patron}{enter}"、Enter なし "{patron}"）。
# What is typed. {patron} is the patron number; {tab}, {enter} and
# {f1}..{f12} are keys, also with modifiers ({ctrl+f2}, {ctrl+b}, {alt+p}).
# Literal ASCII may surround it: NW-7 start/stop "A{patron}A{enter}", a key
# that focuses the patron field first "{f2}{patron}{enter}", no Enter
# "{patron}".
template = "{patron}{enter}"
# {patron} の書式（この順に適用）: 先頭から取り除く文字列、左を 0 で埋める桁数（0: 埋めない）、
# 末尾に付けるチェックディジット（"none", "mod10"＝M10W31, "mod11", "luhn"＝M10W21 分割,
# "m10w21"＝M10W21 一括, "mod7"＝7DR）。例: 番号 1234、pad_width = 8、check_digit = "mod7"
# → 000012342。確かめるには mykey wedge test --text 1234。
# How {patron} is formatted, in this order: a prefix removed, zeros on the
# left up to a width (0: none), a check digit appended ("none", "mod10" =
# M10W31, "mod11", "luhn" = M10W21 split, "m10w21" = M10W21 whole, "mod7" =
# 7DR). E.g. 1234 with pad_width = 8 and check_digit = "mod7" types
# 000012342. Try it with: mykey wedge test --text 1234.
trim_prefix = ""
pad_width = 0
check_digit = "none"
# 1キーごとの待ち時間（ミリ秒）。既定の 2 なら 10 桁と Enter で 30 ミリ秒以内。
# 文字が抜ける遅い PC やリモートデスクトップでは 10〜20 に増やしてください。
# Delay per key in milliseconds. The default 2 types 10 digits and Enter in
# under 30 ms; raise it to 10-20 on slow PCs or over remote desktop.
key_delay_ms = 2
# 入力を許すプログラムの実行ファイル名（例: ["ils.exe"]）。空なら制限なし。
# Programs allowed to receive input, by executable name (e.g. ["ils.exe"]).
# Empty means no restriction by program.
allow_exe = []
# 入力を許すウィンドウタイトル（正規表現）。空なら制限なし。
# Window titles allowed to receive input (regular expression); empty: any.
allow_title = ""
# 同じカードを置いたままの二重入力を防ぐ時間（秒）。0 ならカードを離すまで再入力しない。
# Seconds before the same card, left on the reader, is typed again; 0 means
# only after it is removed.
lockout_seconds = 10
# 読み取りの結果を音で知らせる（成功で1回、失敗で2回鳴らす）。
# Beep on each tap: once when typed, twice when refused or failed.
sound = true

[revocation]
# 失効確認の方式: "ocsp", "crl", "ocsp-then-crl"（OCSP が応答しないとき CRL）
# Revocation method: "ocsp", "crl", or "ocsp-then-crl" (CRL when the OCSP
# responder is unreachable).
method = "ocsp-then-crl"
# OCSP レスポンダーの URL（J-LIS から案内されたもの）。
# OCSP responder URL (as given by J-LIS).
ocsp_url = ""
# OCSP の待ち時間（ミリ秒）。
# OCSP timeout in milliseconds.
ocsp_timeout_ms = 3000
# CRL の取得元 URL。
# Where the CRL is downloaded from.
crl_url = ""
# 取り込んだ CRL の索引を置くフォルダ。空なら登録簿と同じフォルダの crl。
# Folder for the imported CRL indexes; empty means "crl" beside the registry.
crl_dir = ""
# CRL の次回更新予定を過ぎても使える猶予（時間）。
# Hours a CRL may be used past its nextUpdate.
crl_grace_hours = 24
# これより大きい CRL（ファイル・ダウンロード）は取り込まない（MB）。
# A CRL file or download larger than this (MB) is refused.
crl_max_mb = 1024
# CRL のダウンロードがこれより長くかかるときは打ち切る（秒）。
# A CRL download that takes longer than this (seconds) is abandoned.
crl_timeout_s = 300
# どの方式でも確認できないとき: "deny"（入力しない）または "allow"。
# "allow" は失効したカードも受け付けることになるため、次の項目も true にしたときだけ有効です。
# When no method can answer: "deny" (type nothing) or "allow". "allow" means
# revoked cards may be accepted too, so it works only with the next key true.
on_unavailable = "deny"
# 失効を確認できないカード（失効したものを含む）を受け付けることを了承する。
# I accept that cards whose revocation cannot be checked, revoked ones
# included, are accepted (needed by on_unavailable = "allow").
accept_possibly_revoked_cards = false
# 信頼する JPKI 利用者証明用 CA 証明書のファイル（世代ごとに複数可）。
# Trusted JPKI user-authentication CA certificate files (one per generation).
trust_anchors = []
# テスト用カード（O=JPKI-TEST）を受け付ける。本番では false。
# Accept test cards (O=JPKI-TEST). Keep false in production.
test_mode = false

[genuine]
# PIN なしでカードを受け付けるとき、法律（公的個人認証法 第38条の4 第2項、2024年5月27日施行）は
# 毎回そのカードが本物のマイナンバーカードであることの確認を求めています。
# The law (JPKI Act Art. 38-4 ②, since 2024-05-27) asks a PIN-less desk to
# confirm at every tap that the card is a genuine My Number Card.
#
# 確認の方式:
#   "dob"      登録時に確かめた生年月日で券面事項確認APを開き、発行者の署名とカードの署名を毎回検証（既定）。
#              登録簿には生年月日を暗号化して保存します（平文では保存しません）。
#   "card-key" 登録時に検証したカードの公開鍵（暗号化して保存）で、毎回カードの署名だけを検証。
#              生年月日を保存も送信もしませんが、この方式で法令の求める確認になるかは未確認です。
#              採用前にデジタル庁・総務省に確認してください。
#   "off"      確認しない（テスト用の窓口など）。off_acknowledgement に下の文をそのまま書いたときだけ起動します。
# How: "dob" (default): the date of birth confirmed at registration opens
# the card-surface applet; the issuer's signatures and the card's signature
# over a fresh challenge are verified at every tap. The registry keeps the
# date of birth sealed (encrypted), never in clear. "card-key": only the
# card's signature is verified, with the card key verified and kept
# (sealed) at registration; no date of birth is kept or sent, but whether
# this satisfies the ordinance is NOT confirmed: ask the Digital Agency /
# MIC before using it. "off": no check (a test desk); starts only with
# off_acknowledgement set to the sentence below.
mode = "dob"
# 信頼する CVC 発行者（カード検証用証明書の CA）の公開鍵: "鍵ID=ファイル"。ファイルは PEM
# （PUBLIC KEY / RSA PUBLIC KEY）または 16 進の modulus（指数 65537）。本番の鍵 ID は 5 で始まります
# （券面事項確認AP: 5000023/001）。6 で始まる鍵はテスト用で、test_keys = true のときだけ使えます。
# Trusted CVC CA public keys, "KEY ID=FILE". FILE is PEM (PUBLIC KEY or RSA
# PUBLIC KEY) or the modulus in hex (exponent 65537). Production key ids
# start with 5 (card-surface applet: 5000023/001); ids starting with 6 are
# J-LIS test keys, accepted only with test_keys = true.
authorities = []
# テスト用カードの鍵（6 で始まる鍵 ID）を受け付ける。本番では false。
# Accept the J-LIS test hierarchy's keys (ids starting with 6). Keep false
# in production.
test_keys = false
# mode = "off" のときだけ: 次の文をそのまま書く。
# "PIN なしの利用で真正性確認をしないことを了承します"
# Only for mode = "off": this exact sentence (or the Japanese one above).
# "I accept PIN-less use without the genuine-card check"
off_acknowledgement = ""

[log]
# ログのフォルダ。空なら既定: @LOG@
# Log folder. Empty means the default: @LOG@
dir = ""
# ログの詳しさ: "debug", "info", "warn", "error"
# Log level: "debug", "info", "warn", "error".
level = "info"
# ログファイル1つの最大サイズ（MB）と残す古いファイルの数。
# Maximum size of one log file (MB) and how many old files to keep.
max_size_mb = 10
max_backups = 5

[profiles]
# 読み取り機ごとの動作（任意）。読み取り機名の一部で選び、名前順で最初に合うものを使います。
# 書かないキーは [wedge] の値を使います。action = "lookup" の読み取り機は照合して結果を
# 表示するだけで、入力しません（登録窓口など）。読み取り機名は mykey readers で確かめられます。
# Per-reader profiles (optional): chosen by a part of the reader's name,
# the first match in name order. Keys left out take [wedge]'s values. A
# reader with action = "lookup" identifies and shows the result, never
# types (e.g. the registration desk). mykey readers lists reader names.
#
# [profiles.counter]
# readers = ["Sony FeliCa"]
# action = "type"
# template = "{f2}{patron}{enter}"
# allow_exe = ["ils.exe"]
# allow_title = ""
# sound = true
#
# [profiles.registration]
# readers = ["ACS"]
# action = "lookup"

# 管理された設定: このファイルと同じフォルダの mykey.d\*.toml（名前順）、Linux では
# /etc/mykey/mykey.d/*.toml、Windows ではグループポリシー
# HKLM\Software\Policies\mykey の値が、このファイルの値より優先します。
# mykey config check が、どの設定がどこで管理されているかを表示します。
# Managed settings override this file: mykey.d/*.toml beside it (in name
# order), on Linux /etc/mykey/mykey.d/*.toml, on Windows the Group Policy
# values under HKLM\Software\Policies\mykey. mykey config check shows
# which settings are managed and from where.
`

// keyBeside is the default key file for a configuration at path, for either
// kind of path separator.
func keyBeside(path string) string {
	if i := strings.LastIndexAny(path, `/\`); i >= 0 {
		return path[:i+1] + "pseudonym.key"
	}
	return filepath.Join(filepath.Dir(path), "pseudonym.key")
}

// WriteTemplate writes the commented configuration file to path, creating
// its folder; with windows, its comments show the Windows default
// locations (for the installer). An existing file (or link) is kept
// (fs.ErrExist) unless force; the file appears whole and is writable by its
// owner only.
func WriteTemplate(path string, windows, force bool) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	text := Template(path)
	if windows {
		text = TemplateFor(WindowsLocations, WindowsLocations.Config)
	}
	return atomicfile.Write(path, []byte(text), 0o644, force)
}
