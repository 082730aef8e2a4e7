package service

import (
	"context"
	"fmt"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/tracking"
)

// Collections lists the parcels a courier is to take out of a locker, or
// from an outlet's shelves: those whose storage period has ended, and the
// returns and pre-paid parcels consumers dropped off (at the keypad or
// the counter), by compartment or shelf place number.
func (l *Lockers) Collections(ctx context.Context, courier lokero.Credential, locationID string) ([]lokero.Shipment, error) {
	if courier.Kind != lokero.KindCourier && courier.Kind != lokero.KindOperator {
		return nil, lokero.Errorf(lokero.EFORBIDDEN, "the collection list is for couriers and operators")
	}
	loc, err := l.pointAt(locationID)
	if err != nil {
		return nil, err
	}
	cs, err := l.store.Compartments(ctx, loc.ID)
	if err != nil {
		return nil, err
	}
	shipments, err := l.placed(ctx, loc, cs)
	if err != nil {
		return nil, err
	}
	out := []lokero.Shipment{}
	for _, c := range cs {
		if sh, ok := shipments[c.ShipmentID]; ok && (sh.Status == lokero.StatusExpired || sh.Status == lokero.StatusDroppedOff) {
			out = append(out, sh)
		}
	}
	return out, nil
}

// Collect is a courier taking a parcel out of its compartment, or from an
// outlet's shelf place: an expired one is RETURNING to its sender (its
// reservation is free), a dropped-off return or pre-paid parcel is
// IN_TRANSIT to the store or its recipient. The compartment or shelf
// place is free; its number is returned with the parcel (a locker's
// controller opens it). A parcel that is not there is ENOTFOUND
// "not_in_locker" at a locker, "not_on_shelf" at an outlet.
func (l *Lockers) Collect(ctx context.Context, courier lokero.Credential, locationID, trackingCode string) (lokero.Shipment, int, error) {
	if courier.Kind != lokero.KindCourier {
		return lokero.Shipment{}, 0, lokero.Errorf(lokero.EFORBIDDEN, "only a courier collects parcels")
	}
	loc, err := l.pointAt(locationID)
	if err != nil {
		return lokero.Shipment{}, 0, err
	}
	code := tracking.Normalize(trackingCode)
	if !tracking.Valid(code) {
		return lokero.Shipment{}, 0, lokero.Invalid("tracking_code", "malformed", "%q is not a tracking code", trackingCode)
	}
	notThere := &lokero.Error{Code: lokero.ENOTFOUND, Reason: "not_in_locker", Field: "tracking_code", Message: fmt.Sprintf("parcel %s is not in this locker", code)}
	if loc.Type.IsOutlet() {
		notThere = &lokero.Error{Code: lokero.ENOTFOUND, Reason: "not_on_shelf", Field: "tracking_code", Message: fmt.Sprintf("parcel %s is not on this outlet's shelves", code)}
	}
	// The parcel is found by its code first, and then only its own
	// compartment's row is read: not every parcel of a big shelf, locked.
	found, err := l.store.ShipmentByTrackingCode(ctx, code)
	if lokero.ErrorCode(err) == lokero.ENOTFOUND || (err == nil && found.TrackingCode != code) {
		return lokero.Shipment{}, 0, notThere
	} else if err != nil {
		return lokero.Shipment{}, 0, err
	}
	var out lokero.Shipment
	var number int
	err = l.store.InTx(ctx, func(tx lokero.Tx) error {
		// An outlet's shelf places are laid out as parcels arrive: there
		// is nothing to lay out for a collection.
		var cs []lokero.Compartment
		if loc.Type.IsLocker() {
			cs, err = l.compartments(ctx, tx, loc)
		} else {
			cs, err = tx.Compartments(ctx, loc.ID)
		}
		if err != nil {
			return err
		}
		for _, c := range cs {
			if c.ShipmentID != found.ID {
				continue
			}
			sh, err := tx.Shipment(ctx, c.ShipmentID)
			if err != nil {
				return err
			}
			if sh.Status != lokero.StatusExpired && sh.Status != lokero.StatusDroppedOff {
				return &lokero.Error{Code: lokero.ECONFLICT, Reason: lokero.ReasonIllegalTransition, Message: fmt.Sprintf("parcel %s is %s: only expired and dropped-off parcels are collected", code, sh.Status)}
			}
			now := tx.Now()
			// The reservation is given back for the day it was taken, before
			// a dropped-off parcel's delivery day is set anew below.
			if sh.SizeClass != "" { // only a delivery that expired has one
				if err := tx.Release(ctx, sh.DestinationID, sh.DeliveryDate, sh.SizeClass); err != nil {
					return err
				}
				sh.SizeClass = ""
			}
			// An expired parcel goes back to its sender; a dropped-off one
			// sets out on its way to the store or its recipient.
			next, reason := lokero.StatusReturning, "Collected by the courier: on its way back to the sender."
			if sh.Status == lokero.StatusDroppedOff {
				next, reason = lokero.StatusInTransit, "Collected by the courier: on its way to the store."
				if sh.Kind == lokero.ShipmentPrepaid {
					reason = "Collected by the courier: on its way to the recipient."
					if d := l.dir.Snapshot().ByID(sh.DestinationID); d != nil {
						reason = fmt.Sprintf("Collected by the courier: on its way to %s.", d.Name)
					}
				}
				sh.DeliveryDate = l.calendar.DeliveryDate(now)
			}
			c.ShipmentID, c.DoorOpen = "", false
			if err := tx.PutCompartment(ctx, c); err != nil {
				return err
			}
			sh.Compartment = 0
			if err := sh.Transition(next, now, loc.ID, reason); err != nil {
				return err
			}
			if err := tx.UpdateShipment(ctx, &sh); err != nil {
				return err
			}
			out, number = sh, c.Number
			return nil
		}
		return notThere
	})
	if err == nil {
		l.dir.reservationsChanged(loc.ID, out.DestinationID)
	}
	return out, number, err
}
