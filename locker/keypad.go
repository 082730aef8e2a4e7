package locker

import (
	"time"

	"github.com/lokero/lokero"
)

// helsinki is the zone of the keypad's day: lokero.Helsinki, copied at
// init so that reassigning the exported variable cannot move the day.
var helsinki = lokero.Helsinki

// dayLayout is the layout of Keypad.Day.
const dayLayout = "2006-01-02"

// CodePolicy is the code lengths and the keypad's lockout schedule, chosen
// together: see the package documentation for the arithmetic. A zero
// WrongLimit, Window or Lockouts disables the lockout after wrong entries; a
// zero DailyCap disables the daily cap. A zero PaymentWindow accepts no
// payment at all.
type CodePolicy struct {
	OutdoorLength int             // digits at a SMARTPOST (public, outdoors)
	IndoorLength  int             // digits at a LOCKER (inside a residents-only building)
	WrongLimit    int             // 5 wrong entries …
	Window        time.Duration   // … within 10 minutes lock the keypad
	Lockouts      []time.Duration // growing lock periods: 1m, 5m, 15m, 60m (the last repeats)
	DailyCap      int             // wrong entries per keypad per Helsinki day before the keypad refuses codes until the next day
	PaymentWindow time.Duration   // how long after a code that asked for payment the terminal's payment is taken (see Session)
}

// DefaultPaymentWindow is how long a keypad's payment session lasts: from
// the right code of a parcel with cash on delivery to the payment at the
// terminal. Paying by card at an unattended terminal takes well under a
// minute (present the card, perhaps a PIN, the authorisation); three
// minutes leave room for a declined card and a second one, and are short
// enough that a payment reported later, when the person has walked away,
// opens nothing without the code being entered again.
const DefaultPaymentWindow = 3 * time.Minute

// DefaultPolicy returns lokero's policy: 11-digit codes at SMARTPOSTs,
// 10-digit codes at LOCKERs, a lockout after 5 wrong entries within 10
// minutes for 1, 5, 15, then 60 minutes, at most 20 wrong entries per
// keypad per Helsinki day, and payment sessions of DefaultPaymentWindow.
// The package documentation shows why.
func DefaultPolicy() CodePolicy {
	return CodePolicy{
		OutdoorLength: 11,
		IndoorLength:  10,
		WrongLimit:    5,
		Window:        10 * time.Minute,
		Lockouts:      []time.Duration{time.Minute, 5 * time.Minute, 15 * time.Minute, time.Hour},
		DailyCap:      20,
		PaymentWindow: DefaultPaymentWindow,
	}
}

// CodeLength returns the number of digits of an opening code at a location
// of type t: IndoorLength at a LOCKER, OutdoorLength anywhere else (a
// SMARTPOST is public; an unknown type gets the longer code).
func (p CodePolicy) CodeLength(t lokero.LocationType) int {
	if t == lokero.TypeLocker {
		return p.IndoorLength
	}
	return p.OutdoorLength
}

// Keypad is the state of one locker's keypad, kept in the database between
// requests (plain data; JSON-serialisable): its lockout and its payment
// session. The zero Keypad is a keypad without history. Methods of
// CodePolicy never modify the Keypad they are given: they return a new one.
type Keypad struct {
	Wrong       []time.Time `json:"wrong,omitempty"`       // recent wrong entries (within Window)
	Level       int         `json:"level,omitempty"`       // how many lockouts so far (resets after a day without one)
	LockedUntil time.Time   `json:"locked_until,omitzero"` // no code is taken before this instant
	Day         string      `json:"day,omitempty"`         // Helsinki date of DayWrong ("2026-11-25")
	DayWrong    int         `json:"day_wrong,omitempty"`   // wrong entries on Day
	LastLockout time.Time   `json:"last_lockout,omitzero"` // when the last lockout started
	Session     Session     `json:"session,omitzero"`      // the payment awaited, if any
}

// Session is a keypad's payment session: the right code of a parcel with
// cash on delivery was entered and answered "payment required", and the
// terminal's payment for that compartment is taken until Until. A keypad
// has one person at it at a time, so it has at most one session: the next
// code entered, right or wrong, ends it, as do the payment and the end of
// the window. Without a session no payment opens a door, and none is told
// an amount.
type Session struct {
	Compartment int       `json:"compartment"` // the compartment to be paid for
	ShipmentID  string    `json:"shipment_id"` // the parcel in it when the code was entered
	Until       time.Time `json:"until"`       // no payment is taken from this instant on
}

// levelReset is how long without a lockout resets Keypad.Level.
const levelReset = 24 * time.Hour

// Check says whether the keypad takes a code at now, or how long to wait:
// until the end of a lockout, or, when the daily cap is reached, until the
// next midnight in Helsinki.
func (p CodePolicy) Check(k Keypad, now time.Time) (wait time.Duration, ok bool) {
	until := k.LockedUntil
	if p.DailyCap > 0 && k.DayWrong >= p.DailyCap && k.Day == dayOf(now) {
		until = later(until, nextMidnight(now))
	}
	if now.Before(until) {
		return until.Sub(now), false
	}
	return 0, true
}

// Wrong records a wrong entry at now and returns the new state and, when
// this entry started a lockout, its length (0 otherwise).
//
// The entry counts towards the window and the day. When it is the
// WrongLimit-th entry within Window, the keypad is locked for the next
// period of the schedule (Lockouts[Level], the last repeating; Level starts
// again from the first after a day without a lockout) and the window starts
// afresh. When it is the DailyCap-th entry of the Helsinki day, the keypad is
// locked until the next Helsinki midnight (or longer, when the schedule says
// so). A lockout never shortens one already running.
func (p CodePolicy) Wrong(k Keypad, now time.Time) (Keypad, time.Duration) {
	if day := dayOf(now); k.Day != day {
		k.Day, k.DayWrong = day, 0
	}
	k.DayWrong++
	k.Session = Session{} // the person at the keypad is someone else, or starts again
	k.Wrong = p.recent(k.Wrong, now, 1)
	k.Wrong = append(k.Wrong, now)

	var until time.Time
	if p.WrongLimit > 0 && p.Window > 0 && len(p.Lockouts) > 0 && len(k.Wrong) >= p.WrongLimit {
		if k.Level > 0 && now.Sub(k.LastLockout) >= levelReset {
			k.Level = 0
		}
		until = now.Add(p.Lockouts[min(k.Level, len(p.Lockouts)-1)])
		k.Level++
		k.LastLockout = now
		k.Wrong = nil
	}
	if p.DailyCap > 0 && k.DayWrong >= p.DailyCap {
		until = later(until, nextMidnight(now))
	}
	if !until.After(now) {
		return k, 0
	}
	k.LockedUntil = later(k.LockedUntil, until)
	return k, until.Sub(now)
}

// Right records a right entry: it ends a payment session (the code may be
// someone else's) and changes nothing else. In particular it does not
// forget the recent wrong entries: an attacker who has one valid code (a
// return code, a parcel of their own) and typed it between guesses would
// otherwise start every window afresh and never reach a lockout, guessing
// without end below WrongLimit. Only time clears a wrong entry (Window),
// and only a day clears the daily count and Level.
func (p CodePolicy) Right(k Keypad, now time.Time) Keypad {
	k.Session = Session{}
	return k
}

// AwaitPayment starts the keypad's payment session after a right code that
// asks for payment: the terminal's payment for compartment, holding the
// parcel shipmentID, is taken for PaymentWindow from now. It replaces any
// session before it.
func (p CodePolicy) AwaitPayment(k Keypad, compartment int, shipmentID string, now time.Time) Keypad {
	k.Session = Session{Compartment: compartment, ShipmentID: shipmentID, Until: now.Add(p.PaymentWindow)}
	return k
}

// Payment returns the keypad's payment session when it awaits a payment
// for compartment at now: started, not yet ended, for that compartment.
func (p CodePolicy) Payment(k Keypad, compartment int, now time.Time) (Session, bool) {
	s := k.Session
	if s.Compartment == 0 || s.Compartment != compartment || !now.Before(s.Until) {
		return Session{}, false
	}
	return s, true
}

// Paid ends the keypad's payment session: the payment was taken.
func (p CodePolicy) Paid(k Keypad) Keypad {
	k.Session = Session{}
	return k
}

// recent returns a new slice of the entries of wrong still within Window of
// now, with room for extra more.
func (p CodePolicy) recent(wrong []time.Time, now time.Time, extra int) []time.Time {
	out := make([]time.Time, 0, len(wrong)+extra)
	for _, t := range wrong {
		if now.Sub(t) < p.Window {
			out = append(out, t)
		}
	}
	return out
}

// dayOf returns t's calendar date in Helsinki, as "2026-11-25".
func dayOf(t time.Time) string { return t.In(helsinki).Format(dayLayout) }

// nextMidnight returns the first midnight in Helsinki after t (a day can be
// 23 or 25 hours long across a change of summer time).
func nextMidnight(t time.Time) time.Time {
	y, m, d := t.In(helsinki).Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, helsinki)
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
