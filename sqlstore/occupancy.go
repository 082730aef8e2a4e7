package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"time"

	"github.com/lokero/lokero"
)

// CompartmentCounts counts every laid-out locker's compartments by size
// class, ordered by locker and size: all of them, those with a parcel (and
// in order) and those out of order.
func (db *DB) CompartmentCounts(ctx context.Context) ([]lokero.CompartmentCount, error) {
	list, err := queryAll(ctx, db.db, func(r scanner) (lokero.CompartmentCount, error) {
		var c lokero.CompartmentCount
		err := r.Scan(&c.LocationID, &c.Size, &c.Total, &c.Occupied, &c.OutOfOrder)
		return c, err
	}, `SELECT location_id, size, COUNT(*),
		COALESCE(SUM(CASE WHEN shipment_id IS NOT NULL AND NOT out_of_order THEN 1 ELSE 0 END), 0),
		COALESCE(SUM(CASE WHEN out_of_order THEN 1 ELSE 0 END), 0)
		FROM compartments GROUP BY location_id, size ORDER BY location_id, size`)
	if err != nil {
		return nil, fmt.Errorf("count compartments: %w", err)
	}
	return list, nil
}

// ExpiringParcels lists the parcels in lockers' compartments whose storage
// deadline is before the time given, soonest first.
func (db *DB) ExpiringParcels(ctx context.Context, before time.Time) ([]lokero.WaitingParcel, error) {
	list, err := queryAll(ctx, db.db, scanWaiting, `SELECT `+waitingColumns+`
		FROM compartments c JOIN shipments s ON s.id = c.shipment_id
		WHERE s.storage_deadline IS NOT NULL AND s.storage_deadline < $1
		ORDER BY s.storage_deadline, s.id`, db.time(before))
	if err != nil {
		return nil, fmt.Errorf("expiring parcels: %w", err)
	}
	return list, nil
}

// ParcelsToCollect lists the parcels in compartments and on shelf places
// that wait for a courier (EXPIRED, DROPPED_OFF), by location and
// compartment.
func (db *DB) ParcelsToCollect(ctx context.Context) ([]lokero.WaitingParcel, error) {
	list, err := queryAll(ctx, db.db, scanWaiting, `SELECT `+waitingColumns+`
		FROM compartments c JOIN shipments s ON s.id = c.shipment_id
		WHERE s.status IN ($1, $2)
		ORDER BY c.location_id, c.number`, lokero.StatusExpired, lokero.StatusDroppedOff)
	if err != nil {
		return nil, fmt.Errorf("parcels to collect: %w", err)
	}
	return list, nil
}

// waitingColumns are the columns scanWaiting reads.
const waitingColumns = `c.location_id, c.number, s.id, s.tracking_code, s.status, s.storage_deadline`

func scanWaiting(r scanner) (lokero.WaitingParcel, error) {
	var p lokero.WaitingParcel
	err := r.Scan(&p.LocationID, &p.Compartment, &p.ShipmentID, &p.TrackingCode, &p.Status, scanTime{&p.StorageDeadline})
	return p, err
}

// RecordOccupancy stores a sample of the network's occupancy, one row a
// size class, all at one time. A time sampled already is kept as it was
// (false): of several instances sampling one hour, one sample counts.
func (db *DB) RecordOccupancy(ctx context.Context, samples []lokero.OccupancySample) (bool, error) {
	if len(samples) == 0 {
		return false, nil
	}
	stored := false
	err := db.write(ctx, func(tx *sql.Tx, _ time.Time) error {
		stored = false
		for _, s := range samples {
			if !s.At.Equal(samples[0].At) {
				return lokero.Invalid("at", "mixed_times", "one occupancy sample is taken at one time; got %s and %s", samples[0].At, s.At)
			}
			res, err := tx.ExecContext(ctx, `INSERT INTO occupancy_samples (taken_at, size, total, occupied, out_of_order)
				VALUES ($1, $2, $3, $4, $5) ON CONFLICT (taken_at, size) DO NOTHING`,
				db.time(s.At), s.Size, s.Total, s.Occupied, s.OutOfOrder)
			if err != nil {
				return err
			}
			if n, err := res.RowsAffected(); err == nil && n > 0 {
				stored = true
			}
		}
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("record occupancy: %w", err)
	}
	return stored, nil
}

// OccupancySamples lists the samples taken at or after since, oldest
// first, by size class within a time.
func (db *DB) OccupancySamples(ctx context.Context, since time.Time) ([]lokero.OccupancySample, error) {
	list, err := queryAll(ctx, db.db, func(r scanner) (lokero.OccupancySample, error) {
		var s lokero.OccupancySample
		err := r.Scan(scanTime{&s.At}, &s.Size, &s.Total, &s.Occupied, &s.OutOfOrder)
		return s, err
	}, `SELECT taken_at, size, total, occupied, out_of_order FROM occupancy_samples
		WHERE taken_at >= $1 ORDER BY taken_at, size`, db.time(since))
	if err != nil {
		return nil, fmt.Errorf("occupancy samples: %w", err)
	}
	return list, nil
}

// occupantsSQL counts the parcels in compartments by location, size,
// status, arrival day, the reservation they hold and whether their
// compartment is out of order; the caller adds its WHERE between the join
// and the grouping.
const occupantsSQL = `SELECT c.location_id, c.size, s.status, COALESCE(c.arrived_on, ''), s.size_class, s.delivery_date, c.out_of_order, COUNT(*)
	FROM compartments c JOIN shipments s ON s.id = c.shipment_id`

const occupantsGroup = ` GROUP BY c.location_id, c.size, s.status, c.arrived_on, s.size_class, s.delivery_date, c.out_of_order
	ORDER BY c.location_id, c.size, s.status, c.arrived_on, s.size_class, s.delivery_date, c.out_of_order`

func scanOccupants(r scanner) (lokero.Occupants, error) {
	var o lokero.Occupants
	err := r.Scan(&o.LocationID, &o.Size, &o.Status, &o.ArrivedOn, &o.ReservedSize, &o.DeliveryDate, &o.OutOfOrder, &o.Count)
	return o, err
}

// Occupants counts the parcels in the compartments of every location, or
// of those given, by location, size class, status, arrival day, the
// reservation they hold and whether their compartment is out of order
// (lokero.Occupants.OutOfOrder: such a parcel is listed here and its
// compartment among those out of order; the caller counts it once). The
// locations given are asked MaxArgs at a time, in byte order (that of the
// location_id column), so that the rows come in one order.
func (db *DB) Occupants(ctx context.Context, locationIDs ...string) ([]lokero.Occupants, error) {
	if len(locationIDs) == 0 {
		list, err := queryAll(ctx, db.db, scanOccupants, occupantsSQL+occupantsGroup)
		if err != nil {
			return nil, fmt.Errorf("occupants: %w", err)
		}
		return list, nil
	}
	ids := slices.Compact(slices.Sorted(slices.Values(locationIDs)))
	var out []lokero.Occupants
	for chunk := range slices.Chunk(ids, db.dialect.MaxArgs()) {
		args := make([]any, len(chunk))
		for i, id := range chunk {
			args[i] = id
		}
		list, err := queryAll(ctx, db.db, scanOccupants,
			occupantsSQL+` WHERE c.location_id IN `+db.placeholders(1, len(chunk))+occupantsGroup, args...)
		if err != nil {
			return nil, fmt.Errorf("occupants: %w", err)
		}
		out = append(out, list...)
	}
	return out, nil
}

// Occupants counts the parcels in a location's compartments, read in the
// transaction.
func (t *Tx) Occupants(ctx context.Context, locationID string) ([]lokero.Occupants, error) {
	list, err := queryAll(ctx, t.tx, scanOccupants, occupantsSQL+` WHERE c.location_id = $1`+occupantsGroup, locationID)
	if err != nil {
		return nil, fmt.Errorf("occupants of %s: %w", locationID, err)
	}
	return list, nil
}

// Departures counts the parcels that left lockers' compartments on since
// or later, by location type, arrival day and departure day.
func (db *DB) Departures(ctx context.Context, since lokero.Date) ([]lokero.Departures, error) {
	list, err := queryAll(ctx, db.db, func(r scanner) (lokero.Departures, error) {
		var d lokero.Departures
		err := r.Scan(&d.Type, &d.ArrivedOn, &d.LeftOn, &d.Count)
		return d, err
	}, `SELECT l.type, d.arrived_on, d.left_on, COUNT(*) FROM compartment_departures d JOIN locations l ON l.id = d.location_id
		WHERE d.left_on >= $1 AND d.size <> $2
		GROUP BY l.type, d.arrived_on, d.left_on ORDER BY l.type, d.arrived_on, d.left_on`, since, lokero.ShelfSize)
	if err != nil {
		return nil, fmt.Errorf("departures: %w", err)
	}
	return list, nil
}

// PruneDepartures forgets the departures before a day.
func (db *DB) PruneDepartures(ctx context.Context, before lokero.Date) (int64, error) {
	n, err := db.deleteCounted(ctx, `DELETE FROM compartment_departures WHERE left_on < $1`, before)
	if err != nil {
		return 0, fmt.Errorf("prune departures: %w", err)
	}
	return n, nil
}

// LockerLoad reads a locker's compartments out of order, the parcels in
// its compartments (those in compartments out of order marked so, as
// Occupants marks them) and its reservations from from to through in one
// statement: each row says which of the three it is.
func (t *Tx) LockerLoad(ctx context.Context, locationID string, from, through lokero.Date) (lokero.LockerLoad, error) {
	load := lokero.LockerLoad{OutOfOrder: map[string]int{}, Reserved: map[lokero.Date]map[string]int{}}
	const (
		outOfOrderRow = 0
		occupantsRow  = 1
		reservedRow   = 2
	)
	_, err := queryAll(ctx, t.tx, func(r scanner) (struct{}, error) {
		var kind int
		o := lokero.Occupants{LocationID: locationID}
		if err := r.Scan(&kind, &o.Size, &o.Status, &o.ArrivedOn, &o.ReservedSize, &o.DeliveryDate, &o.OutOfOrder, &o.Count); err != nil {
			return struct{}{}, err
		}
		switch kind {
		case outOfOrderRow:
			load.OutOfOrder[o.Size] = o.Count
		case occupantsRow:
			load.Occupants = append(load.Occupants, o)
		case reservedRow:
			if load.Reserved[o.DeliveryDate] == nil {
				load.Reserved[o.DeliveryDate] = map[string]int{}
			}
			load.Reserved[o.DeliveryDate][o.Size] = o.Count
		}
		return struct{}{}, nil
	}, `SELECT 0, size, '', '', '', '', FALSE, COUNT(*) FROM compartments
			WHERE out_of_order AND location_id = $1 GROUP BY size
		UNION ALL
		SELECT 1, c.size, s.status, COALESCE(c.arrived_on, ''), s.size_class, s.delivery_date, c.out_of_order, COUNT(*)
			FROM compartments c JOIN shipments s ON s.id = c.shipment_id WHERE c.location_id = $1
			GROUP BY c.size, s.status, c.arrived_on, s.size_class, s.delivery_date, c.out_of_order
		UNION ALL
		SELECT 2, size, '', '', '', delivery_date, FALSE, reserved FROM reservations
			WHERE location_id = $1 AND delivery_date >= $2 AND delivery_date <= $3 AND reserved > 0
		ORDER BY 1, 2, 3, 4, 5, 6, 7`, locationID, from, through)
	if err != nil {
		return lokero.LockerLoad{}, fmt.Errorf("load of %s: %w", locationID, err)
	}
	return load, nil
}
