// Package controller is the program that runs inside a locker (`lokero
// locker run`): it keeps its state in a local bbolt file, drives the locks
// through a LockDriver, checks opening codes offline against the
// verifiers the centre sent, and reports every event to the centre over
// MQTT (docs/device-protocol.md) exactly once and in order, queueing them
// while it is disconnected.
//
// The centre never sends codes: a pickup carries the verifier of its code,
// argon2id(code, salt) with the parameters of the last sync, so that one
// keypad entry costs one slow derivation and a stolen state file does not
// give the codes away cheaply.
package controller

import (
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/lokero/lokero"
	"github.com/lokero/lokero/device"
	"github.com/lokero/lokero/locker"
	bolt "go.etcd.io/bbolt"
)

// Defaults of Config.
const (
	DefaultHeartbeat   = time.Minute
	DefaultResendAfter = 10 * time.Second
	DefaultOnlineWait  = 5 * time.Second
	DefaultSyncWait    = time.Minute
	DefaultFirmware    = "lokero-controller 1.0"
)

// Config is how a controller runs.
type Config struct {
	// LocationID is the locker's location ID: the MQTT username, and its
	// client ID is device.LockerClientID(LocationID).
	LocationID string
	// Broker is the MQTT broker, tcp://host:port (or tls://host:port).
	Broker string
	// Token is the locker's device token (lkd_…): the MQTT password.
	Token string
	// StatePath is the bbolt file of the controller's state: created when
	// missing, kept across restarts.
	StatePath string
	// Firmware is reported in the status (DefaultFirmware when empty).
	Firmware string
	// Driver opens the locks and reports the doors.
	Driver LockDriver
	// Clock times events, deadlines and the keypad's lockout
	// (lokero.SystemClock when nil).
	Clock lokero.Clock
	// Log takes the controller's log (discarded when nil). Codes are
	// never logged.
	Log *slog.Logger
	// Heartbeat is how often the status is published (DefaultHeartbeat).
	Heartbeat time.Duration
	// ResendAfter is how long an event goes unanswered before the
	// unanswered ones are sent again (DefaultResendAfter).
	ResendAfter time.Duration
	// OnlineWait is how long Keypad waits for the centre's answer to a
	// code it does not know itself (DefaultOnlineWait).
	OnlineWait time.Duration
	// SyncWait is how long after connecting the controller waits for the
	// sync it asked for before it connects again (DefaultSyncWait): a
	// broker that lost its subscriptions or its session in the moment it
	// connected would leave it deaf to every answer and command. While
	// none comes the wait doubles, up to 16 times SyncWait.
	SyncWait time.Duration
	// Derivations, when set, bounds the keypad's derivations across the
	// controllers that share it: many simulated lockers in one process
	// (lokero sim). A locker's own board derives one entry at a time
	// anyway.
	Derivations *locker.Derivations

	// dial, when set, opens the network connection (tests cut it).
	dial func(addr string) (net.Conn, error)
	// maxReconnect caps the wait between reconnections (10 s when 0).
	maxReconnect time.Duration
}

// The results of Keypad.
const (
	ResultOpen            = "open"             // the door of Compartment is open
	ResultWrongCode       = "wrong_code"       // the code opens nothing; Wait > 0 when it locked the keypad
	ResultLocked          = "locked"           // the keypad takes no code for Wait
	ResultPaymentRequired = "payment_required" // AmountCents to pay first
	ResultUnknown         = "unknown"          // no answer from the centre in time: try again
	ResultSignedIn        = "signed_in"        // SignInCourier: the courier may deposit
)

// CourierIdle is how long a courier signed in at the keypad stays signed
// in without a deposit.
const CourierIdle = 10 * time.Minute

// KeypadResult is what the keypad's screen shows after a code.
type KeypadResult struct {
	Result      string
	Compartment int
	Wait        time.Duration
	AmountCents int64
}

// Controller is one locker's controller. Its methods are safe for
// concurrent use; Keypad entries are taken one at a time.
type Controller struct {
	cfg Config
	db  *bolt.DB
	// boardKey opens the codes the centre seals for this board
	// (locker.BoardKey of its token).
	boardKey []byte
	log      *slog.Logger
	policy   locker.CodePolicy
	driver   *pulsedDriver // cfg.Driver, wrapped
	topics   struct{ events, acks, commands, status string }
	kick     chan struct{} // wakes Run's sender
	counts   ackCounters   // Stats

	kmu sync.Mutex // one keypad entry at a time

	mu    sync.Mutex
	kdf   *KDF
	qrKey ed25519.PublicKey // the centre's QR key, from the last sync (nil: none)
	// deliveries (by tracking code) and known are the last sync's parcels
	// on their way here and compartments; deposited the parcels taken
	// from couriers offline (tracking code → compartment).
	deliveries map[string]device.Delivery
	known      []device.Compartment
	deposited  map[string]int
	dropOffs   map[string]device.DropOff // by shipment ID
	// couriers are the couriers the centre accepted here (CourierHash →
	// when last), kept in bucketCouriers; courier is the one signed in at
	// the keypad now, if any.
	couriers   map[string]time.Time
	courier    *courierSession
	pickups    map[string]Pickup   // by shipment ID
	byVerifier map[string][]string // verifier → shipment IDs
	picked     map[string]pickedMark
	keypad     locker.Keypad
	syncAt     time.Time
	waiters    map[int64]chan device.Ack // keypad events awaiting their answer
	entries    map[int64][]byte          // those of waiters with a code or QR token, encoded with it: never stored
	doors      map[int]bool              // door open, as last known
	cursor     int64                     // the next sequence number to publish on this connection
	sentAt     map[int64]time.Time       // when each unanswered event was last published
	heard      time.Time                 // the last answer from the centre, or the last send
	outboxN    int                       // events in the outbox (Pending), kept with it
	gapFrom    int64                     // the last gap's expect …
	gapAt      time.Time                 // … and when it was honoured
	client     mqtt.Client
	ready      bool // connected, subscribed, status published, cursor reset
	// askedAt is when this connection asked for a sync, zero once one
	// came; syncWait how long it waits for it (Config.SyncWait, doubled
	// after each connection that heard none).
	askedAt  time.Time
	syncWait time.Duration
	// cleanStart: the broker's persistent session for the locker's client
	// ID may be another token's (keySession); Run discards it first.
	cleanStart bool
	// toDerive are the sealed codes of pickups kept without a verifier yet,
	// which deriveLoop derives off the MQTT client's message callback (a
	// derivation there would hold up the locker's answers); stopDeriving
	// ends it.
	toDerive     chan derivation
	stopDeriving chan struct{}
	closed       bool
}

// Open opens (or creates) the controller's state file. Call Run to
// connect, Close when done.
func Open(cfg Config) (*Controller, error) {
	switch {
	case cfg.LocationID == "" || strings.ContainsAny(cfg.LocationID, "+#/"):
		return nil, fmt.Errorf("controller: invalid location ID %q", cfg.LocationID)
	case cfg.StatePath == "":
		return nil, errors.New("controller: no state path")
	case cfg.Driver == nil:
		return nil, errors.New("controller: no lock driver")
	}
	if cfg.Firmware == "" {
		cfg.Firmware = DefaultFirmware
	}
	if cfg.Clock == nil {
		cfg.Clock = lokero.SystemClock{}
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = DefaultHeartbeat
	}
	if cfg.ResendAfter <= 0 {
		cfg.ResendAfter = DefaultResendAfter
	}
	if cfg.OnlineWait <= 0 {
		cfg.OnlineWait = DefaultOnlineWait
	}
	if cfg.SyncWait <= 0 {
		cfg.SyncWait = DefaultSyncWait
	}
	if cfg.maxReconnect <= 0 {
		cfg.maxReconnect = 10 * time.Second
	}
	// NoFreelistSync: a commit does not write the free pages' list too
	// (bbolt rebuilds it by a scan when it opens the file after a crash,
	// quick for a state file this small): one page less to write a
	// commit, for every event queued and answered, and less wear on a
	// locker's flash.
	db, err := bolt.Open(cfg.StatePath, 0o600, &bolt.Options{Timeout: 2 * time.Second, NoFreelistSync: true})
	if err != nil {
		return nil, fmt.Errorf("controller: open state %s: %w", cfg.StatePath, err)
	}
	// Every pulse goes through the wrapper, which remembers it (door).
	pulsed := &pulsedDriver{LockDriver: cfg.Driver}
	cfg.Driver = pulsed
	c := &Controller{
		cfg: cfg, db: db, log: cfg.Log, policy: locker.DefaultPolicy(), driver: pulsed, boardKey: locker.BoardKey(cfg.Token),
		kick:         make(chan struct{}, 1),
		pickups:      map[string]Pickup{},
		byVerifier:   map[string][]string{},
		picked:       map[string]pickedMark{},
		deliveries:   map[string]device.Delivery{},
		deposited:    map[string]int{},
		dropOffs:     map[string]device.DropOff{},
		couriers:     map[string]time.Time{},
		waiters:      map[int64]chan device.Ack{},
		entries:      map[int64][]byte{},
		doors:        map[int]bool{},
		sentAt:       map[int64]time.Time{},
		syncWait:     cfg.SyncWait,
		toDerive:     make(chan derivation, 1024),
		stopDeriving: make(chan struct{}),
	}
	c.topics.events = device.Topic(cfg.LocationID, device.KindEvents)
	c.topics.acks = device.Topic(cfg.LocationID, device.KindAcks)
	c.topics.commands = device.Topic(cfg.LocationID, device.KindCommands)
	c.topics.status = device.Topic(cfg.LocationID, device.KindStatus)
	if err := c.load(); err != nil {
		db.Close()
		return nil, fmt.Errorf("controller: load state %s: %w", cfg.StatePath, err)
	}
	go c.deriveLoop()
	return c, nil
}

// load reads the state file into memory, creating its buckets.
func (c *Controller) load() error {
	now := c.cfg.Clock.Now()
	return c.db.Update(func(tx *bolt.Tx) error {
		if err := initBuckets(tx); err != nil {
			return err
		}
		if err := c.newCredential(tx); err != nil {
			return err
		}
		// Counted by a cursor: Stats reads the committed pages only, and
		// misses the events newCredential renumbered in this transaction.
		c.outboxN = 0
		out := tx.Bucket(bucketOutbox).Cursor()
		for k, _ := out.First(); k != nil; k, _ = out.Next() {
			c.outboxN++
		}
		k, err := loadKeypad(tx)
		if err != nil {
			return err
		}
		c.keypad = k
		var kdf KDF
		if found, err := getJSON(tx, bucketMeta, keyKDF, &kdf); err != nil {
			return err
		} else if found {
			c.kdf = &kdf
		}
		var deliveries []device.Delivery
		if _, err := getJSON(tx, bucketMeta, keyDeliveries, &deliveries); err != nil {
			return err
		}
		c.setDeliveries(deliveries)
		if _, err := getJSON(tx, bucketMeta, keyCompartments, &c.known); err != nil {
			return err
		}
		if err := tx.Bucket(bucketDropOffs).ForEach(func(k, _ []byte) error {
			var d device.DropOff
			if _, err := getJSON(tx, bucketDropOffs, k, &d); err != nil {
				return err
			}
			c.dropOffs[d.ShipmentID] = d
			return nil
		}); err != nil {
			return err
		}
		if err := tx.Bucket(bucketDeposited).ForEach(func(k, v []byte) error {
			n, _ := strconv.Atoi(string(v))
			c.deposited[string(k)] = n
			return nil
		}); err != nil {
			return err
		}
		if err := c.loadCouriers(tx, now); err != nil {
			return err
		}
		if v := tx.Bucket(bucketMeta).Get(keyQRKey); len(v) == ed25519.PublicKeySize {
			c.qrKey = ed25519.PublicKey(append([]byte(nil), v...))
		}
		if v := tx.Bucket(bucketMeta).Get(keySyncAt); v != nil {
			if err := c.syncAt.UnmarshalText(v); err != nil {
				return fmt.Errorf("decode sync_at: %w", err)
			}
		}
		err = tx.Bucket(bucketPickups).ForEach(func(k, v []byte) error {
			var p Pickup
			if _, err := getJSON(tx, bucketPickups, k, &p); err != nil {
				return err
			}
			c.addPickup(p)
			return nil
		})
		if err != nil {
			return err
		}
		err = tx.Bucket(bucketPicked).ForEach(func(k, v []byte) error {
			var m pickedMark
			if _, err := getJSON(tx, bucketPicked, k, &m); err != nil {
				return err
			}
			c.picked[string(k)] = m
			return nil
		})
		if err != nil {
			return err
		}
		return c.prunePicked(tx, now)
	})
}

// prunePicked forgets the parcels handed out over pickedKeep ago. c.mu
// held (or c not yet shared).
func (c *Controller) prunePicked(tx *bolt.Tx, now time.Time) error {
	for id, m := range c.picked {
		if now.Sub(m.At) > pickedKeep {
			if err := tx.Bucket(bucketPicked).Delete([]byte(id)); err != nil {
				return fmt.Errorf("forget picked %s: %w", id, err)
			}
			delete(c.picked, id)
		}
	}
	return nil
}

// addPickup adds p to the in-memory pickups, replacing one of the same
// shipment. c.mu held.
func (c *Controller) addPickup(p Pickup) {
	c.removePickup(p.ShipmentID)
	c.pickups[p.ShipmentID] = p
	if len(p.Verifier) == 0 { // its code still to derive (deriveLoop)
		return
	}
	k := verifierKey(p.Verifier)
	c.byVerifier[k] = append(c.byVerifier[k], p.ShipmentID)
}

// removePickup forgets a pickup in memory. c.mu held.
func (c *Controller) removePickup(id string) {
	old, ok := c.pickups[id]
	if !ok {
		return
	}
	delete(c.pickups, id)
	if len(old.Verifier) == 0 {
		return
	}
	k := verifierKey(old.Verifier)
	ids := c.byVerifier[k][:0]
	for _, x := range c.byVerifier[k] {
		if x != id {
			ids = append(ids, x)
		}
	}
	if len(ids) == 0 {
		delete(c.byVerifier, k)
	} else {
		c.byVerifier[k] = ids
	}
}

// Close closes the state file. Call it after Run has returned.
func (c *Controller) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil
	}
	c.closed = true
	close(c.stopDeriving)
	if err := c.db.Close(); err != nil {
		return fmt.Errorf("controller: close state: %w", err)
	}
	return nil
}

// Pending returns how many events have no answer from the centre yet.
func (c *Controller) Pending() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0
	}
	return c.outboxN
}

// Checks reports whether the controller checks the code of a parcel
// itself: it expects the parcel, not handed out yet, with the code's
// verifier (derived, when its board derives).
func (c *Controller) Checks(shipmentID string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.pickups[shipmentID]
	_, done := c.picked[shipmentID]
	return ok && !done && len(p.Verifier) > 0
}

// Expecting returns how many parcels the controller can hand out itself
// now (known from the centre, not yet handed out).
func (c *Controller) Expecting() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for id, p := range c.pickups {
		if _, done := c.picked[id]; !done && len(p.Verifier) > 0 {
			n++
		}
	}
	return n
}

// Connected reports whether the controller is connected to the broker.
func (c *Controller) Connected() bool {
	c.mu.Lock()
	client, ready := c.client, c.ready
	c.mu.Unlock()
	return ready && client != nil && client.IsConnectionOpen()
}

// Letters reports count letters dropped into the mail slot.
func (c *Controller) Letters(ctx context.Context, count int) error {
	if count < 1 {
		return fmt.Errorf("controller: letters: count %d, want at least 1", count)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("controller: letters: %w", err)
	}
	_, err := c.queueEvent(Event{Type: TypeLetterDropped, Count: count})
	return err
}

// queueEvent numbers e, times it and keeps it in the outbox, then wakes
// the sender. It returns e's sequence number.
func (c *Controller) queueEvent(e Event) (int64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.queueLocked(&e, nil); err != nil {
		return 0, err
	}
	c.wake()
	return e.Seq, nil
}

// queueLocked queues e in one transaction with more (which may be nil).
// c.mu held.
func (c *Controller) queueLocked(e *Event, more func(tx *bolt.Tx) error) error {
	if c.closed {
		return errors.New("controller: closed")
	}
	if e.At.IsZero() {
		e.At = c.cfg.Clock.Now().UTC()
	}
	err := c.db.Update(func(tx *bolt.Tx) error {
		if err := queue(tx, e); err != nil {
			return err
		}
		if more != nil {
			return more(tx)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("controller: queue %s event: %w", e.Type, err)
	}
	c.outboxN++
	return nil
}

// unqueue takes back the last event queued, seq, never sent (c.mu held
// since it was queued: the sender reads under it), with what undo undoes
// in the same state transaction: the lock its event was for failed.
func (c *Controller) unqueue(seq int64, undo func(tx *bolt.Tx) error) error {
	err := c.db.Update(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketOutbox).Delete(seqKey(seq)); err != nil {
			return err
		}
		if err := tx.Bucket(bucketMeta).Put(keySeq, seqKey(seq-1)); err != nil {
			return err
		}
		return undo(tx)
	})
	if err == nil {
		c.outboxN--
	}
	return err
}

// wake wakes Run's sender (without blocking).
func (c *Controller) wake() {
	select {
	case c.kick <- struct{}{}:
	default:
	}
}

// forcedAfter is how long after its lock's pulse a door's opening still
// counts as the controller's: a board reports it a moment after.
const forcedAfter = 10 * time.Second

// door records a door event from the driver; a door shut is a
// door_closed event, a door opened that the controller did not open (no
// pulse of its lock within forcedAfter, not already open) a door_opened
// one: forced, or a lock failed open.
func (c *Controller) door(ev DoorEvent) {
	c.mu.Lock()
	wasOpen := c.doors[ev.Compartment]
	c.doors[ev.Compartment] = ev.Open
	c.mu.Unlock()
	if ev.Open {
		if wasOpen || c.driver.pulsedWithin(ev.Compartment, forcedAfter) {
			return
		}
		c.log.Warn("controller: a door opened without its lock's pulse", "compartment", ev.Compartment)
		if _, err := c.queueEvent(Event{Type: TypeDoorOpened, Compartment: ev.Compartment}); err != nil {
			c.log.Error("controller: door opened, event not queued", "compartment", ev.Compartment, "err", err)
		}
		return
	}
	if _, err := c.queueEvent(Event{Type: TypeDoorClosed, Compartment: ev.Compartment}); err != nil {
		c.log.Error("controller: door closed, event not queued", "compartment", ev.Compartment, "err", err)
	}
}

// normalise strips white space from an entered code.
func normalise(code string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, code)
}

// Keypad takes a code entered at the keypad and says what the screen
// shows. It checks the keypad's lockout first. With a sync's KDF it
// derives the code's verifier once and opens the compartment of a known
// parcel itself (queueing a "pickup" event), connected or not. A code it
// does not know goes to the centre as a "keypad" event when connected
// (waiting up to OnlineWait for the answer), and counts as wrong when not.
// An error means the state file or the lock failed.
func (c *Controller) Keypad(ctx context.Context, code string) (KeypadResult, error) {
	code = normalise(code)
	c.kmu.Lock()
	defer c.kmu.Unlock()
	now := c.cfg.Clock.Now()

	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return KeypadResult{}, errors.New("controller: closed")
	}
	wait, ok := c.policy.Check(c.keypad, now)
	kdf := c.kdf
	c.mu.Unlock()
	if !ok {
		return KeypadResult{Result: ResultLocked, Wait: wait}, nil
	}

	var hit *Pickup
	var drop *device.DropOff
	if kdf != nil && code != "" {
		// The very derivation the centre made the verifiers with.
		key, err := c.cfg.Derivations.Verifier(ctx, locker.KDF{Alg: kdf.Alg, Time: kdf.Time, MemoryKiB: kdf.MemoryKiB,
			Threads: kdf.Threads, KeyLen: kdf.KeyLen}, code, kdf.Salt)
		if err != nil {
			return KeypadResult{}, fmt.Errorf("controller: derive the entry: %w", err)
		}
		c.mu.Lock()
		hit = c.lookup(key, now)
		if hit == nil {
			drop = c.lookupDropOff(key, now)
		}
		c.mu.Unlock()
	}
	switch {
	case hit != nil && hit.CODCents == 0:
		return c.openPickup(ctx, *hit, now)
	case drop != nil && !c.Connected():
		return c.dropOffOffline(ctx, *drop, now)
	case drop != nil:
		res, _, err := c.online(ctx, code, nil, now)
		if err == nil && res.Result == ResultOpen {
			c.forgetDropOff(drop.ShipmentID) // the centre took the return
		}
		return res, err
	case code == "":
		return c.wrong(now)
	case c.Connected():
		res, answered, err := c.online(ctx, code, hit, now)
		if err == nil && !answered && hit == nil {
			// A code no parcel here has, and no answer in time: counted
			// as wrong, as offline. A link that looks up while the centre
			// is silent (a backlog, a jam not yet noticed) must not give
			// guesses the lockout does not count. The screen still says
			// there was no answer (with the lockout it started, if any).
			if res, err = c.wrong(now); err == nil {
				res.Result = ResultUnknown
			}
		}
		return res, err
	case hit != nil: // cash on delivery, offline: no payment here
		if err := c.right(now); err != nil {
			return KeypadResult{}, err
		}
		return KeypadResult{Result: ResultPaymentRequired, Compartment: hit.Compartment, AmountCents: hit.CODCents}, nil
	default:
		return c.wrong(now)
	}
}

// lookup returns the pickup whose verifier is key, not handed out yet,
// before its deadline; nil when none. c.mu held.
func (c *Controller) lookup(key []byte, now time.Time) *Pickup {
	for _, id := range c.byVerifier[verifierKey(key)] {
		if _, done := c.picked[id]; done {
			continue
		}
		p := c.pickups[id]
		if !p.Deadline.IsZero() && !now.Before(p.Deadline) {
			continue
		}
		return &p
	}
	return nil
}

// openPickup hands out parcel p: in one transaction it records the right
// code, marks p picked and queues its pickup event; then it opens the
// door. Should the lock fail, the transaction is undone (nothing was sent:
// c.mu is held throughout, and the sender reads under it). A crash between
// the two leaves p picked and its event queued: the door probably opened,
// and a parcel must never open twice.
func (c *Controller) openPickup(ctx context.Context, p Pickup, now time.Time) (KeypadResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, still := c.pickups[p.ShipmentID]; !still { // cancelled meanwhile
		return c.wrongLocked(now)
	}
	kp := c.policy.Right(c.keypad, now)
	mark := pickedMark{At: now}
	e := Event{At: now.UTC(), Type: TypePickup, Compartment: p.Compartment, ShipmentID: p.ShipmentID}
	err := c.queueLocked(&e, func(tx *bolt.Tx) error {
		mark.Seq = e.Seq
		if err := putJSON(tx, bucketPicked, []byte(p.ShipmentID), mark); err != nil {
			return err
		}
		return putJSON(tx, bucketMeta, keyKeypad, kp)
	})
	if err != nil {
		return KeypadResult{}, err
	}
	c.keypad = kp
	c.picked[p.ShipmentID] = mark
	if oerr := c.cfg.Driver.Open(ctx, p.Compartment); oerr != nil {
		uerr := c.unqueue(e.Seq, func(tx *bolt.Tx) error { return tx.Bucket(bucketPicked).Delete([]byte(p.ShipmentID)) })
		if uerr == nil {
			delete(c.picked, p.ShipmentID)
		} else {
			c.log.Error("controller: lock failed and its pickup could not be undone", "shipment", p.ShipmentID, "err", uerr)
		}
		return KeypadResult{}, fmt.Errorf("controller: open compartment %d: %w", p.Compartment, oerr)
	}
	c.doors[p.Compartment] = true
	c.wake()
	c.log.Info("controller: parcel handed out offline", "shipment", p.ShipmentID, "compartment", p.Compartment, "seq", e.Seq)
	return KeypadResult{Result: ResultOpen, Compartment: p.Compartment}, nil
}

// right records a right code.
func (c *Controller) right(now time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	kp := c.policy.Right(c.keypad, now)
	if err := c.saveKeypad(kp); err != nil {
		return err
	}
	return nil
}

// wrong records a wrong code and answers it.
func (c *Controller) wrong(now time.Time) (KeypadResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.wrongLocked(now)
}

// wrongLocked is wrong with c.mu held.
func (c *Controller) wrongLocked(now time.Time) (KeypadResult, error) {
	kp, lock := c.policy.Wrong(c.keypad, now)
	if err := c.saveKeypad(kp); err != nil {
		return KeypadResult{}, err
	}
	return KeypadResult{Result: ResultWrongCode, Wait: lock}, nil
}

// saveKeypad stores the keypad's state. c.mu held.
func (c *Controller) saveKeypad(kp locker.Keypad) error {
	if c.closed {
		return errors.New("controller: closed")
	}
	err := c.db.Update(func(tx *bolt.Tx) error { return putJSON(tx, bucketMeta, keyKeypad, kp) })
	if err != nil {
		return fmt.Errorf("controller: save keypad: %w", err)
	}
	c.keypad = kp
	return nil
}

// online asks the centre about a code: it queues a "keypad" event and
// waits up to OnlineWait for its answer; answered is false when none
// came in time. hit is the parcel with cash on delivery the code is known
// to open locally, if any.
func (c *Controller) online(ctx context.Context, code string, hit *Pickup, now time.Time) (res KeypadResult, answered bool, err error) {
	e := Event{At: now.UTC(), Type: TypeKeypad, Code: code}
	ack, ok, err := c.ask(ctx, e)
	if err != nil {
		return KeypadResult{}, false, err
	}
	if !ok {
		return KeypadResult{Result: ResultUnknown}, false, nil
	}
	res, err = c.answer(ctx, ack, hit, now)
	return res, true, err
}

// answer acts on the centre's answer to a keypad event.
func (c *Controller) answer(ctx context.Context, ack device.Ack, hit *Pickup, now time.Time) (KeypadResult, error) {
	switch {
	case ack.Result == device.ResultRejected:
		return c.wrong(now)
	case ack.Open > 0:
		if err := c.right(now); err != nil {
			return KeypadResult{}, err
		}
		if err := c.cfg.Driver.Open(ctx, ack.Open); err != nil {
			return KeypadResult{}, fmt.Errorf("controller: open compartment %d: %w", ack.Open, err)
		}
		c.mu.Lock()
		c.doors[ack.Open] = true
		if hit != nil && hit.Compartment == ack.Open {
			mark := pickedMark{At: now, Seq: ack.Seq}
			if err := c.db.Update(func(tx *bolt.Tx) error {
				return putJSON(tx, bucketPicked, []byte(hit.ShipmentID), mark)
			}); err != nil {
				c.log.Error("controller: parcel opened by the centre not marked picked", "shipment", hit.ShipmentID, "err", err)
			} else {
				c.picked[hit.ShipmentID] = mark
			}
		}
		c.mu.Unlock()
		return KeypadResult{Result: ResultOpen, Compartment: ack.Open}, nil
	case ack.AmountCents > 0:
		if err := c.right(now); err != nil {
			return KeypadResult{}, err
		}
		r := KeypadResult{Result: ResultPaymentRequired, AmountCents: ack.AmountCents}
		if hit != nil {
			r.Compartment = hit.Compartment
		}
		return r, nil
	}
	return KeypadResult{Result: ResultUnknown}, nil
}

// compartmentStatus is one compartment in the status.
type compartmentStatus struct {
	N        int  `json:"n"`
	DoorOpen bool `json:"door_open"`
	Occupied bool `json:"occupied"`
}

// compartments lists the compartments the controller knows of: those with
// a parcel waiting and those whose door it saw. c.mu held.
func (c *Controller) compartments() []compartmentStatus {
	seen := map[int]*compartmentStatus{}
	get := func(n int) *compartmentStatus {
		s, ok := seen[n]
		if !ok {
			s = &compartmentStatus{N: n}
			seen[n] = s
		}
		return s
	}
	for n, open := range c.doors {
		get(n).DoorOpen = open
	}
	for id, p := range c.pickups {
		if _, done := c.picked[id]; !done {
			get(p.Compartment).Occupied = true
		}
	}
	out := make([]compartmentStatus, 0, len(seen))
	for _, s := range seen {
		out = append(out, *s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].N < out[j].N })
	return out
}
