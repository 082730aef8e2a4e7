package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"time"

	msqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/lokero/lokero/sqlstore"
)

// dialect is SQLite's sqlstore.Dialect.
type dialect struct{}

func (*dialect) Name() string { return "sqlite" }

// BeginWrite begins an IMMEDIATE transaction (the DSN's _txlock) once the
// connection has the database's writer slot (conn.go: writers queue in Go,
// not in SQLite's busy handler; a request whose context ends leaves the
// queue): it holds the database's write lock, so what it reads stays true
// until it ends.
func (*dialect) BeginWrite(ctx context.Context, db *sql.DB) (*sql.Tx, func(), error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	return tx, func() {}, nil
}

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

// EventsJSON aggregates the events in order (SQLite 3.44 and later).
func (*dialect) EventsJSON() string {
	return `(SELECT json_group_array(json_array(status, at, location_id, reason) ORDER BY seq)
		FROM shipment_events WHERE shipment_id = shipments.id)`
}

// LockedRowSeen is always true: a write transaction holds the database's
// one write lock from its start, so no row changes under its statements.
func (*dialect) LockedRowSeen() string { return "1" }

// SubscriptionsJSON aggregates the retailer's enabled webhooks.
func (*dialect) SubscriptionsJSON(param string) string {
	return `(SELECT json_group_array(json_array(id, json(events), created_at))
		FROM webhooks WHERE retailer_id = ` + param + ` AND disabled_at IS NULL)`
}

// MaxArgs stays well below SQLite's 32,766 host parameters.
func (*dialect) MaxArgs() int { return 12000 }

// Param is "?": binding "?NNN" or "$NNN" looks the name up in a list, which
// for the 12,000 arguments of a bulk upsert took seconds.
func (*dialect) Param(int) string { return "?" }

// AbortsOnError is false: a failed statement undoes only itself.
func (*dialect) AbortsOnError() bool { return false }

// WritesInWith is false: SQLite's WITH only reads (and its statements
// are calls into the same process, not round trips).
func (*dialect) WritesInWith() bool { return false }

// GroupsWrites is true: SQLite has one writer, and a group of writes
// commits once (sqlstore/group.go).
func (*dialect) GroupsWrites() bool { return true }
