-- +goose Up
-- The mail slot of each locker: cards and letters waiting, dropped, emptied.
CREATE TABLE letter_slots (
    location_id TEXT    NOT NULL PRIMARY KEY,
    in_slot     INTEGER NOT NULL CHECK (in_slot >= 0),
    dropped     INTEGER NOT NULL CHECK (dropped >= 0),
    emptied     INTEGER NOT NULL CHECK (emptied >= 0),
    updated_at  TEXT    NOT NULL
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE letter_slots;
