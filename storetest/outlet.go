package storetest

// Post offices and agent outlets (issue #19). Besides the interface
// documentation in package lokero, the stores agree that:
//
//   - A location's MaxParcel and ShelfCapacity come back as written: an
//     outlet's own limits or its type's defaults (filled by Normalize
//     before the write), a locker's zeros. They are not status fields: a
//     change of them alone appends no event.
//   - A shipment's Pickup is nil until it is written; written, it comes
//     back with its time in UTC to the microsecond; a Pickup with a zero
//     time is none. COD's Method and LocationID come back with the rest
//     of the COD, from every read (CODCollected included).
//   - A clerk's credential keeps its outlet (LocationID), and lists by it.
//   - An outlet's shelf places are compartments rows of Size
//     lokero.ShelfSize and no dimensions; its per-day reservations use the
//     size class lokero.ShelfSize, like a locker's compartments.

import (
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/lokero/lokero"
)

var outletTests = []struct {
	name string
	fn   func(t *testing.T, s Store)
}{
	{"OutletLimits", testOutletLimits},
	{"ShipmentPickup", testShipmentPickup},
	{"ShipmentCODPaid", testShipmentCODPaid},
	{"ClerkCredential", testClerkCredential},
	{"ShelfPlaces", testShelfPlaces},
	{"ReserveShelf", testReserveShelf},
}

// outlet returns an outlet of the type with its own limits, not the
// type's defaults, and a weight finer than a kilogram.
func outlet(id string, typ lokero.LocationType) lokero.Location {
	l := postOffice(id)
	l.Type = typ
	l.MaxParcel = lokero.ParcelLimit{LengthCM: 150, WidthCM: 80, HeightCM: 70, WeightKG: 42.5}
	l.ShelfCapacity = 220
	return l
}

func testOutletLimits(t *testing.T, s Store) {
	ctx := t.Context()
	own := outlet("po-own", lokero.TypePostOffice)
	defaulted := postOffice("pp-default")
	defaulted.Type = lokero.TypePickupPoint
	defaulted.Normalize()
	if limit, shelf := lokero.DefaultOutletLimit(lokero.TypePickupPoint); defaulted.MaxParcel != limit || defaulted.ShelfCapacity != shelf {
		t.Fatalf("Normalize gave %+v, %d; want the type's defaults %+v, %d", defaulted.MaxParcel, defaulted.ShelfCapacity, limit, shelf)
	}
	box := locker("locker-zero")
	mustUpsert(t, s, []lokero.Location{own, defaulted, box}, lokero.UpsertResult{Inserted: 3})

	check := func(want ...lokero.Location) {
		t.Helper()
		for _, w := range want {
			checkLocation(t, mustLocation(t, s, w.ID), w)
		}
		all, err := s.Locations(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range all {
			for _, w := range want {
				if got.ID == w.ID {
					checkLocation(t, got, w)
				}
			}
		}
	}
	check(own, defaulted, box)
	if got := mustLocation(t, s, box.ID); !got.MaxParcel.IsZero() || got.ShelfCapacity != 0 {
		t.Errorf("a locker came back with outlet limits %+v, %d", got.MaxParcel, got.ShelfCapacity)
	}

	// An import that changes only the limits updates them, and appends no
	// event: they are not status fields.
	imported := importEvent(own, 1)
	own.MaxParcel = lokero.ParcelLimit{LengthCM: 120, WidthCM: 60, HeightCM: 60, WeightKG: 35}
	own.ShelfCapacity = 90
	own.UpdatedAt = t0.Add(time.Hour)
	mustUpsert(t, s, []lokero.Location{own}, lokero.UpsertResult{Updated: 1})
	check(own, defaulted, box)
	checkEvents(t, s, own.ID, []lokero.LocationEvent{imported})

	// UpdateLocation writes them too.
	defaulted.MaxParcel.WeightKG, defaulted.ShelfCapacity = 20.25, 1
	defaulted.UpdatedAt = t0.Add(2 * time.Hour)
	if err := s.UpdateLocation(ctx, defaulted, lokero.LocationEvent{Actor: "op"}); err != nil {
		t.Fatal(err)
	}
	check(own, defaulted, box)
}

// pickedUp returns a shipment picked up at an outlet by a representative,
// the time finer than a microsecond and not in UTC.
func pickedUp(retailerID, id string) lokero.Shipment {
	s := shipment(retailerID, id)
	at := t0.Add(30*time.Hour + 789).In(helsinki)
	s.Status, s.DestinationID, s.SizeClass = lokero.StatusPickedUp, "po-kamppi", lokero.ShelfSize
	s.Pickup = &lokero.Pickup{At: at, LocationID: "po-kamppi", By: lokero.PickedUpByRepresentative,
		Representative: "Åsa Öhman-Ääritalo", ClerkID: "clerk-1"}
	s.UpdatedAt = at
	s.Events = append(s.Events, lokero.ShipmentEvent{Status: lokero.StatusPickedUp, At: at, LocationID: "po-kamppi"})
	return s
}

// storedPickup returns s as stored, its pickup's time in UTC to the
// microsecond (a copy: s's own Pickup is left as it is).
func storedPickup(s lokero.Shipment) lokero.Shipment {
	if s.Pickup != nil {
		p := *s.Pickup
		p.At = p.At.UTC().Truncate(time.Microsecond)
		s.Pickup = &p
	}
	return s
}

// checkEveryRead fails t unless every read of the shipment gives want:
// Shipment, ShipmentByTrackingCode, Tx.Shipment and Shipments.
func checkEveryRead(t *testing.T, s Store, want lokero.Shipment) {
	t.Helper()
	ctx := t.Context()
	checkShipment(t, mustShipment(t, s, want.ID), want, true)
	got, err := s.ShipmentByTrackingCode(ctx, want.TrackingCode)
	if err != nil {
		t.Fatalf("ShipmentByTrackingCode(%s): %v", want.TrackingCode, err)
	}
	checkShipment(t, got, want, true)
	mustInTx(t, s, func(tx lokero.Tx) error {
		got, err := tx.Shipment(ctx, want.ID)
		if err != nil {
			return err
		}
		checkShipment(t, got, want, true)
		return nil
	})
	list, err := s.Shipments(ctx, lokero.ShipmentFilter{RetailerID: want.RetailerID})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, got := range list {
		if got.ID == want.ID {
			found = true
			checkShipment(t, got, want, false)
			if got.Pickup != nil && got.Pickup.At.Location() != time.UTC {
				t.Errorf("shipment %s: Pickup.At %v not in UTC", want.ID, got.Pickup.At)
			}
		}
	}
	if !found {
		t.Errorf("Shipments of %s: %s not listed", want.RetailerID, want.ID)
	}
}

func testShipmentPickup(t *testing.T, s Store) {
	ctx := t.Context()
	mustRetailer(t, s, "r")
	done := pickedUp("r", "s-done")
	waiting := shipment("r", "s-waiting")
	noTime := shipment("r", "s-no-time")
	noTime.Pickup = &lokero.Pickup{LocationID: "po-kamppi", By: lokero.PickedUpByRecipient}
	mustInsert(t, s, done, waiting, noTime)

	checkEveryRead(t, s, storedPickup(done))
	checkEveryRead(t, s, waiting)
	want := noTime
	want.Pickup = nil // a pickup is known by its time
	checkEveryRead(t, s, want)

	// Picked up later, at a counter, by the recipient; the other one's
	// pickup undone (nil clears every column).
	at := t0.Add(50 * time.Hour).In(helsinki)
	waiting.Status, waiting.UpdatedAt = lokero.StatusPickedUp, at
	waiting.Pickup = &lokero.Pickup{At: at, LocationID: "pp-sale", By: lokero.PickedUpByRecipient, ClerkID: "clerk-2"}
	waiting.Events = append(waiting.Events, lokero.ShipmentEvent{Status: lokero.StatusPickedUp, At: at, LocationID: "pp-sale"})
	done.Pickup, done.UpdatedAt = nil, t0.Add(51*time.Hour)
	mustInTx(t, s, func(tx lokero.Tx) error {
		if err := tx.UpdateShipment(ctx, &waiting); err != nil {
			return err
		}
		return tx.UpdateShipment(ctx, &done)
	})
	checkEveryRead(t, s, storedPickup(waiting))
	checkEveryRead(t, s, done)

	// At a locker: no clerk, no representative.
	done.Pickup = &lokero.Pickup{At: t0.Add(52 * time.Hour), LocationID: "locker-1", By: lokero.PickedUpByRecipient}
	mustInTx(t, s, func(tx lokero.Tx) error { return tx.UpdateShipment(ctx, &done) })
	checkEveryRead(t, s, storedPickup(done))
}

func testShipmentCODPaid(t *testing.T, s Store) {
	ctx := t.Context()
	mustRetailer(t, s, "r")
	paidAt := t0.Add(26*time.Hour + 999).In(helsinki)
	card := pickedUp("r", "s-card")
	card.COD = &lokero.COD{AmountCents: 4990, Currency: "EUR", Reference: "RF-card", CollectedAt: &paidAt,
		TerminalRef: "kuitti 123", Method: lokero.PaymentCard, LocationID: "po-kamppi"}
	unpaid := shipment("r", "s-unpaid")
	unpaid.COD = &lokero.COD{AmountCents: 1500, Currency: "EUR"}
	mustInsert(t, s, card, unpaid)
	checkEveryRead(t, s, storedPickup(card))
	checkEveryRead(t, s, unpaid)

	// Paid later, in cash at another counter.
	cashAt := paidAt.Add(time.Hour)
	unpaid.COD.CollectedAt, unpaid.COD.Method, unpaid.COD.LocationID = &cashAt, lokero.PaymentCash, "pp-sale"
	unpaid.UpdatedAt = cashAt
	mustInTx(t, s, func(tx lokero.Tx) error { return tx.UpdateShipment(ctx, &unpaid) })
	cash := unpaid
	checkEveryRead(t, s, cash)

	// The settlement's read tells how and where each was paid.
	got, err := s.CODCollected(ctx, t0, t0.Add(72*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("CODCollected: %q; want s-card and s-unpaid", ids(got))
	}
	checkShipment(t, got[0], storedPickup(card), false)
	checkShipment(t, got[1], cash, false)

	// COD dropped: nothing of it stays.
	cash.COD = nil
	mustInTx(t, s, func(tx lokero.Tx) error { return tx.UpdateShipment(ctx, &cash) })
	checkEveryRead(t, s, cash)
}

func testClerkCredential(t *testing.T, s Store) {
	ctx := t.Context()
	clerk := lokero.Credential{ID: "k-1", Kind: lokero.KindClerk, Name: "Kaija Virkailija – Posti Kamppi",
		LocationID: "po-kamppi", CreatedAt: t0.Add(123).In(helsinki)}
	other := lokero.Credential{ID: "k-2", Kind: lokero.KindClerk, Name: "Sami", LocationID: "pp-sale", CreatedAt: t0.Add(time.Hour)}
	device := lokero.Credential{ID: "d-1", Kind: lokero.KindDevice, LocationID: "po-kamppi", CreatedAt: t0}
	mustCreateCredentials(t, s, clerk, other, device)

	got, err := s.CredentialByTokenHash(ctx, tokenHash(clerk.ID))
	if err != nil {
		t.Fatal(err)
	}
	checkCredential(t, "CredentialByTokenHash(clerk)", got, clerk)
	if got, err = s.CredentialByID(ctx, clerk.ID); err != nil {
		t.Fatal(err)
	}
	checkCredential(t, "CredentialByID(clerk)", got, clerk)

	for _, tt := range []struct {
		filter lokero.CredentialFilter
		want   []string
	}{
		{lokero.CredentialFilter{Kind: lokero.KindClerk}, []string{"k-1", "k-2"}},
		{lokero.CredentialFilter{Kind: lokero.KindClerk, LocationID: "po-kamppi"}, []string{"k-1"}},
		{lokero.CredentialFilter{LocationID: "po-kamppi"}, []string{"d-1", "k-1"}},
	} {
		list, err := s.Credentials(ctx, tt.filter)
		if err != nil {
			t.Fatalf("Credentials(%+v): %v", tt.filter, err)
		}
		if got := credentialIDs(list); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Credentials(%+v) = %v; want %v", tt.filter, got, tt.want)
		}
	}
}

// shelves returns n shelf places of an outlet, numbered from 1.
func shelves(locationID string, n int) []lokero.Compartment {
	var cs []lokero.Compartment
	for i := 1; i <= n; i++ {
		cs = append(cs, lokero.Compartment{LocationID: locationID, Number: i, Size: lokero.ShelfSize})
	}
	return cs
}

func testShelfPlaces(t *testing.T, s Store) {
	ctx := t.Context()
	const po = "po-kamppi"
	places := shelves(po, 60) // past the first section: A-1 … A-50, B-1 … B-10
	lockerCs := layout("locker-1", 3)
	check := func(loc string, want []lokero.Compartment) {
		t.Helper()
		got, err := s.Compartments(ctx, loc)
		if err != nil {
			t.Fatalf("Compartments(%s): %v", loc, err)
		}
		checkCompartments(t, "Compartments("+loc+")", got, want)
		mustInTx(t, s, func(tx lokero.Tx) error {
			got, err := tx.Compartments(ctx, loc)
			if err != nil {
				return err
			}
			checkCompartments(t, "Tx.Compartments("+loc+")", got, want)
			return nil
		})
	}

	mustInTx(t, s, func(tx lokero.Tx) error {
		got, err := tx.Compartments(ctx, po)
		if err != nil || len(got) != 0 {
			t.Errorf("shelf places before the lay-out: %+v, %v; want none", got, err)
		}
		for _, c := range slices.Concat(places, lockerCs) {
			if err := tx.PutCompartment(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	check(po, places)
	check("locker-1", lockerCs)

	// A parcel on shelf place 57, "B-7"; then off it again.
	if lokero.ShelfPlace(57) != "B-7" {
		t.Fatalf("ShelfPlace(57) = %q", lokero.ShelfPlace(57))
	}
	places[56].ShipmentID = "s-1"
	mustInTx(t, s, func(tx lokero.Tx) error { return tx.PutCompartment(ctx, places[56]) })
	check(po, places)
	places[56].ShipmentID = ""
	mustInTx(t, s, func(tx lokero.Tx) error { return tx.PutCompartment(ctx, places[56]) })
	check(po, places)
	check("locker-1", lockerCs)
}

func testReserveShelf(t *testing.T, s Store) {
	ctx := t.Context()
	const po, capacity = "po-kamppi", 3
	date := mustDate(t, "2025-03-03")
	mustInTx(t, s, func(tx lokero.Tx) error {
		for i := range capacity + 1 {
			ok, err := tx.Reserve(ctx, po, date, lokero.ShelfSize, capacity)
			if err != nil {
				return err
			}
			if want := i < capacity; ok != want {
				t.Errorf("Reserve #%d of %d shelf places = %v; want %v", i+1, capacity, ok, want)
			}
		}
		return nil
	})
	reserved := func(want map[string]int) {
		t.Helper()
		mustInTx(t, s, func(tx lokero.Tx) error {
			got, err := tx.Reserved(ctx, po, date)
			if err != nil {
				return err
			}
			if len(got) != len(want) || len(want) > 0 && !reflect.DeepEqual(got, want) {
				t.Errorf("Reserved(%s) = %v; want %v", po, got, want)
			}
			return nil
		})
		on, err := s.ReservedOn(ctx, date, po)
		if err != nil {
			t.Fatal(err)
		}
		if len(on[po]) != len(want) || len(want) > 0 && !reflect.DeepEqual(on[po], want) {
			t.Errorf("ReservedOn(%s)[%s] = %v; want %v", date, po, on[po], want)
		}
	}
	reserved(map[string]int{lokero.ShelfSize: capacity})

	mustInTx(t, s, func(tx lokero.Tx) error {
		if err := tx.Release(ctx, po, date, lokero.ShelfSize); err != nil {
			return err
		}
		ok, err := tx.Reserve(ctx, po, date, lokero.ShelfSize, capacity)
		if err != nil || !ok {
			t.Errorf("Reserve after a Release = %v, %v; want true", ok, err)
		}
		for range capacity + 2 {
			if err := tx.Release(ctx, po, date, lokero.ShelfSize); err != nil {
				return err
			}
		}
		return nil
	})
	reserved(nil)
}
