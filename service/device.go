package service

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lokero/lokero"
)

// A locker's controller reports what happens at the locker as events
// numbered in sequence (docs/device-protocol.md), over MQTT or HTTP; the
// centre applies each exactly once. The sequence is kept per device
// credential, so that a new controller (a new credential) starts at 1.

// DeviceEvent is one event of a locker's controller.
type DeviceEvent struct {
	// Seq is the event's number in its controller's sequence, from 1; 0
	// for a device that does not number its events (HTTP only): then the
	// event is applied each time it arrives.
	Seq  int64
	Type string // one of the DeviceEvent… types
	// At is when it happened at the locker, by its clock; zero when the
	// device did not say. Only a pickup uses it (OfflinePickup).
	At time.Time
	// The fields of the types that have them.
	Compartment int    // door_closed, payment
	Count       int    // letter_dropped
	Code        string // keypad: the digits entered, never logged
	AmountCents int64  // payment
	TerminalRef string // payment
	ShipmentID  string // pickup
	// TrackingCode is the parcel a courier scanned at the locker's keypad
	// (deposit).
	TrackingCode string
	Token        string // qr: the QR code the scanner read (ScanQR), never logged
	// Courier is the courier signed in at the locker's keypad (deposit,
	// courier): the SHA-256 of their courier token, base64url without
	// padding (keypadCourier). The controller never keeps the token.
	Courier string
}

// The types of DeviceEvent.
const (
	DeviceEventDoorClosed = "door_closed"
	// DeviceEventDoorOpened: a door opened that the controller did not
	// open (DoorOpened); the openings it makes are reported by the events
	// that caused them.
	DeviceEventDoorOpened = "door_opened"
	DeviceEventKeypad     = "keypad"
	DeviceEventPayment    = "payment"
	// DeviceEventDeposit: a courier scanned a parcel at the locker (its
	// keypad in courier mode); the centre allocates the compartment, as
	// for the courier's own handheld (Deposit), and the ack opens it.
	//
	// It names the courier signed in at the keypad (Courier): the centre
	// refuses it without an active courier credential (courier_required,
	// courier_unknown), before it looks at the parcel, and records the
	// courier on the parcel (KeypadCourierNote).
	DeviceEventDeposit = "deposit"
	// DeviceEventCourier: a courier signed in at the locker's keypad
	// (Courier): applied, changing nothing, when it is an active courier
	// credential's; rejected courier_unknown when not. The controller
	// takes a courier offline only if the centre accepted them there.
	DeviceEventCourier = "courier"
	// DeviceEventPickup: the controller opened a compartment itself, for
	// a code it checked offline (OfflinePickup).
	DeviceEventPickup = "pickup"
	// DeviceEventDropOff: the controller opened a compartment itself for
	// a return code it checked offline (OfflineDropOff).
	DeviceEventDropOff = "drop_off"
	// LetterDropped and SlotEmptied (letters.go) are device events too.
)

// What the centre did with a DeviceEvent.
const (
	EventApplied   = "applied"   // applied now
	EventDuplicate = "duplicate" // applied before: nothing done again
	EventRejected  = "rejected"  // applied as a refusal (Err): its effects undone, the sequence moved on
	EventGap       = "gap"       // not applied: an earlier event is missing (Expect)
)

// DeviceOutcome is what applying a DeviceEvent gave.
type DeviceOutcome struct {
	Result string // EventApplied, EventDuplicate, EventRejected or EventGap
	// Expect is the sequence number the centre takes next (for EventGap:
	// the controller resends from there).
	Expect int64
	// Err is why an event was rejected: a *lokero.Error the controller
	// shows or logs.
	Err error
	// Keypad is what a keypad entry or a payment opened.
	Keypad KeypadResult
	// Shipment is the parcel behind a closed door, if any.
	Shipment lokero.Shipment
	// Letters are the mail slot's counts after a letter event.
	Letters lokero.LetterSlot
}

// eventSeq carries an event's sequence number through a device use case
// to its transaction (deviceTx), and brings back what became of it.
type eventSeq struct {
	credentialID, locationID string
	seq                      int64
	result                   string // "" while undecided
	expect                   int64
}

type eventSeqKey struct{}

// ApplyEvent applies one event of a locker's device, exactly once: in the
// transaction of its effect, the device's sequence must be the event's
// minus one, and becomes the event's. A repeat of an applied event changes
// nothing (EventDuplicate); an event after a gap is not applied
// (EventGap, with the number to resend from). A refusal (a wrong code, a
// door of no compartment) is applied as such: the sequence moves on,
// whatever it would have changed is undone, and the outcome carries the
// error (EventRejected). The error returned is only for what the device
// cannot fix by sending again differently: another locker's credential, a
// failure of the store (then nothing was applied: send it again).
func (l *Lockers) ApplyEvent(ctx context.Context, device lokero.Credential, locationID string, ev DeviceEvent) (DeviceOutcome, error) {
	if _, err := l.deviceLocker(device, locationID); err != nil {
		return DeviceOutcome{}, err
	}
	if ev.Seq < 0 {
		return DeviceOutcome{}, lokero.Invalid("seq", "out_of_range", "seq must be 1 or more; got %d", ev.Seq)
	}
	es := &eventSeq{credentialID: device.ID, locationID: locationID, seq: ev.Seq}
	if ev.Seq > 0 {
		ctx = context.WithValue(ctx, eventSeqKey{}, es)
	}
	var out DeviceOutcome
	var err error
	switch ev.Type {
	case DeviceEventDoorClosed:
		out.Shipment, err = l.DoorClosed(ctx, device, locationID, ev.Compartment)
	case DeviceEventDoorOpened:
		err = l.DoorOpened(ctx, device, locationID, ev.Compartment)
	case DeviceEventKeypad:
		if ev.Code == "" {
			err = withdrawn("code")
			break
		}
		out.Keypad, err = l.Keypad(ctx, device, locationID, ev.Code)
	case DeviceEventPayment:
		out.Keypad, err = l.Payment(ctx, device, locationID, ev.Compartment, ev.AmountCents, ev.TerminalRef)
	case DeviceEventCourier:
		if _, _, err = l.keypadCourier(ctx, ev.Courier, false); err == nil && ev.Seq > 0 {
			err = l.seqTx(ctx, es, nil) // nothing to apply: the number only
		}
	case DeviceEventDeposit:
		offline := ev.Compartment > 0 // taken by the controller while offline
		courier, note, cerr := l.keypadCourier(ctx, ev.Courier, offline)
		if cerr != nil {
			err = cerr
			break
		}
		var res DepositResult
		if offline {
			res, err = l.OfflineDeposit(ctx, device, locationID, ev.TrackingCode, ev.Compartment, note)
		} else {
			dctx := ctx
			if found, _, ferr := l.scanned(ctx, ev.TrackingCode); ferr == nil {
				dctx = context.WithValue(ctx, keypadDepositKey{}, &keypadDeposit{shipmentID: found.ID, locationID: locationID, note: note})
			} // else Deposit refuses it as scanned does
			res, err = l.Deposit(dctx, courier, locationID, ev.TrackingCode)
		}
		if err == nil {
			out.Keypad = KeypadResult{Result: "open", Compartment: res.Compartment.Number, Purpose: PurposeDeposit}
			out.Shipment = res.Shipment
		}
	case DeviceEventDropOff:
		out.Keypad, err = l.OfflineDropOff(ctx, device, locationID, ev.ShipmentID, ev.Compartment)
	case DeviceEventPickup:
		err = l.OfflinePickup(ctx, device, locationID, ev.Compartment, ev.ShipmentID, ev.At)
	case DeviceEventQR:
		if ev.Token == "" {
			err = withdrawn("token")
			break
		}
		out.Keypad, err = l.ScanQR(ctx, device, locationID, ev.Token)
	case LetterDropped, SlotEmptied:
		out.Letters, err = l.Letters(ctx, device, locationID, ev.Type, ev.Count)
	default:
		err = lokero.Invalid("type", "unknown_event", "type must be %s, %s, %s, %s, %s, %s, %s, %s, %s, %s or %s; got %q",
			DeviceEventDoorClosed, DeviceEventDoorOpened, DeviceEventKeypad, DeviceEventQR, DeviceEventPayment, DeviceEventDeposit, DeviceEventCourier, DeviceEventPickup, DeviceEventDropOff, LetterDropped, SlotEmptied, truncateText(ev.Type, 32))
	}
	if ev.Seq == 0 {
		// Not numbered: applied or not, as the use case says.
		if err != nil && refusal(err) {
			return DeviceOutcome{Result: EventRejected, Err: err}, nil
		}
		if err != nil {
			return DeviceOutcome{}, err
		}
		out.Result = EventApplied
		return out, nil
	}
	if err != nil && !refusal(err) {
		return DeviceOutcome{}, err
	}
	if err != nil && es.result == "" {
		// Refused before its transaction (a bad field) or inside it with
		// its writes rolled back: the refusal takes the number alone, so
		// that the controller's next events are not held up behind it.
		// (A refusal whose writes stand, a wrong code counted against the
		// lockout, has taken it already.)
		if err := l.seqTx(ctx, es, nil); err != nil {
			return DeviceOutcome{}, err
		}
	}
	switch {
	case es.result != EventApplied: // a duplicate or after a gap: nothing done
		return DeviceOutcome{Result: es.result, Expect: es.expect}, nil
	case err != nil:
		return DeviceOutcome{Result: EventRejected, Err: err, Expect: es.seq + 1}, nil
	}
	out.Result, out.Expect = EventApplied, es.seq+1
	return out, nil
}

// withdrawn refuses a keypad or QR event without its code or token: the
// controller stopped waiting for its answer and sent it again without
// what it checked (it never stores that), so that it opens no door for
// nobody. It checks nothing and counts nothing towards the lockout.
func withdrawn(field string) error {
	return lokero.Invalid(field, "entry_withdrawn",
		"no %s: the locker stopped waiting for this entry's answer, and nothing was checked", field)
}

// refusal reports whether err is the service refusing the request (any
// *lokero.Error but an internal one), not a failure to apply it.
func refusal(err error) bool {
	var e *lokero.Error
	return errors.As(err, &e) && e.Code != lokero.EINTERNAL
}

// deviceTx runs fn in one write transaction, as store.InTx does. For an
// event numbered in its device's sequence (ApplyEvent), the number is
// checked and recorded in the same transaction (seqTx).
func (l *Lockers) deviceTx(ctx context.Context, fn func(tx lokero.Tx) error) error {
	if kd, _ := ctx.Value(keypadDepositKey{}).(*keypadDeposit); kd != nil {
		fn = kd.wrap(ctx, fn)
	}
	es, _ := ctx.Value(eventSeqKey{}).(*eventSeq)
	if es == nil {
		return l.store.InTx(ctx, fn)
	}
	return l.seqTx(ctx, es, fn)
}

// keypadDeposit carries a deposit at a locker's keypad through Deposit
// (which a courier's handheld calls too) to its transaction (deviceTx),
// which records on the parcel who deposited it: the courier signed in at
// the keypad (note), with the deposit's own writes.
type keypadDeposit struct {
	shipmentID, locationID, note string
}

type keypadDepositKey struct{}

// wrap runs fn and then, when fn put the parcel in a compartment (in
// transit before, in the locker after: not a scan again before the door
// closed, nor a re-routing), adds the note to its events.
func (k *keypadDeposit) wrap(ctx context.Context, fn func(tx lokero.Tx) error) func(tx lokero.Tx) error {
	return func(tx lokero.Tx) error {
		before, err := tx.Shipment(ctx, k.shipmentID)
		if err != nil {
			return err
		}
		if err := fn(tx); err != nil || before.Status != lokero.StatusInTransit {
			return err
		}
		after, err := tx.Shipment(ctx, k.shipmentID)
		if err != nil || after.Status != lokero.StatusInLocker {
			return err
		}
		after.Note(tx.Now(), k.locationID, k.note)
		return tx.UpdateShipment(ctx, &after)
	}
}

// seqTx runs fn (nil: nothing) in one write transaction if es is the
// device's next event, and records its number with fn's writes; otherwise
// es.result says duplicate or gap and nothing is written. A refusal fn
// returns rolls its writes back; ApplyEvent then records the number alone
// (seqTx with no fn).
func (l *Lockers) seqTx(ctx context.Context, es *eventSeq, fn func(tx lokero.Tx) error) error {
	return l.store.InTx(ctx, func(tx lokero.Tx) error {
		es.result, es.expect = "", 0
		// The next event, as nearly every one is: recorded (and locked)
		// by one statement.
		advanced, err := tx.AdvanceDeviceSequence(ctx, es.credentialID, es.locationID, es.seq)
		if err != nil {
			return err
		}
		if !advanced {
			if ok, err := es.check(ctx, tx); err != nil || !ok {
				return err
			}
		}
		if fn != nil {
			if err := fn(tx); err != nil {
				return err
			}
		}
		es.result = EventApplied
		if advanced {
			return nil
		}
		return tx.SetDeviceSequence(ctx, es.credentialID, es.locationID, es.seq)
	})
}

// check reads the device's sequence and decides: true when the event is
// the next one; otherwise es.result says duplicate or gap.
func (es *eventSeq) check(ctx context.Context, tx lokero.Tx) (bool, error) {
	last, err := tx.DeviceSequence(ctx, es.credentialID)
	if err != nil {
		return false, fmt.Errorf("device sequence: %w", err)
	}
	switch {
	case es.seq <= last:
		es.result, es.expect = EventDuplicate, last+1
		return false, nil
	case es.seq > last+1:
		es.result, es.expect = EventGap, last+1
		return false, nil
	}
	return true, nil
}

// LockerStatus is a locker's status as its controller (or its broker's
// will, when the connection dropped) reports it.
type LockerStatus struct {
	Online bool
	// At is the locker's time, by its own clock. Not recorded: a board's
	// clock may be minutes off the centre's, and the broker's will (its
	// connection dropped) has none, so a locker's statuses are ordered
	// and timed by when they reached the centre (RecordStatus).
	At           time.Time
	Firmware     string
	Compartments json.RawMessage // as reported, kept for the operator
}

// RecordStatus keeps a locker's reported status: online or offline, and
// with online, its heartbeat (firmware, compartment states), as of now by
// the centre's clock, when it arrived: a locker's statuses (its
// controller's, stamped by the board's clock, and its will, stamped by
// none) are ordered by the one clock, so that a board whose clock is
// slow is not taken for offline after it reconnected, nor for silent
// (HeartbeatTimeout). The caller records a locker's statuses in the order
// they arrived.
func (l *Lockers) RecordStatus(ctx context.Context, device lokero.Credential, locationID string, s LockerStatus) error {
	if _, err := l.deviceLocker(device, locationID); err != nil {
		return err
	}
	if err := checkText("firmware", s.Firmware, false, 64); err != nil {
		return err
	}
	if len(s.Compartments) > 32<<10 {
		return lokero.Invalid("compartments", "too_long", "compartments must be at most 32 KiB of JSON; got %d bytes", len(s.Compartments))
	}
	if len(s.Compartments) > 0 && !json.Valid(s.Compartments) {
		return lokero.Invalid("compartments", "invalid_json", "compartments must be JSON")
	}
	at := l.now().UTC().Truncate(time.Microsecond)
	var compartments []byte
	if len(s.Compartments) > 0 {
		compartments = s.Compartments
	}
	if err := l.store.RecordLockerStatus(ctx, locationID, s.Online, at, s.Firmware, compartments); err != nil {
		return fmt.Errorf("record status of %s: %w", locationID, err)
	}
	return nil
}

// LockerLinkView is a locker's link as the operator sees it.
type LockerLinkView struct {
	lokero.LockerLink
	// Offline is how long it has been offline (or silent: no heartbeat
	// for longer than HeartbeatTimeout) as of now; 0 when it is online.
	Offline time.Duration
}

// HeartbeatTimeout is how long a locker may stay silent before it counts
// as offline though its last status said online (its heartbeat is every
// minute; the broker's will covers a dropped connection).
const HeartbeatTimeout = 5 * time.Minute

// Links lists every locker's link (those that ever reported), or only
// those offline (or silent) for at least offlineFor when it is above 0.
func (l *Lockers) Links(ctx context.Context, offlineFor time.Duration) ([]LockerLinkView, error) {
	links, err := l.store.LockerLinks(ctx)
	if err != nil {
		return nil, err
	}
	now := l.now()
	out := make([]LockerLinkView, 0, len(links))
	for _, k := range links {
		v := linkView(k, now)
		if offlineFor > 0 && (v.Offline == 0 || v.Offline < offlineFor) {
			continue
		}
		out = append(out, v)
	}
	return out, nil
}

// Link returns one locker's link (ENOTFOUND when it never reported).
func (l *Lockers) Link(ctx context.Context, locationID string) (LockerLinkView, error) {
	k, err := l.store.LockerLink(ctx, locationID)
	if err != nil {
		return LockerLinkView{}, err
	}
	return linkView(k, l.now()), nil
}

func linkView(k lokero.LockerLink, now time.Time) LockerLinkView {
	v := LockerLinkView{LockerLink: k}
	switch {
	case !k.Online:
		v.Offline = max(now.Sub(k.ChangedAt), time.Nanosecond)
	case now.Sub(k.HeartbeatAt) > HeartbeatTimeout:
		v.Offline = now.Sub(k.HeartbeatAt)
	}
	return v
}

// LockerDevice returns the device credential a locker's controller acts
// with over MQTT, where the broker, not the centre, checked its token:
// the locker's newest active device credential (provisioning a new one
// revokes the older ones, unless told to keep them). EUNAUTHORIZED when
// the locker has none.
func (l *Lockers) LockerDevice(ctx context.Context, locationID string) (lokero.Credential, error) {
	cs, err := l.store.Credentials(ctx, lokero.CredentialFilter{Kind: lokero.KindDevice, LocationID: locationID})
	if err != nil {
		return lokero.Credential{}, err
	}
	now := l.now()
	for i := len(cs) - 1; i >= 0; i-- { // oldest first
		if cs[i].State(now) == lokero.CredentialActive {
			return cs[i], nil
		}
	}
	return lokero.Credential{}, &lokero.Error{Code: lokero.EUNAUTHORIZED, Reason: "no_device",
		Message: fmt.Sprintf("locker %s has no active device credential: provision one with lokero locker provision", locationID)}
}
