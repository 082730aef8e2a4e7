-- Pickup point status (issue #12): every location has a status, dated
-- exception days and functions; the operator changes them, and every
-- change is kept as an event. Times are UTC text as in 00001; dates
-- ("YYYY-MM-DD") are text, '' when not set. exception_days holds Go's
-- encoding of []lokero.ExceptionDay, functions of []string, and an
-- event's change of lokero.LocationChange.
--
-- Existing locations become OPEN with their type's default functions
-- (lokero.DefaultFunctions), filled here so that the store reads them
-- back as they are. event_seq is the Seq of the location's latest event
-- (0: none yet); the store bumps it and appends the event with that Seq
-- in the same transaction.

-- +goose Up
ALTER TABLE locations ADD COLUMN status TEXT NOT NULL DEFAULT 'OPEN';
ALTER TABLE locations ADD COLUMN status_from TEXT NOT NULL DEFAULT '';
ALTER TABLE locations ADD COLUMN status_until TEXT NOT NULL DEFAULT '';
ALTER TABLE locations ADD COLUMN status_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE locations ADD COLUMN opens_on TEXT NOT NULL DEFAULT '';
ALTER TABLE locations ADD COLUMN exception_days TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(exception_days));
ALTER TABLE locations ADD COLUMN functions TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(functions));
ALTER TABLE locations ADD COLUMN event_seq INTEGER NOT NULL DEFAULT 0 CHECK (event_seq >= 0);

UPDATE locations SET functions = CASE type
    WHEN 'PICKUPPOINT' THEN '["collect","return"]'
    WHEN 'LOCKER' THEN '["collect","send","return"]'
    WHEN 'SMARTPOST' THEN '["collect","send","return"]'
    WHEN 'POSTOFFICE' THEN '["collect","send","return"]'
    ELSE '[]' END;

CREATE TABLE location_events (
    location_id TEXT    NOT NULL REFERENCES locations (id),
    seq         INTEGER NOT NULL CHECK (seq > 0),
    at          TEXT    NOT NULL,
    actor       TEXT    NOT NULL,
    change      TEXT    NOT NULL CHECK (json_valid(change)),
    PRIMARY KEY (location_id, seq)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE location_events;
ALTER TABLE locations DROP COLUMN event_seq;
ALTER TABLE locations DROP COLUMN functions;
ALTER TABLE locations DROP COLUMN exception_days;
ALTER TABLE locations DROP COLUMN opens_on;
ALTER TABLE locations DROP COLUMN status_reason;
ALTER TABLE locations DROP COLUMN status_until;
ALTER TABLE locations DROP COLUMN status_from;
ALTER TABLE locations DROP COLUMN status;
