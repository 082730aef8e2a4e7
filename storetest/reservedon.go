package storetest

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/lokero/lokero"
)

// testReservedOnAndShipmentsTo: ReservedOn gives every location's
// reservations of one date, or those of the locations asked, and leaves
// out released ones; ShipmentsTo
// lists a location's shipments in the asked statuses only, by ID.
func testReservedOnAndShipmentsTo(t *testing.T, s Store) {
	ctx := t.Context()
	mustInTx(t, s, func(tx lokero.Tx) error {
		for _, r := range []struct{ loc, date, size string }{
			{"A", "2026-12-01", "S"}, {"A", "2026-12-01", "S"}, {"A", "2026-12-01", "M"},
			{"B", "2026-12-01", "L"}, {"B", "2026-12-02", "L"}, {"C", "2026-12-01", "S"},
		} {
			if ok, err := tx.Reserve(ctx, r.loc, mustDate(t, r.date), r.size, 10); err != nil || !ok {
				t.Fatalf("Reserve %v: %v %v", r, ok, err)
			}
		}
		return tx.Release(ctx, "C", mustDate(t, "2026-12-01"), "S")
	})
	got, err := s.ReservedOn(ctx, mustDate(t, "2026-12-01"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]int{"A": {"S": 2, "M": 1}, "B": {"L": 1}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReservedOn = %v; want %v", got, want)
	}
	if got, err := s.ReservedOn(ctx, mustDate(t, "2027-01-01")); err != nil || len(got) != 0 {
		t.Errorf("ReservedOn of a day without reservations = %v, %v; want none", got, err)
	}
	// Some locations only: those asked, with reservations that day.
	for _, tc := range []struct {
		ids  []string
		want map[string]map[string]int
	}{
		{[]string{"A"}, map[string]map[string]int{"A": {"S": 2, "M": 1}}},
		{[]string{"B", "C", "nowhere"}, map[string]map[string]int{"B": {"L": 1}}},
		{[]string{"C"}, map[string]map[string]int{}},
	} {
		if got, err := s.ReservedOn(ctx, mustDate(t, "2026-12-01"), tc.ids...); err != nil || !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ReservedOn(%v) = %v, %v; want %v", tc.ids, got, err, tc.want)
		}
	}
	// More locations than SQLite takes parameters in one statement.
	many := make([]string, 2000)
	for i := range many {
		many[i] = fmt.Sprintf("X%04d", i)
	}
	many[1999] = "B"
	if got, err := s.ReservedOn(ctx, mustDate(t, "2026-12-01"), many...); err != nil || !reflect.DeepEqual(got, map[string]map[string]int{"B": {"L": 1}}) {
		t.Errorf("ReservedOn(2,000 ids) = %v, %v; want B alone", got, err)
	}

	mustRetailer(t, s, "r")
	var all []lokero.Shipment
	for i, st := range []lokero.ShipmentStatus{lokero.StatusCreated, lokero.StatusInTransit, lokero.StatusReadyForPickup, lokero.StatusCreated} {
		sh := shipment("r", "to-"+string(rune('a'+i)))
		sh.Status, sh.DestinationID = st, "X"
		all = append(all, sh)
	}
	elsewhere := shipment("r", "to-elsewhere")
	elsewhere.DestinationID = "Y"
	mustInsert(t, s, append(all, elsewhere)...)
	list, err := s.ShipmentsTo(ctx, "X", []lokero.ShipmentStatus{lokero.StatusCreated, lokero.StatusInTransit})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := ids(list), []string{"to-a", "to-b", "to-d"}; !reflect.DeepEqual(got, want) {
		t.Errorf("ShipmentsTo(X, CREATED|IN_TRANSIT) = %v; want %v", got, want)
	}
	if len(list) > 0 {
		checkShipment(t, list[0], stored(all[0], false), false)
	}
	if list, err := s.ShipmentsTo(ctx, "X", nil); err != nil || len(list) != 0 {
		t.Errorf("ShipmentsTo without statuses = %v, %v; want none", ids(list), err)
	}
}
