package service

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/occupancy"
	"github.com/lokero/lokero/routing"
)

// Capacity over time: a locker's compartment is taken from the parcel's
// delivery until its pickup, so what is free for a delivery date is the
// class's compartments less those out of order, the date's reservations
// and the parcels expected to be carried into the date (package
// occupancy): those in the compartments now that will not have been
// picked up by then, and those booked for earlier days that will still be
// waiting. The checkout's view (Availability.read) and the booking's
// reservation (reserveClass) count alike, with the dwell the network
// learns from its own pickups (LearnDwell). An outlet's shelves take
// ShelfCapacity parcels a delivery day and are counted per day as before.

// OccupantCounter is a store that counts the parcels in the compartments
// of every location at once, by size class, status and arrival day (the
// SQL stores are).
type OccupantCounter interface {
	Occupants(ctx context.Context, locationIDs ...string) ([]lokero.Occupants, error)
}

// DepartureCounter is a store that keeps the parcels' departures from
// compartments, to learn the dwell from (the SQL stores are).
type DepartureCounter interface {
	Departures(ctx context.Context, since lokero.Date) ([]lokero.Departures, error)
	PruneDepartures(ctx context.Context, before lokero.Date) (int64, error)
}

// DefaultMargin is how many standard deviations of the parcels expected
// to be carried into a day the capacity model counts on top of them at
// booking (our choice, from a sweep with lokero bench peak --network town
// with the evening's check on, docs/capacity.md: 0.4 turned away 9.0 % in
// all, 0.3 % at the door; 0 turned away fewer in all and three times as
// many at the door; 0.8 none at the door and 10.7 % in all, 24 of them
// refused at booking). Before the evening's check (dispatch.go) it was
// 1.2: the margin alone kept the door's turn-aways rare.
const DefaultMargin = 0.4

// SetMargin sets the margin (0: the expected count alone; at most 4).
// Call it before the view is used.
func (a *Availability) SetMargin(z float64) error {
	if !(z >= 0 && z <= 4) {
		return lokero.Invalid("margin", "out_of_range", "the capacity margin is 0 to 4 standard deviations; got %v", z)
	}
	a.margin = z
	return nil
}

// LearnDays is how far back the dwell is learnt from: four weeks of
// pickups, so that a change of habits shows within a month.
const LearnDays = 28

// KeepDepartureDays is how long departures are kept.
const KeepDepartureDays = 90

// dwells is the dwell of each locker type; a type without one has the
// prior.
type dwells map[lokero.LocationType]occupancy.Dwell

// dwellOf returns the dwell of a type of locker.
func (a *Availability) dwellOf(t lokero.LocationType) occupancy.Dwell {
	if m := a.dwell.Load(); m != nil {
		if d, ok := (*m)[t]; ok {
			return d
		}
	}
	return occupancy.Prior()
}

// Dwell returns the dwell the capacity model uses for a type of locker.
func (a *Availability) Dwell(t lokero.LocationType) occupancy.Dwell { return a.dwellOf(t) }

// LearnDwell learns each locker type's dwell from the departures of the
// last LearnDays days and the parcels still in the compartments
// (occupancy.Learn, blended with the prior) and forgets departures older
// than KeepDepartureDays. Only whole days count: today's departures are
// parcels that were still there this morning, as those in the compartments
// now that arrived before today are; a parcel that arrived today has not
// yet been there a night. It returns the outcomes it learnt from, by
// type. A store that keeps no departures learns nothing.
func (a *Availability) LearnDwell(ctx context.Context) (map[lokero.LocationType]occupancy.Outcomes, error) {
	store, ok := a.store.(DepartureCounter)
	if !ok {
		return nil, nil
	}
	today := lokero.DateOf(a.clock.Now())
	deps, err := store.Departures(ctx, today.AddDays(-LearnDays))
	if err != nil {
		return nil, fmt.Errorf("learn the dwell: %w", err)
	}
	outcomes := map[lokero.LocationType]occupancy.Outcomes{}
	stayed := func(t lokero.LocationType, arrived lokero.Date, n int) {
		if age := occupancy.Days(arrived, today); age >= 1 {
			o := outcomes[t]
			o.Stayed[min(age, occupancy.Horizon)] += n
			outcomes[t] = o
		}
	}
	for _, d := range deps {
		if !d.LeftOn.Before(today) {
			stayed(d.Type, d.ArrivedOn, d.Count)
			continue
		}
		o := outcomes[d.Type]
		k := max(0, min(occupancy.Days(d.ArrivedOn, d.LeftOn), occupancy.Horizon))
		o.Left[k] += d.Count
		outcomes[d.Type] = o
	}
	if a.occupants != nil {
		occ, err := a.occupants.Occupants(ctx)
		if err != nil {
			return nil, fmt.Errorf("learn the dwell: %w", err)
		}
		for _, o := range occ {
			// A parcel waiting for its recipient; not a consumer's drop-off,
			// nor a shelf place, nor one put there before arrival days were
			// kept. One in a compartment out of order counts too: it is
			// still there (its dwell, not the compartment's room), and its
			// departure is recorded as any other's when it leaves.
			if o.Size == lokero.ShelfSize || o.Status == lokero.StatusDroppedOff || o.ArrivedOn.IsZero() {
				continue
			}
			t := lokero.TypeSmartpost
			if a.typeOf != nil {
				t = a.typeOf(o.LocationID)
			}
			if t.IsLocker() {
				stayed(t, o.ArrivedOn, o.Count)
			}
		}
	}
	learnt := dwells{}
	for t, o := range outcomes {
		learnt[t] = occupancy.Learn(o, occupancy.Prior())
	}
	a.dwell.Store(&learnt)
	if _, err := store.PruneDepartures(ctx, today.AddDays(-KeepDepartureDays)); err != nil {
		return outcomes, fmt.Errorf("learn the dwell: %w", err)
	}
	return outcomes, nil
}

// sizeClasses are what each size class of each locker holds and expects:
// location → size → class.
type sizeClasses map[string]map[string]*classAt

// classAt is one size class of one locker: what package occupancy models,
// and how many of the parcels in the locker's compartments still hold a
// reservation of this class, by delivery date. A reservation is given
// back at pickup, so the store's count of a date's reservations includes
// the parcels already delivered for it: those are counted once, in the
// compartments.
type classAt struct {
	occupancy.Class
	holding map[lokero.Date]int
}

func (cs sizeClasses) class(locationID, size string) *classAt {
	at := cs[locationID]
	if at == nil {
		at = map[string]*classAt{}
		cs[locationID] = at
	}
	c := at[size]
	if c == nil {
		c = &classAt{Class: occupancy.Class{Waiting: map[lokero.Date]int{}, Reserved: map[lokero.Date]int{}}, holding: map[lokero.Date]int{}}
		at[size] = c
	}
	return c
}

// addOccupants counts the parcels in compartments into their classes: one
// waiting for its recipient by its arrival day (today when not known),
// one waiting for a courier apart, and the reservation each still holds.
// A parcel in a compartment out of order takes no room of its own: the
// compartment is counted as out of order, taken until it is back in order
// whether or not its parcel has been collected; only the reservation it
// holds is counted (the store counts it among its date's, and it is not
// to be counted again as a booking not yet delivered). An outlet's shelf
// places are not counted (its shelves take a number of parcels a day).
// Call it before addReserved.
func (cs sizeClasses) addOccupants(occ []lokero.Occupants, today lokero.Date) {
	for _, o := range occ {
		if o.Size == lokero.ShelfSize {
			continue
		}
		c := cs.class(o.LocationID, o.Size)
		switch {
		case o.OutOfOrder:
			// Counted among the compartments out of order.
		case o.Status == lokero.StatusExpired, o.Status == lokero.StatusDroppedOff:
			c.ForCourier += o.Count
		default:
			arrived := o.ArrivedOn
			if arrived.IsZero() {
				arrived = today
			}
			c.Waiting[arrived] += o.Count
		}
		if o.ReservedSize != "" && o.ReservedSize != lokero.ShelfSize {
			cs.class(o.LocationID, o.ReservedSize).holding[o.DeliveryDate] += o.Count
		}
	}
}

// addReserved counts one date's reservations not yet delivered into the
// classes: the store's count less the parcels holding one in the
// compartments.
func (cs sizeClasses) addReserved(date lokero.Date, reserved map[string]map[string]int) {
	for loc, sizes := range reserved {
		for size, n := range sizes {
			if size == lokero.ShelfSize {
				continue
			}
			c := cs.class(loc, size)
			if n -= c.holding[date]; n > 0 {
				c.Reserved[date] += n
			}
		}
	}
}

// carried is how many compartments each locker's size classes have taken
// at the start of on beyond the store's count of on's reservations: the
// parcels expected to be there then from the compartments now and the
// bookings of earlier days (rounded), less those that hold a reservation
// for on (counted by the store already). Location → size → count, which
// may be below 0 (a parcel delivered early for on that is likely picked
// up by then).
func (a *Availability) carried(cs sizeClasses, today, on lokero.Date, typeOf func(string) lokero.LocationType) map[string]map[string]int {
	out := map[string]map[string]int{}
	for loc, sizes := range cs {
		dwell := a.dwellOf(typeOf(loc))
		for size, c := range sizes {
			if n := int(math.Round(dwell.CarriedBound(c.Class, today, on, a.margin))) - c.holding[on]; n != 0 {
				if out[loc] == nil {
					out[loc] = map[string]int{}
				}
				out[loc][size] = n
			}
		}
	}
	return out
}

// lockerLoad reads what a booking at l for date weighs, in one statement
// (tx.LockerLoad): its compartments out of order, and the parcels expected
// to be still there then (carried: those in its compartments and the
// bookings of the days from today to before date, by the learnt dwell),
// by size class. Nothing is carried into a date before today, or where
// the availability has no occupants to count.
func (a *Availability) lockerLoad(ctx context.Context, tx lokero.Tx, l *lokero.Location, date lokero.Date) (broken, carried map[string]int, err error) {
	today := lokero.DateOf(tx.Now())
	load, err := tx.LockerLoad(ctx, l.ID, today, date.AddDays(-1))
	if err != nil {
		return nil, nil, err
	}
	carried, err = a.carriedAt(l, load, today, date)
	return load.OutOfOrder, carried, err
}

// carriedAt is the parcels expected to be still in locker l's
// compartments at the start of date, by size class, from its load read
// on today (the parcels in it, and its bookings of the days before date):
// nothing where the availability has no occupants to count, or before
// today.
func (a *Availability) carriedAt(l *lokero.Location, load lokero.LockerLoad, today, date lokero.Date) (map[string]int, error) {
	if a == nil || a.occupants == nil || date.Before(today) {
		return nil, nil
	}
	byLocation, err := a.carriedInto(load.Occupants, today, date, func(string) lokero.LocationType { return l.Type },
		func(d lokero.Date) (map[string]map[string]int, error) {
			return map[string]map[string]int{l.ID: load.Reserved[d]}, nil
		})
	return byLocation[l.ID], err
}

// carriedInto is carried for the parcels in the compartments (occ) and the
// reservations of each day from today to before date (reservedOn):
// location → size → count, as the checkout's view and the booking count.
func (a *Availability) carriedInto(occ []lokero.Occupants, today, date lokero.Date, typeOf func(string) lokero.LocationType,
	reservedOn func(lokero.Date) (map[string]map[string]int, error)) (map[string]map[string]int, error) {
	cs := sizeClasses{}
	cs.addOccupants(occ, today)
	for d := today; d.Before(date); d = d.AddDays(1) {
		r, err := reservedOn(d)
		if err != nil {
			return nil, err
		}
		cs.addReserved(d, r)
	}
	return a.carried(cs, today, date, typeOf), nil
}

// dwellStore is the atomic dwell per locker type of an Availability.
type dwellStore = atomic.Pointer[dwells]

// roomAt returns how many compartments of the smallest class at l that
// takes p and has one free are free on date, counted in tx as
// reserveClass counts them (less those out of order, those expected to
// be still taken then, and the date's reservations): 0 when none. The
// order of a full locker's alternatives is by it (routing.Spread).
func roomAt(ctx context.Context, tx lokero.Tx, a *Availability, l *lokero.Location, p lokero.Parcel, limits routing.Limits, date lokero.Date) (int, error) {
	classes := routing.FittingClasses(p, l, limits)
	if len(classes) == 0 {
		return 0, nil
	}
	today := lokero.DateOf(tx.Now())
	load, err := tx.LockerLoad(ctx, l.ID, today, date)
	if err != nil {
		return 0, fmt.Errorf("room at %s: %w", l.ID, err)
	}
	carried, err := a.carriedAt(l, load, today, date)
	if err != nil {
		return 0, fmt.Errorf("room at %s: %w", l.ID, err)
	}
	for _, c := range classes {
		if free := c.Count - load.OutOfOrder[c.Size] - carried[c.Size] - load.Reserved[date][c.Size]; free > 0 {
			return free, nil
		}
	}
	return 0, nil
}
