package cardio

import "testing"

func TestMatches(t *testing.T) {
	for _, tt := range []struct {
		reader           string
		include, exclude []string
		want             bool
	}{
		{"SONY FeliCa Port/PaSoRi 4.0", nil, nil, true},
		{"SONY FeliCa Port/PaSoRi 4.0", []string{"PaSoRi"}, nil, true},
		{"Virtual PCD 00 00", []string{"PaSoRi"}, nil, false},
		{"Virtual PCD 00 00", nil, []string{"Virtual"}, false},
		{"ACS ACR39U", []string{"ACS"}, []string{"ACR39U"}, false},
	} {
		if got := Matches(tt.reader, tt.include, tt.exclude); got != tt.want {
			t.Errorf("Matches(%q, %v, %v) = %v", tt.reader, tt.include, tt.exclude, got)
		}
	}
}

// FuzzDOBOffset: the basic information's header parser never panics and
// never points into the header itself or past a READ BINARY offset.
func FuzzDOBOffset(f *testing.F) {
	f.Add([]byte{0xFF, 0x20, 0x82, 0x00, 0x40, 0xDF, 0x21, 0x08, 0, 16, 0, 40, 0, 80, 0, 91})
	f.Add([]byte{0xFF, 0x20, 0x40, 0xDF, 0x21, 0x08, 0, 14, 0, 30, 0, 60, 0, 71})
	f.Fuzz(func(t *testing.T, head []byte) {
		off, err := dobOffset(head)
		if err == nil && (off < 14 || off > 0x7FFF) {
			t.Fatalf("offset %d from %x", off, head)
		}
	})
}
