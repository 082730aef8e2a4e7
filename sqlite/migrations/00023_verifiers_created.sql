-- Verifiers are kept for a while after they are made (service.KeepVerifiers)
-- and then forgotten, oldest first: by their creation time.

-- +goose Up
CREATE INDEX locker_verifiers_created_idx ON locker_verifiers (created_at);

-- +goose Down
DROP INDEX locker_verifiers_created_idx;
