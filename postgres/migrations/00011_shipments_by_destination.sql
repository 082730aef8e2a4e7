-- Re-routing the parcels of a closed point (service.Shipments.RerouteClosed,
-- run on every directory reload) and the operator's stranded lists read
-- the shipments routed to one location in a few statuses
-- (ShipmentStore.ShipmentsTo): without this index that read visits every
-- parcel the location ever had.

-- +goose Up
CREATE INDEX shipments_destination_status_idx ON shipments (destination_id, status, id);

-- +goose Down
DROP INDEX shipments_destination_status_idx;
