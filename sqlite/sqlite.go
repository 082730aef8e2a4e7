// Package sqlite opens lokero's store on SQLite (modernc.org/sqlite, pure
// Go): the single-machine default, one database file. The queries are
// package sqlstore's; this package holds what is SQLite's own: the data
// source name, the migrations and the dialect.
//
// The database runs in WAL mode (readers never wait for the writer) and
// every write transaction begins IMMEDIATE, taking the write lock up
// front, so that concurrent writers queue instead of failing with
// SQLITE_BUSY when a read lock cannot be upgraded; the one writer needs no
// row locks. Times are stored as UTC text with microsecond precision
// (sqlstore.TimeText), the precision of the PostgreSQL store.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	msqlite "modernc.org/sqlite" // database/sql driver "sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/lokero/lokero/sqlstore"
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

// DB is the store on a SQLite file. It is safe for concurrent use.
type DB struct{ *sqlstore.DB }

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
	p, err := goose.NewProvider(goose.DialectSQLite3, sqldb, Migrations(), goose.WithDisableGlobalRegistry(true))
	if err == nil {
		_, err = p.Up(ctx)
	}
	if err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("sqlite: open %s: migrate: %w", path, err)
	}
	return &DB{sqlstore.New(sqldb, &dialect{writer: make(chan struct{}, 1)})}, nil
}

// dialect is SQLite's sqlstore.Dialect.
type dialect struct {
	// writer (a one-slot semaphore) lets one write transaction of this
	// process at a time reach SQLite, which takes one writer anyway: the
	// others queue here instead of polling the database lock
	// (busy_timeout), which made tail latency jump under concurrent writes;
	// a request whose context ends leaves the queue.
	writer chan struct{}
}

func (*dialect) Name() string { return "sqlite" }

// BeginWrite takes the process's writer slot, then begins an IMMEDIATE
// transaction (the DSN's _txlock): it holds the database's write lock, so
// what it reads stays true until it ends.
func (d *dialect) BeginWrite(ctx context.Context, db *sql.DB) (*sql.Tx, func(), error) {
	select {
	case d.writer <- struct{}{}:
	case <-ctx.Done():
		return nil, nil, ctx.Err()
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		<-d.writer
		return nil, nil, err
	}
	return tx, func() { <-d.writer }, nil
}

// ReadOptions begin a deferred transaction: one snapshot, no write lock.
func (*dialect) ReadOptions() *sql.TxOptions { return &sql.TxOptions{ReadOnly: true} }

// Retryable is false: the write lock is taken up front, so a transaction
// never deadlocks; a busy database is waited for (busy_timeout).
func (*dialect) Retryable(error) bool { return false }

// UniqueViolation reads SQLite's "UNIQUE constraint failed: t.a, t.b".
func (*dialect) UniqueViolation(err error) (table string, columns []string, ok bool) {
	var e *msqlite.Error
	if !errors.As(err, &e) ||
		e.Code() != sqlite3.SQLITE_CONSTRAINT_UNIQUE && e.Code() != sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
		return "", nil, false
	}
	_, cols, _ := strings.Cut(e.Error(), " constraint failed: ")
	cols, _, _ = strings.Cut(cols, " (")
	for col := range strings.SplitSeq(cols, ", ") {
		t, c, _ := strings.Cut(col, ".")
		table, columns = t, append(columns, c)
	}
	return table, columns, true
}

// Time stores a time as text that sorts as it compares.
func (*dialect) Time(t time.Time) any { return t.Format(sqlstore.TimeText) }

// Lock is a no-op: the write transaction holds the database's write lock.
func (*dialect) Lock(context.Context, *sql.Tx, string) error { return nil }

// ForUpdate is empty: writers never overlap.
func (*dialect) ForUpdate() string { return "" }

// MaxArgs stays well below SQLite's 32,766 host parameters.
func (*dialect) MaxArgs() int { return 12000 }
