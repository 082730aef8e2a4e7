package service

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
)

// MaxNoticesAgain is how many times a day (a Helsinki calendar day) a
// parcel's notice of arrival may be sent again, rotations of its code
// included: a recipient who lost the first message gets it again, and
// again, but a retailer's script or a stolen key cannot flood a phone
// with messages (nor the operator's SMS bill).
const MaxNoticesAgain = 3

// The reasons of the events NoticeAgain records, by which the day's sends
// are counted.
const (
	reasonNoticeAgain = "The notice of arrival was sent again."
	reasonCodeRotated = "The opening code was changed by the operator and a new notice of arrival sent."
)

// NoticeAgain sends a parcel's notice of arrival again, with the same
// opening code (for the retailer's customer service, ownerID its id, or
// an operator, ownerID ""). With rotate (operators only) the parcel gets a
// new code first and the old one stops working.
//
// A notice is sent again at most MaxNoticesAgain times a Helsinki day;
// one more is refused with ETOOMANY "notice_limit" and a RetryAfter until
// the next Helsinki midnight. A rotation counts as a send, but is never
// refused: it is how an operator stops a code that leaked, which must not
// wait for the next day, and only an operator can ask for it. The sends
// are counted from the parcel's own events (each send records one,
// whatever the channels), read and locked with it: no other table, and
// two requests at once cannot both take the last send.
func (l *Lockers) NoticeAgain(ctx context.Context, ownerID, id string, rotate bool) (lokero.Shipment, error) {
	if !plainID(id) || len(id) > 64 {
		return lokero.Shipment{}, notFoundShipment(id)
	}
	if l.codes == nil {
		return lokero.Shipment{}, errors.New("notice: no code secret configured")
	}
	var out lokero.Shipment
	err := l.store.InTx(ctx, func(tx lokero.Tx) error {
		sh, err := ownedShipment(ctx, tx, ownerID, id)
		if err != nil {
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
		now := tx.Now()
		if sent := noticesSentOn(&sh, now); sent >= MaxNoticesAgain && !rotate {
			midnight := nextHelsinkiMidnight(now)
			return &lokero.Error{Code: lokero.ETOOMANY, Reason: "notice_limit", RetryAfter: midnight.Sub(now),
				Message: fmt.Sprintf("the notice of arrival of shipment %s was sent again %d times today, the most in one day; it can be sent again from %s",
					sh.ID, sent, midnight.Format("2006-01-02 15:04 MST"))}
		}
		reason := reasonNoticeAgain
		if rotate {
			if v, err = l.newCode(ctx, tx, loc, &sh, v+1); err != nil {
				return err
			}
			reason = reasonCodeRotated
		}
		for _, m := range notices(loc, &sh, v, sh.StorageDeadline, now) {
			if err := tx.AddOutbox(ctx, m); err != nil {
				return fmt.Errorf("queue notice of arrival: %w", err)
			}
		}
		sh.Note(now, loc.ID, reason)
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

// noticesSentOn counts the notices of arrival a parcel was sent again (or
// sent with a rotated code) on now's Helsinki day.
func noticesSentOn(sh *lokero.Shipment, now time.Time) int {
	day := lokero.DateOf(now)
	n := 0
	for _, e := range sh.Events {
		if (e.Reason == reasonNoticeAgain || e.Reason == reasonCodeRotated) && lokero.DateOf(e.At) == day {
			n++
		}
	}
	return n
}

// nextHelsinkiMidnight returns the first midnight in Helsinki after t (a
// day is 23 or 25 hours long across a change of summer time).
func nextHelsinkiMidnight(t time.Time) time.Time {
	return lokero.DateOf(t).AddDays(1).Start()
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
