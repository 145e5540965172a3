#!/bin/sh
# Checks the Windows build under Wine 8.0 and Xvfb, in a fresh prefix:
# the CLI (with Japanese text through SQLite), typing into Wine's notepad,
# the tray starting and quitting from its menu, and the MSI installing,
# upgrading (keeping the registry) and uninstalling (keeping the data).
# Smart cards cannot be checked: Wine 8.0's winscard.dll is a stub; the
# Linux pcscd tests are the card check. Run after scripts/build-windows.sh.
set -eu
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
# On a disk (not tmpfs): Wine keeps file ACLs in user xattrs, which tmpfs lacks.
mkdir -p dist
work="$(mktemp -d "$PWD/dist/wine.XXXXXX")"
export WINEPREFIX="$work/prefix" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=;winemenubuilder.exe=d"
fail() { echo "wine-check: FAIL: $*" >&2; exit 1; }
step() { echo "wine-check: $*"; }

exec 3>"$work/display"
Xvfb -displayfd 3 -nolisten tcp -screen 0 1024x768x24 >/dev/null 2>&1 &
xvfb=$!
cleanup() { /usr/lib/wine/wineserver -k 2>/dev/null || true; kill "$xvfb" 2>/dev/null || true; rm -rf "$work" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 50); do [ -s "$work/display" ] && break; sleep 0.1; done
export DISPLAY=":$(cat "$work/display")"

step "fresh prefix"
wine wineboot -i >/dev/null 2>&1
/usr/lib/wine/wineserver -w
# Go 1.26 needs ProcessPrng, which Wine 8.0 lacks: a test-only stand-in.
x86_64-w64-mingw32-gcc -shared -O2 -o "$WINEPREFIX/drive_c/windows/system32/bcryptprimitives.dll" \
	internal/winetest/bcryptprimitives.c -lbcrypt
GOOS=windows GOARCH=amd64 go build -o "$work/wintool.exe" ./internal/winetest/wintool
C="$WINEPREFIX/drive_c"
mkdir -p "$C/mk"
cp testdata/pki/ca-2023.der "$C/mk/ca.der"
M() { wine dist/mykey.exe --lang en --config 'C:\mk\mykey.toml' "$@"; }

step "CLI: version, config, id, link and lookup with Japanese text"
wine dist/mykey.exe version | grep -q 'windows/amd64' || fail "version"
wine dist/mykey.exe config init --path 'C:\mk\commented.toml' >/dev/null
wine dist/mykey.exe --config 'C:\mk\commented.toml' config check >/dev/null || fail "config check of the commented template"
cp testdata/pki/cvc-ca-test.pem "$C/mk/cvc-ca-test.pem"
printf '[database]\npath = "C:/mk/registry.db"\n[revocation]\ntrust_anchors = ["C:/mk/ca.der"]\n[log]\ndir = "C:/mk/logs"\n[genuine]\nauthorities = ["6000023/001=C:/mk/cvc-ca-test.pem"]\ntest_keys = true\n' > "$C/mk/mykey.toml"
M config check >/dev/null || { M config check; fail "config check"; }

step "managed settings: Group Policy values under HKLM\\Software\\Policies\\mykey override the file"
P='HKLM\Software\Policies\mykey'
wine reg add "$P\\wedge" /v template /t REG_SZ /d '{f2}{patron}{tab}' /f >/dev/null 2>&1 || fail "reg add"
wine reg add "$P\\wedge" /v sound /t REG_DWORD /d 0 /f >/dev/null 2>&1
wine reg add "$P\\wedge" /v allow_exe /t REG_MULTI_SZ /d 'ils.exe\0opac.exe' /f >/dev/null 2>&1
M config check > "$work/managed.txt" 2>&1 || { cat "$work/managed.txt"; fail "config check with policy values"; }
for k in 'wedge.template' 'wedge.sound' 'wedge.allow_exe'; do
	grep -q "$k ← HKLM\\\\Software\\\\Policies\\\\mykey\\\\wedge" "$work/managed.txt" || { cat "$work/managed.txt"; fail "config check does not show $k as managed"; }
done
M config check --json | tr -d '\r' | grep -q '"key": "wedge.template"' || fail "config check --json lacks the managed settings"
wine reg add "$P\\wedge" /v key_delay_ms /t REG_DWORD /d 99999 /f >/dev/null 2>&1
if M config check > "$work/managed.txt" 2>&1; then fail "a bad policy value was accepted"; fi
grep -q 'wedge (key_delay_ms).*99999 is outside 0..1000' "$work/managed.txt" || { cat "$work/managed.txt"; fail "the bad policy value is not named"; }
wine reg delete "$P" /f >/dev/null 2>&1
M config check | grep -q 'managed' && fail "policy values remain after reg delete"
id="$(M id new --json | grep -o '"[0-9A-Z]\{8\}"' | tr -d '"')"
[ -n "$id" ] || fail "id new"
# Wine keeps no file ACLs: it derives them from the Unix mode, so the
# owner-only ACL mykey sets on the key file reads back as "Everyone". Set
# the equivalent mode; the real ACL can only be checked on Windows.
chmod 600 "$C/mk/pseudonym.key"
M link --mykey-id "$id" --patron 12345678 --service 図書館 >/dev/null
M lookup --patron 12345678 --service 図書館 --json | grep -q '"service": "図書館"' || fail "Japanese text did not round-trip"
[ -f "$C/mk/registry.db" ] || fail "no registry file"

step "CLI: import links from a CP932 file, export them back"
{
	printf 'マイキーID,利用者番号\r\n'
	n=0
	for i in $(M id new --count 3 --json | grep -o '"[0-9A-Z]\{8\}"' | tr -d '"'); do
		n=$((n + 1))
		printf '%s,０００７７%d\r\n' "$i" "$n" # full-width digits, as Excel leaves them
	done
} | iconv -f UTF-8 -t CP932 > "$C/mk/links.csv"
M import links 'C:\mk\links.csv' --json | grep -q '"linked": 3' || { M import links 'C:\mk\links.csv'; fail "import links"; }
M lookup --patron 000772 >/dev/null || fail "an imported link is missing"
M export links 'C:\mk\out.csv' --encoding cp932 >/dev/null || fail "export links"
iconv -f CP932 -t UTF-8 "$C/mk/out.csv" | grep -q '^マイキーID,利用者番号' || fail "exported file is not CP932 with a Japanese header"
[ "$(iconv -f CP932 -t UTF-8 "$C/mk/out.csv" | grep -c ',00077[123],')" = 3 ] || fail "exported links missing"

step "wedge: typing into notepad, also with a Ctrl combination"
wine notepad >/dev/null 2>&1 &
for _ in $(seq 100); do wine "$work/wintool.exe" text "Untitled - Notepad" >/dev/null 2>&1 && break; sleep 0.2; done
wid="$(xdotool search --name 'Notepad' | head -1)"
[ -n "$wid" ] && xdotool windowfocus "$wid" 2>/dev/null || true
# notepad_has WANT waits up to 10 s for notepad's text (lines joined) to be WANT.
notepad_has() {
	for _ in $(seq 50); do
		got="$(wine "$work/wintool.exe" text "Untitled - Notepad" 2>/dev/null | tr -d '\r\n')"
		[ "$got" = "$1" ] && return 0
		sleep 0.2
	done
	return 1
}
M wedge test --text 12345678 --after 0s >/dev/null 2>&1 || fail "wedge test"
notepad_has 12345678 || fail "notepad has '$got', want 12345678"
# A Ctrl combination in the template (robotgo's modifiers): Ctrl+A selects
# what notepad holds, and the number replaces it.
{ cat "$C/mk/mykey.toml"; printf '[wedge]\ntemplate = "{ctrl+a}{patron}"\n'; } > "$C/mk/ctrl.toml"
wine dist/mykey.exe --config 'C:\mk\ctrl.toml' wedge test --text 87654321 --after 0s >/dev/null 2>&1 || fail "wedge test with {ctrl+a}"
notepad_has 87654321 || fail "after {ctrl+a}{patron} notepad has '$got', want 87654321"

step "tray: starts, Open console serves the console on loopback, Quit from its menu stops it"
MYKEY_CONFIG='C:\mk\mykey.toml' wine dist/mykeyw.exe >/dev/null 2>&1 &
tray=$!
for _ in $(seq 100); do grep -q 'desk started' "$C/mk/logs/mykey.log" 2>/dev/null && break; sleep 0.2; done
grep -q 'desk started' "$C/mk/logs/mykey.log" || fail "the tray service did not start"
sleep 1
# Menu item ids in order: pause 1, last tap 2, shared registry 3 (hidden
# with a SQLite registry), open console 4, log folder 5, separator 6, quit 7. Open console starts the console in the tray's
# process (Wine has no browser to open): it answers on loopback, and
# without a launch token it refuses.
wine "$work/wintool.exe" click SystrayClass 4 || fail "no tray window"
for _ in $(seq 50); do grep -q 'console started' "$C/mk/logs/mykey.log" 2>/dev/null && break; sleep 0.2; done
addr="$(grep 'console started' "$C/mk/logs/mykey.log" | grep -o '127\.0\.0\.1:[0-9]*' | head -n 1)"
[ -n "$addr" ] || fail "Open console did not start the console"
code="$(curl -s -o "$work/console.html" -w '%{http_code}' "http://$addr/")"
[ "$code" = 401 ] && grep -q 'mykey' "$work/console.html" || fail "the console under Wine answered $code without a token"
code="$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: evil.test' "http://$addr/")"
[ "$code" = 421 ] || fail "the console under Wine answered $code to another Host"
wine "$work/wintool.exe" click SystrayClass 7 || fail "no tray window"
for _ in $(seq 50); do kill -0 "$tray" 2>/dev/null || break; sleep 0.2; done
kill -0 "$tray" 2>/dev/null && fail "the tray did not quit"
grep -q 'desk stopped' "$C/mk/logs/mykey.log" || fail "the tray did not stop cleanly"

step "MSI: install, upgrade keeping the registry, uninstall keeping the data"
msi="$(ls dist/mykey-*.msi | head -1)"
wine msiexec /i "$msi" /qn
[ -f "$C/Program Files/mykey/mykey.exe" ] && [ -f "$C/Program Files/mykey/mykeyw.exe" ] || fail "program files missing"
[ "$(find "$C" -name 'mykey.lnk' | wc -l)" -ge 2 ] || fail "shortcuts missing"
wine reg query 'HKLM\Software\mykey' /v Version 2>/dev/null | grep -q "${VERSION:-0.1.0}" || fail "registry value missing"
[ -f "$C/ProgramData/mykey/mykey.example.toml" ] || fail "configuration template missing"
P() { wine "$C/Program Files/mykey/mykey.exe" --lang en "$@"; }
# The first start of the desk makes mykey.toml from the template (it then
# stops: no trust anchors are configured yet).
P run --no-tray >/dev/null 2>&1 || true
[ -f "$C/ProgramData/mykey/mykey.toml" ] || fail "mykey run did not create the configuration"
sed -i 's/^trust_anchors = \[\]$/trust_anchors = ["C:\/mk\/ca.der"]/' "$C/ProgramData/mykey/mykey.toml"
echo "# kept" >> "$C/ProgramData/mykey/mykey.toml"
P config check >/dev/null || fail "the configuration from the template does not check"
id="$(P id new --json | grep -o '"[0-9A-Z]\{8\}"' | tr -d '"')"
chmod 600 "$C/ProgramData/mykey/pseudonym.key" # as above
P link --mykey-id "$id" --patron 87654321 >/dev/null
[ -f "$C/ProgramData/mykey/registry.db" ] && [ -f "$C/ProgramData/mykey/pseudonym.key" ] || fail "no registry or key after first use"
VERSION=0.1.1 sh scripts/build-windows.sh >/dev/null 2>&1
wine msiexec /i dist/mykey-0.1.1.msi /qn
wine reg query 'HKLM\Software\mykey' /v Version 2>/dev/null | grep -q 0.1.1 || fail "upgrade did not replace the program"
P lookup --patron 87654321 >/dev/null || fail "the registry did not survive the upgrade"
grep -q '^# kept' "$C/ProgramData/mykey/mykey.toml" || fail "the upgrade replaced the configuration"
wine msiexec /x dist/mykey-0.1.1.msi /qn
[ ! -f "$C/Program Files/mykey/mykey.exe" ] || fail "uninstall left the program"
[ ! -f "$C/ProgramData/mykey/mykey.example.toml" ] || fail "uninstall left the template"
for f in registry.db pseudonym.key mykey.toml; do
	[ -f "$C/ProgramData/mykey/$f" ] || fail "uninstall removed $f"
done
rm -f dist/mykey-0.1.1.msi
step "ok"
