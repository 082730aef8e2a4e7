-- When a shipment's cash on delivery was collected, for settlements: the
-- CollectedAt of its cod, as UTC text as in 00001 (NULL: no cash on
-- delivery, or not collected yet). The shipments that have one are
-- filled in from their cod, whose JSON has Go's encoding of the time
-- (RFC 3339 in UTC, its fraction without trailing zeros): padded to six
-- fractional digits here, so that the column sorts as text.

-- +goose Up
ALTER TABLE shipments ADD COLUMN cod_collected_at TEXT;

UPDATE shipments SET cod_collected_at =
    substr(c.v, 1, 19) || '.' || substr(substr(c.v, 21, max(length(c.v) - 21, 0)) || '000000', 1, 6) || 'Z'
FROM (SELECT id, json_extract(cod, '$.collected_at') AS v FROM shipments) AS c
WHERE c.id = shipments.id AND c.v IS NOT NULL;

-- CODCollected: the collections of a period.
CREATE INDEX shipments_cod_collected_idx ON shipments (cod_collected_at) WHERE cod_collected_at IS NOT NULL;

-- +goose Down
DROP INDEX shipments_cod_collected_idx;
ALTER TABLE shipments DROP COLUMN cod_collected_at;
