package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
)

// The kill test's figures: kills per store, and how long the load runs
// between a start and its kill.
const (
	killCycles  = 20
	loadMinimum = 300 * time.Millisecond
	loadMaximum = 2 * time.Second
)

// TestKillUnderLoad runs the real `lokero serve` in a child process on
// SQLite and on PostgreSQL and kills it with SIGKILL at random moments,
// killCycles times, under concurrent bookings (each with an
// Idempotency-Key, retried with the same key when the answer was lost)
// and couriers' deposits (handover, deposit, the device's door closed),
// restarting it on the same database each time. Then it proves that
// every acknowledged booking is there once with its acknowledged state,
// every acknowledged deposit is READY_FOR_PICKUP in its compartment, no
// compartment holds two parcels, and no key made two shipments.
func TestKillUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("kills a server 20 times per store")
	}
	t.Parallel()
	onBothStores(t, func(t *testing.T, store string) {
		ctx := context.Background()
		db, args := storeArgs(t, store)
		k := setUpKillRig(t, db, store)
		srv := &childServe{t: t, addr: freeAddr(t), args: args}
		srv.start()
		t.Cleanup(srv.kill)
		if err := srv.waitHealthy(60 * time.Second); err != nil {
			t.Fatal(err)
		}
		k.bases = []string{"http://" + srv.addr}
		k.bookDepositParcels(t)

		// The load runs across every kill; the workers retry what a kill
		// cut short once the next server answers.
		stop := make(chan struct{})
		var wg sync.WaitGroup
		k.startLoad(&wg, stop)
		started := time.Now()
		for cycle := range killCycles {
			if cycle%5 == 4 {
				// Now and then a kill while it starts (migrations, the
				// directory, the job queue), answering or not.
				time.Sleep(time.Duration(rand.Int64N(int64(400 * time.Millisecond))))
			} else {
				if err := srv.waitHealthy(60 * time.Second); err != nil {
					close(stop)
					wg.Wait()
					t.Fatalf("start %d: %v", cycle+1, err)
				}
				time.Sleep(loadMinimum + time.Duration(rand.Int64N(int64(loadMaximum-loadMinimum))))
			}
			srv.kill()
			k.kills.Add(1)
			srv.start()
		}
		if err := srv.waitHealthy(60 * time.Second); err != nil {
			close(stop)
			wg.Wait()
			t.Fatalf("the start after the last kill: %v", err)
		}
		endLoad(t, &wg, stop) // the workers finish what is open, against this server
		load := time.Since(started)

		st, err := openStore(ctx, db)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		lost := k.verify(t, st.SQL())
		t.Logf("%s: %d SIGKILLs in %s; %d bookings acknowledged (%d answers lost to a kill and replayed, %d replays of acknowledged keys), %d deposits acknowledged, %d doors closed (%d of their steps cut short by a kill and sent again); lost %d, duplicated %d, compartments holding two parcels %d",
			store, k.kills.Load(), load.Round(time.Millisecond), len(k.acked), k.retried.Load(), k.replays.Load(),
			k.deposits.Load(), k.doors.Load(), k.interrupted.Load(), lost.lost, lost.duplicated, lost.doubled)
	})
}

// childServe is `lokero serve` in a child process: this test binary run
// as the command (TestMain), so that a SIGKILL kills a real process.
type childServe struct {
	t      *testing.T
	addr   string
	args   []string
	cmd    *exec.Cmd
	exited chan struct{}
	log    *syncBuffer
}

func (c *childServe) start() {
	c.t.Helper()
	c.cmd = exec.Command(os.Args[0], append([]string{"serve", "--addr", c.addr}, c.args...)...)
	c.cmd.Env = append(os.Environ(), "LOKERO_TEST_AS_MAIN=1")
	c.log = &syncBuffer{}
	c.cmd.Stdout, c.cmd.Stderr = io.Discard, c.log
	if err := c.cmd.Start(); err != nil {
		c.t.Fatal(err)
	}
	c.exited = make(chan struct{})
	go func(cmd *exec.Cmd, exited chan struct{}) {
		cmd.Wait()
		close(exited)
	}(c.cmd, c.exited)
}

// kill sends SIGKILL and waits for the process to be gone.
func (c *childServe) kill() {
	if c.cmd == nil || c.cmd.Process == nil {
		return
	}
	c.cmd.Process.Kill()
	<-c.exited
}

func (c *childServe) waitHealthy(within time.Duration) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		select {
		case <-c.exited:
			return fmt.Errorf("serve exited: %s", c.log.String())
		default:
		}
		if resp, err := client.Get("http://" + c.addr + "/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("serve not healthy within %s: %s", within, c.log.String())
}

// killRig is the kill test's database: retailers, couriers, an operator,
// the devices of some SMARTPOSTs, the post offices bookings go to, and
// what the load was told.
type killRig struct {
	store     string
	bases     []string // the instances' URLs: each request goes to one of them at random
	email     bool     // the deposited parcels' recipients have an e-mail address instead of a phone number
	retailers []string // API keys
	couriers  []string
	operator  string
	devices   map[string]string // locker ID → its device's token
	lockers   []string
	offices   []string // post offices: bookings there take no compartment
	client    *http.Client

	mu      sync.Mutex
	acked   map[string]string // idempotency key → the shipment acknowledged for it
	pending map[string]int    // keys whose answer a kill took → their retailer
	keys    []string          // acknowledged keys, for replays
	next    int
	parcels chan *depositParcel
	done    []*depositParcel // acknowledged deposits
	errs    []string

	kills, retried, replays, deposits, doors, interrupted atomic.Int64
}

// depositParcel is a parcel on its way into a compartment.
type depositParcel struct {
	id, tracking, locker string
	compartment          int  // from the deposit's answer (or the locker view, when a kill took it)
	deposited, closed    bool // acknowledged
}

// setUpKillRig loads the demo network and adds the credentials, before
// the first start.
func setUpKillRig(t *testing.T, db, store string) *killRig {
	t.Helper()
	ctx := context.Background()
	p, err := openPlatform(ctx, db, calendar.Default(), clock(), newLogger(io.Discard))
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, err := p.loadDemo(ctx); err != nil {
		t.Fatal(err)
	}
	k := &killRig{store: store, devices: map[string]string{}, acked: map[string]string{}, pending: map[string]int{},
		client: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 16}}}
	for i := range 8 {
		_, key, err := p.shipments.AddRetailer(ctx, fmt.Sprintf("Kauppa %d", i+1), false)
		if err != nil {
			t.Fatal(err)
		}
		k.retailers = append(k.retailers, key)
	}
	for i := range 3 {
		_, token, err := p.lockers.AddCredential(ctx, lokero.KindCourier, fmt.Sprintf("Kuski %d", i+1), "")
		if err != nil {
			t.Fatal(err)
		}
		k.couriers = append(k.couriers, token)
	}
	if _, k.operator, err = p.lockers.AddCredential(ctx, lokero.KindOperator, "Olli", ""); err != nil {
		t.Fatal(err)
	}
	for _, l := range p.dir.Snapshot().Locations() {
		// Helsinki's lockers; the capital region's post offices (Helsinki
		// has one, and its shelves' most, 10,000 parcels a day, is less
		// than a fast run books).
		if !strings.HasPrefix(l.Postcode, "0") || l.Status != "" && l.Status != lokero.LocationOpen {
			continue
		}
		switch {
		case l.Type == lokero.TypeSmartpost && l.Access == lokero.AccessPublic && strings.HasPrefix(l.Postcode, "00") && len(k.lockers) < 8:
			_, token, err := p.lockers.AddCredential(ctx, lokero.KindDevice, "device of "+l.ID, l.ID)
			if err != nil {
				t.Fatal(err)
			}
			k.lockers, k.devices[l.ID] = append(k.lockers, l.ID), token
		case l.Type == lokero.TypePostOffice && len(k.offices) < 4:
			k.offices = append(k.offices, l.ID)
		}
	}
	if len(k.lockers) < 4 || len(k.offices) == 0 {
		t.Fatalf("the demo network has %d SMARTPOSTs and %d post offices in Helsinki", len(k.lockers), len(k.offices))
	}
	// The bookings under load go to these post offices, far more than a
	// post office's shelves take in a day: give them the most an outlet may
	// have, so that every booking is taken and can be checked afterwards.
	var big []lokero.Location
	for _, id := range k.offices {
		l := *p.dir.Snapshot().ByID(id)
		l.ShelfCapacity = lokero.MaxShelfCapacity
		big = append(big, l)
	}
	if _, err := p.dir.Import(ctx, big); err != nil {
		t.Fatal(err)
	}
	return k
}

// post sends a JSON request; err is a transport error (the server gone).
func (k *killRig) post(method, path, token string, body []byte, headers ...string) (int, http.Header, []byte, error) {
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, k.bases[rand.IntN(len(k.bases))]+path, r)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, nil, err
	}
	return resp.StatusCode, resp.Header, out, nil
}

// unanswered reports whether an answer says nothing of the outcome: no
// answer, the server starting or failing, or a rate limit.
func unanswered(status int, err error) bool {
	return err != nil || status >= 500 || status == http.StatusTooManyRequests
}

func (k *killRig) fail(format string, args ...any) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if len(k.errs) < 20 {
		k.errs = append(k.errs, fmt.Sprintf(format, args...))
	}
}

// killParcel is a booking's body; the recipient has email as the address
// of the notices, or a phone number when it is "".
func killParcel(reference, pickupPoint, postcode, email string) []byte {
	recipient := map[string]any{"name": "Maija", "street": "Fredrikinkatu 1", "postcode": postcode, "city": "Helsinki", "phone": "0401234567"}
	if email != "" {
		delete(recipient, "phone")
		recipient["email"] = email
	}
	b, _ := json.Marshal(map[string]any{
		"reference": reference, "pickup_point_id": pickupPoint,
		"sender":    map[string]any{"name": "Kauppa", "street": "Tyynenmerenkatu 11", "postcode": "00220", "city": "Helsinki"},
		"recipient": recipient,
		"parcel":    map[string]any{"length_cm": 30, "width_cm": 20, "height_cm": 8, "weight_kg": 1, "contents": "goods"},
	})
	return b
}

// bookDepositParcels books, before the kills, the parcels the couriers
// will deposit: a few per retailer and SMARTPOST (a retailer may take only
// a share of a locker's compartments for a day).
func (k *killRig) bookDepositParcels(t *testing.T) {
	t.Helper()
	var parcels []*depositParcel
	refused := 0
	for _, l := range k.lockers {
		for r, key := range k.retailers {
			for j := range 2 {
				reference, email := fmt.Sprintf("DEPOSIT-%d-%d", r, j), ""
				if k.email {
					email = fmt.Sprintf("%s-%s@example.fi", strings.ToLower(reference), strings.ToLower(l))
				}
				status, _, out, err := k.post("POST", "/v1/shipments", key, killParcel(reference, l, "00100", email))
				if err != nil || status >= 500 {
					t.Fatalf("booking a parcel for %s: %d %v %s", l, status, err, out)
				}
				var sh struct {
					ID          string `json:"id"`
					Tracking    string `json:"tracking_code"`
					Destination struct{ ID string }
				}
				if json.Unmarshal(out, &sh); status != http.StatusCreated || sh.Destination.ID != l {
					refused++
					continue
				}
				parcels = append(parcels, &depositParcel{id: sh.ID, tracking: sh.Tracking, locker: l})
			}
		}
	}
	if len(parcels) < 40 {
		t.Fatalf("only %d parcels booked for the deposits (%d refused)", len(parcels), refused)
	}
	rand.Shuffle(len(parcels), func(i, j int) { parcels[i], parcels[j] = parcels[j], parcels[i] })
	k.parcels = make(chan *depositParcel, len(parcels))
	for _, p := range parcels {
		k.parcels <- p
	}
	close(k.parcels)
}

// bookingWorker books parcels to post offices with Idempotency-Keys until
// stop, then finishes the keys whose answers were lost; now and then it
// replays an acknowledged key, which must give back the same shipment.
func (k *killRig) bookingWorker(worker int, stop chan struct{}) {
	for {
		stopping := false
		select {
		case <-stop:
			stopping = true
		default:
		}
		k.mu.Lock()
		key, retailer, replay := "", 0, false
		for pk, r := range k.pending {
			key, retailer = pk, r
			break
		}
		switch {
		case key != "":
			delete(k.pending, key) // this worker's now; back if lost again
		case stopping:
			k.mu.Unlock()
			return
		case len(k.keys) > 0 && rand.IntN(8) == 0:
			key, replay = k.keys[rand.IntN(len(k.keys))], true
			fmt.Sscanf(key[strings.LastIndex(key, "-")+1:], "%d", &retailer)
		default:
			k.next++
			retailer = k.next % len(k.retailers)
			key = fmt.Sprintf("KILL-%s-%d-%d", k.store, k.next, retailer)
		}
		k.mu.Unlock()

		// The office by the key's hash: spread evenly, and the same for
		// a key sent again (another body would be a key reused).
		h := fnv.New32a()
		h.Write([]byte(key))
		office := k.offices[int(h.Sum32()%uint32(len(k.offices)))]
		status, header, out, err := k.post("POST", "/v1/shipments", k.retailers[retailer], killParcel(key, office, "00120", ""), "Idempotency-Key", key)
		var sh struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}
		json.Unmarshal(out, &sh)
		k.mu.Lock()
		switch {
		case unanswered(status, err):
			if !replay {
				k.pending[key] = retailer
				k.retried.Add(1)
			}
		case status != http.StatusCreated || sh.Status != "CREATED":
			k.errs = append(k.errs, fmt.Sprintf("booking %s: %d %.300s", key, status, out))
		case k.acked[key] != "" && k.acked[key] != sh.ID:
			k.errs = append(k.errs, fmt.Sprintf("key %s gave %s, then %s (Idempotent-Replayed: %q)", key, k.acked[key], sh.ID, header.Get("Idempotent-Replayed")))
		case replay:
			k.replays.Add(1)
		default:
			k.acked[key] = sh.ID
			k.keys = append(k.keys, key)
		}
		k.mu.Unlock()
		if unanswered(status, err) {
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// startLoad starts the load on wg: four clients booking and three
// couriers depositing, until stop.
func (k *killRig) startLoad(wg *sync.WaitGroup, stop chan struct{}) {
	for i := range 4 {
		wg.Go(func() { k.bookingWorker(i, stop) })
	}
	for i := range 3 {
		wg.Go(func() { k.depositWorker(i, stop) })
	}
}

// endLoad stops the load and waits, at most 60 s, for its clients to
// finish what is open.
func endLoad(t *testing.T, wg *sync.WaitGroup, stop chan struct{}) {
	t.Helper()
	close(stop)
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("the load did not finish its open requests within 60 s of the last start")
	}
}

// depositWorker takes parcels through handover, deposit and the door
// closing until stop, retrying each step until it is answered; after
// stop it finishes the parcel in hand.
func (k *killRig) depositWorker(worker int, stop chan struct{}) {
	courier := k.couriers[worker%len(k.couriers)]
	for {
		select {
		case <-stop:
			return
		default:
		}
		p, ok := <-k.parcels
		if !ok {
			return
		}
		k.depositOne(courier, p)
		// Paced, so that the deposits spread over the kills.
		time.Sleep(time.Duration(300+rand.IntN(600)) * time.Millisecond)
	}
}

// depositOne takes one parcel into its compartment, the server killed
// under it any number of times.
func (k *killRig) depositOne(courier string, p *depositParcel) {
	deadline := time.Now().Add(3 * time.Minute)
	step := func(what string, method, path, token string, body any) (int, []byte, bool) {
		interrupted := false
		for time.Now().Before(deadline) {
			b, _ := json.Marshal(body)
			status, _, out, err := k.post(method, path, token, b)
			if !unanswered(status, err) {
				return status, out, true
			}
			if !interrupted {
				interrupted = true
				k.interrupted.Add(1)
			}
			time.Sleep(20 * time.Millisecond)
		}
		k.fail("%s %s: no answer in 3 minutes", what, p.tracking)
		return 0, nil, false
	}
	// Handover: a kill may have taken the answer to one that was made.
	status, out, ok := step("handover", "POST", "/v1/shipments/"+p.id+"/handover", courier, nil)
	if !ok {
		return
	}
	if status != http.StatusOK && status != http.StatusConflict {
		k.fail("handover %s: %d %.300s", p.tracking, status, out)
		return
	}
	status, out, ok = step("deposit", "POST", "/v1/lockers/"+p.locker+"/deposits", courier, map[string]string{"tracking_code": p.tracking})
	if !ok {
		return
	}
	switch {
	case status == http.StatusOK:
		var dep struct{ Compartment int }
		json.Unmarshal(out, &dep)
		k.mu.Lock()
		p.compartment, p.deposited = dep.Compartment, true
		k.done = append(k.done, p)
		k.mu.Unlock()
		k.deposits.Add(1)
	case status == http.StatusConflict:
		// A deposit a kill took the answer to: the locker shows where.
		if p.compartment = k.compartmentOf(p); p.compartment == 0 {
			k.fail("deposit %s: %d %.300s, and it is in no compartment", p.tracking, status, out)
			return
		}
	default:
		k.fail("deposit %s: %d %.300s", p.tracking, status, out)
		return
	}
	status, out, ok = step("door closed", "POST", "/v1/devices/"+p.locker+"/events", k.devices[p.locker],
		map[string]any{"type": "door_closed", "compartment": p.compartment})
	if !ok {
		return
	}
	if status != http.StatusOK {
		k.fail("door closed on %s: %d %.300s", p.tracking, status, out)
		return
	}
	k.mu.Lock()
	p.closed = true
	k.mu.Unlock()
	k.doors.Add(1)
}

// compartmentOf finds a parcel in its locker (the operator's view).
func (k *killRig) compartmentOf(p *depositParcel) int {
	for range 500 {
		status, _, out, err := k.post("GET", "/v1/lockers/"+p.locker, k.operator, nil)
		if unanswered(status, err) {
			time.Sleep(20 * time.Millisecond)
			continue
		}
		var view struct {
			Compartments []struct {
				Number       int
				TrackingCode string `json:"tracking_code"`
			}
		}
		json.Unmarshal(out, &view)
		for _, c := range view.Compartments {
			if c.TrackingCode == p.tracking {
				return c.Number
			}
		}
		return 0
	}
	return 0
}

// killLosses counts what the kills broke.
type killLosses struct{ lost, duplicated, doubled int }

// verify checks the database against what the load was told.
func (k *killRig) verify(t *testing.T, db *sql.DB) killLosses {
	t.Helper()
	ctx := context.Background()
	var l killLosses
	for _, e := range k.errs {
		t.Error(e)
	}
	if len(k.pending) > 0 {
		t.Errorf("%d bookings still unanswered after the last start", len(k.pending))
	}

	// Every acknowledged booking once, as acknowledged; no key twice.
	type row struct{ id, status string }
	byKey := map[string][]row{}
	rows, err := db.QueryContext(ctx, `SELECT reference, id, status FROM shipments WHERE reference LIKE 'KILL-%'`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var key string
		var r row
		if err := rows.Scan(&key, &r.id, &r.status); err != nil {
			t.Fatal(err)
		}
		byKey[key] = append(byKey[key], r)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	rows.Close()
	for key, id := range k.acked {
		switch got := byKey[key]; {
		case len(got) == 0:
			l.lost++
			t.Errorf("booking %s was acknowledged as %s and is gone", key, id)
		case got[0].id != id || got[0].status != "CREATED":
			l.lost++
			t.Errorf("booking %s was acknowledged as %s CREATED and is %+v", key, id, got)
		}
	}
	for key, got := range byKey {
		if len(got) > 1 {
			l.duplicated++
			t.Errorf("key %s made %d shipments: %+v", key, len(got), got)
		}
	}

	// Every acknowledged deposit ready for pickup in its compartment.
	for _, p := range k.done {
		var status, dest string
		var n int
		var holder sql.NullString
		err := db.QueryRowContext(ctx, `SELECT status, compartment, destination_id FROM shipments WHERE id = $1`, p.id).Scan(&status, &n, &dest)
		if err == nil {
			err = db.QueryRowContext(ctx, `SELECT shipment_id FROM compartments WHERE location_id = $1 AND number = $2`, p.locker, p.compartment).Scan(&holder)
		}
		if err != nil || status != "READY_FOR_PICKUP" || n != p.compartment || dest != p.locker || holder.String != p.id {
			l.lost++
			t.Errorf("deposit of %s in %s #%d was acknowledged; now it is %s in #%d of %s, the compartment holds %q (%v)",
				p.tracking, p.locker, p.compartment, status, n, dest, holder.String, err)
		}
	}

	// No compartment holds two parcels, and each parcel in a compartment
	// is the one the compartment holds.
	for what, query := range map[string]string{
		"a compartment given to two parcels": `SELECT destination_id || ' #' || compartment FROM shipments WHERE compartment > 0
			GROUP BY destination_id, compartment HAVING count(*) > 1`,
		"a parcel in two compartments": `SELECT shipment_id FROM compartments WHERE shipment_id IS NOT NULL
			GROUP BY shipment_id HAVING count(*) > 1`,
		"a parcel its compartment does not hold": `SELECT s.id FROM shipments s LEFT JOIN compartments c
			ON c.location_id = s.destination_id AND c.number = s.compartment
			WHERE s.compartment > 0 AND (c.shipment_id IS NULL OR c.shipment_id <> s.id)`,
	} {
		rows, err := db.QueryContext(ctx, query)
		if err != nil {
			t.Fatal(err)
		}
		for rows.Next() {
			var what2 string
			rows.Scan(&what2)
			l.doubled++
			t.Errorf("%s: %s", what, what2)
		}
		rows.Close()
	}
	return l
}
