package service

import (
	"context"
	"maps"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
)

func TestRetailerCap(t *testing.T) {
	t.Parallel()
	tests := []struct {
		count int
		share float64
		want  int
	}{
		{10, 0.25, 3}, // ⌈2.5⌉
		{12, 0.25, 3},
		{40, 0.25, 10},
		{8, 0.25, 2},
		{4, 0.25, 2}, // the floor
		{2, 0.25, 2},
		{1, 0.25, 1}, // never more than the class has
		{0, 0.25, 0},
		{10, 0.3, 3}, // 0.3 × 10 is 3.0000000000000004 in floating point
		{10, 1, 10},
		{100, 0.01, 2},
	}
	for _, tt := range tests {
		if got := retailerCap(tt.count, tt.share); got != tt.want {
			t.Errorf("retailerCap(%d, %v) = %d; want %d", tt.count, tt.share, got, tt.want)
		}
	}
}

// TestUntilNextDeliveryDate: a retailer over its share may book again when
// bookings count for the next delivery day: the next cut-off (16:00) on a
// business day, past weekends and holidays.
func TestUntilNextDeliveryDate(t *testing.T) {
	t.Parallel()
	s := &Shipments{calendar: calendar.Default()}
	hel := func(y int, m time.Month, d, h, mi, sec int) time.Time {
		return time.Date(y, m, d, h, mi, sec, 0, lokero.Helsinki)
	}
	tests := []struct {
		name string
		now  time.Time
		want time.Time
	}{
		{"Wednesday 14:00", hel(2026, 11, 25, 14, 0, 0), hel(2026, 11, 25, 16, 0, 0)},
		{"a second before the cut-off", hel(2026, 11, 25, 15, 59, 59), hel(2026, 11, 25, 16, 0, 0)},
		{"at the cut-off", hel(2026, 11, 25, 16, 0, 0), hel(2026, 11, 26, 16, 0, 0)},
		{"Wednesday night", hel(2026, 11, 25, 23, 30, 0), hel(2026, 11, 26, 16, 0, 0)},
		{"Friday 17:00", hel(2026, 11, 27, 17, 0, 0), hel(2026, 11, 30, 16, 0, 0)},
		{"Saturday", hel(2026, 11, 28, 10, 0, 0), hel(2026, 11, 30, 16, 0, 0)},
		{"before Christmas", hel(2026, 12, 23, 17, 0, 0), hel(2026, 12, 28, 16, 0, 0)},
		{"in UTC", time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC), hel(2026, 11, 25, 16, 0, 0)},
	}
	for _, tt := range tests {
		date := s.calendar.DeliveryDate(tt.now)
		got := s.untilNextDeliveryDate(tt.now, date)
		if want := tt.want.Sub(tt.now); got != want {
			t.Errorf("%s: %v (until %s); want %v (until %s)", tt.name, got, tt.now.Add(got).In(lokero.Helsinki), want, tt.want)
		}
		if next := s.calendar.DeliveryDate(tt.now.Add(got)); next == date {
			t.Errorf("%s: after %v the delivery date is still %s", tt.name, got, date)
		}
	}
}

// brokenStore is a store of reservations and compartments out of order
// that a test changes.
type brokenStore struct {
	lokero.ShipmentStore
	mu       sync.Mutex
	reserved map[string]map[string]int
	broken   map[string]map[string]int
}

// only returns the entries of m for ids (all of them without ids), copied.
func only(m map[string]map[string]int, ids []string) map[string]map[string]int {
	out := map[string]map[string]int{}
	for id, sizes := range m {
		if len(ids) == 0 || slices.Contains(ids, id) {
			out[id] = maps.Clone(sizes)
		}
	}
	return out
}

func (s *brokenStore) ReservedOn(_ context.Context, _ lokero.Date, ids ...string) (map[string]map[string]int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return only(s.reserved, ids), nil
}

func (s *brokenStore) OutOfOrder(_ context.Context, ids ...string) (map[string]map[string]int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return only(s.broken, ids), nil
}

// TestDayCountsOutOfOrder: the capacity view's day holds reserved and
// out-of-order compartments together, read whole or again only where this
// process changed something.
func TestDayCountsOutOfOrder(t *testing.T) {
	t.Parallel()
	st := &brokenStore{
		reserved: map[string]map[string]int{"A": {"S": 2}, "B": {"M": 1}},
		broken:   map[string]map[string]int{"A": {"S": 1, "L": 1}, "C": {"S": 3}},
	}
	clock := &stepClock{now: time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	a := NewAvailability(st, clock, time.Minute)
	ctx := context.Background()
	date := lokero.Date{Year: 2026, Month: time.November, Day: 26}
	check := func(step string, want map[string]map[string]int) {
		t.Helper()
		got, err := a.Day(ctx, date)
		if err != nil {
			t.Fatal(err)
		}
		if !maps.EqualFunc(got, want, maps.Equal) {
			t.Errorf("%s: day %v; want %v", step, got, want)
		}
	}
	check("first read", map[string]map[string]int{"A": {"S": 3, "L": 1}, "B": {"M": 1}, "C": {"S": 3}})

	// A compartment of B out of order, C's back in order: read again
	// where this process said it changed them.
	st.mu.Lock()
	st.broken["B"] = map[string]int{"M": 1}
	delete(st.broken, "C")
	st.mu.Unlock()
	check("unchanged, young", map[string]map[string]int{"A": {"S": 3, "L": 1}, "B": {"M": 1}, "C": {"S": 3}})
	a.Changed("B", "C")
	check("B and C read again", map[string]map[string]int{"A": {"S": 3, "L": 1}, "B": {"M": 2}})

	// Another instance repaired A's L: seen when the day is read whole.
	st.mu.Lock()
	st.broken["A"] = map[string]int{"S": 1}
	st.mu.Unlock()
	clock.advance(2 * time.Minute)
	check("read whole", map[string]map[string]int{"A": {"S": 3}, "B": {"M": 2}})
}

func TestTaken(t *testing.T) {
	t.Parallel()
	got := taken(map[string]map[string]int{"A": {"S": 1}}, map[string]map[string]int{"A": {"S": 2, "M": 1}, "B": {"L": 1}})
	want := map[string]map[string]int{"A": {"S": 3, "M": 1}, "B": {"L": 1}}
	if !maps.EqualFunc(got, want, maps.Equal) {
		t.Errorf("taken = %v; want %v", got, want)
	}
	if got := taken(nil, map[string]map[string]int{"B": {"L": 1}}); got["B"]["L"] != 1 {
		t.Errorf("taken(nil, B) = %v", got)
	}
	// An outlet's shelf places out of order do not cut the day's intake.
	if got := taken(map[string]map[string]int{"PO": {lokero.ShelfSize: 2}}, map[string]map[string]int{"PO": {lokero.ShelfSize: 5}}); got["PO"][lokero.ShelfSize] != 2 {
		t.Errorf("taken with shelf places out of order = %v; want the 2 reserved", got)
	}
}
