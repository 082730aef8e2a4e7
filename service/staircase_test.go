package service_test

import (
	"context"
	"testing"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/routing"
)

// TestStaircaseLetterFindsTheBuilding: however a resident writes staircase
// B, flat 12 of Mannerheimintie 5 ("5B 12" as well as "5 B 12"), a booking
// to 00104 goes to the building's LOCKER-M5 (docs/shipments.md §2); an
// attached letter with no flat number after it names another building,
// which has no locker.
func TestStaircaseLetterFindsTheBuilding(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		for _, street := range []string{
			"Mannerheimintie 5B 12",
			"mannerheimintie 5b 12",
			"Mannerheimintie 5 B 12",
			"Mannerheimintie 5 b12",
			"Mannerheimintie 5b12",
			"MANNERHEIMINT. 5B, 12",
		} {
			// One after another: LOCKER-M5 has two compartments, and each
			// booking is cancelled to give its compartment back.
			req := request()
			req.Recipient.Street = street
			res, err := f.shipments.Create(ctx, f.retailer, req, "", nil)
			if err != nil {
				t.Errorf("%q: Create: %v; want LOCKER-M5 by %s", street, err, routing.RuleBuildingLocker)
				continue
			}
			if sh := res.Shipment; sh.DestinationID != "LOCKER-M5" || sh.Routing.Rule != routing.RuleBuildingLocker {
				t.Errorf("%q: routed to %s by %s; want LOCKER-M5 by %s", street, sh.DestinationID, sh.Routing.Rule, routing.RuleBuildingLocker)
			}
			if _, err := f.shipments.Cancel(ctx, f.retailer, res.Shipment.ID); err != nil {
				t.Fatalf("%q: Cancel: %v", street, err)
			}
		}

		// "5B" alone is building 5b, not 5: the letter is not simply dropped.
		req := request()
		req.Recipient.Street = "Mannerheimintie 5B"
		_, err := f.shipments.Create(ctx, f.retailer, req, "", nil)
		var e *lokero.Error
		if !asError(err, &e) || e.Reason != "no_locker_at_address" || e.Field != "recipient.street" {
			t.Errorf("%q: Create: %v; want no_locker_at_address on recipient.street", req.Recipient.Street, err)
		}
	})
}

// TestLetteredBuildingWithAFlatNumber: "Mannerheimintie 7a 12" reads as
// staircase A, flat 12 of building 7; where building 7 has no locker and
// building 7a has one, the booking goes to 7a's (the other reading,
// address.Buildings), while "Mannerheimintie 5a 12" still finds building
// 5's LOCKER-M5.
func TestLetteredBuildingWithAFlatNumber(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		lettered := network()[3]
		lettered.ID, lettered.Name, lettered.Street, lettered.StreetSV = "LOCKER-M7A", "As Oy Mannerheimintie 7a", "Mannerheimintie 7a", ""
		if _, err := f.dir.Import(ctx, []lokero.Location{lettered}); err != nil {
			t.Fatal(err)
		}
		for street, want := range map[string]string{"Mannerheimintie 7a 12": "LOCKER-M7A", "Mannerheimintie 5a 12": "LOCKER-M5"} {
			req := request()
			req.Recipient.Street = street
			res, err := f.shipments.Create(ctx, f.retailer, req, "", nil)
			if err != nil || res.Shipment.DestinationID != want || res.Shipment.Routing.Rule != routing.RuleBuildingLocker {
				t.Errorf("%q: %s by %s, %v; want %s by %s", street, res.Shipment.DestinationID, res.Shipment.Routing.Rule, err, want, routing.RuleBuildingLocker)
			}
		}
	})
}
