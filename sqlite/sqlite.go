// Package sqlite is lokero's SQLite store (modernc.org/sqlite, pure Go):
// the single-machine default, one database file.
//
// The database runs in WAL mode (readers never wait for the writer) and
// every transaction begins IMMEDIATE, taking the write lock up front, so
// that concurrent writers queue on busy_timeout instead of failing with
// SQLITE_BUSY when a read lock cannot be upgraded. Persistence only: the
// rules live in the domain packages.
//
// Stored times are UTC text with microsecond precision (the precision of
// the PostgreSQL store, so that both behave alike); see package storetest
// for what every store promises.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"github.com/lokero/lokero"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Migrations returns the schema migrations (goose, dialect sqlite3).
func Migrations() fs.FS {
	sub, err := fs.Sub(migrationFS, "migrations")
	if err != nil {
		panic(err)
	}
	return sub
}

// DB is the SQLite store. It is safe for concurrent use.
type DB struct {
	db *sql.DB
	// writer (a one-slot semaphore) lets one write transaction of this
	// process at a time reach SQLite, which takes one writer anyway: the
	// others queue here instead of polling the database lock
	// (busy_timeout), which made tail latency jump under concurrent writes;
	// a request whose context ends leaves the queue.
	writer chan struct{}
}

// begin starts a write transaction (BEGIN IMMEDIATE), first taking the
// process's writer lock; done ends it and releases the lock.
func (db *DB) begin(ctx context.Context) (tx *sql.Tx, done func(), err error) {
	select {
	case db.writer <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, fmt.Errorf("begin: %w", ctx.Err())
	}
	tx, err = db.db.BeginTx(ctx, nil)
	if err != nil {
		<-db.writer
		return nil, nil, fmt.Errorf("begin: %w", err)
	}
	return tx, func() { tx.Rollback(); <-db.writer }, nil
}

var (
	_ lokero.LocationStore = (*DB)(nil)
	_ lokero.PostcodeStore = (*DB)(nil)
)

// DSN returns the modernc.org/sqlite data source name lokero uses for the
// database file at path: WAL, a 10 s busy timeout, foreign keys on,
// synchronous NORMAL (durable in WAL except for the last transactions on
// power loss) and IMMEDIATE transactions.
func DSN(path string) string {
	// In a file: URI, '?' and '#' would end the path and '%' escapes.
	path = strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	return "file:" + path +
		"?_pragma=busy_timeout(10000)" +
		"&_pragma=journal_mode(WAL)" +
		"&_pragma=foreign_keys(1)" +
		"&_pragma=synchronous(NORMAL)" +
		"&_txlock=immediate"
}

// Open opens the database file at path, creating it if needed, and brings
// its schema up to date. Only files are supported: an in-memory database
// would be a different one on every connection of the pool.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: open %q: need the path of a database file", path)
	}
	sqldb, err := sql.Open("sqlite", DSN(path))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// Connections are cheap; WAL lets readers run beside the one writer.
	sqldb.SetMaxOpenConns(16)
	sqldb.SetMaxIdleConns(16)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	db := &DB{db: sqldb, writer: make(chan struct{}, 1)}
	if err := db.migrate(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return db, nil
}

func (db *DB) migrate(ctx context.Context) error {
	p, err := goose.NewProvider(goose.DialectSQLite3, db.db, Migrations(), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// Close closes the database.
func (db *DB) Close() error { return db.db.Close() }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.db.PingContext(ctx) }

// SQL returns the underlying handle (for the job queue's transactions).
func (db *DB) SQL() *sql.DB { return db.db }

const locationColumns = `id, type, name, street, postcode, city, lat, lon, opening_hours,
	access, payment_terminal, wheelchair_access, compartments, created_at, updated_at, street_sv,
	status, status_from, status_until, status_reason, opens_on, exception_days, functions`

// changeColumns are the columns of a location's status fields
// (lokero.LocationChange), then its event_seq.
const changeColumns = `status, status_from, status_until, status_reason, opens_on,
	exception_days, wheelchair_access, functions, event_seq`

// insertLocationSQL inserts a location (locationColumns, then event_seq).
const insertLocationSQL = `INSERT INTO locations (` + locationColumns + `, event_seq)
	VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`

// updateLocationSQL updates every column but id and created_at; the
// arguments are locationRow.updateArgs, then the new event_seq, then the
// id.
const updateLocationSQL = `UPDATE locations SET
	type = ?, name = ?, street = ?, postcode = ?, city = ?, lat = ?, lon = ?,
	opening_hours = ?, access = ?, payment_terminal = ?, wheelchair_access = ?,
	compartments = ?, updated_at = ?, street_sv = ?,
	status = ?, status_from = ?, status_until = ?, status_reason = ?, opens_on = ?,
	exception_days = ?, functions = ?, event_seq = %s
	WHERE id = ?`

const insertEventSQL = `INSERT INTO location_events (location_id, seq, at, actor, change) VALUES (?, ?, ?, ?, ?)`

// locationRow is a location encoded for its row.
type locationRow struct {
	l                                   *lokero.Location
	hours, comps, exceptions, functions string
	created, updated                    string
}

func encodeLocation(l *lokero.Location, created, updated time.Time) (locationRow, error) {
	r := locationRow{l: l, created: formatTime(created), updated: formatTime(updated)}
	for _, f := range []struct {
		dst  *string
		v    any
		what string
	}{
		{&r.hours, emptyIfNil(l.OpeningHours), "opening hours"},
		{&r.comps, emptyIfNil(l.Compartments), "compartments"},
		{&r.exceptions, emptyIfNil(l.ExceptionDays), "exception days"},
		{&r.functions, emptyIfNil(l.Functions), "functions"},
	} {
		b, err := json.Marshal(f.v)
		if err != nil {
			return r, fmt.Errorf("encode %s: %w", f.what, err)
		}
		*f.dst = string(b)
	}
	return r, nil
}

// insertArgs are the arguments of insertLocationSQL.
func (r *locationRow) insertArgs(eventSeq int) []any {
	l := r.l
	return []any{l.ID, string(l.Type), l.Name, l.Street, l.Postcode, l.City, l.Lat, l.Lon,
		r.hours, string(l.Access), l.PaymentTerminal, l.WheelchairAccess, r.comps, r.created, r.updated,
		l.StreetSV, string(l.Status), l.StatusFrom, l.StatusUntil, l.StatusReason, l.OpensOn,
		r.exceptions, r.functions, eventSeq}
}

// updateArgs are the arguments of updateLocationSQL before event_seq.
func (r *locationRow) updateArgs() []any {
	l := r.l
	return []any{string(l.Type), l.Name, l.Street, l.Postcode, l.City, l.Lat, l.Lon,
		r.hours, string(l.Access), l.PaymentTerminal, l.WheelchairAccess, r.comps, r.updated, l.StreetSV,
		string(l.Status), l.StatusFrom, l.StatusUntil, l.StatusReason, l.OpensOn, r.exceptions, r.functions}
}

// UpsertLocations inserts new locations and updates existing ones by ID, in
// one transaction. On update the stored created_at is kept. updated_at is
// loc.UpdatedAt; when that is zero, loc.CreatedAt; when both are zero, the
// time of the call. A new location's created_at is loc.CreatedAt, or
// updated_at when zero. Rows are applied in order: a batch that repeats an
// ID updates its own earlier row.
//
// Every inserted location, and every updated one whose status fields
// (Change) differ from the stored ones, gets an event by lokero.ActorImport
// at its updated_at.
func (db *DB) UpsertLocations(ctx context.Context, locs []lokero.Location) (res lokero.UpsertResult, err error) {
	if len(locs) == 0 {
		return res, ctx.Err()
	}
	tx, done, err := db.begin(ctx)
	if err != nil {
		return res, fmt.Errorf("upsert locations: %w", err)
	}
	defer done() // after a commit, the rollback is a no-op
	var stmts [4]*sql.Stmt
	for i, q := range []string{
		`SELECT ` + changeColumns + ` FROM locations WHERE id = ?`,
		insertLocationSQL,
		fmt.Sprintf(updateLocationSQL, "?"),
		insertEventSQL,
	} {
		if stmts[i], err = tx.PrepareContext(ctx, q); err != nil {
			return res, fmt.Errorf("upsert locations: prepare: %w", err)
		}
		defer stmts[i].Close()
	}
	current, insert, update, event := stmts[0], stmts[1], stmts[2], stmts[3]

	now := time.Now()
	for i := range locs {
		l := &locs[i]
		created, updated := rowTimes(l, now)
		row, err := encodeLocation(l, created, updated)
		if err != nil {
			return lokero.UpsertResult{}, fmt.Errorf("upsert location %s: %w", l.ID, err)
		}
		change := l.Change()
		old, seq, err := scanChange(current.QueryRowContext(ctx, l.ID))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			seq = 1
			if _, err := insert.ExecContext(ctx, row.insertArgs(seq)...); err != nil {
				return lokero.UpsertResult{}, fmt.Errorf("upsert location %s: %w", l.ID, err)
			}
			res.Inserted++
		case err != nil:
			return lokero.UpsertResult{}, fmt.Errorf("upsert location %s: %w", l.ID, err)
		default:
			changed := !old.Equal(change)
			if changed {
				seq++
			}
			if _, err := update.ExecContext(ctx, append(row.updateArgs(), seq, l.ID)...); err != nil {
				return lokero.UpsertResult{}, fmt.Errorf("upsert location %s: %w", l.ID, err)
			}
			res.Updated++
			if !changed {
				continue
			}
		}
		if err := insertEvent(ctx, event, lokero.LocationEvent{
			LocationID: l.ID, Seq: seq, At: updated, Actor: lokero.ActorImport, Change: change,
		}); err != nil {
			return lokero.UpsertResult{}, fmt.Errorf("upsert location %s: %w", l.ID, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return lokero.UpsertResult{}, fmt.Errorf("upsert locations: commit: %w", err)
	}
	return res, nil
}

// insertEvent appends ev with the prepared insertEventSQL.
func insertEvent(ctx context.Context, stmt *sql.Stmt, ev lokero.LocationEvent) error {
	change, err := json.Marshal(ev.Change)
	if err != nil {
		return fmt.Errorf("encode event: %w", err)
	}
	if _, err := stmt.ExecContext(ctx, ev.LocationID, ev.Seq, formatTime(ev.At), ev.Actor, string(change)); err != nil {
		return fmt.Errorf("append event %d: %w", ev.Seq, err)
	}
	return nil
}

// scanChange reads changeColumns.
func scanChange(row scanner) (c lokero.LocationChange, seq int, err error) {
	var status, exceptions, functions string
	if err := row.Scan(&status, &c.StatusFrom, &c.StatusUntil, &c.StatusReason, &c.OpensOn,
		&exceptions, &c.WheelchairAccess, &functions, &seq); err != nil {
		return c, 0, err
	}
	c.Status = lokero.LocationStatus(status)
	if err := decodeSlice(exceptions, &c.ExceptionDays, "exception days"); err != nil {
		return c, 0, err
	}
	if err := decodeSlice(functions, &c.Functions, "functions"); err != nil {
		return c, 0, err
	}
	return c, seq, nil
}

// decodeSlice decodes a JSON array column; an empty array is nil.
func decodeSlice[T any](s string, dst *[]T, what string) error {
	if err := json.Unmarshal([]byte(s), dst); err != nil {
		return fmt.Errorf("decode %s: %w", what, err)
	}
	if len(*dst) == 0 {
		*dst = nil
	}
	return nil
}

// UpdateLocation writes loc, which must exist (ENOTFOUND otherwise; its
// stored created_at is kept), and appends ev, in one transaction. ev's
// LocationID is loc.ID and its Seq the location's next; a zero ev.At is
// the updated_at, a zero ev.Change is loc.Change(). updated_at is
// loc.UpdatedAt, or ev.At, or the time of the call.
func (db *DB) UpdateLocation(ctx context.Context, loc lokero.Location, ev lokero.LocationEvent) error {
	updated := loc.UpdatedAt
	if updated.IsZero() {
		updated = ev.At
	}
	if updated.IsZero() {
		updated = time.Now()
	}
	row, err := encodeLocation(&loc, time.Time{}, updated)
	if err != nil {
		return fmt.Errorf("update location %s: %w", loc.ID, err)
	}
	tx, done, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("update location %s: %w", loc.ID, err)
	}
	defer done() // after a commit, the rollback is a no-op
	ev.LocationID = loc.ID
	if ev.At.IsZero() {
		ev.At = updated
	}
	if ev.Change.IsZero() {
		ev.Change = loc.Change()
	}
	err = tx.QueryRowContext(ctx, fmt.Sprintf(updateLocationSQL, "event_seq + 1")+` RETURNING event_seq`,
		append(row.updateArgs(), loc.ID)...).Scan(&ev.Seq)
	if errors.Is(err, sql.ErrNoRows) {
		return lokero.Errorf(lokero.ENOTFOUND, "location %q not found", loc.ID)
	} else if err != nil {
		return fmt.Errorf("update location %s: %w", loc.ID, err)
	}
	stmt, err := tx.PrepareContext(ctx, insertEventSQL)
	if err != nil {
		return fmt.Errorf("update location %s: %w", loc.ID, err)
	}
	defer stmt.Close()
	if err := insertEvent(ctx, stmt, ev); err != nil {
		return fmt.Errorf("update location %s: %w", loc.ID, err)
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
		`SELECT seq, at, actor, change FROM location_events WHERE location_id = ? ORDER BY seq`, id)
	if err != nil {
		return nil, fmt.Errorf("location %s: events: %w", id, err)
	}
	defer rows.Close()
	evs := []lokero.LocationEvent{}
	for rows.Next() {
		ev := lokero.LocationEvent{LocationID: id}
		var at, change string
		if err := rows.Scan(&ev.Seq, &at, &ev.Actor, &change); err != nil {
			return nil, fmt.Errorf("location %s: events: %w", id, err)
		}
		if ev.At, err = parseTime(at); err != nil {
			return nil, fmt.Errorf("location %s: event %d: at: %w", id, ev.Seq, err)
		}
		if err := json.Unmarshal([]byte(change), &ev.Change); err != nil {
			return nil, fmt.Errorf("location %s: event %d: decode change: %w", id, ev.Seq, err)
		}
		evs = append(evs, ev)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("location %s: events: %w", id, err)
	}
	if len(evs) == 0 {
		var one int
		err := db.db.QueryRowContext(ctx, `SELECT 1 FROM locations WHERE id = ?`, id).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, lokero.Errorf(lokero.ENOTFOUND, "location %q not found", id)
		} else if err != nil {
			return nil, fmt.Errorf("location %s: events: %w", id, err)
		}
	}
	return evs, nil
}

// rowTimes returns the created_at and updated_at to store for l.
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
	return created, updated
}

func emptyIfNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// timeFormat is RFC 3339 in UTC with exactly six fractional digits, so that
// stored times sort as text.
const timeFormat = "2006-01-02T15:04:05.000000Z07:00"

func formatTime(t time.Time) string {
	return t.UTC().Truncate(time.Microsecond).Format(timeFormat)
}

func parseTime(s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, err
	}
	return t.UTC(), nil
}

type scanner interface{ Scan(dest ...any) error }

func scanLocation(row scanner) (lokero.Location, error) {
	var (
		l                              lokero.Location
		typ, access, status            string
		hours, comps, exceptions, funs string
		created, updated               string
		payment, wheelchar             bool
	)
	if err := row.Scan(&l.ID, &typ, &l.Name, &l.Street, &l.Postcode, &l.City, &l.Lat, &l.Lon,
		&hours, &access, &payment, &wheelchar, &comps, &created, &updated, &l.StreetSV,
		&status, &l.StatusFrom, &l.StatusUntil, &l.StatusReason, &l.OpensOn, &exceptions, &funs); err != nil {
		return l, err
	}
	l.Type, l.Access, l.Status = lokero.LocationType(typ), lokero.Access(access), lokero.LocationStatus(status)
	l.PaymentTerminal, l.WheelchairAccess = payment, wheelchar
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
	var err error
	if l.CreatedAt, err = parseTime(created); err != nil {
		return l, fmt.Errorf("location %s: created_at: %w", l.ID, err)
	}
	if l.UpdatedAt, err = parseTime(updated); err != nil {
		return l, fmt.Errorf("location %s: updated_at: %w", l.ID, err)
	}
	return l, nil
}

// Location returns the location with the given ID, or an ENOTFOUND error.
func (db *DB) Location(ctx context.Context, id string) (lokero.Location, error) {
	l, err := scanLocation(db.db.QueryRowContext(ctx,
		`SELECT `+locationColumns+` FROM locations WHERE id = ?`, id))
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

// ReplacePostcodes replaces the whole registry in one transaction.
func (db *DB) ReplacePostcodes(ctx context.Context, codes []lokero.Postcode) (err error) {
	tx, done, err := db.begin(ctx)
	if err != nil {
		return fmt.Errorf("replace postcodes: %w", err)
	}
	defer done() // after a commit, the rollback is a no-op
	if _, err := tx.ExecContext(ctx, `DELETE FROM postcodes`); err != nil {
		return fmt.Errorf("replace postcodes: delete: %w", err)
	}
	insert, err := tx.PrepareContext(ctx, `INSERT INTO postcodes (`+postcodeColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	if err != nil {
		return fmt.Errorf("replace postcodes: prepare: %w", err)
	}
	defer insert.Close()
	for i := range codes {
		p := &codes[i]
		if _, err := insert.ExecContext(ctx, p.Code, string(p.Kind), p.TypeCode, p.NameFI, p.NameSV,
			p.AbbrFI, p.AbbrSV, p.ValidFrom, p.AreaCode, p.AreaFI, p.AreaSV, p.MunicipalityCode,
			p.MunicipalityFI, p.MunicipalitySV, p.LanguageRatioCode, p.FileDate); err != nil {
			return fmt.Errorf("replace postcodes: insert %s: %w", p.Code, err)
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
