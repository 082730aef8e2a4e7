package service

import (
	"context"
	"fmt"
	"strings"

	"github.com/lokero/lokero"
)

// Payment is a locker device reporting the payment terminal's
// authorisation of a parcel's cash on delivery. Only the full amount opens
// the door; the retailer's shipment then shows the COD collected.
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
		cs, err := compartments(ctx, tx, loc)
		if err != nil {
			return err
		}
		if number < 1 || number > len(cs) {
			return lokero.Invalid("compartment", "out_of_range", "this locker has compartments 1..%d; got %d", len(cs), number)
		}
		c := cs[number-1]
		if c.ShipmentID == "" {
			return &lokero.Error{Code: lokero.ECONFLICT, Reason: "empty_compartment", Field: "compartment", Message: fmt.Sprintf("compartment %d holds no parcel", number)}
		}
		sh, err := tx.Shipment(ctx, c.ShipmentID)
		if err != nil {
			return err
		}
		switch {
		case sh.Status != lokero.StatusReadyForPickup || sh.COD == nil:
			return &lokero.Error{Code: lokero.ECONFLICT, Reason: "no_payment_due", Message: fmt.Sprintf("no cash on delivery is due for compartment %d", number)}
		case sh.COD.CollectedAt != nil:
			return &lokero.Error{Code: lokero.ECONFLICT, Reason: "already_paid", Message: "this parcel's cash on delivery is already paid"}
		case amountCents != sh.COD.AmountCents:
			return &lokero.Error{Code: lokero.EUNPROCESSABLE, Reason: "amount_mismatch", Field: "amount_cents",
				Message: fmt.Sprintf("the parcel's cash on delivery is %d cents; the terminal authorised %d: the door stays shut", sh.COD.AmountCents, amountCents)}
		}
		now := tx.Now()
		sh.COD.CollectedAt, sh.COD.TerminalRef = &now, terminalRef
		sh.Note(now, loc.ID, "Cash on delivery paid at the locker's terminal.")
		if err := tx.UpdateShipment(ctx, &sh); err != nil {
			return err
		}
		c.DoorOpen = true
		if err := tx.PutCompartment(ctx, c); err != nil {
			return err
		}
		res = KeypadResult{Result: "open", Compartment: number, Purpose: PurposePickUp}
		return nil
	})
	return res, err
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
