package device

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
)

// Timeouts of the broker tests.
const (
	waitFor     = 5 * time.Second        // for something that must happen
	quietPeriod = 700 * time.Millisecond // for something that must not
)

// lockerCred is a provisioned locker's credential.
type lockerCred struct{ id, token string }

// brokerEnv is a running broker the shared checks run against.
type brokerEnv struct {
	url string // tcp://host:port, where the lockers connect
	// centreURL is where the centre connects: the embedded broker's one
	// listener, or Mosquitto's centre listener (mqtttest.Conf).
	centreURL              string
	centreUser, centrePass string
	// lockers holds provisioned lockers, each taken by one check.
	lockers chan lockerCred
	// revoke makes a locker's credential invalid and has the broker drop
	// its connection (the embedded broker: Broker.Disconnect; Mosquitto:
	// RemoveMosquittoUser and SIGHUP).
	revoke func(t *testing.T, locationID string)
	// bindsClientID is whether the broker refuses a client ID that is not
	// the identity's (the embedded broker does, Mosquitto does not).
	bindsClientID bool
	// refusesSubscriptions is whether a locker's subscription outside its
	// topics is refused in the SUBACK (the embedded broker); else
	// (Mosquitto 2.0's acl_file) it is granted but delivers nothing.
	refusesSubscriptions bool
	// refusesForeignWill is whether a will on a topic the client may not
	// publish to refuses the connection (the embedded broker); else
	// (Mosquitto) the will is dropped when it would be sent.
	refusesForeignWill bool
	seq                atomic.Int64
}

// locker takes a fresh provisioned locker.
func (e *brokerEnv) locker(t *testing.T) lockerCred {
	t.Helper()
	select {
	case l := <-e.lockers:
		return l
	default:
		t.Fatal("no provisioned lockers left")
		return lockerCred{}
	}
}

// centreOpts returns options for a centre client with a unique client ID.
func (e *brokerEnv) centreOpts() clientOpts {
	return clientOpts{
		clientID: fmt.Sprintf("%stest-%d", CentreClientIDPrefix, e.seq.Add(1)),
		user:     e.centreUser, pass: e.centrePass,
	}
}

// centre connects a centre client.
func (e *brokerEnv) centre(t *testing.T) *testClient {
	t.Helper()
	return mustConnect(t, e.centreURL, e.centreOpts())
}

// lockerOpts returns options for locker l with its own client ID.
func lockerOpts(l lockerCred) clientOpts {
	return clientOpts{clientID: LockerClientID(l.id), user: l.id, pass: l.token}
}

// clientOpts is how a test client connects.
type clientOpts struct {
	clientID, user, pass string
	persistent           bool // CleanSession=false
	willTopic            string
	willPayload          string
}

// testClient is a paho client whose received messages go to msgs and
// whose TCP connection the test can drop.
type testClient struct {
	c    mqtt.Client
	msgs chan mqtt.Message

	mu   sync.Mutex
	conn net.Conn
	// sessionPresent is the CONNACK's flag.
	sessionPresent bool
}

// connect connects a paho MQTT 3.1.1 client without automatic reconnects.
func connect(t *testing.T, brokerURL string, o clientOpts) (*testClient, error) {
	t.Helper()
	tc := &testClient{msgs: make(chan mqtt.Message, 256)}
	opts := mqtt.NewClientOptions().
		AddBroker(brokerURL).
		SetClientID(o.clientID).
		SetUsername(o.user).
		SetPassword(o.pass).
		SetCleanSession(!o.persistent).
		SetProtocolVersion(4).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetConnectTimeout(waitFor).
		SetKeepAlive(30 * time.Second).
		SetOrderMatters(false).
		SetDefaultPublishHandler(func(_ mqtt.Client, m mqtt.Message) {
			select {
			case tc.msgs <- m:
			default:
			}
		}).
		SetCustomOpenConnectionFn(func(u *url.URL, _ mqtt.ClientOptions) (net.Conn, error) {
			c, err := net.DialTimeout("tcp", u.Host, waitFor)
			if err != nil {
				return nil, err
			}
			tc.mu.Lock()
			tc.conn = c
			tc.mu.Unlock()
			return c, nil
		})
	if o.willTopic != "" {
		opts.SetWill(o.willTopic, o.willPayload, 1, true)
	}
	tc.c = mqtt.NewClient(opts)
	tok := tc.c.Connect()
	if !tok.WaitTimeout(2 * waitFor) {
		tc.c.Disconnect(0)
		return nil, errors.New("connect timed out")
	}
	if err := tok.Error(); err != nil {
		return nil, err
	}
	tc.sessionPresent = tok.(*mqtt.ConnectToken).SessionPresent()
	t.Cleanup(func() { tc.c.Disconnect(50) })
	return tc, nil
}

// mustConnect connects or fails the test.
func mustConnect(t *testing.T, brokerURL string, o clientOpts) *testClient {
	t.Helper()
	tc, err := connect(t, brokerURL, o)
	if err != nil {
		t.Fatalf("connect %s as %q: %v", o.clientID, o.user, err)
	}
	return tc
}

// drop closes the client's TCP connection without a DISCONNECT, so that
// the broker sends its will.
func (tc *testClient) drop() {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.conn != nil {
		_ = tc.conn.Close()
	}
}

// subscribe subscribes at QoS 1 and returns the SUBACK's code for filter
// (0x80 is a refusal).
func (tc *testClient) subscribe(t *testing.T, filter string) byte {
	t.Helper()
	tok := tc.c.Subscribe(filter, 1, nil)
	if !tok.WaitTimeout(waitFor) {
		t.Fatalf("subscribe %q: timed out", filter)
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("subscribe %q: %v", filter, err)
	}
	// One filter: its result (paho keys a shared subscription's result
	// by the filter without "$share/<group>/").
	res := tok.(*mqtt.SubscribeToken).Result()
	if len(res) != 1 {
		t.Fatalf("subscribe %q: SUBACK results %v", filter, res)
	}
	for _, code := range res {
		return code
	}
	return 0
}

// mustSubscribe subscribes and fails the test unless granted.
func (tc *testClient) mustSubscribe(t *testing.T, filter string) {
	t.Helper()
	if code := tc.subscribe(t, filter); code > 2 {
		t.Fatalf("subscribe %q: refused with code %#x", filter, code)
	}
}

// publish publishes at QoS 1 and waits for its PUBACK.
func (tc *testClient) publish(topic, payload string, retained bool) error {
	tok := tc.c.Publish(topic, 1, retained, payload)
	if !tok.WaitTimeout(waitFor) {
		return errors.New("publish timed out")
	}
	return tok.Error()
}

// mustPublish publishes at QoS 1 or fails the test.
func (tc *testClient) mustPublish(t *testing.T, topic, payload string, retained bool) {
	t.Helper()
	if err := tc.publish(topic, payload, retained); err != nil {
		t.Fatalf("publish on %q: %v", topic, err)
	}
}

// expect waits for a message on topic with payload.
func (tc *testClient) expect(t *testing.T, topic, payload string) mqtt.Message {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		select {
		case m := <-tc.msgs:
			if m.Topic() == topic && string(m.Payload()) == payload {
				return m
			}
		case <-deadline:
			t.Fatalf("no message %q on %q within %v", payload, topic, waitFor)
			return nil
		}
	}
}

// expectNone fails the test if a message on any of topics arrives within
// quietPeriod.
func (tc *testClient) expectNone(t *testing.T, topics ...string) {
	t.Helper()
	deadline := time.After(quietPeriod)
	for {
		select {
		case m := <-tc.msgs:
			for _, topic := range topics {
				if m.Topic() == topic {
					t.Fatalf("got %q on %q, which must not be delivered", m.Payload(), m.Topic())
				}
			}
		case <-deadline:
			return
		}
	}
}

// waitDisconnected waits until the client's connection is gone.
func (tc *testClient) waitDisconnected(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for tc.c.IsConnectionOpen() {
		if time.Now().After(deadline) {
			t.Fatal("still connected")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
