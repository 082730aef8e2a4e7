package service

import (
	"context"
	"fmt"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/routing"
	"github.com/lokero/lokero/tracking"
)

// DepositResult is the compartment a courier is to put a parcel in.
type DepositResult struct {
	Shipment    lokero.Shipment
	Compartment lokero.Compartment
}

// Deposit is a courier scanning a parcel at a locker (with the courier's
// handheld, or at the locker's own keypad in courier mode: a device
// event, DeviceEventDeposit): the best-fitting
// free compartment is allocated and its lock opened; the deposit completes
// when the device reports the door closed. The parcel scanned again before
// that opens the same compartment again. A parcel for another locker is
// an ECONFLICT and nothing changes. With no fitting compartment free, the
// shipment is re-routed to the nearest locker that has one (the retailer
// and tracking see why) and the answer is an ECONFLICT naming it.
func (l *Lockers) Deposit(ctx context.Context, courier lokero.Credential, locationID, trackingCode string) (DepositResult, error) {
	loc, err := l.lockerAt(locationID)
	if err != nil {
		return DepositResult{}, err
	}
	found, code, err := l.scanned(ctx, trackingCode)
	if err != nil {
		return DepositResult{}, err
	}
	var (
		res      DepositResult
		rerouted *routing.Decision
	)
	err = l.deviceTx(ctx, func(tx lokero.Tx) error {
		res, rerouted = DepositResult{}, nil
		sh, err := tx.Shipment(ctx, found.ID)
		if err != nil {
			return err
		}
		if sh.DestinationID != loc.ID {
			dest := sh.DestinationID
			if d := l.dir.Snapshot().ByID(dest); d != nil {
				dest = fmt.Sprintf("%s (%s)", d.Name, d.ID)
			}
			return &lokero.Error{Code: lokero.ECONFLICT, Reason: "wrong_locker", Field: "tracking_code",
				Message: fmt.Sprintf("parcel %s is for %s, not this locker", code, dest)}
		}
		if sh.Status != lokero.StatusInTransit && sh.Status != lokero.StatusInLocker {
			return &lokero.Error{Code: lokero.ECONFLICT, Reason: lokero.ReasonIllegalTransition,
				Message: fmt.Sprintf("parcel %s is %s: only a parcel in transit is deposited", code, sh.Status)}
		}
		cs, err := l.compartments(ctx, tx, loc)
		if err != nil {
			return err
		}
		if sh.Status == lokero.StatusInLocker {
			// Scanned again before its door closed: the courier's answer
			// was lost, or the locker's came after it stopped waiting,
			// and the door never opened. The same compartment opens again.
			c, err := numbered(cs, sh.Compartment)
			if err != nil || c.ShipmentID != sh.ID {
				return fmt.Errorf("shipment %s is in compartment %d, which does not hold it", sh.ID, sh.Compartment)
			}
			c.DoorOpen, c.DoorForced = true, false // the centre's own opening
			if err := tx.PutCompartment(ctx, c); err != nil {
				return err
			}
			res = DepositResult{Shipment: sh, Compartment: c}
			return nil
		}
		c, ok := allocate(sh.Parcel, cs)
		if !ok {
			alt, size, err := l.alternative(ctx, tx, loc, &sh)
			if err != nil || alt == nil {
				return err
			}
			rerouted = alt
			return l.reroute(ctx, tx, &sh, *alt, size)
		}
		c.ShipmentID, c.DoorOpen, c.DoorForced = sh.ID, true, false
		if err := tx.PutCompartment(ctx, c); err != nil {
			return err
		}
		sh.Compartment = c.Number
		if err := sh.Transition(lokero.StatusInLocker, tx.Now(), loc.ID, fmt.Sprintf("Put in compartment %d by the courier.", c.Number)); err != nil {
			return err
		}
		if err := tx.UpdateShipment(ctx, &sh); err != nil {
			return err
		}
		res = DepositResult{Shipment: sh, Compartment: c}
		return nil
	})
	if err != nil {
		return DepositResult{}, err
	}
	if rerouted != nil {
		l.doorReroutes.Add(1)
		l.dir.reservationsChanged(loc.ID, rerouted.Location.ID)
		return DepositResult{}, &lokero.Error{Code: lokero.ECONFLICT, Reason: "no_free_compartment",
			Message: fmt.Sprintf("no free compartment here takes parcel %s: it is re-routed to %s (%s), %s",
				code, rerouted.Location.Name, rerouted.Location.ID, rerouted.Location.Street)}
	}
	if res.Compartment.Number == 0 {
		return DepositResult{}, &lokero.Error{Code: lokero.ECONFLICT, Reason: "no_free_compartment",
			Message: fmt.Sprintf("no free compartment here takes parcel %s, and no locker near it has one", code)}
	}
	// The parcel now counts in the compartments (capacity over time).
	l.dir.reservationsChanged(loc.ID)
	return res, nil
}

// scanned finds the parcel a courier scanned at a locker by its tracking
// code (normalised, returned as code); a malformed code is EINVALID, an
// unknown one, or a return's tracking code, ENOTFOUND.
func (l *Lockers) scanned(ctx context.Context, trackingCode string) (lokero.Shipment, string, error) {
	code := tracking.Normalize(trackingCode)
	if !tracking.Valid(code) {
		return lokero.Shipment{}, code, lokero.Invalid("tracking_code", "malformed", "%q is not a tracking code (e.g. CL123456785FI)", trackingCode)
	}
	found, err := l.store.ShipmentByTrackingCode(ctx, code)
	if lokero.ErrorCode(err) == lokero.ENOTFOUND || (err == nil && found.TrackingCode != code) {
		return lokero.Shipment{}, code, &lokero.Error{Code: lokero.ENOTFOUND, Reason: "unknown_tracking_code", Field: "tracking_code", Message: "no parcel with tracking code " + code}
	}
	return found, code, err
}

// alternative finds the nearest locker of the same access with a free
// compartment that takes the parcel now, first among those where a
// compartment can be booked for today as a booking would book it (the
// capacity over time: today's bookings still to come and the parcels
// there), so that the parcel does not take the compartment of a parcel
// booked there for today, which would be turned away at that door in its
// turn; failing those, any with a compartment free now. size is the class
// booked at the alternative for today, "" when none was.
func (l *Lockers) alternative(ctx context.Context, tx lokero.Tx, full *lokero.Location, sh *lokero.Shipment) (alt *routing.Decision, size string, err error) {
	req := routing.Request{Recipient: sh.Recipient, Parcel: sh.Parcel, COD: sh.COD != nil}
	today := lokero.DateOf(tx.Now())
	// Only lockers open today: a closed one is no place for the parcel.
	rdir := routingDirectory{snap: l.dir.Snapshot(), dir: l.dir, date: today.String()}
	var freeNow *routing.Decision
	for _, d := range routing.Overflow(full, req, rdir, l.limits, today.String(), map[string]bool{full.ID: true}, 10) {
		cs, err := l.compartments(ctx, tx, d.Location)
		if err != nil {
			return nil, "", err
		}
		if _, ok := allocate(sh.Parcel, cs); !ok {
			continue
		}
		size, booked, err := reserveAt(ctx, tx, l.dir.availability, d.Location, sh.Parcel, l.limits, today)
		if err != nil {
			return nil, "", err
		}
		if booked {
			return &d, size, nil
		}
		if freeNow == nil {
			freeNow = &d
		}
	}
	return freeNow, "", nil
}

// reroute sends a shipment in transit to another locker, moving nothing
// but its destination: the reservation at the full locker is given back,
// the one booked at the new locker for today (size, "" for none) is the
// parcel's, and the recipient is told of the new locker (queueRerouted).
func (l *Lockers) reroute(ctx context.Context, tx lokero.Tx, sh *lokero.Shipment, d routing.Decision, size string) error {
	if sh.SizeClass != "" {
		if err := tx.Release(ctx, sh.DestinationID, sh.DeliveryDate, sh.SizeClass); err != nil {
			return err
		}
		sh.SizeClass = ""
	}
	if size != "" {
		sh.SizeClass, sh.DeliveryDate = size, lokero.DateOf(tx.Now())
	}
	sh.DestinationID, sh.Routing = d.Location.ID, lokero.Routing{Rule: d.Rule, Reason: d.Reason}
	sh.Note(tx.Now(), d.Location.ID, LockerRerouteNote+d.Reason)
	if err := tx.UpdateShipment(ctx, sh); err != nil {
		return err
	}
	return queueRerouted(ctx, tx, sh, d.Location)
}
