package controller

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"github.com/lokero/lokero/device"
	bolt "go.etcd.io/bbolt"
)

// mqttTimeout bounds each wait on the broker.
const mqttTimeout = 10 * time.Second

// willPayload is the status the broker publishes when the controller's
// connection drops without a goodbye.
const willPayload = `{"online":false}`

// Run connects to the broker and keeps the controller's side of the
// protocol until ctx ends: it subscribes to its commands and acks, and on
// every connection publishes its status (retained) and sends again every
// unanswered event, oldest first; it publishes its status every
// Heartbeat, sends the unanswered events again when one has waited
// ResendAfter, and reports the doors the driver sees shut. Disconnected,
// it keeps retrying and queues meanwhile. Under a device token it has not
// connected with before, it first discards the broker's session for the
// locker (purgeSession). It returns nil when ctx ends, after publishing
// itself offline.
func (c *Controller) Run(ctx context.Context) error {
	u, err := url.Parse(c.cfg.Broker)
	if err != nil || u.Host == "" {
		return fmt.Errorf("controller: broker %q is not scheme://host:port", c.cfg.Broker)
	}
	opts := c.options(u).
		SetCleanSession(false).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(min(c.cfg.maxReconnect, time.Second)).
		SetMaxReconnectInterval(c.cfg.maxReconnect).
		SetWill(c.topics.status, willPayload, 1, true).
		SetOnConnectHandler(c.onConnect).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			c.mu.Lock()
			c.ready = false
			c.mu.Unlock()
			c.log.Warn("controller: lost the broker; reconnecting", "err", err)
		})
	var client mqtt.Client // nil until the persistent session's client connects
	connect := func() error {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.closed {
			return fmt.Errorf("controller: closed")
		}
		client = mqtt.NewClient(opts)
		c.client = client
		c.cursor = 0
		client.Connect() // with ConnectRetry it keeps trying; onConnect takes over
		return nil
	}
	c.mu.Lock()
	clean := c.cleanStart
	c.mu.Unlock()
	var purged chan bool // the clean start's outcome, while it runs
	if clean {
		purged = make(chan bool, 1)
		go func() { purged <- c.purgeSession(ctx, u) }()
	} else if err := connect(); err != nil {
		return err
	}

	heartbeat := time.NewTicker(c.cfg.Heartbeat)
	defer heartbeat.Stop()
	resend := time.NewTicker(max(min(c.cfg.ResendAfter, c.cfg.SyncWait)/4, 10*time.Millisecond))
	defer resend.Stop()
	events := c.cfg.Driver.Events()
	for {
		select {
		case <-ctx.Done():
			if purged != nil {
				<-purged
			}
			if client == nil {
				return nil
			}
			if client.IsConnectionOpen() {
				tok := client.Publish(c.topics.status, 1, true, willPayload)
				tok.WaitTimeout(2 * time.Second)
			}
			client.Disconnect(250)
			c.mu.Lock()
			c.client = nil
			c.ready = false
			c.mu.Unlock()
			return nil
		case ok := <-purged:
			purged = nil
			if !ok {
				continue // ctx ended: the case above returns
			}
			if err := connect(); err != nil {
				return err
			}
		case <-c.kick:
			c.send(client)
		case <-heartbeat.C:
			c.publishStatus(client, false)
		case <-resend.C:
			if waited, deaf := c.deaf(time.Now()); deaf {
				c.log.Warn("controller: no sync since connecting; connecting again", "waited", waited)
				client.Disconnect(250)
				if err := connect(); err != nil {
					return err
				}
				continue
			}
			c.sendProbe(client)
			c.send(client)
		case ev, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			c.door(ev)
			c.send(client)
		}
	}
}

// options are the MQTT options every connection of the controller shares.
func (c *Controller) options(u *url.URL) *mqtt.ClientOptions {
	opts := mqtt.NewClientOptions().
		AddBroker(c.cfg.Broker).
		SetClientID(device.LockerClientID(c.cfg.LocationID)).
		SetUsername(c.cfg.LocationID).
		SetPassword(c.cfg.Token).
		SetProtocolVersion(4).
		SetKeepAlive(30 * time.Second).
		SetPingTimeout(10 * time.Second).
		SetConnectTimeout(mqttTimeout).
		SetOrderMatters(true)
	if s := strings.ToLower(u.Scheme); s == "tls" || s == "ssl" || s == "mqtts" {
		opts.SetTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12})
	}
	if c.cfg.dial != nil {
		dial := c.cfg.dial
		opts.SetCustomOpenConnectionFn(func(u *url.URL, _ mqtt.ClientOptions) (net.Conn, error) {
			return dial(u.Host)
		})
	}
	return opts
}

// purgeSession discards the session the broker keeps for the locker's
// client ID when it may be another device token's (a controller
// provisioned anew, or a new board in the locker): it connects once with a
// clean session, which ends the old one, answers queued for its sequence
// numbers included, and records that the session is now this token's. It
// retries until that is done (true) or ctx ends (false).
func (c *Controller) purgeSession(ctx context.Context, u *url.URL) bool {
	opts := c.options(u).SetCleanSession(true).SetAutoReconnect(false).SetConnectRetry(false)
	wait := min(c.cfg.maxReconnect, time.Second)
	for {
		client := mqtt.NewClient(opts)
		tok := client.Connect()
		select {
		case <-ctx.Done():
			return false
		case <-tok.Done():
		}
		err := tok.Error()
		if err == nil {
			client.Disconnect(250)
			// The broker ends a clean session when its connection ends, and
			// the embedded one (mochi) then drops whatever its client ID
			// holds: a persistent connection made in that moment would lose
			// its subscriptions and hear no answer again. Let it finish.
			select {
			case <-ctx.Done():
				return false
			case <-time.After(cleanSessionSettle):
			}
			err = c.sessionStarted()
			if err == nil {
				c.log.Info("controller: a clean session for this token", "broker", c.cfg.Broker)
				return true
			}
		}
		c.log.Warn("controller: clean start; retrying", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return false
		case <-time.After(wait):
		}
		wait = min(2*wait, c.cfg.maxReconnect)
	}
}

// cleanSessionSettle is how long purgeSession waits, after its clean
// session ended, before the persistent connection begins.
const cleanSessionSettle = time.Second

// sessionStarted records that the broker's session for the locker's
// client ID is the current token's (keySession).
func (c *Controller) sessionStarted() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("controller: closed")
	}
	if err := c.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(keySession, tokenPrint(c.cfg.Token))
	}); err != nil {
		return fmt.Errorf("controller: record the session: %w", err)
	}
	c.cleanStart = false
	return nil
}

// onConnect subscribes, publishes the status, and has every unanswered
// event sent again from the oldest. paho runs it in its own goroutine.
func (c *Controller) onConnect(client mqtt.Client) {
	tok := client.SubscribeMultiple(map[string]byte{c.topics.acks: 1, c.topics.commands: 1}, c.route)
	if !tok.WaitTimeout(mqttTimeout) || tok.Error() != nil {
		c.log.Error("controller: subscribe to acks and commands", "err", tok.Error())
	}
	c.mu.Lock()
	c.askedAt = time.Now() // before asking: the sync may come at once
	c.mu.Unlock()
	c.publishStatus(client, true) // a new connection: ask for a sync
	c.mu.Lock()
	c.cursor = 0
	c.ready = true
	c.mu.Unlock()
	c.wake()
	c.log.Info("controller: connected", "broker", c.cfg.Broker)
}

// deaf reports whether the connection has waited its syncWait for the
// sync it asked for on connecting, and how long it waited: then Run
// connects again (a new CONNECT, which a broker that lost the session
// takes as new, and new subscriptions), and the next connection waits
// twice as long, up to 16 times Config.SyncWait.
func (c *Controller) deaf(now time.Time) (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	waited := now.Sub(c.askedAt)
	if !c.ready || c.askedAt.IsZero() || waited < c.syncWait {
		return waited, false
	}
	c.ready, c.askedAt = false, time.Time{}
	c.syncWait = min(2*c.syncWait, 16*c.cfg.SyncWait)
	return waited, true
}

// heardSync records that a sync came: the connection hears the centre.
func (c *Controller) heardSync() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.askedAt, c.syncWait = time.Time{}, c.cfg.SyncWait
}

// publishStatus publishes the status, online, retained; with sync it asks
// the centre for a sync command.
func (c *Controller) publishStatus(client mqtt.Client, sync bool) {
	if client == nil || !client.IsConnectionOpen() { // nil: the clean start still runs
		return
	}
	c.mu.Lock()
	comps, err := json.Marshal(c.compartments())
	c.mu.Unlock()
	if err != nil {
		c.log.Error("controller: encode compartments", "err", err)
		return
	}
	st := device.Status{Online: true, Sync: sync, At: c.cfg.Clock.Now().UTC(), Firmware: c.cfg.Firmware, Compartments: comps}
	data, err := json.Marshal(st)
	if err != nil {
		c.log.Error("controller: encode status", "err", err)
		return
	}
	client.Publish(c.topics.status, 1, true, data)
}

// send publishes, in order, the queued events from the cursor on.
func (c *Controller) send(client mqtt.Client) {
	if client == nil || !client.IsConnectionOpen() { // nil: the clean start still runs
		return
	}
	type out struct {
		seq  int64
		data []byte
	}
	var batch []out
	c.mu.Lock()
	if c.closed || !c.ready {
		c.mu.Unlock()
		return
	}
	err := c.db.View(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bucketOutbox).Cursor()
		for k, v := cur.Seek(seqKey(max(c.cursor, 1))); k != nil; k, v = cur.Next() {
			seq := int64FromKey(k)
			batch = append(batch, out{seq: seq, data: c.wire(seq, v)})
		}
		return nil
	})
	now := time.Now()
	for _, o := range batch {
		c.sentAt[o.seq] = now
	}
	if len(batch) > 0 {
		c.cursor = batch[len(batch)-1].seq + 1
		c.heard = now
	}
	c.mu.Unlock()
	if err != nil {
		c.log.Error("controller: read the outbox", "err", err)
		return
	}
	for _, o := range batch {
		client.Publish(c.topics.events, 1, false, o.data)
	}
	c.counts.sent.Add(int64(len(batch)))
}

// sendProbe sends the newest unanswered event again when the centre has
// answered nothing for ResendAfter (nor was anything sent meanwhile): one
// message, a probe, not every unanswered event. Under a backlog at the
// centre (every locker's events at once), resending all of them fed the
// backlog they were waiting in. The centre applies a locker's events in
// order, so the probe's answer says it all: duplicate, the centre has
// them all and answers them in order; gap, it lost some, and the
// controller sends again from the first missing (handleAck); applied, it
// had lost only that one. A new connection sends every unanswered event
// again anyway (onConnect).
func (c *Controller) sendProbe(client mqtt.Client) {
	if client == nil || !client.IsConnectionOpen() { // nil: the clean start still runs
		return
	}
	c.mu.Lock()
	now := time.Now()
	if c.closed || !c.ready || len(c.sentAt) == 0 || now.Sub(c.heard) < c.cfg.ResendAfter {
		c.mu.Unlock()
		return
	}
	newest := int64(0)
	for seq := range c.sentAt {
		newest = max(newest, seq)
	}
	var data []byte
	err := c.db.View(func(tx *bolt.Tx) error {
		data = c.wire(newest, tx.Bucket(bucketOutbox).Get(seqKey(newest)))
		return nil
	})
	if err != nil || len(data) == 0 {
		delete(c.sentAt, newest) // answered meanwhile
		c.mu.Unlock()
		return
	}
	c.sentAt[newest], c.heard = now, now
	c.mu.Unlock()
	client.Publish(c.topics.events, 1, false, data)
	c.counts.sent.Add(1)
}

// wire is what is published for the queued event seq stored as stored
// (nil: answered, none): the stored bytes, copied out of the state file's
// transaction, or while the keypad awaits its answer the event with its
// code or token (ask). c.mu held.
func (c *Controller) wire(seq int64, stored []byte) []byte {
	if stored == nil {
		return nil
	}
	if live, ok := c.entries[seq]; ok {
		return live
	}
	return append([]byte(nil), stored...)
}

// int64FromKey decodes an outbox key.
func int64FromKey(k []byte) int64 {
	var n int64
	for _, b := range k {
		n = n<<8 | int64(b)
	}
	return n
}

// route dispatches a message on the acks or commands topic.
func (c *Controller) route(_ mqtt.Client, m mqtt.Message) {
	switch m.Topic() {
	case c.topics.acks:
		c.handleAck(m.Payload())
	case c.topics.commands:
		if err := c.handleCommand(m.Payload()); err != nil {
			c.log.Error("controller: command refused", "err", err)
			c.counts.commandsRefused.Add(1)
		} else {
			c.counts.commands.Add(1)
		}
	}
}

// handleAck applies the centre's answer to one event.
func (c *Controller) handleAck(payload []byte) {
	var a device.Ack
	if err := json.Unmarshal(payload, &a); err != nil || a.Seq < 1 {
		c.log.Warn("controller: malformed ack", "err", err)
		return
	}
	c.countAck(a.Result)
	if a.Result == device.ResultDuplicate && a.Expect > 0 && c.renumberFrom(a) {
		return
	}
	switch a.Result {
	case device.ResultApplied, device.ResultDuplicate, device.ResultRejected:
		c.mu.Lock()
		if c.closed {
			c.mu.Unlock()
			return
		}
		var queued bool // not yet forgotten: a repeated ack finds nothing
		err := c.db.Update(func(tx *bolt.Tx) error {
			out := tx.Bucket(bucketOutbox)
			queued = out.Get(seqKey(a.Seq)) != nil
			return out.Delete(seqKey(a.Seq))
		})
		if err != nil {
			c.mu.Unlock()
			c.log.Error("controller: forget an answered event", "seq", a.Seq, "err", err)
			return
		}
		if queued {
			c.outboxN--
		}
		delete(c.sentAt, a.Seq)
		c.heard = time.Now()
		answer := c.waiters[a.Seq]
		c.mu.Unlock()
		if answer != nil {
			select {
			case answer <- a:
			default:
			}
		}
	case device.ResultGap:
		c.mu.Lock()
		now := time.Now()
		c.heard = now
		if a.Expect > 0 && a.Expect < c.cursor && (a.Expect != c.gapFrom || now.Sub(c.gapAt) >= c.cfg.ResendAfter) {
			c.cursor = a.Expect
			c.gapFrom, c.gapAt = a.Expect, now
		}
		c.mu.Unlock()
		c.wake()
	default:
		c.log.Warn("controller: ack with unknown result", "seq", a.Seq, "result", a.Result)
	}
}

// renumberFrom handles a duplicate answer whose expect is past the last
// sequence number this state file took plus one: the centre applied
// numbers this file never issued (it was lost, or made anew, under the
// same device token, and started again at 1), so the events it answered
// duplicate were never applied. As for a new token (newCredential), the
// events still queued are numbered again, from expect, the sequence goes
// on from there and they are all sent again; the keypad's waiters and
// their entries follow their events. It reports whether it did (false:
// an ordinary duplicate, for handleAck).
func (c *Controller) renumberFrom(a device.Ack) bool {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return true
	}
	var (
		last  int64
		n     int
		moved map[int64]int64
	)
	err := c.db.Update(func(tx *bolt.Tx) error {
		last = lastSeq(tx)
		if a.Expect <= last+1 {
			return nil
		}
		var err error
		n, moved, err = renumber(tx, a.Expect)
		return err
	})
	if err != nil {
		c.mu.Unlock()
		c.log.Error("controller: renumber the outbox", "expect", a.Expect, "err", err)
		return true // the event stays queued: its next duplicate tries again
	}
	if moved == nil {
		c.mu.Unlock()
		return false
	}
	waiters := make(map[int64]chan device.Ack, len(c.waiters))
	entries := make(map[int64][]byte, len(c.entries))
	for old, ch := range c.waiters {
		if seq, ok := moved[old]; ok {
			waiters[seq] = ch
		}
	}
	for old, data := range c.entries {
		seq, ok := moved[old]
		if !ok {
			continue
		}
		var e Event
		if err := json.Unmarshal(data, &e); err != nil {
			continue // not sent with its entry again: the centre answers it withdrawn
		}
		e.Seq = seq
		if data, err := json.Marshal(e); err == nil {
			entries[seq] = data
		}
	}
	c.waiters, c.entries = waiters, entries
	c.sentAt = map[int64]time.Time{}
	c.cursor, c.gapFrom = 0, 0
	c.heard = time.Now()
	c.mu.Unlock()
	c.log.Warn("controller: the centre applied events this state file never numbered (lost or made anew?): queued events numbered again",
		"expect", a.Expect, "last", last, "pending", n)
	c.wake()
	return true
}
