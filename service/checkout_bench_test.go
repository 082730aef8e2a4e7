package service_test

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/demo"
	"github.com/lokero/lokero/geo"
	"github.com/lokero/lokero/service"
	"github.com/lokero/lokero/sqlite"
)

// BenchmarkCheckoutSearch: the nearest 10 over the demo network (8,350
// points) with realistic reservations for the delivery date (every locker
// 0-100 % booked per class, a tenth of them full in S), plain as the
// foundation issue's query and with fits=30x20x15&available=true (lockers
// and outlets; and SMARTPOSTs only), in the same run. The availability is the in-memory view a checkout search
// reads (fresh: no booking between the searches).
func BenchmarkCheckoutSearch(b *testing.B) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "bench.db"))
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	clock := fixedClock{time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	st.SetClock(clock)
	reg := testRegistry(b)
	dir := service.NewDirectory(st, reg, clock, slog.New(slog.DiscardHandler))
	locs, err := demo.Network(reg, 1)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := dir.Import(ctx, locs); err != nil {
		b.Fatal(err)
	}
	cal := calendar.Default()
	dir.SetCheckout(cal, service.NewAvailability(st, clock, time.Hour))
	date := dir.DeliveryDate()
	reserved, err := demo.Reserve(ctx, st, dir.Snapshot().Locations(), date, 3)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(3, 3))
	b.Logf("%d reservations on %s", reserved, date)
	origins := make([]geo.Point, 1024)
	for i := range origins {
		l := locs[rng.IntN(len(locs))]
		origins[i] = geo.Point{Lat: l.Lat + rng.NormFloat64()*0.02, Lon: l.Lon + rng.NormFloat64()*0.04}
	}
	fits := [3]float64{30, 20, 15}
	for _, bc := range []struct {
		name string
		q    service.LocationQuery
	}{
		{"plain", service.LocationQuery{Limit: 10}},
		{"fits_available", service.LocationQuery{Limit: 10, Fits: &fits, Available: true}},
		// The lockers alone, as fits_available was before outlets had
		// limits and shelves: the locker path, on the SMARTPOST index.
		{"fits_available_smartposts", service.LocationQuery{Limit: 10, Fits: &fits, Available: true, Types: []lokero.LocationType{lokero.TypeSmartpost}}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				q := bc.q
				q.Origin = &origins[i%len(origins)]
				res, err := dir.Search(ctx, q)
				if err != nil || len(res) != 10 {
					b.Fatalf("search: %d results, %v", len(res), err)
				}
			}
		})
	}
	// A search right after a booking in this process: the view reads again
	// the one locker booked and lays out a copy of the day's table.
	var lockers []string
	for _, l := range locs {
		if l.Type.IsLocker() {
			lockers = append(lockers, l.ID)
		}
	}
	b.Run("plain_after_a_booking", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; b.Loop(); i++ {
			dir.Availability().Changed(lockers[i%len(lockers)])
			q := service.LocationQuery{Limit: 10, Origin: &origins[i%len(origins)]}
			if res, err := dir.Search(ctx, q); err != nil || len(res) != 10 {
				b.Fatalf("search: %d results, %v", len(res), err)
			}
		}
	})
	// What the view costs when it reads the whole day again: every second
	// (PostgreSQL) or minute (SQLite), for other instances' bookings.
	b.Run("reload_day", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := st.ReservedOn(ctx, date); err != nil {
				b.Fatal(err)
			}
		}
	})
}
