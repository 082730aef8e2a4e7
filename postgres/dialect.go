package postgres

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
)

// dialect is PostgreSQL's sqlstore.Dialect.
type dialect struct{}

func (dialect) Name() string { return "postgres" }

// BeginWrite begins a READ COMMITTED transaction.
func (dialect) BeginWrite(ctx context.Context, db *sql.DB) (*sql.Tx, func(), error) {
	tx, err := db.BeginTx(ctx, nil)
	return tx, func() {}, err
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

// EventsJSON aggregates the events in order; a timestamptz becomes RFC
// 3339 text in JSON.
func (dialect) EventsJSON() string {
	return `(SELECT COALESCE(json_agg(json_build_array(status, at, location_id, reason) ORDER BY seq), '[]')
		FROM shipment_events WHERE shipment_id = shipments.id)`
}

// LockedRowSeen compares the locked row's xmin, the transaction that
// wrote its version, with that of the version the statement's snapshot
// sees: they differ when the statement waited for another transaction's
// lock and that one changed the row. Every transaction that adds a
// shipment's events updates its row, so an unchanged version means
// unchanged events.
func (dialect) LockedRowSeen() string {
	return `COALESCE((SELECT seen.xmin = shipments.xmin FROM shipments seen WHERE seen.id = shipments.id), false)`
}

// SubscriptionsJSON aggregates the retailer's enabled webhooks.
func (dialect) SubscriptionsJSON(param string) string {
	return `(SELECT COALESCE(json_agg(json_build_array(id, events, created_at)), '[]')
		FROM webhooks WHERE retailer_id = ` + param + ` AND disabled_at IS NULL)`
}

// MaxArgs is 2,400 (100 locations a statement), far below PostgreSQL's
// 65,535: statements of 12,000 arguments took twice as long to plan as
// the round trips they saved.
func (dialect) MaxArgs() int { return 2400 }

// Param is PostgreSQL's "$n".
func (dialect) Param(n int) string { return "$" + strconv.Itoa(n) }

// AbortsOnError is true: after a failed statement PostgreSQL refuses all
// but a rollback.
func (dialect) AbortsOnError() bool { return true }

// WritesInWith is true: INSERT … RETURNING in a WITH, its rows for the
// statements after it.
func (dialect) WritesInWith() bool { return true }

// GroupsWrites is false: PostgreSQL's writers run side by side, and a
// group would hold every row lock of its writes until the last.
func (dialect) GroupsWrites() bool { return false }
