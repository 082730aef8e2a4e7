package controller

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/lokero/lokero/device"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
	"golang.org/x/crypto/argon2"
)

// Timeouts of the tests.
const (
	waitFor     = 10 * time.Second       // for something that must happen
	quietPeriod = 700 * time.Millisecond // for something that must not
)

// allowHook lets every client in and everywhere: mochi's hooks/auth
// AllowHook, which this module cannot import (its package needs
// gopkg.in/yaml.v3, absent from go.sum).
type allowHook struct{ mochi.HookBase }

// ID names the hook.
func (h *allowHook) ID() string { return "allow-all" }

// Provides says which events the hook handles.
func (h *allowHook) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}

// OnConnectAuthenticate lets every client in.
func (h *allowHook) OnConnectAuthenticate(*mochi.Client, packets.Packet) bool { return true }

// OnACLCheck allows every topic.
func (h *allowHook) OnACLCheck(*mochi.Client, string, bool) bool { return true }

// startBroker runs an in-process MQTT broker that lets anyone in and
// returns its tcp:// URL.
func startBroker(t *testing.T) string {
	t.Helper()
	_, url := startBrokerServer(t)
	return url
}

// startBrokerServer is startBroker that returns the broker too.
func startBrokerServer(t *testing.T) (*mochi.Server, string) {
	t.Helper()
	srv := mochi.New(&mochi.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := srv.AddHook(new(allowHook), nil); err != nil {
		t.Fatalf("broker hook: %v", err)
	}
	tcp := listeners.NewTCP(listeners.Config{Type: listeners.TypeTCP, ID: "t", Address: "127.0.0.1:0"})
	if err := srv.AddListener(tcp); err != nil {
		t.Fatalf("broker listener: %v", err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatalf("broker serve: %v", err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv, "tcp://" + tcp.Address()
}

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 12, 6, 18, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// netSwitch is the controller's network: the test cuts it (closing the
// connection without a DISCONNECT, and refusing new ones) and restores it.
type netSwitch struct {
	mu    sync.Mutex
	down  bool
	conns []net.Conn
}

func (s *netSwitch) dial(addr string) (net.Conn, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return nil, errors.New("network cut")
	}
	c, err := net.DialTimeout("tcp", addr, waitFor)
	if err != nil {
		return nil, err
	}
	s.conns = append(s.conns, c)
	return cutConn{c}, nil
}

// errCut is what a connection reads once the network is cut.
var errCut = errors.New("network cut")

// cutConn reports a cut as a read error: paho takes the error of a
// connection closed on its side for its own close, and would not notice.
type cutConn struct{ net.Conn }

func (c cutConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if err != nil && errors.Is(err, net.ErrClosed) {
		err = errCut
	}
	return n, err
}

func (s *netSwitch) cut() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = true
	for _, c := range s.conns {
		_ = c.Close()
	}
	s.conns = nil
}

func (s *netSwitch) restore() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.down = false
}

// testKDF is a cheap argon2id for tests (the benchmark uses the real one).
func testKDF(t testing.TB) *KDF {
	t.Helper()
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		t.Fatal(err)
	}
	return &KDF{Alg: "argon2id", Salt: salt, Time: 1, MemoryKiB: 256, Threads: 1, KeyLen: 32}
}

// pickupFor makes the pickup of code under k.
func pickupFor(k *KDF, id string, compartment int, code string, deadline time.Time, cod int64) Pickup {
	return Pickup{
		ShipmentID: id, Compartment: compartment, Deadline: deadline, CODCents: cod,
		Verifier: argon2.IDKey([]byte(code), k.Salt, k.Time, k.MemoryKiB, k.Threads, k.KeyLen),
	}
}

// syncJSON is the sync command with k and pickups, as the centre sends it.
func syncJSON(t testing.TB, at time.Time, k *KDF, pickups ...Pickup) []byte {
	t.Helper()
	data, err := json.Marshal(Command{Type: CommandSync, At: at, KDF: k, Pickups: pickups})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// harness is a controller on a test broker with a centre.
type harness struct {
	t      *testing.T
	id     string
	path   string
	broker string
	net    *netSwitch
	clock  *fakeClock
	driver *SimDriver
	cfg    Config
	c      *Controller
	stop   context.CancelFunc
	done   chan error
}

// newHarness opens a controller (not yet running) on a fresh state file.
func newHarness(t *testing.T, broker string, tweak func(*Config)) *harness {
	t.Helper()
	h := &harness{
		t: t, id: "SP-" + t.Name(), broker: broker, net: &netSwitch{}, clock: newFakeClock(),
		driver: NewSimDriver(20), path: filepath.Join(t.TempDir(), "state.db"),
	}
	h.id = sanitize(h.id)
	h.cfg = Config{
		LocationID: h.id, Broker: broker, Token: "lkd_test", StatePath: h.path,
		Driver: h.driver, Clock: h.clock,
		Heartbeat: time.Minute, ResendAfter: time.Minute, OnlineWait: 2 * time.Second,
		dial: h.net.dial, maxReconnect: 100 * time.Millisecond,
	}
	if tweak != nil {
		tweak(&h.cfg)
	}
	h.open()
	t.Cleanup(func() {
		h.stopRun()
		_ = h.c.Close()
	})
	return h
}

// sanitize keeps a location ID free of topic separators.
func sanitize(s string) string {
	out := []byte(s)
	for i, b := range out {
		if b == '/' || b == '+' || b == '#' || b == ' ' {
			out[i] = '_'
		}
	}
	return string(out)
}

// open opens the controller on the harness's state file.
func (h *harness) open() {
	h.t.Helper()
	c, err := Open(h.cfg)
	if err != nil {
		h.t.Fatalf("Open: %v", err)
	}
	h.c = c
}

// run starts Run and waits until the controller is connected.
func (h *harness) run() {
	h.t.Helper()
	h.start()
	eventually(h.t, "controller connected", h.c.Connected)
}

// start starts Run without waiting for a connection.
func (h *harness) start() {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h.stop, h.done = cancel, make(chan error, 1)
	c := h.c
	go func() { h.done <- c.Run(ctx) }()
}

// stopRun ends Run and checks it returned nil.
func (h *harness) stopRun() {
	h.t.Helper()
	if h.stop == nil {
		return
	}
	h.stop()
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run = %v, want nil", err)
		}
	case <-time.After(waitFor):
		h.t.Error("Run did not return after its context ended")
	}
	h.stop = nil
}

// restart closes the controller and opens it again on the same file.
func (h *harness) restart() {
	h.t.Helper()
	h.stopRun()
	if err := h.c.Close(); err != nil {
		h.t.Fatalf("Close: %v", err)
	}
	h.open()
}

// command hands the controller a command from the centre, as it arrives
// over MQTT, and fails the test if it is refused.
func (h *harness) command(v Command) {
	h.t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.c.handleCommand(data); err != nil {
		h.t.Fatalf("%s: %v", v.Type, err)
	}
}

// keypad enters a code and fails the test on an error.
func (h *harness) keypad(code string) KeypadResult {
	h.t.Helper()
	r, err := h.c.Keypad(context.Background(), code)
	if err != nil {
		h.t.Fatalf("Keypad: %v", err)
	}
	return r
}

// eventually waits until cond holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// centre is the test's stand-in for lokero serve: it takes the events of
// every locker, applies each exactly once by its sequence (as the
// protocol says) and answers them, unless silenced.
type centre struct {
	t      *testing.T
	client mqtt.Client

	mu       sync.Mutex
	last     map[string]int64 // last applied seq per locker
	received []Event          // every event received, duplicates included
	applied  []Event          // events applied, in order
	acked    map[int64]int    // answers sent per seq
	silent   bool             // answer nothing
	drop     func(e Event) bool
	answer   func(e Event) device.Ack // the answer to an applied event (default: applied)
	statuses []device.Status
}

// newCentre connects a centre to broker.
func newCentre(t *testing.T, broker string) *centre {
	t.Helper()
	ce := &centre{t: t, last: map[string]int64{}, acked: map[int64]int{}}
	opts := mqtt.NewClientOptions().AddBroker(broker).
		SetClientID(fmt.Sprintf("%stest-%d", device.CentreClientIDPrefix, time.Now().UnixNano())).
		SetCleanSession(true).SetAutoReconnect(false).SetProtocolVersion(4).SetOrderMatters(true)
	ce.client = mqtt.NewClient(opts)
	if tok := ce.client.Connect(); !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		t.Fatalf("centre connect: %v", tok.Error())
	}
	t.Cleanup(func() { ce.client.Disconnect(50) })
	tok := ce.client.SubscribeMultiple(map[string]byte{
		device.Prefix + "+/" + device.KindEvents: 1,
		device.Prefix + "+/" + device.KindStatus: 1,
	}, ce.handle)
	if !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		t.Fatalf("centre subscribe: %v", tok.Error())
	}
	return ce
}

// handle takes one message: an event to apply and answer, or a status.
func (ce *centre) handle(_ mqtt.Client, m mqtt.Message) {
	id, kind, ok := device.ParseTopic(m.Topic())
	if !ok {
		return
	}
	ce.mu.Lock()
	defer ce.mu.Unlock()
	if kind == device.KindStatus {
		var st device.Status
		if err := json.Unmarshal(m.Payload(), &st); err == nil {
			ce.statuses = append(ce.statuses, st)
		}
		return
	}
	var e Event
	if err := json.Unmarshal(m.Payload(), &e); err != nil {
		ce.t.Errorf("centre: bad event %s: %v", m.Payload(), err)
		return
	}
	ce.received = append(ce.received, e)
	if ce.silent || (ce.drop != nil && ce.drop(e)) {
		return
	}
	var ack device.Ack
	switch last := ce.last[id]; {
	case e.Seq == last+1:
		ce.last[id] = e.Seq
		ce.applied = append(ce.applied, e)
		ack = device.Ack{Result: device.ResultApplied}
		if ce.answer != nil {
			ack = ce.answer(e)
		}
	case e.Seq <= last:
		ack = device.Ack{Result: device.ResultDuplicate, Expect: last + 1} // as service.eventSeq.check
	default:
		ack = device.Ack{Result: device.ResultGap, Expect: last + 1}
	}
	ack.Seq = e.Seq
	ce.acked[e.Seq]++
	data, _ := json.Marshal(ack)
	ce.client.Publish(device.Topic(id, device.KindAcks), 1, false, data)
}

// command publishes a command to locker id.
func (ce *centre) command(id string, payload []byte) {
	ce.t.Helper()
	tok := ce.client.Publish(device.Topic(id, device.KindCommands), 1, false, payload)
	if !tok.WaitTimeout(waitFor) || tok.Error() != nil {
		ce.t.Fatalf("centre command: %v", tok.Error())
	}
}

// setSilent silences (or unsilences) the centre's answers.
func (ce *centre) setSilent(s bool) {
	ce.mu.Lock()
	defer ce.mu.Unlock()
	ce.silent = s
}

// snapshot returns copies of what the centre has seen.
func (ce *centre) snapshot() (received, applied []Event, statuses []device.Status) {
	ce.mu.Lock()
	defer ce.mu.Unlock()
	return append([]Event(nil), ce.received...), append([]Event(nil), ce.applied...), append([]device.Status(nil), ce.statuses...)
}

// seqs lists the sequence numbers of events.
func seqs(events []Event) []int64 {
	out := make([]int64, len(events))
	for i, e := range events {
		out[i] = e.Seq
	}
	return out
}

// count returns how many times seq was received.
func count(events []Event, seq int64) int {
	n := 0
	for _, e := range events {
		if e.Seq == seq {
			n++
		}
	}
	return n
}

// waitApplied waits until the centre has applied n events and the
// controller has nothing pending.
func (ce *centre) waitApplied(t *testing.T, c *Controller, n int) []Event {
	t.Helper()
	eventually(t, fmt.Sprintf("%d events applied and answered", n), func() bool {
		_, applied, _ := ce.snapshot()
		return len(applied) >= n && c.Pending() == 0
	})
	_, applied, _ := ce.snapshot()
	return applied
}

// wantSeqs checks that events are numbered 1..len(events) in order.
func wantSeqs(t *testing.T, events []Event) {
	t.Helper()
	for i, e := range events {
		if e.Seq != int64(i+1) {
			t.Fatalf("events in order %v, want 1..%d", seqs(events), len(events))
		}
	}
}

// syncNow sends a sync to the harness's controller and waits until it
// took it (its pickups count equals len(pickups)).
func (h *harness) syncNow(ce *centre, k *KDF, pickups ...Pickup) {
	h.t.Helper()
	ce.command(h.id, syncJSON(h.t, h.clock.Now(), k, pickups...))
	eventually(h.t, "sync applied", func() bool {
		h.c.mu.Lock()
		defer h.c.mu.Unlock()
		return h.c.kdf != nil && len(h.c.pickups) == len(pickups)
	})
}

// testCourierToken is the courier token the tests sign in with.
const testCourierToken = "lkc_testcourier"

// courierIn signs the test courier in at the keypad as one the centre
// accepted at this locker before (offline, the keypad takes only those),
// and fails the test if the keypad refuses.
func (h *harness) courierIn() {
	h.t.Helper()
	h.c.acceptCourier(device.CourierHash(testCourierToken), h.clock.Now())
	if res, err := h.c.SignInCourier(context.Background(), testCourierToken); err != nil || res.Result != ResultSignedIn {
		h.t.Fatalf("courier sign-in: %+v, %v", res, err)
	}
}
