-- Parcels that consumers drop off at a locker's keypad: a return of a
-- delivery (entered with its return code) and a pre-paid parcel (entered
-- with its own code, kept in return_code). kind is "delivery", "return" or
-- "prepaid"; return_of is a return's delivery, NULL otherwise, and unique:
-- a return code works once. The constraint is named: the store maps a
-- violation to its reason by the name.

-- +goose Up
ALTER TABLE shipments ADD COLUMN kind text NOT NULL DEFAULT 'delivery' CHECK (kind <> '');
ALTER TABLE shipments ADD COLUMN return_of text COLLATE "C" CHECK (return_of <> '');
ALTER TABLE shipments ADD CONSTRAINT shipments_return_of_key UNIQUE (return_of);

-- +goose Down
ALTER TABLE shipments DROP CONSTRAINT shipments_return_of_key;
ALTER TABLE shipments DROP COLUMN return_of;
ALTER TABLE shipments DROP COLUMN kind;
