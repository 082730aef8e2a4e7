package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// openConnTest opens a database file through the wrapping connector with
// the given wait for the writer slot, and a table t(id, n).
func openConnTest(t *testing.T, wait time.Duration) *sql.DB {
	t.Helper()
	base, err := newConnector(DSN(filepath.Join(t.TempDir(), "conn.db")))
	if err != nil {
		t.Fatal(err)
	}
	c := base.(cachingConnector)
	c.writer = newWriter(wait)
	db := sql.OpenDB(c)
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(8)
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	return db
}

// kept returns how many compiled statements conn keeps.
func kept(t *testing.T, conn *sql.Conn) int {
	t.Helper()
	var n int
	if err := conn.Raw(func(dc any) error {
		c, ok := dc.(*cachingConn)
		if !ok {
			return fmt.Errorf("driver connection is %T", dc)
		}
		n = len(c.stmts)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestConnKeepsStatements(t *testing.T) {
	t.Parallel()
	db := openConnTest(t, time.Second)
	ctx := t.Context()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	before := kept(t, conn)
	for i := range 50 {
		if _, err := conn.ExecContext(ctx, `INSERT INTO t (id, n) VALUES ($1, $2)`, i, i*i); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 50 {
		var n int
		if err := conn.QueryRowContext(ctx, `SELECT n FROM t WHERE id = $1`, i).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != i*i {
			t.Fatalf("id %d: n = %d, want %d (arguments of an earlier run left bound?)", i, n, i*i)
		}
	}
	if got := kept(t, conn) - before; got != 2 {
		t.Errorf("kept %d new statements for one INSERT and one SELECT run 50 times each, want 2", got)
	}
	// A row not found, then found: the statement was reset between runs.
	var n int
	if err := conn.QueryRowContext(ctx, `SELECT n FROM t WHERE id = $1`, 999).Scan(&n); !errors.Is(err, sql.ErrNoRows) {
		t.Fatalf("id 999: %v, want no rows", err)
	}
	if err := conn.QueryRowContext(ctx, `SELECT n FROM t WHERE id = $1`, 7).Scan(&n); err != nil || n != 49 {
		t.Fatalf("id 7 after a miss: %d, %v", n, err)
	}
	// A failing statement leaves the kept one usable.
	if _, err := conn.ExecContext(ctx, `INSERT INTO t (id, n) VALUES ($1, $2)`, 1, 1); err == nil {
		t.Fatal("duplicate id inserted")
	}
	if _, err := conn.ExecContext(ctx, `INSERT INTO t (id, n) VALUES ($1, $2)`, 100, 1); err != nil {
		t.Fatalf("insert after a failed run of the same statement: %v", err)
	}
}

func TestConnSameStatementNested(t *testing.T) {
	t.Parallel()
	db := openConnTest(t, time.Second)
	ctx := t.Context()
	for i := range 5 {
		if _, err := db.ExecContext(ctx, `INSERT INTO t (id, n) VALUES ($1, $2)`, i, 10+i); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	const q = `SELECT id, n FROM t WHERE id >= $1 ORDER BY id`
	outer, err := tx.QueryContext(ctx, q, 0)
	if err != nil {
		t.Fatal(err)
	}
	var pairs []string
	for outer.Next() {
		var id, n int
		if err := outer.Scan(&id, &n); err != nil {
			t.Fatal(err)
		}
		// The same text while the outer rows are open: compiled afresh,
		// the kept statement is busy.
		inner, err := tx.QueryContext(ctx, q, id)
		if err != nil {
			t.Fatal(err)
		}
		count := 0
		for inner.Next() {
			count++
		}
		if err := inner.Close(); err != nil {
			t.Fatal(err)
		}
		pairs = append(pairs, fmt.Sprintf("%d:%d:%d", id, n, count))
	}
	if err := outer.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := strings.Join(pairs, " "), "0:10:5 1:11:4 2:12:3 3:13:2 4:14:1"; got != want {
		t.Errorf("nested runs of one statement: %s, want %s", got, want)
	}
}

func TestConnBoundsWhatItKeeps(t *testing.T) {
	t.Parallel()
	db := openConnTest(t, time.Second)
	ctx := t.Context()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	for i := range stmtCacheSize + 40 {
		var got int
		if err := conn.QueryRowContext(ctx, fmt.Sprintf(`SELECT %d + $1`, i), 1).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != i+1 {
			t.Fatalf("statement %d: %d", i, got)
		}
	}
	if n := kept(t, conn); n > stmtCacheSize {
		t.Errorf("kept %d statements, bound %d", n, stmtCacheSize)
	}
	before := kept(t, conn)
	long := `SELECT $1` + strings.Repeat(" ", stmtCacheMaxLen)
	var got int
	if err := conn.QueryRowContext(ctx, long, 5).Scan(&got); err != nil || got != 5 {
		t.Fatalf("long statement: %d, %v", got, err)
	}
	if after := kept(t, conn); after > before {
		t.Errorf("a statement of %d bytes was kept", len(long))
	}
}

func TestWritersTakeTurns(t *testing.T) {
	t.Parallel()
	db := openConnTest(t, 5*time.Second)
	ctx := t.Context()
	if _, err := db.ExecContext(ctx, `INSERT INTO t (id, n) VALUES (1, 0)`); err != nil {
		t.Fatal(err)
	}
	// Read-modify-write in transactions and UPDATE … RETURNING outside
	// them, from 8 goroutines: every increment lands, none fails busy.
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Go(func() {
			for range 25 {
				if g%2 == 0 {
					tx, err := db.BeginTx(ctx, nil)
					if err != nil {
						errs <- err
						return
					}
					var n int
					if err := tx.QueryRowContext(ctx, `SELECT n FROM t WHERE id = 1`).Scan(&n); err != nil {
						tx.Rollback()
						errs <- err
						return
					}
					if _, err := tx.ExecContext(ctx, `UPDATE t SET n = $1 WHERE id = 1`, n+1); err != nil {
						tx.Rollback()
						errs <- err
						return
					}
					if err := tx.Commit(); err != nil {
						errs <- err
						return
					}
				} else {
					var n int
					if err := db.QueryRowContext(ctx, `UPDATE t SET n = n + 1 WHERE id = 1 RETURNING n`).Scan(&n); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT n FROM t WHERE id = 1`).Scan(&n); err != nil || n != 200 {
		t.Errorf("counter = %d (%v), want 200", n, err)
	}
}

func TestWriterSlot(t *testing.T) {
	t.Parallel()
	db := openConnTest(t, 200*time.Millisecond)
	ctx := t.Context()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO t (id, n) VALUES (1, 1)`); err != nil {
		t.Fatal(err)
	}

	// While a write transaction is open: a write waits for its turn (its
	// context, or the slot's wait, ends it), a read and a backup do not.
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if _, err := db.ExecContext(short, `INSERT INTO t (id, n) VALUES (2, 2)`); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("write beside an open write transaction, context ending: %v, want the deadline", err)
	}
	if _, err := db.BeginTx(ctx, nil); !errors.Is(err, errWriterBusy) {
		t.Errorf("write transaction beside an open one: %v, want %v", err, errWriterBusy)
	}
	var count int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&count); err != nil || count != 0 {
		t.Errorf("read beside the writer: %d, %v (want 0: it is not committed)", count, err)
	}
	if _, err := db.ExecContext(ctx, `VACUUM INTO $1`, filepath.Join(t.TempDir(), "copy.db")); err != nil {
		t.Errorf("backup beside the writer: %v", err)
	}

	// A rollback frees the slot; so does a transaction whose context ends.
	if err := tx.Rollback(); err != nil {
		t.Fatal(err)
	}
	txCtx, cancelTx := context.WithCancel(ctx)
	tx2, err := db.BeginTx(txCtx, nil)
	if err != nil {
		t.Fatalf("write transaction after a rollback: %v", err)
	}
	if _, err := tx2.ExecContext(txCtx, `INSERT INTO t (id, n) VALUES (3, 3)`); err != nil {
		t.Fatal(err)
	}
	cancelTx()
	deadline := time.Now().Add(2 * time.Second)
	for {
		_, err := db.ExecContext(ctx, `INSERT INTO t (id, n) VALUES (4, 4)`)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("write after a transaction's context ended: %v", err)
		}
	}
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM t`).Scan(&count); err != nil || count != 1 {
		t.Errorf("rows after the rollbacks and one write: %d, %v, want 1", count, err)
	}

	// An UPDATE … RETURNING outside a transaction holds the slot until its
	// rows close.
	rows, err := db.QueryContext(ctx, `UPDATE t SET n = n + 1 RETURNING n`)
	if err != nil {
		t.Fatal(err)
	}
	short2, cancel2 := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel2()
	if _, err := db.ExecContext(short2, `INSERT INTO t (id, n) VALUES (5, 5)`); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("write beside open UPDATE … RETURNING rows: %v, want the deadline", err)
	}
	for rows.Next() {
	}
	if err := rows.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ExecContext(ctx, `INSERT INTO t (id, n) VALUES (5, 5)`); err != nil {
		t.Errorf("write after the rows closed: %v", err)
	}
}

// TestFailedCommitEndsTransaction: a COMMIT that fails where SQLite keeps
// the transaction open (a deferred foreign key violated) leaves the
// connection without it, as the writer slot it releases assumes: the
// next write on the same connection begins, commits and stands, and
// nothing of the failed transaction does. (modernc.org/sqlite and
// database/sql see to it today; this holds them to it.)
func TestFailedCommitEndsTransaction(t *testing.T) {
	t.Parallel()
	db := openConnTest(t, time.Second)
	db.SetMaxOpenConns(1) // the same connection next
	ctx := t.Context()
	for _, q := range []string{
		`CREATE TABLE parent (id INTEGER PRIMARY KEY)`,
		`CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO child (id, parent) VALUES (1, 99)`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err == nil {
		t.Fatal("COMMIT with a deferred foreign key violated succeeded")
	}
	tx, err = db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatalf("BEGIN after the failed COMMIT: %v", err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO t (id, n) VALUES (1, 1)`); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatalf("COMMIT after the failed one: %v", err)
	}
	var n, children int
	if err := db.QueryRowContext(ctx, `SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM child)`).Scan(&n, &children); err != nil {
		t.Fatal(err)
	}
	if n != 1 || children != 0 {
		t.Errorf("after: %d rows in t (want 1), %d in child (want 0: the failed transaction rolled back)", n, children)
	}
}
