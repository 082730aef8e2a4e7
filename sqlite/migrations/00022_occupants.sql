-- Occupancy over time (package occupancy): the day each parcel arrived in
-- its compartment, and every parcel's stay when it leaves, from which the
-- network learns how long parcels wait. A parcel in a compartment before
-- this migration has no arrival day: it counts as arrived today.

-- +goose Up
ALTER TABLE compartments ADD COLUMN arrived_on TEXT;

CREATE TABLE compartment_departures (
    id          INTEGER PRIMARY KEY,
    location_id TEXT NOT NULL,
    size        TEXT NOT NULL,
    arrived_on  TEXT NOT NULL,
    left_on     TEXT NOT NULL
) STRICT;
CREATE INDEX compartment_departures_left_idx ON compartment_departures (left_on);

-- +goose Down
DROP TABLE compartment_departures;
ALTER TABLE compartments DROP COLUMN arrived_on;
