package occupancy_test

import (
	"math"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/occupancy"
)

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// TestPrior: everything there on its arrival day, fewer each day after,
// a mean pickup about a day after the arrival, the never-picked share
// waiting until the courier's round after the storage period, nothing
// after that.
func TestPrior(t *testing.T) {
	t.Parallel()
	d := occupancy.Prior()
	if d.Waiting[0] != 1 {
		t.Errorf("Waiting[0] = %v; want 1", d.Waiting[0])
	}
	for k := 1; k <= occupancy.Horizon; k++ {
		if d.Waiting[k] > d.Waiting[k-1] {
			t.Errorf("Waiting[%d] = %v grows from %v", k, d.Waiting[k], d.Waiting[k-1])
		}
	}
	// Delivered at 10:00, picked up after 24 h on average: at the next
	// midnight 14 h have passed, so e^(-14/24) of the 97 % are there.
	if want := 0.97*math.Exp(-14.0/24) + 0.03; !near(d.Waiting[1], want) {
		t.Errorf("Waiting[1] = %v; want %v", d.Waiting[1], want)
	}
	if !near(d.Waiting[occupancy.Horizon], occupancy.PriorNeverPicked) {
		t.Errorf("Waiting[Horizon] = %v; want the never-picked share", d.Waiting[occupancy.Horizon])
	}
	if m := d.MeanDays(); m < 0.9 || m > 1.3 {
		t.Errorf("mean days = %v; want about one", m)
	}
	if d.Stay(0, occupancy.Horizon+1) != 0 || d.Stay(3, 2) != 0 {
		t.Error("a parcel stays past the horizon, or back in time")
	}
}

// TestLearn: no outcomes keep the prior; many outcomes outweigh it; the
// blend is PriorWeight parcels of prior.
func TestLearn(t *testing.T) {
	t.Parallel()
	prior := occupancy.Prior()
	got := occupancy.Learn(occupancy.Outcomes{}, prior)
	for k := range got.Waiting {
		if !near(got.Waiting[k], prior.Waiting[k]) {
			t.Errorf("Learn of nothing = %v; want the prior %v", got, prior)
			break
		}
	}
	// 100 parcels: 50 picked up on their arrival day, 30 the day after,
	// 20 expired and collected after the storage period.
	var o occupancy.Outcomes
	o.Left[0], o.Left[1], o.Left[occupancy.Horizon] = 50, 30, 20
	got = occupancy.Learn(o, prior)
	// Observed: at the start of day 1, 50 % there; day 2, 20 %; ... the
	// horizon, 20 %. Blended half and half with the prior (100 and 100).
	for k, observed := range map[int]float64{1: 0.5, 2: 0.2, 5: 0.2, occupancy.Horizon: 0.2} {
		if want := (observed + prior.Waiting[k]) / 2; !near(got.Waiting[k], want) {
			t.Errorf("Waiting[%d] = %v; want %v", k, got.Waiting[k], want)
		}
	}
	var many occupancy.Outcomes
	many.Left[0] = 1_000_000
	if w := occupancy.Learn(many, prior).Waiting[1]; w > 0.001 {
		t.Errorf("a million same-day pickups leave %v waiting the next day", w)
	}
}

// TestLearnStayed: parcels still in their compartments count for the days
// they have been there. A network's second morning knows only the quick
// pickups of the first day: counting the departures alone it would learn
// that nobody stays two nights; counting those still there it learns the
// truth of the first night and the prior's after.
func TestLearnStayed(t *testing.T) {
	t.Parallel()
	prior := occupancy.Prior()
	// 10,000 parcels arrived yesterday: 4,000 left that day, 6,000 are
	// still there this morning (the start of their first day after).
	var o occupancy.Outcomes
	o.Left[0], o.Stayed[1] = 4000, 6000
	got := occupancy.Learn(o, prior)
	// At the start of day 1: 60 % there, blended with the prior's 100.
	wantW1 := (6000 + 100*prior.Waiting[1]) / (10000 + 100)
	if !near(got.Waiting[1], wantW1) {
		t.Errorf("Waiting[1] = %v; want %v", got.Waiting[1], wantW1)
	}
	// Nothing is known of day 1 yet: the prior's chance of staying it.
	if want := wantW1 * prior.Stay(1, 2); !near(got.Waiting[2], want) {
		t.Errorf("Waiting[2] = %v; want %v (the prior's chance from day 1 on)", got.Waiting[2], want)
	}
	departed := occupancy.Outcomes{}
	departed.Left[0] = 4000
	if w := occupancy.Learn(departed, prior).Waiting[1]; w > 0.05 {
		t.Errorf("from the departures alone Waiting[1] = %v; want about 0 (the bias Stayed corrects)", w)
	}
	// Still there at the start of day 3: at risk on days 0, 1 and 2.
	var old occupancy.Outcomes
	old.Left[0], old.Left[1], old.Left[2], old.Stayed[3] = 500, 250, 125, 125
	got = occupancy.Learn(old, occupancy.Dwell{}) // no prior: the estimate alone
	for k, want := range map[int]float64{1: 0.5, 2: 0.25, 3: 0.125} {
		if !near(got.Waiting[k], want) {
			t.Errorf("Waiting[%d] = %v; want %v", k, got.Waiting[k], want)
		}
	}
	if got.Waiting[4] != 0 {
		t.Errorf("Waiting[4] = %v without a prior or anyone known there; want 0", got.Waiting[4])
	}
	if o.Total() != 10000 {
		t.Errorf("Total = %d; want the 10000 left or still there", o.Total())
	}
}

// TestOutcomesAdd: the days after the arrival are Helsinki's calendar
// days, clamped to 0..Horizon.
func TestOutcomesAdd(t *testing.T) {
	t.Parallel()
	hel := lokero.Helsinki
	var o occupancy.Outcomes
	o.Add(time.Date(2026, 12, 7, 10, 0, 0, 0, hel), time.Date(2026, 12, 7, 23, 59, 0, 0, hel)) // the same day
	o.Add(time.Date(2026, 12, 7, 23, 0, 0, 0, hel), time.Date(2026, 12, 8, 0, 30, 0, 0, hel))  // the next, 90 minutes later
	o.Add(time.Date(2026, 3, 28, 10, 0, 0, 0, hel), time.Date(2026, 3, 30, 9, 0, 0, 0, hel))   // over the change to summer time: 2
	o.Add(time.Date(2026, 12, 1, 10, 0, 0, 0, hel), time.Date(2026, 12, 20, 9, 0, 0, 0, hel))  // long after: the horizon
	o.Add(time.Date(2026, 12, 7, 10, 0, 0, 0, hel), time.Date(2026, 12, 6, 9, 0, 0, 0, hel))   // a clock gone back: 0
	want := occupancy.Outcomes{}
	want.Left[0], want.Left[1], want.Left[2], want.Left[occupancy.Horizon] = 2, 1, 1, 1
	if o != want || o.Total() != 5 {
		t.Errorf("outcomes %v; want %v", o.Left, want.Left)
	}
}

// TestCarried: what a size class holds at the start of a later day.
func TestCarried(t *testing.T) {
	t.Parallel()
	d := occupancy.Prior()
	today := lokero.Date{Year: 2026, Month: time.December, Day: 7}
	tomorrow, later := today.AddDays(1), today.AddDays(3)
	c := occupancy.Class{
		Waiting: map[lokero.Date]int{
			today:              10, // arrived this morning
			today.AddDays(-2):  4,  // waiting for two day starts already
			today.AddDays(-12): 1,  // older than the horizon (its expiry is late): there today, gone after
		},
		ForCourier: 3,
		Reserved:   map[lokero.Date]int{today.AddDays(-1): 2, today: 5, tomorrow: 6, later: 9},
	}
	stay := func(from, to int) float64 { return d.Waiting[to] / d.Waiting[from] }
	cases := []struct {
		on   lokero.Date
		want float64
	}{
		// Today: everything in the compartments now, and nothing booked
		// for earlier days but the late one.
		{today, 10 + 4 + 1 + 3 + 2},
		// Tomorrow: today's arrivals as one day old, the two-day-old ones
		// as three, the courier's gone; today's bookings (and the late one,
		// arriving today) as one day old.
		{tomorrow, 10*stay(0, 1) + 4*stay(2, 3) + 7*stay(0, 1)},
		// Three days on: tomorrow's bookings too, as two days old.
		{later, 10*stay(0, 3) + 4*stay(2, 5) + 7*stay(0, 3) + 6*stay(0, 2)},
	}
	for _, tc := range cases {
		if got := d.Carried(c, today, tc.on); !near(got, tc.want) {
			t.Errorf("Carried on %v = %v; want %v", tc.on, got, tc.want)
		}
	}
	if got := d.Carried(c, today, today.AddDays(-1)); got != 0 {
		t.Errorf("carried into yesterday: %v", got)
	}
	if got := d.Carried(c, today, today.AddDays(occupancy.Horizon+5)); !near(got, 0) {
		t.Errorf("carried past the horizon: %v", got)
	}
}

// TestFree: free compartments for a day are the class's less those out
// of order, the day's bookings and the parcels carried into it; Capacity
// leaves the day's bookings to the caller.
func TestFree(t *testing.T) {
	t.Parallel()
	d := occupancy.Prior()
	today := lokero.Date{Year: 2026, Month: time.December, Day: 7}
	tomorrow := today.AddDays(1)
	// A locker full of this morning's parcels: 20 compartments, 20 parcels.
	full := occupancy.Class{Waiting: map[lokero.Date]int{today: 20}, Reserved: map[lokero.Date]int{tomorrow: 3}}
	carried := int(math.Round(20 * d.Waiting[1]))
	if got, want := d.Free(20, 1, full, today, tomorrow), 20-1-3-carried; got != want {
		t.Errorf("Free tomorrow = %d; want %d (%d carried)", got, want, carried)
	}
	if got, want := d.Capacity(20, 1, full, today, tomorrow), 20-1-carried; got != want {
		t.Errorf("Capacity tomorrow = %d; want %d", got, want)
	}
	if got := d.Free(20, 0, full, today, today); got != 0 {
		t.Errorf("Free today with every compartment taken = %d; want 0", got)
	}
	over := occupancy.Class{Waiting: map[lokero.Date]int{today: 30}}
	if got := d.Capacity(20, 0, over, today, today); got != 0 {
		t.Errorf("Capacity of an overfull class = %d; want 0, never below", got)
	}
	// Per delivery day alone, the full locker would show 17 free tomorrow.
	if got := d.Free(20, 0, full, today, tomorrow); got >= 17 {
		t.Errorf("Free tomorrow = %d: the parcels waiting since today are not counted", got)
	}
}

// TestDays counts calendar days across the changes of the clocks.
func TestDays(t *testing.T) {
	t.Parallel()
	a := lokero.Date{Year: 2026, Month: time.March, Day: 28}
	for _, tc := range []struct {
		b    lokero.Date
		want int
	}{{a, 0}, {a.AddDays(1), 1}, {a.AddDays(3), 3}, {a.AddDays(-2), -2}, {lokero.Date{Year: 2026, Month: time.November, Day: 1}, 218}} {
		if got := occupancy.Days(a, tc.b); got != tc.want {
			t.Errorf("Days(%v, %v) = %d; want %d", a, tc.b, got, tc.want)
		}
	}
}

// TestCarriedBound: the margin is z standard deviations of a sum of
// independent stays; parcels sure to be there add no spread.
func TestCarriedBound(t *testing.T) {
	t.Parallel()
	d := occupancy.Prior()
	today := lokero.Date{Year: 2026, Month: time.December, Day: 7}
	c := occupancy.Class{Waiting: map[lokero.Date]int{today: 10}, ForCourier: 2}
	p := d.Waiting[1]
	if got, want := d.CarriedBound(c, today, today.AddDays(1), 1.65), 10*p+1.65*math.Sqrt(10*p*(1-p)); !near(got, want) {
		t.Errorf("bound tomorrow = %v; want %v", got, want)
	}
	if got := d.CarriedBound(c, today, today, 3); !near(got, 12) {
		t.Errorf("bound today = %v; want 12, all there for sure", got)
	}
	if got := d.CarriedBound(c, today, today.AddDays(1), 0); !near(got, d.Carried(c, today, today.AddDays(1))) {
		t.Errorf("bound with no margin = %v; want the expected count", got)
	}
}
