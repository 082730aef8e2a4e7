package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/lokero/lokero"
)

// CreateCredential stores a credential with the hash of its token. An ID
// or token hash already in use is an ECONFLICT ("duplicate_id",
// "duplicate_token").
func (db *DB) CreateCredential(ctx context.Context, c lokero.Credential, tokenHash []byte) error {
	if _, err := db.db.ExecContext(ctx, `INSERT INTO credentials
		(id, kind, name, location_id, token_hash, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
		c.ID, string(c.Kind), c.Name, c.LocationID, tokenHash, db.time(c.CreatedAt)); err != nil {
		if e := db.conflict(err); e != nil {
			return e
		}
		return fmt.Errorf("create credential %s: %w", c.ID, err)
	}
	return nil
}

// CredentialByTokenHash finds a credential by its token's hash, or returns
// ENOTFOUND.
func (db *DB) CredentialByTokenHash(ctx context.Context, tokenHash []byte) (lokero.Credential, error) {
	var c lokero.Credential
	err := db.db.QueryRowContext(ctx, `SELECT id, kind, name, location_id, created_at
		FROM credentials WHERE token_hash = $1`, tokenHash).
		Scan(&c.ID, &c.Kind, &c.Name, &c.LocationID, scanTime{&c.CreatedAt})
	if err != nil {
		return lokero.Credential{}, notFound(err, "credential by token", "no credential has this token")
	}
	return c, nil
}

// defaultOutboxLimit is how many messages Outbox lists when asked for none.
const defaultOutboxLimit = 100

// Outbox lists the newest queued messages first (by ID), at most limit
// (100 when limit <= 0).
func (db *DB) Outbox(ctx context.Context, limit int) ([]lokero.OutboxMessage, error) {
	if limit <= 0 {
		limit = defaultOutboxLimit
	}
	list, err := queryAll(ctx, db.db, func(r scanner) (lokero.OutboxMessage, error) {
		var m lokero.OutboxMessage
		var codeLocation string
		var codeVersion int
		if err := r.Scan(&m.ID, &m.Channel, &m.To, &m.TrackingCode, &m.Kind, &m.Text, scanTime{&m.CreatedAt},
			&m.ShipmentID, &codeLocation, &codeVersion); err != nil {
			return m, err
		}
		if codeVersion >= 0 {
			m.Code = &lokero.CodeRef{LocationID: codeLocation, Version: codeVersion}
		}
		return m, nil
	}, `SELECT id, channel, to_address, tracking_code, kind, text, created_at, shipment_id, location_id, code_version
		FROM outbox ORDER BY id DESC LIMIT $1`, limit)
	if err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	return list, nil
}

// AddOutbox queues a message (its ID is assigned; a zero CreatedAt is the
// transaction's time).
func (t *Tx) AddOutbox(ctx context.Context, m lokero.OutboxMessage) error {
	if m.CreatedAt.IsZero() {
		m.CreatedAt = t.now
	}
	codeLocation, codeVersion := "", -1 // no code
	if m.Code != nil {
		codeLocation, codeVersion = m.Code.LocationID, m.Code.Version
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO outbox (channel, to_address, tracking_code, kind, text,
		created_at, shipment_id, location_id, code_version) VALUES `+t.db.placeholders(1, 9),
		m.Channel, m.To, m.TrackingCode, m.Kind, m.Text, t.db.time(m.CreatedAt),
		m.ShipmentID, codeLocation, codeVersion); err != nil {
		return fmt.Errorf("add outbox %s %s: %w", m.Kind, m.TrackingCode, err)
	}
	return nil
}

const compartmentsSQL = `SELECT location_id, number, size, length_cm, width_cm, height_cm,
	out_of_order, shipment_id, door_open FROM compartments WHERE location_id = $1 ORDER BY number`

// Compartments lists a locker's compartments by number, without a lock.
func (db *DB) Compartments(ctx context.Context, locationID string) ([]lokero.Compartment, error) {
	return compartments(ctx, db.db, locationID, compartmentsSQL)
}

// Compartments returns a locker's compartments ordered by number, locked
// until the transaction ends; none when it is not laid out yet. It first
// takes a lock on the locker, so that two transactions that find no rows
// cannot both lay the locker out; the rows are then read by a statement of
// their own, which in READ COMMITTED sees what the lock's previous holder
// committed.
func (t *Tx) Compartments(ctx context.Context, locationID string) ([]lokero.Compartment, error) {
	if err := t.db.dialect.Lock(ctx, t.tx, "compartments:"+locationID); err != nil {
		return nil, fmt.Errorf("lock compartments of %s: %w", locationID, err)
	}
	return compartments(ctx, t.tx, locationID, compartmentsSQL+t.db.dialect.ForUpdate())
}

func compartments(ctx context.Context, q querier, locationID, query string) ([]lokero.Compartment, error) {
	list, err := queryAll(ctx, q, func(r scanner) (lokero.Compartment, error) {
		var c lokero.Compartment
		var shipment sql.NullString
		err := r.Scan(&c.LocationID, &c.Number, &c.Size, &c.LengthCM, &c.WidthCM, &c.HeightCM,
			&c.OutOfOrder, &shipment, &c.DoorOpen)
		c.ShipmentID = shipment.String
		return c, err
	}, query, locationID)
	if err != nil {
		return nil, fmt.Errorf("compartments of %s: %w", locationID, err)
	}
	return list, nil
}

// PutCompartment inserts or updates one compartment (by location and
// number); an empty ShipmentID is stored as NULL.
func (t *Tx) PutCompartment(ctx context.Context, c lokero.Compartment) error {
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO compartments
		(location_id, number, size, length_cm, width_cm, height_cm, out_of_order, shipment_id, door_open)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (location_id, number) DO UPDATE SET
		size = excluded.size, length_cm = excluded.length_cm, width_cm = excluded.width_cm,
		height_cm = excluded.height_cm, out_of_order = excluded.out_of_order,
		shipment_id = excluded.shipment_id, door_open = excluded.door_open`,
		c.LocationID, c.Number, c.Size, c.LengthCM, c.WidthCM, c.HeightCM, c.OutOfOrder,
		nullIfEmpty(c.ShipmentID), c.DoorOpen); err != nil {
		return fmt.Errorf("put compartment %s/%d: %w", c.LocationID, c.Number, err)
	}
	return nil
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
