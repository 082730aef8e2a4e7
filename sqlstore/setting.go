package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/lokero/lokero"
)

// Setting returns the value of the setting called name; ok is false when
// none is stored.
func (db *DB) Setting(ctx context.Context, name string) (value string, ok bool, err error) {
	err = db.db.QueryRowContext(ctx, `SELECT value FROM settings WHERE name = $1`, name).Scan(&value)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, nil
	} else if err != nil {
		return "", false, fmt.Errorf("read setting %s: %w", name, err)
	}
	return value, true, nil
}

// SetSetting stores value as the setting called name, replacing what was
// there.
func (db *DB) SetSetting(ctx context.Context, name, value string) error {
	if name == "" {
		return errors.New("set setting: empty name")
	}
	if _, err := db.db.ExecContext(ctx, `INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
		name, value, db.time(db.clock.Now())); err != nil {
		return fmt.Errorf("set setting %s: %w", name, err)
	}
	return nil
}

// InitSetting stores value as the setting called name unless one is stored
// already, and returns the value stored: value, or the one that was there
// first. Two processes that race to set it agree on the winner's.
func (db *DB) InitSetting(ctx context.Context, name, value string) (string, error) {
	if name == "" {
		return "", errors.New("init setting: empty name")
	}
	if _, err := db.db.ExecContext(ctx, `INSERT INTO settings (name, value, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (name) DO NOTHING`, name, value, db.time(db.clock.Now())); err != nil {
		return "", fmt.Errorf("init setting %s: %w", name, err)
	}
	stored, ok, err := db.Setting(ctx, name)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", fmt.Errorf("init setting %s: not stored", name)
	}
	return stored, nil
}

// CodeInUse is a parcel ready for pickup and the stored hash of its
// opening code: what the opening-code secret's keys must keep matching.
type CodeInUse struct {
	ShipmentID   string
	LocationID   string
	LocationType lokero.LocationType
	Hash         []byte
}

// CodesInUse lists the parcels ready for pickup that have an opening code,
// with their locker's type (which sets the code's length).
func (db *DB) CodesInUse(ctx context.Context) ([]CodeInUse, error) {
	list, err := queryAll(ctx, db.db, func(r scanner) (CodeInUse, error) {
		var c CodeInUse
		err := r.Scan(&c.ShipmentID, &c.LocationID, &c.LocationType, &c.Hash)
		return c, err
	}, `SELECT s.id, s.destination_id, l.type, s.opening_code_hash
		FROM shipments s JOIN locations l ON l.id = s.destination_id
		WHERE s.status = $1 AND s.opening_code_hash IS NOT NULL ORDER BY s.id`, string(lokero.StatusReadyForPickup))
	if err != nil {
		return nil, fmt.Errorf("codes in use: %w", err)
	}
	return list, nil
}
