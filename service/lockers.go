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
	if number < 1 || number > len(cs) {
		return lokero.Compartment{}, lokero.Invalid("compartment", "out_of_range", "this locker has compartments 1..%d; got %d", len(cs), number)
	}
	return cs[number-1], nil
}

// compartments returns a locker's compartments, laying them out from its
// size classes the first time.
func compartments(ctx context.Context, tx lokero.Tx, loc *lokero.Location) ([]lokero.Compartment, error) {
	cs, err := tx.Compartments(ctx, loc.ID)
	if err != nil || len(cs) > 0 {
		return cs, err
	}
	for _, c := range locker.Layout(loc.Compartments) {
		lc := lokero.Compartment{LocationID: loc.ID, Number: c.Number, Size: c.Size, LengthCM: c.LengthCM, WidthCM: c.WidthCM, HeightCM: c.HeightCM}
		if err := tx.PutCompartment(ctx, lc); err != nil {
			return nil, fmt.Errorf("lay out %s: %w", loc.ID, err)
		}
		cs = append(cs, lc)
	}
	return cs, nil
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
