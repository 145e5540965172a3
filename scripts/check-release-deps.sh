#!/bin/sh
# Checks what the shipped executables link (the mykey CLI and tray, on Linux
# and Windows as scripts/build-windows.sh builds them):
#  - none of this module's test helpers (internal/testpki, internal/ocsptest,
#    internal/pcsctest, internal/xdesk, internal/testenv, internal/testcard,
#    internal/pgtest, internal/winetest) and no
#    net/http/httptest;
#  - "testing" only through third-party modules that import it in their
#    non-test code (robotgo's github.com/vcaesar/tt, and jezek/xgb's
#    testingTools.go): a new path to it fails the check.
set -eu
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
allowed='^(github.com/vcaesar/tt|github.com/jezek/xgb)$'
status=0
check() { # LABEL, then the environment for go list
	label=$1
	shift
	deps=$(env "$@" go list -deps ./cmd/mykey)
	bad=$(echo "$deps" | grep -E '^net/http/httptest$|^github.com/mykey-jp/mykey/internal/(testpki|ocsptest|pcsctest|xdesk|testenv|testcard|pgtest|winetest)$' || true)
	importers=$(env "$@" go list -deps -f '{{.ImportPath}} {{join .Imports " "}}' ./cmd/mykey |
		awk '{for (i = 2; i <= NF; i++) if ($i == "testing") print $1}' | grep -Ev "$allowed" || true)
	if [ -n "$bad$importers" ]; then
		echo "release-deps ($label): the shipped executable links test code:" $bad $importers
		status=1
	fi
}
check linux GOOS=linux
check windows GOOS=windows CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc
[ $status = 0 ] && echo "release-deps: ok (no test helpers, no httptest; testing only via vcaesar/tt and jezek/xgb)"
exit $status
