-- Settings the server keeps in its database (issue #18): a name and a
-- text value, e.g. the fingerprints of the opening-code secret (never the
-- secret) and the development clock's offset.

-- +goose Up
CREATE TABLE settings (
    name       text PRIMARY KEY CHECK (name <> ''),
    value      text NOT NULL,
    updated_at timestamptz NOT NULL
);

-- +goose Down
DROP TABLE settings;
