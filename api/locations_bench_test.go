package api_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/api"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/demo"
	"github.com/lokero/lokero/service"
	"github.com/lokero/lokero/sqlite"
)

// BenchmarkLocationsHandler is what `lokero bench http` asks of the server,
// in process and without the network: the nearest ten from origins spread
// over southern and central Finland, through the whole middleware chain
// (Server.ServeHTTP), over the demo network with its checkout's capacity
// view and a third of its compartments booked, rate limits off. Profile it
// with
//
//	go test -run '^$' -bench LocationsHandler -cpuprofile /tmp/cpu.prof ./api/
func BenchmarkLocationsHandler(b *testing.B) {
	h := checkoutServer(b)
	rng := rand.New(rand.NewPCG(1, 2))
	reqs := make([]*http.Request, 1024)
	for i := range reqs {
		reqs[i] = httptest.NewRequest(http.MethodGet, fmt.Sprintf("/v1/locations?lat=%.5f&lon=%.5f&limit=10",
			60+rng.Float64()*5, 21.5+rng.Float64()*7), nil)
		reqs[i].RemoteAddr = "127.0.0.1:40000"
	}
	size := 0
	for _, req := range reqs { // warm the per-location JSON
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("%s: %d %s", req.URL, rec.Code, rec.Body)
		}
		size += rec.Body.Len()
	}
	// The recorder's body is reused, as a server's connection buffer is.
	body := bytes.NewBuffer(make([]byte, 0, 4*size/len(reqs)))
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		body.Reset()
		rec := httptest.NewRecorder()
		rec.Body = body
		h.ServeHTTP(rec, reqs[i%len(reqs)])
		i++
	}
	b.ReportMetric(float64(size/len(reqs)), "bytes/answer")
}

var (
	checkoutOnce    sync.Once
	checkoutHandler http.Handler
	checkoutErr     error
)

// checkoutServer returns a server as `lokero bench http` runs one: the demo
// network with the checkout's capacity view, compartments booked for the
// delivery date, no rate limits.
func checkoutServer(b *testing.B) http.Handler {
	b.Helper()
	checkoutOnce.Do(func() {
		ctx := context.Background()
		st, err := sqlite.Open(ctx, filepath.Join(testTempDir, "checkout-bench.db"))
		if err != nil {
			checkoutErr = err
			return
		}
		reg, err := service.LoadPostcodes(ctx, st)
		if err != nil {
			checkoutErr = err
			return
		}
		clk := lokero.SystemClock{}
		d := service.NewDirectory(st, reg, clk, slog.New(slog.DiscardHandler))
		d.SetCheckout(calendar.Default(), service.NewAvailability(st, clk, time.Minute))
		locs, err := demo.Network(reg, demo.DefaultSeed)
		if err != nil {
			checkoutErr = err
			return
		}
		if _, err := d.Import(ctx, locs); err != nil {
			checkoutErr = err
			return
		}
		if checkoutErr = d.Reload(ctx); checkoutErr != nil {
			return
		}
		if _, checkoutErr = demo.Reserve(ctx, st, d.Snapshot().Locations(), d.DeliveryDate(), 3); checkoutErr != nil {
			return
		}
		srv := api.New(d, st, slog.New(slog.DiscardHandler))
		srv.SetReady(true)
		srv.SetRateLimits(api.RateLimits{})
		checkoutHandler = srv
	})
	if checkoutErr != nil {
		b.Fatalf("set up the benchmark server: %v", checkoutErr)
	}
	return checkoutHandler
}
