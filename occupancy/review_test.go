package occupancy_test

import (
	"math"
	"testing"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/occupancy"
)

// reviewDwell is a dwell whose chances, summed in one order or another,
// straddle a half: 0.99 + 0.35 + 0.16 is 1.5 in one order of the float
// additions and 1.4999999999999998 in another.
func reviewDwell() occupancy.Dwell {
	return occupancy.Dwell{Waiting: [occupancy.Horizon + 1]float64{1, 0.99, 0.35, 0.16}}
}

// reviewDay is a day of December 2026.
func reviewDay(day int) lokero.Date { return lokero.Date{Year: 2026, Month: 12, Day: day} }

// sameEveryTime calls f many times (the maps a Class holds are iterated
// in a new order each time) and fails unless it returns one value.
func sameEveryTime[T comparable](t *testing.T, what string, f func() T) {
	t.Helper()
	first := f()
	for range 500 {
		if got := f(); got != first {
			t.Errorf("%s = %v, then %v for the same input", what, first, got)
			return
		}
	}
}

// The carried count is a sum over the Class's maps: it must not depend on
// the order Go iterates them in, or Free, Capacity and Over answer one
// more or one fewer compartment from one call to the next.
func TestCarriedDoesNotDependOnMapOrder(t *testing.T) {
	t.Parallel()
	d := reviewDwell()
	on := reviewDay(10)
	cases := []struct {
		name  string
		today lokero.Date
		c     occupancy.Class
	}{
		{"bookings of three days before", reviewDay(7), occupancy.Class{Reserved: map[lokero.Date]int{
			reviewDay(7): 1, reviewDay(8): 1, reviewDay(9): 1, on: 2}}},
		{"parcels waiting since three days", reviewDay(9), occupancy.Class{Waiting: map[lokero.Date]int{
			reviewDay(9): 1, reviewDay(8): 1, reviewDay(7): 1, reviewDay(6): 1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			sameEveryTime(t, "Carried", func() float64 { return d.Carried(c.c, c.today, on) })
			sameEveryTime(t, "CarriedBound", func() float64 { return d.CarriedBound(c.c, c.today, on, 0.4) })
			sameEveryTime(t, "Free", func() int { return d.Free(10, 0, c.c, c.today, on) })
			sameEveryTime(t, "Capacity", func() int { return d.Capacity(10, 0, c.c, c.today, on) })
			sameEveryTime(t, "Over", func() int { return d.Over(3, 0, c.c, c.today.AddDays(-1), on, 0) })
		})
	}
}

// A parcel in a compartment whose arrival day is after today (another
// instance's clock a little ahead, a day's rounding) is there now: it
// counts as arriving today, and neither Carried nor Stay panics.
func TestCarriedArrivalAfterToday(t *testing.T) {
	t.Parallel()
	d := occupancy.Prior()
	today := reviewDay(10)
	cases := []struct {
		name    string
		arrived lokero.Date
		on      lokero.Date
		want    float64
	}{
		{"tomorrow, counted tomorrow", today.AddDays(1), today.AddDays(1), d.Waiting[1]},
		{"in two days, counted tomorrow", today.AddDays(2), today.AddDays(1), d.Waiting[1]},
		{"in five days, counted in two", today.AddDays(5), today.AddDays(2), d.Waiting[2]},
		{"in five days, counted today", today.AddDays(5), today, 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			cl := occupancy.Class{Waiting: map[lokero.Date]int{c.arrived: 1}}
			var got float64
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("Carried(arrived %v, today %v, on %v) panics: %v", c.arrived, today, c.on, r)
					}
				}()
				got = d.Carried(cl, today, c.on)
			}()
			if math.Abs(got-c.want) > 1e-9 {
				t.Errorf("Carried(arrived %v, today %v, on %v) = %v, want %v (as arriving today)", c.arrived, today, c.on, got, c.want)
			}
		})
	}
}

// Stay is a chance for any from ≤ to: never a panic, always within 0..1.
func TestStayBeforeArrival(t *testing.T) {
	t.Parallel()
	d := occupancy.Prior()
	for _, c := range []struct{ from, to int }{{-3, -2}, {-1, -1}, {-5, 0}, {-2, 3}, {0, 0}, {3, 9}} {
		var got float64
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("Stay(%d, %d) panics: %v", c.from, c.to, r)
				}
			}()
			got = d.Stay(c.from, c.to)
		}()
		if !(got >= 0 && got <= 1) {
			t.Errorf("Stay(%d, %d) = %v, want a chance within 0..1", c.from, c.to, got)
		}
	}
}
