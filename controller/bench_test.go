package controller

import (
	"context"
	"crypto/rand"
	"fmt"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lokero/lokero/locker"
)

// timedDriver notes when each Open returns.
type timedDriver struct {
	*SimDriver
	mu     sync.Mutex
	opened time.Time
}

func (d *timedDriver) Open(ctx context.Context, compartment int) error {
	err := d.SimDriver.Open(ctx, compartment)
	d.mu.Lock()
	d.opened = time.Now()
	d.mu.Unlock()
	return err
}

// BenchmarkOfflineKeypad measures an offline pickup from Keypad(valid
// code) to Driver.Open returning, with the production KDF
// (locker.DefaultKDF: argon2id, one pass, 16 MiB, 1 thread): one
// derivation, one bbolt transaction (fsync), the lock. It reports the p50
// and p99 in milliseconds, with the collector as lokero runs it (GOGC=400,
// cmd/lokero/main.go: each derivation allocates 16 MiB, and collections
// during one show in the tail) and, as the baseline, with Go's default.
func BenchmarkOfflineKeypad(b *testing.B) {
	for _, gc := range []struct {
		name    string
		percent int
	}{{"gogc=400-as-lokero", 400}, {"gogc=100-go-default", 100}} {
		b.Run(gc.name, func(b *testing.B) {
			old := debug.SetGCPercent(gc.percent)
			defer debug.SetGCPercent(old)
			benchOfflineKeypad(b)
		})
	}
}

func benchOfflineKeypad(b *testing.B) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		b.Fatal(err)
	}
	d := locker.DefaultKDF
	k := &KDF{Alg: d.Alg, Salt: salt, Time: d.Time, MemoryKiB: d.MemoryKiB, Threads: d.Threads, KeyLen: d.KeyLen}
	clock := newFakeClock()
	driver := &timedDriver{SimDriver: NewSimDriver(100)}
	c, err := Open(Config{
		LocationID: "SP-BENCH", Broker: "tcp://127.0.0.1:1", StatePath: filepath.Join(b.TempDir(), "state.db"),
		Driver: driver, Clock: clock,
	})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	codes := make([]string, b.N)
	pickups := make([]Pickup, b.N)
	deadline := clock.Now().Add(7 * 24 * time.Hour)
	for i := range codes {
		codes[i] = fmt.Sprintf("%011d", 10000000000+i*7919)
		pickups[i] = pickupFor(k, fmt.Sprintf("SH%d", i), i%100+1, codes[i], deadline, 0)
	}
	if err := c.handleCommand(syncJSON(b, clock.Now(), k, pickups...)); err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		r, err := c.Keypad(ctx, codes[i])
		if err != nil || r.Result != ResultOpen {
			b.Fatalf("Keypad(%s) = %+v, %v; want open", codes[i], r, err)
		}
		driver.mu.Lock()
		lat = append(lat, driver.opened.Sub(start))
		driver.mu.Unlock()
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}
