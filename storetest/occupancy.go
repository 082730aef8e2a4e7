package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/lokero/lokero"
)

// What the stores agree on about the operator's network view: compartments
// are counted by locker and size class (a parcel behind an out-of-order
// door counts as out of order, not occupied); the parcels expiring are
// those in compartments, soonest first; an occupancy sample is kept once a
// time, whoever records it again.
var occupancyTests = []struct {
	name string
	fn   func(t *testing.T, s Store)
}{
	{"CompartmentCounts", testCompartmentCounts},
	{"ExpiringParcels", testExpiringParcels},
	{"ParcelsToCollect", testParcelsToCollect},
	{"OccupantsAndDepartures", testOccupantsAndDepartures},
	{"DeparturesOfHeldCompartments", testDeparturesOfHeldCompartments},
	{"OccupancySamples", testOccupancySamples},
}

// putCompartments lays out compartments in one transaction.
func putCompartments(t *testing.T, s Store, cs ...lokero.Compartment) {
	t.Helper()
	mustInTx(t, s, func(tx lokero.Tx) error {
		for _, c := range cs {
			if err := tx.PutCompartment(t.Context(), c); err != nil {
				return err
			}
		}
		return nil
	})
}

func testCompartmentCounts(t *testing.T, s Store) {
	got, err := s.CompartmentCounts(t.Context())
	if err != nil || len(got) != 0 {
		t.Fatalf("counts of no compartments: %v, %v; want none", got, err)
	}
	mustRetailer(t, s, "r")
	mustInsert(t, s, lockerShipment("r", "s-1", "b", 1, "111111"), lockerShipment("r", "s-2", "b", 3, "222222"),
		lockerShipment("r", "s-3", "a", 2, "333333"))
	putCompartments(t, s,
		lokero.Compartment{LocationID: "b", Number: 1, Size: "S", ShipmentID: "s-1"},
		lokero.Compartment{LocationID: "b", Number: 2, Size: "S", OutOfOrder: true},
		lokero.Compartment{LocationID: "b", Number: 3, Size: "S", ShipmentID: "s-2", OutOfOrder: true},
		lokero.Compartment{LocationID: "b", Number: 4, Size: "L"},
		lokero.Compartment{LocationID: "a", Number: 1, Size: "M"},
		lokero.Compartment{LocationID: "a", Number: 2, Size: "M", ShipmentID: "s-3"},
	)
	got, err = s.CompartmentCounts(t.Context())
	want := []lokero.CompartmentCount{
		{LocationID: "a", Size: "M", Total: 2, Occupied: 1},
		{LocationID: "b", Size: "L", Total: 1},
		{LocationID: "b", Size: "S", Total: 3, Occupied: 1, OutOfOrder: 2},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("CompartmentCounts = %+v, %v;\nwant %+v", got, err, want)
	}
}

func testExpiringParcels(t *testing.T, s Store) {
	ctx := t.Context()
	mustRetailer(t, s, "r")
	late := lockerShipment("r", "s-late", "a", 1, "111111")
	soon := lockerShipment("r", "s-soon", "b", 2, "222222")
	soon.StorageDeadline = t0.Add(time.Hour)
	gone := lockerShipment("r", "s-gone", "a", 2, "333333") // picked up: in no compartment
	gone.StorageDeadline = t0
	mustInsert(t, s, late, soon, gone)
	putCompartments(t, s,
		lokero.Compartment{LocationID: "a", Number: 1, Size: "S", ShipmentID: "s-late"},
		lokero.Compartment{LocationID: "a", Number: 2, Size: "S"},
		lokero.Compartment{LocationID: "b", Number: 2, Size: "M", ShipmentID: "s-soon"},
	)
	cases := []struct {
		before time.Time
		want   []string
	}{
		{t0, nil},
		{t0.Add(time.Hour), nil}, // before, not at
		{t0.Add(time.Hour + time.Microsecond), []string{"s-soon"}},
		{t0.Add(8 * 24 * time.Hour), []string{"s-soon", "s-late"}},
	}
	for _, c := range cases {
		got, err := s.ExpiringParcels(ctx, c.before.In(helsinki))
		if err != nil {
			t.Fatalf("ExpiringParcels(%v): %v", c.before, err)
		}
		var ids []string
		for _, p := range got {
			ids = append(ids, p.ShipmentID)
		}
		if !reflect.DeepEqual(ids, c.want) {
			t.Errorf("ExpiringParcels(%v) = %v; want %v", c.before, ids, c.want)
		}
	}
	got, err := s.ExpiringParcels(ctx, t0.Add(2*time.Hour))
	want := lokero.WaitingParcel{LocationID: "b", Compartment: 2, ShipmentID: "s-soon", TrackingCode: soon.TrackingCode,
		Status: lokero.StatusReadyForPickup, StorageDeadline: t0.Add(time.Hour)}
	if err != nil || len(got) != 1 || !reflect.DeepEqual(got[0], want) {
		t.Errorf("ExpiringParcels = %+v, %v; want [%+v]", got, err, want)
	}
}

func testOccupancySamples(t *testing.T, s Store) {
	ctx := t.Context()
	at := t0.Truncate(time.Hour)
	first := []lokero.OccupancySample{
		{At: at, Size: "S", Total: 10, Occupied: 4},
		{At: at, Size: "M", Total: 5, Occupied: 5, OutOfOrder: 1},
	}
	if stored, err := s.RecordOccupancy(ctx, first); err != nil || !stored {
		t.Fatalf("RecordOccupancy = %v, %v; want stored", stored, err)
	}
	// Another instance samples the same hour: the first sample stays.
	again := []lokero.OccupancySample{{At: at.In(helsinki), Size: "S", Total: 10, Occupied: 9}}
	if stored, err := s.RecordOccupancy(ctx, again); err != nil || stored {
		t.Errorf("RecordOccupancy of a time sampled already = %v, %v; want not stored", stored, err)
	}
	next := []lokero.OccupancySample{{At: at.Add(time.Hour), Size: "S", Total: 10, Occupied: 6}}
	if _, err := s.RecordOccupancy(ctx, next); err != nil {
		t.Fatal(err)
	}
	mixed := []lokero.OccupancySample{{At: at.Add(2 * time.Hour), Size: "S"}, {At: at.Add(3 * time.Hour), Size: "M"}}
	if _, err := s.RecordOccupancy(ctx, mixed); lokero.ErrorCode(err) != lokero.EINVALID {
		t.Errorf("RecordOccupancy of two times: %v; want EINVALID", err)
	}
	got, err := s.OccupancySamples(ctx, at)
	want := []lokero.OccupancySample{first[1], first[0], next[0]} // by time, then size
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("OccupancySamples = %+v, %v;\nwant %+v", got, err, want)
	}
	if got, err := s.OccupancySamples(ctx, at.Add(time.Minute)); err != nil || len(got) != 1 || !got[0].At.Equal(at.Add(time.Hour)) {
		t.Errorf("OccupancySamples since a later time = %+v, %v; want the second sample", got, err)
	}
	if got[0].At.Location() != time.UTC {
		t.Errorf("a sample's time %v is not in UTC", got[0].At)
	}
}

func testParcelsToCollect(t *testing.T, s Store) {
	mustRetailer(t, s, "r")
	expired := lockerShipment("r", "s-expired", "b", 2, "111111")
	expired.Status = lokero.StatusExpired
	dropped := lockerShipment("r", "s-dropped", "a", 5, "222222")
	dropped.Status, dropped.StorageDeadline = lokero.StatusDroppedOff, time.Time{}
	waiting := lockerShipment("r", "s-waiting", "a", 1, "333333") // its recipient's, not a courier's
	gone := lockerShipment("r", "s-gone", "c", 1, "444444")       // expired, already collected: in no compartment
	gone.Status = lokero.StatusExpired
	mustInsert(t, s, expired, dropped, waiting, gone)
	putCompartments(t, s,
		lokero.Compartment{LocationID: "a", Number: 1, Size: "S", ShipmentID: "s-waiting"},
		lokero.Compartment{LocationID: "a", Number: 5, Size: "S", ShipmentID: "s-dropped"},
		lokero.Compartment{LocationID: "b", Number: 2, Size: "M", ShipmentID: "s-expired", OutOfOrder: true},
		lokero.Compartment{LocationID: "c", Number: 1, Size: "M"},
	)
	got, err := s.ParcelsToCollect(t.Context())
	want := []lokero.WaitingParcel{
		{LocationID: "a", Compartment: 5, ShipmentID: "s-dropped", TrackingCode: dropped.TrackingCode, Status: lokero.StatusDroppedOff},
		{LocationID: "b", Compartment: 2, ShipmentID: "s-expired", TrackingCode: expired.TrackingCode, Status: lokero.StatusExpired,
			StorageDeadline: expired.StorageDeadline.UTC().Truncate(time.Microsecond)},
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("ParcelsToCollect = %+v, %v;\nwant %+v", got, err, want)
	}
}

func testOccupantsAndDepartures(t *testing.T, s Store) {
	ctx := t.Context()
	clock := lokero.NewDevClock(lokero.SystemClock{})
	s.SetClock(clock)
	today := lokero.DateOf(clock.Now())
	mustRetailer(t, s, "r")
	a := lockerShipment("r", "s-a", "L1", 1, "111111")
	b := lockerShipment("r", "s-b", "L1", 2, "222222")
	e := lockerShipment("r", "s-e", "L1", 3, "333333")
	e.Status = lokero.StatusExpired
	p := lockerShipment("r", "s-p", "P1", 1, "444444")
	mustInsert(t, s, a, b, e, p)
	mustUpsert(t, s, []lokero.Location{locker("L1"), postOffice("P1")}, lokero.UpsertResult{Inserted: 2})
	// Today a and e arrive at L1; the shelf place of P1 takes p.
	putCompartments(t, s,
		lokero.Compartment{LocationID: "L1", Number: 1, Size: "S", ShipmentID: "s-a"},
		lokero.Compartment{LocationID: "L1", Number: 2, Size: "S"},
		lokero.Compartment{LocationID: "L1", Number: 3, Size: "M", ShipmentID: "s-e"},
		lokero.Compartment{LocationID: "P1", Number: 1, Size: lokero.ShelfSize, ShipmentID: "s-p"},
	)
	// Two days on, b arrives; a's door is opened and closed again (the
	// same parcel: it keeps its arrival day) and compartment 3 goes out of
	// order with its parcel in it.
	clock.Advance(48 * time.Hour)
	later := lokero.DateOf(clock.Now())
	putCompartments(t, s,
		lokero.Compartment{LocationID: "L1", Number: 2, Size: "S", ShipmentID: "s-b"},
		lokero.Compartment{LocationID: "L1", Number: 1, Size: "S", ShipmentID: "s-a", DoorOpen: true},
		lokero.Compartment{LocationID: "L1", Number: 3, Size: "M", ShipmentID: "s-e", OutOfOrder: true},
	)
	got, err := s.Occupants(ctx, "L1")
	// Each parcel still holds the reservation it was booked with (a size
	// class and a delivery date), whatever compartment it is in.
	held := func(o lokero.Occupants, sh lokero.Shipment) lokero.Occupants {
		o.ReservedSize, o.DeliveryDate = sh.SizeClass, sh.DeliveryDate
		return o
	}
	if a.SizeClass == "" || a.DeliveryDate.IsZero() {
		t.Fatalf("the fixture's shipment holds no reservation: %q %v", a.SizeClass, a.DeliveryDate)
	}
	// e's compartment is out of order: its parcel is listed, marked so (a
	// capacity count takes the compartment as out of order, not e again).
	want := []lokero.Occupants{
		held(lokero.Occupants{LocationID: "L1", Size: "M", Status: lokero.StatusExpired, ArrivedOn: today, OutOfOrder: true, Count: 1}, e),
		held(lokero.Occupants{LocationID: "L1", Size: "S", Status: lokero.StatusReadyForPickup, ArrivedOn: today, Count: 1}, a),
		held(lokero.Occupants{LocationID: "L1", Size: "S", Status: lokero.StatusReadyForPickup, ArrivedOn: later, Count: 1}, b),
	}
	if err != nil || !reflect.DeepEqual(got, want) {
		t.Errorf("Occupants(L1) = %+v, %v;\nwant %+v", got, err, want)
	}
	all, err := s.Occupants(ctx)
	if err != nil || len(all) != 4 || all[3].LocationID != "P1" {
		t.Errorf("Occupants() = %+v, %v; want L1's three and P1's shelf", all, err)
	}
	// More locations than one statement takes parameters (SQLite 32,766,
	// PostgreSQL 65,535), as a network's every locker with bookings for a
	// day (Dispatch): each chunk asked apart, the rows in the same order.
	many := make([]string, 70_000)
	for i := range many {
		many[i] = fmt.Sprintf("X%05d", i)
	}
	many[100], many[69_000] = "P1", "L1"
	if got, err := s.Occupants(ctx, many...); err != nil || !reflect.DeepEqual(got, all) {
		t.Errorf("Occupants(70,000 ids) = %+v, %v;\nwant %+v", got, err, all)
	}
	rollBack := errors.New("roll back the reservations")
	if err := s.InTx(ctx, func(tx lokero.Tx) error {
		got, err := tx.Occupants(ctx, "L1")
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Tx.Occupants(L1) = %+v, %v", got, err)
		}
		// LockerLoad reads at once what OutOfOrder, Occupants and Reserved
		// of each day read apart: a reservation the day before, two on the
		// first day, one on the last, one the day after (outside). Its
		// occupants mark e, in the compartment out of order, as Occupants
		// does.
		for _, r := range []struct {
			date lokero.Date
			size string
		}{{later.AddDays(-1), "S"}, {later, "S"}, {later, "M"}, {later.AddDays(2), "M"}, {later.AddDays(3), "S"}} {
			if ok, err := tx.Reserve(ctx, "L1", r.date, r.size, 10); !ok || err != nil {
				t.Fatalf("Reserve(L1, %v, %s) = %v, %v", r.date, r.size, ok, err)
			}
		}
		load, err := tx.LockerLoad(ctx, "L1", later, later.AddDays(2))
		if err != nil {
			t.Fatal(err)
		}
		all, err := outOfOrderStore(t, s).OutOfOrder(ctx, "L1")
		if err != nil {
			t.Fatal(err)
		}
		broken := all["L1"]
		reserved := map[lokero.Date]map[string]int{}
		for d := later; !d.After(later.AddDays(2)); d = d.AddDays(1) {
			r, err := tx.Reserved(ctx, "L1", d)
			if err != nil {
				t.Fatal(err)
			}
			if len(r) > 0 {
				reserved[d] = r
			}
		}
		if len(broken) != 1 || broken["M"] != 1 {
			t.Errorf("OutOfOrder(L1) = %v; want compartment 3 (M)", broken)
		}
		if !reflect.DeepEqual(load.OutOfOrder, broken) || !reflect.DeepEqual(load.Occupants, want) ||
			!reflect.DeepEqual(load.Reserved, reserved) || len(reserved) != 2 {
			t.Errorf("LockerLoad(L1, %v, %v) = %+v;\nwant out of order %v, occupants %+v, reserved %v", later, later.AddDays(2), load, broken, want, reserved)
		}
		return rollBack
	}); !errors.Is(err, rollBack) {
		t.Fatalf("InTx: %v", err)
	}
	if d, err := s.Departures(ctx, today); err != nil || len(d) != 0 {
		t.Errorf("departures before any parcel left: %+v, %v", d, err)
	}
	// A day later a is picked up (its compartment emptied), e collected,
	// and p handed over at the counter (a shelf place: not a locker's).
	clock.Advance(24 * time.Hour)
	left := lokero.DateOf(clock.Now())
	putCompartments(t, s,
		lokero.Compartment{LocationID: "L1", Number: 1, Size: "S"},
		lokero.Compartment{LocationID: "L1", Number: 3, Size: "M", OutOfOrder: true},
		lokero.Compartment{LocationID: "P1", Number: 1, Size: lokero.ShelfSize},
	)
	deps, err := s.Departures(ctx, today)
	wantDeps := []lokero.Departures{{Type: lokero.TypeLocker, ArrivedOn: today, LeftOn: left, Count: 2}}
	if err != nil || !reflect.DeepEqual(deps, wantDeps) {
		t.Errorf("Departures = %+v, %v;\nwant %+v", deps, err, wantDeps)
	}
	if deps, err := s.Departures(ctx, left.AddDays(1)); err != nil || len(deps) != 0 {
		t.Errorf("Departures since tomorrow = %+v, %v; want none", deps, err)
	}
	if n, err := s.PruneDepartures(ctx, left); err != nil || n != 0 {
		t.Errorf("PruneDepartures before the day they left = %d, %v; want 0", n, err)
	}
	if n, err := s.PruneDepartures(ctx, left.AddDays(1)); err != nil || n != 3 {
		t.Errorf("PruneDepartures = %d, %v; want 3 (the shelf's too)", n, err)
	}
	if got, err := s.Occupants(ctx, "L1"); err != nil || len(got) != 1 || got[0].ArrivedOn != later {
		t.Errorf("Occupants(L1) after the pickup = %+v, %v; want b", got, err)
	}
}

// A transaction that read a locker's compartments locked records a
// departure each time a parcel leaves one of them, and none when a
// compartment empty or holding the same parcel is written.
func testDeparturesOfHeldCompartments(t *testing.T, s Store) {
	ctx := t.Context()
	clock := lokero.NewDevClock(lokero.SystemClock{})
	s.SetClock(clock)
	today := lokero.DateOf(clock.Now())
	mustRetailer(t, s, "r")
	a := lockerShipment("r", "s-a", "L1", 1, "111111")
	b := lockerShipment("r", "s-b", "L1", 2, "222222")
	mustInsert(t, s, a, b)
	mustUpsert(t, s, []lokero.Location{locker("L1")}, lokero.UpsertResult{Inserted: 1})
	putCompartments(t, s,
		lokero.Compartment{LocationID: "L1", Number: 1, Size: "S", ShipmentID: "s-a"},
		lokero.Compartment{LocationID: "L1", Number: 2, Size: "S"},
	)
	mustInTx(t, s, func(tx lokero.Tx) error {
		cs, err := tx.Compartments(ctx, "L1")
		if err != nil || len(cs) != 2 {
			t.Fatalf("Compartments(L1) = %+v, %v", cs, err)
		}
		for _, c := range []lokero.Compartment{
			{LocationID: "L1", Number: 1, Size: "S", ShipmentID: "s-a", DoorOpen: true}, // the same parcel
			{LocationID: "L1", Number: 1, Size: "S"},                                    // a leaves
			{LocationID: "L1", Number: 2, Size: "S", DoorOpen: true},                    // empty stays empty
			{LocationID: "L1", Number: 1, Size: "S", ShipmentID: "s-b"},                 // b arrives
			{LocationID: "L1", Number: 1, Size: "S"},                                    // and leaves
		} {
			if err := tx.PutCompartment(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	deps, err := s.Departures(ctx, today)
	want := []lokero.Departures{{Type: lokero.TypeLocker, ArrivedOn: today, LeftOn: today, Count: 2}}
	if err != nil || !reflect.DeepEqual(deps, want) {
		t.Errorf("Departures = %+v, %v;\nwant %+v (a and b)", deps, err, want)
	}
}
