package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/demo"
	"github.com/lokero/lokero/pgtest"
	"github.com/lokero/lokero/postcode"
	"github.com/lokero/lokero/postgres"
	"github.com/lokero/lokero/service"
	"github.com/lokero/lokero/sqlite"
)

// benchShipments creates shipments through the HTTP API with concurrent
// clients, against a fresh SQLite database and a throwaway PostgreSQL
// cluster in the same run, and prints shipments/s, latency and the CPU
// time and memory a shipment costs; with --lockers, once for each size of
// network (the cost per parcel as the network grows).
func benchShipments(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench shipments", stderr)
	n := fs.Int("n", 10_000, "shipments to create on each database")
	conns := fs.Int("conns", 8, "concurrent clients")
	skipPG := fs.Bool("sqlite-only", false, "skip PostgreSQL")
	sizes := fs.String("lockers", "", "comma-separated network sizes: run once for each, with that many synthetic SMARTPOSTs beside the demo network (e.g. 1000,10000,100000)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of each database's run (server and load generator: one process) to this file with .sqlite or .postgres after its name")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *n < 10 || *n > 1_000_000 || *conns < 1 || *conns > 256 {
		return fmt.Errorf("%w: --n must be 10..1000000 and --conns 1..256", errUsage)
	}
	extra := []int{0}
	if *sizes != "" {
		extra = extra[:0]
		for f := range strings.SplitSeq(*sizes, ",") {
			k, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || k < 0 || k > 1_000_000 {
				return fmt.Errorf("%w: --lockers %q: each size must be a number of lockers, 0..1000000", errUsage, *sizes)
			}
			extra = append(extra, k)
		}
	}
	tmp, err := os.MkdirTemp("", "lokero-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)

	type target struct {
		name, short string
		open        func(run int) (store, error)
	}
	targets := []target{{"SQLite (WAL, one file)", "sqlite", func(run int) (store, error) {
		return sqlite.Open(ctx, filepath.Join(tmp, fmt.Sprintf("bench-%d.db", run)))
	}}}
	if !*skipPG {
		targets = append(targets, target{"PostgreSQL 15 (local, one cluster)", "postgres", func(int) (store, error) {
			cluster, err := pgtest.Start(ctx)
			if err != nil {
				return nil, fmt.Errorf("PostgreSQL for the comparison: %w", err)
			}
			url, err := cluster.CreateDatabase(ctx)
			if err != nil {
				cluster.Stop()
				return nil, err
			}
			st, err := postgres.Open(ctx, url)
			if err != nil {
				cluster.Stop()
				return nil, err
			}
			return stopWith{st, cluster}, nil
		}})
	}
	results := make([]string, 0, len(targets)*len(extra))
	for run, lockers := range extra {
		for _, tg := range targets {
			fmt.Fprintf(stdout, "%s: loading the demo network and %d synthetic SMARTPOSTs…\n", tg.name, lockers)
			st, err := tg.open(run)
			if err != nil {
				return err
			}
			profile := ""
			if *cpuProfile != "" {
				profile = fmt.Sprintf("%s.%s", *cpuProfile, tg.short)
				if len(extra) > 1 {
					profile += fmt.Sprintf(".%d", lockers)
				}
			}
			line, err := runShipmentLoad(ctx, st, *n, *conns, lockers, profile)
			st.Close()
			if err != nil {
				return fmt.Errorf("%s: %w", tg.name, err)
			}
			name := tg.name
			if len(extra) > 1 {
				name = fmt.Sprintf("%s, +%d", tg.short, lockers)
			}
			results = append(results, fmt.Sprintf("  %-36s %s", name, line))
		}
	}
	fmt.Fprintf(stdout, "\nPOST /v1/shipments, %d shipments, %d concurrent clients, load generator in the same process (its CPU counted with lokero's; a database server's own after it):\n", *n, *conns)
	for _, r := range results {
		fmt.Fprintln(stdout, r)
	}
	return nil
}

// stopWith closes a store and then stops the cluster it lives on.
type stopWith struct {
	*postgres.DB
	cluster *pgtest.Cluster
}

func (s stopWith) Close() error {
	err := s.DB.Close()
	s.cluster.Stop()
	return err
}

// ServerCPU is the CPU time the cluster's processes (the postmaster and
// its backends) have used.
func (s stopWith) ServerCPU() time.Duration { return procTreeCPU(s.cluster.PID()) }

// runShipmentLoad creates n shipments through the HTTP API of a server on
// st with the demo network and lockers synthetic SMARTPOSTs, and returns
// the figures' line.
func runShipmentLoad(ctx context.Context, st store, n, conns, lockers int, cpuProfile string) (string, error) {
	log := newLogger(io.Discard)
	p, err := newPlatform(ctx, st, calendar.Default(), clock(), log)
	if err != nil {
		return "", err
	}
	if _, err := p.loadDemo(ctx); err != nil {
		return "", err
	}
	if lockers > 0 {
		// SMARTPOSTs with the middle of the demo's mix (20–40 S, 10–20 M,
		// 4–10 L).
		mix := slices.Clone(lokero.StandardCompartmentClasses)
		mix[0].Count, mix[1].Count, mix[2].Count = 30, 15, 7
		locs := demo.Synthetic(p.dir.Postcodes(), lockers, 42)
		for i := range locs {
			locs[i].Type, locs[i].Compartments = lokero.TypeSmartpost, mix
			locs[i].PaymentTerminal, locs[i].MaxParcel, locs[i].ShelfCapacity = false, lokero.ParcelLimit{}, 0
			locs[i].Normalize()
		}
		if _, err := p.dir.Import(ctx, locs); err != nil {
			return "", fmt.Errorf("synthetic lockers: %w", err)
		}
	}
	_, apiKey, err := p.shipments.AddRetailer(ctx, "Bench Oy", true)
	if err != nil {
		return "", err
	}
	// The bench retailer is the whole network's only sender: its share of
	// each locker is all of it.
	if err := p.shipments.SetRetailerShare(1); err != nil {
		return "", err
	}
	base, stop, err := p.serveLoopback(log)
	if err != nil {
		return "", err
	}
	defer stop()
	url := base + "/v1/shipments"

	bodyOf := shipmentBodies(p.dir.Snapshot(), p.dir.Postcodes().All)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
	// Untimed first: n/10 bookings (at most 1,000), one at a time, then
	// PostgreSQL's statistics gathered as autovacuum gathers them once a
	// table has grown. On fresh tables the planner has none: after an
	// ANALYZE of the empty tables it looked up idempotency keys by a scan
	// of every shipment (3–4 ms each by a few thousand), without one it
	// guessed, and runs of one build came out at 500 or 1,500 shipments/s
	// by when autovacuum happened to pass. A running platform has both.
	// booking is the i-th request, under an idempotency key.
	booking := func(i int, key string) *http.Request {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(bodyOf(i)))
		req.Header.Set("Authorization", "Bearer "+apiKey)
		req.Header.Set("Idempotency-Key", key)
		return req
	}
	for i := range min(1000, n/10) {
		resp, err := client.Do(booking(n+i, fmt.Sprintf("warm-%d", i)))
		if err != nil {
			return "", fmt.Errorf("warm-up: %w", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	if st.Dialect().Name() == "postgres" {
		if _, err := st.SQL().ExecContext(ctx, "ANALYZE"); err != nil {
			return "", fmt.Errorf("analyze: %w", err)
		}
	}
	stopProfile, err := startCPUProfile(cpuProfile)
	if err != nil {
		return "", err
	}
	defer stopProfile()
	// A database in processes of its own (PostgreSQL) has its CPU counted
	// apart: lokero's and the load generator's alone would hide where a
	// booking's cost is.
	serverCPU := func() time.Duration { return 0 }
	if sv, ok := st.(interface{ ServerCPU() time.Duration }); ok {
		serverCPU = sv.ServerCPU
	}
	cpuBefore, serverBefore := processCPU(), serverCPU()
	var (
		next      atomic.Int64
		refused   atomic.Int64
		failed    atomic.Int64
		mu        sync.Mutex
		latencies []time.Duration
		wg        sync.WaitGroup
		firstErr  atomic.Value
	)
	start := time.Now()
	for range conns {
		wg.Go(func() {
			local := make([]time.Duration, 0, n/conns+1)
			for {
				i := int(next.Add(1)) - 1
				if i >= n || ctx.Err() != nil {
					break
				}
				req := booking(i, fmt.Sprintf("bench-%d", i))
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				switch {
				case resp.StatusCode == http.StatusCreated:
					local = append(local, time.Since(t0))
				case resp.StatusCode == http.StatusUnprocessableEntity:
					refused.Add(1) // a rule refused it (e.g. every locker near it full): answered, not failed
				default:
					failed.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%d %s", resp.StatusCode, body))
				}
			}
			mu.Lock()
			latencies = append(latencies, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu, dbCPU := processCPU()-cpuBefore, serverCPU()-serverBefore
	rss, _ := procMemory()
	if failed.Load() > 0 {
		return "", fmt.Errorf("%d requests failed; first: %v", failed.Load(), firstErr.Load())
	}
	if len(latencies) == 0 {
		return "", fmt.Errorf("no shipment was created (%d refused)", refused.Load())
	}
	slices.Sort(latencies)
	pct := func(p float64) time.Duration { return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))] }
	perShipment := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) / float64(n) }
	database := ""
	if dbCPU > 0 {
		database = fmt.Sprintf(" + database %.2f", perShipment(dbCPU))
	}
	return fmt.Sprintf("%6.0f shipments/s  p50 %-10s p99 %-10s CPU %.2f%s ms/shipment  RSS %d MiB  (%d created, %d refused by rules, %s)",
		float64(len(latencies))/elapsed.Seconds(), pct(0.5).Round(time.Microsecond), pct(0.99).Round(time.Microsecond),
		perShipment(cpu), database, rss>>20,
		len(latencies), refused.Load(), elapsed.Round(time.Millisecond)), nil
}

// shipmentBodies makes realistic requests: four in five to recipients in
// ordinary postal areas all over Finland (routed to the nearest pickup
// point), one in five to residents of demo buildings with a LOCKER.
// Each is made when asked for (bodyOf(i), the same for the same i), so that
// a million of them take no memory the server's figure would count.
func shipmentBodies(snap *service.Snapshot, areas func() []postcode.Info) (bodyOf func(i int) []byte) {
	var lockers []*lokero.Location
	for i, l := range snap.Locations() {
		if l.Type == lokero.TypeLocker {
			lockers = append(lockers, &snap.Locations()[i])
		}
	}
	var codes []string
	for _, info := range areas() {
		if info.Kind == lokero.PostcodeArea && info.HasPoint {
			codes = append(codes, info.Code)
		}
	}
	return func(i int) []byte {
		rng := rand.New(rand.NewPCG(11, uint64(i)))
		street, code := fmt.Sprintf("Koivukuja %d", 1+rng.IntN(40)), codes[rng.IntN(len(codes))]
		if i%5 == 0 && len(lockers) > 0 {
			l := lockers[rng.IntN(len(lockers))]
			street, code = l.Street+" A "+fmt.Sprint(1+rng.IntN(30)), l.Postcode
		}
		body := map[string]any{
			"reference": fmt.Sprintf("BENCH-%d", i),
			"sender":    map[string]any{"name": "Bench Oy", "street": "Tyynenmerenkatu 11", "postcode": "00220", "city": "Helsinki"},
			"recipient": map[string]any{"name": "Testi Vastaanottaja", "street": street, "postcode": code, "city": "Kaupunki",
				"phone": fmt.Sprintf("040%07d", rng.IntN(10_000_000)), "email": "vastaanottaja@example.fi"},
			"parcel": map[string]any{"length_cm": 10 + rng.IntN(50), "width_cm": 10 + rng.IntN(25), "height_cm": 5 + rng.IntN(30),
				"weight_kg": 0.2 + rng.Float64()*10, "contents": "goods"},
		}
		b, _ := json.Marshal(body)
		return b
	}
}

// processCPU is the CPU time this process has used, user and system.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
