-- Revocable credentials (issue #18): a credential may expire (expires_at),
-- be revoked (revoked_at: its token answers 401 from then on, for good) or
-- have its token replaced (rotated_at: the time of its current token, whose
-- hash is token_hash); last_used_at is when a request last authenticated
-- with it, kept to about a minute. Each is NULL until it happens (or, for
-- expires_at, when it never will). Times are UTC text as in 00001, so that
-- they compare as text. Tokens stay stored only as SHA-256 hashes.

-- +goose Up
ALTER TABLE credentials ADD COLUMN expires_at TEXT;
ALTER TABLE credentials ADD COLUMN last_used_at TEXT;
ALTER TABLE credentials ADD COLUMN revoked_at TEXT;
ALTER TABLE credentials ADD COLUMN rotated_at TEXT;

-- Listing by kind and locker, and revoking a locker's older devices.
CREATE INDEX credentials_kind_location_idx ON credentials (kind, location_id);

-- +goose Down
DROP INDEX credentials_kind_location_idx;
ALTER TABLE credentials DROP COLUMN rotated_at;
ALTER TABLE credentials DROP COLUMN revoked_at;
ALTER TABLE credentials DROP COLUMN last_used_at;
ALTER TABLE credentials DROP COLUMN expires_at;
