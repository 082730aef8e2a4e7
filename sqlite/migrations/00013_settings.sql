-- Settings the server keeps in its database (issue #18): a name and a
-- text value, e.g. the fingerprints of the opening-code secret (never the
-- secret) and the development clock's offset. updated_at is UTC text as
-- in 00001.

-- +goose Up
CREATE TABLE settings (
    name       TEXT PRIMARY KEY CHECK (name <> ''),
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- +goose Down
DROP TABLE settings;
