package sqlstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/lokero/lokero"
)

// The queries behind the limits on what one party may take of a locker:
// the compartments out of order, which no booking can have, and how many a
// retailer holds for one delivery day (the per-retailer share). Both are
// served by partial indexes of migration 00014, which hold only the few
// rows they count.

// RetailerReservations returns how many of a retailer's shipments hold a
// compartment reservation (a size class) at a location for a delivery
// date, by size class. A shipment holds one exactly while its size class is
// set: giving the reservation back (pickup, cancellation, re-routing)
// clears it.
func (t *Tx) RetailerReservations(ctx context.Context, retailerID, locationID string, date lokero.Date) (map[string]int, error) {
	m := map[string]int{}
	_, err := queryAll(ctx, t.tx, func(r scanner) (struct{}, error) {
		var size string
		var n int
		err := r.Scan(&size, &n)
		m[size] = n
		return struct{}{}, err
	}, `SELECT size_class, count(*) FROM shipments
		WHERE destination_id = $1 AND delivery_date = $2 AND retailer_id = $3 AND size_class <> ''
		GROUP BY size_class`, locationID, date, retailerID)
	if err != nil {
		return nil, fmt.Errorf("reservations of %s at %s on %s: %w", retailerID, locationID, date, err)
	}
	return m, nil
}

// outOfOrderSQL counts the compartments out of order by location and size
// class; "WHERE out_of_order" is the partial index's own condition, so that
// the index serves it (SQLite uses a partial index only for a query whose
// WHERE implies the index's).
const outOfOrderSQL = `SELECT location_id, size, count(*) FROM compartments WHERE out_of_order`

// OutOfOrder returns how many compartments are out of order at every
// locker, or at the lockers given: location ID → size class → count
// (counts above 0; a locker with none is absent).
func (db *DB) OutOfOrder(ctx context.Context, locationIDs ...string) (map[string]map[string]int, error) {
	if len(locationIDs) == 0 {
		out, err := outOfOrder(ctx, db.db, outOfOrderSQL+` GROUP BY location_id, size`)
		if err != nil {
			return nil, fmt.Errorf("out of order: %w", err)
		}
		return out, nil
	}
	out := map[string]map[string]int{}
	for ids := range slices.Chunk(locationIDs, db.dialect.MaxArgs()) {
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		got, err := outOfOrder(ctx, db.db, outOfOrderSQL+` AND location_id IN `+db.placeholders(1, len(ids))+
			` GROUP BY location_id, size`, args...)
		if err != nil {
			return nil, fmt.Errorf("out of order: %w", err)
		}
		for id, m := range got {
			out[id] = m
		}
	}
	return out, nil
}

// outOfOrder runs a count of outOfOrderSQL's shape.
func outOfOrder(ctx context.Context, q querier, query string, args ...any) (map[string]map[string]int, error) {
	out := map[string]map[string]int{}
	_, err := queryAll(ctx, q, func(r scanner) (struct{}, error) {
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
	return out, err
}
