package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/lokero/lokero"
)

var (
	_ lokero.RetailerStore = (*DB)(nil)
	_ lokero.ShipmentStore = (*DB)(nil)
	_ lokero.ShipmentTx    = (*shipmentTx)(nil)
)

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// conflicts maps the names of the unique constraints (see the
// migrations) to the ECONFLICT error a violation means.
var conflicts = map[string]*lokero.Error{
	"retailers_pkey":                     {Code: lokero.ECONFLICT, Reason: "duplicate_id", Message: "a retailer with this ID already exists"},
	"retailers_key_hash_key":             {Code: lokero.ECONFLICT, Reason: "duplicate_key", Message: "this API key is already in use"},
	"shipments_pkey":                     {Code: lokero.ECONFLICT, Reason: "duplicate_id", Message: "a shipment with this ID already exists"},
	"shipments_tracking_code_key":        {Code: lokero.ECONFLICT, Reason: "duplicate_tracking_code", Message: "the tracking code is already in use"},
	"shipments_return_code_key":          {Code: lokero.ECONFLICT, Reason: "duplicate_return_code", Message: "the return code is already in use"},
	"shipments_return_tracking_code_key": {Code: lokero.ECONFLICT, Reason: "duplicate_return_tracking_code", Message: "the return tracking code is already in use"},
	"shipments_return_of_key":            {Code: lokero.ECONFLICT, Reason: "duplicate_return", Message: "this delivery was already returned"},
	"shipments_idempotency_key_key": {Code: lokero.ECONFLICT, Reason: "duplicate_idempotency_key",
		Message: "the retailer already used this idempotency key"},
	"credentials_pkey":           {Code: lokero.ECONFLICT, Reason: "duplicate_id", Message: "a credential with this ID already exists"},
	"credentials_token_hash_key": {Code: lokero.ECONFLICT, Reason: "duplicate_token", Message: "this token is already in use"},
}

// conflict returns the ECONFLICT error for a uniqueness violation (a copy,
// so that callers may change it), or nil when err is something else.
func conflict(err error) *lokero.Error {
	var e *pgconn.PgError
	if !errors.As(err, &e) || e.Code != "23505" { // unique_violation
		return nil
	}
	if c := conflicts[e.ConstraintName]; c != nil {
		cp := *c
		return &cp
	}
	return nil
}

// retryable reports whether err is PostgreSQL aborting a transaction that
// would succeed when run again: serialization_failure, deadlock_detected.
func retryable(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && (e.Code == "40001" || e.Code == "40P01")
}

// CreateRetailer stores a retailer with the hash of its API key. An ID or
// key hash already in use is an ECONFLICT.
func (db *DB) CreateRetailer(ctx context.Context, r lokero.Retailer, keyHash []byte) error {
	if _, err := db.db.ExecContext(ctx, `INSERT INTO retailers (id, name, key_hash, free_returns, created_at)
		VALUES ($1, $2, $3, $4, $5)`,
		r.ID, r.Name, keyHash, r.FreeReturns, dbTime(r.CreatedAt)); err != nil {
		if c := conflict(err); c != nil {
			return c
		}
		return fmt.Errorf("create retailer %s: %w", r.ID, err)
	}
	return nil
}

// RetailerByKeyHash returns the retailer whose API key hashes to keyHash,
// or ENOTFOUND.
func (db *DB) RetailerByKeyHash(ctx context.Context, keyHash []byte) (lokero.Retailer, error) {
	r, err := scanRetailer(db.db.QueryRowContext(ctx,
		`SELECT id, name, free_returns, created_at FROM retailers WHERE key_hash = $1`, keyHash))
	if errors.Is(err, sql.ErrNoRows) {
		return lokero.Retailer{}, lokero.Errorf(lokero.ENOTFOUND, "no retailer has this API key")
	} else if err != nil {
		return lokero.Retailer{}, fmt.Errorf("retailer by key: %w", err)
	}
	return r, nil
}

// Retailer returns a retailer by ID, or ENOTFOUND.
func (db *DB) Retailer(ctx context.Context, id string) (lokero.Retailer, error) {
	r, err := scanRetailer(db.db.QueryRowContext(ctx,
		`SELECT id, name, free_returns, created_at FROM retailers WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return lokero.Retailer{}, lokero.Errorf(lokero.ENOTFOUND, "retailer %q not found", id)
	} else if err != nil {
		return lokero.Retailer{}, fmt.Errorf("retailer %s: %w", id, err)
	}
	return r, nil
}

func scanRetailer(row scanner) (lokero.Retailer, error) {
	var r lokero.Retailer
	if err := row.Scan(&r.ID, &r.Name, &r.FreeReturns, &r.CreatedAt); err != nil {
		return r, err
	}
	r.CreatedAt = r.CreatedAt.UTC()
	return r, nil
}

// shipmentColumns are the columns scanShipment reads, in its order.
const shipmentColumns = `id, retailer_id, reference, tracking_code, status, sender, recipient,
	parcel, cod, pickup_point_id, fallback, destination_id, routing_rule, routing_reason,
	delivery_date, size_class, return_code, return_tracking_code, created_at, updated_at,
	request_hash, compartment, storage_deadline, opening_code_hash, kind, return_of`

// maxAttempts is how many times InTx runs fn when PostgreSQL aborts its
// transaction for a deadlock or a serialization failure.
const maxAttempts = 5

// InTx runs fn in one transaction (READ COMMITTED: ShipmentTx.Shipment and
// the writes lock the rows they touch). It commits when fn returns nil; it
// rolls back when fn returns an error, which InTx returns as it is, or
// panics, which goes on after the rollback. When PostgreSQL aborts the
// transaction for a deadlock or a serialization failure, InTx runs fn
// again in a new one, up to 5 times in all: fn must not have effects
// outside the transaction that cannot be repeated.
func (db *DB) InTx(ctx context.Context, fn func(tx lokero.ShipmentTx) error) error {
	for attempt := 1; ; attempt++ {
		err := db.inTx(ctx, fn)
		if err == nil || attempt == maxAttempts || !retryable(err) {
			return err
		}
		// A random pause, so that the contenders do not meet again.
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(1+rand.IntN(10*attempt)) * time.Millisecond):
		}
	}
}

func (db *DB) inTx(ctx context.Context, fn func(tx lokero.ShipmentTx) error) error {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback() // after a commit, a no-op
	if err := fn(&shipmentTx{tx: tx}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// read runs fn in a read-only REPEATABLE READ transaction: one snapshot
// for the several queries of a read.
func (db *DB) read(ctx context.Context, fn func(q querier) error) error {
	tx, err := db.db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	return fn(tx)
}

// Shipment returns a shipment with its events, or ENOTFOUND.
func (db *DB) Shipment(ctx context.Context, id string) (s lokero.Shipment, err error) {
	err = db.read(ctx, func(q querier) error {
		s, _, err = shipmentWhere(ctx, q, `id = $1`, id)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return lokero.Shipment{}, lokero.Errorf(lokero.ENOTFOUND, "shipment %q not found", id)
	} else if err != nil {
		return lokero.Shipment{}, fmt.Errorf("shipment %s: %w", id, err)
	}
	return s, nil
}

// ShipmentByTrackingCode returns the shipment with this tracking code or
// return tracking code (the former first), with its events, or ENOTFOUND.
func (db *DB) ShipmentByTrackingCode(ctx context.Context, code string) (s lokero.Shipment, err error) {
	err = db.read(ctx, func(q querier) error {
		s, _, err = shipmentWhere(ctx, q,
			`tracking_code = $1 OR return_tracking_code = $1 ORDER BY tracking_code <> $1 LIMIT 1`, code)
		return err
	})
	if errors.Is(err, sql.ErrNoRows) {
		return lokero.Shipment{}, lokero.Errorf(lokero.ENOTFOUND, "shipment %q not found", code)
	} else if err != nil {
		return lokero.Shipment{}, fmt.Errorf("shipment by tracking code %s: %w", code, err)
	}
	return s, nil
}

// Shipment list limits.
const (
	defaultShipmentLimit = 50
	maxShipmentLimit     = 500
)

// Shipments lists a retailer's shipments matching the filter, without
// their events, ordered by ID (byte order): at most f.Limit of them (50
// when 0, never more than 500). Each combination of filters is its own
// statement, so that each gets the plan of its index.
func (db *DB) Shipments(ctx context.Context, f lokero.ShipmentFilter) ([]lokero.Shipment, error) {
	query := `SELECT ` + shipmentColumns + ` FROM shipments WHERE retailer_id = $1 AND id > $2`
	args := []any{f.RetailerID, f.AfterID}
	if f.Status != "" {
		args = append(args, string(f.Status))
		query += ` AND status = $` + strconv.Itoa(len(args))
	}
	if f.Reference != "" {
		args = append(args, f.Reference)
		query += ` AND reference = $` + strconv.Itoa(len(args))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultShipmentLimit
	}
	args = append(args, min(limit, maxShipmentLimit))
	query += ` ORDER BY id LIMIT $` + strconv.Itoa(len(args))

	rows, err := db.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("shipments of %s: %w", f.RetailerID, err)
	}
	defer rows.Close()
	var list []lokero.Shipment
	for rows.Next() {
		s, _, err := scanShipment(rows)
		if err != nil {
			return nil, fmt.Errorf("shipments of %s: %w", f.RetailerID, err)
		}
		list = append(list, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("shipments of %s: %w", f.RetailerID, err)
	}
	return list, nil
}

// CODCollected lists the shipments whose cash on delivery was collected
// in [from, to), without their events, ordered by retailer and ID (byte
// order). The bounds are rounded up to the microsecond, the precision of
// the stored times.
func (db *DB) CODCollected(ctx context.Context, from, to time.Time) ([]lokero.Shipment, error) {
	from, to = ceilMicrosecond(from), ceilMicrosecond(to)
	rows, err := db.db.QueryContext(ctx, `SELECT `+shipmentColumns+` FROM shipments
		WHERE cod_collected_at >= $1 AND cod_collected_at < $2 ORDER BY retailer_id, id`,
		dbTime(from), dbTime(to))
	if err != nil {
		return nil, fmt.Errorf("cod collected: %w", err)
	}
	defer rows.Close()
	var list []lokero.Shipment
	for rows.Next() {
		s, _, err := scanShipment(rows)
		if err != nil {
			return nil, fmt.Errorf("cod collected: %w", err)
		}
		list = append(list, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("cod collected: %w", err)
	}
	return list, nil
}

// ReservedOn returns the reservations of every location, or of the
// locations given, for a delivery date.
func (db *DB) ReservedOn(ctx context.Context, date string, locationIDs ...string) (map[string]map[string]int, error) {
	query, args := `SELECT location_id, size, reserved FROM reservations WHERE delivery_date = $1 AND reserved > 0`, []any{date}
	if len(locationIDs) > 0 {
		query, args = query+` AND location_id = ANY($2)`, append(args, locationIDs)
	}
	rows, err := db.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("reserved on %s: %w", date, err)
	}
	defer rows.Close()
	out := map[string]map[string]int{}
	for rows.Next() {
		var loc, size string
		var n int
		if err := rows.Scan(&loc, &size, &n); err != nil {
			return nil, fmt.Errorf("reserved on %s: %w", date, err)
		}
		if out[loc] == nil {
			out[loc] = map[string]int{}
		}
		out[loc][size] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reserved on %s: %w", date, err)
	}
	return out, nil
}

// ShipmentsTo lists the shipments routed to a location in the statuses.
func (db *DB) ShipmentsTo(ctx context.Context, locationID string, statuses []lokero.ShipmentStatus) ([]lokero.Shipment, error) {
	names := make([]string, len(statuses))
	for i, s := range statuses {
		names[i] = string(s)
	}
	statusList := names
	rows, err := db.db.QueryContext(ctx, `SELECT `+shipmentColumns+` FROM shipments WHERE destination_id = $1 AND status = ANY($2) ORDER BY id`, locationID, statusList)
	if err != nil {
		return nil, fmt.Errorf("shipments to %s: %w", locationID, err)
	}
	defer rows.Close()
	var list []lokero.Shipment
	for rows.Next() {
		s, _, err := scanShipment(rows)
		if err != nil {
			return nil, fmt.Errorf("shipments to %s: %w", locationID, err)
		}
		list = append(list, s)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("shipments to %s: %w", locationID, err)
	}
	return list, nil
}

// ceilMicrosecond rounds t up to the microsecond: a stored time (to the
// microsecond) is at or after t exactly when it is at or after that.
func ceilMicrosecond(t time.Time) time.Time {
	if c := t.Truncate(time.Microsecond); !c.Equal(t) {
		return c.Add(time.Microsecond)
	}
	return t
}

// shipmentWhere reads the shipment selected by the rest of the query after
// WHERE, then its events, and the hash of the request that created it; it
// returns sql.ErrNoRows when there is none. The events are read by a
// statement of their own, after the first has taken any row lock it asks
// for: in READ COMMITTED, that one sees what the lock's previous holder
// committed.
func shipmentWhere(ctx context.Context, q querier, rest string, args ...any) (lokero.Shipment, []byte, error) {
	s, hash, err := scanShipment(q.QueryRowContext(ctx,
		`SELECT `+shipmentColumns+` FROM shipments WHERE `+rest, args...))
	if err != nil {
		return s, nil, err
	}
	rows, err := q.QueryContext(ctx,
		`SELECT status, at, location_id, reason FROM shipment_events WHERE shipment_id = $1 ORDER BY seq`, s.ID)
	if err != nil {
		return s, nil, fmt.Errorf("events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e lokero.ShipmentEvent
		var status string
		if err := rows.Scan(&status, &e.At, &e.LocationID, &e.Reason); err != nil {
			return s, nil, fmt.Errorf("events: %w", err)
		}
		e.Status, e.At = lokero.ShipmentStatus(status), e.At.UTC()
		s.Events = append(s.Events, e)
	}
	if err := rows.Err(); err != nil {
		return s, nil, fmt.Errorf("events: %w", err)
	}
	return s, hash, nil
}

// scanShipment reads the shipmentColumns of a row: the shipment without
// its events, and the request hash.
func scanShipment(row scanner) (lokero.Shipment, []byte, error) {
	var (
		s                         lokero.Shipment
		status                    string
		sender, recipient, parcel []byte
		cod                       []byte
		returnCode, returnTrack   sql.NullString
		kind, returnOf            sql.NullString
		hash                      []byte
		deadline                  sql.NullTime
	)
	if err := row.Scan(&s.ID, &s.RetailerID, &s.Reference, &s.TrackingCode, &status,
		&sender, &recipient, &parcel, &cod, &s.PickupPointID, &s.Fallback, &s.DestinationID,
		&s.Routing.Rule, &s.Routing.Reason, &s.DeliveryDate, &s.SizeClass,
		&returnCode, &returnTrack, &s.CreatedAt, &s.UpdatedAt, &hash,
		&s.Compartment, &deadline, &s.OpeningCodeHash, &kind, &returnOf); err != nil {
		return s, nil, err
	}
	s.Kind, s.ReturnOf = lokero.ShipmentKind(kind.String), returnOf.String
	if deadline.Valid {
		s.StorageDeadline = deadline.Time.UTC()
	}
	s.Status = lokero.ShipmentStatus(status)
	s.ReturnCode, s.ReturnTrackingCode = returnCode.String, returnTrack.String
	s.CreatedAt, s.UpdatedAt = s.CreatedAt.UTC(), s.UpdatedAt.UTC()
	for _, c := range []struct {
		name string
		data []byte
		v    any
	}{{"sender", sender, &s.Sender}, {"recipient", recipient, &s.Recipient}, {"parcel", parcel, &s.Parcel}} {
		if err := json.Unmarshal(c.data, c.v); err != nil {
			return s, nil, fmt.Errorf("shipment %s: decode %s: %w", s.ID, c.name, err)
		}
	}
	if cod != nil {
		s.COD = new(lokero.COD)
		if err := json.Unmarshal(cod, s.COD); err != nil {
			return s, nil, fmt.Errorf("shipment %s: decode cod: %w", s.ID, err)
		}
	}
	return s, hash, nil
}

// encodeCOD returns the cod column: NULL for no cash on delivery, else
// JSON with CollectedAt in UTC to the microsecond, like every stored time.
func encodeCOD(c *lokero.COD) ([]byte, error) {
	if c == nil {
		return nil, nil
	}
	v := *c
	if v.CollectedAt != nil {
		t := v.CollectedAt.UTC().Truncate(time.Microsecond)
		v.CollectedAt = &t
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode cod: %w", err)
	}
	return b, nil
}

// codCollectedAt returns the cod_collected_at column: NULL when there is
// no cash on delivery or it is not collected, else CollectedAt as dbTime.
func codCollectedAt(c *lokero.COD) any {
	if c == nil || c.CollectedAt == nil {
		return nil
	}
	return dbTime(*c.CollectedAt)
}

// nullIfEmpty stores "" as NULL, so that unique columns hold many of it.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// dbTime is t as stored: UTC, to the microsecond.
func dbTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// nullTime stores the zero time as NULL, any other as dbTime.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return dbTime(t)
}

// nullBytes stores an empty byte slice as NULL (it comes back nil).
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// shipmentTx is a ShipmentTx in a READ COMMITTED transaction.
type shipmentTx struct {
	tx *sql.Tx
}

// SQLTx returns the transaction (for the job queue's inserts in it).
func (t *shipmentTx) SQLTx() *sql.Tx { return t.tx }

// savepoint runs write inside a savepoint and rolls back to it when write
// fails, so that a refused write (a duplicate code) leaves the transaction
// usable, as in SQLite, instead of aborting it.
func (t *shipmentTx) savepoint(ctx context.Context, write func() error) error {
	if _, err := t.tx.ExecContext(ctx, `SAVEPOINT lokero_write`); err != nil {
		return fmt.Errorf("savepoint: %w", err)
	}
	if err := write(); err != nil {
		if _, rerr := t.tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT lokero_write`); rerr != nil {
			return errors.Join(err, fmt.Errorf("rollback to savepoint: %w", rerr))
		}
		return err
	}
	if _, err := t.tx.ExecContext(ctx, `RELEASE SAVEPOINT lokero_write`); err != nil {
		return fmt.Errorf("release savepoint: %w", err)
	}
	return nil
}

// ShipmentByIdempotencyKey returns the shipment a retailer created with
// this key, with its events, and the hash of that request; or ENOTFOUND.
func (t *shipmentTx) ShipmentByIdempotencyKey(ctx context.Context, retailerID, key string) (lokero.Shipment, []byte, error) {
	s, hash, err := shipmentWhere(ctx, t.tx, `retailer_id = $1 AND idempotency_key = $2`, retailerID, key)
	if errors.Is(err, sql.ErrNoRows) {
		return lokero.Shipment{}, nil, lokero.Errorf(lokero.ENOTFOUND, "no shipment with idempotency key %q", key)
	} else if err != nil {
		return lokero.Shipment{}, nil, fmt.Errorf("shipment by idempotency key %s: %w", key, err)
	}
	return s, hash, nil
}

// InsertShipment stores a new shipment and its events (numbered from 1),
// with the idempotency key (none when "") and the request hash. A
// duplicate ID, tracking code, return code, return tracking code or
// idempotency key (of the same retailer) is an ECONFLICT with the reason
// "duplicate_id", "duplicate_tracking_code", "duplicate_return_code",
// "duplicate_return_tracking_code" or "duplicate_idempotency_key"; it
// writes nothing and the transaction goes on. A concurrent transaction
// inserting the same key waits for this one to end.
func (t *shipmentTx) InsertShipment(ctx context.Context, s *lokero.Shipment, idempotencyKey string, requestHash []byte) error {
	var parties [3][]byte
	for i, v := range []any{s.Sender, s.Recipient, s.Parcel} {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("insert shipment %s: %w", s.ID, err)
		}
		parties[i] = b
	}
	cod, err := encodeCOD(s.COD)
	if err != nil {
		return fmt.Errorf("insert shipment %s: %w", s.ID, err)
	}
	err = t.savepoint(ctx, func() error {
		if _, err := t.tx.ExecContext(ctx, `INSERT INTO shipments (`+shipmentColumns+`, idempotency_key,
			cod_collected_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
				$17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28)`,
			s.ID, s.RetailerID, s.Reference, s.TrackingCode, string(s.Status),
			parties[0], parties[1], parties[2], cod, s.PickupPointID, s.Fallback, s.DestinationID,
			s.Routing.Rule, s.Routing.Reason, s.DeliveryDate, s.SizeClass,
			nullIfEmpty(s.ReturnCode), nullIfEmpty(s.ReturnTrackingCode),
			dbTime(s.CreatedAt), dbTime(s.UpdatedAt), requestHash,
			s.Compartment, nullTime(s.StorageDeadline), nullBytes(s.OpeningCodeHash),
			string(s.Kind.OrDefault()), nullIfEmpty(s.ReturnOf),
			nullIfEmpty(idempotencyKey), codCollectedAt(s.COD)); err != nil {
			return err
		}
		return insertEvents(ctx, t.tx, s.ID, 0, s.Events)
	})
	if c := conflict(err); c != nil {
		return c
	} else if err != nil {
		return fmt.Errorf("insert shipment %s: %w", s.ID, err)
	}
	return nil
}

// insertEventsSQL writes a shipment's events, given as parallel arrays, in
// one statement.
const insertEventsSQL = `INSERT INTO shipment_events (shipment_id, seq, status, at, location_id, reason)
SELECT $1, seq, status, at, location_id, reason
FROM unnest($2::integer[], $3::text[], $4::timestamptz[], $5::text[], $6::text[])
	AS u(seq, status, at, location_id, reason)`

// insertEvents stores events as the shipment's events after the first
// stored ones.
func insertEvents(ctx context.Context, tx *sql.Tx, id string, stored int, events []lokero.ShipmentEvent) error {
	if len(events) == 0 {
		return nil
	}
	var (
		seqs                       = make([]int32, len(events))
		statuses, locations, notes = make([]string, len(events)), make([]string, len(events)), make([]string, len(events))
		ats                        = make([]time.Time, len(events))
	)
	for i, e := range events {
		seqs[i] = int32(stored + i + 1)
		statuses[i], ats[i], locations[i], notes[i] = string(e.Status), dbTime(e.At), e.LocationID, e.Reason
	}
	if _, err := tx.ExecContext(ctx, insertEventsSQL, id, seqs, statuses, ats, locations, notes); err != nil {
		return fmt.Errorf("events %d to %d: %w", stored+1, stored+len(events), err)
	}
	return nil
}

// Shipment reads a shipment with its events and locks it (SELECT … FOR
// UPDATE) until the transaction ends; or returns ENOTFOUND.
func (t *shipmentTx) Shipment(ctx context.Context, id string) (lokero.Shipment, error) {
	s, _, err := shipmentWhere(ctx, t.tx, `id = $1 FOR UPDATE`, id)
	if errors.Is(err, sql.ErrNoRows) {
		return lokero.Shipment{}, lokero.Errorf(lokero.ENOTFOUND, "shipment %q not found", id)
	} else if err != nil {
		return lokero.Shipment{}, fmt.Errorf("shipment %s: %w", id, err)
	}
	return s, nil
}

// ShipmentByReturnCode reads the shipment whose return code (a
// delivery's, or a pre-paid parcel's own) is code, locked as Shipment.
func (t *shipmentTx) ShipmentByReturnCode(ctx context.Context, code string) (lokero.Shipment, error) {
	s, _, err := shipmentWhere(ctx, t.tx, `return_code = $1 FOR UPDATE`, code)
	if errors.Is(err, sql.ErrNoRows) {
		return lokero.Shipment{}, lokero.Errorf(lokero.ENOTFOUND, "no shipment with that return code")
	} else if err != nil {
		return lokero.Shipment{}, fmt.Errorf("shipment by return code: %w", err)
	}
	return s, nil
}

// ReturnOf reads the return shipment of a delivery, locked as Shipment.
func (t *shipmentTx) ReturnOf(ctx context.Context, deliveryID string) (lokero.Shipment, error) {
	s, _, err := shipmentWhere(ctx, t.tx, `return_of = $1 FOR UPDATE`, deliveryID)
	if errors.Is(err, sql.ErrNoRows) {
		return lokero.Shipment{}, lokero.Errorf(lokero.ENOTFOUND, "shipment %q has no return", deliveryID)
	} else if err != nil {
		return lokero.Shipment{}, fmt.Errorf("return of %s: %w", deliveryID, err)
	}
	return s, nil
}

// UpdateShipment writes the shipment's mutable fields (status,
// destination, routing, delivery date, size class, COD, return codes,
// compartment, storage deadline, opening code hash, updated_at) and appends the events of s.Events beyond those stored,
// counted once the UPDATE holds the row's lock. A return code or return
// tracking code in use elsewhere is an ECONFLICT as in InsertShipment; no
// such shipment, ENOTFOUND.
func (t *shipmentTx) UpdateShipment(ctx context.Context, s *lokero.Shipment) error {
	cod, err := encodeCOD(s.COD)
	if err != nil {
		return fmt.Errorf("update shipment %s: %w", s.ID, err)
	}
	var found bool
	err = t.savepoint(ctx, func() error {
		r, err := t.tx.ExecContext(ctx, `UPDATE shipments SET status = $1, destination_id = $2,
			routing_rule = $3, routing_reason = $4, delivery_date = $5, size_class = $6, cod = $7,
			return_code = $8, return_tracking_code = $9, compartment = $10, storage_deadline = $11,
			opening_code_hash = $12, updated_at = $13, cod_collected_at = $14
			WHERE id = $15`,
			string(s.Status), s.DestinationID, s.Routing.Rule, s.Routing.Reason, s.DeliveryDate,
			s.SizeClass, cod, nullIfEmpty(s.ReturnCode), nullIfEmpty(s.ReturnTrackingCode),
			s.Compartment, nullTime(s.StorageDeadline), nullBytes(s.OpeningCodeHash),
			dbTime(s.UpdatedAt), codCollectedAt(s.COD), s.ID)
		if err != nil {
			return err
		}
		n, err := r.RowsAffected()
		if err != nil {
			return err
		}
		if found = n == 1; !found {
			return nil
		}
		var stored int
		if err := t.tx.QueryRowContext(ctx, `SELECT count(*) FROM shipment_events WHERE shipment_id = $1`,
			s.ID).Scan(&stored); err != nil {
			return fmt.Errorf("count events: %w", err)
		}
		if stored < len(s.Events) {
			return insertEvents(ctx, t.tx, s.ID, stored, s.Events[stored:])
		}
		return nil
	})
	if c := conflict(err); c != nil {
		return c
	} else if err != nil {
		return fmt.Errorf("update shipment %s: %w", s.ID, err)
	} else if !found {
		return lokero.Errorf(lokero.ENOTFOUND, "shipment %q not found", s.ID)
	}
	return nil
}

// Reserve takes one compartment of size class size at a location for a
// delivery date if fewer than capacity are taken, and reports whether it
// did: one statement, that inserts the counter at 1 or increments it below
// capacity, holding the counter's row lock until the transaction ends.
func (t *shipmentTx) Reserve(ctx context.Context, locationID, date, size string, capacity int) (bool, error) {
	if capacity <= 0 {
		return false, nil
	}
	r, err := t.tx.ExecContext(ctx, `INSERT INTO reservations (location_id, delivery_date, size, reserved)
		VALUES ($1, $2, $3, 1)
		ON CONFLICT (location_id, delivery_date, size) DO UPDATE
		SET reserved = reservations.reserved + 1 WHERE reservations.reserved < $4`,
		locationID, date, size, capacity)
	if err != nil {
		return false, fmt.Errorf("reserve %s %s %s: %w", locationID, date, size, err)
	}
	n, err := r.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("reserve %s %s %s: %w", locationID, date, size, err)
	}
	return n == 1, nil
}

// Release gives back one reservation taken by Reserve; the count never
// goes below zero.
func (t *shipmentTx) Release(ctx context.Context, locationID, date, size string) error {
	if _, err := t.tx.ExecContext(ctx, `UPDATE reservations SET reserved = reserved - 1
		WHERE location_id = $1 AND delivery_date = $2 AND size = $3 AND reserved > 0`,
		locationID, date, size); err != nil {
		return fmt.Errorf("release %s %s %s: %w", locationID, date, size, err)
	}
	return nil
}

// Reserved returns how many compartments of each size class are reserved
// at a location for a date; size classes with none are absent.
func (t *shipmentTx) Reserved(ctx context.Context, locationID, date string) (map[string]int, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT size, reserved FROM reservations
		WHERE location_id = $1 AND delivery_date = $2 AND reserved > 0`, locationID, date)
	if err != nil {
		return nil, fmt.Errorf("reserved %s %s: %w", locationID, date, err)
	}
	defer rows.Close()
	m := map[string]int{}
	for rows.Next() {
		var size string
		var n int
		if err := rows.Scan(&size, &n); err != nil {
			return nil, fmt.Errorf("reserved %s %s: %w", locationID, date, err)
		}
		m[size] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reserved %s %s: %w", locationID, date, err)
	}
	return m, nil
}
