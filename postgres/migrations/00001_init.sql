-- The pickup-point directory and the postal code registry.
-- IDs and codes collate "C" (byte order) whatever the database's locale,
-- the same order as SQLite. JSON columns hold Go's encoding of
-- []lokero.OpeningHours and []lokero.CompartmentClass.

-- +goose Up
CREATE TABLE locations (
    id                text COLLATE "C" PRIMARY KEY CHECK (id <> ''),
    type              text             NOT NULL CHECK (type <> ''),
    name              text             NOT NULL,
    street            text             NOT NULL,
    postcode          text             NOT NULL,
    city              text             NOT NULL,
    lat               double precision NOT NULL,
    lon               double precision NOT NULL,
    opening_hours     jsonb            NOT NULL DEFAULT '[]',
    access            text             NOT NULL DEFAULT '',
    payment_terminal  boolean          NOT NULL DEFAULT false,
    wheelchair_access boolean          NOT NULL DEFAULT false,
    compartments      jsonb            NOT NULL DEFAULT '[]',
    created_at        timestamptz      NOT NULL,
    updated_at        timestamptz      NOT NULL
);

CREATE INDEX locations_postcode_idx ON locations (postcode);
CREATE INDEX locations_type_idx ON locations (type);

CREATE TABLE postcodes (
    code                text COLLATE "C" PRIMARY KEY CHECK (code <> ''),
    kind                text NOT NULL DEFAULT '',
    type_code           text NOT NULL DEFAULT '',
    name_fi             text NOT NULL DEFAULT '',
    name_sv             text NOT NULL DEFAULT '',
    abbr_fi             text NOT NULL DEFAULT '',
    abbr_sv             text NOT NULL DEFAULT '',
    valid_from          text NOT NULL DEFAULT '',
    area_code           text NOT NULL DEFAULT '',
    area_fi             text NOT NULL DEFAULT '',
    area_sv             text NOT NULL DEFAULT '',
    municipality_code   text NOT NULL DEFAULT '',
    municipality_fi     text NOT NULL DEFAULT '',
    municipality_sv     text NOT NULL DEFAULT '',
    language_ratio_code text NOT NULL DEFAULT '',
    file_date           text NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE postcodes;
DROP TABLE locations;
