-- A kept verifier no longer keeps its locker's salt (lokero.Verifier.
-- SaltSHA256): the salt is derived from the code secret, which stays
-- outside the database, and with it a copy of the database alone would
-- let anyone test guessed codes against the verifiers (argon2id under
-- public parameters). The column keeps the salt's SHA-256 instead, which
-- tells whether the salt changed but cannot stand in for it: each kept
-- salt is replaced by its SHA-256 (sha256(bytea), PostgreSQL 11 and
-- later), so the verifiers kept stay good and none is derived again. An
-- empty salt (none known) stays empty.
--
-- The row versions the UPDATE replaces hold the salts until VACUUM
-- reclaims them, as do copies and WAL archives made before
-- (docs/security.md, "A stolen controller").

-- +goose Up
UPDATE locker_verifiers SET salt = sha256(salt) WHERE length(salt) > 0;
ALTER TABLE locker_verifiers RENAME COLUMN salt TO salt_sha256;

-- +goose Down
-- The code before keeps the salt in this column: it takes a SHA-256 there
-- for another salt, and derives and replaces the verifier.
ALTER TABLE locker_verifiers RENAME COLUMN salt_sha256 TO salt;
