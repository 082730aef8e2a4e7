-- Locker operations: credentials of couriers, devices and operators (their
-- tokens only hashed), the compartments of each locker and what is in
-- them, the keypads' lockout state, the outbox of messages to people, and
-- the shipment's place in its locker. Times are UTC text as in 00001.
-- A compartment's shipment_id is NULL when it is empty; a shipment's
-- storage_deadline and opening_code_hash are NULL until it is deposited.

-- +goose Up
ALTER TABLE shipments ADD COLUMN compartment INTEGER NOT NULL DEFAULT 0;
ALTER TABLE shipments ADD COLUMN storage_deadline TEXT;
ALTER TABLE shipments ADD COLUMN opening_code_hash BLOB;

-- ShipmentByOpeningCode: the keypad's lookup.
CREATE INDEX shipments_opening_code_idx ON shipments (destination_id, opening_code_hash);

CREATE TABLE credentials (
    id          TEXT NOT NULL PRIMARY KEY CHECK (id <> ''),
    kind        TEXT NOT NULL CHECK (kind <> ''),
    name        TEXT NOT NULL DEFAULT '',
    location_id TEXT NOT NULL DEFAULT '',
    token_hash  BLOB NOT NULL UNIQUE CHECK (length(token_hash) > 0),
    created_at  TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE compartments (
    location_id  TEXT    NOT NULL CHECK (location_id <> ''),
    number       INTEGER NOT NULL CHECK (number > 0),
    size         TEXT    NOT NULL DEFAULT '',
    length_cm    INTEGER NOT NULL DEFAULT 0,
    width_cm     INTEGER NOT NULL DEFAULT 0,
    height_cm    INTEGER NOT NULL DEFAULT 0,
    out_of_order INTEGER NOT NULL DEFAULT 0 CHECK (out_of_order IN (0, 1)),
    shipment_id  TEXT CHECK (shipment_id <> ''),
    door_open    INTEGER NOT NULL DEFAULT 0 CHECK (door_open IN (0, 1)),
    PRIMARY KEY (location_id, number)
) STRICT, WITHOUT ROWID;

CREATE TABLE keypads (
    location_id TEXT NOT NULL PRIMARY KEY CHECK (location_id <> ''),
    state       BLOB NOT NULL,
    updated_at  TEXT NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE outbox (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    channel       TEXT NOT NULL,
    to_address    TEXT NOT NULL,
    tracking_code TEXT NOT NULL DEFAULT '',
    kind          TEXT NOT NULL DEFAULT '',
    text          TEXT NOT NULL,
    created_at    TEXT NOT NULL
) STRICT;

-- +goose Down
DROP TABLE outbox;
DROP TABLE keypads;
DROP TABLE compartments;
DROP TABLE credentials;
DROP INDEX shipments_opening_code_idx;
ALTER TABLE shipments DROP COLUMN opening_code_hash;
ALTER TABLE shipments DROP COLUMN storage_deadline;
ALTER TABLE shipments DROP COLUMN compartment;
