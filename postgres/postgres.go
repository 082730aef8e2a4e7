// Package postgres opens lokero's store on PostgreSQL, through
// database/sql with pgx's driver (github.com/jackc/pgx/v5/stdlib, driver
// name "pgx") so that the job queue's *sql.Tx drivers share its
// transactions. The queries are package sqlstore's; this package holds
// what is PostgreSQL's own: connecting, the migrations and the dialect.
//
// Many lokero instances can share one database: migrations run under a
// session advisory lock; write transactions run in READ COMMITTED and lock
// the rows they read (FOR UPDATE), or an advisory lock for rows that may
// not exist yet, and are run again on a deadlock or a serialization
// failure.
package postgres

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/lokero/lokero/sqlstore"
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

// DB is the store on PostgreSQL. It is safe for concurrent use.
type DB struct{ *sqlstore.DB }

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
	if err := sqldb.PingContext(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	if err := migrate(ctx, sqldb); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	return &DB{sqlstore.New(sqldb, dialect{})}, nil
}

func migrate(ctx context.Context, db *sql.DB) error {
	// Retry the lock every second for up to 5 minutes.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, Migrations(),
		goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true))
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	return nil
}

// dialect is PostgreSQL's sqlstore.Dialect.
type dialect struct{}

func (dialect) Name() string { return "postgres" }

// BeginWrite begins a READ COMMITTED transaction.
func (dialect) BeginWrite(ctx context.Context, db *sql.DB) (*sql.Tx, func(), error) {
	tx, err := db.BeginTx(ctx, nil)
	return tx, func() {}, err
}

// ReadOptions begin a read-only REPEATABLE READ transaction: one snapshot.
func (dialect) ReadOptions() *sql.TxOptions {
	return &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
}

// Retryable: serialization_failure, deadlock_detected.
func (dialect) Retryable(err error) bool {
	var e *pgconn.PgError
	return errors.As(err, &e) && (e.Code == "40001" || e.Code == "40P01")
}

// UniqueViolation reads a unique_violation's table and its detail,
// "Key (a, b)=(…) already exists.".
func (dialect) UniqueViolation(err error) (table string, columns []string, ok bool) {
	var e *pgconn.PgError
	if !errors.As(err, &e) || e.Code != "23505" {
		return "", nil, false
	}
	cols, _, _ := strings.Cut(strings.TrimPrefix(e.Detail, "Key ("), ")=")
	return e.TableName, strings.Split(cols, ", "), true
}

// Time stores a time as timestamptz.
func (dialect) Time(t time.Time) any { return t }

// Lock takes a transaction-level advisory lock on key.
func (dialect) Lock(ctx context.Context, tx *sql.Tx, key string) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, key)
	return err
}

// ForUpdate locks the rows a write transaction reads.
func (dialect) ForUpdate() string { return " FOR UPDATE" }

// MaxArgs stays well below PostgreSQL's 65,535 bind parameters.
func (dialect) MaxArgs() int { return 12000 }
