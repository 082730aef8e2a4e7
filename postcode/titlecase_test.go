package postcode

import "testing"

func TestTitleCase(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"HELSINKI", "Helsinki"},
		{"HELSINGFORS", "Helsingfors"},
		{"ÅBO", "Åbo"},
		{"ÄÄNEKOSKI", "Äänekoski"},
		{"SÖDERKULLA", "Söderkulla"},
		{"ETELÄ-PORTIMOJÄRVI", "Etelä-Portimojärvi"},
		{"KUOPPA-AHO", "Kuoppa-Aho"},
		{"YLI-II", "Yli-Ii"},
		{"NORRA VALLGRUND", "Norra Vallgrund"},
		{"PERNAJAN VANHAKYLÄ", "Pernajan Vanhakylä"},
		{"ALAVUS AS", "Alavus as"},
		{"HOLLOLA KK", "Hollola kk"},
		{"INGÅ ST", "Ingå st"},
		{"KOSKI TL", "Koski Tl"},
		{"S:T KARINS", "S:t Karins"},
		{"AS OY", "As Oy"}, // only after a name is AS an abbreviation
		{"Helen", "Helen"},
		{"Mänttä-Vilppula", "Mänttä-Vilppula"},
		{"  SMART   POST ", "Smart Post"},
		{"A--B", "A--B"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := titleCase(tt.in); got != tt.want {
			t.Errorf("titleCase(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
