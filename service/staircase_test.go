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
