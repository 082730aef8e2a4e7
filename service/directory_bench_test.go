package service_test

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/demo"
	"github.com/lokero/lokero/geo"
	"github.com/lokero/lokero/service"
	"github.com/lokero/lokero/sqlite"
)

var (
	bigOnce sync.Once
	bigDir  *service.Directory
	bigLocs []lokero.Location

	checkoutOnce sync.Once
	checkoutDir  *service.Directory // bigDirectory's locations with the checkout's view (BenchmarkSearch100kCheckout)
)

// bigDirectory is a directory of 100,000 synthetic locations over a real
// SQLite store, built once per benchmark binary.
func bigDirectory(b *testing.B) (*service.Directory, []lokero.Location) {
	b.Helper()
	bigOnce.Do(func() {
		bigLocs = demo.Synthetic(testRegistry(b), 100_000, 42)
		d := newDirectory(b)
		if _, err := d.Import(context.Background(), slices.Clone(bigLocs)); err != nil {
			b.Fatalf("import: %v", err)
		}
		bigDir = d
	})
	if bigDir == nil {
		b.Fatal("no directory (set-up failed earlier)")
	}
	return bigDir, bigLocs
}

func benchOrigins(locs []lokero.Location) []geo.Point {
	rng := rand.New(rand.NewPCG(7, 7))
	out := make([]geo.Point, 1024)
	for i := range out {
		l := locs[rng.IntN(len(locs))]
		out[i] = geo.Point{Lat: l.Lat + rng.NormFloat64()*0.05, Lon: l.Lon + rng.NormFloat64()*0.1}
	}
	return out
}

// BenchmarkSearch100k: nearest 10 POSTOFFICEs (a quarter of the points)
// among 100,000 locations, through the directory as the API calls it.
func BenchmarkSearch100k(b *testing.B) {
	d, locs := bigDirectory(b)
	origins := benchOrigins(locs)
	types := []lokero.LocationType{lokero.TypePostOffice}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		o := origins[i%len(origins)]
		res, err := d.Search(ctx, service.LocationQuery{Origin: &o, Types: types, Limit: 10})
		if err != nil || len(res) != 10 {
			b.Fatalf("search: %d results, %v", len(res), err)
		}
	}
}

// BenchmarkSearch100kCheckout is BenchmarkSearch100k with the checkout's
// capacity view and calendar set, as lokero's platform (the API, and
// `lokero bench locations`) runs the directory: every hit carries its
// status and its shelf places on the delivery date.
func BenchmarkSearch100kCheckout(b *testing.B) {
	_, locs := bigDirectory(b)
	checkoutOnce.Do(func() {
		ctx := context.Background()
		// The store is closed with the first run's TempDir; the view
		// read the day in the warm-up search below, and a fixed clock
		// keeps that read fresh for every later run.
		st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "checkout.db"))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { st.Close() })
		clock := fixedClock{time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
		st.SetClock(clock)
		d := service.NewDirectory(st, testRegistry(b), clock, slog.New(slog.DiscardHandler))
		if _, err := d.Import(ctx, slices.Clone(locs)); err != nil {
			b.Fatal(err)
		}
		d.SetCheckout(calendar.Default(), service.NewAvailability(st, clock, time.Hour))
		if _, err := d.Search(ctx, service.LocationQuery{Origin: &geo.Point{Lat: 60.17, Lon: 24.94}}); err != nil {
			b.Fatal(err)
		}
		checkoutDir = d
	})
	if checkoutDir == nil {
		b.Fatal("no directory (set-up failed earlier)")
	}
	d, ctx := checkoutDir, context.Background()
	origins := benchOrigins(locs)
	types := []lokero.LocationType{lokero.TypePostOffice}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		o := origins[i%len(origins)]
		res, err := d.Search(ctx, service.LocationQuery{Origin: &o, Types: types, Limit: 10})
		if err != nil || len(res) != 10 || res[0].Availability == nil {
			b.Fatalf("search: %d results, %v", len(res), err)
		}
	}
}

// BenchmarkSearch100kLinearScan is the baseline: the same query answered
// by computing every distance, as a store without a spatial index would.
func BenchmarkSearch100kLinearScan(b *testing.B) {
	_, locs := bigDirectory(b)
	origins := benchOrigins(locs)
	type hit struct {
		i int
		d float64
	}
	best := make([]hit, 0, 11)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		o := origins[i%len(origins)]
		best = best[:0]
		for j := range locs {
			if locs[j].Type != lokero.TypePostOffice {
				continue
			}
			d := geo.Distance(o, geo.Point{Lat: locs[j].Lat, Lon: locs[j].Lon})
			if len(best) == 10 && d >= best[9].d {
				continue
			}
			k, _ := slices.BinarySearchFunc(best, d, func(h hit, d float64) int {
				if h.d < d {
					return -1
				}
				return 1
			})
			best = slices.Insert(best, k, hit{j, d})
			if len(best) > 10 {
				best = best[:10]
			}
		}
	}
}

// BenchmarkSearch100kIndexLimit is the limit the directory's search is
// measured against: the same query (nearest 10 POSTOFFICEs among 100,000
// locations) answered by the k-d tree of the POSTOFFICEs alone, no filter,
// no result built — what the directory's search would cost if it did
// nothing but walk its index.
func BenchmarkSearch100kIndexLimit(b *testing.B) {
	_, locs := bigDirectory(b)
	origins := benchOrigins(locs)
	var points []geo.Point
	for _, l := range locs {
		if l.Type == lokero.TypePostOffice {
			points = append(points, geo.Point{Lat: l.Lat, Lon: l.Lon})
		}
	}
	ix := geo.NewIndex(points)
	dst := make([]geo.Neighbor, 0, 10)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if dst = ix.Nearest(origins[i%len(origins)], 10, nil, 0, dst[:0]); len(dst) != 10 {
			b.Fatalf("%d results", len(dst))
		}
	}
}
