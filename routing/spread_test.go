package routing_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/routing"
)

func TestSpread(t *testing.T) {
	t.Parallel()
	dir := network()
	const date = "2026-03-05"
	req := routing.Request{Recipient: resident104, Parcel: small}
	overflow := func(full string) []routing.Decision {
		return routing.Overflow(dir.Location(full), req, dir, routing.DefaultLimits(), date, nil, 10)
	}
	// far: SP-ALEPA's alternatives with one more, 950 km on: beyond
	// SpreadM of the nearest, whatever its room.
	far := append(overflow("SP-ALEPA"), routing.Decision{Location: dir.Location("SP-IVALO"), Rule: routing.RuleCapacityOverflow, Reason: "as it was"})
	cases := []struct {
		name string
		full string
		alts []routing.Decision
		room map[string]int
		want []string
		// moved are the alternatives put ahead of a nearer one with room,
		// whose Reason says so; the others keep Overflow's.
		moved []string
	}{
		{"the most room first", "SP-ALEPA", overflow("SP-ALEPA"), map[string]int{"SP-KAMPPI": 1, "SP-BIG": 3},
			[]string{"SP-BIG", "SP-KAMPPI"}, []string{"SP-BIG"}},
		{"the nearest has the most: as it was", "SP-ALEPA", overflow("SP-ALEPA"), map[string]int{"SP-KAMPPI": 3, "SP-BIG": 1},
			[]string{"SP-KAMPPI", "SP-BIG"}, nil},
		{"a tie goes to the nearest", "SP-ALEPA", overflow("SP-ALEPA"), map[string]int{"SP-KAMPPI": 2, "SP-BIG": 2},
			[]string{"SP-KAMPPI", "SP-BIG"}, nil},
		{"the nearest full: the nearest with room is the reference", "SP-ALEPA", overflow("SP-ALEPA"), map[string]int{"SP-BIG": 2},
			[]string{"SP-BIG", "SP-KAMPPI"}, nil},
		{"none beyond SpreadM of the nearest with room", "SP-ALEPA", far, map[string]int{"SP-KAMPPI": 1, "SP-BIG": 2, "SP-IVALO": 9},
			[]string{"SP-BIG", "SP-KAMPPI", "SP-IVALO"}, []string{"SP-BIG"}},
		{"the building's own locker with room first, as it was", "LK-MANNER-1", overflow("LK-MANNER-1"), map[string]int{"LK-MANNER-2": 1, "SP-BIG": 5},
			[]string{"LK-MANNER-2", "SP-ALEPA", "SP-KAMPPI", "SP-BIG"}, nil},
		{"the building's own full: the smartposts spread", "LK-MANNER-1", overflow("LK-MANNER-1"), map[string]int{"SP-ALEPA": 1, "SP-BIG": 4},
			[]string{"SP-BIG", "SP-ALEPA", "LK-MANNER-2", "SP-KAMPPI"}, []string{"SP-BIG"}},
		{"no room anywhere: as it was", "SP-ALEPA", overflow("SP-ALEPA"), nil,
			[]string{"SP-KAMPPI", "SP-BIG"}, nil},
		{"an outlet's: as they were", "PO-SMALL", overflow("PO-SMALL"), map[string]int{"PO-KAMPPI": 5},
			[]string{"PO-KAMPPI"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			before := slices.Clone(c.alts)
			got := routing.Spread(dir.Location(c.full), req, date, c.alts, func(l *lokero.Location) int { return c.room[l.ID] })
			var ids []string
			for _, d := range got {
				ids = append(ids, d.Location.ID)
			}
			if !slices.Equal(ids, c.want) {
				t.Fatalf("Spread = %v, want %v", ids, c.want)
			}
			if !slices.EqualFunc(c.alts, before, func(a, b routing.Decision) bool { return a == b }) {
				t.Errorf("Spread changed the alternatives it was given")
			}
			reasons := map[string]string{}
			for _, d := range before {
				reasons[d.Location.ID] = d.Reason
			}
			for _, d := range got {
				if d.Rule != routing.RuleCapacityOverflow {
					t.Errorf("%s: rule %s, want %s", d.Location.ID, d.Rule, routing.RuleCapacityOverflow)
				}
				if !slices.Contains(c.moved, d.Location.ID) {
					if d.Reason != reasons[d.Location.ID] {
						t.Errorf("%s: reason %q, want Overflow's %q", d.Location.ID, d.Reason, reasons[d.Location.ID])
					}
					continue
				}
				nearest := got[slices.IndexFunc(got, func(o routing.Decision) bool { return o.Location.ID == c.want[1] })]
				wantContains(t, "reason", d.Reason, dir.Location(c.full).Name, "no free compartment", date, d.Location.Name, d.Location.ID,
					"more compartments are free than at", nearest.Location.Name,
					routing.FormatDistance(distance(t, dir, pointOf(t, dir, c.full), d.Location.ID)),
					routing.FormatDistance(distance(t, dir, pointOf(t, dir, c.full), nearest.Location.ID)))
				if strings.Contains(d.Reason, "nearest") {
					t.Errorf("%s: reason %q calls it the nearest", d.Location.ID, d.Reason)
				}
			}
		})
	}
}
