-- Parcels that consumers drop off at a locker's keypad: a return of a
-- delivery (entered with its return code) and a pre-paid parcel (entered
-- with its own code, kept in return_code). kind is "delivery", "return" or
-- "prepaid"; return_of is a return's delivery, NULL otherwise, and unique:
-- a return code works once.

-- +goose Up
ALTER TABLE shipments ADD COLUMN kind TEXT NOT NULL DEFAULT 'delivery' CHECK (kind <> '');
ALTER TABLE shipments ADD COLUMN return_of TEXT CHECK (return_of <> '');
CREATE UNIQUE INDEX shipments_return_of_idx ON shipments (return_of);

-- +goose Down
DROP INDEX shipments_return_of_idx;
ALTER TABLE shipments DROP COLUMN return_of;
ALTER TABLE shipments DROP COLUMN kind;
