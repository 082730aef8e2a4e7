-- Verifiers of opening codes for lockers' controllers (lokero.Verifier):
-- one row per shipment that has one, going with its shipment. code_hash
-- is the shipment's opening_code_hash the verifier was made for, salt the
-- locker's salt it was made with, hash the verifier itself (argon2id),
-- all byte for byte. IDs collate "C" (byte order), as in 00001.

-- +goose Up
CREATE TABLE locker_verifiers (
    shipment_id text COLLATE "C" PRIMARY KEY REFERENCES shipments (id) ON DELETE CASCADE,
    location_id text COLLATE "C" NOT NULL,
    code_hash   bytea            NOT NULL,
    salt        bytea            NOT NULL,
    hash        bytea            NOT NULL CHECK (length(hash) > 0),
    created_at  timestamptz      NOT NULL
);

-- +goose Down
DROP TABLE locker_verifiers;
