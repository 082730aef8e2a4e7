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
	"fmt"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/lokero/lokero/sqlstore"
)

// migrations are the schema's, in goose's dialect postgres.
//
//go:embed migrations/*.sql
var migrations embed.FS

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
	return sqlstore.Migrate(ctx, db, goose.DialectPostgres, migrations, goose.WithSessionLocker(locker))
}
