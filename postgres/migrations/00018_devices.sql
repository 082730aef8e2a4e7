-- Lockers speaking the device protocol (docs/device-protocol.md).
--
-- device_sequences: the sequence number of the last event the centre
-- applied from each device credential (lokero.Tx.DeviceSequence), so that
-- an event delivered twice is applied once; location_id is the locker the
-- credential belongs to. A credential's row goes with it.
--
-- locker_links: each locker's link to the centre (lokero.LockerLink), one
-- row per locker that ever reported: online and changed_at as its last
-- status said; heartbeat_at, firmware and compartments (the JSON the
-- locker sent, byte for byte: bytea, not jsonb, which would rewrite it) as
-- its last heartbeat said. heartbeat_at and compartments are NULL until
-- one reports them.

-- +goose Up
CREATE TABLE device_sequences (
    credential_id text COLLATE "C" NOT NULL PRIMARY KEY REFERENCES credentials (id) ON DELETE CASCADE,
    location_id   text COLLATE "C" NOT NULL,
    last_seq      bigint           NOT NULL,
    updated_at    timestamptz      NOT NULL
);

CREATE TABLE locker_links (
    location_id  text COLLATE "C" NOT NULL PRIMARY KEY CHECK (location_id <> ''),
    online       boolean          NOT NULL,
    changed_at   timestamptz      NOT NULL,
    heartbeat_at timestamptz,
    firmware     text             NOT NULL DEFAULT '',
    compartments bytea
);

-- +goose Down
DROP TABLE locker_links;
DROP TABLE device_sequences;
