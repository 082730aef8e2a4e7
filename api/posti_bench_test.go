package api_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/api"
	"github.com/lokero/lokero/demo"
	"github.com/lokero/lokero/service"
	"github.com/lokero/lokero/sqlite"
)

// The same searches through lokero's own face and through the
// Posti-compatible one, in process (a recorder, no network), so that one
// run compares them:
//
//	go test -bench 'Search(V1|Posti)' -run '^$' ./api/
var benchSearches = []struct{ name, v1, posti string }{
	{"nearest10", "/v1/locations?lat=60.1699&lon=24.9384&limit=10", "/api/2/location?lat=60.1699&lng=24.9384&top=10"},
	{"postcode", "/v1/locations?postcode=33100&limit=10", "/api/2/location?zipCode=33100&top=10"},
}

// BenchmarkSearchV1 searches through GET /v1/locations.
func BenchmarkSearchV1(b *testing.B) {
	benchSearch(b, func(i int) string { return benchSearches[i].v1 })
}

// BenchmarkSearchPosti searches through GET /api/2/location.
func BenchmarkSearchPosti(b *testing.B) {
	benchSearch(b, func(i int) string { return benchSearches[i].posti })
}

func benchSearch(b *testing.B, path func(i int) string) {
	h := benchServer(b)
	for i, s := range benchSearches {
		b.Run(s.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, path(i), nil)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req) // warm the per-location JSON
			if rec.Code != http.StatusOK {
				b.Fatalf("%s: %d %s", path(i), rec.Code, rec.Body)
			}
			size := rec.Body.Len()
			// The recorder's body is reused, as a server's connection
			// buffer is: the figure is the handler's work, not the
			// recorder growing a fresh buffer for every answer.
			body := bytes.NewBuffer(make([]byte, 0, 2*size))
			b.ReportAllocs()
			for b.Loop() {
				body.Reset()
				rec := httptest.NewRecorder()
				rec.Body = body
				h.ServeHTTP(rec, req)
			}
			b.ReportMetric(float64(size), "bytes/answer")
		})
	}
}

var (
	benchOnce    sync.Once
	benchHandler http.Handler
	benchErr     error
)

// benchServer returns a server over the demo network in its own database
// (the test fixture takes a *testing.T).
func benchServer(b *testing.B) http.Handler {
	b.Helper()
	benchOnce.Do(func() {
		ctx := context.Background()
		st, err := sqlite.Open(ctx, filepath.Join(testTempDir, "bench.db"))
		if err != nil {
			benchErr = err
			return
		}
		reg, err := service.LoadPostcodes(ctx, st)
		if err != nil {
			benchErr = err
			return
		}
		d := service.NewDirectory(st, reg, lokero.SystemClock{}, slog.New(slog.DiscardHandler))
		locs, err := demo.Network(reg, demo.DefaultSeed)
		if err != nil {
			benchErr = err
			return
		}
		if _, err := d.Import(ctx, locs); err != nil {
			benchErr = err
			return
		}
		if benchErr = d.Reload(ctx); benchErr != nil {
			return
		}
		srv := api.New(d, st, slog.New(slog.DiscardHandler))
		srv.SetReady(true)
		// The benchmark measures the Posti face, not the per-address limit.
		limits := api.DefaultRateLimits()
		limits.Directory = api.Limit{Rate: 1e9, Burst: 1 << 30}
		srv.SetRateLimits(limits)
		benchHandler = srv
	})
	if benchErr != nil {
		b.Fatalf("set up the benchmark server: %v", benchErr)
	}
	return benchHandler
}
