-- Pickup point status (issue #12): every location has a status, dated
-- exception days and functions; the operator changes them, and every
-- change is kept as an event. Dates ("YYYY-MM-DD") are text, '' when not
-- set. exception_days holds Go's encoding of []lokero.ExceptionDay,
-- functions of []string, and an event's change of lokero.LocationChange.
--
-- Existing locations become OPEN with their type's default functions
-- (lokero.DefaultFunctions), filled here so that the store reads them
-- back as they are. event_seq is the Seq of the location's latest event
-- (0: none yet): the store bumps it under the row's lock and appends the
-- event with that Seq in the same transaction, so that concurrent writers
-- never number two events alike.

-- +goose Up
ALTER TABLE locations ADD COLUMN status text NOT NULL DEFAULT 'OPEN';
ALTER TABLE locations ADD COLUMN status_from text NOT NULL DEFAULT '';
ALTER TABLE locations ADD COLUMN status_until text NOT NULL DEFAULT '';
ALTER TABLE locations ADD COLUMN status_reason text NOT NULL DEFAULT '';
ALTER TABLE locations ADD COLUMN opens_on text NOT NULL DEFAULT '';
ALTER TABLE locations ADD COLUMN exception_days jsonb NOT NULL DEFAULT '[]';
ALTER TABLE locations ADD COLUMN functions jsonb NOT NULL DEFAULT '[]';
ALTER TABLE locations ADD COLUMN event_seq integer NOT NULL DEFAULT 0 CHECK (event_seq >= 0);

UPDATE locations SET functions = CASE type
    WHEN 'PICKUPPOINT' THEN '["collect","return"]'::jsonb
    WHEN 'LOCKER' THEN '["collect","send","return"]'::jsonb
    WHEN 'SMARTPOST' THEN '["collect","send","return"]'::jsonb
    WHEN 'POSTOFFICE' THEN '["collect","send","return"]'::jsonb
    ELSE '[]'::jsonb END;

CREATE TABLE location_events (
    location_id text COLLATE "C" NOT NULL REFERENCES locations (id),
    seq         integer     NOT NULL CHECK (seq > 0),
    at          timestamptz NOT NULL,
    actor       text        NOT NULL,
    change      jsonb       NOT NULL,
    PRIMARY KEY (location_id, seq)
);

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
