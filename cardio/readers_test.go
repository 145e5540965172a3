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
