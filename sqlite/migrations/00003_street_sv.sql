-- +goose Up
-- A street's Swedish name (and number), where it has one: "Mannerheimvägen 5".
ALTER TABLE locations ADD COLUMN street_sv TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE locations DROP COLUMN street_sv;
