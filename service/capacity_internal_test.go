package service

import (
	"reflect"
	"testing"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/occupancy"
)

// TestAddOccupantsOutOfOrder: a parcel in a compartment out of order takes
// no room of its own in the capacity model (its compartment is counted
// as out of order), whether it waits for its recipient or for a courier,
// but the reservation it holds is counted as any parcel's, so that its
// booking is not taken for one not yet delivered.
func TestAddOccupantsOutOfOrder(t *testing.T) {
	t.Parallel()
	today := lokero.Date{Year: 2026, Month: 11, Day: 25}
	yesterday := today.AddDays(-1)
	row := func(status lokero.ShipmentStatus, outOfOrder bool) lokero.Occupants {
		return lokero.Occupants{LocationID: "L1", Size: "L", Status: status, ArrivedOn: yesterday,
			ReservedSize: "M", DeliveryDate: yesterday, OutOfOrder: outOfOrder, Count: 2}
	}
	for _, tt := range []struct {
		name       string
		occ        lokero.Occupants
		waiting    map[lokero.Date]int
		forCourier int
	}{
		{"waiting, in order", row(lokero.StatusReadyForPickup, false), map[lokero.Date]int{yesterday: 2}, 0},
		{"waiting, out of order", row(lokero.StatusReadyForPickup, true), map[lokero.Date]int{}, 0},
		{"expired, in order", row(lokero.StatusExpired, false), map[lokero.Date]int{}, 2},
		{"expired, out of order", row(lokero.StatusExpired, true), map[lokero.Date]int{}, 0},
		{"dropped off, out of order", row(lokero.StatusDroppedOff, true), map[lokero.Date]int{}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cs := sizeClasses{}
			cs.addOccupants([]lokero.Occupants{tt.occ}, today)
			want := occupancy.Class{Waiting: tt.waiting, ForCourier: tt.forCourier, Reserved: map[lokero.Date]int{}}
			if got := cs["L1"]["L"]; got == nil || !reflect.DeepEqual(got.Class, want) {
				t.Errorf("the L class = %+v; want %+v", got, want)
			}
			if got := cs["L1"]["M"]; got == nil || got.holding[yesterday] != 2 {
				t.Errorf("the M class = %+v; want the two parcels' reservations held for %s", got, yesterday)
			}
			// The day's reservations in the store include the two held:
			// none of them is a booking still to come.
			cs.addReserved(yesterday, map[string]map[string]int{"L1": {"M": 2}})
			if n := cs["L1"]["M"].Reserved[yesterday]; n != 0 {
				t.Errorf("%d of %s's M reservations counted as not yet delivered; want 0", n, yesterday)
			}
		})
	}
}
