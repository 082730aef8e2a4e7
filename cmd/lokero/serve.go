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
	"time"

	"github.com/lokero/lokero/calendar"
)

func runServe(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("serve", stderr)
	addr := fs.String("addr", envOr("LOKERO_ADDR", "127.0.0.1:8080"), "listen address (env LOKERO_ADDR)")
	db := dbFlag(fs)
	noDemo := fs.Bool("no-demo", false, "do not load the demo network into an empty database")
	reload := fs.Duration("reload", time.Minute, "how often to re-read the directory from the database (imports by other processes)")
	cutoff := fs.String("cutoff", envOr("LOKERO_CUTOFF", "16:00"), "daily handover cut-off, Europe/Helsinki: parcels handed over later count from the next weekday (env LOKERO_CUTOFF)")
	if err := parseFlags(fs, args); err != nil {
		return err
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
	log := newLogger(stderr)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	p, err := openPlatform(ctx, *db, calendar.New(cutoffTime.Hour(), cutoffTime.Minute()), log)
	if err != nil {
		ln.Close()
		return err
	}
	defer p.Close()
	dir, srv := p.dir, p.handler(log)
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

	// Health answers 503 until the directory is loaded.
	if !*noDemo {
		n, err := dir.LoadDemo(ctx)
		if err != nil {
			httpServer.Close()
			return err
		}
		if n > 0 {
			log.Info("loaded the demo network into an empty database", "locations", n)
		}
	}
	if err := dir.Reload(ctx); err != nil {
		httpServer.Close()
		return err
	}
	srv.SetReady(true)
	log.Info("ready", "locations", dir.Snapshot().Len(), "postcodes", dir.Postcodes().Len(), "url", "http://"+ln.Addr().String()+"/v1/locations?postcode=00100")

	ticker := time.NewTicker(*reload)
	defer ticker.Stop()
	for {
		select {
		case err := <-serveErr:
			return fmt.Errorf("serve: %w", err)
		case <-ticker.C:
			if err := dir.Reload(ctx); err != nil && ctx.Err() == nil {
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
