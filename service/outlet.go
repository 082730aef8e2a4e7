package service

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/tracking"
)

// The counter half of the network: at a POSTOFFICE or a PICKUPPOINT a
// clerk scans parcels in onto numbered shelf places, hands them over to
// their recipients (checking an ID, taking cash on delivery) and takes
// returns and pre-paid parcels in; the courier collects from the shelves
// as from a locker's compartments (Collections, Collect).
//
// Shelf places are rows of the compartments table (Size
// lokero.ShelfSize, no door), laid out one at a time as parcels need
// them, up to the outlet's Location.ShelfPlaces; a parcel's Compartment
// is its place's number and lokero.ShelfPlace names it ("B-17"). The
// shelf place is the counter's business: tracking never shows it.

// MaxCounterStorageDays caps a counter's storage period in calendar days
// (CounterDeadline): an outlet closed for weeks does not keep a parcel
// for ever.
const MaxCounterStorageDays = 60

// CounterDeadline returns the storage deadline of a parcel that arrived
// at an outlet's counter at arrival, on the outlet's own calendar: the
// recipient gets calendar.StorageDays (7) days on which the outlet is
// open, counted from the day after the arrival (Helsinki), and may collect
// the parcel until the end of the 7th, so the deadline is the midnight
// (Helsinki) that ends it. A day the outlet is not open
// (Location.OpenOn: a weekday without opening hours such as Sunday, a
// closed exception day, a temporary closure, a point not yet open) does
// not count: a point closed for days does not eat the recipient's days.
// The period never ends later than the end of the 60th calendar day after
// the arrival (MaxCounterStorageDays), open days or not. For an outlet
// open every day it is the locker's deadline
// (calendar.Calendar.StorageDeadline with StorageDays).
//
// The rule reads the outlet's status as it stands at the arrival: a
// closure announced later does not move a deadline already told to the
// recipient.
func CounterDeadline(loc *lokero.Location, arrival time.Time) time.Time {
	day := lokero.DateOf(arrival)
	open := 0
	for i := 1; i <= MaxCounterStorageDays; i++ {
		d := day.AddDays(i)
		if !loc.OpenOn(d.String()) {
			continue
		}
		if open++; open == calendar.StorageDays {
			return d.AddDays(1).Start().UTC()
		}
	}
	return day.AddDays(MaxCounterStorageDays + 1).Start().UTC()
}

// CounterParcel is a parcel on an outlet's shelf and the place it is on.
type CounterParcel struct {
	Shipment   lokero.Shipment
	ShelfPlace string // e.g. "B-17" (lokero.ShelfPlace)
}

// clerkOutlet checks that a clerk acts at their own outlet and returns it:
// another kind of credential is EFORBIDDEN "not_a_clerk", another
// outlet's clerk EFORBIDDEN "other_outlet", and an id that is no outlet
// ENOTFOUND "unknown_outlet".
func (l *Lockers) clerkOutlet(clerk lokero.Credential, outletID string) (*lokero.Location, error) {
	if clerk.Kind != lokero.KindClerk {
		return nil, &lokero.Error{Code: lokero.EFORBIDDEN, Reason: "not_a_clerk", Message: "only an outlet's clerk works at its counter"}
	}
	if clerk.LocationID != outletID {
		return nil, &lokero.Error{Code: lokero.EFORBIDDEN, Reason: "other_outlet", Message: "a clerk acts only at their own outlet"}
	}
	return l.outletAt(outletID)
}

// freeShelfPlace returns the outlet's free shelf place with the lowest
// number (an existing row that holds nothing and is not out of order, or
// a new row for a number not laid out yet), or false when all of its
// Location.ShelfPlaces are taken.
func freeShelfPlace(loc *lokero.Location, rows []lokero.Compartment) (lokero.Compartment, bool) {
	byNumber := make(map[int]lokero.Compartment, len(rows))
	for _, c := range rows {
		byNumber[c.Number] = c
	}
	for n := 1; n <= loc.ShelfPlaces(); n++ {
		c, ok := byNumber[n]
		if !ok {
			return lokero.Compartment{LocationID: loc.ID, Number: n, Size: lokero.ShelfSize}, true
		}
		if c.ShipmentID == "" && !c.OutOfOrder {
			return c, true
		}
	}
	return lokero.Compartment{}, false
}

// putOnShelf puts a parcel on the outlet's lowest free shelf place and
// returns the place; all taken is ECONFLICT "shelf_full".
func putOnShelf(ctx context.Context, tx lokero.Tx, loc *lokero.Location, sh *lokero.Shipment) (lokero.Compartment, error) {
	rows, err := tx.Compartments(ctx, loc.ID)
	if err != nil {
		return lokero.Compartment{}, err
	}
	place, ok := freeShelfPlace(loc, rows)
	if !ok {
		return lokero.Compartment{}, &lokero.Error{Code: lokero.ECONFLICT, Reason: "shelf_full",
			Message: fmt.Sprintf("all %d shelf places of %s are taken: ask the courier to collect, or the operator to raise its shelf capacity", loc.ShelfPlaces(), loc.Name)}
	}
	place.ShipmentID = sh.ID
	if err := tx.PutCompartment(ctx, place); err != nil {
		return lokero.Compartment{}, fmt.Errorf("shelf place %d at %s: %w", place.Number, loc.ID, err)
	}
	sh.Compartment = place.Number
	return place, nil
}

// takeOffShelf frees a parcel's shelf place.
func takeOffShelf(ctx context.Context, tx lokero.Tx, loc *lokero.Location, sh *lokero.Shipment) error {
	rows, err := tx.Compartments(ctx, loc.ID)
	if err != nil {
		return err
	}
	for _, c := range rows {
		if c.Number == sh.Compartment && c.ShipmentID == sh.ID {
			c.ShipmentID, c.DoorOpen = "", false
			if err := tx.PutCompartment(ctx, c); err != nil {
				return err
			}
		}
	}
	sh.Compartment = 0
	return nil
}

// Arrive is a clerk scanning a parcel in at their outlet: the parcel, in
// transit to this outlet, is READY_FOR_PICKUP on the lowest free shelf
// place, with a storage deadline on the outlet's calendar
// (CounterDeadline), a pickup code (derived as a locker's opening code,
// of the length the code policy gives the outlet's type, and stored only
// as its hash), the reminder and the expiry scheduled as at a locker, and
// the notice of arrival queued in the same transaction: in the
// recipient's language, with the outlet's name, address and opening hours
// for the coming NoticeHoursDays days, the pickup code and the last day.
//
// A parcel already ready for pickup on this outlet's shelf (scanned
// twice) is answered as it is, and nothing changes. Refusals: not this
// outlet's clerk (EFORBIDDEN), no such outlet (ENOTFOUND
// "unknown_outlet"), a malformed tracking code (EINVALID
// "tracking_code"), an unknown one (ENOTFOUND "unknown_tracking_code"), a
// parcel for another destination (ECONFLICT "wrong_outlet", naming it), a
// parcel not handed over or not in transit (ECONFLICT
// lokero.ReasonIllegalTransition), every shelf place taken (ECONFLICT
// "shelf_full").
func (l *Lockers) Arrive(ctx context.Context, clerk lokero.Credential, outletID, trackingCode string) (CounterParcel, error) {
	loc, err := l.clerkOutlet(clerk, outletID)
	if err != nil {
		return CounterParcel{}, err
	}
	code := tracking.Normalize(trackingCode)
	if !tracking.Valid(code) {
		return CounterParcel{}, lokero.Invalid("tracking_code", "malformed", "%q is not a tracking code (e.g. JJ123456785FI)", truncateText(trackingCode, 64))
	}
	found, err := l.store.ShipmentByTrackingCode(ctx, code)
	if lokero.ErrorCode(err) == lokero.ENOTFOUND || (err == nil && found.TrackingCode != code) {
		return CounterParcel{}, &lokero.Error{Code: lokero.ENOTFOUND, Reason: "unknown_tracking_code", Field: "tracking_code", Message: "no parcel with tracking code " + code}
	} else if err != nil {
		return CounterParcel{}, err
	}
	if l.codes == nil {
		return CounterParcel{}, errors.New("pickup code: no code secret configured")
	}
	var out CounterParcel
	err = l.store.InTx(ctx, func(tx lokero.Tx) error {
		out = CounterParcel{}
		sh, err := tx.Shipment(ctx, found.ID)
		if err != nil {
			return err
		}
		if sh.Status == lokero.StatusReadyForPickup && sh.DestinationID == loc.ID && sh.Compartment > 0 {
			out = CounterParcel{Shipment: sh, ShelfPlace: lokero.ShelfPlace(sh.Compartment)}
			return nil // scanned twice: nothing to do
		}
		if sh.DestinationID != loc.ID {
			return wrongOutlet(l.dir.Snapshot(), &sh)
		}
		if sh.Status != lokero.StatusInTransit {
			return &lokero.Error{Code: lokero.ECONFLICT, Reason: lokero.ReasonIllegalTransition, Field: "tracking_code",
				Message: fmt.Sprintf("parcel %s is %s: only a parcel in transit arrives at the counter", code, sh.Status)}
		}
		if _, err := putOnShelf(ctx, tx, loc, &sh); err != nil {
			return err
		}
		if err := l.counterReady(ctx, tx, loc, &sh, tx.Now()); err != nil {
			return err
		}
		if err := tx.UpdateShipment(ctx, &sh); err != nil {
			return err
		}
		out = CounterParcel{Shipment: sh, ShelfPlace: lokero.ShelfPlace(sh.Compartment)}
		return nil
	})
	if err != nil {
		return CounterParcel{}, err
	}
	l.log.Info("parcel arrived at a counter", "location", loc.ID, "shipment", out.Shipment.ID, "shelf_place", out.ShelfPlace, "clerk", clerk.ID)
	return out, nil
}

// wrongOutlet refuses a parcel scanned at an outlet it is not for,
// naming where it goes.
func wrongOutlet(snap *Snapshot, sh *lokero.Shipment) error {
	where := "its store"
	if sh.DestinationID != "" {
		where = sh.DestinationID
		if d := snap.ByID(sh.DestinationID); d != nil {
			where = fmt.Sprintf("%s (%s), %s, %s %s", d.Name, d.ID, d.Street, d.Postcode, d.City)
		}
	}
	return &lokero.Error{Code: lokero.ECONFLICT, Reason: "wrong_outlet", Field: "tracking_code",
		Message: fmt.Sprintf("parcel %s is for %s, not this outlet", sh.TrackingCode, where)}
}

// counterReady makes a parcel on an outlet's shelf ready for pickup:
// deadline, pickup code (unique among the outlet's active codes), notice
// of arrival, reminder and expiry, as Lockers.ready does at a locker.
func (l *Lockers) counterReady(ctx context.Context, tx lokero.Tx, loc *lokero.Location, sh *lokero.Shipment, now time.Time) error {
	deadline := CounterDeadline(loc, now)
	return l.waitForPickup(ctx, tx, loc, sh, now, deadline,
		fmt.Sprintf("Arrived at %s: ready for pickup at the counter until %s.", loc.Name, deadline.In(calendar.Helsinki).Format("2.1.2006 15:04")))
}

// CounterPayment is how the clerk took a parcel's cash on delivery.
type CounterPayment struct {
	Method      string `json:"method"`       // lokero.PaymentCash or lokero.PaymentCard
	AmountCents int64  `json:"amount_cents"` // must be the parcel's amount
	Reference   string `json:"reference"`    // the card terminal's or the till's receipt; optional
}

// PickupRequest is a recipient, or their representative, collecting a
// parcel at the counter.
type PickupRequest struct {
	// PickupCode is the code of the notice of arrival; TrackingCode the
	// parcel's tracking code. Exactly one of the two.
	PickupCode   string `json:"pickup_code"`
	TrackingCode string `json:"tracking_code"`
	// IdentityChecked is the clerk's confirmation that they checked the
	// ID of the person collecting: required.
	IdentityChecked bool `json:"identity_checked"`
	// Representative is the name of a representative collecting for the
	// recipient, as on their ID; "" when the recipient collects.
	Representative string `json:"representative"`
	// PowerOfAttorney is the clerk's confirmation that the representative
	// showed the recipient's power of attorney: required with one.
	PowerOfAttorney bool `json:"power_of_attorney"`
	// Payment is the cash on delivery the clerk took, for a parcel with
	// some unpaid.
	Payment *CounterPayment `json:"payment"`
}

// The results of CounterPickup.
const (
	ResultPickedUp        = "picked_up"
	ResultPaymentRequired = "payment_required"
)

// CounterPickupResult is what the counter's screen shows after a pickup:
// the parcel handed over, or the cash on delivery to take first.
type CounterPickupResult struct {
	Result      string // ResultPickedUp or ResultPaymentRequired
	Shipment    lokero.Shipment
	ShelfPlace  string // where the parcel is (was) on the shelf
	AmountCents int64  // due, for ResultPaymentRequired
	Currency    string
}

// CounterPickup is a clerk handing a parcel over at their outlet's
// counter: the parcel, READY_FOR_PICKUP on this outlet's shelf, found by
// its pickup code or its tracking code, is PICKED_UP; its shelf place is
// free, its shelf reservation given back, its pickup code stops working,
// and its Pickup records when, where, by whom (the recipient, or a named
// representative with a power of attorney) and which clerk.
//
// A parcel with cash on delivery not yet paid is answered
// ResultPaymentRequired with the amount, and nothing changes, until the
// request carries the clerk's Payment of exactly that amount (cash or
// card); the payment is then recorded (lokero.COD's CollectedAt, Method,
// LocationID, TerminalRef = the reference) and the parcel handed over in
// the same transaction.
//
// Refusals, each naming the field: neither or both codes (EINVALID
// "pickup_code"), a malformed tracking code (EINVALID "tracking_code"),
// the identity not confirmed (EINVALID "identity_checked"), a
// representative without a power of attorney (EINVALID
// "power_of_attorney"), a payment method other than cash or card
// (EINVALID "payment.method"), a wrong amount (EUNPROCESSABLE
// "amount_mismatch", "payment.amount_cents"), a payment for a parcel with
// nothing to pay (ECONFLICT "no_payment_due", "payment"), an unknown or
// used pickup code (ENOTFOUND "unknown_pickup_code"), a tracking code of
// no parcel on this outlet's shelf (ENOTFOUND "not_on_shelf"), a parcel
// whose storage period ended (ECONFLICT "expired"). The code is never
// logged.
func (l *Lockers) CounterPickup(ctx context.Context, clerk lokero.Credential, outletID string, req PickupRequest) (CounterPickupResult, error) {
	loc, err := l.clerkOutlet(clerk, outletID)
	if err != nil {
		return CounterPickupResult{}, err
	}
	pickupCode := strings.Map(dropSeparators, req.PickupCode)
	if len(pickupCode) > 64 {
		pickupCode = pickupCode[:64] // a hash of garbage is garbage: no need to read more
	}
	trackingCode := strings.TrimSpace(req.TrackingCode)
	switch {
	case pickupCode == "" && trackingCode == "":
		return CounterPickupResult{}, lokero.Invalid("pickup_code", "required", "give the pickup code of the notice of arrival, or the parcel's tracking code")
	case pickupCode != "" && trackingCode != "":
		return CounterPickupResult{}, lokero.Invalid("pickup_code", "ambiguous", "give the pickup code or the tracking code, not both")
	}
	norm := tracking.Normalize(trackingCode)
	if trackingCode != "" && !tracking.Valid(norm) {
		return CounterPickupResult{}, lokero.Invalid("tracking_code", "malformed", "%q is not a tracking code (e.g. JJ123456785FI)", truncateText(trackingCode, 64))
	}
	if !req.IdentityChecked {
		return CounterPickupResult{}, lokero.Invalid("identity_checked", "required",
			"check the ID of the person collecting the parcel and confirm it with identity_checked: true")
	}
	representative := strings.TrimSpace(req.Representative)
	if err := checkText("representative", representative, false, maxTextLen); err != nil {
		return CounterPickupResult{}, err
	}
	if representative != "" && !req.PowerOfAttorney {
		return CounterPickupResult{}, lokero.Invalid("power_of_attorney", "required",
			"a representative collects a parcel only with the recipient's power of attorney: confirm it with power_of_attorney: true")
	}
	var pay *CounterPayment
	if req.Payment != nil {
		p := *req.Payment
		p.Method = strings.ToLower(strings.TrimSpace(p.Method))
		p.Reference = strings.TrimSpace(p.Reference)
		switch {
		case p.Method != lokero.PaymentCash && p.Method != lokero.PaymentCard:
			return CounterPickupResult{}, lokero.Invalid("payment.method", "unknown_method", "payment method must be cash or card; got %q", truncateText(p.Method, 32))
		case p.AmountCents <= 0:
			return CounterPickupResult{}, lokero.Invalid("payment.amount_cents", "out_of_range", "the amount paid must be more than 0 cents; got %d", p.AmountCents)
		}
		if err := checkText("payment.reference", p.Reference, false, 64); err != nil {
			return CounterPickupResult{}, err
		}
		pay = &p
	}
	var byTracking lokero.Shipment
	if trackingCode != "" {
		found, err := l.store.ShipmentByTrackingCode(ctx, norm)
		if lokero.ErrorCode(err) == lokero.ENOTFOUND || (err == nil && found.TrackingCode != norm) {
			return CounterPickupResult{}, notOnShelf(norm)
		} else if err != nil {
			return CounterPickupResult{}, err
		}
		byTracking = found
	}
	if l.codes == nil {
		return CounterPickupResult{}, errors.New("pickup code: no code secret configured")
	}
	var (
		res      CounterPickupResult
		released bool
	)
	err = l.store.InTx(ctx, func(tx lokero.Tx) error {
		res, released = CounterPickupResult{}, false
		var sh lokero.Shipment
		if pickupCode != "" {
			var err error
			if sh, err = l.byPickupCode(ctx, tx, loc, pickupCode); err != nil {
				return err
			}
		} else {
			var err error
			if sh, err = tx.Shipment(ctx, byTracking.ID); err != nil {
				return err
			}
			onShelf := sh.DestinationID == loc.ID && sh.Compartment > 0 &&
				(sh.Status == lokero.StatusReadyForPickup || sh.Status == lokero.StatusExpired)
			if !onShelf {
				return notOnShelf(norm)
			}
		}
		now := tx.Now()
		place := lokero.ShelfPlace(sh.Compartment)
		if sh.Status == lokero.StatusExpired || !now.Before(sh.StorageDeadline) {
			return &lokero.Error{Code: lokero.ECONFLICT, Reason: "expired",
				Message: fmt.Sprintf("the storage period of parcel %s ended on %s: it goes back to the sender; the courier collects it from shelf place %s",
					sh.TrackingCode, sh.StorageDeadline.Add(-time.Minute).In(calendar.Helsinki).Format("2.1.2006"), place)}
		}
		due := sh.COD != nil && sh.COD.CollectedAt == nil
		switch {
		case due && pay == nil:
			res = CounterPickupResult{Result: ResultPaymentRequired, Shipment: sh, ShelfPlace: place, AmountCents: sh.COD.AmountCents, Currency: sh.COD.Currency}
			return nil // nothing changes until it is paid
		case !due && pay != nil:
			return &lokero.Error{Code: lokero.ECONFLICT, Reason: "no_payment_due", Field: "payment",
				Message: fmt.Sprintf("parcel %s has no cash on delivery to pay: take no payment", sh.TrackingCode)}
		case due && pay.AmountCents != sh.COD.AmountCents:
			return &lokero.Error{Code: lokero.EUNPROCESSABLE, Reason: "amount_mismatch", Field: "payment.amount_cents",
				Message: fmt.Sprintf("the parcel's cash on delivery is %d cents; %d were paid: the parcel is not handed over", sh.COD.AmountCents, pay.AmountCents)}
		case due:
			sh.COD.CollectedAt, sh.COD.Method, sh.COD.LocationID, sh.COD.TerminalRef = &now, pay.Method, loc.ID, pay.Reference
			how := "in cash"
			if pay.Method == lokero.PaymentCard {
				how = "by card"
			}
			sh.Note(now, loc.ID, "Cash on delivery paid at the counter, "+how+".")
		}
		if err := takeOffShelf(ctx, tx, loc, &sh); err != nil {
			return err
		}
		pickup := &lokero.Pickup{At: now, LocationID: loc.ID, By: lokero.PickedUpByRecipient, ClerkID: clerk.ID}
		reason := "Picked up at the counter by the recipient."
		if representative != "" {
			pickup.By, pickup.Representative = lokero.PickedUpByRepresentative, representative
			reason = "Picked up at the counter by a representative with a power of attorney."
		}
		if err := sh.Transition(lokero.StatusPickedUp, now, loc.ID, reason); err != nil {
			return err
		}
		sh.OpeningCodeHash, sh.Pickup = nil, pickup
		if sh.SizeClass != "" {
			if err := tx.Release(ctx, sh.DestinationID, sh.DeliveryDate, sh.SizeClass); err != nil {
				return err
			}
			sh.SizeClass, released = "", true
		}
		if err := tx.UpdateShipment(ctx, &sh); err != nil {
			return err
		}
		res = CounterPickupResult{Result: ResultPickedUp, Shipment: sh, ShelfPlace: place}
		if sh.COD != nil {
			res.AmountCents, res.Currency = sh.COD.AmountCents, sh.COD.Currency
		}
		return nil
	})
	if err != nil {
		return CounterPickupResult{}, err
	}
	if released {
		l.dir.reservationsChanged(loc.ID)
	}
	if res.Result == ResultPickedUp {
		l.log.Info("parcel picked up at a counter", "location", loc.ID, "shipment", res.Shipment.ID, "by", res.Shipment.Pickup.By, "clerk", clerk.ID)
	}
	return res, nil
}

// dropSeparators drops what people put between a code's digits (spaces,
// hyphens) and any other whitespace.
func dropSeparators(r rune) rune {
	if r == ' ' || r == '-' || r == '\t' || r == '\n' || r == '\r' || r == '\u00a0' {
		return -1
	}
	return r
}

// byPickupCode finds, locked, the parcel ready for pickup at an outlet
// whose pickup code this is, under any key of the code secret (as the
// keypad does); none is ENOTFOUND "unknown_pickup_code".
func (l *Lockers) byPickupCode(ctx context.Context, tx lokero.Tx, loc *lokero.Location, code string) (lokero.Shipment, error) {
	for _, h := range l.codes.Hashes(loc.ID, code) {
		sh, err := tx.ShipmentByOpeningCode(ctx, loc.ID, h)
		if err == nil && sh.Status == lokero.StatusReadyForPickup {
			return sh, nil
		}
		if err != nil && lokero.ErrorCode(err) != lokero.ENOTFOUND {
			return lokero.Shipment{}, err
		}
	}
	return lokero.Shipment{}, &lokero.Error{Code: lokero.ENOTFOUND, Reason: "unknown_pickup_code", Field: "pickup_code",
		Message: "no parcel on this outlet's shelf has that pickup code (a used code, or one of a parcel whose storage period ended, opens nothing)"}
}

func notOnShelf(code string) error {
	return &lokero.Error{Code: lokero.ENOTFOUND, Reason: "not_on_shelf", Field: "tracking_code",
		Message: fmt.Sprintf("parcel %s is not on this outlet's shelves", code)}
}

// CounterDropOffRequest is a consumer handing a return or a pre-paid
// parcel to a clerk: its Code (a delivery's return code, or a pre-paid
// parcel's drop-off code), or, for a return whose code the consumer does
// not have, the delivery's TrackingCode and the recipient's Postcode.
type CounterDropOffRequest struct {
	Code         string `json:"code"`
	TrackingCode string `json:"tracking_code"`
	Postcode     string `json:"postcode"`
}

// CounterDropOff is a clerk taking a return or a pre-paid parcel in at
// their outlet: it is DROPPED_OFF there on the lowest free shelf place and
// joins the outlet's collection list; the courier takes it on to the store
// or to its recipient as from a locker. A return is created as at a
// locker's keypad (a return shipment of the delivery, for its store to
// see); the answer's shipment is the dropped-off one, whose tracking code
// is the consumer's receipt, also sent to them by SMS and e-mail
// (queueDropOffReceipt) in the same transaction.
//
// A return is taken only at an outlet with the "return" function, a
// pre-paid parcel only at one with "send" (ECONFLICT "not_offered_here").
// Refusals, each naming the field: neither or both ways of naming the
// parcel (EINVALID "code"), a malformed code, tracking code or postcode
// (EINVALID), an unknown code (ENOTFOUND "unknown_code"), a tracking
// code and postcode of no delivery whose store offers free returns
// (ENOTFOUND "no_such_shipment", as Shipments.ReturnCode answers), a
// delivery not yet picked up (ECONFLICT "not_delivered_yet"), a code used
// already (ECONFLICT "code_used"), every shelf place taken (ECONFLICT
// "shelf_full").
func (l *Lockers) CounterDropOff(ctx context.Context, clerk lokero.Credential, outletID string, req CounterDropOffRequest) (CounterParcel, error) {
	loc, err := l.clerkOutlet(clerk, outletID)
	if err != nil {
		return CounterParcel{}, err
	}
	code := strings.Map(dropSeparators, req.Code)
	trackingCode, postcode := strings.TrimSpace(req.TrackingCode), strings.TrimSpace(req.Postcode)
	field := "code"
	switch {
	case code == "" && trackingCode == "" && postcode == "":
		return CounterParcel{}, lokero.Invalid("code", "required", "give the return code or the pre-paid parcel's code, or the delivery's tracking code and the recipient's postcode")
	case code != "" && (trackingCode != "" || postcode != ""):
		return CounterParcel{}, lokero.Invalid("code", "ambiguous", "give the code, or the tracking code and the postcode, not both")
	case code != "" && !tracking.ValidReturnCode(code):
		return CounterParcel{}, lokero.Invalid("code", "malformed", "a return or drop-off code is 12 digits with a check digit; this is not one")
	case code == "":
		field = "tracking_code"
	}
	var deliveryID string
	if code == "" {
		if deliveryID, err = l.returnable(ctx, trackingCode, postcode); err != nil {
			return CounterParcel{}, err
		}
	}
	var out CounterParcel
	err = l.store.InTx(ctx, func(tx lokero.Tx) error {
		out = CounterParcel{}
		var (
			holder lokero.Shipment
			err    error
		)
		if code != "" {
			holder, err = tx.ShipmentByReturnCode(ctx, code)
			if lokero.ErrorCode(err) == lokero.ENOTFOUND {
				return &lokero.Error{Code: lokero.ENOTFOUND, Reason: "unknown_code", Field: "code", Message: "no return or pre-paid parcel has that code"}
			}
		} else {
			holder, err = tx.Shipment(ctx, deliveryID)
		}
		if err != nil {
			return err
		}
		function, what := lokero.FunctionReturn, "returns"
		if holder.Kind == lokero.ShipmentPrepaid {
			function, what = lokero.FunctionSend, "pre-paid parcels"
		}
		if !loc.Has(function) {
			return &lokero.Error{Code: lokero.ECONFLICT, Reason: "not_offered_here",
				Message: fmt.Sprintf("%s does not take %s: its functions are %s", loc.Name, what, strings.Join(loc.Functions, ", "))}
		}
		if _, err := dropHolder(ctx, tx, holder); err != nil {
			var e *lokero.Error
			if errors.As(err, &e) && e.Reason == reasonCodeUsed {
				return &lokero.Error{Code: lokero.ECONFLICT, Reason: "code_used", Field: field,
					Message: "this parcel was dropped off already: the code works once"}
			}
			return err
		}
		now := tx.Now()
		sh := holder
		if holder.Kind.OrDefault() == lokero.ShipmentDelivery {
			if sh, err = l.newReturn(ctx, tx, holder, loc, now, fmt.Sprintf("Handed in at the counter of %s.", loc.Name)); err != nil {
				return err
			}
		}
		if _, err := putOnShelf(ctx, tx, loc, &sh); err != nil {
			return err
		}
		if err := sh.Transition(lokero.StatusDroppedOff, now, loc.ID,
			fmt.Sprintf("Dropped off at the counter of %s; the courier collects it from there.", loc.Name)); err != nil {
			return err
		}
		if err := tx.UpdateShipment(ctx, &sh); err != nil {
			return err
		}
		if err := queueDropOffReceipt(ctx, tx, &sh, loc); err != nil {
			return err
		}
		out = CounterParcel{Shipment: sh, ShelfPlace: lokero.ShelfPlace(sh.Compartment)}
		return nil
	})
	if err != nil {
		return CounterParcel{}, err
	}
	l.log.Info("parcel dropped off at a counter", "location", loc.ID, "shipment", out.Shipment.ID, "kind", out.Shipment.Kind, "clerk", clerk.ID)
	return out, nil
}

// returnable finds the delivery a consumer returns without its code, by
// its tracking code and the recipient's postcode: only a delivery (not
// cancelled) of a store that offers free returns. Anything else is one
// and the same ENOTFOUND "no_such_shipment", so that a guesser learns
// nothing, as Shipments.ReturnCode answers.
func (l *Lockers) returnable(ctx context.Context, trackingCode, postcode string) (string, error) {
	notFound := &lokero.Error{Code: lokero.ENOTFOUND, Reason: "no_such_shipment", Field: "tracking_code",
		Message: "no parcel with that tracking code was delivered to that postcode, or its store does not offer free returns"}
	found, ok, err := provenShipment(ctx, l.store, trackingCode, postcode, "")
	if err != nil {
		return "", err
	} else if !ok || found.Kind.OrDefault() != lokero.ShipmentDelivery || found.Status == lokero.StatusCancelled {
		return "", notFound
	}
	if found.ReturnCode == "" { // a return code on the label means the store offered free returns
		r, err := l.store.Retailer(ctx, found.RetailerID)
		if err != nil {
			return "", err
		}
		if !r.FreeReturns {
			return "", notFound
		}
	}
	return found.ID, nil
}

// ShelfParcel is a parcel on, or just off, an outlet's shelf.
type ShelfParcel struct {
	ShelfPlace string // "" for a parcel no longer on the shelf
	Shipment   lokero.Shipment
}

// OutletView is an outlet's shelves as its clerks and the operator see
// them.
type OutletView struct {
	Location *lokero.Location
	// OnShelf lists the parcels on the shelf, by place: waiting for their
	// recipients, expired, or dropped off, waiting for the courier.
	OnShelf []ShelfParcel
	// ExpiringToday lists the parcels ready for pickup whose storage
	// period ends at the end of today (Helsinki).
	ExpiringToday []ShelfParcel
	// CollectedToday lists the parcels delivered here that left the shelf
	// today (Helsinki): picked up, or taken back to their senders by the
	// courier. (Returns and pre-paid parcels taken in here leave for
	// another destination: the store does not list them by where they
	// were dropped off, so they are not counted.)
	CollectedToday []ShelfParcel
	// ShelfPlaces is how many places the outlet has
	// (Location.ShelfPlaces), Free how many of them hold nothing and are
	// not out of order.
	ShelfPlaces, Free int
	// ReservedToday is how many shelf reservations are booked for today's
	// delivery date.
	ReservedToday int
}

// OutletView returns an outlet's shelves for an operator, or for a clerk
// of that outlet (another outlet's clerk is EFORBIDDEN "other_outlet").
func (l *Lockers) OutletView(ctx context.Context, viewer lokero.Credential, outletID string) (OutletView, error) {
	switch {
	case viewer.Kind == lokero.KindOperator:
	case viewer.Kind == lokero.KindClerk && viewer.LocationID == outletID:
	case viewer.Kind == lokero.KindClerk:
		return OutletView{}, &lokero.Error{Code: lokero.EFORBIDDEN, Reason: "other_outlet", Message: "a clerk sees only their own outlet"}
	default:
		return OutletView{}, lokero.Errorf(lokero.EFORBIDDEN, "the outlet view is for operators and the outlet's clerks")
	}
	loc, err := l.outletAt(outletID)
	if err != nil {
		return OutletView{}, err
	}
	today := lokero.DateOf(l.now())
	rows, err := l.store.Compartments(ctx, loc.ID)
	if err != nil {
		return OutletView{}, fmt.Errorf("shelves of %s: %w", loc.ID, err)
	}
	placed, err := l.placed(ctx, loc, rows)
	if err != nil {
		return OutletView{}, err
	}
	v := OutletView{Location: loc, ShelfPlaces: loc.ShelfPlaces(), OnShelf: []ShelfParcel{}, ExpiringToday: []ShelfParcel{}}
	taken := 0
	for _, c := range rows {
		if c.Number <= v.ShelfPlaces && (c.ShipmentID != "" || c.OutOfOrder) {
			taken++
		}
		sh, ok := placed[c.ShipmentID]
		if !ok {
			continue
		}
		p := ShelfParcel{ShelfPlace: lokero.ShelfPlace(c.Number), Shipment: sh}
		v.OnShelf = append(v.OnShelf, p)
		if sh.Status == lokero.StatusReadyForPickup && !sh.StorageDeadline.IsZero() &&
			lokero.DateOf(sh.StorageDeadline.Add(-time.Nanosecond)) == today {
			v.ExpiringToday = append(v.ExpiringToday, p)
		}
	}
	v.Free = max(v.ShelfPlaces-taken, 0)
	reserved, err := l.store.ReservedOn(ctx, today, loc.ID)
	if err != nil {
		return OutletView{}, fmt.Errorf("shelf reservations of %s: %w", loc.ID, err)
	}
	v.ReservedToday = reserved[loc.ID][lokero.ShelfSize]
	if v.CollectedToday, err = l.collectedOn(ctx, loc, today); err != nil {
		return OutletView{}, err
	}
	return v, nil
}

// placed returns the parcels in a location's compartments or on its shelf
// places, by ID. At an outlet the deliveries waiting there are read at
// once, without their events, and only the others one by one.
func (l *Lockers) placed(ctx context.Context, loc *lokero.Location, rows []lokero.Compartment) (map[string]lokero.Shipment, error) {
	out := map[string]lokero.Shipment{}
	if loc.Type.IsOutlet() {
		list, err := l.store.ShipmentsTo(ctx, loc.ID, []lokero.ShipmentStatus{lokero.StatusReadyForPickup, lokero.StatusExpired, lokero.StatusDroppedOff})
		if err != nil {
			return nil, fmt.Errorf("parcels at %s: %w", loc.ID, err)
		}
		for _, sh := range list {
			out[sh.ID] = sh
		}
	}
	for _, c := range rows {
		if _, ok := out[c.ShipmentID]; ok || c.ShipmentID == "" {
			continue
		}
		sh, err := l.store.Shipment(ctx, c.ShipmentID)
		if err != nil {
			return nil, fmt.Errorf("parcel in %s %d: %w", loc.ID, c.Number, err)
		}
		out[sh.ID] = sh
	}
	return out, nil
}

// collectedOn lists the parcels delivered to an outlet that left its
// shelf on day: picked up there, or collected by the courier to go back
// to their senders.
func (l *Lockers) collectedOn(ctx context.Context, loc *lokero.Location, day lokero.Date) ([]ShelfParcel, error) {
	list, err := l.store.ShipmentsTo(ctx, loc.ID, []lokero.ShipmentStatus{lokero.StatusPickedUp, lokero.StatusReturning, lokero.StatusReturnedToSender})
	if err != nil {
		return nil, fmt.Errorf("parcels collected at %s: %w", loc.ID, err)
	}
	start := day.Start()
	out := []ShelfParcel{}
	for _, sh := range list {
		if sh.UpdatedAt.Before(start) {
			continue // nothing happened to it today
		}
		if p := sh.Pickup; p != nil {
			if p.LocationID == loc.ID && lokero.DateOf(p.At) == day {
				out = append(out, ShelfParcel{Shipment: sh})
			}
			continue
		}
		// Collected by the courier (or picked up before pickups were
		// recorded): the events tell when and where it left.
		full, err := l.store.Shipment(ctx, sh.ID)
		if err != nil {
			return nil, fmt.Errorf("parcels collected at %s: %w", loc.ID, err)
		}
		if slices.ContainsFunc(full.Events, func(e lokero.ShipmentEvent) bool {
			return e.LocationID == loc.ID && lokero.DateOf(e.At) == day &&
				(e.Status == lokero.StatusPickedUp || e.Status == lokero.StatusReturning)
		}) {
			out = append(out, ShelfParcel{Shipment: full})
		}
	}
	return out, nil
}
