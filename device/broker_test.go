package device

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"
)

// aclCheck is one check of the locker rules, run against every broker.
type aclCheck struct {
	name string
	run  func(t *testing.T, e *brokerEnv)
}

// aclChecks are the checks both the embedded broker and Mosquitto pass.
var aclChecks = []aclCheck{
	{"locker events reach the centre", checkEventsReachCentre},
	{"publish outside own topics is not delivered", checkForeignPublishNotDelivered},
	{"subscription outside own topics is refused", checkForeignSubscribeRefused},
	{"bad credentials cannot connect", checkBadCredentials},
	{"no locker takes another's connection", checkNoTakeover},
	{"revoked locker cannot connect", checkRevoked},
	{"will on another locker's topic is refused", checkForeignWill},
	{"will delivered retained on drop", checkWillRetained},
	{"offline locker gets QoS 1 command on reconnect", checkPersistentSession},
}

// runACLChecks runs every aclCheck against e, in parallel (each check
// takes its own lockers and centre client IDs).
func runACLChecks(t *testing.T, e *brokerEnv) {
	t.Helper()
	for _, c := range aclChecks {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			c.run(t, e)
		})
	}
}

func checkEventsReachCentre(t *testing.T, e *brokerEnv) {
	a := e.locker(t)
	centre := e.centre(t)
	centre.mustSubscribe(t, Prefix+"+/events")
	shared := e.centre(t) // as lokero serve instances share the events
	shared.mustSubscribe(t, "$share/lokero/"+Prefix+"+/events")
	locker := mustConnect(t, e.url, lockerOpts(a))
	locker.mustPublish(t, Topic(a.id, KindEvents), `{"seq":1}`, false)
	centre.expect(t, Topic(a.id, KindEvents), `{"seq":1}`)
	shared.expect(t, Topic(a.id, KindEvents), `{"seq":1}`)
	// The status topic, retained, is the locker's too.
	locker.mustPublish(t, Topic(a.id, KindStatus), `{"online":true}`, true)
	late := e.centre(t)
	late.mustSubscribe(t, Topic(a.id, KindStatus))
	if m := late.expect(t, Topic(a.id, KindStatus), `{"online":true}`); !m.Retained() {
		t.Error("status not retained")
	}
}

func checkForeignPublishNotDelivered(t *testing.T, e *brokerEnv) {
	a, b := e.locker(t), e.locker(t)
	centre := e.centre(t)
	centre.mustSubscribe(t, Prefix+"#")
	forbidden := []string{
		Topic(b.id, KindEvents),
		Topic(b.id, KindStatus),
		Topic(b.id, KindCommands),
		Topic(a.id, KindCommands), // its own, but only the centre writes there
		Topic(a.id, KindAcks),
		Prefix + a.id,
		"elsewhere/" + a.id,
	}
	for _, topic := range forbidden {
		// A fresh connection each time: the embedded broker drops a
		// locker's connection after a refused QoS 1 publish.
		locker := mustConnect(t, e.url, lockerOpts(a))
		_ = locker.publish(topic, "forged", false) // refused: error or silently dropped
		locker.c.Disconnect(50)
	}
	centre.expectNone(t, forbidden...)
	// The centre's subscription works: the locker's own events arrive.
	locker := mustConnect(t, e.url, lockerOpts(a))
	locker.mustPublish(t, Topic(a.id, KindEvents), "own", false)
	centre.expect(t, Topic(a.id, KindEvents), "own")
}

func checkForeignSubscribeRefused(t *testing.T, e *brokerEnv) {
	a, b := e.locker(t), e.locker(t)
	locker := mustConnect(t, e.url, lockerOpts(a))
	refused := []string{
		Topic(b.id, KindCommands),
		Topic(b.id, KindAcks),
		Topic(a.id, KindEvents), // its own, but write only
		Topic(a.id, KindStatus),
		"elsewhere/#",
		"$share/g/" + Topic(a.id, KindCommands),
	}
	refused = append(refused, Prefix+"#", Prefix+"+/commands", Prefix+a.id+"/#", "#")
	for _, f := range refused {
		if code := locker.subscribe(t, f); e.refusesSubscriptions && code != 0x80 {
			t.Errorf("subscribe %q: code %#x, want 0x80", f, code)
		}
	}
	centre := e.centre(t)
	for _, topic := range []string{Topic(b.id, KindCommands), Topic(b.id, KindAcks), Topic(a.id, KindEvents), Topic(a.id, KindStatus)} {
		centre.mustPublish(t, topic, "not for a", false)
	}
	locker.expectNone(t, Topic(b.id, KindCommands), Topic(b.id, KindAcks), Topic(a.id, KindEvents), Topic(a.id, KindStatus))
	// Its own commands and acks it may read.
	locker.mustSubscribe(t, Topic(a.id, KindCommands))
	locker.mustSubscribe(t, Topic(a.id, KindAcks))
	centre.mustPublish(t, Topic(a.id, KindCommands), "open 3", false)
	locker.expect(t, Topic(a.id, KindCommands), "open 3")
	centre.mustPublish(t, Topic(a.id, KindAcks), "ack 1", false)
	locker.expect(t, Topic(a.id, KindAcks), "ack 1")
}

func checkBadCredentials(t *testing.T, e *brokerEnv) {
	a, b := e.locker(t), e.locker(t)
	type badCredential struct {
		name         string
		opts         clientOpts
		needsBinding bool
		// atCentre: tried at the centre's listener (Mosquitto's own; the
		// embedded broker's one listener is both).
		atCentre bool
	}
	cases := []badCredential{
		{"wrong token", clientOpts{clientID: LockerClientID(a.id), user: a.id, pass: a.token + "x"}, false, false},
		{"another locker's token", clientOpts{clientID: LockerClientID(a.id), user: a.id, pass: b.token}, false, false},
		{"unknown user", clientOpts{clientID: LockerClientID("nobody"), user: "nobody", pass: a.token}, false, false},
		{"anonymous", clientOpts{clientID: LockerClientID(a.id)}, false, false},
		{"no password", clientOpts{clientID: LockerClientID(a.id), user: a.id}, false, false},
		{"wrong centre password", clientOpts{clientID: CentreClientIDPrefix + "x", user: e.centreUser, pass: e.centrePass + "x"}, false, true},
		{"another locker's client ID", clientOpts{clientID: LockerClientID(b.id), user: a.id, pass: a.token}, true, false},
		{"locker with a centre client ID", clientOpts{clientID: CentreClientIDPrefix + a.id, user: a.id, pass: a.token}, true, false},
		{"centre with a locker's client ID", clientOpts{clientID: LockerClientID(a.id), user: e.centreUser, pass: e.centrePass}, true, true},
		{"centre with a bare prefix", clientOpts{clientID: CentreClientIDPrefix, user: e.centreUser, pass: e.centrePass}, true, true},
	}
	if e.centreURL != e.url {
		cases = append(cases, badCredential{"locker at the centre's listener", clientOpts{clientID: LockerClientID(a.id), user: a.id, pass: a.token}, false, true})
	}
	for _, c := range cases {
		if c.needsBinding && !e.bindsClientID {
			continue
		}
		url := e.url
		if c.atCentre {
			url = e.centreURL
		}
		if _, err := connect(t, url, c.opts); err == nil {
			t.Errorf("%s: connected", c.name)
		}
	}
	mustConnect(t, e.url, lockerOpts(a)) // the right credential works
}

// checkNoTakeover: a locker connecting with another locker's client ID,
// or a centre's, is refused (the embedded broker) or given its own
// (Mosquitto's use_username_as_clientid): either way the other keeps its
// connection and its persistent session.
func checkNoTakeover(t *testing.T, e *brokerEnv) {
	a, b := e.locker(t), e.locker(t)
	o := lockerOpts(b)
	o.persistent = true
	victim := mustConnect(t, e.url, o)
	victim.mustSubscribe(t, Topic(b.id, KindCommands))
	for _, id := range []string{LockerClientID(b.id), b.id} {
		if thief, err := connect(t, e.url, clientOpts{clientID: id, user: a.id, pass: a.token, persistent: true}); err == nil {
			thief.mustSubscribe(t, Topic(a.id, KindCommands)) // it works as a
		}
	}
	centre := e.centre(t)
	centre.mustPublish(t, Topic(b.id, KindCommands), "still yours", false)
	victim.expect(t, Topic(b.id, KindCommands), "still yours")
	if !victim.c.IsConnectionOpen() {
		t.Error("the locker lost its connection to another locker using its client ID")
	}
}

func checkRevoked(t *testing.T, e *brokerEnv) {
	a := e.locker(t)
	connected := mustConnect(t, e.url, lockerOpts(a))
	e.revoke(t, a.id)
	connected.waitDisconnected(t) // its connection is dropped
	if _, err := connect(t, e.url, lockerOpts(a)); err == nil {
		t.Fatal("revoked locker connected")
	}
}

func checkForeignWill(t *testing.T, e *brokerEnv) {
	a, b := e.locker(t), e.locker(t)
	o := lockerOpts(a)
	o.willTopic, o.willPayload = Topic(b.id, KindStatus), `{"online":false}`
	tc, err := connect(t, e.url, o)
	if err != nil {
		return // refused at connect
	}
	if e.refusesForeignWill {
		t.Error("connected with a will on another locker's status topic")
	}
	// Connected: the will must not be delivered.
	centre := e.centre(t)
	centre.mustSubscribe(t, Prefix+"#")
	tc.drop()
	centre.expectNone(t, Topic(b.id, KindStatus))
}

func checkWillRetained(t *testing.T, e *brokerEnv) {
	a := e.locker(t)
	o := lockerOpts(a)
	o.willTopic, o.willPayload = Topic(a.id, KindStatus), `{"online":false}`
	locker := mustConnect(t, e.url, o)
	locker.mustPublish(t, Topic(a.id, KindStatus), `{"online":true}`, true)
	live := e.centre(t)
	live.mustSubscribe(t, Topic(a.id, KindStatus))
	live.expect(t, Topic(a.id, KindStatus), `{"online":true}`)
	locker.drop()
	live.expect(t, Topic(a.id, KindStatus), `{"online":false}`)
	late := e.centre(t)
	late.mustSubscribe(t, Topic(a.id, KindStatus))
	if m := late.expect(t, Topic(a.id, KindStatus), `{"online":false}`); !m.Retained() {
		t.Error("will not retained")
	}
}

func checkPersistentSession(t *testing.T, e *brokerEnv) {
	a := e.locker(t)
	o := lockerOpts(a)
	o.persistent = true
	locker := mustConnect(t, e.url, o)
	locker.mustSubscribe(t, Topic(a.id, KindCommands))
	locker.c.Disconnect(50)
	centre := e.centre(t)
	centre.mustPublish(t, Topic(a.id, KindCommands), "while away", false)
	back := mustConnect(t, e.url, o)
	if !back.sessionPresent {
		t.Error("session not present on reconnect")
	}
	back.expect(t, Topic(a.id, KindCommands), "while away")
}

// testAuth is a test Authenticator: username → password → identity; a
// revoked user is removed.
type testAuth struct {
	mu    sync.Mutex
	users map[string]testUser
}

type testUser struct {
	password string
	id       Identity
}

// AuthenticateClient implements Authenticator.
func (a *testAuth) AuthenticateClient(ctx context.Context, username, password string) (Identity, error) {
	if err := ctx.Err(); err != nil {
		return Identity{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	u, ok := a.users[username]
	if !ok || u.password != password {
		return Identity{}, errors.New("bad credential")
	}
	return u.id, nil
}

func (a *testAuth) add(username, password string, id Identity) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.users[username] = testUser{password, id}
}

func (a *testAuth) remove(username string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.users, username)
}

// numLockers is how many lockers each broker under test provisions.
const numLockers = 32

// startTestBroker starts the embedded broker on a free port with a test
// Authenticator.
func startTestBroker(t *testing.T) (*Broker, *testAuth, *brokerEnv) {
	t.Helper()
	auth := &testAuth{users: map[string]testUser{}}
	e := &brokerEnv{
		centreUser: "centre", centrePass: "centre-secret",
		lockers:              make(chan lockerCred, numLockers),
		revoke:               func(_ *testing.T, id string) { auth.remove(id) },
		bindsClientID:        true,
		refusesSubscriptions: true,
		refusesForeignWill:   true,
	}
	auth.add(e.centreUser, e.centrePass, Identity{Centre: true})
	for i := range numLockers {
		l := lockerCred{id: fmt.Sprintf("loc-%02d", i), token: fmt.Sprintf("token-%02d", i)}
		auth.add(l.id, l.token, Identity{LocationID: l.id})
		e.lockers <- l
	}
	b, err := StartBroker(t.Context(), BrokerConfig{Addr: "127.0.0.1:0", Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	e.url = "tcp://" + b.Addr()
	e.centreURL = e.url
	e.revoke = func(_ *testing.T, id string) {
		auth.remove(id)  // as lokero does: revoke the credential,
		b.Disconnect(id) // then drop the connection
	}
	return b, auth, e
}

func TestEmbeddedBrokerACL(t *testing.T) {
	t.Parallel()
	_, _, e := startTestBroker(t)
	runACLChecks(t, e)
}

func TestEmbeddedBrokerDisconnect(t *testing.T) {
	t.Parallel()
	b, _, e := startTestBroker(t)
	a := e.locker(t)
	if b.Disconnect(a.id) {
		t.Error("Disconnect of a locker not connected returned true")
	}
	o := lockerOpts(a)
	o.willTopic, o.willPayload = Topic(a.id, KindStatus), "gone"
	centre := e.centre(t)
	centre.mustSubscribe(t, Topic(a.id, KindStatus))
	locker := mustConnect(t, e.url, o)
	if got := b.Clients(); got != 2 {
		t.Errorf("Clients() = %d, want 2", got)
	}
	if !b.Disconnect(a.id) {
		t.Fatal("Disconnect returned false for a connected locker")
	}
	locker.waitDisconnected(t)
	centre.expect(t, Topic(a.id, KindStatus), "gone") // its will
	deadline := time.Now().Add(waitFor)
	for b.Clients() != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("Clients() = %d after Disconnect, want 1", b.Clients())
		}
		time.Sleep(10 * time.Millisecond)
	}
	if b.Disconnect(a.id) {
		t.Error("second Disconnect returned true")
	}
}

func TestEmbeddedBrokerRefusesOddIdentities(t *testing.T) {
	t.Parallel()
	_, auth, e := startTestBroker(t)
	a := e.locker(t)
	auth.add("alias", "alias-pw", Identity{LocationID: a.id})
	auth.add("both", "both-pw", Identity{LocationID: a.id, Centre: true})
	auth.add("none", "none-pw", Identity{})
	cases := []clientOpts{
		{clientID: LockerClientID(a.id), user: "alias", pass: "alias-pw"}, // username is not the location ID
		{clientID: LockerClientID(a.id), user: "both", pass: "both-pw"},
		{clientID: CentreClientIDPrefix + "x", user: "both", pass: "both-pw"},
		{clientID: CentreClientIDPrefix + "x", user: "none", pass: "none-pw"},
		{clientID: LockerClientID(""), user: "none", pass: "none-pw"},
	}
	for _, o := range cases {
		if _, err := connect(t, e.url, o); err == nil {
			t.Errorf("connected as %q with client ID %q", o.user, o.clientID)
		}
	}
}

func TestEmbeddedBrokerRetainOnlyOnStatus(t *testing.T) {
	t.Parallel()
	_, _, e := startTestBroker(t)
	a := e.locker(t)
	locker := mustConnect(t, e.url, lockerOpts(a))
	// The broker acknowledges a publish before it hands the message on:
	// a subscriber that was there first says when it has, so that the
	// one subscribing after sees only what was retained.
	observer := e.centre(t)
	observer.mustSubscribe(t, Topic(a.id, KindEvents))
	locker.mustPublish(t, Topic(a.id, KindEvents), "retain me", true)
	observer.expect(t, Topic(a.id, KindEvents), "retain me")
	centre := e.centre(t)
	centre.mustSubscribe(t, Topic(a.id, KindEvents))
	centre.expectNone(t, Topic(a.id, KindEvents))
}

func TestStartBrokerClose(t *testing.T) {
	t.Parallel()
	if _, err := StartBroker(t.Context(), BrokerConfig{Addr: "127.0.0.1:0"}); err == nil {
		t.Error("StartBroker without an Authenticator succeeded")
	}
	ctx, cancel := context.WithCancel(t.Context())
	b, _, _ := startTestBroker(t)
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal("second Close:", err)
	}
	auth := &testAuth{users: map[string]testUser{}}
	b2, err := StartBroker(ctx, BrokerConfig{Addr: "127.0.0.1:0", Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	deadline := time.Now().Add(waitFor)
	for {
		c, err := net.DialTimeout("tcp", b2.Addr(), time.Second)
		if err != nil {
			break // no longer listening
		}
		_ = c.Close()
		if time.Now().After(deadline) {
			t.Fatal("broker still listening after its context ended")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// authFunc adapts a function to Authenticator.
type authFunc func(ctx context.Context, username, password string) (Identity, error)

// AuthenticateClient implements Authenticator.
func (f authFunc) AuthenticateClient(ctx context.Context, username, password string) (Identity, error) {
	return f(ctx, username, password)
}

func TestEmbeddedBrokerAuthDeadline(t *testing.T) {
	t.Parallel()
	deadlines := make(chan time.Duration, 1)
	auth := authFunc(func(ctx context.Context, username, _ string) (Identity, error) {
		d, ok := ctx.Deadline()
		if !ok {
			deadlines <- -1
		} else {
			deadlines <- time.Until(d)
		}
		return Identity{LocationID: username}, nil
	})
	b, err := StartBroker(t.Context(), BrokerConfig{Addr: "127.0.0.1:0", Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Close() })
	mustConnect(t, "tcp://"+b.Addr(), clientOpts{clientID: LockerClientID("A"), user: "A", pass: "p"})
	if d := <-deadlines; d <= 0 || d > authTimeout {
		t.Errorf("Authenticator's context deadline in %v, want within %v", d, authTimeout)
	}
}

// A locker's will on its events topic is not retained either: the
// broker's will bypasses OnPublish, and a retained event would reach
// every centre that subscribes later (after the locker was provisioned
// anew and numbers from 1 again, as a new event).
func TestEmbeddedBrokerWillRetainOnlyOnStatus(t *testing.T) {
	t.Parallel()
	_, _, e := startTestBroker(t)
	a := e.locker(t)
	o := lockerOpts(a)
	o.willTopic, o.willPayload = Topic(a.id, KindEvents), `{"seq":1,"type":"door_closed","compartment":1}`
	locker := mustConnect(t, e.url, o)
	observer := e.centre(t)
	observer.mustSubscribe(t, Topic(a.id, KindEvents))
	locker.drop()
	observer.expect(t, Topic(a.id, KindEvents), o.willPayload)
	centre := e.centre(t)
	centre.mustSubscribe(t, Topic(a.id, KindEvents))
	centre.expectNone(t, Topic(a.id, KindEvents))
}
