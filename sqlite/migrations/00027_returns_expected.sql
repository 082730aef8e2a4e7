-- The returns a locker's controller may take offline (ShipmentStore.
-- ReturnsExpected, read for every sync): the deliveries picked up at the
-- locker within the return window whose return code is not yet used. A
-- partial index, so that the read is one short range whatever the
-- locker's history, and only the parcels with a return code, while they
-- are PICKED_UP, carry an entry.

-- +goose Up
CREATE INDEX shipments_returns_expected_idx ON shipments (picked_up_location, picked_up_at)
    WHERE status = 'PICKED_UP' AND return_code IS NOT NULL;

-- +goose Down
DROP INDEX shipments_returns_expected_idx;
