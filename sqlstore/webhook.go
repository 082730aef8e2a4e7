package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lokero/lokero"
)

// webhookColumns are a webhook's columns as scanWebhook reads them.
const webhookColumns = `id, retailer_id, url, events, secret, previous_secret, previous_until, contact_email,
	failing_since, disabled_at, disabled_reason, created_at, updated_at`

// scanWebhook scans the webhookColumns of a row.
func scanWebhook(r scanner) (lokero.Webhook, error) {
	var w lokero.Webhook
	var events string
	if err := r.Scan(&w.ID, &w.RetailerID, &w.URL, &events, &w.Secret, &w.PreviousSecret,
		scanTime{&w.PreviousUntil}, &w.ContactEmail, scanTime{&w.FailingSince}, scanTime{&w.DisabledAt},
		&w.DisabledReason, scanTime{&w.CreatedAt}, scanTime{&w.UpdatedAt}); err != nil {
		return w, err
	}
	return w, decodeSlice(events, &w.Events, "webhook events")
}

// encodeEvents is a webhook's event types as their JSON column holds them.
func encodeEvents(events []string) (string, error) {
	b, err := json.Marshal(emptyIfNil(events))
	return string(b), err
}

// sortWebhooks orders webhooks oldest first, by CreatedAt then ID, the
// same whatever the database's collation.
func sortWebhooks(list []lokero.Webhook) {
	slices.SortStableFunc(list, func(a, b lokero.Webhook) int {
		return oldestFirst(a.CreatedAt, b.CreatedAt, a.ID, b.ID)
	})
}

// CreateWebhook stores a new webhook unless its retailer has most
// already (ECONFLICT "too_many_webhooks"); an ID in use is an ECONFLICT
// "duplicate_id". Creations for one retailer take a lock first and count
// one after the other: in READ COMMITTED two counting at once would each
// see room for one more.
func (db *DB) CreateWebhook(ctx context.Context, w lokero.Webhook, most int) error {
	events, err := encodeEvents(w.Events)
	if err != nil {
		return fmt.Errorf("create webhook %s: %w", w.ID, err)
	}
	return db.write(ctx, func(tx *sql.Tx, _ time.Time) error {
		if err := db.dialect.Lock(ctx, tx, "webhooks:"+w.RetailerID); err != nil {
			return fmt.Errorf("create webhook %s: lock: %w", w.ID, err)
		}
		var have int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM webhooks WHERE retailer_id = $1`, w.RetailerID).Scan(&have); err != nil {
			return fmt.Errorf("create webhook %s: count the retailer's: %w", w.ID, err)
		}
		if have >= most {
			return &lokero.Error{Code: lokero.ECONFLICT, Reason: "too_many_webhooks",
				Message: fmt.Sprintf("a retailer may have %d webhooks; delete one first", most)}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO webhooks (`+webhookColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
			w.ID, w.RetailerID, w.URL, events, w.Secret, w.PreviousSecret, db.nullTime(w.PreviousUntil),
			w.ContactEmail, db.nullTime(w.FailingSince), db.nullTime(w.DisabledAt), w.DisabledReason,
			db.time(w.CreatedAt), db.time(w.UpdatedAt)); err != nil {
			if c := db.conflict(err); c != nil {
				return c
			}
			return fmt.Errorf("create webhook %s: %w", w.ID, err)
		}
		return nil
	})
}

// Webhook returns one webhook, or ENOTFOUND.
func (db *DB) Webhook(ctx context.Context, id string) (lokero.Webhook, error) {
	w, err := scanWebhook(db.db.QueryRowContext(ctx, `SELECT `+webhookColumns+` FROM webhooks WHERE id = $1`, id))
	if err != nil {
		return lokero.Webhook{}, notFound(err, "webhook "+id, "no webhook with id %q", id)
	}
	return w, nil
}

// WebhooksOf lists a retailer's webhooks, disabled ones too, oldest first
// (by CreatedAt, then ID).
func (db *DB) WebhooksOf(ctx context.Context, retailerID string) ([]lokero.Webhook, error) {
	list, err := queryAll(ctx, db.db, scanWebhook, `SELECT `+webhookColumns+` FROM webhooks
		WHERE retailer_id = $1 ORDER BY created_at, id`, retailerID)
	if err != nil {
		return nil, fmt.Errorf("webhooks of %s: %w", retailerID, err)
	}
	sortWebhooks(list)
	return list, nil
}

// WebhookSubscriptions returns the ID and event types of each of a
// retailer's enabled webhooks, oldest first (by CreatedAt, then ID). When
// the transaction stored events of one of the retailer's shipments, the
// statement that stored them read these too (insertEvents, for the event
// hook that asks next): they are not asked again.
func (t *Tx) WebhookSubscriptions(ctx context.Context, retailerID string) ([]lokero.WebhookSubscription, error) {
	if subs, ok := t.subscriptions[retailerID]; ok {
		return subs, nil
	}
	var text []byte
	if err := t.tx.QueryRowContext(ctx, `SELECT `+t.db.dialect.SubscriptionsJSON(t.db.dialect.Param(1)),
		retailerID).Scan(&text); err != nil {
		return nil, fmt.Errorf("webhooks of %s: %w", retailerID, err)
	}
	return t.keepSubscriptions(retailerID, text)
}

// keepSubscriptions decodes a retailer's webhook subscriptions from the
// JSON of Dialect.SubscriptionsJSON, oldest first, and keeps them for the
// rest of the transaction.
func (t *Tx) keepSubscriptions(retailerID string, text []byte) ([]lokero.WebhookSubscription, error) {
	var rows [][3]json.RawMessage
	if err := json.Unmarshal(text, &rows); err != nil {
		return nil, fmt.Errorf("webhooks of %s: %w", retailerID, err)
	}
	subs := make([]lokero.WebhookSubscription, len(rows))
	created := make(map[string]time.Time, len(rows))
	for i, r := range rows {
		var at string
		sub := &subs[i]
		err := json.Unmarshal(r[0], &sub.ID)
		if err == nil {
			err = json.Unmarshal(r[1], &sub.Events)
		}
		if err == nil {
			err = json.Unmarshal(r[2], &at)
		}
		if err == nil {
			var when time.Time
			err = (scanTime{&when}).parse(at)
			created[sub.ID] = when
		}
		if err != nil {
			return nil, fmt.Errorf("webhooks of %s: %w", retailerID, err)
		}
		if len(sub.Events) == 0 {
			sub.Events = nil
		}
	}
	slices.SortFunc(subs, func(a, b lokero.WebhookSubscription) int {
		return oldestFirst(created[a.ID], created[b.ID], a.ID, b.ID)
	})
	if t.subscriptions == nil {
		t.subscriptions = map[string][]lokero.WebhookSubscription{}
	}
	t.subscriptions[retailerID] = subs
	return subs, nil
}

// AllWebhooks lists every retailer's webhooks, disabled ones too, by ID.
func (db *DB) AllWebhooks(ctx context.Context) ([]lokero.Webhook, error) {
	list, err := queryAll(ctx, db.db, scanWebhook, `SELECT `+webhookColumns+` FROM webhooks`)
	if err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	slices.SortFunc(list, func(a, b lokero.Webhook) int { return strings.Compare(a.ID, b.ID) })
	return list, nil
}

// SwapWebhookSecrets sets a webhook's Secret and PreviousSecret to secret
// and previous if they still are was and wasPrevious, in one statement,
// and reports whether it did; ENOTFOUND when there is no such webhook.
func (db *DB) SwapWebhookSecrets(ctx context.Context, id, was, wasPrevious, secret, previous string) (bool, error) {
	return db.changeWebhook(ctx, id, "swap the secrets of", `UPDATE webhooks SET secret = $4, previous_secret = $5
		WHERE id = $1 AND secret = $2 AND previous_secret = $3`, id, was, wasPrevious, secret, previous)
}

// changeWebhook runs a conditional UPDATE of webhook id (what, for the
// error) and reports whether it changed the row; ENOTFOUND when there is
// no such webhook.
func (db *DB) changeWebhook(ctx context.Context, id, what, query string, args ...any) (bool, error) {
	return db.changeRow(ctx, what+" webhook "+id, func() error { _, err := db.Webhook(ctx, id); return err }, query, args...)
}

// changeRow runs a conditional UPDATE of one row (what names it, for the
// error) and reports whether it changed the row; when it did not, the
// error of exists, which reads the row (ENOTFOUND when there is none).
func (db *DB) changeRow(ctx context.Context, what string, exists func() error, query string, args ...any) (bool, error) {
	r, err := db.db.ExecContext(ctx, query, args...)
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	if n == 0 {
		if err := exists(); err != nil {
			return false, err
		}
	}
	return n == 1, nil
}

// UpdateWebhook writes what a retailer changes of a webhook — URL,
// Events, ContactEmail, UpdatedAt and, with enabled, whether it is on —
// in one statement, and returns the webhook as it is after; ENOTFOUND when
// there is none. Its secrets and its failure state are not written: a
// rotation or a disabling that happened since the caller read it stands.
func (db *DB) UpdateWebhook(ctx context.Context, w lokero.Webhook, enabled *bool) (lokero.Webhook, error) {
	events, err := encodeEvents(w.Events)
	if err != nil {
		return lokero.Webhook{}, fmt.Errorf("update webhook %s: %w", w.ID, err)
	}
	turn := 0 // 1: on, 2: off
	if enabled != nil {
		turn = 2
		if *enabled {
			turn = 1
		}
	}
	// The SET expressions read the row as it was: off keeps an earlier
	// DisabledAt and its reason.
	after, err := scanWebhook(db.db.QueryRowContext(ctx, `UPDATE webhooks SET url = $2, events = $3, contact_email = $4,
		updated_at = $5,
		disabled_at = CASE WHEN $6 = 1 THEN NULL WHEN $6 = 2 THEN COALESCE(disabled_at, $5) ELSE disabled_at END,
		disabled_reason = CASE WHEN $6 = 1 THEN '' WHEN $6 = 2 AND disabled_at IS NULL THEN $7 ELSE disabled_reason END,
		failing_since = CASE WHEN $6 = 1 THEN NULL ELSE failing_since END
		WHERE id = $1 RETURNING `+webhookColumns,
		w.ID, w.URL, events, w.ContactEmail, db.time(w.UpdatedAt), turn, w.DisabledReason))
	if err != nil {
		return lokero.Webhook{}, notFound(err, "update webhook "+w.ID, "no webhook with id %q", w.ID)
	}
	return after, nil
}

// RotateWebhookSecret makes secret a webhook's Secret and the one it had
// its PreviousSecret until previousUntil (UpdatedAt at), if its Secret is
// still was, in one conditional UPDATE, and reports whether it did (false:
// rotated or sealed again meanwhile); ENOTFOUND when there is none.
func (db *DB) RotateWebhookSecret(ctx context.Context, id, was, secret string, previousUntil, at time.Time) (bool, error) {
	return db.changeWebhook(ctx, id, "rotate the secret of", `UPDATE webhooks SET previous_secret = secret, secret = $3,
		previous_until = $4, updated_at = $5 WHERE id = $1 AND secret = $2`, id, was, secret, db.time(previousUntil), db.time(at))
}

// webhookDeleted is the LastError of the deliveries a DeleteWebhook
// failed.
const webhookDeleted = "webhook deleted"

// DeleteWebhook removes a webhook and fails its pending deliveries
// ("webhook deleted"), in one transaction; the deliveries stay, for their
// history. ENOTFOUND when there is no such webhook. The deliveries have no
// column for at: it is not stored.
func (db *DB) DeleteWebhook(ctx context.Context, id string, at time.Time) error {
	return db.write(ctx, func(tx *sql.Tx, _ time.Time) error {
		r, err := tx.ExecContext(ctx, `DELETE FROM webhooks WHERE id = $1`, id)
		if err != nil {
			return fmt.Errorf("delete webhook %s: %w", id, err)
		}
		if n, err := r.RowsAffected(); err != nil {
			return fmt.Errorf("delete webhook %s: %w", id, err)
		} else if n == 0 {
			return lokero.Errorf(lokero.ENOTFOUND, "no webhook with id %q", id)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE webhook_deliveries SET state = $2, last_error = $3,
			next_attempt_at = NULL WHERE webhook_id = $1 AND state = $4`,
			id, lokero.WebhookFailed, webhookDeleted, lokero.WebhookPending); err != nil {
			return fmt.Errorf("delete webhook %s: fail its pending deliveries: %w", id, err)
		}
		return nil
	})
}

// WebhookResult records how a delivery to the webhook went at at, in one
// statement that reads the row it changes: ok clears FailingSince; a
// failure sets it to at unless it is set already (the first failure since
// the last success stays). It returns the webhook as it is after;
// ENOTFOUND when there is none. UpdatedAt is left as it is.
func (db *DB) WebhookResult(ctx context.Context, id string, ok bool, at time.Time) (lokero.Webhook, error) {
	query, args := `UPDATE webhooks SET failing_since = NULL WHERE id = $1 RETURNING `+webhookColumns, []any{id}
	if !ok {
		query = `UPDATE webhooks SET failing_since = COALESCE(failing_since, $2) WHERE id = $1 RETURNING ` +
			webhookColumns
		args = append(args, db.time(at))
	}
	w, err := scanWebhook(db.db.QueryRowContext(ctx, query, args...))
	if err != nil {
		return lokero.Webhook{}, notFound(err, "webhook result of "+id, "no webhook with id %q", id)
	}
	return w, nil
}

// DisableWebhook disables an enabled webhook at at (DisabledAt and
// UpdatedAt) with a reason, in one conditional UPDATE, and reports whether
// it did: of two workers disabling one webhook, one does and the other
// gets false. ENOTFOUND when there is none.
func (db *DB) DisableWebhook(ctx context.Context, id, reason string, at time.Time) (bool, error) {
	return db.changeWebhook(ctx, id, "disable", `UPDATE webhooks SET disabled_at = $2, disabled_reason = $3, updated_at = $2
		WHERE id = $1 AND disabled_at IS NULL`, id, db.time(at), reason)
}

// deliveryColumns are a webhook delivery's columns as scanDelivery reads
// them.
const deliveryColumns = `id, webhook_id, retailer_id, shipment_id, event, sequence, payload, state, attempts,
	response_code, last_error, next_attempt_at, created_at, delivered_at`

// scanDelivery scans the deliveryColumns of a row.
func scanDelivery(r scanner) (lokero.WebhookDelivery, error) {
	var d lokero.WebhookDelivery
	err := r.Scan(&d.ID, &d.WebhookID, &d.RetailerID, &d.ShipmentID, &d.Event, &d.Sequence, &d.Payload,
		&d.State, &d.Attempts, &d.ResponseCode, &d.LastError, scanTime{&d.NextAttemptAt},
		scanTime{&d.CreatedAt}, scanTime{&d.DeliveredAt})
	return d, err
}

// AddWebhookDelivery stores a delivery in lokero.WebhookPending (its ID
// and the rest given; a zero CreatedAt is the transaction's time;
// NextAttemptAt is CreatedAt) and schedules its job (lokero.JobWebhook
// with DeliveryID, at CreatedAt) in the same transaction. The payload is
// kept byte for byte. An ID in use is an ECONFLICT "duplicate_id".
func (t *Tx) AddWebhookDelivery(ctx context.Context, d lokero.WebhookDelivery) error {
	createdAt := d.CreatedAt
	if createdAt.IsZero() {
		createdAt = t.now
	}
	db := t.db
	err := t.savepoint(ctx, func() error {
		_, err := t.tx.ExecContext(ctx, `INSERT INTO webhook_deliveries (`+deliveryColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, NULL)`,
			d.ID, d.WebhookID, d.RetailerID, d.ShipmentID, d.Event, d.Sequence, string(d.Payload),
			lokero.WebhookPending, max(d.Attempts, 0), d.ResponseCode, d.LastError, db.time(createdAt),
			db.time(createdAt))
		return err
	})
	if c := db.conflict(err); c != nil {
		return c
	} else if err != nil {
		return fmt.Errorf("add webhook delivery %s: %w", d.ID, err)
	}
	if err := t.ScheduleJob(ctx, lokero.Job{Kind: lokero.JobWebhook, DeliveryID: d.ID, At: createdAt}); err != nil {
		return fmt.Errorf("add webhook delivery %s: %w", d.ID, err)
	}
	return nil
}

// WebhookDelivery returns one delivery, or ENOTFOUND.
func (db *DB) WebhookDelivery(ctx context.Context, id string) (lokero.WebhookDelivery, error) {
	d, err := scanDelivery(db.db.QueryRowContext(ctx, `SELECT `+deliveryColumns+`
		FROM webhook_deliveries WHERE id = $1`, id))
	if err != nil {
		return lokero.WebhookDelivery{}, notFound(err, "webhook delivery "+id, "no webhook delivery with id %q", id)
	}
	return d, nil
}

// defaultDeliveryLimit is how many deliveries WebhookDeliveries lists when
// asked for none.
const defaultDeliveryLimit = 100

// WebhookDeliveries lists a webhook's deliveries, newest first (by
// CreatedAt, then ID), at most limit (100 when <= 0); with state, only
// those in it.
func (db *DB) WebhookDeliveries(ctx context.Context, webhookID, state string, limit int) ([]lokero.WebhookDelivery, error) {
	if limit <= 0 {
		limit = defaultDeliveryLimit
	}
	query, args := `SELECT `+deliveryColumns+` FROM webhook_deliveries WHERE webhook_id = $1`, []any{webhookID}
	if state != "" {
		args = append(args, state)
		query += fmt.Sprintf(` AND state = $%d`, len(args))
	}
	args = append(args, limit)
	list, err := queryAll(ctx, db.db, scanDelivery,
		query+fmt.Sprintf(` ORDER BY created_at DESC, id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("deliveries of webhook %s: %w", webhookID, err)
	}
	slices.SortStableFunc(list, func(a, b lokero.WebhookDelivery) int {
		return oldestFirst(b.CreatedAt, a.CreatedAt, b.ID, a.ID)
	})
	return list, nil
}

// notPending is RecordWebhookAttempt's answer for a delivery no longer
// pending.
func notPending(id, state string) error {
	return &lokero.Error{Code: lokero.ECONFLICT, Reason: "not_pending",
		Message: fmt.Sprintf("webhook delivery %s is %s, no longer pending: its attempt was recorded already", id, state)}
}

// RecordWebhookAttempt records a try of a pending delivery, in one
// conditional UPDATE: its state after, Attempts, ResponseCode, LastError,
// NextAttemptAt (pending only) and, when it succeeded, DeliveredAt at. The
// try must be a later one than the delivery has recorded: of two workers
// recording one try, whatever state it leaves, the database lets one
// change the row and the other gets ECONFLICT "not_pending"; ENOTFOUND
// when there is none.
func (db *DB) RecordWebhookAttempt(ctx context.Context, d lokero.WebhookDelivery, at time.Time) error {
	var next, delivered any
	switch d.State {
	case lokero.WebhookPending:
		next = db.nullTime(d.NextAttemptAt)
	case lokero.WebhookSucceeded:
		delivered = db.time(at)
	case lokero.WebhookFailed:
	default:
		return lokero.Invalid("state", "unknown_state",
			"a webhook delivery's try leaves it pending, succeeded or failed; got %q", d.State)
	}
	r, err := db.db.ExecContext(ctx, `UPDATE webhook_deliveries SET state = $2, attempts = $3, response_code = $4,
		last_error = $5, next_attempt_at = $6, delivered_at = $7 WHERE id = $1 AND state = $8 AND attempts < $3`,
		d.ID, d.State, max(d.Attempts, 0), d.ResponseCode, d.LastError, next, delivered, lokero.WebhookPending)
	if err != nil {
		return fmt.Errorf("record attempt of webhook delivery %s: %w", d.ID, err)
	}
	if n, err := r.RowsAffected(); err != nil {
		return fmt.Errorf("record attempt of webhook delivery %s: %w", d.ID, err)
	} else if n > 0 {
		return nil
	}
	stored, err := db.WebhookDelivery(ctx, d.ID)
	if err != nil {
		return err
	}
	if stored.State == lokero.WebhookPending { // pending still, its try recorded by another
		return &lokero.Error{Code: lokero.ECONFLICT, Reason: "not_pending",
			Message: fmt.Sprintf("webhook delivery %s: try %d was recorded already", d.ID, d.Attempts)}
	}
	return notPending(d.ID, stored.State)
}
