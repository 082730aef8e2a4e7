package postcode_test

import (
	"testing"

	"github.com/lokero/lokero/postcode"
)

func TestSearch(t *testing.T) {
	t.Parallel()
	r := registry(t)
	tests := []struct {
		q         string
		sv        bool
		wantFirst postcode.Place // Code, Name and Municipality
		atMost    int
	}{
		{"Sysmä", false, postcode.Place{Code: "19700", Name: "Sysmä", Municipality: "Sysmä"}, 5},
		{"  sysmä ", false, postcode.Place{Code: "19700", Name: "Sysmä", Municipality: "Sysmä"}, 5},
		{"turku", false, postcode.Place{Code: "20100", Name: "Turku", Municipality: "Turku"}, 5},
		{"åbo", true, postcode.Place{Code: "20100", Name: "Åbo", Municipality: "Åbo"}, 5},
		{"helsinki", false, postcode.Place{Code: "00100", Name: "Helsinki", Municipality: "Helsinki"}, 1},
	}
	for _, tt := range tests {
		got := r.Search(tt.q, tt.atMost, tt.sv)
		if len(got) == 0 || len(got) > tt.atMost {
			t.Errorf("Search(%q) = %d places; want 1..%d", tt.q, len(got), tt.atMost)
			continue
		}
		if f := got[0]; f.Code != tt.wantFirst.Code || f.Name != tt.wantFirst.Name || f.Municipality != tt.wantFirst.Municipality || f.Point.Lat < 59 || f.Point.Lat > 71 {
			t.Errorf("Search(%q)[0] = %+v; want %+v with a point in Finland", tt.q, f, tt.wantFirst)
		}
	}
	for _, q := range []string{"", "   ", "xyzzy"} {
		if got := r.Search(q, 5, false); len(got) != 0 {
			t.Errorf("Search(%q) = %v; want none", q, got)
		}
	}
}
