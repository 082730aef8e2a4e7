// Package jobs runs lokero's background jobs on River: the storage
// period's reminder and expiry, and the delivery of each message of the
// outbox, exactly once across instances.
//
// One river.Client[*sql.Tx] works over the store's own *sql.DB: the
// riversqlite driver for SQLite, riverdatabasesql (with a pgx LISTEN/NOTIFY
// listener) for PostgreSQL. Jobs are inserted with InsertTx in the
// transaction of the domain write, so they exist exactly when that write
// commits. River locks each job row when a client fetches it, so with
// several lokero instances on one PostgreSQL every job is worked by one of
// them.
//
// Time: River takes its time from the lokero.Clock it is given (see
// clockTime), so that a lokero.DevClock advanced by 168h makes the jobs
// scheduled 7 days ahead due at once. Scheduled jobs are made available by
// River's scheduler (on the leader, every 5 s, not configurable in River
// v0.51.2) and then fetched within the poll interval (100 ms on SQLite,
// 1 s on PostgreSQL), so a job runs about 6 s at most after it falls due;
// a job due already when inserted is available at once, and fetched at the
// next poll (SQLite) or at once (PostgreSQL's NOTIFY).
//
// A job whose process died while running it (a crash, a kill) is rescued
// by River after rescueAfter (2 minutes) and run again: this is the one
// way a notice can be sent twice (service.Lockers.Deliver). River's
// rescuer compares the job's start (stamped by the clock) with the wall
// clock, so under a DevClock advanced by X a stuck job is rescued only
// after 2 minutes + X of real time. Advancing a DevClock makes River's leader see its
// reelection deadline passed: it steps down and is elected again, which
// can add a few seconds once (tests saw 4-7 s from the advance to the run).
package jobs

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
	"github.com/riverqueue/river/rivertype"

	"github.com/lokero/lokero"
)

// Kinds of jobs.
const (
	// KindReminder reminds the recipient that the storage period ends soon.
	KindReminder = "storage_reminder"
	// KindExpiry ends the storage period: the shipment expires.
	KindExpiry = "storage_expiry"
	// KindDeliver sends one message of the outbox (lokero.JobDeliver).
	KindDeliver = lokero.JobDeliver
	// KindWebhook sends one webhook delivery (lokero.JobWebhook).
	KindWebhook = lokero.JobWebhook
)

// DeliverMaxAttempts is how many times River runs a delivery job at most
// (lokero.MaxDeliveryAttempts), retrying a failed one with its default
// backoff of about attempt⁴ seconds: the 13th try comes about 17 hours
// after the first and the 14th about 25, when the service gives up on a
// message older than a day (service.MaxDeliveryAge), well before the 25th.
const DeliverMaxAttempts = lokero.MaxDeliveryAttempts

// Handler does the work of a job; the service implements it. Every method
// must be idempotent (the service checks the shipment's or the message's
// state): River runs a job once, but retries it after an error, and a job
// scheduled again after the first one finished runs again.
type Handler interface {
	Remind(ctx context.Context, shipmentID string) error
	Expire(ctx context.Context, shipmentID string) error
	// Deliver sends one message of the outbox; attempt is River's attempt
	// number of the job, from 1. An error has River retry it later.
	Deliver(ctx context.Context, messageID int64, attempt int) error
	// DeliverWebhook sends one webhook delivery; attempt is River's
	// attempt number of the job, from 1. An error has River retry it
	// after WebhookRetry(attempt).
	DeliverWebhook(ctx context.Context, deliveryID string, attempt int) error
	// WebhookRetry is how long to wait after the attempt-th failed try of
	// a webhook delivery (the Standard Webhooks schedule).
	WebhookRetry(attempt int) time.Duration
}

// Dialect names the database.
type Dialect string

// The dialects.
const (
	// SQLite is the SQLite store (modernc.org/sqlite).
	SQLite Dialect = "sqlite"
	// Postgres is the PostgreSQL store (pgx's database/sql driver).
	Postgres Dialect = "postgres"
)

// Runner owns the River client.
type Runner struct {
	client   *river.Client[*sql.Tx]
	clock    lokero.Clock
	listener *pgxpool.Pool // PostgreSQL LISTEN connections; nil when polling only
}

// migrateLockKey is the PostgreSQL advisory lock key under which instances
// migrate River's tables one after the other (rivermigrate takes no lock).
const migrateLockKey int64 = 0x6c6f6b65726f7276 // "lokerorv"

// Polling and concurrency. SQLite has no LISTEN/NOTIFY, and a job inserted
// in a transaction wakes no producer, so a job committed with a door's
// closing waits for the next poll: 100 ms there keeps a notice's way to
// its provider short. PostgreSQL is woken by NOTIFY and polls only as a
// fallback. River's default fetch cooldown (100 ms) with 4 workers capped
// delivery at 40 jobs/s (docs/benchmarks.md); delivery jobs mostly wait
// on a provider, so more workers and a short cooldown cost little.
const (
	pollIntervalSQLite   = 100 * time.Millisecond
	pollIntervalPostgres = time.Second
	fetchCooldown        = 5 * time.Millisecond
	maxWorkers           = 32
)

// jobTimeout bounds one run of a job; rescueAfter is when River's rescuer
// takes a job still "running" (its worker's process died) to be run
// again. It must exceed jobTimeout, so that a job still running
// somewhere is never run twice at once; a crash delays its jobs by about
// that much.
const (
	jobTimeout  = time.Minute
	rescueAfter = 2 * time.Minute
)

// New migrates River's own tables (every start: a no-op when up to date;
// on PostgreSQL under a session advisory lock, as several instances may
// start at once) and builds the River client with workers for every kind
// calling handler, one default queue of 32 workers, a poll interval of
// 100 ms on SQLite and 1 s on PostgreSQL (woken by NOTIFY before that),
// and River's time taken from clock. Call Start to work jobs; a Runner that is
// never started can still InsertTx.
func New(ctx context.Context, db *sql.DB, dialect Dialect, clock lokero.Clock, handler Handler, log *slog.Logger) (*Runner, error) {
	if clock == nil {
		clock = lokero.SystemClock{}
	}
	if log == nil {
		log = slog.Default()
	}
	r := &Runner{clock: clock}
	var driver riverdriver.Driver[*sql.Tx]
	switch dialect {
	case SQLite:
		driver = riversqlite.New(db)
	case Postgres:
		pool, err := listenerPool(ctx, db)
		if err != nil {
			log.WarnContext(ctx, "jobs: no LISTEN connection, polling only", "err", err)
			driver = riverdatabasesql.New(db)
		} else {
			r.listener = pool
			driver = riverdatabasesql.NewWithPgxListener(db, pool)
		}
	default:
		return nil, fmt.Errorf("jobs: unknown dialect %q", dialect)
	}
	if err := migrate(ctx, db, dialect, driver, log); err != nil {
		r.closeListener()
		return nil, err
	}

	workers := river.NewWorkers()
	if err := river.AddWorkerSafely(workers, river.WorkFunc(func(ctx context.Context, job *river.Job[reminderArgs]) error {
		return handler.Remind(ctx, job.Args.ShipmentID)
	})); err != nil {
		r.closeListener()
		return nil, fmt.Errorf("jobs: %w", err)
	}
	if err := river.AddWorkerSafely(workers, river.WorkFunc(func(ctx context.Context, job *river.Job[expiryArgs]) error {
		return snoozeIfEarly(handler.Expire(ctx, job.Args.ShipmentID), clock)
	})); err != nil {
		r.closeListener()
		return nil, fmt.Errorf("jobs: %w", err)
	}
	if err := river.AddWorkerSafely(workers, river.WorkFunc(func(ctx context.Context, job *river.Job[deliverArgs]) error {
		return handler.Deliver(ctx, job.Args.MessageID, job.Attempt)
	})); err != nil {
		r.closeListener()
		return nil, fmt.Errorf("jobs: %w", err)
	}
	if err := river.AddWorkerSafely(workers, &webhookWorker{handler: handler, clock: clock}); err != nil {
		r.closeListener()
		return nil, fmt.Errorf("jobs: %w", err)
	}
	poll := pollIntervalSQLite
	if dialect == Postgres {
		poll = pollIntervalPostgres
	}
	client, err := river.NewClient(driver, &river.Config{
		FetchCooldown:        fetchCooldown,
		FetchPollInterval:    poll,
		JobTimeout:           jobTimeout,
		RescueStuckJobsAfter: rescueAfter,
		Logger:               log,
		Queues:               map[string]river.QueueConfig{river.QueueDefault: {MaxWorkers: maxWorkers}},
		Workers:              workers,
		Test:                 river.TestConfig{Time: clockTime{clock}},
	})
	if err != nil {
		r.closeListener()
		return nil, fmt.Errorf("jobs: river client: %w", err)
	}
	r.client = client
	return r, nil
}

// listenerPool opens a small pgx pool on the database of db (same
// connection string) for River's LISTEN connection.
func listenerPool(ctx context.Context, db *sql.DB) (*pgxpool.Pool, error) {
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	var connString string
	if err := conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("driver connection is %T, not pgx's", dc)
		}
		connString = c.Conn().Config().ConnString()
		return nil
	}); err != nil {
		return nil, err
	}
	if connString == "" {
		return nil, errors.New("no connection string")
	}
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, err
	}
	cfg.MinConns = 0
	cfg.MaxConns = 1
	return pgxpool.NewWithConfig(ctx, cfg)
}

// migrate brings River's tables up to date.
func migrate(ctx context.Context, db *sql.DB, dialect Dialect, driver riverdriver.Driver[*sql.Tx], log *slog.Logger) error {
	migrator, err := rivermigrate.New(driver, &rivermigrate.Config{Logger: log})
	if err != nil {
		return fmt.Errorf("jobs: migrator: %w", err)
	}
	if dialect == Postgres {
		// rivermigrate does not serialise concurrent migrators: hold a
		// session advisory lock on one connection while the migrator works
		// through the others of the pool.
		conn, err := db.Conn(ctx)
		if err != nil {
			return fmt.Errorf("jobs: migrate: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrateLockKey); err != nil {
			return fmt.Errorf("jobs: migrate: lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrateLockKey)
	}
	res, err := migrator.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return fmt.Errorf("jobs: migrate: %w", err)
	}
	for _, v := range res.Versions {
		log.InfoContext(ctx, "jobs: river migration applied", "version", v.Version, "name", v.Name)
	}
	return nil
}

func (r *Runner) closeListener() {
	if r.listener != nil {
		r.listener.Close()
		r.listener = nil
	}
}

// Start starts working jobs, until Stop, or until ctx is cancelled (then
// River stops as by StopAndCancel: give Start a context that lives as long
// as the process).
func (r *Runner) Start(ctx context.Context) error {
	if err := r.client.Start(ctx); err != nil {
		return fmt.Errorf("jobs: start: %w", err)
	}
	return nil
}

// Stop stops fetching jobs and waits for running ones to finish, until ctx
// ends (then they are cancelled), and closes the LISTEN connection.
func (r *Runner) Stop(ctx context.Context) error {
	err := r.client.Stop(ctx)
	if err != nil {
		// Cancel the running jobs' contexts and wait a little for them.
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		err = r.client.StopAndCancel(cctx)
		cancel()
	}
	r.closeListener()
	if err != nil {
		return fmt.Errorf("jobs: stop: %w", err)
	}
	return nil
}

// InsertTx inserts a job of kind for shipmentID (or, for KindDeliver, for
// the message j.MessageID) in the caller's transaction tx, so that it
// commits or rolls back with the domain write, due at `at` (at or before
// the clock's now: due at once). A delivery job runs at most
// DeliverMaxAttempts times.
//
// Duplicates: the job is unique by kind and shipment ID (message ID) among
// the jobs not yet finished (available, pending, running, retryable,
// scheduled): while one is pending, scheduling the same (kind, shipmentID)
// again inserts nothing, whatever its `at` (the first job's time stands).
// Once the first has completed, a new one can be scheduled; the Handler's
// idempotence makes that one harmless.
func (r *Runner) InsertTx(ctx context.Context, tx *sql.Tx, j lokero.Job) error {
	kind, shipmentID, at := j.Kind, j.ShipmentID, j.At
	var args river.JobArgs
	maxAttempts := 0 // River's default
	switch kind {
	case KindReminder:
		args = reminderArgs{ShipmentID: shipmentID}
	case KindExpiry:
		args = expiryArgs{ShipmentID: shipmentID}
	case KindDeliver:
		if j.MessageID <= 0 {
			return fmt.Errorf("jobs: %s without a message id", kind)
		}
		args, maxAttempts, shipmentID = deliverArgs{MessageID: j.MessageID}, DeliverMaxAttempts, fmt.Sprintf("message %d", j.MessageID)
	case KindWebhook:
		if j.DeliveryID == "" {
			return fmt.Errorf("jobs: %s without a delivery id", kind)
		}
		args, maxAttempts, shipmentID = webhookArgs{DeliveryID: j.DeliveryID}, DeliverMaxAttempts, "webhook delivery "+j.DeliveryID
	default:
		return fmt.Errorf("jobs: unknown kind %q", kind)
	}
	opts := &river.InsertOpts{MaxAttempts: maxAttempts, UniqueOpts: river.UniqueOpts{
		ByArgs: true,
		ByState: []rivertype.JobState{
			rivertype.JobStateAvailable,
			rivertype.JobStatePending,
			rivertype.JobStateRunning,
			rivertype.JobStateRetryable,
			rivertype.JobStateScheduled,
		},
	}}
	// A job with a ScheduledAt waits for River's scheduler even when due;
	// one without is available at once (scheduled at the clock's now).
	if at.After(r.clock.Now()) {
		opts.ScheduledAt = at
	}
	if _, err := r.client.InsertTx(ctx, tx, args, opts); err != nil {
		return fmt.Errorf("jobs: schedule %s %s: %w", kind, shipmentID, err)
	}
	return nil
}

// reminderArgs are the arguments of a KindReminder job.
type reminderArgs struct {
	ShipmentID string `json:"shipment_id" river:"unique"`
}

// Kind returns KindReminder.
func (reminderArgs) Kind() string { return KindReminder }

// expiryArgs are the arguments of a KindExpiry job.
type expiryArgs struct {
	ShipmentID string `json:"shipment_id" river:"unique"`
}

// Kind returns KindExpiry.
func (expiryArgs) Kind() string { return KindExpiry }

// deliverArgs are the arguments of a KindDeliver job.
type deliverArgs struct {
	MessageID int64 `json:"message_id" river:"unique"`
}

// Kind returns KindDeliver.
func (deliverArgs) Kind() string { return KindDeliver }

// webhookArgs are the arguments of a KindWebhook job.
type webhookArgs struct {
	DeliveryID string `json:"delivery_id" river:"unique"`
}

// Kind returns KindWebhook.
func (webhookArgs) Kind() string { return KindWebhook }

// webhookWorker sends webhook deliveries, retried on the Standard Webhooks
// schedule (Handler.WebhookRetry) instead of River's default backoff.
type webhookWorker struct {
	river.WorkerDefaults[webhookArgs]
	handler Handler
	clock   lokero.Clock
}

// Work sends the delivery.
func (w *webhookWorker) Work(ctx context.Context, job *river.Job[webhookArgs]) error {
	return w.handler.DeliverWebhook(ctx, job.Args.DeliveryID, job.Attempt)
}

// NextRetry is when a failed delivery is tried again.
func (w *webhookWorker) NextRetry(job *river.Job[webhookArgs]) time.Time {
	return w.clock.Now().Add(w.handler.WebhookRetry(job.Attempt))
}

// clockTime is River's time generator backed by a lokero.Clock. NowOrNil
// always returns the clock's time (never nil), so that River's queries
// compare with it instead of the database's now(): with a DevClock
// advanced by 168h, jobs scheduled 7 days ahead are due in the database
// too. The exception is the wall clock, for which the database's own time
// is kept (River's production behaviour).
type clockTime struct{ clock lokero.Clock }

// Now returns the clock's time.
func (c clockTime) Now() time.Time { return c.clock.Now() }

// NowOrNil returns the clock's time, or nil for the wall clock.
func (c clockTime) NowOrNil() *time.Time {
	switch c.clock.(type) {
	case lokero.SystemClock, *lokero.SystemClock:
		return nil
	}
	t := c.clock.Now()
	return &t
}

var _ rivertype.TimeGenerator = clockTime{}

// NotBefore is what a handler's error says when the job ran before it was
// due and did nothing (service.NotYet): the job is snoozed until then
// instead of completed or retried as failed. River takes a job up to a
// few seconds before it is due, and by the database's clock.
type NotBefore interface {
	error
	NotBefore() time.Time
}

// snoozeIfEarly turns a NotBefore error into River's snooze until its
// time (at least a second: the job is not run again at once), by clock.
func snoozeIfEarly(err error, clock lokero.Clock) error {
	var early NotBefore
	if errors.As(err, &early) {
		return river.JobSnooze(max(early.NotBefore().Sub(clock.Now()), time.Second))
	}
	return err
}
