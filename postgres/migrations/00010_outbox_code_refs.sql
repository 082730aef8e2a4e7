-- A queued message that tells an opening code is stored without it: its
-- text holds the placeholder {opening_code}, and these columns say which
-- parcel, locker and version of the parcel's derived code go there when
-- the message is sent (lokero.OutboxMessage). code_version -1: no code.
-- Messages queued before this migration keep their text as it was.

-- +goose Up
ALTER TABLE outbox ADD COLUMN shipment_id text NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN location_id text NOT NULL DEFAULT '';
ALTER TABLE outbox ADD COLUMN code_version integer NOT NULL DEFAULT -1;

-- +goose Down
ALTER TABLE outbox DROP COLUMN code_version;
ALTER TABLE outbox DROP COLUMN location_id;
ALTER TABLE outbox DROP COLUMN shipment_id;
