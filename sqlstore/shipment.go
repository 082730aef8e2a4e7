package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/lokero/lokero"
)

// CreateRetailer stores a retailer with the hash of its API key. An ID or
// key hash already in use is an ECONFLICT.
func (db *DB) CreateRetailer(ctx context.Context, r lokero.Retailer, keyHash []byte) error {
	if _, err := db.db.ExecContext(ctx, `INSERT INTO retailers (id, name, key_hash, free_returns, created_at)
		VALUES ($1, $2, $3, $4, $5)`, r.ID, r.Name, keyHash, r.FreeReturns, db.time(r.CreatedAt)); err != nil {
		if c := db.conflict(err); c != nil {
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
	if err != nil {
		return lokero.Retailer{}, notFound(err, "retailer by key", "no retailer has this API key")
	}
	return r, nil
}

// RotateRetailerKey replaces a retailer's API key hash. ENOTFOUND for no
// such retailer, ECONFLICT "duplicate_key" for a hash in use.
func (db *DB) RotateRetailerKey(ctx context.Context, id string, keyHash []byte) error {
	if len(keyHash) == 0 {
		return lokero.Invalid("key_hash", "required", "a retailer's key hash is required")
	}
	res, err := db.db.ExecContext(ctx, `UPDATE retailers SET key_hash = $2 WHERE id = $1`, id, keyHash)
	if err != nil {
		if c := db.conflict(err); c != nil {
			return c
		}
		return fmt.Errorf("rotate the key of retailer %s: %w", id, err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("rotate the key of retailer %s: %w", id, err)
	} else if n == 0 {
		return &lokero.Error{Code: lokero.ENOTFOUND, Reason: "unknown_retailer", Field: "id", Message: fmt.Sprintf("retailer %q not found", id)}
	}
	return nil
}

// Retailer returns a retailer by ID, or ENOTFOUND.
func (db *DB) Retailer(ctx context.Context, id string) (lokero.Retailer, error) {
	r, err := scanRetailer(db.db.QueryRowContext(ctx,
		`SELECT id, name, free_returns, created_at FROM retailers WHERE id = $1`, id))
	if err != nil {
		return lokero.Retailer{}, notFound(err, "retailer "+id, "retailer %q not found", id)
	}
	return r, nil
}

func scanRetailer(row scanner) (lokero.Retailer, error) {
	var r lokero.Retailer
	err := row.Scan(&r.ID, &r.Name, &r.FreeReturns, scanTime{&r.CreatedAt})
	return r, err
}

// shipmentColumns are the columns scanShipment reads, in its order.
const shipmentColumns = `id, retailer_id, reference, tracking_code, status, sender, recipient,
	parcel, cod, pickup_point_id, fallback, destination_id, routing_rule, routing_reason,
	delivery_date, size_class, return_code, return_tracking_code, created_at, updated_at,
	request_hash, compartment, storage_deadline, opening_code_hash, kind, return_of,
	cod_method, cod_location_id, picked_up_at, picked_up_location, picked_up_by,
	picked_up_representative, picked_up_clerk`

// Shipment returns a shipment with its events, or ENOTFOUND.
func (db *DB) Shipment(ctx context.Context, id string) (lokero.Shipment, error) {
	s, _, err := db.shipmentAt(ctx, db.db, `id = $1`, id)
	if err != nil {
		return lokero.Shipment{}, notFound(err, "shipment "+id, "shipment %q not found", id)
	}
	return s, nil
}

// ShipmentByTrackingCode returns the shipment with this tracking code or
// return tracking code (the former first), with its events, or ENOTFOUND.
func (db *DB) ShipmentByTrackingCode(ctx context.Context, code string) (lokero.Shipment, error) {
	s, _, err := db.shipmentAt(ctx, db.db,
		`tracking_code = $1 OR return_tracking_code = $1 ORDER BY tracking_code <> $1 LIMIT 1`, code)
	if err != nil {
		return lokero.Shipment{}, notFound(err, "shipment by tracking code "+code, "shipment %q not found", code)
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
		query += fmt.Sprintf(` AND status = $%d`, len(args))
	}
	if f.Reference != "" {
		args = append(args, f.Reference)
		query += fmt.Sprintf(` AND reference = $%d`, len(args))
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultShipmentLimit
	}
	args = append(args, min(limit, maxShipmentLimit))
	query += fmt.Sprintf(` ORDER BY id LIMIT $%d`, len(args))
	list, err := queryAll(ctx, db.db, scanShipmentOnly, query, args...)
	if err != nil {
		return nil, fmt.Errorf("shipments of %s: %w", f.RetailerID, err)
	}
	return list, nil
}

// CODCollected lists the shipments whose cash on delivery was collected
// in [from, to), without their events, ordered by retailer and ID (byte
// order). The bounds are rounded up to the microsecond, the precision of
// the stored times.
func (db *DB) CODCollected(ctx context.Context, from, to time.Time) ([]lokero.Shipment, error) {
	list, err := queryAll(ctx, db.db, scanShipmentOnly, `SELECT `+shipmentColumns+` FROM shipments
		WHERE cod_collected_at >= $1 AND cod_collected_at < $2 ORDER BY retailer_id, id`,
		db.time(ceilMicrosecond(from)), db.time(ceilMicrosecond(to)))
	if err != nil {
		return nil, fmt.Errorf("cod collected: %w", err)
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

// ReservedOn returns the reservations of every location, or of the
// locations given, for a delivery date.
func (db *DB) ReservedOn(ctx context.Context, date lokero.Date, locationIDs ...string) (map[string]map[string]int, error) {
	const query = `SELECT location_id, size, reserved FROM reservations WHERE delivery_date = $1 AND reserved > 0`
	out := map[string]map[string]int{}
	add := func(query string, args ...any) error {
		_, err := queryAll(ctx, db.db, func(r scanner) (struct{}, error) {
			var loc, size string
			var n int
			if err := r.Scan(&loc, &size, &n); err != nil {
				return struct{}{}, err
			}
			if out[loc] == nil {
				out[loc] = map[string]int{}
			}
			out[loc][size] = n
			return struct{}{}, nil
		}, query, args...)
		if err != nil {
			return fmt.Errorf("reserved on %s: %w", date, err)
		}
		return nil
	}
	if len(locationIDs) == 0 {
		return out, add(query, date)
	}
	for ids := range slices.Chunk(locationIDs, db.dialect.MaxArgs()-1) {
		args := []any{date}
		for _, id := range ids {
			args = append(args, id)
		}
		if err := add(query+` AND location_id IN `+db.placeholders(2, len(ids)), args...); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// ShipmentsTo lists the shipments routed to a location in the statuses.
func (db *DB) ShipmentsTo(ctx context.Context, locationID string, statuses []lokero.ShipmentStatus) ([]lokero.Shipment, error) {
	if len(statuses) == 0 {
		return nil, nil
	}
	args := []any{locationID}
	for _, s := range statuses {
		args = append(args, string(s))
	}
	list, err := queryAll(ctx, db.db, scanShipmentOnly, `SELECT `+shipmentColumns+` FROM shipments
		WHERE destination_id = $1 AND status IN `+db.placeholders(2, len(statuses))+` ORDER BY id`, args...)
	if err != nil {
		return nil, fmt.Errorf("shipments to %s: %w", locationID, err)
	}
	return list, nil
}

// ReturnsExpected lists the deliveries picked up at a location since a
// time whose return may still come: one range of a partial index
// (shipments_returns_expected_idx, 00027), whichever the locker's history.
func (db *DB) ReturnsExpected(ctx context.Context, locationID string, since time.Time) ([]lokero.Shipment, error) {
	list, err := queryAll(ctx, db.db, scanShipmentOnly, `SELECT `+shipmentColumns+` FROM shipments
		WHERE picked_up_location = $1 AND picked_up_at >= $2 AND status = 'PICKED_UP' AND return_code IS NOT NULL
			AND kind = 'delivery' AND NOT EXISTS (SELECT 1 FROM shipments r WHERE r.return_of = shipments.id)
		ORDER BY id`, locationID, db.time(since))
	if err != nil {
		return nil, fmt.Errorf("returns expected at %s: %w", locationID, err)
	}
	return list, nil
}

// lockedShipmentWhere reads the shipment selected by the rest of the query
// after WHERE, locked until the transaction ends, with its events and the
// hash of the request that created it; it returns sql.ErrNoRows when there
// is none. One statement, unless it waited for the row's lock and the
// lock's holder changed the shipment: then its events subquery saw them as
// the statement began, and a second statement, after the lock, reads them
// as the holder committed them (Dialect.LockedRowSeen).
func (db *DB) lockedShipmentWhere(ctx context.Context, q querier, rest string, args ...any) (lokero.Shipment, []byte, error) {
	var (
		events []byte
		seen   bool
	)
	s, hash, err := scanShipment(q.QueryRowContext(ctx, `SELECT `+shipmentColumns+`, `+db.dialect.EventsJSON()+`, `+
		db.dialect.LockedRowSeen()+` FROM shipments WHERE `+rest+db.dialect.ForUpdate(), args...), &events, &seen)
	if err != nil {
		return s, nil, err
	}
	if seen {
		s.Events, err = decodeEvents(events)
	} else {
		s.Events, err = queryAll(ctx, q, func(r scanner) (lokero.ShipmentEvent, error) {
			var e lokero.ShipmentEvent
			err := r.Scan(&e.Status, scanTime{&e.At}, &e.LocationID, &e.Reason)
			return e, err
		}, `SELECT status, at, location_id, reason FROM shipment_events WHERE shipment_id = $1 ORDER BY seq`, s.ID)
	}
	if err != nil {
		return s, nil, fmt.Errorf("events of %s: %w", s.ID, err)
	}
	return s, hash, nil
}

// shipmentAt reads the shipment selected by the rest of the query after
// WHERE with its events and the hash of the request that created it, in
// one statement (one snapshot, without a transaction of its own); it
// returns sql.ErrNoRows when there is none. Not for a read that locks:
// in READ COMMITTED, a statement that waited for a row's lock reads the
// row as its holder left it but a subquery as the statement began
// (lockedShipmentWhere).
func (db *DB) shipmentAt(ctx context.Context, q querier, rest string, args ...any) (lokero.Shipment, []byte, error) {
	var events []byte
	s, hash, err := scanShipment(q.QueryRowContext(ctx,
		`SELECT `+shipmentColumns+`, `+db.dialect.EventsJSON()+` FROM shipments WHERE `+rest, args...), &events)
	if err != nil {
		return s, nil, err
	}
	if s.Events, err = decodeEvents(events); err != nil {
		return s, nil, fmt.Errorf("events of %s: %w", s.ID, err)
	}
	return s, hash, nil
}

// decodeEvents reads the events of Dialect.EventsJSON.
func decodeEvents(text []byte) ([]lokero.ShipmentEvent, error) {
	var rows [][4]*string
	if err := json.Unmarshal(text, &rows); err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, nil
	}
	events := make([]lokero.ShipmentEvent, len(rows))
	for i, r := range rows {
		if r[0] == nil || r[1] == nil {
			return nil, fmt.Errorf("event %d has no status or time", i+1)
		}
		e := &events[i]
		e.Status = lokero.ShipmentStatus(*r[0])
		if err := (scanTime{&e.At}).parse(*r[1]); err != nil {
			return nil, err
		}
		if r[2] != nil {
			e.LocationID = *r[2]
		}
		if r[3] != nil {
			e.Reason = *r[3]
		}
	}
	return events, nil
}

// scanShipmentOnly reads a shipment without its events.
func scanShipmentOnly(row scanner) (lokero.Shipment, error) {
	s, _, err := scanShipment(row)
	return s, err
}

// scanShipment reads the shipmentColumns of a row: the shipment without
// its events, and the request hash; then any more columns into more.
func scanShipment(row scanner, more ...any) (lokero.Shipment, []byte, error) {
	var (
		s                         lokero.Shipment
		sender, recipient, parcel string
		cod                       sql.NullString
		returnCode, returnTrack   sql.NullString
		kind, returnOf            sql.NullString
		hash                      []byte
		codMethod, codLocation    string
		pickup                    lokero.Pickup
	)
	if err := row.Scan(append([]any{&s.ID, &s.RetailerID, &s.Reference, &s.TrackingCode, &s.Status,
		&sender, &recipient, &parcel, &cod, &s.PickupPointID, &s.Fallback, &s.DestinationID,
		&s.Routing.Rule, &s.Routing.Reason, &s.DeliveryDate, &s.SizeClass,
		&returnCode, &returnTrack, scanTime{&s.CreatedAt}, scanTime{&s.UpdatedAt}, &hash,
		&s.Compartment, scanTime{&s.StorageDeadline}, &s.OpeningCodeHash, &kind, &returnOf,
		&codMethod, &codLocation, scanTime{&pickup.At}, &pickup.LocationID, &pickup.By,
		&pickup.Representative, &pickup.ClerkID}, more...)...); err != nil {
		return s, nil, err
	}
	s.Kind, s.ReturnOf = lokero.ShipmentKind(kind.String), returnOf.String
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
		// The columns are the stored truth of how and where it was paid:
		// migration 00015 filled them for the payments collected before
		// the cod JSON had them.
		s.COD.Method, s.COD.LocationID = codMethod, codLocation
	}
	if !pickup.At.IsZero() {
		s.Pickup = &pickup
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
		t := storedTime(*v.CollectedAt)
		v.CollectedAt = &t
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode cod: %w", err)
	}
	return string(b), nil
}

// codPaid returns the cod_method and cod_location_id columns: how and
// where the cash on delivery was paid; "" when there is no cash on
// delivery.
func codPaid(c *lokero.COD) (method, locationID string) {
	if c == nil {
		return "", ""
	}
	return c.Method, c.LocationID
}

// pickupColumns returns the picked_up_* columns (at, location, by,
// representative, clerk): NULL and "" when p is nil or has no time (a
// pickup is known by its time, so one without is none).
func (db *DB) pickupColumns(p *lokero.Pickup) []any {
	if p == nil || p.At.IsZero() {
		return []any{nil, "", "", "", ""}
	}
	return []any{db.time(p.At), p.LocationID, p.By, p.Representative, p.ClerkID}
}

// codCollectedAt returns the cod_collected_at column: NULL when there is
// no cash on delivery or it is not collected, else CollectedAt.
func (db *DB) codCollectedAt(c *lokero.COD) any {
	if c == nil || c.CollectedAt == nil {
		return nil
	}
	return db.time(*c.CollectedAt)
}
