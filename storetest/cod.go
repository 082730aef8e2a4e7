package storetest

// Cash on delivery: the collections of a period, for settlements. Besides
// the interface documentation in package lokero, the stores agree that
// CODCollected compares the bounds with the stored CollectedAt (to the
// microsecond) exactly, whatever their zone and precision, and that
// InsertShipment and UpdateShipment alike decide whether and when a
// shipment's COD counts as collected.

import (
	"slices"
	"testing"
	"time"

	"github.com/lokero/lokero"
)

var codTests = []struct {
	name string
	fn   func(t *testing.T, s Store)
}{
	{"CODCollected", testCODCollected},
}

// codShipment returns a shipment of the retailer with cash on delivery,
// collected at the time given unless nil.
func codShipment(retailerID, id string, collected *time.Time) lokero.Shipment {
	s := shipment(retailerID, id)
	s.COD = &lokero.COD{AmountCents: 4990, Currency: "EUR", Reference: "RF-" + id}
	if collected != nil {
		at := *collected
		s.COD.CollectedAt = &at
		s.COD.TerminalRef = "TID-Å-" + id
	}
	return s
}

func testCODCollected(t *testing.T, s Store) {
	ctx := t.Context()
	mustRetailer(t, s, "a")
	mustRetailer(t, s, "b")
	from, to := t0.Add(24*time.Hour), t0.Add(48*time.Hour)
	at := func(d time.Duration) *time.Time {
		tm := from.Add(d).In(helsinki)
		return &tm
	}
	window := to.Sub(from)

	in := []lokero.Shipment{ // in the window, ordered by retailer and ID
		codShipment("a", "s-3", at(window-time.Microsecond)),
		codShipment("a", "s-8", at(time.Hour+999)), // finer than a microsecond
		codShipment("b", "b-1", at(0)),
		codShipment("b", "s-0", at(window/2)),
		codShipment("b", "s-6", at(time.Minute)),
	}
	out := []lokero.Shipment{
		codShipment("a", "s-1", at(window)),            // at to: excluded
		codShipment("a", "s-2", at(-time.Microsecond)), // just before from
		codShipment("b", "s-9", at(-48*time.Hour)),
		codShipment("a", "s-4", nil), // COD not collected
		shipment("a", "s-5"),         // no COD
		shipment("b", "s-7"),
	}
	all := slices.Concat(out, in)
	slices.Reverse(all)
	mustInsert(t, s, all...)

	// The terminal's reference round-trips with the rest of the COD.
	checkShipment(t, mustShipment(t, s, "b-1"), in[2], true)

	collected := func(from, to time.Time) []lokero.Shipment {
		t.Helper()
		got, err := s.CODCollected(ctx, from, to)
		if err != nil {
			t.Fatalf("CODCollected(%v, %v): %v", from, to, err)
		}
		return got
	}
	check := func(got, want []lokero.Shipment) {
		t.Helper()
		if !slices.Equal(ids(got), ids(want)) {
			t.Fatalf("CODCollected = %q, want %q", ids(got), ids(want))
		}
		for i := range got {
			checkShipment(t, got[i], want[i], false)
		}
	}
	check(collected(from, to), in)
	check(collected(from.In(helsinki), to.In(helsinki)), in)
	// The bounds are exact, also finer than a microsecond.
	check(collected(from.Add(1), to), slices.Delete(slices.Clone(in), 2, 3))
	check(collected(from, to.Add(1)), slices.Insert(slices.Clone(in), 0, out[0]))
	check(collected(from, from), nil)
	check(collected(to, from), nil)

	// Collected later: the update puts it in the window; one whose COD is
	// dropped leaves it.
	late := out[3]
	mustInTx(t, s, func(tx lokero.Tx) error {
		sh, err := tx.Shipment(ctx, late.ID)
		if err != nil {
			return err
		}
		sh.Status = lokero.StatusPickedUp
		sh.COD.CollectedAt, sh.COD.TerminalRef = at(2*time.Hour+500), "TID-late"
		sh.UpdatedAt = *sh.COD.CollectedAt
		if err := tx.UpdateShipment(ctx, &sh); err != nil {
			return err
		}
		late = sh
		dropped, err := tx.Shipment(ctx, "s-6")
		if err != nil {
			return err
		}
		dropped.COD = nil
		return tx.UpdateShipment(ctx, &dropped)
	})
	check(collected(from, to), []lokero.Shipment{in[0], late, in[1], in[2], in[3]})
}
