-- The limits on what one party may take of a locker read two counts on
-- every booking and every reload of the checkout's capacity view:
--
-- * how many of a retailer's shipments hold a reservation at a locker for a
--   delivery date, by size class (Tx.RetailerReservations: the per-retailer
--   share of a locker's compartments a day). Only a shipment that holds a
--   reservation has a size class, so the index keeps only those: the
--   parcels booked for the next few days, not every parcel ever sent.
-- * the compartments out of order, by locker and size class (Tx.OutOfOrder,
--   and the capacity view's read of every locker at once): a handful of
--   rows among all the compartments of the network.

-- +goose Up
CREATE INDEX shipments_retailer_reservations ON shipments (destination_id, delivery_date, retailer_id, size_class)
    WHERE size_class <> '';
CREATE INDEX compartments_out_of_order ON compartments (location_id, size) WHERE out_of_order;

-- +goose Down
DROP INDEX compartments_out_of_order;
DROP INDEX shipments_retailer_reservations;
