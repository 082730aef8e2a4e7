package service_test

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/geo"
	"github.com/lokero/lokero/service"
)

func strp(s string) *string { return &s }

var centre = &geo.Point{Lat: 60.1700, Lon: 24.9400}

// nearIDs searches around the centre and returns the ids found.
func nearIDs(t *testing.T, f lockersFixture, q service.LocationQuery) ([]string, []service.LocationResult) {
	t.Helper()
	q.Origin = centre
	if q.Limit == 0 {
		q.Limit = 20
	}
	res, err := f.dir.Search(context.Background(), q)
	if err != nil {
		t.Fatalf("search %+v: %v", q, err)
	}
	return ids(res), res
}

// bookSmall books a small parcel (30 × 20 × 8 cm, an S) to a point and
// returns the shipment.
func (f lockersFixture) bookSmall(t *testing.T, point string) lokero.Shipment {
	t.Helper()
	req := request()
	req.PickupPointID = point
	req.Parcel.HeightCM = 8
	res, err := f.shipments.Create(context.Background(), f.retailer, req, "", nil)
	if err != nil {
		t.Fatalf("booking to %s: %v", point, err)
	}
	return res.Shipment
}

func checkInvalid(t *testing.T, err error, field string) {
	t.Helper()
	var e *lokero.Error
	if !asError(err, &e) || e.Code != lokero.EINVALID || e.Field != field {
		t.Errorf("error %v; want EINVALID naming %s", err, field)
	}
}

func TestClosureAndExceptionDaysInSearch(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		_, err := f.dir.Patch(ctx, "operator_1", "SP-NEAR", service.LocationPatch{Status: strp("FOO")})
		checkInvalid(t, err, "status")
		_, err = f.dir.Patch(ctx, "operator_1", "SP-NEAR", service.LocationPatch{Status: strp("TEMPORARILY_CLOSED"),
			StatusFrom: strp("2026-12-05"), StatusUntil: strp("2026-12-01")})
		checkInvalid(t, err, "status_until")
		for _, date := range []string{"2026-13-01", "2026-11-24", "2027-11-27", "26.11.2026"} {
			_, err = f.dir.Search(ctx, service.LocationQuery{Origin: centre, DeliveryDate: date})
			checkInvalid(t, err, "delivery_date") // malformed, yesterday, over a year ahead
		}
		if _, err := f.dir.Search(ctx, service.LocationQuery{Origin: centre, DeliveryDate: "2027-11-26"}); err != nil {
			t.Errorf("a year ahead: %v", err)
		}

		if _, err := f.dir.Patch(ctx, "operator_1", "SP-NEAR", service.LocationPatch{Status: strp("TEMPORARILY_CLOSED"),
			StatusFrom: strp("2026-11-26"), StatusUntil: strp("2026-11-30"), StatusReason: strp("renovation")}); err != nil {
			t.Fatal(err)
		}
		for date, want := range map[string]bool{"2026-11-25": true, "2026-11-26": false, "2026-11-30": false, "2026-12-01": true} {
			got, _ := nearIDs(t, f, service.LocationQuery{DeliveryDate: date})
			if slices.Contains(got, "SP-NEAR") != want {
				t.Errorf("on %s SP-NEAR listed = %v; want %v (closed 26.–30.11.)", date, !want, want)
			}
		}
		// By default the search checks the next delivery date: 2026-11-26.
		if got, _ := nearIDs(t, f, service.LocationQuery{}); slices.Contains(got, "SP-NEAR") {
			t.Error("SP-NEAR listed for the default delivery date, which it is closed on")
		}
		got, res := nearIDs(t, f, service.LocationQuery{DeliveryDate: "2026-11-27", IncludeClosed: true})
		i := slices.Index(got, "SP-NEAR")
		if i < 0 || res[i].Open || !strings.Contains(res[i].ClosedReason, "renovation") || res[i].Location.Status != lokero.LocationTemporarilyClosed {
			t.Errorf("include_closed: %v; want SP-NEAR with status and reason", res)
		}

		// An exception day shortens the post office's Friday.
		if _, err := f.dir.Patch(ctx, "operator_2", "PO-FAR", service.LocationPatch{ExceptionDays: &[]lokero.ExceptionDay{
			{Date: "2026-12-04", From: "10:00", To: "14:00", Reason: "Staff training"}, {Date: "2026-12-07", Closed: true}}}); err != nil {
			t.Fatal(err)
		}
		_, res = nearIDs(t, f, service.LocationQuery{DeliveryDate: "2026-12-04", Types: []lokero.LocationType{lokero.TypePostOffice}})
		if len(res) != 1 || !slices.Equal(res[0].Location.HoursOn("2026-12-04"), []lokero.OpeningHours{{Weekday: 5, From: "10:00", To: "14:00"}}) {
			t.Errorf("hours on the exception day: %+v", res)
		}
		if got, _ := nearIDs(t, f, service.LocationQuery{DeliveryDate: "2026-12-07"}); slices.Contains(got, "PO-FAR") {
			t.Error("PO-FAR listed on its closed exception day")
		}
		events, err := f.dir.Events(ctx, "SP-NEAR")
		if err != nil || len(events) == 0 || events[len(events)-1].Actor != "operator_1" || events[len(events)-1].Change.Status != lokero.LocationTemporarilyClosed {
			t.Errorf("events of SP-NEAR: %+v, %v; want the closure by operator_1 last", events, err)
		}

		// cod=true: never a LOCKER or a SMARTPOST without a terminal.
		_, res = nearIDs(t, f, service.LocationQuery{COD: true, DeliveryDate: "2026-12-01"})
		if len(res) == 0 {
			t.Fatal("cod=true lists nothing")
		}
		for _, r := range res {
			if r.Location.Type == lokero.TypeLocker || (r.Location.Type == lokero.TypeSmartpost && !r.Location.PaymentTerminal) {
				t.Errorf("cod=true lists %s (%s, terminal %v)", r.Location.ID, r.Location.Type, r.Location.PaymentTerminal)
			}
		}
	})
}

func TestAvailabilityFollowsBookings(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		two := smartpost("SP-TWO", "00100", 60.1701, 24.9401)
		two.Compartments = []lokero.CompartmentClass{{Size: "S", LengthCM: 70, WidthCM: 40, HeightCM: 10, Count: 2},
			{Size: "M", LengthCM: 70, WidthCM: 40, HeightCM: 20, Count: 2}}
		if _, err := f.dir.Import(ctx, []lokero.Location{two}); err != nil {
			t.Fatal(err)
		}
		medium, small := [3]float64{30, 30, 15}, [3]float64{30, 20, 5}
		level := func(size string) (string, int) {
			_, res := nearIDs(t, f, service.LocationQuery{})
			for _, r := range res {
				if r.Location.ID == "SP-TWO" && r.Availability != nil {
					for _, c := range r.Availability.Classes {
						if c.Size == size {
							return c.Level, c.Free
						}
					}
				}
			}
			t.Fatalf("no availability of SP-TWO class %s", size)
			return "", 0
		}
		if lvl, free := level("M"); lvl != service.LevelNormal || free != 2 {
			t.Fatalf("M before bookings: %s, %d free; want normal, 2", lvl, free)
		}
		for range 2 {
			req := request()
			req.PickupPointID, req.Parcel.HeightCM, req.Parcel.WidthCM = "SP-TWO", 15, 30
			if res, err := f.shipments.Create(ctx, f.retailer, req, "", nil); err != nil || res.Shipment.SizeClass != "M" || res.Shipment.DestinationID != "SP-TWO" {
				t.Fatalf("booking: %+v, %v", res.Shipment.SizeClass, err)
			}
		}
		if lvl, free := level("M"); lvl != service.LevelFull || free != 0 {
			t.Errorf("M after 2 bookings: %s, %d free; want full, 0", lvl, free)
		}
		if lvl, _ := level("S"); lvl != service.LevelNormal {
			t.Errorf("S after the M bookings: %s; want normal", lvl)
		}
		if got, _ := nearIDs(t, f, service.LocationQuery{Fits: &medium, Available: true}); slices.Contains(got, "SP-TWO") {
			t.Errorf("available=true&fits=30x30x15 lists the locker whose M class is full: %v", got)
		}
		if got, _ := nearIDs(t, f, service.LocationQuery{Fits: &small, Available: true}); !slices.Contains(got, "SP-TWO") {
			t.Errorf("available=true&fits=30x20x5 leaves out the locker with free S: %v", got)
		}
		// Cancelling frees one at once.
		list, _, _ := f.shipments.List(ctx, f.retailer, lokero.ShipmentFilter{})
		if _, err := f.shipments.Cancel(ctx, f.retailer, list[0].ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := nearIDs(t, f, service.LocationQuery{Fits: &medium, Available: true}); !slices.Contains(got, "SP-TWO") {
			t.Errorf("after a cancellation SP-TWO is still not available: %v", got)
		}
	})
}

func TestClosingReroutesBookedShipments(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		big := smartpost("SP-BIG", "00100", 60.1702, 24.9402)
		big.Compartments[0].Count = 30
		if _, err := f.dir.Import(ctx, []lokero.Location{big}); err != nil {
			t.Fatal(err)
		}
		// One retailer fills the locker here: lift its per-day share.
		if err := f.shipments.SetRetailerShare(1); err != nil {
			t.Fatal(err)
		}
		var booked []string
		for range 21 {
			sh := f.bookSmall(t, "SP-BIG")
			if sh.DestinationID != "SP-BIG" {
				t.Fatalf("booked to %s; want SP-BIG", sh.DestinationID)
			}
			booked = append(booked, sh.ID)
		}
		if _, err := f.dir.Patch(ctx, "operator_1", "SP-BIG", service.LocationPatch{Status: strp("TEMPORARILY_CLOSED"),
			StatusFrom: strp("2026-11-26"), StatusReason: strp("water damage")}); err != nil {
			t.Fatal(err)
		}
		res, err := f.shipments.RerouteClosed(ctx, "SP-BIG")
		if err != nil {
			t.Fatal(err)
		}
		// SP-NEAR and SP-MID have 10 S compartments each: 20 move, 1 stays.
		if len(res.Rerouted) != 20 || len(res.Stranded) != 1 {
			t.Fatalf("rerouted %d, stranded %d; want 20 and 1", len(res.Rerouted), len(res.Stranded))
		}
		for _, id := range booked {
			sh, err := f.shipments.Get(ctx, f.retailer, id)
			if err != nil {
				t.Fatal(err)
			}
			n := 0
			for _, e := range sh.Events {
				if strings.HasPrefix(e.Reason, "Re-routed") {
					n++
				}
			}
			switch {
			case sh.DestinationID == "SP-BIG" && (n != 0 || id != res.Stranded[0].ID):
				t.Errorf("%s still at SP-BIG with %d re-route events", id, n)
			case sh.DestinationID != "SP-BIG" && (n != 1 || sh.Routing.Rule != service.RuleClosureReroute || !strings.Contains(sh.Routing.Reason, "water damage")):
				t.Errorf("%s to %s with %d re-route events, routing %+v; want one, with the reason", id, sh.DestinationID, n, sh.Routing)
			}
		}
		again, err := f.shipments.RerouteClosed(ctx, "SP-BIG")
		if err != nil || len(again.Rerouted) != 0 || len(again.Stranded) != 1 {
			t.Errorf("a second run: %d rerouted, %d stranded, %v; want 0 and the same 1", len(again.Rerouted), len(again.Stranded), err)
		}
		stranded, err := f.shipments.Stranded(ctx, "SP-BIG")
		if err != nil || len(stranded) != 1 {
			t.Errorf("stranded list: %d, %v; want 1", len(stranded), err)
		}
		if all, err := f.shipments.RerouteAll(ctx); err != nil || len(all.Rerouted) != 0 || len(all.Stranded) != 1 {
			t.Errorf("a network-wide run after: %d rerouted, %d stranded, %v; want 0 and the same 1", len(all.Rerouted), len(all.Stranded), err)
		}
		everywhere, err := f.shipments.StrandedEverywhere(ctx)
		if err != nil || len(everywhere) != 1 || everywhere[0].ID != res.Stranded[0].ID || everywhere[0].DestinationID != "SP-BIG" {
			t.Errorf("the network's stranded list: %+v, %v; want the one at SP-BIG", everywhere, err)
		}
		// No compartment is reserved twice: the counts are the capacity.
		_, hits := nearIDs(t, f, service.LocationQuery{DeliveryDate: "2026-11-26", IncludeClosed: true})
		for _, h := range hits {
			if h.Availability == nil {
				continue
			}
			want := map[string]int{"SP-NEAR": 0, "SP-MID": 0, "SP-BIG": 29}[h.Location.ID]
			if _, known := map[string]bool{"SP-NEAR": true, "SP-MID": true, "SP-BIG": true}[h.Location.ID]; known && h.Availability.Classes[0].Free != want {
				t.Errorf("%s has %d S free; want %d", h.Location.ID, h.Availability.Classes[0].Free, want)
			}
		}

		// A new booking for the closed point is refused with open
		// alternatives, or re-routed with the fallback.
		req := request()
		req.PickupPointID = "SP-BIG"
		_, err = f.shipments.Create(ctx, f.retailer, req, "", nil)
		var e *lokero.Error
		if !asError(err, &e) || e.Reason != "pickup_point_closed" || !strings.Contains(e.Message, "water damage") {
			t.Fatalf("booking the closed point: %v; want 422 pickup_point_closed", err)
		}
		if _, err := f.dir.Patch(ctx, "operator_1", "SP-MID", service.LocationPatch{Status: strp("OPEN")}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestBookingAClosedPoint(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		if _, err := f.dir.Patch(ctx, "operator_1", "SP-NEAR", service.LocationPatch{Status: strp("CLOSED")}); err != nil {
			t.Fatal(err)
		}
		req := request()
		req.PickupPointID = "SP-NEAR"
		_, err := f.shipments.Create(ctx, f.retailer, req, "", nil)
		var e *lokero.Error
		if !asError(err, &e) || e.Code != lokero.EUNPROCESSABLE || e.Reason != "pickup_point_closed" || len(e.Alternatives) == 0 || e.Alternatives[0].ID != "SP-MID" || e.Alternatives[0].DistanceM <= 0 {
			t.Fatalf("booking a closed point: %+v; want 422 pickup_point_closed suggesting SP-MID", err)
		}
		req.Fallback = service.FallbackNearestOpen
		res, err := f.shipments.Create(ctx, f.retailer, req, "", nil)
		if err != nil || res.Shipment.DestinationID != "SP-MID" || res.Shipment.Routing.Rule != service.RuleClosureReroute {
			t.Fatalf("with fallback nearest_open: %+v, %v; want SP-MID", res.Shipment.Routing, err)
		}
	})
}

// TestCapacityViewFollowsEveryChange: after every kind of change this
// process makes to reservations (booking, cancelling, pickup, re-routing a
// closed point's parcels) the capacity view a search reads equals the
// database, read again only where it changed: the clock stands still, so
// the view is never old enough to be read whole.
func TestCapacityViewFollowsEveryChange(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		date := f.dir.DeliveryDate()
		check := func(step string) {
			t.Helper()
			want, err := f.store.ReservedOn(ctx, date)
			if err != nil {
				t.Fatal(err)
			}
			got, err := f.dir.Availability().Day(ctx, date)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("after %s the view holds %v; the database %v", step, got, want)
			}
			_, hits := nearIDs(t, f, service.LocationQuery{IncludeClosed: true, Limit: 50})
			for _, h := range hits {
				if h.Availability == nil {
					continue
				}
				for _, c := range h.Availability.Classes {
					// A locker's compartments of the class, an outlet's shelf places of the day.
					if wantFree := service.ReservationCapacity(h.Location, c.Size) - want[h.Location.ID][c.Size]; c.Free != wantFree {
						t.Fatalf("after %s %s shows %d %s free; the database leaves %d", step, h.Location.ID, c.Free, c.Size, wantFree)
					}
				}
			}
		}
		check("nothing")
		var near []lokero.Shipment
		for range 3 {
			near = append(near, f.bookSmall(t, "SP-NEAR"))
		}
		check("three bookings at SP-NEAR")
		if _, err := f.shipments.Cancel(ctx, f.retailer, near[0].ID); err != nil {
			t.Fatal(err)
		}
		check("a cancellation")

		sh := f.inTransit(t) // to the building's LOCKER-M5
		check("a booking at LOCKER-M5 and its handover")
		dep, err := f.lockers.Deposit(ctx, f.courier, sh.DestinationID, sh.TrackingCode)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.lockers.DoorClosed(ctx, f.device, sh.DestinationID, dep.Compartment.Number); err != nil {
			t.Fatal(err)
		}
		msgs, err := sentMessages(ctx, f.lockers, 1)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.lockers.Keypad(ctx, f.device, sh.DestinationID, codePattern.FindStringSubmatch(msgs[0].Text)[1]); err != nil {
			t.Fatal(err)
		}
		if got, err := f.lockers.DoorClosed(ctx, f.device, sh.DestinationID, dep.Compartment.Number); err != nil || got.Status != lokero.StatusPickedUp {
			t.Fatalf("pickup: %v, %v", got.Status, err)
		}
		check("a pickup")

		if _, err := f.dir.Patch(ctx, "operator_1", "SP-NEAR", service.LocationPatch{Status: strp("CLOSED")}); err != nil {
			t.Fatal(err)
		}
		if res, err := f.shipments.RerouteClosed(ctx, "SP-NEAR"); err != nil || len(res.Rerouted) != 2 {
			t.Fatalf("re-route: %+v, %v; want the 2 booked moved", res, err)
		}
		check("closing SP-NEAR")
	})
}

// TestLateHandoverToAClosedPoint: a parcel handed over a day later than
// booked arrives a day later; when its point is closed that day it goes to
// the nearest open one with the reason, its reservation moved there.
func TestLateHandoverToAClosedPoint(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		booked := f.bookSmall(t, "SP-NEAR")
		if booked.DeliveryDate != (lokero.Date{Year: 2026, Month: time.November, Day: 26}) {
			t.Fatalf("booked for %s; want 2026-11-26", booked.DeliveryDate)
		}
		if _, err := f.dir.Patch(ctx, "operator_1", "SP-NEAR", service.LocationPatch{Status: strp("TEMPORARILY_CLOSED"),
			StatusFrom: strp("2026-11-27"), StatusUntil: strp("2026-11-27"), StatusReason: strp("inventory")}); err != nil {
			t.Fatal(err)
		}
		if moved, err := f.shipments.RerouteClosed(ctx, "SP-NEAR"); err != nil || len(moved.Rerouted)+len(moved.Stranded) != 0 {
			t.Fatalf("closing the 27th moved %+v, %v; want nothing: the parcel comes on the 26th", moved, err)
		}
		f.clock.Advance(24 * time.Hour) // handed over a day late
		sh, err := f.shipments.HandoverByCourier(ctx, f.courier, booked.ID)
		if err != nil {
			t.Fatal(err)
		}
		if sh.DeliveryDate != (lokero.Date{Year: 2026, Month: time.November, Day: 27}) || sh.DestinationID != "SP-MID" || sh.SizeClass != "S" ||
			sh.Routing.Rule != service.RuleClosureReroute || !strings.Contains(sh.Routing.Reason, "inventory") {
			t.Fatalf("after a late handover: %s to %s (%s), routing %+v; want the 27th at SP-MID with the reason", sh.DeliveryDate, sh.DestinationID, sh.SizeClass, sh.Routing)
		}
		reserved, err := f.store.ReservedOn(ctx, lokero.Date{Year: 2026, Month: time.November, Day: 27})
		if err != nil || !reflect.DeepEqual(reserved, map[string]map[string]int{"SP-MID": {"S": 1}}) {
			t.Errorf("reservations on the 27th: %v, %v; want one S at SP-MID", reserved, err)
		}
		if before, err := f.store.ReservedOn(ctx, lokero.Date{Year: 2026, Month: time.November, Day: 26}); err != nil || len(before) != 0 {
			t.Errorf("reservations left on the 26th: %v, %v", before, err)
		}
	})
}

// TestRerouteAllAfterACrash: a closure written without its re-routing (as
// a crash between the two leaves it) is caught up by RerouteAll, once.
func TestRerouteAllAfterACrash(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		booked := f.bookSmall(t, "SP-NEAR")
		l := *f.dir.Snapshot().ByID("SP-NEAR")
		l.Status, l.StatusReason = lokero.LocationClosed, "closed for good"
		if err := f.store.UpdateLocation(ctx, l, lokero.LocationEvent{LocationID: l.ID, At: now, Actor: "operator_1", Change: l.Change()}); err != nil {
			t.Fatal(err)
		}
		if err := f.dir.Reload(ctx); err != nil {
			t.Fatal(err)
		}
		moved, err := f.shipments.RerouteAll(ctx)
		if err != nil || len(moved.Rerouted) != 1 || moved.Rerouted[0].ID != booked.ID || moved.Rerouted[0].DestinationID != "SP-MID" {
			t.Fatalf("RerouteAll: %+v, %v; want the parcel moved to SP-MID", moved, err)
		}
		if again, err := f.shipments.RerouteAll(ctx); err != nil || len(again.Rerouted)+len(again.Stranded) != 0 {
			t.Errorf("a second run: %+v, %v; want nothing", again, err)
		}
	})
}

// TestBookingAClosedBuildingLocker: a resident's own building LOCKER,
// chosen by its id or by the postcode ending in 4, closed on the delivery
// date answers 422 pickup_point_closed (with the open alternatives), as
// any closed point: not locker_residents_only, which told the resident
// that they do not live in their own building, nor no_locker_at_address.
func TestBookingAClosedBuildingLocker(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		if _, err := f.dir.Patch(ctx, "operator_1", "LOCKER-M5", service.LocationPatch{Status: strp("TEMPORARILY_CLOSED"),
			StatusFrom: strp("2026-11-26"), StatusReason: strp("renovation")}); err != nil {
			t.Fatal(err)
		}
		req := request()
		req.PickupPointID = "LOCKER-M5"
		_, err := f.shipments.Create(ctx, f.retailer, req, "", nil)
		var e *lokero.Error
		if !asError(err, &e) || e.Reason != "pickup_point_closed" || e.Field != "pickup_point_id" || len(e.Alternatives) == 0 {
			t.Fatalf("a resident booking their closed building locker: %v; want 422 pickup_point_closed with alternatives", err)
		}
		req.Fallback = service.FallbackNearestOpen
		res, err := f.shipments.Create(ctx, f.retailer, req, "", nil)
		if err != nil || res.Shipment.Routing.Rule != service.RuleClosureReroute || res.Shipment.DestinationID == "LOCKER-M5" {
			t.Fatalf("with fallback nearest_open: %+v, %v; want re-routed to an open point", res.Shipment.Routing, err)
		}
		// Routed by the building-locker postcode, the same: the building
		// has a locker, closed that day (not no_locker_at_address).
		if _, err := f.shipments.Create(ctx, f.retailer, request(), "", nil); !asError(err, &e) || e.Reason != "pickup_point_closed" || len(e.Alternatives) == 0 {
			t.Fatalf("a resident's parcel by postcode 00104 to the closed building locker: %v; want 422 pickup_point_closed with alternatives", err)
		}
		// A non-resident is still refused as such.
		req = request()
		req.PickupPointID = "LOCKER-M5"
		req.Recipient.Street, req.Recipient.Postcode = "Ratapihantie 11", "00520"
		if _, err := f.shipments.Create(ctx, f.retailer, req, "", nil); !asError(err, &e) || e.Reason != "locker_residents_only" {
			t.Fatalf("a non-resident booking the closed locker: %v; want locker_residents_only", err)
		}
	})
}
