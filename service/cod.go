package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lokero/lokero"
)

// Payment is a locker device reporting the payment terminal's
// authorisation of a parcel's cash on delivery. It is taken only in the
// keypad's payment session: for the compartment whose opening code was just
// entered at this locker's keypad and answered "payment_required", within
// the policy's PaymentWindow (locker.DefaultPaymentWindow, 3 minutes) of
// it. Without that session, or for another compartment, it is refused with
// ECONFLICT "no_keypad_session", which tells nothing of the compartment,
// its parcel or an amount: no code, no door and no amount. Only the full
// amount opens the door and ends the session; the retailer's shipment then
// shows the COD collected.
func (l *Lockers) Payment(ctx context.Context, device lokero.Credential, locationID string, number int, amountCents int64, terminalRef string) (KeypadResult, error) {
	loc, err := l.deviceLocker(device, locationID)
	if err != nil {
		return KeypadResult{}, err
	}
	terminalRef = strings.TrimSpace(terminalRef)
	if err := checkText("terminal_ref", terminalRef, true, 64); err != nil {
		return KeypadResult{}, err
	}
	if !loc.PaymentTerminal {
		return KeypadResult{}, &lokero.Error{Code: lokero.EUNPROCESSABLE, Reason: "no_payment_terminal", Message: fmt.Sprintf("%s has no payment terminal", loc.ID)}
	}
	var res KeypadResult
	err = l.store.InTx(ctx, func(tx lokero.Tx) error {
		k, err := loadKeypad(ctx, tx, loc.ID)
		if err != nil {
			return err
		}
		now := tx.Now()
		session, ok := l.policy.Payment(k, number, now)
		if !ok {
			return noKeypadSession(number, l.policy.PaymentWindow)
		}
		cs, err := compartments(ctx, tx, loc)
		if err != nil {
			return err
		}
		if number < 1 || number > len(cs) || cs[number-1].ShipmentID != session.ShipmentID {
			// The parcel left the compartment since its code was entered.
			return noKeypadSession(number, l.policy.PaymentWindow)
		}
		c := cs[number-1]
		sh, err := tx.Shipment(ctx, c.ShipmentID)
		if err != nil {
			return err
		}
		switch {
		case sh.Status != lokero.StatusReadyForPickup || sh.COD == nil || !now.Before(sh.StorageDeadline):
			return &lokero.Error{Code: lokero.ECONFLICT, Reason: "no_payment_due", Message: fmt.Sprintf("no cash on delivery is due for compartment %d", number)}
		case sh.COD.CollectedAt != nil:
			return &lokero.Error{Code: lokero.ECONFLICT, Reason: "already_paid", Message: "this parcel's cash on delivery is already paid"}
		case amountCents != sh.COD.AmountCents:
			// The code was entered and the keypad showed the amount:
			// telling it again reveals nothing new. The session goes on,
			// for another card.
			return &lokero.Error{Code: lokero.EUNPROCESSABLE, Reason: "amount_mismatch", Field: "amount_cents",
				Message: fmt.Sprintf("the parcel's cash on delivery is %d cents; the terminal authorised %d: the door stays shut", sh.COD.AmountCents, amountCents)}
		}
		sh.COD.CollectedAt, sh.COD.TerminalRef = &now, terminalRef
		sh.Note(now, loc.ID, "Cash on delivery paid at the locker's terminal.")
		if err := tx.UpdateShipment(ctx, &sh); err != nil {
			return err
		}
		c.DoorOpen = true
		if err := tx.PutCompartment(ctx, c); err != nil {
			return err
		}
		if err := saveKeypad(ctx, tx, loc.ID, l.policy.Paid(k)); err != nil {
			return err
		}
		res = KeypadResult{Result: "open", Compartment: number, Purpose: PurposePickUp}
		return nil
	})
	return res, err
}

// noKeypadSession refuses a payment made without the keypad's payment
// session for the compartment: the same answer whatever the compartment
// holds, so that it tells nothing about it.
func noKeypadSession(number int, window time.Duration) error {
	return &lokero.Error{Code: lokero.ECONFLICT, Reason: "no_keypad_session", Field: "compartment",
		Message: fmt.Sprintf("no payment is awaited for compartment %d: have the parcel's opening code entered at this locker's keypad first; the payment is taken within %s of it",
			number, strings.TrimSuffix(strings.TrimSuffix(window.String(), "0s"), "0m"))}
}

// Settlement is what lokero owes one retailer for the cash on delivery
// collected on one day.
type Settlement struct {
	RetailerID   string
	RetailerName string
	Shipments    int
	AmountCents  int64
	Currency     string
}

// Settlements lists, per retailer, the cash on delivery collected on a
// Helsinki calendar day.
func (l *Lockers) Settlements(ctx context.Context, day lokero.Date) ([]Settlement, error) {
	list, err := l.store.CODCollected(ctx, day.Start(), day.AddDays(1).Start())
	if err != nil {
		return nil, fmt.Errorf("settlements of %s: %w", day, err)
	}
	var out []Settlement
	for _, sh := range list {
		if len(out) == 0 || out[len(out)-1].RetailerID != sh.RetailerID {
			r, err := l.store.Retailer(ctx, sh.RetailerID)
			if err != nil {
				return nil, fmt.Errorf("settlements: retailer %s: %w", sh.RetailerID, err)
			}
			out = append(out, Settlement{RetailerID: r.ID, RetailerName: r.Name, Currency: "EUR"})
		}
		s := &out[len(out)-1]
		s.Shipments++
		s.AmountCents += sh.COD.AmountCents
	}
	return out, nil
}
