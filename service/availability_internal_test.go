package service

import (
	"context"
	"fmt"
	"math/rand/v2"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lokero/lokero"
)

// TestFreeTableAgreesWithTheDay checks the dense by-position table a
// search reads against the day's map it is built from: the same free
// compartments, the same HasFree answer for every parcel, including
// lockers with nothing reserved, over-booked classes and outlets.
func TestFreeTableAgreesWithTheDay(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(7, 7))
	var locs []lokero.Location
	reserved := map[string]map[string]int{}
	for i := range 300 {
		l := lokero.Location{ID: string(rune('a'+i%26)) + string(rune('A'+i/26)), Type: lokero.TypeSmartpost}
		switch i % 5 {
		case 0:
			l.Type = lokero.TypePostOffice
			if i%10 == 0 {
				l.Type = lokero.TypePickupPoint
			}
			l.Normalize() // the type's parcel limit
			l.ShelfCapacity = rng.IntN(4)
			if i%3 != 0 {
				reserved[l.ID] = map[string]int{lokero.ShelfSize: rng.IntN(l.ShelfCapacity + 2)} // may exceed the capacity
			}
		default:
			l.Compartments = slices.Clone(lokero.StandardCompartmentClasses)
			for j := range l.Compartments {
				l.Compartments[j].Count = rng.IntN(4)
			}
			if i%5 != 1 {
				at := map[string]int{}
				for _, c := range l.Compartments {
					at[c.Size] = rng.IntN(c.Count + 2) // may exceed the count
				}
				reserved[l.ID] = at
			}
		}
		locs = append(locs, l)
	}
	snap := NewSnapshot(locs, func(code string) string { return code })
	table := newFreeTable(snap, &reservedDay{reserved: reserved})
	a := NewAvailability(nil, nil, 0)
	parcels := []*[3]float64{nil, {30, 20, 5}, {30, 20, 15}, {60, 35, 30}, {80, 10, 10}, {110, 50, 50}, {130, 10, 10}}
	for pos := range snap.locs {
		l := &snap.locs[pos]
		for _, dims := range parcels {
			if got, want := table.hasFree(pos, dims), HasFree(l, reserved, dims); got != want {
				t.Fatalf("%s %v: table hasFree %v, map %v", l.ID, dims, got, want)
			}
			if got, want := a.ofTable(table, pos, "2026-12-01", dims), availabilityFromMap(a, l, reserved, dims); !reflect.DeepEqual(got, want) {
				t.Fatalf("%s %v: table %+v, map %+v", l.ID, dims, got, want)
			}
		}
	}
}

// availabilityFromMap is what ofTable must answer, worked out from the
// day's map of reservations instead of the table.
func availabilityFromMap(a *Availability, l *lokero.Location, reserved map[string]map[string]int, dims *[3]float64) LockerAvailability {
	out := LockerAvailability{Date: "2026-12-01", Classes: []ClassAvailability{}}
	if l.Type.IsOutlet() {
		f := max(l.ShelfCapacity-reserved[l.ID][lokero.ShelfSize], 0)
		out.Classes = append(out.Classes, ClassAvailability{Size: lokero.ShelfSize, Total: l.ShelfCapacity, Free: f, Level: a.level(f, l.ShelfCapacity)})
		out.Level = out.Classes[0].Level
		if dims != nil && !l.MaxParcel.Takes(lokero.Parcel{LengthCM: dims[0], WidthCM: dims[1], HeightCM: dims[2]}) {
			out.Level = LevelFull
		}
		return out
	}
	total, free := 0, 0
	for _, c := range l.Compartments {
		f := max(c.Count-reserved[l.ID][c.Size], 0)
		out.Classes = append(out.Classes, ClassAvailability{Size: c.Size, Total: c.Count, Free: f, Level: a.level(f, c.Count)})
		if dims == nil || c.Fits(*dims) {
			total, free = total+c.Count, free+f
		}
	}
	out.Level = a.level(free, total)
	return out
}

// slowReservations is a store whose ReservedOn takes a while and counts
// its calls; no compartment is out of order.
type slowReservations struct {
	lokero.ShipmentStore
	calls atomic.Int64
}

func (s *slowReservations) OutOfOrder(context.Context, ...string) (map[string]map[string]int, error) {
	return map[string]map[string]int{}, nil
}

func (s *slowReservations) ReservedOn(ctx context.Context, date lokero.Date, ids ...string) (map[string]map[string]int, error) {
	s.calls.Add(1)
	time.Sleep(20 * time.Millisecond)
	return map[string]map[string]int{"SP-1": {"S": int(s.calls.Load())}}, nil
}

// TestOneReadOfADayAtATime: many searches at once when the day is stale
// make one read of the database, not one each; the first ever read is
// waited for by all; a local change makes the next search read again.
func TestOneReadOfADayAtATime(t *testing.T) {
	t.Parallel()
	st := &slowReservations{}
	clock := &stepClock{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	a := NewAvailability(st, clock, time.Minute)
	ctx := context.Background()
	concurrently := func() []int {
		t.Helper()
		var wg sync.WaitGroup
		got := make([]int, 32)
		for i := range got {
			wg.Go(func() {
				d, err := a.Day(ctx, lokero.Date{Year: 2026, Month: time.December, Day: 1})
				if err != nil {
					t.Error(err)
					return
				}
				got[i] = d["SP-1"]["S"]
			})
		}
		wg.Wait()
		return got
	}
	for _, n := range concurrently() {
		if n != 1 {
			t.Fatalf("first read: a search saw read %d, want 1 (all wait for the one read)", n)
		}
	}
	if c := st.calls.Load(); c != 1 {
		t.Fatalf("32 searches at once made %d reads, want 1", c)
	}
	a.Changed()
	concurrently()
	if c := st.calls.Load(); c != 2 {
		t.Fatalf("after a change, 32 searches at once made %d reads in all, want 2", c)
	}
	d, _ := a.Day(ctx, lokero.Date{Year: 2026, Month: time.December, Day: 1})
	if d["SP-1"]["S"] != 2 {
		t.Errorf("after the re-read the day is read %d, want 2", d["SP-1"]["S"])
	}
	clock.advance(2 * time.Minute)
	if d, _ := a.Day(ctx, lokero.Date{Year: 2026, Month: time.December, Day: 1}); d["SP-1"]["S"] != 3 {
		t.Errorf("after maxAge the day is read %d, want a third read", d["SP-1"]["S"])
	}
}

// stepClock is a clock moved by hand.
type stepClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *stepClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// TestChangedSince: the log of local changes names each changed location
// once since a generation, and says "read it all" after a change without
// ids, past maxPartial locations, or once the log has forgotten that far.
func TestChangedSince(t *testing.T) {
	t.Parallel()
	a := NewAvailability(nil, nil, 0)
	a.Changed("A", "B")
	a.Changed("A")
	ids, gen, ok := a.changedSince(0)
	slices.Sort(ids)
	if !ok || !slices.Equal(ids, []string{"A", "B"}) || gen != 2 {
		t.Errorf("since 0: %v at %d, %v; want A and B at 2", ids, gen, ok)
	}
	if ids, _, ok := a.changedSince(1); !ok || !slices.Equal(ids, []string{"A"}) {
		t.Errorf("since 1: %v, %v; want A", ids, ok)
	}
	if ids, gen, ok := a.changedSince(2); !ok || len(ids) != 0 || gen != 2 {
		t.Errorf("since 2: %v at %d, %v; want nothing", ids, gen, ok)
	}
	a.Changed()
	if _, _, ok := a.changedSince(2); ok {
		t.Error("after a change without ids: want the whole day read")
	}
	b := NewAvailability(nil, nil, 0)
	for i := range maxPartial + 1 {
		b.Changed(fmt.Sprint("L", i))
	}
	if _, _, ok := b.changedSince(0); ok {
		t.Errorf("after %d locations: want the whole day read", maxPartial+1)
	}
	if ids, _, ok := b.changedSince(1); !ok || len(ids) != maxPartial {
		t.Errorf("since 1: %d ids, %v; want %d", len(ids), ok, maxPartial)
	}
	for i := range maxChanges {
		b.Changed(fmt.Sprint("M", i%10))
	}
	if _, _, ok := b.changedSince(1); ok {
		t.Error("since a generation the log forgot: want the whole day read")
	}
	if ids, _, ok := b.changedSince(b.generation.Load() - 5); !ok || len(ids) != 5 {
		t.Errorf("the last five changes: %v, %v", ids, ok)
	}
}
