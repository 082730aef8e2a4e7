-- When a shipment's cash on delivery was collected, for settlements: the
-- CollectedAt of its cod (NULL: no cash on delivery, or not collected
-- yet). The shipments that have one are filled in from their cod.

-- +goose Up
ALTER TABLE shipments ADD COLUMN cod_collected_at timestamptz;

UPDATE shipments SET cod_collected_at = (cod ->> 'collected_at')::timestamptz
WHERE cod ->> 'collected_at' IS NOT NULL;

-- CODCollected: the collections of a period.
CREATE INDEX shipments_cod_collected_idx ON shipments (cod_collected_at) WHERE cod_collected_at IS NOT NULL;

-- +goose Down
DROP INDEX shipments_cod_collected_idx;
ALTER TABLE shipments DROP COLUMN cod_collected_at;
