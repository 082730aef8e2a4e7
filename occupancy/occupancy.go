// Package occupancy is lokero's model of what will really be in a locker
// on a day: the parcels in its compartments now that will not have been
// collected by then, and those booked for earlier days that will still be
// waiting, besides the day's own bookings. A parcel occupies its
// compartment from its delivery until its pickup (up to the 7-day storage
// period, then until a courier collects it), so capacity counted per
// delivery day alone shows a locker full of earlier parcels as free, and
// the parcel is turned away at the door instead of at the booking.
//
// How long parcels wait is learnt from the network's own pickups (Learn):
// the share of parcels still in their compartment k days after the day
// they arrived, per kind of locker. Where there is no history yet, Prior
// stands in: pickups about 24 hours after the arrival on average, and a few
// parcels never collected.
//
// The checkout's free compartments, busy and full, the booking's
// reservation and so the routing's overflow all count the parcels carried
// into a day with one Dwell (CarriedBound, with the margin for chance);
// the evening's check counts with Over. The package imports no adapter:
// it is rules and arithmetic.
package occupancy

import (
	"fmt"
	"math"
	"time"

	"github.com/lokero/lokero"
)

// StorageDays is the storage period: a parcel not picked up within it
// expires and waits for the courier's next round.
const StorageDays = 7

// Horizon is how many days after its arrival a parcel may still be in its
// compartment: the storage period and the day the courier collects it.
const Horizon = StorageDays + 1

// Dwell is how long parcels wait in their compartments: Waiting[k] is the
// share of the parcels that arrived on a day still in their compartment at
// the start of the k-th day after (before that day's deliveries, which
// come in the morning). Waiting[0] is 1; it never grows with k; past
// Horizon it is 0.
type Dwell struct {
	Waiting [Horizon + 1]float64
}

// Prior's assumptions: parcels are delivered at about ArrivalHour in the
// morning and picked up after an exponentially distributed time with a mean
// of PriorMeanPickup, except a share PriorNeverPicked that is never picked up
// and leaves with the courier after the storage period.
const (
	ArrivalHour      = 10
	PriorMeanPickup  = 24 * time.Hour
	PriorNeverPicked = 0.03
)

// Prior is the dwell of a network without history: mean pickup about 24
// hours after the arrival.
func Prior() Dwell {
	var d Dwell
	d.Waiting[0] = 1
	mean := PriorMeanPickup.Hours()
	for k := 1; k <= StorageDays; k++ {
		hours := float64(24*k - ArrivalHour) // from the arrival to the start of day k
		d.Waiting[k] = (1-PriorNeverPicked)*math.Exp(-hours/mean) + PriorNeverPicked
	}
	// On the day after the storage period the expired ones are still there
	// until the courier comes: counted as there at the start of the day.
	d.Waiting[Horizon] = PriorNeverPicked
	return d
}

// Outcomes counts how parcels left their compartments: Left[k] the parcels
// that left k days after the day they arrived (k = 0: the same day),
// picked up or, for k = Horizon, collected by a courier after the storage
// period. Stayed[k] counts the parcels whose outcome is not known yet:
// there at the start of the k-th day after their arrival (today) and not
// gone before (k ≥ 1; an older one counts as Horizon). Leaving them out
// would learn from the quick pickups alone while the slow ones still
// wait: a network in its first days would think parcels leave sooner than
// they do.
type Outcomes struct {
	Left   [Horizon + 1]int
	Stayed [Horizon + 1]int
}

// Add counts one parcel that arrived at arrived and left at left.
func (o *Outcomes) Add(arrived, left time.Time) {
	o.Left[DaysAfter(arrived, left)]++
}

// DaysAfter is how many calendar days (in Helsinki) after arrived left is,
// 0..Horizon (a later one counts as Horizon, an earlier one as 0).
func DaysAfter(arrived, left time.Time) int {
	k := Days(lokero.DateOf(arrived), lokero.DateOf(left))
	return max(0, min(k, Horizon))
}

// Total is how many parcels the outcomes count, left or still there.
func (o Outcomes) Total() int {
	n := 0
	for k := range o.Left {
		n += o.Left[k] + o.Stayed[k]
	}
	return n
}

// PriorWeight is how many parcels' worth of belief Learn gives the prior:
// a locker type with a few hundred pickups is mostly its own history.
const PriorWeight = 100

// Learn is the dwell the outcomes show, blended with prior as PriorWeight
// parcels: with no outcomes it is the prior, with thousands it is theirs.
// It is the Kaplan-Meier estimate: the chance of leaving on the k-th day
// after the arrival is the parcels that left that day over those there at
// its start whose outcome that day is known (those that left on it or
// later, and those still there past it), the prior's PriorWeight parcels
// counted among them with their own chances. Without parcels still there
// it is the blend of the shares observed and the prior's,
// (n·observed + PriorWeight·prior) / (n + PriorWeight).
func Learn(o Outcomes, prior Dwell) Dwell {
	var d Dwell
	d.Waiting[0] = 1
	for k := 0; k < Horizon; k++ {
		atRisk, left := 0.0, float64(o.Left[k])
		for j := k; j <= Horizon; j++ {
			atRisk += float64(o.Left[j])
			if j > k {
				atRisk += float64(o.Stayed[j])
			}
		}
		atRisk += PriorWeight * prior.Waiting[k]
		left += PriorWeight * (prior.Waiting[k] - prior.Waiting[k+1])
		if atRisk <= 0 {
			break // no one is there at the start of day k: none after
		}
		d.Waiting[k+1] = d.Waiting[k] * max(0, 1-left/atRisk)
	}
	return d
}

// MeanDays is the mean number of day starts a parcel is still there for:
// the expected days it occupies a compartment after its arrival day.
func (d Dwell) MeanDays() float64 {
	sum := 0.0
	for k := 1; k <= Horizon; k++ {
		sum += d.Waiting[k]
	}
	return sum
}

// Stay is the chance that a parcel there at the start of the from-th day
// after its arrival is still there at the start of the to-th (from ≤ to).
// A day before the arrival (negative) counts as the arrival day.
func (d Dwell) Stay(from, to int) float64 {
	if to > Horizon || from > to {
		return 0
	}
	from, to = max(from, 0), max(to, 0)
	if d.Waiting[from] <= 0 {
		return 0
	}
	return min(1, d.Waiting[to]/d.Waiting[from])
}

// Class is what one size class of one locker holds and expects: the
// parcels waiting for their recipients by the day they arrived, those
// waiting for a courier (expired, or dropped off by a consumer), and the
// parcels booked for delivery, by delivery date.
type Class struct {
	Waiting    map[lokero.Date]int // READY_FOR_PICKUP (or in the locker, door not yet closed), by arrival day
	ForCourier int                 // EXPIRED or DROPPED_OFF: gone with the courier's next round
	Reserved   map[lokero.Date]int // booked, not yet delivered, by delivery date
}

// Carried is how many parcels the class's compartments are expected to
// hold at the start of day on (today being today), before on's own
// deliveries: the waiting parcels that will not have been picked up by
// then, those waiting for a courier while on is today, and the parcels
// booked for days from today to before on that will still be there. A
// booking for a day before today not yet delivered counts as arriving
// today, and so does a waiting parcel whose arrival day is after today
// (another instance's clock). Reservations for on itself are not counted
// here.
func (d Dwell) Carried(c Class, today, on lokero.Date) float64 {
	mean, _, _ := d.carried(c, today, on)
	return mean
}

// carried is Carried's expected count, its variance and the most it could
// be (every parcel that may still be there).
func (d Dwell) carried(c Class, today, on lokero.Date) (mean, variance, most float64) {
	if on.Before(today) {
		return 0, 0, 0
	}
	ahead := Days(today, on)
	add := func(n int, p float64) {
		mean += float64(n) * p
		variance += float64(n) * p * (1 - p)
		if p > 0 {
			most += float64(n)
		}
	}
	// The parcels are counted in groups by what sets their chance (a
	// waiting parcel's age, a booking's days from its arrival to on), the
	// groups in their order: the float sums, and so the counts rounded
	// from them, do not depend on the order the maps are iterated in.
	// The last group is the parcels past Horizon, with no chance left.
	var waiting, booked [Horizon + 2]int
	for arrived, n := range c.Waiting {
		// The day starts it has been there for; one whose arrival day is
		// after today (another clock's) is there now: it arrived today.
		waiting[min(max(Days(arrived, today), 0), Horizon+1)] += n
	}
	for age, n := range waiting {
		if ahead == 0 { // there now, however old
			add(n, 1)
			continue
		}
		add(n, d.Stay(age, age+ahead))
	}
	if ahead == 0 {
		add(c.ForCourier, 1)
	}
	for date, n := range c.Reserved {
		if !date.Before(on) {
			continue
		}
		arrives := date
		if arrives.Before(today) {
			arrives = today
		}
		booked[min(Days(arrives, on), Horizon+1)] += n
	}
	for k, n := range booked {
		add(n, d.Stay(0, k))
	}
	return mean, variance, most
}

// CarriedBound is Carried with a margin for chance: the expected count
// plus z standard deviations of it (each parcel stays or goes on its own,
// a sum of Bernoulli trials), so that a locker filled to the bound
// overflows at the door only rarely (z = 1.2: about one day in nine at a
// locker filled to it, z = 1.65 one in twenty). z = 0 is the expected
// count.
func (d Dwell) CarriedBound(c Class, today, on lokero.Date, z float64) float64 {
	mean, variance, most := d.carried(c, today, on)
	return min(mean+z*math.Sqrt(variance), most) // never more parcels than could be there
}

// Free is how many of a class's total compartments are free for one more
// parcel delivered on on: the total less those out of order, the day's
// reservations and the parcels expected to be carried into the day
// (rounded to the nearest whole parcel). Never below 0.
func (d Dwell) Free(total, outOfOrder int, c Class, today, on lokero.Date) int {
	carried := int(math.Round(d.Carried(c, today, on)))
	return max(0, total-outOfOrder-c.Reserved[on]-carried)
}

// Capacity is how many reservations for on the class takes in all: its
// compartments in order less the parcels expected to be carried into the
// day. A booking reserves while the day's reservations are below it.
func (d Dwell) Capacity(total, outOfOrder int, c Class, today, on lokero.Date) int {
	carried := int(math.Round(d.Carried(c, today, on)))
	return max(0, total-outOfOrder-carried)
}

// Days is the number of calendar days from a to b (negative when b is
// before a).
func Days(a, b lokero.Date) int {
	ta := time.Date(a.Year, a.Month, a.Day, 12, 0, 0, 0, time.UTC)
	tb := time.Date(b.Year, b.Month, b.Day, 12, 0, 0, 0, time.UTC)
	return int(math.Round(tb.Sub(ta).Hours() / 24))
}

// String describes the dwell: the share still waiting at each day's start.
func (d Dwell) String() string {
	return fmt.Sprintf("dwell %.3f (mean %.2f days)", d.Waiting, d.MeanDays())
}
