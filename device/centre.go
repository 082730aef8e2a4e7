package device

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/service"
)

// Lockers is what the centre needs of the locker use cases (the same the
// HTTP device endpoints call).
type Lockers interface {
	ApplyEvent(ctx context.Context, device lokero.Credential, locationID string, ev service.DeviceEvent) (service.DeviceOutcome, error)
	RecordStatus(ctx context.Context, device lokero.Credential, locationID string, s service.LockerStatus) error
	LockerDevice(ctx context.Context, locationID string) (lokero.Credential, error)
	Sync(ctx context.Context, device lokero.Credential, locationID string) (service.DeviceSync, error)
	Expected(ctx context.Context, device lokero.Credential, locationID, shipmentID string) (service.ExpectedPickup, bool, error)
	ExpectedOf(ctx context.Context, device lokero.Credential, locationID string, sh lokero.Shipment) (service.ExpectedPickup, bool, error)
	Recheck(ctx context.Context, device lokero.Credential, locationID string, p service.ExpectedPickup) (service.ExpectedPickup, bool, error)
	ExpectedDropOff(ctx context.Context, device lokero.Credential, locationID, shipmentID string) (service.ExpectedDropOff, bool, error)
}

// SyncEvery is how often the centre sends a connected locker a full sync
// (on a heartbeat at least this long after the last), besides when the
// controller asks (Status.Sync): it corrects whatever an expect_pickup or
// cancel lost, or what changed without one (an expiry, a rotated code).
const SyncEvery = 15 * time.Minute

// SyncAskedEvery is how often at most the centre answers a locker's
// statuses asking for a sync ("sync": true) with one: a request within
// SyncAskedEvery of the last one answered is answered once that time is
// up (several such requests, once), so that a controller reconnecting at
// once still gets its sync, and a credential flooding statuses gets one
// sync (the heaviest read of the store) every SyncAskedEvery at most. A
// request under a credential other than the last answered one (a new or
// rotated token) is answered at once.
const SyncAskedEvery = 10 * time.Second

// Limits of what the centre holds of one locker waiting for its worker.
// A controller sends its whole outbox on connecting, and events that find
// the queue full are dropped (CentreStats.Dropped): unanswered, the
// controller sends them again after its ResendAfter, from the first
// missing. Without them one locker's credential could grow the queue
// without limit (the embedded broker acknowledges a QoS 1 message before
// the centre has it, so nothing pushes back) and hold up every locker
// hashed to the same worker.
const (
	// MaxQueuedEvents is the most events of one locker that wait for its
	// worker.
	MaxQueuedEvents = 256
	// MaxQueuedEventBytes is the most bytes of one locker's events that
	// wait for its worker (an event is a few hundred bytes; one packet
	// at most MaxPacketSize).
	MaxQueuedEventBytes = 1 << 20
)

// CentreConfig configures the centre's MQTT client.
type CentreConfig struct {
	// Broker is the broker's URL: tcp://host:port, or tls://host:port for
	// TLS (system roots); user and password in the URL, if any, are the
	// centre's credentials at the broker.
	Broker string
	// Embedded, instead of Broker, runs the centre inside this process's
	// embedded broker, through its inline client: no connection, no
	// credentials, no client ID, and nothing between the lockers'
	// connections and the workers' queues that could drop a message (a
	// client connection has a bounded write queue at the broker, which a
	// burst of every locker's events overran).
	Embedded *Broker
	// Username and Password, when set, are used instead of the URL's.
	Username, Password string
	// ClientID is the instance's client ID; it must start with
	// CentreClientIDPrefix. Each instance needs its own.
	ClientID string
	// SharedGroup, when set, subscribes to the events as an MQTT shared
	// subscription ($share/<group>/…), so that of many instances each
	// event reaches one (the sequence makes a second one harmless anyway).
	SharedGroup string
	// Workers apply events; one locker's events always go to the same
	// worker, in the order they arrived. Default 16.
	Workers int
	Lockers Lockers
	Log     *slog.Logger
	// Clock times the syncs (SyncEvery, SyncAskedEvery). Default: Lockers'
	// own clock when it has one (service.Lockers.Now), else the system's.
	Clock lokero.Clock
}

// ParseBrokerURL splits a broker URL (tcp://user:pass@host:1883 or
// tls://…) into the address paho dials and the credentials it holds.
func ParseBrokerURL(raw string) (broker, username, password string, err error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", "", fmt.Errorf("mqtt broker URL: %w", err)
	}
	if u.Scheme != "tcp" && u.Scheme != "tls" {
		return "", "", "", fmt.Errorf("mqtt broker URL %q: the scheme must be tcp:// or tls://", u.Redacted())
	}
	if u.Host == "" || u.Port() == "" {
		return "", "", "", fmt.Errorf("mqtt broker URL %q: need host:port", u.Redacted())
	}
	if u.Path != "" && u.Path != "/" {
		return "", "", "", fmt.Errorf("mqtt broker URL %q: no path expected", u.Redacted())
	}
	if u.User != nil {
		username = u.User.Username()
		password, _ = u.User.Password()
	}
	return u.Scheme + "://" + u.Host, username, password, nil
}

// Centre applies the lockers' events and records their statuses as they
// arrive from the broker, and answers each event on the locker's acks
// topic.
type Centre struct {
	cfg    CentreConfig
	client mqtt.Client // nil inside an embedded broker
	broker *Broker     // the embedded broker it runs inside, or nil
	// out publishes a message to a locker's topic (QoS 1): through the
	// embedded broker's inline client or the MQTT client.
	out    func(topic string, payload []byte) error
	log    *slog.Logger
	queues []*queue
	wg     sync.WaitGroup
	ctx    context.Context
	cancel context.CancelFunc

	devices sync.Map // location ID → cachedDevice
	synced  sync.Map // location ID → time.Time of the last sync sent
	// asked is, by location ID, the *askedSync of the syncs the locker
	// asked for; only the locker's worker reads and writes it.
	asked sync.Map
	// askedEvery is SyncAskedEvery (shorter in tests).
	askedEvery time.Duration
	// telling orders, per locker (striped), what the centre tells a
	// controller of its parcels: a parcel's expect_pickup, sent once its
	// verifier is derived off the worker (expectLater), never overtakes
	// its cancel, nor a sync read before a cancel (tell).
	telling [64]tellingStripe

	applied, duplicates, gaps, rejected, failed, dropped atomic.Int64
}

// deviceTTL is how long the centre trusts its copy of a locker's device
// credential (revoking one also drops the locker at the embedded broker).
const deviceTTL = 30 * time.Second

type cachedDevice struct {
	cred lokero.Credential
	at   time.Time
}

// CentreStats counts what the centre did with the events since it started.
// Dropped counts the events dropped unapplied because their locker had
// MaxQueuedEvents (or MaxQueuedEventBytes) waiting already.
type CentreStats struct {
	Applied, Duplicates, Gaps, Rejected, Failed, Dropped int64
}

// StartCentre connects to the broker and subscribes to every locker's
// events and status; it reconnects (and subscribes again) by itself. It
// waits up to 10 s for the first connection: an error then means the
// broker refused the centre or cannot be reached.
func StartCentre(ctx context.Context, cfg CentreConfig) (*Centre, error) {
	if cfg.Workers <= 0 {
		cfg.Workers = 16
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Embedded != nil {
		c := newCentre(cfg)
		c.broker = cfg.Embedded
		c.out = c.broker.inlinePublish
		for i, filter := range c.filters() {
			if err := c.broker.inlineSubscribe(filter, i+1, c.enqueue); err != nil {
				c.Close()
				return nil, fmt.Errorf("mqtt: subscribe inside the embedded broker to %s: %w", filter, err)
			}
		}
		c.log.Info("mqtt: applying the lockers' events inside the embedded broker")
		return c, nil
	}
	broker, user, pass, err := ParseBrokerURL(cfg.Broker)
	if err != nil {
		return nil, err
	}
	if cfg.Username != "" || cfg.Password != "" {
		user, pass = cfg.Username, cfg.Password
	}
	if len(cfg.ClientID) <= len(CentreClientIDPrefix) || cfg.ClientID[:len(CentreClientIDPrefix)] != CentreClientIDPrefix {
		return nil, fmt.Errorf("mqtt: the centre's client ID %q must start with %q", cfg.ClientID, CentreClientIDPrefix)
	}
	c := newCentre(cfg)
	opts := mqtt.NewClientOptions().
		AddBroker(broker).
		SetClientID(cfg.ClientID).
		SetUsername(user).
		SetPassword(pass).
		// A clean session: events published while no centre is connected
		// are not kept for this instance (the controllers send them again
		// until answered), and no dead instance's session holds a share
		// of them.
		SetCleanSession(true).
		SetKeepAlive(30 * time.Second).
		SetAutoReconnect(true).
		SetMaxReconnectInterval(10 * time.Second).
		SetConnectTimeout(10 * time.Second).
		SetOrderMatters(true).
		SetOnConnectHandler(c.subscribe).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			c.log.Warn("mqtt: lost the broker; reconnecting", "err", err)
		})
	if broker[:3] == "tls" {
		opts.SetTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12})
	}
	c.client = mqtt.NewClient(opts)
	c.out = func(topic string, payload []byte) error {
		return c.client.Publish(topic, 1, false, payload).Error() // set at once when not connected
	}
	tok := c.client.Connect()
	select {
	case <-tok.Done():
	case <-time.After(10 * time.Second):
	case <-ctx.Done():
	}
	if err := tok.Error(); err != nil || !c.client.IsConnected() {
		c.Close()
		if err == nil {
			err = errors.New("no connection in 10 s")
		}
		return nil, fmt.Errorf("mqtt: connect to %s: %w", broker, err)
	}
	return c, nil
}

// newCentre returns a centre with its workers started.
func newCentre(cfg CentreConfig) *Centre {
	if cfg.Clock == nil {
		if clock, ok := cfg.Lockers.(lokero.Clock); ok {
			cfg.Clock = clock
		} else {
			cfg.Clock = lokero.SystemClock{}
		}
	}
	c := &Centre{cfg: cfg, log: cfg.Log, askedEvery: SyncAskedEvery}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.queues = make([]*queue, cfg.Workers)
	for i := range c.queues {
		c.queues[i] = newQueue()
		c.wg.Go(func() { c.work(c.queues[i]) })
	}
	return c
}

// filters are the topic filters of every locker's events and statuses.
func (c *Centre) filters() []string {
	events := Prefix + "+/" + KindEvents
	if c.cfg.SharedGroup != "" && c.broker == nil {
		events = "$share/" + c.cfg.SharedGroup + "/" + events
	}
	return []string{events, Prefix + "+/" + KindStatus}
}

// subscribe (again, after each connection) to the events and statuses.
func (c *Centre) subscribe(client mqtt.Client) {
	filters := map[string]byte{}
	for _, f := range c.filters() {
		filters[f] = 1
	}
	tok := client.SubscribeMultiple(filters, func(_ mqtt.Client, m mqtt.Message) { c.enqueue(m.Topic(), m.Payload()) })
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		c.log.Error("mqtt: subscribe to the lockers' events", "err", tok.Error())
		return
	}
	c.log.Info("mqtt: connected; applying the lockers' events", "client", c.cfg.ClientID)
}

// message is a message from a locker, as the broker delivered it, or a
// sync the locker asked for that is due now (syncDue).
type message struct {
	id      string // the locker's location ID
	kind    string // KindEvents or KindStatus
	payload []byte // an event, as sent
	status  Status // a status, read
	syncDue bool   // a sync asked for earlier, due now (askSync)
}

// enqueue hands a message to its locker's worker: one locker's messages
// are applied one after the other, in order; different lockers' in
// parallel. It never blocks: it runs on the MQTT client's own goroutine,
// which must go on reading the broker's acknowledgements of what the
// workers publish (blocking it stalled the centre once a few thousand
// lockers connected at once), or inside the embedded broker on the
// publishing locker's connection. What it queues is bounded per locker:
// an event beyond MaxQueuedEvents or MaxQueuedEventBytes is dropped, and a
// status replaces the one still waiting. payload may share the reader's
// buffer: enqueue copies what it keeps, and only that.
func (c *Centre) enqueue(topic string, payload []byte) {
	id, kind, ok := ParseTopic(topic)
	if !ok {
		return
	}
	q := c.queueOf(id)
	switch kind {
	case KindEvents:
		if kept, first := q.pushEvent(id, payload); !kept {
			c.dropped.Add(1)
			if first {
				// Once until its queue empties: a flood logs one line.
				c.log.Warn("mqtt: a locker's queue is full; dropping its events (its controller sends them again)",
					"location", id, "max_events", MaxQueuedEvents, "max_bytes", MaxQueuedEventBytes)
			}
		}
	case KindStatus:
		var s Status
		if err := json.Unmarshal(payload, &s); err != nil {
			c.log.Warn("mqtt: unreadable status", "location", id, "err", err)
			return
		}
		q.pushStatus(id, s)
	}
}

// queueOf is the queue of a locker's worker.
func (c *Centre) queueOf(id string) *queue { return c.queues[lockerHash(id)%uint32(len(c.queues))] }

// lockerHash spreads the lockers over the workers and the telling locks.
func lockerHash(id string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(id))
	return h.Sum32()
}

// tellingStripe orders what the centre tells the lockers hashed to it of
// their parcels; told counts what it told them of single parcels.
type tellingStripe struct {
	sync.Mutex
	told uint64
}

// tellingLock is the stripe that orders what the centre tells a locker of
// its parcels.
func (c *Centre) tellingLock(locationID string) *tellingStripe {
	return &c.telling[lockerHash(locationID)%uint32(len(c.telling))]
}

// tell runs fn, which tells a locker of one of its parcels (an
// expect_pickup, a cancel or an expect_drop_off), under the locker's
// telling lock, and counts it for a sync read meanwhile (sync).
func (c *Centre) tell(locationID string, fn func()) {
	st := c.tellingLock(locationID)
	st.Lock()
	defer st.Unlock()
	fn()
	st.told++
}

func (c *Centre) work(q *queue) {
	for {
		m, ok := q.pop(c.ctx)
		if !ok {
			return
		}
		c.handle(m)
	}
}

// queue is a worker's queue of messages, bounded per locker (enqueue),
// so that pushing never blocks.
type queue struct {
	mu      sync.Mutex
	items   []*message
	lockers map[string]*waiting // what each locker has in items
	ready   chan struct{}       // has a token while items is not empty
}

// waiting is what one locker has in a queue.
type waiting struct {
	events, bytes int
	status        *message // its status in the queue, if any
	dropping      bool     // events dropped since its events were last all applied
}

func newQueue() *queue {
	return &queue{lockers: map[string]*waiting{}, ready: make(chan struct{}, 1)}
}

// pushEvent queues a copy of a locker's event unless the locker has
// MaxQueuedEvents or MaxQueuedEventBytes waiting already; first reports,
// for an event dropped, that it is the first since the locker's events
// were last all applied.
func (q *queue) pushEvent(id string, payload []byte) (kept, first bool) {
	q.mu.Lock()
	w := q.waitingOf(id)
	if w.events >= MaxQueuedEvents || w.bytes+len(payload) > MaxQueuedEventBytes {
		first = !w.dropping
		w.dropping = true
		q.mu.Unlock()
		return false, first
	}
	w.events++
	w.bytes += len(payload)
	q.items = append(q.items, &message{id: id, kind: KindEvents, payload: bytes.Clone(payload)})
	q.mu.Unlock()
	q.signal()
	return true, false
}

// pushStatus queues a locker's status, or puts it in the place of the one
// still waiting: only the newest counts. A request for a sync that it
// replaces is kept while the locker stays online.
func (q *queue) pushStatus(id string, s Status) {
	q.mu.Lock()
	w := q.waitingOf(id)
	if w.status != nil {
		if s.Online && w.status.status.Online && w.status.status.Sync {
			s.Sync = true
		}
		w.status.status = s
		q.mu.Unlock()
		return
	}
	w.status = &message{id: id, kind: KindStatus, status: s}
	q.items = append(q.items, w.status)
	q.mu.Unlock()
	q.signal()
}

// pushSyncDue queues a sync the locker asked for, due now (askSync keeps
// one at most a locker).
func (q *queue) pushSyncDue(id string) {
	q.mu.Lock()
	q.items = append(q.items, &message{id: id, kind: KindStatus, syncDue: true})
	q.mu.Unlock()
	q.signal()
}

// waitingOf returns what a locker has waiting, made if none; q.mu held.
func (q *queue) waitingOf(id string) *waiting {
	w := q.lockers[id]
	if w == nil {
		w = &waiting{}
		q.lockers[id] = w
	}
	return w
}

func (q *queue) signal() {
	select {
	case q.ready <- struct{}{}:
	default:
	}
}

// pop waits for the next message until ctx ends.
func (q *queue) pop(ctx context.Context) (message, bool) {
	for {
		q.mu.Lock()
		if len(q.items) > 0 {
			m := q.items[0]
			q.items[0] = nil
			q.items = q.items[1:]
			q.taken(m)
			more := len(q.items) > 0
			q.mu.Unlock()
			if more {
				q.signal()
			}
			return *m, true
		}
		q.mu.Unlock()
		select {
		case <-q.ready:
		case <-ctx.Done():
			return message{}, false
		}
	}
}

// taken accounts for m leaving the queue; q.mu held.
func (q *queue) taken(m *message) {
	w := q.lockers[m.id]
	if w == nil {
		return
	}
	switch {
	case m.kind == KindEvents:
		w.events--
		w.bytes -= len(m.payload)
		if w.events == 0 {
			w.dropping = false
		}
	case w.status == m:
		w.status = nil
	}
	if w.events == 0 && w.status == nil {
		delete(q.lockers, m.id)
	}
}

func (c *Centre) handle(m message) {
	id := m.id
	if m.syncDue {
		c.syncDue(id)
		return
	}
	s := m.status
	// A controller asks for a sync on every new connection, the first
	// under a new token included: the sync is sealed for the board key of
	// the credential as it stands now, not a cached copy from before a
	// rotation (another instance's, perhaps).
	read := c.device
	if s.Online && s.Sync {
		read = c.readDevice
	}
	dev, err := read(id)
	if err != nil {
		c.log.Warn("mqtt: a message of a locker without a device credential", "location", id, "err", err)
		return
	}
	switch m.kind {
	case KindEvents:
		c.event(dev, id, m.payload)
	case KindStatus:
		if err := c.cfg.Lockers.RecordStatus(c.ctx, dev, id, service.LockerStatus{
			Online: s.Online, At: s.At, Firmware: s.Firmware, Compartments: s.Compartments}); err != nil {
			c.log.Warn("mqtt: record status", "location", id, "err", err)
		}
		if !s.Online {
			return
		}
		if s.Sync {
			c.askSync(dev, id)
			return
		}
		if last, ok := c.synced.Load(id); !ok || c.now().Sub(last.(time.Time)) >= SyncEvery {
			c.sync(dev, id)
		}
	}
}

// now is the centre's clock's time.
func (c *Centre) now() time.Time { return c.cfg.Clock.Now() }

// askedSync is what the centre did with the syncs a locker asked for.
type askedSync struct {
	at      time.Time // when it last answered one
	token   string    // under which token (tokenOf)
	pending bool      // one is due later (pushSyncDue)
}

// tokenOf tells a device credential's tokens apart: a new credential, or
// the same rotated.
func tokenOf(dev lokero.Credential) string {
	return dev.ID + "|" + dev.IssuedAt().UTC().Format(time.RFC3339Nano) + "|" + dev.BoardKey
}

// askSync answers a locker's request for a sync (SyncAskedEvery): at once
// unless it answered one under the same token less than askedEvery ago;
// then once that time is up, whatever more it asks meanwhile. Only the
// locker's worker calls it.
func (c *Centre) askSync(dev lokero.Credential, id string) {
	v, _ := c.asked.LoadOrStore(id, &askedSync{})
	a := v.(*askedSync)
	now := c.now()
	since := now.Sub(a.at)
	if a.at.IsZero() || a.token != tokenOf(dev) || since >= c.askedEvery {
		a.at, a.token = now, tokenOf(dev)
		c.sync(dev, id)
		return
	}
	if a.pending {
		return // the one due answers this one too
	}
	a.pending = true
	// The wait is timed by the system's timer; what it waits for, by the
	// clock (a clock moved back waits askedEvery at most).
	wait := min(max(c.askedEvery-since, 0), c.askedEvery)
	time.AfterFunc(wait, func() {
		if c.ctx.Err() == nil {
			c.queueOf(id).pushSyncDue(id)
		}
	})
}

// syncDue sends the sync a locker asked for within askedEvery of the one
// before (askSync), now due, under its credential as it stands now.
func (c *Centre) syncDue(id string) {
	if v, ok := c.asked.Load(id); ok {
		v.(*askedSync).pending = false
	}
	dev, err := c.readDevice(id)
	if err != nil {
		c.log.Warn("mqtt: a sync asked for by a locker without a device credential", "location", id, "err", err)
		return
	}
	if v, ok := c.asked.Load(id); ok {
		a := v.(*askedSync)
		a.at, a.token = c.now(), tokenOf(dev)
	}
	c.sync(dev, id)
}

// event applies one event and answers it.
func (c *Centre) event(dev lokero.Credential, id string, payload []byte) {
	var ev Event
	if err := json.Unmarshal(payload, &ev); err != nil || ev.Seq < 1 {
		// Without a readable number there is nothing to acknowledge: the
		// controller resends it, and a controller that sends it wrong
		// needs mending, which the log says.
		c.log.Warn("mqtt: unreadable event", "location", id, "err", err, "seq", ev.Seq)
		c.failed.Add(1)
		return
	}
	de := service.DeviceEvent{
		Seq: ev.Seq, At: ev.At, Type: ev.Type, Compartment: ev.Compartment, Count: ev.Count,
		Code: ev.Code, AmountCents: ev.AmountCents, TerminalRef: ev.TerminalRef, ShipmentID: ev.ShipmentID, Token: ev.Token, TrackingCode: ev.TrackingCode,
		Courier: ev.Courier}
	out, err := c.cfg.Lockers.ApplyEvent(c.ctx, dev, id, de)
	if err == nil && (out.Result == service.EventDuplicate || out.Result == service.EventGap) {
		// The sequence is the credential's: a controller provisioned anew
		// numbers from 1 again, and judged by the old credential of the
		// cache its events would be answered duplicate (and forgotten by
		// the controller, never applied). Read the credential again.
		if fresh, ferr := c.readDevice(id); ferr == nil && fresh.ID != dev.ID {
			dev = fresh
			out, err = c.cfg.Lockers.ApplyEvent(c.ctx, dev, id, de)
		}
	}
	if err != nil {
		// Not applied (the store failed, or the credential changed): no
		// answer, so the controller sends it again.
		c.log.Error("mqtt: apply an event", "location", id, "seq", ev.Seq, "type", ev.Type, "err", err)
		c.failed.Add(1)
		return
	}
	ack := AckOf(ev.Seq, out)
	switch out.Result {
	case service.EventApplied:
		c.applied.Add(1)
	case service.EventDuplicate:
		c.duplicates.Add(1)
	case service.EventGap:
		c.gaps.Add(1)
	case service.EventRejected:
		c.rejected.Add(1)
	}
	// The event is applied even if its ack is lost: the controller, without
	// it, sends the event again and gets "duplicate".
	c.publish(id, KindAcks, ack)
	if out.Result != service.EventApplied || out.Shipment.ID == "" {
		return
	}
	// A door closed on a deposit: the parcel is to be expected; on a
	// pickup: no longer. A verifier's derivation (slow on purpose) runs
	// off the worker, so that the next events of the worker's lockers
	// (doors closing, whose notices of arrival wait on them) do not wait
	// behind it: during a burst of deposits they waited seconds.
	switch out.Shipment.Status {
	case lokero.StatusReadyForPickup:
		ready := out.Shipment
		c.wg.Go(func() { c.expectLater(dev, id, ready) })
	case lokero.StatusPickedUp:
		c.tell(id, func() { c.publish(id, KindCommands, Command{Type: CommandCancel, ShipmentID: out.Shipment.ID}) })
		// Its return may come here, with the locker offline.
		shipmentID := out.Shipment.ID
		c.wg.Go(func() { c.expectDropOffLater(dev, id, shipmentID) })
	}
}

// expectLater sends a locker a parcel its door's closing made ready
// there (expect_pickup): it derives the verifier first, on its own, from
// the parcel as the closing left it, then under the locker's telling lock
// reads the parcel again and sends it only if it still waits there. A
// pickup applied meanwhile has sent its cancel under the same lock,
// before or after: either way the controller ends up without the parcel.
func (c *Centre) expectLater(dev lokero.Credential, locationID string, ready lokero.Shipment) {
	warn := func(err error) {
		if c.ctx.Err() == nil {
			c.log.Warn("mqtt: expect a pickup", "location", locationID, "shipment", ready.ID, "err", err)
		}
	}
	p, ok, err := c.cfg.Lockers.ExpectedOf(c.ctx, dev, locationID, ready)
	if err != nil || !ok {
		if err != nil {
			warn(err)
		}
		return
	}
	c.tell(locationID, func() {
		if p, ok, err = c.cfg.Lockers.Recheck(c.ctx, dev, locationID, p); err != nil {
			warn(err)
		} else if ok {
			c.publish(locationID, KindCommands, Command{Type: CommandExpectPickup, Pickup: ptr(pickupOf(p))})
		}
	})
}

// expectDropOffLater sends a locker the return code of a parcel picked
// up there (expect_drop_off), when it has one, its verifier derived off
// the worker as in expectLater.
func (c *Centre) expectDropOffLater(dev lokero.Credential, locationID, shipmentID string) {
	d, ok, err := c.cfg.Lockers.ExpectedDropOff(c.ctx, dev, locationID, shipmentID)
	if err != nil {
		if c.ctx.Err() == nil {
			c.log.Warn("mqtt: expect a drop-off", "location", locationID, "shipment", shipmentID, "err", err)
		}
		return
	}
	if ok {
		// Told under the locker's lock, as a pickup: a sync read before it
		// (without the return) is read again rather than sent after it.
		c.tell(locationID, func() {
			c.publish(locationID, KindCommands, Command{Type: CommandExpectDropOff, DropOff: ptr(dropOffOf(d))})
		})
	}
}

func dropOffOf(d service.ExpectedDropOff) DropOff {
	return DropOff{ShipmentID: d.ShipmentID, Verifier: d.Verifier, Sealed: d.Sealed,
		LengthCM: d.Parcel[0], WidthCM: d.Parcel[1], HeightCM: d.Parcel[2], Until: d.Until}
}

// sync sends a locker everything its controller should know. It reads
// it (deriving the verifiers it lacks) off the telling lock, then sends it
// under the lock; should the centre have told the locker of a parcel
// meanwhile (a cancel: the parcel was handed out through another way), it
// reads it again first (the verifiers now kept), so that a list older
// than a cancel never brings the parcel back.
func (c *Centre) sync(dev lokero.Credential, id string) {
	st := c.tellingLock(id)
	st.Lock()
	told := st.told
	st.Unlock()
	s, err := c.cfg.Lockers.Sync(c.ctx, dev, id)
	st.Lock()
	defer st.Unlock()
	if err == nil && st.told != told {
		s, err = c.cfg.Lockers.Sync(c.ctx, dev, id)
	}
	if err != nil {
		c.log.Warn("mqtt: sync", "location", id, "err", err)
		return
	}
	cmd := Command{Type: CommandSync, At: s.At, Pickups: make([]Pickup, 0, len(s.Pickups)), QRKey: s.QRKey, RevokedCouriers: s.RevokedCouriers,
		KDF: &KDF{Alg: s.KDF.Alg, Salt: s.Salt, Time: s.KDF.Time, MemoryKiB: s.KDF.MemoryKiB, Threads: s.KDF.Threads, KeyLen: s.KDF.KeyLen}}
	for _, p := range s.Pickups {
		cmd.Pickups = append(cmd.Pickups, pickupOf(p))
	}
	cmd.DropOffs = make([]DropOff, 0, len(s.DropOffs))
	for _, d := range s.DropOffs {
		cmd.DropOffs = append(cmd.DropOffs, dropOffOf(d))
	}
	for _, d := range s.Deliveries {
		cmd.Deliveries = append(cmd.Deliveries, Delivery{TrackingCode: d.TrackingCode, LengthCM: d.Parcel[0], WidthCM: d.Parcel[1], HeightCM: d.Parcel[2]})
	}
	for _, c := range s.Compartments {
		cmd.Compartments = append(cmd.Compartments, Compartment{N: c.Number, Size: c.Size, LengthCM: c.LengthCM, WidthCM: c.WidthCM,
			HeightCM: c.HeightCM, OutOfOrder: c.OutOfOrder, Occupied: c.Occupied})
	}
	if c.publish(id, KindCommands, cmd) {
		c.synced.Store(id, c.now())
	}
}

func pickupOf(p service.ExpectedPickup) Pickup {
	return Pickup{ShipmentID: p.ShipmentID, Compartment: p.Compartment, Verifier: p.Verifier, Sealed: p.Sealed, CodeTag: p.CodeTag,
		Deadline: p.Deadline, CODCents: p.CODCents, QRSince: p.QRSince}
}

func ptr[T any](v T) *T { return &v }

// publish sends a message to one of a locker's topics (QoS 1, not
// retained) and reports whether the client took it. It does not wait for
// the broker's acknowledgement: the client resends until it comes, and a
// worker waiting for it would hold up the locker's next events.
func (c *Centre) publish(id, kind string, msg any) bool {
	raw, err := json.Marshal(msg)
	if err != nil {
		c.log.Error("mqtt: encode a message", "kind", kind, "err", err)
		return false
	}
	if err := c.out(Topic(id, kind), raw); err != nil {
		c.log.Warn("mqtt: publish", "location", id, "kind", kind, "err", err)
		return false
	}
	return true
}

// AckOf is the answer to the event numbered seq that gave out.
func AckOf(seq int64, out service.DeviceOutcome) Ack {
	ack := Ack{Seq: seq, Result: out.Result, Expect: out.Expect}
	if out.Keypad.Compartment > 0 {
		ack.Purpose = out.Keypad.Purpose
		if out.Keypad.Result == "payment_required" {
			ack.AmountCents, ack.Currency = out.Keypad.AmountCents, "EUR"
		} else {
			ack.Open = out.Keypad.Compartment
		}
	}
	if out.Shipment.ID != "" {
		ack.Status = string(out.Shipment.Status)
	}
	var e *lokero.Error
	if errors.As(out.Err, &e) {
		ack.Error = &Error{Code: e.Code, Reason: e.Reason, Message: e.Message}
	}
	return ack
}

// device returns the locker's device credential, from a copy kept for
// deviceTTL.
func (c *Centre) device(id string) (lokero.Credential, error) {
	if v, ok := c.devices.Load(id); ok && time.Since(v.(cachedDevice).at) < deviceTTL {
		return v.(cachedDevice).cred, nil
	}
	return c.readDevice(id)
}

// readDevice reads a locker's device credential from the store and
// caches it.
func (c *Centre) readDevice(id string) (lokero.Credential, error) {
	cred, err := c.cfg.Lockers.LockerDevice(c.ctx, id)
	if err != nil {
		return lokero.Credential{}, err
	}
	c.devices.Store(id, cachedDevice{cred: cred, at: time.Now()})
	return cred, nil
}

// Open tells a locker's controller to open a compartment now, for whom
// the centre let in (purpose "deposit" or "collect" for a courier's
// handheld, "service" for an operator); the command carries the time it
// was sent, and a controller obeys it only within
// controller.OpenCommandValidFor. It reports whether the command was
// handed to the broker (a locker not connected may never see it: the
// courier then opens with the locker's own keypad).
func (c *Centre) Open(locationID string, compartment int, purpose, shipmentID string) bool {
	return c.publish(locationID, KindCommands, Command{Type: CommandOpen, At: time.Now().UTC(),
		Compartment: compartment, Purpose: purpose, ShipmentID: shipmentID})
}

// SetOutOfOrder tells a locker's controller that a compartment is out of
// order (or back in order). A command lost on the way is corrected by
// the next sync, which lists the compartments.
func (c *Centre) SetOutOfOrder(locationID string, compartment int, outOfOrder bool) bool {
	return c.publish(locationID, KindCommands, Command{Type: CommandOutOfOrder, Compartment: compartment, OutOfOrder: &outOfOrder})
}

// Expect sends a locker's controller a parcel's pickup again, after what
// changed it at the centre (its opening code rotated: a new verifier), or
// cancels it when the parcel no longer waits there.
func (c *Centre) Expect(ctx context.Context, locationID, shipmentID string) {
	dev, err := c.device(locationID)
	if err != nil {
		return // a locker without a device credential has no controller
	}
	// Derive first (kept), then tell under the lock, as expectLater does.
	if _, _, err := c.cfg.Lockers.Expected(ctx, dev, locationID, shipmentID); err != nil {
		c.log.Warn("mqtt: expect a pickup", "location", locationID, "shipment", shipmentID, "err", err)
		return
	}
	c.tell(locationID, func() {
		if waits, err := c.expectPickup(ctx, dev, locationID, shipmentID); err == nil && !waits {
			c.publish(locationID, KindCommands, Command{Type: CommandCancel, ShipmentID: shipmentID})
		}
	})
}

// expectPickup sends the locker a parcel waiting there (expect_pickup,
// its verifier made or kept) and reports whether it waits there; an error
// (logged) when the centre could not tell.
func (c *Centre) expectPickup(ctx context.Context, dev lokero.Credential, locationID, shipmentID string) (bool, error) {
	p, ok, err := c.cfg.Lockers.Expected(ctx, dev, locationID, shipmentID)
	if err != nil {
		c.log.Warn("mqtt: expect a pickup", "location", locationID, "shipment", shipmentID, "err", err)
		return false, err
	}
	if ok {
		c.publish(locationID, KindCommands, Command{Type: CommandExpectPickup, Pickup: ptr(pickupOf(p))})
	}
	return ok, nil
}

// Forget drops the centre's copy of a locker's device credential (after it
// was revoked or a new one provisioned).
func (c *Centre) Forget(locationID string) { c.devices.Delete(locationID) }

// Stats returns the counts since the centre started.
func (c *Centre) Stats() CentreStats {
	return CentreStats{Applied: c.applied.Load(), Duplicates: c.duplicates.Load(), Gaps: c.gaps.Load(),
		Rejected: c.rejected.Load(), Failed: c.failed.Load(), Dropped: c.dropped.Load()}
}

// Connected reports whether the centre is connected to the broker now
// (inside an embedded broker: until Close).
func (c *Centre) Connected() bool {
	if c.broker != nil {
		return c.ctx.Err() == nil
	}
	return c.client != nil && c.client.IsConnectionOpen()
}

// Close disconnects (unsubscribes, inside an embedded broker) and stops
// the workers (an event being applied is finished first).
func (c *Centre) Close() {
	if c.client != nil {
		c.client.Disconnect(250)
	}
	if c.broker != nil {
		for i, filter := range c.filters() {
			_ = c.broker.inlineUnsubscribe(filter, i+1) // only fails for a filter Subscribe took
		}
	}
	c.cancel()
	c.wg.Wait()
}
