package address

import "testing"

func TestBuilding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
	}{
		{"Mannerheimintie 5", "mannerheimintie 5"},
		{"Mannerheimintie 12 B 34", "mannerheimintie 12"},
		{"MANNERHEIMINTIE 12", "mannerheimintie 12"},
		{"  mannerheimintie   12  b 34 ", "mannerheimintie 12"},
		{"Mannerheimint. 12 as. 34", "mannerheimintie 12"},
		{"Mannerheimin tie 12", "mannerheimintie 12"},
		{"Mannerheimin-tie 12", "mannerheimintie 12"},
		{"Hämeenk. 3", "hameenkatu 3"},
		{"Hameenkatu 3", "hameenkatu 3"},
		{"Hämeenkatu 3a", "hameenkatu 3a"},
		{"Hämeenkatu 3 A 12", "hameenkatu 3"},

		// A letter attached to the number: the building's, unless a flat
		// number comes straight after it (then it is a staircase).
		{"Mannerheimintie 5B 12", "mannerheimintie 5"},
		{"Mannerheimintie 5b 12", "mannerheimintie 5"},
		{"mannerheimintie 5B  12 ", "mannerheimintie 5"},
		{"Mannerheimintie 5B, 12", "mannerheimintie 5"},
		{"Mannerheimintie 5B-12", "mannerheimintie 5"},
		{"Mannerheimintie 5B/12", "mannerheimintie 5"},
		{"Mannerheimintie 5B12", "mannerheimintie 5"},
		{"Mannerheimintie 5b12", "mannerheimintie 5"},
		{"Mannerheimintie 5 B12", "mannerheimintie 5"},
		{"Mannerheimintie 5 b", "mannerheimintie 5"}, // a letter apart is a staircase
		{"Mannerheimintie 5B", "mannerheimintie 5b"},
		{"Mannerheimint. 5B 12", "mannerheimintie 5"},
		{"Hämeenkatu 3A 12", "hameenkatu 3"},
		{"Kotikatu 3a 12", "kotikatu 3"}, // ambiguous; read as staircase a, flat 12
		{"Kotikatu 3a", "kotikatu 3a"},
		{"KOTIKATU 3A", "kotikatu 3a"},
		{"Kotikatu 3b", "kotikatu 3b"},
		{"Kotikatu 3a as", "kotikatu 3a"},
		{"Kotikatu 3a as. 4", "kotikatu 3a"},
		{"Kotikatu 3A AS 4", "kotikatu 3a"},
		{"Kotikatu 3a lh. 2", "kotikatu 3a"},
		{"Kotikatu 3a B 12", "kotikatu 3a"}, // building 3a, staircase B
		{"Kotikatu 3a b12", "kotikatu 3a"},
		{"Kotikatu 3 as. 4", "kotikatu 3"},
		{"Rantatie 12-14b", "rantatie 12-14b"},
		{"Rantatie 12-14B 3", "rantatie 12-14"},
		{"Rantatie 12-14 B 3", "rantatie 12-14"},
		{"Rantatie 012A 3", "rantatie 12"},
		{"Storgatan 3A 12", "storgatan 3"},
		{"Storg. 3a bst. 4", "storgatan 3a"},
		{"Storgatan 3 trappa B 12", "storgatan 3"},
		{"Mannerheimvägen 5B 12", "mannerheimvagen 5"},

		{"Koivukj. 7", "koivukuja 7"},
		{"Koivukuja 7", "koivukuja 7"},
		{"Åbovägen 2", "abovagen 2"},
		{"Abov. 2", "abovagen 2"},
		{"Storg. 1", "storgatan 1"},
		{"Rantatie 012", "rantatie 12"},
		{"Rantatie 12-14 C", "rantatie 12-14"},
		{"Rantatie 12–14", "rantatie 12"}, // an en dash is not a range we know
		{"Mannerheimintie", ""},
		{"12 B 34", ""},
		{"", ""},
		{"...", ""},
	}
	for _, tt := range tests {
		if got := Building(tt.in); got != tt.want {
			t.Errorf("Building(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSameBuilding(t *testing.T) {
	t.Parallel()
	same := [][2]string{
		{"Mannerheimintie 5", "mannerheimintie 5 A 1"},
		{"Mannerheimintie 5", "Mannerheimint. 5"},
		{"Hämeenkatu 10", "HAMEENKATU 10 as 4"},
		// Staircase B, flat 12, however it is written (docs/shipments.md §2).
		{"Mannerheimintie 5", "Mannerheimintie 5B 12"},
		{"Mannerheimintie 5 B 12", "Mannerheimintie 5B 12"},
		{"Mannerheimintie 5 B 12", "mannerheimintie 5b12"},
		{"Mannerheimintie 5 B 12", "Mannerheimintie 5 b12"},
		{"Kotikatu 3a", "Kotikatu 3A as. 4"},
	}
	for _, p := range same {
		if Building(p[0]) != Building(p[1]) {
			t.Errorf("%q and %q should be one building: %q vs %q", p[0], p[1], Building(p[0]), Building(p[1]))
		}
	}
	different := [][2]string{
		{"Mannerheimintie 5", "Mannerheimintie 50"},
		{"Mannerheimintie 5", "Mannerheimintie 5a"},
		{"Kotikatu 3a", "Kotikatu 3b"},
		{"Kotikatu 3", "Kotikatu 3a as. 4"},
		{"Kotikatu 3a", "Kotikatu 3 a"},
		{"Hämeenkatu 10", "Hämeentie 10"},
	}
	for _, p := range different {
		if Building(p[0]) == Building(p[1]) {
			t.Errorf("%q and %q should be different buildings, both %q", p[0], p[1], Building(p[0]))
		}
	}
}

func FuzzBuilding(f *testing.F) {
	for _, s := range []string{"Mannerheimintie 12 B 34", "Mannerheimintie 5B 12", "5b12", "Hämeenk. 3a", "Kotikatu 3a as. 4", "1-", "-1", "Ä.", "k. 1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		key := Building(s)
		if key != "" && Building(key) != key {
			t.Errorf("Building is not idempotent: %q -> %q -> %q", s, key, Building(key))
		}
	})
}

func TestBuildings(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		street string
		want   []string
	}{
		{"Kotikatu 3a 12", []string{"kotikatu 3", "kotikatu 3a"}},
		{"Mannerheimintie 5B 12", []string{"mannerheimintie 5", "mannerheimintie 5b"}},
		{"Kotikatu 3a", []string{"kotikatu 3a"}},
		{"Kotikatu 3 A 12", []string{"kotikatu 3"}},
		{"Kotikatu 3a as. 12", []string{"kotikatu 3a"}},
		{"Kotikatu 12 4", []string{"kotikatu 12"}},
		{"Kotikatu", nil},
		{"", nil},
	} {
		got := Buildings(tt.street)
		if len(got) != len(tt.want) {
			t.Errorf("Buildings(%q) = %q; want %q", tt.street, got, tt.want)
			continue
		}
		for i := range got {
			if got[i] != tt.want[i] {
				t.Errorf("Buildings(%q) = %q; want %q", tt.street, got, tt.want)
				break
			}
		}
		if b := Building(tt.street); len(tt.want) > 0 && b != tt.want[0] {
			t.Errorf("Building(%q) = %q; want Buildings' first, %q", tt.street, b, tt.want[0])
		}
	}
}
