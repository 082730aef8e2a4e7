-- Post offices and agent outlets (issue #19).
--
-- An outlet's limits: the biggest parcel it takes (cm, any orientation,
-- and kg) and its shelf capacity (parcels a delivery day); 0 for lockers,
-- whose compartments are their limit (lokero.Location.MaxParcel and
-- ShelfCapacity). The outlets already in the directory get their type's
-- defaults (lokero.DefaultOutletLimit), filled here as an import would
-- have, so that the store reads them back as they are.
--
-- How and where a shipment's cash on delivery was paid (lokero.COD.Method
-- and LocationID; '' when not paid), for the settlement by place: the
-- payments already collected were all made at their parcel's locker's
-- terminal (no other place took them before this migration).
--
-- Who picked a parcel up, where and when (lokero.Pickup): picked_up_at is
-- UTC text as in 00001, NULL until picked up; the other columns '' then.
-- The parcels already picked up were all picked up at a locker by their
-- recipient: filled here from their PICKED_UP event.

-- +goose Up
ALTER TABLE locations ADD COLUMN max_length_cm INTEGER NOT NULL DEFAULT 0 CHECK (max_length_cm >= 0);
ALTER TABLE locations ADD COLUMN max_width_cm INTEGER NOT NULL DEFAULT 0 CHECK (max_width_cm >= 0);
ALTER TABLE locations ADD COLUMN max_height_cm INTEGER NOT NULL DEFAULT 0 CHECK (max_height_cm >= 0);
ALTER TABLE locations ADD COLUMN max_weight_kg REAL NOT NULL DEFAULT 0 CHECK (max_weight_kg >= 0);
ALTER TABLE locations ADD COLUMN shelf_capacity INTEGER NOT NULL DEFAULT 0 CHECK (shelf_capacity >= 0);

UPDATE locations SET max_length_cm = 120, max_width_cm = 60, max_height_cm = 60, max_weight_kg = 35,
    shelf_capacity = 150
WHERE type = 'POSTOFFICE';
UPDATE locations SET max_length_cm = 100, max_width_cm = 60, max_height_cm = 60, max_weight_kg = 35,
    shelf_capacity = 40
WHERE type = 'PICKUPPOINT';

ALTER TABLE shipments ADD COLUMN cod_method TEXT NOT NULL DEFAULT '';
ALTER TABLE shipments ADD COLUMN cod_location_id TEXT NOT NULL DEFAULT '';
ALTER TABLE shipments ADD COLUMN picked_up_at TEXT;
ALTER TABLE shipments ADD COLUMN picked_up_location TEXT NOT NULL DEFAULT '';
ALTER TABLE shipments ADD COLUMN picked_up_by TEXT NOT NULL DEFAULT '';
ALTER TABLE shipments ADD COLUMN picked_up_representative TEXT NOT NULL DEFAULT '';
ALTER TABLE shipments ADD COLUMN picked_up_clerk TEXT NOT NULL DEFAULT '';

UPDATE shipments SET cod_method = 'terminal', cod_location_id = destination_id
WHERE cod_collected_at IS NOT NULL;

UPDATE shipments SET picked_up_at = e.at,
    picked_up_location = CASE WHEN e.location_id <> '' THEN e.location_id ELSE shipments.destination_id END,
    picked_up_by = 'recipient'
FROM (SELECT shipment_id, at, location_id FROM shipment_events AS p
      WHERE status = 'PICKED_UP' AND seq = (SELECT max(seq) FROM shipment_events AS q
          WHERE q.shipment_id = p.shipment_id AND q.status = 'PICKED_UP')) AS e
WHERE e.shipment_id = shipments.id AND shipments.status = 'PICKED_UP';

-- +goose Down
ALTER TABLE shipments DROP COLUMN picked_up_clerk;
ALTER TABLE shipments DROP COLUMN picked_up_representative;
ALTER TABLE shipments DROP COLUMN picked_up_by;
ALTER TABLE shipments DROP COLUMN picked_up_location;
ALTER TABLE shipments DROP COLUMN picked_up_at;
ALTER TABLE shipments DROP COLUMN cod_location_id;
ALTER TABLE shipments DROP COLUMN cod_method;
ALTER TABLE locations DROP COLUMN shelf_capacity;
ALTER TABLE locations DROP COLUMN max_weight_kg;
ALTER TABLE locations DROP COLUMN max_height_cm;
ALTER TABLE locations DROP COLUMN max_width_cm;
ALTER TABLE locations DROP COLUMN max_length_cm;
