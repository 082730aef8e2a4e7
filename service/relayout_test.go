package service_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/lokero/lokero"
)

// reimportM5Classes imports the test network again with LOCKER-M5's compartment
// classes replaced by classes.
func (f lockersFixture) reimportM5Classes(t *testing.T, classes ...lokero.CompartmentClass) {
	t.Helper()
	locs := network()
	for i := range locs {
		if locs[i].ID == "LOCKER-M5" {
			locs[i].Compartments = classes
		}
	}
	if _, err := f.dir.Import(context.Background(), locs); err != nil {
		t.Fatalf("re-import: %v", err)
	}
}

// relayoutRows returns LOCKER-M5's compartments as the operator's view shows
// them, one "number:size:state[:tracking code]" each.
func (f lockersFixture) relayoutRows(t *testing.T) []string {
	t.Helper()
	v, err := f.lockers.View(context.Background(), lokero.Credential{Kind: lokero.KindOperator}, "LOCKER-M5")
	if err != nil {
		t.Fatalf("view: %v", err)
	}
	var out []string
	for _, c := range v.Compartments {
		row := fmt.Sprintf("%d:%s:%s", c.Number, c.Size, c.State)
		if c.TrackingCode != "" {
			row += ":" + c.TrackingCode
		}
		out = append(out, row)
	}
	return out
}

// readyForRelayout books a parcel to LOCKER-M5, deposits it and closes its door:
// the parcel, its compartment and its opening code.
func (f lockersFixture) readyForRelayout(t *testing.T) (lokero.Shipment, int, string) {
	t.Helper()
	ctx := context.Background()
	sh, number := f.depositedAtM5(t)
	if _, err := f.lockers.DoorClosed(ctx, f.device, "LOCKER-M5", number); err != nil {
		t.Fatalf("door closed after the deposit: %v", err)
	}
	msgs, err := sentMessages(ctx, f.lockers, 100)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.TrackingCode == sh.TrackingCode {
			if code := codePattern.FindStringSubmatch(m.Text); code != nil {
				return sh, number, code[1]
			}
		}
	}
	t.Fatalf("no notice of arrival with a code for %s", sh.TrackingCode)
	return sh, 0, ""
}

// pickUpForRelayout enters a parcel's code at LOCKER-M5's keypad, checks that
// compartment number opens and closes its door: the parcel is picked up.
func (f lockersFixture) pickUpForRelayout(t *testing.T, code string, number int) {
	t.Helper()
	ctx := context.Background()
	open, err := f.lockers.Keypad(ctx, f.device, "LOCKER-M5", code)
	if err != nil || open.Result != "open" || open.Compartment != number {
		t.Fatalf("keypad: %+v, %v; want compartment %d open", open, err, number)
	}
	done, err := f.lockers.DoorClosed(ctx, f.device, "LOCKER-M5", number)
	if err != nil || done.Status != lokero.StatusPickedUp {
		t.Fatalf("door closed after the pickup: %+v, %v", done, err)
	}
}

var (
	relayoutL = lokero.CompartmentClass{Size: "L", LengthCM: 70, WidthCM: 40, HeightCM: 40}
	relayoutS = lokero.CompartmentClass{Size: "S", LengthCM: 70, WidthCM: 40, HeightCM: 10}
)

func relayoutClass(c lokero.CompartmentClass, n int) lokero.CompartmentClass {
	c.Count = n
	return c
}

// TestRelayoutGrows: a locker laid out as 2×L and imported again as
// 4×S + 2×L has the new six compartments with their sizes at once; the
// parcel in compartment 1 stays there (now an S), and the next parcel
// goes into an S.
func TestRelayoutGrows(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		first, number, code := f.readyForRelayout(t)
		if number != 1 {
			t.Fatalf("first parcel in compartment %d; want 1", number)
		}
		f.reimportM5Classes(t, relayoutClass(relayoutS, 4), relayoutClass(relayoutL, 2))

		// The board learns the new layout with its next sync, before any
		// deposit or view has read the locker.
		sync, err := f.lockers.Sync(ctx, f.device, "LOCKER-M5")
		if err != nil {
			t.Fatal(err)
		}
		var synced []string
		for _, c := range sync.Compartments {
			synced = append(synced, fmt.Sprintf("%d:%s:%v", c.Number, c.Size, c.Occupied))
		}
		if want := []string{"1:S:true", "2:S:false", "3:S:false", "4:S:false", "5:L:false", "6:L:false"}; !slices.Equal(synced, want) {
			t.Errorf("the sync after the re-import:\n got %v\nwant %v", synced, want)
		}

		want := []string{"1:S:occupied:" + first.TrackingCode, "2:S:free", "3:S:free", "4:S:free", "5:L:free", "6:L:free"}
		if got := f.relayoutRows(t); !slices.Equal(got, want) {
			t.Fatalf("after the re-import:\n got %v\nwant %v", got, want)
		}
		sh := f.inTransit(t)
		dep, err := f.lockers.Deposit(ctx, f.courier, "LOCKER-M5", sh.TrackingCode)
		if err != nil {
			t.Fatalf("deposit after the re-import: %v", err)
		}
		if c := dep.Compartment; c.Number != 2 || c.Size != "S" || c.HeightCM != 10 {
			t.Errorf("deposit after the re-import into %+v; want compartment 2, an S", c)
		}
		f.pickUpForRelayout(t, code, 1) // the first parcel is where it was
	})
}

// TestRelayoutShrinks: a locker imported again with fewer compartments
// loses the empty ones at once, and keeps a removed one that holds a
// parcel, out of order (nothing goes in, whatever the operator says),
// with the parcel retrievable by its code; once it is picked up the
// compartment goes. A removed one between the layout and one holding a
// parcel stays with it, so that the numbers have no gap.
func TestRelayoutShrinks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name          string
		before, after int // L compartments
		parcelIn      int // the compartment the parcel is in at the re-import
		// want is the rows after the re-import; "%s" is the parcel's
		// tracking code.
		want []string
	}{
		{"last compartment holds a parcel", 2, 1, 2,
			[]string{"1:L:free", "2:L:out_of_order:%s"}},
		{"an empty compartment below the parcel's", 4, 1, 3,
			[]string{"1:L:free", "2:L:out_of_order", "3:L:out_of_order:%s"}},
		{"the parcel's compartment stays in the layout", 4, 2, 2,
			[]string{"1:L:free", "2:L:occupied:%s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			eachStore(t, func(t *testing.T, f lockersFixture) {
				ctx := context.Background()
				operator := lokero.Credential{Kind: lokero.KindOperator}
				setOutOfOrder := func(number int, outOfOrder bool) {
					t.Helper()
					if _, err := f.lockers.SetOutOfOrder(ctx, operator, "LOCKER-M5", number, outOfOrder); err != nil {
						t.Fatalf("out of order %d (%v): %v", number, outOfOrder, err)
					}
				}
				f.reimportM5Classes(t, relayoutClass(relayoutL, tt.before))
				// The compartments below parcelIn are out of order while
				// the parcel is deposited, so that it goes there.
				for n := 1; n < tt.parcelIn; n++ {
					setOutOfOrder(n, true)
				}
				parcel, number, code := f.readyForRelayout(t)
				if number != tt.parcelIn {
					t.Fatalf("parcel in compartment %d; want %d", number, tt.parcelIn)
				}
				for n := 1; n < tt.parcelIn; n++ {
					setOutOfOrder(n, false)
				}
				// Booked before the re-import: a kept compartment, out of
				// order, counts against its class's capacity until the
				// parcel is gone (see compartments).
				next := f.inTransit(t)
				f.reimportM5Classes(t, relayoutClass(relayoutL, tt.after))

				want := slices.Clone(tt.want)
				for i, w := range want {
					if strings.Contains(w, "%s") {
						want[i] = fmt.Sprintf(w, parcel.TrackingCode)
					}
				}
				if got := f.relayoutRows(t); !slices.Equal(got, want) {
					t.Fatalf("after the re-import:\n got %v\nwant %v", got, want)
				}

				// Nothing new goes into a removed compartment.
				dep, err := f.lockers.Deposit(ctx, f.courier, "LOCKER-M5", next.TrackingCode)
				if err != nil || dep.Compartment.Number != 1 {
					t.Fatalf("deposit after the re-import: %+v, %v; want compartment 1", dep.Compartment, err)
				}
				removed := tt.parcelIn > tt.after
				if removed {
					// Put back in order by the operator, it is out of
					// order again at the next read: it is out of the layout.
					setOutOfOrder(tt.parcelIn, false)
					if got := f.relayoutRows(t); got[tt.parcelIn-1] != want[tt.parcelIn-1] {
						t.Errorf("compartment %d put back in order: %s; want %s", tt.parcelIn, got[tt.parcelIn-1], want[tt.parcelIn-1])
					}
				}

				// The parcel is still picked up with its code; then the
				// compartments beyond the layout go.
				f.pickUpForRelayout(t, code, tt.parcelIn)
				wantAfter := []string{"1:L:occupied:" + next.TrackingCode}
				for n := 2; n <= tt.after; n++ {
					wantAfter = append(wantAfter, fmt.Sprintf("%d:L:free", n))
				}
				if got := f.relayoutRows(t); !slices.Equal(got, wantAfter) {
					t.Errorf("after the pickup:\n got %v\nwant %v", got, wantAfter)
				}
				if _, err := f.lockers.DoorClosed(ctx, f.device, "LOCKER-M5", tt.after+1); lokero.ErrorCode(err) != lokero.EINVALID {
					t.Errorf("a door report of removed compartment %d: %v; want EINVALID", tt.after+1, err)
				}
			})
		})
	}
}
