-- The key under which the centre seals codes for a locker's controller
-- (locker.BoardKey of its device token), itself sealed under the code
-- secret (locker.Codes.Seal, purpose "board-key", the credential's ID as
-- additional data); '' for credentials that are no device's, and for
-- devices provisioned before it: their verifiers are derived by the
-- centre as before (docs/device-protocol.md, "The board derives").

-- +goose Up
ALTER TABLE credentials ADD COLUMN board_key TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE credentials DROP COLUMN board_key;
