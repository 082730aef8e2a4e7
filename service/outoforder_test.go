package service_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/postgres"
	"github.com/lokero/lokero/service"
	"github.com/lokero/lokero/sqlite"
)

// Both stores count the compartments out of order for the capacity view.
var (
	_ service.OutOfOrderCounter = (*sqlite.DB)(nil)
	_ service.OutOfOrderCounter = (*postgres.DB)(nil)
)

// outOfOrderFixture is the locker fixture with SP-OOO, a SMARTPOST of 2 S
// compartments, and an operator.
type outOfOrderFixture struct {
	lockersFixture
	operator lokero.Credential
}

func newOutOfOrderFixture(t *testing.T, st lockerStore) outOfOrderFixture {
	t.Helper()
	f := outOfOrderFixture{lockersFixture: newLockers(t, st)}
	ctx := context.Background()
	two := smartpost("SP-OOO", "00100", 60.1701, 24.9401)
	two.Compartments[0].Count = 2
	if _, err := f.dir.Import(ctx, []lokero.Location{two}); err != nil {
		t.Fatal(err)
	}
	var err error
	if f.operator, _, err = f.lockers.AddCredential(ctx, lokero.KindOperator, "Olli", ""); err != nil {
		t.Fatal(err)
	}
	return f
}

// free returns SP-OOO's S class as a search shows it, and as the capacity
// view's day counts it.
func (f outOfOrderFixture) free(t *testing.T) service.ClassAvailability {
	t.Helper()
	_, res := nearIDs(t, f.lockersFixture, service.LocationQuery{})
	for _, r := range res {
		if r.Location.ID == "SP-OOO" && r.Availability != nil {
			c := r.Availability.Classes[0]
			day, err := f.dir.Availability().Day(context.Background(), f.dir.DeliveryDate())
			if err != nil {
				t.Fatal(err)
			}
			if taken := day["SP-OOO"]["S"]; taken != c.Total-c.Free {
				t.Errorf("the day counts %d S not free at SP-OOO; the search shows %d of %d free", taken, c.Free, c.Total)
			}
			return c
		}
	}
	t.Fatal("SP-OOO not found with its availability")
	return service.ClassAvailability{}
}

func (f outOfOrderFixture) mark(t *testing.T, number int, outOfOrder bool) {
	t.Helper()
	if _, err := f.lockers.SetOutOfOrder(context.Background(), f.operator, "SP-OOO", number, outOfOrder); err != nil {
		t.Fatal(err)
	}
}

// TestOutOfOrderIsNotFree: the new user's finding of issue 18 — a
// compartment out of order still counted as free. Marked out of order, it
// is free neither in the search (at once: the view is told) nor for a
// booking; back in order, it is free again in both.
func TestOutOfOrderIsNotFree(t *testing.T) {
	t.Parallel()
	onEveryStore(t, newOutOfOrderFixture, func(t *testing.T, f outOfOrderFixture) {
		if c := f.free(t); c.Total != 2 || c.Free != 2 {
			t.Fatalf("before: %+v; want 2 of 2 free", c)
		}
		f.mark(t, 1, true)
		if c := f.free(t); c.Total != 2 || c.Free != 1 {
			t.Fatalf("one out of order: %+v; want 1 of 2 free", c)
		}
		if sh := f.bookSmall(t, "SP-OOO"); sh.DestinationID != "SP-OOO" {
			t.Fatalf("first booking went to %s; want SP-OOO", sh.DestinationID)
		}
		if c := f.free(t); c.Free != 0 || c.Level != service.LevelFull {
			t.Fatalf("one booked, one out of order: %+v; want full", c)
		}
		if sh := f.bookSmall(t, "SP-OOO"); sh.DestinationID == "SP-OOO" || !strings.Contains(sh.Routing.Reason, "no free compartment") {
			t.Fatalf("second booking went to %s (%s); want the overflow: the other compartment is out of order", sh.DestinationID, sh.Routing.Reason)
		}
		f.mark(t, 1, false)
		if c := f.free(t); c.Free != 1 {
			t.Fatalf("back in order: %+v; want 1 free", c)
		}
		if sh := f.bookSmall(t, "SP-OOO"); sh.DestinationID != "SP-OOO" {
			t.Fatalf("booking after the repair went to %s; want SP-OOO", sh.DestinationID)
		}
	})
}

// TestOutOfOrderAndLateHandover: a parcel handed over a day late moves its
// reservation to the new day only where a compartment not out of order is
// free that day.
func TestOutOfOrderAndLateHandover(t *testing.T) {
	t.Parallel()
	onEveryStore(t, newOutOfOrderFixture, func(t *testing.T, f outOfOrderFixture) {
		ctx := context.Background()
		late := f.bookSmall(t, "SP-OOO") // for Thursday
		f.clock.Advance(24 * time.Hour)
		// Friday's booking: of the two compartments, the late parcel is
		// expected to hold one still on Friday (occupancy over time).
		friday := f.bookSmall(t, "SP-OOO")
		if friday.DestinationID != "SP-OOO" || friday.DeliveryDate != (lokero.Date{Year: 2026, Month: time.November, Day: 27}) {
			t.Fatalf("Friday's booking: %s on %s", friday.DestinationID, friday.DeliveryDate)
		}
		f.mark(t, 2, true) // now Friday's one compartment in order is the booking's
		moved, err := f.shipments.HandoverByCourier(ctx, f.courier, late.ID)
		if err != nil {
			t.Fatal(err)
		}
		if moved.DeliveryDate != friday.DeliveryDate || moved.SizeClass != "" || !strings.Contains(moved.Events[len(moved.Events)-1].Reason, "no free compartment") {
			t.Fatalf("late handover: on %s, size class %q, %q; want Friday without a reservation", moved.DeliveryDate, moved.SizeClass, moved.Events[len(moved.Events)-1].Reason)
		}
		reserved, err := f.store.ReservedOn(ctx, friday.DeliveryDate, "SP-OOO")
		if err != nil {
			t.Fatal(err)
		}
		if reserved["SP-OOO"]["S"] != 1 {
			t.Errorf("Friday's reservations at SP-OOO: %v; want 1 (the compartment in order)", reserved)
		}
	})
}
