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
	"fmt"
	"strings"
	"time"

	"github.com/pressly/goose/v3"
	_ "modernc.org/sqlite" // database/sql driver "sqlite"

	"github.com/lokero/lokero/sqlstore"
)

// migrations are the schema's, in goose's dialect sqlite3.
//
//go:embed migrations/*.sql
var migrations embed.FS

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
	if err := sqlstore.Migrate(ctx, sqldb, goose.DialectSQLite3, migrations); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return &DB{sqlstore.New(sqldb, &dialect{writer: make(chan struct{}, 1)})}, nil
}
