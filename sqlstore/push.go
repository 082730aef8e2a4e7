package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lokero/lokero"
)

// pushColumns are a push subscription's columns as scanPush reads them.
const pushColumns = `id, shipment_id, tracking_code, endpoint, p256dh, auth, language, created_at`

// scanPush scans the pushColumns of a row.
func scanPush(r scanner) (lokero.PushSubscription, error) {
	var s lokero.PushSubscription
	err := r.Scan(&s.ID, &s.ShipmentID, &s.TrackingCode, &s.Endpoint, &s.P256dh, &s.Auth, &s.Language,
		scanTime{&s.CreatedAt})
	return s, err
}

// tooManySubscriptions is AddPushSubscription's answer for a parcel that
// has MaxPushSubscriptions already.
func tooManySubscriptions(shipmentID string) error {
	return &lokero.Error{Code: lokero.ECONFLICT, Reason: "too_many_subscriptions",
		Message: fmt.Sprintf("shipment %s has %d push subscriptions already: remove one first",
			shipmentID, lokero.MaxPushSubscriptions)}
}

// AddPushSubscription stores a subscription, or updates the keys and
// language of the parcel's subscription with the same endpoint (which
// keeps its ID and CreatedAt), and returns the stored one. A parcel with
// lokero.MaxPushSubscriptions already gets ECONFLICT
// "too_many_subscriptions" for a new endpoint. A lock on the parcel's
// subscriptions makes the count and the insert one step.
func (db *DB) AddPushSubscription(ctx context.Context, s lokero.PushSubscription) (lokero.PushSubscription, error) {
	var stored lokero.PushSubscription
	err := db.write(ctx, func(tx *sql.Tx, _ time.Time) error {
		if err := db.dialect.Lock(ctx, tx, "push:"+s.ShipmentID); err != nil {
			return fmt.Errorf("add push subscription to %s: lock: %w", s.ShipmentID, err)
		}
		var others int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM push_subscriptions
			WHERE shipment_id = $1 AND endpoint <> $2`, s.ShipmentID, s.Endpoint).Scan(&others); err != nil {
			return fmt.Errorf("add push subscription to %s: count: %w", s.ShipmentID, err)
		}
		if others >= lokero.MaxPushSubscriptions {
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM push_subscriptions
				WHERE shipment_id = $1 AND endpoint = $2`, s.ShipmentID, s.Endpoint).Scan(&one)
			if errors.Is(err, sql.ErrNoRows) {
				return tooManySubscriptions(s.ShipmentID)
			} else if err != nil {
				return fmt.Errorf("add push subscription to %s: %w", s.ShipmentID, err)
			}
		}
		var err error
		stored, err = scanPush(tx.QueryRowContext(ctx, `INSERT INTO push_subscriptions (`+pushColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (shipment_id, endpoint) DO UPDATE SET p256dh = excluded.p256dh, auth = excluded.auth,
				language = excluded.language
			RETURNING `+pushColumns,
			s.ID, s.ShipmentID, s.TrackingCode, s.Endpoint, s.P256dh, s.Auth, s.Language, db.time(s.CreatedAt)))
		if c := db.conflict(err); c != nil {
			return c
		} else if err != nil {
			return fmt.Errorf("add push subscription to %s: %w", s.ShipmentID, err)
		}
		return nil
	})
	if err != nil {
		return lokero.PushSubscription{}, err
	}
	return stored, nil
}

// PushSubscription returns one subscription, or ENOTFOUND.
func (db *DB) PushSubscription(ctx context.Context, id string) (lokero.PushSubscription, error) {
	s, err := scanPush(db.db.QueryRowContext(ctx, `SELECT `+pushColumns+` FROM push_subscriptions WHERE id = $1`, id))
	if err != nil {
		return lokero.PushSubscription{}, notFound(err, "push subscription "+id, "no push subscription with id %q", id)
	}
	return s, nil
}

// DeletePushSubscription removes one subscription; ENOTFOUND when there is
// none.
func (db *DB) DeletePushSubscription(ctx context.Context, id string) error {
	r, err := db.db.ExecContext(ctx, `DELETE FROM push_subscriptions WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete push subscription %s: %w", id, err)
	}
	if n, err := r.RowsAffected(); err != nil {
		return fmt.Errorf("delete push subscription %s: %w", id, err)
	} else if n == 0 {
		return lokero.Errorf(lokero.ENOTFOUND, "no push subscription with id %q", id)
	}
	return nil
}

// PushSubscriptions returns a shipment's push subscriptions, oldest first
// (by CreatedAt, then ID); none when it has none.
func (t *Tx) PushSubscriptions(ctx context.Context, shipmentID string) ([]lokero.PushSubscription, error) {
	list, err := queryAll(ctx, t.tx, scanPush, `SELECT `+pushColumns+` FROM push_subscriptions
		WHERE shipment_id = $1 ORDER BY created_at, id`, shipmentID)
	if err != nil {
		return nil, fmt.Errorf("push subscriptions of %s: %w", shipmentID, err)
	}
	// The same order whatever the database's collation.
	slices.SortStableFunc(list, func(a, b lokero.PushSubscription) int {
		return oldestFirst(a.CreatedAt, b.CreatedAt, a.ID, b.ID)
	})
	return list, nil
}

// oldestFirst compares two rows by their times, then their IDs (bytewise).
func oldestFirst(ta, tb time.Time, ida, idb string) int {
	if c := ta.Compare(tb); c != 0 {
		return c
	}
	return strings.Compare(ida, idb)
}
