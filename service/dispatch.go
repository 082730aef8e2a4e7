package service

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/occupancy"
	"github.com/lokero/lokero/routing"
)

// The evening's check (the dispatch check, issue 23): a booking for a
// locker is decided a day or more ahead against a forecast of what the
// locker will still hold (capacity.go), and the margin for chance that
// keeps the door's turn-aways rare turns many away at booking that would
// have fitted. After the day's cut-off, when the day's pickups are over
// and before the couriers load, the next delivery date's bookings are
// counted against what the lockers hold now (occupancy.Over), and the
// excess of a size class goes to the nearest locker with room that day,
// as a booking overflows: decided before the door, with the event, the
// webhook and the recipient's notice of any re-routing. Booking can then
// count with a smaller margin. The same count moves back the bookings the
// forecast sent elsewhere (overflowed at booking, or by an earlier
// evening's check) whose asked-for locker has room after all.

// DefaultDispatchMargin is the margin for chance of the evening's check
// (standard deviations, as the booking's DefaultMargin): none. For the
// next day the check counts what the lockers hold in the evening, with no
// chance in it but the night's pickups (which it does not count on); for
// a date further ahead (Friday's check of Monday) the check runs again
// every evening before it, the last with the truth.
const DefaultDispatchMargin = 0

// Dispatch is the evening's check of the next delivery date's bookings
// against what the lockers hold (Check). Safe for concurrent use, and
// with other instances on one database: each move is its own transaction
// that counts again what it decides on.
type Dispatch struct {
	s      *Shipments
	margin float64

	rerouted, noRoom atomic.Int64 // TurnedAway
	movedBack        atomic.Int64 // MovedBack
}

// NewDispatch returns the evening's check over the shipments' store,
// directory (and its capacity model) and clock.
func NewDispatch(s *Shipments) *Dispatch {
	return &Dispatch{s: s, margin: DefaultDispatchMargin}
}

// SetMargin sets the check's margin for chance (0 to 4 standard
// deviations). Call it before Check.
func (d *Dispatch) SetMargin(z float64) error {
	if !(z >= 0 && z <= 4) {
		return lokero.Invalid("margin", "out_of_range", "the dispatch check's margin is 0 to 4 standard deviations; got %v", z)
	}
	d.margin = z
	return nil
}

// TurnedAway counts the bookings this process's checks found no room for
// at their locker: re-routed to another (rerouted), or left where they
// were because no locker near had room either (noRoom: the door will
// decide).
func (d *Dispatch) TurnedAway() (rerouted, noRoom int64) {
	return d.rerouted.Load(), d.noRoom.Load()
}

// MovedBack counts the bookings this process's checks moved back to the
// locker their shoppers asked for (DispatchResult.MovedBack).
func (d *Dispatch) MovedBack() int64 {
	return d.movedBack.Load()
}

// DispatchNote ends the reason of a booking re-routed by the evening's
// check (routing.RuleCapacityOverflow, the reason routing.Overflow's, as a
// booking's overflow). Its event begins with DispatchRerouteNote: webhooks
// send it as "rerouted", public tracking says the locker will be full that
// day, and its recipient is told of the new place (queueRerouted).
const DispatchNote = " (Found the evening before delivery, counting the parcels in the locker then.)"

// DispatchBackReason ends the reason of a booking moved back by the
// evening's check to the locker asked for (the reason and rule a booking
// straight to it gets, routing.RulePickupPoint). Its event begins with
// DispatchBackNote: webhooks send it as "rerouted", public tracking says
// the chosen locker has room after all, and its recipient is told of the
// new place (queueRerouted).
const DispatchBackReason = " (Moved back the evening before delivery: it had been expected to be full, and counting the parcels in it then, it has room.)"

// DispatchResult is what one evening's check did.
type DispatchResult struct {
	Date     lokero.Date       // the delivery date checked
	Lockers  int               // lockers with bookings for it
	Over     int               // bookings beyond their locker's room, as first counted
	Rerouted []lokero.Shipment // moved to another locker, with a reason
	NoRoom   []lokero.Shipment // no locker near has room: left for the door
	// MovedBack are the bookings moved back to the locker their shopper
	// asked for (PickupPointID), which has room after all: they had
	// overflowed elsewhere (rule capacity_overflow) on a forecast.
	MovedBack []lokero.Shipment
}

// DispatchDate is the delivery date the evening's check run now is for:
// the next business day after today (Helsinki), whose parcels the
// couriers load next.
func (d *Dispatch) DispatchDate() lokero.Date {
	return d.s.calendar.NextBusinessDay(d.s.clock.Now())
}

// Check runs the evening's check for the next delivery date
// (DispatchDate). It is idempotent: run again, it finds nothing over that
// it has not moved or found no room for, and moves nothing new unless
// the lockers changed meanwhile.
func (d *Dispatch) Check(ctx context.Context) (DispatchResult, error) {
	return d.CheckDate(ctx, d.DispatchDate())
}

// CheckDate checks the bookings for date against what the lockers hold
// now. When the check is the last before date (occupancy.Final: it
// counts the truth), every booking first goes into the smallest class of
// its locker with room (moveDownAll: as the door will put it), then the
// bookings that overflowed from the locker their shopper asked for go
// back to it where it has room (moveBack). Then, for each locker and size
// class, the bookings not yet deposited beyond its room (occupancy.Over:
// its compartments in order less every parcel in them now and every
// earlier booking not yet delivered, the dwell counted only for the days
// between tomorrow and date) are moved, each in its own transaction:
// those a smaller class of the locker takes into it where it has room,
// then in occupancy.ToMove's order first to a bigger class of the same
// locker with room, else to the nearest locker
// with room on date (routing.Overflow, the reservation taken there by the
// same count and given back at the old one), with a reason; a booking
// there by a capacity overflow from the locker its shopper asked for goes
// back to that one first when it has room (mayMoveBack). A booking still
// CREATED once no handover makes date any more (after the cut-off) will
// be delivered later (its handover moves its reservation): it neither
// counts nor moves.
func (d *Dispatch) CheckDate(ctx context.Context, date lokero.Date) (DispatchResult, error) {
	res := DispatchResult{Date: date}
	now := d.s.clock.Now()
	today := lokero.DateOf(now)
	if date.Before(today) {
		return res, lokero.Invalid("date", "past", "the dispatch check is for a delivery date from today on; got %s", date)
	}
	// A first count over every locker from what the store holds now, to
	// find those to look at closely.
	over, lockers, err := d.screen(ctx, today, date)
	if err != nil {
		return res, fmt.Errorf("dispatch check for %s: %w", date, err)
	}
	res.Lockers = len(lockers)
	late := d.s.calendar.DeliveryDate(now).After(date)
	touched := map[string]bool{}
	defer d.changed(touched)
	if occupancy.Final(today, date) {
		lists, err := d.bookingsAt(ctx, lockers)
		if err != nil {
			return res, fmt.Errorf("dispatch check for %s: %w", date, err)
		}
		// First each booking into the smallest class of its locker with
		// room, as the door will put it: a large compartment a small
		// parcel was booked into when its class looked full is free for a
		// large one (moved back, or not moved out).
		if err := d.moveDownAll(ctx, lists, today, date, late, touched); err != nil {
			return res, fmt.Errorf("dispatch check for %s, moving down: %w", date, err)
		}
		// Then back where the shoppers asked: a booking that leaves a
		// locker over leaves room there for one that would have moved out.
		back, err := d.moveBack(ctx, lists, today, date, late, touched)
		res.MovedBack = back
		if err != nil {
			return res, fmt.Errorf("dispatch check for %s, moving back: %w", date, err)
		}
		if len(back) > 0 {
			if over, _, err = d.screen(ctx, today, date); err != nil {
				return res, fmt.Errorf("dispatch check for %s: %w", date, err)
			}
		}
	}
	for _, at := range over {
		res.Over += at.n
		moved, stuck, back, err := d.checkClass(ctx, at.loc, at.size, today, date, late)
		for _, sh := range slices.Concat(moved, back) {
			touched[at.loc.ID], touched[sh.DestinationID] = true, true
		}
		res.Rerouted = append(res.Rerouted, moved...)
		res.NoRoom = append(res.NoRoom, stuck...)
		res.MovedBack = append(res.MovedBack, back...)
		if err != nil {
			return res, fmt.Errorf("dispatch check for %s at %s: %w", date, at.loc.ID, err)
		}
	}
	return res, nil
}

// changed tells the checkout's view that the reservations of the lockers
// touched changed.
func (d *Dispatch) changed(touched map[string]bool) {
	if len(touched) > 0 {
		ids := make([]string, 0, len(touched))
		for id := range touched {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		d.s.dir.reservationsChanged(ids...)
	}
}

// overAt is a locker's size class found over by the first count.
type overAt struct {
	loc  *lokero.Location
	size string
	n    int
}

// screen counts every locker's classes over on date from the store, out of
// any transaction (one query for the compartments, one for each day's
// reservations): their classes over, by locker id and size, and the
// lockers open on date with bookings for it (sorted). Counting the late
// CREATED bookings, it finds a superset of those the transactions find
// over.
func (d *Dispatch) screen(ctx context.Context, today, date lokero.Date) ([]overAt, []string, error) {
	booked, err := d.s.store.ReservedOn(ctx, date)
	if err != nil {
		return nil, nil, err
	}
	snap := d.s.dir.Snapshot()
	var ids []string
	for id := range booked {
		if l := snap.ByID(id); l != nil && l.Type.IsLocker() && l.OpenOn(date.String()) {
			ids = append(ids, id) // a closed one's are RerouteClosed's
		}
	}
	slices.Sort(ids)
	if len(ids) == 0 {
		return nil, nil, nil
	}
	cs := sizeClasses{}
	if oc, ok := d.s.store.(OccupantCounter); ok {
		occ, err := oc.Occupants(ctx, ids...)
		if err != nil {
			return nil, nil, err
		}
		cs.addOccupants(occ, today)
	}
	for day := today; !day.After(date); day = day.AddDays(1) {
		r := booked
		if day != date {
			if r, err = d.s.store.ReservedOn(ctx, day, ids...); err != nil {
				return nil, nil, err
			}
		}
		cs.addReserved(day, r)
	}
	// Compartments out of order, where the store counts them (the SQL
	// stores do); without, every class booked is looked at closely.
	broken := map[string]map[string]int{}
	counter, counts := d.s.store.(compartmentCounter)
	if counts {
		cc, err := counter.CompartmentCounts(ctx)
		if err != nil {
			return nil, nil, err
		}
		for _, c := range cc {
			if c.OutOfOrder > 0 {
				if broken[c.LocationID] == nil {
					broken[c.LocationID] = map[string]int{}
				}
				broken[c.LocationID][c.Size] += c.OutOfOrder
			}
		}
	}
	var out []overAt
	for _, id := range ids {
		l := snap.ByID(id)
		dwell := d.dwell(l.Type)
		sizes := make([]string, 0, len(cs[id]))
		for size := range cs[id] {
			sizes = append(sizes, size)
		}
		slices.Sort(sizes)
		for _, size := range sizes {
			c := cs[id][size].Class
			if n := dwell.Over(ReservationCapacity(l, size), broken[id][size], c, today, date, d.margin); n > 0 || (!counts && c.Reserved[date] > 0) {
				out = append(out, overAt{loc: l, size: size, n: n})
			}
		}
	}
	return out, ids, nil
}

// compartmentCounter is a store that counts every locker's compartments,
// those out of order among them (the SQL stores do).
type compartmentCounter interface {
	CompartmentCounts(ctx context.Context) ([]lokero.CompartmentCount, error)
}

// dwell is the capacity model's dwell for a type of locker.
func (d *Dispatch) dwell(t lokero.LocationType) occupancy.Dwell {
	if a := d.s.dir.availability; a != nil {
		return a.dwellOf(t)
	}
	return occupancy.Prior()
}

// errClassDone ends a class's moves: it is no longer over.
var errClassDone = errors.New("the class is no longer over")

// checkClass moves the bookings for date of one class of one locker that
// its room does not take, each in its own transaction that counts the
// class again: those moved to another locker, those no locker near takes
// (no more of them than the class is over), and those moved back to the
// locker their shopper asked for.
func (d *Dispatch) checkClass(ctx context.Context, loc *lokero.Location, size string, today, date lokero.Date, late bool) (moved, stuck, back []lokero.Shipment, err error) {
	list, err := d.s.store.ShipmentsTo(ctx, loc.ID, []lokero.ShipmentStatus{lokero.StatusCreated, lokero.StatusInTransit})
	if err != nil {
		return nil, nil, nil, err
	}
	var (
		cands    []lokero.Shipment
		bookings []occupancy.Booking
		away     int // late CREATED bookings of the class: not coming on date
	)
	for _, sh := range list {
		if sh.Kind.OrDefault() != lokero.ShipmentDelivery || sh.DeliveryDate != date || sh.SizeClass != size || sh.Compartment != 0 {
			continue
		}
		if sh.Status == lokero.StatusCreated && late {
			away++
			continue
		}
		cands = append(cands, sh)
		bookings = append(bookings, occupancy.Booking{ID: sh.ID, HandedOver: sh.Status == lokero.StatusInTransit})
	}
	// attempt moves booking i in its own transaction that counts the class
	// again: down, only into a smaller class of the locker with room (none
	// is no turn-away: the booking stays for the next pass); else as move
	// does. It reports errClassDone once the class is no longer over.
	attempt := func(i int, down bool) error {
		var done lokero.Shipment
		noRoom, isBack := false, false
		err := d.s.store.InTx(ctx, func(tx lokero.Tx) error {
			done, noRoom, isBack = lokero.Shipment{}, false, false
			sh, err := tx.Shipment(ctx, cands[i].ID)
			if err != nil {
				return err
			}
			if sh.DestinationID != loc.ID || sh.DeliveryDate != date || sh.SizeClass != size || sh.Compartment != 0 ||
				(sh.Status != lokero.StatusInTransit && (late || sh.Status != lokero.StatusCreated)) {
				return nil // moved, deposited or re-dated meanwhile
			}
			room, err := d.roomIn(ctx, tx, loc, today, date)
			if err != nil {
				return err
			}
			if room.over(size, away)-len(stuck) <= 0 {
				return errClassDone
			}
			var ok, wasBack bool
			if down {
				ok, err = d.moveDown(ctx, tx, loc, room, &sh, date)
			} else {
				ok, wasBack, err = d.move(ctx, tx, loc, room, &sh, today, date)
			}
			if err != nil {
				return err
			}
			if !ok {
				noRoom = !down
				return nil
			}
			done, isBack = sh, wasBack
			return nil
		})
		switch {
		case err != nil:
			return err
		case noRoom:
			d.noRoom.Add(1)
			stuck = append(stuck, cands[i])
		case done.ID != "" && isBack:
			d.movedBack.Add(1)
			back = append(back, done)
		case done.ID != "" && done.DestinationID != loc.ID:
			d.rerouted.Add(1)
			moved = append(moved, done)
		case done.ID != "":
			d.s.dir.reservationsChanged(loc.ID) // another class of its own locker
		}
		return nil
	}
	order := occupancy.ToMove(bookings)
	// First the bookings whose parcel a smaller class of the locker takes,
	// into that class where it has room: no turn-away, and the class's own
	// parcels keep their place (a small parcel given a large compartment at
	// booking, its class full by the forecast, makes room this evening for
	// a large parcel the class would otherwise send elsewhere).
	for _, down := range []bool{true, false} {
		for _, i := range order {
			if down && !d.fitsBelow(cands[i].Parcel, loc, size) {
				continue
			}
			if err := attempt(i, down); errors.Is(err, errClassDone) {
				return moved, stuck, back, nil
			} else if err != nil {
				return moved, stuck, back, fmt.Errorf("move %s: %w", cands[i].ID, err)
			}
		}
	}
	return moved, stuck, back, nil
}

// fitsBelow reports whether a class of loc smaller than size takes p.
func (d *Dispatch) fitsBelow(p lokero.Parcel, loc *lokero.Location, size string) bool {
	return len(d.classesBelow(p, loc, size)) > 0
}

// classesBelow are the size classes of loc that take p and come before
// size, the smallest first (every one that takes p when size is not among
// them).
func (d *Dispatch) classesBelow(p lokero.Parcel, loc *lokero.Location, size string) []lokero.CompartmentClass {
	fits := routing.FittingClasses(p, loc, d.s.limits)
	for i, c := range fits {
		if c.Size == size {
			return fits[:i]
		}
	}
	return fits
}

// moveDown moves a booking of a class over at from into a smaller class of
// from that takes its parcel and has room on the date, inside tx, and
// reports whether it did (false changes nothing).
func (d *Dispatch) moveDown(ctx context.Context, tx lokero.Tx, from *lokero.Location, at *room, sh *lokero.Shipment, date lokero.Date) (bool, error) {
	for _, c := range d.classesBelow(sh.Parcel, from, sh.SizeClass) { // the smallest first
		ok, err := tx.Reserve(ctx, from.ID, date, c.Size, at.capacity(c.Size))
		if err != nil {
			return false, fmt.Errorf("reserve a %s compartment at %s: %w", c.Size, from.ID, err)
		}
		if !ok {
			continue
		}
		if err := tx.Release(ctx, from.ID, date, sh.SizeClass); err != nil {
			return false, fmt.Errorf("give back the reservation of %s: %w", sh.ID, err)
		}
		sh.SizeClass = c.Size
		return true, tx.UpdateShipment(ctx, sh)
	}
	return false, nil
}

// room is one locker's size classes as the evening's check counts them
// inside a transaction.
type room struct {
	d           *Dispatch
	loc         *lokero.Location
	today, date lokero.Date
	classes     map[string]*classAt
	broken      map[string]int
}

// roomIn reads a locker's compartments out of order, the parcels in them
// and its reservations from today to date in tx, in one statement.
func (d *Dispatch) roomIn(ctx context.Context, tx lokero.Tx, l *lokero.Location, today, date lokero.Date) (*room, error) {
	load, err := tx.LockerLoad(ctx, l.ID, today, date)
	if err != nil {
		return nil, err
	}
	cs := sizeClasses{}
	cs.addOccupants(load.Occupants, today)
	for day := today; !day.After(date); day = day.AddDays(1) {
		cs.addReserved(day, map[string]map[string]int{l.ID: load.Reserved[day]})
	}
	return &room{d: d, loc: l, today: today, date: date, classes: cs[l.ID], broken: load.OutOfOrder}, nil
}

// class is a size class's count (empty when nothing is there or booked).
func (r *room) class(size string) occupancy.Class {
	if c := r.classes[size]; c != nil {
		return c.Class
	}
	return occupancy.Class{}
}

// over is how many bookings of the class for the date are beyond its
// room, away of them not coming.
func (r *room) over(size string, away int) int {
	c := r.class(size)
	c.Reserved = maps.Clone(c.Reserved)
	if c.Reserved == nil {
		c.Reserved = map[lokero.Date]int{}
	}
	c.Reserved[r.date] = max(0, c.Reserved[r.date]-away)
	return r.d.dwell(r.loc.Type).Over(ReservationCapacity(r.loc, size), r.broken[size], c, r.today, r.date, r.d.margin)
}

// capacity is how many reservations of the class for the date the store's
// counter may hold (Tx.Reserve): the compartments in order less the
// parcels carried into the date, plus those of them that hold a
// reservation for it (the store counts them among the date's).
func (r *room) capacity(size string) int {
	carried := int(math.Round(r.d.dwell(r.loc.Type).CarriedAtDispatch(r.class(size), r.today, r.date, r.d.margin)))
	holding := 0
	if c := r.classes[size]; c != nil {
		holding = c.holding[r.date]
	}
	return ReservationCapacity(r.loc, size) - r.broken[size] - carried + holding
}

// reserve takes a compartment of the smallest class that fits the parcel
// and has room on the date as the evening's check counts it, other than
// except, and that keep (when not nil) accepts once reserved (a
// reservation keep refuses is given back); it reports the class, or
// false.
func (r *room) reserve(ctx context.Context, tx lokero.Tx, p lokero.Parcel, except string, keep func(lokero.CompartmentClass) (bool, error)) (string, bool, error) {
	for _, c := range routing.FittingClasses(p, r.loc, r.d.s.limits) {
		if c.Size == except {
			continue
		}
		ok, err := tx.Reserve(ctx, r.loc.ID, r.date, c.Size, r.capacity(c.Size))
		if err != nil {
			return "", false, fmt.Errorf("reserve a %s compartment at %s: %w", c.Size, r.loc.ID, err)
		}
		if !ok {
			continue
		}
		if keep == nil {
			return c.Size, true, nil
		}
		if kept, err := keep(c); err != nil || kept {
			return c.Size, kept, err
		}
		if err := tx.Release(ctx, r.loc.ID, r.date, c.Size); err != nil {
			return "", false, fmt.Errorf("give back a %s compartment at %s: %w", c.Size, r.loc.ID, err)
		}
	}
	return "", false, nil
}

// move finds a booking of a class over at from another place inside tx:
// the locker its shopper asked for, when it came to from by a capacity
// overflow from there and that one has room now (tryBack; back reports
// it), else a bigger class of from with room (no turn-away: only its
// reservation changes), else the nearest locker with room on the date
// (routing.Overflow, tried in order), where it is re-routed (rerouteTo).
// It reports false, changing nothing, when none has room. The caller has
// checked the booking's status.
func (d *Dispatch) move(ctx context.Context, tx lokero.Tx, from *lokero.Location, at *room, sh *lokero.Shipment, today, date lokero.Date) (ok, back bool, err error) {
	if mayMoveBack(sh, from.ID, date, false) {
		if ok, _, err := d.tryBack(ctx, tx, sh, today, date); err != nil || ok {
			return ok, ok, err
		}
	}
	if size, ok, err := at.reserve(ctx, tx, sh.Parcel, sh.SizeClass, nil); err != nil || ok {
		if !ok {
			return false, false, err
		}
		if err := tx.Release(ctx, from.ID, date, sh.SizeClass); err != nil {
			return false, false, fmt.Errorf("give back the reservation of %s: %w", sh.ID, err)
		}
		sh.SizeClass = size
		return true, false, tx.UpdateShipment(ctx, sh)
	}
	req := routing.Request{Recipient: sh.Recipient, Parcel: sh.Parcel, COD: sh.COD != nil}
	on := date.String()
	rdir := routingDirectory{snap: d.s.dir.Snapshot(), dir: d.s.dir, date: on}
	// As far as a booking's overflow looks (maxOverflowTries): a booking
	// the check finds no room for is left to the door, which turns it
	// away in the morning, and its alternative for the day can take a
	// compartment a neighbour's own parcel needs.
	// (The check counts a locker's room by what it holds this evening,
	// roomIn, not by the booking's forecast that spread's count is: the
	// count orders the lockers, roomIn decides.)
	alts, _, err := d.s.spread(ctx, tx, from, req, date, routing.Overflow(from, req, rdir, d.s.limits, on, map[string]bool{from.ID: true}, maxOverflowTries))
	if err != nil {
		return false, false, err
	}
	for _, alt := range alts {
		there, err := d.roomIn(ctx, tx, alt.Location, today, date)
		if err != nil {
			return false, false, err
		}
		size, ok, err := there.reserve(ctx, tx, sh.Parcel, "", nil)
		if err != nil {
			return false, false, err
		}
		if !ok {
			continue
		}
		reason := alt.Reason + DispatchNote
		return true, false, rerouteTo(ctx, tx, sh, alt.Location, size, lokero.Routing{Rule: alt.Rule, Reason: reason}, DispatchRerouteNote+reason)
	}
	return false, false, nil
}

// backCandidate is a booking the evening's check may move back to the
// locker its shopper asked for: at locker from now.
type backCandidate struct {
	sh   lokero.Shipment
	from string
}

// mayMoveBack reports whether a booking for date at the locker from (as
// read, maybe out of a transaction) is one the evening's check moves back
// to the locker asked for when it has room: a delivery not yet deposited
// that comes on date (not a CREATED one after the cut-off, late), asked
// for a locker (PickupPointID) other than from, and sent to from by a
// capacity overflow — at booking or by an earlier evening's check on a
// forecast. Not one a door turned away (an event beginning with
// LockerRerouteNote; the events are read in the transaction): the courier
// has it on its way to the locker the door found. Never one sent
// elsewhere for another reason (a closed point, a COD redirect, the
// retailer's fallback): those rules are not capacity_overflow.
func mayMoveBack(sh *lokero.Shipment, from string, date lokero.Date, late bool) bool {
	if sh.Kind.OrDefault() != lokero.ShipmentDelivery || sh.DestinationID != from || sh.DeliveryDate != date ||
		sh.Compartment != 0 || sh.SizeClass == "" || sh.Routing.Rule != routing.RuleCapacityOverflow ||
		sh.PickupPointID == "" || sh.PickupPointID == from ||
		(sh.Status != lokero.StatusInTransit && (late || sh.Status != lokero.StatusCreated)) {
		return false
	}
	return !slices.ContainsFunc(sh.Events, func(e lokero.ShipmentEvent) bool {
		return strings.HasPrefix(e.Reason, LockerRerouteNote)
	})
}

// moveBack moves the bookings for date that overflowed from the locker
// their shopper asked for back to it, where it has room by the evening's
// count (the same as the moves out: its compartments in order less every
// parcel in them now and every earlier booking not yet delivered, the
// store's counter taking no more than that). The candidates are found at
// the lockers with bookings for date (at). Each asked-for locker takes its
// candidates in occupancy.ToMoveBack's order, each in its own transaction
// that reads the booking again, asks the routing rules whether a booking
// straight to that locker goes there (the rule and reason it gets, within
// the retailer's share of a class), counts the locker's room again and
// reserves there, giving back the reservation where it was (rerouteTo:
// event, webhook, the recipient's notice). A locker a move leaves with
// room is looked at again for those asked for it. It adds the lockers it
// changed to touched.
func (d *Dispatch) moveBack(ctx context.Context, lists map[string][]lokero.Shipment, today, date lokero.Date, late bool, touched map[string]bool) ([]lokero.Shipment, error) {
	on := date.String()
	snap := d.s.dir.Snapshot()
	pending := map[string][]backCandidate{} // by the locker asked for
	for _, id := range slices.Sorted(maps.Keys(lists)) {
		for _, sh := range lists[id] {
			if !mayMoveBack(&sh, id, date, late) {
				continue
			}
			if asked := snap.ByID(sh.PickupPointID); asked != nil && asked.Type.IsLocker() && asked.OpenOn(on) {
				pending[sh.PickupPointID] = append(pending[sh.PickupPointID], backCandidate{sh: sh, from: id})
			}
		}
	}
	for asked, cs := range pending {
		bookings := make([]occupancy.Booking, len(cs))
		for i, c := range cs {
			bookings[i] = occupancy.Booking{ID: c.sh.ID, HandedOver: c.sh.Status == lokero.StatusInTransit}
		}
		sorted := make([]backCandidate, 0, len(cs))
		for _, i := range occupancy.ToMoveBack(bookings) {
			sorted = append(sorted, cs[i])
		}
		pending[asked] = sorted
	}
	var back []lokero.Shipment
	look := slices.Sorted(maps.Keys(pending))
	for len(look) > 0 {
		freed := map[string]bool{}
		for _, asked := range look {
			loc := snap.ByID(asked)
			full := map[string]bool{} // size classes found without room
			var left []backCandidate
			for _, c := range pending[asked] {
				if !slices.ContainsFunc(routing.FittingClasses(c.sh.Parcel, loc, d.s.limits), func(cc lokero.CompartmentClass) bool { return !full[cc.Size] }) {
					left = append(left, c)
					continue
				}
				moved, noRoom, err := d.backTo(ctx, loc, c, today, date, late)
				if err != nil {
					return back, fmt.Errorf("move %s back to %s: %w", c.sh.ID, asked, err)
				}
				switch {
				case moved.ID != "":
					d.movedBack.Add(1)
					back = append(back, moved)
					touched[asked], touched[c.from], freed[c.from] = true, true, true
				case noRoom:
					for _, cc := range routing.FittingClasses(c.sh.Parcel, loc, d.s.limits) {
						full[cc.Size] = true
					}
					left = append(left, c)
				}
			}
			pending[asked] = left
		}
		look = look[:0]
		for id := range freed {
			if len(pending[id]) > 0 {
				look = append(look, id)
			}
		}
		slices.Sort(look)
	}
	return back, nil
}

// bookingsAt lists the shipments on their way to each of the lockers
// (CREATED and IN_TRANSIT), by locker ID: what the final evening's moves
// down and back choose from.
func (d *Dispatch) bookingsAt(ctx context.Context, ids []string) (map[string][]lokero.Shipment, error) {
	lists := make(map[string][]lokero.Shipment, len(ids))
	for _, id := range ids {
		list, err := d.s.store.ShipmentsTo(ctx, id, []lokero.ShipmentStatus{lokero.StatusCreated, lokero.StatusInTransit})
		if err != nil {
			return nil, err
		}
		lists[id] = list
	}
	return lists, nil
}

// mayMoveDown reports whether a booking at loc (as read, maybe out of a
// transaction) is one the evening's check moves into a smaller class of
// loc with room: a delivery not yet deposited that comes on date, whose
// parcel a class of loc smaller than its reservation's takes.
func (d *Dispatch) mayMoveDown(sh *lokero.Shipment, loc *lokero.Location, date lokero.Date, late bool) bool {
	return sh.Kind.OrDefault() == lokero.ShipmentDelivery && sh.DestinationID == loc.ID && sh.DeliveryDate == date &&
		sh.Compartment == 0 && sh.SizeClass != "" &&
		(sh.Status == lokero.StatusInTransit || !late && sh.Status == lokero.StatusCreated) &&
		d.fitsBelow(sh.Parcel, loc, sh.SizeClass)
}

// moveDownAll moves each booking for date that mayMoveDown into the
// smallest class of its locker with room on date as the evening's check
// counts it, the first booked first, each in its own transaction that
// reads it again: the door puts a parcel in the smallest free compartment
// that takes it, and the reservations then count what the door will do.
// A locker's room is read once, at its first such booking, and counted
// down as bookings move: a booking no smaller class has room for by that
// count opens no transaction (at a full locker, most of them). It adds
// the lockers it changed to touched.
func (d *Dispatch) moveDownAll(ctx context.Context, lists map[string][]lokero.Shipment, today, date lokero.Date, late bool, touched map[string]bool) error {
	snap := d.s.dir.Snapshot()
	for _, id := range slices.Sorted(maps.Keys(lists)) {
		loc := snap.ByID(id)
		if loc == nil {
			continue
		}
		var free map[string]int            // by class: reservations the store's counter still takes
		for _, listed := range lists[id] { // by ID: the first booked first
			if !d.mayMoveDown(&listed, loc, date, late) {
				continue
			}
			if free == nil {
				var err error
				if free, err = d.freeIn(ctx, loc, today, date); err != nil {
					return fmt.Errorf("count the room at %s: %w", id, err)
				}
			}
			if !d.roomBelow(free, listed.Parcel, loc, listed.SizeClass) {
				continue
			}
			var from, to string // the classes of a booking moved
			err := d.s.store.InTx(ctx, func(tx lokero.Tx) error {
				from, to = "", ""
				sh, err := tx.Shipment(ctx, listed.ID)
				if err != nil || !d.mayMoveDown(&sh, loc, date, late) {
					return err // moved, deposited or re-dated meanwhile
				}
				room, err := d.roomIn(ctx, tx, loc, today, date)
				if err != nil {
					return err
				}
				was := sh.SizeClass
				if ok, err := d.moveDown(ctx, tx, loc, room, &sh, date); !ok || err != nil {
					return err
				}
				from, to = was, sh.SizeClass
				return nil
			})
			if err != nil {
				return fmt.Errorf("move %s down at %s: %w", listed.ID, id, err)
			}
			if to != "" {
				free[from]++
				free[to]--
				touched[id] = true
			} else {
				// None smaller had room by the transaction's own count.
				for _, c := range d.classesBelow(listed.Parcel, loc, listed.SizeClass) {
					free[c.Size] = 0
				}
			}
		}
	}
	return nil
}

// freeIn is how many more reservations each size class of loc takes for
// date by the evening's count (room.capacity less the store's counter),
// read in a transaction of its own.
func (d *Dispatch) freeIn(ctx context.Context, loc *lokero.Location, today, date lokero.Date) (map[string]int, error) {
	free := map[string]int{}
	err := d.s.store.InTx(ctx, func(tx lokero.Tx) error {
		r, err := d.roomIn(ctx, tx, loc, today, date)
		if err != nil {
			return err
		}
		for _, c := range loc.Compartments {
			counted := 0
			if at := r.classes[c.Size]; at != nil {
				counted = at.Reserved[date] + at.holding[date]
			}
			free[c.Size] = r.capacity(c.Size) - counted
		}
		return nil
	})
	return free, err
}

// roomBelow reports whether a class of loc smaller than size that takes p
// has room by free's count.
func (d *Dispatch) roomBelow(free map[string]int, p lokero.Parcel, loc *lokero.Location, size string) bool {
	return slices.ContainsFunc(d.classesBelow(p, loc, size), func(c lokero.CompartmentClass) bool { return free[c.Size] > 0 })
}

// backTo moves one candidate back to loc, the locker asked for, in its own
// transaction (tryBack): the booking moved, or noRoom when loc has no room
// for it by the evening's count (nothing changed either way when the
// booking changed meanwhile, the routing rules no longer send it to loc,
// or the retailer holds its share of loc's classes).
func (d *Dispatch) backTo(ctx context.Context, loc *lokero.Location, c backCandidate, today, date lokero.Date, late bool) (moved lokero.Shipment, noRoom bool, err error) {
	err = d.s.store.InTx(ctx, func(tx lokero.Tx) error {
		moved, noRoom = lokero.Shipment{}, false
		sh, err := tx.Shipment(ctx, c.sh.ID)
		if err != nil {
			return err
		}
		if !mayMoveBack(&sh, c.from, date, late) || sh.PickupPointID != loc.ID {
			return nil // moved, deposited or re-dated meanwhile
		}
		ok, full, err := d.tryBack(ctx, tx, &sh, today, date)
		if ok {
			moved = sh
		}
		noRoom = full
		return err
	})
	if err != nil {
		return lokero.Shipment{}, false, err
	}
	return moved, noRoom, nil
}

// tryBack moves a booking for date that mayMoveBack back to the locker its
// shopper asked for inside tx, when a booking straight to it goes there by
// the routing rules (the rule and reason it gets then, DispatchBackReason
// added) and it has room on date as the evening's check counts it, within
// the retailer's share of its classes (as a booking): the reservation is
// taken there and given back where the booking was (rerouteTo, the event
// beginning with DispatchBackNote). It reports whether it moved the
// booking, and noRoom when the locker had no room for it.
func (d *Dispatch) tryBack(ctx context.Context, tx lokero.Tx, sh *lokero.Shipment, today, date lokero.Date) (moved, noRoom bool, err error) {
	on := date.String()
	asked := d.s.dir.Snapshot().ByID(sh.PickupPointID)
	if asked == nil || !asked.Type.IsLocker() || !asked.OpenOn(on) {
		return false, false, nil
	}
	// Where a booking straight to the locker asked for goes, and why.
	fallback := sh.Fallback
	if fallback == FallbackNearestOpen {
		fallback = "" // ours, applied after the rules
	}
	req := routing.Request{PickupPointID: sh.PickupPointID, Recipient: sh.Recipient, Parcel: sh.Parcel, COD: sh.COD != nil, Fallback: fallback}
	dec, err := routing.Route(req, routingDirectory{snap: d.s.dir.Snapshot(), dir: d.s.dir, date: on}, d.s.limits)
	if err != nil || dec.Location == nil || dec.Location.ID != asked.ID {
		return false, false, nil // the rules send it elsewhere now: it stays
	}
	room, err := d.roomIn(ctx, tx, asked, today, date)
	if err != nil {
		return false, false, err
	}
	share := false // a class had room, but not within the retailer's share
	keep := func(c lokero.CompartmentClass) (bool, error) {
		if d.s.retailerShare >= 1 {
			return true, nil
		}
		mine, err := tx.RetailerReservations(ctx, sh.RetailerID, asked.ID, date)
		if err != nil {
			return false, err
		}
		ok := mine[c.Size] < retailerCap(c.Count, d.s.retailerShare)
		share = share || !ok
		return ok, nil
	}
	size, ok, err := room.reserve(ctx, tx, sh.Parcel, "", keep)
	if err != nil || !ok {
		return false, err == nil && !share, err
	}
	reason := dec.Reason + DispatchBackReason
	if err := rerouteTo(ctx, tx, sh, asked, size, lokero.Routing{Rule: dec.Rule, Reason: reason}, DispatchBackNote+reason); err != nil {
		return false, false, err
	}
	return true, false, nil
}
