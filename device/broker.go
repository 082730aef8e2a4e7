package device

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Limits of the embedded broker.
const (
	// MaxPacketSize is the largest MQTT packet the embedded broker takes.
	MaxPacketSize = 64 << 10
	// authTimeout bounds one call of the Authenticator.
	authTimeout = 5 * time.Second
	// sessionExpiry is how long the broker keeps the session (the
	// subscriptions and the QoS 1 messages queued) of a client that
	// connected with CleanSession=false after it went away; it also
	// bounds how long an undelivered or retained message is kept.
	sessionExpiry = 7 * 24 * 60 * 60 // seconds
	// sysInterval is how often mochi refreshes its $SYS topics (nobody
	// may subscribe to them here; the default is every second).
	sysInterval = 60 // seconds
	// maxWritesPending is the depth of each client's write queue in the
	// broker (see StartBroker).
	maxWritesPending = 1024
)

// BrokerConfig configures the embedded MQTT broker.
type BrokerConfig struct {
	// Addr is the TCP listen address, e.g. "127.0.0.1:1883";
	// "127.0.0.1:0" picks a free port.
	Addr string
	// Auth checks each connecting client's username and password.
	Auth Authenticator
	// Log receives the broker's log; nil discards it.
	Log *slog.Logger
}

// Broker is the embedded MQTT broker (mochi-mqtt) of lokero serve. Every
// client must authenticate through the Authenticator (no anonymous
// access); a locker must connect with its location ID as username and
// LockerClientID of it as client ID, the centre with a client ID that
// starts with CentreClientIDPrefix;
// each publish, subscription, delivery and will is checked with Allowed.
// A locker's retain flag is kept on its status topic only and cleared
// on any other topic.
type Broker struct {
	srv    *mqtt.Server
	hook   *aclHook
	addr   string
	cancel context.CancelFunc
	once   sync.Once
	done   chan struct{}
}

// StartBroker starts the embedded broker; it is listening and serving
// when it returns. It stops when ctx is done or on Close.
func StartBroker(ctx context.Context, cfg BrokerConfig) (*Broker, error) {
	if cfg.Auth == nil {
		return nil, errors.New("device: start broker: no authenticator")
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	caps := mqtt.NewDefaultServerCapabilities()
	caps.MaximumPacketSize = MaxPacketSize
	caps.MaximumSessionExpiryInterval = sessionExpiry
	caps.MaximumMessageExpiryInterval = sessionExpiry
	caps.MaximumQos = 1 // the protocol uses QoS 1; QoS 2 is granted as 1
	caps.MinimumProtocolVersion = 4
	// mochi makes every client a buffered channel of this many packet
	// pointers at connect, used or not: the default 8,192 is 64 KB a
	// connection, most of the broker's heap with 10,000 idle lockers
	// (with serve's GOGC=400, about 3 GB of its RSS). A locker gets a
	// few messages at a time; the centre gets every locker's events,
	// and a message that finds its queue full is dropped (for an event,
	// the controller sends it again after its ResendAfter). 1,024 is
	// 8 KB a connection; none was dropped in a burst of 10,000 lockers'
	// events (docs/benchmarks.md, issue 21).
	caps.MaximumClientWritesPending = maxWritesPending
	// The most QoS 1 messages a client may have unacknowledged (default
	// 8,192): the centre takes every locker's events, and a burst of
	// 20,000 from 2,000 lockers overran 8,192 ("client store quota
	// reached": the rest dropped, and sent again by the controllers only
	// after their ResendAfter). 65,535 is MQTT's limit (packet IDs are 16
	// bits); the map grows only with what is in flight.
	caps.MaximumInflight = 65535
	srv := mqtt.New(&mqtt.Options{
		Capabilities:           caps,
		Logger:                 log,
		SysTopicResendInterval: sysInterval,
		// The centre of the serve that embeds the broker subscribes and
		// publishes through mochi's inline client (StartCentre with
		// CentreConfig.Embedded): no connection of its own.
		InlineClient: true,
	})

	base, cancel := context.WithCancel(context.WithoutCancel(ctx))
	hook := &aclHook{base: base, auth: cfg.Auth, srv: srv, ids: map[string]clientIdentity{}}
	if err := srv.AddHook(hook, nil); err != nil {
		cancel()
		return nil, fmt.Errorf("device: start broker: add hook: %w", err)
	}
	tcp := listeners.NewTCP(listeners.Config{Type: listeners.TypeTCP, ID: "lokero-tcp", Address: cfg.Addr})
	if err := srv.AddListener(tcp); err != nil { // listens here
		cancel()
		return nil, fmt.Errorf("device: start broker: listen on %s: %w", cfg.Addr, err)
	}
	if err := srv.Serve(); err != nil {
		cancel()
		_ = srv.Close()
		return nil, fmt.Errorf("device: start broker: serve: %w", err)
	}
	b := &Broker{srv: srv, hook: hook, addr: tcp.Address(), cancel: cancel, done: make(chan struct{})}
	go func() {
		select {
		case <-ctx.Done():
			_ = b.Close()
		case <-b.done:
		}
	}()
	return b, nil
}

// Addr returns the address the broker listens on (host:port, the real
// port when Addr asked for port 0).
func (b *Broker) Addr() string { return b.addr }

// Clients returns the number of clients connected now.
func (b *Broker) Clients() int { return int(atomic.LoadInt64(&b.srv.Info.ClientsConnected)) }

// Disconnect drops the connection of the locker at locationID (after its
// credential is revoked: it cannot connect again); its will is sent. It
// returns false if that locker is not connected. The session itself
// (subscriptions, queued messages) is left to expire.
func (b *Broker) Disconnect(locationID string) bool {
	cl, ok := b.srv.Clients.Get(LockerClientID(locationID))
	if !ok || cl.Closed() {
		return false
	}
	_ = b.srv.DisconnectClient(cl, packets.ErrNotAuthorized) // returns the code it disconnected with
	return true
}

// Lockers returns the identities of the lockers connected now.
func (b *Broker) Lockers() []Identity {
	b.hook.mu.Lock()
	defer b.hook.mu.Unlock()
	var out []Identity
	for _, e := range b.hook.ids {
		if !e.id.Centre && !e.cl.Closed() {
			out = append(out, e.id)
		}
	}
	return out
}

// inlineSubscribe calls handle, in the publishing client's goroutine (so
// in its order), with every message published on a topic filter matches;
// id numbers the subscription for inlineUnsubscribe. Only the centre uses
// it: mochi's inline client passes no ACL check. The payload may share
// the reader's buffer: handle must copy what it keeps (the centre's
// enqueue copies only what it queues, not what it drops).
func (b *Broker) inlineSubscribe(filter string, id int, handle func(topic string, payload []byte)) error {
	return b.srv.Subscribe(filter, id, func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
		handle(pk.TopicName, pk.Payload)
	})
}

// inlineUnsubscribe ends an inlineSubscribe.
func (b *Broker) inlineUnsubscribe(filter string, id int) error { return b.srv.Unsubscribe(filter, id) }

// inlinePublish delivers a message (QoS 1 to the subscribers, not
// retained) as the centre. It does not wait for the subscribers'
// acknowledgements: the broker resends until they come.
func (b *Broker) inlinePublish(topic string, payload []byte) error {
	return b.srv.Publish(topic, payload, false, 1)
}

// Close stops the broker and drops every client. It may be called more
// than once.
func (b *Broker) Close() error {
	var err error
	b.once.Do(func() {
		close(b.done)
		b.cancel()
		if cerr := b.srv.Close(); cerr != nil {
			err = fmt.Errorf("device: close broker: %w", cerr)
		}
	})
	return err
}

// clientIdentity is the identity a client ID was authenticated as, and
// by which connection (so that a connection going away does not forget
// the identity of the one that took its session over).
type clientIdentity struct {
	cl *mqtt.Client
	id Identity
}

// aclHook is the mochi hook that authenticates clients and applies
// Allowed to everything they do.
type aclHook struct {
	mqtt.HookBase
	base context.Context
	auth Authenticator
	srv  *mqtt.Server

	mu  sync.Mutex
	ids map[string]clientIdentity // by client ID
}

// ID names the hook.
func (h *aclHook) ID() string { return "lokero-acl" }

// Provides tells mochi which events the hook handles.
func (h *aclHook) Provides(b byte) bool {
	return bytes.Contains([]byte{
		mqtt.OnConnectAuthenticate,
		mqtt.OnACLCheck,
		mqtt.OnPublish,
		mqtt.OnWill,
		mqtt.OnDisconnect,
		mqtt.OnClientExpired,
	}, []byte{b})
}

// OnConnectAuthenticate authenticates a connecting client and checks its
// client ID and its will against its identity.
func (h *aclHook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	id, err := h.authenticate(cl, pk)
	if err != nil {
		h.Log.Info("mqtt client refused", "client", cl.ID, "remote", cl.Net.Remote, "error", err)
		return false
	}
	h.mu.Lock()
	h.ids[cl.ID] = clientIdentity{cl: cl, id: id}
	h.mu.Unlock()
	return true
}

func (h *aclHook) authenticate(cl *mqtt.Client, pk packets.Packet) (Identity, error) {
	if !pk.Connect.UsernameFlag || !pk.Connect.PasswordFlag || len(pk.Connect.Username) == 0 {
		return Identity{}, errors.New("anonymous")
	}
	ctx, cancel := context.WithTimeout(h.base, authTimeout)
	defer cancel()
	id, err := h.auth.AuthenticateClient(ctx, string(pk.Connect.Username), string(pk.Connect.Password))
	if err != nil {
		return Identity{}, fmt.Errorf("authenticate %q: %w", pk.Connect.Username, err)
	}
	switch {
	case id.Centre && id.LocationID == "":
		if !strings.HasPrefix(cl.ID, CentreClientIDPrefix) || len(cl.ID) == len(CentreClientIDPrefix) {
			return Identity{}, fmt.Errorf("centre client ID %q does not start with %q", cl.ID, CentreClientIDPrefix)
		}
	case !id.Centre && validLocationID(id.LocationID):
		if string(pk.Connect.Username) != id.LocationID {
			return Identity{}, fmt.Errorf("locker %q connected as user %q, not its location ID", id.LocationID, pk.Connect.Username)
		}
		if cl.ID != LockerClientID(id.LocationID) {
			return Identity{}, fmt.Errorf("locker %q connected with client ID %q, not %q", id.LocationID, cl.ID, LockerClientID(id.LocationID))
		}
	default:
		return Identity{}, fmt.Errorf("authenticator gave an invalid identity %+v", id)
	}
	// mochi publishes the will without an ACL check: check it here.
	if pk.Connect.WillFlag && !Allowed(id, pk.Connect.WillTopic, true) {
		return Identity{}, fmt.Errorf("will on %q not allowed", pk.Connect.WillTopic)
	}
	return id, nil
}

func (h *aclHook) identity(cl *mqtt.Client) (Identity, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	e, ok := h.ids[cl.ID]
	return e.id, ok
}

// OnACLCheck applies Allowed to a publish (write), a subscription and a
// delivery.
func (h *aclHook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	id, ok := h.identity(cl)
	if !ok || !Allowed(id, topic, write) {
		h.Log.Info("mqtt acl refused", "client", cl.ID, "topic", topic, "write", write)
		return false
	}
	return true
}

// OnPublish clears the retain flag of a locker's message on any topic
// but its status topic (it has passed OnACLCheck already).
func (h *aclHook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if id, ok := h.identity(cl); ok && !id.Centre && pk.FixedHeader.Retain && pk.TopicName != Topic(id.LocationID, KindStatus) {
		pk.FixedHeader.Retain = false
	}
	return pk, nil
}

// OnWill clears the retain flag of a locker's will on any topic but its
// status topic, as OnPublish does for its messages: mochi sends a will
// without OnPublish (its topic was checked at connect).
func (h *aclHook) OnWill(cl *mqtt.Client, will mqtt.Will) (mqtt.Will, error) {
	if id, ok := h.identity(cl); !ok || (!id.Centre && will.Retain && will.TopicName != Topic(id.LocationID, KindStatus)) {
		will.Retain = false
	}
	return will, nil
}

// OnDisconnect forgets the identity of a client whose session ends with
// its connection.
func (h *aclHook) OnDisconnect(cl *mqtt.Client, _ error, expire bool) {
	if expire {
		h.forget(cl)
	}
}

// OnClientExpired forgets the identity of a client whose session expired.
func (h *aclHook) OnClientExpired(cl *mqtt.Client) { h.forget(cl) }

func (h *aclHook) forget(cl *mqtt.Client) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if e, ok := h.ids[cl.ID]; ok && e.cl == cl {
		delete(h.ids, cl.ID)
	}
}
