-- The pickup-point directory and the postal code registry.
-- Times are UTC text, "2006-01-02T15:04:05.000000Z" (RFC 3339, microseconds):
-- they sort as they compare. JSON columns hold Go's encoding of
-- []lokero.OpeningHours and []lokero.CompartmentClass.

-- +goose Up
CREATE TABLE locations (
    id                TEXT    NOT NULL PRIMARY KEY CHECK (id <> ''),
    type              TEXT    NOT NULL CHECK (type <> ''),
    name              TEXT    NOT NULL,
    street            TEXT    NOT NULL,
    postcode          TEXT    NOT NULL,
    city              TEXT    NOT NULL,
    lat               REAL    NOT NULL,
    lon               REAL    NOT NULL,
    opening_hours     TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(opening_hours)),
    access            TEXT    NOT NULL DEFAULT '',
    payment_terminal  INTEGER NOT NULL DEFAULT 0 CHECK (payment_terminal IN (0, 1)),
    wheelchair_access INTEGER NOT NULL DEFAULT 0 CHECK (wheelchair_access IN (0, 1)),
    compartments      TEXT    NOT NULL DEFAULT '[]' CHECK (json_valid(compartments)),
    created_at        TEXT    NOT NULL,
    updated_at        TEXT    NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX locations_postcode_idx ON locations (postcode);
CREATE INDEX locations_type_idx ON locations (type);

CREATE TABLE postcodes (
    code                TEXT NOT NULL PRIMARY KEY CHECK (code <> ''),
    kind                TEXT NOT NULL DEFAULT '',
    type_code           TEXT NOT NULL DEFAULT '',
    name_fi             TEXT NOT NULL DEFAULT '',
    name_sv             TEXT NOT NULL DEFAULT '',
    abbr_fi             TEXT NOT NULL DEFAULT '',
    abbr_sv             TEXT NOT NULL DEFAULT '',
    valid_from          TEXT NOT NULL DEFAULT '',
    area_code           TEXT NOT NULL DEFAULT '',
    area_fi             TEXT NOT NULL DEFAULT '',
    area_sv             TEXT NOT NULL DEFAULT '',
    municipality_code   TEXT NOT NULL DEFAULT '',
    municipality_fi     TEXT NOT NULL DEFAULT '',
    municipality_sv     TEXT NOT NULL DEFAULT '',
    language_ratio_code TEXT NOT NULL DEFAULT '',
    file_date           TEXT NOT NULL DEFAULT ''
) STRICT, WITHOUT ROWID;

-- +goose Down
DROP TABLE postcodes;
DROP TABLE locations;
