package cardio_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/mykey-jp/mykey/cardio"
	"github.com/mykey-jp/mykey/internal/testpki"
)

func TestDOBKey(t *testing.T) {
	for dob, want := range map[string]string{
		"19800217": "550217", // 昭和55, seen on a test card
		"19890107": "640107", // 昭和64
		"19890108": "010108", // 平成元年
		"20190430": "310430", // 平成31
		"20190501": "010501", // 令和元年
		"19261224": "151224", // 大正15
		"19261225": "011225", // 昭和元年
		"20240229": "060229",
	} {
		if got, err := cardio.DOBKey(dob); got != want || err != nil {
			t.Errorf("DOBKey(%s) = %q, %v; want %q", dob, got, err, want)
		}
	}
	for _, bad := range []string{"", "1980021", "19800230", "1980-02-17", "19000101"} {
		if _, err := cardio.DOBKey(bad); err == nil {
			t.Errorf("DOBKey(%q) accepted", bad)
		}
	}
}

func surfaceFiles(t testing.TB) (rec, cvc []byte) {
	k := testpki.Key("surface card user")
	rec, cvc, err := testpki.SurfaceFiles("19800217", &k.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	return rec, cvc
}

func TestParseSurfaceFiles(t *testing.T) {
	rec, cvc := surfaceFiles(t)
	r, err := cardio.ParseAgeRecord(append(rec, 0xFF, 0xFF, 0x00)) // filler after the object
	if err != nil || r.DOB != "19800217" || r.CardKey.Size() != 256 || len(r.Signature) != 256 {
		t.Fatalf("ParseAgeRecord = %+v, %v", r, err)
	}
	if !bytes.HasPrefix(r.Signed, []byte{0xDF, 0x11, 0x08}) || len(r.Signed) != 11+5+265 {
		t.Errorf("signed part of %d bytes: % X…", len(r.Signed), r.Signed[:4])
	}
	c, err := cardio.ParseCVC(cvc)
	if err != nil || c.Issuer.String() != "6000023/001" || c.Subject.String() != "1322121/000" || len(c.Body) != 297 {
		t.Fatalf("ParseCVC = %+v, %v", c, err)
	}
	for name, b := range map[string][]byte{
		"truncated record": rec[:100], "record as CVC": rec, "empty": nil,
		"wrong DOB length": append([]byte{0xFF, 0x10, 0x05, 0xDF, 0x11, 0x02}, "19"...),
	} {
		if _, err := cardio.ParseAgeRecord(b); name != "record as CVC" && !errors.Is(err, cardio.ErrBadRecord) {
			t.Errorf("%s: ParseAgeRecord = %v", name, err)
		}
		if _, err := cardio.ParseCVC(b); !errors.Is(err, cardio.ErrBadRecord) {
			t.Errorf("%s: ParseCVC = %v", name, err)
		}
	}
}

// FuzzParseSurface feeds the age-record and CVC parsers (card data, outside
// input): they never panic, and what they accept is well formed.
func FuzzParseSurface(f *testing.F) {
	rec, cvc := surfaceFiles(f)
	f.Add(rec)
	f.Add(cvc)
	f.Add([]byte{0xFF, 0x10, 0x82, 0xFF, 0xFF})
	f.Fuzz(func(t *testing.T, b []byte) {
		if r, err := cardio.ParseAgeRecord(b); err == nil && (len(r.DOB) != 8 || r.CardKey == nil || len(r.Signature) == 0) {
			t.Fatalf("accepted a record without its parts: %+v", r)
		}
		if c, err := cardio.ParseCVC(b); err == nil && (c.Key == nil || len(c.Body) < 32) {
			t.Fatalf("accepted a CVC without its parts: %+v", c)
		}
	})
}
