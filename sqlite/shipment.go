package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

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

// conflicts maps the columns of a violated UNIQUE or PRIMARY KEY
// constraint, as SQLite names them, to the ECONFLICT error it means.
var conflicts = map[string]*lokero.Error{
	"retailers.id":                   {Code: lokero.ECONFLICT, Reason: "duplicate_id", Message: "a retailer with this ID already exists"},
	"retailers.key_hash":             {Code: lokero.ECONFLICT, Reason: "duplicate_key", Message: "this API key is already in use"},
	"shipments.id":                   {Code: lokero.ECONFLICT, Reason: "duplicate_id", Message: "a shipment with this ID already exists"},
	"shipments.tracking_code":        {Code: lokero.ECONFLICT, Reason: "duplicate_tracking_code", Message: "the tracking code is already in use"},
	"shipments.return_code":          {Code: lokero.ECONFLICT, Reason: "duplicate_return_code", Message: "the return code is already in use"},
	"shipments.return_tracking_code": {Code: lokero.ECONFLICT, Reason: "duplicate_return_tracking_code", Message: "the return tracking code is already in use"},
	"shipments.return_of":            {Code: lokero.ECONFLICT, Reason: "duplicate_return", Message: "this delivery was already returned"},
	"shipments.retailer_id, shipments.idempotency_key": {Code: lokero.ECONFLICT, Reason: "duplicate_idempotency_key",
		Message: "the retailer already used this idempotency key"},
	"credentials.id":         {Code: lokero.ECONFLICT, Reason: "duplicate_id", Message: "a credential with this ID already exists"},
	"credentials.token_hash": {Code: lokero.ECONFLICT, Reason: "duplicate_token", Message: "this token is already in use"},
}

// conflict returns the ECONFLICT error for a uniqueness violation (a copy,
// so that callers may change it), or nil when err is something else.
func conflict(err error) *lokero.Error {
	var e *msqlite.Error
	if !errors.As(err, &e) ||
		e.Code() != sqlite3.SQLITE_CONSTRAINT_UNIQUE && e.Code() != sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		return nil
	}
	// "... UNIQUE constraint failed: shipments.tracking_code (2067)"
	_, cols, _ := strings.Cut(e.Error(), "UNIQUE constraint failed: ")
	cols, _, _ = strings.Cut(cols, " (")
	if c := conflicts[cols]; c != nil {
		cp := *c
		return &cp
	}
	return nil
}

// CreateRetailer stores a retailer with the hash of its API key. An ID or
// key hash already in use is an ECONFLICT.
func (db *DB) CreateRetailer(ctx context.Context, r lokero.Retailer, keyHash []byte) error {
	if _, err := db.db.ExecContext(ctx, `INSERT INTO retailers (id, name, key_hash, free_returns, created_at)
		VALUES (?, ?, ?, ?, ?)`, r.ID, r.Name, keyHash, r.FreeReturns, formatTime(r.CreatedAt)); err != nil {
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
		`SELECT id, name, free_returns, created_at FROM retailers WHERE key_hash = ?`, keyHash))
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
		`SELECT id, name, free_returns, created_at FROM retailers WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return lokero.Retailer{}, lokero.Errorf(lokero.ENOTFOUND, "retailer %q not found", id)
	} else if err != nil {
		return lokero.Retailer{}, fmt.Errorf("retailer %s: %w", id, err)
	}
	return r, nil
}

func scanRetailer(row scanner) (lokero.Retailer, error) {
	var r lokero.Retailer
	var created string
	if err := row.Scan(&r.ID, &r.Name, &r.FreeReturns, &created); err != nil {
		return r, err
	}
	var err error
	if r.CreatedAt, err = parseTime(created); err != nil {
		return r, fmt.Errorf("retailer %s: created_at: %w", r.ID, err)
	}
	return r, nil
}

// shipmentColumns are the columns scanShipment reads, in its order.
const shipmentColumns = `id, retailer_id, reference, tracking_code, status, sender, recipient,
	parcel, cod, pickup_point_id, fallback, destination_id, routing_rule, routing_reason,
	delivery_date, size_class, return_code, return_tracking_code, created_at, updated_at,
	request_hash, compartment, storage_deadline, opening_code_hash, kind, return_of`

// InTx runs fn in one IMMEDIATE transaction (the DSN's _txlock): it takes
// the write lock up front, so writers run one after the other and what fn
// reads stays true until it commits. It commits when fn returns nil; it
// rolls back when fn returns an error, which InTx returns as it is, or
// panics, which goes on after the rollback.
func (db *DB) InTx(ctx context.Context, fn func(tx lokero.ShipmentTx) error) error {
	tx, done, err := db.begin(ctx)
	if err != nil {
		return err
	}
	defer done() // after a commit, the rollback is a no-op
	if err := fn(&shipmentTx{tx: tx}); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// read runs fn in a read-only (deferred) transaction: one snapshot of the
// database, taken without the write lock.
func (db *DB) read(ctx context.Context, fn func(q querier) error) error {
	tx, err := db.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer tx.Rollback()
	return fn(tx)
}

// Shipment returns a shipment with its events, or ENOTFOUND.
func (db *DB) Shipment(ctx context.Context, id string) (s lokero.Shipment, err error) {
	err = db.read(ctx, func(q querier) error {
		s, _, err = shipmentWhere(ctx, q, `id = ?`, id)
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
			`tracking_code = ?1 OR return_tracking_code = ?1 ORDER BY tracking_code <> ?1 LIMIT 1`, code)
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
// their events, ordered by ID: at most f.Limit of them (50 when 0, never
// more than 500).
func (db *DB) Shipments(ctx context.Context, f lokero.ShipmentFilter) ([]lokero.Shipment, error) {
	query := `SELECT ` + shipmentColumns + ` FROM shipments WHERE retailer_id = ? AND id > ?`
	args := []any{f.RetailerID, f.AfterID}
	if f.Status != "" {
		query += ` AND status = ?`
		args = append(args, string(f.Status))
	}
	if f.Reference != "" {
		query += ` AND reference = ?`
		args = append(args, f.Reference)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultShipmentLimit
	}
	query += ` ORDER BY id LIMIT ?`
	args = append(args, min(limit, maxShipmentLimit))

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
// in [from, to), without their events, ordered by retailer and ID. The
// bounds are rounded up to the microsecond, the precision of the stored
// times.
func (db *DB) CODCollected(ctx context.Context, from, to time.Time) ([]lokero.Shipment, error) {
	from, to = ceilMicrosecond(from), ceilMicrosecond(to)
	rows, err := db.db.QueryContext(ctx, `SELECT `+shipmentColumns+` FROM shipments
		WHERE cod_collected_at >= ? AND cod_collected_at < ? ORDER BY retailer_id, id`,
		formatTime(from), formatTime(to))
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
	out := map[string]map[string]int{}
	if len(locationIDs) == 0 {
		return out, db.reservedOn(ctx, out, `SELECT location_id, size, reserved FROM reservations WHERE delivery_date = ? AND reserved > 0`, date)
	}
	// A few hundred at a time: SQLite limits the parameters of a statement.
	for ids := range slices.Chunk(locationIDs, 500) {
		args := []any{date}
		for _, id := range ids {
			args = append(args, id)
		}
		query := `SELECT location_id, size, reserved FROM reservations WHERE delivery_date = ? AND reserved > 0
			AND location_id IN (?` + strings.Repeat(", ?", len(ids)-1) + `)`
		if err := db.reservedOn(ctx, out, query, args...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// reservedOn adds the rows of a reservations query to out.
func (db *DB) reservedOn(ctx context.Context, out map[string]map[string]int, query string, args ...any) error {
	date := args[0]
	rows, err := db.db.QueryContext(ctx, query, args...)
	if err != nil {
		return fmt.Errorf("reserved on %s: %w", date, err)
	}
	defer rows.Close()
	for rows.Next() {
		var loc, size string
		var n int
		if err := rows.Scan(&loc, &size, &n); err != nil {
			return fmt.Errorf("reserved on %s: %w", date, err)
		}
		if out[loc] == nil {
			out[loc] = map[string]int{}
		}
		out[loc][size] = n
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("reserved on %s: %w", date, err)
	}
	return nil
}

// ShipmentsTo lists the shipments routed to a location in the statuses.
func (db *DB) ShipmentsTo(ctx context.Context, locationID string, statuses []lokero.ShipmentStatus) ([]lokero.Shipment, error) {
	names := make([]string, len(statuses))
	for i, s := range statuses {
		names[i] = string(s)
	}
	statusJSON, err := json.Marshal(names)
	if err != nil {
		return nil, err
	}
	rows, err := db.db.QueryContext(ctx, `SELECT `+shipmentColumns+` FROM shipments WHERE destination_id = ? AND status IN (SELECT value FROM json_each(?)) ORDER BY id`, locationID, string(statusJSON))
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
// WHERE, with its events, and the hash of the request that created it; it
// returns sql.ErrNoRows when there is none.
func shipmentWhere(ctx context.Context, q querier, rest string, args ...any) (lokero.Shipment, []byte, error) {
	s, hash, err := scanShipment(q.QueryRowContext(ctx,
		`SELECT `+shipmentColumns+` FROM shipments WHERE `+rest, args...))
	if err != nil {
		return s, nil, err
	}
	rows, err := q.QueryContext(ctx,
		`SELECT status, at, location_id, reason FROM shipment_events WHERE shipment_id = ? ORDER BY seq`, s.ID)
	if err != nil {
		return s, nil, fmt.Errorf("events: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var e lokero.ShipmentEvent
		var status, at string
		if err := rows.Scan(&status, &at, &e.LocationID, &e.Reason); err != nil {
			return s, nil, fmt.Errorf("events: %w", err)
		}
		e.Status = lokero.ShipmentStatus(status)
		if e.At, err = parseTime(at); err != nil {
			return s, nil, fmt.Errorf("event at: %w", err)
		}
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
		sender, recipient, parcel string
		cod                       sql.NullString
		returnCode, returnTrack   sql.NullString
		kind, returnOf            sql.NullString
		created, updated          string
		hash                      []byte
		deadline                  sql.NullString
	)
	if err := row.Scan(&s.ID, &s.RetailerID, &s.Reference, &s.TrackingCode, &status,
		&sender, &recipient, &parcel, &cod, &s.PickupPointID, &s.Fallback, &s.DestinationID,
		&s.Routing.Rule, &s.Routing.Reason, &s.DeliveryDate, &s.SizeClass,
		&returnCode, &returnTrack, &created, &updated, &hash,
		&s.Compartment, &deadline, &s.OpeningCodeHash, &kind, &returnOf); err != nil {
		return s, nil, err
	}
	s.Kind, s.ReturnOf = lokero.ShipmentKind(kind.String), returnOf.String
	s.Status = lokero.ShipmentStatus(status)
	s.ReturnCode, s.ReturnTrackingCode = returnCode.String, returnTrack.String
	for _, c := range []struct {
		name string
		data string
		v    any
	}{{"sender", sender, &s.Sender}, {"recipient", recipient, &s.Recipient}, {"parcel", parcel, &s.Parcel}} {
		if err := json.Unmarshal([]byte(c.data), c.v); err != nil {
			return s, nil, fmt.Errorf("shipment %s: decode %s: %w", s.ID, c.name, err)
		}
	}
	if cod.Valid {
		s.COD = new(lokero.COD)
		if err := json.Unmarshal([]byte(cod.String), s.COD); err != nil {
			return s, nil, fmt.Errorf("shipment %s: decode cod: %w", s.ID, err)
		}
	}
	var err error
	if s.CreatedAt, err = parseTime(created); err != nil {
		return s, nil, fmt.Errorf("shipment %s: created_at: %w", s.ID, err)
	}
	if s.UpdatedAt, err = parseTime(updated); err != nil {
		return s, nil, fmt.Errorf("shipment %s: updated_at: %w", s.ID, err)
	}
	if deadline.Valid {
		if s.StorageDeadline, err = parseTime(deadline.String); err != nil {
			return s, nil, fmt.Errorf("shipment %s: storage_deadline: %w", s.ID, err)
		}
	}
	return s, hash, nil
}

// encodeCOD returns the cod column: NULL for no cash on delivery, else
// JSON with CollectedAt in UTC to the microsecond, like every stored time.
func encodeCOD(c *lokero.COD) (any, error) {
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
	return string(b), nil
}

// codCollectedAt returns the cod_collected_at column: NULL when there is
// no cash on delivery or it is not collected, else CollectedAt as
// formatTime.
func codCollectedAt(c *lokero.COD) any {
	if c == nil || c.CollectedAt == nil {
		return nil
	}
	return formatTime(*c.CollectedAt)
}

// nullIfEmpty stores "" as NULL, so that unique columns hold many of it.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullTime stores the zero time as NULL, any other as formatTime.
func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return formatTime(t)
}

// nullBytes stores an empty byte slice as NULL (it comes back nil).
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// shipmentTx is a ShipmentTx in an IMMEDIATE transaction: no other writer
// runs until it ends, so reads need no locks.
type shipmentTx struct {
	tx *sql.Tx
}

// SQLTx returns the transaction (for the job queue's inserts in it).
func (t *shipmentTx) SQLTx() *sql.Tx { return t.tx }

// ShipmentByIdempotencyKey returns the shipment a retailer created with
// this key, with its events, and the hash of that request; or ENOTFOUND.
func (t *shipmentTx) ShipmentByIdempotencyKey(ctx context.Context, retailerID, key string) (lokero.Shipment, []byte, error) {
	s, hash, err := shipmentWhere(ctx, t.tx, `retailer_id = ? AND idempotency_key = ?`, retailerID, key)
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
// writes nothing and the transaction goes on.
func (t *shipmentTx) InsertShipment(ctx context.Context, s *lokero.Shipment, idempotencyKey string, requestHash []byte) error {
	var parties [3]string
	for i, v := range []any{s.Sender, s.Recipient, s.Parcel} {
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("insert shipment %s: %w", s.ID, err)
		}
		parties[i] = string(b)
	}
	cod, err := encodeCOD(s.COD)
	if err != nil {
		return fmt.Errorf("insert shipment %s: %w", s.ID, err)
	}
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO shipments (`+shipmentColumns+`, idempotency_key,
		cod_collected_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		s.ID, s.RetailerID, s.Reference, s.TrackingCode, string(s.Status),
		parties[0], parties[1], parties[2], cod, s.PickupPointID, s.Fallback, s.DestinationID,
		s.Routing.Rule, s.Routing.Reason, s.DeliveryDate, s.SizeClass,
		nullIfEmpty(s.ReturnCode), nullIfEmpty(s.ReturnTrackingCode),
		formatTime(s.CreatedAt), formatTime(s.UpdatedAt), requestHash,
		s.Compartment, nullTime(s.StorageDeadline), nullBytes(s.OpeningCodeHash),
		string(s.Kind.OrDefault()), nullIfEmpty(s.ReturnOf),
		nullIfEmpty(idempotencyKey), codCollectedAt(s.COD)); err != nil {
		if c := conflict(err); c != nil {
			return c
		}
		return fmt.Errorf("insert shipment %s: %w", s.ID, err)
	}
	if err := insertEvents(ctx, t.tx, s.ID, 0, s.Events); err != nil {
		return fmt.Errorf("insert shipment %s: %w", s.ID, err)
	}
	return nil
}

// insertEvents stores events as the shipment's events after the first
// stored ones.
func insertEvents(ctx context.Context, tx *sql.Tx, id string, stored int, events []lokero.ShipmentEvent) error {
	if len(events) == 0 {
		return nil
	}
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO shipment_events
		(shipment_id, seq, status, at, location_id, reason) VALUES (?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("events: prepare: %w", err)
	}
	defer stmt.Close()
	for i, e := range events {
		seq := stored + i + 1
		if _, err := stmt.ExecContext(ctx, id, seq, string(e.Status), formatTime(e.At),
			e.LocationID, e.Reason); err != nil {
			return fmt.Errorf("event %d: %w", seq, err)
		}
	}
	return nil
}

// Shipment reads a shipment with its events, or returns ENOTFOUND. The
// transaction holds the write lock already: nobody else changes it.
func (t *shipmentTx) Shipment(ctx context.Context, id string) (lokero.Shipment, error) {
	s, _, err := shipmentWhere(ctx, t.tx, `id = ?`, id)
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
	s, _, err := shipmentWhere(ctx, t.tx, `return_code = ?`, code)
	if errors.Is(err, sql.ErrNoRows) {
		return lokero.Shipment{}, lokero.Errorf(lokero.ENOTFOUND, "no shipment with that return code")
	} else if err != nil {
		return lokero.Shipment{}, fmt.Errorf("shipment by return code: %w", err)
	}
	return s, nil
}

// ReturnOf reads the return shipment of a delivery, locked as Shipment.
func (t *shipmentTx) ReturnOf(ctx context.Context, deliveryID string) (lokero.Shipment, error) {
	s, _, err := shipmentWhere(ctx, t.tx, `return_of = ?`, deliveryID)
	if errors.Is(err, sql.ErrNoRows) {
		return lokero.Shipment{}, lokero.Errorf(lokero.ENOTFOUND, "shipment %q has no return", deliveryID)
	} else if err != nil {
		return lokero.Shipment{}, fmt.Errorf("return of %s: %w", deliveryID, err)
	}
	return s, nil
}

// UpdateShipment writes the shipment's mutable fields (status,
// destination, routing, delivery date, size class, COD, return codes,
// compartment, storage deadline, opening code hash, updated_at) and appends the events of s.Events beyond those stored. A
// return code or return tracking code in use elsewhere is an ECONFLICT as
// in InsertShipment; no such shipment, ENOTFOUND.
func (t *shipmentTx) UpdateShipment(ctx context.Context, s *lokero.Shipment) error {
	cod, err := encodeCOD(s.COD)
	if err != nil {
		return fmt.Errorf("update shipment %s: %w", s.ID, err)
	}
	r, err := t.tx.ExecContext(ctx, `UPDATE shipments SET status = ?, destination_id = ?,
		routing_rule = ?, routing_reason = ?, delivery_date = ?, size_class = ?, cod = ?,
		return_code = ?, return_tracking_code = ?, compartment = ?, storage_deadline = ?,
		opening_code_hash = ?, updated_at = ?, cod_collected_at = ?
		WHERE id = ?`,
		string(s.Status), s.DestinationID, s.Routing.Rule, s.Routing.Reason, s.DeliveryDate,
		s.SizeClass, cod, nullIfEmpty(s.ReturnCode), nullIfEmpty(s.ReturnTrackingCode),
		s.Compartment, nullTime(s.StorageDeadline), nullBytes(s.OpeningCodeHash),
		formatTime(s.UpdatedAt), codCollectedAt(s.COD), s.ID)
	if err != nil {
		if c := conflict(err); c != nil {
			return c
		}
		return fmt.Errorf("update shipment %s: %w", s.ID, err)
	}
	if n, err := r.RowsAffected(); err != nil {
		return fmt.Errorf("update shipment %s: %w", s.ID, err)
	} else if n == 0 {
		return lokero.Errorf(lokero.ENOTFOUND, "shipment %q not found", s.ID)
	}
	var stored int
	if err := t.tx.QueryRowContext(ctx, `SELECT count(*) FROM shipment_events WHERE shipment_id = ?`,
		s.ID).Scan(&stored); err != nil {
		return fmt.Errorf("update shipment %s: count events: %w", s.ID, err)
	}
	if stored < len(s.Events) {
		if err := insertEvents(ctx, t.tx, s.ID, stored, s.Events[stored:]); err != nil {
			return fmt.Errorf("update shipment %s: %w", s.ID, err)
		}
	}
	return nil
}

// Reserve takes one compartment of size class size at a location for a
// delivery date if fewer than capacity are taken, and reports whether it
// did: one statement, that inserts the counter at 1 or increments it below
// capacity.
func (t *shipmentTx) Reserve(ctx context.Context, locationID, date, size string, capacity int) (bool, error) {
	if capacity <= 0 {
		return false, nil
	}
	r, err := t.tx.ExecContext(ctx, `INSERT INTO reservations (location_id, delivery_date, size, reserved)
		VALUES (?, ?, ?, 1)
		ON CONFLICT (location_id, delivery_date, size) DO UPDATE
		SET reserved = reservations.reserved + 1 WHERE reservations.reserved < ?`,
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
		WHERE location_id = ? AND delivery_date = ? AND size = ? AND reserved > 0`,
		locationID, date, size); err != nil {
		return fmt.Errorf("release %s %s %s: %w", locationID, date, size, err)
	}
	return nil
}

// Reserved returns how many compartments of each size class are reserved
// at a location for a date; size classes with none are absent.
func (t *shipmentTx) Reserved(ctx context.Context, locationID, date string) (map[string]int, error) {
	rows, err := t.tx.QueryContext(ctx, `SELECT size, reserved FROM reservations
		WHERE location_id = ? AND delivery_date = ? AND reserved > 0`, locationID, date)
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
