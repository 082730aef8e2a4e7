package controller

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lokero/lokero/device"
	"github.com/lokero/lokero/locker"
	bolt "go.etcd.io/bbolt"
)

// TestScanQROffline: with the network down and the keypad locked by
// someone typing wrong codes, the recipient's QR code opens their door at
// once; a forged token, another locker's, an expired one and a parcel's
// second scan open nothing, and none of them counts towards the lockout.
func TestScanQROffline(t *testing.T) {
	t.Parallel()
	broker := startBroker(t)
	ce := newCentre(t, broker)
	h := newHarness(t, broker, nil)
	h.run()
	eventually(t, "connected", h.c.Connected)

	pub, key, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	_, forger, _ := ed25519.GenerateKey(nil)
	k := testKDF(t)
	now := h.clock.Now()
	deadline := now.Add(7 * 24 * time.Hour)
	pickups := []Pickup{pickupFor(k, "SH-A", 7, "11111111111", deadline, 0), pickupFor(k, "SH-B", 3, "22222222222", deadline, 0)}
	data, err := json.Marshal(Command{Type: CommandSync, At: now, KDF: k, Pickups: pickups, QRKey: pub})
	if err != nil {
		t.Fatal(err)
	}
	ce.command(h.id, data)
	eventually(t, "sync with the QR key applied", func() bool {
		h.c.mu.Lock()
		defer h.c.mu.Unlock()
		return h.c.qrKey != nil && len(h.c.pickups) == 2
	})
	h.net.cut()
	eventually(t, "disconnected", func() bool { return !h.c.Connected() })

	// Someone hammers the keypad until it is locked.
	for range 5 {
		h.keypad("99999999999")
	}
	if got := h.keypad("22222222222"); got.Result != ResultLocked {
		t.Fatalf("after 5 wrong codes: %+v; want the keypad locked", got)
	}
	h.c.mu.Lock()
	wrongBefore := h.c.keypad.DayWrong
	h.c.mu.Unlock()

	claims := func(id string, compartment int) locker.QRClaims {
		return locker.QRClaims{LocationID: h.id, ShipmentID: id, Compartment: compartment, NotBefore: now.Add(-time.Minute), NotAfter: deadline}
	}
	other := claims("SH-A", 7)
	other.LocationID = "SOMEWHERE-ELSE"
	old := claims("SH-A", 7)
	old.NotBefore, old.NotAfter = now.Add(-48*time.Hour), now.Add(-24*time.Hour)
	scans := []struct {
		name  string
		token string
		want  KeypadResult
	}{
		{"a forged token", locker.SignQR(forger, claims("SH-A", 7)), KeypadResult{Result: ResultWrongCode}},
		{"another locker's token", locker.SignQR(key, other), KeypadResult{Result: ResultWrongCode}},
		{"an expired token", locker.SignQR(key, old), KeypadResult{Result: ResultWrongCode}},
		{"garbage", "not a token", KeypadResult{Result: ResultWrongCode}},
		{"the recipient's QR, keypad locked and offline", "  " + locker.SignQR(key, claims("SH-A", 7)) + "\n", KeypadResult{Result: ResultOpen, Compartment: 7}},
		{"the same QR again", locker.SignQR(key, claims("SH-A", 7)), KeypadResult{Result: ResultWrongCode}},
		{"a token naming the wrong compartment", locker.SignQR(key, claims("SH-B", 9)), KeypadResult{Result: ResultWrongCode}},
	}
	for _, s := range scans {
		got, err := h.c.ScanQR(context.Background(), s.token)
		if err != nil || got != s.want {
			t.Errorf("%s: %+v, %v; want %+v", s.name, got, err, s.want)
		}
	}
	if opened := h.driver.Opened(); opened[6] != 1 || opened[2] != 0 {
		t.Errorf("opened %v; want compartment 7 once, 3 never", opened)
	}
	h.c.mu.Lock()
	wrongAfter := h.c.keypad.DayWrong
	h.c.mu.Unlock()
	if wrongAfter != wrongBefore {
		t.Errorf("QR scans counted %d wrong entries; want none", wrongAfter-wrongBefore)
	}
	// The pickup is reported when the network is back.
	h.net.restore()
	applied := ce.waitApplied(t, h.c, 1)
	found := false
	for _, e := range applied {
		found = found || (e.Type == TypePickup && e.ShipmentID == "SH-A" && e.Compartment == 7)
	}
	if !found {
		t.Errorf("applied %+v; want the pickup of SH-A in 7", applied)
	}
}

// TestDepositAtKeypad: courier mode needs a courier: a deposit before a
// sign-in is refused without asking the centre; a device's token is
// refused at once, one the centre refuses is refused; the courier it
// accepts deposits, each event naming them by their token's hash (the
// token itself is never sent nor stored); the centre's answer opens the
// door, a refusal comes back as its words; a courier the centre no longer
// accepts is signed out and forgotten; offline there is no deposit of a
// parcel the locker does not expect.
func TestDepositAtKeypad(t *testing.T) {
	t.Parallel()
	broker := startBroker(t)
	ce := newCentre(t, broker)
	good := device.CourierHash(testCourierToken)
	var revoked atomic.Bool
	ce.answer = func(e Event) device.Ack {
		unknown := device.Ack{Result: device.ResultRejected, Error: &device.Error{Code: "unauthorized", Reason: "courier_unknown", Message: "not an active courier"}}
		switch {
		case (e.Type == TypeCourier || e.Type == TypeDeposit) && (e.Courier != good || revoked.Load()):
			return unknown
		case e.Type == TypeCourier:
			return device.Ack{Result: device.ResultApplied}
		case e.Type == TypeDeposit && e.TrackingCode == "CL123456785FI":
			return device.Ack{Result: device.ResultApplied, Open: 12, Purpose: "deposit"}
		}
		return device.Ack{Result: device.ResultRejected, Error: &device.Error{Code: "conflict", Reason: "wrong_locker", Message: "parcel X is for another locker"}}
	}
	h := newHarness(t, broker, func(c *Config) { c.OnlineWait = time.Second })
	h.run()
	eventually(t, "connected", h.c.Connected)
	ctx := context.Background()
	if got, err := h.c.Deposit(ctx, "CL123456785FI"); !errors.Is(err, ErrCourierSignIn) || h.driver.IsOpen(12) {
		t.Fatalf("deposit before a sign-in: %+v, %v; want ErrCourierSignIn, nothing open", got, err)
	}
	if got, err := h.c.SignInCourier(ctx, "lkd_test"); err != nil || got.Result != ResultWrongCode {
		t.Errorf("sign-in with the device's token: %+v, %v; want wrong_code", got, err)
	}
	if received, _, _ := ce.snapshot(); len(received) != 0 {
		t.Fatalf("the centre got %+v before any courier signed in; want nothing", received)
	}
	if got, err := h.c.SignInCourier(ctx, "lkc_someoneelse"); err != nil || got.Result != ResultWrongCode {
		t.Errorf("sign-in the centre refuses: %+v, %v; want wrong_code", got, err)
	}
	if _, err := h.c.Deposit(ctx, "CL123456785FI"); !errors.Is(err, ErrCourierSignIn) {
		t.Errorf("deposit after a refused sign-in: %v; want ErrCourierSignIn", err)
	}
	if got, err := h.c.SignInCourier(ctx, " "+testCourierToken+"\n"); err != nil || got.Result != ResultSignedIn || !h.c.CourierSignedIn() {
		t.Fatalf("sign-in of an active courier: %+v, %v; want signed_in", got, err)
	}
	got, err := h.c.Deposit(ctx, " cl123456785fi ")
	if err != nil || got != (KeypadResult{Result: ResultOpen, Compartment: 12}) || !h.driver.IsOpen(12) {
		t.Fatalf("deposit: %+v, %v; want door 12 open", got, err)
	}
	if _, err := h.c.Deposit(ctx, "CL000000000FI"); err == nil || !strings.Contains(err.Error(), "another locker") {
		t.Errorf("refused deposit: %v; want the centre's words", err)
	}
	if _, err := h.c.Deposit(ctx, ""); err == nil {
		t.Error("a deposit of nothing was taken")
	}
	received, _, _ := ce.snapshot()
	var deposits []Event
	for _, e := range received {
		if e.Type == TypeDeposit {
			deposits = append(deposits, e)
		}
	}
	if len(deposits) != 2 || deposits[0].TrackingCode != "CL123456785FI" || deposits[0].Courier != good || deposits[1].Courier != good {
		t.Errorf("the centre got deposits %+v; want two, the first CL123456785FI, both by courier %s", deposits, good)
	}
	// The token never left the keypad: not in an event, not in the state.
	raw, err := json.Marshal(received)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(raw), testCourierToken) {
		t.Errorf("an event carries the courier's token: %s", raw)
	}

	// The courier's credential is revoked: their next deposit is refused,
	// they are signed out, and the keypad no longer takes them offline.
	revoked.Store(true)
	if _, err := h.c.Deposit(ctx, "CL123456785FI"); !errors.Is(err, ErrCourierSignIn) || h.c.CourierSignedIn() {
		t.Errorf("deposit by a courier revoked meanwhile: %v (signed in %v); want ErrCourierSignIn, signed out", err, h.c.CourierSignedIn())
	}
	h.net.cut()
	eventually(t, "disconnected", func() bool { return !h.c.Connected() })
	if got, err := h.c.SignInCourier(ctx, testCourierToken); err == nil || got.Result == ResultSignedIn {
		t.Errorf("offline sign-in of a courier the centre refused: %+v, %v; want refused", got, err)
	}
	h.c.acceptCourier(good, h.clock.Now()) // as if accepted again
	h.courierIn()
	if _, err := h.c.Deposit(ctx, "CL123456785FI"); err == nil || !strings.Contains(err.Error(), "offline") {
		t.Errorf("deposit offline: %v; want refused as offline", err)
	}
	h.stopRun()
	if data, err := os.ReadFile(h.path); err != nil || bytes.Contains(data, []byte(testCourierToken)) {
		t.Errorf("the state file holds the courier's token (read: %v)", err)
	}
}

// TestOfflineCourier: offline, the keypad takes a courier the centre
// accepted here within 30 days (the state file keeps them across a
// restart) and reports the deposit with the courier's hash; it refuses a
// courier it does not know, or last accepted longer ago, and no deposit
// is taken for them; a sign-in lapses after CourierIdle without a deposit.
func TestOfflineCourier(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "tcp://127.0.0.1:1", nil) // never run: offline
	ctx := context.Background()
	h.command(Command{Type: CommandSync, At: h.clock.Now(), KDF: testKDF(t),
		Deliveries: []device.Delivery{
			{TrackingCode: "JJFI00000000000001", LengthCM: 30, WidthCM: 20, HeightCM: 5},
			{TrackingCode: "JJFI00000000000002", LengthCM: 30, WidthCM: 20, HeightCM: 5}},
		Compartments: []device.Compartment{
			{N: 1, Size: "S", LengthCM: 70, WidthCM: 40, HeightCM: 10},
			{N: 2, Size: "M", LengthCM: 70, WidthCM: 40, HeightCM: 20}}})
	known, stale := device.CourierHash(testCourierToken), device.CourierHash("lkc_stale")
	h.c.acceptCourier(known, h.clock.Now())
	h.c.acceptCourier(stale, h.clock.Now().Add(-courierKeep-time.Hour))
	h.restart() // the known couriers are in the state file

	for _, token := range []string{"lkc_unknown", "lkc_stale", "lkd_test"} {
		if got, err := h.c.SignInCourier(ctx, token); got.Result == ResultSignedIn {
			t.Errorf("offline sign-in with %s: %+v, %v; want refused", token, got, err)
		}
		if got, err := h.c.Deposit(ctx, "JJFI00000000000001"); !errors.Is(err, ErrCourierSignIn) || got.Result == ResultOpen {
			t.Errorf("offline deposit after a sign-in with %s: %+v, %v; want ErrCourierSignIn", token, got, err)
		}
	}
	if h.c.Pending() != 0 || h.driver.IsOpen(1) || h.driver.IsOpen(2) {
		t.Fatalf("refused couriers: %d events queued, doors open %v %v; want none", h.c.Pending(), h.driver.IsOpen(1), h.driver.IsOpen(2))
	}

	got, err := h.c.SignInCourier(ctx, testCourierToken)
	if err != nil || got.Result != ResultSignedIn {
		t.Fatalf("offline sign-in of a known courier: %+v, %v; want signed_in", got, err)
	}
	if got, err := h.c.Deposit(ctx, "JJFI00000000000001"); err != nil || got != (KeypadResult{Result: ResultOpen, Compartment: 1}) {
		t.Fatalf("offline deposit by a known courier: %+v, %v; want door 1", got, err)
	}
	var queued []Event
	if err := h.c.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOutbox).ForEach(func(_, v []byte) error {
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			queued = append(queued, e)
			return nil
		})
	}); err != nil {
		t.Fatal(err)
	}
	if len(queued) != 1 || queued[0].Type != TypeDeposit || queued[0].Compartment != 1 || queued[0].Courier != known {
		t.Errorf("queued %+v; want the deposit in 1 by courier %s", queued, known)
	}

	h.clock.Advance(CourierIdle)
	if _, err := h.c.Deposit(ctx, "JJFI00000000000002"); !errors.Is(err, ErrCourierSignIn) || h.driver.IsOpen(2) {
		t.Errorf("deposit after %s idle: %v; want ErrCourierSignIn", CourierIdle, err)
	}
	h.clock.Advance(courierKeep)
	if got, _ := h.c.SignInCourier(ctx, testCourierToken); got.Result == ResultSignedIn {
		t.Errorf("offline sign-in %s after the centre last accepted the courier: %+v; want refused", courierKeep, got)
	}
}

// openOffline opens a controller of LOCKER-1 on the state file at path
// with token, its broker unreachable.
func openOffline(t *testing.T, path, token string) *Controller {
	t.Helper()
	c, err := Open(Config{LocationID: "LOCKER-1", Broker: "tcp://127.0.0.1:1", Token: token, StatePath: path,
		Driver: NewSimDriver(4), Clock: newFakeClock()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestNewTokenRestartsSequence: a controller provisioned anew (another
// device token) keeps its unanswered events and numbers them from 1, as
// the centre counts a new credential's events; with its token unchanged a
// restart goes on with the sequence.
func TestNewTokenRestartsSequence(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/state.db"
	open := func(token string) *Controller { return openOffline(t, path, token) }
	seqs := func(c *Controller) []int64 {
		t.Helper()
		var out []int64
		if err := c.db.View(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketOutbox).ForEach(func(k, v []byte) error {
				var e Event
				if err := json.Unmarshal(v, &e); err != nil {
					return err
				}
				if !bytes.Equal(k, seqKey(e.Seq)) {
					t.Errorf("event %d stored under key %x", e.Seq, k)
				}
				out = append(out, e.Seq)
				return nil
			})
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	c := open("lkd_first")
	for range 3 {
		if err := c.Letters(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	c = open("lkd_first")
	if err := c.Letters(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if got := seqs(c); !slices.Equal(got, []int64{1, 2, 3, 4}) {
		t.Errorf("same token after a restart: %v; want 1..4", got)
	}
	c.Close()
	// Say the centre answered 1 and 2 under the old token.
	c = open("lkd_first")
	if err := c.db.Update(func(tx *bolt.Tx) error {
		for _, s := range []int64{1, 2} {
			if err := tx.Bucket(bucketOutbox).Delete(seqKey(s)); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c.Close()
	c = open("lkd_second")
	defer c.Close()
	if got := seqs(c); !slices.Equal(got, []int64{1, 2}) {
		t.Errorf("a new token with events 3 and 4 unanswered: %v; want them as 1, 2", got)
	}
	if err := c.Letters(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if got := seqs(c); !slices.Equal(got, []int64{1, 2, 3}) {
		t.Errorf("the next event under the new token: %v; want 1..3", got)
	}
}

// TestNewTokenKeepsPendingCount: the events renumbered for a new token
// are still counted unanswered (Pending), which lokero sim and the tests
// wait on.
func TestNewTokenKeepsPendingCount(t *testing.T) {
	t.Parallel()
	path := t.TempDir() + "/state.db"
	open := func(token string) *Controller { return openOffline(t, path, token) }
	c := open("lkd_first")
	for range 3 {
		if err := c.Letters(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	for _, s := range []struct {
		token string
		want  int
	}{{"lkd_first", 3}, {"lkd_second", 3}, {"lkd_second", 3}} {
		c = open(s.token)
		if got := c.Pending(); got != s.want {
			t.Errorf("reopened with %s: Pending() = %d, want %d", s.token, got, s.want)
		}
		c.Close()
	}
}

// TestReturnTakenOfflineSurvivesRestart: the compartment a return went
// into offline stays taken after a restart (still offline): the next
// deposit taken offline goes into another one.
func TestReturnTakenOfflineSurvivesRestart(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "tcp://127.0.0.1:1", nil) // never run: offline
	k := testKDF(t)
	h.command(Command{Type: CommandSync, At: h.clock.Now(), KDF: k,
		Deliveries: []device.Delivery{{TrackingCode: "JJFI00000000000001", LengthCM: 30, WidthCM: 20, HeightCM: 5}},
		Compartments: []device.Compartment{
			{N: 1, Size: "S", LengthCM: 70, WidthCM: 40, HeightCM: 10},
			{N: 2, Size: "M", LengthCM: 70, WidthCM: 40, HeightCM: 20}}})
	ret := pickupFor(k, "SH-R", 1, "22222222222", time.Time{}, 0)
	h.command(Command{Type: CommandExpectDropOff, DropOff: &device.DropOff{ShipmentID: "SH-R", Verifier: ret.Verifier,
		LengthCM: 30, WidthCM: 20, HeightCM: 5, Until: h.clock.Now().Add(14 * 24 * time.Hour)}})
	h.driver.SetFail(errors.New("board silent"))
	if _, err := h.c.Keypad(context.Background(), "22222222222"); err == nil {
		t.Fatal("return code offline with the lock failing: no error")
	}
	h.driver.SetFail(nil)
	// The failed attempt took nothing back from the return or door 1.
	if got := h.keypad("22222222222"); got != (KeypadResult{Result: ResultOpen, Compartment: 1}) {
		t.Fatalf("return code offline = %+v, want door 1 open", got)
	}
	h.driver.Close(1)
	h.restart()
	h.courierIn()
	got, err := h.c.Deposit(context.Background(), "JJFI00000000000001")
	if err != nil || got != (KeypadResult{Result: ResultOpen, Compartment: 2}) {
		t.Errorf("deposit offline after a restart = %+v, %v; want door 2 (door 1 holds the return)", got, err)
	}
}

// TestReturnTakenOfflineOutlivesAnEarlySync: a sync read before the
// centre applied a return's drop_off event does not know the return: the
// compartment stays taken until the event is answered and a sync comes
// after it.
func TestReturnTakenOfflineOutlivesAnEarlySync(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "tcp://127.0.0.1:1", nil) // never run: offline
	k := testKDF(t)
	sync := func(codes ...string) {
		t.Helper()
		var ds []device.Delivery
		for _, code := range codes {
			ds = append(ds, device.Delivery{TrackingCode: code, LengthCM: 30, WidthCM: 20, HeightCM: 5})
		}
		h.command(Command{Type: CommandSync, At: h.clock.Now(), KDF: k, Deliveries: ds,
			Compartments: []device.Compartment{
				{N: 1, Size: "S", LengthCM: 70, WidthCM: 40, HeightCM: 10},
				{N: 2, Size: "M", LengthCM: 70, WidthCM: 40, HeightCM: 20},
				{N: 3, Size: "L", LengthCM: 70, WidthCM: 40, HeightCM: 40}}})
	}
	sync()
	ret := pickupFor(k, "SH-R", 1, "22222222222", time.Time{}, 0)
	h.command(Command{Type: CommandExpectDropOff, DropOff: &device.DropOff{ShipmentID: "SH-R", Verifier: ret.Verifier,
		LengthCM: 30, WidthCM: 20, HeightCM: 5, Until: h.clock.Now().Add(14 * 24 * time.Hour)}})
	if got := h.keypad("22222222222"); got != (KeypadResult{Result: ResultOpen, Compartment: 1}) {
		t.Fatalf("return code offline = %+v, want door 1 open", got)
	}
	// The doors as the controller's run loop (not running here) sees them.
	shut := func(n int) {
		t.Helper()
		h.driver.Close(n)
		for {
			select {
			case ev := <-h.driver.Events():
				h.c.door(ev)
			default:
				return
			}
		}
	}
	shut(1)
	var seq int64 // the drop_off event's
	if err := h.c.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketOutbox).ForEach(func(k, v []byte) error {
			var e Event
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			if e.Type == TypeDropOff {
				seq = e.Seq
			}
			return nil
		})
	}); err != nil || seq == 0 {
		t.Fatalf("the drop_off event in the outbox: seq %d, %v", seq, err)
	}

	h.clock.Advance(time.Minute)
	sync("JJFI00000000000001", "JJFI00000000000002") // read before the drop_off was applied
	h.courierIn()
	got, err := h.c.Deposit(context.Background(), "JJFI00000000000001")
	if err != nil || got != (KeypadResult{Result: ResultOpen, Compartment: 2}) {
		t.Fatalf("deposit offline after an early sync = %+v, %v; want door 2 (door 1 holds the return)", got, err)
	}
	shut(2)

	// The drop_off answered, the next sync (which lists door 1 as the
	// centre now knows it) settles the mark.
	h.c.handleAck(fmt.Appendf(nil, `{"seq":%d,"result":"applied"}`, seq))
	h.clock.Advance(time.Minute)
	sync("JJFI00000000000002")
	h.c.mu.Lock()
	_, marked := h.c.deposited[returnMark+"SH-R"]
	h.c.mu.Unlock()
	if marked {
		t.Error("the return's mark outlived the sync after its drop_off was answered")
	}
}

// TestScanQRFromBeforeRotation: a parcel's pickup carries the start of
// its current QR window (qr_since); a token whose window begins earlier (a
// notice from before the operator rotated the code) opens nothing at the
// controller, offline or online (and the centre is not asked: it would
// refuse it too), after a restart too, and counts no wrong entry; a token
// issued at or after qr_since opens. A pickup without qr_since (an older
// centre) takes any genuine token, as before.
func TestScanQRFromBeforeRotation(t *testing.T) {
	t.Parallel()
	for _, online := range []bool{false, true} {
		t.Run(map[bool]string{false: "offline", true: "online"}[online], func(t *testing.T) {
			t.Parallel()
			broker := "tcp://127.0.0.1:1" // never run: offline
			var ce *centre
			if online {
				broker = startBroker(t)
				ce = newCentre(t, broker)
			}
			h := newHarness(t, broker, nil)
			if online {
				h.run()
			}
			pub, key, err := ed25519.GenerateKey(nil)
			if err != nil {
				t.Fatal(err)
			}
			k := testKDF(t)
			ready := h.clock.Now().Add(-time.Hour).Truncate(time.Second)
			rotated := ready.Add(30 * time.Minute)
			deadline := ready.Add(7 * 24 * time.Hour)
			a := pickupFor(k, "SH-A", 7, "11111111111", deadline, 0)
			a.QRSince = ready
			legacy := pickupFor(k, "SH-L", 5, "33333333333", deadline, 0) // no qr_since: an older centre
			h.command(Command{Type: CommandSync, At: h.clock.Now(), KDF: k, QRKey: pub, Pickups: []Pickup{a, legacy}})
			// The operator rotates SH-A's code: a new verifier, a new window.
			b := pickupFor(k, "SH-A", 7, "22222222222", deadline, 0)
			b.QRSince = rotated
			h.command(Command{Type: CommandExpectPickup, Pickup: &b})
			h.restart() // the window's start is kept in the state file
			if online {
				h.run()
			}
			h.c.mu.Lock()
			kept, wrongBefore := h.c.pickups["SH-A"].QRSince, h.c.keypad.DayWrong
			h.c.mu.Unlock()
			if !kept.Equal(rotated) {
				t.Fatalf("SH-A's qr_since after a restart: %v; want %v", kept, rotated)
			}
			token := func(id string, compartment int, since time.Time) string {
				return locker.SignQR(key, locker.QRClaims{LocationID: h.id, ShipmentID: id, Compartment: compartment,
					NotBefore: since, NotAfter: deadline})
			}
			scans := []struct {
				name  string
				token string
				want  KeypadResult
			}{
				{"the notice from before the rotation", token("SH-A", 7, ready), KeypadResult{Result: ResultWrongCode}},
				{"a token a second before the window", token("SH-A", 7, rotated.Add(-time.Second)), KeypadResult{Result: ResultWrongCode}},
				{"an older centre's parcel, any genuine token", token("SH-L", 5, ready.Add(-time.Hour)), KeypadResult{Result: ResultOpen, Compartment: 5}},
				{"the new notice, issued at the rotation", token("SH-A", 7, rotated), KeypadResult{Result: ResultOpen, Compartment: 7}},
			}
			for _, s := range scans {
				got, err := h.c.ScanQR(context.Background(), s.token)
				if err != nil || got != s.want {
					t.Errorf("%s: %+v, %v; want %+v", s.name, got, err, s.want)
				}
			}
			if opened := h.driver.Opened(); opened[6] != 1 || opened[4] != 1 {
				t.Errorf("opened %v; want compartments 5 and 7 once each", opened)
			}
			h.c.mu.Lock()
			wrongAfter := h.c.keypad.DayWrong
			h.c.mu.Unlock()
			if wrongAfter != wrongBefore {
				t.Errorf("refused QR scans counted %d wrong entries; want none", wrongAfter-wrongBefore)
			}
			if online {
				ce.waitApplied(t, h.c, 2) // the two pickups
				received, _, _ := ce.snapshot()
				for _, e := range received {
					if e.Type == TypeQR {
						t.Errorf("the centre was asked about a token: %+v", e)
					}
				}
			}
		})
	}
}

// TestRevokedCourierForgotten: a courier the centre accepted here online
// is taken offline later, unless a sync since named them as revoked
// (their token revoked, expired or rotated): that sync signs them out
// and the keypad refuses them offline, across a restart too. A sync that
// names another courier, or none (a centre before revoked_couriers),
// changes nothing.
func TestRevokedCourierForgotten(t *testing.T) {
	t.Parallel()
	good := device.CourierHash(testCourierToken)
	tests := []struct {
		name    string
		revoked []string
		taken   bool // offline after the sync
	}{
		{"older centre: no list", nil, true},
		{"another courier revoked", []string{device.CourierHash("lkc_other")}, true},
		{"this courier revoked", []string{device.CourierHash("lkc_other"), good}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			broker := startBroker(t)
			ce := newCentre(t, broker)
			ce.answer = func(e Event) device.Ack {
				if e.Type == TypeCourier && e.Courier == good {
					return device.Ack{Result: device.ResultApplied}
				}
				return device.Ack{Result: device.ResultRejected, Error: &device.Error{Code: "unauthorized", Reason: "courier_unknown", Message: "not an active courier"}}
			}
			h := newHarness(t, broker, func(c *Config) { c.OnlineWait = time.Second })
			h.run()
			ctx := context.Background()
			if got, err := h.c.SignInCourier(ctx, testCourierToken); err != nil || got.Result != ResultSignedIn {
				t.Fatalf("online sign-in of an active courier: %+v, %v; want signed_in", got, err)
			}
			h.command(Command{Type: CommandSync, At: h.clock.Now(), KDF: testKDF(t), RevokedCouriers: tt.revoked})
			if h.c.CourierSignedIn() != tt.taken {
				t.Errorf("signed in after the sync: %v; want %v", h.c.CourierSignedIn(), tt.taken)
			}
			h.net.cut()
			eventually(t, "disconnected", func() bool { return !h.c.Connected() })
			check := func(when string) {
				t.Helper()
				got, err := h.c.SignInCourier(ctx, testCourierToken)
				if taken := got.Result == ResultSignedIn; taken != tt.taken {
					t.Errorf("offline sign-in %s: %+v, %v; want taken %v", when, got, err, tt.taken)
				}
			}
			check("after the sync")
			h.restart() // what the state file keeps
			check("after a restart")
		})
	}
}
