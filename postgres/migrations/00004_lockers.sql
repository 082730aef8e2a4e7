-- Locker operations: credentials of couriers, devices and operators (their
-- tokens only hashed), the compartments of each locker and what is in
-- them, the keypads' lockout state, the outbox of messages to people, and
-- the shipment's place in its locker. IDs collate "C" as in 00001.
-- A compartment's shipment_id is NULL when it is empty; a shipment's
-- storage_deadline and opening_code_hash are NULL until it is deposited.
-- The unique constraints are named: the store maps a violation to its
-- reason by the name.

-- +goose Up
ALTER TABLE shipments ADD COLUMN compartment integer NOT NULL DEFAULT 0;
ALTER TABLE shipments ADD COLUMN storage_deadline timestamptz;
ALTER TABLE shipments ADD COLUMN opening_code_hash bytea;

-- ShipmentByOpeningCode: the keypad's lookup.
CREATE INDEX shipments_opening_code_idx ON shipments (destination_id, opening_code_hash);

CREATE TABLE credentials (
    id          text COLLATE "C" CHECK (id <> ''),
    kind        text        NOT NULL CHECK (kind <> ''),
    name        text        NOT NULL DEFAULT '',
    location_id text        NOT NULL DEFAULT '',
    token_hash  bytea       NOT NULL CHECK (length(token_hash) > 0),
    created_at  timestamptz NOT NULL,
    CONSTRAINT credentials_pkey PRIMARY KEY (id),
    CONSTRAINT credentials_token_hash_key UNIQUE (token_hash)
);

CREATE TABLE compartments (
    location_id  text COLLATE "C" NOT NULL CHECK (location_id <> ''),
    number       integer NOT NULL CHECK (number > 0),
    size         text    NOT NULL DEFAULT '',
    length_cm    integer NOT NULL DEFAULT 0,
    width_cm     integer NOT NULL DEFAULT 0,
    height_cm    integer NOT NULL DEFAULT 0,
    out_of_order boolean NOT NULL DEFAULT false,
    shipment_id  text COLLATE "C" CHECK (shipment_id <> ''),
    door_open    boolean NOT NULL DEFAULT false,
    PRIMARY KEY (location_id, number)
);

CREATE TABLE keypads (
    location_id text COLLATE "C" PRIMARY KEY CHECK (location_id <> ''),
    state       bytea       NOT NULL,
    updated_at  timestamptz NOT NULL
);

CREATE TABLE outbox (
    id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel       text        NOT NULL,
    to_address    text        NOT NULL,
    tracking_code text        NOT NULL DEFAULT '',
    kind          text        NOT NULL DEFAULT '',
    text          text        NOT NULL,
    created_at    timestamptz NOT NULL
);

-- +goose Down
DROP TABLE outbox;
DROP TABLE keypads;
DROP TABLE compartments;
DROP TABLE credentials;
DROP INDEX shipments_opening_code_idx;
ALTER TABLE shipments DROP COLUMN opening_code_hash;
ALTER TABLE shipments DROP COLUMN storage_deadline;
ALTER TABLE shipments DROP COLUMN compartment;
