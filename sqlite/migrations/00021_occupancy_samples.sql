-- The network's occupancy by size class, sampled every hour (the
-- operator's dashboard draws the last days of it).

-- +goose Up
CREATE TABLE occupancy_samples (
    taken_at     TEXT    NOT NULL,
    size         TEXT    NOT NULL,
    total        INTEGER NOT NULL CHECK (total >= 0),
    occupied     INTEGER NOT NULL CHECK (occupied >= 0),
    out_of_order INTEGER NOT NULL CHECK (out_of_order >= 0),
    PRIMARY KEY (taken_at, size)
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE occupancy_samples;
