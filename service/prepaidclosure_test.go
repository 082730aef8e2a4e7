package service_test

import (
	"context"
	"testing"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/service"
)

// TestPrepaidNotDroppedOffIgnoresClosures: a pre-paid parcel's delivery
// day is known only once its sender drops it off; the booking's is a
// placeholder. A closure of its destination on that day neither refuses
// its booking nor re-routes it (with a reservation on the placeholder
// day, given back later on another), and it is not listed as stranded. A
// point closed for good still refuses it.
func TestPrepaidNotDroppedOffIgnoresClosures(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		first, err := f.shipments.Prepaid(ctx, f.retailer, prepaidRequest(), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		pp := first.Shipment
		day := pp.DeliveryDate.String()
		closure := service.LocationPatch{Status: strp("TEMPORARILY_CLOSED"), StatusFrom: &day, StatusUntil: &day}
		if _, err := f.dir.Patch(ctx, "operator_1", pp.DestinationID, closure); err != nil {
			t.Fatal(err)
		}
		res, err := f.shipments.RerouteClosed(ctx, pp.DestinationID)
		if err != nil || len(res.Rerouted) != 0 || len(res.Stranded) != 0 {
			t.Fatalf("re-route from the closed point: %+v, %v; want the pre-paid parcel left alone", res, err)
		}
		got, err := f.shipments.Get(ctx, f.retailer, pp.ID)
		if err != nil || got.DestinationID != pp.DestinationID || got.SizeClass != "" {
			t.Errorf("the pre-paid parcel after the closure: to %s with reservation %q, %v; want %s and none", got.DestinationID, got.SizeClass, err, pp.DestinationID)
		}
		chosen := prepaidRequest()
		chosen.PickupPointID = pp.DestinationID
		if again, err := f.shipments.Prepaid(ctx, f.retailer, chosen, "", nil); err != nil || again.Shipment.DestinationID != pp.DestinationID {
			t.Errorf("a pre-paid parcel booked to a point closed on the placeholder day: %+v, %v; want it booked there", again.Shipment.DestinationID, err)
		}
		if _, err := f.dir.Patch(ctx, "operator_1", pp.DestinationID, service.LocationPatch{Status: strp("CLOSED")}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.shipments.Prepaid(ctx, f.retailer, chosen, "", nil); lokero.ErrorCode(err) == "" {
			t.Errorf("a pre-paid parcel booked to a point closed for good: accepted; want refused")
		}
	})
}
