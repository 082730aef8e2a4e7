package service

import (
	"context"
	"fmt"
	"strings"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/notify"
)

// PushSubscriptionRequest asks for a parcel's notices by Web Push: the
// parcel's tracking code, the recipient's postcode or phone number as
// proof, and the browser's subscription (its endpoint and keys, checked
// by the caller: see webpush.ValidateSubscription).
type PushSubscriptionRequest struct {
	TrackingCode string
	Postcode     string // the recipient's postcode, or
	Phone        string // the recipient's phone number, in any usual form
	Endpoint     string
	P256dh       string
	Auth         string
	Language     string // "fi", "sv", "en" or "" (the recipient's)
}

// notSubscribable is the answer to a subscription whose tracking code and
// proof do not match: the same whichever is wrong, so that it confirms
// nothing to a guesser.
var notSubscribable = &lokero.Error{Code: lokero.ENOTFOUND, Reason: "no_such_shipment",
	Message: "no parcel with that tracking code is addressed to that postcode or phone number"}

// Subscribe registers a push subscription for a parcel's notices, proven
// with the recipient's postcode or phone. The same browser subscribing
// again gets its subscription back (keys updated). A parcel whose journey
// is over (picked up, returned, cancelled) takes none: 409
// "tracking_ended". The answer tells nothing of the parcel: tracking it
// is GET /v1/tracking's business.
func (l *Lockers) Subscribe(ctx context.Context, req PushSubscriptionRequest) (lokero.PushSubscription, error) {
	switch req.Language {
	case "", "fi", "sv", "en":
	default:
		return lokero.PushSubscription{}, lokero.Invalid("language", "unknown_language", "language must be fi, sv or en; got %q", truncateText(req.Language, 16))
	}
	sh, ok, err := provenShipment(ctx, l.store, req.TrackingCode, req.Postcode, req.Phone)
	if err != nil {
		return lokero.PushSubscription{}, err
	} else if !ok {
		return lokero.PushSubscription{}, notSubscribable
	}
	switch sh.Status {
	case lokero.StatusPickedUp, lokero.StatusReturnedToSender, lokero.StatusCancelled:
		return lokero.PushSubscription{}, &lokero.Error{Code: lokero.ECONFLICT, Reason: "tracking_ended",
			Message: fmt.Sprintf("parcel %s is %s: no more notices will be sent about it", sh.TrackingCode, sh.Status)}
	}
	id, err := newID(l.random, "psub_", l.now())
	if err != nil {
		return lokero.PushSubscription{}, err
	}
	return l.store.AddPushSubscription(ctx, lokero.PushSubscription{ID: id, ShipmentID: sh.ID, TrackingCode: sh.TrackingCode,
		Endpoint: req.Endpoint, P256dh: req.P256dh, Auth: req.Auth, Language: req.Language, CreatedAt: l.now()})
}

// Unsubscribe removes a push subscription by its ID (which only its
// subscriber was told); ENOTFOUND when there is none.
func (l *Lockers) Unsubscribe(ctx context.Context, id string) error {
	if !strings.HasPrefix(id, "psub_") || len(id) > 64 || !plainID(id) {
		return &lokero.Error{Code: lokero.ENOTFOUND, Reason: "unknown_subscription", Message: fmt.Sprintf("no push subscription %q", truncateText(id, 64))}
	}
	err := l.store.DeletePushSubscription(ctx, id)
	if lokero.ErrorCode(err) == lokero.ENOTFOUND {
		return &lokero.Error{Code: lokero.ENOTFOUND, Reason: "unknown_subscription", Message: fmt.Sprintf("no push subscription %q", id)}
	}
	return err
}

// pushKinds are the kinds of message that go to a parcel's push
// subscriptions as well: those to its recipient.
var pushKinds = map[string]bool{notify.KindArrival: true, notify.KindReminder: true, notify.KindRerouted: true, notify.KindExpired: true}

// pushAlong queues m (a message to a parcel's recipient r, already queued
// to their phone or e-mail) once more for each of the parcel's push
// subscriptions, in the same transaction. A push never tells the opening
// code (nor carries the QR link): a subscription is proven with the
// tracking code and the recipient's postcode or phone, which others may
// know, so the code says where it went instead (codeElsewhere).
func pushAlong(ctx context.Context, tx lokero.Tx, r lokero.Party, m lokero.OutboxMessage) error {
	if m.ShipmentID == "" || !pushKinds[m.Kind] {
		return nil
	}
	subs, err := tx.PushSubscriptions(ctx, m.ShipmentID)
	if err != nil {
		return fmt.Errorf("push subscriptions of %s: %w", m.TrackingCode, err)
	}
	if m.Code != nil {
		m.Text, m.Code = strings.ReplaceAll(m.Text, lokero.CodePlaceholder, codeElsewhere(r)), nil
	}
	for _, s := range subs {
		p := m
		p.Channel, p.To = notify.ChannelPush, s.ID
		if err := tx.AddOutbox(ctx, p); err != nil {
			return fmt.Errorf("queue %s push of %s: %w", m.Kind, m.TrackingCode, err)
		}
	}
	return nil
}

// codeElsewhere stands in a push for the code it does not tell: where the
// recipient's notice with the code went, in their language.
func codeElsewhere(r lokero.Party) string {
	sms, email := r.Phone != "", r.Email != ""
	switch messageLanguage(r) {
	case "sv":
		switch {
		case sms && !email:
			return "i ditt sms"
		case email && !sms:
			return "i ditt e-postmeddelande"
		}
		return "i ditt sms och e-postmeddelande"
	case "en":
		switch {
		case sms && !email:
			return "in your text message"
		case email && !sms:
			return "in your e-mail"
		}
		return "in your text message and e-mail"
	}
	switch {
	case sms && !email:
		return "tekstiviestissäsi"
	case email && !sms:
		return "sähköpostissasi"
	}
	return "tekstiviestissäsi ja sähköpostissasi"
}
