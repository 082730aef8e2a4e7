package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Group commit, where the database has one writer (SQLite): write
// transactions that arrive while one runs wait for it and then run
// together, one after another in one transaction, each in a savepoint of
// its own, and commit once. BEGIN and COMMIT with the WAL frames a commit
// writes cost about as much as a small transaction's statements (a trial
// of four inserts with modernc.org/sqlite alone: 124 µs a transaction on
// their own, 45 µs in groups of 32), and the writer holds the database's
// one lock all that time.
//
// No goroutine of its own: the first write to find no group running leads
// one. It runs its own function, then each write that queued meanwhile (up
// to maxGroup in all), commits, gives each its outcome, and hands the lead
// to the next write in the queue. A write is answered only once its group
// has committed, so what is acknowledged is durable as before; a function
// that fails rolls back to its savepoint and leaves the others' writes; a
// failed commit fails the whole group.
//
// Statements run with their request's context without its cancellation:
// SQLite interrupting a statement rolls back the whole transaction, the
// other writes of the group with it. The functions' own statements take
// the context their caller gives, so it is the dialect's connection that
// drops the cancellation in a write transaction (sqlite/conn.go). A write
// whose context has ended before its turn does not run.

// maxGroup bounds the writes one transaction commits, and with it the wait
// of the write that leads the group.
const maxGroup = 32

// grouper queues the writes of a store whose dialect groups them.
type grouper struct {
	mu      sync.Mutex
	leading bool // a group is running
	queue   []*groupWrite

	writes, commits atomic.Int64 // writes committed, and the commits that did
}

// GroupStats returns how many write transactions have committed in
// groups, and in how many commits; both 0 where writes are not grouped.
func (db *DB) GroupStats() (writes, commits int64) {
	if db.group == nil {
		return 0, 0
	}
	return db.group.writes.Load(), db.group.commits.Load()
}

// groupWrite is one write transaction's function and, once it has run,
// its outcome.
type groupWrite struct {
	ctx  context.Context
	fn   func(tx *sql.Tx, now time.Time) error
	done chan groupOutcome
}

// groupOutcome is a write's error, the panic its function raised, or the
// lead of the next group.
type groupOutcome struct {
	err   error
	panic *writePanic
	lead  bool
}

// writePanic is a panic in the function of a write the group's leader
// ran for it, to raise again in the write's own goroutine.
type writePanic struct{ value any }

// groupWrite runs fn in the store's next group of writes.
func (db *DB) groupWrite(ctx context.Context, fn func(tx *sql.Tx, now time.Time) error) error {
	w := &groupWrite{ctx: ctx, fn: fn, done: make(chan groupOutcome, 1)}
	g := db.group
	g.mu.Lock()
	if g.leading {
		g.queue = append(g.queue, w)
		g.mu.Unlock()
		if out := <-w.done; !out.lead {
			return out.result()
		}
	} else {
		g.leading = true
		g.mu.Unlock()
	}
	return db.leadGroup(w).result()
}

// result returns the outcome's error, or raises its panic again.
func (o groupOutcome) result() error {
	if o.panic != nil {
		panic(o.panic.value)
	}
	return o.err
}

// leadGroup runs the group w leads, answers its other writes and hands the
// lead on (also when w's own function panics); it returns w's outcome.
func (db *DB) leadGroup(w *groupWrite) groupOutcome {
	defer db.handOff()
	return db.runGroup(w)
}

// handOff gives the lead to the first write in the queue, or ends the
// leading when none waits.
func (db *DB) handOff() {
	g := db.group
	g.mu.Lock()
	defer g.mu.Unlock()
	if len(g.queue) == 0 {
		g.leading = false
		return
	}
	next := g.queue[0]
	g.queue = g.queue[1:]
	next.done <- groupOutcome{lead: true}
}

// runGroup begins a transaction, runs first's function and then those of
// the writes queued meanwhile, and commits; it answers every write of the
// group but first, whose outcome it returns.
func (db *DB) runGroup(first *groupWrite) groupOutcome {
	if err := first.ctx.Err(); err != nil {
		return groupOutcome{err: err}
	}
	tx, end, err := db.dialect.BeginWrite(context.WithoutCancel(first.ctx), db.db)
	if err != nil {
		return groupOutcome{err: fmt.Errorf("begin: %w", err)}
	}
	defer end()
	defer tx.Rollback() // after a commit, a no-op

	// The first runs without a savepoint, in its own goroutine: when it
	// fails or panics, the transaction holds nothing else and is rolled
	// back.
	if err := first.fn(tx, db.now()); err != nil {
		return groupOutcome{err: err}
	}
	group := []*groupWrite{first}
	outcomes := []groupOutcome{{}}
	for len(group) < maxGroup {
		g := db.group
		g.mu.Lock()
		if len(g.queue) == 0 {
			g.mu.Unlock()
			break
		}
		w := g.queue[0]
		g.queue = g.queue[1:]
		g.mu.Unlock()
		out, broken := db.runInSavepoint(w, tx)
		group, outcomes = append(group, w), append(outcomes, out)
		if broken != nil {
			// The transaction is no longer usable: nothing of it commits.
			return answerGroup(group, outcomes, broken)
		}
	}
	if err := tx.Commit(); err != nil {
		return answerGroup(group, outcomes, fmt.Errorf("commit: %w", err))
	}
	db.group.commits.Add(1)
	for _, out := range outcomes {
		if out.err == nil && out.panic == nil {
			db.group.writes.Add(1)
		}
	}
	return answerGroup(group, outcomes, nil)
}

// runInSavepoint runs w's function in a savepoint of tx, rolled back to
// when it fails. broken is an error that leaves tx unusable.
func (db *DB) runInSavepoint(w *groupWrite, tx *sql.Tx) (out groupOutcome, broken error) {
	if err := w.ctx.Err(); err != nil {
		return groupOutcome{err: err}, nil
	}
	ctx := context.WithoutCancel(w.ctx)
	if _, err := tx.ExecContext(ctx, `SAVEPOINT lokero_group`); err != nil {
		return groupOutcome{err: fmt.Errorf("savepoint: %w", err)}, err
	}
	out = call(w, tx, db.now())
	if out.err == nil && out.panic == nil {
		if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT lokero_group`); err != nil {
			return groupOutcome{err: fmt.Errorf("release savepoint: %w", err)}, err
		}
		return out, nil
	}
	if _, err := tx.ExecContext(ctx, `ROLLBACK TO SAVEPOINT lokero_group`); err != nil {
		return out, fmt.Errorf("rollback to savepoint: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `RELEASE SAVEPOINT lokero_group`); err != nil {
		return out, fmt.Errorf("release savepoint: %w", err)
	}
	return out, nil
}

// call runs the function of w, a write that is not the leader's, its
// panic caught to be raised again in w's goroutine.
func call(w *groupWrite, tx *sql.Tx, now time.Time) (out groupOutcome) {
	defer func() {
		if v := recover(); v != nil {
			out = groupOutcome{panic: &writePanic{value: v}}
		}
	}()
	return groupOutcome{err: w.fn(tx, now)}
}

// answerGroup gives every write of the group but the first its outcome,
// or failed when the group did not commit, and returns the first's.
func answerGroup(group []*groupWrite, outcomes []groupOutcome, failed error) groupOutcome {
	for i := range outcomes {
		if failed != nil && outcomes[i].err == nil && outcomes[i].panic == nil {
			outcomes[i].err = fmt.Errorf("a write grouped with this one: %w", failed)
		}
	}
	for i, w := range group[1:] {
		w.done <- outcomes[i+1]
	}
	return outcomes[0]
}
