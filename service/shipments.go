package service

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync/atomic"
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

	retailerShare float64       // of each size class of a locker, per retailer and delivery day
	retailers     retailerCache // by their API keys, for Authenticate

	turnedAway struct{ overflowed, refused atomic.Int64 } // bookings the chosen point had no room for (TurnedAway)
}

// TurnedAway counts the bookings of this process that the chosen point
// had no room for on the delivery date: sent to another point
// (overflowed, rule capacity_overflow) or refused (no point near has
// room). Either is decided at booking; DoorReroutes counts the parcels
// turned away at the door instead.
func (s *Shipments) TurnedAway() (overflowed, refused int64) {
	return s.turnedAway.overflowed.Load(), s.turnedAway.refused.Load()
}

// DefaultRetailerShare is the share of a locker's compartments that one
// retailer may book for one delivery day, in each size class (our choice:
// 25 %; Shipments.SetRetailerShare changes it), and RetailerFloor the
// compartments of a class it may book however small the share:
// min(count, max(RetailerFloor, ⌈share × count⌉)). A SMARTPOST of 10 small,
// 6 medium and 4 large compartments takes 3, 2 and 2 parcels of one store
// a day; a building's LOCKER of 2 large ones, 2.
//
// Per size class, not in total, because compartments of different sizes
// are not interchangeable: a cap on the total (a quarter of 20 is 5) would
// let one store of big parcels take all 4 large compartments, and every
// other sender's large parcel would overflow elsewhere. A quarter leaves
// three quarters of every class to the other senders even when one store
// books as fast as it can; the probe of issue 18 saw one retailer key take
// 65,461 of the 123,966 small compartments of all SMARTPOSTs for one day.
// The floor keeps a small class (one or two large compartments) usable at
// all by a store that sends two parcels there on one day.
//
// The share is a locker rule only: an outlet's shelves are not held to it.
// A counter's day is 40 to 150 parcels in a back room that grows with a
// busy day (the staff stack and shelve), not a fixed set of boxes that one
// store could empty for everyone else; its ShelfCapacity is the only cap.
const (
	DefaultRetailerShare = 0.25
	RetailerFloor        = 2
)

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
	return &Shipments{store: store, dir: dir, calendar: cal, clock: clock, random: random, limits: routing.DefaultLimits(), log: log,
		retailerShare: DefaultRetailerShare}
}

// SetRetailerShare sets the share of each size class of a locker's
// compartments that one retailer may book for one delivery day (0 < share
// ≤ 1; 1 lifts the cap; see DefaultRetailerShare). Call it before the
// shipments are used.
func (s *Shipments) SetRetailerShare(share float64) error {
	if !(share > 0 && share <= 1) {
		return lokero.Invalid("retailer_share", "out_of_range", "the retailer's share of a locker's compartments is a share above 0 and at most 1; got %v", share)
	}
	s.retailerShare = share
	return nil
}

// retailerCap is how many of a size class of count compartments one
// retailer may hold at a locker for a delivery day.
func retailerCap(count int, share float64) int {
	return min(count, max(RetailerFloor, int(math.Ceil(share*float64(count)-1e-9))))
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
// or a shelf place of the day when it is an outlet (overflowing to the
// nearest outlet of the same type that takes the parcel and has room), and
// stores it with a tracking code, all in one transaction. With an
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
	date := s.calendar.DeliveryDate(s.clock.Now())
	on := date.String() // as the location status fields OpenOn compares it with
	snap := s.dir.Snapshot()
	rdir := routingDirectory{snap: snap, dir: s.dir, date: on}
	rreq := routingRequest(&req)
	decision, err := routing.Route(rreq, rdir.forRules(req.PickupPointID), s.limits)
	if err != nil {
		return s.replayOr(ctx, retailer, idempotencyKey, requestHash, err)
	}
	if closed := decision.Location; !closed.OpenOn(on) && (kind != lokero.ShipmentPrepaid || closed.Status == lokero.LocationClosed) {
		// The point asked for will be closed when the parcel arrives (a
		// pre-paid parcel's day is known only once it is dropped off: only
		// a point closed for good refuses it now).
		alts, err := openAlternatives(ctx, s.dir, closed, rreq, s.limits, date, maxAlternatives)
		if err != nil {
			return CreateResult{}, err
		}
		if req.Fallback != FallbackNearestOpen || len(alts) == 0 {
			return s.replayOr(ctx, retailer, idempotencyKey, requestHash, closedRefusal(closed, on, alts))
		}
		decision = routing.Decision{Location: alts[0], Rule: RuleClosureReroute,
			Reason: fmt.Sprintf("%s is closed on %s (%s): the parcel goes to the nearest open point, %s, %s.",
				closed.Name, on, closed.ClosedReason(on), alts[0].Name, alts[0].Street)}
	}

	var result CreateResult
	// A clash of random codes, or of two requests racing with one
	// idempotency key, is retried with a fresh transaction. The key is
	// not looked up first: a new key is the rule and a retry the
	// exception, so the booking is made as if the key were new, and the
	// key's unique index refuses the shipment (and the transaction, with
	// its reservation, rolls back) when it is not.
	for attempt := 0; ; attempt++ {
		err = s.store.InTx(ctx, func(tx lokero.Tx) error {
			result = CreateResult{}
			final, size := decision, ""
			if kind == lokero.ShipmentDelivery {
				if final, size, err = s.reserve(ctx, tx, retailer, decision, rreq, rdir, date); err != nil {
					return err
				}
			}
			sh, err := s.newShipment(retailer, &req, kind, final, size, date, tx.Now())
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
		isError := errors.As(err, &e)
		if isError && e.Reason == "duplicate_idempotency_key" {
			// A request made with this key before (or alongside: the
			// index waited for it) was stored: the one to answer.
			prev, found, err := s.previous(ctx, retailer, idempotencyKey, requestHash)
			if err != nil || found {
				return prev, err
			}
			// Gone again (the other request's transaction rolled back).
		}
		if attempt < 5 && isError && e.Code == lokero.ECONFLICT && strings.HasPrefix(e.Reason, "duplicate_") {
			continue
		}
		if err != nil && isError && lokero.ErrorCode(err) != lokero.EINTERNAL {
			// The rules refuse it now (the locker filled up since):
			// a retry of a request accepted earlier gets its shipment.
			prev, err := s.replayOr(ctx, retailer, idempotencyKey, requestHash, err)
			if err != nil && e.Reason == "no_capacity" && errors.Is(err, e) {
				s.turnedAway.refused.Add(1)
			}
			return prev, err
		}
		if err != nil {
			return CreateResult{}, err
		}
		if result.Shipment.SizeClass != "" {
			s.dir.reservationsChanged(result.Shipment.DestinationID)
		}
		if result.Shipment.Routing.Rule == routing.RuleCapacityOverflow {
			s.turnedAway.overflowed.Add(1)
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
	prev, found, err := s.previous(ctx, retailer, key, hash)
	if lokero.ErrorCode(err) == lokero.ECONFLICT {
		return CreateResult{}, refused // what is wrong with the request comes first
	}
	if err != nil || found {
		return prev, err
	}
	return CreateResult{}, refused
}

// previous looks up the shipment a retailer created with an idempotency
// key: found, replayed, when it was made by the same request (hash); an
// ECONFLICT idempotency_key_reused when by another; not found when there
// is none.
func (s *Shipments) previous(ctx context.Context, retailer lokero.Retailer, key string, hash []byte) (CreateResult, bool, error) {
	// A read in a write transaction, as the store reads by this key only
	// there: retries are rare.
	var prev lokero.Shipment
	var prevHash []byte
	err := s.store.InTx(ctx, func(tx lokero.Tx) (err error) {
		prev, prevHash, err = tx.ShipmentByIdempotencyKey(ctx, retailer.ID, key)
		return err
	})
	switch {
	case lokero.ErrorCode(err) == lokero.ENOTFOUND:
		return CreateResult{}, false, nil
	case err != nil:
		return CreateResult{}, false, fmt.Errorf("shipment by idempotency key: %w", err)
	case !bytes.Equal(prevHash, hash):
		return CreateResult{}, false, &lokero.Error{Code: lokero.ECONFLICT, Reason: "idempotency_key_reused", Field: "Idempotency-Key",
			Message: fmt.Sprintf("Idempotency-Key %q was used for another request (shipment %s); use a new key for a new shipment", key, prev.ID)}
	}
	return CreateResult{Shipment: prev, Replayed: true}, true, nil
}

// maxOverflowTries is how many of the nearest other points a booking's
// overflow, and the evening's check for a booking its locker has no room
// for, try in turn (routing.Overflow, each within its MaxDistanceM).
const maxOverflowTries = 20

// reserve takes a compartment for the delivery date at the decided locker,
// or at the nearest alternative with room, within the retailer's share of
// each (see DefaultRetailerShare): a retailer over its share at a locker
// overflows to the next as from a full one. At an outlet it takes a shelf
// place of the day instead (reserveOutlet), with no share.
//
// When no locker near had room, and at least one of them had room but not
// within the retailer's share, the refusal is ETOOMANY "retailer_quota"
// with a RetryAfter until bookings count for the next delivery day (the
// calendar's next cut-off, or the end of a weekend or holiday): that is
// when the share is the retailer's again, at the same lockers, and the
// honest answer to "when may I book again". Cancelling one of its own
// bookings frees its share at once, but that is the retailer's to know.
// Otherwise it is EUNPROCESSABLE "no_capacity", as before quotas.
func (s *Shipments) reserve(ctx context.Context, tx lokero.Tx, retailer lokero.Retailer, d routing.Decision, req routing.Request, rdir routingDirectory, date lokero.Date) (routing.Decision, string, error) {
	if d.Location.Type.IsOutlet() {
		return s.reserveOutlet(ctx, tx, d, req, rdir, date)
	}
	if !d.Location.Type.IsLocker() {
		return d, "", nil
	}
	// quota: a locker had room, but not within the retailer's share.
	size, ok, quota, err := s.reserveWithin(ctx, tx, retailer.ID, d.Location, req.Parcel, date)
	if err != nil || ok {
		return d, size, err
	}
	skip := map[string]bool{d.Location.ID: true}
	alts, room, err := s.spread(ctx, tx, d.Location, req, date, routing.Overflow(d.Location, req, rdir, s.limits, rdir.date, skip, maxOverflowTries))
	if err != nil {
		return d, "", err
	}
	for _, alt := range alts {
		if n, counted := room[alt.Location.ID]; counted && n == 0 {
			continue // counted full in this transaction as reserveClass counts: no reservation there
		}
		size, ok, over, err := s.reserveWithin(ctx, tx, retailer.ID, alt.Location, req.Parcel, date)
		if err != nil || ok {
			if ok && quota {
				alt.Reason += fmt.Sprintf(" %s keeps its other compartments for other senders: this store has booked its share there for the day.", d.Location.Name)
			}
			return alt, size, err
		}
		quota = quota || over
	}
	if quota {
		now := s.clock.Now()
		wait := s.untilNextDeliveryDate(now, date)
		return d, "", &lokero.Error{Code: lokero.ETOOMANY, Reason: "retailer_quota", Field: "pickup_point_id", RetryAfter: wait,
			Message: fmt.Sprintf("your store has booked its share of the compartments of %s (%s) and of the lockers near it for %s (at most %.0f %% of each size class per store a day); bookings made from %s count for the next delivery day",
				d.Location.Name, d.Location.ID, date, s.retailerShare*100, now.Add(wait).In(lokero.Helsinki).Format("2006-01-02 15:04 MST"))}
	}
	return d, "", &lokero.Error{Code: lokero.EUNPROCESSABLE, Reason: "no_capacity", Field: "pickup_point_id",
		Message: fmt.Sprintf("%s (%s) has no free compartment for this parcel on %s, and neither has any locker near it; choose another delivery point or try a later day", d.Location.Name, d.Location.ID, date)}
}

// spread orders a full locker's alternatives for a parcel on date by
// routing.Spread, by their room counted in tx (roomAt), and returns the
// room it counted at each (those it did not count are absent).
func (s *Shipments) spread(ctx context.Context, tx lokero.Tx, full *lokero.Location, req routing.Request, date lokero.Date, alts []routing.Decision) ([]routing.Decision, map[string]int, error) {
	if len(alts) < 2 {
		return alts, nil, nil
	}
	var err error
	room := make(map[string]int, len(alts))
	out := routing.Spread(full, req, date.String(), alts, func(l *lokero.Location) int {
		if err != nil {
			return 0
		}
		n, ok := room[l.ID]
		if !ok {
			n, err = roomAt(ctx, tx, s.dir.availability, l, req.Parcel, s.limits, date)
			room[l.ID] = n
		}
		return n
	})
	if err != nil {
		return nil, nil, err
	}
	return out, room, nil
}

// reserveOutlet takes a shelf place of the delivery date (size class
// lokero.ShelfSize, ShelfCapacity of them a day) at the decided outlet, or
// when its shelves are full at the nearest outlet of the same type that
// takes the parcel and has room (routing.Overflow, with its reason);
// otherwise EUNPROCESSABLE "no_capacity" as for lockers. The retailer's
// share (DefaultRetailerShare) is a locker rule and does not apply.
func (s *Shipments) reserveOutlet(ctx context.Context, tx lokero.Tx, d routing.Decision, req routing.Request, rdir routingDirectory, date lokero.Date) (routing.Decision, string, error) {
	if ok, err := reserveShelf(ctx, tx, d.Location, date); err != nil || ok {
		return d, lokero.ShelfSize, err
	}
	skip := map[string]bool{d.Location.ID: true}
	for _, alt := range routing.Overflow(d.Location, req, rdir, s.limits, rdir.date, skip, maxOverflowTries) {
		if ok, err := reserveShelf(ctx, tx, alt.Location, date); err != nil || ok {
			return alt, lokero.ShelfSize, err
		}
	}
	what := "post office"
	if d.Location.Type == lokero.TypePickupPoint {
		what = "pickup point"
	}
	return d, "", &lokero.Error{Code: lokero.EUNPROCESSABLE, Reason: "no_capacity", Field: "pickup_point_id",
		Message: fmt.Sprintf("%s (%s) has no free shelf place on %s (it takes %d parcels a delivery day), and neither has any %s near it that takes this parcel; choose another delivery point or try a later day",
			d.Location.Name, d.Location.ID, date, d.Location.ShelfCapacity, what)}
}

// reserveShelf takes one of an outlet's shelf places for a delivery date:
// one of its ShelfCapacity a day, under the size class lokero.ShelfSize.
// It reports false when the day's shelves are full.
func reserveShelf(ctx context.Context, tx lokero.Tx, l *lokero.Location, date lokero.Date) (bool, error) {
	ok, err := tx.Reserve(ctx, l.ID, date, lokero.ShelfSize, l.ShelfCapacity)
	if err != nil {
		return false, fmt.Errorf("reserve a shelf place at %s: %w", l.ID, err)
	}
	return ok, nil
}

// ReservationCapacity is how many reservations of size class size a
// location takes a delivery day: an outlet's ShelfCapacity for
// lokero.ShelfSize, a locker's count of compartments of the class (before
// those out of order), 0 for a class it does not have. Moving a
// reservation to another day (a late handover) reserves against it.
func ReservationCapacity(l *lokero.Location, size string) int {
	if l == nil {
		return 0
	}
	if l.Type.IsOutlet() {
		if size == lokero.ShelfSize {
			return l.ShelfCapacity
		}
		return 0
	}
	for _, c := range l.Compartments {
		if c.Size == size {
			return c.Count
		}
	}
	return 0
}

// reserveWithin is reserveAt within the retailer's share of each size
// class: a class where the retailer holds its share already is passed by
// (over reports that one was). The retailer's reservations are counted
// after Reserve took the class's counter, whose row lock orders bookings
// of that class at that locker: the count sees every booking of it
// committed before, so that racing bookings never take more than the
// share; a booking over it gives its reservation back.
func (s *Shipments) reserveWithin(ctx context.Context, tx lokero.Tx, retailerID string, l *lokero.Location, p lokero.Parcel, date lokero.Date) (size string, ok, over bool, err error) {
	if s.retailerShare >= 1 {
		return reserveClass(ctx, tx, s.dir.availability, l, p, s.limits, date, nil)
	}
	return reserveClass(ctx, tx, s.dir.availability, l, p, s.limits, date, func(c lokero.CompartmentClass) (bool, error) {
		mine, err := tx.RetailerReservations(ctx, retailerID, l.ID, date)
		return mine[c.Size] < retailerCap(c.Count, s.retailerShare), err
	})
}

// untilNextDeliveryDate returns how long from now until a booking counts
// for a later delivery date than date: the calendar's next cut-off on a
// business day (later over a weekend or holidays), to the second. The
// delivery date of a booking never goes back as time goes on, so the
// instant is found by halving.
func (s *Shipments) untilNextDeliveryDate(now time.Time, date lokero.Date) time.Duration {
	lo, hi := now, now.Add(24*time.Hour)
	for s.calendar.DeliveryDate(hi) == date {
		if hi.Sub(now) > 60*24*time.Hour {
			return 24 * time.Hour // a calendar without business days: ask again tomorrow
		}
		lo, hi = hi, hi.Add(24*time.Hour)
	}
	for hi.Sub(lo) > time.Second {
		mid := lo.Add(hi.Sub(lo) / 2)
		if s.calendar.DeliveryDate(mid) == date {
			lo = mid
		} else {
			hi = mid
		}
	}
	if m := hi.Truncate(time.Minute); m.After(now) && s.calendar.DeliveryDate(m) != date {
		hi = m // the cut-off is a whole minute
	}
	return hi.Sub(now)
}

// reserveAt reserves the smallest free compartment class that takes the
// parcel at a locker on a date (see reserveClass), or a shelf place of the
// date at an outlet whose limit takes the parcel (size lokero.ShelfSize).
// It knows no retailer: a parcel already booked that moves (a closed
// point's) is not held to a share again.
func reserveAt(ctx context.Context, tx lokero.Tx, avail *Availability, l *lokero.Location, p lokero.Parcel, limits routing.Limits, date lokero.Date) (string, bool, error) {
	if l.Type.IsOutlet() {
		if !routing.OutletTakes(p, l, limits) {
			return "", false, nil
		}
		ok, err := reserveShelf(ctx, tx, l, date)
		if !ok || err != nil {
			return "", false, err
		}
		return lokero.ShelfSize, true, nil
	}
	size, ok, _, err := reserveClass(ctx, tx, avail, l, p, limits, date, nil)
	return size, ok, err
}

// reserveClass reserves the smallest compartment class that takes the
// parcel at a locker on a date, has one free (of its compartments not out
// of order and not expected to hold a parcel of an earlier day then
// (capacity.go), fewer than that are reserved) and, when keep is not nil,
// that keep accepts once it is reserved; a reservation keep refuses is
// given back, and over reports that one was.
func reserveClass(ctx context.Context, tx lokero.Tx, avail *Availability, l *lokero.Location, p lokero.Parcel, limits routing.Limits, date lokero.Date,
	keep func(lokero.CompartmentClass) (bool, error)) (size string, ok, over bool, err error) {
	classes := routing.FittingClasses(p, l, limits)
	if len(classes) == 0 {
		return "", false, false, nil
	}
	broken, carried, err := avail.lockerLoad(ctx, tx, l, date)
	if err != nil {
		return "", false, false, fmt.Errorf("reserve at %s: %w", l.ID, err)
	}
	for _, c := range classes {
		ok, err := tx.Reserve(ctx, l.ID, date, c.Size, c.Count-broken[c.Size]-carried[c.Size])
		if err != nil {
			return "", false, over, fmt.Errorf("reserve a %s compartment at %s: %w", c.Size, l.ID, err)
		}
		if !ok {
			continue
		}
		if keep == nil {
			return c.Size, true, over, nil
		}
		if kept, err := keep(c); err != nil {
			return "", false, over, fmt.Errorf("reserve a %s compartment at %s: %w", c.Size, l.ID, err)
		} else if kept {
			return c.Size, true, over, nil
		}
		if err := tx.Release(ctx, l.ID, date, c.Size); err != nil {
			return "", false, over, fmt.Errorf("give back a %s compartment at %s: %w", c.Size, l.ID, err)
		}
		over = true
	}
	return "", false, over, nil
}

// newShipment makes a booked shipment of a kind (a delivery or a
// pre-paid parcel), CREATED at now with its first event.
func (s *Shipments) newShipment(retailer lokero.Retailer, req *ShipmentRequest, kind lokero.ShipmentKind, d routing.Decision, size string, date lokero.Date, now time.Time) (lokero.Shipment, error) {
	id, err := s.newID("shp_", now)
	if err != nil {
		return lokero.Shipment{}, err
	}
	code, err := tracking.New(s.random, TrackingPrefix)
	if err != nil {
		return lokero.Shipment{}, fmt.Errorf("tracking code: %w", err)
	}
	sh := lokero.Shipment{
		ID: id, Kind: kind, RetailerID: retailer.ID, Reference: req.Reference, TrackingCode: code,
		Sender: req.Sender, Recipient: req.Recipient, Parcel: *req.Parcel,
		PickupPointID: req.PickupPointID, Fallback: req.Fallback, DestinationID: d.Location.ID,
		Routing: lokero.Routing{Rule: d.Rule, Reason: d.Reason}, DeliveryDate: date, SizeClass: size,
	}
	reason := "Shipment booked: " + d.Reason
	if kind == lokero.ShipmentPrepaid {
		reason = "Pre-paid parcel booked; the sender drops it off at a parcel locker with its code. " + d.Reason
	}
	if err := sh.Begin(now, d.Location.ID, reason); err != nil {
		return lokero.Shipment{}, err
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
	// rules marks the directory a booking's own point is decided in
	// (forRules), not an overflow's or an alternative's; byID, that the
	// request asked for its point by id.
	rules, byID bool
}

// forRules is the directory routing.Route decides a booking's point in,
// asked for by id (or "" to route by address). There a building's lockers
// closed on the date are still its lockers: the locker asked for is
// checked to be the recipient's among all of them, and a building whose
// lockers are all closed routes to them. The caller then answers
// pickup_point_closed (or re-routes, with fallback nearest_open), instead
// of the rules telling a resident that they do not live in their building
// (locker_residents_only) or that it has no locker (no_locker_at_address).
func (r routingDirectory) forRules(asked string) routingDirectory {
	r.rules, r.byID = true, asked != ""
	return r
}

func (r routingDirectory) Location(id string) *lokero.Location { return r.snap.ByID(id) }

func (r routingDirectory) LockersAtBuilding(postcode, street string) []*lokero.Location {
	all := r.snap.LockersAt(postcode, street)
	if r.date == "" || (r.rules && r.byID) {
		return all
	}
	open := all[:0:0]
	for _, l := range all {
		if l.OpenOn(r.date) {
			open = append(open, l)
		}
	}
	if r.rules && len(open) == 0 {
		return all
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
