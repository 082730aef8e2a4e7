package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lokero/lokero/controller"
	"github.com/lokero/lokero/demo"
	"github.com/lokero/lokero/mqtttest"
)

// eventually waits up to 20 s for cond, failing with what when it never
// holds.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("not within 20 s: %s", what)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// TestControllerOffline runs the locker's controller against lokero serve,
// with its embedded broker and with Mosquitto: parcels deposited while it
// is online, then the
// network cut; offline it hands parcels out for their codes (checked
// against the verifiers the centre gave it), refuses a wrong code and a
// used one, counts letters; reconnected, it sends every event in order,
// and the centre ends in the state of the locker's history, with one
// notice of arrival per parcel.
func TestControllerOffline(t *testing.T) {
	t.Parallel()
	for _, broker := range []string{"embedded", "mosquitto"} {
		t.Run(broker, func(t *testing.T) {
			t.Parallel()
			controllerOffline(t, broker == "mosquitto")
		})
	}
}

func controllerOffline(t *testing.T, mosquitto bool) {
	db := filepath.Join(t.TempDir(), "lokero.db")
	var base, listen, token string
	if mosquitto {
		mqtttest.Find(t)
		dir := t.TempDir()
		centrePass := lastLine(t, "locker", "provision", "--mosquitto", dir, "--centre")
		m := mqtttest.Start(t, dir)
		listen = m.Addr
		base = startServe(t, "--db", db, "--dev", "--mqtt", "tcp://lokero-centre:"+centrePass+"@"+m.CentreAddr)
		token = lastLine(t, "locker", "provision", "--db", db, "--mosquitto", dir, demo.DemoLockerID)
		m.Reload(t)
	} else {
		listen = freeAddr(t)
		base = startServe(t, "--db", db, "--dev", "--mqtt-listen", listen)
		token = lastLine(t, "locker", "provision", "--db", db, demo.DemoLockerID)
	}
	key := lastLine(t, "retailer", "add", "--db", db, "--free-returns", "Kauppa")
	courier := lastLine(t, "courier", "add", "--db", db, "Kuski")
	operator := lastLine(t, "operator", "add", "--db", db, "Olli")

	// Two parcels on their way before the controller starts: the sync it
	// gets on connecting lists them, so it takes them from the courier
	// offline.
	var onTheWay []string
	onTheWayID := map[string]string{}
	for i := range 2 {
		id, tracking := emailOnlyParcel(t, base, key, fmt.Sprintf("later%d@example.fi", i))
		if status := call(t, "POST", base+"/v1/shipments/"+id+"/handover", courier, nil, nil); status != 200 {
			t.Fatalf("handover: %d", status)
		}
		onTheWay = append(onTheWay, tracking)
		onTheWayID[tracking] = id
	}

	network, err := newSimRelay(listen) // the locker's network, which the test cuts
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(network.Close)
	driver := controller.NewSimDriver(60)
	c, err := controller.Open(controller.Config{LocationID: demo.DemoLockerID, Broker: "tcp://" + network.Addr(), Token: token,
		StatePath: filepath.Join(t.TempDir(), "controller.db"), Driver: driver,
		Heartbeat: time.Second, ResendAfter: 500 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controller run: %v", err)
		}
	}()
	eventually(t, "the controller connected", c.Connected)

	// Four parcels, deposited by the courier: the door opened, the parcel
	// in, the door shut (the controller reports it; the centre makes the
	// parcel ready and tells the controller to expect it).
	type parcel struct{ id, tracking, code string }
	var parcels []*parcel
	compartment := map[string]int{}
	for i := range 4 {
		var id, tracking string
		if i == 0 { // its recipient will send it back: a return code
			var sh struct {
				ID           string `json:"id"`
				TrackingCode string `json:"tracking_code"`
			}
			body := demoBuildingParcel()
			delete(body["recipient"].(map[string]any), "phone")
			body["recipient"].(map[string]any)["email"] = "returner@example.fi"
			body["return_code"] = true
			if status := call(t, "POST", base+"/v1/shipments", key, body, &sh); status != 201 {
				t.Fatalf("book a parcel with a return code: %d", status)
			}
			id, tracking = sh.ID, sh.TrackingCode
		} else {
			id, tracking = emailOnlyParcel(t, base, key, fmt.Sprintf("p%d@example.fi", i))
		}
		if status := call(t, "POST", base+"/v1/shipments/"+id+"/handover", courier, nil, nil); status != 200 {
			t.Fatalf("handover: %d", status)
		}
		var dep struct{ Compartment int }
		if status := call(t, "POST", base+"/v1/lockers/"+demo.DemoLockerID+"/deposits", courier,
			map[string]string{"tracking_code": tracking}, &dep); status != 200 {
			t.Fatalf("deposit: %d", status)
		}
		// The centre tells the controller to open it (an open command).
		eventually(t, fmt.Sprintf("compartment %d opened for the courier's handheld", dep.Compartment), func() bool {
			return driver.IsOpen(dep.Compartment)
		})
		driver.Close(dep.Compartment)
		parcels = append(parcels, &parcel{id: id, tracking: tracking})
		compartment[id] = dep.Compartment
	}
	eventually(t, "the controller expects the 4 parcels and has no event unanswered", func() bool {
		return c.Expecting() == 4 && c.Pending() == 0
	})
	for _, p := range parcels {
		p.code = noticeCode(t, base, operator, p.tracking)
	}
	// The operator rotates the last parcel's code: the controller gets the
	// new code's verifier, and the old code no longer opens, offline either.
	oldCode := parcels[3].code
	commands := c.Stats().Commands
	if status := call(t, "POST", base+"/v1/shipments/"+parcels[3].id+"/opening-code/rotate", operator, nil, nil); status != 200 {
		t.Fatalf("rotate the code: %d", status)
	}
	eventually(t, "the controller took the rotated code's pickup", func() bool { return c.Stats().Commands > commands })

	// The courier signs in at the keypad while the locker is online: the
	// centre accepts them, so the locker takes them offline too.
	if res, err := c.SignInCourier(ctx, courier); err != nil || res.Result != controller.ResultSignedIn {
		t.Fatalf("courier sign-in online: %+v, %v", res, err)
	}
	c.SignOutCourier()
	if res, err := c.SignInCourier(ctx, "lkc_"+strings.Repeat("x", 52)); err != nil || res.Result != controller.ResultWrongCode {
		t.Errorf("sign-in with a token the centre does not know: %+v, %v; want wrong_code", res, err)
	}

	// The network goes; the locker works on.
	network.Cut()
	eventually(t, "the operator sees the locker offline", func() bool {
		var links struct{ Devices []struct{ Online bool } }
		return call(t, "GET", base+"/v1/devices", operator, nil, &links) == 200 && len(links.Devices) == 1 && !links.Devices[0].Online
	})
	for _, p := range parcels[:3] {
		res, err := c.Keypad(ctx, p.code)
		if err != nil || res.Result != controller.ResultOpen || res.Compartment != compartment[p.id] {
			t.Fatalf("offline, %s's code: %+v, %v; want compartment %d open", p.tracking, res, err, compartment[p.id])
		}
		driver.Close(res.Compartment)
	}
	if res, err := c.Keypad(ctx, "00000000000"); err != nil || res.Result != controller.ResultWrongCode {
		t.Errorf("offline, a wrong code: %+v, %v", res, err)
	}
	if res, err := c.Keypad(ctx, oldCode); err != nil || res.Result != controller.ResultWrongCode {
		t.Errorf("offline, a rotated parcel's old code: %+v, %v; want wrong_code", res, err)
	}
	if res, err := c.Keypad(ctx, parcels[0].code); err != nil || res.Result == controller.ResultOpen {
		t.Errorf("offline, a code used already: %+v, %v; want the door shut", res, err)
	}
	if err := c.Letters(ctx, 2); err != nil {
		t.Fatal(err)
	}
	// The courier comes by: a stranger's token is refused, so is a deposit
	// without a sign-in; the courier the centre accepted here signs in,
	// the two parcels the locker expects go in, one it does not know of is
	// turned away.
	if res, err := c.SignInCourier(ctx, "lkc_"+strings.Repeat("y", 52)); err == nil || res.Result == controller.ResultSignedIn {
		t.Errorf("offline sign-in of a courier never seen here: %+v, %v; want refused", res, err)
	}
	if _, err := c.Deposit(ctx, onTheWay[0]); !errors.Is(err, controller.ErrCourierSignIn) {
		t.Errorf("offline deposit without a courier: %v; want ErrCourierSignIn", err)
	}
	if res, err := c.SignInCourier(ctx, courier); err != nil || res.Result != controller.ResultSignedIn {
		t.Fatalf("offline sign-in of the courier accepted here: %+v, %v", res, err)
	}
	depositedIn := map[string]int{}
	for _, tracking := range onTheWay {
		res, err := c.Deposit(ctx, tracking)
		if err != nil || res.Result != controller.ResultOpen || res.Compartment < 1 {
			t.Fatalf("offline deposit of %s: %+v, %v", tracking, res, err)
		}
		for _, p := range parcels {
			if compartment[p.id] == res.Compartment && p != parcels[0] && p != parcels[1] && p != parcels[2] {
				t.Fatalf("offline deposit of %s into compartment %d, which holds %s", tracking, res.Compartment, p.tracking)
			}
		}
		depositedIn[tracking] = res.Compartment
		driver.Close(res.Compartment)
	}
	if _, err := c.Deposit(ctx, parcels[3].tracking); err == nil {
		t.Error("offline, a parcel the locker does not expect was taken")
	}
	eventually(t, "11 events queued offline (3 pickups, 2 deposits, 5 doors shut, letters)", func() bool { return c.Pending() == 11 })
	var sh struct{ Status string }
	if status := call(t, "GET", base+"/v1/shipments/"+parcels[0].id, key, nil, &sh); status != 200 || sh.Status != "READY_FOR_PICKUP" {
		t.Errorf("while the locker is offline the centre has %s as %s; want READY_FOR_PICKUP still", parcels[0].tracking, sh.Status)
	}

	// Back online: everything queued arrives, in order, once.
	network.Restore()
	eventually(t, "every queued event answered", func() bool { return c.Connected() && c.Pending() == 0 })
	for i, p := range parcels {
		want := "PICKED_UP"
		if i == 3 {
			want = "READY_FOR_PICKUP"
		}
		if status := call(t, "GET", base+"/v1/shipments/"+p.id, key, nil, &sh); status != 200 || sh.Status != want {
			t.Errorf("after reconnecting, %s is %s; want %s", p.tracking, sh.Status, want)
		}
	}
	for _, tracking := range onTheWay {
		var got struct{ Status string }
		if status := call(t, "GET", base+"/v1/shipments/"+onTheWayID[tracking], key, nil, &got); status != 200 || got.Status != "READY_FOR_PICKUP" {
			t.Errorf("after reconnecting, %s (deposited offline) is %s; want READY_FOR_PICKUP", tracking, got.Status)
		}
	}
	var view struct {
		Letters      map[string]int
		Compartments []struct {
			Number       int
			TrackingCode string `json:"tracking_code"`
		}
	}
	if status := call(t, "GET", base+"/v1/lockers/"+demo.DemoLockerID, operator, nil, &view); status != 200 || view.Letters["in_slot"] != 2 {
		t.Errorf("locker view after reconnecting: %d, letters %v; want 2 in the slot", status, view.Letters)
	}
	seen := 0
	for _, cj := range view.Compartments {
		if want, ok := depositedIn[cj.TrackingCode]; ok {
			seen++
			if cj.Number != want {
				t.Errorf("the centre has %s in compartment %d; the locker put it in %d", cj.TrackingCode, cj.Number, want)
			}
		}
	}
	if seen != len(depositedIn) {
		t.Errorf("the locker view shows %d of the %d parcels deposited offline", seen, len(depositedIn))
	}
	eventually(t, "the controller expects the parcel still waiting and the two deposited offline", func() bool { return c.Expecting() == 3 })
	// The first parcel's recipient returns it with the locker offline
	// again: the centre told the controller to expect that return when the
	// pickup's door event arrived.
	var picked struct {
		ReturnCode         string `json:"return_code"`
		ReturnTrackingCode string `json:"return_tracking_code"`
	}
	if status := call(t, "GET", base+"/v1/shipments/"+parcels[0].id, key, nil, &picked); status != 200 || picked.ReturnCode == "" {
		t.Fatalf("the returner's parcel: %d %+v; want a return code", status, picked)
	}
	eventually(t, "the controller expects the return", func() bool { return c.ExpectingReturns() == 1 })
	network.Cut()
	eventually(t, "offline again", func() bool { return !c.Connected() })
	res, err := c.Keypad(ctx, picked.ReturnCode)
	if err != nil || res.Result != controller.ResultOpen {
		t.Fatalf("offline, the return code: %+v, %v; want a door open", res, err)
	}
	driver.Close(res.Compartment)
	if again, err := c.Keypad(ctx, picked.ReturnCode); err != nil || again.Result == controller.ResultOpen {
		t.Errorf("offline, the return code again: %+v, %v; want nothing open", again, err)
	}
	network.Restore()
	eventually(t, "the return reported", func() bool { return c.Connected() && c.Pending() == 0 })
	var after struct {
		Compartments []struct {
			Number       int
			TrackingCode string `json:"tracking_code"`
		}
	}
	if status := call(t, "GET", base+"/v1/lockers/"+demo.DemoLockerID, operator, nil, &after); status != 200 {
		t.Fatalf("locker view: %d", status)
	}
	returned := false
	for _, cj := range after.Compartments {
		returned = returned || (cj.Number == res.Compartment && cj.TrackingCode != "" && cj.TrackingCode != parcels[0].tracking)
	}
	if !returned {
		t.Errorf("the centre has no return in compartment %d after the offline drop-off: %+v", res.Compartment, after.Compartments)
	}

	// One notice of arrival per parcel and channel, however the events
	// came.
	var box struct {
		Messages []struct {
			TrackingCode string `json:"tracking_code"`
			Channel      string `json:"channel"`
			Kind         string `json:"kind"`
		}
	}
	if status := call(t, "GET", base+"/dev/outbox?limit=100", operator, nil, &box); status != 200 {
		t.Fatalf("outbox: %d", status)
	}
	arrivals := map[string]int{}
	for _, m := range box.Messages {
		if m.Kind == "arrival" {
			arrivals[m.TrackingCode+"/"+m.Channel]++
		}
	}
	for _, tracking := range append(onTheWay, parcels[0].tracking, parcels[1].tracking, parcels[2].tracking, parcels[3].tracking) {
		want := 1
		if tracking == parcels[3].tracking {
			want = 2 // the rotated code's notice too
		}
		if arrivals[tracking+"/email"] != want {
			t.Errorf("%s: %d notices of arrival by e-mail; want %d", tracking, arrivals[tracking+"/email"], want)
		}
	}
}
