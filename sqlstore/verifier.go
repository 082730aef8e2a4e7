package sqlstore

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/lokero/lokero"
)

// verifierColumns are a verifier's columns as scanVerifier reads them.
const verifierColumns = `shipment_id, location_id, code_hash, salt_sha256, hash, created_at`

// scanVerifier scans the verifierColumns of a row. Empty byte strings
// come back nil.
func scanVerifier(r scanner) (lokero.Verifier, error) {
	var v lokero.Verifier
	err := r.Scan(&v.ShipmentID, &v.LocationID, &v.CodeHash, &v.SaltSHA256, &v.Hash, scanTime{&v.CreatedAt})
	for _, b := range []*[]byte{&v.CodeHash, &v.SaltSHA256, &v.Hash} {
		if len(*b) == 0 {
			*b = nil
		}
	}
	return v, err
}

// Verifiers returns the stored verifiers of the shipments given (those
// that have one), by shipment ID: one query for every MaxArgs IDs, none
// for an empty list. IDs may repeat.
func (db *DB) Verifiers(ctx context.Context, shipmentIDs []string) (map[string]lokero.Verifier, error) {
	out := make(map[string]lokero.Verifier)
	for ids := range slices.Chunk(shipmentIDs, db.dialect.MaxArgs()) {
		args := make([]any, len(ids))
		for i, id := range ids {
			args[i] = id
		}
		list, err := queryAll(ctx, db.db, scanVerifier, `SELECT `+verifierColumns+`
			FROM locker_verifiers WHERE shipment_id IN `+db.placeholders(1, len(ids)), args...)
		if err != nil {
			return nil, fmt.Errorf("verifiers of %d shipments: %w", len(shipmentIDs), err)
		}
		for _, v := range list {
			out[v.ShipmentID] = v
		}
	}
	return out, nil
}

// PutVerifier stores a shipment's verifier, replacing the one it had
// (every field, CreatedAt too): a zero CreatedAt is the store's clock's
// now. A verifier needs a shipment ID and a hash (EINVALID otherwise) and
// a stored shipment: the schema refuses one for an unknown shipment,
// returned as ENOTFOUND. An empty CodeHash or SaltSHA256 is stored empty.
// No salt is stored (migration 00028 replaced the ones kept before): a
// SaltSHA256 that is not empty and not of a SHA-256's length is EINVALID,
// as it cannot be one (a salt given in its place, say).
func (db *DB) PutVerifier(ctx context.Context, v lokero.Verifier) error {
	if v.ShipmentID == "" {
		return lokero.Invalid("shipment_id", "missing", "a verifier needs the shipment's ID")
	}
	if len(v.Hash) == 0 {
		return lokero.Invalid("hash", "missing", "the verifier of shipment %q has no hash", v.ShipmentID)
	}
	if n := len(v.SaltSHA256); n != 0 && n != sha256.Size {
		return lokero.Invalid("salt_sha256", "bad_length", "the verifier of shipment %q has a salt's SHA-256 of %d bytes, want %d", v.ShipmentID, n, sha256.Size)
	}
	created := v.CreatedAt
	if created.IsZero() {
		created = db.clock.Now()
	}
	_, err := db.db.ExecContext(ctx, `INSERT INTO locker_verifiers (`+verifierColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (shipment_id) DO UPDATE SET location_id = excluded.location_id,
			code_hash = excluded.code_hash, salt_sha256 = excluded.salt_sha256, hash = excluded.hash,
			created_at = excluded.created_at`,
		v.ShipmentID, v.LocationID, notNullBytes(v.CodeHash), notNullBytes(v.SaltSHA256), v.Hash, db.time(created))
	if err == nil {
		return nil
	}
	// The likeliest refusal is the foreign key's: an unknown shipment.
	// Neither database names it portably, so ask.
	var one int
	switch exists := db.db.QueryRowContext(ctx, `SELECT 1 FROM shipments WHERE id = $1`, v.ShipmentID).Scan(&one); {
	case errors.Is(exists, sql.ErrNoRows):
		return lokero.Errorf(lokero.ENOTFOUND, "no shipment %q to store a verifier of", v.ShipmentID)
	case exists != nil:
		return fmt.Errorf("put verifier of shipment %s: %w (and looking the shipment up: %v)", v.ShipmentID, err, exists)
	}
	return fmt.Errorf("put verifier of shipment %s: %w", v.ShipmentID, err)
}

// notNullBytes stores a nil byte slice as an empty one, for a NOT NULL
// column.
func notNullBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// PruneVerifiers forgets the verifiers made before a time (by their index
// on created_at).
func (db *DB) PruneVerifiers(ctx context.Context, before time.Time) (int64, error) {
	n, err := db.deleteCounted(ctx, `DELETE FROM locker_verifiers WHERE created_at < $1`, db.time(before))
	if err != nil {
		return 0, fmt.Errorf("prune verifiers: %w", err)
	}
	return n, nil
}
