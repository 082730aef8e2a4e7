package service

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/locker"
	"github.com/lokero/lokero/routing"
	"github.com/lokero/lokero/tracking"
)

// LockerStore is what the locker use cases need of a database.
type LockerStore interface {
	lokero.ShipmentStore
	lokero.RetailerStore
	lokero.CredentialStore
	lokero.LockerStore
}

// Token prefixes by kind, so that a leaked token is recognisable and a
// token of one kind is refused as another before any lookup.
var tokenPrefixes = map[lokero.CredentialKind]string{
	lokero.KindCourier:  "lkc_",
	lokero.KindDevice:   "lkd_",
	lokero.KindOperator: "lko_",
}

// Lockers are the use cases at the locker: couriers deposit, devices
// report doors and keypad entries, and the opening code travels only in
// the notice of arrival.
type Lockers struct {
	store    LockerStore
	dir      *Directory
	calendar *calendar.Calendar
	clock    lokero.Clock
	random   io.Reader
	codes    *locker.Codes
	policy   locker.CodePolicy
	limits   routing.Limits
	log      *slog.Logger
	jobs     Scheduler
}

// Job kinds the locker schedules.
const (
	JobReminder = "storage_reminder" // 2 days before the storage deadline
	JobExpiry   = "storage_expiry"   // at the deadline
)

// Scheduler queues a background job in the caller's transaction, so that
// it commits (or not) with the change that asks for it.
type Scheduler interface {
	Schedule(ctx context.Context, tx lokero.ShipmentTx, kind, shipmentID string, at time.Time) error
}

// SetScheduler gives the locker a job queue for the storage period's
// reminder and expiry. Without one (admin commands) none are queued.
func (l *Lockers) SetScheduler(s Scheduler) { l.jobs = s }

// NewLockers returns the locker use cases. codes holds the server secret
// that opening codes are hashed with; random is crypto/rand.Reader in
// production.
func NewLockers(store LockerStore, dir *Directory, cal *calendar.Calendar, clock lokero.Clock, random io.Reader, codes *locker.Codes, log *slog.Logger) *Lockers {
	if random == nil {
		random = rand.Reader
	}
	return &Lockers{store: store, dir: dir, calendar: cal, clock: clock, random: random, codes: codes,
		policy: locker.DefaultPolicy(), limits: routing.DefaultLimits(), log: log}
}

func (l *Lockers) now() time.Time { return l.clock.Now().UTC().Truncate(time.Microsecond) }

// AddCredential creates a courier's, a device's or an operator's token and
// returns it (shown once; stored as a hash). A device belongs to one
// locker, which must exist.
func (l *Lockers) AddCredential(ctx context.Context, kind lokero.CredentialKind, name, locationID string) (lokero.Credential, string, error) {
	prefix, ok := tokenPrefixes[kind]
	if !ok {
		return lokero.Credential{}, "", lokero.Invalid("kind", "unknown_kind", "kind must be courier, device or operator; got %q", kind)
	}
	name = strings.TrimSpace(name)
	if err := checkText("name", name, true, maxTextLen); err != nil {
		return lokero.Credential{}, "", err
	}
	if kind == lokero.KindDevice {
		loc := l.dir.Snapshot().ByID(locationID)
		if loc == nil || !loc.Type.IsLocker() {
			return lokero.Credential{}, "", lokero.Invalid("location_id", "not_a_locker", "no locker with id %q", locationID)
		}
	} else {
		locationID = ""
	}
	var secret [32]byte
	if _, err := io.ReadFull(l.random, secret[:]); err != nil {
		return lokero.Credential{}, "", fmt.Errorf("new token: %w", err)
	}
	var idb [8]byte
	if _, err := io.ReadFull(l.random, idb[:]); err != nil {
		return lokero.Credential{}, "", fmt.Errorf("new token: %w", err)
	}
	enc := base32.StdEncoding.WithPadding(base32.NoPadding)
	token := prefix + strings.ToLower(enc.EncodeToString(secret[:]))
	c := lokero.Credential{ID: string(kind) + "_" + strings.ToLower(enc.EncodeToString(idb[:])), Kind: kind, Name: name,
		LocationID: locationID, CreatedAt: l.now()}
	if err := l.store.CreateCredential(ctx, c, HashKey(token)); err != nil {
		return lokero.Credential{}, "", fmt.Errorf("add %s: %w", kind, err)
	}
	return c, token, nil
}

// Authenticate returns the credential of a token of the given kind, or
// EUNAUTHORIZED: a courier token never acts as a device, nor the reverse.
func (l *Lockers) Authenticate(ctx context.Context, kind lokero.CredentialKind, token string) (lokero.Credential, error) {
	unauthorized := &lokero.Error{Code: lokero.EUNAUTHORIZED, Reason: "invalid_token",
		Message: fmt.Sprintf("this call needs a %s token: send Authorization: Bearer <token>", kind)}
	if !strings.HasPrefix(token, tokenPrefixes[kind]) || len(token) > 128 {
		return lokero.Credential{}, unauthorized
	}
	c, err := l.store.CredentialByTokenHash(ctx, HashKey(token))
	if lokero.ErrorCode(err) == lokero.ENOTFOUND || (err == nil && c.Kind != kind) {
		return lokero.Credential{}, unauthorized
	} else if err != nil {
		return lokero.Credential{}, err
	}
	return c, nil
}

// lockerAt returns the locker with the id, or ENOTFOUND.
func (l *Lockers) lockerAt(id string) (*lokero.Location, error) {
	loc := l.dir.Snapshot().ByID(id)
	if loc == nil || !loc.Type.IsLocker() {
		return nil, &lokero.Error{Code: lokero.ENOTFOUND, Reason: "unknown_locker", Message: fmt.Sprintf("no locker with id %q", id)}
	}
	return loc, nil
}

// compartments returns a locker's compartments, laying them out from its
// size classes the first time.
func compartments(ctx context.Context, tx lokero.LockerTx, loc *lokero.Location) ([]lokero.Compartment, error) {
	cs, err := tx.Compartments(ctx, loc.ID)
	if err != nil || len(cs) > 0 {
		return cs, err
	}
	for _, c := range locker.Layout(loc.Compartments) {
		lc := lokero.Compartment{LocationID: loc.ID, Number: c.Number, Size: c.Size, LengthCM: c.LengthCM, WidthCM: c.WidthCM, HeightCM: c.HeightCM}
		if err := tx.PutCompartment(ctx, lc); err != nil {
			return nil, fmt.Errorf("lay out %s: %w", loc.ID, err)
		}
		cs = append(cs, lc)
	}
	return cs, nil
}

// allocate picks the best free compartment for a parcel.
func allocate(p lokero.Parcel, cs []lokero.Compartment) (lokero.Compartment, bool) {
	lcs := make([]locker.Compartment, len(cs))
	for i, c := range cs {
		lcs[i] = locker.Compartment{Number: c.Number, Size: c.Size, LengthCM: c.LengthCM, WidthCM: c.WidthCM, HeightCM: c.HeightCM,
			OutOfOrder: c.OutOfOrder, Occupied: c.ShipmentID != ""}
	}
	best, ok := locker.Allocate(p.Dimensions(), lcs)
	if !ok {
		return lokero.Compartment{}, false
	}
	for _, c := range cs {
		if c.Number == best.Number {
			return c, true
		}
	}
	return lokero.Compartment{}, false
}

// DepositResult is the compartment a courier is to put a parcel in.
type DepositResult struct {
	Shipment    lokero.Shipment
	Compartment lokero.Compartment
}

// Deposit is a courier scanning a parcel at a locker: the best-fitting
// free compartment is allocated and its lock opened; the deposit completes
// when the device reports the door closed. A parcel for another locker is
// an ECONFLICT and nothing changes. With no fitting compartment free, the
// shipment is re-routed to the nearest locker that has one (the retailer
// and tracking see why) and the answer is an ECONFLICT naming it.
func (l *Lockers) Deposit(ctx context.Context, courier lokero.Credential, locationID, trackingCode string) (DepositResult, error) {
	loc, err := l.lockerAt(locationID)
	if err != nil {
		return DepositResult{}, err
	}
	code := tracking.Normalize(trackingCode)
	if !tracking.Valid(code) {
		return DepositResult{}, lokero.Invalid("tracking_code", "malformed", "%q is not a tracking code (e.g. CL123456785FI)", trackingCode)
	}
	found, err := l.store.ShipmentByTrackingCode(ctx, code)
	if lokero.ErrorCode(err) == lokero.ENOTFOUND || (err == nil && found.TrackingCode != code) {
		return DepositResult{}, &lokero.Error{Code: lokero.ENOTFOUND, Reason: "unknown_tracking_code", Field: "tracking_code", Message: "no parcel with tracking code " + code}
	} else if err != nil {
		return DepositResult{}, err
	}
	var (
		res      DepositResult
		rerouted *routing.Decision
	)
	err = l.store.InTx(ctx, func(tx lokero.ShipmentTx) error {
		res, rerouted = DepositResult{}, nil
		lt := tx.(lokero.LockerTx)
		sh, err := tx.Shipment(ctx, found.ID)
		if err != nil {
			return err
		}
		if sh.DestinationID != loc.ID {
			dest := sh.DestinationID
			if d := l.dir.Snapshot().ByID(dest); d != nil {
				dest = fmt.Sprintf("%s (%s)", d.Name, d.ID)
			}
			return &lokero.Error{Code: lokero.ECONFLICT, Reason: "wrong_locker", Field: "tracking_code",
				Message: fmt.Sprintf("parcel %s is for %s, not this locker", code, dest)}
		}
		if sh.Status != lokero.StatusInTransit {
			return &lokero.Error{Code: lokero.ECONFLICT, Reason: "illegal_transition",
				Message: fmt.Sprintf("parcel %s is %s: only a parcel in transit is deposited", code, sh.Status)}
		}
		cs, err := compartments(ctx, lt, loc)
		if err != nil {
			return err
		}
		c, ok := allocate(sh.Parcel, cs)
		if !ok {
			alt, err := l.alternative(ctx, lt, loc, &sh)
			if err != nil || alt == nil {
				return err
			}
			rerouted = alt
			return l.reroute(ctx, tx, &sh, *alt)
		}
		now := l.now()
		c.ShipmentID, c.DoorOpen = sh.ID, true
		if err := lt.PutCompartment(ctx, c); err != nil {
			return err
		}
		sh.Status, sh.Compartment, sh.UpdatedAt = lokero.StatusInLocker, c.Number, now
		sh.Events = append(sh.Events, lokero.ShipmentEvent{Status: lokero.StatusInLocker, At: now, LocationID: loc.ID,
			Reason: fmt.Sprintf("Put in compartment %d by the courier.", c.Number)})
		if err := tx.UpdateShipment(ctx, &sh); err != nil {
			return err
		}
		res = DepositResult{Shipment: sh, Compartment: c}
		return nil
	})
	if err != nil {
		return DepositResult{}, err
	}
	if rerouted != nil {
		l.dir.reservationsChanged(loc.ID, rerouted.Location.ID)
		return DepositResult{}, &lokero.Error{Code: lokero.ECONFLICT, Reason: "no_free_compartment",
			Message: fmt.Sprintf("no free compartment here takes parcel %s: it is re-routed to %s (%s), %s",
				code, rerouted.Location.Name, rerouted.Location.ID, rerouted.Location.Street)}
	}
	if res.Compartment.Number == 0 {
		return DepositResult{}, &lokero.Error{Code: lokero.ECONFLICT, Reason: "no_free_compartment",
			Message: fmt.Sprintf("no free compartment here takes parcel %s, and no locker near it has one", code)}
	}
	return res, nil
}

// alternative finds the nearest locker of the same access with a free
// compartment that takes the parcel now.
func (l *Lockers) alternative(ctx context.Context, tx lokero.LockerTx, full *lokero.Location, sh *lokero.Shipment) (*routing.Decision, error) {
	req := routing.Request{Recipient: sh.Recipient, Parcel: sh.Parcel, COD: sh.COD != nil}
	rdir := routingDirectory{snap: l.dir.Snapshot(), dir: l.dir}
	date := calendar.DateOf(l.clock.Now()).String()
	for _, alt := range routing.Overflow(full, req, rdir, l.limits, date, map[string]bool{full.ID: true}, 10) {
		cs, err := compartments(ctx, tx, alt.Location)
		if err != nil {
			return nil, err
		}
		if _, ok := allocate(sh.Parcel, cs); ok {
			return &alt, nil
		}
	}
	return nil, nil
}

// reroute sends a shipment in transit to another locker, moving nothing
// but its destination: the reservation at the full locker is given back.
func (l *Lockers) reroute(ctx context.Context, tx lokero.ShipmentTx, sh *lokero.Shipment, d routing.Decision) error {
	if sh.SizeClass != "" {
		if err := tx.Release(ctx, sh.DestinationID, sh.DeliveryDate, sh.SizeClass); err != nil {
			return err
		}
		sh.SizeClass = ""
	}
	now := l.now()
	sh.DestinationID, sh.Routing, sh.UpdatedAt = d.Location.ID, lokero.Routing{Rule: d.Rule, Reason: d.Reason}, now
	sh.Events = append(sh.Events, lokero.ShipmentEvent{Status: lokero.StatusInTransit, At: now, LocationID: d.Location.ID,
		Reason: "Re-routed at the locker: " + d.Reason})
	return tx.UpdateShipment(ctx, sh)
}

// DoorClosed is a device reporting a compartment's door closed. After a
// deposit the parcel is ready for pickup: its storage deadline is set, an
// opening code is made and the notice of arrival queued with it. After a
// pickup the parcel is picked up and the compartment and its reservation
// are free.
func (l *Lockers) DoorClosed(ctx context.Context, device lokero.Credential, locationID string, number int) (lokero.Shipment, error) {
	loc, err := l.deviceLocker(device, locationID)
	if err != nil {
		return lokero.Shipment{}, err
	}
	var out lokero.Shipment
	err = l.store.InTx(ctx, func(tx lokero.ShipmentTx) error {
		out = lokero.Shipment{}
		lt := tx.(lokero.LockerTx)
		cs, err := compartments(ctx, lt, loc)
		if err != nil {
			return err
		}
		i := number - 1
		if number < 1 || i >= len(cs) {
			return lokero.Invalid("compartment", "out_of_range", "this locker has compartments 1..%d; got %d", len(cs), number)
		}
		c := cs[i]
		wasOpen := c.DoorOpen
		c.DoorOpen = false
		if c.ShipmentID == "" {
			return lt.PutCompartment(ctx, c) // an empty door closed: nothing else to do
		}
		sh, err := tx.Shipment(ctx, c.ShipmentID)
		if err != nil {
			return err
		}
		now := l.now()
		switch {
		case sh.Status == lokero.StatusInLocker:
			if err := l.ready(ctx, lt, loc, &sh, now); err != nil {
				return err
			}
		case sh.Status == lokero.StatusCreated && sh.Kind.DroppedOffByConsumer() && wasOpen:
			sh.Status = lokero.StatusDroppedOff
			sh.Events = append(sh.Events, lokero.ShipmentEvent{Status: lokero.StatusDroppedOff, At: now, LocationID: loc.ID,
				Reason: fmt.Sprintf("Dropped off in compartment %d; the courier collects it from here.", c.Number)})
		case sh.Status == lokero.StatusReadyForPickup && wasOpen:
			sh.Status, sh.Compartment, sh.OpeningCodeHash = lokero.StatusPickedUp, 0, nil
			sh.Events = append(sh.Events, lokero.ShipmentEvent{Status: lokero.StatusPickedUp, At: now, LocationID: loc.ID, Reason: "Picked up by the recipient."})
			if sh.SizeClass != "" {
				if err := tx.Release(ctx, sh.DestinationID, sh.DeliveryDate, sh.SizeClass); err != nil {
					return err
				}
				sh.SizeClass = ""
			}
			c.ShipmentID = ""
		}
		if err := lt.PutCompartment(ctx, c); err != nil {
			return err
		}
		sh.UpdatedAt = now
		if err := tx.UpdateShipment(ctx, &sh); err != nil {
			return err
		}
		out = sh
		return nil
	})
	if err == nil && out.Status == lokero.StatusPickedUp {
		l.dir.reservationsChanged(out.DestinationID)
	}
	return out, err
}

// ready makes a deposited parcel ready for pickup: deadline, opening code
// (unique among the locker's active codes), notice of arrival.
func (l *Lockers) ready(ctx context.Context, tx lokero.LockerTx, loc *lokero.Location, sh *lokero.Shipment, now time.Time) error {
	if l.codes == nil {
		return errors.New("opening code: no code secret configured")
	}
	deadline := l.calendar.StorageDeadline(now, calendar.StorageDays)
	version, err := l.newCode(ctx, tx, loc, sh, 0)
	if err != nil {
		return err
	}
	sh.Status, sh.StorageDeadline = lokero.StatusReadyForPickup, deadline
	sh.Events = append(sh.Events, lokero.ShipmentEvent{Status: lokero.StatusReadyForPickup, At: now, LocationID: loc.ID,
		Reason: "Ready for pickup until " + deadline.In(calendar.Helsinki).Format("2.1.2006 15:04") + "."})
	for _, m := range notices(loc, sh, version, deadline, now) {
		if err := tx.AddOutbox(ctx, m); err != nil {
			return fmt.Errorf("queue notice of arrival: %w", err)
		}
	}
	if l.jobs != nil {
		stx := tx.(lokero.ShipmentTx)
		if err := l.jobs.Schedule(ctx, stx, JobReminder, sh.ID, l.calendar.ReminderAt(deadline, 2)); err != nil {
			return fmt.Errorf("schedule the reminder: %w", err)
		}
		if err := l.jobs.Schedule(ctx, stx, JobExpiry, sh.ID, deadline); err != nil {
			return fmt.Errorf("schedule the expiry: %w", err)
		}
	}
	return nil
}

// newCode gives a parcel the first version from "from" on of its derived
// opening code that is unique among the locker's active codes, and
// returns the version (the code itself is told only when a notice is sent).
func (l *Lockers) newCode(ctx context.Context, tx lokero.LockerTx, loc *lokero.Location, sh *lokero.Shipment, from int) (int, error) {
	for v := from; v <= locker.MaxVersion; v++ {
		_, hash, err := l.codes.Derive(loc.ID, sh.ID, v, l.policy.CodeLength(loc.Type))
		if err != nil {
			return 0, fmt.Errorf("opening code: %w", err)
		}
		other, err := tx.ShipmentByOpeningCode(ctx, loc.ID, hash)
		if lokero.ErrorCode(err) == lokero.ENOTFOUND || (err == nil && other.ID == sh.ID) {
			sh.OpeningCodeHash = hash
			return v, nil
		} else if err != nil {
			return 0, err
		}
	}
	return 0, &lokero.Error{Code: lokero.ECONFLICT, Reason: "too_many_codes", Message: fmt.Sprintf("parcel %s has had %d opening codes: no more", sh.TrackingCode, locker.MaxVersion+1)}
}

// NoticeAgain sends a parcel's notice of arrival again, with the same
// opening code (for the retailer's customer service, ownerID its id, or
// an operator, ownerID ""). With rotate (operators only) the parcel gets a
// new code first and the old one stops working.
func (l *Lockers) NoticeAgain(ctx context.Context, ownerID, id string, rotate bool) (lokero.Shipment, error) {
	if !plainID(id) || len(id) > 64 {
		return lokero.Shipment{}, notFoundShipment(id)
	}
	if l.codes == nil {
		return lokero.Shipment{}, errors.New("notice: no code secret configured")
	}
	var out lokero.Shipment
	err := l.store.InTx(ctx, func(tx lokero.ShipmentTx) error {
		lt := tx.(lokero.LockerTx)
		sh, err := tx.Shipment(ctx, id)
		if lokero.ErrorCode(err) == lokero.ENOTFOUND || (err == nil && ownerID != "" && sh.RetailerID != ownerID) {
			return notFoundShipment(id)
		} else if err != nil {
			return err
		}
		if sh.Status != lokero.StatusReadyForPickup {
			return &lokero.Error{Code: lokero.ECONFLICT, Reason: "not_ready_for_pickup",
				Message: fmt.Sprintf("shipment %s is %s: a notice of arrival is sent only for a parcel ready for pickup", sh.ID, sh.Status)}
		}
		loc, err := l.lockerAt(sh.DestinationID)
		if err != nil {
			return err
		}
		n := l.policy.CodeLength(loc.Type)
		v, _, ok := l.codes.Version(loc.ID, sh.ID, n, sh.OpeningCodeHash)
		if !ok && !rotate {
			return &lokero.Error{Code: lokero.ECONFLICT, Reason: "code_not_derivable",
				Message: "this parcel's code was made before codes could be sent again (or under another secret): an operator can rotate it"}
		}
		now := l.now()
		reason := "The notice of arrival was sent again."
		if rotate {
			if v, err = l.newCode(ctx, lt, loc, &sh, v+1); err != nil {
				return err
			}
			reason = "The opening code was changed by the operator and a new notice of arrival sent."
		}
		for _, m := range notices(loc, &sh, v, sh.StorageDeadline, now) {
			if err := lt.AddOutbox(ctx, m); err != nil {
				return fmt.Errorf("queue notice of arrival: %w", err)
			}
		}
		sh.UpdatedAt = now
		sh.Events = append(sh.Events, lokero.ShipmentEvent{Status: sh.Status, At: now, LocationID: loc.ID, Reason: reason})
		if err := tx.UpdateShipment(ctx, &sh); err != nil {
			return err
		}
		out = sh
		return nil
	})
	if err == nil && rotate {
		l.log.Info("opening code rotated", "shipment", id)
	}
	return out, err
}

// notices are the notices of arrival of a parcel, one per channel the
// recipient gave, in the recipient's language. They tell the opening code
// of that version, filled in only when sent (Lockers.Render).
func notices(loc *lokero.Location, sh *lokero.Shipment, version int, deadline, now time.Time) []lokero.OutboxMessage {
	code := lokero.CodePlaceholder
	ref := &lokero.CodeRef{LocationID: loc.ID, Version: version}
	until := deadline.Add(-time.Minute).In(calendar.Helsinki).Format("2.1.2006")
	place := fmt.Sprintf("%s, %s, %s %s", loc.Name, loc.Street, loc.Postcode, loc.City)
	var text string
	switch sh.Recipient.Language {
	case "sv":
		text = fmt.Sprintf("Ditt paket %s finns i paketautomaten %s. Öppningskod: %s. Hämta det senast %s.", sh.TrackingCode, place, code, until)
	case "en":
		text = fmt.Sprintf("Your parcel %s is in the parcel locker %s. Opening code: %s. Collect it by %s.", sh.TrackingCode, place, code, until)
	default:
		text = fmt.Sprintf("Pakettisi %s on noudettavissa pakettiautomaatista %s. Avauskoodi: %s. Nouda viimeistään %s.", sh.TrackingCode, place, code, until)
	}
	var out []lokero.OutboxMessage
	if sh.Recipient.Phone != "" {
		out = append(out, lokero.OutboxMessage{Channel: "sms", To: sh.Recipient.Phone, TrackingCode: sh.TrackingCode, Kind: "arrival",
			Text: text, CreatedAt: now, ShipmentID: sh.ID, Code: ref})
	}
	if sh.Recipient.Email != "" {
		out = append(out, lokero.OutboxMessage{Channel: "email", To: sh.Recipient.Email, TrackingCode: sh.TrackingCode, Kind: "arrival",
			Text: text, CreatedAt: now, ShipmentID: sh.ID, Code: ref})
	}
	return out
}

// deviceLocker checks that a device acts for its own locker.
func (l *Lockers) deviceLocker(device lokero.Credential, locationID string) (*lokero.Location, error) {
	if device.Kind != lokero.KindDevice || device.LocationID != locationID {
		return nil, &lokero.Error{Code: lokero.EFORBIDDEN, Reason: "not_this_locker", Message: "a device acts only for its own locker"}
	}
	return l.lockerAt(locationID)
}

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
)

// Keypad checks a code entered at a locker's keypad. A valid code of a
// parcel ready for pickup opens its compartment (the pickup completes when
// the door closes); cash on delivery must be paid first. Wrong codes are
// counted, and too many lock the keypad out (ETOOMANY with the wait); a
// used, expired or cancelled parcel's code opens nothing. Entered digits
// are never logged.
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
	err = l.store.InTx(ctx, func(tx lokero.ShipmentTx) error {
		res, refusal, unusable, lockedOn = KeypadResult{}, nil, nil, 0
		lt := tx.(lokero.LockerTx)
		var k locker.Keypad
		if raw, err := lt.Keypad(ctx, loc.ID); err != nil {
			return err
		} else if raw != nil {
			if err := json.Unmarshal(raw, &k); err != nil {
				return fmt.Errorf("keypad state of %s: %w", loc.ID, err)
			}
		}
		now := l.clock.Now()
		if wait, ok := l.policy.Check(k, now); !ok {
			refusal = lockedOut(wait)
			return nil
		}
		if l.codes == nil {
			return errors.New("keypad: no code secret configured")
		}
		sh, err := lt.ShipmentByOpeningCode(ctx, loc.ID, l.codes.Hash(loc.ID, code))
		valid := err == nil && sh.Status == lokero.StatusReadyForPickup && now.Before(sh.StorageDeadline)
		if err != nil && lokero.ErrorCode(err) != lokero.ENOTFOUND {
			return err
		}
		if !valid && tracking.ValidReturnCode(code) {
			// A return or pre-paid parcel's code: a drop-off. A code
			// that tells the consumer what to do is answered as such;
			// an unknown or used one is a wrong entry.
			holder, err := tx.ShipmentByReturnCode(ctx, code)
			if err == nil {
				res, err = l.dropOff(ctx, tx, loc, holder, l.now())
				if err == nil {
					return saveKeypad(ctx, lt, loc.ID, l.policy.Right(k, now))
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
			return saveKeypad(ctx, lt, loc.ID, k)
		}
		k = l.policy.Right(k, now)
		if err := saveKeypad(ctx, lt, loc.ID, k); err != nil {
			return err
		}
		if sh.COD != nil && sh.COD.CollectedAt == nil {
			res = KeypadResult{Result: "payment_required", Compartment: sh.Compartment, AmountCents: sh.COD.AmountCents, Purpose: PurposePickUp}
			return nil
		}
		cs, err := compartments(ctx, lt, loc)
		if err != nil {
			return err
		}
		if sh.Compartment < 1 || sh.Compartment > len(cs) {
			return fmt.Errorf("shipment %s is in compartment %d of %d", sh.ID, sh.Compartment, len(cs))
		}
		c := cs[sh.Compartment-1]
		c.DoorOpen = true
		if err := lt.PutCompartment(ctx, c); err != nil {
			return err
		}
		res = KeypadResult{Result: "open", Compartment: c.Number, Purpose: PurposePickUp}
		return nil
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

func lockedOut(wait time.Duration) error {
	return &lokero.Error{Code: lokero.ETOOMANY, Reason: "keypad_locked",
		Message: fmt.Sprintf("too many wrong codes: the keypad takes codes again in %s", wait.Round(time.Second))}
}

func saveKeypad(ctx context.Context, tx lokero.LockerTx, locationID string, k locker.Keypad) error {
	raw, err := json.Marshal(k)
	if err != nil {
		return err
	}
	return tx.SaveKeypad(ctx, locationID, raw)
}

// Outbox lists the queued messages, newest first, as stored: an opening
// code is a placeholder (see Render).
func (l *Lockers) Outbox(ctx context.Context, limit int) ([]lokero.OutboxMessage, error) {
	return l.store.Outbox(ctx, limit)
}

// Render returns a queued message as it is sent: its opening code, derived
// again from the code secret, in place of the placeholder. Only a sender
// (and the development outbox) calls it; the result is never stored or
// logged.
func (l *Lockers) Render(m lokero.OutboxMessage) (lokero.OutboxMessage, error) {
	if m.Code == nil {
		return m, nil
	}
	if l.codes == nil {
		return m, errors.New("render message: no code secret configured")
	}
	loc, err := l.dir.Location(m.Code.LocationID)
	if err != nil {
		return m, fmt.Errorf("render message %d: %w", m.ID, err)
	}
	code, _, err := l.codes.Derive(loc.ID, m.ShipmentID, m.Code.Version, l.policy.CodeLength(loc.Type))
	if err != nil {
		return m, fmt.Errorf("render message %d: %w", m.ID, err)
	}
	m.Text = strings.ReplaceAll(m.Text, lokero.CodePlaceholder, code)
	return m, nil
}

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
	err = l.store.InTx(ctx, func(tx lokero.ShipmentTx) error {
		lt := tx.(lokero.LockerTx)
		cs, err := compartments(ctx, lt, loc)
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
		now := l.now()
		sh.COD.CollectedAt, sh.COD.TerminalRef, sh.UpdatedAt = &now, terminalRef, now
		sh.Events = append(sh.Events, lokero.ShipmentEvent{Status: sh.Status, At: now, LocationID: loc.ID, Reason: "Cash on delivery paid at the locker's terminal."})
		if err := tx.UpdateShipment(ctx, &sh); err != nil {
			return err
		}
		c.DoorOpen = true
		if err := lt.PutCompartment(ctx, c); err != nil {
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
func (l *Lockers) Settlements(ctx context.Context, day calendar.Date) ([]Settlement, error) {
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
	today := calendar.DateOf(l.clock.Now())
	view := LockerView{Location: loc, Occupancy: map[string]Occupancy{}}
	err = l.store.InTx(ctx, func(tx lokero.ShipmentTx) error {
		view.Compartments, view.ExpiringToday = nil, nil
		lt := tx.(lokero.LockerTx)
		cs, err := compartments(ctx, lt, loc)
		if err != nil {
			return err
		}
		reserved, err := tx.Reserved(ctx, loc.ID, today.String())
		if err != nil {
			return err
		}
		if view.Letters, err = lt.LetterSlot(ctx, loc.ID); err != nil {
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
				if !sh.StorageDeadline.IsZero() && calendar.DateOf(sh.StorageDeadline.Add(-time.Nanosecond)) == today {
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
// allocation skips it. A parcel in it stays until collected.
func (l *Lockers) SetOutOfOrder(ctx context.Context, operator lokero.Credential, locationID string, number int, outOfOrder bool) (lokero.Compartment, error) {
	if operator.Kind != lokero.KindOperator {
		return lokero.Compartment{}, lokero.Errorf(lokero.EFORBIDDEN, "only an operator marks compartments out of order")
	}
	loc, err := l.lockerAt(locationID)
	if err != nil {
		return lokero.Compartment{}, err
	}
	var out lokero.Compartment
	err = l.store.InTx(ctx, func(tx lokero.ShipmentTx) error {
		lt := tx.(lokero.LockerTx)
		cs, err := compartments(ctx, lt, loc)
		if err != nil {
			return err
		}
		if number < 1 || number > len(cs) {
			return &lokero.Error{Code: lokero.ENOTFOUND, Reason: "unknown_compartment", Message: fmt.Sprintf("this locker has compartments 1..%d; got %d", len(cs), number)}
		}
		out = cs[number-1]
		out.OutOfOrder = outOfOrder
		return lt.PutCompartment(ctx, out)
	})
	if err == nil {
		l.log.Info("compartment out of order", "location", loc.ID, "compartment", number, "out_of_order", outOfOrder, "by", operator.ID)
	}
	return out, err
}

// Remind queues the reminder of a parcel still waiting two days before its
// deadline (a job; idempotent: a parcel picked up meanwhile gets none, and
// a second run finds the reminder event and does nothing).
func (l *Lockers) Remind(ctx context.Context, shipmentID string) error {
	return l.store.InTx(ctx, func(tx lokero.ShipmentTx) error {
		sh, err := tx.Shipment(ctx, shipmentID)
		if err != nil {
			return err
		}
		if sh.Status != lokero.StatusReadyForPickup {
			return nil
		}
		for _, e := range sh.Events {
			if e.Status == lokero.StatusReadyForPickup && strings.HasPrefix(e.Reason, "Reminder") {
				return nil
			}
		}
		loc, err := l.lockerAt(sh.DestinationID)
		if err != nil {
			return err
		}
		now := l.now()
		until := sh.StorageDeadline.Add(-time.Minute).In(calendar.Helsinki).Format("2.1.2006")
		var text string
		switch sh.Recipient.Language {
		case "sv":
			text = fmt.Sprintf("Påminnelse: ditt paket %s väntar i paketautomaten %s, %s. Hämta det senast %s; öppningskoden finns i ankomstaviseringen.", sh.TrackingCode, loc.Name, loc.Street, until)
		case "en":
			text = fmt.Sprintf("Reminder: your parcel %s is waiting in the parcel locker %s, %s. Collect it by %s; the opening code is in the notice of arrival.", sh.TrackingCode, loc.Name, loc.Street, until)
		default:
			text = fmt.Sprintf("Muistutus: pakettisi %s odottaa pakettiautomaatissa %s, %s. Nouda viimeistään %s; avauskoodi on saapumisilmoituksessa.", sh.TrackingCode, loc.Name, loc.Street, until)
		}
		for _, ch := range []struct{ channel, to string }{{"sms", sh.Recipient.Phone}, {"email", sh.Recipient.Email}} {
			if ch.to == "" {
				continue
			}
			m := lokero.OutboxMessage{Channel: ch.channel, To: ch.to, TrackingCode: sh.TrackingCode, Kind: "reminder", Text: text, CreatedAt: now}
			if err := tx.(lokero.LockerTx).AddOutbox(ctx, m); err != nil {
				return err
			}
		}
		sh.UpdatedAt = now
		sh.Events = append(sh.Events, lokero.ShipmentEvent{Status: sh.Status, At: now, LocationID: loc.ID, Reason: "Reminder sent: the storage period ends on " + until + "."})
		return tx.UpdateShipment(ctx, &sh)
	})
}

// Expire ends the storage period of a parcel not picked up (a job; a
// no-op for a parcel picked up or already expired, or run early): its code
// stops working and it joins the locker's collection list.
func (l *Lockers) Expire(ctx context.Context, shipmentID string) error {
	return l.store.InTx(ctx, func(tx lokero.ShipmentTx) error {
		sh, err := tx.Shipment(ctx, shipmentID)
		if err != nil {
			return err
		}
		now := l.now()
		if sh.Status != lokero.StatusReadyForPickup || now.Before(sh.StorageDeadline) {
			return nil
		}
		sh.Status, sh.OpeningCodeHash, sh.UpdatedAt = lokero.StatusExpired, nil, now
		sh.Events = append(sh.Events, lokero.ShipmentEvent{Status: lokero.StatusExpired, At: now, LocationID: sh.DestinationID,
			Reason: "The 7-day storage period ended: the parcel goes back to the sender."})
		return tx.UpdateShipment(ctx, &sh)
	})
}

// Collections lists the parcels a courier is to take out of a locker:
// those whose storage period has ended, and the returns and pre-paid
// parcels consumers dropped off.
func (l *Lockers) Collections(ctx context.Context, courier lokero.Credential, locationID string) ([]lokero.Shipment, error) {
	if courier.Kind != lokero.KindCourier {
		return nil, lokero.Errorf(lokero.EFORBIDDEN, "the collection list is for couriers")
	}
	loc, err := l.lockerAt(locationID)
	if err != nil {
		return nil, err
	}
	cs, err := l.store.Compartments(ctx, loc.ID)
	if err != nil {
		return nil, err
	}
	out := []lokero.Shipment{}
	for _, c := range cs {
		if c.ShipmentID == "" {
			continue
		}
		sh, err := l.store.Shipment(ctx, c.ShipmentID)
		if err != nil {
			return nil, err
		}
		if sh.Status == lokero.StatusExpired || sh.Status == lokero.StatusDroppedOff {
			out = append(out, sh)
		}
	}
	return out, nil
}

// Collect is a courier taking a parcel out of its compartment: an expired
// one is RETURNING to its sender (its reservation is free), a dropped-off
// return or pre-paid parcel is IN_TRANSIT to the store or its recipient.
// The compartment is free.
func (l *Lockers) Collect(ctx context.Context, courier lokero.Credential, locationID, trackingCode string) (lokero.Shipment, error) {
	if courier.Kind != lokero.KindCourier {
		return lokero.Shipment{}, lokero.Errorf(lokero.EFORBIDDEN, "only a courier collects parcels")
	}
	loc, err := l.lockerAt(locationID)
	if err != nil {
		return lokero.Shipment{}, err
	}
	code := tracking.Normalize(trackingCode)
	if !tracking.Valid(code) {
		return lokero.Shipment{}, lokero.Invalid("tracking_code", "malformed", "%q is not a tracking code", trackingCode)
	}
	var out lokero.Shipment
	err = l.store.InTx(ctx, func(tx lokero.ShipmentTx) error {
		lt := tx.(lokero.LockerTx)
		cs, err := compartments(ctx, lt, loc)
		if err != nil {
			return err
		}
		for _, c := range cs {
			if c.ShipmentID == "" {
				continue
			}
			sh, err := tx.Shipment(ctx, c.ShipmentID)
			if err != nil {
				return err
			}
			if sh.TrackingCode != code {
				continue
			}
			if sh.Status != lokero.StatusExpired && sh.Status != lokero.StatusDroppedOff {
				return &lokero.Error{Code: lokero.ECONFLICT, Reason: "illegal_transition", Message: fmt.Sprintf("parcel %s is %s: only expired and dropped-off parcels are collected", code, sh.Status)}
			}
			now := l.now()
			// An expired parcel goes back to its sender; a dropped-off one
			// sets out on its way to the store or its recipient.
			next, reason := lokero.StatusReturning, "Collected by the courier: on its way back to the sender."
			if sh.Status == lokero.StatusDroppedOff {
				next, reason = lokero.StatusInTransit, "Collected by the courier: on its way to the store."
				if sh.Kind == lokero.ShipmentPrepaid {
					reason = "Collected by the courier: on its way to the recipient."
					if d := l.dir.Snapshot().ByID(sh.DestinationID); d != nil {
						reason = fmt.Sprintf("Collected by the courier: on its way to %s.", d.Name)
					}
				}
				sh.DeliveryDate = l.calendar.DeliveryDate(now).String()
			}
			if sh.SizeClass != "" { // only a delivery that expired has one
				if err := tx.Release(ctx, sh.DestinationID, sh.DeliveryDate, sh.SizeClass); err != nil {
					return err
				}
				sh.SizeClass = ""
			}
			c.ShipmentID, c.DoorOpen = "", false
			if err := lt.PutCompartment(ctx, c); err != nil {
				return err
			}
			sh.Status, sh.Compartment, sh.UpdatedAt = next, 0, now
			sh.Events = append(sh.Events, lokero.ShipmentEvent{Status: next, At: now, LocationID: loc.ID, Reason: reason})
			if err := tx.UpdateShipment(ctx, &sh); err != nil {
				return err
			}
			out = sh
			return nil
		}
		return &lokero.Error{Code: lokero.ENOTFOUND, Reason: "not_in_locker", Field: "tracking_code", Message: fmt.Sprintf("parcel %s is not in this locker", code)}
	})
	if err == nil {
		l.dir.reservationsChanged(loc.ID, out.DestinationID)
	}
	return out, err
}

// Letter events a device reports.
const (
	LetterDropped = "letter_dropped" // cards or letters went through the mail slot
	SlotEmptied   = "slot_emptied"   // the courier emptied the slot
)

// Letters records a mail slot event of a locker's device: count letters
// dropped (at least 1), or the slot emptied by the courier. It returns the
// slot's counts.
func (l *Lockers) Letters(ctx context.Context, device lokero.Credential, locationID, event string, count int) (lokero.LetterSlot, error) {
	loc, err := l.deviceLocker(device, locationID)
	if err != nil {
		return lokero.LetterSlot{}, err
	}
	if event == LetterDropped && count == 0 {
		count = 1
	}
	if event == LetterDropped && (count < 1 || count > 1000) {
		return lokero.LetterSlot{}, lokero.Invalid("count", "out_of_range", "count must be 1..1000 letters; got %d", count)
	}
	var slot lokero.LetterSlot
	err = l.store.InTx(ctx, func(tx lokero.ShipmentTx) error {
		lt := tx.(lokero.LockerTx)
		var err error
		if slot, err = lt.LetterSlot(ctx, loc.ID); err != nil {
			return err
		}
		switch event {
		case LetterDropped:
			slot.InSlot += count
			slot.Dropped += count
		case SlotEmptied:
			slot.Emptied += slot.InSlot
			slot.InSlot = 0
		default:
			return lokero.Invalid("type", "unknown_event", "type must be door_closed, letter_dropped or slot_emptied; got %q", event)
		}
		return lt.SaveLetterSlot(ctx, slot)
	})
	return slot, err
}
