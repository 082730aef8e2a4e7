package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lokero/lokero"
)

// Tx is one write transaction (DB.InTx): a lokero.Tx. Its reads lock what
// they read until it ends (FOR UPDATE where writers overlap).
type Tx struct {
	db  *DB
	tx  *sql.Tx
	now time.Time
	// What this transaction knows for certain of rows it holds locked
	// (read under lock, or written, until it ends): it saves the
	// statements that would otherwise ask the database again.
	held map[string]heldShipment
	// heldCompartments are the shipments in the compartments it read
	// locked (Compartments) or wrote, by compartmentKey.
	heldCompartments map[compartmentKey]string
	// subscriptions are the retailers' enabled webhooks the transaction
	// read (WebhookSubscriptions), by retailer ID.
	subscriptions map[string][]lokero.WebhookSubscription
}

// heldShipment is what a transaction knows of a shipment row it holds
// locked: how many events are stored, and the unique values an update
// could clash on.
type heldShipment struct {
	events                         int
	returnCode, returnTrackingCode string
}

// compartmentKey names one compartment of one locker.
type compartmentKey struct {
	location string
	number   int
}

// holdCompartment records the parcel (or "") in a compartment the
// transaction holds locked.
func (t *Tx) holdCompartment(key compartmentKey, shipmentID string) {
	if t.heldCompartments == nil {
		t.heldCompartments = map[compartmentKey]string{}
	}
	t.heldCompartments[key] = shipmentID
}

// hold records what the transaction now knows of a shipment it holds
// locked, events stored included.
func (t *Tx) hold(s *lokero.Shipment) {
	if t.held == nil {
		t.held = map[string]heldShipment{}
	}
	t.held[s.ID] = heldShipment{events: len(s.Events), returnCode: s.ReturnCode, returnTrackingCode: s.ReturnTrackingCode}
}

// Now is the time the transaction began, by the store's clock.
func (t *Tx) Now() time.Time { return t.now }

// savepoint runs write inside a savepoint and rolls back to it when write
// fails, so that a refused write (a duplicate code) leaves the transaction
// usable instead of aborting it (as PostgreSQL would); where a failed
// statement undoes only itself, write runs as it is.
func (t *Tx) savepoint(ctx context.Context, write func() error) error {
	if !t.db.dialect.AbortsOnError() {
		return write()
	}
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

// lockedShipment reads the shipment the rest of the query after WHERE
// selects, locked until the transaction ends; sql.ErrNoRows when none.
func (t *Tx) lockedShipment(ctx context.Context, rest string, args ...any) (lokero.Shipment, []byte, error) {
	s, hash, err := t.db.lockedShipmentWhere(ctx, t.tx, rest, args...)
	if err == nil {
		t.hold(&s)
	}
	return s, hash, err
}

// ShipmentByIdempotencyKey returns the shipment a retailer created with
// this key, with its events, and the hash of that request; or ENOTFOUND.
func (t *Tx) ShipmentByIdempotencyKey(ctx context.Context, retailerID, key string) (lokero.Shipment, []byte, error) {
	s, hash, err := t.db.shipmentAt(ctx, t.tx, `retailer_id = $1 AND idempotency_key = $2`, retailerID, key)
	if err != nil {
		return lokero.Shipment{}, nil, notFound(err, "shipment by idempotency key "+key,
			"no shipment with idempotency key %q", key)
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
// inserting the same key waits for this one to end. Once the shipment and
// its events are written, the store's EventHook (SetEventHook), if any,
// is called with first 0 (when there are events); its error fails the
// insert (returned wrapped, the transaction to be rolled back).
func (t *Tx) InsertShipment(ctx context.Context, s *lokero.Shipment, idempotencyKey string, requestHash []byte) error {
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
	db := t.db
	codMethod, codLocation := codPaid(s.COD)
	args := append([]any{s.ID, s.RetailerID, s.Reference, s.TrackingCode, string(s.Status),
		parties[0], parties[1], parties[2], cod, s.PickupPointID, s.Fallback, s.DestinationID,
		s.Routing.Rule, s.Routing.Reason, s.DeliveryDate, s.SizeClass,
		nullIfEmpty(s.ReturnCode), nullIfEmpty(s.ReturnTrackingCode),
		db.time(s.CreatedAt), db.time(s.UpdatedAt), requestHash,
		s.Compartment, db.nullTime(s.StorageDeadline), nullBytes(s.OpeningCodeHash),
		string(s.Kind.OrDefault()), nullIfEmpty(s.ReturnOf), codMethod, codLocation},
		db.pickupColumns(s.Pickup)...)
	args = append(args, nullIfEmpty(idempotencyKey), db.codCollectedAt(s.COD))
	// ON CONFLICT DO NOTHING instead of a savepoint around the INSERT: a
	// clash (rare: random codes, a retried key) leaves the transaction
	// usable on PostgreSQL too, without the savepoint's two round trips
	// on every booking; which value clashed is asked after.
	insert := `INSERT INTO shipments (` + shipmentColumns + `, idempotency_key,
		cod_collected_at) VALUES ` + db.placeholders(1, len(args)) + ` ON CONFLICT DO NOTHING`
	var inserted bool
	if db.dialect.WritesInWith() && len(s.Events) > 0 {
		inserted, err = t.insertWithEvents(ctx, s, insert, args)
	} else {
		inserted, err = t.affected(ctx, insert, args...)
		if err == nil && inserted {
			err = t.insertEvents(ctx, s, 0, s.Events)
		}
	}
	if err == nil && !inserted {
		return t.shipmentClash(ctx, s, idempotencyKey)
	}
	if err != nil {
		return fmt.Errorf("insert shipment %s: %w", s.ID, err)
	}
	t.hold(s) // a row it inserted: no other transaction sees it yet
	if len(s.Events) > 0 {
		if err := t.eventHook(ctx, s, 0); err != nil {
			return fmt.Errorf("insert shipment %s: %w", s.ID, err)
		}
	}
	return nil
}

// shipmentClash returns the ECONFLICT error for the unique value of s (or
// its idempotency key) that a stored shipment holds already. When none
// does any more, the clash is reported as a duplicate ID, which callers
// retry as they retry any clash of random values.
func (t *Tx) shipmentClash(ctx context.Context, s *lokero.Shipment, idempotencyKey string) error {
	var id, tracking, ret, retTracking, retOf, key sql.NullBool
	err := t.tx.QueryRowContext(ctx, `SELECT id = $1, tracking_code = $2, return_code = $3,
		return_tracking_code = $4, return_of = $5, retailer_id = $6 AND idempotency_key = $7
		FROM shipments WHERE id = $1 OR tracking_code = $2 OR return_code = $3
		OR return_tracking_code = $4 OR return_of = $5 OR (retailer_id = $6 AND idempotency_key = $7)
		LIMIT 1`, s.ID, s.TrackingCode, nullIfEmpty(s.ReturnCode), nullIfEmpty(s.ReturnTrackingCode),
		nullIfEmpty(s.ReturnOf), s.RetailerID, nullIfEmpty(idempotencyKey)).Scan(&id, &tracking, &ret, &retTracking, &retOf, &key)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("insert shipment %s: which value clashed: %w", s.ID, err)
	}
	column := "id"
	for _, c := range []struct {
		clash  sql.NullBool
		column string
	}{{key, "retailer_id,idempotency_key"}, {id, "id"}, {tracking, "tracking_code"}, {ret, "return_code"},
		{retTracking, "return_tracking_code"}, {retOf, "return_of"}} {
		if c.clash.Valid && c.clash.Bool {
			column = c.column
			break
		}
	}
	e := *conflicts["shipments("+column+")"]
	return &e
}

// eventHook calls the store's EventHook, if any, with the events of s
// from first on, which the transaction just stored.
func (t *Tx) eventHook(ctx context.Context, s *lokero.Shipment, first int) error {
	if t.db.hook == nil {
		return nil
	}
	if err := t.db.hook(ctx, t, s, first); err != nil {
		return fmt.Errorf("event hook (events from %d): %w", first+1, err)
	}
	return nil
}

// insertEvents stores events as the shipment's events after the first
// stored ones, in one statement. When the store has an event hook, which
// publishes the events to the retailer's webhooks next, the statement
// also reads the retailer's webhook subscriptions (WebhookSubscriptions)
// unless the transaction has them already: one round trip for both.
func (t *Tx) insertEvents(ctx context.Context, s *lokero.Shipment, stored int, events []lokero.ShipmentEvent) error {
	if len(events) == 0 {
		return nil
	}
	query := `INSERT INTO shipment_events (shipment_id, seq, status, at, location_id, reason) VALUES `
	args := make([]any, 0, 6*len(events)+1)
	for i, e := range events {
		if i > 0 {
			query += ", "
		}
		query += t.db.placeholders(6*i+1, 6)
		args = append(args, s.ID, stored+i+1, string(e.Status), t.db.time(e.At), e.LocationID, e.Reason)
	}
	if !t.asksSubscriptions(s) {
		if _, err := t.tx.ExecContext(ctx, query, args...); err != nil {
			return fmt.Errorf("events %d to %d: %w", stored+1, stored+len(events), err)
		}
		return nil
	}
	query += ` RETURNING ` + t.db.dialect.SubscriptionsJSON(t.db.dialect.Param(len(args)+1))
	args = append(args, s.RetailerID)
	var text []byte
	err := func() error {
		rows, err := t.tx.QueryContext(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() { // a row an event, each with the same subscriptions
			if err := rows.Scan(&text); err != nil {
				return err
			}
		}
		return rows.Err()
	}()
	if err != nil {
		return fmt.Errorf("events %d to %d: %w", stored+1, stored+len(events), err)
	}
	if _, err := t.keepSubscriptions(s.RetailerID, text); err != nil {
		return fmt.Errorf("events %d to %d: %w", stored+1, stored+len(events), err)
	}
	return nil
}

// asksSubscriptions reports whether the statement storing events of s
// should also read its retailer's webhook subscriptions: the event hook
// will ask for them next, and the transaction does not have them yet.
func (t *Tx) asksSubscriptions(s *lokero.Shipment) bool {
	_, known := t.subscriptions[s.RetailerID]
	return t.db.hook != nil && s.RetailerID != "" && !known
}

// insertWithEvents runs insert (a shipment's INSERT … ON CONFLICT DO
// NOTHING, with args) and the INSERT of each of its events in one
// statement, each event's in a WITH of its own that inserts only for the
// shipment row the first returned; it reports whether the shipment was
// inserted (none of its events is, when not). Like insertEvents it also
// reads the retailer's webhook subscriptions when the event hook will ask
// for them.
func (t *Tx) insertWithEvents(ctx context.Context, s *lokero.Shipment, insert string, args []any) (bool, error) {
	var query strings.Builder
	query.WriteString("WITH shipment AS (" + insert + " RETURNING id)")
	for i, e := range s.Events {
		// INSERT … SELECT: the parameters take the columns' types.
		fmt.Fprintf(&query, `, event_%d AS (INSERT INTO shipment_events (shipment_id, seq, status, at, location_id, reason)
			SELECT id, %s FROM shipment)`, i+1, strings.Trim(t.db.placeholders(len(args)+1, 5), "()"))
		args = append(args, i+1, string(e.Status), t.db.time(e.At), e.LocationID, e.Reason)
	}
	query.WriteString(" SELECT (SELECT count(*) FROM shipment)")
	var (
		n    int
		text []byte
	)
	dest := []any{&n}
	subscriptions := t.asksSubscriptions(s)
	if subscriptions {
		query.WriteString(", " + t.db.dialect.SubscriptionsJSON(t.db.dialect.Param(len(args)+1)))
		args = append(args, s.RetailerID)
		dest = append(dest, &text)
	}
	if err := t.tx.QueryRowContext(ctx, query.String(), args...).Scan(dest...); err != nil {
		return false, fmt.Errorf("with its %d events: %w", len(s.Events), err)
	}
	if n == 1 && subscriptions {
		if _, err := t.keepSubscriptions(s.RetailerID, text); err != nil {
			return false, err
		}
	}
	return n == 1, nil
}

// Shipment reads a shipment with its events, locked until the transaction
// ends; or returns ENOTFOUND.
func (t *Tx) Shipment(ctx context.Context, id string) (lokero.Shipment, error) {
	s, _, err := t.lockedShipment(ctx, `id = $1`, id)
	if err != nil {
		return lokero.Shipment{}, notFound(err, "shipment "+id, "shipment %q not found", id)
	}
	return s, nil
}

// ShipmentByReturnCode reads the shipment whose return code (a
// delivery's, or a pre-paid parcel's own) is code, locked as Shipment.
func (t *Tx) ShipmentByReturnCode(ctx context.Context, code string) (lokero.Shipment, error) {
	s, _, err := t.lockedShipment(ctx, `return_code = $1`, code)
	if err != nil {
		return lokero.Shipment{}, notFound(err, "shipment by return code", "no shipment with that return code")
	}
	return s, nil
}

// ReturnOf reads the return shipment of a delivery, locked as Shipment.
func (t *Tx) ReturnOf(ctx context.Context, deliveryID string) (lokero.Shipment, error) {
	s, _, err := t.lockedShipment(ctx, `return_of = $1`, deliveryID)
	if err != nil {
		return lokero.Shipment{}, notFound(err, "return of "+deliveryID, "shipment %q has no return", deliveryID)
	}
	return s, nil
}

// ShipmentByOpeningCode returns the shipment destined to the locker whose
// opening code hashes to hash (the newest by ID, should there be several),
// with its events, locked as Shipment; or ENOTFOUND.
func (t *Tx) ShipmentByOpeningCode(ctx context.Context, locationID string, hash []byte) (lokero.Shipment, error) {
	s, _, err := t.lockedShipment(ctx, `destination_id = $1 AND opening_code_hash = $2
		ORDER BY id DESC LIMIT 1`, locationID, nullBytes(hash))
	if err != nil {
		return lokero.Shipment{}, notFound(err, "shipment by opening code at "+locationID,
			"no shipment at %q has this opening code", locationID)
	}
	return s, nil
}

// UpdateShipment writes the shipment's mutable fields (status,
// destination, routing, delivery date, size class, COD with how and where
// it was paid, return codes, compartment, storage deadline, opening code
// hash, pickup, updated_at) and
// appends the events of s.Events beyond those stored, counted once the
// UPDATE holds the row's lock. A return code or return tracking code in
// use elsewhere is an ECONFLICT as in InsertShipment; no such shipment,
// ENOTFOUND. When it appended events, it then calls the store's EventHook
// (SetEventHook), if any, with first the number of events stored before;
// its error fails the update (returned wrapped, the transaction to be
// rolled back).
//
// A shipment the transaction read locked (Shipment and the like) or
// inserted needs neither the count, which it knows, nor, when its return
// codes are the ones stored, the savepoint that keeps a clash from
// aborting the transaction: it cannot clash. That is the common case, and
// saves three of its five statements on PostgreSQL.
func (t *Tx) UpdateShipment(ctx context.Context, s *lokero.Shipment) error {
	cod, err := encodeCOD(s.COD)
	if err != nil {
		return fmt.Errorf("update shipment %s: %w", s.ID, err)
	}
	db := t.db
	held, known := t.held[s.ID]
	var found bool
	appended := -1 // the index of the first event appended; -1: none
	write := func() error {
		codMethod, codLocation := codPaid(s.COD)
		args := append([]any{string(s.Status), s.DestinationID, s.Routing.Rule, s.Routing.Reason,
			s.DeliveryDate, s.SizeClass, cod, nullIfEmpty(s.ReturnCode), nullIfEmpty(s.ReturnTrackingCode),
			s.Compartment, db.nullTime(s.StorageDeadline), nullBytes(s.OpeningCodeHash),
			db.time(s.UpdatedAt), db.codCollectedAt(s.COD), codMethod, codLocation},
			db.pickupColumns(s.Pickup)...)
		r, err := t.tx.ExecContext(ctx, `UPDATE shipments SET status = $1, destination_id = $2,
			routing_rule = $3, routing_reason = $4, delivery_date = $5, size_class = $6, cod = $7,
			return_code = $8, return_tracking_code = $9, compartment = $10, storage_deadline = $11,
			opening_code_hash = $12, updated_at = $13, cod_collected_at = $14, cod_method = $15,
			cod_location_id = $16, picked_up_at = $17, picked_up_location = $18, picked_up_by = $19,
			picked_up_representative = $20, picked_up_clerk = $21
			WHERE id = $22`, append(args, s.ID)...)
		if err != nil {
			return err
		}
		if n, err := r.RowsAffected(); err != nil || n == 0 {
			return err
		}
		found = true
		stored := held.events
		if !known {
			if err := t.tx.QueryRowContext(ctx, `SELECT count(*) FROM shipment_events WHERE shipment_id = $1`,
				s.ID).Scan(&stored); err != nil {
				return fmt.Errorf("count events: %w", err)
			}
		}
		if stored < len(s.Events) {
			appended = stored
			return t.insertEvents(ctx, s, stored, s.Events[stored:])
		}
		return nil
	}
	if known && held.returnCode == s.ReturnCode && held.returnTrackingCode == s.ReturnTrackingCode {
		err = write()
	} else {
		err = t.savepoint(ctx, write)
	}
	if c := db.conflict(err); c != nil {
		return c
	} else if err != nil {
		return fmt.Errorf("update shipment %s: %w", s.ID, err)
	} else if !found {
		return lokero.Errorf(lokero.ENOTFOUND, "shipment %q not found", s.ID)
	}
	t.hold(s)
	if appended >= 0 {
		if err := t.eventHook(ctx, s, appended); err != nil {
			return fmt.Errorf("update shipment %s: %w", s.ID, err)
		}
	}
	return nil
}

// Reserve takes one compartment of size class size at a location for a
// delivery date if fewer than capacity are taken, and reports whether it
// did, holding the counter's row lock until the transaction ends when it
// did (and none when the class is full).
func (t *Tx) Reserve(ctx context.Context, locationID string, date lokero.Date, size string, capacity int) (bool, error) {
	if capacity <= 0 {
		return false, nil
	}
	// A counter with room is raised by a conditional UPDATE, which locks
	// the row only when it raises it: a full locker's counter stays
	// unlocked, so that a booking that finds it full and tries the next
	// locker holds nothing another booking going the other way waits for
	// (with INSERT … ON CONFLICT DO UPDATE … WHERE the row is locked even
	// when full, and bookings overflowing in opposite directions
	// deadlocked on PostgreSQL). A date's first booking inserts the row;
	// one made meanwhile by another transaction is counted again.
	raise := func() (bool, error) {
		return t.affected(ctx, `UPDATE reservations SET reserved = reserved + 1
			WHERE location_id = $1 AND delivery_date = $2 AND size = $3 AND reserved < $4`, locationID, date, size, capacity)
	}
	if t.db.dialect.WritesInWith() {
		return t.reserveInOne(ctx, locationID, date, size, capacity, raise)
	}
	ok, err := raise()
	if err == nil && !ok {
		if ok, err = t.affected(ctx, `INSERT INTO reservations (location_id, delivery_date, size, reserved)
			VALUES ($1, $2, $3, 1) ON CONFLICT (location_id, delivery_date, size) DO NOTHING`, locationID, date, size); err == nil && !ok {
			ok, err = raise()
		}
	}
	if err != nil {
		return false, fmt.Errorf("reserve %s %s %s: %w", locationID, date, size, err)
	}
	return ok, nil
}

// reserveInOne is Reserve in one statement where a WITH may write
// (PostgreSQL): the conditional UPDATE, and the INSERT of a date's first
// booking only when the counter was not there to raise. Neither locks a
// full counter (the INSERT's ON CONFLICT DO NOTHING only looks). The
// statement also says whether the counter was there as it began: when it
// was not and the INSERT still found one, another transaction made it
// meanwhile, and the booking raises it (raise) as Reserve's third step.
func (t *Tx) reserveInOne(ctx context.Context, locationID string, date lokero.Date, size string, capacity int, raise func() (bool, error)) (bool, error) {
	var taken, existed bool
	err := t.tx.QueryRowContext(ctx, `WITH raised AS (
			UPDATE reservations SET reserved = reserved + 1
			WHERE location_id = $1 AND delivery_date = $2 AND size = $3 AND reserved < $4
			RETURNING 1
		), made AS (
			INSERT INTO reservations (location_id, delivery_date, size, reserved)
			SELECT $1, $2, $3, 1 WHERE NOT EXISTS (SELECT 1 FROM raised)
			ON CONFLICT (location_id, delivery_date, size) DO NOTHING
			RETURNING 1
		)
		SELECT EXISTS (SELECT 1 FROM raised) OR EXISTS (SELECT 1 FROM made),
			EXISTS (SELECT 1 FROM reservations WHERE location_id = $1 AND delivery_date = $2 AND size = $3)`,
		locationID, date, size, capacity).Scan(&taken, &existed)
	if err == nil && !taken && !existed {
		taken, err = raise()
	}
	if err != nil {
		return false, fmt.Errorf("reserve %s %s %s: %w", locationID, date, size, err)
	}
	return taken, nil
}

// affected runs a statement and reports whether it changed one row.
func (t *Tx) affected(ctx context.Context, query string, args ...any) (bool, error) {
	r, err := t.tx.ExecContext(ctx, query, args...)
	if err != nil {
		return false, err
	}
	n, err := r.RowsAffected()
	return n == 1, err
}

// Release gives back one reservation taken by Reserve; the count never
// goes below zero.
func (t *Tx) Release(ctx context.Context, locationID string, date lokero.Date, size string) error {
	if _, err := t.tx.ExecContext(ctx, `UPDATE reservations SET reserved = reserved - 1
		WHERE location_id = $1 AND delivery_date = $2 AND size = $3 AND reserved > 0`,
		locationID, date, size); err != nil {
		return fmt.Errorf("release %s %s %s: %w", locationID, date, size, err)
	}
	return nil
}

// Reserved returns how many compartments of each size class are reserved
// at a location for a date; size classes with none are absent.
func (t *Tx) Reserved(ctx context.Context, locationID string, date lokero.Date) (map[string]int, error) {
	m := map[string]int{}
	_, err := queryAll(ctx, t.tx, func(r scanner) (struct{}, error) {
		var size string
		var n int
		err := r.Scan(&size, &n)
		m[size] = n
		return struct{}{}, err
	}, `SELECT size, reserved FROM reservations WHERE location_id = $1 AND delivery_date = $2 AND reserved > 0`,
		locationID, date)
	if err != nil {
		return nil, fmt.Errorf("reserved %s %s: %w", locationID, date, err)
	}
	return m, nil
}

// ScheduleJob inserts a job in the transaction through the store's job
// queue; with none, it schedules nothing.
func (t *Tx) ScheduleJob(ctx context.Context, j lokero.Job) error {
	if t.db.jobs == nil {
		return nil
	}
	if err := t.db.jobs.InsertTx(ctx, t.tx, j); err != nil {
		of := j.ShipmentID
		if j.MessageID != 0 {
			of = fmt.Sprintf("message %d", j.MessageID)
		} else if j.DeliveryID != "" {
			of = "webhook delivery " + j.DeliveryID
		}
		return fmt.Errorf("schedule %s of %s: %w", j.Kind, of, err)
	}
	return nil
}
