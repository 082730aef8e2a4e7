package service

import (
	"context"
	"crypto/sha256"
	"fmt"
	"slices"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/locker"
)

// A courier deposits at a locker that is offline: the controller knows the
// parcels on their way to it and its compartments from the last sync
// (ExpectedDelivery, CompartmentState), picks the compartment itself as
// the centre would (locker.Allocate), opens it, and reports the deposit
// with the compartment when it is back (OfflineDeposit).

// ExpectedDelivery is a parcel on its way to a locker, as its controller
// knows it: enough to take it from a courier offline.
type ExpectedDelivery struct {
	TrackingCode string
	Parcel       [3]float64 // length, width, height in cm
}

// CompartmentState is a compartment of a locker as its controller knows it.
type CompartmentState struct {
	Number                      int
	Size                        string
	LengthCM, WidthCM, HeightCM int
	OutOfOrder                  bool
	Occupied                    bool
}

// deliveriesAndCompartments fills a sync's deliveries (parcels in transit
// to the locker) and compartments.
func (l *Lockers) deliveriesAndCompartments(ctx context.Context, loc *lokero.Location, s *DeviceSync) error {
	list, err := l.store.ShipmentsTo(ctx, loc.ID, []lokero.ShipmentStatus{lokero.StatusInTransit})
	if err != nil {
		return fmt.Errorf("sync %s: %w", loc.ID, err)
	}
	s.Deliveries = make([]ExpectedDelivery, 0, len(list))
	for _, sh := range list {
		s.Deliveries = append(s.Deliveries, ExpectedDelivery{TrackingCode: sh.TrackingCode, Parcel: sh.Parcel.Dimensions()})
	}
	cs, err := l.store.Compartments(ctx, loc.ID)
	if err != nil {
		return fmt.Errorf("sync %s: %w", loc.ID, err)
	}
	if len(cs) > 0 && loc.Type.IsLocker() && !laidOut(cs, locker.Layout(loc.Compartments)) {
		// An import changed the locker's compartments since they were
		// laid out: lay them out again now, so that the board learns the
		// new layout with this sync, not after the next deposit.
		if err := l.store.InTx(ctx, func(tx lokero.Tx) error {
			cs, err = l.compartments(ctx, tx, loc)
			return err
		}); err != nil {
			return fmt.Errorf("sync %s: %w", loc.ID, err)
		}
	}
	if len(cs) == 0 { // never laid out: all free
		for _, c := range locker.Layout(loc.Compartments) {
			s.Compartments = append(s.Compartments, CompartmentState{Number: c.Number, Size: c.Size,
				LengthCM: c.LengthCM, WidthCM: c.WidthCM, HeightCM: c.HeightCM})
		}
		return nil
	}
	for _, c := range cs {
		s.Compartments = append(s.Compartments, CompartmentState{Number: c.Number, Size: c.Size,
			LengthCM: c.LengthCM, WidthCM: c.WidthCM, HeightCM: c.HeightCM,
			OutOfOrder: c.OutOfOrder, Occupied: c.ShipmentID != ""})
	}
	return nil
}

// OfflineDeposit is a controller reporting a deposit it took while
// offline: the courier scanned the parcel and the controller put it in
// compartment number. The parcel goes into that compartment as a
// courier's deposit would (its door open: the door's closing makes it
// ready). A parcel that is no longer on its way here, or a compartment
// the centre has given to another parcel meanwhile, is refused, and the
// operator reconciles it (the parcel is in the locker all the same).
// courierNote, added to the parcel's events, names the courier who
// signed in at the keypad (keypadCourier: whose credential may have been
// revoked since); "" adds none.
func (l *Lockers) OfflineDeposit(ctx context.Context, device lokero.Credential, locationID, trackingCode string, number int, courierNote string) (DepositResult, error) {
	loc, err := l.deviceLocker(device, locationID)
	if err != nil {
		return DepositResult{}, err
	}
	found, code, err := l.scanned(ctx, trackingCode)
	if err != nil {
		return DepositResult{}, err
	}
	var res DepositResult
	err = l.deviceTx(ctx, func(tx lokero.Tx) error {
		res = DepositResult{}
		sh, err := tx.Shipment(ctx, found.ID)
		if err != nil {
			return err
		}
		if sh.DestinationID != loc.ID || sh.Status != lokero.StatusInTransit {
			return &lokero.Error{Code: lokero.ECONFLICT, Reason: "not_expected",
				Message: fmt.Sprintf("parcel %s is %s for %s, not on its way here: the operator reconciles it", code, sh.Status, sh.DestinationID)}
		}
		cs, err := l.compartments(ctx, tx, loc)
		if err != nil {
			return err
		}
		c, err := numbered(cs, number)
		if err != nil {
			return err
		}
		if c.ShipmentID != "" {
			return &lokero.Error{Code: lokero.ECONFLICT, Reason: "compartment_taken",
				Message: fmt.Sprintf("compartment %d holds another parcel at the centre: the operator reconciles it", number)}
		}
		c.ShipmentID, c.DoorOpen, c.DoorForced = sh.ID, true, false
		if err := tx.PutCompartment(ctx, c); err != nil {
			return err
		}
		sh.Compartment = c.Number
		if err := sh.Transition(lokero.StatusInLocker, tx.Now(), loc.ID,
			fmt.Sprintf("Put in compartment %d by the courier (taken by the locker while offline).", c.Number)); err != nil {
			return err
		}
		if courierNote != "" {
			sh.Note(tx.Now(), loc.ID, courierNote)
		}
		if err := tx.UpdateShipment(ctx, &sh); err != nil {
			return err
		}
		res = DepositResult{Shipment: sh, Compartment: c}
		return nil
	})
	return res, err
}

// ReturnWindow is how long after a pickup the locker where it was picked
// up expects the parcel's return offline (the consumer's 14 days to
// withdraw from a distance sale); online, a return code works as long as
// the centre takes it.
const ReturnWindow = 14 * 24 * time.Hour

// ExpectedDropOff is the return of a parcel picked up at a locker, as its
// controller knows it: the verifier of the return code (the same
// derivation as the opening codes', so one derivation checks both) and
// the parcel's size.
type ExpectedDropOff struct {
	ShipmentID string // the delivery whose return code it is
	Verifier   []byte
	Sealed     []byte // instead of Verifier, the return code sealed for a board that derives (ExpectedPickup.Sealed)
	Parcel     [3]float64
	Until      time.Time
}

// ExpectedDropOff returns the return a locker's controller should expect
// after a parcel was picked up there; ok is false when there is none (no
// return code, picked up elsewhere, a pre-paid parcel, returned already).
func (l *Lockers) ExpectedDropOff(ctx context.Context, device lokero.Credential, locationID, shipmentID string) (ExpectedDropOff, bool, error) {
	loc, err := l.deviceLocker(device, locationID)
	if err != nil {
		return ExpectedDropOff{}, false, err
	}
	sh, err := l.store.Shipment(ctx, shipmentID)
	if err != nil {
		return ExpectedDropOff{}, false, err
	}
	if !returnableAt(sh, loc) {
		return ExpectedDropOff{}, false, nil
	}
	if ret, err := l.store.ReturnsExpected(ctx, loc.ID, sh.Pickup.At); err != nil {
		return ExpectedDropOff{}, false, err
	} else if !slices.ContainsFunc(ret, func(r lokero.Shipment) bool { return r.ID == sh.ID }) {
		return ExpectedDropOff{}, false, nil // returned already
	}
	key, err := l.boardKeyOf(device)
	if err != nil {
		return ExpectedDropOff{}, false, err
	}
	kept, err := l.keptVerifiers(ctx, key, sh.ID)
	if err != nil {
		return ExpectedDropOff{}, false, err
	}
	d, err := l.expectedDropOff(ctx, key, loc, sh, kept[sh.ID], l.codes.Salt(loc.ID, locker.DefaultKDF))
	return d, err == nil, err
}

// returnableAt reports whether sh is a delivery picked up at loc whose
// return code its controller may take: a pre-paid parcel's code is its
// drop-off code, used once it travelled.
func returnableAt(sh lokero.Shipment, loc *lokero.Location) bool {
	return sh.Kind.OrDefault() == lokero.ShipmentDelivery && sh.Status == lokero.StatusPickedUp && sh.ReturnCode != "" &&
		sh.Pickup != nil && sh.Pickup.LocationID == loc.ID
}

// expectedDropOff is the return of sh, returnable at loc, with the
// verifier of its return code (kept, when it was made for this code and
// salt, else a new one, kept for next time) or, for a board that derives
// (key, its BoardKey), the code sealed for it.
func (l *Lockers) expectedDropOff(ctx context.Context, key []byte, loc *lokero.Location, sh lokero.Shipment, kept lokero.Verifier, salt []byte) (ExpectedDropOff, error) {
	codeHash := sha256.Sum256([]byte("lokero/return-code\x00" + sh.ReturnCode))
	b, err := l.forBoard(ctx, key, loc, sh.ID, locker.BoardReturn, codeHash[:], salt, kept, func() (string, bool) { return sh.ReturnCode, true })
	if err != nil {
		return ExpectedDropOff{}, err
	}
	return ExpectedDropOff{ShipmentID: sh.ID, Parcel: sh.Parcel.Dimensions(), Until: sh.Pickup.At.Add(ReturnWindow),
		Verifier: b.verifier, Sealed: b.sealed}, nil
}

// OfflineDropOff is a controller reporting a return it took while
// offline: the consumer entered the return code of a parcel picked up
// there, and the controller opened compartment number for it. The return
// is made as at the keypad (its door open: the door's closing makes it
// DROPPED_OFF); a code used meanwhile, or a compartment given to another
// parcel, is refused for the operator to reconcile.
func (l *Lockers) OfflineDropOff(ctx context.Context, device lokero.Credential, locationID, shipmentID string, number int) (KeypadResult, error) {
	loc, err := l.deviceLocker(device, locationID)
	if err != nil {
		return KeypadResult{}, err
	}
	var res KeypadResult
	err = l.deviceTx(ctx, func(tx lokero.Tx) error {
		holder, err := tx.Shipment(ctx, shipmentID)
		if err != nil {
			return err
		}
		// A controller is given the return codes of the parcels picked up
		// at its own locker only (ExpectedDropOff), and no pre-paid
		// parcel's code: any other drop-off it reports is not its to make.
		if holder.Kind.OrDefault() != lokero.ShipmentDelivery || holder.Pickup == nil || holder.Pickup.LocationID != loc.ID {
			return &lokero.Error{Code: lokero.ECONFLICT, Reason: "not_expected",
				Message: fmt.Sprintf("parcel %s was not picked up at this locker: its return is not taken here offline; the operator reconciles it", holder.TrackingCode)}
		}
		res, err = l.dropOffInto(ctx, tx, loc, holder, tx.Now(), number)
		return err
	})
	return res, err
}
