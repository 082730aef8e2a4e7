package service_test

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/routing"
	"github.com/lokero/lokero/service"
)

// A booking its locker has no room for goes to the alternative near it
// with the most room (routing.Spread), counted in its transaction: not
// to the nearest when a locker a little farther has more free.
func TestOverflowSpreads(t *testing.T) {
	t.Parallel()
	roomy := smartpost("SP-ROOMY", "00100", 60.1720, 24.9384) // 234 m from LOCKER-M5; SP-NEAR is 89 m
	roomy.Compartments[0].Count = 20
	onEveryStore(t, func(t *testing.T, st lockerStore) shipmentsFixture {
		t.Helper()
		t.Cleanup(func() { st.Close() })
		clock := fixedClock{now}
		st.SetClock(clock)
		log := slog.New(slog.DiscardHandler)
		dir := service.NewDirectory(st, testRegistry(t), clock, log)
		if _, err := dir.Import(context.Background(), append(network(), roomy)); err != nil {
			t.Fatal(err)
		}
		sh := service.NewShipments(st, dir, calendar.Default(), clock, nil, log)
		if err := sh.SetRetailerShare(1); err != nil {
			t.Fatal(err)
		}
		ret, _, err := sh.AddRetailer(context.Background(), "Verkkokauppa Oy", true)
		if err != nil {
			t.Fatal(err)
		}
		return shipmentsFixture{shipments: sh, retailer: ret}
	}, func(t *testing.T, f shipmentsFixture) {
		ctx := context.Background()
		n := 0
		book := func(pickupPoint string) lokero.Shipment {
			t.Helper()
			req := request()
			req.PickupPointID = pickupPoint
			n++
			res, err := f.shipments.Create(ctx, f.retailer, req, fmt.Sprint("k", n), hash(fmt.Sprint(n)))
			if err != nil {
				t.Fatalf("booking %d for %q: %v", n, pickupPoint, err)
			}
			return res.Shipment
		}
		// LOCKER-M5's two L compartments fill; the third parcel overflows.
		for range 2 {
			if sh := book(""); sh.DestinationID != "LOCKER-M5" {
				t.Fatalf("booked to %s while LOCKER-M5 had room", sh.DestinationID)
			}
		}
		sh := book("")
		if sh.DestinationID != "SP-ROOMY" || sh.Routing.Rule != routing.RuleCapacityOverflow {
			t.Fatalf("the overflow went to %s by %s (%s); want SP-ROOMY, 20 free against SP-NEAR's 10", sh.DestinationID, sh.Routing.Rule, sh.Routing.Reason)
		}
		for _, want := range []string{"LOCKER-M5", "SP-ROOMY", "234 m", "more compartments are free than at", "SP-NEAR", "89 m"} {
			if !strings.Contains(sh.Routing.Reason, want) {
				t.Errorf("reason %q does not say %q", sh.Routing.Reason, want)
			}
		}
		// SP-ROOMY's own shoppers take 15 more: 4 free against SP-NEAR's
		// 10, and the next overflow goes to the nearest again.
		for range 15 {
			if sh := book("SP-ROOMY"); sh.DestinationID != "SP-ROOMY" {
				t.Fatalf("booked for SP-ROOMY, sent to %s", sh.DestinationID)
			}
		}
		if sh := book(""); sh.DestinationID != "SP-NEAR" || strings.Contains(sh.Routing.Reason, "more compartments are free") {
			t.Fatalf("the overflow went to %s (%s); want SP-NEAR, the nearest, now with the most room", sh.DestinationID, sh.Routing.Reason)
		}
	})
}
