package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/api"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/demo"
	"github.com/lokero/lokero/jobs"
	"github.com/lokero/lokero/notify/webhook"
	"github.com/lokero/lokero/service"
)

// platform is what every command wires over one database: the postal code
// registry, the pickup-point directory and the shipment use cases.
type platform struct {
	store     store
	dir       *service.Directory
	shipments *service.Shipments
	lockers   *service.Lockers
	webhooks  *service.Webhooks
	calendar  *calendar.Calendar
	clock     lokero.Clock
}

// newPlatform wires the platform over an open store, filling an empty one
// with the bundled postal codes.
func newPlatform(ctx context.Context, st store, cal *calendar.Calendar, clk lokero.Clock, log *slog.Logger) (*platform, error) {
	st.SetClock(clk)
	reg, err := service.LoadPostcodes(ctx, st)
	if err != nil {
		return nil, err
	}
	dir := service.NewDirectory(st, reg, clk, log)
	// The checkout's capacity view re-reads each day's bookings to see
	// those made by other instances: every second on PostgreSQL. A SQLite
	// file has one server, whose own bookings the view sees at once, so it
	// re-reads only each minute.
	capacityMaxAge := time.Second
	if st.Dialect().Name() == "sqlite" {
		capacityMaxAge = time.Minute
	}
	dir.SetCheckout(cal, service.NewAvailability(st, clk, capacityMaxAge))
	// Every command that writes shipments queues their webhook deliveries
	// in the same transaction (serve's jobs send them).
	poster, validURL := newWebhookPoster(false)
	hooks := service.NewWebhooks(st, clk, nil, poster, webhook.NextRetry, validURL, log)
	st.SetEventHook(hooks.Publish)
	return &platform{store: st, dir: dir, shipments: service.NewShipments(st, dir, cal, clk, nil, log),
		lockers: service.NewLockers(st, dir, cal, clk, nil, nil, log), webhooks: hooks, calendar: cal, clock: clk}, nil
}

// jobHandler does the work of the background jobs: the locker service's
// (storage period, notices) and the webhooks'.
type jobHandler struct {
	*service.Lockers
	*service.Webhooks
}

// openPlatform opens the database named by dsn (a postgres:// URL or a
// SQLite file) and wires the platform over it. Close closes the database.
func openPlatform(ctx context.Context, dsn string, cal *calendar.Calendar, clk lokero.Clock, log *slog.Logger) (*platform, error) {
	st, err := openStore(ctx, dsn)
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	p, err := newPlatform(ctx, st, cal, clk, log)
	if err != nil {
		st.Close()
		return nil, err
	}
	return p, nil
}

// Close closes the database.
func (p *platform) Close() error { return p.store.Close() }

// useCodes loads the opening-code secret as serve does (file, else
// LOKERO_CODE_SECRET, else for SQLite the file beside the database, made
// there for a database not served yet), for the device credentials the
// platform issues or rotates: each keeps the key of its board, which then
// derives its parcels' verifiers (docs/device-protocol.md, "The board
// derives"). Without a secret here (PostgreSQL without LOKERO_CODE_SECRET
// or a file) it warns on stderr and goes on: those boards get verifiers
// the centre derives. A secret that does not match the database is an
// error, as for serve.
func (p *platform) useCodes(ctx context.Context, dsn, file string, stderr io.Writer) error {
	log := newLogger(stderr)
	codes, _, _, err := loadSecret(ctx, p.store, dsn, file, secretOptions{mayCreate: true}, log)
	if errors.Is(err, errPostgresSecret) {
		fmt.Fprintln(stderr, "lokero: warning: no opening-code secret here (LOKERO_CODE_SECRET or --code-secret-file, as serve has it): the locker's board will get verifiers the centre derives instead of deriving them itself")
		return nil
	}
	if err != nil {
		return err
	}
	p.lockers = service.NewLockers(p.store, p.dir, p.calendar, p.clock, nil, codes, log)
	return nil
}

// loadDemo fills an empty database with the bundled demo network
// (demo.Network with demo.DefaultSeed, imported through the directory),
// then loads the directory; it returns how many locations it added (0 when
// the database had locations). The demo is the command's business: the
// service knows only how to import locations.
func (p *platform) loadDemo(ctx context.Context) (int, error) {
	n, err := p.store.CountLocations(ctx)
	if err != nil {
		return 0, fmt.Errorf("load demo network: %w", err)
	}
	if n > 0 {
		return 0, p.dir.Reload(ctx)
	}
	locs, err := demo.Network(p.dir.Postcodes(), demo.DefaultSeed)
	if err != nil {
		return 0, fmt.Errorf("generate demo network: %w", err)
	}
	// Import reloads the directory.
	if _, err := p.dir.Import(ctx, locs); err != nil {
		return 0, fmt.Errorf("load demo network: %w", err)
	}
	return len(locs), nil
}

// reloadDirectory reads the directory again (imports and the operator's
// changes made through other instances or processes) and re-routes the
// parcels booked to points closed on their delivery date that nobody has
// moved yet: a booking this instance took for a point another instance
// had just closed, or what a crash cut short. Each shipment moves once,
// whichever instance gets to it.
func (p *platform) reloadDirectory(ctx context.Context, log *slog.Logger) error {
	if err := p.dir.Reload(ctx); err != nil {
		return err
	}
	return p.rerouteClosed(ctx, log)
}

// rerouteClosed runs Shipments.RerouteAll and logs what it moved.
func (p *platform) rerouteClosed(ctx context.Context, log *slog.Logger) error {
	moved, err := p.shipments.RerouteAll(ctx)
	if err != nil {
		return fmt.Errorf("re-route the parcels of closed points: %w", err)
	}
	if len(moved.Rerouted) > 0 {
		// Those nothing takes are listed at GET /v1/stranded, not logged
		// again every minute.
		log.Info("re-routed the parcels of closed points", "rerouted", len(moved.Rerouted), "stranded", len(moved.Stranded))
	}
	return nil
}

// handler returns the API over the platform; it answers 503 until
// SetReady.
func (p *platform) handler(log *slog.Logger) *api.Server {
	srv := api.New(p.dir, p.store, log)
	srv.EnableShipments(p.shipments)
	return srv
}

// serveLoopback serves the API on a free loopback port for a benchmark and
// returns its base URL and a function that stops it.
func (p *platform) serveLoopback(log *slog.Logger) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := p.handler(log)
	srv.SetReady(true)
	// A benchmark measures the platform, not the rate limiter: one bench
	// key books far more than a retailer may a second.
	srv.SetRateLimits(api.RateLimits{})
	hs := &http.Server{Handler: srv}
	go hs.Serve(ln)
	return "http://" + ln.Addr().String(), func() { hs.Close() }, nil
}

// startJobs runs the background jobs (the storage period's reminders and
// expiries, the delivery of notices and webhooks) on River over the
// platform's database, and has the store queue them in its transactions
// (lokero.Tx.ScheduleJob). Stop the runner on shutdown: the jobs run on
// after ctx ends (River would cancel them with it, a notice the provider
// was taking then left unrecorded and sent again), until Stop, which
// gives them their grace period.
func (p *platform) startJobs(ctx context.Context, dsn string, log *slog.Logger) (*jobs.Runner, error) {
	runner, err := p.queueJobs(ctx, dsn, log)
	if err != nil {
		return nil, err
	}
	if err := runner.Start(context.WithoutCancel(ctx)); err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	return runner, nil
}

// queueJobs has the store queue the jobs of its transactions in River,
// without working them: a command other than serve (an import) queues
// them for serve to work.
func (p *platform) queueJobs(ctx context.Context, dsn string, log *slog.Logger) (*jobs.Runner, error) {
	dialect := jobs.SQLite
	if isPostgres(dsn) {
		dialect = jobs.Postgres
	}
	runner, err := jobs.New(ctx, p.store.SQL(), dialect, p.clock, jobHandler{p.lockers, p.webhooks}, log)
	if err != nil {
		return nil, fmt.Errorf("jobs: %w", err)
	}
	p.store.SetJobQueue(runner)
	return runner, nil
}
