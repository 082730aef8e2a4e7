package service

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
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
	snap, reserved := capacityNetwork(300, 7)
	table := newFreeTable(snap, &reservedDay{reserved: reserved})
	a := NewAvailability(nil, nil, 0)
	for pos := range snap.locs {
		l := &snap.locs[pos]
		for _, dims := range testParcels {
			if got, want := table.hasFree(pos, dims), HasFree(l, reserved, dims); got != want {
				t.Fatalf("%s %v: table hasFree %v, map %v", l.ID, dims, got, want)
			}
			if got, want := a.ofTable(table, pos, "2026-12-01", dims), availabilityFromMap(a, l, reserved, dims); !reflect.DeepEqual(got, want) {
				t.Fatalf("%s %v: table %+v, map %+v", l.ID, dims, got, want)
			}
		}
	}
}

// testParcels are parcels of every size class, and none.
var testParcels = []*[3]float64{nil, {30, 20, 5}, {30, 20, 15}, {60, 35, 30}, {80, 10, 10}, {110, 50, 50}, {130, 10, 10}}

// capacityNetwork returns a snapshot of n lockers and outlets, and a day's
// reservations of them: lockers with nothing reserved, over-booked
// classes and outlets among them.
func capacityNetwork(n int, seed uint64) (*Snapshot, map[string]map[string]int) {
	rng := rand.New(rand.NewPCG(seed, 7))
	var locs []lokero.Location
	reserved := map[string]map[string]int{}
	for i := range n {
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
	slices.SortFunc(locs, func(a, b lokero.Location) int { return strings.Compare(a.ID, b.ID) })
	return NewSnapshot(locs, func(code string) string { return code }), reserved
}

// TestShownFollowsTheTable checks what answers show of a table's free
// compartments (shownAt, addTo) against ofTable, the answer worked out
// afresh: at the first hit, from the cache after it, after a booking
// (the table of the changed day keeps the chunks it did not change, and
// only those), after a whole read of the day, and for a date or a busy
// share the table was not worked out for.
func TestShownFollowsTheTable(t *testing.T) {
	t.Parallel()
	const on = "2026-12-01"
	snap, reserved := capacityNetwork(3*shownChunkLen+17, 8)
	a := NewAvailability(nil, nil, 0)
	newTable := func(reserved map[string]map[string]int) *freeTable {
		tb := newFreeTable(snap, &reservedDay{reserved: reserved})
		tb.on, tb.busyBelow = on, a.busyBelow
		return tb
	}
	// check compares every answer of tb with ofTable's and returns what
	// it shows without a parcel, by position.
	check := func(what string, tb *freeTable, date string) []*LockerAvailability {
		t.Helper()
		shown := make([]*LockerAvailability, len(snap.locs))
		for pos := range snap.locs {
			for _, dims := range testParcels {
				res := make([]LocationResult, 2)
				a.addTo(res, []int32{int32(pos), int32(pos)}, tb, date, dims)
				want := a.ofTable(tb, pos, date, dims)
				for _, r := range res {
					if !reflect.DeepEqual(*r.Availability, want) {
						t.Fatalf("%s: %s %v shows %+v, want %+v", what, snap.locs[pos].ID, dims, *r.Availability, want)
					}
				}
				if dims == nil {
					if res[0].Availability != res[1].Availability && date == tb.on {
						t.Fatalf("%s: %s worked out twice", what, snap.locs[pos].ID)
					}
					shown[pos] = res[0].Availability
				}
			}
		}
		return shown
	}
	// Searches at once fill the cache of a fresh table alike.
	t0 := newTable(reserved)
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range snap.locs {
				pos := (i + g*101) % len(snap.locs)
				res := make([]LocationResult, 1)
				a.addTo(res, []int32{int32(pos)}, t0, on, nil)
				if want := a.ofTable(t0, pos, on, nil); !reflect.DeepEqual(*res[0].Availability, want) {
					t.Errorf("at once: %s shows %+v, want %+v", snap.locs[pos].ID, *res[0].Availability, want)
					return
				}
			}
		})
	}
	wg.Wait()
	t1 := newTable(reserved)
	first := check("first hits", t1, on)
	if again := check("from the cache", t1, on); !slices.Equal(again, first) {
		t.Fatal("the second round worked answers out again")
	}

	// A booking at a location of the second chunk, and one that changes
	// nothing (more reserved than the class has, as before).
	booked := &snap.locs[shownChunkLen+5]
	over := ""
	for pos := range snap.locs[2*shownChunkLen:] {
		l := &snap.locs[2*shownChunkLen+pos]
		if l.Type == lokero.TypeSmartpost && len(l.Compartments) > 0 && reserved[l.ID][l.Compartments[0].Size] > l.Compartments[0].Count {
			over = l.ID
			break
		}
	}
	if over == "" {
		t.Fatal("no over-booked locker in the third chunk")
	}
	next := map[string]map[string]int{}
	for id, at := range reserved {
		next[id] = maps.Clone(at)
	}
	size := lokero.ShelfSize
	if !booked.Type.IsOutlet() {
		size = booked.Compartments[0].Size
	}
	if next[booked.ID] == nil {
		next[booked.ID] = map[string]int{}
	}
	next[booked.ID][size] = 0 // all free now: it shows a change whatever it had
	if reflect.DeepEqual(reserved[booked.ID], next[booked.ID]) {
		next[booked.ID][size] = 1
	}
	next[over][snap.locs[snap.byID[over]].Compartments[0].Size]++
	changed := []string{booked.ID, over}
	t2 := t1.withChanges(&reservedDay{reserved: next}, changed)
	t2.on, t2.busyBelow = on, a.busyBelow
	t2.keepShown(t1)
	second := check("after a booking", t2, on)
	if reflect.DeepEqual(*second[shownChunkLen+5], *first[shownChunkLen+5]) {
		t.Fatalf("the booked %s shows %+v before and after", booked.ID, *second[shownChunkLen+5])
	}
	for pos := range snap.locs {
		if kept := second[pos] == first[pos]; kept != (pos/shownChunkLen != 1) {
			t.Fatalf("after a booking in chunk 1, %s (chunk %d) kept from the table before: %v", snap.locs[pos].ID, pos/shownChunkLen, kept)
		}
	}
	// The table before answers as it did, whatever the next one cached.
	if again := check("the table before, after the next", t1, on); !slices.Equal(again, first) {
		t.Fatal("the table before the booking changed its answers")
	}

	// The day read whole again: the same counts keep everything; a
	// snapshot of its own, nothing.
	t3 := newTable(next)
	t3.keepShown(t2)
	if third := check("read again", t3, on); !slices.Equal(third, second) {
		t.Fatal("a whole read with the same counts worked answers out again")
	}
	t4 := newTable(reserved)
	t4.keepShown(t3)
	fourth := check("read again after a cancellation", t4, on)
	for pos := range snap.locs {
		if kept := fourth[pos] == second[pos]; kept != (pos/shownChunkLen != 1) {
			t.Fatalf("after the booking went, %s (chunk %d) kept from the table before: %v", snap.locs[pos].ID, pos/shownChunkLen, kept)
		}
	}

	// Another date, or another busy share, is worked out for the answer.
	check("another date", t4, "2026-12-02")
	b := NewAvailability(nil, nil, 0)
	if err := b.SetBusyBelow(0.5); err != nil {
		t.Fatal(err)
	}
	for pos := range snap.locs {
		res := make([]LocationResult, 1)
		b.addTo(res, []int32{int32(pos)}, t4, on, nil)
		if want := b.ofTable(t4, pos, on, nil); !reflect.DeepEqual(*res[0].Availability, want) {
			t.Fatalf("busy below 50 %%: %s shows %+v, want %+v", snap.locs[pos].ID, *res[0].Availability, want)
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
