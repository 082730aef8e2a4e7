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
	"os"
	"strings"
	"time"

	"github.com/pressly/goose/v3"

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

// FileMode is the mode of the database's files: the database, its -wal
// and -shm (to which SQLite gives the main file's mode) hold names, phone
// numbers and return codes, for the owner only.
const FileMode fs.FileMode = 0o600

// Files returns the files of the database at path: the database, its
// write-ahead log and its shared-memory index.
func Files(path string) []string { return []string{path, path + "-wal", path + "-shm"} }

// Open opens the database file at path, creating it if needed (mode
// 0600, so that the -wal and -shm SQLite makes beside it are 0600 too),
// and brings its schema up to date. Only files are supported: an in-memory
// database would be a different one on every connection of the pool. Open
// does not change the mode of existing files: see Tighten.
func Open(ctx context.Context, path string) (*DB, error) {
	if path == "" || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: open %q: need the path of a database file", path)
	}
	if f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, FileMode); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, fmt.Errorf("sqlite: create %s: %w", path, err)
	}
	connector, err := newConnector(DSN(path))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	sqldb := sql.OpenDB(connector)
	// Connections are cheap; WAL lets readers run beside the one writer.
	sqldb.SetMaxOpenConns(16)
	sqldb.SetMaxIdleConns(16)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	if err := sqlstore.Migrate(ctx, sqldb, goose.DialectSQLite3, migrations); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	return &DB{sqlstore.New(sqldb, &dialect{})}, nil
}

// Exposed returns those of the database's files at path that exist and that
// others than their owner may read or write (group or other bits set).
func Exposed(path string) ([]string, error) {
	var out []string
	for _, f := range Files(path) {
		info, err := os.Stat(f)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		} else if err != nil {
			return nil, fmt.Errorf("sqlite: %w", err)
		}
		if info.Mode().Perm()&0o077 != 0 {
			out = append(out, f)
		}
	}
	return out, nil
}

// Tighten takes the group's and others' rights away from the database's
// files at path (the database, -wal, -shm) and returns those it changed.
func Tighten(path string) ([]string, error) {
	exposed, err := Exposed(path)
	if err != nil {
		return nil, err
	}
	for i, f := range exposed {
		info, err := os.Stat(f)
		if err != nil {
			return exposed[:i], fmt.Errorf("sqlite: %w", err)
		}
		if err := os.Chmod(f, info.Mode().Perm()&^0o077); err != nil {
			return exposed[:i], fmt.Errorf("sqlite: tighten %s: %w", f, err)
		}
	}
	return exposed, nil
}

// Backup writes a consistent copy of the database to a new file at path
// (mode 0600) while it serves, with VACUUM INTO: one read transaction's
// snapshot, compacted. An existing file at path is not overwritten: it is
// an error.
func (db *DB) Backup(ctx context.Context, path string) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, FileMode)
	if err != nil {
		return fmt.Errorf("sqlite: backup: %w", err)
	}
	f.Close()
	// VACUUM INTO writes into an empty file and keeps its mode.
	if _, err := db.SQL().ExecContext(ctx, `VACUUM INTO $1`, path); err != nil {
		os.Remove(path)
		return fmt.Errorf("sqlite: backup to %s: %w", path, err)
	}
	return nil
}
