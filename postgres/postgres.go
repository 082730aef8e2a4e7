// Package postgres is lokero's PostgreSQL store, through database/sql with
// pgx's driver (github.com/jackc/pgx/v5/stdlib, driver name "pgx") so that
// the job queue's *sql.Tx drivers can share its transactions. Many lokero
// instances can share one database: migrations run under a session
// advisory lock, upserts are deadlock-free among themselves and registry
// replacements are serialised. Persistence only: the rules live in the
// domain packages.
//
// Batches are written with one INSERT … SELECT FROM unnest(arrays) per
// chunk of rows, not one statement per row, so that 10,000 locations take
// a few round trips. See package storetest for what every store promises.
package postgres

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/lokero/lokero"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the schema migrations (goose, dialect postgres).
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		panic(err)
	}
	return sub
}

// DB is the PostgreSQL store. It is safe for concurrent use.
type DB struct {
	db *sql.DB
}

var (
	_ lokero.LocationStore = (*DB)(nil)
	_ lokero.PostcodeStore = (*DB)(nil)
)

// chunkSize is how many rows one INSERT … unnest statement writes.
const chunkSize = 1000

// Open connects to the database at url (postgres://…) and brings its
// schema up to date. Instances starting at once migrate one after the
// other, under goose's session advisory lock.
func Open(ctx context.Context, url string) (*DB, error) {
	sqldb, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("postgres: open: %w", err)
	}
	sqldb.SetMaxOpenConns(20)
	sqldb.SetMaxIdleConns(10)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	db := &DB{db: sqldb}
	if err := sqldb.PingContext(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := db.migrate(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return db, nil
}

func (db *DB) migrate(ctx context.Context) error {
	// Retry the lock every second for up to 5 minutes.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db.db, Migrations(),
		goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Close closes the connection pool.
func (db *DB) Close() error { return db.db.Close() }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.db.PingContext(ctx) }

// SQL returns the underlying handle (for the job queue's transactions).
func (db *DB) SQL() *sql.DB { return db.db }

const locationColumns = `id, type, name, street, postcode, city, lat, lon, opening_hours,
	access, payment_terminal, wheelchair_access, compartments, created_at, updated_at, street_sv,
	status, status_from, status_until, status_reason, opens_on, exception_days, functions`

// upsertSQL writes one chunk of rows, given as parallel arrays, and says of
// each whether it was inserted (xmax = 0: no earlier version of the row).
// event_seq is 1 for a new row, and goes up by one when an update changes
// the status fields (lokero.LocationChange): appendImportEventsSQL then
// appends the event of that Seq.
const upsertSQL = `INSERT INTO locations (` + locationColumns + `, event_seq)
SELECT id, type, name, street, postcode, city, lat, lon, opening_hours::jsonb,
	access, payment_terminal, wheelchair_access, compartments::jsonb, created_at, updated_at, street_sv,
	status, status_from, status_until, status_reason, opens_on, exception_days::jsonb, functions::jsonb, 1
FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
	$7::float8[], $8::float8[], $9::text[], $10::text[], $11::bool[], $12::bool[],
	$13::text[], $14::timestamptz[], $15::timestamptz[], $16::text[],
	$17::text[], $18::text[], $19::text[], $20::text[], $21::text[], $22::text[], $23::text[])
	AS u(` + locationColumns + `)
ON CONFLICT (id) DO UPDATE SET
	type = excluded.type, name = excluded.name, street = excluded.street,
	postcode = excluded.postcode, city = excluded.city, lat = excluded.lat, lon = excluded.lon,
	opening_hours = excluded.opening_hours, access = excluded.access,
	payment_terminal = excluded.payment_terminal, wheelchair_access = excluded.wheelchair_access,
	compartments = excluded.compartments, updated_at = excluded.updated_at, street_sv = excluded.street_sv,
	status = excluded.status, status_from = excluded.status_from, status_until = excluded.status_until,
	status_reason = excluded.status_reason, opens_on = excluded.opens_on,
	exception_days = excluded.exception_days, functions = excluded.functions,
	event_seq = locations.event_seq + CASE WHEN
		(locations.status, locations.status_from, locations.status_until, locations.status_reason,
			locations.opens_on, locations.exception_days, locations.wheelchair_access, locations.functions)
		IS DISTINCT FROM
		(excluded.status, excluded.status_from, excluded.status_until, excluded.status_reason,
			excluded.opens_on, excluded.exception_days, excluded.wheelchair_access, excluded.functions)
		THEN 1 ELSE 0 END
RETURNING xmax = 0`

// appendImportEventsSQL appends the import event of each row of a chunk
// just upserted: the event numbered the row's event_seq, unless that
// event exists already (the update changed no status field). The chunk's
// rows are locked by the upsert, and every writer of a location's events
// holds its row's lock, so the statement (which sees every committed
// event) cannot race another writer.
const appendImportEventsSQL = `INSERT INTO location_events (location_id, seq, at, actor, change)
SELECT l.id, l.event_seq, u.at, $4, u.change::jsonb
FROM unnest($1::text[], $2::timestamptz[], $3::text[]) AS u(id, at, change)
JOIN locations l ON l.id = u.id COLLATE "C"
WHERE l.event_seq > 0
ON CONFLICT (location_id, seq) DO NOTHING`

// locationArrays holds one chunk of locations column by column.
type locationArrays struct {
	ids, types, names, streets, postcodes, cities []string
	lats, lons                                    []float64
	hours, access                                 []string
	payment, wheelchair                           []bool
	comps                                         []string
	created, updated                              []time.Time
	streetsSV                                     []string
	status, statusFrom, statusUntil               []string
	statusReason, opensOn                         []string
	exceptions, functions                         []string
	changes                                       []string // JSON of each row's lokero.LocationChange, for its event
}

func (a *locationArrays) reset() {
	*a = locationArrays{
		ids: a.ids[:0], types: a.types[:0], names: a.names[:0], streets: a.streets[:0],
		postcodes: a.postcodes[:0], cities: a.cities[:0], lats: a.lats[:0], lons: a.lons[:0],
		hours: a.hours[:0], access: a.access[:0], payment: a.payment[:0],
		wheelchair: a.wheelchair[:0], comps: a.comps[:0], created: a.created[:0], updated: a.updated[:0],
		streetsSV: a.streetsSV[:0], status: a.status[:0], statusFrom: a.statusFrom[:0],
		statusUntil: a.statusUntil[:0], statusReason: a.statusReason[:0], opensOn: a.opensOn[:0],
		exceptions: a.exceptions[:0], functions: a.functions[:0], changes: a.changes[:0],
	}
}

func (a *locationArrays) add(l *lokero.Location, now time.Time) error {
	created, updated := rowTimes(l, now)
	enc, err := encodeSlices(l)
	if err != nil {
		return err
	}
	change, err := json.Marshal(l.Change())
	if err != nil {
		return fmt.Errorf("encode change: %w", err)
	}
	a.ids = append(a.ids, l.ID)
	a.types = append(a.types, string(l.Type))
	a.names = append(a.names, l.Name)
	a.streets = append(a.streets, l.Street)
	a.postcodes = append(a.postcodes, l.Postcode)
	a.cities = append(a.cities, l.City)
	a.lats = append(a.lats, l.Lat)
	a.lons = append(a.lons, l.Lon)
	a.hours = append(a.hours, enc.hours)
	a.access = append(a.access, string(l.Access))
	a.payment = append(a.payment, l.PaymentTerminal)
	a.wheelchair = append(a.wheelchair, l.WheelchairAccess)
	a.comps = append(a.comps, enc.comps)
	a.created = append(a.created, created)
	a.updated = append(a.updated, updated)
	a.streetsSV = append(a.streetsSV, l.StreetSV)
	a.status = append(a.status, string(l.Status))
	a.statusFrom = append(a.statusFrom, l.StatusFrom)
	a.statusUntil = append(a.statusUntil, l.StatusUntil)
	a.statusReason = append(a.statusReason, l.StatusReason)
	a.opensOn = append(a.opensOn, l.OpensOn)
	a.exceptions = append(a.exceptions, enc.exceptions)
	a.functions = append(a.functions, enc.functions)
	a.changes = append(a.changes, string(change))
	return nil
}

func (a *locationArrays) args() []any {
	return []any{a.ids, a.types, a.names, a.streets, a.postcodes, a.cities, a.lats, a.lons,
		a.hours, a.access, a.payment, a.wheelchair, a.comps, a.created, a.updated, a.streetsSV,
		a.status, a.statusFrom, a.statusUntil, a.statusReason, a.opensOn, a.exceptions, a.functions}
}

// eventArgs are the arguments of appendImportEventsSQL.
func (a *locationArrays) eventArgs() []any {
	return []any{a.ids, a.updated, a.changes, lokero.ActorImport}
}

// UpsertLocations inserts new locations and updates existing ones by ID, in
// one transaction. On update the stored created_at is kept. updated_at is
// loc.UpdatedAt; when that is zero, loc.CreatedAt; when both are zero, the
// time of the call. A new location's created_at is loc.CreatedAt, or
// updated_at when zero. Times are stored to the microsecond.
//
// Every inserted location, and every updated one whose status fields
// (Change) differ from the stored ones, gets an event by lokero.ActorImport
// at its updated_at.
//
// Rows are written in ID order, so that concurrent upserts lock rows in
// the same order and cannot deadlock; a batch that repeats an ID is applied
// in its given order, the later row updating the earlier one.
func (db *DB) UpsertLocations(ctx context.Context, locs []lokero.Location) (res lokero.UpsertResult, err error) {
	if len(locs) == 0 {
		return res, ctx.Err()
	}
	order := make([]int, len(locs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int { return cmp.Compare(locs[i].ID, locs[j].ID) })

	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("upsert locations: begin: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	stmt, err := tx.PrepareContext(ctx, upsertSQL)
	if err != nil {
		return res, fmt.Errorf("upsert locations: prepare: %w", err)
	}
	defer stmt.Close()
	events, err := tx.PrepareContext(ctx, appendImportEventsSQL)
	if err != nil {
		return res, fmt.Errorf("upsert locations: prepare: %w", err)
	}
	defer events.Close()

	now := time.Now()
	var chunk locationArrays
	flush := func() error {
		if len(chunk.ids) == 0 {
			return nil
		}
		rows, err := stmt.QueryContext(ctx, chunk.args()...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var inserted bool
			if err := rows.Scan(&inserted); err != nil {
				return err
			}
			if inserted {
				res.Inserted++
			} else {
				res.Updated++
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if _, err := events.ExecContext(ctx, chunk.eventArgs()...); err != nil {
			return fmt.Errorf("append events: %w", err)
		}
		chunk.reset()
		return nil
	}
	for _, i := range order {
		l := &locs[i]
		// One statement cannot touch a row twice: a repeated ID (adjacent
		// after the stable sort) starts a new chunk.
		if n := len(chunk.ids); n == chunkSize || n > 0 && chunk.ids[n-1] == l.ID {
			first := chunk.ids[0]
			if err := flush(); err != nil {
				return lokero.UpsertResult{}, fmt.Errorf("upsert locations from %s: %w", first, err)
			}
		}
		if err := chunk.add(l, now); err != nil {
			return lokero.UpsertResult{}, fmt.Errorf("upsert location %s: %w", l.ID, err)
		}
	}
	if len(chunk.ids) > 0 {
		first := chunk.ids[0]
		if err := flush(); err != nil {
			return lokero.UpsertResult{}, fmt.Errorf("upsert locations from %s: %w", first, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return lokero.UpsertResult{}, fmt.Errorf("upsert locations: commit: %w", err)
	}
	return res, nil
}

// updateLocationSQL writes every column of a location but id and
// created_at, bumps its event_seq and returns it: the Seq of the event to
// append.
const updateLocationSQL = `UPDATE locations SET
	type = $2, name = $3, street = $4, postcode = $5, city = $6, lat = $7, lon = $8,
	opening_hours = $9::jsonb, access = $10, payment_terminal = $11, wheelchair_access = $12,
	compartments = $13::jsonb, updated_at = $14, street_sv = $15,
	status = $16, status_from = $17, status_until = $18, status_reason = $19, opens_on = $20,
	exception_days = $21::jsonb, functions = $22::jsonb, event_seq = event_seq + 1
WHERE id = $1
RETURNING event_seq`

const insertEventSQL = `INSERT INTO location_events (location_id, seq, at, actor, change)
VALUES ($1, $2, $3, $4, $5::jsonb)`

// UpdateLocation writes loc, which must exist (ENOTFOUND otherwise; its
// stored created_at is kept), and appends ev, in one transaction. ev's
// LocationID is loc.ID and its Seq the location's next; a zero ev.At is
// the updated_at, a zero ev.Change is loc.Change(). updated_at is
// loc.UpdatedAt, or ev.At, or the time of the call.
func (db *DB) UpdateLocation(ctx context.Context, loc lokero.Location, ev lokero.LocationEvent) (err error) {
	updated := loc.UpdatedAt
	if updated.IsZero() {
		updated = ev.At
	}
	if updated.IsZero() {
		updated = time.Now()
	}
	updated = updated.UTC().Truncate(time.Microsecond)
	enc, err := encodeSlices(&loc)
	if err != nil {
		return fmt.Errorf("update location %s: %w", loc.ID, err)
	}
	ev.LocationID = loc.ID
	if ev.At.IsZero() {
		ev.At = updated
	}
	if ev.Change.IsZero() {
		ev.Change = loc.Change()
	}
	change, err := json.Marshal(ev.Change)
	if err != nil {
		return fmt.Errorf("update location %s: encode change: %w", loc.ID, err)
	}

	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("update location %s: begin: %w", loc.ID, err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	err = tx.QueryRowContext(ctx, updateLocationSQL, loc.ID, string(loc.Type), loc.Name, loc.Street,
		loc.Postcode, loc.City, loc.Lat, loc.Lon, enc.hours, string(loc.Access), loc.PaymentTerminal,
		loc.WheelchairAccess, enc.comps, updated, loc.StreetSV, string(loc.Status), loc.StatusFrom,
		loc.StatusUntil, loc.StatusReason, loc.OpensOn, enc.exceptions, enc.functions).Scan(&ev.Seq)
	if errors.Is(err, sql.ErrNoRows) {
		return lokero.Errorf(lokero.ENOTFOUND, "location %q not found", loc.ID)
	} else if err != nil {
		return fmt.Errorf("update location %s: %w", loc.ID, err)
	}
	if _, err := tx.ExecContext(ctx, insertEventSQL, ev.LocationID, ev.Seq,
		ev.At.UTC().Truncate(time.Microsecond), ev.Actor, string(change)); err != nil {
		return fmt.Errorf("update location %s: append event %d: %w", loc.ID, ev.Seq, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("update location %s: commit: %w", loc.ID, err)
	}
	return nil
}

// LocationEvents lists a location's events, oldest first: an empty list
// when it has none, ENOTFOUND when there is no such location.
func (db *DB) LocationEvents(ctx context.Context, id string) ([]lokero.LocationEvent, error) {
	rows, err := db.db.QueryContext(ctx,
		`SELECT seq, at, actor, change FROM location_events WHERE location_id = $1 ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("location %s: events: %w", id, err)
	}
	defer rows.Close()
	evs := []lokero.LocationEvent{}
	for rows.Next() {
		ev := lokero.LocationEvent{LocationID: id}
		var change []byte
		if err := rows.Scan(&ev.Seq, &ev.At, &ev.Actor, &change); err != nil {
			return nil, fmt.Errorf("location %s: events: %w", id, err)
		}
		ev.At = ev.At.UTC()
		if err := json.Unmarshal(change, &ev.Change); err != nil {
			return nil, fmt.Errorf("location %s: event %d: decode change: %w", id, ev.Seq, err)
		}
		evs = append(evs, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("location %s: events: %w", id, err)
	}
	if len(evs) == 0 {
		var one int
		err := db.db.QueryRowContext(ctx, `SELECT 1 FROM locations WHERE id = $1`, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, lokero.Errorf(lokero.ENOTFOUND, "location %q not found", id)
		} else if err != nil {
			return nil, fmt.Errorf("location %s: events: %w", id, err)
		}
	}
	return evs, nil
}

// rowTimes returns the created_at and updated_at to store for l, in UTC to
// the microsecond.
func rowTimes(l *lokero.Location, now time.Time) (created, updated time.Time) {
	created, updated = l.CreatedAt, l.UpdatedAt
	if updated.IsZero() {
		updated = created
	}
	if updated.IsZero() {
		updated = now
	}
	if created.IsZero() {
		created = updated
	}
	return created.UTC().Truncate(time.Microsecond), updated.UTC().Truncate(time.Microsecond)
}

// encodedSlices are a location's JSON columns.
type encodedSlices struct{ hours, comps, exceptions, functions string }

func encodeSlices(l *lokero.Location) (enc encodedSlices, err error) {
	for _, f := range []struct {
		dst  *string
		v    any
		what string
	}{
		{&enc.hours, emptyIfNil(l.OpeningHours), "opening hours"},
		{&enc.comps, emptyIfNil(l.Compartments), "compartments"},
		{&enc.exceptions, emptyIfNil(l.ExceptionDays), "exception days"},
		{&enc.functions, emptyIfNil(l.Functions), "functions"},
	} {
		b, err := json.Marshal(f.v)
		if err != nil {
			return enc, fmt.Errorf("encode %s: %w", f.what, err)
		}
		*f.dst = string(b)
	}
	return enc, nil
}

func emptyIfNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// decodeSlice decodes a JSON array column; an empty array is nil.
func decodeSlice[T any](b []byte, dst *[]T, what string) error {
	if err := json.Unmarshal(b, dst); err != nil {
		return fmt.Errorf("decode %s: %w", what, err)
	}
	if len(*dst) == 0 {
		*dst = nil
	}
	return nil
}

type scanner interface{ Scan(dest ...any) error }

func scanLocation(row scanner) (lokero.Location, error) {
	var (
		l                              lokero.Location
		typ, access, status            string
		hours, comps, exceptions, funs []byte
	)
	if err := row.Scan(&l.ID, &typ, &l.Name, &l.Street, &l.Postcode, &l.City, &l.Lat, &l.Lon,
		&hours, &access, &l.PaymentTerminal, &l.WheelchairAccess, &comps, &l.CreatedAt, &l.UpdatedAt, &l.StreetSV,
		&status, &l.StatusFrom, &l.StatusUntil, &l.StatusReason, &l.OpensOn, &exceptions, &funs); err != nil {
		return l, err
	}
	l.Type, l.Access, l.Status = lokero.LocationType(typ), lokero.Access(access), lokero.LocationStatus(status)
	for _, err := range []error{
		decodeSlice(hours, &l.OpeningHours, "opening hours"),
		decodeSlice(comps, &l.Compartments, "compartments"),
		decodeSlice(exceptions, &l.ExceptionDays, "exception days"),
		decodeSlice(funs, &l.Functions, "functions"),
	} {
		if err != nil {
			return l, fmt.Errorf("location %s: %w", l.ID, err)
		}
	}
	l.CreatedAt, l.UpdatedAt = l.CreatedAt.UTC(), l.UpdatedAt.UTC()
	return l, nil
}

// Location returns the location with the given ID, or an ENOTFOUND error.
func (db *DB) Location(ctx context.Context, id string) (lokero.Location, error) {
	l, err := scanLocation(db.db.QueryRowContext(ctx,
		`SELECT `+locationColumns+` FROM locations WHERE id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return lokero.Location{}, lokero.Errorf(lokero.ENOTFOUND, "location %q not found", id)
	} else if err != nil {
		return lokero.Location{}, fmt.Errorf("location %s: %w", id, err)
	}
	return l, nil
}

// Locations returns every location, ordered by ID (byte order).
func (db *DB) Locations(ctx context.Context) ([]lokero.Location, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT `+locationColumns+` FROM locations ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("locations: %w", err)
	}
	defer rows.Close()
	var locs []lokero.Location
	for rows.Next() {
		l, err := scanLocation(rows)
		if err != nil {
			return nil, fmt.Errorf("locations: %w", err)
		}
		locs = append(locs, l)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("locations: %w", err)
	}
	return locs, nil
}

// CountLocations returns how many locations there are.
func (db *DB) CountLocations(ctx context.Context) (int, error) {
	var n int
	if err := db.db.QueryRowContext(ctx, `SELECT count(*) FROM locations`).Scan(&n); err != nil {
		return 0, fmt.Errorf("count locations: %w", err)
	}
	return n, nil
}

const postcodeColumns = `code, kind, type_code, name_fi, name_sv, abbr_fi, abbr_sv, valid_from,
	area_code, area_fi, area_sv, municipality_code, municipality_fi, municipality_sv,
	language_ratio_code, file_date`

const insertPostcodesSQL = `INSERT INTO postcodes (` + postcodeColumns + `)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
	$7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
	$14::text[], $15::text[], $16::text[])`

// ReplacePostcodes replaces the whole registry in one transaction.
// Concurrent replacements run one after the other (the table is locked
// against writers; readers see the old registry until commit).
func (db *DB) ReplacePostcodes(ctx context.Context, codes []lokero.Postcode) (err error) {
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("replace postcodes: begin: %w", err)
	}
	defer func() {
		if err != nil {
			tx.Rollback()
		}
	}()
	if _, err := tx.ExecContext(ctx, `LOCK TABLE postcodes IN EXCLUSIVE MODE`); err != nil {
		return fmt.Errorf("replace postcodes: lock: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM postcodes`); err != nil {
		return fmt.Errorf("replace postcodes: delete: %w", err)
	}
	stmt, err := tx.PrepareContext(ctx, insertPostcodesSQL)
	if err != nil {
		return fmt.Errorf("replace postcodes: prepare: %w", err)
	}
	defer stmt.Close()
	for len(codes) > 0 {
		chunk := codes[:min(len(codes), chunkSize)]
		codes = codes[len(chunk):]
		cols := make([][]string, 16)
		for i := range cols {
			cols[i] = make([]string, len(chunk))
		}
		for i, p := range chunk {
			for j, v := range []string{p.Code, string(p.Kind), p.TypeCode, p.NameFI, p.NameSV,
				p.AbbrFI, p.AbbrSV, p.ValidFrom, p.AreaCode, p.AreaFI, p.AreaSV, p.MunicipalityCode,
				p.MunicipalityFI, p.MunicipalitySV, p.LanguageRatioCode, p.FileDate} {
				cols[j][i] = v
			}
		}
		args := make([]any, len(cols))
		for i := range cols {
			args[i] = cols[i]
		}
		if _, err := stmt.ExecContext(ctx, args...); err != nil {
			return fmt.Errorf("replace postcodes: insert from %s: %w", chunk[0].Code, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("replace postcodes: commit: %w", err)
	}
	return nil
}

// Postcodes returns every postal code, ordered by code.
func (db *DB) Postcodes(ctx context.Context) ([]lokero.Postcode, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT `+postcodeColumns+` FROM postcodes ORDER BY code`)
	if err != nil {
		return nil, fmt.Errorf("postcodes: %w", err)
	}
	defer rows.Close()
	var codes []lokero.Postcode
	for rows.Next() {
		var p lokero.Postcode
		var kind string
		if err := rows.Scan(&p.Code, &kind, &p.TypeCode, &p.NameFI, &p.NameSV, &p.AbbrFI, &p.AbbrSV,
			&p.ValidFrom, &p.AreaCode, &p.AreaFI, &p.AreaSV, &p.MunicipalityCode, &p.MunicipalityFI,
			&p.MunicipalitySV, &p.LanguageRatioCode, &p.FileDate); err != nil {
			return nil, fmt.Errorf("postcodes: %w", err)
		}
		p.Kind = lokero.PostcodeKind(kind)
		codes = append(codes, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postcodes: %w", err)
	}
	return codes, nil
}
