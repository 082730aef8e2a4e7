package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
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
	"github.com/lokero/lokero/controller"
	"github.com/lokero/lokero/geo"
	"github.com/lokero/lokero/mqtttest"
	"github.com/lokero/lokero/occupancy"
	"github.com/lokero/lokero/pgtest"
	"github.com/lokero/lokero/postcode"
	"github.com/lokero/lokero/service"
)

// benchPeak: `lokero bench peak`, a peak period in compressed time through
// the real server. It starts `lokero serve --dev` in this process on a
// fresh database (SQLite; the embedded MQTT broker), writes --lockers
// SMARTPOSTs with --compartments each and runs a controller per locker
// (the device protocol's, as `lokero sim` does), and then lives --days of
// bookings shaped like a peak week and every parcel's life after them, a
// day at a time on the server's test clock: each morning the shoppers'
// bookings (each choosing among the lockers nearest their home, weighted
// by distance), the couriers' handovers, the day's deliveries (deposit
// over HTTP, the door opened by the controller on the centre's command,
// shut on the simulated board: the notice of arrival queued), the day's
// pickups (the code from the local outbox typed at the locker's keypad,
// after a dwell drawn from a realistic distribution; some never come) and
// the couriers' collection of the expired parcels. At the end it prints
// parcels/s, p50 and p99 of each operation, the process's resident
// memory, the database's size and the turn-aways at booking and at the
// door, and checks that every parcel ended in the one state its life led
// to and that no compartment held two parcels at once; anything wrong
// exits 1.
func benchPeak(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench peak", stderr)
	var o peakOptions
	fs.IntVar(&o.lockers, "lockers", 200, "SMARTPOSTs in the network (SIM-000001…), each with a controller over MQTT")
	fs.IntVar(&o.compartments, "compartments", 0, "compartments of each locker (default: the peak day's parcels per locker × 1.5, at least 4)")
	fs.IntVar(&o.parcels, "parcels", 4000, "parcels booked over the peak")
	fs.IntVar(&o.days, "days", 5, "days of bookings (shaped like a peak week); the parcels' lives go on for the storage period after")
	fs.IntVar(&o.conns, "conns", 16, "concurrent clients (shoppers' checkouts, couriers, recipients)")
	never := fs.String("never", "3%", "the share of recipients who never come: their parcels expire and go back")
	fs.Float64Var(&o.margin, "margin", service.DefaultMargin, "the server's --capacity-margin")
	fs.BoolVar(&o.dispatch, "dispatch-check", true, "each simulated evening at 20:00, the server's check of the next delivery day's bookings against what the lockers hold (serve --dispatch-check); false: the door decides")
	fs.StringVar(&o.mix, "mix", mixOne, "the lockers' compartments and the parcels' sizes: one (every compartment M, every parcel 30×20×10 cm) or demo (S, M and L as the demo network's SMARTPOSTs have them, 58, 29 and 13 %, and the parcels drawn to match: 58 % fit S, 29 % need M, 13 % need L)")
	fs.StringVar(&o.network, "network", "national", "where the lockers stand: national (around postal areas all over Finland, as lokero sim places them) or town (two around each of the postal areas nearest Helsinki's centre, a few hundred metres apart, the shoppers' homes among them)")
	fs.BoolVar(&o.postgres, "postgres", false, "run the server on a throwaway PostgreSQL cluster (the local install) instead of SQLite")
	fs.IntVar(&o.instances, "instances", 1, "lokero serve processes on one database and one Mosquitto (the local install), the requests spread over them; above 1 needs --postgres")
	fs.Uint64Var(&o.seed, "seed", 1, "the seed of the lockers' places and the shoppers' choices")
	fs.BoolVar(&o.waitBoards, "wait-for-boards", true, "before each day's pickups, wait until the simulated boards have derived the verifiers of the codes the day's deposits sent them: a real board derives its own in the hours before a recipient comes, where here 200 boards share this machine's cores and the recipients come seconds after the courier; false: the recipients come at once")
	fs.StringVar(&o.boardDir, "board-dir", "", "where the simulated controllers keep their state files, a directory made in it (default: /dev/shm, memory, where it has 256 KiB free a locker: each real board has storage of its own, and 200 boards' fsyncs queued on the bench's one disk cost up to a fifth of its lives a second; else the temporary directory)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "give up after this long")
	fs.StringVar(&o.cpuProfile, "cpuprofile", "", "write a CPU profile of the simulated days to this file (this process: with one instance, the server, the broker, the controllers and the bench)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var err error
	if o.never, err = simShare(*never); err != nil {
		return fmt.Errorf("%w: --never: %v", errUsage, err)
	}
	switch {
	case o.lockers < 2 || o.lockers > 100_000:
		return fmt.Errorf("%w: --lockers must be 2..100000; got %d", errUsage, o.lockers)
	case o.parcels < 1 || o.parcels > 10_000_000:
		return fmt.Errorf("%w: --parcels must be 1..10000000; got %d", errUsage, o.parcels)
	case o.days < 1 || o.days > 60:
		return fmt.Errorf("%w: --days must be 1..60; got %d", errUsage, o.days)
	case o.conns < 1 || o.conns > 512:
		return fmt.Errorf("%w: --conns must be 1..512; got %d", errUsage, o.conns)
	case o.compartments < 0 || o.compartments > 500:
		return fmt.Errorf("%w: --compartments must be 0..500; got %d", errUsage, o.compartments)
	case o.instances < 1 || o.instances > 16:
		return fmt.Errorf("%w: --instances must be 1..16; got %d", errUsage, o.instances)
	case o.instances > 1 && !o.postgres:
		return fmt.Errorf("%w: --instances %d needs --postgres: instances share one PostgreSQL database (a SQLite file is one process's)", errUsage, o.instances)
	case o.mix != mixOne && o.mix != mixDemo:
		return fmt.Errorf("%w: --mix must be one or demo; got %q", errUsage, o.mix)
	case o.mix == mixDemo && o.compartments > 0 && o.compartments < 3:
		return fmt.Errorf("%w: --mix demo needs --compartments 3 or more (one of each size); got %d", errUsage, o.compartments)
	case o.network != "national" && o.network != "town":
		return fmt.Errorf("%w: --network must be national or town; got %q", errUsage, o.network)
	}
	shape := peakShape(o.days)
	if o.compartments == 0 {
		peakDay := slices.Max(shape) * float64(o.parcels)
		o.compartments = max(4, int(math.Ceil(1.5*peakDay/float64(o.lockers))))
	}
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	tmp, err := os.MkdirTemp("", "lokero-peak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	boards, err := boardsDir(o.boardDir, tmp, o.lockers)
	if err != nil {
		return err
	}
	defer os.RemoveAll(boards)
	db, extra, secretFile := filepath.Join(tmp, "peak.db"), []string(nil), ""
	pgPID := 0 // PostgreSQL's postmaster, with --postgres
	if o.postgres {
		// A throwaway cluster from the local PostgreSQL install, and the
		// one secret its instances share.
		cluster, err := pgtest.Start(ctx)
		if err != nil {
			return fmt.Errorf("bench peak: PostgreSQL: %w", err)
		}
		defer cluster.Stop()
		pgPID = cluster.PID()
		if db, err = cluster.CreateDatabase(ctx); err != nil {
			return fmt.Errorf("bench peak: PostgreSQL: %w", err)
		}
		secret := filepath.Join(tmp, "code-secret")
		if err := os.WriteFile(secret, []byte(strings.Repeat("5a", 32)), 0o600); err != nil {
			return err
		}
		extra, secretFile = []string{"--code-secret-file", secret}, secret
	}
	check := "off"
	if o.dispatch {
		check = "20:00"
	}
	extra = append(extra, "--dispatch-check", check)
	inbox, err := startPeakInbox()
	if err != nil {
		return fmt.Errorf("bench peak: the recipients' inbox: %w", err)
	}
	defer inbox.close()
	extra = append(extra, inbox.serveFlags()...)
	var (
		base, broker string
		bases        []string
		servers      []*peakInstance // with --instances above 1
		logs         []*syncBuffer   // each server's
		mosq         *mqtttest.Mosquitto
		mosqDir      = filepath.Join(tmp, "mosquitto")
	)
	if o.instances == 1 {
		var (
			serverLog *syncBuffer
			stop      func()
		)
		if base, broker, serverLog, stop, err = peakServe(ctx, db, o.margin, extra, stderr); err != nil {
			return err
		}
		defer stop()
		bases, logs = []string{base}, []*syncBuffer{serverLog}
	} else {
		var centrePass string
		if mosq, centrePass, err = startPeakMosquitto(mosqDir); err != nil {
			return err
		}
		defer mosq.Stop()
		args := append([]string{"--db", db, "--mqtt", "tcp://" + centreUser + ":" + centrePass + "@" + mosq.CentreAddr, "--mqtt-listen", "off"},
			peakServeFlags(o.margin)...)
		var stop func()
		if servers, stop, err = startPeakInstances(ctx, o.instances, append(args, extra...)); err != nil {
			return err
		}
		defer stop()
		for _, in := range servers {
			bases, logs = append(bases, in.base), append(logs, in.log)
		}
		base, broker = bases[0], "tcp://"+mosq.Addr
	}

	s := &sim{o: simOptions{url: base, broker: broker, db: db, secretFile: secretFile, lockers: o.lockers, parcels: o.parcels, compartments: o.compartments, mix: o.mix,
		// The credentials live a year: the test clock runs weeks on.
		first: 1, rate: float64(o.conns) * 20, validFor: 365 * 24 * time.Hour, wait: 2 * time.Minute, resendAfter: controller.DefaultResendAfter,
		progress: 2 * time.Second, seed: o.seed, stateDir: boards},
		out: stdout, log: &simWriter{w: stderr}, http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
			MaxIdleConns: 2 * o.conns, MaxIdleConnsPerHost: 2 * o.conns, IdleConnTimeout: 30 * time.Second}}}
	s.codes.waiting = map[string]chan string{}
	if err := os.MkdirAll(s.o.stateDir, 0o700); err != nil {
		return err
	}
	s.bases = bases
	if err := s.setup(ctx); err != nil {
		return err
	}
	if mosq != nil {
		if err := provisionPeakLockers(mosq, mosqDir, s.lockers); err != nil {
			return err
		}
	}
	if o.network == "town" {
		if err := townNetwork(ctx, s); err != nil {
			return err
		}
	}
	if err := s.waitDirectory(ctx); err != nil {
		return err
	}
	stopFleet, err := s.startFleet(ctx)
	defer stopFleet()
	if err != nil {
		return err
	}
	pk := &peak{sim: s, o: o, shape: shape, db: db, ops: map[string]*peakOp{}, serverLogs: logs, servers: servers, pgPID: pgPID, inbox: inbox}
	return pk.run(ctx)
}

// peakOptions are the flags of `lokero bench peak`.
type peakOptions struct {
	lockers, compartments, parcels, days, conns, instances int
	never, margin                                          float64
	network                                                string // national or town
	mix                                                    string // mixOne or mixDemo
	postgres, dispatch, waitBoards                         bool
	seed                                                   uint64
	timeout                                                time.Duration
	cpuProfile                                             string // --cpuprofile
	boardDir                                               string // --board-dir
}

// boardsDir makes the directory of the simulated controllers' state
// files: in dir when given, else in /dev/shm where it is a directory with
// room for n boards (boardRoom each), else in tmp.
func boardsDir(dir, tmp string, n int) (string, error) {
	if dir == "" {
		dir = tmp
		var st syscall.Statfs_t
		if err := syscall.Statfs("/dev/shm", &st); err == nil && st.Bavail*uint64(st.Bsize) >= uint64(n)*boardRoom {
			dir = "/dev/shm"
		}
	}
	boards, err := os.MkdirTemp(dir, "lokero-peak-boards-")
	if err != nil {
		return "", fmt.Errorf("bench peak: --board-dir: %w", err)
	}
	return boards, nil
}

// boardRoom is the room a simulated board's state file is given in
// /dev/shm: about six times what one held on average in a peak week (40
// KiB), so that a small /dev/shm (a container's 64 MiB) sends a large
// network's boards to the disk rather than filling it.
const boardRoom = 256 << 10

// helsinkiCentre is where a town network is centred (Helsinki's railway
// station).
var helsinkiCentre = geo.Point{Lat: 60.1710, Lon: 24.9414}

// townNetwork moves the sim's lockers (written by setup) into a town, as
// dense as a real network is there: two lockers around each of the postal
// areas nearest Helsinki's centre (the area's point, from the registry),
// each within a few hundred metres of it, so that a locker's nearest
// others are a few hundred metres to a kilometre or two away. It imports
// them again and waits until the server's directory has the last one's
// new place.
func townNetwork(ctx context.Context, s *sim) error {
	p, err := openPlatform(ctx, s.o.db, calendar.Default(), clock(), newLogger(io.Discard))
	if err != nil {
		return fmt.Errorf("bench peak: town network: %w", err)
	}
	defer p.Close()
	if err := p.dir.Reload(ctx); err != nil {
		return fmt.Errorf("bench peak: town network: %w", err)
	}
	reg := p.dir.Postcodes()
	var areas []postcode.Info
	for _, info := range reg.All() {
		if info.Kind == lokero.PostcodeArea && info.HasPoint {
			areas = append(areas, info)
		}
	}
	dist := func(a postcode.Info) float64 {
		return geo.Distance(helsinkiCentre, geo.Point{Lat: a.Point.Lat, Lon: a.Point.Lon})
	}
	slices.SortFunc(areas, func(a, b postcode.Info) int {
		return cmp.Or(cmp.Compare(dist(a), dist(b)), cmp.Compare(a.Code, b.Code))
	})
	locs := simLocations(reg, s.o.first, s.o.lockers, s.o.compartments, s.o.mix, s.o.seed)
	rng := rand.New(rand.NewPCG(s.o.seed, 0x70e1))
	for i := range locs {
		a := areas[min(i/2, len(areas)-1)]
		locs[i].Postcode, locs[i].City = a.Code, a.NameFI
		locs[i].Lat = a.Point.Lat + rng.NormFloat64()*0.002 // about 220 m
		locs[i].Lon = a.Point.Lon + rng.NormFloat64()*0.004
	}
	if _, err := p.dir.Import(ctx, locs); err != nil {
		return fmt.Errorf("bench peak: town network: %w", err)
	}
	last, start := locs[len(locs)-1], time.Now()
	for _, base := range s.apis() {
		for {
			var loc struct{ Lat, Lon float64 }
			if _, err := s.callAt(ctx, base, "GET", "/v1/locations/"+last.ID, "", nil, &loc); err == nil && math.Abs(loc.Lat-last.Lat) < 1e-6 && math.Abs(loc.Lon-last.Lon) < 1e-6 {
				break
			}
			if time.Since(start) > time.Minute {
				return fmt.Errorf("bench peak: town network: the server at %s has not seen %s's new place within a minute", base, last.ID)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	fmt.Fprintf(s.log, "sim: the %d lockers moved into a town: two around each of the %d postal areas nearest Helsinki's centre\n", len(locs), (len(locs)+1)/2)
	return nil
}

// peakShape is each booking day's share of the parcels: a peak week
// (rising to Black Friday and Cyber Monday, then falling), stretched or
// cut to days.
func peakShape(days int) []float64 {
	week := []float64{0.8, 0.9, 1.0, 1.3, 1.9, 1.2, 1.0, 1.6, 1.1, 0.9}
	out := make([]float64, days)
	sum := 0.0
	for i := range out {
		out[i] = week[i*len(week)/days]
		sum += out[i]
	}
	for i := range out {
		out[i] /= sum
	}
	return out
}

// peakServe starts `lokero serve --dev` in this process on db, with the
// embedded broker on a free port, every rate limit off (the bench is all
// the platform's retailers, couriers and lockers at once) and one
// retailer allowed every compartment. It returns the API's base URL, the
// broker's and a func that stops the server.
func peakServe(ctx context.Context, db string, margin float64, extra []string, stderr io.Writer) (base, broker string, log *syncBuffer, stop func(), err error) {
	addr, err := freeLoopback()
	if err != nil {
		return "", "", nil, nil, err
	}
	mqtt, err := freeLoopback()
	if err != nil {
		return "", "", nil, nil, err
	}
	serveCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	exited := make(chan struct{})
	log = &syncBuffer{}
	go func() {
		defer close(exited)
		args := append(append([]string{"serve", "--addr", addr, "--db", db, "--mqtt-listen", mqtt}, peakServeFlags(margin)...), extra...)
		if code := run(serveCtx, args, io.Discard, log); code != 0 {
			fmt.Fprintf(log, "serve exited with %d\n", code)
		}
	}()
	stop = func() {
		cancel()
		select {
		case <-exited:
		case <-time.After(20 * time.Second):
		}
	}
	base = "http://" + addr
	if err := waitServing(ctx, base, exited, log, "serve"); err != nil {
		stop()
		return "", "", nil, nil, err
	}
	return base, "tcp://" + mqtt, log, stop, nil
}

// peakServeFlags are the flags of every server of the bench: the
// development aids (the test clock, the outbox the recipients read their
// codes from), the directory reloaded each second, every rate limit off
// (the bench is all the platform's retailers, couriers and lockers at
// once) and one retailer allowed every compartment.
func peakServeFlags(margin float64) []string {
	return []string{"--dev", "--no-demo", "--reload", "1s", "--retailer-share", "100%",
		"--capacity-margin", strconv.FormatFloat(margin, 'f', -1, 64),
		"--rate-limit", "retailer=off,courier=off,device=off,operator=off,tracking=off"}
}

// peak is one run of the peak bench.
type peak struct {
	*sim
	o          peakOptions
	shape      []float64
	db         string
	serverLogs []*syncBuffer   // each server's log, shown when the run goes wrong
	servers    []*peakInstance // the servers in processes of their own (--instances above 1); none: in this process
	pgPID      int             // PostgreSQL's postmaster (--postgres); 0: none
	inbox      *peakInbox      // the recipients' e-mail and text messages
	cpu        []time.Duration // CPU time used over the run: this process, PostgreSQL, then each of servers
	rest       []time.Duration // the same over peakRestWindow at rest, before the first day
	boardsWait time.Duration   // waited in all for the boards' derivations before the pickups (--wait-for-boards)

	parcels []*peakParcel
	index   *geo.Index // the lockers' places
	points  []geo.Point
	today   lokero.Date // the server's date (Helsinki)

	mu  sync.Mutex
	ops map[string]*peakOp // latencies by operation

	// occupied is what the bench knows to be in each compartment:
	// locker → compartment → tracking code; two parcels in one at once is
	// a violation.
	occupied     map[string]map[int]string
	violations   []string
	codesChecked int // the opening codes sharedCodes checked

	n struct {
		booked, overflowed, refused, doorTurned, undeliverable, deposited, picked, expired, collected atomic.Int64
		dispatched, dispatchNoRoom                                                                    atomic.Int64 // moved by the evening's check; found no room for
		movedBack                                                                                     atomic.Int64 // moved back to the shopper's locker by the evening's check
		detourM, dispatchDetourM                                                                      atomic.Int64 // summed over the overflowed, the dispatched, metres
	}
}

// peakParcel is one parcel of the peak and its life.
type peakParcel struct {
	simParcel
	chosen        string      // the shopper's choice of locker
	class         int         // the smallest compartment class it fits: 0 S, 1 M, 2 L (--mix demo; 0 with one class)
	delivery      lokero.Date // the delivery date the server gave it
	pickupIn      int         // days after its arrival its recipient comes; -1: never
	arrived       lokero.Date
	left          lokero.Date       // the day it left its compartment (picked up or collected); zero while there
	code          string            // the opening code, from the notice of arrival
	notice        <-chan peakNotice // the notice of arrival, once it comes
	closedAt      time.Time         // when its door closed on it
	expired       bool
	refused       bool
	undeliverable bool // turned away at three doors in a row

	// For the offline bound: the day it was booked (0: the first), the
	// shopper's locker and the five nearest the home (by position).
	bookDay    int
	choice     int
	candidates []int
}

// away reports whether the parcel ended anywhere but in its shopper's
// locker: refused, turned away at three doors, or in another locker.
func (p *peakParcel) away() bool {
	return p.refused || p.undeliverable || p.locker == nil || p.locker.id != p.chosen
}

// peakOp is one operation's latencies.
type peakOp struct {
	mu  sync.Mutex
	lat []time.Duration
}

// timed runs call and records its latency under op.
func (pk *peak) timed(op string, call func() error) error {
	t0 := time.Now()
	err := call()
	pk.record(op, time.Since(t0))
	return err
}

// record adds one latency of op.
func (pk *peak) record(op string, took time.Duration) {
	pk.mu.Lock()
	r := pk.ops[op]
	if r == nil {
		r = &peakOp{}
		pk.ops[op] = r
	}
	pk.mu.Unlock()
	r.mu.Lock()
	r.lat = append(r.lat, took)
	r.mu.Unlock()
}

// each runs f for every item over --conns workers.
func each[T any](pk *peak, ctx context.Context, items []T, f func(T)) {
	var next atomic.Int64
	var wg sync.WaitGroup
	for range pk.o.conns {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= len(items) {
					return
				}
				f(items[i])
			}
		})
	}
	wg.Wait()
}

// advance moves the server's test clock on by d (0: not at all) and
// returns its time.
func (pk *peak) advance(ctx context.Context, d time.Duration) (time.Time, error) {
	if d <= 0 {
		d = time.Nanosecond
	}
	// Each server has a test clock of its own: each moves by d.
	var out struct{ Now time.Time }
	for _, base := range pk.apis() {
		if _, err := pk.callAt(ctx, base, "POST", "/v1/admin/clock", pk.operator, map[string]string{"advance": d.String()}, &out); err != nil {
			return time.Time{}, fmt.Errorf("bench peak: move the clock of %s: %w", base, err)
		}
	}
	pk.today = lokero.DateOf(out.Now)
	return out.Now, nil
}

func (pk *peak) run(ctx context.Context) error {
	rng := rand.New(rand.NewPCG(pk.o.seed, 0x7e4c))
	for _, l := range pk.lockers {
		var loc struct{ Lat, Lon float64 }
		if _, err := pk.call(ctx, "GET", "/v1/locations/"+l.id, "", nil, &loc); err != nil {
			return err
		}
		pk.points = append(pk.points, geo.Point{Lat: loc.Lat, Lon: loc.Lon})
	}
	pk.index = geo.NewIndex(pk.points)
	pk.occupied = map[string]map[int]string{}
	// Every parcel: the shopper's home near a locker, the choice among
	// the five lockers nearest it weighted by 1/(distance + 300 m), and
	// when its recipient comes.
	for i := range pk.o.parcels {
		home, spread := pk.points[rng.IntN(len(pk.points))], 1.0
		if pk.o.network == "town" {
			spread = 0.3 // homes within a few hundred metres of a locker
		}
		home.Lat += rng.NormFloat64() * 0.01 * spread
		home.Lon += rng.NormFloat64() * 0.02 * spread
		near := pk.index.Nearest(home, 5, nil, 0, nil)
		weights := make([]float64, len(near))
		sum := 0.0
		for j, n := range near {
			weights[j] = 1 / (n.DistanceM + 300)
			sum += weights[j]
		}
		pick, x := near[0], rng.Float64()*sum
		for j, n := range near {
			if x -= weights[j]; x <= 0 {
				pick = n
				break
			}
		}
		p := &peakParcel{simParcel: simParcel{n: i, retailer: pk.retailers[i%len(pk.retailers)]}, chosen: pk.lockers[pick.Item].id, pickupIn: dwellDays(rng, pk.o.never)}
		p.choice = pick.Item
		for _, n := range near {
			p.candidates = append(p.candidates, n.Item)
		}
		pk.parcels = append(pk.parcels, p)
	}
	if pk.o.mix == mixDemo {
		// Sizes from a stream of their own: the same shoppers and
		// choices as with one class.
		sizes := rand.New(rand.NewPCG(pk.o.seed, 0x512e))
		for _, p := range pk.parcels {
			switch x := sizes.Float64(); {
			case x < mixDemoShares[0]:
				p.class = 0
			case x < mixDemoShares[0]+mixDemoShares[1]:
				p.class = 1
			default:
				p.class = 2
			}
		}
	}
	// The first morning: 10:00 in Helsinki, before the handover cut-off.
	now, err := pk.advance(ctx, 0)
	if err != nil {
		return err
	}
	local := now.In(lokero.Helsinki)
	next := time.Date(local.Year(), local.Month(), local.Day(), 10, 0, 0, 0, lokero.Helsinki)
	if !next.After(local) {
		next = next.AddDate(0, 0, 1)
	}
	if _, err := pk.advance(ctx, next.Sub(now)); err != nil {
		return err
	}
	// The platform at rest: every locker connected, no parcel yet.
	restBefore := pk.cpuNow()
	select {
	case <-time.After(peakRestWindow):
	case <-ctx.Done():
		return ctx.Err()
	}
	pk.rest = pk.cpuNow()
	for i := range pk.rest {
		pk.rest[i] -= restBefore[i]
	}
	stopProfile, err := startCPUProfile(pk.o.cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	start, cpuBefore := time.Now(), pk.cpuNow()
	booked := 0
	totalDays := pk.o.days + 14 // the last deliveries, the storage period, the collection and a weekend
	for day := 0; day < totalDays && ctx.Err() == nil; day++ {
		if day < pk.o.days {
			n := int(math.Round(pk.shape[day] * float64(pk.o.parcels)))
			if day == pk.o.days-1 {
				n = pk.o.parcels - booked
			}
			for _, p := range pk.parcels[booked : booked+n] {
				p.bookDay = day
			}
			pk.book(ctx, pk.parcels[booked:booked+n])
			booked += n
		}
		pk.deliver(ctx)
		pk.pickups(ctx)
		if err := pk.collectExpired(ctx); err != nil {
			return err
		}
		ended := pk.n.picked.Load() + pk.n.collected.Load() + pk.n.refused.Load() + pk.n.undeliverable.Load()
		// The evening: 20:00, the server's check of the next delivery
		// day's bookings.
		if _, err := pk.advance(ctx, 10*time.Hour); err != nil {
			return err
		}
		if pk.o.dispatch {
			if err := pk.dispatchCheck(ctx); err != nil {
				return err
			}
		}
		fmt.Fprintf(pk.log, "peak: %s day %d (%s): booked %d (%d overflowed, %d refused, %d moved the evening before), deposited %d (%d turned away at the door), picked up %d, expired %d, collected %d\n",
			progressBar(float64(ended)/float64(pk.o.parcels), 20), day+1, pk.today, pk.n.booked.Load(), pk.n.overflowed.Load(), pk.n.refused.Load(),
			pk.n.dispatched.Load(), pk.n.deposited.Load(), pk.n.doorTurned.Load(), pk.n.picked.Load(), pk.n.expired.Load(), pk.n.collected.Load())
		if pk.done() {
			break
		}
		if _, err := pk.advance(ctx, 14*time.Hour); err != nil {
			return err
		}
	}
	took := time.Since(start)
	stopProfile()
	pk.cpu = pk.cpuNow()
	for i := range pk.cpu {
		pk.cpu[i] -= cpuBefore[i]
	}
	if _, err := pk.settle(ctx); err != nil {
		return err
	}
	// Every parcel made ready had its notice of arrival, whether or not
	// its recipient came.
	var ready []*peakParcel
	for _, p := range pk.parcels {
		if p.deposited.Load() && p.code == "" {
			ready = append(ready, p)
		}
	}
	each(pk, ctx, ready, func(p *peakParcel) { pk.noticeOf(ctx, p) })
	pk.verifyPeak(ctx)
	return pk.report(took)
}

// cpuParts describes CPU times as cpuNow orders them, each through unit.
func (pk *peak) cpuParts(cpu []time.Duration, unit func(time.Duration) string) string {
	var parts []string
	if len(pk.servers) == 0 {
		parts = append(parts, "this process (server, broker, controllers and the bench) "+unit(cpu[0]))
	} else {
		servers := time.Duration(0)
		for i, d := range cpu[2:] {
			parts = append(parts, fmt.Sprintf("server %d %s", i+1, unit(d)))
			servers += d
		}
		parts = append(parts, "the servers together "+unit(servers), "this process (controllers and the bench) "+unit(cpu[0]))
	}
	if pk.pgPID != 0 {
		parts = append(parts, "PostgreSQL "+unit(cpu[1]))
	}
	return strings.Join(parts, "; ")
}

// peakRestWindow is how long the bench measures the CPU the platform uses
// at rest, before the first day.
const peakRestWindow = 3 * time.Second

// cpuNow is the CPU time used so far by this process, by PostgreSQL (0
// without it) and by each server in a process of its own.
func (pk *peak) cpuNow() []time.Duration {
	out := []time.Duration{procCPU(0, false), 0}
	if pk.pgPID != 0 {
		out[1] = procTreeCPU(pk.pgPID)
	}
	for _, in := range pk.servers {
		out = append(out, procCPU(in.cmd.Process.Pid, false))
	}
	return out
}

// dispatchCheck waits for the server's evening check of today (its log
// line "dispatch check" with on = today, within a second of the clock
// passing 20:00) and, when it moved bookings, reads the new destination
// of every parcel not yet deposited: the couriers load by it.
func (pk *peak) dispatchCheck(ctx context.Context) error {
	on := fmt.Sprintf(`"on":"%s"`, pk.today)
	// Every server runs the check; each move is made by one of them, and
	// a booking none found room for is one each of them found none for.
	moved, noRoom := 0, 0 // moved: out or back
	for i, log := range pk.serverLogs {
		var line struct {
			Rerouted  int `json:"rerouted"`
			NoRoom    int `json:"no_room"`
			MovedBack int `json:"moved_back"`
		}
		for start := time.Now(); ; {
			found := ""
			for l := range strings.Lines(log.String()) {
				if strings.Contains(l, `"msg":"dispatch check"`) && strings.Contains(l, on) {
					found = l
				}
			}
			if found != "" {
				if err := json.Unmarshal([]byte(found), &line); err != nil {
					return fmt.Errorf("bench peak: the dispatch check of server %d: %w", i+1, err)
				}
				break
			}
			if time.Since(start) > 2*time.Minute {
				return fmt.Errorf("bench peak: no dispatch check on %s in the log of server %d within two minutes", pk.today, i+1)
			}
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(100 * time.Millisecond):
			}
		}
		moved, noRoom = moved+line.Rerouted+line.MovedBack, max(noRoom, line.NoRoom)
	}
	pk.n.dispatchNoRoom.Add(int64(noRoom))
	if moved == 0 {
		return nil
	}
	var due []*peakParcel
	for _, p := range pk.parcels {
		if !p.refused && !p.undeliverable && p.locker != nil && !p.deposited.Load() {
			due = append(due, p)
		}
	}
	each(pk, ctx, due, func(p *peakParcel) {
		l, err := pk.destination(ctx, p)
		if err != nil {
			pk.fail("%s after the dispatch check: %v", p.tracking, err)
			return
		}
		if l == p.locker {
			return
		}
		p.locker = l
		if l.id == p.chosen {
			pk.n.movedBack.Add(1)
			return
		}
		pk.n.dispatched.Add(1)
		pk.n.dispatchDetourM.Add(int64(geo.Distance(pk.pointOf(p.chosen), pk.pointOf(l.id))))
	})
	return nil
}

// destination reads where the server sends a parcel now (after a
// re-routing): one of the bench's lockers, or an error.
func (pk *peak) destination(ctx context.Context, p *peakParcel) (*simLocker, error) {
	var sh struct {
		Destination struct {
			ID string `json:"id"`
		} `json:"destination"`
	}
	if _, err := pk.call(ctx, "GET", "/v1/shipments/"+p.id, p.retailer, nil, &sh); err != nil {
		return nil, err
	}
	l := pk.byID[sh.Destination.ID]
	if l == nil {
		return nil, fmt.Errorf("re-routed to %s, not a bench locker", sh.Destination.ID)
	}
	return l, nil
}

// dwellDays draws the days after its arrival day a recipient comes: about
// half the same day, most within two, a few up to six, a share never. Not
// on the storage period's last day: the controllers keep the wall clock
// while the server's test clock runs days ahead, so on that day a
// controller may still open for a parcel the centre has just expired.
func dwellDays(rng *rand.Rand, never float64) int {
	if rng.Float64() < never {
		return -1
	}
	cum := []float64{0.45, 0.75, 0.87, 0.93, 0.965, 0.99, 1}
	x := rng.Float64()
	for k, c := range cum {
		if x < c {
			return k
		}
	}
	return len(cum) - 1
}

// done reports whether every parcel's life is over.
func (pk *peak) done() bool {
	for _, p := range pk.parcels {
		if !p.refused && !p.undeliverable && !p.picked.Load() && !(p.expired && p.deposited.Load() && p.compartment == 0) {
			return false
		}
	}
	return true
}

// book books the parcels (with the shopper's choice) and hands them over.
func (pk *peak) book(ctx context.Context, parcels []*peakParcel) {
	each(pk, ctx, parcels, func(p *peakParcel) {
		recipient := map[string]any{"name": fmt.Sprintf("Vastaanottaja %d", p.n+1), "street": "Fredrikinkatu 1", "postcode": "00120", "city": "Helsinki"}
		if peakBySMS(p.n + 1) {
			recipient["phone"] = peakPhone(p.n + 1)
		} else {
			recipient["email"] = peakEmailAddress(p.n + 1)
		}
		body := map[string]any{
			"pickup_point_id": p.chosen,
			"reference":       fmt.Sprintf("peak-%d", p.n+1),
			"sender":          map[string]any{"name": "Huippukauppa", "street": "Tyynenmerenkatu 11", "postcode": "00220", "city": "Helsinki"},
			"recipient":       recipient,
			"parcel":          peakParcelOf(pk.o.mix, p.class),
		}
		var res struct {
			ID           string `json:"id"`
			TrackingCode string `json:"tracking_code"`
			DeliveryDate string `json:"estimated_delivery"`
			Destination  struct {
				ID string `json:"id"`
			} `json:"destination"`
			Routing struct {
				Rule string `json:"rule"`
			} `json:"routing"`
		}
		// Each booking counts under "book"; those sent to another locker
		// and those refused also apart, as their overflow searches more.
		t0 := time.Now()
		status, err := pk.call(ctx, "POST", "/v1/shipments", p.retailer, body, &res)
		took := time.Since(t0)
		pk.record("book", took)
		if status == http.StatusUnprocessableEntity {
			pk.record("book (refused)", took)
			p.refused = true
			pk.n.refused.Add(1)
			return
		}
		if err != nil {
			pk.fail("book %d: %v", p.n+1, err)
			p.refused = true
			return
		}
		p.id, p.tracking = res.ID, res.TrackingCode
		pk.n.booked.Add(1)
		if p.delivery, err = lokero.ParseDate(res.DeliveryDate); err != nil || p.delivery.IsZero() {
			pk.fail("%s: delivery date %q: %v", p.tracking, res.DeliveryDate, err)
		}
		if p.locker = pk.byID[res.Destination.ID]; p.locker == nil {
			pk.fail("%s was routed to %s, not to a locker of the bench", p.tracking, res.Destination.ID)
			p.refused = true
			return
		}
		if res.Destination.ID != p.chosen {
			pk.record("book (another locker)", took)
			pk.n.overflowed.Add(1)
			pk.n.detourM.Add(int64(geo.Distance(pk.pointOf(p.chosen), pk.pointOf(res.Destination.ID))))
		}
		courier := pk.couriers[p.n%len(pk.couriers)]
		if err := pk.timed("handover", func() error {
			_, err := pk.call(ctx, "POST", "/v1/shipments/"+p.id+"/handover", courier, nil, nil)
			return err
		}); err != nil {
			pk.fail("hand %s over: %v", p.tracking, err)
		}
	})
}

// peakParcelOf is a booking's parcel: 30×20×10 cm with one class (it
// fits M); with mixDemo the smallest of the three that fits class (0 S,
// 1 M, 2 L: 10, 20 and 40 cm high).
func peakParcelOf(mix string, class int) map[string]any {
	dims := [3][3]int{{30, 20, 10}, {30, 20, 10}, {30, 20, 10}}
	if mix == mixDemo {
		dims = [3][3]int{{30, 20, 8}, {40, 30, 15}, {60, 35, 35}}
	}
	d := dims[class]
	return map[string]any{"length_cm": d[0], "width_cm": d[1], "height_cm": d[2], "weight_kg": 1, "contents": "goods"}
}

// pointOf is a bench locker's place.
func (pk *peak) pointOf(id string) geo.Point {
	n, _ := strconv.Atoi(strings.TrimPrefix(id, "SIM-"))
	if n < 1 || n > len(pk.points) {
		return geo.Point{}
	}
	return pk.points[n-1]
}

// deliver deposits the parcels due today: over HTTP, the door opened at
// the locker (the controller, on the centre's command) and shut on the
// simulated board; a locker with no compartment free re-routes the parcel,
// which is then deposited at its new locker.
func (pk *peak) deliver(ctx context.Context) {
	var due []*peakParcel
	for _, p := range pk.parcels {
		if !p.refused && !p.undeliverable && p.locker != nil && !p.deposited.Load() && !p.delivery.After(pk.today) {
			due = append(due, p)
		}
	}
	each(pk, ctx, due, func(p *peakParcel) {
		courier := pk.couriers[p.n%len(pk.couriers)]
		for attempt := 0; attempt < 3; attempt++ {
			notice := pk.inbox.expect(p.n + 1)
			var dep struct {
				Compartment int `json:"compartment"`
			}
			var status int
			err := pk.timed("deposit", func() (err error) {
				status, err = pk.call(ctx, "POST", "/v1/lockers/"+p.locker.id+"/deposits", courier, map[string]string{"tracking_code": p.tracking}, &dep)
				return err
			})
			if status == http.StatusConflict && strings.Contains(err.Error(), "no_free_compartment") {
				pk.inbox.forget(p.n + 1)
				pk.n.doorTurned.Add(1)
				if p.locker, err = pk.destination(ctx, p); err != nil {
					pk.fail("%s after the full locker: %v", p.tracking, err)
					return
				}
				continue
			}
			if err != nil {
				pk.inbox.forget(p.n + 1)
				pk.fail("deposit %s: %v", p.tracking, err)
				return
			}
			p.compartment = dep.Compartment
			pk.take(p)
			if err := p.locker.driver.Open(ctx, dep.Compartment); err != nil {
				pk.fail("open %s's door %d at %s: %v", p.tracking, dep.Compartment, p.locker.id, err)
				return
			}
			// The notice comes by e-mail or text message; its recipient
			// reads it when coming to the locker (noticeOf).
			p.notice, p.closedAt = notice, time.Now()
			p.locker.driver.Close(dep.Compartment)
			p.deposited.Store(true)
			p.arrived = pk.today
			pk.n.deposited.Add(1)
			return
		}
		// Re-routed three times and still no compartment: the courier
		// takes it back to the depot (the server keeps it in transit).
		p.undeliverable = true
		pk.n.undeliverable.Add(1)
	})
}

// take records that p is in its compartment; another parcel there is a
// violation.
func (pk *peak) take(p *peakParcel) {
	pk.mu.Lock()
	defer pk.mu.Unlock()
	at := pk.occupied[p.locker.id]
	if at == nil {
		at = map[int]string{}
		pk.occupied[p.locker.id] = at
	}
	if other, ok := at[p.compartment]; ok {
		pk.violations = append(pk.violations, fmt.Sprintf("%s compartment %d given to %s while %s is in it", p.locker.id, p.compartment, p.tracking, other))
	}
	at[p.compartment] = p.tracking
}

// leave records that p left its compartment.
func (pk *peak) leave(p *peakParcel) {
	pk.mu.Lock()
	defer pk.mu.Unlock()
	if pk.occupied[p.locker.id][p.compartment] == p.tracking {
		delete(pk.occupied[p.locker.id], p.compartment)
	}
}

// noticeOf reads parcel p's notice of arrival (its code into p.code),
// waiting for it if it has not come yet, and records how long after the
// door closed it came; false, with the failure recorded, when none comes
// within two minutes.
func (pk *peak) noticeOf(ctx context.Context, p *peakParcel) bool {
	if p.code != "" {
		return true
	}
	select {
	case n := <-p.notice:
		p.code = n.code
		pk.record("door closed to notice", n.at.Sub(p.closedAt))
		return true
	case <-time.After(2 * time.Minute):
		pk.fail("%s: no notice of arrival within two minutes of its door closing (to %s)", p.tracking, pk.recipientOf(p))
	case <-ctx.Done():
		pk.fail("%s: no notice of arrival: %v", p.tracking, ctx.Err())
	}
	return false
}

// recipientOf is where parcel p's notices go.
func (pk *peak) recipientOf(p *peakParcel) string {
	if peakBySMS(p.n + 1) {
		return peakPhone(p.n + 1)
	}
	return peakEmailAddress(p.n + 1)
}

// pickups: the recipients who come today type their codes at the keypad.
// boardsDerived waits (at most two minutes) until the board of each
// parcel due checks its code itself (Controller.Checks: the centre's
// expect_pickup came and the board derived its verifier) and no board
// has a sealed code left to derive, and adds the wait to boardsWait.
func (pk *peak) boardsDerived(ctx context.Context, due []*peakParcel) {
	start := time.Now()
	defer func() { pk.boardsWait += time.Since(start) }()
	ready := func() bool {
		for _, p := range due {
			if !p.locker.ctl.Checks(p.id) {
				return false
			}
		}
		return pk.stats().Deriving == 0
	}
	for !ready() && time.Since(start) < 2*time.Minute && ctx.Err() == nil {
		time.Sleep(10 * time.Millisecond)
	}
}

func (pk *peak) pickups(ctx context.Context) {
	var due []*peakParcel
	for _, p := range pk.parcels {
		if p.deposited.Load() && !p.picked.Load() && !p.expired && p.pickupIn >= 0 &&
			!p.arrived.AddDays(p.pickupIn).After(pk.today) {
			due = append(due, p)
		}
	}
	if pk.o.waitBoards {
		pk.boardsDerived(ctx, due)
	}
	each(pk, ctx, due, func(p *peakParcel) {
		if !pk.noticeOf(ctx, p) {
			return
		}
		pk.timed("keypad pickup", func() error {
			pk.pickup(ctx, &p.simParcel, p.code)
			return nil
		})
		if p.picked.Load() {
			pk.leave(p)
			p.left = pk.today
			pk.n.picked.Add(1)
		}
	})
}

// collectExpired waits for the storage period's expiry of the parcels
// whose deadline passed (the server's job) and has couriers collect them.
func (pk *peak) collectExpired(ctx context.Context) error {
	var due []*peakParcel
	for _, p := range pk.parcels {
		if p.deposited.Load() && !p.picked.Load() && p.compartment != 0 && !p.arrived.AddDays(8).After(pk.today) {
			due = append(due, p)
		}
	}
	if len(due) == 0 {
		return nil
	}
	each(pk, ctx, due, func(p *peakParcel) {
		// The expiry job runs within seconds of the clock passing the
		// deadline (River's scheduler).
		deadline := time.Now().Add(time.Minute)
		for {
			var t struct{ Status string }
			if _, err := pk.call(ctx, "GET", "/v1/tracking/"+p.tracking, "", nil, &t); err != nil {
				pk.fail("%s: tracking: %v", p.tracking, err)
				return
			}
			if t.Status == string(lokero.StatusExpired) {
				break
			}
			if time.Now().After(deadline) || ctx.Err() != nil {
				pk.fail("%s: still %s a day after its storage period", p.tracking, t.Status)
				return
			}
			time.Sleep(250 * time.Millisecond)
		}
		if !p.expired {
			p.expired = true
			pk.n.expired.Add(1)
		}
		courier := pk.couriers[p.n%len(pk.couriers)]
		if err := pk.timed("collect", func() error {
			_, err := pk.call(ctx, "POST", "/v1/lockers/"+p.locker.id+"/collections", courier, map[string]string{"tracking_code": p.tracking}, nil)
			return err
		}); err != nil {
			pk.fail("collect %s: %v", p.tracking, err)
			return
		}
		if err := p.locker.driver.Open(ctx, p.compartment); err == nil {
			p.locker.driver.Close(p.compartment)
		}
		pk.leave(p)
		p.compartment, p.left = 0, pk.today
		pk.n.collected.Add(1)
	})
	return nil
}

// verifyPeak checks every parcel's end at the centre against its life
// here: picked up, or back on its way to the sender.
func (pk *peak) verifyPeak(ctx context.Context) {
	var mismatches atomic.Int64
	each(pk, ctx, pk.parcels, func(p *peakParcel) {
		if p.refused {
			return
		}
		var sh struct{ Status string }
		if _, err := pk.call(ctx, "GET", "/v1/shipments/"+p.id, p.retailer, nil, &sh); err != nil {
			pk.fail("%s: %v", p.tracking, err)
			return
		}
		want := []string{string(lokero.StatusPickedUp)}
		if p.undeliverable {
			want = []string{string(lokero.StatusInTransit)}
		} else if p.expired {
			want = []string{string(lokero.StatusReturning), string(lokero.StatusReturnedToSender)}
		}
		if !slices.Contains(want, sh.Status) {
			if mismatches.Add(1) <= 5 {
				pk.fail("%s ended %s at the centre; its life here says %v", p.tracking, sh.Status, want)
			}
		}
	})
	var clashes []string
	pk.codesChecked, clashes = sharedCodes(pk.parcels)
	pk.mu.Lock()
	pk.violations = append(pk.violations, clashes...)
	pk.mu.Unlock()
}

// sharedCodes checks that no two parcels waiting in one locker at once
// had the same opening code, as their notices gave them: it returns how
// many codes it checked and a line for each pair that shared one. A
// parcel waits from the day it arrived to the day it left, both included
// (the bench delivers each morning before the day's pickups and
// collections, so a parcel arriving on the day another leaves waited
// beside it); one that has not left waits on.
func sharedCodes(parcels []*peakParcel) (checked int, clashes []string) {
	type at struct{ locker, code string }
	byCode := map[at][]*peakParcel{}
	for _, p := range parcels {
		if p.code == "" || p.locker == nil || p.arrived.IsZero() {
			continue
		}
		checked++
		k := at{p.locker.id, p.code}
		for _, q := range byCode[k] {
			if (p.left.IsZero() || !p.left.Before(q.arrived)) && (q.left.IsZero() || !q.left.Before(p.arrived)) {
				clashes = append(clashes, fmt.Sprintf("%s: %s (%s to %s) and %s (%s to %s) waited there at once with the same opening code",
					p.locker.id, q.tracking, q.arrived, q.left, p.tracking, p.arrived, p.left))
			}
		}
		byCode[k] = append(byCode[k], p)
	}
	return checked, clashes
}

// report prints the run's figures and fails when anything went wrong.
func (pk *peak) report(took time.Duration) error {
	n := pk.o.parcels
	lived := pk.n.picked.Load() + pk.n.collected.Load()
	store := "SQLite (one lokero serve, the embedded broker)"
	if pk.o.postgres {
		store = "PostgreSQL (one lokero serve, the embedded broker)"
	}
	if pk.o.instances > 1 {
		store = fmt.Sprintf("PostgreSQL (%d lokero serve processes, Mosquitto)", pk.o.instances)
	}
	fmt.Fprintf(pk.out, "\nlokero bench peak on %s: %d lockers of %d compartments (%s; SMARTPOSTs, controllers over MQTT, their state in %s), %d parcels booked over %d days, %d clients, capacity margin %.2f\n",
		store, pk.o.lockers, pk.o.compartments, classesText(simClasses(pk.o.mix, pk.o.compartments)), filepath.Dir(pk.sim.o.stateDir), n, pk.o.days, pk.o.conns, pk.o.margin)
	fmt.Fprintf(pk.out, "  whole lives: %d parcels in %s: %.0f parcels/s end to end (each: book, hand over, deposit, door, notice, pickup or expiry and collection)\n",
		lived, took.Round(time.Millisecond), float64(lived)/took.Seconds())
	if pk.o.waitBoards {
		fmt.Fprintf(pk.out, "  of it, waiting before the pickups for the boards to derive the verifiers the deposits sent them: %s\n", pk.boardsWait.Round(time.Millisecond))
	}
	if lived > 0 && len(pk.cpu) >= 2 {
		fmt.Fprintf(pk.out, "  CPU a whole life: %s\n", pk.cpuParts(pk.cpu, func(d time.Duration) string {
			return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)/float64(lived))
		}))
		fmt.Fprintf(pk.out, "  CPU at rest before the first day (heartbeats, the jobs' polling, the directory's reloads; %s): %s\n",
			peakRestWindow, pk.cpuParts(pk.rest, func(d time.Duration) string {
				return fmt.Sprintf("%.0f ms/s", float64(d)/float64(time.Millisecond)/peakRestWindow.Seconds())
			}))
	}
	names := make([]string, 0, len(pk.ops))
	for name := range pk.ops {
		names = append(names, name)
	}
	slices.Sort(names)
	fmt.Fprintf(pk.out, "  %-24s %8s %12s %12s\n", "operation", "count", "p50", "p99")
	for _, name := range names {
		r := pk.ops[name]
		slices.Sort(r.lat)
		pct := func(p float64) time.Duration { return r.lat[min(len(r.lat)-1, int(p*float64(len(r.lat))))] }
		fmt.Fprintf(pk.out, "  %-24s %8d %12s %12s\n", name, len(r.lat), pct(0.5).Round(time.Microsecond), pct(0.99).Round(time.Microsecond))
	}
	overflowed, refused, door := pk.n.overflowed.Load(), pk.n.refused.Load(), pk.n.doorTurned.Load()
	detour := 0.0
	if overflowed > 0 {
		detour = float64(pk.n.detourM.Load()) / float64(overflowed) / 1000
	}
	fmt.Fprintf(pk.out, "  turned away at booking: %d of %d (%.1f %%): %d to another locker (mean detour %.2f km), %d refused\n",
		overflowed+refused, n, 100*float64(overflowed+refused)/float64(n), overflowed, detour, refused)
	dispatched := pk.n.dispatched.Load()
	dispatchDetour := 0.0
	if dispatched > 0 {
		dispatchDetour = float64(pk.n.dispatchDetourM.Load()) / float64(dispatched) / 1000
	}
	check := "on, 20:00"
	if !pk.o.dispatch {
		check = "off"
	}
	fmt.Fprintf(pk.out, "  turned away at dispatch (the evening before, check %s): %d (%.1f %%) to another locker (mean detour from the shopper's %.2f km); no room near for %d\n",
		check, dispatched, 100*float64(dispatched)/float64(n), dispatchDetour, pk.n.dispatchNoRoom.Load())
	fmt.Fprintf(pk.out, "  moved back to the shopper's locker at dispatch: %d (%.1f %%)\n", pk.n.movedBack.Load(), 100*float64(pk.n.movedBack.Load())/float64(n))
	fmt.Fprintf(pk.out, "  turned away at the door: %d (%.1f %%); no compartment at three doors in a row: %d\n", door, 100*float64(door)/float64(n),
		pk.n.undeliverable.Load())
	fmt.Fprintf(pk.out, "  picked up %d, expired and collected %d\n", pk.n.picked.Load(), pk.n.collected.Load())
	away := 0
	for _, p := range pk.parcels {
		if p.away() {
			away++
		}
	}
	lokeroAway := float64(away) / float64(n)
	fmt.Fprintf(pk.out, "  not in the shopper's locker in the end: %d (%.1f %%)\n", away, 100*lokeroAway)
	opt, fc := pk.offline()
	if cs := simClasses(pk.o.mix, pk.o.compartments); len(cs) > 1 {
		fmt.Fprintf(pk.out, "  by the parcel's size: %s\n", pk.bySize(cs))
		var shares []string
		for c, a := range opt.awayBySize {
			if c < len(cs) {
				shares = append(shares, fmt.Sprintf("%s %.1f %%", cs[c].Size, 100*a))
			}
		}
		fmt.Fprintf(pk.out, "  the optimum's by size, not in the shopper's locker: %s\n", strings.Join(shares, ", "))
	}
	exact := "exact"
	if opt.cut {
		exact = fmt.Sprintf("not exact: the search stopped at a locker; at least %.1f %%", 100*opt.atLeast)
	}
	fmt.Fprintf(pk.out, "  offline optimum, knowing every arrival and pickup in advance: %.1f %% not in the shopper's locker (%s); placed greedily, %.1f %% in another of the five nearest (mean detour %.2f km), %.1f %% nowhere\n",
		100*(opt.elsewhere+opt.nowhere), exact, 100*opt.elsewhere, opt.detourM/1000, 100*opt.nowhere)
	fmt.Fprintf(pk.out, "  first come, first served, knowing each morning what the lockers hold: %.1f %% not in the shopper's locker (%.1f %% in another, mean detour %.2f km; %.1f %% nowhere)\n",
		100*(fc.elsewhere+fc.nowhere), 100*fc.elsewhere, fc.detourM/1000, 100*fc.nowhere)
	above := ""
	if opt.cut {
		above = "at least "
	}
	fmt.Fprintf(pk.out, "  lokero above the optimum: %s%+.1f points (above first come, first served: %+.1f)\n",
		above, 100*(lokeroAway-opt.elsewhere-opt.nowhere), 100*(lokeroAway-fc.elsewhere-fc.nowhere))
	rss, hwm := procMemory()
	if len(pk.servers) == 0 {
		fmt.Fprintf(pk.out, "  memory of this process (server, broker, controllers and the bench): %d MiB resident, %d MiB at most\n", rss>>20, hwm>>20)
	} else {
		for i, in := range pk.servers {
			rss, hwm := procMemoryOf(in.cmd.Process.Pid)
			fmt.Fprintf(pk.out, "  memory of server %d (lokero serve): %d MiB resident, %d MiB at most\n", i+1, rss>>20, hwm>>20)
		}
		fmt.Fprintf(pk.out, "  memory of this process (controllers and the bench): %d MiB resident, %d MiB at most\n", rss>>20, hwm>>20)
	}
	if isPostgres(pk.db) {
		var size int64
		if db, err := sql.Open("pgx", pk.db); err == nil {
			db.QueryRow("SELECT pg_database_size(current_database())").Scan(&size)
			db.Close()
		}
		fmt.Fprintf(pk.out, "  database: %d MiB (PostgreSQL, pg_database_size)\n", size>>20)
	} else {
		size := int64(0)
		for _, suffix := range []string{"", "-wal"} {
			if fi, err := os.Stat(pk.db + suffix); err == nil {
				size += fi.Size()
			}
		}
		fmt.Fprintf(pk.out, "  database: %d MiB (SQLite file and WAL)\n", size>>20)
	}
	problems, twice := pk.inbox.result()
	fmt.Fprintf(pk.out, "  notices: %d e-mails at the SMTP server, %d text messages at the SMS endpoint (%d delivery reports taken); %d reached their recipient twice\n",
		pk.inbox.emails.Load(), pk.inbox.texts.Load(), pk.inbox.reports.Load(), twice)
	for _, p := range problems {
		pk.fail("notices: %s", p)
	}
	for _, v := range pk.violations {
		pk.fail("%s", v)
	}
	if f := pk.sim.n.failed.Load(); f > 0 {
		fmt.Fprintf(pk.out, "  FAILED: %d problems; the first:\n", f)
		for _, m := range pk.failures {
			fmt.Fprintf(pk.out, "    %s\n", m)
		}
		shown := 0
		for i, log := range pk.serverLogs {
			for line := range strings.Lines(log.String()) {
				if strings.Contains(line, `"level":"ERROR"`) && shown < 5 {
					fmt.Fprintf(pk.out, "  server %d: %s", i+1, line)
					shown++
				}
			}
		}
		return errors.New("bench peak: the run went wrong")
	}
	fmt.Fprintf(pk.out, "  invariants: every parcel ended as its life led (picked up, returning to its sender, or in transit after three full doors); no compartment held two parcels at once; no two parcels waiting in one locker at once had the same opening code (%d codes from the notices); every parcel made ready had its notice of arrival, none reached its recipient twice\n", pk.codesChecked)
	return nil
}

// procMemory returns this process's resident memory now and at its peak
// (VmRSS, VmHWM), in bytes; 0 where /proc is not there.
func procMemory() (rss, hwm int64) { return readProcMemory("/proc/self/status") }

// readProcMemory reads VmRSS and VmHWM from a /proc status file.
func readProcMemory(path string) (rss, hwm int64) {
	f, err := os.Open(path)
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(value), " kB"), 10, 64)
		if err != nil {
			continue
		}
		switch name {
		case "VmRSS":
			rss = kb << 10
		case "VmHWM":
			hwm = kb << 10
		}
	}
	return rss, hwm
}

// syncBuffer is a bytes.Buffer that one goroutine may write while another
// reads it (a server's log).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// progressBar draws a share 0..1 as a bar of width cells and a percentage.
func progressBar(share float64, width int) string {
	share = max(0, min(1, share))
	filled := int(math.Round(share * float64(width)))
	return "[" + strings.Repeat("#", filled) + strings.Repeat(".", width-filled) + fmt.Sprintf("] %3.0f %%", 100*share)
}

// offline plans the same parcels as planners that know more than lokero
// can: the optimum, knowing every arrival and every pickup in advance
// (occupancy.Optimum: each locker keeps the most of its shoppers' parcels;
// exact, and a lower bound of any policy's turn-aways), and first come,
// first served knowing each morning what every locker holds
// (occupancy.FirstCome: the parcels in their order of arrival, each in the
// shopper's locker when it has a compartment free that morning, else in
// the nearest of the five nearest the home that has). With compartments
// of several sizes (--mix demo) the optimum is a search at each locker
// (occupancy.OptimumSized: exact where it finishes within optimumSteps)
// and first come puts each parcel in the smallest class free that takes
// it (occupancy.FirstComeSized). A
// refused parcel's arrival is the day its booking day's other parcels
// arrived; a parcel never picked up stays the storage period and a day.
func (pk *peak) offline() (optimum, firstCome offlinePlan) {
	arrival := map[int]lokero.Date{}
	for _, p := range pk.parcels {
		if !p.delivery.IsZero() {
			if a, ok := arrival[p.bookDay]; !ok || p.delivery.Before(a) {
				arrival[p.bookDay] = p.delivery
			}
		}
	}
	var first lokero.Date
	for _, a := range arrival {
		if first.IsZero() || a.Before(first) {
			first = a
		}
	}
	reqs := make([]occupancy.Request, 0, len(pk.parcels))
	for _, p := range pk.parcels {
		a, ok := arrival[p.bookDay]
		if !ok {
			continue
		}
		from := occupancy.Days(first, a)
		days := p.pickupIn
		if days < 0 {
			days = occupancy.Horizon
		}
		var alts []int
		for _, l := range p.candidates {
			if l != p.choice {
				alts = append(alts, l)
			}
		}
		reqs = append(reqs, occupancy.Request{Stay: occupancy.Interval{From: from, Through: from + days}, Choice: p.choice, Alternatives: alts, Class: p.class})
	}
	var counts []int // every locker's compartments by class, smallest first
	for _, c := range simClasses(pk.o.mix, pk.o.compartments) {
		counts = append(counts, c.Count)
	}
	classes := make([][]int, len(pk.points))
	for i := range classes {
		classes[i] = counts
	}
	firstCome = pk.planOf(reqs, occupancy.FirstComeSized(classes, reqs))
	if len(counts) > 1 {
		plan, exact := occupancy.OptimumSized(classes, reqs, optimumSteps(len(classes)))
		optimum = pk.planOf(reqs, plan)
		if !exact {
			optimum.cut = true
			optimum.atLeast = float64(occupancy.AwayAtLeast(classes, reqs)) / float64(max(1, len(reqs)))
		}
		return optimum, firstCome
	}
	comps := make([]int, len(pk.points))
	for i := range comps {
		comps[i] = counts[0]
	}
	return pk.planOf(reqs, occupancy.Optimum(comps, reqs)), firstCome
}

// bySize sums up the parcels of each size class (the smallest that takes
// them): how many, the share not in the shopper's locker in the end, and
// how many were refused at booking.
func (pk *peak) bySize(cs []lokero.CompartmentClass) string {
	parts := make([]string, len(cs))
	for c, class := range cs {
		total, away, refused := 0, 0, 0
		for _, p := range pk.parcels {
			if p.class != c {
				continue
			}
			total++
			if p.away() {
				away++
			}
			if p.refused {
				refused++
			}
		}
		parts[c] = fmt.Sprintf("%s %d, %.1f %% not in the shopper's locker, %d refused", class.Size, total, 100*float64(away)/float64(max(total, 1)), refused)
	}
	return strings.Join(parts, "; ")
}

// offlinePlan is an offline plan's figures: the shares of the parcels
// placed in another locker and nowhere, and the mean detour of those in
// another.
type offlinePlan struct {
	elsewhere, nowhere, detourM float64
	// cut: the search for the optimum with several compartment classes
	// stopped at a locker before it finished; the plan is the best it
	// found, and atLeast a lower bound of the optimum's share turned away
	// (occupancy.AwayAtLeast).
	cut     bool
	atLeast float64
	// awayBySize is the share of the parcels of each size class (the
	// smallest that takes them) not in the shopper's locker.
	awayBySize []float64
}

// optimumSteps bounds the search for the optimum at each of n lockers
// with several compartment classes (occupancy.OptimumSized): at most
// about a minute of steps (some 3 µs each) in all, 100,000 a locker for
// 200 lockers, but never fewer than 2,000 a locker (above 10,000 lockers
// the whole may take longer). A locker cut short says so: the bench then
// prints the bound beside the plan.
func optimumSteps(n int) int { return max(2_000, 20_000_000/max(n, 1)) }

// planOf sums up a plan of reqs.
func (pk *peak) planOf(reqs []occupancy.Request, p occupancy.Plan) offlinePlan {
	detour := 0.0
	var total, away []int // by the request's class
	for i, l := range p.Locker {
		if l >= 0 && l != reqs[i].Choice {
			detour += geo.Distance(pk.points[reqs[i].Choice], pk.points[l])
		}
		c := reqs[i].Class
		for len(total) <= c {
			total, away = append(total, 0), append(away, 0)
		}
		total[c]++
		if l != reqs[i].Choice {
			away[c]++
		}
	}
	awayBySize := make([]float64, len(total))
	for c := range total {
		awayBySize[c] = float64(away[c]) / float64(max(1, total[c]))
	}
	n := float64(max(1, len(reqs)))
	return offlinePlan{elsewhere: float64(p.Elsewhere) / n, nowhere: float64(p.Nowhere) / n, detourM: detour / float64(max(1, p.Elsewhere)), awayBySize: awayBySize}
}
