-- The directory's version (lokero.LocationStore.DirectoryVersion): one
-- number, raised by a trigger on every statement that inserts, updates or
-- deletes locations, by whatever process or tool writes them, so that a
-- server re-reads the directory only when it changed instead of all of it
-- on every reload.

-- +goose Up
CREATE TABLE directory_version (
    id      integer PRIMARY KEY CHECK (id = 1),
    version bigint  NOT NULL
);
INSERT INTO directory_version (id, version) VALUES (1, 0);

-- +goose StatementBegin
CREATE FUNCTION bump_directory_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE directory_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER locations_changed AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON locations
    FOR EACH STATEMENT EXECUTE FUNCTION bump_directory_version();

-- +goose Down
DROP TRIGGER locations_changed ON locations;
DROP FUNCTION bump_directory_version();
DROP TABLE directory_version;
