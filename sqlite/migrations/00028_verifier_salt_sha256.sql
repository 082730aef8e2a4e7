-- A kept verifier no longer keeps its locker's salt (lokero.Verifier.
-- SaltSHA256): the salt is derived from the code secret, which stays
-- outside the database, and with it a copy of the database alone would
-- let anyone test guessed codes against the verifiers (argon2id under
-- public parameters). The column keeps the salt's SHA-256 instead, which
-- tells whether the salt changed but cannot stand in for it.
--
-- This SQLite has no SHA-256 function (modernc.org/sqlite registers none,
-- and a migration here is SQL only), so the verifiers kept are deleted
-- rather than converted: they are a cache, and the centre derives each
-- again at the locker's next sync (one derivation a parcel, as for a new
-- one). secure_delete overwrites their bytes instead of leaving them in
-- free pages of the file; it is set back to SQLite's default after.

-- +goose Up
PRAGMA secure_delete = ON;
DELETE FROM locker_verifiers;
PRAGMA secure_delete = OFF;
ALTER TABLE locker_verifiers RENAME COLUMN salt TO salt_sha256;

-- +goose Down
-- The code before keeps the salt in this column: it takes a SHA-256 there
-- for another salt, and derives and replaces the verifier.
ALTER TABLE locker_verifiers RENAME COLUMN salt_sha256 TO salt;
