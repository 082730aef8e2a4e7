// Package sqlstore is lokero's one SQL store: every query and every row
// mapping, written once over database/sql, for both databases lokero runs
// on. What truly differs between SQLite and PostgreSQL is a Dialect, which
// packages sqlite and postgres provide along with opening the database and
// its migrations:
//
//   - how a write transaction begins (SQLite: one writer at a time, BEGIN
//     IMMEDIATE; PostgreSQL: READ COMMITTED with row locks) and which
//     failures are worth running it again (PostgreSQL's deadlocks and
//     serialization failures);
//   - how a unique violation names its columns (mapped here, once, to the
//     ECONFLICT each one means);
//   - row locks: SELECT … FOR UPDATE and transaction-level advisory locks,
//     which SQLite's single writer makes unnecessary;
//   - how a time is stored: UTC text with six fractional digits in SQLite,
//     timestamptz in PostgreSQL. Both keep times to the microsecond and
//     give them back in UTC (see scanTime).
//
// Queries use $n placeholders, which modernc.org/sqlite binds by number as
// PostgreSQL does, and portable SQL (ON CONFLICT … DO UPDATE, RETURNING,
// IS DISTINCT FROM); JSON columns are written and read as text (jsonb in
// PostgreSQL, checked text in SQLite). Package storetest is the behaviour
// every store promises, run against both.
//
// Time comes from the store's clock (SetClock): a write transaction reads
// it once when it begins (Tx.Now), and every time it stores is that one.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/pressly/goose/v3"

	"github.com/lokero/lokero"
)

// Dialect is what differs between the databases the store runs on.
type Dialect interface {
	// Name is the database's name: "sqlite" or "postgres".
	Name() string
	// BeginWrite begins a write transaction on db; end releases what
	// BeginWrite took, after the commit or rollback.
	BeginWrite(ctx context.Context, db *sql.DB) (tx *sql.Tx, end func(), err error)
	// Retryable reports whether a transaction failed for a reason that
	// running it again may cure (a deadlock, a serialization failure).
	Retryable(err error) bool
	// UniqueViolation returns the table and the columns of the unique
	// constraint (or primary key) err violated; ok is false when err is
	// something else.
	UniqueViolation(err error) (table string, columns []string, ok bool)
	// Time returns t, already in UTC and to the microsecond, as a query
	// argument stores it.
	Time(t time.Time) any
	// Lock takes a lock named key until the transaction ends, for rows
	// that may not exist yet; a no-op where the write transaction holds
	// the database's one write lock.
	Lock(ctx context.Context, tx *sql.Tx, key string) error
	// ForUpdate ends a SELECT that locks the rows it reads until the
	// transaction ends: " FOR UPDATE", or "" where writers never overlap.
	ForUpdate() string
	// EventsJSON is a scalar subquery, in a SELECT from shipments: the
	// events of the row's shipment as a JSON array of [status, at,
	// location_id, reason] arrays in their order ("[]" when none), each
	// time as RFC 3339 text. It lets one statement read a shipment and
	// its events from one snapshot.
	EventsJSON() string
	// LockedRowSeen is a boolean expression, in a SELECT from shipments
	// that locks its row (ForUpdate): true when the version of the row the
	// statement locked is the one its snapshot sees, and so the one its
	// subqueries (EventsJSON) agree with. Where writers overlap, a
	// statement that waited for the row's lock reads the row as the
	// lock's holder left it, but its subqueries as the statement began;
	// where they never overlap, always true.
	LockedRowSeen() string
	// SubscriptionsJSON is a scalar subquery: the enabled webhooks of the
	// retailer whose ID is the parameter param, as a JSON array of [id,
	// events, created_at] arrays ("[]" when none), created_at as RFC 3339
	// text. It lets the statement that stores a shipment's events read
	// whom to publish them to (in its RETURNING clause).
	SubscriptionsJSON(param string) string
	// AbortsOnError reports whether a failed statement aborts the whole
	// transaction (PostgreSQL), so that a write that may be refused (a
	// duplicate code) runs in a savepoint; where it does not (SQLite, whose
	// failed statement undoes only itself), it needs none.
	AbortsOnError() bool
	// WritesInWith reports whether a statement's WITH clause may write
	// (PostgreSQL's data-modifying WITH), so that a shipment and its
	// events are inserted by one statement: one round trip a booking
	// fewer where each statement is one.
	WritesInWith() bool
	// GroupsWrites reports whether concurrent write transactions run in
	// groups, each in a savepoint of one transaction that commits once
	// (group.go): where the database has one writer (SQLite).
	GroupsWrites() bool
	// MaxArgs is how many arguments one statement may take.
	MaxArgs() int
	// Param is the placeholder of the nth argument in the statements
	// built for many rows, where the arguments come in order: "$n"
	// (PostgreSQL), or "?" where binding a numbered or named placeholder
	// looks it up by name, in time that grows with the square of the
	// arguments (SQLite). Statements written out use $n, which both
	// bind alike.
	Param(n int) string
}

// JobQueue inserts background jobs in a store transaction (River's
// client, in package jobs).
type JobQueue interface {
	InsertTx(ctx context.Context, tx *sql.Tx, j lokero.Job) error
}

// DB is the store over one database. It is safe for concurrent use.
type DB struct {
	db      *sql.DB
	dialect Dialect
	clock   lokero.Clock
	jobs    JobQueue
	hook    lokero.EventHook
	group   *grouper // nil where writes are not grouped
}

// Every store interface of package lokero.
var (
	_ lokero.LocationStore   = (*DB)(nil)
	_ lokero.PostcodeStore   = (*DB)(nil)
	_ lokero.RetailerStore   = (*DB)(nil)
	_ lokero.ShipmentStore   = (*DB)(nil)
	_ lokero.CredentialStore = (*DB)(nil)
	_ lokero.LockerStore     = (*DB)(nil)
	_ lokero.PushStore       = (*DB)(nil)
	_ lokero.WebhookStore    = (*DB)(nil)
	_ lokero.Tx              = (*Tx)(nil)
)

// Migrate brings the schema of db up to date with the goose migrations in
// the folder "migrations" of fsys, written for dialect; opts are goose's
// (a session locker where several instances may start at once).
func Migrate(ctx context.Context, db *sql.DB, dialect goose.Dialect, fsys fs.FS, opts ...goose.ProviderOption) error {
	migrations, err := fs.Sub(fsys, "migrations")
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	p, err := goose.NewProvider(dialect, db, migrations, append(opts, goose.WithDisableGlobalRegistry(true))...)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// New returns the store over db, open and migrated, speaking dialect; its
// clock is the wall clock until SetClock.
func New(db *sql.DB, dialect Dialect) *DB {
	d := &DB{db: db, dialect: dialect, clock: lokero.SystemClock{}}
	if dialect.GroupsWrites() {
		d.group = &grouper{}
	}
	return d
}

// SetClock sets the clock the store's times come from (call it before
// use).
func (db *DB) SetClock(c lokero.Clock) { db.clock = c }

// SetJobQueue sets where Tx.ScheduleJob inserts jobs (call it before
// use). Without one, as in the commands and tests that run no background
// jobs, ScheduleJob schedules nothing.
func (db *DB) SetJobQueue(q JobQueue) { db.jobs = q }

// SetEventHook sets the hook a Tx calls, in its transaction, whenever
// InsertShipment or UpdateShipment stored new events of a shipment (call
// it before use); nil, the default, calls none.
func (db *DB) SetEventHook(h lokero.EventHook) { db.hook = h }

// Dialect returns the store's dialect.
func (db *DB) Dialect() Dialect { return db.dialect }

// Close closes the database.
func (db *DB) Close() error { return db.db.Close() }

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error { return db.db.PingContext(ctx) }

// SQL returns the underlying handle (for the job queue).
func (db *DB) SQL() *sql.DB { return db.db }

// now is the store's time as stored: UTC, to the microsecond.
func (db *DB) now() time.Time { return storedTime(db.clock.Now()) }

// storedTime is t as the store keeps it: UTC, to the microsecond.
func storedTime(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// time returns t as a query argument (UTC, to the microsecond).
func (db *DB) time(t time.Time) any { return db.dialect.Time(storedTime(t)) }

// nullTime is time, or NULL for the zero time.
func (db *DB) nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return db.time(t)
}

// maxAttempts is how many times InTx runs fn when the database aborts its
// transaction for a deadlock or a serialization failure.
const maxAttempts = 5

// InTx runs fn in one write transaction. It commits when fn returns nil;
// it rolls back when fn returns an error, which InTx returns as it is, or
// panics, which goes on after the rollback. When the database aborts the
// transaction for a deadlock or a serialization failure, InTx runs fn
// again in a new one, up to 5 times in all: fn must not have effects
// outside the transaction that cannot be repeated.
func (db *DB) InTx(ctx context.Context, fn func(tx lokero.Tx) error) error {
	for attempt := 1; ; attempt++ {
		err := db.write(ctx, func(tx *sql.Tx, now time.Time) error {
			return fn(&Tx{db: db, tx: tx, now: now})
		})
		if err == nil || attempt == maxAttempts || !db.dialect.Retryable(err) {
			return err
		}
		// A random pause, so that the contenders do not meet again.
		select {
		case <-ctx.Done():
			return err
		case <-time.After(time.Duration(1+rand.IntN(10*attempt)) * time.Millisecond):
		}
	}
}

// write runs fn in one write transaction, once, with the time it began.
func (db *DB) write(ctx context.Context, fn func(tx *sql.Tx, now time.Time) error) error {
	if db.group != nil {
		return db.groupWrite(ctx, fn)
	}
	tx, end, err := db.dialect.BeginWrite(ctx, db.db)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	defer end()
	defer tx.Rollback() // after a commit, a no-op
	if err := fn(tx, db.now()); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

// deleteCounted runs a DELETE (or any statement) as a write of its own
// and returns how many rows it changed.
func (db *DB) deleteCounted(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := db.write(ctx, func(tx *sql.Tx, _ time.Time) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface{ Scan(dest ...any) error }

// queryAll runs a query and scans each row with scan.
func queryAll[T any](ctx context.Context, q querier, scan func(scanner) (T, error), query string, args ...any) ([]T, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		list = append(list, v)
	}
	return list, rows.Err()
}

// conflicts maps the columns of a unique constraint, "table(col,col)", to
// the ECONFLICT error a violation means.
var conflicts = map[string]*lokero.Error{
	"retailers(id)":                          {Code: lokero.ECONFLICT, Reason: "duplicate_id", Message: "a retailer with this ID already exists"},
	"retailers(key_hash)":                    {Code: lokero.ECONFLICT, Reason: "duplicate_key", Message: "this API key is already in use"},
	"shipments(id)":                          {Code: lokero.ECONFLICT, Reason: "duplicate_id", Message: "a shipment with this ID already exists"},
	"shipments(tracking_code)":               {Code: lokero.ECONFLICT, Reason: "duplicate_tracking_code", Message: "the tracking code is already in use"},
	"shipments(return_code)":                 {Code: lokero.ECONFLICT, Reason: "duplicate_return_code", Message: "the return code is already in use"},
	"shipments(return_tracking_code)":        {Code: lokero.ECONFLICT, Reason: "duplicate_return_tracking_code", Message: "the return tracking code is already in use"},
	"shipments(return_of)":                   {Code: lokero.ECONFLICT, Reason: "duplicate_return", Message: "this delivery was already returned"},
	"shipments(retailer_id,idempotency_key)": {Code: lokero.ECONFLICT, Reason: "duplicate_idempotency_key", Message: "the retailer already used this idempotency key"},
	"credentials(id)":                        {Code: lokero.ECONFLICT, Reason: "duplicate_id", Message: "a credential with this ID already exists"},
	"credentials(token_hash)":                {Code: lokero.ECONFLICT, Reason: "duplicate_token", Message: "this token is already in use"},
	"push_subscriptions(id)":                 {Code: lokero.ECONFLICT, Reason: "duplicate_id", Message: "a push subscription with this ID already exists"},
	"webhooks(id)":                           {Code: lokero.ECONFLICT, Reason: "duplicate_id", Message: "a webhook with this ID already exists"},
	"webhook_deliveries(id)":                 {Code: lokero.ECONFLICT, Reason: "duplicate_id", Message: "a webhook delivery with this ID already exists"},
}

// conflict returns the ECONFLICT error for a uniqueness violation (a copy,
// so that callers may change it), or nil when err is something else.
func (db *DB) conflict(err error) *lokero.Error {
	table, cols, ok := db.dialect.UniqueViolation(err)
	if !ok {
		return nil
	}
	if c := conflicts[table+"("+strings.Join(cols, ",")+")"]; c != nil {
		cp := *c
		return &cp
	}
	return nil
}

// placeholders returns "($from, …, $from+n-1)" in the dialect's Param.
func (db *DB) placeholders(from, n int) string {
	var b strings.Builder
	b.WriteByte('(')
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(db.dialect.Param(from + i))
	}
	b.WriteByte(')')
	return b.String()
}

// scanTime scans a stored time into t: a timestamptz (PostgreSQL) or UTC
// text (SQLite), NULL as the zero time; it comes back in UTC.
type scanTime struct{ t *time.Time }

// Scan implements sql.Scanner.
func (s scanTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*s.t = time.Time{}
	case time.Time:
		*s.t = v.UTC()
	case string:
		return s.parse(v)
	case []byte:
		return s.parse(string(v))
	default:
		return fmt.Errorf("scan a time from %T", src)
	}
	return nil
}

func (s scanTime) parse(text string) error {
	t, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		return fmt.Errorf("scan a time: %w", err)
	}
	*s.t = t.UTC()
	return nil
}

// TimeText is how SQLite stores a time: RFC 3339 in UTC with exactly six
// fractional digits, so that stored times sort as text.
const TimeText = "2006-01-02T15:04:05.000000Z07:00"

// nullIfEmpty stores "" as NULL, so that unique columns hold many of it.
func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// nullBytes stores an empty byte slice as NULL (it comes back nil).
func nullBytes(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return b
}

// notFound returns an ENOTFOUND error for sql.ErrNoRows, else err wrapped
// with what.
func notFound(err error, what string, msg string, args ...any) error {
	if errors.Is(err, sql.ErrNoRows) {
		return lokero.Errorf(lokero.ENOTFOUND, msg, args...)
	}
	return fmt.Errorf("%s: %w", what, err)
}
