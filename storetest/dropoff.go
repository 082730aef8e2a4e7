package storetest

import (
	"testing"

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
