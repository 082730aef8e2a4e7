-- Retailers, their shipments with the events of their lives, and the
-- per-day compartment reservations of lockers. Persistence only: the
-- service enforces the lifecycle.
-- Times are UTC text as in 00001 (RFC 3339, microseconds); delivery dates
-- are "YYYY-MM-DD". sender and recipient hold Go's encoding of
-- lokero.Party, parcel of lokero.Parcel, cod of lokero.COD (NULL: no cash
-- on delivery). A return code, return tracking code or idempotency key
-- not issued is NULL, so that any number of shipments lack one.

-- +goose Up
CREATE TABLE retailers (
    id           TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    name         TEXT    NOT NULL,
    key_hash     BLOB    NOT NULL UNIQUE CHECK (length(key_hash) > 0),
    free_returns INTEGER NOT NULL DEFAULT 0 CHECK (free_returns IN (0, 1)),
    created_at   TEXT    NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE shipments (
    id                   TEXT NOT NULL PRIMARY KEY CHECK (id <> ''),
    retailer_id          TEXT NOT NULL REFERENCES retailers (id),
    reference            TEXT NOT NULL DEFAULT '',
    tracking_code        TEXT NOT NULL UNIQUE CHECK (tracking_code <> ''),
    status               TEXT NOT NULL CHECK (status <> ''),
    sender               TEXT NOT NULL CHECK (json_valid(sender)),
    recipient            TEXT NOT NULL CHECK (json_valid(recipient)),
    parcel               TEXT NOT NULL CHECK (json_valid(parcel)),
    cod                  TEXT CHECK (json_valid(cod)),
    pickup_point_id      TEXT NOT NULL DEFAULT '',
    fallback             TEXT NOT NULL DEFAULT '',
    destination_id       TEXT NOT NULL DEFAULT '',
    routing_rule         TEXT NOT NULL DEFAULT '',
    routing_reason       TEXT NOT NULL DEFAULT '',
    delivery_date        TEXT NOT NULL DEFAULT '',
    size_class           TEXT NOT NULL DEFAULT '',
    return_code          TEXT UNIQUE CHECK (return_code <> ''),
    return_tracking_code TEXT UNIQUE CHECK (return_tracking_code <> ''),
    idempotency_key      TEXT CHECK (idempotency_key <> ''),
    request_hash         BLOB,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    UNIQUE (retailer_id, idempotency_key)
) STRICT;

-- The retailer's listings: all, by status, by reference; in ID order.
CREATE INDEX shipments_retailer_idx ON shipments (retailer_id, id);
CREATE INDEX shipments_retailer_status_idx ON shipments (retailer_id, status, id);
CREATE INDEX shipments_retailer_reference_idx ON shipments (retailer_id, reference, id);

CREATE TABLE shipment_events (
    shipment_id TEXT    NOT NULL REFERENCES shipments (id),
    seq         INTEGER NOT NULL CHECK (seq > 0),
    status      TEXT    NOT NULL CHECK (status <> ''),
    at          TEXT    NOT NULL,
    location_id TEXT    NOT NULL DEFAULT '',
    reason      TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (shipment_id, seq)
) STRICT, WITHOUT ROWID;

CREATE TABLE reservations (
    location_id   TEXT    NOT NULL,
    delivery_date TEXT    NOT NULL,
    size          TEXT    NOT NULL,
    reserved      INTEGER NOT NULL CHECK (reserved >= 0),
    PRIMARY KEY (location_id, delivery_date, size)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE reservations;
DROP TABLE shipment_events;
DROP TABLE shipments;
DROP TABLE retailers;
