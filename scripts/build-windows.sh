#!/bin/sh
# Cross-builds the Windows console executable into dist/ (mingw-w64 for cgo).
set -eu
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
mkdir -p dist
VERSION="${VERSION:-$(git describe --tags --always 2>/dev/null || echo dev)}"
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || true)"
GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc \
	go build -trimpath -ldflags "-s -w -X main.version=$VERSION -X main.commit=$COMMIT" \
	-o dist/mykey.exe ./cmd/mykey
echo "built dist/mykey.exe ($(wc -c < dist/mykey.exe) bytes)"
