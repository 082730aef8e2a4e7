-- The checkout's capacity view reads every reservation of one delivery
-- date (ShipmentStore.ReservedOn); the primary key leads with the
-- location, so without this index that read scans every date ever booked.
-- It covers the query: the table itself is not touched.

-- +goose Up
CREATE INDEX reservations_by_date ON reservations (delivery_date, location_id, size, reserved);

-- +goose Down
DROP INDEX reservations_by_date;
