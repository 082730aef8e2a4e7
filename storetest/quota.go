package storetest

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"testing"

	"github.com/lokero/lokero"
)

var quotaTests = []struct {
	name string
	fn   func(t *testing.T, s Store)
}{
	{"RetailerReservations", testRetailerReservations},
	{"RetailerReservationsConcurrent", testRetailerReservationsConcurrent},
	{"OutOfOrder", testOutOfOrder},
}

// OutOfOrderStore is the read of every locker's compartments out of order
// at once, that the checkout's capacity view makes besides its reservations
// (service.AvailabilityStore).
type OutOfOrderStore interface {
	OutOfOrder(ctx context.Context, locationIDs ...string) (map[string]map[string]int, error)
}

// outOfOrderStore returns s as an OutOfOrderStore, failing the test when
// it is not one.
func outOfOrderStore(t *testing.T, s Store) OutOfOrderStore {
	t.Helper()
	o, ok := s.(OutOfOrderStore)
	if !ok {
		t.Fatalf("%T has no OutOfOrder(ctx, locationIDs...): the capacity view cannot count compartments out of order", s)
	}
	return o
}

// booked returns a shipment of a retailer holding a reservation of size at
// a location for a date ("" size: holding none).
func booked(retailerID, id, locationID string, date lokero.Date, size string) lokero.Shipment {
	s := shipment(retailerID, id)
	s.DestinationID, s.DeliveryDate, s.SizeClass = locationID, date, size
	return s
}

func retailerReservations(t *testing.T, s Store, retailerID, locationID string, date lokero.Date) map[string]int {
	t.Helper()
	var got map[string]int
	mustInTx(t, s, func(tx lokero.Tx) error {
		var err error
		got, err = tx.RetailerReservations(t.Context(), retailerID, locationID, date)
		return err
	})
	return got
}

// testRetailerReservations: the count is by retailer, location, delivery
// date and size class; a shipment that gave its reservation back (size
// class cleared) no longer counts.
func testRetailerReservations(t *testing.T, s Store) {
	mustRetailer(t, s, "r-a")
	mustRetailer(t, s, "r-b")
	d1, d2 := mustDate(t, "2025-03-03"), mustDate(t, "2025-03-04")
	mustInsert(t, s,
		booked("r-a", "a1", "sp-1", d1, "S"),
		booked("r-a", "a2", "sp-1", d1, "S"),
		booked("r-a", "a3", "sp-1", d1, "M"),
		booked("r-a", "a4", "sp-1", d2, "S"), // another day
		booked("r-a", "a5", "sp-2", d1, "S"), // another locker
		booked("r-a", "a6", "sp-1", d1, ""),  // holds no reservation (an outlet's, or given back)
		booked("r-b", "b1", "sp-1", d1, "S"), // another retailer
		booked("r-b", "b2", "sp-1", d1, "L"),
	)
	tests := []struct {
		retailer, location string
		date               lokero.Date
		want               map[string]int
	}{
		{"r-a", "sp-1", d1, map[string]int{"S": 2, "M": 1}},
		{"r-a", "sp-1", d2, map[string]int{"S": 1}},
		{"r-a", "sp-2", d1, map[string]int{"S": 1}},
		{"r-b", "sp-1", d1, map[string]int{"S": 1, "L": 1}},
		{"r-b", "sp-2", d1, map[string]int{}},
		{"r-c", "sp-1", d1, map[string]int{}}, // no such retailer
	}
	for _, tt := range tests {
		got := retailerReservations(t, s, tt.retailer, tt.location, tt.date)
		if got == nil || !maps.Equal(got, tt.want) {
			t.Errorf("RetailerReservations(%s, %s, %s) = %v; want %v", tt.retailer, tt.location, tt.date, got, tt.want)
		}
	}
	// Giving a reservation back (pickup, cancellation) clears the size
	// class: the shipment stops counting.
	mustInTx(t, s, func(tx lokero.Tx) error {
		sh, err := tx.Shipment(t.Context(), "a1")
		if err != nil {
			return err
		}
		sh.SizeClass, sh.Status = "", lokero.StatusCancelled
		return tx.UpdateShipment(t.Context(), &sh)
	})
	if got := retailerReservations(t, s, "r-a", "sp-1", d1); !maps.Equal(got, map[string]int{"S": 1, "M": 1}) {
		t.Errorf("after a1 gave its reservation back: %v; want S 1, M 1", got)
	}
}

// testRetailerReservationsConcurrent: bookings of one retailer racing for
// one class at one locker, each counting the retailer's reservations after
// its Reserve, never take more than the cap: the count made under the
// reservation counter's row lock sees every booking committed before.
func testRetailerReservationsConcurrent(t *testing.T, s Store) {
	mustRetailer(t, s, "r-a")
	date := mustDate(t, "2025-03-03")
	const cap, racers = 3, 12
	var wg sync.WaitGroup
	var mu sync.Mutex
	took := 0
	for i := range racers {
		wg.Go(func() {
			err := s.InTx(t.Context(), func(tx lokero.Tx) error {
				ok, err := tx.Reserve(t.Context(), "sp-1", date, "S", 100)
				if err != nil || !ok {
					return fmt.Errorf("reserve: %v, %w", ok, err)
				}
				mine, err := tx.RetailerReservations(t.Context(), "r-a", "sp-1", date)
				if err != nil {
					return err
				}
				if mine["S"] >= cap {
					return tx.Release(t.Context(), "sp-1", date, "S")
				}
				sh := booked("r-a", fmt.Sprintf("race-%02d", i), "sp-1", date, "S")
				if err := tx.InsertShipment(t.Context(), &sh, "", nil); err != nil {
					return err
				}
				mu.Lock()
				took++
				mu.Unlock()
				return nil
			})
			if err != nil {
				t.Errorf("racer %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if took != cap {
		t.Errorf("%d racing bookings were taken; want the cap, %d", took, cap)
	}
	if got := retailerReservations(t, s, "r-a", "sp-1", date); got["S"] != cap {
		t.Errorf("RetailerReservations after the race = %v; want S %d", got, cap)
	}
	reserved, err := s.ReservedOn(t.Context(), date, "sp-1")
	if err != nil {
		t.Fatal(err)
	}
	if got := reserved["sp-1"]["S"]; got != cap {
		t.Errorf("reservations after the race = %d; want %d (the refused ones given back)", got, cap)
	}
}

// testOutOfOrder: compartments out of order are counted by locker and size
// class, in a transaction and for the capacity view (all lockers, or those
// asked); back in order, they stop counting.
func testOutOfOrder(t *testing.T, s Store) {
	ctx := t.Context()
	oo := outOfOrderStore(t, s)
	mustInTx(t, s, func(tx lokero.Tx) error {
		for _, loc := range []string{"sp-1", "sp-2", "sp-3"} {
			for _, c := range layout(loc, 6) { // S M L S M L
				c.OutOfOrder = loc == "sp-1" && (c.Number == 1 || c.Number == 2 || c.Number == 4) ||
					loc == "sp-2" && c.Number == 6
				if err := tx.PutCompartment(ctx, c); err != nil {
					return err
				}
			}
		}
		return nil
	})
	wantAll := map[string]map[string]int{"sp-1": {"S": 2, "M": 1}, "sp-2": {"L": 1}}
	check := func(step string, want map[string]map[string]int) {
		t.Helper()
		for _, loc := range []string{"sp-1", "sp-2", "sp-3", "not-laid-out"} {
			mustInTx(t, s, func(tx lokero.Tx) error {
				load, err := tx.LockerLoad(ctx, loc, lokero.Date{Year: 2026, Month: 12, Day: 1}, lokero.Date{Year: 2026, Month: 12, Day: 1})
				if err != nil {
					return err
				}
				got := load.OutOfOrder
				w := want[loc]
				if w == nil {
					w = map[string]int{}
				}
				if got == nil || !maps.Equal(got, w) {
					t.Errorf("%s: Tx.LockerLoad(%s).OutOfOrder = %v; want %v", step, loc, got, w)
				}
				return nil
			})
		}
		all, err := oo.OutOfOrder(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !maps.EqualFunc(all, want, maps.Equal) {
			t.Errorf("%s: OutOfOrder() = %v; want %v", step, all, want)
		}
		some, err := oo.OutOfOrder(ctx, "sp-2", "sp-3", "not-laid-out")
		if err != nil {
			t.Fatal(err)
		}
		wantSome := map[string]map[string]int{}
		if w := want["sp-2"]; w != nil {
			wantSome["sp-2"] = w
		}
		if !maps.EqualFunc(some, wantSome, maps.Equal) {
			t.Errorf("%s: OutOfOrder(sp-2, sp-3, not-laid-out) = %v; want %v", step, some, wantSome)
		}
	}
	check("marked", wantAll)

	// Back in order: sp-2's only one, and one of sp-1's S.
	mustInTx(t, s, func(tx lokero.Tx) error {
		for _, loc := range []string{"sp-1", "sp-2"} {
			cs, err := tx.Compartments(ctx, loc)
			if err != nil {
				return err
			}
			c := cs[map[string]int{"sp-1": 0, "sp-2": 5}[loc]]
			c.OutOfOrder = false
			if err := tx.PutCompartment(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	check("back in order", map[string]map[string]int{"sp-1": {"S": 1, "M": 1}})
}
