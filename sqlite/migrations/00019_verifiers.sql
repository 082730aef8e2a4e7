-- Verifiers of opening codes for lockers' controllers (lokero.Verifier):
-- one row per shipment that has one, going with its shipment. code_hash
-- is the shipment's opening_code_hash the verifier was made for, salt the
-- locker's salt it was made with, hash the verifier itself (argon2id),
-- all byte for byte.
--
-- Times are UTC text as in 00001.

-- +goose Up
CREATE TABLE locker_verifiers (
    shipment_id TEXT NOT NULL PRIMARY KEY REFERENCES shipments (id) ON DELETE CASCADE,
    location_id TEXT NOT NULL,
    code_hash   BLOB NOT NULL,
    salt        BLOB NOT NULL,
    hash        BLOB NOT NULL CHECK (length(hash) > 0),
    created_at  TEXT NOT NULL
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE locker_verifiers;
