package service

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/notify"
	"github.com/lokero/lokero/tracking"
)

// PrepaidRequest books a pre-paid parcel: a consumer bought it (from the
// calling store or app, which is billed) and drops it off at a parcel
// locker with its code; it then travels to its recipient like any parcel.
type PrepaidRequest struct {
	Reference     string       `json:"reference"`
	Sender        lokero.Party `json:"sender"`
	Recipient     lokero.Party `json:"recipient"`
	Size          string       `json:"size"`            // the compartment size class paid for: S, M or L
	WeightKG      float64      `json:"weight_kg"`       // optional; 0 reads as the class's limit
	PickupPointID string       `json:"pickup_point_id"` // optional: where the recipient collects it
}

// prepaidMaxWeightKG is what a pre-paid parcel may weigh when the request
// does not say (our choice: Posti's parcel locker limit).
const prepaidMaxWeightKG = 35

// shipmentRequest turns a pre-paid request into the shipment request the
// rules read: the parcel is as big as its size class.
func (r *PrepaidRequest) shipmentRequest() (ShipmentRequest, error) {
	var class *lokero.CompartmentClass
	size := strings.ToUpper(strings.TrimSpace(r.Size))
	for i := range lokero.StandardCompartmentClasses {
		if lokero.StandardCompartmentClasses[i].Size == size {
			class = &lokero.StandardCompartmentClasses[i]
		}
	}
	if class == nil {
		return ShipmentRequest{}, lokero.Invalid("size", "unknown_size", "size must be S (%s), M (%s) or L (%s); got %q",
			classText(0), classText(1), classText(2), r.Size)
	}
	r.Size = size
	if math.IsNaN(r.WeightKG) || r.WeightKG < 0 || r.WeightKG > prepaidMaxWeightKG {
		return ShipmentRequest{}, lokero.Invalid("weight_kg", "out_of_range", "weight_kg must be 0..%d kg; got %v", prepaidMaxWeightKG, r.WeightKG)
	}
	weight := r.WeightKG
	if weight == 0 {
		weight = prepaidMaxWeightKG
	}
	return ShipmentRequest{Reference: r.Reference, Sender: r.Sender, Recipient: r.Recipient, PickupPointID: r.PickupPointID,
		Parcel: &lokero.Parcel{LengthCM: float64(class.LengthCM), WidthCM: float64(class.WidthCM), HeightCM: float64(class.HeightCM),
			WeightKG: weight, Contents: lokero.ContentsGoods}}, nil
}

func classText(i int) string {
	c := lokero.StandardCompartmentClasses[i]
	return fmt.Sprintf("%d×%d×%d cm", c.LengthCM, c.WidthCM, c.HeightCM)
}

// Prepaid books a pre-paid parcel for a retailer (a store or app selling
// them to consumers): it is routed to its recipient now, and gets a
// 12-digit drop-off code that opens a free compartment of its size at any
// SMARTPOST (or at the sender's own building's LOCKER) once. Idempotent
// as Create.
func (s *Shipments) Prepaid(ctx context.Context, retailer lokero.Retailer, req PrepaidRequest, idempotencyKey string, requestHash []byte) (CreateResult, error) {
	sreq, err := req.shipmentRequest()
	if err != nil {
		return s.replayOr(ctx, retailer, idempotencyKey, requestHash, err)
	}
	return s.create(ctx, retailer, sreq, lokero.ShipmentPrepaid, idempotencyKey, requestHash)
}

// prepaid gives a booked pre-paid parcel the code it is dropped off with.
func (s *Shipments) prepaid(sh *lokero.Shipment) error {
	code, err := tracking.NewReturnCode(s.random)
	if err != nil {
		return fmt.Errorf("drop-off code: %w", err)
	}
	sh.ReturnCode = code
	return nil
}

// dropOff is a consumer entering a return code or a pre-paid parcel's
// code at a locker's keypad (the code already matched holder, locked). It
// opens a free compartment that takes the parcel; the door closing makes
// the parcel DROPPED_OFF. A refusal that tells the consumer what to do is
// returned as the error; used codes are ENOTFOUND so that the keypad
// counts them as wrong entries.
func (l *Lockers) dropOff(ctx context.Context, tx lokero.Tx, loc *lokero.Location, holder lokero.Shipment, now time.Time) (KeypadResult, error) {
	return l.dropOffInto(ctx, tx, loc, holder, now, 0)
}

// dropOffInto is dropOff into compartment number (0: the best free one;
// a number: the one a controller chose offline, which must be free).
func (l *Lockers) dropOffInto(ctx context.Context, tx lokero.Tx, loc *lokero.Location, holder lokero.Shipment, now time.Time, number int) (KeypadResult, error) {
	if number == 0 {
		if res, again, err := l.dropOffAgain(ctx, tx, loc, holder, now); again || err != nil {
			return res, err
		}
	}
	dropBy, err := dropHolder(ctx, tx, holder)
	if err != nil {
		return KeypadResult{}, err
	}
	// A return may go back into the LOCKER its parcel was delivered to; a
	// pre-paid parcel's destination is its recipient's, which gives its
	// sender no access there.
	deliveredTo := ""
	if holder.Kind.OrDefault() == lokero.ShipmentDelivery {
		deliveredTo = holder.DestinationID
	}
	if loc.Type == lokero.TypeLocker && !l.livesAt(dropBy, deliveredTo, loc) {
		return KeypadResult{}, &lokero.Error{Code: lokero.EFORBIDDEN, Reason: "residents_only",
			Message: "this locker takes parcels from its building's residents only: drop it off at a public SMARTPOST"}
	}
	cs, err := l.compartments(ctx, tx, loc)
	if err != nil {
		return KeypadResult{}, err
	}
	c, ok := allocate(holder.Parcel, cs)
	if number != 0 {
		if c, err = numbered(cs, number); err != nil {
			return KeypadResult{}, err
		}
		if ok = c.ShipmentID == ""; !ok {
			return KeypadResult{}, &lokero.Error{Code: lokero.ECONFLICT, Reason: "compartment_taken",
				Message: fmt.Sprintf("compartment %d holds another parcel at the centre: the operator reconciles it", number)}
		}
	}
	if !ok {
		return KeypadResult{}, &lokero.Error{Code: lokero.ECONFLICT, Reason: "no_free_compartment",
			Message: "no free compartment here takes this parcel now: try another parcel locker"}
	}
	sh := holder
	if holder.Kind.OrDefault() == lokero.ShipmentDelivery {
		if sh, err = l.newReturn(ctx, tx, holder, loc, now, "Return code entered at the parcel locker."); err != nil {
			return KeypadResult{}, err
		}
	}
	c.ShipmentID, c.DoorOpen, c.DoorForced = sh.ID, true, false
	if err := tx.PutCompartment(ctx, c); err != nil {
		return KeypadResult{}, err
	}
	sh.Compartment = c.Number
	sh.Note(now, loc.ID, fmt.Sprintf("Compartment %d opened for the drop-off.", c.Number))
	if err := tx.UpdateShipment(ctx, &sh); err != nil {
		return KeypadResult{}, err
	}
	return KeypadResult{Result: "open", Compartment: c.Number, Purpose: PurposeDropOff}, nil
}

// dropOffAgain reopens the compartment a drop-off's code opened at loc
// whose door has not closed yet: the answer to the first entry was lost
// or came after the controller stopped waiting, and the consumer types
// the code again (as a deposit scanned again reopens its compartment).
// again is false when the code has no drop-off under way. One under way
// at another locker is ECONFLICT "drop_off_elsewhere": the code is not
// used up (its door there, closed, drops the parcel off), and the entry
// is no wrong one.
func (l *Lockers) dropOffAgain(ctx context.Context, tx lokero.Tx, loc *lokero.Location, holder lokero.Shipment, now time.Time) (res KeypadResult, again bool, err error) {
	sh := holder
	switch holder.Kind.OrDefault() {
	case lokero.ShipmentPrepaid:
	case lokero.ShipmentDelivery:
		if holder.Status != lokero.StatusPickedUp {
			return KeypadResult{}, false, nil
		}
		sh, err = tx.ReturnOf(ctx, holder.ID)
		if lokero.ErrorCode(err) == lokero.ENOTFOUND {
			return KeypadResult{}, false, nil
		} else if err != nil {
			return KeypadResult{}, false, err
		}
	default:
		return KeypadResult{}, false, nil
	}
	if sh.Status != lokero.StatusCreated || sh.Compartment == 0 {
		return KeypadResult{}, false, nil
	}
	cs, err := l.compartments(ctx, tx, loc)
	if err != nil {
		return KeypadResult{}, false, err
	}
	n := sh.Compartment
	if n > len(cs) || cs[n-1].ShipmentID != sh.ID {
		return KeypadResult{}, true, &lokero.Error{Code: lokero.ECONFLICT, Reason: "drop_off_elsewhere",
			Message: "this code opened a compartment at another parcel locker, whose door has not been closed yet: put the parcel in there and close its door"}
	}
	c := cs[n-1]
	c.DoorOpen, c.DoorForced = true, false
	if err := tx.PutCompartment(ctx, c); err != nil {
		return KeypadResult{}, false, err
	}
	sh.Note(now, loc.ID, fmt.Sprintf("Compartment %d opened again for the drop-off: its code was entered again before the door closed.", n))
	if err := tx.UpdateShipment(ctx, &sh); err != nil {
		return KeypadResult{}, false, err
	}
	return KeypadResult{Result: "open", Compartment: n, Purpose: PurposeDropOff}, true, nil
}

// reasonCodeUsed is the Reason of the ENOTFOUND dropHolder answers a
// return or drop-off code that was used already.
const reasonCodeUsed = "code_used"

// dropHolder checks that the parcel whose code a consumer gave (holder,
// locked) can be dropped off now, at a keypad or a counter, and returns
// who drops it: a pre-paid parcel not yet dropped off (its sender), or a
// delivery its recipient has picked up and not yet returned (its
// recipient, returning it). A delivery not yet picked up is ECONFLICT
// "not_delivered_yet"; a used code, or one of a parcel of another kind,
// is ENOTFOUND reasonCodeUsed.
func dropHolder(ctx context.Context, tx lokero.Tx, holder lokero.Shipment) (lokero.Party, error) {
	used := &lokero.Error{Code: lokero.ENOTFOUND, Reason: reasonCodeUsed, Message: "the code was used"}
	switch holder.Kind.OrDefault() {
	case lokero.ShipmentPrepaid:
		if holder.Status != lokero.StatusCreated || holder.Compartment != 0 {
			return lokero.Party{}, used
		}
		return holder.Sender, nil
	case lokero.ShipmentDelivery:
		if holder.Status != lokero.StatusPickedUp {
			return lokero.Party{}, &lokero.Error{Code: lokero.ECONFLICT, Reason: "not_delivered_yet",
				Message: "this return code works once the parcel has been picked up"}
		}
		if _, err := tx.ReturnOf(ctx, holder.ID); err == nil {
			return lokero.Party{}, used
		} else if lokero.ErrorCode(err) != lokero.ENOTFOUND {
			return lokero.Party{}, err
		}
		return holder.Recipient, nil
	}
	return lokero.Party{}, used
}

// newReturn stores the return shipment of a delivery: from its recipient
// back to its store, under the return tracking code printed on the label.
// how opens its first event: how it was handed in.
func (l *Lockers) newReturn(ctx context.Context, tx lokero.Tx, delivery lokero.Shipment, loc *lokero.Location, now time.Time, how string) (lokero.Shipment, error) {
	id, err := newID(l.random, "shp_", now)
	if err != nil {
		return lokero.Shipment{}, err
	}
	code := delivery.ReturnTrackingCode
	if code == "" {
		if code, err = tracking.New(l.random, ReturnTrackingPrefix); err != nil {
			return lokero.Shipment{}, fmt.Errorf("return tracking code: %w", err)
		}
	}
	reason := fmt.Sprintf("A return of %s to the store, %s, %s %s.", delivery.TrackingCode, delivery.Sender.Street, delivery.Sender.Postcode, delivery.Sender.City)
	ret := lokero.Shipment{
		ID: id, Kind: lokero.ShipmentReturn, ReturnOf: delivery.ID, RetailerID: delivery.RetailerID,
		Reference: delivery.Reference, TrackingCode: code,
		Sender: delivery.Recipient, Recipient: delivery.Sender, Parcel: delivery.Parcel,
		Routing:      lokero.Routing{Rule: "return_to_store", Reason: reason},
		DeliveryDate: l.calendar.DeliveryDate(now),
	}
	if err := ret.Begin(now, loc.ID, how+" "+reason); err != nil {
		return lokero.Shipment{}, err
	}
	if err := tx.InsertShipment(ctx, &ret, "", nil); err != nil {
		return lokero.Shipment{}, fmt.Errorf("store the return of %s: %w", delivery.ID, err)
	}
	delivery.Note(now, loc.ID, "The recipient is returning the parcel: tracking code "+code+".")
	if err := tx.UpdateShipment(ctx, &delivery); err != nil {
		return lokero.Shipment{}, err
	}
	return ret, nil
}

// livesAt reports whether a person may use a residents-only LOCKER: a
// parcel of theirs was delivered to it, or their address is its building.
func (l *Lockers) livesAt(p lokero.Party, deliveredTo string, loc *lokero.Location) bool {
	if deliveredTo == loc.ID {
		return true
	}
	for _, at := range l.dir.Snapshot().LockersAt(p.Postcode, p.Street) {
		if at.ID == loc.ID {
			return true
		}
	}
	return false
}

// queueDropOffReceipt queues the receipt of a return or a pre-paid parcel
// dropped off at loc (sh, now DROPPED_OFF) to the consumer who dropped it,
// the shipment's sender (a return's sender is the delivery's recipient):
// where and when, and the tracking code to follow it by.
func queueDropOffReceipt(ctx context.Context, tx lokero.Tx, sh *lokero.Shipment, loc *lokero.Location) error {
	return queueTo(ctx, tx, sh.Sender, lokero.OutboxMessage{TrackingCode: sh.TrackingCode, Kind: notify.KindDropOffReceipt,
		Text: dropOffReceiptText(sh, loc, tx.Now()), CreatedAt: tx.Now(), ShipmentID: sh.ID})
}

// dropOffReceiptText is a drop-off receipt in the sender's language: the
// day and time, the place, the tracking code and where the parcel goes (a
// return to the store, a pre-paid parcel to its recipient, by name).
func dropOffReceiptText(sh *lokero.Shipment, loc *lokero.Location, at time.Time) string {
	lang := messageLanguage(sh.Sender)
	place := placeText(loc, lang)
	at = at.In(calendar.Helsinki)
	day := at.Format("2.1.2006")
	clock := fmt.Sprintf("%d.%02d", at.Hour(), at.Minute()) // as a Finn writes it: 9.41
	if lang == "en" {
		clock = at.Format("15:04")
	}
	to := clip(sh.Recipient.Name, maxPartyText)
	ret := sh.Kind == lokero.ShipmentReturn
	switch {
	case lang == "sv" && ret:
		return fmt.Sprintf("Kvitto: din retur lämnades in %s kl. %s, %s. Spårningskod: %s. Den skickas till säljaren %s.", day, clock, place, sh.TrackingCode, to)
	case lang == "sv":
		return fmt.Sprintf("Kvitto: ditt paket lämnades in %s kl. %s, %s. Spårningskod: %s. Det skickas till mottagaren %s.", day, clock, place, sh.TrackingCode, to)
	case lang == "en" && ret:
		return fmt.Sprintf("Receipt: your return was dropped off on %s at %s, %s. Tracking code: %s. It goes to the seller, %s.", day, clock, place, sh.TrackingCode, to)
	case lang == "en":
		return fmt.Sprintf("Receipt: your parcel was dropped off on %s at %s, %s. Tracking code: %s. It goes to the recipient, %s.", day, clock, place, sh.TrackingCode, to)
	case ret:
		return fmt.Sprintf("Kuitti: palautuksesi on jätetty %s klo %s, %s. Seurantatunnus: %s. Paketti toimitetaan myyjälle %s.", day, clock, place, sh.TrackingCode, to)
	default:
		return fmt.Sprintf("Kuitti: pakettisi on jätetty %s klo %s, %s. Seurantatunnus: %s. Paketti toimitetaan vastaanottajalle %s.", day, clock, place, sh.TrackingCode, to)
	}
}
