-- Signing out of a web session (DELETE /v1/session) ends every session of
-- the credential begun before it: a cookie copied from the browser stops
-- working too (api/session.go). NULL until the first sign-out.

-- +goose Up
ALTER TABLE credentials ADD COLUMN sessions_ended_at timestamptz;

-- +goose Down
ALTER TABLE credentials DROP COLUMN sessions_ended_at;
