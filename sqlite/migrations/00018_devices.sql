-- Lockers speaking the device protocol (docs/device-protocol.md).
--
-- device_sequences: the sequence number of the last event the centre
-- applied from each device credential (lokero.Tx.DeviceSequence), so that
-- an event delivered twice is applied once; location_id is the locker the
-- credential belongs to. A credential's row goes with it.
--
-- locker_links: each locker's link to the centre (lokero.LockerLink), one
-- row per locker that ever reported: online (0 or 1) and changed_at as
-- its last status said; heartbeat_at, firmware and compartments (the JSON
-- the locker sent, byte for byte) as its last heartbeat said.
-- heartbeat_at and compartments are NULL until one reports them.
--
-- Times are UTC text as in 00001, so that they compare as text.

-- +goose Up
CREATE TABLE device_sequences (
    credential_id TEXT    NOT NULL PRIMARY KEY REFERENCES credentials (id) ON DELETE CASCADE,
    location_id   TEXT    NOT NULL,
    last_seq      INTEGER NOT NULL,
    updated_at    TEXT    NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE locker_links (
    location_id  TEXT    NOT NULL PRIMARY KEY CHECK (location_id <> ''),
    online       INTEGER NOT NULL CHECK (online IN (0, 1)),
    changed_at   TEXT    NOT NULL,
    heartbeat_at TEXT,
    firmware     TEXT    NOT NULL DEFAULT '',
    compartments BLOB
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE locker_links;
DROP TABLE device_sequences;
