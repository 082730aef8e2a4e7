package service_test

import (
	"context"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/routing"
	"github.com/lokero/lokero/service"
)

// book books a small parcel of a retailer to a pickup point.
func (f lockersFixture) book(retailer lokero.Retailer, point string) (lokero.Shipment, error) {
	req := request()
	req.PickupPointID = point
	req.Parcel.HeightCM = 8
	res, err := f.shipments.Create(context.Background(), retailer, req, "", nil)
	return res.Shipment, err
}

// TestRetailerQuota: the probe of issue 18 — one retailer key booked over
// half of every SMARTPOST's small compartments for one day. A retailer
// books at most its share of a locker's class a day (a quarter of 10, at
// least 2: 3); past it, its bookings overflow to the next locker as from a
// full one, and when no locker near has room within its share, it is told
// 429 until bookings count for the next delivery day. Other retailers
// still book there; a cancellation frees the share.
func TestRetailerQuota(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		other, _, err := f.shipments.AddRetailer(ctx, "Toinen Kauppa", false)
		if err != nil {
			t.Fatal(err)
		}
		// SP-NEAR and SP-MID have 10 S compartments each: 3 a day each
		// for one store.
		var near []lokero.Shipment
		for i := range 6 {
			sh, err := f.book(f.retailer, "SP-NEAR")
			if err != nil {
				t.Fatalf("booking %d: %v", i+1, err)
			}
			want := "SP-NEAR"
			if i >= 3 {
				want = "SP-MID"
			}
			if sh.DestinationID != want {
				t.Fatalf("booking %d went to %s; want %s", i+1, sh.DestinationID, want)
			}
			if i >= 3 && (sh.Routing.Rule != routing.RuleCapacityOverflow || !strings.Contains(sh.Routing.Reason, "share")) {
				t.Errorf("booking %d overflowed by %s: %q; want the capacity overflow, saying the store's share is booked", i+1, sh.Routing.Rule, sh.Routing.Reason)
			}
			if want == "SP-NEAR" {
				near = append(near, sh)
			}
		}
		_, err = f.book(f.retailer, "SP-NEAR")
		e, ok := err.(*lokero.Error)
		if !ok || e.Code != lokero.ETOOMANY || e.Reason != "retailer_quota" {
			t.Fatalf("booking 7: %v; want ETOOMANY retailer_quota", err)
		}
		// 14:00 in Helsinki on a Wednesday: from the 16:00 cut-off on,
		// bookings are for Friday, a day of fresh shares.
		if e.RetryAfter != 2*time.Hour || !strings.Contains(e.Message, "2026-11-25 16:00") {
			t.Errorf("RetryAfter %v, %q; want 2h, until the cut-off at 16:00", e.RetryAfter, e.Message)
		}
		reserved, err := f.store.ReservedOn(ctx, f.dir.DeliveryDate())
		if err != nil {
			t.Fatal(err)
		}
		if reserved["SP-NEAR"]["S"] != 3 || reserved["SP-MID"]["S"] != 3 {
			t.Errorf("reservations after the refusal: %v; want 3 at each (the refused booking's given back)", reserved)
		}

		// Another store books there still.
		if sh, err := f.book(other, "SP-NEAR"); err != nil || sh.DestinationID != "SP-NEAR" {
			t.Fatalf("another store's booking: %v, %v; want SP-NEAR", sh.DestinationID, err)
		}
		// A cancellation gives the share back at once.
		if _, err := f.shipments.Cancel(ctx, f.retailer, near[0].ID); err != nil {
			t.Fatal(err)
		}
		if sh, err := f.book(f.retailer, "SP-NEAR"); err != nil || sh.DestinationID != "SP-NEAR" {
			t.Fatalf("after a cancellation: %v, %v; want SP-NEAR", sh.DestinationID, err)
		}
		// After the cut-off the bookings are for the next delivery day.
		f.clock.Advance(e.RetryAfter)
		sh, err := f.book(f.retailer, "SP-NEAR")
		if err != nil || sh.DestinationID != "SP-NEAR" || sh.DeliveryDate != (lokero.Date{Year: 2026, Month: time.November, Day: 27}) {
			t.Fatalf("after Retry-After: %v on %v, %v; want SP-NEAR on 2026-11-27", sh.DestinationID, sh.DeliveryDate, err)
		}
	})
}

// TestRetailerShareSetting: the operator sets the share; 1 lifts the cap;
// nonsense is refused naming the setting.
func TestRetailerShareSetting(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		for _, bad := range []float64{0, -0.25, 1.5, math.NaN(), math.Inf(1)} {
			if err := f.shipments.SetRetailerShare(bad); lokero.ErrorCode(err) != lokero.EINVALID || !strings.Contains(err.Error(), "retailer_share") {
				t.Errorf("SetRetailerShare(%v): %v; want EINVALID naming retailer_share", bad, err)
			}
		}
		if err := f.shipments.SetRetailerShare(1); err != nil {
			t.Fatal(err)
		}
		for i := range 10 {
			if sh, err := f.book(f.retailer, "SP-NEAR"); err != nil || sh.DestinationID != "SP-NEAR" {
				t.Fatalf("booking %d without a cap: %v, %v; want SP-NEAR", i+1, sh.DestinationID, err)
			}
		}
		// Full is full, whatever the share: the 11th overflows to SP-MID.
		if sh, err := f.book(f.retailer, "SP-NEAR"); err != nil || sh.DestinationID != "SP-MID" {
			t.Fatalf("booking 11: %v, %v; want the overflow to SP-MID", sh.DestinationID, err)
		}
	})
}

// TestFullIsNotQuota: lockers full of other stores' parcels answer
// no_capacity (422) as before quotas, not retailer_quota.
func TestFullIsNotQuota(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		var stores []lokero.Retailer
		for _, name := range []string{"A", "B", "C", "D", "E", "F", "G"} {
			r, _, err := f.shipments.AddRetailer(ctx, "Kauppa "+name, false)
			if err != nil {
				t.Fatal(err)
			}
			stores = append(stores, r)
		}
		// 7 stores × 3 fill SP-NEAR and SP-MID (20 S) and more.
		booked := 0
		for _, r := range stores {
			for range 3 {
				if _, err := f.book(r, "SP-NEAR"); err == nil {
					booked++
				} else if e, ok := err.(*lokero.Error); !ok || e.Reason != "no_capacity" {
					t.Fatalf("booking into full lockers: %v; want no_capacity", err)
				}
			}
		}
		if booked != 20 {
			t.Errorf("%d bookings taken; want the 20 compartments", booked)
		}
		_, err := f.book(f.retailer, "SP-NEAR")
		if e, ok := err.(*lokero.Error); !ok || e.Code != lokero.EUNPROCESSABLE || e.Reason != "no_capacity" {
			t.Fatalf("a fresh store at full lockers: %v; want EUNPROCESSABLE no_capacity", err)
		}
	})
}

// TestNoticeAgainLimit: the probe of issue 18 — 50 calls queued 50 SMS. A
// notice is sent again at most 3 times a Helsinki day; the 4th is refused
// until midnight and queues nothing. An operator's rotation counts, and is
// never refused (a leaked code must stop at once).
func TestNoticeAgainLimit(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		sh, n := f.depositedAtM5(t)
		if _, err := f.lockers.DoorClosed(ctx, f.device, "LOCKER-M5", n); err != nil {
			t.Fatal(err)
		}
		queued := func() int {
			t.Helper()
			msgs, err := f.lockers.Outbox(ctx, 1000)
			if err != nil {
				t.Fatal(err)
			}
			return len(msgs)
		}
		refused := func(step string, wait time.Duration) {
			t.Helper()
			before := queued()
			_, err := f.lockers.NoticeAgain(ctx, f.retailer.ID, sh.ID, false)
			if e, ok := err.(*lokero.Error); !ok || e.Code != lokero.ETOOMANY || e.Reason != "notice_limit" || e.RetryAfter != wait {
				t.Fatalf("%s: %#v; want ETOOMANY notice_limit with RetryAfter %v, until midnight", step, err, wait)
			}
			if after := queued(); after != before {
				t.Errorf("%s: the refusal queued %d messages", step, after-before)
			}
		}
		for i := range service.MaxNoticesAgain {
			if _, err := f.lockers.NoticeAgain(ctx, f.retailer.ID, sh.ID, false); err != nil {
				t.Fatalf("notice again %d: %v", i+1, err)
			}
		}
		// 14:00 in Helsinki: 10 hours to midnight.
		refused("the 4th today", 10*time.Hour)
		f.clock.Advance(10*time.Hour - time.Second)
		refused("a second before midnight", time.Second)

		// At midnight a new day: 3 again. A rotation counts, and is taken
		// even over the limit.
		f.clock.Advance(time.Second)
		if _, err := f.lockers.NoticeAgain(ctx, "", sh.ID, true); err != nil {
			t.Fatalf("rotation: %v", err)
		}
		for i := range service.MaxNoticesAgain - 1 {
			if _, err := f.lockers.NoticeAgain(ctx, f.retailer.ID, sh.ID, false); err != nil {
				t.Fatalf("day 2, notice again %d: %v", i+1, err)
			}
		}
		refused("day 2, after a rotation and 2 sends", 24*time.Hour)
		before := queued()
		if _, err := f.lockers.NoticeAgain(ctx, "", sh.ID, true); err != nil {
			t.Fatalf("a rotation over the limit: %v; want it taken", err)
		}
		if after := queued(); after != before+2 {
			t.Errorf("a rotation over the limit queued %d messages; want the new code by SMS and e-mail", after-before)
		}
		refused("after the rotation", 24*time.Hour)
	})
}
