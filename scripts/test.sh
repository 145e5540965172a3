#!/bin/sh
# Runs mykey's whole test suite: vet, the race-enabled tests (real SQLite
# files, real processes, a real pcscd with the vpcd virtual reader and OpenSC,
# all inside private namespaces), the cgo-free core, and the Windows
# cross-build. Needs root for the namespaces. With CI=true, tests that need
# real parts fail instead of skipping.
set -eu
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"

if [ "${CI:-}" = true ]; then
	export MYKEY_REQUIRE_REAL=1
fi

echo "== go mod tidy -diff, gofmt, and what the release links"
go mod tidy -diff
unformatted=$(gofmt -l .)
if [ -n "$unformatted" ]; then
	echo "gofmt -l: $unformatted"
	exit 1
fi
sh scripts/check-release-deps.sh

echo "== go vet"
go vet ./...
GOOS=windows CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc go vet ./...

echo "== go test -race ./... (private namespaces with their own pcscd)"
go mod download
sh scripts/pcsc-ns.sh go test -race -count=1 -timeout 15m ./...

echo "== the import benchmarks: 1M rows against the sqlite3 shell, and into PostgreSQL against psql \\copy (print the ratios)"
go test -run '^$' -bench ImportLinks -benchtime 1x ./cmd/mykey/

echo "== the shared registry: a desk's replica of 1M cards built (s), a tap's lookup with the server stopped, a link reaching a desk (p99 ms), 50 desks for 60 s"
# Each in a process (and PostgreSQL cluster) of its own: the 1M-row build
# leaves work for autovacuum that would run during the 50 desks' window.
go test -run '^$' -bench 'ReplicaBuild' -benchtime 1x ./store/replica/
go test -run '^$' -bench 'FiftyDesks' -benchtime 1x ./store/replica/
go test -run '^$' -bench 'ReplicaLookup|Propagation' -benchtime 200x ./store/replica/

echo "== the genuine-card check's cost per tap, per mode, through pcscd + vpcd and in process (APDUs, ms)"
sh scripts/pcsc-ns.sh go test -run '^$' -bench GenuineCheck -benchtime 50x ./cardio/pcsc/

echo "== the console's server time over 1M links and 1M audit entries (p95 ms per page; target < 50)"
go test -run '^$' -bench ConsoleLargeRegistry -benchtime 280x ./console/

echo "== core without cgo"
CGO_ENABLED=0 go test -count=1 ./keyid/ ./keyfile/ ./config/ ./store/ ./cardio/ ./cardio/vcard/ ./certcheck/ ./keyboardwedge/ ./desk/ ./enroll/ ./batch/ ./internal/testpki/ ./internal/cmdline/ ./genuine/ ./internal/testcard/

echo "== Windows release (exes, MSI, signing) and its checks under Wine"
sh scripts/build-windows.sh
sh scripts/wine-check.sh

echo "== the README's demo command, headless (built-in virtual reader), then through this machine's pcscd"
go run ./cmd/mykey-demo --output stdout
go run ./cmd/mykey-demo --output stdout --pcscd --lang en
