package service_test

import (
	"context"
	"reflect"
	"testing"

	"github.com/lokero/lokero"
)

// TestGetOtherRetailersShipmentTellsNothing: another retailer's shipment
// is not found "exactly as if it did not exist": the answer carries none
// of it (no recipient, no tracking code), only the error.
func TestGetOtherRetailersShipmentTellsNothing(t *testing.T) {
	t.Parallel()
	eachShipmentStore(t, func(t *testing.T, f shipmentsFixture) {
		ctx := context.Background()
		res, err := f.shipments.Create(ctx, f.retailer, request(), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.shipments.Get(ctx, f.other, res.Shipment.ID)
		if lokero.ErrorCode(err) != lokero.ENOTFOUND {
			t.Fatalf("another retailer's shipment: %v; want ENOTFOUND", err)
		}
		if !reflect.DeepEqual(got, lokero.Shipment{}) {
			t.Errorf("another retailer's shipment answered with its data (recipient %q, tracking code %q) beside ENOTFOUND; want none",
				got.Recipient.Name, got.TrackingCode)
		}
	})
}
