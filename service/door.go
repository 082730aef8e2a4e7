package service

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/locker"
)

// DoorClosed is a device reporting a compartment's door closed. After a
// deposit the parcel is ready for pickup: its storage deadline is set, an
// opening code is made and the notice of arrival queued with it. After a
// pickup the parcel is picked up (by its recipient, at this locker: the
// shipment's Pickup says so) and the compartment and its reservation are
// free.
func (l *Lockers) DoorClosed(ctx context.Context, device lokero.Credential, locationID string, number int) (lokero.Shipment, error) {
	loc, err := l.deviceLocker(device, locationID)
	if err != nil {
		return lokero.Shipment{}, err
	}
	var out lokero.Shipment
	forcedOn := false // the door was forced, and a parcel is inside (as far as the centre knows)
	err = l.deviceTx(ctx, func(tx lokero.Tx) error {
		out, forcedOn = lokero.Shipment{}, false
		cs, err := l.compartments(ctx, tx, loc)
		if err != nil {
			return err
		}
		c, err := numbered(cs, number)
		if err != nil {
			return err
		}
		// Only a door the centre opened completes what it was opened for;
		// a forced one leaves its parcel as it was, for the operator.
		wasOpen := c.DoorOpen && !c.DoorForced
		forcedOn = c.DoorForced && c.ShipmentID != ""
		c.DoorOpen, c.DoorForced = false, false
		if c.ShipmentID == "" {
			return tx.PutCompartment(ctx, c) // an empty door closed: nothing else to do
		}
		sh, err := tx.Shipment(ctx, c.ShipmentID)
		if err != nil {
			return err
		}
		now := tx.Now()
		switch {
		case sh.Status == lokero.StatusInLocker:
			if err := l.ready(ctx, tx, loc, &sh, now); err != nil {
				return err
			}
		case sh.Status == lokero.StatusCreated && sh.Kind.DroppedOffByConsumer() && wasOpen:
			if err := sh.Transition(lokero.StatusDroppedOff, now, loc.ID,
				fmt.Sprintf("Dropped off in compartment %d; the courier collects it from here.", c.Number)); err != nil {
				return err
			}
			if err := queueDropOffReceipt(ctx, tx, &sh, loc); err != nil {
				return err
			}
		case sh.Status == lokero.StatusExpired && wasOpen:
			// Its door was opened for the recipient (a right code, a QR
			// code, the payment) before the deadline, and shut after the
			// expiry job ran: the recipient came in time. The expiry is
			// undone, as for a pickup an offline locker reports late
			// (OfflinePickup), and the pickup completes.
			if err := sh.Transition(lokero.StatusReadyForPickup, now, loc.ID,
				"The parcel was handed out before the storage period ended; its door closed after the expiry, which is undone."); err != nil {
				return err
			}
			fallthrough
		case sh.Status == lokero.StatusReadyForPickup && wasOpen:
			if err := sh.Transition(lokero.StatusPickedUp, now, loc.ID, "Picked up by the recipient."); err != nil {
				return err
			}
			sh.Compartment, sh.OpeningCodeHash = 0, nil
			sh.Pickup = &lokero.Pickup{At: now, LocationID: loc.ID, By: lokero.PickedUpByRecipient}
			if sh.SizeClass != "" {
				if err := tx.Release(ctx, sh.DestinationID, sh.DeliveryDate, sh.SizeClass); err != nil {
					return err
				}
				sh.SizeClass = ""
			}
			c.ShipmentID = ""
		}
		if err := tx.PutCompartment(ctx, c); err != nil {
			return err
		}
		sh.UpdatedAt = now // a door closed on a parcel in any other state too
		if err := tx.UpdateShipment(ctx, &sh); err != nil {
			return err
		}
		out = sh
		return nil
	})
	if err == nil && out.Status == lokero.StatusPickedUp {
		l.dir.reservationsChanged(out.DestinationID)
	}
	if err == nil && forcedOn {
		l.log.Warn("locker: a forced door closed; its parcel is left as it was: check the compartment",
			"location", locationID, "compartment", number, "shipment", out.ID, "status", out.Status)
	}
	return out, err
}

// ready makes a deposited parcel ready for pickup: deadline, opening code
// (unique among the locker's active codes), notice of arrival.
func (l *Lockers) ready(ctx context.Context, tx lokero.Tx, loc *lokero.Location, sh *lokero.Shipment, now time.Time) error {
	deadline := l.calendar.StorageDeadline(now, calendar.StorageDays)
	return l.waitForPickup(ctx, tx, loc, sh, now, deadline,
		"Ready for pickup until "+deadline.In(calendar.Helsinki).Format("2.1.2006 15:04")+".")
}

// waitForPickup makes a parcel at a locker or on an outlet's shelf ready
// for pickup until deadline: its code (unique at loc), the notice of
// arrival telling it, and the jobs of the storage period — the reminder
// two days before the deadline and the expiry at it.
func (l *Lockers) waitForPickup(ctx context.Context, tx lokero.Tx, loc *lokero.Location, sh *lokero.Shipment, now, deadline time.Time, reason string) error {
	if l.codes == nil {
		return errors.New("opening code: no code secret configured")
	}
	version, err := l.newCode(ctx, tx, loc, sh, 0)
	if err != nil {
		return err
	}
	if err := sh.Transition(lokero.StatusReadyForPickup, now, loc.ID, reason); err != nil {
		return err
	}
	sh.StorageDeadline = deadline
	ms := notices(loc, sh, version, l.policy.CodeLength(loc.Type), deadline, now, false)
	for _, m := range ms {
		if err := tx.AddOutbox(ctx, m); err != nil {
			return fmt.Errorf("queue notice of arrival: %w", err)
		}
	}
	if len(ms) > 0 {
		if err := pushAlong(ctx, tx, sh.Recipient, ms[0]); err != nil {
			return err
		}
	}
	if err := tx.ScheduleJob(ctx, lokero.Job{Kind: JobReminder, ShipmentID: sh.ID, At: l.calendar.ReminderAt(deadline, 2)}); err != nil {
		return fmt.Errorf("schedule the reminder: %w", err)
	}
	if err := tx.ScheduleJob(ctx, lokero.Job{Kind: JobExpiry, ShipmentID: sh.ID, At: deadline}); err != nil {
		return fmt.Errorf("schedule the expiry: %w", err)
	}
	return nil
}

// newCode gives a parcel the first version from "from" on of its derived
// opening code that is unique among the locker's active codes, and
// returns the version (the code itself is told only when a notice is sent).
func (l *Lockers) newCode(ctx context.Context, tx lokero.Tx, loc *lokero.Location, sh *lokero.Shipment, from int) (int, error) {
	// New codes are made under the newest key of the secret's keyring: its
	// versions start at FirstVersion. A code must be unique at the locker
	// under every key still in the ring, since the keypad tries each.
	first := l.codes.FirstVersion()
	v := max(from, first)
	for ; v <= first+locker.MaxVersion; v++ {
		code, hash, err := l.codes.Derive(loc.ID, sh.ID, v, l.policy.CodeLength(loc.Type))
		if err != nil {
			return 0, fmt.Errorf("opening code: %w", err)
		}
		taken := false
		for _, h := range l.codes.Hashes(loc.ID, code) {
			other, err := tx.ShipmentByOpeningCode(ctx, loc.ID, h)
			if err == nil && other.ID != sh.ID {
				taken = true
				break
			} else if err != nil && lokero.ErrorCode(err) != lokero.ENOTFOUND {
				return 0, err
			}
		}
		if !taken {
			sh.OpeningCodeHash = hash
			return v, nil
		}
	}
	return 0, &lokero.Error{Code: lokero.ECONFLICT, Reason: "too_many_codes", Message: fmt.Sprintf("parcel %s has had %d opening codes: no more", sh.TrackingCode, locker.MaxVersion+1)}
}

// DoorOpened is a device reporting a compartment's door open that it did
// not open itself: forced, or a lock that failed open. Unless the centre
// had opened it (a late opening of its own unlock), the compartment is
// recorded open and forced (the operator's view of the locker shows it)
// and the opening is logged as a warning, for the operator on call:
// whatever was inside may be gone. Its closing completes nothing: a parcel
// ready for pickup stays ready (and its cash on delivery due), a drop-off
// is not made, until the operator has looked.
func (l *Lockers) DoorOpened(ctx context.Context, device lokero.Credential, locationID string, number int) error {
	loc, err := l.deviceLocker(device, locationID)
	if err != nil {
		return err
	}
	var parcel string
	err = l.deviceTx(ctx, func(tx lokero.Tx) error {
		cs, err := l.compartments(ctx, tx, loc)
		if err != nil {
			return err
		}
		c, err := numbered(cs, number)
		if err != nil {
			return err
		}
		parcel = c.ShipmentID
		c.DoorForced = c.DoorForced || !c.DoorOpen
		c.DoorOpen = true
		return tx.PutCompartment(ctx, c)
	})
	if err != nil {
		return err
	}
	l.log.Warn("locker: a door opened that its controller did not open (forced, or a lock failed open)",
		"location", locationID, "compartment", number, "shipment", parcel)
	return nil
}
