package service_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/notify"
	"github.com/lokero/lokero/routing"
	"github.com/lokero/lokero/service"
)

// TestDispatchCheck: Wednesday, two parcels arrive in LOCKER-M5's two L
// compartments. Thursday, the booking counts one of them as likely gone
// by Friday and books one parcel for Friday there. Thursday evening, the
// check counts what the locker holds then: with both still there, the
// Friday parcel goes to the nearest locker with room before the door has
// to turn it away — its reservation moved, its event and notice as any
// re-routing's, counted apart — and a second check does nothing new; with
// one picked up during Thursday, it stays.
func TestDispatchCheck(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name      string
		pickedUp  bool
		wantMoved int
	}{
		{"both still there", false, 1},
		{"one picked up", true, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			eachStore(t, func(t *testing.T, f lockersFixture) {
				ctx := context.Background()
				if err := f.dir.Availability().SetMargin(0); err != nil {
					t.Fatal(err)
				}
				dispatch := service.NewDispatch(f.shipments)
				if err := dispatch.SetMargin(-1); lokero.ErrorCode(err) != lokero.EINVALID {
					t.Errorf("SetMargin(-1) = %v; want EINVALID", err)
				}
				_, queued := f.readyWith(t, request())
				req := request()
				req.Reference = "ORDER-2"
				f.readyWith(t, req)

				// Thursday 14:00: one booking for Friday, handed over.
				f.clock.Advance(24 * time.Hour)
				req = request()
				req.Reference = "FRIDAY"
				res, err := f.shipments.Create(ctx, f.retailer, req, "", nil)
				if err != nil {
					t.Fatal(err)
				}
				friday := res.Shipment.DeliveryDate
				if res.Shipment.DestinationID != "LOCKER-M5" {
					t.Fatalf("Friday's booking went to %s at booking; the test needs it at LOCKER-M5", res.Shipment.DestinationID)
				}
				if _, err := f.shipments.HandoverByCourier(ctx, f.courier, res.Shipment.ID); err != nil {
					t.Fatal(err)
				}
				if tt.pickedUp {
					f.pickUp(t, f.openingCode(t, queued["email"]))
				}

				// Thursday 20:00: the check.
				f.clock.Advance(6 * time.Hour)
				if got := dispatch.DispatchDate(); got != friday {
					t.Fatalf("the check on Thursday evening is for %s; want Friday %s", got, friday)
				}
				out, err := dispatch.Check(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if len(out.Rerouted) != tt.wantMoved || len(out.NoRoom) != 0 {
					t.Fatalf("the check moved %d and found no room for %d; want %d moved", len(out.Rerouted), len(out.NoRoom), tt.wantMoved)
				}
				sh, err := f.store.Shipment(ctx, res.Shipment.ID)
				if err != nil {
					t.Fatal(err)
				}
				reserved, err := f.store.ReservedOn(ctx, friday)
				if err != nil {
					t.Fatal(err)
				}
				if rerouted, noRoom := dispatch.TurnedAway(); rerouted != int64(tt.wantMoved) || noRoom != 0 {
					t.Errorf("turned away at dispatch: %d rerouted, %d no room; want %d, 0", rerouted, noRoom, tt.wantMoved)
				}
				if tt.wantMoved == 0 {
					if sh.DestinationID != "LOCKER-M5" || reserved["LOCKER-M5"]["L"] != 1 {
						t.Errorf("with room, the parcel is at %s, LOCKER-M5's Friday reservations %v; want it kept", sh.DestinationID, reserved["LOCKER-M5"])
					}
					return
				}
				last := sh.Events[len(sh.Events)-1]
				switch {
				case sh.DestinationID == "LOCKER-M5" || out.Rerouted[0].DestinationID != sh.DestinationID:
					t.Errorf("moved to %s (the result says %s); want another locker", sh.DestinationID, out.Rerouted[0].DestinationID)
				case sh.Routing.Rule != routing.RuleCapacityOverflow || !strings.Contains(sh.Routing.Reason, "no free compartment") ||
					!strings.HasSuffix(sh.Routing.Reason, service.DispatchNote):
					t.Errorf("routing %+v; want a capacity overflow found the evening before", sh.Routing)
				case !strings.HasPrefix(last.Reason, service.DispatchRerouteNote) || last.LocationID != sh.DestinationID:
					t.Errorf("last event %+v; want a re-routing to %s", last, sh.DestinationID)
				case sh.Status != lokero.StatusInTransit || sh.SizeClass == "":
					t.Errorf("status %s, size class %q; want in transit with a reservation at its new locker", sh.Status, sh.SizeClass)
				case reserved["LOCKER-M5"]["L"] != 0 || reserved[sh.DestinationID][sh.SizeClass] != 1:
					t.Errorf("Friday's reservations %v; want LOCKER-M5's given back and one at %s", reserved, sh.DestinationID)
				}
				if m := f.queued(t, sh.TrackingCode)["email"]; m.Kind != notify.KindRerouted {
					t.Errorf("the recipient's newest e-mail is %q; want the notice of the re-routing", m.Kind)
				}
				// Again: nothing new.
				again, err := dispatch.Check(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if len(again.Rerouted) != 0 || len(again.NoRoom) != 0 || again.Over != 0 {
					t.Errorf("the second check found %d over, moved %d, no room for %d; want nothing", again.Over, len(again.Rerouted), len(again.NoRoom))
				}
				if rerouted, _ := dispatch.TurnedAway(); rerouted != 1 {
					t.Errorf("after the second check, %d rerouted; want still 1", rerouted)
				}
				if n := f.lockers.DoorReroutes(); n != 0 {
					t.Errorf("%d turned away at the door; want none", n)
				}
			})
		})
	}
}
