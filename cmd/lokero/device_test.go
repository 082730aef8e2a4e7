package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/lokero/lokero/demo"
	"github.com/lokero/lokero/device"
	"github.com/lokero/lokero/locker"
	"github.com/lokero/lokero/mqtttest"
)

// mqttLocker is a test's locker on the device protocol: a paho client
// with the demo locker's credential, its acks collected by sequence.
type mqttLocker struct {
	t        *testing.T
	client   mqtt.Client
	acks     chan device.Ack
	commands chan device.Command
}

// connectLocker connects as the demo locker; it returns the error of a
// refused connection.
func connectLocker(t *testing.T, broker, token string) (*mqttLocker, error) {
	t.Helper()
	l := &mqttLocker{t: t, acks: make(chan device.Ack, 64), commands: make(chan device.Command, 64)}
	opts := mqtt.NewClientOptions().AddBroker(broker).
		SetClientID(device.LockerClientID(demo.DemoLockerID)).
		SetUsername(demo.DemoLockerID).SetPassword(token).
		SetCleanSession(false).SetAutoReconnect(false).SetConnectRetry(false).
		SetConnectTimeout(5*time.Second).
		SetWill(device.Topic(demo.DemoLockerID, device.KindStatus), `{"online":false}`, 1, true)
	l.client = mqtt.NewClient(opts)
	tok := l.client.Connect()
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return nil, fmt.Errorf("connect: %v", tok.Error())
	}
	t.Cleanup(func() { l.client.Disconnect(100) })
	sub := l.client.Subscribe(device.Topic(demo.DemoLockerID, device.KindAcks), 1, func(_ mqtt.Client, m mqtt.Message) {
		var a device.Ack
		if err := json.Unmarshal(m.Payload(), &a); err != nil {
			t.Errorf("ack %q: %v", m.Payload(), err)
			return
		}
		l.acks <- a
	})
	if !sub.WaitTimeout(10*time.Second) || sub.Error() != nil {
		return nil, fmt.Errorf("subscribe to acks: %v", sub.Error())
	}
	sub = l.client.Subscribe(device.Topic(demo.DemoLockerID, device.KindCommands), 1, func(_ mqtt.Client, m mqtt.Message) {
		var c device.Command
		if err := json.Unmarshal(m.Payload(), &c); err != nil {
			t.Errorf("command %q: %v", m.Payload(), err)
			return
		}
		l.commands <- c
	})
	if !sub.WaitTimeout(10*time.Second) || sub.Error() != nil {
		return nil, fmt.Errorf("subscribe to commands: %v", sub.Error())
	}
	return l, nil
}

// command waits for the next command.
func (l *mqttLocker) command() device.Command {
	l.t.Helper()
	select {
	case c := <-l.commands:
		return c
	case <-time.After(15 * time.Second):
		l.t.Fatal("no command from the centre in 15 s")
	}
	return device.Command{}
}

// send publishes an event and waits for its ack.
func (l *mqttLocker) send(ev device.Event) device.Ack {
	l.t.Helper()
	ev.At = time.Now().UTC()
	raw, _ := json.Marshal(ev)
	tok := l.client.Publish(device.Topic(demo.DemoLockerID, device.KindEvents), 1, false, raw)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		l.t.Fatalf("publish event %d: %v", ev.Seq, tok.Error())
	}
	select {
	case a := <-l.acks:
		if a.Seq != ev.Seq {
			l.t.Fatalf("ack for %d while waiting for %d's", a.Seq, ev.Seq)
		}
		return a
	case <-time.After(15 * time.Second):
		l.t.Fatalf("no ack for event %d (%s) in 15 s", ev.Seq, ev.Type)
	}
	return device.Ack{}
}

// status publishes the locker's retained status.
func (l *mqttLocker) status(s device.Status) {
	l.t.Helper()
	raw, _ := json.Marshal(s)
	tok := l.client.Publish(device.Topic(demo.DemoLockerID, device.KindStatus), 1, true, raw)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		l.t.Fatalf("publish status: %v", tok.Error())
	}
}

var outboxCode = regexp.MustCompile(`(?:Avauskoodi|Opening code|Öppningskod): ([0-9]+)`)

func TestDeviceProtocolEndToEnd(t *testing.T) {
	t.Parallel()
	for _, broker := range []string{"embedded", "mosquitto"} {
		t.Run(broker, func(t *testing.T) {
			t.Parallel()
			db := filepath.Join(t.TempDir(), "lokero.db")
			args := []string{"--db", db, "--dev"}
			var (
				mosq      *mqtttest.Mosquitto
				mosqDir   string
				brokerURL string
			)
			if broker == "mosquitto" {
				mqtttest.Find(t)
				mosqDir = t.TempDir()
				centrePass := lastLine(t, "locker", "provision", "--mosquitto", mosqDir, "--centre")
				mosq = mqtttest.Start(t, mosqDir)
				args = append(args, "--mqtt", "tcp://lokero-centre:"+centrePass+"@"+mosq.CentreAddr)
				brokerURL = "tcp://" + mosq.Addr
			} else {
				listen := freeAddr(t)
				args = append(args, "--mqtt-listen", listen)
				brokerURL = "tcp://" + listen
			}
			base := startServe(t, args...)
			key := lastLine(t, "retailer", "add", "--db", db, "Kauppa")
			courier := lastLine(t, "courier", "add", "--db", db, "Kuski")
			operator := lastLine(t, "operator", "add", "--db", db, "Olli")
			provision := []string{"locker", "provision", "--db", db, demo.DemoLockerID}
			if mosq != nil {
				provision = append(provision, "--mosquitto", mosqDir)
			}
			token := lastLine(t, provision...)
			if mosq != nil {
				mosq.Reload(t)
			}

			if _, err := connectLocker(t, brokerURL, token+"x"); err == nil {
				t.Fatal("a wrong token connected")
			}
			l, err := connectLocker(t, brokerURL, token)
			if err != nil {
				t.Fatal(err)
			}
			l.status(device.Status{Online: true, Sync: true, At: time.Now().UTC(), Firmware: "test-1.0", Compartments: json.RawMessage(`[{"n":1}]`)})
			sync := l.command()
			if sync.Type != device.CommandSync || sync.KDF == nil || sync.KDF.Alg != "argon2id" || len(sync.KDF.Salt) != 16 || len(sync.Pickups) != 0 {
				t.Fatalf("the centre's answer to a connecting locker: %+v; want a sync with the KDF and no pickups", sync)
			}

			// A parcel deposited by the courier; the door reported over MQTT.
			id, tracking := emailOnlyParcel(t, base, key, "maija@example.fi")
			if status := call(t, "POST", base+"/v1/shipments/"+id+"/handover", courier, nil, nil); status != 200 {
				t.Fatalf("handover: %d", status)
			}
			var dep struct{ Compartment int }
			if status := call(t, "POST", base+"/v1/lockers/"+demo.DemoLockerID+"/deposits", courier,
				map[string]string{"tracking_code": tracking}, &dep); status != 200 {
				t.Fatalf("deposit: %d", status)
			}
			// The centre opens the compartment for the courier's handheld.
			if open := l.command(); open.Type != device.CommandOpen || open.Compartment != dep.Compartment || open.ShipmentID != id ||
				open.Purpose != "deposit" || time.Since(open.At) > time.Minute {
				t.Fatalf("after the courier's handheld deposit: %+v; want open %d for %s, now", open, dep.Compartment, id)
			}
			closed := device.Event{Seq: 1, Type: "door_closed", Compartment: dep.Compartment}
			if a := l.send(closed); a.Result != "applied" || a.Status != "READY_FOR_PICKUP" {
				t.Fatalf("door closed over MQTT: %+v", a)
			}
			expect := l.command()
			if expect.Type != device.CommandExpectPickup || expect.Pickup == nil || expect.Pickup.ShipmentID != id || expect.Pickup.Compartment != dep.Compartment {
				t.Fatalf("after the door closed on the deposit: %+v; want expect_pickup of %s in %d", expect, id, dep.Compartment)
			}
			if a := l.send(closed); a.Result != "duplicate" {
				t.Errorf("the same event again: %+v; want duplicate", a)
			}
			if a := l.send(device.Event{Seq: 4, Type: "letter_dropped"}); a.Result != "gap" || a.Expect != 2 {
				t.Errorf("event 4 after 1: %+v; want gap, expect 2", a)
			}
			if a := l.send(device.Event{Seq: 2, Type: "keypad", Code: "00000000000"}); a.Result != "rejected" || a.Error == nil || a.Error.Reason != "wrong_code" {
				t.Errorf("a wrong code: %+v; want rejected wrong_code", a)
			}

			// The code from the notice (one notice, though the door event came twice).
			var box struct {
				Messages []struct {
					TrackingCode string `json:"tracking_code"`
					Channel      string `json:"channel"`
					Text         string `json:"text"`
				}
			}
			if status := call(t, "GET", base+"/dev/outbox", operator, nil, &box); status != 200 {
				t.Fatalf("outbox: %d", status)
			}
			var code string
			notices := 0
			for _, m := range box.Messages {
				if m.TrackingCode == tracking && m.Channel == "email" {
					notices++
					if c := outboxCode.FindStringSubmatch(m.Text); c != nil {
						code = c[1]
					}
				}
			}
			if notices != 1 || code == "" {
				t.Fatalf("%d e-mail notices for %s (code %q); want 1 with a code", notices, tracking, code)
			}
			// The board derives: the code comes sealed under the key of its
			// token, and no verifier (docs/device-protocol.md).
			if sealed, err := locker.OpenOnBoard(locker.BoardKey(token), demo.DemoLockerID, id, locker.BoardPickup, expect.Pickup.Sealed); err != nil ||
				sealed != code || expect.Pickup.Verifier != nil || expect.Pickup.CodeTag == "" {
				t.Errorf("the expected pickup: sealed code %q (%v), verifier %x, tag %q; want the notice's code sealed, a tag, no verifier",
					sealed, err, expect.Pickup.Verifier, expect.Pickup.CodeTag)
			}
			if a := l.send(device.Event{Seq: 3, Type: "keypad", Code: code}); a.Result != "applied" || a.Open != dep.Compartment {
				t.Fatalf("the right code: %+v; want compartment %d open", a, dep.Compartment)
			}
			if a := l.send(device.Event{Seq: 4, Type: "door_closed", Compartment: dep.Compartment}); a.Result != "applied" || a.Status != "PICKED_UP" {
				t.Fatalf("door closed after the pickup: %+v", a)
			}
			if c := l.command(); c.Type != device.CommandCancel || c.ShipmentID != id {
				t.Errorf("after the pickup: %+v; want cancel of %s", c, id)
			}
			var sh struct{ Status string }
			if status := call(t, "GET", base+"/v1/shipments/"+id, key, nil, &sh); status != 200 || sh.Status != "PICKED_UP" {
				t.Errorf("the parcel at the retailer: %d %s; want PICKED_UP", status, sh.Status)
			}

			// The operator sees the locker online with its firmware.
			var links struct {
				Devices []struct {
					LocationID string `json:"location_id"`
					Online     bool
					Firmware   string
				}
			}
			if status := call(t, "GET", base+"/v1/devices", operator, nil, &links); status != 200 ||
				len(links.Devices) != 1 || links.Devices[0].LocationID != demo.DemoLockerID || !links.Devices[0].Online || links.Devices[0].Firmware != "test-1.0" {
				t.Errorf("GET /v1/devices: %d %+v; want the demo locker online, firmware test-1.0", status, links)
			}

			// The centre's counts, for the operator's dashboards.
			resp, err := http.Get(base + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			metrics, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			for _, want := range []string{`lokero_device_events_total{result="applied"} 3`, `lokero_device_events_total{result="duplicate"} 1`,
				`lokero_device_events_total{result="gap"} 1`, `lokero_device_events_total{result="rejected"} 1`} {
				if !strings.Contains(string(metrics), want) {
					t.Errorf("/metrics lacks %s", want)
				}
			}
			if connected := `lokero_device_lockers_connected 1`; mosq == nil && !strings.Contains(string(metrics), connected) {
				t.Errorf("/metrics lacks %s", connected)
			}

			if mosq != nil {
				return // revoking at Mosquitto is its files' business (device tests)
			}
			// The operator revokes the locker's credential: the broker drops
			// it at once, and it cannot connect again.
			var creds struct{ Credentials []struct{ ID string } }
			if status := call(t, "GET", base+"/v1/credentials?kind=device", operator, nil, &creds); status != 200 || len(creds.Credentials) != 1 {
				t.Fatalf("device credentials: %d %+v", status, creds)
			}
			dropped := func(l *mqttLocker, what string) {
				t.Helper()
				deadline := time.Now().Add(10 * time.Second)
				for l.client.IsConnectionOpen() {
					if time.Now().After(deadline) {
						t.Fatalf("the locker is still connected 10 s after its credential was %s", what)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
			// Rotated first: the connection of the old token is dropped too
			// (its token no longer works, and the codes are sealed for the
			// new token's board), and the new token connects and syncs.
			var rotated struct{ Token string }
			if status := call(t, "POST", base+"/v1/credentials/"+creds.Credentials[0].ID+"/rotate", operator, nil, &rotated); status != 200 || rotated.Token == "" {
				t.Fatalf("rotate: %d", status)
			}
			dropped(l, "rotated")
			if _, err := connectLocker(t, brokerURL, token); err == nil {
				t.Error("the old token connected again after the rotation")
			}
			l, err = connectLocker(t, brokerURL, rotated.Token)
			if err != nil {
				t.Fatalf("the rotated token: %v", err)
			}
			l.status(device.Status{Online: true, Sync: true, At: time.Now().UTC(), Firmware: "test-1.0", Compartments: json.RawMessage(`[{"n":1}]`)})
			if c := l.command(); c.Type != device.CommandSync {
				t.Fatalf("after the rotation: %+v; want a sync", c)
			}
			if status := call(t, "POST", base+"/v1/credentials/"+creds.Credentials[0].ID+"/revoke", operator, nil, nil); status != 200 {
				t.Fatalf("revoke: %d", status)
			}
			dropped(l, "revoked")
			if _, err := connectLocker(t, brokerURL, rotated.Token); err == nil {
				t.Error("a revoked locker connected again")
			}
		})
	}
}

// noticeCode waits for a notice of arrival of the parcel with tracking
// code in the development outbox and returns the opening code of the
// newest.
func noticeCode(t *testing.T, base, operator, tracking string) string {
	t.Helper()
	var code string
	eventually(t, "the notice of arrival of "+tracking+" with its code in the outbox", func() bool {
		var box struct {
			Messages []struct {
				TrackingCode string `json:"tracking_code"`
				Text         string `json:"text"`
			}
		}
		if call(t, "GET", base+"/dev/outbox?limit=1000", operator, nil, &box) != 200 {
			return false
		}
		for _, m := range box.Messages { // newest first
			if c := outboxCode.FindStringSubmatch(m.Text); m.TrackingCode == tracking && c != nil {
				code = c[1]
				return true
			}
		}
		return false
	})
	return code
}

// parcelAtLocker is lokero serve (SQLite in dir, --dev, the embedded
// broker on listen) with a retailer, a courier, an operator and the demo
// locker's device, and one parcel ready in the locker: deposited, its door
// reported shut over HTTP, its code read from the development outbox.
type parcelAtLocker struct {
	dir, listen, base              string
	key, courier, operator, device string
	id, tracking, code             string
	compartment                    int
}

func newParcelAtLocker(t *testing.T) parcelAtLocker {
	t.Helper()
	p := parcelAtLocker{dir: t.TempDir(), listen: freeAddr(t)}
	db := filepath.Join(p.dir, "lokero.db")
	p.base = startServe(t, "--db", db, "--dev", "--mqtt-listen", p.listen)
	p.key = lastLine(t, "retailer", "add", "--db", db, "Kauppa")
	p.courier = lastLine(t, "courier", "add", "--db", db, "Kuski")
	p.operator = lastLine(t, "operator", "add", "--db", db, "Olli")
	p.device = lastLine(t, "locker", "provision", "--db", db, demo.DemoLockerID)
	p.id, p.tracking = emailOnlyParcel(t, p.base, p.key, "maija@example.fi")
	p.compartment = depositAtDemoLocker(t, p.base, p.courier, p.device, p.id, p.tracking)
	p.code = noticeCode(t, p.base, p.operator, p.tracking)
	return p
}
