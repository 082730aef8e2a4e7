package service

import (
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/locker"
	"github.com/lokero/lokero/routing"
)

// LockerStore is what the locker use cases need of a database.
type LockerStore interface {
	lokero.ShipmentStore
	lokero.RetailerStore
	lokero.CredentialStore
	lokero.LockerStore
	lokero.PushStore
	lokero.DeviceStore
}

// Lockers are the use cases where parcels wait for their recipients: at
// the locker couriers deposit, devices report doors and keypad entries;
// at an outlet's counter clerks scan parcels in, hand them over and take
// returns in (outlet.go); at both couriers collect. The opening or pickup
// code travels only in the notice of arrival.
type Lockers struct {
	store    LockerStore
	dir      *Directory
	calendar *calendar.Calendar
	clock    lokero.Clock
	random   io.Reader
	codes    *locker.Codes
	policy   locker.CodePolicy
	limits   routing.Limits
	log      *slog.Logger
	// derivations bounds the verifiers derived at once (devicesync.go).
	derivations *locker.Derivations

	// delivery sends the outbox's messages (delivery.go).
	delivery delivery

	// doorReroutes counts the parcels that found no free compartment at
	// their locker's door and were re-routed (DoorReroutes).
	doorReroutes atomic.Int64
}

// DoorReroutes counts the parcels of this process that found no free
// compartment at the door and went on to another locker: the turn-aways
// that capacity over time exists to decide at booking instead.
func (l *Lockers) DoorReroutes() int64 { return l.doorReroutes.Load() }

// Job kinds the locker schedules (Tx.ScheduleJob), in the transaction
// of the deposit: the storage period's reminder and expiry.
const (
	JobReminder = "storage_reminder" // 2 days before the storage deadline
	JobExpiry   = "storage_expiry"   // at the deadline
)

// NewLockers returns the locker use cases. codes holds the server secret
// that opening codes are hashed with; random is crypto/rand.Reader in
// production.
func NewLockers(store LockerStore, dir *Directory, cal *calendar.Calendar, clock lokero.Clock, random io.Reader, codes *locker.Codes, log *slog.Logger) *Lockers {
	if random == nil {
		random = rand.Reader
	}
	return &Lockers{store: store, dir: dir, calendar: cal, clock: clock, random: random, codes: codes,
		policy: locker.DefaultPolicy(), limits: routing.DefaultLimits(), log: log,
		derivations: locker.NewDerivations(locker.DefaultKDF.Slots(runtime.GOMAXPROCS(0)))}
}

func (l *Lockers) now() time.Time { return l.clock.Now().UTC().Truncate(time.Microsecond) }

// lockerAt returns the locker with the id, or ENOTFOUND.
func (l *Lockers) lockerAt(id string) (*lokero.Location, error) {
	loc := l.dir.Snapshot().ByID(id)
	if loc == nil || !loc.Type.IsLocker() {
		msg := fmt.Sprintf("no locker with id %q", id)
		if loc != nil && loc.Type.IsOutlet() {
			msg = fmt.Sprintf("%s (%s) is a %s, not a locker: its clerks take parcels in and hand them over at the counter", loc.Name, loc.ID, loc.Type)
		}
		return nil, &lokero.Error{Code: lokero.ENOTFOUND, Reason: "unknown_locker", Message: msg}
	}
	return loc, nil
}

// outletAt returns the outlet (a POSTOFFICE or a PICKUPPOINT) with the
// id, or ENOTFOUND "unknown_outlet".
func (l *Lockers) outletAt(id string) (*lokero.Location, error) {
	loc := l.dir.Snapshot().ByID(id)
	if loc == nil || !loc.Type.IsOutlet() {
		return nil, &lokero.Error{Code: lokero.ENOTFOUND, Reason: "unknown_outlet", Message: fmt.Sprintf("no post office or pickup point with id %q", truncateText(id, 64))}
	}
	return loc, nil
}

// pointAt returns the locker or the outlet with the id, where parcels wait
// for their recipients and couriers collect; an id of neither is
// ENOTFOUND as lockerAt answers it.
func (l *Lockers) pointAt(id string) (*lokero.Location, error) {
	if loc := l.dir.Snapshot().ByID(id); loc != nil && loc.Type.IsOutlet() {
		return loc, nil
	}
	return l.lockerAt(id)
}

// numbered is compartment number (from 1) of cs, or EINVALID on the
// field compartment when the locker has no such compartment.
func numbered(cs []lokero.Compartment, number int) (lokero.Compartment, error) {
	if number >= 1 && number <= len(cs) && cs[number-1].Number == number {
		return cs[number-1], nil
	}
	// Numbered 1..N without gaps as compartments lays them out; a store
	// that has a gap still finds each by its number.
	for _, c := range cs {
		if c.Number == number {
			return c, nil
		}
	}
	last := 0
	if len(cs) > 0 {
		last = cs[len(cs)-1].Number
	}
	return lokero.Compartment{}, lokero.Invalid("compartment", "out_of_range", "this locker has compartments 1..%d; got %d", last, number)
}

// compartments returns a locker's compartments, laid out as the
// directory's size classes say (locker.Layout): the first time, and again
// in this transaction whenever an import changed them (relayout). Rows
// beyond the layout that still hold a parcel follow its rows, out of
// order, until the parcel is gone. An outlet's shelf places are returned
// as stored.
func (l *Lockers) compartments(ctx context.Context, tx lokero.Tx, loc *lokero.Location) ([]lokero.Compartment, error) {
	cs, err := tx.Compartments(ctx, loc.ID)
	if err != nil || !loc.Type.IsLocker() {
		return cs, err
	}
	want := locker.Layout(loc.Compartments)
	if laidOut(cs, want) {
		return cs, nil
	}
	return l.relayout(ctx, tx, loc, cs, want)
}

// laidOut reports whether a locker's rows (by number) are its layout
// want: the same numbers with the same sizes and dimensions, and beyond
// them only rows out of order of which the last is busy (see relayout).
// It reads no more than the rows: the hot path's check.
func laidOut(cs []lokero.Compartment, want []locker.Compartment) bool {
	if len(cs) < len(want) {
		return false
	}
	for i, w := range want {
		if !sameLayout(cs[i], w) {
			return false
		}
	}
	extra := cs[len(want):]
	for _, c := range extra {
		if !c.OutOfOrder {
			return false
		}
	}
	return len(extra) == 0 || busy(extra[len(extra)-1])
}

// sameLayout reports whether row c is compartment w of a layout.
func sameLayout(c lokero.Compartment, w locker.Compartment) bool {
	return c.Number == w.Number && c.Size == w.Size &&
		c.LengthCM == w.LengthCM && c.WidthCM == w.WidthCM && c.HeightCM == w.HeightCM
}

// busy reports whether a compartment's row must stay: a parcel is in it
// (or on its way in or out), or its door is open and its closing still
// to be reported.
func busy(c lokero.Compartment) bool {
	return c.ShipmentID != "" || c.DoorOpen || c.DoorForced
}

// relayout makes a locker's rows cs its layout want, in tx: a number of
// the layout whose row differs takes the layout's size and dimensions,
// keeping its parcel, door and out-of-order mark (the parcel is in that
// numbered compartment); a number new in the layout is added. Rows beyond
// the layout go, except those up to the last busy one: they stay out of
// order (the allocation skips them) until a later call finds them empty.
// Those between the layout and a busy row stay too, so that the numbers
// have no gap (the operator's view and the devices address compartments
// by position). It returns the rows as they now are, by number.
func (l *Lockers) relayout(ctx context.Context, tx lokero.Tx, loc *lokero.Location, cs []lokero.Compartment, want []locker.Compartment) ([]lokero.Compartment, error) {
	out := make([]lokero.Compartment, 0, max(len(cs), len(want)))
	var resized, added, retired, removed int
	i := 0 // cs is by number
	for _, w := range want {
		for i < len(cs) && cs[i].Number < w.Number {
			i++
		}
		c, existed := lokero.Compartment{LocationID: loc.ID, Number: w.Number}, false
		if i < len(cs) && cs[i].Number == w.Number {
			c, existed = cs[i], true
			if sameLayout(c, w) {
				out = append(out, c)
				continue
			}
		}
		c.Size, c.LengthCM, c.WidthCM, c.HeightCM = w.Size, w.LengthCM, w.WidthCM, w.HeightCM
		if err := tx.PutCompartment(ctx, c); err != nil {
			return nil, fmt.Errorf("lay out %s: %w", loc.ID, err)
		}
		if existed {
			resized++
		} else {
			added++
		}
		out = append(out, c)
	}
	keep := len(want) // the highest number kept
	for _, c := range cs {
		if c.Number > len(want) && busy(c) {
			keep = c.Number
		}
	}
	for _, c := range cs {
		switch {
		case c.Number <= len(want):
		case c.Number > keep:
			removed++
		default:
			if !c.OutOfOrder {
				c.OutOfOrder = true
				if err := tx.PutCompartment(ctx, c); err != nil {
					return nil, fmt.Errorf("lay out %s: %w", loc.ID, err)
				}
				retired++
			}
			out = append(out, c)
		}
	}
	if removed > 0 {
		if _, err := tx.DeleteCompartmentsAbove(ctx, loc.ID, keep); err != nil {
			return nil, fmt.Errorf("lay out %s: %w", loc.ID, err)
		}
	}
	if len(cs) > 0 { // not the first lay-out: an import changed the locker
		// In the transaction: one the store retries logs it again.
		l.log.InfoContext(ctx, "locker: compartments laid out again from the directory", "location", loc.ID,
			"compartments", len(want), "resized", resized, "added", added, "removed", removed,
			"kept_out_of_order", len(out)-len(want), "newly_out_of_order", retired)
	}
	return out, nil
}

// allocate picks the best free compartment for a parcel.
func allocate(p lokero.Parcel, cs []lokero.Compartment) (lokero.Compartment, bool) {
	lcs := make([]locker.Compartment, len(cs))
	for i, c := range cs {
		lcs[i] = locker.Compartment{Number: c.Number, Size: c.Size, LengthCM: c.LengthCM, WidthCM: c.WidthCM, HeightCM: c.HeightCM,
			OutOfOrder: c.OutOfOrder, Occupied: c.ShipmentID != ""}
	}
	best, ok := locker.Allocate(p.Dimensions(), lcs)
	if !ok {
		return lokero.Compartment{}, false
	}
	for _, c := range cs {
		if c.Number == best.Number {
			return c, true
		}
	}
	return lokero.Compartment{}, false
}

// deviceLocker checks that a device acts for its own locker.
func (l *Lockers) deviceLocker(device lokero.Credential, locationID string) (*lokero.Location, error) {
	if device.Kind != lokero.KindDevice || device.LocationID != locationID {
		return nil, &lokero.Error{Code: lokero.EFORBIDDEN, Reason: "not_this_locker", Message: "a device acts only for its own locker"}
	}
	return l.lockerAt(locationID)
}
