-- Retailers, their shipments with the events of their lives, and the
-- per-day compartment reservations of lockers. Persistence only: the
-- service enforces the lifecycle.
-- IDs and codes collate "C" (byte order), as in 00001; delivery dates are
-- "YYYY-MM-DD". sender and recipient hold Go's encoding of lokero.Party,
-- parcel of lokero.Parcel, cod of lokero.COD (NULL: no cash on delivery).
-- A return code, return tracking code or idempotency key not issued is
-- NULL, so that any number of shipments lack one. The unique constraints
-- are named: the store maps a violation to its reason by the name.

-- +goose Up
CREATE TABLE retailers (
    id           text COLLATE "C" PRIMARY KEY CHECK (id <> ''),
    name         text        NOT NULL,
    key_hash     bytea       NOT NULL CHECK (length(key_hash) > 0),
    free_returns boolean     NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL,
    CONSTRAINT retailers_key_hash_key UNIQUE (key_hash)
);

CREATE TABLE shipments (
    id                   text COLLATE "C" PRIMARY KEY CHECK (id <> ''),
    retailer_id          text COLLATE "C" NOT NULL REFERENCES retailers (id),
    reference            text        NOT NULL DEFAULT '',
    tracking_code        text        NOT NULL CHECK (tracking_code <> ''),
    status               text        NOT NULL CHECK (status <> ''),
    sender               jsonb       NOT NULL,
    recipient            jsonb       NOT NULL,
    parcel               jsonb       NOT NULL,
    cod                  jsonb,
    pickup_point_id      text        NOT NULL DEFAULT '',
    fallback             text        NOT NULL DEFAULT '',
    destination_id       text        NOT NULL DEFAULT '',
    routing_rule         text        NOT NULL DEFAULT '',
    routing_reason       text        NOT NULL DEFAULT '',
    delivery_date        text        NOT NULL DEFAULT '',
    size_class           text        NOT NULL DEFAULT '',
    return_code          text        CHECK (return_code <> ''),
    return_tracking_code text        CHECK (return_tracking_code <> ''),
    idempotency_key      text        CHECK (idempotency_key <> ''),
    request_hash         bytea,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    CONSTRAINT shipments_tracking_code_key UNIQUE (tracking_code),
    CONSTRAINT shipments_return_code_key UNIQUE (return_code),
    CONSTRAINT shipments_return_tracking_code_key UNIQUE (return_tracking_code),
    CONSTRAINT shipments_idempotency_key_key UNIQUE (retailer_id, idempotency_key)
);

-- The retailer's listings: all, by status, by reference; in ID order.
CREATE INDEX shipments_retailer_idx ON shipments (retailer_id, id);
CREATE INDEX shipments_retailer_status_idx ON shipments (retailer_id, status, id);
CREATE INDEX shipments_retailer_reference_idx ON shipments (retailer_id, reference, id);

CREATE TABLE shipment_events (
    shipment_id text COLLATE "C" NOT NULL REFERENCES shipments (id),
    seq         integer     NOT NULL CHECK (seq > 0),
    status      text        NOT NULL CHECK (status <> ''),
    at          timestamptz NOT NULL,
    location_id text        NOT NULL DEFAULT '',
    reason      text        NOT NULL DEFAULT '',
    PRIMARY KEY (shipment_id, seq)
);

CREATE TABLE reservations (
    location_id   text    NOT NULL,
    delivery_date text    NOT NULL,
    size          text    NOT NULL,
    reserved      integer NOT NULL CHECK (reserved >= 0),
    PRIMARY KEY (location_id, delivery_date, size)
);

-- +goose Down
DROP TABLE reservations;
DROP TABLE shipment_events;
DROP TABLE shipments;
DROP TABLE retailers;
