package service

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/geo"
	"github.com/lokero/lokero/routing"
	"github.com/lokero/lokero/tracking"
)

// Tracking code prefixes: the S10 service indicator, from the C range that
// the UPU keeps for parcel post (J is reserved).
const (
	TrackingPrefix       = "CL"
	ReturnTrackingPrefix = "CR"
)

// ShipmentStore is what the shipment use cases need of a database.
type ShipmentStore interface {
	lokero.ShipmentStore
	lokero.RetailerStore
}

// Shipments are the retailer's use cases: create, read, list, cancel,
// hand over, track, and return codes.
type Shipments struct {
	store    ShipmentStore
	dir      *Directory
	calendar *calendar.Calendar
	clock    lokero.Clock
	random   io.Reader
	limits   routing.Limits
	log      *slog.Logger
}

// NewShipments returns the shipment use cases over store and the
// directory. random is crypto/rand.Reader in production. A directory
// without a checkout view gets one over this store and calendar, so that
// its searches show the lockers' free compartments and the bookings here
// are seen at once.
func NewShipments(store ShipmentStore, dir *Directory, cal *calendar.Calendar, clock lokero.Clock, random io.Reader, log *slog.Logger) *Shipments {
	if random == nil {
		random = rand.Reader
	}
	if dir.availability == nil {
		dir.SetCheckout(cal, NewAvailability(store, clock, 0))
	}
	return &Shipments{store: store, dir: dir, calendar: cal, clock: clock, random: random, limits: routing.DefaultLimits(), log: log}
}

// now is the time of the injected clock as the stores keep it: UTC, to the
// microsecond, so that an answer and a later read agree.
func (s *Shipments) now() time.Time { return s.clock.Now().UTC().Truncate(time.Microsecond) }

// plainID reports whether an id, cursor or key from a client can be a
// stored value at all: valid UTF-8 without NUL (PostgreSQL refuses both).
func plainID(s string) bool { return utf8.ValidString(s) && !strings.ContainsRune(s, 0) }

// Directory returns the pickup-point directory the shipments are routed in.
func (s *Shipments) Directory() *Directory { return s.dir }

// CreateResult is a created (or, for a repeated idempotent request,
// earlier created) shipment.
type CreateResult struct {
	Shipment lokero.Shipment
	Replayed bool // the same request was made before with the same Idempotency-Key
}

// Create books a shipment for a retailer: validates the request, routes it
// (with a reason), reserves a compartment for the delivery date when the
// destination is a locker (overflowing to the nearest locker with room),
// and stores it with a tracking code, all in one transaction. With an
// idempotency key, the same key and the same request hash give back the
// same shipment; the same key with another request is an ECONFLICT.
func (s *Shipments) Create(ctx context.Context, retailer lokero.Retailer, req ShipmentRequest, idempotencyKey string, requestHash []byte) (CreateResult, error) {
	return s.create(ctx, retailer, req, lokero.ShipmentDelivery, idempotencyKey, requestHash)
}

// create books a delivery or a pre-paid parcel. A pre-paid parcel is
// routed now but reserves no compartment: its delivery day is known only
// once a consumer drops it off; it gets a free compartment at deposit.
func (s *Shipments) create(ctx context.Context, retailer lokero.Retailer, req ShipmentRequest, kind lokero.ShipmentKind, idempotencyKey string, requestHash []byte) (CreateResult, error) {
	if len(idempotencyKey) > 255 {
		return CreateResult{}, lokero.Invalid("Idempotency-Key", "too_long", "the Idempotency-Key header is longer than 255 characters")
	}
	if err := checkText("Idempotency-Key", idempotencyKey, false, 255); err != nil || !plainID(idempotencyKey) {
		return CreateResult{}, lokero.Invalid("Idempotency-Key", "malformed", "the Idempotency-Key header must be printable UTF-8 text")
	}
	if err := req.Validate(s.dir.Postcodes()); err != nil {
		return s.replayOr(ctx, retailer, idempotencyKey, requestHash, err)
	}
	if req.ReturnCode && !retailer.FreeReturns {
		return CreateResult{}, &lokero.Error{Code: lokero.EUNPROCESSABLE, Reason: "free_returns_disabled", Field: "return_code",
			Message: "return codes are for retailers that offer free returns; ask the operator to enable them for your store"}
	}
	now := s.now()
	date := s.calendar.DeliveryDate(now).String()
	snap := s.dir.Snapshot()
	rdir := routingDirectory{snap: snap, dir: s.dir, date: date}
	rreq := routingRequest(&req)
	decision, err := routing.Route(rreq, rdir, s.limits)
	if err != nil {
		return s.replayOr(ctx, retailer, idempotencyKey, requestHash, err)
	}
	if closed := decision.Location; !closed.OpenOn(date) {
		// The point asked for will be closed when the parcel arrives.
		alts, err := openAlternatives(ctx, s.dir, closed, rreq, s.limits, date, maxAlternatives)
		if err != nil {
			return CreateResult{}, err
		}
		if req.Fallback != FallbackNearestOpen || len(alts) == 0 {
			return s.replayOr(ctx, retailer, idempotencyKey, requestHash, closedRefusal(closed, date, alts))
		}
		decision = routing.Decision{Location: alts[0], Rule: RuleClosureReroute,
			Reason: fmt.Sprintf("%s is closed on %s (%s): the parcel goes to the nearest open point, %s, %s.",
				closed.Name, date, closed.ClosedReason(date), alts[0].Name, alts[0].Street)}
	}

	var result CreateResult
	// A clash of random codes, or of two requests racing with one
	// idempotency key, is retried with a fresh transaction.
	for attempt := 0; ; attempt++ {
		err = s.store.InTx(ctx, func(tx lokero.ShipmentTx) error {
			result = CreateResult{}
			if idempotencyKey != "" {
				prev, hash, err := tx.ShipmentByIdempotencyKey(ctx, retailer.ID, idempotencyKey)
				switch {
				case err == nil && bytes.Equal(hash, requestHash):
					result = CreateResult{Shipment: prev, Replayed: true}
					return nil
				case err == nil:
					return &lokero.Error{Code: lokero.ECONFLICT, Reason: "idempotency_key_reused", Field: "Idempotency-Key",
						Message: fmt.Sprintf("Idempotency-Key %q was used for another request (shipment %s); use a new key for a new shipment", idempotencyKey, prev.ID)}
				case lokero.ErrorCode(err) != lokero.ENOTFOUND:
					return err
				}
			}
			final, size := decision, ""
			if kind == lokero.ShipmentDelivery {
				if final, size, err = s.reserve(ctx, tx, decision, rreq, rdir, date); err != nil {
					return err
				}
			}
			sh, err := s.newShipment(retailer, &req, final, size, date, now)
			if err != nil {
				return err
			}
			if kind == lokero.ShipmentPrepaid {
				if err := s.prepaid(&sh); err != nil {
					return err
				}
			}
			if err := tx.InsertShipment(ctx, &sh, idempotencyKey, requestHash); err != nil {
				return err
			}
			result.Shipment = sh
			return nil
		})
		var e *lokero.Error
		if attempt < 5 && errors.As(err, &e) && e.Code == lokero.ECONFLICT && strings.HasPrefix(e.Reason, "duplicate_") {
			continue
		}
		if err != nil {
			return CreateResult{}, err
		}
		if !result.Replayed && result.Shipment.SizeClass != "" {
			s.dir.reservationsChanged(result.Shipment.DestinationID)
		}
		return result, nil
	}
}

// replayOr answers a request that the rules refuse now: when the same
// request was accepted earlier under its idempotency key (before the
// directory changed), the retry gets that shipment; otherwise refused.
func (s *Shipments) replayOr(ctx context.Context, retailer lokero.Retailer, key string, hash []byte, refused error) (CreateResult, error) {
	if key == "" {
		return CreateResult{}, refused
	}
	var result CreateResult
	err := s.store.InTx(ctx, func(tx lokero.ShipmentTx) error {
		prev, prevHash, err := tx.ShipmentByIdempotencyKey(ctx, retailer.ID, key)
		if err == nil && bytes.Equal(prevHash, hash) {
			result = CreateResult{Shipment: prev, Replayed: true}
		} else if err != nil && lokero.ErrorCode(err) != lokero.ENOTFOUND {
			return err
		}
		return nil
	})
	if err != nil {
		return CreateResult{}, err
	}
	if result.Replayed {
		return result, nil
	}
	return CreateResult{}, refused
}

// reserve takes a compartment for the delivery date at the decided locker,
// or at the nearest alternative with room. Outlets need no reservation.
func (s *Shipments) reserve(ctx context.Context, tx lokero.ShipmentTx, d routing.Decision, req routing.Request, rdir routingDirectory, date string) (routing.Decision, string, error) {
	if !d.Location.Type.IsLocker() {
		return d, "", nil
	}
	if size, ok, err := reserveAt(ctx, tx, d.Location, req.Parcel, s.limits, date); err != nil || ok {
		return d, size, err
	}
	skip := map[string]bool{d.Location.ID: true}
	for _, alt := range routing.Overflow(d.Location, req, rdir, s.limits, date, skip, 20) {
		if size, ok, err := reserveAt(ctx, tx, alt.Location, req.Parcel, s.limits, date); err != nil || ok {
			return alt, size, err
		}
	}
	return d, "", &lokero.Error{Code: lokero.EUNPROCESSABLE, Reason: "no_capacity", Field: "pickup_point_id",
		Message: fmt.Sprintf("%s (%s) has no free compartment for this parcel on %s, and neither has any locker near it; choose another delivery point or try a later day", d.Location.Name, d.Location.ID, date)}
}

// reserveAt reserves the smallest free compartment class that takes the
// parcel at a locker on a date.
func reserveAt(ctx context.Context, tx lokero.ShipmentTx, l *lokero.Location, p lokero.Parcel, limits routing.Limits, date string) (string, bool, error) {
	for _, c := range routing.FittingClasses(p, l, limits) {
		ok, err := tx.Reserve(ctx, l.ID, date, c.Size, c.Count)
		if err != nil {
			return "", false, fmt.Errorf("reserve a %s compartment at %s: %w", c.Size, l.ID, err)
		}
		if ok {
			return c.Size, true, nil
		}
	}
	return "", false, nil
}

func (s *Shipments) newShipment(retailer lokero.Retailer, req *ShipmentRequest, d routing.Decision, size, date string, now time.Time) (lokero.Shipment, error) {
	id, err := s.newID("shp_", now)
	if err != nil {
		return lokero.Shipment{}, err
	}
	code, err := tracking.New(s.random, TrackingPrefix)
	if err != nil {
		return lokero.Shipment{}, fmt.Errorf("tracking code: %w", err)
	}
	sh := lokero.Shipment{
		ID: id, Kind: lokero.ShipmentDelivery, RetailerID: retailer.ID, Reference: req.Reference, TrackingCode: code,
		Status: lokero.StatusCreated, Sender: req.Sender, Recipient: req.Recipient, Parcel: *req.Parcel,
		PickupPointID: req.PickupPointID, Fallback: req.Fallback, DestinationID: d.Location.ID,
		Routing: lokero.Routing{Rule: d.Rule, Reason: d.Reason}, DeliveryDate: date, SizeClass: size,
		CreatedAt: now, UpdatedAt: now,
		Events: []lokero.ShipmentEvent{{Status: lokero.StatusCreated, At: now, LocationID: d.Location.ID, Reason: "Shipment booked: " + d.Reason}},
	}
	if req.COD != nil {
		sh.COD = &lokero.COD{AmountCents: req.COD.AmountCents, Currency: req.COD.Currency, Reference: req.COD.Reference}
	}
	if req.ReturnCode {
		if err := s.issueReturnCode(&sh); err != nil {
			return lokero.Shipment{}, err
		}
	}
	return sh, nil
}

func (s *Shipments) issueReturnCode(sh *lokero.Shipment) error {
	rc, err := tracking.NewReturnCode(s.random)
	if err != nil {
		return fmt.Errorf("return code: %w", err)
	}
	rt, err := tracking.New(s.random, ReturnTrackingPrefix)
	if err != nil {
		return fmt.Errorf("return tracking code: %w", err)
	}
	sh.ReturnCode, sh.ReturnTrackingCode = rc, rt
	return nil
}

// newID returns an id that sorts by creation time: prefix, 12 hex digits
// of Unix milliseconds, 10 random base32 characters.
func (s *Shipments) newID(prefix string, now time.Time) (string, error) {
	return newID(s.random, prefix, now)
}

func newID(random io.Reader, prefix string, now time.Time) (string, error) {
	var b [6]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return "", fmt.Errorf("new id: %w", err)
	}
	return fmt.Sprintf("%s%012x%s", prefix, now.UnixMilli(), strings.ToLower(base32.StdEncoding.EncodeToString(b[:])[:10])), nil
}

// Get returns one of the retailer's shipments. Another retailer's shipment
// is ENOTFOUND, exactly as if it did not exist.
func (s *Shipments) Get(ctx context.Context, retailer lokero.Retailer, id string) (lokero.Shipment, error) {
	if !plainID(id) || len(id) > 64 {
		return lokero.Shipment{}, notFoundShipment(id)
	}
	sh, err := s.store.Shipment(ctx, id)
	if err == nil && sh.RetailerID != retailer.ID {
		err = notFoundShipment(id)
	} else if lokero.ErrorCode(err) == lokero.ENOTFOUND {
		err = notFoundShipment(id)
	}
	return sh, err
}

func notFoundShipment(id string) error {
	return &lokero.Error{Code: lokero.ENOTFOUND, Reason: "unknown_shipment", Message: fmt.Sprintf("no shipment %q", id)}
}

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
	if f.Limit < 1 || f.Limit > 500 {
		return nil, "", lokero.Invalid("limit", "out_of_range", "limit must be 1..500; got %d", f.Limit)
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
	return s.transition(ctx, retailer.ID, id, lokero.StatusCancelled, func(tx lokero.ShipmentTx, sh *lokero.Shipment) (string, error) {
		switch {
		case sh.Kind == lokero.ShipmentReturn:
			return "", &lokero.Error{Code: lokero.ECONFLICT, Reason: "illegal_transition", Message: fmt.Sprintf("shipment %s is a customer's return: it is on its way and cannot be cancelled", sh.ID)}
		case sh.Compartment != 0:
			return "", &lokero.Error{Code: lokero.ECONFLICT, Reason: "illegal_transition", Message: fmt.Sprintf("shipment %s is being dropped off at a locker right now", sh.ID)}
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
	return s.transition(ctx, ownerID, id, lokero.StatusReturnedToSender, func(_ lokero.ShipmentTx, sh *lokero.Shipment) (string, error) {
		// A customer's return travels to its store in transit; any other
		// parcel goes back to its sender only after RETURNING.
		if (sh.Kind == lokero.ShipmentReturn) != (sh.Status == lokero.StatusInTransit) {
			return "", &lokero.Error{Code: lokero.ECONFLICT, Reason: "illegal_transition",
				Message: fmt.Sprintf("shipment %s is %s and cannot become %s", sh.ID, sh.Status, lokero.StatusReturnedToSender)}
		}
		if sh.Kind == lokero.ShipmentReturn {
			return "The return was delivered to the store.", nil
		}
		return "Handed back to the sender.", nil
	})
}

func (s *Shipments) handover(ctx context.Context, ownerID, id string) (lokero.Shipment, error) {
	return s.transition(ctx, ownerID, id, lokero.StatusInTransit, func(tx lokero.ShipmentTx, sh *lokero.Shipment) (string, error) {
		if sh.Kind.DroppedOffByConsumer() {
			return "", &lokero.Error{Code: lokero.ECONFLICT, Reason: "illegal_transition",
				Message: fmt.Sprintf("shipment %s is a %s parcel: a consumer drops it off at a parcel locker with its code, and the courier collects it there", sh.ID, sh.Kind)}
		}
		date := s.calendar.DeliveryDate(s.clock.Now()).String()
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
		if dest == nil || dest.OpenOn(date) {
			return reason, nil
		}
		moved, err := s.moveOff(ctx, tx, dest, sh)
		if err != nil {
			return "", err
		}
		if !moved {
			s.log.Warn("shipment stranded at a closed point", "shipment", sh.ID, "location", dest.ID, "delivery_date", date)
			reason += fmt.Sprintf(" %s is closed that day (%s) and no open point nearby takes the parcel: the operator is told.",
				dest.Name, dest.ClosedReason(date))
		}
		return reason, nil
	})
}

// moveDeliveryDate gives a shipment handed over later than booked its new
// delivery date, moving its compartment reservation to that day when the
// locker has room then (otherwise giving it back: the parcel gets a
// compartment at deposit if one is free), and returns the event's reason.
func (s *Shipments) moveDeliveryDate(ctx context.Context, tx lokero.ShipmentTx, sh *lokero.Shipment, date string) (string, error) {
	reason := "Handed over to the carrier; expected on " + date + "."
	if sh.SizeClass != "" {
		capacity := 0
		if l := s.dir.Snapshot().ByID(sh.DestinationID); l != nil {
			for _, c := range l.Compartments {
				if c.Size == sh.SizeClass {
					capacity = c.Count
				}
			}
		}
		ok, err := tx.Reserve(ctx, sh.DestinationID, date, sh.SizeClass, capacity)
		if err != nil {
			return "", err
		}
		if err := tx.Release(ctx, sh.DestinationID, sh.DeliveryDate, sh.SizeClass); err != nil {
			return "", err
		}
		if !ok {
			sh.SizeClass = ""
			reason += " The locker has no free compartment reserved for that day."
		}
	}
	sh.DeliveryDate = date
	return reason, nil
}

// release gives back a shipment's compartment reservation.
func (s *Shipments) release(ctx context.Context, tx lokero.ShipmentTx, sh *lokero.Shipment) error {
	if sh.SizeClass == "" {
		return nil
	}
	if err := tx.Release(ctx, sh.DestinationID, sh.DeliveryDate, sh.SizeClass); err != nil {
		return fmt.Errorf("release reservation of %s: %w", sh.ID, err)
	}
	sh.SizeClass = ""
	return nil
}

// transition moves a shipment (one of ownerID's; any, for "") to status
// next in one transaction, refusing an illegal move with ECONFLICT; apply does the
// move's own work and returns the event's reason.
func (s *Shipments) transition(ctx context.Context, ownerID string, id string, next lokero.ShipmentStatus,
	apply func(tx lokero.ShipmentTx, sh *lokero.Shipment) (string, error)) (lokero.Shipment, error) {
	if !plainID(id) || len(id) > 64 {
		return lokero.Shipment{}, notFoundShipment(id)
	}
	var out lokero.Shipment
	var before string // the destination before the move: a handover may re-route
	err := s.store.InTx(ctx, func(tx lokero.ShipmentTx) error {
		sh, err := tx.Shipment(ctx, id)
		if lokero.ErrorCode(err) == lokero.ENOTFOUND || (err == nil && ownerID != "" && sh.RetailerID != ownerID) {
			return notFoundShipment(id)
		} else if err != nil {
			return err
		}
		if !sh.Status.CanBecome(next) {
			return &lokero.Error{Code: lokero.ECONFLICT, Reason: "illegal_transition",
				Message: fmt.Sprintf("shipment %s is %s and cannot become %s", sh.ID, sh.Status, next)}
		}
		before = sh.DestinationID
		reason, err := apply(tx, &sh)
		if err != nil {
			return err
		}
		now := s.now()
		sh.Status, sh.UpdatedAt = next, now
		sh.Events = append(sh.Events, lokero.ShipmentEvent{Status: next, At: now, LocationID: sh.DestinationID, Reason: reason})
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
	norm := tracking.Normalize(trackingCode)
	if !tracking.Valid(norm) {
		return lokero.Shipment{}, lokero.Invalid("tracking_code", "malformed", "%q is not a tracking code (e.g. JJ123456785FI)", trackingCode)
	}
	if len(recipientPostcode) != 5 || strings.Trim(recipientPostcode, "0123456789") != "" {
		return lokero.Shipment{}, lokero.Invalid("postcode", "malformed", "postcode must be five digits; got %q", recipientPostcode)
	}
	notFound := &lokero.Error{Code: lokero.ENOTFOUND, Reason: "no_such_shipment",
		Message: "no shipment with that tracking code was delivered to that postcode, or its store does not offer free returns through parcel lockers"}
	found, err := s.store.ShipmentByTrackingCode(ctx, norm)
	if lokero.ErrorCode(err) == lokero.ENOTFOUND || (err == nil && (found.TrackingCode != norm ||
		found.Recipient.Postcode != recipientPostcode || found.Status == lokero.StatusCancelled)) {
		return lokero.Shipment{}, notFound
	} else if err != nil {
		return lokero.Shipment{}, err
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
	err = s.store.InTx(ctx, func(tx lokero.ShipmentTx) error {
		sh, err := tx.Shipment(ctx, found.ID)
		if err != nil {
			return err
		}
		if sh.ReturnCode == "" { // not issued by a request racing this one
			if err := s.issueReturnCode(&sh); err != nil {
				return err
			}
			sh.UpdatedAt = s.now()
			if err := tx.UpdateShipment(ctx, &sh); err != nil {
				return err
			}
		}
		out = sh
		return nil
	})
	return out, err
}

// APIKeyPrefix starts every retailer API key, so that a leaked key is
// recognisable (secret scanners look for such prefixes).
const APIKeyPrefix = "lok_"

// AddRetailer creates a retailer and returns its API key. Only the key's
// SHA-256 hash is stored: the key is shown once.
func (s *Shipments) AddRetailer(ctx context.Context, name string, freeReturns bool) (lokero.Retailer, string, error) {
	name = strings.TrimSpace(name)
	if err := checkText("name", name, true, maxTextLen); err != nil {
		return lokero.Retailer{}, "", err
	}
	now := s.now()
	id, err := s.newID("ret_", now)
	if err != nil {
		return lokero.Retailer{}, "", err
	}
	var secret [32]byte
	if _, err := io.ReadFull(s.random, secret[:]); err != nil {
		return lokero.Retailer{}, "", fmt.Errorf("new API key: %w", err)
	}
	key := APIKeyPrefix + strings.ToLower(strings.TrimRight(base32.StdEncoding.EncodeToString(secret[:]), "="))
	r := lokero.Retailer{ID: id, Name: name, FreeReturns: freeReturns, CreatedAt: now}
	if err := s.store.CreateRetailer(ctx, r, HashKey(key)); err != nil {
		return lokero.Retailer{}, "", fmt.Errorf("add retailer: %w", err)
	}
	return r, key, nil
}

// HashKey returns the stored form of an API key or token. The keys are
// 256-bit random, so a fast hash is enough: nothing to brute-force.
func HashKey(key string) []byte {
	h := sha256.Sum256([]byte(key))
	return h[:]
}

// Authenticate returns the retailer whose API key this is, or
// EUNAUTHORIZED.
func (s *Shipments) Authenticate(ctx context.Context, key string) (lokero.Retailer, error) {
	unauthorized := &lokero.Error{Code: lokero.EUNAUTHORIZED, Reason: "invalid_api_key", Message: "the API key is missing or wrong: send Authorization: Bearer <key>"}
	if !strings.HasPrefix(key, APIKeyPrefix) || len(key) > 128 {
		return lokero.Retailer{}, unauthorized
	}
	r, err := s.store.RetailerByKeyHash(ctx, HashKey(key))
	if lokero.ErrorCode(err) == lokero.ENOTFOUND {
		return r, unauthorized
	}
	return r, err
}

// routingRequest is the part of a shipment request the rules read.
func routingRequest(req *ShipmentRequest) routing.Request {
	fallback := req.Fallback
	if fallback == FallbackNearestOpen {
		fallback = "" // ours, applied after the rules
	}
	return routing.Request{PickupPointID: req.PickupPointID, Recipient: req.Recipient, Parcel: *req.Parcel,
		COD: req.COD != nil, Fallback: fallback}
}

// routingDirectory shows the routing rules the directory's snapshot. With
// a date, the rules see only points open on it, except a point asked for
// by id (the caller checks that one and says why it cannot be used).
type routingDirectory struct {
	snap *Snapshot
	dir  *Directory
	date string
}

func (r routingDirectory) Location(id string) *lokero.Location { return r.snap.ByID(id) }

func (r routingDirectory) LockersAtBuilding(postcode, street string) []*lokero.Location {
	all := r.snap.LockersAt(postcode, street)
	if r.date == "" {
		return all
	}
	open := all[:0:0]
	for _, l := range all {
		if l.OpenOn(r.date) {
			open = append(open, l)
		}
	}
	return open
}

func (r routingDirectory) Nearest(origin geo.Point, k int, keep func(*lokero.Location) bool) []*lokero.Location {
	if r.date != "" {
		inner := keep
		keep = func(l *lokero.Location) bool { return l.OpenOn(r.date) && (inner == nil || inner(l)) }
	}
	return r.snap.Nearest(origin, k, keep)
}

func (r routingDirectory) PostcodePoint(code string) (geo.Point, bool) {
	p, ok := r.dir.Postcodes().Point(code)
	return geo.Point{Lat: p.Lat, Lon: p.Lon}, ok
}

func (r routingDirectory) IsLockerPostcode(code string) bool {
	info, err := r.dir.Postcodes().Lookup(code)
	return err == nil && info.Kind == lokero.PostcodeLocker
}
