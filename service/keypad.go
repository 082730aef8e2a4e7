package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/locker"
	"github.com/lokero/lokero/tracking"
)

// KeypadResult is what the keypad shows after a right code.
type KeypadResult struct {
	Result      string // "open" or "payment_required"
	Compartment int
	AmountCents int64  // to pay first, for "payment_required"
	Purpose     string // PurposePickUp or PurposeDropOff
}

// What an opened compartment is for.
const (
	PurposePickUp  = "pick_up"  // take a parcel out
	PurposeDropOff = "drop_off" // put a return or a pre-paid parcel in
	PurposeDeposit = "deposit"  // the courier puts a parcel in (DeviceEventDeposit)
)

// Keypad checks a code entered at a locker's keypad. A valid code of a
// parcel ready for pickup opens its compartment (the pickup completes when
// the door closes); when cash on delivery is due it answers
// "payment_required" with the amount instead and starts the keypad's
// payment session, in which the terminal's payment for that compartment
// opens it (Payment). Any code entered ends the session before it. Wrong
// codes are counted, and too many lock the keypad out (ETOOMANY with the
// wait); a used, expired or cancelled parcel's code opens nothing. Entered
// digits are never logged.
func (l *Lockers) Keypad(ctx context.Context, device lokero.Credential, locationID, code string) (KeypadResult, error) {
	loc, err := l.deviceLocker(device, locationID)
	if err != nil {
		return KeypadResult{}, err
	}
	if len(code) > 64 {
		code = code[:64] // a hash of garbage is garbage: no need to read more
	}
	var (
		res      KeypadResult
		refusal  error // a wrong entry, or the keypad locked out
		unusable error // a right code that cannot be used here now
		lockedOn time.Duration
	)
	err = l.deviceTx(ctx, func(tx lokero.Tx) error {
		res, refusal, unusable, lockedOn = KeypadResult{}, nil, nil, 0
		k, err := loadKeypad(ctx, tx, loc.ID)
		if err != nil {
			return err
		}
		now := tx.Now()
		if wait, ok := l.policy.Check(k, now); !ok {
			refusal = lockedOut(wait)
			return nil
		}
		if l.codes == nil {
			return errors.New("keypad: no code secret configured")
		}
		// A code made under an older key of the secret still opens:
		// try the hash under each key, the newest first.
		var sh lokero.Shipment
		for _, h := range l.codes.Hashes(loc.ID, code) {
			sh, err = tx.ShipmentByOpeningCode(ctx, loc.ID, h)
			if err != nil && lokero.ErrorCode(err) != lokero.ENOTFOUND {
				return err
			}
			if err == nil && sh.Status == lokero.StatusReadyForPickup {
				break
			}
		}
		valid := err == nil && sh.Status == lokero.StatusReadyForPickup && now.Before(sh.StorageDeadline)
		if !valid && tracking.ValidReturnCode(code) {
			// A return or pre-paid parcel's code: a drop-off. A code
			// that tells the consumer what to do is answered as such;
			// an unknown or used one is a wrong entry.
			holder, err := tx.ShipmentByReturnCode(ctx, code)
			if err == nil {
				res, err = l.dropOff(ctx, tx, loc, holder, now)
				if err == nil {
					return saveKeypad(ctx, tx, loc.ID, l.policy.Right(k, now))
				}
			}
			if lokero.ErrorCode(err) != lokero.ENOTFOUND {
				if lokero.ErrorCode(err) == lokero.EINTERNAL {
					return err
				}
				unusable = err
				return nil
			}
		}
		if !valid {
			k, lockedOn = l.policy.Wrong(k, now)
			refusal = &lokero.Error{Code: lokero.EFORBIDDEN, Reason: "wrong_code", Message: "that code opens nothing here"}
			if lockedOn > 0 {
				refusal = lockedOut(lockedOn)
			}
			return saveKeypad(ctx, tx, loc.ID, k)
		}
		res, err = l.handOut(ctx, tx, loc, sh, l.policy.Right(k, now), now)
		return err
	})
	if err != nil {
		return KeypadResult{}, err
	}
	if unusable != nil {
		return KeypadResult{}, unusable
	}
	if refusal != nil {
		// Never the digits: only that a wrong entry happened, and where.
		l.log.Warn("wrong code at a keypad", "location", loc.ID)
		if lockedOn > 0 {
			l.log.Warn("keypad locked out", "location", loc.ID, "for", lockedOn.String())
		}
		return KeypadResult{}, refusal
	}
	return res, nil
}

// handOut hands a ready parcel out after a right code or QR token (k is
// the keypad's state after it): its door opens, or with cash on delivery
// due the keypad's payment session starts (Lockers.Payment takes the
// terminal's payment for this compartment for a few minutes).
func (l *Lockers) handOut(ctx context.Context, tx lokero.Tx, loc *lokero.Location, sh lokero.Shipment, k locker.Keypad, now time.Time) (KeypadResult, error) {
	if sh.COD != nil && sh.COD.CollectedAt == nil {
		res := KeypadResult{Result: "payment_required", Compartment: sh.Compartment, AmountCents: sh.COD.AmountCents, Purpose: PurposePickUp}
		return res, saveKeypad(ctx, tx, loc.ID, l.policy.AwaitPayment(k, sh.Compartment, sh.ID, now))
	}
	if err := saveKeypad(ctx, tx, loc.ID, k); err != nil {
		return KeypadResult{}, err
	}
	cs, err := l.compartments(ctx, tx, loc)
	if err != nil {
		return KeypadResult{}, err
	}
	c, err := numbered(cs, sh.Compartment)
	if err != nil {
		// Not the caller's mistake: the shipment's own record is wrong.
		return KeypadResult{}, fmt.Errorf("shipment %s is in compartment %d of %d", sh.ID, sh.Compartment, len(cs))
	}
	c.DoorOpen, c.DoorForced = true, false // the centre's own opening
	if err := tx.PutCompartment(ctx, c); err != nil {
		return KeypadResult{}, err
	}
	return KeypadResult{Result: "open", Compartment: c.Number, Purpose: PurposePickUp}, nil
}

func lockedOut(wait time.Duration) error {
	return &lokero.Error{Code: lokero.ETOOMANY, Reason: "keypad_locked",
		Message: fmt.Sprintf("too many wrong codes: the keypad takes codes again in %s", wait.Round(time.Second))}
}

// loadKeypad reads a locker's keypad state, locked until the transaction
// ends (the zero Keypad when none is stored yet).
func loadKeypad(ctx context.Context, tx lokero.Tx, locationID string) (locker.Keypad, error) {
	var k locker.Keypad
	raw, err := tx.Keypad(ctx, locationID)
	if err != nil || raw == nil {
		return k, err
	}
	if err := json.Unmarshal(raw, &k); err != nil {
		return k, fmt.Errorf("keypad state of %s: %w", locationID, err)
	}
	return k, nil
}

func saveKeypad(ctx context.Context, tx lokero.Tx, locationID string, k locker.Keypad) error {
	raw, err := json.Marshal(k)
	if err != nil {
		return err
	}
	return tx.SaveKeypad(ctx, locationID, raw)
}
