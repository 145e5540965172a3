#!/bin/sh
# Builds the Windows release into dist/: mykey.exe (console, the CLI),
# mykeyw.exe (GUI subsystem: the tray, no console window), both with an icon
# and a version resource, signed; and the signed MSI installer.
#
# Signing: MYKEY_SIGN_CERT and MYKEY_SIGN_KEY (PEM) name a real code-signing
# certificate and key; without them a throwaway self-signed certificate is
# made in dist/test-signing/ (for CI: Windows does not trust it).
set -eu
cd "$(dirname "$0")/.."
export PATH="$PATH:/usr/local/go/bin"
VERSION="${VERSION:-0.1.0}"       # MSI versions are numeric: major.minor.patch
COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
mkdir -p dist

COMMA="$(echo "$VERSION" | tr . ,),0"
sed -e "s/@VERSION@/$VERSION/g" -e "s/@COMMA@/$COMMA/g" packaging/mykey.rc.in > dist/mykey.rc
x86_64-w64-mingw32-windres -I packaging -O coff -o cmd/mykey/rsrc_windows_amd64.syso dist/mykey.rc
trap 'rm -f cmd/mykey/rsrc_windows_amd64.syso' EXIT

build() { # OUT EXTRA_LDFLAGS
	GOOS=windows GOARCH=amd64 CGO_ENABLED=1 CC=x86_64-w64-mingw32-gcc \
		go build -trimpath -ldflags "-s -w -X github.com/mykey-jp/mykey/app.version=$VERSION -X github.com/mykey-jp/mykey/app.commit=$COMMIT $2" -o "dist/$1" ./cmd/mykey
}
build mykey.exe ""
build mykeyw.exe "-H windowsgui -X main.defaultArgs=run"
go run ./cmd/mykey config init --windows-defaults --force --path dist/mykey.toml >/dev/null
# The Group Policy template, for the domain's PolicyDefinitions store.
rm -rf dist/policy && cp -r packaging/policy dist/policy

cert="${MYKEY_SIGN_CERT:-}"
key="${MYKEY_SIGN_KEY:-}"
if [ -z "$cert" ]; then
	mkdir -p dist/test-signing
	cert=dist/test-signing/cert.pem key=dist/test-signing/key.pem
	[ -f "$cert" ] || openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=mykey test signing (untrusted)" \
		-addext extendedKeyUsage=codeSigning -keyout "$key" -out "$cert" 2>/dev/null
fi
sign() {
	osslsigncode sign -certs "$cert" -key "$key" -h sha256 -n "mykey" -in "$1" -out "$1.signed" >/dev/null
	mv "$1.signed" "$1"
	osslsigncode verify -CAfile "$cert" -in "$1" >/dev/null
}
sign dist/mykey.exe
sign dist/mykeyw.exe

wixl -a x64 -D Version="$VERSION" -D Dist=dist -o "dist/mykey-$VERSION.msi" packaging/mykey.wxs
sign "dist/mykey-$VERSION.msi"
echo "built and signed: dist/mykey.exe dist/mykeyw.exe dist/mykey-$VERSION.msi (Group Policy template: dist/policy)"
