-- The courier tokens a locker's keypad must forget (CredentialStore.
-- RetiredCourierTokens, read for every sync): a locker keeps for 30 days
-- the couriers the centre accepted there, and takes them while offline;
-- every sync names those whose token stopped working within that time,
-- revoked, expired or replaced by a rotation.
--
-- rotated_tokens keeps the hash a rotation replaced (a rotation
-- overwrites credentials.token_hash): one row per rotation, going with its
-- credential; kind is the credential's, so that the read needs no join.
-- The indexes make each of the read's three parts one short range of the
-- last days, whatever the number of couriers. credentials is a small
-- table written only by an operator's hand (and a minute's touch): plain
-- CREATE INDEX, in goose's transaction. IDs collate "C" as in 00001.

-- +goose Up
CREATE TABLE rotated_tokens (
    token_hash    bytea            PRIMARY KEY CHECK (length(token_hash) > 0),
    credential_id text COLLATE "C" NOT NULL REFERENCES credentials (id) ON DELETE CASCADE,
    kind          text             NOT NULL CHECK (kind <> ''),
    rotated_at    timestamptz      NOT NULL
);
CREATE INDEX rotated_tokens_kind_at_idx ON rotated_tokens (kind, rotated_at);
CREATE INDEX credentials_kind_revoked_idx ON credentials (kind, revoked_at);
CREATE INDEX credentials_kind_expires_idx ON credentials (kind, expires_at);

-- +goose Down
DROP INDEX credentials_kind_expires_idx;
DROP INDEX credentials_kind_revoked_idx;
DROP TABLE rotated_tokens;
