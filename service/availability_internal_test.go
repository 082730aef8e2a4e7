package service

import (
	"math/rand/v2"
	"reflect"
	"slices"
	"testing"

	"github.com/lokero/lokero"
)

// TestFreeTableAgreesWithTheDay checks the dense by-position table a
// search reads against the day's map it is built from: the same free
// compartments, the same HasFree answer for every parcel, including
// lockers with nothing reserved, over-booked classes and outlets.
func TestFreeTableAgreesWithTheDay(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 7))
	var locs []lokero.Location
	reserved := map[string]map[string]int{}
	for i := range 300 {
		l := lokero.Location{ID: string(rune('a'+i%26)) + string(rune('A'+i/26)), Type: lokero.TypeSmartpost}
		switch i % 5 {
		case 0:
			l.Type = lokero.TypePostOffice
		default:
			l.Compartments = slices.Clone(lokero.StandardCompartmentClasses)
			for j := range l.Compartments {
				l.Compartments[j].Count = rng.IntN(4)
			}
			if i%5 != 1 {
				at := map[string]int{}
				for _, c := range l.Compartments {
					at[c.Size] = rng.IntN(c.Count + 2) // may exceed the count
				}
				reserved[l.ID] = at
			}
		}
		locs = append(locs, l)
	}
	snap := NewSnapshot(locs, func(code string) string { return code })
	table := newFreeTable(snap, &reservedDay{reserved: reserved})
	a := NewAvailability(nil, nil, 0)
	parcels := []*[3]float64{nil, {30, 20, 5}, {30, 20, 15}, {60, 35, 30}, {80, 10, 10}}
	for pos := range snap.locs {
		l := &snap.locs[pos]
		for _, dims := range parcels {
			if got, want := table.hasFree(pos, dims), HasFree(l, reserved, dims); got != want {
				t.Fatalf("%s %v: table hasFree %v, map %v", l.ID, dims, got, want)
			}
			if got, want := a.ofTable(table, pos, "2026-12-01", dims), a.Of(l, "2026-12-01", reserved, dims); !reflect.DeepEqual(got, want) {
				t.Fatalf("%s %v: table %+v, map %+v", l.ID, dims, got, want)
			}
		}
	}
}
