package sqlstore

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lokero/lokero"
)

// credentialColumns are a credential's columns as scanCredential reads
// them; never the token's hash.
const credentialColumns = `id, kind, name, location_id, created_at, expires_at, last_used_at, revoked_at, rotated_at, sessions_ended_at, board_key`

// scanCredential scans the credentialColumns of a row.
func scanCredential(r scanner) (lokero.Credential, error) {
	var c lokero.Credential
	err := r.Scan(&c.ID, &c.Kind, &c.Name, &c.LocationID, scanTime{&c.CreatedAt}, scanTime{&c.ExpiresAt},
		scanTime{&c.LastUsedAt}, scanTime{&c.RevokedAt}, scanTime{&c.RotatedAt}, scanTime{&c.SessionsEndedAt}, &c.BoardKey)
	return c, err
}

// sortCredentials orders credentials oldest first, by CreatedAt then ID.
func sortCredentials(list []lokero.Credential) {
	slices.SortFunc(list, func(a, b lokero.Credential) int {
		if c := a.CreatedAt.Compare(b.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
}

// insertCredential is CreateCredential's statement, on q.
func (db *DB) insertCredential(ctx context.Context, q querier, c lokero.Credential, tokenHash []byte) error {
	if _, err := q.ExecContext(ctx, `INSERT INTO credentials
		(id, kind, name, location_id, token_hash, created_at, expires_at, board_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		c.ID, string(c.Kind), c.Name, c.LocationID, tokenHash, db.time(c.CreatedAt), db.nullTime(c.ExpiresAt), c.BoardKey); err != nil {
		if e := db.conflict(err); e != nil {
			return e
		}
		return fmt.Errorf("create credential %s: %w", c.ID, err)
	}
	return nil
}

// CreateCredential stores a credential with the hash of its token. An ID
// or token hash already in use is an ECONFLICT ("duplicate_id",
// "duplicate_token").
func (db *DB) CreateCredential(ctx context.Context, c lokero.Credential, tokenHash []byte) error {
	return db.insertCredential(ctx, db.db, c, tokenHash)
}

// ProvisionCredential stores c and revokes, in the same transaction, the
// other credentials of its kind and location not yet revoked. Provisionings
// of one kind and location take a lock first and run one after the other:
// in READ COMMITTED, one whose UPDATE began before another committed would
// not see that one's new credential, and both would stay active.
func (db *DB) ProvisionCredential(ctx context.Context, c lokero.Credential, tokenHash []byte) ([]lokero.Credential, error) {
	var revoked []lokero.Credential
	err := db.write(ctx, func(tx *sql.Tx, _ time.Time) error {
		if err := db.dialect.Lock(ctx, tx, "provision:"+string(c.Kind)+":"+c.LocationID); err != nil {
			return fmt.Errorf("provision %s: lock: %w", c.ID, err)
		}
		if err := db.insertCredential(ctx, tx, c, tokenHash); err != nil {
			return err
		}
		var err error
		revoked, err = queryAll(ctx, tx, scanCredential, `UPDATE credentials SET revoked_at = $1
			WHERE kind = $2 AND location_id = $3 AND id <> $4 AND revoked_at IS NULL
			RETURNING `+credentialColumns, db.time(c.CreatedAt), string(c.Kind), c.LocationID, c.ID)
		if err != nil {
			return fmt.Errorf("provision %s: revoke the older credentials: %w", c.ID, err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sortCredentials(revoked)
	return revoked, nil
}

// SwapBoardKey sets a credential's board key to now if it still is was
// (one conditional statement: a rotation meanwhile wins); ENOTFOUND when
// there is no such credential.
func (db *DB) SwapBoardKey(ctx context.Context, id, was, now string) (bool, error) {
	return db.changeRow(ctx, "swap the board key of credential "+id, func() error { _, err := db.CredentialByID(ctx, id); return err },
		`UPDATE credentials SET board_key = $3 WHERE id = $1 AND board_key = $2`, id, was, now)
}

// CredentialByTokenHash finds a credential by its token's hash, or returns
// ENOTFOUND.
func (db *DB) CredentialByTokenHash(ctx context.Context, tokenHash []byte) (lokero.Credential, error) {
	c, err := scanCredential(db.db.QueryRowContext(ctx, `SELECT `+credentialColumns+`
		FROM credentials WHERE token_hash = $1`, tokenHash))
	if err != nil {
		return lokero.Credential{}, notFound(err, "credential by token", "no credential has this token")
	}
	return c, nil
}

// CredentialByID returns a credential, or ENOTFOUND.
func (db *DB) CredentialByID(ctx context.Context, id string) (lokero.Credential, error) {
	c, err := scanCredential(db.db.QueryRowContext(ctx, `SELECT `+credentialColumns+`
		FROM credentials WHERE id = $1`, id))
	if err != nil {
		return lokero.Credential{}, notFound(err, "credential "+id, "no credential with id %q", id)
	}
	return c, nil
}

// Credentials lists the credentials the filter selects, oldest first.
func (db *DB) Credentials(ctx context.Context, f lokero.CredentialFilter) ([]lokero.Credential, error) {
	query, args := `SELECT `+credentialColumns+` FROM credentials WHERE true`, []any{}
	if f.Kind != "" {
		args = append(args, string(f.Kind))
		query += fmt.Sprintf(` AND kind = $%d`, len(args))
	}
	if f.LocationID != "" {
		args = append(args, f.LocationID)
		query += fmt.Sprintf(` AND location_id = $%d`, len(args))
	}
	list, err := queryAll(ctx, db.db, scanCredential, query+` ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, fmt.Errorf("credentials: %w", err)
	}
	sortCredentials(list) // the same order whatever the database's collation
	return list, nil
}

// lastOperator refuses to revoke the last active operator credential.
var lastOperator = lokero.Error{Code: lokero.ECONFLICT, Reason: "last_operator",
	Message: "this is the last active operator credential: revoking it would lock every operator out " +
		"(add another with `lokero operator add NAME` first, or revoke it with `lokero credential revoke`)"}

// RevokeCredential revokes a credential at the time given and returns it.
// Revocations take one lock, so that two of them cannot each see the
// other's operator credential as the one left.
func (db *DB) RevokeCredential(ctx context.Context, id string, at time.Time, keepAnOperator bool) (lokero.Credential, error) {
	var c lokero.Credential
	err := db.write(ctx, func(tx *sql.Tx, _ time.Time) error {
		if err := db.dialect.Lock(ctx, tx, "revoke credential"); err != nil {
			return fmt.Errorf("revoke credential %s: lock: %w", id, err)
		}
		var err error
		c, err = scanCredential(tx.QueryRowContext(ctx, `SELECT `+credentialColumns+`
			FROM credentials WHERE id = $1`+db.dialect.ForUpdate(), id))
		if err != nil {
			return notFound(err, "revoke credential "+id, "no credential with id %q", id)
		}
		if !c.RevokedAt.IsZero() {
			return nil
		}
		if keepAnOperator && c.Kind == lokero.KindOperator && c.State(at) == lokero.CredentialActive {
			var others int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM credentials
				WHERE kind = $1 AND id <> $2 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $3)`,
				string(lokero.KindOperator), id, db.time(at)).Scan(&others); err != nil {
				return fmt.Errorf("revoke credential %s: count the operators: %w", id, err)
			}
			if others == 0 {
				e := lastOperator
				return &e
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE credentials SET revoked_at = $2 WHERE id = $1`, id, db.time(at)); err != nil {
			return fmt.Errorf("revoke credential %s: %w", id, err)
		}
		c.RevokedAt = storedTime(at)
		return nil
	})
	if err != nil {
		return lokero.Credential{}, err
	}
	return c, nil
}

// RotateCredential replaces a credential's token hash and expiry; a
// device credential's event sequence starts again from 0, in the same
// transaction.
func (db *DB) RotateCredential(ctx context.Context, id string, tokenHash []byte, boardKey string, at, expiresAt time.Time) (lokero.Credential, error) {
	var c lokero.Credential
	err := db.write(ctx, func(tx *sql.Tx, _ time.Time) error {
		// The hash replaced is kept (RetiredCourierTokens), read under the
		// row's lock: a rotation running meanwhile replaces the hash this
		// one sets, and keeps that one in turn.
		var old []byte
		var kind string
		if err := tx.QueryRowContext(ctx, `SELECT token_hash, kind FROM credentials
			WHERE id = $1 AND revoked_at IS NULL`+db.dialect.ForUpdate(), id).Scan(&old, &kind); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO rotated_tokens (token_hash, credential_id, kind, rotated_at)
			VALUES ($1, $2, $3, $4) ON CONFLICT (token_hash) DO NOTHING`, old, id, kind, db.time(at)); err != nil {
			return fmt.Errorf("keep the replaced token's hash: %w", err)
		}
		var err error
		c, err = scanCredential(tx.QueryRowContext(ctx, `UPDATE credentials
			SET token_hash = $2, rotated_at = $3, expires_at = $4, board_key = $5
			WHERE id = $1 AND revoked_at IS NULL RETURNING `+credentialColumns,
			id, tokenHash, db.time(at), db.nullTime(expiresAt), boardKey))
		if err != nil {
			return err
		}
		if c.Kind != lokero.KindDevice {
			return nil
		}
		// A controller numbers its events from 1 again under a new token
		// (it renumbers its queue): so does the centre, for this
		// credential, from now.
		if _, err := tx.ExecContext(ctx, `UPDATE device_sequences SET last_seq = 0, updated_at = $2
			WHERE credential_id = $1`, id, db.time(at)); err != nil {
			return fmt.Errorf("restart the device sequence: %w", err)
		}
		return nil
	})
	if e := db.conflict(err); e != nil {
		return lokero.Credential{}, e
	}
	if errors.Is(err, sql.ErrNoRows) {
		old, err := db.CredentialByID(ctx, id)
		if err != nil {
			return lokero.Credential{}, err
		}
		return lokero.Credential{}, &lokero.Error{Code: lokero.ECONFLICT, Reason: "revoked",
			Message: fmt.Sprintf("credential %s was revoked at %s: a revoked credential stays revoked; add a new one",
				id, old.RevokedAt.Format(time.RFC3339))}
	}
	if err != nil {
		return lokero.Credential{}, fmt.Errorf("rotate credential %s: %w", id, err)
	}
	return c, nil
}

// RetiredCourierTokens returns the hashes of the courier tokens that
// stopped working at or after since (revoked, expired by until, or
// replaced by a rotation), in byte order. Each part reads one range of
// an index (00029): the last days' revocations, expiries and rotations,
// whatever the number of couriers.
func (db *DB) RetiredCourierTokens(ctx context.Context, since, until time.Time) ([][]byte, error) {
	list, err := queryAll(ctx, db.db, func(r scanner) ([]byte, error) {
		var h []byte
		err := r.Scan(&h)
		return h, err
	}, `SELECT token_hash FROM credentials WHERE kind = $1 AND revoked_at >= $2
		UNION SELECT token_hash FROM credentials WHERE kind = $1 AND expires_at >= $2 AND expires_at <= $3
		UNION SELECT token_hash FROM rotated_tokens WHERE kind = $1 AND rotated_at >= $2`,
		string(lokero.KindCourier), db.time(since), db.time(until))
	if err != nil {
		return nil, fmt.Errorf("retired courier tokens: %w", err)
	}
	slices.SortFunc(list, bytes.Compare)
	return list, nil
}

// EndSessions sets a credential's SessionsEndedAt to at unless it is
// later already.
func (db *DB) EndSessions(ctx context.Context, id string, at time.Time) error {
	if _, err := db.db.ExecContext(ctx, `UPDATE credentials SET sessions_ended_at = $2
		WHERE id = $1 AND (sessions_ended_at IS NULL OR sessions_ended_at < $2)`, id, db.time(at)); err != nil {
		return fmt.Errorf("end the sessions of credential %s: %w", id, err)
	}
	return nil
}

// TouchCredential records that a request authenticated with a credential
// at the time given, unless its last use is already after notBefore.
func (db *DB) TouchCredential(ctx context.Context, id string, at, notBefore time.Time) error {
	if _, err := db.db.ExecContext(ctx, `UPDATE credentials SET last_used_at = $2
		WHERE id = $1 AND (last_used_at IS NULL OR last_used_at <= $3)`,
		id, db.time(at), db.time(notBefore)); err != nil {
		return fmt.Errorf("touch credential %s: %w", id, err)
	}
	return nil
}

// defaultOutboxLimit is how many messages Outbox and Notifications list
// when asked for none.
const defaultOutboxLimit = 100

// outboxColumns are a message's columns as scanOutbox reads them.
const outboxColumns = `id, channel, to_address, tracking_code, kind, text, created_at, shipment_id, location_id,
	code_version, state, attempts, last_error, provider_id, sent_at, report, updated_at`

// scanOutbox scans the outboxColumns of a row.
func scanOutbox(r scanner) (lokero.OutboxMessage, error) {
	var m lokero.OutboxMessage
	var codeLocation string
	var codeVersion int
	if err := r.Scan(&m.ID, &m.Channel, &m.To, &m.TrackingCode, &m.Kind, &m.Text, scanTime{&m.CreatedAt},
		&m.ShipmentID, &codeLocation, &codeVersion, &m.State, &m.Attempts, &m.LastError, &m.ProviderID,
		scanTime{&m.SentAt}, &m.Report, scanTime{&m.UpdatedAt}); err != nil {
		return m, err
	}
	if codeVersion >= 0 {
		m.Code = &lokero.CodeRef{LocationID: codeLocation, Version: codeVersion}
	}
	return m, nil
}

// Outbox lists the newest messages first (by ID), at most limit (100 when
// limit <= 0), whatever their delivery state.
func (db *DB) Outbox(ctx context.Context, limit int) ([]lokero.OutboxMessage, error) {
	if limit <= 0 {
		limit = defaultOutboxLimit
	}
	list, err := queryAll(ctx, db.db, scanOutbox, `SELECT `+outboxColumns+` FROM outbox ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return list, nil
}

// AddOutbox queues a message (its ID is assigned; a zero CreatedAt is the
// transaction's time) in state queued, and schedules its delivery job
// (lokero.JobDeliver, at once or at m.NotBefore) in the same transaction; with no job queue
// (SetJobQueue) the message stays queued.
func (t *Tx) AddOutbox(ctx context.Context, m lokero.OutboxMessage) error {
	if m.CreatedAt.IsZero() {
		m.CreatedAt = t.now
	}
	codeLocation, codeVersion := "", -1 // no code
	if m.Code != nil {
		codeLocation, codeVersion = m.Code.LocationID, m.Code.Version
	}
	var id int64
	if err := t.tx.QueryRowContext(ctx, `INSERT INTO outbox (channel, to_address, tracking_code, kind, text,
		created_at, shipment_id, location_id, code_version, state) VALUES `+t.db.placeholders(1, 10)+` RETURNING id`,
		m.Channel, m.To, m.TrackingCode, m.Kind, m.Text, t.db.time(m.CreatedAt),
		m.ShipmentID, codeLocation, codeVersion, lokero.DeliveryQueued).Scan(&id); err != nil {
		return fmt.Errorf("add outbox %s %s: %w", m.Kind, m.TrackingCode, err)
	}
	at := t.now
	if m.NotBefore.After(at) {
		at = m.NotBefore
	}
	if err := t.ScheduleJob(ctx, lokero.Job{Kind: lokero.JobDeliver, MessageID: id, At: at}); err != nil {
		return fmt.Errorf("add outbox %s %s: %w", m.Kind, m.TrackingCode, err)
	}
	return nil
}

// Every store interface of the notifications.
var _ lokero.NotificationStore = (*DB)(nil)

// OutboxMessage returns one message, or ENOTFOUND.
func (db *DB) OutboxMessage(ctx context.Context, id int64) (lokero.OutboxMessage, error) {
	m, err := scanOutbox(db.db.QueryRowContext(ctx, `SELECT `+outboxColumns+` FROM outbox WHERE id = $1`, id))
	if err != nil {
		return lokero.OutboxMessage{}, notFound(err, fmt.Sprintf("outbox message %d", id), "no message with id %d", id)
	}
	return m, nil
}

// messageExists returns nil when the message exists, else ENOTFOUND (or
// the error reading it): what a write that changed no row says.
func (db *DB) messageExists(ctx context.Context, id int64) error {
	var one int
	if err := db.db.QueryRowContext(ctx, `SELECT 1 FROM outbox WHERE id = $1`, id).Scan(&one); err != nil {
		return notFound(err, fmt.Sprintf("outbox message %d", id), "no message with id %d", id)
	}
	return nil
}

// RecordAttempt records a failed try of a queued message; one no longer
// queued is left as it is.
func (db *DB) RecordAttempt(ctx context.Context, id int64, attempts int, lastError string) error {
	r, err := db.db.ExecContext(ctx, `UPDATE outbox SET attempts = $2, last_error = $3, updated_at = $4
		WHERE id = $1 AND state = $5`, id, max(attempts, 0), lastError, db.time(db.now()), lokero.DeliveryQueued)
	if err != nil {
		return fmt.Errorf("record attempt of message %d: %w", id, err)
	}
	if n, err := r.RowsAffected(); err != nil || n > 0 {
		return err
	}
	return db.messageExists(ctx, id)
}

// notQueued is RecordDelivery's answer for a message no longer queued.
func notQueued(id int64, state string) error {
	return &lokero.Error{Code: lokero.ECONFLICT, Reason: "not_queued",
		Message: fmt.Sprintf("message %d is %s, no longer queued: its delivery was recorded already", id, state)}
}

// RecordDelivery ends a queued message's delivery, in one conditional
// UPDATE: of two workers recording one message, the database lets one
// change the row, and the other finds it no longer queued.
func (db *DB) RecordDelivery(ctx context.Context, id int64, state, providerID, lastError string, at time.Time) error {
	var query string
	switch state {
	case lokero.DeliverySent:
		query = `UPDATE outbox SET state = $2, provider_id = $3, last_error = $4, sent_at = $5, updated_at = $5,
			attempts = attempts + 1 WHERE id = $1 AND state = $6`
	case lokero.DeliveryFailed:
		query = `UPDATE outbox SET state = $2, provider_id = $3, last_error = $4, updated_at = $5,
			attempts = attempts + 1 WHERE id = $1 AND state = $6`
	case lokero.DeliveryLocal:
		query = `UPDATE outbox SET state = $2, provider_id = $3, last_error = $4, sent_at = $5, updated_at = $5
			WHERE id = $1 AND state = $6`
	default:
		return lokero.Invalid("state", "unknown_state", "a delivery ends as sent, failed or local; got %q", state)
	}
	r, err := db.db.ExecContext(ctx, query, id, state, providerID, lastError, db.time(at), lokero.DeliveryQueued)
	if err != nil {
		return fmt.Errorf("record delivery of message %d: %w", id, err)
	}
	if n, err := r.RowsAffected(); err != nil {
		return fmt.Errorf("record delivery of message %d: %w", id, err)
	} else if n > 0 {
		return nil
	}
	m, err := db.OutboxMessage(ctx, id)
	if err != nil {
		return err
	}
	return notQueued(id, m.State)
}

// RecordReport stores a message's latest delivery report; with failed, a
// queued or sent message fails with the report as its reason.
func (db *DB) RecordReport(ctx context.Context, id int64, report string, failed bool, at time.Time) error {
	query := `UPDATE outbox SET report = $2, updated_at = $3 WHERE id = $1`
	args := []any{id, report, db.time(at)}
	if failed {
		query = `UPDATE outbox SET report = $2, updated_at = $3,
			state = CASE WHEN state IN ($4, $5) THEN $6 ELSE state END,
			last_error = CASE WHEN state IN ($4, $5) THEN $2 ELSE last_error END
			WHERE id = $1`
		args = append(args, lokero.DeliveryQueued, lokero.DeliverySent, lokero.DeliveryFailed)
	}
	r, err := db.db.ExecContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("record report of message %d: %w", id, err)
	}
	if n, err := r.RowsAffected(); err != nil || n > 0 {
		return err
	}
	return db.messageExists(ctx, id)
}

// Notifications lists the messages the filter selects (by state,
// channel and shipment, each when given), newest first (by ID), at most
// f.Limit (100 when <= 0).
func (db *DB) Notifications(ctx context.Context, f lokero.NotificationFilter) ([]lokero.OutboxMessage, error) {
	query, args := `SELECT `+outboxColumns+` FROM outbox WHERE true`, []any{}
	if f.State != "" {
		args = append(args, f.State)
		query += fmt.Sprintf(` AND state = $%d`, len(args))
	}
	if f.Channel != "" {
		args = append(args, f.Channel)
		query += fmt.Sprintf(` AND channel = $%d`, len(args))
	}
	if f.ShipmentID != "" {
		args = append(args, f.ShipmentID)
		query += fmt.Sprintf(` AND shipment_id = $%d`, len(args))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultOutboxLimit
	}
	args = append(args, limit)
	list, err := queryAll(ctx, db.db, scanOutbox, query+fmt.Sprintf(` ORDER BY id DESC LIMIT $%d`, len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("notifications: %w", err)
	}
	return list, nil
}

const compartmentsSQL = `SELECT location_id, number, size, length_cm, width_cm, height_cm,
	out_of_order, shipment_id, door_open, door_forced FROM compartments WHERE location_id = $1 ORDER BY number`

// Compartments lists a locker's compartments by number, without a lock.
func (db *DB) Compartments(ctx context.Context, locationID string) ([]lokero.Compartment, error) {
	return compartments(ctx, db.db, locationID, compartmentsSQL)
}

// Compartments returns a locker's compartments ordered by number, locked
// until the transaction ends; none when it is not laid out yet. It first
// takes a lock on the locker, so that two transactions cannot both add
// the same compartment (two that find no rows cannot both lay the locker
// out, and two arrivals at an outlet cannot both add the same shelf
// place: rows locked FOR UPDATE would not stop that, since a statement
// that waited for them does not see the rows their holder added); the
// rows are then read by a statement of their own, which in READ COMMITTED
// sees what the lock's previous holder committed.
func (t *Tx) Compartments(ctx context.Context, locationID string) ([]lokero.Compartment, error) {
	if err := t.db.dialect.Lock(ctx, t.tx, "compartments:"+locationID); err != nil {
		return nil, fmt.Errorf("lock compartments of %s: %w", locationID, err)
	}
	list, err := compartments(ctx, t.tx, locationID, compartmentsSQL+t.db.dialect.ForUpdate())
	if err != nil {
		return nil, err
	}
	for _, c := range list {
		t.holdCompartment(compartmentKey{c.LocationID, c.Number}, c.ShipmentID)
	}
	return list, nil
}

func compartments(ctx context.Context, q querier, locationID, query string) ([]lokero.Compartment, error) {
	list, err := queryAll(ctx, q, func(r scanner) (lokero.Compartment, error) {
		var c lokero.Compartment
		var shipment sql.NullString
		err := r.Scan(&c.LocationID, &c.Number, &c.Size, &c.LengthCM, &c.WidthCM, &c.HeightCM,
			&c.OutOfOrder, &shipment, &c.DoorOpen, &c.DoorForced)
		c.ShipmentID = shipment.String
		return c, err
	}, query, locationID)
	if err != nil {
		return nil, fmt.Errorf("compartments of %s: %w", locationID, err)
	}
	return list, nil
}

// PutCompartment inserts or updates one compartment (by location and
// number); an empty ShipmentID is stored as NULL. A parcel put into it
// arrives today (the transaction's day in Helsinki, arrived_on); one that
// leaves it (for none or for another) is recorded as a departure, with
// the day it arrived and today, for the dwell the network learns
// (Departures).
func (t *Tx) PutCompartment(ctx context.Context, c lokero.Compartment) error {
	today := lokero.DateOf(t.now)
	var arrived any
	if c.ShipmentID != "" {
		arrived = today
	}
	// A departure is recorded when a parcel leaves; a compartment the
	// transaction holds locked and knows empty, or holding this very
	// parcel, has none to record.
	key := compartmentKey{c.LocationID, c.Number}
	if held, known := t.heldCompartments[key]; !known || (held != "" && held != c.ShipmentID) {
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO compartment_departures (location_id, size, arrived_on, left_on)
			SELECT location_id, size, COALESCE(arrived_on, $3), $3 FROM compartments
			WHERE location_id = $1 AND number = $2 AND shipment_id IS NOT NULL AND shipment_id IS DISTINCT FROM $4`,
			c.LocationID, c.Number, today, nullIfEmpty(c.ShipmentID)); err != nil {
			return fmt.Errorf("record the departure from compartment %s/%d: %w", c.LocationID, c.Number, err)
		}
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO compartments
		(location_id, number, size, length_cm, width_cm, height_cm, out_of_order, shipment_id, door_open, arrived_on, door_forced)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (location_id, number) DO UPDATE SET
		size = excluded.size, length_cm = excluded.length_cm, width_cm = excluded.width_cm,
		height_cm = excluded.height_cm, out_of_order = excluded.out_of_order,
		door_open = excluded.door_open, door_forced = excluded.door_forced,
		arrived_on = CASE WHEN compartments.shipment_id IS NOT DISTINCT FROM excluded.shipment_id
			THEN compartments.arrived_on ELSE excluded.arrived_on END,
		shipment_id = excluded.shipment_id`,
		c.LocationID, c.Number, c.Size, c.LengthCM, c.WidthCM, c.HeightCM, c.OutOfOrder,
		nullIfEmpty(c.ShipmentID), c.DoorOpen, arrived, c.DoorForced); err != nil {
		return fmt.Errorf("put compartment %s/%d: %w", c.LocationID, c.Number, err)
	}
	t.holdCompartment(key, c.ShipmentID) // the upsert holds the row until the end
	return nil
}

// DeleteCompartmentsAbove deletes a locker's compartments numbered above
// number and reports how many it deleted. What the transaction knew of
// them is forgotten: a compartment of that number put again is a new row.
func (t *Tx) DeleteCompartmentsAbove(ctx context.Context, locationID string, number int) (int, error) {
	res, err := t.tx.ExecContext(ctx, `DELETE FROM compartments WHERE location_id = $1 AND number > $2`, locationID, number)
	if err != nil {
		return 0, fmt.Errorf("delete the compartments of %s above %d: %w", locationID, number, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("delete the compartments of %s above %d: %w", locationID, number, err)
	}
	for key := range t.heldCompartments {
		if key.location == locationID && key.number > number {
			delete(t.heldCompartments, key)
		}
	}
	return int(n), nil
}

// Keypad returns the stored lockout state of a locker's keypad, nil when
// none yet. It takes a lock on the keypad first, so that the state is the
// transaction's until it ends even before the keypad's row exists (two
// first wrong entries lose neither), then reads the row locked.
func (t *Tx) Keypad(ctx context.Context, locationID string) ([]byte, error) {
	if err := t.db.dialect.Lock(ctx, t.tx, "keypad:"+locationID); err != nil {
		return nil, fmt.Errorf("lock keypad of %s: %w", locationID, err)
	}
	var state []byte
	err := t.tx.QueryRowContext(ctx, `SELECT state FROM keypads WHERE location_id = $1`+t.db.dialect.ForUpdate(),
		locationID).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	} else if err != nil {
		return nil, fmt.Errorf("keypad of %s: %w", locationID, err)
	}
	if state == nil {
		state = []byte{}
	}
	return state, nil
}

// SaveKeypad stores the keypad's lockout state (updated_at: the
// transaction's time).
func (t *Tx) SaveKeypad(ctx context.Context, locationID string, state []byte) error {
	if state == nil {
		state = []byte{}
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO keypads (location_id, state, updated_at)
		VALUES ($1, $2, $3)
		ON CONFLICT (location_id) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`,
		locationID, state, t.db.time(t.now)); err != nil {
		return fmt.Errorf("save keypad of %s: %w", locationID, err)
	}
	return nil
}

// LetterSlot returns a locker's mail slot counts, zero when none yet,
// locked until the transaction ends (a lock of its own covers the first
// time, when there is no row to lock).
func (t *Tx) LetterSlot(ctx context.Context, locationID string) (lokero.LetterSlot, error) {
	s := lokero.LetterSlot{LocationID: locationID}
	if err := t.db.dialect.Lock(ctx, t.tx, "letters:"+locationID); err != nil {
		return s, fmt.Errorf("lock letter slot of %s: %w", locationID, err)
	}
	err := t.tx.QueryRowContext(ctx, `SELECT in_slot, dropped, emptied FROM letter_slots
		WHERE location_id = $1`+t.db.dialect.ForUpdate(), locationID).Scan(&s.InSlot, &s.Dropped, &s.Emptied)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return s, fmt.Errorf("letter slot of %s: %w", locationID, err)
	}
	return s, nil
}

// SaveLetterSlot stores a locker's mail slot counts (updated_at: the
// transaction's time).
func (t *Tx) SaveLetterSlot(ctx context.Context, s lokero.LetterSlot) error {
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO letter_slots (location_id, in_slot, dropped, emptied, updated_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (location_id) DO UPDATE SET in_slot = excluded.in_slot, dropped = excluded.dropped,
			emptied = excluded.emptied, updated_at = excluded.updated_at`,
		s.LocationID, s.InSlot, s.Dropped, s.Emptied, t.db.time(t.now)); err != nil {
		return fmt.Errorf("save letter slot of %s: %w", s.LocationID, err)
	}
	return nil
}
