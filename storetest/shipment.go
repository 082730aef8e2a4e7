package storetest

// The retailer and shipment half of the suite. Besides the interface
// documentation in package lokero, the stores agree that:
//
//   - Times (created_at, updated_at, event times, COD's CollectedAt) are
//     kept to the microsecond and come back in UTC; a shipment without
//     events comes back with nil Events, without COD with a nil COD.
//   - Every uniqueness violation is an ECONFLICT *lokero.Error whose
//     Reason names it: "duplicate_id" (retailer or shipment),
//     "duplicate_key" (a retailer's key hash), "duplicate_tracking_code",
//     "duplicate_return_code", "duplicate_return_tracking_code",
//     "duplicate_idempotency_key". It writes nothing, and the transaction
//     stays usable: the caller may try again with another code.
//   - "" is no return code, return tracking code or idempotency key: any
//     number of shipments lack one. Idempotency keys are per retailer.
//   - InTx returns fn's error as it is; a panic in fn rolls back and goes
//     on. InTx succeeds although concurrent transactions lock the same rows
//     in opposite orders (a store may run fn again).
//   - ShipmentTx.Shipment locks the shipment: read-modify-write cycles of
//     one shipment in concurrent transactions lose nothing.
//   - UpdateShipment writes only the mutable fields (not the retailer,
//     reference, tracking code, parties, parcel, pickup point, fallback or
//     created_at).
//   - Shipments orders by ID in byte order, returns at most 50 shipments
//     when the filter's Limit is 0 and never more than 500.
//   - Reserved leaves out the size classes with no reservation; Release of
//     nothing reserved does nothing.

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lokero/lokero"
)

var shipmentTests = []struct {
	name string
	fn   func(t *testing.T, s Store)
}{
	{"Retailers", testRetailers},
	{"ShipmentRoundTrip", testShipmentRoundTrip},
	{"ShipmentNotFound", testShipmentNotFound},
	{"IdempotencyKeys", testIdempotencyKeys},
	{"DuplicateCodes", testDuplicateCodes},
	{"UpdateShipment", testUpdateShipment},
	{"UpdateHeldShipment", testUpdateHeldShipment},
	{"InTxRollback", testInTxRollback},
	{"InTxPanic", testInTxPanic},
	{"InTxOppositeLockOrder", testInTxOppositeLockOrder},
	{"ListShipments", testListShipments},
	{"ListShipmentsLimits", testListShipmentsLimits},
	{"Reserve", testReserve},
	{"ReserveConcurrent", testReserveConcurrent},
	{"ReserveFullLocksNothing", testReserveFullLocksNothing},
	{"UpdateShipmentConcurrent", testUpdateShipmentConcurrent},
}

func keyHash(retailerID string) []byte {
	h := sha256.Sum256([]byte("API key of " + retailerID))
	return h[:]
}

func retailer(id string) lokero.Retailer {
	return lokero.Retailer{ID: id, Name: "Kärkkäinen Åbo Ab – " + id, FreeReturns: true, CreatedAt: t0.In(helsinki)}
}

func mustRetailer(t *testing.T, s Store, id string) lokero.Retailer {
	t.Helper()
	r := retailer(id)
	if err := s.CreateRetailer(t.Context(), r, keyHash(id)); err != nil {
		t.Fatalf("CreateRetailer(%s): %v", id, err)
	}
	return r
}

// shipment returns a newly created shipment with only the fields every
// shipment has: no COD, no return codes, one event.
func shipment(retailerID, id string) lokero.Shipment {
	return lokero.Shipment{
		ID:            id,
		RetailerID:    retailerID,
		Reference:     "ORDER-" + id,
		TrackingCode:  "JJ-" + id + "-FI",
		Status:        lokero.StatusCreated,
		Sender:        lokero.Party{Name: "Puoti Oy", Street: "Aurakatu 1", Postcode: "20100", City: "Turku", Country: "FI"},
		Recipient:     lokero.Party{Name: "Matti Meikäläinen", Street: "Hämeenkatu 5", Postcode: "33100", City: "Tampere", Country: "FI"},
		Parcel:        lokero.Parcel{LengthCM: 30, WidthCM: 20, HeightCM: 10, WeightKG: 1, Contents: lokero.ContentsGoods},
		DestinationID: "smartpost-tampere",
		Routing:       lokero.Routing{Rule: "nearest", Reason: "The nearest public parcel locker."},
		DeliveryDate:  lokero.Date{Year: 2025, Month: time.March, Day: 3},
		SizeClass:     "S",
		CreatedAt:     t0,
		UpdatedAt:     t0,
		Events:        []lokero.ShipmentEvent{{Status: lokero.StatusCreated, At: t0}},
	}
}

// fullShipment returns a shipment with every field set, non-ASCII text,
// times in another zone than UTC and finer than a microsecond, collected
// COD and several events.
func fullShipment(retailerID, id string) lokero.Shipment {
	collected := t0.Add(50*time.Hour + 999).In(helsinki)
	s := shipment(retailerID, id)
	s.Status = lokero.StatusPickedUp
	s.Sender = lokero.Party{Name: "Verkkokauppa Åbo Ab", Street: "Slottsgatan 1 A", Postcode: "20100",
		City: "Åbo", Country: "FI", Phone: "+358401234567", Email: "lähetys@åbo.example", Language: "sv"}
	s.Recipient = lokero.Party{Name: "Åsa Öhman-Ääritalo 😀", Street: "Mannerheimintie 12 B 34", Postcode: "00104",
		City: "Helsinki", Country: "FI", Phone: "+358501112233", Email: "asa@example.fi", Language: "fi"}
	s.Parcel = lokero.Parcel{LengthCM: 40.5, WidthCM: 30.25, HeightCM: 10.1, WeightKG: 2.345,
		Contents: lokero.ContentsFood, Insulated: true}
	s.COD = &lokero.COD{AmountCents: 12345, Currency: "EUR", Reference: "RF18 5390 0754 7034", CollectedAt: &collected}
	s.PickupPointID = "smartpost-kamppi"
	s.Fallback = "nearest_outlet"
	s.DestinationID = "smartpost-kamppi"
	s.Routing = lokero.Routing{Rule: "pickup_point", Reason: "Sent to the pickup point chosen at checkout: Smartpost Kamppi – Urho Kekkosen katu 1."}
	s.DeliveryDate = lokero.Date{Year: 2025, Month: time.December, Day: 8}
	s.SizeClass = "M"
	s.ReturnCode = "RC-" + id
	s.ReturnTrackingCode = "JR-" + id + "-FI"
	s.CreatedAt = t0.In(helsinki)
	s.UpdatedAt = collected
	s.Events = []lokero.ShipmentEvent{
		{Status: lokero.StatusCreated, At: t0.In(helsinki)},
		{Status: lokero.StatusInTransit, At: t0.Add(time.Hour + 1)},
		{Status: lokero.StatusInLocker, At: t0.Add(20 * time.Hour), LocationID: "smartpost-kamppi"},
		{Status: lokero.StatusReadyForPickup, At: t0.Add(20*time.Hour + time.Minute), LocationID: "smartpost-kamppi",
			Reason: "Noudettavissa – kan hämtas"},
		{Status: lokero.StatusPickedUp, At: collected, LocationID: "smartpost-kamppi"},
	}
	return s
}

// stored returns s as a store gives it back: times in UTC to the
// microsecond (truncated), no empty slice.
func stored(s lokero.Shipment, withEvents bool) lokero.Shipment {
	utc := func(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }
	s.CreatedAt, s.UpdatedAt = utc(s.CreatedAt), utc(s.UpdatedAt)
	s.Kind = s.Kind.OrDefault()
	if s.COD != nil {
		c := *s.COD
		if c.CollectedAt != nil {
			at := utc(*c.CollectedAt)
			c.CollectedAt = &at
		}
		s.COD = &c
	}
	if s.Pickup != nil {
		p := *s.Pickup
		p.At = utc(p.At)
		s.Pickup = &p
	}
	events := s.Events
	s.Events = nil
	if withEvents {
		for _, e := range events {
			e.At = utc(e.At)
			s.Events = append(s.Events, e)
		}
	}
	return s
}

// checkShipment fails t unless got is want as stored, events included
// when withEvents.
func checkShipment(t *testing.T, got, want lokero.Shipment, withEvents bool) {
	t.Helper()
	times := []time.Time{got.CreatedAt, got.UpdatedAt}
	for _, e := range got.Events {
		times = append(times, e.At)
	}
	if got.COD != nil && got.COD.CollectedAt != nil {
		times = append(times, *got.COD.CollectedAt)
	}
	for _, tm := range times {
		if tm.Location() != time.UTC {
			t.Errorf("shipment %s: time %v not in UTC", want.ID, tm)
		}
	}
	if want = stored(want, withEvents); !reflect.DeepEqual(got, want) {
		t.Errorf("shipment %s:\n got %s\nwant %s", want.ID, dump(got), dump(want))
	}
}

func dump(s lokero.Shipment) string {
	str := fmt.Sprintf("%+v", s)
	if s.COD != nil {
		str += fmt.Sprintf(" COD=%+v", *s.COD)
		if s.COD.CollectedAt != nil {
			str += fmt.Sprintf(" CollectedAt=%v", *s.COD.CollectedAt)
		}
	}
	return str
}

// checkError fails t unless err is a *lokero.Error with the code and,
// unless "", the reason.
func checkError(t *testing.T, err error, code, reason string) {
	t.Helper()
	var e *lokero.Error
	if !errors.As(err, &e) || e.Code != code || reason != "" && e.Reason != reason {
		t.Errorf("error %v (%T), want a *lokero.Error with code %q and reason %q", err, err, code, reason)
	}
}

func mustInTx(t *testing.T, s Store, fn func(tx lokero.Tx) error) {
	t.Helper()
	if err := s.InTx(t.Context(), fn); err != nil {
		t.Fatalf("InTx: %v", err)
	}
}

// mustInsert inserts the shipments in one transaction, without
// idempotency keys.
func mustInsert(t *testing.T, s Store, shipments ...lokero.Shipment) {
	t.Helper()
	mustInTx(t, s, func(tx lokero.Tx) error {
		for i := range shipments {
			if err := tx.InsertShipment(t.Context(), &shipments[i], "", nil); err != nil {
				return err
			}
		}
		return nil
	})
}

func mustShipment(t *testing.T, s Store, id string) lokero.Shipment {
	t.Helper()
	got, err := s.Shipment(t.Context(), id)
	if err != nil {
		t.Fatalf("Shipment(%q): %v", id, err)
	}
	return got
}

func testRetailers(t *testing.T, s Store) {
	ctx := t.Context()
	a := mustRetailer(t, s, "r-a")
	b := retailer("r-b")
	b.Name, b.FreeReturns, b.CreatedAt = "Pikku Puoti", false, t0.Add(time.Hour)
	if err := s.CreateRetailer(ctx, b, keyHash(b.ID)); err != nil {
		t.Fatal(err)
	}
	for _, want := range []lokero.Retailer{a, b} {
		want.CreatedAt = want.CreatedAt.UTC()
		got, err := s.Retailer(ctx, want.ID)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("Retailer(%s) = %+v, %v; want %+v", want.ID, got, err, want)
		}
		got, err = s.RetailerByKeyHash(ctx, keyHash(want.ID))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("RetailerByKeyHash(key of %s) = %+v, %v; want %+v", want.ID, got, err, want)
		}
	}

	_, err := s.Retailer(ctx, "missing")
	checkError(t, err, lokero.ENOTFOUND, "")
	_, err = s.RetailerByKeyHash(ctx, keyHash("missing"))
	checkError(t, err, lokero.ENOTFOUND, "")
	_, err = s.RetailerByKeyHash(ctx, nil)
	checkError(t, err, lokero.ENOTFOUND, "")

	// A rotated key: the old finds nothing, the new finds the retailer.
	checkError(t, s.RotateRetailerKey(ctx, b.ID, keyHash("r-a")), lokero.ECONFLICT, "duplicate_key")
	if err := s.RotateRetailerKey(ctx, b.ID, keyHash("r-b rotated")); err != nil {
		t.Fatalf("RotateRetailerKey: %v", err)
	}
	_, err = s.RetailerByKeyHash(ctx, keyHash(b.ID))
	checkError(t, err, lokero.ENOTFOUND, "")
	if got, err := s.RetailerByKeyHash(ctx, keyHash("r-b rotated")); err != nil || got.ID != b.ID {
		t.Errorf("RetailerByKeyHash(the rotated key) = %+v, %v; want %s", got, err, b.ID)
	}
	checkError(t, s.RotateRetailerKey(ctx, "missing", keyHash("x")), lokero.ENOTFOUND, "")

	checkError(t, s.CreateRetailer(ctx, retailer("r-a"), keyHash("other")), lokero.ECONFLICT, "duplicate_id")
	checkError(t, s.CreateRetailer(ctx, retailer("r-c"), keyHash("r-a")), lokero.ECONFLICT, "duplicate_key")
	_, err = s.Retailer(ctx, "r-c")
	checkError(t, err, lokero.ENOTFOUND, "")
	if got, err := s.RetailerByKeyHash(ctx, keyHash("other")); err == nil {
		t.Errorf("a refused retailer left its key: %+v", got)
	}
}

func testShipmentRoundTrip(t *testing.T, s Store) {
	ctx := t.Context()
	mustRetailer(t, s, "r")
	full := fullShipment("r", "s-1")
	minimal := shipment("r", "s-2")
	minimal.Events = nil
	uncollected := fullShipment("r", "s-3")
	uncollected.COD.CollectedAt = nil
	uncollected.Status, uncollected.Events = lokero.StatusReadyForPickup, uncollected.Events[:4]
	hash := sha256.Sum256([]byte("request body"))

	mustInTx(t, s, func(tx lokero.Tx) error {
		if err := tx.InsertShipment(ctx, &full, "idem-1", hash[:]); err != nil {
			return err
		}
		// A transaction reads its own writes.
		got, err := tx.Shipment(ctx, full.ID)
		if err != nil {
			return err
		}
		checkShipment(t, got, full, true)
		for _, sh := range []*lokero.Shipment{&minimal, &uncollected} {
			if err := tx.InsertShipment(ctx, sh, "", nil); err != nil {
				return err
			}
		}
		return nil
	})

	for _, want := range []lokero.Shipment{full, minimal, uncollected} {
		checkShipment(t, mustShipment(t, s, want.ID), want, true)
		got, err := s.ShipmentByTrackingCode(ctx, want.TrackingCode)
		if err != nil {
			t.Fatalf("ShipmentByTrackingCode(%s): %v", want.TrackingCode, err)
		}
		checkShipment(t, got, want, true)
	}
	got, err := s.ShipmentByTrackingCode(ctx, full.ReturnTrackingCode)
	if err != nil {
		t.Fatalf("ShipmentByTrackingCode(return tracking code): %v", err)
	}
	checkShipment(t, got, full, true)

	mustInTx(t, s, func(tx lokero.Tx) error {
		got, err := tx.Shipment(ctx, full.ID)
		if err != nil {
			return err
		}
		checkShipment(t, got, full, true)
		got, gotHash, err := tx.ShipmentByIdempotencyKey(ctx, "r", "idem-1")
		if err != nil {
			return err
		}
		checkShipment(t, got, full, true)
		if !slices.Equal(gotHash, hash[:]) {
			t.Errorf("request hash = %x, want %x", gotHash, hash)
		}
		return nil
	})

	list, err := s.Shipments(ctx, lokero.ShipmentFilter{RetailerID: "r"})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 {
		t.Fatalf("Shipments = %d shipments, want 3", len(list))
	}
	for i, want := range []lokero.Shipment{full, minimal, uncollected} {
		checkShipment(t, list[i], want, false)
	}
}

func testShipmentNotFound(t *testing.T, s Store) {
	ctx := t.Context()
	mustRetailer(t, s, "r")
	present := fullShipment("r", "present")
	mustInTx(t, s, func(tx lokero.Tx) error {
		return tx.InsertShipment(ctx, &present, "key", []byte{1})
	})

	_, err := s.Shipment(ctx, "missing")
	checkError(t, err, lokero.ENOTFOUND, "")
	for _, code := range []string{"missing", "", present.ReturnCode} {
		_, err = s.ShipmentByTrackingCode(ctx, code)
		checkError(t, err, lokero.ENOTFOUND, "")
	}
	mustInTx(t, s, func(tx lokero.Tx) error {
		_, err := tx.Shipment(ctx, "missing")
		checkError(t, err, lokero.ENOTFOUND, "")
		for _, k := range [][2]string{{"r", "missing"}, {"r", ""}, {"other", "key"}} {
			_, _, err = tx.ShipmentByIdempotencyKey(ctx, k[0], k[1])
			checkError(t, err, lokero.ENOTFOUND, "")
		}
		missing := shipment("r", "missing")
		checkError(t, tx.UpdateShipment(ctx, &missing), lokero.ENOTFOUND, "")
		return nil
	})
	if _, err := s.Shipment(ctx, "missing"); err == nil {
		t.Error("UpdateShipment of a missing shipment created it")
	}
	list, err := s.Shipments(ctx, lokero.ShipmentFilter{RetailerID: "other"})
	if err != nil || len(list) != 0 {
		t.Errorf("Shipments of another retailer = %v, %v; want none", list, err)
	}
}

func testIdempotencyKeys(t *testing.T, s Store) {
	ctx := t.Context()
	mustRetailer(t, s, "a")
	mustRetailer(t, s, "b")
	a1, b1, a2 := shipment("a", "a1"), shipment("b", "b1"), shipment("a", "a2")
	mustInTx(t, s, func(tx lokero.Tx) error {
		if err := tx.InsertShipment(ctx, &a1, "k", []byte("hash a1")); err != nil {
			return err
		}
		_, _, err := tx.ShipmentByIdempotencyKey(ctx, "b", "k")
		checkError(t, err, lokero.ENOTFOUND, "")
		return tx.InsertShipment(ctx, &b1, "k", []byte("hash b1"))
	})
	mustInTx(t, s, func(tx lokero.Tx) error {
		checkError(t, tx.InsertShipment(ctx, &a2, "k", []byte("hash a2")), lokero.ECONFLICT, "duplicate_idempotency_key")
		for _, want := range []struct {
			s    lokero.Shipment
			hash string
		}{{a1, "hash a1"}, {b1, "hash b1"}} {
			got, hash, err := tx.ShipmentByIdempotencyKey(ctx, want.s.RetailerID, "k")
			if err != nil {
				return err
			}
			checkShipment(t, got, want.s, true)
			if string(hash) != want.hash {
				t.Errorf("request hash of %s = %q, want %q", want.s.ID, hash, want.hash)
			}
		}
		return nil
	})
	if _, err := s.Shipment(ctx, a2.ID); err == nil {
		t.Error("a shipment refused for its idempotency key was stored")
	}
	// Without a key, any number of shipments.
	mustInsert(t, s, shipment("a", "n1"), shipment("a", "n2"), shipment("b", "n3"))
	mustInTx(t, s, func(tx lokero.Tx) error {
		_, _, err := tx.ShipmentByIdempotencyKey(ctx, "a", "")
		checkError(t, err, lokero.ENOTFOUND, "")
		return nil
	})
}

func testDuplicateCodes(t *testing.T, s Store) {
	ctx := t.Context()
	mustRetailer(t, s, "r")
	first := fullShipment("r", "first")
	sameTracking := shipment("r", "same-tracking")
	sameTracking.TrackingCode = first.TrackingCode
	sameReturn := shipment("r", "same-return")
	sameReturn.ReturnCode = first.ReturnCode
	sameReturnTracking := shipment("r", "same-return-tracking")
	sameReturnTracking.ReturnTrackingCode = first.ReturnTrackingCode
	sameID := shipment("r", "first")
	sameID.TrackingCode = "JJ-other-FI"
	retry := fullShipment("r", "retry")
	noCodes1, noCodes2 := shipment("r", "no-codes-1"), shipment("r", "no-codes-2")

	mustInTx(t, s, func(tx lokero.Tx) error {
		if err := tx.InsertShipment(ctx, &first, "", nil); err != nil {
			return err
		}
		for _, c := range []struct {
			s      lokero.Shipment
			reason string
		}{
			{sameTracking, "duplicate_tracking_code"},
			{sameReturn, "duplicate_return_code"},
			{sameReturnTracking, "duplicate_return_tracking_code"},
			{sameID, "duplicate_id"},
		} {
			checkError(t, tx.InsertShipment(ctx, &c.s, "", nil), lokero.ECONFLICT, c.reason)
		}
		// The transaction goes on after a conflict.
		for _, sh := range []*lokero.Shipment{&retry, &noCodes1, &noCodes2} {
			if err := tx.InsertShipment(ctx, sh, "", nil); err != nil {
				return err
			}
		}
		return nil
	})
	for _, want := range []lokero.Shipment{first, retry, noCodes1, noCodes2} {
		checkShipment(t, mustShipment(t, s, want.ID), want, true)
	}
	for _, id := range []string{sameTracking.ID, sameReturn.ID, sameReturnTracking.ID} {
		if _, err := s.Shipment(ctx, id); err == nil {
			t.Errorf("refused shipment %s was stored", id)
		}
	}

	// Issuing return codes later conflicts in the same way.
	later := noCodes1
	mustInTx(t, s, func(tx lokero.Tx) error {
		taken := later
		taken.ReturnCode, taken.ReturnTrackingCode = first.ReturnCode, "JR-fresh-FI"
		checkError(t, tx.UpdateShipment(ctx, &taken), lokero.ECONFLICT, "duplicate_return_code")
		taken.ReturnCode, taken.ReturnTrackingCode = "RC-fresh", first.ReturnTrackingCode
		checkError(t, tx.UpdateShipment(ctx, &taken), lokero.ECONFLICT, "duplicate_return_tracking_code")
		later.ReturnCode, later.ReturnTrackingCode = "RC-fresh", "JR-fresh-FI"
		return tx.UpdateShipment(ctx, &later)
	})
	checkShipment(t, mustShipment(t, s, later.ID), later, true)
}

func testUpdateShipment(t *testing.T, s Store) {
	ctx := t.Context()
	mustRetailer(t, s, "r")
	orig := fullShipment("r", "s")
	orig.Status, orig.Events = lokero.StatusCreated, orig.Events[:1]
	orig.COD, orig.ReturnCode, orig.ReturnTrackingCode = nil, "", ""
	mustInsert(t, s, orig)

	want := orig
	mustInTx(t, s, func(tx lokero.Tx) error {
		sh, err := tx.Shipment(ctx, orig.ID)
		if err != nil {
			return err
		}
		sh.Status = lokero.StatusInTransit
		sh.DestinationID = "postoffice-kamppi"
		sh.Routing = lokero.Routing{Rule: "cod_redirect", Reason: "Cash on delivery: sent to the nearest post office."}
		sh.DeliveryDate = lokero.Date{Year: 2025, Month: time.December, Day: 9}
		sh.SizeClass = ""
		sh.COD = &lokero.COD{AmountCents: 999, Currency: "EUR"}
		sh.ReturnCode, sh.ReturnTrackingCode = "RC-s", "JR-s-FI"
		sh.UpdatedAt = t0.Add(3 * time.Hour).In(helsinki)
		sh.Events = append(sh.Events,
			lokero.ShipmentEvent{Status: lokero.StatusInTransit, At: t0.Add(2 * time.Hour), Reason: "Handed over"},
			lokero.ShipmentEvent{Status: lokero.StatusInTransit, At: t0.Add(3 * time.Hour), LocationID: "hub"})
		want = sh
		// Not mutable: these stay as they were.
		sh.RetailerID, sh.Reference, sh.TrackingCode = "other", "changed", "JJ-changed-FI"
		sh.Sender.Name, sh.Recipient.City, sh.Parcel.WeightKG = "changed", "changed", 99
		sh.PickupPointID, sh.Fallback, sh.CreatedAt = "changed", "changed", t0.Add(time.Hour)
		return tx.UpdateShipment(ctx, &sh)
	})
	checkShipment(t, mustShipment(t, s, orig.ID), want, true)

	// The same events again append nothing; clearing codes stores no code.
	mustInTx(t, s, func(tx lokero.Tx) error {
		collected := t0.Add(4 * time.Hour)
		want.COD.CollectedAt = &collected
		want.ReturnCode, want.ReturnTrackingCode = "", ""
		return tx.UpdateShipment(ctx, &want)
	})
	checkShipment(t, mustShipment(t, s, orig.ID), want, true)
	mustInTx(t, s, func(tx lokero.Tx) error {
		want.COD = nil
		want.Events = append(want.Events, lokero.ShipmentEvent{Status: lokero.StatusReadyForPickup, At: t0.Add(5 * time.Hour)})
		return tx.UpdateShipment(ctx, &want)
	})
	checkShipment(t, mustShipment(t, s, orig.ID), want, true)
	other := fullShipment("r", "other") // takes the codes cleared above
	other.ReturnCode, other.ReturnTrackingCode = "RC-s", "JR-s-FI"
	mustInsert(t, s, other)
}

// A shipment read locked (or inserted) in a transaction is written again
// in it several times: each update appends just its new events, and a
// return code that clashes is refused without spoiling the transaction or
// what it knows of the row.
func testUpdateHeldShipment(t *testing.T, s Store) {
	ctx := t.Context()
	mustRetailer(t, s, "r")
	taken := fullShipment("r", "taken") // holds RC-taken
	taken.ReturnCode, taken.ReturnTrackingCode = "RC-taken", "JR-taken-FI"
	orig := fullShipment("r", "s")
	orig.Status, orig.Events = lokero.StatusCreated, orig.Events[:1]
	orig.COD, orig.ReturnCode, orig.ReturnTrackingCode = nil, "", ""
	mustInsert(t, s, taken, orig)

	var want lokero.Shipment
	at := func(h int) time.Time { return t0.Add(time.Duration(h) * time.Hour) }
	// Read back through JSON on some reads (Store.Shipment): quotes,
	// a backslash, a tab and letters beyond ASCII survive it.
	const fourth = "fourth: \"Åbo\" \\ Turku\tÄänekoski"
	mustInTx(t, s, func(tx lokero.Tx) error {
		sh, err := tx.Shipment(ctx, orig.ID)
		if err != nil {
			return err
		}
		sh.Status = lokero.StatusInTransit
		sh.Events = append(sh.Events, lokero.ShipmentEvent{Status: lokero.StatusInTransit, At: at(1), Reason: "first"})
		if err := tx.UpdateShipment(ctx, &sh); err != nil {
			return err
		}
		sh.Events = append(sh.Events, lokero.ShipmentEvent{Status: lokero.StatusInTransit, At: at(2), Reason: "second"},
			lokero.ShipmentEvent{Status: lokero.StatusInTransit, At: at(3), Reason: "third"})
		if err := tx.UpdateShipment(ctx, &sh); err != nil {
			return err
		}
		clash := sh
		clash.ReturnCode = "RC-taken"
		clash.Events = append(slices.Clone(sh.Events), lokero.ShipmentEvent{Status: lokero.StatusInTransit, At: at(4), Reason: "lost"})
		checkError(t, tx.UpdateShipment(ctx, &clash), lokero.ECONFLICT, "duplicate_return_code")
		sh.ReturnCode = "RC-s"
		sh.Events = append(sh.Events, lokero.ShipmentEvent{Status: lokero.StatusInTransit, At: at(5), Reason: fourth})
		if err := tx.UpdateShipment(ctx, &sh); err != nil {
			return err
		}
		if err := tx.UpdateShipment(ctx, &sh); err != nil { // nothing new
			return err
		}
		want = sh
		return nil
	})
	checkShipment(t, mustShipment(t, s, orig.ID), want, true)
	if got := mustShipment(t, s, orig.ID); len(got.Events) != 5 || got.Events[4].Reason != fourth {
		t.Errorf("events %+v; want created, first, second, third, fourth", got.Events)
	}

	// Inserted in the transaction, then updated in it.
	fresh := shipment("r", "fresh")
	mustInTx(t, s, func(tx lokero.Tx) error {
		if err := tx.InsertShipment(ctx, &fresh, "", nil); err != nil {
			return err
		}
		fresh.Status = lokero.StatusInTransit
		fresh.Events = append(fresh.Events, lokero.ShipmentEvent{Status: lokero.StatusInTransit, At: at(6), Reason: "after the insert"})
		return tx.UpdateShipment(ctx, &fresh)
	})
	checkShipment(t, mustShipment(t, s, fresh.ID), fresh, true)
}

func testInTxRollback(t *testing.T, s Store) {
	ctx := t.Context()
	mustRetailer(t, s, "r")
	sh := fullShipment("r", "s")
	errFail := errors.New("use case failed")
	err := s.InTx(ctx, func(tx lokero.Tx) error {
		if err := tx.InsertShipment(ctx, &sh, "key", []byte{1}); err != nil {
			return err
		}
		if ok, err := tx.Reserve(ctx, "loc", mustDate(t, "2025-03-03"), "M", 5); err != nil || !ok {
			return fmt.Errorf("reserve: %v, %v", ok, err)
		}
		return fmt.Errorf("wrapped: %w", errFail)
	})
	if !errors.Is(err, errFail) {
		t.Fatalf("InTx = %v, want fn's error", err)
	}
	_, err = s.Shipment(ctx, sh.ID)
	checkError(t, err, lokero.ENOTFOUND, "")
	mustInTx(t, s, func(tx lokero.Tx) error {
		if m, err := tx.Reserved(ctx, "loc", mustDate(t, "2025-03-03")); err != nil || len(m) != 0 {
			t.Errorf("Reserved after rollback = %v, %v; want none", m, err)
		}
		// Nothing of it is left: not its ID, codes or idempotency key.
		return tx.InsertShipment(ctx, &sh, "key", []byte{1})
	})
	checkShipment(t, mustShipment(t, s, sh.ID), sh, true)

	// A store error returned by fn rolls back what came before it.
	second := shipment("r", "second")
	dup := shipment("r", "dup")
	dup.TrackingCode = sh.TrackingCode
	err = s.InTx(ctx, func(tx lokero.Tx) error {
		if err := tx.InsertShipment(ctx, &second, "", nil); err != nil {
			return err
		}
		return tx.InsertShipment(ctx, &dup, "", nil)
	})
	checkError(t, err, lokero.ECONFLICT, "duplicate_tracking_code")
	_, err = s.Shipment(ctx, second.ID)
	checkError(t, err, lokero.ENOTFOUND, "")
}

func testInTxPanic(t *testing.T, s Store) {
	ctx := t.Context()
	mustRetailer(t, s, "r")
	sh := shipment("r", "s")
	func() {
		defer func() {
			if r := recover(); r != "boom" {
				t.Errorf("recovered %v, want the panic of fn", r)
			}
		}()
		s.InTx(ctx, func(tx lokero.Tx) error {
			if err := tx.InsertShipment(ctx, &sh, "", nil); err != nil {
				return err
			}
			panic("boom")
		})
		t.Error("InTx returned after fn panicked")
	}()
	_, err := s.Shipment(ctx, sh.ID)
	checkError(t, err, lokero.ENOTFOUND, "")
	mustInsert(t, s, sh) // the store still works: no lock or connection left behind
	checkShipment(t, mustShipment(t, s, sh.ID), sh, true)
}

// inOppositeOrders runs two transactions at once: the first runs step on
// "a", then on "b"; the second on "b", then on "a"; each waits after its
// first step for the other to have taken its own (where a store lets them
// run at once). It fails t on a transaction's error and returns how many
// times the store ran each (a store may run one again after a deadlock).
func inOppositeOrders(t *testing.T, s Store, step func(tx lokero.Tx, loc string) error) (runs [2]int) {
	t.Helper()
	var (
		wg    sync.WaitGroup
		first [2]chan struct{}
		once  [2]sync.Once
	)
	for i := range first {
		first[i] = make(chan struct{})
	}
	for i := range 2 {
		order := []string{"a", "b"}
		if i == 1 {
			order = []string{"b", "a"}
		}
		wg.Go(func() {
			err := s.InTx(t.Context(), func(tx lokero.Tx) error {
				runs[i]++
				if err := step(tx, order[0]); err != nil {
					return err
				}
				once[i].Do(func() { close(first[i]) })
				select { // a store that serialises transactions never lets the other in
				case <-first[1-i]:
				case <-time.After(500 * time.Millisecond):
				}
				return step(tx, order[1])
			})
			if err != nil {
				t.Errorf("transaction %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	return runs
}

// testInTxOppositeLockOrder runs two transactions that reserve the same
// two counters in opposite orders, each waiting for the other to hold its
// first one (where a store lets them run at once): a store that runs them
// concurrently deadlocks and must run one again; both succeed.
func testInTxOppositeLockOrder(t *testing.T, s Store) {
	ctx := t.Context()
	date := mustDate(t, "2025-03-03")
	inOppositeOrders(t, s, func(tx lokero.Tx, loc string) error {
		_, err := tx.Reserve(ctx, loc, date, "M", 10)
		return err
	})
	mustInTx(t, s, func(tx lokero.Tx) error {
		for _, loc := range []string{"a", "b"} {
			if m, err := tx.Reserved(ctx, loc, date); err != nil || m["M"] != 2 {
				t.Errorf("Reserved(%s) = %v, %v; want M: 2", loc, m, err)
			}
		}
		return nil
	})
}

func ids(list []lokero.Shipment) []string {
	out := make([]string, 0, len(list))
	for _, s := range list {
		out = append(out, s.ID)
	}
	return out
}

func testListShipments(t *testing.T, s Store) {
	ctx := t.Context()
	mustRetailer(t, s, "a")
	mustRetailer(t, s, "b")
	statuses := []lokero.ShipmentStatus{lokero.StatusCreated, lokero.StatusInTransit, lokero.StatusCancelled}
	var mine, theirs []lokero.Shipment
	for i := range 10 {
		sh := fullShipment("a", fmt.Sprintf("s-%02d", i))
		sh.Status = statuses[i%3]
		sh.Reference = fmt.Sprintf("ORDER-%d", i/2)
		mine = append(mine, sh)
		// Another retailer's shipments, between and around a's in ID order,
		// with the same statuses and references.
		other := shipment("b", fmt.Sprintf("s-%02d-b", i))
		other.Status, other.Reference = sh.Status, sh.Reference
		theirs = append(theirs, other)
	}
	all := slices.Concat(mine, theirs, []lokero.Shipment{shipment("b", "0"), shipment("b", "z")})
	rand.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	mustInsert(t, s, all...)

	list := func(f lokero.ShipmentFilter) []lokero.Shipment {
		t.Helper()
		got, err := s.Shipments(ctx, f)
		if err != nil {
			t.Fatalf("Shipments(%+v): %v", f, err)
		}
		return got
	}
	filter := func(keep func(lokero.Shipment) bool) []string {
		var out []string
		for _, sh := range mine {
			if keep(sh) {
				out = append(out, sh.ID)
			}
		}
		return out
	}
	got := list(lokero.ShipmentFilter{RetailerID: "a"})
	if !slices.Equal(ids(got), ids(mine)) {
		t.Fatalf("Shipments(a) = %q, want %q", ids(got), ids(mine))
	}
	for i := range got {
		checkShipment(t, got[i], mine[i], false)
	}
	for _, c := range []struct {
		f    lokero.ShipmentFilter
		want []string
	}{
		{lokero.ShipmentFilter{RetailerID: "a", Status: lokero.StatusInTransit},
			filter(func(sh lokero.Shipment) bool { return sh.Status == lokero.StatusInTransit })},
		{lokero.ShipmentFilter{RetailerID: "a", Reference: "ORDER-2"},
			filter(func(sh lokero.Shipment) bool { return sh.Reference == "ORDER-2" })},
		{lokero.ShipmentFilter{RetailerID: "a", Status: lokero.StatusCreated, Reference: "ORDER-1"},
			filter(func(sh lokero.Shipment) bool { return sh.Status == lokero.StatusCreated && sh.Reference == "ORDER-1" })},
		{lokero.ShipmentFilter{RetailerID: "a", Status: lokero.StatusPickedUp}, nil},
		{lokero.ShipmentFilter{RetailerID: "a", Reference: "ORDER-x"}, nil},
		{lokero.ShipmentFilter{RetailerID: "a", AfterID: "s-07"}, []string{"s-08", "s-09"}},
		{lokero.ShipmentFilter{RetailerID: "a", AfterID: "s-04-b", Limit: 2}, []string{"s-05", "s-06"}},
		{lokero.ShipmentFilter{RetailerID: "a", AfterID: "s-09"}, nil},
		{lokero.ShipmentFilter{RetailerID: "c"}, nil},
	} {
		if got := ids(list(c.f)); !slices.Equal(got, c.want) {
			t.Errorf("Shipments(%+v) = %q, want %q", c.f, got, c.want)
		}
	}

	// Walk the pages.
	for _, f := range []lokero.ShipmentFilter{
		{RetailerID: "a", Limit: 3},
		{RetailerID: "a", Limit: 1, Status: lokero.StatusCreated},
		{RetailerID: "b", Limit: 4},
	} {
		var walked []string
		pages := 0
		for {
			page := list(f)
			if len(page) > f.Limit {
				t.Fatalf("Shipments(%+v) returned %d, more than the limit", f, len(page))
			}
			for _, sh := range page {
				if sh.RetailerID != f.RetailerID {
					t.Fatalf("Shipments(%+v) returned %s of retailer %s", f, sh.ID, sh.RetailerID)
				}
			}
			walked = append(walked, ids(page)...)
			if len(page) == 0 {
				break
			}
			if pages++; pages > 20 {
				t.Fatalf("Shipments(%+v): too many pages", f)
			}
			f.AfterID = page[len(page)-1].ID
		}
		var want []string
		for _, sh := range all {
			if sh.RetailerID == f.RetailerID && (f.Status == "" || sh.Status == f.Status) {
				want = append(want, sh.ID)
			}
		}
		slices.Sort(want)
		if !slices.Equal(walked, want) {
			t.Errorf("walking pages of %d for %s: %q, want %q", f.Limit, f.RetailerID, walked, want)
		}
	}
}

func testListShipmentsLimits(t *testing.T, s Store) {
	mustRetailer(t, s, "r")
	var batch []lokero.Shipment
	for i := range 520 {
		batch = append(batch, shipment("r", fmt.Sprintf("s%04d", i)))
	}
	mustInsert(t, s, batch...)
	for _, c := range []struct{ limit, want int }{{0, 50}, {-1, 50}, {7, 7}, {500, 500}, {501, 500}, {10000, 500}} {
		got, err := s.Shipments(t.Context(), lokero.ShipmentFilter{RetailerID: "r", Limit: c.limit})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != c.want || got[0].ID != "s0000" || got[len(got)-1].ID != fmt.Sprintf("s%04d", c.want-1) {
			t.Errorf("Shipments with limit %d: %q, want s0000 to s%04d", c.limit, ids(got), c.want-1)
		}
	}
}

func testReserve(t *testing.T, s Store) {
	ctx := t.Context()
	const loc, date = "smartpost-1", "2025-03-03"
	reserve := func(tx lokero.Tx, loc, date, size string, capacity int, want bool) {
		t.Helper()
		ok, err := tx.Reserve(ctx, loc, mustDate(t, date), size, capacity)
		if err != nil || ok != want {
			t.Fatalf("Reserve(%s, %s, %s, %d) = %v, %v; want %v", loc, date, size, capacity, ok, err, want)
		}
	}
	reserved := func(tx lokero.Tx, loc, date string, want map[string]int) {
		t.Helper()
		got, err := tx.Reserved(ctx, loc, mustDate(t, date))
		if err != nil || len(got) != len(want) || len(want) > 0 && !reflect.DeepEqual(got, want) {
			t.Fatalf("Reserved(%s, %s) = %v, %v; want %v", loc, date, got, err, want)
		}
	}
	release := func(tx lokero.Tx, size string) {
		t.Helper()
		if err := tx.Release(ctx, loc, mustDate(t, date), size); err != nil {
			t.Fatalf("Release(%s): %v", size, err)
		}
	}
	mustInTx(t, s, func(tx lokero.Tx) error {
		reserved(tx, loc, date, nil)
		reserve(tx, loc, date, "M", 0, false)
		reserve(tx, loc, date, "M", 2, true)
		return nil
	})
	mustInTx(t, s, func(tx lokero.Tx) error {
		reserve(tx, loc, date, "M", 2, true)
		reserve(tx, loc, date, "M", 2, false)
		reserve(tx, loc, date, "M", 3, true) // capacity is the caller's
		reserve(tx, loc, date, "M", 3, false)
		reserve(tx, loc, date, "S", 1, true)
		reserve(tx, loc, "2025-03-04", "M", 1, true)
		reserve(tx, "smartpost-2", date, "M", 1, true)
		return nil
	})
	mustInTx(t, s, func(tx lokero.Tx) error {
		reserved(tx, loc, date, map[string]int{"M": 3, "S": 1})
		reserved(tx, loc, "2025-03-04", map[string]int{"M": 1})
		release(tx, "M")
		reserve(tx, loc, date, "M", 3, true)
		reserve(tx, loc, date, "M", 3, false)
		for range 5 {
			release(tx, "S")
		}
		release(tx, "L") // never reserved
		reserved(tx, loc, date, map[string]int{"M": 3})
		return nil
	})
	mustInTx(t, s, func(tx lokero.Tx) error {
		reserve(tx, loc, date, "S", 1, true) // from zero, not from below it
		reserve(tx, loc, date, "S", 1, false)
		reserved(tx, loc, date, map[string]int{"M": 3, "S": 1})
		reserved(tx, "smartpost-2", date, map[string]int{"M": 1})
		return nil
	})
}

// testReserveConcurrent reserves from 20 transactions at once, for 10
// compartments: exactly 10 succeed.
func testReserveConcurrent(t *testing.T, s Store) {
	ctx := t.Context()
	const workers, capacity = 20, 10
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		taken int
		start = make(chan struct{})
	)
	for w := range workers {
		wg.Go(func() {
			<-start
			err := s.InTx(ctx, func(tx lokero.Tx) error {
				ok, err := tx.Reserve(ctx, "loc", mustDate(t, "2025-03-03"), "M", capacity)
				if ok {
					mu.Lock()
					taken++
					mu.Unlock()
				}
				return err
			})
			if err != nil {
				t.Errorf("worker %d: %v", w, err)
			}
		})
	}
	close(start)
	wg.Wait()
	if taken != capacity {
		t.Errorf("%d reservations succeeded, want %d", taken, capacity)
	}
	mustInTx(t, s, func(tx lokero.Tx) error {
		if m, err := tx.Reserved(ctx, "loc", mustDate(t, "2025-03-03")); err != nil || m["M"] != capacity || len(m) != 1 {
			t.Errorf("Reserved = %v, %v; want M: %d", m, err, capacity)
		}
		return nil
	})
}

// testReserveFullLocksNothing has two transactions each find a full
// counter full, then try the other's, each waiting for the other to have
// tried its first (where a store lets them run at once): bookings
// overflowing in opposite directions. A store that locked a counter it
// found full would deadlock them and run one again; each must run once,
// and nothing is reserved.
func testReserveFullLocksNothing(t *testing.T, s Store) {
	ctx := t.Context()
	date := mustDate(t, "2025-03-03")
	mustInTx(t, s, func(tx lokero.Tx) error {
		for _, loc := range []string{"a", "b"} {
			if ok, err := tx.Reserve(ctx, loc, date, "M", 1); err != nil || !ok {
				return fmt.Errorf("fill %s: %v, %v", loc, ok, err)
			}
		}
		return nil
	})
	runs := inOppositeOrders(t, s, func(tx lokero.Tx, loc string) error {
		if ok, err := tx.Reserve(ctx, loc, date, "M", 1); err != nil || ok {
			return fmt.Errorf("reserve full %s: %v, %v; want false", loc, ok, err)
		}
		return nil
	})
	if runs != [2]int{1, 1} {
		t.Errorf("runs of each transaction = %v; want each once (a full counter was locked, and they deadlocked)", runs)
	}
	mustInTx(t, s, func(tx lokero.Tx) error {
		for _, loc := range []string{"a", "b"} {
			if m, err := tx.Reserved(ctx, loc, date); err != nil || m["M"] != 1 {
				t.Errorf("Reserved(%s) = %v, %v; want M: 1", loc, m, err)
			}
		}
		return nil
	})
}

// testUpdateShipmentConcurrent appends an event to one shipment from 10
// transactions at once, each reading the shipment, appending and writing it
// back: none may be lost.
func testUpdateShipmentConcurrent(t *testing.T, s Store) {
	ctx := t.Context()
	mustRetailer(t, s, "r")
	sh := shipment("r", "s")
	mustInsert(t, s, sh)
	const workers = 10
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range workers {
		wg.Go(func() {
			<-start
			err := s.InTx(ctx, func(tx lokero.Tx) error {
				got, err := tx.Shipment(ctx, sh.ID)
				if err != nil {
					return err
				}
				at := t0.Add(time.Duration(w+1) * time.Minute)
				got.Events = append(got.Events, lokero.ShipmentEvent{Status: lokero.StatusInTransit, At: at,
					Reason: fmt.Sprintf("worker %d", w)})
				got.Status, got.UpdatedAt = lokero.StatusInTransit, at
				return tx.UpdateShipment(ctx, &got)
			})
			if err != nil {
				t.Errorf("worker %d: %v", w, err)
			}
		})
	}
	close(start)
	wg.Wait()
	got := mustShipment(t, s, sh.ID)
	if len(got.Events) != workers+1 {
		t.Fatalf("%d events stored, want %d: %+v", len(got.Events), workers+1, got.Events)
	}
	var reasons []string
	for _, e := range got.Events[1:] {
		reasons = append(reasons, e.Reason)
	}
	slices.Sort(reasons)
	for w := range workers {
		if want := fmt.Sprintf("worker %d", w); reasons[w] != want {
			t.Errorf("events %q: missing %q", reasons, want)
			break
		}
	}
}

// mustDate parses a date written YYYY-MM-DD for a test.
func mustDate(t testing.TB, s string) lokero.Date {
	t.Helper()
	d, err := lokero.ParseDate(s)
	if err != nil {
		t.Fatalf("date %q: %v", s, err)
	}
	return d
}
