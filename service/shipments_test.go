package service_test

import (
	"context"
	"crypto/sha256"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/routing"
	"github.com/lokero/lokero/service"
	"github.com/lokero/lokero/tracking"
)

// now is a Wednesday, 14:00 in Helsinki: before the cut-off, so parcels
// booked now are delivered on Thursday 2026-11-26.
var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

type shipmentsFixture struct {
	shipments *service.Shipments
	retailer  lokero.Retailer
	other     lokero.Retailer
}

// eachShipmentStore runs a shipment test on every store.
func eachShipmentStore(t *testing.T, test func(t *testing.T, f shipmentsFixture)) {
	t.Helper()
	onEveryStore(t, newShipments, test)
}

func newShipments(t *testing.T, st lockerStore) shipmentsFixture {
	t.Helper()
	ctx := context.Background()
	t.Cleanup(func() { st.Close() })
	clock := fixedClock{now}
	st.SetClock(clock)
	log := slog.New(slog.DiscardHandler)
	dir := service.NewDirectory(st, testRegistry(t), clock, log)
	if _, err := dir.Import(ctx, network()); err != nil {
		t.Fatal(err)
	}
	sh := service.NewShipments(st, dir, calendar.Default(), clock, nil, log)
	ret, _, err := sh.AddRetailer(ctx, "Verkkokauppa Oy", true)
	if err != nil {
		t.Fatal(err)
	}
	other, _, err := sh.AddRetailer(ctx, "Toinen Kauppa", false)
	if err != nil {
		t.Fatal(err)
	}
	return shipmentsFixture{shipments: sh, retailer: ret, other: other}
}

// request is a small parcel to a resident of the demo building, routed by
// the locker postcode 00104.
func request() service.ShipmentRequest {
	return service.ShipmentRequest{
		Reference: "ORDER-1",
		Sender:    lokero.Party{Name: "Verkkokauppa Oy", Street: "Tyynenmerenkatu 11", Postcode: "00220", City: "Helsinki"},
		Recipient: lokero.Party{Name: "Matti Meikäläinen", Street: "Mannerheimintie 5 B 12", Postcode: "00104", City: "Helsinki",
			Phone: "040 123 4567", Email: "matti@example.fi"},
		Parcel: &lokero.Parcel{LengthCM: 30, WidthCM: 20, HeightCM: 10, WeightKG: 1.2, Contents: lokero.ContentsGoods},
	}
}

func hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func TestCreateShipment(t *testing.T) {
	t.Parallel()
	eachShipmentStore(t, func(t *testing.T, f shipmentsFixture) {
		res, err := f.shipments.Create(context.Background(), f.retailer, request(), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		sh := res.Shipment
		switch {
		case sh.DestinationID != "LOCKER-M5" || sh.Routing.Rule != routing.RuleBuildingLocker:
			t.Errorf("routed to %s by %s; want LOCKER-M5 by building_locker", sh.DestinationID, sh.Routing.Rule)
		case !strings.Contains(sh.Routing.Reason, "00104"):
			t.Errorf("reason %q does not mention the locker postcode", sh.Routing.Reason)
		case !tracking.Valid(sh.TrackingCode) || !strings.HasSuffix(sh.TrackingCode, "FI"):
			t.Errorf("tracking code %q is not a valid S10 code ending in FI", sh.TrackingCode)
		case sh.Status != lokero.StatusCreated || len(sh.Events) != 1:
			t.Errorf("status %s with %d events; want CREATED with one", sh.Status, len(sh.Events))
		case sh.DeliveryDate != (lokero.Date{Year: 2026, Month: time.November, Day: 26}):
			t.Errorf("delivery date %s; want the next weekday 2026-11-26", sh.DeliveryDate)
		case sh.SizeClass != "L":
			t.Errorf("reserved %q; want the L class, the only one at LOCKER-M5", sh.SizeClass)
		case sh.Recipient.Phone != "+358401234567":
			t.Errorf("phone %q; want E.164 +358401234567", sh.Recipient.Phone)
		case sh.ReturnCode != "":
			t.Errorf("a return code %q was issued unasked", sh.ReturnCode)
		}
		got, err := f.shipments.Get(context.Background(), f.retailer, sh.ID)
		if err != nil || got.TrackingCode != sh.TrackingCode {
			t.Errorf("Get: %+v, %v", got, err)
		}
		if _, err := f.shipments.Get(context.Background(), f.other, sh.ID); lokero.ErrorCode(err) != lokero.ENOTFOUND {
			t.Errorf("another retailer's Get: %v; want ENOTFOUND", err)
		}
	})
}

func TestCreateRefusals(t *testing.T) {
	t.Parallel()
	eachShipmentStore(t, func(t *testing.T, f shipmentsFixture) {
		tests := []struct {
			name   string
			change func(*service.ShipmentRequest)
			reason string
			field  string
		}{
			{"no locker at the address", func(r *service.ShipmentRequest) { r.Recipient.Street = "Mannerheimintie 7" }, "no_locker_at_address", "recipient.street"},
			{"locker for another building", func(r *service.ShipmentRequest) {
				r.PickupPointID = "LOCKER-M5"
				r.Recipient.Street, r.Recipient.Postcode = "Ratapihantie 11", "00520"
			}, "locker_residents_only", "pickup_point_id"},
			{"too large", func(r *service.ShipmentRequest) { r.Parcel.LengthCM = 71 }, "parcel_too_large", "parcel"},
			{"food not insulated", func(r *service.ShipmentRequest) { r.Parcel.Contents = lokero.ContentsFood }, "food_not_insulated", "parcel.insulated"},
			{"negative size", func(r *service.ShipmentRequest) { r.Parcel.WidthCM = -1 }, "out_of_range", "parcel.width_cm"},
			{"5000 cm", func(r *service.ShipmentRequest) { r.Parcel.HeightCM = 5000 }, "out_of_range", "parcel.height_cm"},
			{"unknown contents", func(r *service.ShipmentRequest) { r.Parcel.Contents = "gold" }, "unknown_contents", "parcel.contents"},
			{"COD in dollars", func(r *service.ShipmentRequest) {
				r.COD = &service.CODRequest{AmountCents: 1000, Currency: "USD"}
			}, "unsupported_currency", "cod.currency"},
			{"phone not a number", func(r *service.ShipmentRequest) { r.Recipient.Phone = "call me maybe" }, "invalid_phone", "recipient.phone"},
			{"bad postcode", func(r *service.ShipmentRequest) { r.Recipient.Postcode = "0010" }, "malformed", "recipient.postcode"},
			{"unknown postcode", func(r *service.ShipmentRequest) { r.Sender.Postcode = "00009" }, "unknown_postcode", "sender.postcode"},
			{"no contact", func(r *service.ShipmentRequest) { r.Recipient.Phone, r.Recipient.Email = "", "" }, "required", "recipient.phone"},
			{"bad e-mail", func(r *service.ShipmentRequest) { r.Recipient.Email = "matti at example" }, "invalid_email", "recipient.email"},
			{"not Finland", func(r *service.ShipmentRequest) { r.Recipient.Country = "SE" }, "unsupported_country", "recipient.country"},
			{"unknown fallback", func(r *service.ShipmentRequest) { r.Fallback = "anywhere" }, "unknown_fallback", "fallback"},
			{"no parcel", func(r *service.ShipmentRequest) { r.Parcel = nil }, "required", "parcel"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				t.Parallel()
				req := request()
				p := *req.Parcel
				req.Parcel = &p
				tt.change(&req)
				_, err := f.shipments.Create(context.Background(), f.retailer, req, "", nil)
				e, ok := err.(*lokero.Error)
				if !ok || e.Reason != tt.reason || e.Field != tt.field || e.Message == "" {
					t.Fatalf("Create: %#v; want reason %s on field %s", err, tt.reason, tt.field)
				}
			})
		}
		list, _, err := f.shipments.List(context.Background(), f.retailer, lokero.ShipmentFilter{})
		if err != nil || len(list) != 0 {
			t.Errorf("refused requests stored %d shipments (%v)", len(list), err)
		}
	})
}

func TestCODRedirect(t *testing.T) {
	t.Parallel()
	eachShipmentStore(t, func(t *testing.T, f shipmentsFixture) {
		req := request()
		req.COD = &service.CODRequest{AmountCents: 4990, Currency: "EUR", Reference: "INV-7"}
		res, err := f.shipments.Create(context.Background(), f.retailer, req, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		sh := res.Shipment
		if sh.DestinationID != "PO-FAR" || sh.Routing.Rule != routing.RuleCODRedirect || !strings.Contains(sh.Routing.Reason, "payment terminal") {
			t.Errorf("COD to a LOCKER went to %s (%s): %s; want the POSTOFFICE with a terminal, explained", sh.DestinationID, sh.Routing.Rule, sh.Routing.Reason)
		}
		// The post office keeps a shelf place of the delivery day for it.
		if sh.COD == nil || sh.COD.AmountCents != 4990 || sh.SizeClass != lokero.ShelfSize {
			t.Errorf("COD %+v, size class %q; want a shelf place", sh.COD, sh.SizeClass)
		}
	})
}

func TestIdempotency(t *testing.T) {
	t.Parallel()
	eachShipmentStore(t, func(t *testing.T, f shipmentsFixture) {
		ctx := context.Background()
		first, err := f.shipments.Create(ctx, f.retailer, request(), "key-1", hash("body-1"))
		if err != nil {
			t.Fatal(err)
		}
		again, err := f.shipments.Create(ctx, f.retailer, request(), "key-1", hash("body-1"))
		if err != nil || !again.Replayed || again.Shipment.ID != first.Shipment.ID {
			t.Fatalf("same key, same body: %+v, %v; want the first shipment replayed", again, err)
		}
		_, err = f.shipments.Create(ctx, f.retailer, request(), "key-1", hash("body-2"))
		if e, ok := err.(*lokero.Error); !ok || e.Code != lokero.ECONFLICT || e.Reason != "idempotency_key_reused" {
			t.Fatalf("same key, other body: %v; want ECONFLICT idempotency_key_reused", err)
		}
		// Another retailer's key space is its own.
		if res, err := f.shipments.Create(ctx, f.other, request(), "key-1", hash("body-1")); err != nil || res.Replayed {
			t.Fatalf("another retailer with the same key: %+v, %v", res, err)
		}
		// Racing requests with one key make one shipment.
		var wg sync.WaitGroup
		ids := make([]string, 8)
		for i := range ids {
			wg.Go(func() {
				res, err := f.shipments.Create(ctx, f.retailer, request(), "key-race", hash("body-race"))
				if err != nil {
					t.Errorf("racing create: %v", err)
					return
				}
				ids[i] = res.Shipment.ID
			})
		}
		wg.Wait()
		for _, id := range ids {
			if id != ids[0] {
				t.Fatalf("racing requests with one key made several shipments: %v", ids)
			}
		}
	})
}

// A retried booking takes no room: the retry's reservation rolls back
// with its refused shipment. And a retry after the locker filled up gets
// the shipment it made, not the overflow a new booking would get.
func TestIdempotentRetryTakesNoRoom(t *testing.T) {
	t.Parallel()
	eachShipmentStore(t, func(t *testing.T, f shipmentsFixture) {
		ctx := context.Background()
		// LOCKER-M5 has two L compartments for the building's parcels.
		first, err := f.shipments.Create(ctx, f.retailer, request(), "key-a", hash("a"))
		if err != nil || first.Shipment.DestinationID != "LOCKER-M5" {
			t.Fatalf("first booking: %+v, %v; want LOCKER-M5", first.Shipment.DestinationID, err)
		}
		for range 3 {
			again, err := f.shipments.Create(ctx, f.retailer, request(), "key-a", hash("a"))
			if err != nil || !again.Replayed || again.Shipment.ID != first.Shipment.ID {
				t.Fatalf("retry: %+v, %v; want %s replayed", again, err, first.Shipment.ID)
			}
		}
		second, err := f.shipments.Create(ctx, f.retailer, request(), "key-b", hash("b"))
		if err != nil || second.Shipment.DestinationID != "LOCKER-M5" {
			t.Fatalf("second booking after three retries of the first: %s, %v; want LOCKER-M5 (the retries took no room)", second.Shipment.DestinationID, err)
		}
		third, err := f.shipments.Create(ctx, f.retailer, request(), "key-c", hash("c"))
		if err != nil || third.Shipment.DestinationID == "LOCKER-M5" {
			t.Fatalf("third booking: %s, %v; want an overflow, LOCKER-M5 being full", third.Shipment.DestinationID, err)
		}
		again, err := f.shipments.Create(ctx, f.retailer, request(), "key-a", hash("a"))
		if err != nil || !again.Replayed || again.Shipment.ID != first.Shipment.ID || again.Shipment.DestinationID != "LOCKER-M5" {
			t.Fatalf("retry once the locker is full: %+v, %v; want %s at LOCKER-M5 replayed", again.Shipment.DestinationID, err, first.Shipment.ID)
		}
		if _, err := f.shipments.Create(ctx, f.retailer, request(), "key-a", hash("another body")); lokero.ErrorCode(err) != lokero.ECONFLICT {
			t.Fatalf("the key with another body once the locker is full: %v; want ECONFLICT idempotency_key_reused", err)
		}
	})
}

func TestCapacityOverflowAndRelease(t *testing.T) {
	t.Parallel()
	eachShipmentStore(t, func(t *testing.T, f shipmentsFixture) {
		ctx := context.Background()
		// LOCKER-M5 has two L compartments: the third parcel for the building
		// overflows to the nearest public SMARTPOST.
		var ids []string
		for i := range 3 {
			res, err := f.shipments.Create(ctx, f.retailer, request(), fmt.Sprintf("k%d", i), hash(fmt.Sprint(i)))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, res.Shipment.ID)
			sh := res.Shipment
			if i < 2 && sh.DestinationID != "LOCKER-M5" {
				t.Fatalf("parcel %d went to %s while LOCKER-M5 had room", i, sh.DestinationID)
			}
			if i == 2 {
				if sh.DestinationID != "SP-NEAR" || sh.Routing.Rule != routing.RuleCapacityOverflow || !strings.Contains(sh.Routing.Reason, "2026-11-26") {
					t.Fatalf("third parcel: %s by %s (%s); want the overflow to SP-NEAR naming the date", sh.DestinationID, sh.Routing.Rule, sh.Routing.Reason)
				}
			}
		}
		if _, err := f.shipments.Cancel(ctx, f.retailer, ids[0]); err != nil {
			t.Fatal(err)
		}
		res, err := f.shipments.Create(ctx, f.retailer, request(), "k-after-cancel", hash("after"))
		if err != nil || res.Shipment.DestinationID != "LOCKER-M5" {
			t.Fatalf("after a cancel the reservation is free again: got %s, %v", res.Shipment.DestinationID, err)
		}
	})
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	eachShipmentStore(t, func(t *testing.T, f shipmentsFixture) {
		ctx := context.Background()
		res, err := f.shipments.Create(ctx, f.retailer, request(), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		id := res.Shipment.ID
		if _, err := f.shipments.Handover(ctx, f.other, id); lokero.ErrorCode(err) != lokero.ENOTFOUND {
			t.Errorf("another retailer's handover: %v; want ENOTFOUND", err)
		}
		sh, err := f.shipments.Handover(ctx, f.retailer, id)
		if err != nil || sh.Status != lokero.StatusInTransit || len(sh.Events) != 2 {
			t.Fatalf("handover: %+v, %v", sh, err)
		}
		_, err = f.shipments.Cancel(ctx, f.retailer, id)
		if e, ok := err.(*lokero.Error); !ok || e.Code != lokero.ECONFLICT || e.Reason != "illegal_transition" {
			t.Fatalf("cancel after handover: %v; want ECONFLICT illegal_transition", err)
		}
		tracked, err := f.shipments.Track(ctx, strings.ToLower(sh.TrackingCode))
		if err != nil || tracked.ID != id || tracked.Status != lokero.StatusInTransit {
			t.Errorf("track: %+v, %v", tracked, err)
		}
		if _, err := f.shipments.Track(ctx, "CL000000000FI"); lokero.ErrorCode(err) != lokero.EINVALID && lokero.ErrorCode(err) != lokero.ENOTFOUND {
			t.Errorf("track an unknown code: %v", err)
		}
		if _, err := f.shipments.Track(ctx, "not-a-code"); lokero.ErrorCode(err) != lokero.EINVALID {
			t.Errorf("track a malformed code: %v; want EINVALID", err)
		}
	})
}

func TestListPagination(t *testing.T) {
	t.Parallel()
	eachShipmentStore(t, func(t *testing.T, f shipmentsFixture) {
		ctx := context.Background()
		// Seven parcels of one store for one day: more than its share of
		// the lockers near (TestRetailerQuota); pages are the point here.
		if err := f.shipments.SetRetailerShare(1); err != nil {
			t.Fatal(err)
		}
		want := map[string]bool{}
		for i := range 7 {
			req := request()
			req.Reference = fmt.Sprintf("ORDER-%d", i%2)
			req.Recipient.Postcode, req.Recipient.Street = "00100", "Kauppakatu 3" // the nearest pickup point, with room for all
			res, err := f.shipments.Create(ctx, f.retailer, req, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			want[res.Shipment.ID] = true
		}
		if _, err := f.shipments.Create(ctx, f.other, request(), "", nil); err != nil {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		cursor := ""
		for page := 0; ; page++ {
			list, next, err := f.shipments.List(ctx, f.retailer, lokero.ShipmentFilter{AfterID: cursor, Limit: 3})
			if err != nil {
				t.Fatal(err)
			}
			for _, sh := range list {
				if seen[sh.ID] || !want[sh.ID] {
					t.Fatalf("page %d: %s seen twice or not this retailer's", page, sh.ID)
				}
				seen[sh.ID] = true
			}
			if next == "" {
				break
			}
			cursor = next
		}
		if len(seen) != len(want) {
			t.Errorf("pages listed %d shipments; want %d", len(seen), len(want))
		}
		list, _, err := f.shipments.List(ctx, f.retailer, lokero.ShipmentFilter{Reference: "ORDER-1"})
		if err != nil || len(list) != 3 {
			t.Errorf("by reference: %d (%v); want 3", len(list), err)
		}
		if _, _, err := f.shipments.List(ctx, f.retailer, lokero.ShipmentFilter{Status: "FOO"}); lokero.ErrorCode(err) != lokero.EINVALID {
			t.Errorf("status FOO: %v; want EINVALID", err)
		}
	})
}

func TestReturnCodes(t *testing.T) {
	t.Parallel()
	eachShipmentStore(t, func(t *testing.T, f shipmentsFixture) {
		ctx := context.Background()
		req := request()
		req.ReturnCode = true
		res, err := f.shipments.Create(ctx, f.retailer, req, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if !tracking.ValidReturnCode(res.Shipment.ReturnCode) || !tracking.Valid(res.Shipment.ReturnTrackingCode) {
			t.Fatalf("asked-for return code %q / %q not valid", res.Shipment.ReturnCode, res.Shipment.ReturnTrackingCode)
		}
		if _, err := f.shipments.Create(ctx, f.other, req, "", nil); err == nil || !strings.Contains(err.Error(), "free returns") {
			t.Errorf("a retailer without free returns got a return code: %v", err)
		}
		plain, err := f.shipments.Create(ctx, f.retailer, request(), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		code := plain.Shipment.TrackingCode
		if _, err := f.shipments.ReturnCode(ctx, code, "00100"); lokero.ErrorCode(err) != lokero.ENOTFOUND {
			t.Errorf("wrong postcode: %v; want ENOTFOUND", err)
		}
		first, err := f.shipments.ReturnCode(ctx, code, "00104")
		if err != nil || !tracking.ValidReturnCode(first.ReturnCode) {
			t.Fatalf("return code by tracking code and postcode: %+v, %v", first, err)
		}
		second, err := f.shipments.ReturnCode(ctx, code, "00104")
		if err != nil || second.ReturnCode != first.ReturnCode {
			t.Errorf("asking again gave %q; want the same %q", second.ReturnCode, first.ReturnCode)
		}
		other, err := f.shipments.Create(ctx, f.other, request(), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.shipments.ReturnCode(ctx, other.Shipment.TrackingCode, "00104"); lokero.ErrorCode(err) != lokero.ENOTFOUND {
			t.Errorf("return code for a store without free returns: %v; want ENOTFOUND, as for a wrong pair", err)
		}
		// A pre-paid parcel's code is its sender's drop-off code: not
		// given to whoever knows the tracking code and the recipient's
		// postcode.
		pp, err := f.shipments.Prepaid(ctx, f.retailer, prepaidRequest(), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if got, err := f.shipments.ReturnCode(ctx, pp.Shipment.TrackingCode, pp.Shipment.Recipient.Postcode); lokero.ErrorCode(err) != lokero.ENOTFOUND {
			t.Errorf("return code of a pre-paid parcel: %q, %v; want ENOTFOUND, as for a wrong pair", got.ReturnCode, err)
		}
	})
}

// TestHostileIdentifiers: ids, cursors and keys that no stored value can
// be (bytes that are not UTF-8, NUL) are refused before they reach a
// database, which PostgreSQL would answer with an error (a 500).
func TestHostileIdentifiers(t *testing.T) {
	t.Parallel()
	eachShipmentStore(t, func(t *testing.T, f shipmentsFixture) {
		ctx := context.Background()
		for _, id := range []string{"\xff", "shp_\x00", strings.Repeat("x", 1000)} {
			if _, err := f.shipments.Get(ctx, f.retailer, id); lokero.ErrorCode(err) != lokero.ENOTFOUND {
				t.Errorf("Get(%q): %v; want ENOTFOUND", id, err)
			}
			if _, err := f.shipments.Cancel(ctx, f.retailer, id); lokero.ErrorCode(err) != lokero.ENOTFOUND {
				t.Errorf("Cancel(%q): %v; want ENOTFOUND", id, err)
			}
		}
		for _, f2 := range []lokero.ShipmentFilter{{AfterID: "\xff"}, {Reference: "a\x00b"}} {
			if _, _, err := f.shipments.List(ctx, f.retailer, f2); lokero.ErrorCode(err) != lokero.EINVALID {
				t.Errorf("List(%+v): %v; want EINVALID", f2, err)
			}
		}
		if _, err := f.shipments.Create(ctx, f.retailer, request(), "\xff\xfe", nil); lokero.ErrorCode(err) != lokero.EINVALID {
			t.Errorf("Create with a non-UTF-8 Idempotency-Key: %v; want EINVALID", err)
		}
	})
}
