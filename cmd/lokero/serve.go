package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/api"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/service"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	addr := fs.String("addr", envOr("LOKERO_ADDR", "127.0.0.1:8080"), "listen address (env LOKERO_ADDR)")
	db := dbFlag(fs)
	noDemo := fs.Bool("no-demo", false, "do not load the demo network into an empty database")
	reload := fs.Duration("reload", time.Minute, "how often to re-read the directory from the database (imports by other processes)")
	devClock := fs.Bool("dev-clock", false, "enable POST /v1/admin/clock to move time forward (for integrators' tests; never in production)")
	devOutbox := fs.String("dev-outbox", "auto", "serve GET /dev/outbox with the queued messages, opening codes in clear: on, off, or auto (on when listening on loopback)")
	secretFile := fs.String("code-secret-file", envOr("LOKERO_CODE_SECRET_FILE", ""), "file with the secret opening codes are hashed with (hex, ≥ 32 bytes); default: LOKERO_CODE_SECRET, or for SQLite a file beside the database, made on first start")
	cutoff := fs.String("cutoff", envOr("LOKERO_CUTOFF", "16:00"), "daily handover cut-off, Europe/Helsinki: parcels handed over later count from the next weekday (env LOKERO_CUTOFF)")
	busyBelow := fs.String("busy-below", envOr("LOKERO_BUSY_BELOW", "15%"), "a locker (or size class) shows as busy at checkout below this share of free compartments, e.g. 15% or 0.15 (env LOKERO_BUSY_BELOW)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	busyShare, err := parseShare(*busyBelow)
	if err != nil {
		return fmt.Errorf("%w: --busy-below must be a share between 0 and 100%% (e.g. 15%%); got %q", errUsage, *busyBelow)
	}
	if *reload <= 0 {
		return fmt.Errorf("%w: --reload must be a positive duration (e.g. 1m); got %s", errUsage, *reload)
	}
	cutoffTime, err := time.Parse("15:04", *cutoff)
	if err != nil {
		return fmt.Errorf("%w: --cutoff must be HH:MM (e.g. 16:00); got %q", errUsage, *cutoff)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%w: serve takes no arguments, got %q", errUsage, fs.Args())
	}
	if *devOutbox != "auto" && *devOutbox != "on" && *devOutbox != "off" {
		return fmt.Errorf("%w: --dev-outbox must be on, off or auto; got %q", errUsage, *devOutbox)
	}
	log := newLogger(stderr)
	codes, err := codeSecret(*db, *secretFile)
	if err != nil {
		return err
	}
	var (
		clk         = clock()
		devClockVal *lokero.DevClock
	)
	if *devClock {
		devClockVal = lokero.NewDevClock(clk)
		clk = devClockVal
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	p, err := openPlatform(ctx, *db, calendar.New(cutoffTime.Hour(), cutoffTime.Minute()), clk, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer p.Close()
	if err := p.dir.Availability().SetBusyBelow(busyShare); err != nil {
		ln.Close()
		return fmt.Errorf("%w: --busy-below: %v", errUsage, err)
	}
	p.lockers = service.NewLockers(p.store, p.dir, p.calendar, p.clock, nil, codes, log)
	dir, srv := p.dir, p.handler(log)
	runner, err := p.startJobs(ctx, *db, log)
	if err != nil {
		ln.Close()
		return err
	}
	defer func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		if err := runner.Stop(stopCtx); err != nil {
			log.Error("stop jobs", "err", err)
		}
	}()
	outbox := *devOutbox == "on" || *devOutbox == "auto" && isLoopback(ln.Addr())
	srv.EnableLockers(p.lockers, api.LockerOptions{DevOutbox: outbox, DevClock: devClockVal})
	httpServer := &http.Server{
		Handler:           srv,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- httpServer.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "db", redactDSN(*db))

	// Health answers 503 until the directory is loaded (by loadDemo, which
	// fills an empty database first, or by Reload with --no-demo).
	if *noDemo {
		err = dir.Reload(ctx)
	} else {
		var n int
		if n, err = p.loadDemo(ctx); err == nil && n > 0 {
			log.Info("loaded the demo network into an empty database", "locations", n)
		}
	}
	if err != nil {
		httpServer.Close()
		return err
	}
	srv.SetReady(true)
	log.Info("ready", "locations", dir.Snapshot().Len(), "postcodes", dir.Postcodes().Len(), "url", "http://"+ln.Addr().String()+"/v1/locations?postcode=00100")
	// Parcels left at points closed while no instance re-routed them (a
	// crash between the change and its re-routing): moved now, in the
	// background; each shipment in its own transaction, so stopping halfway
	// loses nothing.
	go func() {
		if err := p.rerouteClosed(ctx, log); err != nil && ctx.Err() == nil {
			log.Error("at start", "err", err)
		}
	}()

	ticker := time.NewTicker(*reload)
	defer ticker.Stop()
	for {
		select {
		case err := <-serveErr:
			return fmt.Errorf("serve: %w", err)
		case <-ticker.C:
			if err := p.reloadDirectory(ctx, log); err != nil && ctx.Err() == nil {
				log.Error("reload directory", "err", err)
			}
		case <-ctx.Done():
			log.Info("shutting down")
			srv.SetReady(false)
			shutdownCtx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			if err := httpServer.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("shutdown: %w", err)
			}
			log.Info("stopped")
			return nil
		}
	}
}

// redactDSN hides a password in a database URL (in its user part or as a
// password parameter) before it is logged.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return dsn
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// isLoopback reports whether the server listens on a loopback address
// only, where the development outbox may show opening codes.
func isLoopback(addr net.Addr) bool {
	tcp, ok := addr.(*net.TCPAddr)
	return ok && tcp.IP.IsLoopback()
}

// parseShare reads a share written as a percentage ("15%") or a fraction
// ("0.15"); it must lie strictly between 0 and 1.
func parseShare(s string) (float64, error) {
	s = strings.TrimSpace(s)
	div := 1.0
	if t, ok := strings.CutSuffix(s, "%"); ok {
		s, div = strings.TrimSpace(t), 100
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, err
	}
	if v /= div; !(v > 0 && v < 1) {
		return 0, fmt.Errorf("%v is not between 0 and 1", v)
	}
	return v, nil
}
