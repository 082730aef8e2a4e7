-- The returns a locker's controller may take offline (ShipmentStore.
-- ReturnsExpected, read for every sync): the deliveries picked up at the
-- locker within the return window whose return code is not yet used. A
-- partial index, so that the read is one short range whatever the
-- locker's history, and only the parcels with a return code, while they
-- are PICKED_UP, carry an entry.
--
-- Built CONCURRENTLY, outside a transaction (NO TRANSACTION: goose runs
-- the statements one by one on the connection that holds its session
-- advisory lock): a plain CREATE INDEX blocks every write to shipments
-- for the whole build, an outage on a large table while the other
-- instances serve. A concurrent build that fails or is interrupted
-- leaves an INVALID index of that name, which IF NOT EXISTS would take
-- for done, and goose has not recorded the version, so the next start
-- runs this file again: it drops any index of that name first. The drop
-- is unconditional because DROP INDEX CONCURRENTLY cannot run in a DO
-- block (a function is a transaction), and a plain DROP INDEX there
-- would take shipments' ACCESS EXCLUSIVE lock; a valid index is dropped
-- only when the build finished but its version was not recorded, and
-- costs one more build.

-- +goose NO TRANSACTION

-- +goose Up
DROP INDEX CONCURRENTLY IF EXISTS shipments_returns_expected_idx;
CREATE INDEX CONCURRENTLY IF NOT EXISTS shipments_returns_expected_idx ON shipments (picked_up_location, picked_up_at)
    WHERE status = 'PICKED_UP' AND return_code IS NOT NULL;

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS shipments_returns_expected_idx;
