package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/routing"
	"github.com/lokero/lokero/service"
)

// outOfOrderCases are the compartment of LOCKER-M5's two L compartments
// that the operator marks out of order while a parcel waits in one of
// them: the parcel's own (counted once, as out of order: the other
// compartment stays free) or the empty one (both taken).
var outOfOrderCases = []struct {
	name         string
	parcels      bool // the parcel's compartment, else the other one
	wantFree     int  // L compartments free for the next delivery date
	wantM5       bool // a booking for the building goes to LOCKER-M5
	wantRerouted int  // bookings the evening's check moves away
}{
	{"the parcel's compartment", true, 1, true, 0},
	{"the empty compartment", false, 0, false, 1},
}

// markOutOfOrder has an operator mark one of LOCKER-M5's two compartments
// out of order: the one holding the parcel, or the other.
func (f lockersFixture) markOutOfOrder(t *testing.T, waiting lokero.Shipment, parcels bool) {
	t.Helper()
	ctx := context.Background()
	op, _, err := f.lockers.AddCredential(ctx, lokero.KindOperator, "Olli", "")
	if err != nil {
		t.Fatal(err)
	}
	number := waiting.Compartment
	if !parcels {
		number = 3 - number
	}
	if _, err := f.lockers.SetOutOfOrder(ctx, op, "LOCKER-M5", number, true); err != nil {
		t.Fatal(err)
	}
}

// TestOutOfOrderCompartmentWithParcelCountedOnce: a parcel waits in one of
// LOCKER-M5's two L compartments and the operator marks that compartment
// out of order (its parcel stays until collected). The other compartment
// is free: the checkout shows one L free for the next delivery date and a
// booking for the building goes to LOCKER-M5, not to the overflow. The
// broken compartment is counted once, not as out of order and again as
// holding a parcel expected to be carried into the day. With the empty
// compartment out of order instead, both are taken.
func TestOutOfOrderCompartmentWithParcelCountedOnce(t *testing.T) {
	t.Parallel()
	for _, tt := range outOfOrderCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			eachStore(t, func(t *testing.T, f lockersFixture) {
				ctx := context.Background()
				waiting, _ := f.readyWith(t, request())
				next := f.dir.DeliveryDate()
				if got := f.freeL(t, next); got != 1 {
					t.Fatalf("before: %d L free on %s; want 1", got, next)
				}
				f.markOutOfOrder(t, waiting, tt.parcels)
				if got := f.freeL(t, next); got != tt.wantFree {
					t.Errorf("out of order: %d L free on %s; want %d", got, next, tt.wantFree)
				}
				req := request()
				req.Reference = "ORDER-2"
				res, err := f.shipments.Create(ctx, f.retailer, req, "", nil)
				switch {
				case err != nil:
					t.Fatalf("booking: %v", err)
				case tt.wantM5 && res.Shipment.DestinationID != "LOCKER-M5":
					t.Errorf("booking: %s (%s); want LOCKER-M5, whose other compartment is free",
						res.Shipment.DestinationID, res.Shipment.Routing.Rule)
				case !tt.wantM5 && (res.Shipment.DestinationID == "LOCKER-M5" || res.Shipment.Routing.Rule != routing.RuleCapacityOverflow):
					t.Errorf("booking: %s (%s); want the overflow, LOCKER-M5 being full",
						res.Shipment.DestinationID, res.Shipment.Routing.Rule)
				}
			})
		})
	}
}

// TestDispatchOutOfOrderCompartmentWithParcel: Wednesday a parcel arrives
// in one of LOCKER-M5's two L compartments; Thursday a parcel is booked
// there for Friday and handed over, and then the operator marks a
// compartment out of order. Thursday evening's check counts the parcel's
// broken compartment once: the Friday parcel has the other compartment
// and stays. With the empty compartment out of order, the locker has no
// room on Friday and the check moves it.
func TestDispatchOutOfOrderCompartmentWithParcel(t *testing.T) {
	t.Parallel()
	for _, tt := range outOfOrderCases {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			eachStore(t, func(t *testing.T, f lockersFixture) {
				ctx := context.Background()
				waiting, _ := f.readyWith(t, request())
				// Thursday 14:00: one booking for Friday, handed over.
				f.clock.Advance(24 * time.Hour)
				req := request()
				req.Reference = "FRIDAY"
				booked := f.handedOver(t, req)
				if booked.DestinationID != "LOCKER-M5" {
					t.Fatalf("Friday's booking went to %s at booking; the test needs it at LOCKER-M5", booked.DestinationID)
				}
				f.markOutOfOrder(t, waiting, tt.parcels)
				// Thursday 20:00: the check.
				f.clock.Advance(6 * time.Hour)
				dispatch := service.NewDispatch(f.shipments)
				if got := dispatch.DispatchDate(); got != booked.DeliveryDate {
					t.Fatalf("the check on Thursday evening is for %s; want Friday %s", got, booked.DeliveryDate)
				}
				out, err := dispatch.Check(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if len(out.Rerouted) != tt.wantRerouted || len(out.NoRoom) != 0 {
					t.Errorf("the check moved %d and found no room for %d (over %d); want %d moved",
						len(out.Rerouted), len(out.NoRoom), out.Over, tt.wantRerouted)
				}
				sh, err := f.store.Shipment(ctx, booked.ID)
				if err != nil {
					t.Fatal(err)
				}
				if stays := sh.DestinationID == "LOCKER-M5"; stays != (tt.wantRerouted == 0) {
					t.Errorf("after the check Friday's parcel goes to %s; want it kept at LOCKER-M5: %v", sh.DestinationID, tt.wantRerouted == 0)
				}
			})
		})
	}
}
