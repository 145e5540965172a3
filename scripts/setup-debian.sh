#!/bin/sh
# Installs the Debian packages mykey's build and tests need. Safe to run again:
# it asks apt only for what is missing. Needs root (or sudo) and Go >= 1.26.
set -eu

# Build: gcc (cgo for SQLite and PC/SC), pkg-config and libpcsclite-dev,
# mingw-w64 for the Windows build. Tests: pcscd with the vpcd virtual reader,
# OpenSC and openssl as independent clients, unshare and ip for private
# namespaces, an X desktop (Xvfb, jwm, xterm, xdotool, setxkbmap), a D-Bus
# session daemon for the tray icon, sqlite3 for the import benchmark, headless
# Chromium for the console's browser tests, PostgreSQL 15 for throwaway
# clusters (internal/pgtest).
# Windows release: wixl (MSI), osslsigncode (signing), Wine for the checks.
PACKAGES="gcc libc6-dev pkg-config libpcsclite-dev gcc-mingw-w64-x86-64
pcscd vsmartcard-vpcd opensc openssl util-linux iproute2
xvfb jwm xterm xdotool x11-utils x11-xkb-utils dbus-daemon sqlite3
chromium-headless-shell fonts-noto-cjk postgresql-15
wine wine64 wixl msitools osslsigncode curl"

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

missing=""
for p in $PACKAGES; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	echo "setup: installing$missing"
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if ! command -v go >/dev/null 2>&1; then
	if [ -x /usr/local/go/bin/go ]; then
		echo "setup: add /usr/local/go/bin to PATH" >&2
	else
		echo "setup: Go 1.26 or newer is needed (https://go.dev/doc/install)" >&2
	fi
	exit 1
fi
echo "setup: ready ($(go version))"
