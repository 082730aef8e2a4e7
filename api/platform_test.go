package api_test

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/demo"
	"github.com/lokero/lokero/locker"
	"github.com/lokero/lokero/service"
	"github.com/lokero/lokero/sqlite"
)

// demoPlatform is the platform behind the API for the tests that need
// all of it: a SQLite store of its own over the demo network, a test
// clock at fixedClock's weekday, and the shipment and locker services.
type demoPlatform struct {
	st        *sqlite.DB
	dir       *service.Directory
	clock     *lokero.DevClock
	shipments *service.Shipments
	lockers   *service.Lockers
	log       *slog.Logger
}

// newDemoPlatform opens the platform in a temporary directory; the store
// is closed when the test ends.
func newDemoPlatform(t *testing.T) demoPlatform {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "lokero.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.DiscardHandler)
	clock := lokero.NewDevClock(fixedClock{})
	st.SetClock(clock)
	reg, err := service.LoadPostcodes(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	dir := service.NewDirectory(st, reg, clock, log)
	locs, err := demo.Network(reg, demo.DefaultSeed)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dir.Import(ctx, locs); err != nil {
		t.Fatal(err)
	}
	if err := dir.Reload(ctx); err != nil {
		t.Fatal(err)
	}
	codes, err := locker.NewCodes([]byte(strings.Repeat("k", 32)))
	if err != nil {
		t.Fatal(err)
	}
	return demoPlatform{st: st, dir: dir, clock: clock, log: log,
		shipments: service.NewShipments(st, dir, calendar.Default(), clock, nil, log),
		lockers:   service.NewLockers(st, dir, calendar.Default(), clock, nil, codes, log)}
}
