package service

import (
	"context"
	"fmt"
	"time"

	"github.com/lokero/lokero"
)

// CompartmentView is one compartment as the operator sees it.
type CompartmentView struct {
	lokero.Compartment
	State        string // "free", "occupied", "out_of_order"
	TrackingCode string
	Deadline     time.Time // the parcel's storage deadline, if any
}

// LockerView is the operator's view of a locker: its compartments and
// their state, occupancy and the day's reservations by size class, and the
// parcels whose storage period ends today.
type LockerView struct {
	Location      *lokero.Location
	Compartments  []CompartmentView
	Occupancy     map[string]Occupancy // by size class
	ExpiringToday []string             // tracking codes
	Letters       lokero.LetterSlot    // the mail slot
}

// Occupancy counts one size class's compartments.
type Occupancy struct {
	Total, Occupied, OutOfOrder, ReservedToday int
}

// View returns the operator's view of a locker.
func (l *Lockers) View(ctx context.Context, operator lokero.Credential, locationID string) (LockerView, error) {
	if operator.Kind != lokero.KindOperator {
		return LockerView{}, lokero.Errorf(lokero.EFORBIDDEN, "the locker view is for operators")
	}
	loc, err := l.lockerAt(locationID)
	if err != nil {
		return LockerView{}, err
	}
	var view LockerView
	err = l.store.InTx(ctx, func(tx lokero.Tx) error {
		view = LockerView{Location: loc, Occupancy: map[string]Occupancy{}} // afresh when the store retries
		today := lokero.DateOf(tx.Now())
		cs, err := l.compartments(ctx, tx, loc)
		if err != nil {
			return err
		}
		reserved, err := tx.Reserved(ctx, loc.ID, today)
		if err != nil {
			return err
		}
		if view.Letters, err = tx.LetterSlot(ctx, loc.ID); err != nil {
			return err
		}
		for _, c := range cs {
			v := CompartmentView{Compartment: c, State: "free"}
			o := view.Occupancy[c.Size]
			o.Total++
			switch {
			case c.OutOfOrder:
				v.State = "out_of_order"
				o.OutOfOrder++
			case c.ShipmentID != "":
				v.State = "occupied"
				o.Occupied++
			}
			if c.ShipmentID != "" {
				sh, err := tx.Shipment(ctx, c.ShipmentID)
				if err != nil {
					return err
				}
				v.TrackingCode, v.Deadline = sh.TrackingCode, sh.StorageDeadline
				if !sh.StorageDeadline.IsZero() && lokero.DateOf(sh.StorageDeadline.Add(-time.Nanosecond)) == today {
					view.ExpiringToday = append(view.ExpiringToday, sh.TrackingCode)
				}
			}
			o.ReservedToday = reserved[c.Size]
			view.Occupancy[c.Size] = o
			view.Compartments = append(view.Compartments, v)
		}
		return nil
	})
	return view, err
}

// SetOutOfOrder marks a compartment out of order (or back in order): the
// allocation skips it, and it is free neither for a booking (Tx.LockerLoad
// lowers the capacity Reserve is given) nor in the checkout's search. A
// parcel in it stays until collected.
func (l *Lockers) SetOutOfOrder(ctx context.Context, operator lokero.Credential, locationID string, number int, outOfOrder bool) (lokero.Compartment, error) {
	if operator.Kind != lokero.KindOperator {
		return lokero.Compartment{}, lokero.Errorf(lokero.EFORBIDDEN, "only an operator marks compartments out of order")
	}
	loc, err := l.lockerAt(locationID)
	if err != nil {
		return lokero.Compartment{}, err
	}
	var out lokero.Compartment
	err = l.store.InTx(ctx, func(tx lokero.Tx) error {
		cs, err := l.compartments(ctx, tx, loc)
		if err != nil {
			return err
		}
		if number < 1 || number > len(cs) {
			return &lokero.Error{Code: lokero.ENOTFOUND, Reason: "unknown_compartment", Message: fmt.Sprintf("this locker has compartments 1..%d; got %d", len(cs), number)}
		}
		out = cs[number-1]
		out.OutOfOrder = outOfOrder
		return tx.PutCompartment(ctx, out)
	})
	if err == nil {
		// Out of order, a compartment is free for no booking: the
		// checkout's capacity view reads the locker again.
		l.dir.reservationsChanged(loc.ID)
		l.log.Info("compartment out of order", "location", loc.ID, "compartment", number, "out_of_order", outOfOrder, "by", operator.ID)
	}
	return out, err
}
