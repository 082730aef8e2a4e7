package jobs_test

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/jobs"
	"github.com/lokero/lokero/pgtest"
	"github.com/lokero/lokero/postgres"
	"github.com/lokero/lokero/sqlite"
)

func TestMain(m *testing.M) { pgtest.ForTest(m) }

// calls counts handled jobs, shared by the recorders of several runners.
type calls struct {
	mu        sync.Mutex
	calls     map[string]int  // "kind/shipmentID" (or "deliver/messageID") -> calls
	by        map[string]int  // runner name -> calls
	attempts  map[int64][]int // message ID -> the attempts Deliver was called with
	failFirst map[int64]int   // message ID -> how many attempts fail

	hookAttempts  map[string][]int        // webhook delivery ID -> attempts
	hookFailFirst map[string]int          // webhook delivery ID -> how many attempts fail
	hookRetry     func(int) time.Duration // WebhookRetry
}

// recorder is a Handler counting calls per kind and shipment.
type recorder struct {
	*calls
	name string
}

func newRecorder(name string) *recorder {
	return &recorder{calls: &calls{calls: map[string]int{}, by: map[string]int{}}, name: name}
}

// named returns a recorder for another runner, counting into the same maps.
func (h *recorder) named(name string) *recorder { return &recorder{calls: h.calls, name: name} }

func (h *recorder) record(kind, id string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls.calls[kind+"/"+id]++
	h.by[h.name]++
}

func (h *recorder) Remind(ctx context.Context, id string) error {
	h.record(jobs.KindReminder, id)
	return nil
}

func (h *recorder) Expire(ctx context.Context, id string) error {
	h.record(jobs.KindExpiry, id)
	return nil
}

// Deliver records the call and its attempt; the first failFirst[id]
// attempts of a message fail.
func (h *recorder) Deliver(ctx context.Context, id int64, attempt int) error {
	key := strconv.FormatInt(id, 10)
	h.record(jobs.KindDeliver, key)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.attempts == nil {
		h.attempts = map[int64][]int{}
	}
	h.attempts[id] = append(h.attempts[id], attempt)
	if attempt <= h.failFirst[id] {
		return fmt.Errorf("provider down (attempt %d)", attempt)
	}
	return nil
}

// DeliverWebhook records the call and its attempt; the first
// hookFailFirst[id] attempts fail.
func (h *recorder) DeliverWebhook(ctx context.Context, id string, attempt int) error {
	h.record(jobs.KindWebhook, id)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.hookAttempts == nil {
		h.hookAttempts = map[string][]int{}
	}
	h.hookAttempts[id] = append(h.hookAttempts[id], attempt)
	if attempt <= h.hookFailFirst[id] {
		return fmt.Errorf("endpoint down (attempt %d)", attempt)
	}
	return nil
}

// WebhookRetry is hookRetry, or an hour.
func (h *recorder) WebhookRetry(attempt int) time.Duration {
	if h.hookRetry != nil {
		return h.hookRetry(attempt)
	}
	return time.Hour
}

// webhookDeliveries returns the attempt numbers a webhook delivery was
// sent with.
func (h *recorder) webhookDeliveries(id string) []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.hookAttempts[id])
}

// deliveries returns the attempt numbers a message's deliveries were
// called with.
func (h *recorder) deliveries(id int64) []int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.attempts[id])
}

func (h *recorder) count(kind, id string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls.calls[kind+"/"+id]
}

type dialectCase struct {
	dialect jobs.Dialect
	open    func(t *testing.T) *sql.DB
}

func dialects() []dialectCase {
	return []dialectCase{
		{jobs.SQLite, openSQLite},
		{jobs.Postgres, openPostgres},
	}
}

func openSQLite(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "lokero.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db.SQL()
}

func openPostgres(t *testing.T) *sql.DB {
	t.Helper()
	url, err := pgtest.Require(t).CreateDatabase(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	db, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db.SQL()
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

// startRunner builds and starts a Runner, stopped at cleanup.
func startRunner(t *testing.T, db *sql.DB, d jobs.Dialect, clock lokero.Clock, h jobs.Handler) *jobs.Runner {
	t.Helper()
	r, err := jobs.New(t.Context(), db, d, clock, h, testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := r.Stop(ctx); err != nil {
			t.Errorf("stop: %v", err)
		}
	})
	return r
}

// schedule inserts one job in its own transaction, committed or rolled back.
func schedule(t *testing.T, db *sql.DB, r *jobs.Runner, kind, id string, at time.Time, commit bool) {
	t.Helper()
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := r.InsertTx(t.Context(), tx, lokero.Job{Kind: kind, ShipmentID: id, At: at}); err != nil {
		t.Fatal(err)
	}
	if commit {
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
	}
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %s: %s", within, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// jobStates counts River's jobs by state.
func jobStates(t *testing.T, db *sql.DB) map[string]int {
	t.Helper()
	rows, err := db.QueryContext(t.Context(), `SELECT state, count(*) FROM river_job GROUP BY state`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	m := map[string]int{}
	for rows.Next() {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		m[s] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCommittedRunsOnceRolledBackNever(t *testing.T) {
	for _, dc := range dialects() {
		t.Run(string(dc.dialect), func(t *testing.T) {
			t.Parallel()
			db := dc.open(t)
			clock := lokero.NewDevClock(lokero.SystemClock{})
			h := newRecorder("a")
			r := startRunner(t, db, dc.dialect, clock, h)

			schedule(t, db, r, jobs.KindExpiry, "rolledback", clock.Now(), false)
			schedule(t, db, r, jobs.KindReminder, "S1", clock.Now(), true)
			schedule(t, db, r, jobs.KindExpiry, "S1", clock.Now(), true)

			waitFor(t, 10*time.Second, "both jobs completed", func() bool {
				return jobStates(t, db)["completed"] == 2
			})
			if n := h.count(jobs.KindReminder, "S1"); n != 1 {
				t.Errorf("reminder S1 handled %d times, want 1", n)
			}
			if n := h.count(jobs.KindExpiry, "S1"); n != 1 {
				t.Errorf("expiry S1 handled %d times, want 1", n)
			}
			if n := h.count(jobs.KindExpiry, "rolledback"); n != 0 {
				t.Errorf("rolled-back job handled %d times", n)
			}
			if st := jobStates(t, db); len(st) != 1 || st["completed"] != 2 {
				t.Errorf("job states %v, want just 2 completed (the rolled-back insert left no row)", st)
			}
		})
	}
}

func TestSevenDaysDevClock(t *testing.T) {
	for _, dc := range dialects() {
		t.Run(string(dc.dialect), func(t *testing.T) {
			t.Parallel()
			db := dc.open(t)
			clock := lokero.NewDevClock(lokero.SystemClock{})
			h := newRecorder("a")
			r := startRunner(t, db, dc.dialect, clock, h)

			week := clock.Now().Add(7 * 24 * time.Hour)
			schedule(t, db, r, jobs.KindExpiry, "S7", week, true)
			// Scheduled again while pending: unique, no second row.
			schedule(t, db, r, jobs.KindExpiry, "S7", week.Add(time.Hour), true)
			// A job due in a second goes through the same scheduler: once it
			// has run, the scheduler has passed with the 7-day job pending.
			schedule(t, db, r, jobs.KindReminder, "soon", clock.Now().Add(time.Second), true)
			waitFor(t, 15*time.Second, "job due in 1 s ran", func() bool {
				return h.count(jobs.KindReminder, "soon") == 1
			})
			if n := h.count(jobs.KindExpiry, "S7"); n != 0 {
				t.Fatalf("job due in 7 days ran now (%d times)", n)
			}
			if st := jobStates(t, db); st["scheduled"] != 1 {
				t.Fatalf("job states %v, want the 7-day job alone scheduled", st)
			}

			clock.Advance(168 * time.Hour)
			start := time.Now()
			waitFor(t, 15*time.Second, "7-day job ran after advancing 168h", func() bool {
				return h.count(jobs.KindExpiry, "S7") >= 1
			})
			t.Logf("7-day job ran %s after the advance", time.Since(start).Round(time.Millisecond))
			waitFor(t, 5*time.Second, "7-day job completed", func() bool {
				return jobStates(t, db)["completed"] == 2
			})
			if n := h.count(jobs.KindExpiry, "S7"); n != 1 {
				t.Errorf("7-day job handled %d times, want 1", n)
			}
		})
	}
}

func TestExactlyOnceTwoRunnersPostgres(t *testing.T) {
	db := openPostgres(t)
	clock := lokero.SystemClock{}
	h := newRecorder("a")
	// Both instances start at once: their River migrations must serialise.
	var rs [2]*jobs.Runner
	var errs [2]error
	var wg sync.WaitGroup
	for i, hh := range []jobs.Handler{h, h.named("b")} {
		wg.Go(func() { rs[i], errs[i] = jobs.New(t.Context(), db, jobs.Postgres, clock, hh, testLogger(t)) })
	}
	wg.Wait()
	for i, r := range rs {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		if err := r.Start(t.Context()); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := r.Stop(ctx); err != nil {
				t.Errorf("stop: %v", err)
			}
		})
	}
	r1 := rs[0]

	const n = 50
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := r1.InsertTx(t.Context(), tx, lokero.Job{Kind: jobs.KindExpiry, ShipmentID: fmt.Sprintf("S%02d", i), At: clock.Now()}); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}

	waitFor(t, 30*time.Second, "all 50 jobs completed", func() bool {
		return jobStates(t, db)["completed"] == n
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	total := 0
	for i := range n {
		id := fmt.Sprintf("S%02d", i)
		c := h.calls.calls[jobs.KindExpiry+"/"+id]
		if c != 1 {
			t.Errorf("%s handled %d times, want 1", id, c)
		}
		total += c
	}
	if total != n || len(h.calls.calls) != n {
		t.Errorf("%d calls for %d keys, want %d each", total, len(h.calls.calls), n)
	}
	t.Logf("calls per runner: %v", h.by)
}

// deliver inserts the delivery job of a message in its own committed
// transaction.
func deliver(t *testing.T, db *sql.DB, r *jobs.Runner, id int64) {
	t.Helper()
	tx, err := db.BeginTx(t.Context(), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := r.InsertTx(t.Context(), tx, lokero.Job{Kind: jobs.KindDeliver, MessageID: id}); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}

// TestDeliverRetriesWithBackoff: a delivery job calls Deliver with its
// message id and River's attempt number; a failed attempt is retried
// after River's backoff (attempt⁴ s, by the runner's clock: advancing a
// DevClock brings the retry on), up to DeliverMaxAttempts; a job for a
// message pending already is not inserted twice; a job without a message
// id is refused.
func TestDeliverRetriesWithBackoff(t *testing.T) {
	for _, dc := range dialects() {
		t.Run(string(dc.dialect), func(t *testing.T) {
			t.Parallel()
			db := dc.open(t)
			clock := lokero.NewDevClock(lokero.SystemClock{})
			h := newRecorder("a")
			h.failFirst = map[int64]int{7: 2}
			r := startRunner(t, db, dc.dialect, clock, h)

			tx, err := db.BeginTx(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.InsertTx(t.Context(), tx, lokero.Job{Kind: jobs.KindDeliver}); err == nil {
				t.Error("a delivery job without a message id was inserted")
			}
			tx.Rollback()

			deliver(t, db, r, 7)
			deliver(t, db, r, 7) // pending: unique by message
			deliver(t, db, r, 8)
			waitFor(t, 10*time.Second, "message 8 delivered and message 7 tried once", func() bool {
				return h.count(jobs.KindDeliver, "8") == 1 && len(h.deliveries(7)) >= 1
			})
			var maxAttempts []int
			rows, err := db.QueryContext(t.Context(), `SELECT max_attempts FROM river_job WHERE kind = $1`, jobs.KindDeliver)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var n int
				if err := rows.Scan(&n); err != nil {
					t.Fatal(err)
				}
				maxAttempts = append(maxAttempts, n)
			}
			rows.Close()
			if len(maxAttempts) != 2 || maxAttempts[0] != jobs.DeliverMaxAttempts || maxAttempts[1] != jobs.DeliverMaxAttempts {
				t.Errorf("delivery jobs' max attempts %v; want two jobs of %d", maxAttempts, jobs.DeliverMaxAttempts)
			}
			// The second try is due 1 s after the first, the third 16 s
			// after the second: the clock moves on instead of the test
			// waiting.
			for want := 2; want <= 3; want++ {
				waitFor(t, 20*time.Second, fmt.Sprintf("attempt %d of message 7", want), func() bool {
					if len(h.deliveries(7)) >= want {
						return true
					}
					clock.Advance(20 * time.Second)
					return false
				})
			}
			waitFor(t, 10*time.Second, "both delivery jobs completed", func() bool {
				return jobStates(t, db)["completed"] == 2
			})
			if got := h.deliveries(7); !slices.Equal(got, []int{1, 2, 3}) {
				t.Errorf("message 7 delivered with attempts %v; want [1 2 3]", got)
			}
			if got := h.deliveries(8); !slices.Equal(got, []int{1}) {
				t.Errorf("message 8 delivered with attempts %v; want [1]", got)
			}
		})
	}
}

// TestWebhookRetriesOnItsSchedule: a webhook job calls DeliverWebhook with
// its delivery id and attempt; a failed attempt is retried after
// WebhookRetry(attempt), by the runner's clock (not River's backoff: the
// wait asked here is a day, and only advancing the clock by that day
// brings the retry on); a job without a delivery id is refused.
func TestWebhookRetriesOnItsSchedule(t *testing.T) {
	for _, dc := range dialects() {
		t.Run(string(dc.dialect), func(t *testing.T) {
			t.Parallel()
			db := dc.open(t)
			clock := lokero.NewDevClock(lokero.SystemClock{})
			h := newRecorder("a")
			h.hookFailFirst = map[string]int{"msg_a": 1}
			var asked []int
			var mu sync.Mutex
			h.hookRetry = func(attempt int) time.Duration {
				mu.Lock()
				defer mu.Unlock()
				asked = append(asked, attempt)
				return 24 * time.Hour
			}
			r := startRunner(t, db, dc.dialect, clock, h)

			tx, err := db.BeginTx(t.Context(), nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.InsertTx(t.Context(), tx, lokero.Job{Kind: jobs.KindWebhook}); err == nil {
				t.Error("a webhook job without a delivery id was inserted")
			}
			if err := r.InsertTx(t.Context(), tx, lokero.Job{Kind: jobs.KindWebhook, DeliveryID: "msg_a", At: clock.Now()}); err != nil {
				t.Fatal(err)
			}
			if err := tx.Commit(); err != nil {
				t.Fatal(err)
			}
			waitFor(t, 10*time.Second, "the first try", func() bool { return len(h.webhookDeliveries("msg_a")) == 1 })
			// An hour on, the retry a day after is not due.
			clock.Advance(time.Hour)
			time.Sleep(1500 * time.Millisecond)
			if got := h.webhookDeliveries("msg_a"); len(got) != 1 {
				t.Fatalf("tried %v within an hour of a failure whose retry is a day away", got)
			}
			waitFor(t, 20*time.Second, "the second try, a day on", func() bool {
				if len(h.webhookDeliveries("msg_a")) >= 2 {
					return true
				}
				clock.Advance(24 * time.Hour)
				return false
			})
			if got := h.webhookDeliveries("msg_a"); !slices.Equal(got, []int{1, 2}) {
				t.Errorf("tries %v; want [1 2]", got)
			}
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(asked, []int{1}) {
				t.Errorf("WebhookRetry asked for attempts %v; want [1]", asked)
			}
		})
	}
}

// earlyExpiry is a recorder whose Expire answers that it is not yet due
// until until (as service.Lockers.Expire does when River takes the job a
// little early).
type earlyExpiry struct {
	*recorder
	clock lokero.Clock
	until time.Time
}

// notYet is the handler's "not yet" (jobs.NotBefore).
type notYet struct{ until time.Time }

func (e notYet) Error() string        { return "not yet" }
func (e notYet) NotBefore() time.Time { return e.until }

func (h *earlyExpiry) Expire(ctx context.Context, id string) error {
	h.record(jobs.KindExpiry, id)
	if h.clock.Now().Before(h.until) {
		return fmt.Errorf("expire %s: %w", id, notYet{h.until})
	}
	return nil
}

// TestExpiryRunEarlyRunsAgain: an expiry job that runs before its parcel's
// deadline (River takes jobs a little early, by the database's clock) and
// answers so is snoozed until the deadline and run again then, never
// completed having done nothing.
func TestExpiryRunEarlyRunsAgain(t *testing.T) {
	for _, dc := range dialects() {
		t.Run(string(dc.dialect), func(t *testing.T) {
			t.Parallel()
			db := dc.open(t)
			clock := lokero.NewDevClock(lokero.SystemClock{})
			h := &earlyExpiry{recorder: newRecorder("a"), clock: clock, until: clock.Now().Add(time.Hour)}
			r := startRunner(t, db, dc.dialect, clock, h)
			schedule(t, db, r, jobs.KindExpiry, "EARLY", clock.Now(), true)
			waitFor(t, 15*time.Second, "the early run", func() bool { return h.count(jobs.KindExpiry, "EARLY") >= 1 })
			waitFor(t, 5*time.Second, "the job snoozed", func() bool { return jobStates(t, db)["scheduled"] == 1 })
			if st := jobStates(t, db); st["completed"] != 0 || st["retryable"] != 0 {
				t.Fatalf("job states after an early run %v; want it scheduled again, not completed nor failed", st)
			}
			clock.Advance(time.Hour)
			waitFor(t, 15*time.Second, "the run at the deadline", func() bool { return h.count(jobs.KindExpiry, "EARLY") >= 2 })
			waitFor(t, 5*time.Second, "the job completed", func() bool { return jobStates(t, db)["completed"] == 1 })
		})
	}
}
