-- The network's occupancy by size class, sampled every hour (the
-- operator's dashboard draws the last days of it).

-- +goose Up
CREATE TABLE occupancy_samples (
    taken_at     timestamptz NOT NULL,
    size         text        NOT NULL,
    total        integer     NOT NULL CHECK (total >= 0),
    occupied     integer     NOT NULL CHECK (occupied >= 0),
    out_of_order integer     NOT NULL CHECK (out_of_order >= 0),
    PRIMARY KEY (taken_at, size)
);

-- +goose Down
DROP TABLE occupancy_samples;
