package sqlite

import (
	"context"
	"database/sql/driver"
	"errors"
	"fmt"
	"strings"
	"time"

	msqlite "modernc.org/sqlite"
)

// The connections lokero opens wrap modernc's for two things.
//
// They keep what they compiled. SQLite compiles every statement it runs,
// and modernc.org/sqlite compiles afresh on every Query and Exec: under
// load, parsing the same few dozen statements (lokero's and River's) was
// over a third of all CPU. Each connection keeps its compiled statements,
// keyed by their text, and runs them again with new arguments (modernc
// resets a single-statement *stmt for reuse). The cache is per connection,
// as compiled statements are, so it needs no lock: database/sql uses a
// connection from one goroutine at a time.
//
// They take turns to write. SQLite has one writer; a connection that finds
// the write lock taken sleeps in the busy handler (1, 2, 5, … 100 ms) and
// polls again, so under concurrent writes the lock sat free while the
// waiters slept and a write could wait hundreds of milliseconds behind a
// few short ones. Every write of the process (a write transaction, River's
// included, or a write outside one) first takes the database's one writer
// slot, and the others queue in Go and go on the moment it is free. Other
// processes on the same file (a lokero import beside serve) still meet the
// busy handler.

// stmtCacheSize bounds the statements a connection keeps; beyond it one
// that is not in use is dropped. lokero and River run fewer than this.
const stmtCacheSize = 256

// stmtCacheMaxLen leaves long statements (bulk upserts of thousands of
// arguments, each batch size its own text) to be compiled each time.
const stmtCacheMaxLen = 8 << 10

// writerWait bounds the wait for the writer slot, as busy_timeout (the
// DSN's) bounds the wait for SQLite's lock: a write that waits longer fails
// instead of hanging.
const writerWait = 10 * time.Second

// errWriterBusy is what a write gets after waiting too long for the slot.
var errWriterBusy = errors.New("sqlite: database is locked: no turn to write")

// writer is a database's one writer slot.
type writer struct {
	slot chan struct{}
	wait time.Duration // the longest wait for the slot
}

func newWriter(wait time.Duration) *writer {
	return &writer{slot: make(chan struct{}, 1), wait: wait}
}

// take waits for the slot until ctx ends or w.wait passes.
func (w *writer) take(ctx context.Context) error {
	select {
	case w.slot <- struct{}{}:
		return nil
	default:
	}
	t := time.NewTimer(w.wait)
	defer t.Stop()
	select {
	case w.slot <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("%w in %v", errWriterBusy, w.wait)
	}
}

func (w *writer) release() { <-w.slot }

// newConnector returns a connector to the database at dsn whose connections
// keep their compiled statements and share one writer slot.
func newConnector(dsn string) (driver.Connector, error) {
	base, err := msqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return cachingConnector{Connector: base, writer: newWriter(writerWait)}, nil
}

// cachingConnector opens modernc's connections wrapped in cachingConn.
type cachingConnector struct {
	driver.Connector
	writer *writer
}

func (c cachingConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return newCachingConn(conn, c.writer)
}

// sqliteConn is what every connection of modernc's implements, and so what
// cachingConn forwards (modernc's NewConnector documents the list).
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// cachedStmt is a compiled statement and whether rows read from it are
// still open (then it cannot run again until they close).
type cachedStmt struct {
	stmt interface {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	}
	busy bool
}

// cachingConn is a modernc connection that keeps its compiled statements
// and takes the writer slot to write.
type cachingConn struct {
	sqliteConn
	stmts  map[string]*cachedStmt
	writer *writer
	// writing: the connection holds the writer slot, for the write
	// transaction it is in.
	writing bool
	// inTx: the connection is in a transaction (a write outside one takes
	// the slot for itself).
	inTx bool
}

func newCachingConn(conn driver.Conn, w *writer) (*cachingConn, error) {
	c, ok := conn.(sqliteConn)
	if !ok {
		conn.Close()
		return nil, fmt.Errorf("sqlite: driver connection %T lacks the context methods", conn)
	}
	return &cachingConn{sqliteConn: c, stmts: make(map[string]*cachedStmt), writer: w}, nil
}

// BeginTx begins a transaction: a read-only one at once (BEGIN DEFERRED),
// a write transaction (BEGIN IMMEDIATE, the DSN's _txlock) once the
// connection has the writer slot, which it holds until the commit or
// rollback.
func (c *cachingConn) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	if !opts.ReadOnly {
		if err := c.writer.take(ctx); err != nil {
			return nil, err
		}
		c.writing = true
	}
	tx, err := c.sqliteConn.BeginTx(ctx, opts)
	if err != nil {
		c.endTx()
		return nil, err
	}
	c.inTx = true
	return &cachingTx{Tx: tx, c: c}, nil
}

// Begin is BeginTx with the default options (database/sql calls BeginTx).
func (c *cachingConn) Begin() (driver.Tx, error) {
	return c.BeginTx(context.Background(), driver.TxOptions{})
}

// endTx releases what the transaction held.
func (c *cachingConn) endTx() {
	c.inTx = false
	if c.writing {
		c.writing = false
		c.writer.release()
	}
}

// cachingTx releases the writer slot when it ends.
type cachingTx struct {
	driver.Tx
	c *cachingConn
}

func (t *cachingTx) Commit() error {
	defer t.c.endTx()
	return t.Tx.Commit()
}

func (t *cachingTx) Rollback() error {
	defer t.c.endTx()
	return t.Tx.Rollback()
}

// autocommitWrite takes the writer slot for a statement outside a
// transaction that may write, and returns its release; reads (SELECT)
// and statements inside a transaction go on without it.
func (c *cachingConn) autocommitWrite(ctx context.Context, query string) (func(), error) {
	if c.inTx || isRead(query) {
		return func() {}, nil
	}
	if err := c.writer.take(ctx); err != nil {
		return nil, err
	}
	return c.writer.release, nil
}

// isRead reports whether query only reads: a plain SELECT (a WITH may end
// in an UPDATE … RETURNING, so it counts as a write), or VACUUM INTO, which
// copies the database under a read lock (a backup must not stop writes).
func isRead(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	return hasPrefixFold(q, "select") || hasPrefixFold(q, "vacuum into")
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// Unwrap returns modernc's connection (for msqlite.Limit and the like).
func (c *cachingConn) Unwrap() driver.Conn { return c.sqliteConn }

// stmt returns the compiled statement for query, compiling and keeping it
// if it is new; nil (and no error) when query is not to be kept or its
// statement is in use.
func (c *cachingConn) stmt(ctx context.Context, query string) (*cachedStmt, error) {
	if cs, ok := c.stmts[query]; ok {
		if cs.busy {
			return nil, nil
		}
		return cs, nil
	}
	if len(query) > stmtCacheMaxLen {
		return nil, nil
	}
	s, err := c.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	st, ok := s.(interface {
		driver.StmtExecContext
		driver.StmtQueryContext
	})
	if !ok {
		s.Close()
		return nil, nil
	}
	if len(c.stmts) >= stmtCacheSize {
		c.evict()
	}
	cs := &cachedStmt{stmt: struct {
		driver.Stmt
		driver.StmtExecContext
		driver.StmtQueryContext
	}{s, st, st}}
	c.stmts[query] = cs
	return cs, nil
}

// evict drops one statement not in use (any: the set is far below the
// bound in practice, so which one matters little).
func (c *cachingConn) evict() {
	for q, cs := range c.stmts {
		if !cs.busy {
			cs.stmt.Close()
			delete(c.stmts, q)
			return
		}
	}
}

// statementContext is the context a statement runs with: in a write
// transaction, ctx without its cancellation. SQLite interrupting a write
// statement (modernc.org/sqlite calls sqlite3_interrupt when the context
// ends) rolls back the whole transaction, which in a group of writes
// (sqlstore/group.go) holds the writes of other requests: a request whose
// client went away must fail alone. A statement begun after ctx ended
// still fails (database/sql checks it first), and the group rolls its
// write back to its savepoint.
func (c *cachingConn) statementContext(ctx context.Context) context.Context {
	if c.writing {
		return context.WithoutCancel(ctx)
	}
	return ctx
}

// ExecContext runs query through its compiled statement.
func (c *cachingConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	release, err := c.autocommitWrite(ctx, query)
	if err != nil {
		return nil, err
	}
	defer release()
	ctx = c.statementContext(ctx)
	cs, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil {
		return c.sqliteConn.ExecContext(ctx, query, args)
	}
	return cs.stmt.ExecContext(ctx, args)
}

// QueryContext runs query through its compiled statement; the statement is
// busy until the rows close. A write outside a transaction (UPDATE …
// RETURNING) holds the writer slot until then: SQLite writes as the rows
// are stepped.
func (c *cachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	release, err := c.autocommitWrite(ctx, query)
	if err != nil {
		return nil, err
	}
	r, err := c.query(c.statementContext(ctx), query, args)
	if err != nil {
		release()
		return nil, err
	}
	r.release = release
	return r, nil
}

func (c *cachingConn) query(ctx context.Context, query string, args []driver.NamedValue) (*cachedRows, error) {
	cs, err := c.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	var r driver.Rows
	if cs == nil {
		r, err = c.sqliteConn.QueryContext(ctx, query, args)
	} else {
		r, err = cs.stmt.QueryContext(ctx, args)
	}
	if err != nil {
		return nil, err
	}
	rs, ok := r.(sqliteRows)
	if !ok {
		r.Close()
		return nil, fmt.Errorf("sqlite: driver rows %T lack the column type methods", r)
	}
	if cs != nil {
		cs.busy = true
	}
	return &cachedRows{sqliteRows: rs, cs: cs}, nil
}

// Close finalizes the kept statements, then closes the connection (and
// frees the writer slot if a transaction was left open).
func (c *cachingConn) Close() error {
	defer c.endTx()
	var errs []error
	for q, cs := range c.stmts {
		errs = append(errs, cs.stmt.Close())
		delete(c.stmts, q)
	}
	errs = append(errs, c.sqliteConn.Close())
	return errors.Join(errs...)
}

// sqliteRows is what modernc's rows implement beside driver.Rows.
type sqliteRows interface {
	driver.Rows
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypeNullable
	driver.RowsColumnTypePrecisionScale
	driver.RowsColumnTypeScanType
}

// cachedRows frees its statement for the next run, and the writer slot
// it holds, when it closes.
type cachedRows struct {
	sqliteRows
	cs      *cachedStmt // nil: a statement not kept
	release func()
}

func (r *cachedRows) Close() error {
	err := r.sqliteRows.Close()
	if r.cs != nil {
		r.cs.busy = false
	}
	if r.release != nil {
		r.release()
		r.release = nil
	}
	return err
}
