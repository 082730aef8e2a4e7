package service

import (
	"context"
	"fmt"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/tracking"
)

// Get returns one of the retailer's shipments. Another retailer's shipment
// is ENOTFOUND, exactly as if it did not exist.
func (s *Shipments) Get(ctx context.Context, retailer lokero.Retailer, id string) (lokero.Shipment, error) {
	if !plainID(id) || len(id) > 64 {
		return lokero.Shipment{}, notFoundShipment(id)
	}
	sh, err := s.store.Shipment(ctx, id)
	if err == nil && sh.RetailerID != retailer.ID {
		return lokero.Shipment{}, notFoundShipment(id) // nothing of it, as if it did not exist
	} else if lokero.ErrorCode(err) == lokero.ENOTFOUND {
		err = notFoundShipment(id)
	}
	if err != nil {
		return lokero.Shipment{}, err
	}
	return sh, nil
}

func notFoundShipment(id string) error {
	return &lokero.Error{Code: lokero.ENOTFOUND, Reason: "unknown_shipment", Message: fmt.Sprintf("no shipment %q", id)}
}

// MaxShipmentsPage is the most shipments List returns in one page.
const MaxShipmentsPage = 500

// List returns a page of the retailer's shipments and the cursor of the
// next page ("" when this is the last).
func (s *Shipments) List(ctx context.Context, retailer lokero.Retailer, f lokero.ShipmentFilter) ([]lokero.Shipment, string, error) {
	for _, p := range []struct{ field, value string }{{"cursor", f.AfterID}, {"reference", f.Reference}} {
		if err := checkText(p.field, p.value, false, maxTextLen); err != nil || !plainID(p.value) {
			return nil, "", lokero.Invalid(p.field, "malformed", "%s must be printable UTF-8 text of at most %d characters", p.field, maxTextLen)
		}
	}
	if f.Status != "" && !f.Status.Valid() {
		return nil, "", lokero.Invalid("status", "unknown_status", "status must be one of %v; got %q", lokero.ShipmentStatuses, f.Status)
	}
	if f.Limit == 0 {
		f.Limit = 50
	}
	if f.Limit < 1 || f.Limit > MaxShipmentsPage {
		return nil, "", lokero.Invalid("limit", "out_of_range", "limit must be 1..%d; got %d", MaxShipmentsPage, f.Limit)
	}
	f.RetailerID = retailer.ID
	want := f.Limit
	f.Limit++ // one more tells whether there is a next page
	list, err := s.store.Shipments(ctx, f)
	if err != nil {
		return nil, "", fmt.Errorf("list shipments: %w", err)
	}
	next := ""
	if len(list) > want {
		list = list[:want]
		next = list[want-1].ID
	}
	return list, next, nil
}

// Track returns a shipment by its tracking code (or its return's) for the
// public tracking page; the caller shows no personal data.
func (s *Shipments) Track(ctx context.Context, code string) (lokero.Shipment, error) {
	norm := tracking.Normalize(code)
	if !tracking.Valid(norm) {
		return lokero.Shipment{}, lokero.Invalid("tracking_code", "malformed", "%q is not a tracking code (two letters, nine digits, two letters, e.g. JJ123456785FI)", code)
	}
	sh, err := s.store.ShipmentByTrackingCode(ctx, norm)
	if lokero.ErrorCode(err) == lokero.ENOTFOUND {
		return sh, &lokero.Error{Code: lokero.ENOTFOUND, Reason: "unknown_tracking_code", Message: fmt.Sprintf("no shipment with tracking code %s", norm)}
	}
	return sh, err
}

// Cancel cancels a shipment that has not been handed over, releasing its
// compartment reservation.
func (s *Shipments) Cancel(ctx context.Context, retailer lokero.Retailer, id string) (lokero.Shipment, error) {
	return s.transition(ctx, retailer.ID, id, lokero.StatusCancelled, func(tx lokero.Tx, sh *lokero.Shipment) (string, error) {
		switch {
		case sh.Kind == lokero.ShipmentReturn:
			return "", &lokero.Error{Code: lokero.ECONFLICT, Reason: lokero.ReasonIllegalTransition, Message: fmt.Sprintf("shipment %s is a customer's return: it is on its way and cannot be cancelled", sh.ID)}
		case sh.Compartment != 0:
			return "", &lokero.Error{Code: lokero.ECONFLICT, Reason: lokero.ReasonIllegalTransition, Message: fmt.Sprintf("shipment %s is being dropped off at a locker right now", sh.ID)}
		}
		return "Cancelled by the sender before handover.", s.release(ctx, tx, sh)
	})
}

// Handover records that the retailer (or a courier) handed the parcel to
// the carrier. The delivery date follows from the handover time; a locker
// reservation moves with it when there is room on the new date.
func (s *Shipments) Handover(ctx context.Context, retailer lokero.Retailer, id string) (lokero.Shipment, error) {
	return s.handover(ctx, retailer.ID, id)
}

// HandoverByCourier records that a courier picked the parcel up from the
// retailer: a courier may hand over any shipment.
func (s *Shipments) HandoverByCourier(ctx context.Context, courier lokero.Credential, id string) (lokero.Shipment, error) {
	if courier.Kind != lokero.KindCourier {
		return lokero.Shipment{}, lokero.Errorf(lokero.EFORBIDDEN, "only a courier or the retailer hands a parcel over")
	}
	return s.handover(ctx, "", id)
}

// Returned records that a returning parcel was handed to its sender: by
// the retailer (ownerID its id) or a courier (ownerID "").
func (s *Shipments) Returned(ctx context.Context, ownerID, id string) (lokero.Shipment, error) {
	return s.transition(ctx, ownerID, id, lokero.StatusReturnedToSender, func(_ lokero.Tx, sh *lokero.Shipment) (string, error) {
		// A customer's return travels to its store in transit; any other
		// parcel goes back to its sender only after RETURNING.
		if (sh.Kind == lokero.ShipmentReturn) != (sh.Status == lokero.StatusInTransit) {
			return "", &lokero.Error{Code: lokero.ECONFLICT, Reason: lokero.ReasonIllegalTransition,
				Message: fmt.Sprintf("shipment %s is %s and cannot become %s", sh.ID, sh.Status, lokero.StatusReturnedToSender)}
		}
		if sh.Kind == lokero.ShipmentReturn {
			return "The return was delivered to the store.", nil
		}
		return "Handed back to the sender.", nil
	})
}

func (s *Shipments) handover(ctx context.Context, ownerID, id string) (lokero.Shipment, error) {
	return s.transition(ctx, ownerID, id, lokero.StatusInTransit, func(tx lokero.Tx, sh *lokero.Shipment) (string, error) {
		if sh.Kind.DroppedOffByConsumer() {
			return "", &lokero.Error{Code: lokero.ECONFLICT, Reason: lokero.ReasonIllegalTransition,
				Message: fmt.Sprintf("shipment %s is a %s parcel: a consumer drops it off at a parcel locker with its code, and the courier collects it there", sh.ID, sh.Kind)}
		}
		date := s.calendar.DeliveryDate(tx.Now())
		if date == sh.DeliveryDate {
			return "Handed over to the carrier.", nil
		}
		reason, err := s.moveDeliveryDate(ctx, tx, sh, date)
		if err != nil || sh.Kind != lokero.ShipmentDelivery {
			return reason, err
		}
		// Handed over later than booked, the parcel may now arrive on a day
		// its point is closed: then it goes to the nearest open one.
		dest := s.dir.Snapshot().ByID(sh.DestinationID)
		if dest == nil || dest.OpenOn(date.String()) {
			return reason, nil
		}
		moved, err := s.moveOff(ctx, tx, dest, sh)
		if err != nil {
			return "", err
		}
		if !moved {
			s.log.Warn("shipment stranded at a closed point", "shipment", sh.ID, "location", dest.ID, "delivery_date", date)
			reason += fmt.Sprintf(" %s is closed that day (%s) and no open point nearby takes the parcel: the operator is told.",
				dest.Name, dest.ClosedReason(date.String()))
		}
		return reason, nil
	})
}

// moveDeliveryDate gives a shipment handed over later than booked its new
// delivery date, moving its compartment reservation to that day when the
// locker has room then, of its compartments not out of order (otherwise
// giving it back: the parcel gets a compartment at deposit if one is
// free), and returns the event's reason. The parcel was booked within its
// retailer's share of the locker: moving it is not a new booking, and is
// not held to the share again.
func (s *Shipments) moveDeliveryDate(ctx context.Context, tx lokero.Tx, sh *lokero.Shipment, date lokero.Date) (string, error) {
	reason := "Handed over to the carrier; expected on " + date.String() + "."
	if sh.SizeClass != "" {
		// Given back first, so that the parcel's own reservation does not
		// count as carried into its new day.
		if err := tx.Release(ctx, sh.DestinationID, sh.DeliveryDate, sh.SizeClass); err != nil {
			return "", err
		}
		dest := s.dir.Snapshot().ByID(sh.DestinationID)
		capacity := ReservationCapacity(dest, sh.SizeClass)
		if sh.SizeClass != lokero.ShelfSize && dest != nil { // an outlet's day's intake does not shrink with its shelf places
			broken, carried, err := s.dir.availability.lockerLoad(ctx, tx, dest, date)
			if err != nil {
				return "", fmt.Errorf("move the reservation of %s: %w", sh.ID, err)
			}
			capacity -= broken[sh.SizeClass] + carried[sh.SizeClass]
		}
		ok, err := tx.Reserve(ctx, sh.DestinationID, date, sh.SizeClass, capacity)
		if err != nil {
			return "", err
		}
		if !ok {
			if sh.SizeClass == lokero.ShelfSize {
				reason += " The outlet's shelves are full for that day."
			} else {
				reason += " The locker has no free compartment reserved for that day."
			}
			sh.SizeClass = ""
		}
	}
	sh.DeliveryDate = date
	return reason, nil
}

// release gives back a shipment's compartment reservation.
func (s *Shipments) release(ctx context.Context, tx lokero.Tx, sh *lokero.Shipment) error {
	if sh.SizeClass == "" {
		return nil
	}
	if err := tx.Release(ctx, sh.DestinationID, sh.DeliveryDate, sh.SizeClass); err != nil {
		return fmt.Errorf("release reservation of %s: %w", sh.ID, err)
	}
	sh.SizeClass = ""
	return nil
}

// ownedShipment reads a shipment in tx, locked: one of ownerID's (any,
// for ""). Another retailer's shipment is not found, as one that does not
// exist, so that nobody learns of others' shipments.
func ownedShipment(ctx context.Context, tx lokero.Tx, ownerID, id string) (lokero.Shipment, error) {
	sh, err := tx.Shipment(ctx, id)
	if lokero.ErrorCode(err) == lokero.ENOTFOUND || (err == nil && ownerID != "" && sh.RetailerID != ownerID) {
		return lokero.Shipment{}, notFoundShipment(id)
	}
	return sh, err
}

// transition moves a shipment (one of ownerID's; any, for "") to status
// next in one transaction, refusing an illegal move with ECONFLICT; apply does the
// move's own work and returns the event's reason.
func (s *Shipments) transition(ctx context.Context, ownerID string, id string, next lokero.ShipmentStatus,
	apply func(tx lokero.Tx, sh *lokero.Shipment) (string, error)) (lokero.Shipment, error) {
	if !plainID(id) || len(id) > 64 {
		return lokero.Shipment{}, notFoundShipment(id)
	}
	var out lokero.Shipment
	var before string // the destination before the move: a handover may re-route
	err := s.store.InTx(ctx, func(tx lokero.Tx) error {
		sh, err := ownedShipment(ctx, tx, ownerID, id)
		if err != nil {
			return err
		}
		if err := sh.CheckTransition(next); err != nil {
			return err
		}
		before = sh.DestinationID
		reason, err := apply(tx, &sh)
		if err != nil {
			return err
		}
		if err := sh.Transition(next, tx.Now(), sh.DestinationID, reason); err != nil {
			return err
		}
		if err := tx.UpdateShipment(ctx, &sh); err != nil {
			return err
		}
		out = sh
		return nil
	})
	if err == nil {
		// A cancellation gives the reservation back; a handover may move it
		// to another day, or to another point closed that day.
		s.dir.reservationsChanged(before, out.DestinationID)
	}
	return out, err
}

// ReturnCode gives a consumer the return code of a shipment they received,
// knowing only its tracking code and their postal code (Posti's Helposti
// code obtained with the original item id). It is issued once and then
// answered again; only for retailers that offer free returns. Any mismatch
// is ENOTFOUND, so that the answer tells a guesser nothing.
func (s *Shipments) ReturnCode(ctx context.Context, trackingCode, recipientPostcode string) (lokero.Shipment, error) {
	notFound := &lokero.Error{Code: lokero.ENOTFOUND, Reason: "no_such_shipment",
		Message: "no shipment with that tracking code was delivered to that postcode, or its store does not offer free returns through parcel lockers"}
	found, ok, err := provenShipment(ctx, s.store, trackingCode, recipientPostcode, "")
	if err != nil {
		return lokero.Shipment{}, err
	}
	// Only a delivery is returned: a pre-paid parcel's code is its
	// sender's (used once), and a return is not returned again.
	if !ok || found.Status == lokero.StatusCancelled || found.Kind.OrDefault() != lokero.ShipmentDelivery {
		return lokero.Shipment{}, notFound
	}
	if found.ReturnCode != "" {
		return found, nil
	}
	retailer, err := s.store.Retailer(ctx, found.RetailerID)
	if err != nil {
		return lokero.Shipment{}, err
	}
	if !retailer.FreeReturns {
		// The same answer as a wrong pair: a different one would confirm
		// to a guesser that the tracking code and postcode match.
		return lokero.Shipment{}, notFound
	}
	var out lokero.Shipment
	err = s.store.InTx(ctx, func(tx lokero.Tx) error {
		sh, err := tx.Shipment(ctx, found.ID)
		if err != nil {
			return err
		}
		if sh.ReturnCode == "" { // not issued by a request racing this one
			if err := s.issueReturnCode(&sh); err != nil {
				return err
			}
			sh.UpdatedAt = tx.Now()
			if err := tx.UpdateShipment(ctx, &sh); err != nil {
				return err
			}
		}
		out = sh
		return nil
	})
	return out, err
}
