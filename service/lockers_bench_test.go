package service_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/locker"
	"github.com/lokero/lokero/service"
	"github.com/lokero/lokero/sqlite"
	"github.com/lokero/lokero/tracking"
)

// The figure: keypad validation p99 at 1,000 lockers with 100
// active codes each ≤ 2 ms; compartment allocation per deposit ≤ 1 ms.
// Both run on SQLite (a temp file). The 100,000 parcels are written
// straight through the store, not through Create/Handover/Deposit/
// DoorClosed, which would take minutes.

const (
	benchKeypadLockers = 1000
	benchCodesPerLock  = 100
	benchDepotLockers  = 600 // deposit benchmark: lockers of 60 compartments, half occupied
	benchDepositsPer   = 10  // deposits per locker before the next locker is used
)

// benchEnv is one SQLite store with the locker services over it.
type benchEnv struct {
	st       lockerStore
	clock    *lokero.DevClock
	dir      *service.Directory
	lockers  *service.Lockers
	codes    *locker.Codes
	retailer lokero.Retailer
	serial   int // the next tracking code serial
}

func newBenchEnv(b *testing.B, name string, locs []lokero.Location) *benchEnv {
	b.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), name+".db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	clock := lokero.NewDevClock(fixedClock{now})
	st.SetClock(clock)
	log := slog.New(slog.DiscardHandler)
	dir := service.NewDirectory(st, testRegistry(b), clock, log)
	if _, err := dir.Import(ctx, locs); err != nil {
		b.Fatalf("import: %v", err)
	}
	codes, err := locker.NewCodes([]byte(strings.Repeat("s", 32)))
	if err != nil {
		b.Fatal(err)
	}
	shipments := service.NewShipments(st, dir, calendar.Default(), clock, nil, log)
	e := &benchEnv{st: st, clock: clock, dir: dir, codes: codes,
		lockers: service.NewLockers(st, dir, calendar.Default(), clock, nil, codes, log)}
	if e.retailer, _, err = shipments.AddRetailer(ctx, "Bench Kauppa", false); err != nil {
		b.Fatal(err)
	}
	return e
}

// benchLockers are n SMARTPOSTs in the 00100 area, each with s, m and l
// compartments of the standard classes.
func benchLockers(prefix string, n, s, m, l int) []lokero.Location {
	counts := []int{s, m, l}
	out := make([]lokero.Location, n)
	for i := range out {
		classes := slices.Clone(lokero.StandardCompartmentClasses)
		for j := range classes {
			classes[j].Count = counts[j]
		}
		out[i] = lokero.Location{ID: fmt.Sprintf("%s-%04d", prefix, i), Type: lokero.TypeSmartpost,
			Name: fmt.Sprintf("Bench Smartpost %d", i), Street: fmt.Sprintf("Testikatu %d", i%200+1),
			Postcode: "00100", City: "Helsinki",
			Lat: 60.1700 + float64(i%40)*0.0005, Lon: 24.9400 + float64(i/40)*0.0005,
			Compartments: classes}
	}
	return out
}

// trackingCode returns the next valid, unique S10 tracking code.
func (e *benchEnv) trackingCode() string {
	s := fmt.Sprintf("%08d", e.serial)
	e.serial++
	c, err := tracking.CheckDigit(s)
	if err != nil {
		panic(err)
	}
	return service.TrackingPrefix + s + strconv.Itoa(c) + tracking.Country
}

// parcel returns a shipment to dest in the given status, as the store
// holds it after the real steps (one event is enough for the lookups).
func (e *benchEnv) parcel(dest string, status lokero.ShipmentStatus, p lokero.Parcel) lokero.Shipment {
	at := now.Add(-24 * time.Hour)
	req := request()
	code := e.trackingCode()
	return lokero.Shipment{ID: "shp_bench_" + code, RetailerID: e.retailer.ID, Reference: "BENCH", TrackingCode: code,
		Status: status, Sender: req.Sender, Recipient: req.Recipient, Parcel: p, DestinationID: dest,
		Routing: lokero.Routing{Rule: "pickup_point", Reason: "bench"}, DeliveryDate: lokero.Date{Year: 2026, Month: time.November, Day: 24},
		CreatedAt: at, UpdatedAt: at,
		Events: []lokero.ShipmentEvent{{Status: status, At: at, LocationID: dest, Reason: "bench"}}}
}

// fill lays out a locker's compartments and puts a READY_FOR_PICKUP parcel
// with a fresh opening code in each of the given compartment numbers. It
// returns the codes in that order.
func (e *benchEnv) fill(ctx context.Context, tx lokero.Tx, loc lokero.Location, occupied []int) ([]string, error) {
	byNumber := map[int]bool{}
	for _, n := range occupied {
		byNumber[n] = true
	}
	deadline := now.Add(7 * 24 * time.Hour)
	seen := map[string]bool{}
	var codes []string
	length := locker.DefaultPolicy().CodeLength(loc.Type)
	for _, c := range locker.Layout(loc.Compartments) {
		lc := lokero.Compartment{LocationID: loc.ID, Number: c.Number, Size: c.Size, LengthCM: c.LengthCM, WidthCM: c.WidthCM, HeightCM: c.HeightCM}
		if byNumber[c.Number] {
			code, hash, err := e.codes.New(rand.Reader, loc.ID, length)
			for err == nil && seen[code] { // unique among the locker's active codes
				code, hash, err = e.codes.New(rand.Reader, loc.ID, length)
			}
			if err != nil {
				return nil, err
			}
			seen[code] = true
			sh := e.parcel(loc.ID, lokero.StatusReadyForPickup, lokero.Parcel{LengthCM: 30, WidthCM: 20, HeightCM: 8, WeightKG: 1, Contents: lokero.ContentsGoods})
			sh.Compartment, sh.StorageDeadline, sh.OpeningCodeHash = c.Number, deadline, hash
			if err := tx.InsertShipment(ctx, &sh, "", nil); err != nil {
				return nil, err
			}
			lc.ShipmentID = sh.ID
			codes = append(codes, code)
		}
		if err := tx.PutCompartment(ctx, lc); err != nil {
			return nil, err
		}
	}
	return codes, nil
}

// timings collects per-call durations and reports p50 and p99 in ms.
type timings []time.Duration

func (t timings) report(b *testing.B) {
	b.Helper()
	if len(t) == 0 {
		return
	}
	s := slices.Clone(t)
	slices.Sort(s)
	at := func(p float64) time.Duration {
		i := int(math.Ceil(p*float64(len(s)))) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	b.ReportMetric(float64(at(0.50))/1e6, "p50-ms")
	b.ReportMetric(float64(at(0.99))/1e6, "p99-ms")
}

// BenchmarkKeypad: Lockers.Keypad at 1,000 SMARTPOSTs of 120 compartments
// with 100 active codes each (100,000 parcels READY_FOR_PICKUP), on
// SQLite. The set-up is built once, in the parent benchmark, and shared by
// the sub-benchmarks: right codes (the door opens; the parcel stays ready,
// so a code can be entered again) and wrong codes (spread over the lockers
// so that none reaches the lockout).
func BenchmarkKeypad(b *testing.B) {
	ctx := context.Background()
	start := time.Now()
	locs := benchLockers("KP", benchKeypadLockers, 40, 40, 40)
	e := newBenchEnv(b, "keypad", slices.Clone(locs))
	occupied := make([]int, benchCodesPerLock)
	for i := range occupied {
		occupied[i] = i + 1
	}
	codes := make([][]string, len(locs))
	const perTx = 100 // lockers per transaction: 10,000 parcels
	for lo := 0; lo < len(locs); lo += perTx {
		err := e.st.InTx(ctx, func(tx lokero.Tx) error {
			for i := lo; i < min(lo+perTx, len(locs)); i++ {
				cs, err := e.fill(ctx, tx, locs[i], occupied)
				if err != nil {
					return fmt.Errorf("fill %s: %w", locs[i].ID, err)
				}
				codes[i] = cs
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	devices := make([]lokero.Credential, len(locs))
	for i, l := range locs {
		d, _, err := e.lockers.AddCredential(ctx, lokero.KindDevice, "bench "+l.ID, l.ID)
		if err != nil {
			b.Fatal(err)
		}
		devices[i] = d
	}
	setup := time.Since(start)
	b.Logf("keypad set-up: %d lockers, %d parcels READY_FOR_PICKUP with codes, %d devices in %s",
		len(locs), len(locs)*benchCodesPerLock, len(devices), setup.Round(time.Millisecond))

	b.Run("right", func(b *testing.B) {
		rng := mrand.New(mrand.NewPCG(1, 2))
		durs := make(timings, 0, b.N)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			li, k := rng.IntN(len(locs)), rng.IntN(benchCodesPerLock)
			t0 := time.Now()
			res, err := e.lockers.Keypad(ctx, devices[li], locs[li].ID, codes[li][k])
			durs = append(durs, time.Since(t0))
			if err != nil || res.Result != "open" || res.Compartment != occupied[k] {
				b.Fatalf("keypad %s: %+v, %v", locs[li].ID, res, err)
			}
		}
		b.StopTimer()
		durs.report(b)
		b.ReportMetric(setup.Seconds(), "setup-s")
	})

	wrong := 0 // wrong entries so far, across rounds
	b.Run("wrong", func(b *testing.B) {
		// At most 4 wrong entries per locker within the 10-minute window
		// (the 5th locks out): past that the clock moves on 11 minutes.
		// The daily cap (20 per keypad) bounds a run to 19,000 entries.
		durs := make(timings, 0, b.N)
		b.ReportAllocs()
		b.ResetTimer()
		for range b.N {
			if wrong > 0 && wrong%(4*len(locs)) == 0 {
				e.clock.Advance(11 * time.Minute)
			}
			if wrong >= 19*len(locs) {
				b.Fatalf("more than %d wrong entries would hit the daily cap: lower -benchtime", 19*len(locs))
			}
			li := wrong % len(locs)
			wrong++
			t0 := time.Now()
			_, err := e.lockers.Keypad(ctx, devices[li], locs[li].ID, "00000000000")
			durs = append(durs, time.Since(t0))
			var le *lokero.Error
			if !asError(err, &le) || le.Reason != "wrong_code" {
				b.Fatalf("wrong code at %s: %v", locs[li].ID, err)
			}
		}
		b.StopTimer()
		durs.report(b)
	})
}

// BenchmarkKeypadHashOnly is the keypad's baseline: the keyed hash of the
// entered code alone, without the database.
func BenchmarkKeypadHashOnly(b *testing.B) {
	codes, err := locker.NewCodes([]byte(strings.Repeat("s", 32)))
	if err != nil {
		b.Fatal(err)
	}
	durs := make(timings, 0, b.N)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		t0 := time.Now()
		h := codes.Hash("KP-0000", "12345678901")
		durs = append(durs, time.Since(t0))
		if len(h) != 32 {
			b.Fatalf("hash %d: %d bytes", i, len(h))
		}
	}
	b.StopTimer()
	durs.report(b)
}

// depositParcels are the parcels couriers bring, cycled: one for each
// size class.
var depositParcels = []lokero.Parcel{
	{LengthCM: 30, WidthCM: 20, HeightCM: 8, WeightKG: 1, Contents: lokero.ContentsGoods},
	{LengthCM: 50, WidthCM: 30, HeightCM: 15, WeightKG: 3, Contents: lokero.ContentsGoods},
	{LengthCM: 60, WidthCM: 35, HeightCM: 30, WeightKG: 8, Contents: lokero.ContentsGoods},
}

// BenchmarkDeposit: Lockers.Deposit end to end (lookup by tracking code,
// the locker's compartments locked, allocation, the compartment and the
// shipment written) at SMARTPOSTs of 60 compartments (20 S, 20 M, 20 L),
// half occupied, on SQLite. Each round prepares its b.N parcels in transit
// before the timer starts, 10 per locker, so a locker is 50-67% occupied.
func BenchmarkDeposit(b *testing.B) {
	ctx := context.Background()
	start := time.Now()
	locs := benchLockers("DEP", benchDepotLockers, 20, 20, 20)
	e := newBenchEnv(b, "deposit", slices.Clone(locs))
	var occupied []int // 10 of each class: 1-10, 21-30, 41-50
	for _, base := range []int{0, 20, 40} {
		for n := 1; n <= 10; n++ {
			occupied = append(occupied, base+n)
		}
	}
	const perTx = 100
	for lo := 0; lo < len(locs); lo += perTx {
		err := e.st.InTx(ctx, func(tx lokero.Tx) error {
			for i := lo; i < min(lo+perTx, len(locs)); i++ {
				if _, err := e.fill(ctx, tx, locs[i], occupied); err != nil {
					return fmt.Errorf("fill %s: %w", locs[i].ID, err)
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	courier, _, err := e.lockers.AddCredential(ctx, lokero.KindCourier, "Bench Kuski", "")
	if err != nil {
		b.Fatal(err)
	}
	setup := time.Since(start)
	b.Logf("deposit set-up: %d lockers of 60 compartments, %d parcels in them, in %s",
		len(locs), len(locs)*len(occupied), setup.Round(time.Millisecond))

	used := 0 // deposits so far, across rounds
	b.Run("alloc", func(b *testing.B) {
		if used+b.N > len(locs)*benchDepositsPer {
			b.Fatalf("%d deposits would overfill the %d lockers: lower -benchtime", used+b.N, len(locs))
		}
		type job struct{ dest, code string }
		jobs := make([]job, b.N)
		err := e.st.InTx(ctx, func(tx lokero.Tx) error {
			for i := range jobs {
				dest := locs[(used+i)/benchDepositsPer].ID
				sh := e.parcel(dest, lokero.StatusInTransit, depositParcels[(used+i)%len(depositParcels)])
				if err := tx.InsertShipment(ctx, &sh, "", nil); err != nil {
					return err
				}
				jobs[i] = job{dest, sh.TrackingCode}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
		used += b.N
		durs := make(timings, 0, b.N)
		b.ReportAllocs()
		b.ResetTimer()
		for _, j := range jobs {
			t0 := time.Now()
			res, err := e.lockers.Deposit(ctx, courier, j.dest, j.code)
			durs = append(durs, time.Since(t0))
			if err != nil || res.Compartment.Number == 0 {
				b.Fatalf("deposit %s at %s: %+v, %v", j.code, j.dest, res.Compartment, err)
			}
		}
		b.StopTimer()
		durs.report(b)
		b.ReportMetric(setup.Seconds(), "setup-s")
	})
}
