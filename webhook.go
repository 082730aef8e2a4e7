package lokero

import (
	"context"
	"time"
)

// WebhookSubscription is what publishing an event needs of an enabled
// webhook: which one it is, and the event types it wants (empty: every
// one).
type WebhookSubscription struct {
	ID     string
	Events []string
}

// Webhook is a retailer's endpoint that lokero tells of its shipments'
// events, signed by the Standard Webhooks specification with Secret (and,
// while a rotation overlaps, PreviousSecret as well).
type Webhook struct {
	ID         string // "wh_" and 26 random base32 characters
	RetailerID string
	URL        string
	// Events are the event types it wants ("shipment.ready_for_pickup",
	// …); empty: every one.
	Events []string
	// Secret signs every delivery: "whsec_" and base64 of 32 random bytes.
	Secret string
	// PreviousSecret signs too until PreviousUntil, after a rotation, so
	// that the retailer can switch its verification without losing a
	// delivery; "" when none.
	PreviousSecret string
	PreviousUntil  time.Time
	// ContactEmail is who is told when the webhook is disabled; "" for
	// nobody.
	ContactEmail string
	// FailingSince is when the first of the deliveries failing since the
	// last success failed; zero while the endpoint answers.
	FailingSince time.Time
	// DisabledAt is when lokero stopped sending to it (an endpoint failing
	// for days), with why; zero while it is enabled.
	DisabledAt     time.Time
	DisabledReason string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// The states of a WebhookDelivery.
const (
	// WebhookPending: waiting for its first try, or for a retry at
	// NextAttemptAt.
	WebhookPending = "pending"
	// WebhookSucceeded: the endpoint answered 2xx.
	WebhookSucceeded = "succeeded"
	// WebhookFailed: retries gave up, or the webhook was disabled or
	// deleted before it succeeded.
	WebhookFailed = "failed"
)

// WebhookDelivery is one event on its way to one webhook: its body is
// fixed when the event happens, and every retry sends the same body under
// the same ID (the webhook-id header).
type WebhookDelivery struct {
	ID         string // "msg_" and 26 random base32 characters
	WebhookID  string
	RetailerID string
	ShipmentID string
	Event      string // "shipment.ready_for_pickup", …
	// Sequence numbers a shipment's events from 1, oldest first: the
	// highest a receiver has seen governs the shipment's status; one with
	// a lower number (late, or of the same moment and delivered out of
	// order) is still worth recording.
	Sequence int
	Payload  []byte // the JSON body
	State    string // WebhookPending, WebhookSucceeded or WebhookFailed
	Attempts int
	// ResponseCode is the HTTP status of the last try (0: no answer, as
	// when the connection failed), LastError why it failed.
	ResponseCode  int
	LastError     string
	NextAttemptAt time.Time // zero unless pending
	CreatedAt     time.Time
	DeliveredAt   time.Time // when it succeeded; zero otherwise
}

// JobWebhook is the kind of the job that sends one WebhookDelivery
// (Job.DeliveryID), scheduled by Tx.AddWebhookDelivery.
const JobWebhook = "webhook"

// EventHook is called by a Tx in its transaction whenever InsertShipment
// or UpdateShipment stored new events of a shipment: s as written, and
// first, the index in s.Events of the first new one (its Sequence is
// first+1). An error from it fails the write. It may use tx.
type EventHook func(ctx context.Context, tx Tx, s *Shipment, first int) error

// WebhookStore keeps retailers' webhooks and their deliveries. Deliveries
// are added in the transaction of their event (Tx.AddWebhookDelivery); the
// rest are statements of their own.
type WebhookStore interface {
	// CreateWebhook stores a new webhook unless its retailer has most
	// webhooks already, disabled ones too: then an ECONFLICT
	// "too_many_webhooks". Of concurrent creations for one retailer no
	// more than most succeed in all.
	CreateWebhook(ctx context.Context, w Webhook, most int) error
	// Webhook returns one, or ENOTFOUND.
	Webhook(ctx context.Context, id string) (Webhook, error)
	// WebhooksOf lists a retailer's webhooks, disabled ones too, oldest
	// first (by CreatedAt, then ID).
	WebhooksOf(ctx context.Context, retailerID string) ([]Webhook, error)
	// AllWebhooks lists every retailer's webhooks, disabled ones too, by
	// ID (in byte order).
	AllWebhooks(ctx context.Context) ([]Webhook, error)
	// SwapWebhookSecrets sets a webhook's Secret and PreviousSecret to
	// secret and previous if they still are was and wasPrevious, at once,
	// and reports whether it did (false: changed meanwhile, e.g. rotated);
	// ENOTFOUND when there is no such webhook.
	SwapWebhookSecrets(ctx context.Context, id, was, wasPrevious, secret, previous string) (bool, error)
	// UpdateWebhook writes what a retailer changes of a webhook (URL,
	// Events, ContactEmail, UpdatedAt) and, with enabled, turns it on
	// (DisabledAt, DisabledReason and FailingSince cleared) or off
	// (DisabledAt = UpdatedAt and DisabledReason w's, unless off already),
	// in one statement, and returns the webhook as it is after; ENOTFOUND
	// when there is none. It writes neither its secrets nor otherwise its
	// failure state, so that a rotation or a disabling since the caller
	// read the webhook stands.
	UpdateWebhook(ctx context.Context, w Webhook, enabled *bool) (Webhook, error)
	// RotateWebhookSecret makes secret the webhook's Secret and the one it
	// had its PreviousSecret until previousUntil (UpdatedAt at), if its
	// Secret is still was, and reports whether it did (false: rotated or
	// sealed again meanwhile); ENOTFOUND when there is none.
	RotateWebhookSecret(ctx context.Context, id, was, secret string, previousUntil, at time.Time) (bool, error)
	// DeleteWebhook removes a webhook; its pending deliveries become
	// WebhookFailed ("webhook deleted"); ENOTFOUND when there is none.
	DeleteWebhook(ctx context.Context, id string, at time.Time) error
	// WebhookResult records how a delivery to the webhook went at at, in
	// one statement: ok clears FailingSince; a failure sets it to at
	// unless it is set already. It returns the webhook as it is after;
	// ENOTFOUND when there is none.
	WebhookResult(ctx context.Context, id string, ok bool, at time.Time) (Webhook, error)
	// DisableWebhook disables an enabled webhook at at with a reason and
	// reports whether it did (false: disabled already, by another worker
	// perhaps); ENOTFOUND when there is none.
	DisableWebhook(ctx context.Context, id, reason string, at time.Time) (bool, error)

	// WebhookDelivery returns one delivery, or ENOTFOUND.
	WebhookDelivery(ctx context.Context, id string) (WebhookDelivery, error)
	// WebhookDeliveries lists a webhook's deliveries, newest first (by
	// CreatedAt, then ID), at most limit (100 when <= 0); with state, only
	// those in it.
	WebhookDeliveries(ctx context.Context, webhookID, state string, limit int) ([]WebhookDelivery, error)
	// RecordWebhookAttempt records a try of a pending delivery: its state
	// after (pending again, succeeded or failed), Attempts, ResponseCode,
	// LastError, NextAttemptAt (pending only) and, when it succeeded,
	// DeliveredAt at. A delivery no longer pending, or whose Attempts
	// recorded are d's already (another worker recorded this try), is left
	// as it is and ECONFLICT "not_pending" returned; ENOTFOUND when there is
	// none.
	RecordWebhookAttempt(ctx context.Context, d WebhookDelivery, at time.Time) error
}
