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

// Every store interface of the device protocol.
var _ lokero.DeviceStore = (*DB)(nil)

// DeviceSequence returns the sequence number of the last event applied
// from a device credential, 0 when none yet, locked until the transaction
// ends. It reads the row locked; only when there is none yet does it take
// a lock on the credential's sequence and read again, so that two
// transactions that find no row cannot both apply the first event (a
// transaction that waited for the lock reads the row its holder made).
func (t *Tx) DeviceSequence(ctx context.Context, credentialID string) (int64, error) {
	read := func() (int64, error) {
		var seq int64
		err := t.tx.QueryRowContext(ctx, `SELECT last_seq FROM device_sequences
			WHERE credential_id = $1`+t.db.dialect.ForUpdate(), credentialID).Scan(&seq)
		return seq, err
	}
	seq, err := read()
	if errors.Is(err, sql.ErrNoRows) {
		if err := t.db.dialect.Lock(ctx, t.tx, "device-sequence:"+credentialID); err != nil {
			return 0, fmt.Errorf("lock device sequence of %s: %w", credentialID, err)
		}
		seq, err = read()
	}
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return 0, fmt.Errorf("device sequence of %s: %w", credentialID, err)
	}
	return seq, nil
}

// SetDeviceSequence records seq as the last event applied from a device
// credential of the locker locationID (updated_at: the transaction's
// time). The credential must exist.
func (t *Tx) SetDeviceSequence(ctx context.Context, credentialID, locationID string, seq int64) error {
	if _, err := t.tx.ExecContext(ctx, `INSERT INTO device_sequences (credential_id, location_id, last_seq, updated_at)
		VALUES ($1, $2, $3, $4)
		ON CONFLICT (credential_id) DO UPDATE SET location_id = excluded.location_id,
			last_seq = excluded.last_seq, updated_at = excluded.updated_at`,
		credentialID, locationID, seq, t.db.time(t.now)); err != nil {
		return fmt.Errorf("set device sequence of %s: %w", credentialID, err)
	}
	return nil
}

// AdvanceDeviceSequence records seq as the last event applied from a
// device credential if the stored sequence is seq-1, by one conditional
// UPDATE that locks the row only when it changes it, and reports whether
// it did.
func (t *Tx) AdvanceDeviceSequence(ctx context.Context, credentialID, locationID string, seq int64) (bool, error) {
	ok, err := t.affected(ctx, `UPDATE device_sequences SET location_id = $2, last_seq = $3, updated_at = $4
		WHERE credential_id = $1 AND last_seq = $5`, credentialID, locationID, seq, t.db.time(t.now), seq-1)
	if err != nil {
		return false, fmt.Errorf("advance device sequence of %s: %w", credentialID, err)
	}
	return ok, nil
}

// lockerLinkColumns are a link's columns as scanLockerLink reads them.
const lockerLinkColumns = `location_id, online, changed_at, heartbeat_at, firmware, compartments`

// scanLockerLink scans the lockerLinkColumns of a row.
func scanLockerLink(r scanner) (lokero.LockerLink, error) {
	var l lokero.LockerLink
	err := r.Scan(&l.LocationID, &l.Online, scanTime{&l.ChangedAt}, scanTime{&l.HeartbeatAt}, &l.Firmware, &l.Compartments)
	if len(l.Compartments) == 0 {
		l.Compartments = nil
	}
	return l, err
}

// RecordLockerStatus records a locker's status in one statement, an
// upsert whose guards compare the stored times, so that it is atomic
// whatever runs at the same time:
//
//   - Online and ChangedAt change unless the stored ChangedAt is later
//     than at (a status at the same time is applied again);
//   - with online, the status is a heartbeat: HeartbeatAt becomes at,
//     Firmware firmware (kept when ""), Compartments compartments (kept
//     when nil or empty), unless the stored HeartbeatAt is later than at.
//     The two are judged each on its own: a heartbeat later than the
//     stored one but earlier than the stored status (a late delivery)
//     updates the heartbeat's fields, not the status.
//
// A write that changes neither leaves the row as it is. The guards compare
// times of one clock: service.Lockers.RecordStatus gives the time each
// status reached the centre, never a board's own (a board's clock may be
// minutes off, and a will carries none).
func (db *DB) RecordLockerStatus(ctx context.Context, locationID string, online bool, at time.Time,
	firmware string, compartments []byte) error {
	if locationID == "" {
		return lokero.Invalid("location_id", "missing", "a locker status needs the locker's location ID")
	}
	if at.IsZero() {
		return lokero.Invalid("at", "missing", "a locker status needs the time it was reported")
	}
	heartbeat := any(nil) // no heartbeat: NULL, which no guard takes for a time
	if online {
		heartbeat = db.time(at)
	} else {
		firmware, compartments = "", nil
	}
	// newStatus and newHeartbeat are the guards, in terms of the row
	// proposed (excluded) and the row stored (locker_links).
	const (
		newStatus    = `excluded.changed_at >= locker_links.changed_at`
		newHeartbeat = `(excluded.heartbeat_at IS NOT NULL AND
			(locker_links.heartbeat_at IS NULL OR excluded.heartbeat_at >= locker_links.heartbeat_at))`
	)
	if _, err := db.db.ExecContext(ctx, `INSERT INTO locker_links (`+lockerLinkColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (location_id) DO UPDATE SET
			online = CASE WHEN `+newStatus+` THEN excluded.online ELSE locker_links.online END,
			changed_at = CASE WHEN `+newStatus+` THEN excluded.changed_at ELSE locker_links.changed_at END,
			heartbeat_at = CASE WHEN `+newHeartbeat+` THEN excluded.heartbeat_at ELSE locker_links.heartbeat_at END,
			firmware = CASE WHEN `+newHeartbeat+` AND excluded.firmware <> '' THEN excluded.firmware
				ELSE locker_links.firmware END,
			compartments = CASE WHEN `+newHeartbeat+` AND excluded.compartments IS NOT NULL
				THEN excluded.compartments ELSE locker_links.compartments END
		WHERE `+newStatus+` OR `+newHeartbeat,
		locationID, online, db.time(at), heartbeat, firmware, nullBytes(compartments)); err != nil {
		return fmt.Errorf("record status of locker %s: %w", locationID, err)
	}
	return nil
}

// LockerLink returns one locker's link, or ENOTFOUND when it never
// reported.
func (db *DB) LockerLink(ctx context.Context, locationID string) (lokero.LockerLink, error) {
	l, err := scanLockerLink(db.db.QueryRowContext(ctx, `SELECT `+lockerLinkColumns+`
		FROM locker_links WHERE location_id = $1`, locationID))
	if err != nil {
		return lokero.LockerLink{}, notFound(err, "link of locker "+locationID,
			"locker %q never reported over the device protocol", locationID)
	}
	return l, nil
}

// LockerLinks lists the links of every locker that reported, by location
// ID in byte order.
func (db *DB) LockerLinks(ctx context.Context) ([]lokero.LockerLink, error) {
	list, err := queryAll(ctx, db.db, scanLockerLink, `SELECT `+lockerLinkColumns+`
		FROM locker_links ORDER BY location_id`)
	if err != nil {
		return nil, fmt.Errorf("locker links: %w", err)
	}
	// The same order whatever the database's collation.
	slices.SortFunc(list, func(a, b lokero.LockerLink) int { return strings.Compare(a.LocationID, b.LocationID) })
	return list, nil
}
