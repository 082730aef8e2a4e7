package service

import (
	"context"
	"fmt"
	"slices"
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
	err = l.deviceTx(ctx, func(tx lokero.Tx) error {
		k, err := loadKeypad(ctx, tx, loc.ID)
		if err != nil {
			return err
		}
		now := tx.Now()
		session, ok := l.policy.Payment(k, number, now)
		if !ok {
			return l.paidOrNoSession(ctx, tx, loc, number, now)
		}
		cs, err := l.compartments(ctx, tx, loc)
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
		sh.COD.Method, sh.COD.LocationID = lokero.PaymentTerminal, loc.ID
		sh.Note(now, loc.ID, "Cash on delivery paid at the locker's terminal.")
		if err := tx.UpdateShipment(ctx, &sh); err != nil {
			return err
		}
		c.DoorOpen, c.DoorForced = true, false // the centre's own opening
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

// paidOrNoSession answers a payment outside the keypad's payment session:
// ECONFLICT "already_paid" when the parcel still in the compartment had
// its cash on delivery paid at this locker's terminal within the payment
// window (a second card, a double tap: the terminal should refund it),
// else noKeypadSession. The first payment ended the session and opened
// the door: saying so tells nothing the keypad did not show.
func (l *Lockers) paidOrNoSession(ctx context.Context, tx lokero.Tx, loc *lokero.Location, number int, now time.Time) error {
	cs, err := l.compartments(ctx, tx, loc)
	if err != nil {
		return err
	}
	if number >= 1 && number <= len(cs) && cs[number-1].ShipmentID != "" {
		sh, err := tx.Shipment(ctx, cs[number-1].ShipmentID)
		if err != nil {
			return err
		}
		if cod := sh.COD; cod != nil && cod.CollectedAt != nil && cod.Method == lokero.PaymentTerminal && cod.LocationID == loc.ID &&
			now.Sub(*cod.CollectedAt) <= l.policy.PaymentWindow {
			return &lokero.Error{Code: lokero.ECONFLICT, Reason: "already_paid", Field: "compartment",
				Message: fmt.Sprintf("the cash on delivery of the parcel in compartment %d is already paid: the terminal should not charge it again", number)}
		}
	}
	return noKeypadSession(number, l.policy.PaymentWindow)
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
// collected on one day, in all and by the place it was paid.
type Settlement struct {
	RetailerID   string
	RetailerName string
	Shipments    int
	AmountCents  int64
	Currency     string
	// Locations splits the day by where the cash on delivery was paid: a
	// locker's terminal or an outlet's counter (in cash or by card),
	// sorted by LocationID.
	Locations []LocationSettlement
}

// LocationSettlement is the part of a retailer's settlement paid at one
// place: in all, and by how it was paid.
type LocationSettlement struct {
	LocationID    string
	Name          string // the place's name in the directory; "" when it is no longer there
	Type          lokero.LocationType
	Shipments     int
	AmountCents   int64
	CashCents     int64 // paid in cash at a counter
	CardCents     int64 // paid by card at a counter
	TerminalCents int64 // paid at a locker's payment terminal
}

// Settlements lists, per retailer, the cash on delivery collected on a
// Helsinki calendar day, with each retailer's day split by the place it
// was paid. A payment recorded before the place and the method were kept
// counts as its parcel's destination's, at the terminal (only lockers
// took payments then).
func (l *Lockers) Settlements(ctx context.Context, day lokero.Date) ([]Settlement, error) {
	list, err := l.store.CODCollected(ctx, day.Start(), day.AddDays(1).Start())
	if err != nil {
		return nil, fmt.Errorf("settlements of %s: %w", day, err)
	}
	snap := l.dir.Snapshot()
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
		where, method := sh.COD.LocationID, sh.COD.Method
		if where == "" {
			where = sh.DestinationID
		}
		if method == "" {
			method = lokero.PaymentTerminal
		}
		i := slices.IndexFunc(s.Locations, func(p LocationSettlement) bool { return p.LocationID == where })
		if i < 0 {
			p := LocationSettlement{LocationID: where}
			if loc := snap.ByID(where); loc != nil {
				p.Name, p.Type = loc.Name, loc.Type
			}
			s.Locations = append(s.Locations, p)
			i = len(s.Locations) - 1
		}
		p := &s.Locations[i]
		p.Shipments++
		p.AmountCents += sh.COD.AmountCents
		switch method {
		case lokero.PaymentCash:
			p.CashCents += sh.COD.AmountCents
		case lokero.PaymentCard:
			p.CardCents += sh.COD.AmountCents
		default:
			p.TerminalCents += sh.COD.AmountCents
		}
	}
	for i := range out {
		slices.SortFunc(out[i].Locations, func(a, b LocationSettlement) int { return strings.Compare(a.LocationID, b.LocationID) })
	}
	return out, nil
}
