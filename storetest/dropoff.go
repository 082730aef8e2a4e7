package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/lokero/lokero"
)

// testDropOffs: a shipment's kind and the delivery a return belongs to
// round-trip (an unset kind reads as a delivery); ShipmentByReturnCode
// finds a delivery by its return code and a pre-paid parcel by its own
// code; ReturnOf finds a delivery's return; a second return of one
// delivery is refused with "duplicate_return" and leaves the first.
func testDropOffs(t *testing.T, s Store) {
	ctx := t.Context()
	mustRetailer(t, s, "r")
	delivery := fullShipment("r", "s-delivered")
	prepaid := shipment("r", "s-prepaid")
	prepaid.Kind, prepaid.ReturnCode = lokero.ShipmentPrepaid, "555000111222"
	ret := shipment("r", "s-return")
	ret.Kind, ret.ReturnOf, ret.TrackingCode = lokero.ShipmentReturn, delivery.ID, delivery.ReturnTrackingCode
	ret.Sender, ret.Recipient = delivery.Recipient, delivery.Sender
	mustInsert(t, s, delivery, prepaid, ret)

	for _, sh := range []lokero.Shipment{delivery, prepaid, ret} {
		checkShipment(t, mustShipment(t, s, sh.ID), stored(sh, true), true)
	}
	if got := mustShipment(t, s, delivery.ID); got.Kind != lokero.ShipmentDelivery {
		t.Errorf("a shipment stored without a kind reads as %q, want %q", got.Kind, lokero.ShipmentDelivery)
	}
	// The return's tracking code is also the delivery's return tracking
	// code: tracking finds the return itself.
	if got, err := s.ShipmentByTrackingCode(ctx, ret.TrackingCode); err != nil || got.ID != ret.ID {
		t.Errorf("ShipmentByTrackingCode(%s) = %s, %v; want the return %s", ret.TrackingCode, got.ID, err, ret.ID)
	}

	mustInTx(t, s, func(tx lokero.Tx) error {
		for code, want := range map[string]string{delivery.ReturnCode: delivery.ID, prepaid.ReturnCode: prepaid.ID} {
			got, err := tx.ShipmentByReturnCode(ctx, code)
			if err != nil || got.ID != want {
				t.Errorf("ShipmentByReturnCode(%s) = %s, %v; want %s", code, got.ID, err, want)
			} else {
				checkShipment(t, got, stored(map[string]lokero.Shipment{delivery.ID: delivery, prepaid.ID: prepaid}[want], true), true)
			}
		}
		_, err := tx.ShipmentByReturnCode(ctx, "999999999999")
		checkError(t, err, lokero.ENOTFOUND, "")
		_, err = tx.ShipmentByReturnCode(ctx, "")
		checkError(t, err, lokero.ENOTFOUND, "")

		got, err := tx.ReturnOf(ctx, delivery.ID)
		if err != nil || got.ID != ret.ID {
			t.Errorf("ReturnOf(%s) = %s, %v; want %s", delivery.ID, got.ID, err, ret.ID)
		}
		_, err = tx.ReturnOf(ctx, prepaid.ID)
		checkError(t, err, lokero.ENOTFOUND, "")
		return nil
	})

	second := shipment("r", "s-return-2")
	second.Kind, second.ReturnOf, second.TrackingCode = lokero.ShipmentReturn, delivery.ID, "JJ-second-return-FI"
	err := s.InTx(ctx, func(tx lokero.Tx) error { return tx.InsertShipment(ctx, &second, "", nil) })
	checkError(t, err, lokero.ECONFLICT, "duplicate_return")
	if _, err := s.Shipment(ctx, second.ID); lokero.ErrorCode(err) != lokero.ENOTFOUND {
		t.Errorf("the refused second return was stored: %v", err)
	}
}

// testReturnsExpected: ReturnsExpected lists the deliveries picked up at
// the location at or after the time given, with a return code not yet
// used, and nothing else: not one picked up before, or elsewhere, or
// without a return code, or already returned, or a pre-paid parcel (its
// code is a drop-off code, used), or one not picked up yet.
func testReturnsExpected(t *testing.T, s Store) {
	ctx := t.Context()
	mustRetailer(t, s, "r")
	since := t0.Add(48 * time.Hour)
	pickedUp := func(id, at string, after time.Duration) lokero.Shipment {
		sh := fullShipment("r", id)
		sh.Pickup = &lokero.Pickup{At: since.Add(after).In(helsinki), LocationID: at, By: lokero.PickedUpByRecipient}
		return sh
	}
	want := pickedUp("s-1-expected", "L1", time.Hour)
	atSince := pickedUp("s-2-at-since", "L1", 0)
	before := pickedUp("s-3-before", "L1", -time.Microsecond)
	elsewhere := pickedUp("s-4-elsewhere", "L2", time.Hour)
	noCode := pickedUp("s-5-no-code", "L1", time.Hour)
	noCode.ReturnCode = ""
	returned := pickedUp("s-6-returned", "L1", time.Hour)
	prepaid := pickedUp("s-7-prepaid", "L1", time.Hour)
	prepaid.Kind = lokero.ShipmentPrepaid
	waiting := fullShipment("r", "s-8-waiting")
	waiting.Status, waiting.Pickup = lokero.StatusReadyForPickup, nil
	waiting.Events = waiting.Events[:4]
	ret := shipment("r", "s-9-return")
	ret.Kind, ret.ReturnOf, ret.TrackingCode = lokero.ShipmentReturn, returned.ID, returned.ReturnTrackingCode
	mustInsert(t, s, want, atSince, before, elsewhere, noCode, returned, prepaid, waiting, ret)

	list, err := s.ReturnsExpected(ctx, "L1", since)
	if err != nil {
		t.Fatalf("ReturnsExpected(L1) = %v", err)
	}
	if got, wantIDs := ids(list), []string{want.ID, atSince.ID}; !slices.Equal(got, wantIDs) {
		t.Errorf("ReturnsExpected(L1, since) = %v; want %v", got, wantIDs)
	}
	for _, got := range list {
		if got.ID == want.ID {
			checkShipment(t, got, stored(want, false), false)
		}
	}
	if list, err := s.ReturnsExpected(ctx, "L2", since); err != nil || !slices.Equal(ids(list), []string{elsewhere.ID}) {
		t.Errorf("ReturnsExpected(L2) = %v, %v; want [%s]", ids(list), err, elsewhere.ID)
	}
	if list, err := s.ReturnsExpected(ctx, "L1", since.Add(2*time.Hour)); err != nil || len(list) != 0 {
		t.Errorf("ReturnsExpected(L1, after every pickup) = %v, %v; want none", ids(list), err)
	}
}
