package service_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/geo"
	"github.com/lokero/lokero/routing"
	"github.com/lokero/lokero/service"
)

// outletCapacityFixture is the locker fixture (LOCKER-M5, SP-NEAR, SP-MID
// and the POSTOFFICE PO-FAR) with two PICKUPPOINTs near the centre:
// PP-ONE, whose shelves take few parcels a day, and PP-TWO, the one its
// overflow goes to. Both take a pickup point's default parcel, at most
// 100 × 60 × 60 cm; PO-FAR a post office's, 120 × 60 × 60 cm.
type outletCapacityFixture struct {
	lockersFixture
	date lokero.Date // the delivery date of a booking made now: Thursday 2026-11-26
}

// ppOneCapacity is PP-ONE's shelf capacity as imported. The tests read the
// capacity back from the directory, so that they hold whether or not the
// store keeps an outlet's own capacity (one that does not gives the type's
// default, 40).
const ppOneCapacity = 3

func pickupPoint(id string, lat, lon float64) lokero.Location {
	hours := make([]lokero.OpeningHours, 7)
	for i := range hours {
		hours[i] = lokero.OpeningHours{Weekday: i + 1, From: "08:00", To: "21:00"}
	}
	return lokero.Location{ID: id, Type: lokero.TypePickupPoint, Name: "Kioski " + id, Street: "Simonkatu 1",
		Postcode: "00100", City: "Helsinki", Lat: lat, Lon: lon, OpeningHours: hours}
}

func newOutletCapacity(t *testing.T, st lockerStore) outletCapacityFixture {
	t.Helper()
	f := outletCapacityFixture{lockersFixture: newLockers(t, st)}
	one := pickupPoint("PP-ONE", 60.1705, 24.9410)
	one.ShelfCapacity = ppOneCapacity
	if _, err := f.dir.Import(context.Background(), []lokero.Location{one, pickupPoint("PP-TWO", 60.1720, 24.9420)}); err != nil {
		t.Fatal(err)
	}
	f.date = f.dir.DeliveryDate()
	return f
}

// location returns a location of the directory.
func (f outletCapacityFixture) location(t *testing.T, id string) *lokero.Location {
	t.Helper()
	l, err := f.dir.Location(id)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// shelves returns the shelf places reserved at a location for the
// delivery date, as the store counts them.
func (f outletCapacityFixture) shelves(t *testing.T, id string) int {
	t.Helper()
	got, err := f.store.ReservedOn(context.Background(), f.date, id)
	if err != nil {
		t.Fatal(err)
	}
	return got[id][lokero.ShelfSize]
}

// bookTo books a parcel of the given dimensions to a point (fallback as
// given), returning the shipment or the refusal.
func (f outletCapacityFixture) bookTo(point string, dims [3]float64, fallback string) (lokero.Shipment, error) {
	req := request()
	req.PickupPointID = point
	req.Fallback = fallback
	req.Parcel.LengthCM, req.Parcel.WidthCM, req.Parcel.HeightCM = dims[0], dims[1], dims[2]
	res, err := f.shipments.Create(context.Background(), f.retailer, req, "", nil)
	return res.Shipment, err
}

// search finds the points near PP-ONE, on the delivery date.
func (f outletCapacityFixture) search(t *testing.T, q service.LocationQuery) []service.LocationResult {
	t.Helper()
	q.Origin = &geo.Point{Lat: 60.1705, Lon: 24.9410}
	if q.Limit == 0 {
		q.Limit = 20
	}
	res, err := f.dir.Search(context.Background(), q)
	if err != nil {
		t.Fatalf("search %+v: %v", q, err)
	}
	return res
}

func find(res []service.LocationResult, id string) *service.LocationResult {
	for i := range res {
		if res[i].Location.ID == id {
			return &res[i]
		}
	}
	return nil
}

// TestOutletFitsSearch: fits= lists the outlets whose limit takes the
// parcel, also when no locker near takes it, and a parcel too big for
// every locker is routed to one of them.
func TestOutletFitsSearch(t *testing.T) {
	t.Parallel()
	onEveryStore(t, newOutletCapacity, func(t *testing.T, f outletCapacityFixture) {
		cases := []struct {
			name      string
			fits      [3]float64
			available bool
			want      []string // exactly these, in any order
		}{
			{"small: every point", [3]float64{30, 20, 10}, false, []string{"SP-NEAR", "SP-MID", "PP-ONE", "PP-TWO", "PO-FAR"}},
			{"no locker takes it: the outlets", [3]float64{50, 90, 50}, false, []string{"PP-ONE", "PP-TWO", "PO-FAR"}},
			{"no pickup point takes it: the post office", [3]float64{50, 110, 50}, false, []string{"PO-FAR"}},
			{"no pickup point takes it, available", [3]float64{50, 110, 50}, true, []string{"PO-FAR"}},
			{"no outlet takes it", [3]float64{50, 121, 50}, false, []string{}},
		}
		for _, c := range cases {
			res := f.search(t, service.LocationQuery{Fits: &c.fits, Available: c.available})
			got := ids(res)
			if !sameSet(got, c.want) {
				t.Errorf("%s: fits=%v available=%v lists %v; want %v", c.name, c.fits, c.available, got, c.want)
			}
			for _, r := range res {
				if r.Location.Type.IsOutlet() && (r.Availability == nil || r.Availability.Level == service.LevelFull) {
					t.Errorf("%s: %s listed as taking the parcel with availability %+v", c.name, r.Location.ID, r.Availability)
				}
			}
		}

		// A parcel no locker nearby takes: to the post office that takes it.
		big := [3]float64{50, 110, 50}
		if _, err := f.bookTo("SP-NEAR", big, ""); lokero.ErrorCode(err) != lokero.EUNPROCESSABLE {
			t.Errorf("a 110 cm parcel to SP-NEAR without fallback: %v; want parcel_too_large", err)
		}
		sh, err := f.bookTo("SP-NEAR", big, routing.FallbackNearestOutlet)
		if err != nil || sh.DestinationID != "PO-FAR" || sh.Routing.Rule != routing.RuleOversizeFallback || sh.SizeClass != lokero.ShelfSize {
			t.Fatalf("a 110 cm parcel to SP-NEAR with fallback: %s %s %q, %v; want PO-FAR by oversize_fallback with a shelf place",
				sh.DestinationID, sh.Routing.Rule, sh.SizeClass, err)
		}
		if n := f.shelves(t, "PO-FAR"); n != 1 {
			t.Errorf("PO-FAR has %d shelf places reserved; want 1", n)
		}
		// A pickup point chosen at checkout that does not take it: 422 naming its limit.
		_, err = f.bookTo("PP-ONE", big, "")
		var e *lokero.Error
		if !asError(err, &e) || e.Code != lokero.EUNPROCESSABLE || e.Reason != "parcel_too_large" || e.Field != "parcel" ||
			!strings.Contains(e.Message, "PP-ONE") || !strings.Contains(e.Message, "100 × 60 × 60 cm") {
			t.Errorf("a 110 cm parcel to PP-ONE: %v; want 422 parcel_too_large naming PP-ONE and its limit", err)
		}
		if n := f.shelves(t, "PP-ONE"); n != 0 {
			t.Errorf("a refused booking left %d shelf places reserved at PP-ONE", n)
		}
	})
}

// TestOutletShelvesInAvailability: the capacity signal and available=true
// count an outlet's shelf places for the day as a locker's compartments.
func TestOutletShelvesInAvailability(t *testing.T) {
	t.Parallel()
	onEveryStore(t, newOutletCapacity, func(t *testing.T, f outletCapacityFixture) {
		capacity := f.location(t, "PP-ONE").ShelfCapacity
		if capacity != ppOneCapacity && capacity != 40 {
			t.Fatalf("PP-ONE takes %d parcels a day; want its own %d, or the default 40 from a store that does not keep it", capacity, ppOneCapacity)
		}
		level := func(free int) string {
			switch {
			case free == 0:
				return service.LevelFull
			case float64(free) < service.DefaultBusyBelow*float64(capacity):
				return service.LevelBusy
			}
			return service.LevelNormal
		}
		check := func(booked int) {
			t.Helper()
			r := find(f.search(t, service.LocationQuery{}), "PP-ONE")
			if r == nil || r.Availability == nil {
				t.Fatalf("after %d bookings PP-ONE is not listed with its availability: %+v", booked, r)
			}
			free := capacity - booked
			want := service.ClassAvailability{Size: lokero.ShelfSize, Total: capacity, Free: free, Level: level(free)}
			if a := r.Availability; len(a.Classes) != 1 || a.Classes[0] != want || a.Level != want.Level || a.Date != f.date.String() {
				t.Errorf("after %d bookings PP-ONE's availability is %+v; want %+v on %s", booked, a, want, f.date)
			}
			listed := slices.Contains(ids(f.search(t, service.LocationQuery{Available: true})), "PP-ONE")
			if listed != (free > 0) {
				t.Errorf("after %d of %d bookings available=true lists PP-ONE: %v", booked, capacity, listed)
			}
		}
		check(0)
		for i := range capacity {
			sh, err := f.bookTo("PP-ONE", [3]float64{30, 20, 10}, "")
			if err != nil || sh.DestinationID != "PP-ONE" {
				t.Fatalf("booking %d to PP-ONE: %s, %v", i+1, sh.DestinationID, err)
			}
			if i == 0 || i >= capacity-2 {
				check(i + 1)
			}
		}
		// A full outlet is listed (full) without available=true; its
		// neighbour with room is listed with it.
		if !slices.Contains(ids(f.search(t, service.LocationQuery{Available: true})), "PP-TWO") {
			t.Error("available=true leaves out PP-TWO, whose shelves are empty")
		}
		// The capacity signal of a locker is unchanged: SP-NEAR's classes.
		if r := find(f.search(t, service.LocationQuery{}), "SP-NEAR"); r == nil || r.Availability == nil ||
			len(r.Availability.Classes) != 1 || r.Availability.Classes[0].Size != "S" || r.Availability.Classes[0].Free != 10 {
			t.Errorf("SP-NEAR's availability: %+v; want its 10 free S compartments", r)
		}
	})
}

// TestOutletBookingReservesShelfPlace: a booking to an outlet reserves a
// shelf place of its delivery date; the one past the capacity overflows to
// the nearest outlet of the same type with room, or is refused with
// no_capacity; cancelling frees the place.
func TestOutletBookingReservesShelfPlace(t *testing.T) {
	t.Parallel()
	onEveryStore(t, newOutletCapacity, func(t *testing.T, f outletCapacityFixture) {
		ctx := context.Background()
		capacity := f.location(t, "PP-ONE").ShelfCapacity
		small := [3]float64{30, 20, 10}
		var booked []lokero.Shipment
		for i := range capacity {
			sh, err := f.bookTo("PP-ONE", small, "")
			if err != nil || sh.DestinationID != "PP-ONE" || sh.SizeClass != lokero.ShelfSize || sh.Routing.Rule != routing.RulePickupPoint {
				t.Fatalf("booking %d to PP-ONE: %s %q %s, %v; want PP-ONE with a shelf place", i+1, sh.DestinationID, sh.SizeClass, sh.Routing.Rule, err)
			}
			booked = append(booked, sh)
		}
		if n := f.shelves(t, "PP-ONE"); n != capacity {
			t.Fatalf("%d shelf places reserved at PP-ONE after %d bookings", n, capacity)
		}

		// The next overflows to the nearest other pickup point, not to a
		// locker nor the post office.
		sh, err := f.bookTo("PP-ONE", small, "")
		if err != nil || sh.DestinationID != "PP-TWO" || sh.Routing.Rule != routing.RuleCapacityOverflow || sh.SizeClass != lokero.ShelfSize {
			t.Fatalf("booking %d to PP-ONE: %s %s %q, %v; want an overflow to PP-TWO", capacity+1, sh.DestinationID, sh.Routing.Rule, sh.SizeClass, err)
		}
		for _, s := range []string{"PP-ONE", "no free shelf place", f.date.String(), "nearest other pickup point", "PP-TWO"} {
			if !strings.Contains(sh.Routing.Reason, s) {
				t.Errorf("overflow reason %q does not say %q", sh.Routing.Reason, s)
			}
		}
		if n := f.shelves(t, "PP-TWO"); n != 1 {
			t.Errorf("%d shelf places reserved at PP-TWO; want 1", n)
		}

		// With PP-TWO closed that day, nothing near takes it: 422 no_capacity.
		if _, err := f.dir.Patch(ctx, "operator_1", "PP-TWO", service.LocationPatch{Status: strp("TEMPORARILY_CLOSED"),
			StatusFrom: strp(f.date.String()), StatusUntil: strp(f.date.String()), StatusReason: strp("inventory")}); err != nil {
			t.Fatal(err)
		}
		_, err = f.bookTo("PP-ONE", small, "")
		var e *lokero.Error
		if !asError(err, &e) || e.Code != lokero.EUNPROCESSABLE || e.Reason != "no_capacity" || e.Field != "pickup_point_id" ||
			!strings.Contains(e.Message, "PP-ONE") || !strings.Contains(e.Message, "shelf place") {
			t.Errorf("booking past the capacity with no pickup point near: %v; want 422 no_capacity naming PP-ONE", err)
		}
		if n := f.shelves(t, "PP-ONE"); n != capacity {
			t.Errorf("a refused booking changed PP-ONE's reservations: %d; want %d", n, capacity)
		}

		// Cancelling one frees its place: the next booking gets it.
		cancelled, err := f.shipments.Cancel(ctx, f.retailer, booked[0].ID)
		if err != nil || cancelled.SizeClass != "" {
			t.Fatalf("cancel: %q, %v", cancelled.SizeClass, err)
		}
		if n := f.shelves(t, "PP-ONE"); n != capacity-1 {
			t.Errorf("after a cancellation %d shelf places reserved at PP-ONE; want %d", n, capacity-1)
		}
		if r := find(f.search(t, service.LocationQuery{Available: true}), "PP-ONE"); r == nil || r.Availability.Classes[0].Free != 1 {
			t.Errorf("after a cancellation available=true shows PP-ONE as %+v; want one free shelf place", r)
		}
		if sh, err := f.bookTo("PP-ONE", small, ""); err != nil || sh.DestinationID != "PP-ONE" {
			t.Errorf("booking after a cancellation: %s, %v; want PP-ONE", sh.DestinationID, err)
		}
	})
}

// TestOutletClosureReroutesWithShelfPlace: a parcel booked to an outlet
// that then closes on its delivery date moves to the nearest open outlet
// that takes it, with a shelf place there; its place at the closed one is
// given back.
func TestOutletClosureReroutesWithShelfPlace(t *testing.T) {
	t.Parallel()
	onEveryStore(t, newOutletCapacity, func(t *testing.T, f outletCapacityFixture) {
		ctx := context.Background()
		sh, err := f.bookTo("PP-ONE", [3]float64{30, 20, 10}, "")
		if err != nil {
			t.Fatal(err)
		}
		big, err := f.bookTo("PO-FAR", [3]float64{50, 110, 50}, "") // no pickup point takes it
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range []string{"PP-ONE", "PO-FAR"} {
			if _, err := f.dir.Patch(ctx, "operator_1", id, service.LocationPatch{Status: strp("TEMPORARILY_CLOSED"),
				StatusFrom: strp(f.date.String()), StatusReason: strp("renovation")}); err != nil {
				t.Fatal(err)
			}
		}
		res, err := f.shipments.RerouteClosed(ctx, "PP-ONE")
		if err != nil || len(res.Rerouted) != 1 || len(res.Stranded) != 0 {
			t.Fatalf("reroute from PP-ONE: %+v, %v; want one moved", res, err)
		}
		moved := res.Rerouted[0]
		if moved.ID != sh.ID || moved.DestinationID != "PP-TWO" || moved.SizeClass != lokero.ShelfSize || moved.Routing.Rule != service.RuleClosureReroute {
			t.Errorf("moved %s to %s (%q, %s); want %s to PP-TWO with a shelf place", moved.ID, moved.DestinationID, moved.SizeClass, moved.Routing.Rule, sh.ID)
		}
		if one, two := f.shelves(t, "PP-ONE"), f.shelves(t, "PP-TWO"); one != 0 || two != 1 {
			t.Errorf("shelf places after the move: PP-ONE %d, PP-TWO %d; want 0 and 1", one, two)
		}
		// The 110 cm parcel: no open outlet near takes it (the pickup points
		// take 100 cm at most), so it stays for the operator.
		res, err = f.shipments.RerouteClosed(ctx, "PO-FAR")
		if err != nil || len(res.Rerouted) != 0 || len(res.Stranded) != 1 || res.Stranded[0].ID != big.ID {
			t.Fatalf("reroute from PO-FAR: %+v, %v; want %s stranded", res, err, big.ID)
		}
		if n := f.shelves(t, "PO-FAR"); n != 1 {
			t.Errorf("a stranded parcel gave back its shelf place at PO-FAR: %d reserved; want 1", n)
		}
	})
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// TestOutletLateHandoverMovesShelfPlace: a parcel to an outlet handed over
// a day late keeps a shelf place, moved to its new delivery date.
func TestOutletLateHandoverMovesShelfPlace(t *testing.T) {
	t.Parallel()
	onEveryStore(t, newOutletCapacity, func(t *testing.T, f outletCapacityFixture) {
		ctx := context.Background()
		sh, err := f.bookTo("PP-ONE", [3]float64{30, 20, 10}, "")
		if err != nil || sh.SizeClass != lokero.ShelfSize {
			t.Fatalf("booking: %q, %v", sh.SizeClass, err)
		}
		f.clock.Advance(24 * time.Hour)
		moved, err := f.shipments.Handover(ctx, f.retailer, sh.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !f.date.Before(moved.DeliveryDate) || moved.SizeClass != lokero.ShelfSize {
			t.Fatalf("handed over a day late: delivery %s, size class %q; want after %s with a shelf place", moved.DeliveryDate, moved.SizeClass, f.date)
		}
		if n := f.shelves(t, "PP-ONE"); n != 0 {
			t.Errorf("%d shelf places still reserved on %s; want 0", n, f.date)
		}
		got, err := f.store.ReservedOn(ctx, moved.DeliveryDate, "PP-ONE")
		if err != nil {
			t.Fatal(err)
		}
		if n := got["PP-ONE"][lokero.ShelfSize]; n != 1 {
			t.Errorf("%d shelf places reserved on %s; want 1", n, moved.DeliveryDate)
		}
	})
}
