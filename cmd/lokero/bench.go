package main

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/demo"
	"github.com/lokero/lokero/geo"
	"github.com/lokero/lokero/pgtest"
	"github.com/lokero/lokero/service"
)

func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: bench what? locations, http, peak or shipments", errUsage)
	}
	switch args[0] {
	case "locations":
		return benchLocations(ctx, args[1:], stdout, stderr)
	case "http":
		return benchHTTP(ctx, args[1:], stdout, stderr)
	case "peak":
		return benchPeak(ctx, args[1:], stdout, stderr)
	case "shipments":
		return benchShipments(ctx, args[1:], stdout, stderr)
	default:
		return fmt.Errorf("%w: unknown benchmark %q: locations, http, peak or shipments", errUsage, args[0])
	}
}

func benchOrigins(locs []lokero.Location, n int, seed uint64) []geo.Point {
	rng := rand.New(rand.NewPCG(seed, 7))
	out := make([]geo.Point, n)
	for i := range out {
		l := locs[rng.IntN(len(locs))]
		out[i] = geo.Point{Lat: l.Lat + rng.NormFloat64()*0.05, Lon: l.Lon + rng.NormFloat64()*0.1}
	}
	return out
}

// benchLocations measures the nearest-10 search with a type filter among
// n locations: lokero's in-memory index through the directory, against
// PostgreSQL's own nearest-neighbour search (cube + earthdistance, GiST,
// ORDER BY <-> LIMIT 10) on the same points, in the same run.
func benchLocations(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench locations", stderr)
	n := fs.Int("n", 100_000, "number of locations")
	queries := fs.Int("queries", 2000, "PostgreSQL queries to time (lokero runs 100× as many)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of lokero's queries to this file (go tool pprof)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *n < 100 || *queries < 10 {
		return fmt.Errorf("%w: --n must be at least 100 and --queries at least 10", errUsage)
	}
	// lokero: the directory over a real SQLite store.
	tmp, err := os.MkdirTemp("", "lokero-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	p, err := openPlatform(ctx, filepath.Join(tmp, "bench.db"), calendar.Default(), clock(), newLogger(io.Discard))
	if err != nil {
		return err
	}
	defer p.Close()
	dir := p.dir
	locs := demo.Synthetic(dir.Postcodes(), *n, 42)
	origins := benchOrigins(locs, 1000, 43)
	types := []lokero.LocationType{lokero.TypePostOffice}
	fmt.Fprintf(stdout, "loading %d locations…\n", *n)
	if _, err := dir.Import(ctx, slices.Clone(locs)); err != nil {
		return err
	}
	lokeroRuns := *queries * 100
	// Warm up first: the first search reads the day's capacity from the
	// store and lays it out (again each minute), which is not a query's cost.
	for _, o := range origins {
		if _, err := dir.Search(ctx, service.LocationQuery{Origin: &o, Types: types, Limit: 10}); err != nil {
			return err
		}
	}
	stopProfile, err := startCPUProfile(*cpuProfile)
	if err != nil {
		return err
	}
	start := time.Now()
	for i := range lokeroRuns {
		o := origins[i%len(origins)]
		if _, err := dir.Search(ctx, service.LocationQuery{Origin: &o, Types: types, Limit: 10}); err != nil {
			return err
		}
	}
	lokeroPer := time.Since(start) / time.Duration(lokeroRuns)
	if err := stopProfile(); err != nil {
		return err
	}
	// The limit: the k-d tree of the type's points alone, walked with no
	// filter and no answer built. The points are the directory's, in its
	// order, so this is the very tree its search walks for the type.
	var points []geo.Point
	for _, l := range dir.Snapshot().Locations() {
		if l.Type == types[0] {
			points = append(points, geo.Point{Lat: l.Lat, Lon: l.Lon})
		}
	}
	ix := geo.NewIndex(points)
	nbrs := make([]geo.Neighbor, 0, 10)
	for _, o := range origins {
		nbrs = ix.Nearest(o, 10, nil, 0, nbrs[:0])
	}
	start = time.Now()
	for i := range lokeroRuns {
		nbrs = ix.Nearest(origins[i%len(origins)], 10, nil, 0, nbrs[:0])
	}
	limitPer := time.Since(start) / time.Duration(lokeroRuns)

	// PostgreSQL: a throwaway cluster from the local install.
	fmt.Fprintln(stdout, "starting a throwaway PostgreSQL cluster…")
	cluster, err := pgtest.Start(ctx)
	if err != nil {
		return fmt.Errorf("PostgreSQL for the comparison: %w", err)
	}
	defer cluster.Stop()
	url, err := cluster.CreateDatabase(ctx)
	if err != nil {
		return err
	}
	pg, err := sql.Open("pgx", url)
	if err != nil {
		return err
	}
	defer pg.Close()
	pg.SetMaxOpenConns(1)
	if err := loadPostgresPoints(ctx, pg, locs); err != nil {
		return err
	}
	const query = `SELECT id FROM bench_points WHERE type = $3
		ORDER BY ll_to_earth(lat, lon) <-> ll_to_earth($1, $2) LIMIT 10`
	stmt, err := pg.PrepareContext(ctx, query)
	if err != nil {
		return err
	}
	defer stmt.Close()
	mismatches := 0
	start = time.Now()
	for i := range *queries {
		o := origins[i%len(origins)]
		ids, err := queryIDs(ctx, stmt, o.Lat, o.Lon, string(types[0]))
		if err != nil {
			return err
		}
		if i < len(origins) {
			res, _ := dir.Search(ctx, service.LocationQuery{Origin: &o, Types: types, Limit: 10})
			if !sameSet(ids, res) {
				mismatches++
			}
		}
	}
	pgPer := time.Since(start) / time.Duration(*queries)

	fmt.Fprintf(stdout, "\nnearest 10 POSTOFFICEs among %d locations (the type filter keeps 1 in 4), one query at a time:\n", *n)
	fmt.Fprintf(stdout, "  %-44s %12s\n", "engine", "per query")
	fmt.Fprintf(stdout, "  %-44s %12s  (%d queries)\n", "lokero in-memory index (service.Directory)", lokeroPer, lokeroRuns)
	fmt.Fprintf(stdout, "  %-44s %12s  (%d queries; lokero is %.2f× it)\n", "the limit: the type's k-d tree alone (geo)", limitPer, lokeroRuns,
		float64(lokeroPer)/float64(limitPer))
	fmt.Fprintf(stdout, "  %-44s %12s  (%d queries)\n", "PostgreSQL GiST cube/earthdistance <-> LIMIT", pgPer, *queries)
	fmt.Fprintf(stdout, "  ratio: lokero is %.0f× faster\n", float64(pgPer)/float64(lokeroPer))
	fmt.Fprintf(stdout, "  answers compared on %d origins: %d differ\n", min(*queries, len(origins)), mismatches)
	return nil
}

func loadPostgresPoints(ctx context.Context, db *sql.DB, locs []lokero.Location) error {
	stmts := []string{
		`CREATE EXTENSION IF NOT EXISTS cube`,
		`CREATE EXTENSION IF NOT EXISTS earthdistance`,
		`CREATE TABLE bench_points (id text PRIMARY KEY, type text NOT NULL, lat double precision NOT NULL, lon double precision NOT NULL)`,
	}
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	for chunk := range slices.Chunk(locs, 5000) {
		var sb strings.Builder
		sb.WriteString("INSERT INTO bench_points (id, type, lat, lon) VALUES ")
		argsList := make([]any, 0, 4*len(chunk))
		for i, l := range chunk {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, "($%d,$%d,$%d,$%d)", 4*i+1, 4*i+2, 4*i+3, 4*i+4)
			argsList = append(argsList, l.ID, string(l.Type), l.Lat, l.Lon)
		}
		if _, err := db.ExecContext(ctx, sb.String(), argsList...); err != nil {
			return fmt.Errorf("load points: %w", err)
		}
	}
	for _, s := range []string{
		`CREATE INDEX bench_points_earth ON bench_points USING gist (ll_to_earth(lat, lon))`,
		`ANALYZE bench_points`,
	} {
		if _, err := db.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	return nil
}

func queryIDs(ctx context.Context, stmt *sql.Stmt, lat, lon float64, typ string) ([]string, error) {
	rows, err := stmt.QueryContext(ctx, lat, lon, typ)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

// sameSet compares the ids of two answers, ignoring order: PostgreSQL's
// earth model is a sphere of another radius and its ties break otherwise.
func sameSet(ids []string, res []service.LocationResult) bool {
	if len(ids) != len(res) {
		return false
	}
	got := make([]string, len(res))
	for i, r := range res {
		got[i] = r.Location.ID
	}
	slices.Sort(got)
	want := slices.Clone(ids)
	slices.Sort(want)
	return slices.Equal(got, want)
}

// benchHTTP serves the demo network on a loopback port and drives it with
// a load generator in the same process: --conns connections sending GET
// /v1/locations?lat=..&lon=..&limit=10 for --duration, then each --query
// (more parameters, e.g. fits=30x20x15&available=true) for as long, and
// prints requests per second and latency percentiles of each side by side.
// The server it starts itself has a busy day booked (demo.Reserve).
func benchHTTP(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench http", stderr)
	duration := fs.Duration("duration", 10*time.Second, "how long to send each query")
	conns := fs.Int("conns", 16, "concurrent connections")
	rate := fs.Int("rate", 0, "send at this fixed rate (requests/s) and measure latency from each request's scheduled time (open loop); 0: each connection sends back to back")
	target := fs.String("url", "", "benchmark a running server at this base URL instead of starting one (e.g. http://127.0.0.1:8080)")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the plain query's run (server and load generator: one process) to this file")
	queries := []string{""}
	fs.Func("query", "also run the nearest query with these parameters added, after the plain one (repeatable; e.g. 'fits=30x20x15&available=true')", func(v string) error {
		v = strings.TrimLeft(v, "&?")
		if _, err := url.ParseQuery(v); err != nil || v == "" {
			return fmt.Errorf("not query parameters: %q", v)
		}
		queries = append(queries, v)
		return nil
	})
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *duration <= 0 || *duration > 10*time.Minute || *conns < 1 || *conns > 1000 || *rate < 0 || *rate > 1_000_000 {
		return fmt.Errorf("%w: --duration must be in (0, 10m], --conns in 1..1000 and --rate in 0..1000000", errUsage)
	}
	base := strings.TrimRight(*target, "/")
	if base == "" {
		tmp, err := os.MkdirTemp("", "lokero-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		log := newLogger(io.Discard)
		p, err := openPlatform(ctx, filepath.Join(tmp, "bench.db"), calendar.Default(), clock(), log)
		if err != nil {
			return err
		}
		defer p.Close()
		if _, err := p.loadDemo(ctx); err != nil {
			return err
		}
		date := p.dir.DeliveryDate()
		booked, err := demo.Reserve(ctx, p.store, p.dir.Snapshot().Locations(), date, 3)
		if err != nil {
			return err
		}
		served, stop, err := p.serveLoopback(log)
		if err != nil {
			return err
		}
		defer stop()
		base = served
		fmt.Fprintf(stdout, "serving the demo network (%d locations, %d compartments booked for %s) at %s\n",
			p.dir.Snapshot().Len(), booked, date, base)
	}
	mode := "back to back"
	if *rate > 0 {
		mode = fmt.Sprintf("at a fixed %d requests/s, latency from the scheduled time", *rate)
	}
	fmt.Fprintf(stdout, "GET /v1/locations?lat=..&lon=..&limit=10[&query], %d connections %s, %s each (load generator in the same process):\n",
		*conns, mode, *duration)
	fmt.Fprintf(stdout, "  %-40s %10s %8s %10s %10s %10s %10s\n", "query", "req/s", "failed", "p50", "p90", "p99", "max")
	var plain float64
	for _, query := range queries {
		profile := ""
		if query == "" {
			profile = *cpuProfile
		}
		stopProfile, err := startCPUProfile(profile)
		if err != nil {
			return err
		}
		r, err := loadLocations(ctx, base, query, *duration, *conns, *rate)
		if perr := stopProfile(); err == nil {
			err = perr
		}
		if err != nil {
			return err
		}
		name, versus := query, ""
		if name == "" {
			name, plain = "(plain)", r.perSecond
		} else if plain > 0 {
			versus = fmt.Sprintf("  (%.2f× the plain time per request)", plain/r.perSecond)
		}
		fmt.Fprintf(stdout, "  %-40s %10.0f %8d %10s %10s %10s %10s%s\n", name, r.perSecond, r.failed,
			r.pct(0.50), r.pct(0.90), r.pct(0.99), r.latencies[len(r.latencies)-1], versus)
		if *target != "" {
			continue
		}
		// The baseline: a bare net/http handler answering each of the same
		// requests with the bytes lokero answered, from a map.
		bare, stop, size, err := bareLocations(ctx, base, query)
		if err != nil {
			return err
		}
		b, err := loadLocations(ctx, bare, query, *duration, *conns, *rate)
		stop()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "  %-40s %10.0f %8d %10s %10s %10s %10s  (lokero: %.0f %% of its requests/s; answers of %d B on average)\n",
			"  bare net/http, the same bytes", b.perSecond, b.failed, b.pct(0.50), b.pct(0.90), b.pct(0.99), b.latencies[len(b.latencies)-1],
			100*r.perSecond/b.perSecond, size)
	}
	return nil
}

// bareLocations records lokero's answers at base to the requests
// loadLocations sends with query, and serves them from a bare net/http
// handler on another loopback port: the most any server could do with the
// same bytes. It returns that server's base URL, how to stop it, and the
// answers' mean size.
func bareLocations(ctx context.Context, base, query string) (string, func(), int, error) {
	answers := map[string][]byte{}
	total := 0
	for _, u := range locationURLs(base, query) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return "", nil, 0, fmt.Errorf("record %s: %w", u, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return "", nil, 0, fmt.Errorf("record %s: %d %v", u, resp.StatusCode, err)
		}
		answers[strings.TrimPrefix(u, base)] = body
		total += len(body)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, 0, err
	}
	hs := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := answers[r.URL.RequestURI()]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})}
	go hs.Serve(ln)
	return "http://" + ln.Addr().String(), func() { hs.Close() }, total / len(answers), nil
}

// locationURLs are the requests loadLocations sends: the nearest query
// (with query's parameters added) from origins spread over southern and
// central Finland, where most points are.
func locationURLs(base, query string) []string {
	rng := rand.New(rand.NewPCG(1, 2))
	urls := make([]string, 1024)
	for i := range urls {
		urls[i] = fmt.Sprintf("%s/v1/locations?lat=%.5f&lon=%.5f&limit=10", base, 60+rng.Float64()*5, 21.5+rng.Float64()*7)
		if query != "" {
			urls[i] += "&" + query
		}
	}
	return urls
}

// loadResult is what one run of the load generator measured.
type loadResult struct {
	perSecond float64
	failed    int64
	latencies []time.Duration // sorted
}

func (r loadResult) pct(p float64) time.Duration {
	return r.latencies[int(math.Min(float64(len(r.latencies)-1), p*float64(len(r.latencies))))]
}

// loadLocations sends the nearest query (with query's parameters added)
// from origins spread over southern and central Finland, where most points
// are, for duration over conns connections: back to back, or at a fixed
// rate when rate > 0.
func loadLocations(ctx context.Context, base, query string, duration time.Duration, conns, rate int) (loadResult, error) {
	urls := locationURLs(base, query)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns, DisableCompression: true}}
	defer client.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(ctx, duration)
	defer cancel()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		failures  atomic.Int64
		wg        sync.WaitGroup
	)
	start := time.Now()
	var next atomic.Int64
	for w := range conns {
		wg.Go(func() {
			local := make([]time.Duration, 0, 1<<16)
			for i := w; ctx.Err() == nil; i += conns {
				t0 := time.Now()
				if rate > 0 {
					// Open loop: request n is due at start + n/rate; its
					// latency counts from then, so a stalled server is not
					// flattered by requests that were never sent.
					n := next.Add(1) - 1
					t0 = start.Add(time.Duration(float64(n) / float64(rate) * float64(time.Second)))
					if wait := time.Until(t0); wait > 0 {
						select {
						case <-time.After(wait):
						case <-ctx.Done():
						}
					}
					if ctx.Err() != nil {
						break
					}
				}
				req, _ := http.NewRequestWithContext(ctx, http.MethodGet, urls[i%len(urls)], nil)
				resp, err := client.Do(req)
				if err != nil {
					if ctx.Err() == nil {
						failures.Add(1)
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					failures.Add(1)
					continue
				}
				local = append(local, time.Since(t0))
			}
			mu.Lock()
			latencies = append(latencies, local...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if len(latencies) == 0 {
		return loadResult{}, fmt.Errorf("no request succeeded (%d failures)", failures.Load())
	}
	slices.Sort(latencies)
	return loadResult{perSecond: float64(len(latencies)) / elapsed.Seconds(), failed: failures.Load(), latencies: latencies}, nil
}

// startCPUProfile starts a CPU profile into the file at path (none for
// ""); the func it returns stops it and closes the file.
func startCPUProfile(path string) (stop func() error, err error) {
	if path == "" {
		return func() error { return nil }, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() error {
		pprof.StopCPUProfile()
		return f.Close()
	}, nil
}
