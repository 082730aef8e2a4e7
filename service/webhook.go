package service

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/mail"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/notify"
)

// The webhook event types: one for each event of a shipment's life, so
// that a retailer told of every one can follow each of its parcels
// without polling.
const (
	EventCreated          = "shipment.created"
	EventInTransit        = "shipment.in_transit"
	EventInLocker         = "shipment.in_locker"
	EventReadyForPickup   = "shipment.ready_for_pickup"
	EventPickedUp         = "shipment.picked_up"
	EventExpired          = "shipment.expired"
	EventReturning        = "shipment.returning"
	EventReturned         = "shipment.returned"
	EventCancelled        = "shipment.cancelled"
	EventDroppedOff       = "shipment.dropped_off"        // a pre-paid parcel left at a locker or counter
	EventReturnDroppedOff = "shipment.return_dropped_off" // a customer's return left at a locker or counter
	EventRerouted         = "shipment.rerouted"           // its point closed, or its locker was full
	EventReminderSent     = "shipment.reminder_sent"      // the storage period ends in two days
	EventCODCollected     = "shipment.cod_collected"      // cash on delivery paid
	EventNoted            = "shipment.noted"              // anything else the carrier noted (a notice sent again, …)
)

// EventTypes lists every webhook event type.
var EventTypes = []string{EventCreated, EventInTransit, EventInLocker, EventReadyForPickup, EventPickedUp,
	EventExpired, EventReturning, EventReturned, EventCancelled, EventDroppedOff, EventReturnDroppedOff,
	EventRerouted, EventReminderSent, EventCODCollected, EventNoted}

// Limits of webhooks.
const (
	// MaxWebhooks is how many webhooks one retailer may have.
	MaxWebhooks = 10
	// DisableAfter is how long an endpoint may fail every delivery before
	// it is disabled (and its contact told).
	DisableAfter = 5 * 24 * time.Hour
	// DefaultSecretOverlap is how long the previous secret still signs
	// after a rotation, unless the retailer asks for another time (at
	// most MaxSecretOverlap).
	DefaultSecretOverlap = 24 * time.Hour
	MaxSecretOverlap     = 7 * 24 * time.Hour
)

// WebhookStore is what webhooks need of a database.
type WebhookStore interface {
	lokero.WebhookStore
	lokero.ShipmentStore
}

// WebhookPoster sends one signed webhook request: a POST of payload to
// url with the Standard Webhooks headers (webhook-id id, webhook-timestamp
// at, a webhook-signature by each of secrets). It returns the HTTP status
// (0 when none came) and an error for anything but 2xx.
type WebhookPoster interface {
	Post(ctx context.Context, url, id string, at time.Time, payload []byte, secrets []string) (status int, err error)
}

// Webhooks are a retailer's webhooks: created, listed, rotated and
// deleted by the retailer, and the delivery of every event of its
// shipments to them.
type Webhooks struct {
	store  WebhookStore
	clock  lokero.Clock
	random io.Reader
	log    *slog.Logger

	poster WebhookPoster
	// retry is the wait after the attempt-th failed try, and false when
	// no try is left (the Standard Webhooks schedule).
	retry func(attempt int) (time.Duration, bool)
	// validURL checks an endpoint's URL (webhook.ValidateURL).
	validURL func(raw string) error

	// sealer keeps the secrets sealed at rest (SealSecrets); nil: as
	// they are.
	sealer SecretSealer

	mu     sync.Mutex
	counts map[string]uint64 // by outcome
}

// SecretSealer seals what lokero must keep and read back but a copy of the
// database must not show (locker.Codes: AES-256-GCM under the opening-code
// secret's newest key), and opens it under any key of the secret.
type SecretSealer interface {
	Seal(purpose string, aad, plaintext []byte) (string, error)
	Open(purpose string, aad []byte, stored string) ([]byte, error)
	// SealedUnderNewest reports whether a value of Seal is sealed under
	// the secret's newest key.
	SealedUnderNewest(stored string) bool
}

// sealPurpose is what webhook secrets are sealed for; the webhook's ID is
// the additional data, so that a sealed secret opens only on its row.
const sealPurpose = "webhook-secret"

// SealSecrets has w keep its webhooks' signing secrets sealed by s (call
// it before w is used). Without it the secrets are kept as they are, which
// is enough for a command that only queues deliveries.
func (w *Webhooks) SealSecrets(s SecretSealer) { w.sealer = s }

// resealed is a stored secret of webhook id sealed under the newest key.
func (w *Webhooks) resealed(id, stored string) (string, error) {
	plain, err := w.open(id, stored)
	if err != nil {
		return "", err
	}
	return w.seal(id, plain)
}

// seal is secret as the store keeps it for webhook id.
func (w *Webhooks) seal(id, secret string) (string, error) {
	if w.sealer == nil || secret == "" {
		return secret, nil
	}
	sealed, err := w.sealer.Seal(sealPurpose, []byte(id), []byte(secret))
	if err != nil {
		return "", fmt.Errorf("seal the secret of webhook %s: %w", id, err)
	}
	return sealed, nil
}

// open is a secret of webhook id as the store keeps it, opened.
func (w *Webhooks) open(id, stored string) (string, error) {
	if w.sealer == nil || stored == "" {
		return stored, nil
	}
	plain, err := w.sealer.Open(sealPurpose, []byte(id), stored)
	if err != nil {
		return "", fmt.Errorf("the secret of webhook %s: %w", id, err)
	}
	return string(plain), nil
}

// Reseal seals every webhook secret not yet sealed under the secret's
// newest key (kept in clear before sealing began, or sealed under a key
// rotated since) and returns how many webhooks it sealed again. lokero
// serve runs it at every start, and lokero secret retire before it drops
// the older keys. A webhook changed meanwhile (its secret rotated) is
// left as the change wrote it, sealed already. An error names the
// webhooks whose secrets do not open.
func (w *Webhooks) Reseal(ctx context.Context) (int, error) {
	if w.sealer == nil {
		return 0, nil
	}
	current := func(stored string) bool { return stored == "" || w.sealer.SealedUnderNewest(stored) }
	hooks, err := w.store.AllWebhooks(ctx)
	if err != nil {
		return 0, fmt.Errorf("reseal webhook secrets: %w", err)
	}
	var (
		n      int
		failed []error
	)
	for _, h := range hooks {
		if current(h.Secret) && current(h.PreviousSecret) {
			continue
		}
		secret, err := w.resealed(h.ID, h.Secret)
		previous, perr := w.resealed(h.ID, h.PreviousSecret)
		if err = errors.Join(err, perr); err != nil {
			failed = append(failed, err)
			continue
		}
		swapped, err := w.store.SwapWebhookSecrets(ctx, h.ID, h.Secret, h.PreviousSecret, secret, previous)
		if err != nil && lokero.ErrorCode(err) != lokero.ENOTFOUND {
			return n, fmt.Errorf("reseal webhook secrets: %w", err)
		}
		if swapped {
			n++
		}
	}
	if len(failed) > 0 {
		return n, fmt.Errorf("reseal webhook secrets: %w", errors.Join(failed...))
	}
	return n, nil
}

// NewWebhooks returns the webhook use cases. poster sends; retry is the
// retry schedule; validURL checks a webhook's URL (nil: any absolute
// http(s) URL). random is crypto/rand.Reader in production.
func NewWebhooks(store WebhookStore, clock lokero.Clock, random io.Reader, poster WebhookPoster,
	retry func(attempt int) (time.Duration, bool), validURL func(string) error, log *slog.Logger) *Webhooks {
	if random == nil {
		random = rand.Reader
	}
	if log == nil {
		log = slog.Default()
	}
	return &Webhooks{store: store, clock: clock, random: random, poster: poster, retry: retry, validURL: validURL, log: log}
}

func (w *Webhooks) now() time.Time { return w.clock.Now().UTC().Truncate(time.Microsecond) }

// WebhookRequest is a retailer's webhook as it asks for it.
type WebhookRequest struct {
	URL          string
	Events       []string // empty: every event
	ContactEmail string
}

// check validates a request, naming the field at fault.
func (w *Webhooks) check(req WebhookRequest) error {
	if req.URL == "" {
		return lokero.Invalid("url", "required", "url is required: where lokero POSTs the events")
	}
	if w.validURL != nil {
		if err := w.validURL(req.URL); err != nil {
			return lokero.Invalid("url", "invalid", "%s", err.Error())
		}
	} else if !strings.HasPrefix(req.URL, "https://") && !strings.HasPrefix(req.URL, "http://") {
		return lokero.Invalid("url", "invalid", "url must be an http(s) URL")
	}
	for i, e := range req.Events {
		if !slices.Contains(EventTypes, e) {
			return lokero.Invalid(fmt.Sprintf("events[%d]", i), "unknown_event",
				"unknown event type %q; the types are %s", truncateText(e, 64), strings.Join(EventTypes, ", "))
		}
	}
	if req.ContactEmail != "" {
		if a, err := mail.ParseAddress(req.ContactEmail); err != nil || a.Address != req.ContactEmail || len(req.ContactEmail) > 254 {
			return lokero.Invalid("contact_email", "malformed", "contact_email must be a plain e-mail address; got %q", truncateText(req.ContactEmail, 64))
		}
	}
	return nil
}

// Create registers a webhook for a retailer and returns it with its
// secret: the only time the secret is told.
func (w *Webhooks) Create(ctx context.Context, retailerID string, req WebhookRequest) (lokero.Webhook, error) {
	if err := w.check(req); err != nil {
		return lokero.Webhook{}, err
	}
	now := w.now()
	id, err := newID(w.random, "wh_", now)
	if err != nil {
		return lokero.Webhook{}, err
	}
	secret, err := w.newSecret()
	if err != nil {
		return lokero.Webhook{}, err
	}
	hook := lokero.Webhook{ID: id, RetailerID: retailerID, URL: req.URL, Events: slices.Compact(slices.Sorted(slices.Values(req.Events))),
		Secret: secret, ContactEmail: req.ContactEmail, CreatedAt: now, UpdatedAt: now}
	kept := hook
	if kept.Secret, err = w.seal(id, secret); err != nil {
		return lokero.Webhook{}, err
	}
	if err := w.store.CreateWebhook(ctx, kept, MaxWebhooks); err != nil {
		return lokero.Webhook{}, err
	}
	w.log.Info("webhook created", "webhook", id, "retailer", retailerID)
	return hook, nil
}

// newSecret makes a Standard Webhooks secret: "whsec_" and the base64 of
// 32 random bytes.
func (w *Webhooks) newSecret() (string, error) {
	var b [32]byte
	if _, err := io.ReadFull(w.random, b[:]); err != nil {
		return "", fmt.Errorf("webhook secret: %w", err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b[:]), nil
}

// unknownWebhook is the answer for a webhook that is not the retailer's.
func unknownWebhook(id string) error {
	return &lokero.Error{Code: lokero.ENOTFOUND, Reason: "unknown_webhook", Message: fmt.Sprintf("no webhook %q", truncateText(id, 64))}
}

// Get returns one of a retailer's webhooks; another retailer's is not
// found.
func (w *Webhooks) Get(ctx context.Context, retailerID, id string) (lokero.Webhook, error) {
	if !strings.HasPrefix(id, "wh_") || len(id) > 64 || !plainID(id) {
		return lokero.Webhook{}, unknownWebhook(id)
	}
	hook, err := w.store.Webhook(ctx, id)
	if lokero.ErrorCode(err) == lokero.ENOTFOUND || (err == nil && hook.RetailerID != retailerID) {
		return lokero.Webhook{}, unknownWebhook(id)
	}
	return hook, err
}

// List returns a retailer's webhooks, oldest first.
func (w *Webhooks) List(ctx context.Context, retailerID string) ([]lokero.Webhook, error) {
	return w.store.WebhooksOf(ctx, retailerID)
}

// WebhookChange is a change to a webhook: nil fields stay as they are.
type WebhookChange struct {
	URL          *string
	Events       *[]string
	ContactEmail *string
	// Enabled true enables a disabled webhook again (its deliveries from
	// now on; those failed while it was disabled stay failed).
	Enabled *bool
}

// Update changes a retailer's webhook.
func (w *Webhooks) Update(ctx context.Context, retailerID, id string, c WebhookChange) (lokero.Webhook, error) {
	hook, err := w.Get(ctx, retailerID, id)
	if err != nil {
		return hook, err
	}
	req := WebhookRequest{URL: hook.URL, Events: hook.Events, ContactEmail: hook.ContactEmail}
	if c.URL != nil {
		req.URL = *c.URL
	}
	if c.Events != nil {
		req.Events = *c.Events
	}
	if c.ContactEmail != nil {
		req.ContactEmail = *c.ContactEmail
	}
	if err := w.check(req); err != nil {
		return hook, err
	}
	hook.URL, hook.Events, hook.ContactEmail = req.URL, slices.Compact(slices.Sorted(slices.Values(req.Events))), req.ContactEmail
	hook.DisabledReason = "disabled by the retailer" // if c.Enabled turns it off
	hook.UpdatedAt = w.now()
	// Only what the retailer changes is written: its secrets, and whether
	// it failed or was disabled since it was read here, stand.
	return w.store.UpdateWebhook(ctx, hook, c.Enabled)
}

// RotateSecret gives a retailer's webhook a new secret and returns the
// webhook with it (the only time it is told). The old secret keeps
// signing beside the new one for overlap (0: DefaultSecretOverlap; at
// most MaxSecretOverlap), so that the retailer can switch its
// verification without missing a delivery.
func (w *Webhooks) RotateSecret(ctx context.Context, retailerID, id string, overlap time.Duration) (lokero.Webhook, error) {
	if overlap < 0 || overlap > MaxSecretOverlap {
		return lokero.Webhook{}, lokero.Invalid("overlap_seconds", "out_of_range", "overlap_seconds must be 0..%d", int(MaxSecretOverlap.Seconds()))
	}
	if overlap == 0 {
		overlap = DefaultSecretOverlap
	}
	secret, err := w.newSecret()
	if err != nil {
		return lokero.Webhook{}, err
	}
	sealed, err := w.seal(id, secret)
	if err != nil {
		return lokero.Webhook{}, err
	}
	// The secret it has becomes the previous one only if it is still the
	// one read: of two rotations at once (or one beside a start's Reseal),
	// the later reads again, so that every secret told is one that signs.
	for try := 0; ; try++ {
		hook, err := w.Get(ctx, retailerID, id)
		if err != nil {
			return hook, err
		}
		previous, err := w.open(id, hook.Secret)
		if err != nil {
			return hook, err
		}
		now := w.now()
		done, err := w.store.RotateWebhookSecret(ctx, id, hook.Secret, sealed, now.Add(overlap), now)
		if err != nil {
			return hook, err
		}
		if !done {
			if try < 3 {
				continue
			}
			return hook, &lokero.Error{Code: lokero.ECONFLICT, Reason: "busy", Message: "the webhook's secret is being changed by another request: try again"}
		}
		hook.PreviousSecret, hook.PreviousUntil, hook.Secret, hook.UpdatedAt = previous, now.Add(overlap), secret, now // told once, kept sealed
		w.log.Info("webhook secret rotated", "webhook", id, "previous_until", hook.PreviousUntil)
		return hook, nil
	}
}

// Delete removes a retailer's webhook; its pending deliveries fail.
func (w *Webhooks) Delete(ctx context.Context, retailerID, id string) error {
	if _, err := w.Get(ctx, retailerID, id); err != nil {
		return err
	}
	err := w.store.DeleteWebhook(ctx, id, w.now())
	if lokero.ErrorCode(err) == lokero.ENOTFOUND {
		return unknownWebhook(id)
	}
	return err
}

// Deliveries lists a retailer's webhook's deliveries, newest first: state
// "" (all), pending, succeeded or failed; limit 0 (100) to 1000.
func (w *Webhooks) Deliveries(ctx context.Context, retailerID, id, state string, limit int) ([]lokero.WebhookDelivery, error) {
	switch state {
	case "", lokero.WebhookPending, lokero.WebhookSucceeded, lokero.WebhookFailed:
	default:
		return nil, lokero.Invalid("state", "unknown_state", "state must be pending, succeeded or failed; got %q", truncateText(state, 32))
	}
	if limit < 0 || limit > 1000 {
		return nil, lokero.Invalid("limit", "out_of_range", "limit must be 1..1000; got %d", limit)
	}
	if _, err := w.Get(ctx, retailerID, id); err != nil {
		return nil, err
	}
	return w.store.WebhookDeliveries(ctx, id, state, limit)
}

// eventType names the webhook event of a shipment's i-th event.
func eventType(s *lokero.Shipment, i int) string {
	e := s.Events[i]
	if i > 0 && e.Status == s.Events[i-1].Status {
		// A note: the status stayed.
		switch {
		case strings.HasPrefix(e.Reason, RerouteNote), strings.HasPrefix(e.Reason, LockerRerouteNote), strings.HasPrefix(e.Reason, DispatchRerouteNote), strings.HasPrefix(e.Reason, DispatchBackNote):
			return EventRerouted
		case strings.HasPrefix(e.Reason, "Reminder sent"):
			return EventReminderSent
		case strings.HasPrefix(e.Reason, "Cash on delivery paid"):
			return EventCODCollected
		}
		return EventNoted
	}
	switch e.Status {
	case lokero.StatusCreated:
		return EventCreated
	case lokero.StatusInTransit:
		return EventInTransit
	case lokero.StatusInLocker:
		return EventInLocker
	case lokero.StatusReadyForPickup:
		return EventReadyForPickup
	case lokero.StatusPickedUp:
		return EventPickedUp
	case lokero.StatusExpired:
		return EventExpired
	case lokero.StatusReturning:
		return EventReturning
	case lokero.StatusReturnedToSender:
		return EventReturned
	case lokero.StatusCancelled:
		return EventCancelled
	case lokero.StatusDroppedOff:
		if s.Kind == lokero.ShipmentReturn {
			return EventReturnDroppedOff
		}
		return EventDroppedOff
	}
	return EventNoted
}

// eventData is the "data" of a webhook event: the shipment as it stood
// when the event was written (with the other events of its transaction),
// and the event. No personal data beyond what the retailer gave (its own
// reference), and never a code.
type eventData struct {
	ShipmentID      string                `json:"shipment_id"`
	Kind            lokero.ShipmentKind   `json:"kind"`
	ReturnOf        string                `json:"return_of,omitempty"`
	Reference       string                `json:"reference"`
	TrackingCode    string                `json:"tracking_code"`
	Sequence        int                   `json:"sequence"`
	Status          lokero.ShipmentStatus `json:"status"`
	At              time.Time             `json:"at"`
	LocationID      string                `json:"location_id,omitempty"`
	Reason          string                `json:"reason,omitempty"`
	DestinationID   string                `json:"destination_id,omitempty"`
	StorageDeadline *time.Time            `json:"storage_deadline,omitempty"`
	// COD is the shipment's cash on delivery, as the shipment shows it,
	// on every event: the events of one transaction (a counter's
	// cod_collected and picked_up) are delivered in parallel and may
	// arrive in either order, so a picked_up must tell the payment too.
	COD *lokero.COD `json:"cod,omitempty"`
}

// eventPayload is the body of a webhook delivery (the Standard Webhooks
// shape: type, timestamp, data).
type eventPayload struct {
	Type      string    `json:"type"`
	Timestamp time.Time `json:"timestamp"`
	Data      eventData `json:"data"`
}

// Publish is the store's EventHook: in the transaction that wrote a
// shipment's new events (from index first on), it queues a delivery of
// each to every enabled webhook of the shipment's retailer that wants its
// type, with its job. The body is fixed now: a retry sends the same bytes.
func (w *Webhooks) Publish(ctx context.Context, tx lokero.Tx, s *lokero.Shipment, first int) error {
	if s.RetailerID == "" || first >= len(s.Events) {
		return nil
	}
	hooks, err := tx.WebhookSubscriptions(ctx, s.RetailerID)
	if err != nil {
		return fmt.Errorf("publish events of %s: %w", s.ID, err)
	}
	if len(hooks) == 0 {
		return nil
	}
	for i := max(first, 0); i < len(s.Events); i++ {
		typ, e := eventType(s, i), s.Events[i]
		data := eventData{ShipmentID: s.ID, Kind: s.Kind.OrDefault(), ReturnOf: s.ReturnOf, Reference: s.Reference,
			TrackingCode: s.TrackingCode, Sequence: i + 1, Status: e.Status, At: e.At, LocationID: e.LocationID,
			Reason: e.Reason, DestinationID: s.DestinationID, COD: s.COD}
		if typ == EventReadyForPickup && !s.StorageDeadline.IsZero() {
			d := s.StorageDeadline
			data.StorageDeadline = &d
		}
		payload, err := json.Marshal(eventPayload{Type: typ, Timestamp: e.At, Data: data})
		if err != nil {
			return fmt.Errorf("publish events of %s: %w", s.ID, err)
		}
		for _, h := range hooks {
			if len(h.Events) > 0 && !slices.Contains(h.Events, typ) {
				continue
			}
			id, err := newID(w.random, "msg_", tx.Now())
			if err != nil {
				return err
			}
			if err := tx.AddWebhookDelivery(ctx, lokero.WebhookDelivery{ID: id, WebhookID: h.ID, RetailerID: s.RetailerID,
				ShipmentID: s.ID, Event: typ, Sequence: i + 1, Payload: payload, CreatedAt: tx.Now()}); err != nil {
				return fmt.Errorf("publish %s of %s: %w", typ, s.ID, err)
			}
		}
	}
	return nil
}

// WebhookRetry is the wait after the attempt-th failed try of a delivery
// (the job's retry).
func (w *Webhooks) WebhookRetry(attempt int) time.Duration {
	d, ok := w.retry(attempt)
	if !ok {
		return time.Hour // DeliverWebhook ended the delivery: nothing runs then
	}
	return d
}

// DeliverWebhook sends one delivery to its webhook (the job; attempt from
// 1) and records how it went. Idempotent: a delivery no longer pending is
// done. A 2xx answer succeeds it; anything else is retried on the
// schedule until no try is left, when it fails. An endpoint answering
// 410 Gone, or failing every delivery for DisableAfter, is disabled, and
// its contact told by e-mail; its pending deliveries then fail.
func (w *Webhooks) DeliverWebhook(ctx context.Context, id string, attempt int) error {
	d, err := w.store.WebhookDelivery(ctx, id)
	if lokero.ErrorCode(err) == lokero.ENOTFOUND {
		return nil
	} else if err != nil {
		return fmt.Errorf("webhook delivery %s: %w", id, err)
	}
	if d.State != lokero.WebhookPending {
		return nil
	}
	hook, err := w.store.Webhook(ctx, d.WebhookID)
	if lokero.ErrorCode(err) == lokero.ENOTFOUND {
		return w.record(ctx, d, lokero.WebhookFailed, attempt, 0, "webhook deleted", time.Time{})
	} else if err != nil {
		return fmt.Errorf("webhook delivery %s: %w", id, err)
	}
	if !hook.DisabledAt.IsZero() {
		return w.record(ctx, d, lokero.WebhookFailed, attempt, 0, "webhook disabled: "+hook.DisabledReason, time.Time{})
	}
	now := w.now()
	kept := []string{hook.Secret}
	if hook.PreviousSecret != "" && now.Before(hook.PreviousUntil) {
		kept = append(kept, hook.PreviousSecret)
	}
	secrets := make([]string, 0, len(kept))
	for _, stored := range kept {
		secret, err := w.open(hook.ID, stored)
		if err != nil {
			// Not the endpoint's fault: retried, as the operator is told.
			w.log.Error("webhook delivery: a secret does not open (lokero secret retired too early, or an instance on an older secret)", "webhook", hook.ID, "err", err)
			return fmt.Errorf("webhook delivery %s: %w", id, err)
		}
		secrets = append(secrets, secret)
	}
	status, sendErr := w.poster.Post(ctx, hook.URL, d.ID, now, d.Payload, secrets)
	if sendErr == nil {
		if err := w.record(ctx, d, lokero.WebhookSucceeded, attempt, status, "", time.Time{}); err != nil {
			return err
		}
		if !hook.FailingSince.IsZero() {
			if _, err := w.store.WebhookResult(ctx, hook.ID, true, now); err != nil {
				w.log.Error("webhook result", "webhook", hook.ID, "err", err)
			}
		}
		return nil
	}
	reason := errorText(sendErr)
	after, err := w.store.WebhookResult(ctx, hook.ID, false, now)
	if err == nil {
		hook = after
	} else if lokero.ErrorCode(err) != lokero.ENOTFOUND {
		w.log.Error("webhook result", "webhook", d.WebhookID, "err", err)
	}
	switch {
	case status == 410:
		w.disable(ctx, hook, "the endpoint answered 410 Gone")
	case err == nil && !hook.FailingSince.IsZero() && now.Sub(hook.FailingSince) >= DisableAfter:
		w.disable(ctx, hook, fmt.Sprintf("every delivery failed since %s (%s)", hook.FailingSince.Format(time.RFC3339), reason))
	}
	wait, more := w.retry(attempt)
	if status == 410 || !more {
		if !more {
			reason = fmt.Sprintf("gave up after %d attempts: %s", attempt, reason)
		}
		return w.record(ctx, d, lokero.WebhookFailed, attempt, status, reason, time.Time{})
	}
	if err := w.record(ctx, d, lokero.WebhookPending, attempt, status, reason, now.Add(wait)); err != nil {
		return err
	}
	w.log.Warn("webhook delivery failed: will retry", "delivery", d.ID, "webhook", d.WebhookID, "attempt", attempt, "status", status, "reason", reason)
	return fmt.Errorf("webhook delivery %s, attempt %d: %w", d.ID, attempt, sendErr)
}

// record records a try of a delivery and counts its outcome. A delivery
// recorded already (by another worker) is left as it is.
func (w *Webhooks) record(ctx context.Context, d lokero.WebhookDelivery, state string, attempt, status int, reason string, next time.Time) error {
	d.State, d.Attempts, d.ResponseCode, d.LastError, d.NextAttemptAt = state, attempt, status, cleanText(reason), next
	err := w.store.RecordWebhookAttempt(ctx, d, w.now())
	var e *lokero.Error
	if errors.As(err, &e) && e.Code == lokero.ECONFLICT && e.Reason == "not_pending" {
		return nil
	} else if err != nil {
		return fmt.Errorf("record webhook delivery %s: %w", d.ID, err)
	}
	outcome := state
	if state == lokero.WebhookPending {
		outcome = "retried"
	}
	w.count(outcome)
	if state == lokero.WebhookFailed {
		w.log.Warn("webhook delivery failed", "delivery", d.ID, "webhook", d.WebhookID, "reason", d.LastError)
	}
	return nil
}

// disable disables a webhook (once, across workers) and tells its
// contact by e-mail.
func (w *Webhooks) disable(ctx context.Context, hook lokero.Webhook, reason string) {
	if hook.ID == "" {
		return
	}
	now := w.now()
	did, err := w.store.DisableWebhook(ctx, hook.ID, reason, now)
	if err != nil || !did {
		if err != nil && lokero.ErrorCode(err) != lokero.ENOTFOUND {
			w.log.Error("disable webhook", "webhook", hook.ID, "err", err)
		}
		return
	}
	w.count("disabled")
	w.log.Warn("webhook disabled", "webhook", hook.ID, "retailer", hook.RetailerID, "reason", reason)
	if hook.ContactEmail == "" {
		return
	}
	text := fmt.Sprintf("lokero stopped sending events to your webhook %s (%s): %s. "+
		"Fix the endpoint, then enable it again with PATCH /v1/webhooks/%s {\"enabled\": true}; "+
		"GET /v1/webhooks/%s/deliveries lists what failed.", hook.ID, hook.URL, reason, hook.ID, hook.ID)
	err = w.store.InTx(ctx, func(tx lokero.Tx) error {
		return tx.AddOutbox(ctx, lokero.OutboxMessage{Channel: notify.ChannelEmail, To: hook.ContactEmail,
			Kind: KindWebhookDisabled, Text: text, CreatedAt: tx.Now()})
	})
	if err != nil {
		w.log.Error("queue the notice of a disabled webhook", "webhook", hook.ID, "err", err)
	}
}

// KindWebhookDisabled is the kind of the e-mail to a webhook's contact
// that it was disabled.
const KindWebhookDisabled = "webhook_disabled"

// WebhookCounts returns how many deliveries this process saw succeed,
// fail for good, or fail and wait for a retry, and how many webhooks it
// disabled (the metric lokero_webhook_deliveries_total).
func (w *Webhooks) WebhookCounts() map[string]uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]uint64, len(w.counts))
	for k, v := range w.counts {
		out[k] = v
	}
	return out
}

func (w *Webhooks) count(outcome string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.counts == nil {
		w.counts = map[string]uint64{}
	}
	w.counts[outcome]++
}

// SetPoster replaces how webhooks are sent and their URLs checked (serve
// allows private addresses under --dev). Call it before the jobs start.
func (w *Webhooks) SetPoster(p WebhookPoster, validURL func(string) error) {
	w.poster, w.validURL = p, validURL
}
