package main

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mykey-jp/mykey/internal/testpki"
)

func TestUsageErrors(t *testing.T) {
	pki := testpki.Dir()
	for _, tt := range []struct {
		args []string
		want string
	}{
		{nil, "usage: mykey-vcard"},
		{[]string{"--cert", filepath.Join(pki, "user.der"), "--key", filepath.Join(pki, "user.key"), "--ca", filepath.Join(pki, "ca-2023.der"), "--pin", "1234", "--fault", "melt"}, `unknown fault "melt"`},
		{[]string{"--cert", filepath.Join(pki, "user.key"), "--key", filepath.Join(pki, "user.key"), "--ca", filepath.Join(pki, "ca-2023.der"), "--pin", "1234"}, "not a certificate"},
		{[]string{"--cert", filepath.Join(pki, "user.der"), "--key", filepath.Join(pki, "user.der"), "--ca", filepath.Join(pki, "ca-2023.der"), "--pin", "1234"}, "no PEM block"},
		{[]string{"--cert", filepath.Join(pki, "user.der"), "--key", filepath.Join(pki, "user.key"), "--ca", filepath.Join(pki, "ca-2023.der"), "--pin", "12"}, "4 digits"},
	} {
		var errs bytes.Buffer
		if code := run(tt.args, &errs); code != 2 || !strings.Contains(errs.String(), tt.want) {
			t.Errorf("%v: exit %d, %q; want 2 and %q", tt.args, code, errs.String(), tt.want)
		}
	}
}
