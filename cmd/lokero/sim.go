package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/controller"
	"github.com/lokero/lokero/demo"
	"github.com/lokero/lokero/locker"
	"github.com/lokero/lokero/postcode"
	"github.com/lokero/lokero/service"
)

const simUsage = "sim [--url http://127.0.0.1:8080] [--broker tcp://127.0.0.1:1883] [--db ...] [--code-secret-file FILE] [--lockers N] [--parcels M] [--rate 20] " +
	"[--offline 10%] [--offline-for 30s] [--picked 90%] [--burst K] [--state-dir DIR]"

// simCodeRE finds the opening code in a notice of arrival as GET
// /dev/outbox shows it.
var simCodeRE = regexp.MustCompile(`(?:Avauskoodi|Opening code|Öppningskod): ([0-9]+)`)

// simOptions are the flags of `lokero sim`.
type simOptions struct {
	url, broker, db, stateDir string
	secretFile                string // the code secret's file, for the boards' keys ("": where serve finds it)
	lockers, parcels, burst   int
	compartments              int           // each locker's; 0: enough for the parcels (simCompartments)
	mix                       string        // the compartments' sizes (simClasses); "": mixOne
	validFor                  time.Duration // the credentials' life; 0: a week
	first                     int           // the number of the first locker
	burstAt                   time.Time     // when the burst starts (zero: at once)
	rate, offline, picked     float64
	offlineFor, wait, timeout time.Duration
	resendAfter, progress     time.Duration
	seed                      uint64
}

// runSim: `lokero sim`, the fleet simulator. It writes N lockers
// (SIM-000001…) and the credentials it needs into the server's database,
// runs a controller per locker in this process (SimDriver, state files in
// --state-dir) against the server's broker, and drives parcels through
// them over the API: booked to a SIM locker, handed over and deposited by
// a courier, the door shut at the simulated board, the code read from GET
// /dev/outbox (serve --dev), and picked up at the locker's keypad. A share
// of the lockers is cut off the network for a while (each behind a small
// TCP relay the sim controls) and hands parcels out offline meanwhile. At
// the end it waits until every controller has its events answered and
// compares each shipment's status at the centre with what happened at its
// locker: any mismatch, or anything failed, exits 1.
func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sim", stderr)
	var o simOptions
	fs.StringVar(&o.url, "url", envOr("LOKERO_URL", "http://127.0.0.1:8080"), "the server's API (lokero serve --dev)")
	fs.StringVar(&o.broker, "broker", envOr("LOKERO_BROKER", "tcp://127.0.0.1:1883"), "the server's MQTT broker, embedded or external (env LOKERO_BROKER)")
	db := dbFlag(fs)
	secretFile := secretFileFlag(fs)
	fs.IntVar(&o.lockers, "lockers", 100, "how many simulated lockers (SIM-000001…) and controllers")
	fs.IntVar(&o.parcels, "parcels", 300, "how many parcels to send through them (0: none)")
	fs.Float64Var(&o.rate, "rate", 20, "parcels booked a second")
	offline := fs.String("offline", "10%", "the share of lockers cut off the network for --offline-for, once a third of the parcels are ready (0 for none)")
	fs.DurationVar(&o.offlineFor, "offline-for", 30*time.Second, "how long the --offline lockers stay cut off")
	picked := fs.String("picked", "90%", "the share of parcels their recipients collect (the rest stay READY_FOR_PICKUP)")
	fs.IntVar(&o.burst, "burst", 0, "after the parcels, every controller reports this many letter events at once: events/s applied at the centre")
	burstAt := fs.Int64("burst-at", 0, "start the burst at this Unix time (seconds), for several sim processes against one server")
	fs.IntVar(&o.first, "first", 1, "the number of the first locker (SIM-000001 by default): several sim processes take disjoint ranges")
	fs.StringVar(&o.stateDir, "state-dir", "", "where the controllers keep their state files (default: a temporary directory, removed at the end)")
	fs.DurationVar(&o.wait, "wait", 3*time.Minute, "how long to wait for the server to see the new lockers (serve --reload: start it with --reload 1s)")
	fs.DurationVar(&o.timeout, "timeout", 30*time.Minute, "give up on the run after this long")
	fs.DurationVar(&o.resendAfter, "resend-after", controller.DefaultResendAfter, "the controllers' ResendAfter")
	fs.DurationVar(&o.progress, "progress", time.Second, "how often to print progress (stderr)")
	fs.Uint64Var(&o.seed, "seed", 1, "the seed of the lockers' places and the parcels' choices")
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	o.db, o.secretFile = *db, *secretFile
	if len(rest) > 0 {
		return fmt.Errorf("%w: sim takes no arguments: %s", errUsage, simUsage)
	}
	switch {
	case o.lockers < 1 || o.first < 1 || o.first+o.lockers-1 > 999999:
		return fmt.Errorf("%w: --first and --lockers must name lockers within 1..999999; got %d from %d", errUsage, o.lockers, o.first)
	case o.parcels < 0:
		return fmt.Errorf("%w: --parcels must be 0 or more; got %d", errUsage, o.parcels)
	case o.parcels > 0 && !(o.rate > 0):
		return fmt.Errorf("%w: --rate must be above 0; got %v", errUsage, o.rate)
	case o.burst < 0:
		return fmt.Errorf("%w: --burst must be 0 or more; got %d", errUsage, o.burst)
	case o.progress <= 0 || o.wait <= 0 || o.timeout <= 0 || o.resendAfter <= 0:
		return fmt.Errorf("%w: --progress, --wait, --timeout and --resend-after must be positive", errUsage)
	}
	if o.offline, err = simShare(*offline); err != nil {
		return fmt.Errorf("%w: --offline: %v", errUsage, err)
	}
	if o.picked, err = simShare(*picked); err != nil {
		return fmt.Errorf("%w: --picked: %v", errUsage, err)
	}
	if o.offline > 0 && o.offlineFor <= 0 {
		return fmt.Errorf("%w: --offline-for must be positive", errUsage)
	}
	if o.stateDir == "" {
		dir, err := os.MkdirTemp("", "lokero-sim-")
		if err != nil {
			return fmt.Errorf("sim: state directory: %w", err)
		}
		defer os.RemoveAll(dir)
		o.stateDir = dir
	} else if err := os.MkdirAll(o.stateDir, 0o700); err != nil {
		return fmt.Errorf("sim: state directory: %w", err)
	}
	if *burstAt > 0 {
		o.burstAt = time.Unix(*burstAt, 0)
	}
	o.url = strings.TrimRight(o.url, "/")
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	s := &sim{o: o, out: stdout, log: &simWriter{w: stderr}, http: &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: 256, MaxIdleConnsPerHost: 256, IdleConnTimeout: 30 * time.Second}}}
	s.codes.waiting = map[string]chan string{}
	return s.run(ctx)
}

// simShare reads a share: "10%", "0.1", or "0".
func simShare(v string) (float64, error) {
	v = strings.TrimSpace(v)
	div := 1.0
	if t, ok := strings.CutSuffix(v, "%"); ok {
		v, div = strings.TrimSpace(t), 100
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f/div < 0 || f/div > 1 {
		return 0, fmt.Errorf("%q is not a share from 0 to 100%%", v)
	}
	return f / div, nil
}

// sim is one run of the fleet simulator.
type sim struct {
	o        simOptions
	out, log io.Writer
	http     *http.Client
	bases    []string      // the servers' APIs, when more than one (bench peak --instances): call spreads over them
	nextBase atomic.Uint64 // the last of bases called

	retailers []string // API keys
	couriers  []string // tokens
	operator  string   // token, for /dev/outbox
	lockers   []*simLocker
	byID      map[string]*simLocker
	parcels   []*simParcel

	codes struct {
		mu      sync.Mutex
		waiting map[string]chan string // tracking code → its code, once
	}
	n struct {
		booked, deposited, ready, picked, offlinePicks, retries, failed atomic.Int64
	}
	cutState atomic.Int32 // 0 before the cut, 1 cut, 2 restored

	mu       sync.Mutex
	failures []string        // the first few
	keypad   []time.Duration // offline keypad-to-door times
}

// simLocker is one simulated locker: its controller, its lock board and,
// when it is to be cut off, its relay.
type simLocker struct {
	id     string
	token  string
	driver *controller.SimDriver
	ctl    *controller.Controller
	relay  *simRelay    // nil: it connects to the broker directly
	keypad sync.Mutex   // one person at the keypad at a time
	ready  atomic.Int64 // parcels whose code came, not picked up yet
}

// online reports whether the locker is on the network and its
// controller connected.
func (l *simLocker) online() bool {
	return (l.relay == nil || !l.relay.Down()) && l.ctl.Connected()
}

// simParcel is one parcel and what happened to it at its locker.
type simParcel struct {
	n            int
	retailer     string
	id, tracking string
	locker       *simLocker
	compartment  int
	collect      bool // the recipient comes for it
	deposited    atomic.Bool
	picked       atomic.Bool
}

// fail records a failure of the run.
func (s *sim) fail(format string, args ...any) {
	s.n.failed.Add(1)
	msg := fmt.Sprintf(format, args...)
	s.mu.Lock()
	if len(s.failures) < 10 {
		s.failures = append(s.failures, msg)
	}
	s.mu.Unlock()
}

func (s *sim) run(ctx context.Context) error {
	if err := s.checkServer(ctx); err != nil {
		return err
	}
	if err := s.setup(ctx); err != nil {
		return err
	}
	if err := s.checkDev(ctx); err != nil {
		return err
	}
	if err := s.waitDirectory(ctx); err != nil {
		return err
	}
	stopFleet, err := s.startFleet(ctx)
	defer stopFleet()
	if err != nil {
		return err
	}
	progressCtx, stopProgress := context.WithCancel(ctx)
	progressDone := make(chan struct{})
	go func() { defer close(progressDone); s.printProgress(progressCtx) }()
	defer func() { stopProgress(); <-progressDone }()

	start := time.Now()
	if s.o.parcels > 0 {
		s.driveParcels(ctx)
	}
	if _, err := s.settle(ctx); err != nil {
		return err
	}
	parcelTime := time.Since(start)
	var burst simBurst
	if s.o.burst > 0 {
		var err error
		if burst, err = s.burst(ctx); err != nil {
			return err
		}
	}
	mismatches, checked := s.verify(ctx)
	stopProgress()
	<-progressDone
	return s.summary(parcelTime, burst, mismatches, checked)
}

// simHTTPError is an answer the sim did not expect.
type simHTTPError struct {
	method, path string
	status       int
	body         string
}

func (e *simHTTPError) Error() string {
	return fmt.Sprintf("%s %s: %d %s", e.method, e.path, e.status, strings.TrimSpace(e.body))
}

// call sends a JSON request with a bearer token and decodes a 2xx answer
// into out. A 429 is waited out (Retry-After) and sent again. With more
// than one server (bases), each call goes to the next in turn.
func (s *sim) call(ctx context.Context, method, path, token string, body, out any) (int, error) {
	base := s.o.url
	if len(s.bases) > 1 {
		base = s.bases[s.nextBase.Add(1)%uint64(len(s.bases))]
	}
	return s.callAt(ctx, base, method, path, token, body, out)
}

// callAt is call to the server at base.
func (s *sim) callAt(ctx context.Context, base, method, path, token string, body, out any) (int, error) {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return 0, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	for attempt := 0; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, method, base+path, bytes.NewReader(raw))
		if err != nil {
			return 0, fmt.Errorf("%s %s: %w", method, path, err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := s.http.Do(req)
		if err != nil {
			if ctx.Err() == nil && attempt < 5 {
				time.Sleep(200 * time.Millisecond)
				continue
			}
			return 0, fmt.Errorf("%s %s: %w", method, path, err)
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w", method, path, err)
		}
		if resp.StatusCode == http.StatusTooManyRequests && attempt < 100 {
			wait := time.Second
			if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs >= 0 {
				wait = time.Duration(secs)*time.Second + time.Duration(rand.IntN(200))*time.Millisecond
			}
			select {
			case <-time.After(wait):
				continue
			case <-ctx.Done():
				return resp.StatusCode, fmt.Errorf("%s %s: %w", method, path, ctx.Err())
			}
		}
		if resp.StatusCode/100 != 2 {
			return resp.StatusCode, &simHTTPError{method, path, resp.StatusCode, string(data)}
		}
		if out != nil {
			if err := json.Unmarshal(data, out); err != nil {
				return resp.StatusCode, fmt.Errorf("%s %s: decode %.200s: %w", method, path, data, err)
			}
		}
		return resp.StatusCode, nil
	}
}

// checkServer checks that the server answers at --url.
func (s *sim) checkServer(ctx context.Context) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, err := http.NewRequestWithContext(ctx, "GET", s.o.url+"/healthz", nil)
		if err != nil {
			return fmt.Errorf("sim: --url %q: %w", s.o.url, err)
		}
		resp, err := s.http.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("sim: no healthy lokero serve at %s (start it: lokero serve --dev --reload 1s --db %s): %v", s.o.url, s.o.db, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// checkDev checks that the server runs with --dev: the sim reads the
// opening codes from GET /dev/outbox.
func (s *sim) checkDev(ctx context.Context) error {
	_, err := s.call(ctx, "GET", "/dev/outbox?limit=1", s.operator, nil, nil)
	var he *simHTTPError
	switch {
	case errors.As(err, &he) && he.status == http.StatusNotFound:
		return fmt.Errorf("sim: the server at %s does not run with --dev: the sim reads the opening codes from GET /dev/outbox; start it with lokero serve --dev", s.o.url)
	case errors.As(err, &he) && he.status == http.StatusUnauthorized:
		return fmt.Errorf("sim: the server at %s does not know the operator the sim made in %s: give the sim the server's database (--db)", s.o.url, s.o.db)
	case err != nil:
		return fmt.Errorf("sim: %w", err)
	}
	return nil
}

// simCompartments is how many compartments each locker gets: room for
// its share of the parcels four times over (one retailer may book a
// quarter of a locker a day, serve --retailer-share), at least 10.
func simCompartments(parcels, lockers int) int {
	per := (parcels + lockers - 1) / lockers
	return min(max(10, 4*per+4), 500)
}

// Compartment mixes of the sim's lockers (simClasses).
const (
	mixOne  = "one"  // every compartment M
	mixDemo = "demo" // S, M and L as the demo network's SMARTPOSTs have them
)

// mixDemoShares are the shares of S, M and L compartments in a mixDemo
// locker: the demo network's SMARTPOSTs have 20–40 S, 10–20 M and 4–10 L
// (demo.Generate), 58, 29 and 13 % of the means. Parcels are drawn in the
// same shares (bench peak --mix demo).
var mixDemoShares = [3]float64{0.58, 0.29, 0.13}

// simClasses is a sim locker's n compartments in a mix: mixOne all of
// size M, mixDemo split into S, M and L by mixDemoShares (n at least 3).
// The split is by largest remainders (each class the whole part of its
// share, the compartments left one each to the largest fractions), with
// one of each class at least: 13 are 7 S, 4 M and 2 L (7.54, 3.77 and
// 1.69). Rounding S and L apart and giving M the rest, as the bench did
// before, made them 8, 3 and 2: M 23 % of the compartments for 29 % of
// the parcels.
func simClasses(mix string, n int) []lokero.CompartmentClass {
	if mix != mixDemo {
		return []lokero.CompartmentClass{{Size: "M", LengthCM: 70, WidthCM: 40, HeightCM: 20, Count: n}}
	}
	var counts [3]int
	order := []int{0, 1, 2}
	exact := func(i int) float64 { return mixDemoShares[i] * float64(n) }
	total := 0
	for i := range counts {
		counts[i] = max(1, int(exact(i)))
		total += counts[i]
	}
	// The fractions to a billionth: equal ones (S's and L's 0.6 of 20)
	// go to the class listed first, not to a rounding error.
	frac := func(i int) float64 { return math.Round((exact(i)-math.Floor(exact(i)))*1e9) / 1e9 }
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(frac(b), frac(a)) })
	for k := 0; total < n; k++ {
		counts[order[k%3]]++
		total++
	}
	for ; total > n; total-- {
		counts[0]-- // only where a class was raised to one: S is the largest
	}
	cs := slices.Clone(lokero.StandardCompartmentClasses)
	for i := range cs {
		cs[i].Count = counts[i]
	}
	return cs
}

// classesText is a locker's compartment classes as "8 S, 3 M, 2 L".
func classesText(cs []lokero.CompartmentClass) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = fmt.Sprintf("%d %s", c.Count, c.Size)
	}
	return strings.Join(parts, ", ")
}

// simLocations makes the sim's lockers: SIM-000001…, SMARTPOSTs placed
// like demo.Synthetic's points, each with compartments in mix.
func simLocations(reg *postcode.Registry, first, n, compartments int, mix string, seed uint64) []lokero.Location {
	places := demo.Synthetic(reg, n, seed+uint64(first))
	locs := make([]lokero.Location, n)
	for i, p := range places {
		l := lokero.Location{
			ID: simLockerID(first + i), Type: lokero.TypeSmartpost, Name: fmt.Sprintf("Sim locker %d", first+i),
			Street: fmt.Sprintf("Simulaattorinkatu %d", i%200+1), Postcode: p.Postcode, City: p.City, Lat: p.Lat, Lon: p.Lon,
			Compartments: simClasses(mix, compartments),
		}
		l.Normalize()
		locs[i] = l
	}
	return locs
}

// simLockerID is the location ID of the n-th (1-based) sim locker.
func simLockerID(n int) string { return fmt.Sprintf("SIM-%06d", n) }

// setup writes the lockers and the credentials into the database, as
// `lokero import locations`, `retailer add`, `courier add`, `operator
// add` and `locker provision` do.
func (s *sim) setup(ctx context.Context) error {
	p, err := openPlatform(ctx, s.o.db, calendar.Default(), clock(), newLogger(io.Discard))
	if err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	defer p.Close()
	if _, err := p.queueJobs(ctx, s.o.db, newLogger(io.Discard)); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	if err := p.useCodes(ctx, s.o.db, s.o.secretFile, s.log); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	if err := p.dir.Reload(ctx); err != nil {
		return fmt.Errorf("sim: %w", err)
	}
	comps := s.o.compartments
	if comps == 0 {
		comps = simCompartments(s.o.parcels, s.o.lockers)
	}
	locs := simLocations(p.dir.Postcodes(), s.o.first, s.o.lockers, comps, s.o.mix, s.o.seed)
	res, err := p.dir.Import(ctx, locs)
	if err != nil {
		return fmt.Errorf("sim: import the lockers: %w", err)
	}
	fmt.Fprintf(s.log, "sim: %d lockers %s… (%d compartments each: %s) in %s: %d new, %d updated\n",
		len(locs), locs[0].ID, comps, classesText(locs[0].Compartments), redactDSN(s.o.db), res.Inserted, res.Updated)
	// Enough retailers and couriers that the default rate limits
	// (retailer 20/s, courier 5/s a credential) do not hold the run up;
	// a 429 is waited out anyway.
	retailers := max(1, int(math.Ceil(s.o.rate/10)))
	couriers := max(1, int(math.Ceil(s.o.rate*2/4)))
	stamp := time.Now().UTC().Format("20060102T150405")
	for i := range retailers {
		_, key, err := p.shipments.AddRetailer(ctx, fmt.Sprintf("lokero sim %s #%d", stamp, i+1), false)
		if err != nil {
			return fmt.Errorf("sim: add a retailer: %w", err)
		}
		s.retailers = append(s.retailers, key)
	}
	issue := func(req service.CredentialRequest) (string, error) {
		req.ValidFor = 7 * 24 * time.Hour
		if s.o.validFor > 0 {
			req.ValidFor = s.o.validFor
		}
		_, token, _, err := p.lockers.IssueCredential(ctx, req)
		if err != nil {
			return "", fmt.Errorf("sim: issue a %s credential: %w", req.Kind, err)
		}
		return token, nil
	}
	for i := range couriers {
		token, err := issue(service.CredentialRequest{Kind: lokero.KindCourier, Name: fmt.Sprintf("lokero sim %s courier #%d", stamp, i+1)})
		if err != nil {
			return err
		}
		s.couriers = append(s.couriers, token)
	}
	if s.operator, err = issue(service.CredentialRequest{Kind: lokero.KindOperator, Name: "lokero sim " + stamp}); err != nil {
		return err
	}
	s.byID = make(map[string]*simLocker, len(locs))
	last := time.Now()
	for i, l := range locs {
		token, err := issue(service.CredentialRequest{Kind: lokero.KindDevice, Name: "device of " + l.ID, LocationID: l.ID, RevokeOlder: true})
		if err != nil {
			return err
		}
		sl := &simLocker{id: l.ID, token: token, driver: controller.NewSimDriver(comps)}
		s.lockers = append(s.lockers, sl)
		s.byID[l.ID] = sl
		if time.Since(last) >= s.o.progress {
			fmt.Fprintf(s.log, "sim: provisioned %d/%d lockers\n", i+1, len(locs))
			last = time.Now()
		}
	}
	fmt.Fprintf(s.log, "sim: %d retailers, %d couriers, an operator and %d device credentials made\n", retailers, couriers, len(locs))
	return nil
}

// waitDirectory waits until the server's directory has the sim's last
// locker (serve re-reads it every --reload).
func (s *sim) waitDirectory(ctx context.Context) error {
	id := s.lockers[len(s.lockers)-1].id
	start := time.Now()
	last := start
	for _, base := range s.apis() {
		if err := s.waitLocation(ctx, base, id, start, &last); err != nil {
			return err
		}
	}
	fmt.Fprintf(s.log, "sim: the server sees the lockers (after %s)\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// apis are the APIs of the servers the sim calls: its --url, or every
// one of bases.
func (s *sim) apis() []string {
	if len(s.bases) > 0 {
		return s.bases
	}
	return []string{s.o.url}
}

// waitLocation waits until the server at base has location id in its
// directory, telling of the wait every --progress since last.
func (s *sim) waitLocation(ctx context.Context, base, id string, start time.Time, last *time.Time) error {
	for {
		_, err := s.callAt(ctx, base, "GET", "/v1/locations/"+id, "", nil, nil)
		if err == nil {
			return nil
		}
		var he *simHTTPError
		if !errors.As(err, &he) || he.status != http.StatusNotFound {
			return fmt.Errorf("sim: %w", err)
		}
		if time.Since(start) > s.o.wait {
			return fmt.Errorf("sim: the server did not see the new lockers within %s: start lokero serve with --reload 1s (it re-reads the directory every --reload, 1m by default)", s.o.wait)
		}
		if time.Since(*last) >= s.o.progress {
			fmt.Fprintf(s.log, "sim: waiting for the server to read the directory again (%s so far; lokero serve --reload 1s makes it quick)\n",
				time.Since(start).Round(time.Second))
			*last = time.Now()
		}
		select {
		case <-time.After(250 * time.Millisecond):
		case <-ctx.Done():
			return fmt.Errorf("sim: %w", ctx.Err())
		}
	}
}

// offlineLocker reports whether the i-th of n lockers is one of the share
// to be cut off, spread evenly.
func offlineLocker(i, n int, share float64) bool {
	if share <= 0 {
		return false
	}
	return math.Floor(float64(i+1)*share) > math.Floor(float64(i)*share)
}

// startFleet starts a controller per locker (startControllers), running
// until the returned func stops them and closes them and their relays;
// call it even when startFleet fails.
func (s *sim) startFleet(ctx context.Context) (stop func(), err error) {
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	var running sync.WaitGroup
	stop = func() {
		cancel()
		running.Wait()
		for _, l := range s.lockers {
			if l.ctl != nil {
				l.ctl.Close()
			}
			if l.relay != nil {
				l.relay.Close()
			}
		}
	}
	return stop, s.startControllers(ctx, runCtx, &running)
}

// startControllers opens and runs a controller per locker, the ones to be
// cut behind a relay, and waits until all are connected.
func (s *sim) startControllers(ctx, runCtx context.Context, running *sync.WaitGroup) error {
	target := strings.TrimPrefix(strings.TrimPrefix(s.o.broker, "tcp://"), "mqtt://")
	cut := 0
	// The lockers' keypads share this process's cores: their derivations
	// take turns, as the server's do (locker.Derivations).
	derivations := locker.NewDerivations(locker.DefaultKDF.Slots(runtime.GOMAXPROCS(0)))
	for i, l := range s.lockers {
		broker := s.o.broker
		if offlineLocker(i, len(s.lockers), s.o.offline) {
			if !strings.HasPrefix(s.o.broker, "tcp://") {
				return fmt.Errorf("sim: --offline needs a tcp:// broker (the sim relays the connections it cuts); got %s", s.o.broker)
			}
			r, err := newSimRelay(target)
			if err != nil {
				return fmt.Errorf("sim: %w", err)
			}
			l.relay = r
			broker = "tcp://" + r.Addr()
			cut++
		}
		c, err := controller.Open(controller.Config{LocationID: l.id, Broker: broker, Token: l.token,
			StatePath: filepath.Join(s.o.stateDir, l.id+".db"), Driver: l.driver, ResendAfter: s.o.resendAfter,
			Derivations: derivations})
		if err != nil {
			return fmt.Errorf("sim: %w", err)
		}
		l.ctl = c
		running.Add(1)
		go func() {
			defer running.Done()
			if err := c.Run(runCtx); err != nil {
				s.fail("controller %s: %v", l.id, err)
			}
		}()
	}
	fmt.Fprintf(s.log, "sim: %d controllers started against %s (%d of them behind a relay to be cut)\n", len(s.lockers), s.o.broker, cut)
	start := time.Now()
	last := start
	for {
		n := s.connected()
		if n == len(s.lockers) {
			fmt.Fprintf(s.log, "sim: %d lockers connected in %s\n", n, time.Since(start).Round(time.Millisecond))
			return nil
		}
		if time.Since(last) >= s.o.progress {
			fmt.Fprintf(s.log, "sim: %d/%d lockers connected\n", n, len(s.lockers))
			last = time.Now()
		}
		select {
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
			return fmt.Errorf("sim: only %d of %d lockers connected: %w", n, len(s.lockers), ctx.Err())
		}
	}
}

// connected counts the connected controllers.
func (s *sim) connected() int {
	n := 0
	for _, l := range s.lockers {
		if l.ctl.Connected() {
			n++
		}
	}
	return n
}

// stats sums the controllers' counts.
func (s *sim) stats() controller.ControllerStats {
	var t controller.ControllerStats
	for _, l := range s.lockers {
		if l.ctl == nil {
			continue
		}
		st := l.ctl.Stats()
		t.Sent += st.Sent
		t.Applied += st.Applied
		t.Duplicates += st.Duplicates
		t.Rejected += st.Rejected
		t.Gaps += st.Gaps
		t.Deriving += st.Deriving
	}
	return t
}

// printProgress prints a line every --progress until ctx ends.
func (s *sim) printProgress(ctx context.Context) {
	tick := time.NewTicker(s.o.progress)
	defer tick.Stop()
	prev, prevAt := s.stats().Applied, time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			st := s.stats()
			rate := float64(st.Applied-prev) / now.Sub(prevAt).Seconds()
			prev, prevAt = st.Applied, now
			cut := ""
			if s.cutState.Load() == 1 {
				cut = " (lockers cut off)"
			}
			fmt.Fprintf(s.log, "sim: connected %d/%d%s; parcels booked %d, deposited %d, ready %d, picked %d (%d offline); events applied %d (%.0f/s)\n",
				s.connected(), len(s.lockers), cut, s.n.booked.Load(), s.n.deposited.Load(), s.n.ready.Load(),
				s.n.picked.Load(), s.n.offlinePicks.Load(), st.Applied, rate)
		}
	}
}

// driveParcels books --parcels at --rate and takes each through its
// locker, cutting the --offline lockers off once a third are ready.
func (s *sim) driveParcels(ctx context.Context) {
	rng := rand.New(rand.NewPCG(s.o.seed, s.o.seed^0x5151))
	s.parcels = make([]*simParcel, s.o.parcels)
	for i := range s.parcels {
		s.parcels[i] = &simParcel{n: i, retailer: s.retailers[i%len(s.retailers)],
			locker: s.lockers[rng.IntN(len(s.lockers))], collect: rng.Float64() < s.o.picked}
	}
	pollCtx, stopPoll := context.WithCancel(ctx)
	defer stopPoll()
	go s.pollCodes(pollCtx)
	cutDone := make(chan struct{})
	go func() { defer close(cutDone); s.cutAndRestore(ctx) }()

	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / s.o.rate)
	next := time.Now()
	for _, p := range s.parcels {
		if d := time.Until(next); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
		if ctx.Err() != nil {
			break
		}
		next = next.Add(interval)
		wg.Add(1)
		go func() { defer wg.Done(); s.runParcel(ctx, p, rand.New(rand.NewPCG(s.o.seed, uint64(p.n)))) }()
	}
	wg.Wait()
	<-cutDone
}

// cutAndRestore cuts the relayed lockers off once a third of the parcels
// are ready (or all are done with), and restores them --offline-for later.
func (s *sim) cutAndRestore(ctx context.Context) {
	var relayed []*simLocker
	for _, l := range s.lockers {
		if l.relay != nil {
			relayed = append(relayed, l)
		}
	}
	if len(relayed) == 0 {
		return
	}
	for s.n.ready.Load() < int64(max(1, s.o.parcels/3)) && s.n.ready.Load()+s.n.failed.Load() < int64(s.o.parcels) {
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return
		}
	}
	// The controllers to be cut get the expect_pickup of each parcel made
	// ready before they are cut (the centre sends it after the notice):
	// a real network would lose some, whose recipients then find the
	// door shut until the locker is back; the sim waits up to 5 s.
	for settle := time.Now().Add(5 * time.Second); time.Now().Before(settle); {
		behind := 0
		for _, l := range relayed {
			if int64(l.ctl.Expecting()) < l.ready.Load() {
				behind++
			}
		}
		if behind == 0 {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, l := range relayed {
		l.relay.Cut()
	}
	s.cutState.Store(1)
	fmt.Fprintf(s.log, "sim: %d lockers cut off the network for %s\n", len(relayed), s.o.offlineFor)
	select {
	case <-time.After(s.o.offlineFor):
	case <-ctx.Done():
	}
	for _, l := range relayed {
		l.relay.Restore()
	}
	s.cutState.Store(2)
	fmt.Fprintf(s.log, "sim: %d lockers back on the network\n", len(relayed))
}

// runParcel takes one parcel through: booking, handover, deposit, the
// door shut, its code, and (for those collected) the pickup at the keypad.
func (s *sim) runParcel(ctx context.Context, p *simParcel, rng *rand.Rand) {
	body := map[string]any{
		"pickup_point_id": p.locker.id,
		"reference":       fmt.Sprintf("sim-%d", p.n+1),
		"sender":          map[string]any{"name": "Simukauppa", "street": "Tyynenmerenkatu 11", "postcode": "00220", "city": "Helsinki"},
		"recipient": map[string]any{"name": fmt.Sprintf("Vastaanottaja %d", p.n+1), "street": "Fredrikinkatu 1", "postcode": "00120",
			"city": "Helsinki", "email": fmt.Sprintf("sim-%d@example.fi", p.n+1)},
		"parcel": map[string]any{"length_cm": 30, "width_cm": 20, "height_cm": 10, "weight_kg": 1, "contents": "goods"},
	}
	var booked struct {
		ID           string `json:"id"`
		TrackingCode string `json:"tracking_code"`
		Destination  struct {
			ID string `json:"id"`
		} `json:"destination"`
	}
	if _, err := s.call(ctx, "POST", "/v1/shipments", p.retailer, body, &booked); err != nil {
		s.fail("book parcel %d: %v", p.n+1, err)
		return
	}
	p.id, p.tracking = booked.ID, booked.TrackingCode
	s.n.booked.Add(1)
	if l := s.byID[booked.Destination.ID]; l != nil {
		p.locker = l // the retailer's share of a locker full: it overflowed to another sim locker
	} else {
		s.fail("parcel %s was routed to %s, not to a sim locker", p.tracking, booked.Destination.ID)
		return
	}
	courier := s.couriers[rng.IntN(len(s.couriers))]
	if _, err := s.call(ctx, "POST", "/v1/shipments/"+p.id+"/handover", courier, nil, nil); err != nil {
		s.fail("hand %s over: %v", p.tracking, err)
		return
	}
	waitCode := s.expectCode(p.tracking)
	var dep struct {
		Compartment int `json:"compartment"`
	}
	if _, err := s.call(ctx, "POST", "/v1/lockers/"+p.locker.id+"/deposits", courier, map[string]string{"tracking_code": p.tracking}, &dep); err != nil {
		s.forgetCode(p.tracking)
		s.fail("deposit %s: %v", p.tracking, err)
		return
	}
	p.compartment = dep.Compartment
	if err := p.locker.driver.Open(ctx, dep.Compartment); err != nil {
		s.forgetCode(p.tracking)
		s.fail("open %s's door %d at %s: %v", p.tracking, dep.Compartment, p.locker.id, err)
		return
	}
	p.locker.driver.Close(dep.Compartment) // the courier shuts it: door_closed
	p.deposited.Store(true)
	s.n.deposited.Add(1)

	var code string
	select {
	case code = <-waitCode:
	case <-ctx.Done():
		s.forgetCode(p.tracking)
		s.fail("%s: no code in the outbox: %v", p.tracking, ctx.Err())
		return
	}
	s.n.ready.Add(1)
	p.locker.ready.Add(1)
	if !p.collect {
		return
	}
	// The recipient comes after a while; to a locker that is to be cut
	// off, while it is cut off (the offline pickups).
	dwell := time.Duration(200+rng.IntN(800)) * time.Millisecond
	if p.locker.relay != nil && s.cutState.Load() == 0 {
		for s.cutState.Load() == 0 {
			select {
			case <-time.After(20 * time.Millisecond):
			case <-ctx.Done():
				return
			}
		}
		dwell = time.Duration(rng.Int64N(int64(s.o.offlineFor/2) + 1))
	}
	select {
	case <-time.After(dwell):
	case <-ctx.Done():
		return
	}
	s.pickup(ctx, p, code)
}

// pickup enters p's code at its locker's keypad until the door opens,
// then shuts it. A code entered while the locker is cut off is checked by
// the controller alone; should it not know the parcel yet, the recipient
// tries again a little later.
func (s *sim) pickup(ctx context.Context, p *simParcel, code string) {
	giveUp := time.Now().Add(s.o.offlineFor + time.Minute)
	for {
		p.locker.keypad.Lock()
		offline := p.locker.relay != nil && p.locker.relay.Down()
		start := time.Now()
		res, err := p.locker.ctl.Keypad(ctx, code)
		took := time.Since(start)
		p.locker.keypad.Unlock()
		if err != nil {
			s.fail("%s: keypad at %s: %v", p.tracking, p.locker.id, err)
			return
		}
		if res.Result == controller.ResultOpen {
			p.picked.Store(true)
			p.locker.ready.Add(-1)
			if offline {
				s.n.offlinePicks.Add(1)
				s.mu.Lock()
				s.keypad = append(s.keypad, took)
				s.mu.Unlock()
			}
			if res.Compartment != p.compartment {
				s.fail("%s: the keypad opened compartment %d; the parcel is in %d", p.tracking, res.Compartment, p.compartment)
			}
			time.Sleep(20 * time.Millisecond) // the recipient takes the parcel
			p.locker.driver.Close(res.Compartment)
			s.n.picked.Add(1)
			return
		}
		// Not open: the controller did not know the parcel yet (its
		// expect_pickup lost in the cut) or did not hear from the centre.
		// The recipient comes back once the locker is online again, so as
		// not to run into the keypad's lockout.
		s.n.retries.Add(1)
		wait := time.Second
		if res.Result == controller.ResultLocked {
			wait = max(wait, res.Wait)
		}
		for again := time.Now().Add(wait); time.Now().Before(again) || !p.locker.online(); {
			if time.Now().After(giveUp) {
				s.fail("%s: the keypad at %s never opened for its code (last: %s)", p.tracking, p.locker.id, res.Result)
				return
			}
			select {
			case <-time.After(50 * time.Millisecond):
			case <-ctx.Done():
				s.fail("%s: pickup: %v", p.tracking, ctx.Err())
				return
			}
		}
	}
}

// expectCode registers a parcel whose code the outbox is to give.
func (s *sim) expectCode(tracking string) <-chan string {
	ch := make(chan string, 1)
	s.codes.mu.Lock()
	s.codes.waiting[tracking] = ch
	s.codes.mu.Unlock()
	return ch
}

// forgetCode drops a registration.
func (s *sim) forgetCode(tracking string) {
	s.codes.mu.Lock()
	delete(s.codes.waiting, tracking)
	s.codes.mu.Unlock()
}

// pollCodes reads the newest messages of GET /dev/outbox while parcels
// wait for their codes and hands each its code (from its notice of
// arrival).
func (s *sim) pollCodes(ctx context.Context) {
	for {
		select {
		case <-time.After(150 * time.Millisecond):
		case <-ctx.Done():
			return
		}
		s.codes.mu.Lock()
		n := len(s.codes.waiting)
		s.codes.mu.Unlock()
		if n == 0 {
			continue
		}
		var box struct {
			Messages []struct {
				TrackingCode string `json:"tracking_code"`
				Kind         string `json:"kind"`
				Text         string `json:"text"`
			} `json:"messages"`
		}
		if _, err := s.call(ctx, "GET", "/dev/outbox?limit=1000", s.operator, nil, &box); err != nil {
			if ctx.Err() == nil {
				s.fail("read the outbox: %v", err)
			}
			continue
		}
		s.codes.mu.Lock()
		for _, m := range box.Messages {
			ch := s.codes.waiting[m.TrackingCode]
			if ch == nil || m.Kind != "arrival" {
				continue
			}
			if code := simCodeRE.FindStringSubmatch(m.Text); code != nil {
				ch <- code[1]
				delete(s.codes.waiting, m.TrackingCode)
			}
		}
		s.codes.mu.Unlock()
	}
}

// settle waits until every controller is connected and has every event
// answered (twice in a row: a door shut reaches the controller through
// its driver's channel before it is queued).
func (s *sim) settle(ctx context.Context) (time.Time, error) {
	start := time.Now()
	quiet := 0
	var quietAt time.Time
	for {
		connected, pending := 0, 0
		for _, l := range s.lockers {
			if l.ctl.Connected() {
				connected++
			}
			pending += l.ctl.Pending() + len(l.driver.Events())
		}
		if connected == len(s.lockers) && pending == 0 {
			if quiet == 0 {
				quietAt = time.Now()
			}
			quiet++
		} else {
			quiet = 0
		}
		if quiet == 2 {
			fmt.Fprintf(s.log, "sim: every controller connected, every event answered (%s)\n", quietAt.Sub(start).Round(time.Millisecond))
			return quietAt, nil
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return time.Time{}, fmt.Errorf("sim: %d of %d lockers connected and %d events unanswered when the run timed out: %w",
				connected, len(s.lockers), pending, ctx.Err())
		}
	}
}

// simBurst is what the burst measured.
type simBurst struct {
	events  int64
	queued  time.Duration // until every controller had queued its events
	applied time.Duration // until every event was answered
	rate    float64       // events applied a second
}

// burst has every controller report --burst letter events at once and
// measures how fast the centre applies them.
func (s *sim) burst(ctx context.Context) (simBurst, error) {
	if d := time.Until(s.o.burstAt); d > 0 {
		fmt.Fprintf(s.log, "sim: the burst starts in %s\n", d.Round(time.Millisecond))
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return simBurst{}, fmt.Errorf("sim: burst: %w", ctx.Err())
		}
	}
	before := s.stats().Applied
	fmt.Fprintf(s.log, "sim: burst: %d controllers × %d letter events\n", len(s.lockers), s.o.burst)
	start := time.Now()
	var wg sync.WaitGroup
	for _, l := range s.lockers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range s.o.burst {
				if err := l.ctl.Letters(ctx, 1); err != nil {
					s.fail("%s: letters: %v", l.id, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	queued := time.Since(start)
	end, err := s.settle(ctx)
	if err != nil {
		return simBurst{}, err
	}
	b := simBurst{events: s.stats().Applied - before, queued: queued, applied: end.Sub(start)}
	b.rate = float64(b.events) / b.applied.Seconds()
	return b, nil
}

// verify compares each parcel's status at the centre with what happened
// at its locker; it returns the mismatches and how many it checked.
func (s *sim) verify(ctx context.Context) (mismatches, checked int64) {
	var mis, n atomic.Int64
	work := make(chan *simParcel)
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range work {
				want := "READY_FOR_PICKUP"
				if p.picked.Load() {
					want = "PICKED_UP"
				}
				var sh struct {
					Status string `json:"status"`
				}
				if _, err := s.call(ctx, "GET", "/v1/shipments/"+p.id, p.retailer, nil, &sh); err != nil {
					s.fail("check %s: %v", p.tracking, err)
					continue
				}
				n.Add(1)
				if sh.Status != want {
					mis.Add(1)
					s.fail("%s at %s: the centre has %s; the locker did %s", p.tracking, p.locker.id, sh.Status, want)
				}
			}
		}()
	}
	for _, p := range s.parcels {
		if p.deposited.Load() {
			work <- p
		}
	}
	close(work)
	wg.Wait()
	return mis.Load(), n.Load()
}

// summary prints the run's outcome and fails it on any mismatch or
// failure.
func (s *sim) summary(took time.Duration, b simBurst, mismatches, checked int64) error {
	st := s.stats()
	fmt.Fprintf(s.out, "lockers: %d (%d cut off for %s)\n", len(s.lockers), s.relayed(), s.o.offlineFor)
	fmt.Fprintf(s.out, "parcels: %d booked, %d deposited, %d picked up (%d offline), %d left waiting; %d keypad retries; in %s\n",
		s.n.booked.Load(), s.n.deposited.Load(), s.n.picked.Load(), s.n.offlinePicks.Load(),
		s.n.deposited.Load()-s.n.picked.Load(), s.n.retries.Load(), took.Round(time.Millisecond))
	fmt.Fprintf(s.out, "events: %d sent, %d applied, %d duplicates ignored, %d rejected, %d gaps filled\n",
		st.Sent, st.Applied, st.Duplicates, st.Rejected, st.Gaps)
	s.mu.Lock()
	lat := slices.Clone(s.keypad)
	failures := slices.Clone(s.failures)
	s.mu.Unlock()
	if len(lat) > 0 {
		slices.Sort(lat)
		pct := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
		fmt.Fprintf(s.out, "offline keypad to door: p50 %s, p99 %s (%d pickups)\n",
			pct(0.5).Round(10*time.Microsecond), pct(0.99).Round(10*time.Microsecond), len(lat))
	}
	if b.events > 0 {
		fmt.Fprintf(s.out, "burst: %d events applied in %s (queued in %s): %.0f events/s\n",
			b.events, b.applied.Round(time.Millisecond), b.queued.Round(time.Millisecond), b.rate)
	}
	fmt.Fprintf(s.out, "checked: %d shipments at the centre; mismatches: %d; failures: %d\n", checked, mismatches, s.n.failed.Load())
	for _, f := range failures {
		fmt.Fprintf(s.log, "sim: %s\n", f)
	}
	if mismatches > 0 || s.n.failed.Load() > 0 {
		return fmt.Errorf("sim: %d mismatches, %d failures", mismatches, s.n.failed.Load())
	}
	return nil
}

// relayed counts the lockers behind a relay.
func (s *sim) relayed() int {
	n := 0
	for _, l := range s.lockers {
		if l.relay != nil {
			n++
		}
	}
	return n
}

// simRelay forwards TCP connections to a target until Cut, which drops
// them and refuses new ones (the locker's network gone) until Restore.
type simRelay struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	conns  map[net.Conn]struct{}
}

// newSimRelay listens on a free loopback port.
func newSimRelay(target string) (*simRelay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	r := &simRelay{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	go r.serve()
	return r, nil
}

func (r *simRelay) serve() {
	for {
		in, err := r.ln.Accept()
		if err != nil {
			return
		}
		if r.Down() {
			in.Close()
			continue
		}
		out, err := net.Dial("tcp", r.target)
		if err != nil {
			in.Close()
			continue
		}
		r.mu.Lock()
		if r.down {
			r.mu.Unlock()
			in.Close()
			out.Close()
			continue
		}
		r.conns[in], r.conns[out] = struct{}{}, struct{}{}
		r.mu.Unlock()
		pipe := func(dst, src net.Conn) {
			io.Copy(dst, src)
			dst.Close()
			src.Close()
			r.mu.Lock()
			delete(r.conns, dst)
			delete(r.conns, src)
			r.mu.Unlock()
		}
		go pipe(out, in)
		go pipe(in, out)
	}
}

// Addr is the relay's address.
func (r *simRelay) Addr() string { return r.ln.Addr().String() }

// Down reports whether the relay is cut.
func (r *simRelay) Down() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.down
}

// Cut drops every connection and refuses new ones.
func (r *simRelay) Cut() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = true
	for c := range r.conns {
		c.Close()
	}
	clear(r.conns)
}

// Restore lets connections through again.
func (r *simRelay) Restore() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.down = false
}

// Close stops the relay.
func (r *simRelay) Close() {
	r.ln.Close()
	r.Cut()
}

// simWriter serialises the writes of the sim's goroutines.
type simWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (w *simWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.w.Write(p)
}
