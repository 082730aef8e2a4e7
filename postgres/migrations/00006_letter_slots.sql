-- +goose Up
-- The mail slot of each locker: cards and letters waiting, dropped, emptied.
CREATE TABLE letter_slots (
    location_id text        NOT NULL PRIMARY KEY,
    in_slot     integer     NOT NULL CHECK (in_slot >= 0),
    dropped     integer     NOT NULL CHECK (dropped >= 0),
    emptied     integer     NOT NULL CHECK (emptied >= 0),
    updated_at  timestamptz NOT NULL
);

-- +goose Down
DROP TABLE letter_slots;
