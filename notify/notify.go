// Package notify is what lokero's channels to people share: a message on
// its way out, with everything a template needs, and the Sender each
// channel implements (e-mail over SMTP in notify/email, SMS through
// Kannel in notify/kannel). It imports no adapter and no store: the
// service builds a Message from the outbox row, the shipment and the
// directory, with the opening code filled in, and hands it to a Sender.
package notify

import (
	"context"
	"errors"
	"time"
)

// Channels.
const (
	ChannelEmail = "email"
	ChannelSMS   = "sms"
	ChannelPush  = "push"
)

// Kinds of messages.
const (
	KindArrival  = "arrival"  // the notice of arrival: where, the code, until when
	KindReminder = "reminder" // the storage period ends in two days
	// KindRerouted: the parcel goes to another place than the one chosen
	// (its point closed, or its locker full), which the text names.
	KindRerouted = "rerouted"
	// KindExpired: the storage period ended and the parcel goes back to
	// its sender.
	KindExpired = "expired"
	// KindDropOffReceipt: a return or pre-paid parcel was dropped off;
	// the text tells where, when and its tracking code.
	KindDropOffReceipt = "dropoff_receipt"
)

// Message is one message to one person over one channel, ready to send.
// It holds the opening code in clear: it lives only while it is sent, and
// is never logged or stored.
type Message struct {
	// ID is the outbox message's id: stable across retries, so that a
	// provider (and the person) can tell a repeat from a new message. The
	// e-mail's Message-ID, the SMS gateway's message id and a webhook's id
	// derive from it.
	ID       int64
	Channel  string // ChannelEmail, ChannelSMS or ChannelPush
	To       string // an e-mail address, or a phone number as the recipient gave it
	Kind     string // KindArrival, KindReminder, …
	Language string // "fi", "sv" or "en"
	// Text is the message as queued, in Language, with the code filled in:
	// the body of an SMS, and what any channel may fall back to.
	Text   string
	Parcel Parcel
	// Push is the subscription a push message goes to (ChannelPush, where
	// To is the subscription's id); nil for the other channels.
	Push *PushTarget
}

// PushTarget is a Web Push subscription as the push sender needs it: the
// push service's endpoint and the keys (base64url, RFC 8291) the payload
// is encrypted to.
type PushTarget struct {
	Endpoint string
	P256dh   string
	Auth     string
}

// Parcel is what a message tells of the parcel it is about.
type Parcel struct {
	TrackingCode string
	TrackingURL  string // the public tracking page
	Place        Place
	// Code is the opening code at a locker, or the pickup code at a
	// counter; "" when the message tells none (a reminder).
	Code string
	// CodeChanged: Code replaces the code of an earlier notice, which no
	// longer works (the operator rotated it).
	CodeChanged bool
	// Deadline is the end of the storage period: the parcel can be
	// collected until just before it.
	Deadline time.Time
	// CODCents is cash on delivery still to pay (0: none), in Currency.
	CODCents int64
	Currency string
	// QRToken is the content of the QR code the locker's scanner opens
	// the compartment for, whatever the keypad's lockout (a notice of
	// arrival at a locker, when the centre has a QR key; "" otherwise). An
	// e-mail shows it as an image. Like Code, it opens the compartment:
	// never logged or stored.
	QRToken string
	// QRURL is the page that shows the QR code (public URL + "/q/" + a
	// short key), for a channel that cannot carry the image: the SMS
	// (when it fits), the e-mail's text part, push. "" with QRToken "" or
	// without a public URL.
	QRURL string
}

// Place is where the parcel waits.
type Place struct {
	ID       string
	Type     string // LOCKER, SMARTPOST, POSTOFFICE or PICKUPPOINT
	Counter  bool   // an outlet: collected at a counter, with an ID
	Name     string
	Street   string // in the message's language where the street has a Swedish name
	Postcode string
	City     string
	// Hours are the opening hours of the coming days, one line a day in
	// the message's language ("ma 7.12. 9.00–18.00", "su 13.12. suljettu");
	// empty for a locker open round the clock.
	Hours []string
}

// Sender sends messages over one channel. Send returns the provider's id
// of the accepted message ("" when it gives none). An error wrapped with
// Permanent will not be cured by retrying (a rejected address, a number
// that is no number); any other error is retried.
type Sender interface {
	Send(ctx context.Context, m Message) (providerID string, err error)
}

// permanent marks an error that retrying will not cure.
type permanent struct{ err error }

func (p permanent) Error() string { return p.err.Error() }
func (p permanent) Unwrap() error { return p.err }

// Permanent marks err as permanent: the message fails for good.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return permanent{err}
}

// IsPermanent reports whether err (or an error it wraps) was marked with
// Permanent.
func IsPermanent(err error) bool {
	var p permanent
	return errors.As(err, &p)
}

// ErrGone is what a Sender's error wraps when the address is gone for
// good: a push subscription the push service answers 404 or 410. The
// service forgets the address. Such an error is also Permanent.
var ErrGone = errors.New("the address is gone")
