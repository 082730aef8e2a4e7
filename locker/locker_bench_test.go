package locker_test

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	mrand "math/rand/v2"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/locker"
)

// benchLocker returns a 60-compartment locker (20 each of S, M and L) with
// half of its compartments occupied, at random but the same every run.
func benchLocker() []locker.Compartment {
	classes := make([]lokero.CompartmentClass, len(lokero.StandardCompartmentClasses))
	copy(classes, lokero.StandardCompartmentClasses)
	for i := range classes {
		classes[i].Count = 20
	}
	comps := locker.Layout(classes)
	rng := mrand.New(mrand.NewPCG(1, 2))
	for _, i := range rng.Perm(len(comps))[:len(comps)/2] {
		comps[i].Occupied = true
	}
	return comps
}

// BenchmarkAllocate is the compartment choice per deposit: one pass over a
// 60-compartment locker with half of it occupied.
func BenchmarkAllocate(b *testing.B) {
	comps := benchLocker()
	parcels := [][3]float64{{30, 20, 8}, {50, 35, 15}, {60, 38, 30}, {71, 10, 10}}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, ok := locker.Allocate(parcels[i%len(parcels)], comps); !ok && i%len(parcels) != 3 {
			b.Fatal("no compartment")
		}
	}
}

// BenchmarkCodesHash is the per-entry cost of keypad validation server-side:
// the keyed hash of the entered code, which the service then looks up among
// the locker's active codes.
func BenchmarkCodesHash(b *testing.B) {
	c, err := locker.NewCodes(testSecret)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if len(c.Hash("SMARTPOST-00100-1", "123 4567 8901")) != 32 {
			b.Fatal("bad hash")
		}
	}
}

// BenchmarkCodesNew is the cost of issuing a code from crypto/rand.
func BenchmarkCodesNew(b *testing.B) {
	c, err := locker.NewCodes(testSecret)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.New(rand.Reader, "SMARTPOST-00100-1", 11); err != nil {
			b.Fatal(err)
		}
	}
}

// benchKeypad is a keypad with some history on the day of now.
func benchKeypad(now time.Time) locker.Keypad {
	return locker.Keypad{
		Wrong:       []time.Time{now.Add(-3 * time.Minute), now.Add(-2 * time.Minute), now.Add(-time.Minute)},
		Level:       2,
		LockedUntil: now.Add(-30 * time.Minute),
		Day:         now.In(time.UTC).Format(time.DateOnly), // same date in Helsinki at noon UTC
		DayWrong:    13,
		LastLockout: now.Add(-31 * time.Minute),
	}
}

// BenchmarkKeypadCheck is the lockout check before every keypad entry.
func BenchmarkKeypadCheck(b *testing.B) {
	p := locker.DefaultPolicy()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	k := benchKeypad(now)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := p.Check(k, now); !ok {
			b.Fatal("locked")
		}
	}
}

// BenchmarkKeypadWrong is the bookkeeping of one wrong entry.
func BenchmarkKeypadWrong(b *testing.B) {
	p := locker.DefaultPolicy()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	k := benchKeypad(now)
	b.ReportAllocs()
	for b.Loop() {
		if _, lock := p.Wrong(k, now); lock != 0 {
			b.Fatal("locked")
		}
	}
}

// BenchmarkVerifierBurst is a burst of derivations from 64 goroutines (a
// deposit burst's verifiers, or many simulated keypads), each running
// when it comes ("unbounded") beside the same burst through
// locker.Derivations sized to the cores ("bounded"). Besides the wall
// time per derivation it reports the CPU time per derivation
// (cpu-ms/op), which is what contention costs:
//
//	go test ./locker -run '^$' -bench VerifierBurst -count 3
func BenchmarkVerifierBurst(b *testing.B) {
	salt := make([]byte, 16)
	for _, bc := range []struct {
		name string
		d    *locker.Derivations
	}{{"unbounded", nil}, {"bounded", locker.NewDerivations(runtime.GOMAXPROCS(0))}} {
		b.Run(bc.name, func(b *testing.B) {
			work := make(chan int)
			var wg sync.WaitGroup
			for range 64 {
				wg.Go(func() {
					for i := range work {
						if _, err := bc.d.Verifier(context.Background(), locker.DefaultKDF, strconv.Itoa(i), salt); err != nil {
							b.Error(err)
						}
					}
				})
			}
			before := cpuTime(b)
			b.ResetTimer()
			for i := 0; b.Loop(); i++ {
				work <- i
			}
			close(work)
			wg.Wait()
			b.StopTimer()
			b.ReportMetric(float64((cpuTime(b)-before).Microseconds())/1000/float64(b.N), "cpu-ms/op")
		})
	}
}

// cpuTime is the CPU time this process has used.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var r syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &r); err != nil {
		b.Fatal(err)
	}
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

// BenchmarkBesideDerivations is what derivations cost the rest of a
// process: 64 goroutines derive back to back through locker.Derivations
// (a burst of deposits' verifiers), while the benchmark's loop wakes from
// a short sleep, does about 50 µs of work (a request's step between two
// waits on the network or the database) and sleeps again. With as many
// slots as cores ("slots=cores") every core runs lanes of derivations;
// with cores ÷ lanes (KDF.Slots, "slots=cores/lanes") the same cores are
// busy, but with half the goroutines ahead of the woken one. It reports
// the step's wall time, p50 and p99 (step-p50-µs, step-p99-µs), and the
// derivations finished a second (derived/s):
//
//	go test ./locker -run '^$' -bench BesideDerivations -benchtime 400x -count 3
func BenchmarkBesideDerivations(b *testing.B) {
	salt, cores := make([]byte, 16), runtime.GOMAXPROCS(0)
	for _, bc := range []struct {
		name  string
		slots int
	}{{"slots=cores", cores}, {"slots=cores/lanes", locker.DefaultKDF.Slots(cores)}} {
		b.Run(bc.name, func(b *testing.B) {
			d := locker.NewDerivations(bc.slots)
			ctx, stop := context.WithCancel(context.Background())
			var derived atomic.Int64
			var wg sync.WaitGroup
			for i := range 64 {
				wg.Go(func() {
					for ctx.Err() == nil {
						if _, err := d.Verifier(ctx, locker.DefaultKDF, strconv.Itoa(i), salt); err == nil {
							derived.Add(1)
						}
					}
				})
			}
			time.Sleep(100 * time.Millisecond) // the derivations under way
			work, sum := make([]byte, 16<<10), [32]byte{}
			var steps []time.Duration
			start, from := time.Now(), derived.Load()
			for b.Loop() {
				time.Sleep(time.Millisecond)
				t0 := time.Now()
				for range 3 {
					sum = sha256.Sum256(append(work[:0:0], work...))
				}
				steps = append(steps, time.Since(t0))
			}
			rate := float64(derived.Load()-from) / time.Since(start).Seconds()
			stop()
			wg.Wait()
			work[0] = sum[0]
			slices.Sort(steps)
			b.ReportMetric(float64(steps[len(steps)/2].Microseconds()), "step-p50-µs")
			b.ReportMetric(float64(steps[len(steps)*99/100].Microseconds()), "step-p99-µs")
			b.ReportMetric(rate, "derived/s")
		})
	}
}
