package occupancy

import (
	"cmp"
	"math"
	"slices"

	"github.com/lokero/lokero"
)

// The evening's check (the dispatch check): after the day's cut-off and
// before the couriers load, the bookings of the next delivery date are
// counted against what the lockers hold now, and the excess of a size
// class is moved to another locker before the door has to turn it away.
// At that hour the day's pickups are over: a parcel in a compartment now
// is there when the morning's deliveries come (but for the night's few
// pickups, which the check does not count on). So the check counts the
// parcels in the compartments now as there at the start of the next day,
// and the dwell only for the days after it (a Friday evening's check of
// Monday: Saturday's and Sunday's pickups).

// Evening is the day whose start the evening's check, run on today for
// delivery date on, counts the parcels in the compartments now as there
// at: the day after today, or on itself when the check runs on the
// delivery date (after midnight, before the deliveries).
func Evening(today, on lokero.Date) lokero.Date {
	if next := today.AddDays(1); next.Before(on) {
		return next
	}
	return on
}

// Final reports whether the evening's check run on today for delivery
// date on is the last before on: it counts what the compartments hold
// now as there at on's start, with no dwell and so no chance in it (the
// check the evening before, or one after midnight on the day itself).
// The check moves bookings back to the locker asked for only then: a move
// back on a forecast (Friday's check of Monday) could be undone by the
// next evening's move out, two notices to the recipient for nothing.
func Final(today, on lokero.Date) bool {
	return Evening(today, on) == on
}

// CarriedAtDispatch is how many parcels a class's compartments hold at the
// start of on as the evening's check on today counts them: every parcel in
// them now, and every booking of a day before on not yet delivered, as
// there at the start of Evening(today, on) (the night's pickups not
// counted on); from then to on, what the dwell says, with z standard
// deviations on top (CarriedBound). For a check of the next day it is the
// truth of the evening, with no chance in it.
func (d Dwell) CarriedAtDispatch(c Class, today, on lokero.Date, z float64) float64 {
	return d.CarriedBound(c, Evening(today, on), on, z)
}

// Over is how many of a class's bookings for on (c.Reserved[on], not yet
// delivered) the evening's check on today finds beyond what its
// compartments take: total less those out of order and the parcels
// carried into on (CarriedAtDispatch, rounded). 0 when they all fit.
func (d Dwell) Over(total, outOfOrder int, c Class, today, on lokero.Date, z float64) int {
	carried := int(math.Round(d.CarriedAtDispatch(c, today, on, z)))
	return max(0, c.Reserved[on]-max(0, total-outOfOrder-carried))
}

// Booking is one parcel booked for a locker on a delivery date, as the
// evening's check weighs moving it: whether it has been handed to the
// carrier (its recipient was told it is on its way; a move sends a notice
// of the new place), and its id, which sorts by the time it was booked.
type Booking struct {
	ID         string
	HandedOver bool
}

// ToMove is the order in which the evening's check tries to move a
// locker class's bookings to another locker, as indexes of bookings: those
// not yet handed over first (no one has been told where they go), then
// the last booked first — the first come keep their place, as at booking,
// where the last booking is the one a full locker sends elsewhere. Ties
// keep the order given. The caller moves them in this order until the
// class is no longer over (Over); one that no other locker takes gives
// its turn to the next.
func ToMove(bookings []Booking) []int {
	return stableOrder(len(bookings), func(a, b int) int {
		x, y := bookings[a], bookings[b]
		if x.HandedOver != y.HandedOver {
			if !x.HandedOver {
				return -1
			}
			return 1
		}
		return cmp.Compare(y.ID, x.ID) // later booked first
	})
}

// ToMoveBack is the order in which the evening's check tries to move
// bookings back to the locker their shoppers asked for (they overflowed
// to another, and it has room after all), as indexes of bookings: the
// first booked first, whether handed over or not — the first come get
// their place, as at booking. Ties keep the order given. The caller moves
// them in this order while the locker has room.
func ToMoveBack(bookings []Booking) []int {
	return stableOrder(len(bookings), func(a, b int) int {
		return cmp.Compare(bookings[a].ID, bookings[b].ID)
	})
}

// stableOrder returns the indexes 0..n-1 sorted by compare, ties in
// their order.
func stableOrder(n int, compare func(a, b int) int) []int {
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, compare)
	return order
}
