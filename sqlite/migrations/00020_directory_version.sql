-- The directory's version (lokero.LocationStore.DirectoryVersion): one
-- number, raised by triggers on every insert, update or delete of a
-- location, by whatever process or tool writes it, so that a server
-- re-reads the directory only when it changed instead of all of it on
-- every reload.

-- +goose Up
CREATE TABLE directory_version (
    id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
) STRICT;
INSERT INTO directory_version (id, version) VALUES (1, 0);

-- +goose StatementBegin
CREATE TRIGGER locations_inserted AFTER INSERT ON locations
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER locations_updated AFTER UPDATE ON locations
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER locations_deleted AFTER DELETE ON locations
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER locations_deleted;
DROP TRIGGER locations_updated;
DROP TRIGGER locations_inserted;
DROP TABLE directory_version;
