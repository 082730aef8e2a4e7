package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/lokero/lokero/device"
	"github.com/lokero/lokero/locker"
)

func TestEventsArriveInOrder(t *testing.T) {
	t.Parallel()
	broker := startBroker(t)
	ce := newCentre(t, broker)
	h := newHarness(t, broker, nil)
	h.run()
	ctx := context.Background()
	for i := 1; i <= 5; i++ {
		if err := h.c.Letters(ctx, i); err != nil {
			t.Fatalf("Letters: %v", err)
		}
	}
	if err := h.driver.Open(ctx, 3); err != nil {
		t.Fatal(err)
	}
	h.driver.Close(3)
	applied := ce.waitApplied(t, h.c, 6)
	wantSeqs(t, applied)
	for i, e := range applied[:5] {
		if e.Type != TypeLetterDropped || e.Count != i+1 {
			t.Errorf("event %d = %+v, want letter_dropped count %d", i+1, e, i+1)
		}
	}
	if e := applied[5]; e.Type != TypeDoorClosed || e.Compartment != 3 {
		t.Errorf("event 6 = %+v, want door_closed 3", e)
	}
	if err := h.c.Letters(ctx, 0); err == nil {
		t.Error("Letters(0) succeeded, want an error")
	}
}

func TestUnansweredEventIsResentAndAnsweredOneIsNot(t *testing.T) {
	t.Parallel()
	broker := startBroker(t)
	ce := newCentre(t, broker)
	ce.setSilent(true)
	h := newHarness(t, broker, func(c *Config) { c.ResendAfter = 200 * time.Millisecond })
	h.run()
	if err := h.c.Letters(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	eventually(t, "event 1 sent again", func() bool {
		received, _, _ := ce.snapshot()
		return count(received, 1) >= 3
	})
	if h.c.Pending() != 1 {
		t.Errorf("Pending = %d, want 1", h.c.Pending())
	}
	ce.setSilent(false)
	ce.waitApplied(t, h.c, 1)
	received, _, _ := ce.snapshot()
	before := count(received, 1)
	time.Sleep(quietPeriod)
	received, _, _ = ce.snapshot()
	if after := count(received, 1); after != before {
		t.Errorf("an answered event was sent again: %d times before, %d after", before, after)
	}
}

// TestProbeRecoversLostEvents: every event lost on its first way (a
// centre that restarted with them in its queue): after ResendAfter of
// silence the controller sends the newest again; the centre answers gap
// (expect 1), and the rest go again, once each.
func TestProbeRecoversLostEvents(t *testing.T) {
	t.Parallel()
	broker := startBroker(t)
	ce := newCentre(t, broker)
	seen := map[int64]bool{}
	ce.drop = func(e Event) bool { // ce.mu held
		first := !seen[e.Seq]
		seen[e.Seq] = true
		return first
	}
	h := newHarness(t, broker, func(c *Config) { c.ResendAfter = 300 * time.Millisecond })
	h.run()
	for range 4 {
		if err := h.c.Letters(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
	}
	applied := ce.waitApplied(t, h.c, 4)
	wantSeqs(t, applied)
	received, _, _ := ce.snapshot()
	for seq := int64(1); seq <= 4; seq++ {
		want := 2 // lost, then sent again once
		if seq == 4 {
			want = 3 // lost, the probe (answered gap), then again after 3
		}
		if n := count(received, seq); n != want {
			t.Errorf("event %d received %d times, want %d", seq, n, want)
		}
	}
}

// TestSlowCentreGetsProbesNotAllEvents: a centre that receives but does
// not answer yet (a backlog) gets the newest event again every
// ResendAfter, not every unanswered one; once it answers, each event is
// applied once.
func TestSlowCentreGetsProbesNotAllEvents(t *testing.T) {
	t.Parallel()
	broker := startBroker(t)
	ce := newCentre(t, broker)
	h := newHarness(t, broker, func(c *Config) { c.ResendAfter = 200 * time.Millisecond })
	h.run()
	ce.setSilent(true)
	for range 5 {
		if err := h.c.Letters(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "event 5 sent again twice", func() bool {
		received, _, _ := ce.snapshot()
		return count(received, 5) >= 3
	})
	received, _, _ := ce.snapshot()
	for seq := int64(1); seq <= 4; seq++ {
		if n := count(received, seq); n != 1 {
			t.Errorf("while the centre was silent event %d was received %d times, want 1 (only the newest is sent again)", seq, n)
		}
	}
	ce.setSilent(false)
	applied := ce.waitApplied(t, h.c, 5)
	wantSeqs(t, applied)
}

func TestGapAnswerResendsFromExpect(t *testing.T) {
	t.Parallel()
	broker := startBroker(t)
	ce := newCentre(t, broker)
	dropped := false
	ce.drop = func(e Event) bool { // lose event 2 once on the way
		if e.Seq == 2 && !dropped {
			dropped = true
			return true
		}
		return false
	}
	// ResendAfter is long: only the gap can bring event 2 back in time.
	h := newHarness(t, broker, func(c *Config) { c.ResendAfter = time.Hour })
	h.run()
	for range 3 {
		if err := h.c.Letters(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
	}
	applied := ce.waitApplied(t, h.c, 3)
	wantSeqs(t, applied)
	received, _, _ := ce.snapshot()
	if count(received, 2) != 2 {
		t.Errorf("event 2 received %d times, want 2 (lost, then resent after the gap)", count(received, 2))
	}
}

func TestRestartContinuesSequenceAndResendsPending(t *testing.T) {
	t.Parallel()
	broker := startBroker(t)
	ce := newCentre(t, broker)
	ce.setSilent(true)
	h := newHarness(t, broker, nil)
	h.run()
	ctx := context.Background()
	for range 3 {
		if err := h.c.Letters(ctx, 1); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "3 events sent", func() bool {
		received, _, _ := ce.snapshot()
		return len(received) >= 3
	})
	h.restart()
	if n := h.c.Pending(); n != 3 {
		t.Fatalf("after restart Pending = %d, want 3", n)
	}
	if err := h.c.Letters(ctx, 2); err != nil {
		t.Fatal(err)
	}
	ce.setSilent(false)
	h.run()
	applied := ce.waitApplied(t, h.c, 4)
	wantSeqs(t, applied)
	if applied[3].Count != 2 {
		t.Errorf("event 4 = %+v, want the one queued after the restart", applied[3])
	}
}

func TestWillOnDroppedConnection(t *testing.T) {
	t.Parallel()
	broker := startBroker(t)
	ce := newCentre(t, broker)
	h := newHarness(t, broker, nil)
	h.run()
	lastOnline := func(want bool) func() bool {
		return func() bool {
			_, _, st := ce.snapshot()
			return len(st) > 0 && st[len(st)-1].Online == want
		}
	}
	eventually(t, "status online", lastOnline(true))
	h.net.cut()
	eventually(t, "will: status offline", lastOnline(false))
	_, _, st := ce.snapshot()
	if w := st[len(st)-1]; !w.At.IsZero() || w.Firmware != "" {
		t.Errorf("will = %+v, want just online:false", w)
	}
	h.net.restore()
	eventually(t, "status online again", lastOnline(true))
	_, _, st = ce.snapshot()
	if st[len(st)-1].Firmware != DefaultFirmware {
		t.Errorf("status firmware %q, want %q", st[len(st)-1].Firmware, DefaultFirmware)
	}
}

// TestOffline enters codes at a locker cut off from the centre, then
// reconnects it.
func TestOffline(t *testing.T) {
	t.Parallel()
	broker := startBroker(t)
	ce := newCentre(t, broker)
	h := newHarness(t, broker, nil)
	h.run()
	k := testKDF(t)
	deadline := h.clock.Now().Add(7 * 24 * time.Hour)
	pickups := []Pickup{
		pickupFor(k, "SH-A", 7, "11111111111", deadline, 0),
		pickupFor(k, "SH-B", 2, "22222222222", deadline, 0),
		pickupFor(k, "SH-COD", 4, "33333333333", deadline, 1250),
		pickupFor(k, "SH-LATE", 5, "44444444444", h.clock.Now().Add(time.Hour), 0),
	}
	h.syncNow(ce, k, pickups...)
	h.net.cut()
	eventually(t, "disconnected", func() bool { return !h.c.Connected() })

	steps := []struct {
		name    string
		code    string
		advance time.Duration // clock moves before the entry
		close   int           // door shut before the entry
		want    KeypadResult
		locked  bool // want Wait > 0
	}{
		{name: "valid code opens its compartment", code: "111 111 111 11", want: KeypadResult{Result: ResultOpen, Compartment: 7}},
		{name: "the same code again opens nothing", code: "11111111111", close: 7, want: KeypadResult{Result: ResultWrongCode}},
		{name: "a wrong code counts (2nd)", code: "99999999999", want: KeypadResult{Result: ResultWrongCode}},
		{name: "cash on delivery asks for payment (a right code clears no wrong entry)", code: "33333333333", want: KeypadResult{Result: ResultPaymentRequired, Compartment: 4, AmountCents: 1250}},
		{name: "wrong 3 of 5", code: "99999999996", want: KeypadResult{Result: ResultWrongCode}},
		{name: "wrong 4 of 5", code: "99999999995", want: KeypadResult{Result: ResultWrongCode}},
		{name: "wrong 5 of 5 locks the keypad", code: "99999999994", want: KeypadResult{Result: ResultWrongCode}, locked: true},
		{name: "locked: even a valid code is refused", code: "22222222222", want: KeypadResult{Result: ResultLocked}, locked: true},
		{name: "after the lockout a valid code opens", code: "22222222222", advance: 61 * time.Second, want: KeypadResult{Result: ResultOpen, Compartment: 2}},
		{name: "past its deadline a code opens nothing", code: "44444444444", advance: 2 * time.Hour, close: 2, want: KeypadResult{Result: ResultWrongCode}},
	}
	for _, s := range steps {
		h.clock.Advance(s.advance)
		if s.close > 0 && !h.driver.Close(s.close) {
			t.Fatalf("%s: door %d was not open", s.name, s.close)
		}
		got := h.keypad(s.code)
		if (got.Wait > 0) != s.locked {
			t.Errorf("%s: Wait = %v, want locked %v", s.name, got.Wait, s.locked)
		}
		got.Wait = 0
		if got != s.want {
			t.Errorf("%s: Keypad = %+v, want %+v", s.name, got, s.want)
		}
	}
	if opened := h.driver.Opened(); opened[6] != 1 || opened[1] != 1 || opened[3] != 0 || opened[4] != 0 {
		t.Errorf("opened per compartment %v, want 7 and 2 once each, nothing else", opened)
	}
	// door_closed events reach Run's queue asynchronously.
	eventually(t, "4 events queued", func() bool { return h.c.Pending() == 4 })
	received, _, _ := ce.snapshot()
	if len(received) != 0 {
		t.Fatalf("centre received %d events while the locker was offline", len(received))
	}

	h.net.restore()
	applied := ce.waitApplied(t, h.c, 4)
	wantSeqs(t, applied)
	want := []Event{
		{Type: TypePickup, Compartment: 7, ShipmentID: "SH-A"},
		{Type: TypeDoorClosed, Compartment: 7},
		{Type: TypePickup, Compartment: 2, ShipmentID: "SH-B"},
		{Type: TypeDoorClosed, Compartment: 2},
	}
	for i, e := range applied {
		if e.Type != want[i].Type || e.Compartment != want[i].Compartment || e.ShipmentID != want[i].ShipmentID {
			t.Errorf("event %d = %+v, want %+v", i+1, e, want[i])
		}
	}
	time.Sleep(quietPeriod)
	received, _, _ = ce.snapshot()
	for seq := int64(1); seq <= 4; seq++ {
		if n := count(received, seq); n != 1 {
			t.Errorf("event %d received %d times, want exactly once", seq, n)
		}
	}

	// A stale sync still lists SH-A: it stays picked, also after a restart.
	h.clock.Advance(time.Hour)
	h.syncNow(ce, k, pickups...)
	if got := h.keypad("11111111111"); got.Result == ResultOpen {
		t.Errorf("after a stale sync the picked parcel's code = %+v, want not open", got)
	}
	h.restart()
	if got := h.keypad("11111111111"); got.Result == ResultOpen {
		t.Errorf("after a restart the picked parcel's code = %+v, want not open", got)
	}
	if opened := h.driver.Opened(); opened[6] != 1 {
		t.Errorf("compartment 7 opened %d times, want 1", opened[6])
	}
}

func TestLockoutPersistsAcrossRestart(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "tcp://127.0.0.1:1", nil) // never run: offline
	for i := range 5 {
		if got := h.keypad("12345678901"); got.Result != ResultWrongCode {
			t.Fatalf("entry %d = %+v, want wrong_code", i+1, got)
		}
	}
	h.restart()
	if got := h.keypad("12345678901"); got.Result != ResultLocked || got.Wait <= 0 {
		t.Errorf("after a restart = %+v, want locked with a wait", got)
	}
}

func TestKeypadOnline(t *testing.T) {
	t.Parallel()
	broker := startBroker(t)
	ce := newCentre(t, broker)
	ce.answer = func(e Event) device.Ack {
		if e.Type != TypeKeypad {
			return device.Ack{Result: device.ResultApplied}
		}
		switch e.Code {
		case "55555555555":
			return device.Ack{Result: device.ResultApplied, Open: 9, Purpose: "pick_up"}
		case "66666666666":
			return device.Ack{Result: device.ResultApplied, AmountCents: 990}
		}
		return device.Ack{Result: device.ResultRejected, Error: &device.Error{Code: "forbidden", Reason: "wrong_code"}}
	}
	h := newHarness(t, broker, func(c *Config) { c.OnlineWait = 500 * time.Millisecond })
	h.run()
	tests := []struct {
		name   string
		code   string
		silent bool
		want   KeypadResult
		wrong  int // the keypad's recent wrong entries after it
	}{
		{"the centre opens what it says", "5555 5555 555", false, KeypadResult{Result: ResultOpen, Compartment: 9}, 0},
		{"the centre asks for payment", "66666666666", false, KeypadResult{Result: ResultPaymentRequired, AmountCents: 990}, 0},
		{"the centre rejects: wrong, counted", "77777777777", false, KeypadResult{Result: ResultWrongCode}, 1},
		{"no answer in time: unknown, counted as wrong", "88888888888", true, KeypadResult{Result: ResultUnknown}, 2},
	}
	for _, tt := range tests {
		ce.setSilent(tt.silent)
		got := h.keypad(tt.code)
		if got != tt.want {
			t.Errorf("%s: Keypad = %+v, want %+v", tt.name, got, tt.want)
		}
		h.c.mu.Lock()
		wrong := len(h.c.keypad.Wrong)
		h.c.mu.Unlock()
		if wrong != tt.wrong {
			t.Errorf("%s: %d recent wrong entries, want %d", tt.name, wrong, tt.wrong)
		}
	}
	if opened := h.driver.Opened(); opened[8] != 1 {
		t.Errorf("compartment 9 opened %d times, want 1", opened[8])
	}
	ce.setSilent(false)
	received, _, _ := ce.snapshot()
	for _, e := range received {
		if e.Type != TypeKeypad || e.Code == "" {
			t.Errorf("event %+v, want a keypad event with its code", e)
		}
	}
	if len(received) < 4 || received[0].Code != "55555555555" {
		t.Errorf("received %d events, the first %+v; want 4 keypad events, the first with the code stripped of spaces", len(received), received)
	}
}

// TestKeypadEntryNeverStored: a code the controller asks the centre
// about goes out from memory while the keypad waits and never reaches the
// state file. Sent again once the wait is over (here after a
// reconnection), the event carries no code; the centre's refusal of it
// empties the outbox and counts nothing against the keypad.
func TestKeypadEntryNeverStored(t *testing.T) {
	t.Parallel()
	broker := startBroker(t)
	ce := newCentre(t, broker)
	ce.answer = func(e Event) device.Ack {
		if e.Type == TypeKeypad && e.Code == "" {
			return device.Ack{Result: device.ResultRejected, Error: &device.Error{Code: "invalid", Reason: "entry_withdrawn"}}
		}
		return device.Ack{Result: device.ResultRejected, Error: &device.Error{Code: "forbidden", Reason: "wrong_code"}}
	}
	h := newHarness(t, broker, func(c *Config) { c.OnlineWait = 300 * time.Millisecond })
	h.run()
	ce.setSilent(true)
	const code = "31415926535"
	if got := h.keypad(code); got.Result != ResultUnknown {
		t.Fatalf("Keypad with the centre silent = %+v, want unknown", got)
	}
	if received, _, _ := ce.snapshot(); len(received) != 1 || received[0].Code != code {
		t.Fatalf("the centre received %+v; want the keypad event with its code", received)
	}
	if n := h.c.Pending(); n != 1 {
		t.Errorf("Pending = %d, want the unanswered entry", n)
	}
	raw, err := os.ReadFile(h.path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(code)) {
		t.Error("the state file holds the code entered")
	}

	ce.setSilent(false)
	h.net.cut()
	eventually(t, "disconnected", func() bool { return !h.c.Connected() })
	h.net.restore()
	eventually(t, "the withdrawn entry answered", func() bool { return h.c.Pending() == 0 })
	received, applied, _ := ce.snapshot()
	if len(applied) != 1 || applied[0].Seq != received[0].Seq || applied[0].Type != TypeKeypad || applied[0].Code != "" {
		t.Errorf("applied %+v; want the keypad event again, its code left out", applied)
	}
	h.c.mu.Lock()
	wrong := len(h.c.keypad.Wrong)
	h.c.mu.Unlock()
	if wrong != 1 {
		t.Errorf("%d wrong entries counted, want 1: the unanswered entry at the keypad, nothing for its withdrawal", wrong)
	}
}

// TestKeypadSilentCentreLocksOut: connected, with the centre silent (a
// backlog, a link jammed but not yet noticed), codes no parcel here has
// are counted as wrong, so guessing is locked out as it is offline; a
// code the controller knows still opens.
func TestKeypadSilentCentreLocksOut(t *testing.T) {
	t.Parallel()
	broker := startBroker(t)
	ce := newCentre(t, broker)
	h := newHarness(t, broker, func(c *Config) { c.OnlineWait = 100 * time.Millisecond })
	h.run()
	k := testKDF(t)
	h.syncNow(ce, k, pickupFor(k, "SH-1", 3, "12121212121", h.clock.Now().Add(time.Hour), 0))
	ce.setSilent(true)
	limit := locker.DefaultPolicy().WrongLimit
	for i := range limit {
		got := h.keypad(fmt.Sprintf("9999999%04d", i))
		if got.Result != ResultUnknown {
			t.Fatalf("guess %d with the centre silent: %+v, want unknown", i+1, got)
		}
		if locked := got.Wait > 0; locked != (i == limit-1) {
			t.Errorf("guess %d of %d: %+v; want the lockout from the last", i+1, limit, got)
		}
	}
	if got := h.keypad("99999990099"); got.Result != ResultLocked {
		t.Errorf("a guess after %d unanswered: %+v, want locked", limit, got)
	}
	if received, _, _ := ce.snapshot(); len(received) != limit {
		t.Errorf("the centre received %d keypad events, want %d (none while locked)", len(received), limit)
	}
}

func TestLockFailureUndoesPickup(t *testing.T) {
	t.Parallel()
	broker := startBroker(t)
	ce := newCentre(t, broker)
	h := newHarness(t, broker, nil)
	h.run()
	k := testKDF(t)
	h.syncNow(ce, k, pickupFor(k, "SH-1", 3, "12121212121", h.clock.Now().Add(time.Hour), 0))
	h.net.cut()
	eventually(t, "disconnected", func() bool { return !h.c.Connected() })
	boom := errors.New("board does not answer")
	h.driver.SetFail(boom)
	if _, err := h.c.Keypad(context.Background(), "12121212121"); !errors.Is(err, boom) {
		t.Fatalf("Keypad with a failing lock: err %v, want %v", err, boom)
	}
	if n := h.c.Pending(); n != 0 {
		t.Errorf("Pending = %d after a failed open, want 0", n)
	}
	h.driver.SetFail(nil)
	if got := h.keypad("12121212121"); got.Result != ResultOpen || got.Compartment != 3 {
		t.Errorf("after the lock recovered = %+v, want open 3", got)
	}
	h.net.restore()
	applied := ce.waitApplied(t, h.c, 1)
	if applied[0].Seq != 1 || applied[0].Type != TypePickup {
		t.Errorf("event %+v, want the pickup as seq 1 (the failed one's number not taken)", applied[0])
	}
}

func TestCommands(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "tcp://127.0.0.1:1", nil)
	k := testKDF(t)
	deadline := h.clock.Now().Add(time.Hour)
	cmd := func(v any) []byte {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	p1 := pickupFor(k, "SH-1", 1, "10101010101", deadline, 0)
	p2 := pickupFor(k, "SH-2", 2, "20202020202", deadline, 0)
	p3 := pickupFor(k, "SH-3", 1, "30303030303", deadline, 0) // in SH-1's compartment
	steps := []struct {
		name    string
		payload []byte
		wantErr bool
		want    []string // shipment IDs known after it
	}{
		{"sync", syncJSON(t, h.clock.Now(), k, p1), false, []string{"SH-1"}},
		{"expect_pickup", cmd(map[string]any{"type": "expect_pickup", "pickup": p2}), false, []string{"SH-1", "SH-2"}},
		{"cancel", cmd(map[string]any{"type": "cancel", "shipment_id": "SH-1"}), false, []string{"SH-2"}},
		{"stale sync ignored", syncJSON(t, h.clock.Now().Add(-time.Minute), k, p1), false, []string{"SH-2"}},
		{"sync without kdf refused", cmd(map[string]any{"type": "sync", "pickups": []Pickup{p1}}), true, []string{"SH-2"}},
		{"weak kdf refused", syncJSON(t, h.clock.Now(), &KDF{Alg: "argon2i", Salt: k.Salt, Time: 1, MemoryKiB: 64, Threads: 1, KeyLen: 32}), true, []string{"SH-2"}},
		{"unknown command", cmd(map[string]any{"type": "self_destruct"}), true, []string{"SH-2"}},
		{"sync replaces", syncJSON(t, h.clock.Now(), k, p1), false, []string{"SH-1"}},
		{"expect_pickup into a compartment expected taken drops the parcel before", cmd(map[string]any{"type": "expect_pickup", "pickup": p3}), false, []string{"SH-3"}},
	}
	for _, s := range steps {
		err := h.c.handleCommand(s.payload)
		if (err != nil) != s.wantErr {
			t.Errorf("%s: err %v, want error %v", s.name, err, s.wantErr)
		}
		h.c.mu.Lock()
		var ids []string
		for id := range h.c.pickups {
			ids = append(ids, id)
		}
		h.c.mu.Unlock()
		slices.Sort(ids)
		if !slices.Equal(ids, s.want) {
			t.Errorf("%s: pickups %v, want %v", s.name, ids, s.want)
		}
	}
	h.restart()
	if got := h.keypad("30303030303"); got.Result != ResultOpen || got.Compartment != 1 {
		t.Errorf("after a restart the expected code = %+v, want open 1", got)
	}
	for _, code := range []string{
		"10101010101", // no longer in compartment 1
		"20202020202", // replaced by the sync
	} {
		if got := h.keypad(code); got.Result != ResultWrongCode {
			t.Errorf("code %s after a restart = %+v, want wrong_code", code, got)
		}
	}
}

// TestCommandOpenAndOutOfOrder: the centre opens a compartment for a
// courier; an open the broker held while the locker was offline is not
// obeyed when it arrives; a compartment out of order stays so across a
// restart and gets no deposit taken offline.
func TestCommandOpenAndOutOfOrder(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "tcp://127.0.0.1:1", nil)
	cmd := func(v Command) []byte {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return data
	}
	yes, no := true, false
	sync := Command{Type: CommandSync, At: h.clock.Now(), KDF: testKDF(t),
		Deliveries: []device.Delivery{{TrackingCode: "JJFI00000000000001", LengthCM: 30, WidthCM: 20, HeightCM: 5}},
		Compartments: []device.Compartment{
			{N: 1, Size: "S", LengthCM: 70, WidthCM: 40, HeightCM: 10},
			{N: 2, Size: "S", LengthCM: 70, WidthCM: 40, HeightCM: 10},
			{N: 3, Size: "M", LengthCM: 70, WidthCM: 40, HeightCM: 20}}}
	if err := h.c.handleCommand(cmd(sync)); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		cmd     Command
		wantErr bool
		open    int // the door open after it (0: none newly)
	}{
		{"open for a deposit", Command{Type: CommandOpen, At: h.clock.Now(), Compartment: 5, Purpose: "deposit", ShipmentID: "SH-1"}, false, 5},
		{"open held for an hour", Command{Type: CommandOpen, At: h.clock.Now().Add(-time.Hour), Compartment: 6, Purpose: "deposit"}, true, 0},
		{"open dated an hour ahead", Command{Type: CommandOpen, At: h.clock.Now().Add(time.Hour), Compartment: 6, Purpose: "deposit"}, true, 0},
		{"open dated 30 s ahead (clocks differ)", Command{Type: CommandOpen, At: h.clock.Now().Add(30 * time.Second), Compartment: 8, Purpose: "service"}, false, 8},
		{"open without a time", Command{Type: CommandOpen, Compartment: 7}, true, 0},
		{"open without a compartment", Command{Type: CommandOpen, At: h.clock.Now()}, true, 0},
		{"out of order", Command{Type: CommandOutOfOrder, Compartment: 1, OutOfOrder: &yes}, false, 0},
		{"another out of order", Command{Type: CommandOutOfOrder, Compartment: 2, OutOfOrder: &yes}, false, 0},
		{"back in order", Command{Type: CommandOutOfOrder, Compartment: 2, OutOfOrder: &no}, false, 0},
		{"out of order of no compartment", Command{Type: CommandOutOfOrder, Compartment: 99, OutOfOrder: &yes}, true, 0},
		{"out of order without the flag", Command{Type: CommandOutOfOrder, Compartment: 1}, true, 0},
	}
	for _, s := range steps {
		before := h.driver.Opened()
		err := h.c.handleCommand(cmd(s.cmd))
		if (err != nil) != s.wantErr {
			t.Errorf("%s: err %v, want error %v", s.name, err, s.wantErr)
		}
		after := h.driver.Opened()
		for n := range after {
			opened := after[n] > before[n]
			if opened != (n+1 == s.open) {
				t.Errorf("%s: compartment %d opened %v", s.name, n+1, opened)
			}
		}
	}
	h.restart()
	h.c.mu.Lock()
	var out []int
	for _, k := range h.c.known {
		if k.OutOfOrder {
			out = append(out, k.N)
		}
	}
	h.c.mu.Unlock()
	if !slices.Equal(out, []int{1}) {
		t.Errorf("after a restart compartments out of order %v, want [1]", out)
	}
	// Offline, a courier's deposit takes the smallest fitting compartment
	// in order: 2, not 1.
	h.courierIn()
	got, err := h.c.Deposit(t.Context(), "JJFI00000000000001")
	if err != nil || got.Result != ResultOpen || got.Compartment != 2 {
		t.Errorf("offline deposit = %+v, %v; want open 2 (1 is out of order)", got, err)
	}
}

// TestForcedDoorReported: a door that opens without its lock's pulse is
// reported (door_opened) and the centre gets it; one the controller just
// opened, reported by the board a moment later, is not.
func TestForcedDoorReported(t *testing.T) {
	t.Parallel()
	broker := startBroker(t)
	ce := newCentre(t, broker)
	h := newHarness(t, broker, nil)
	h.run()
	if !h.driver.Force(4) {
		t.Fatal("door 4 was open")
	}
	eventually(t, "door_opened 4 at the centre", func() bool {
		_, applied, _ := ce.snapshot()
		for _, e := range applied {
			if e.Type == TypeDoorOpened && e.Compartment == 4 {
				return true
			}
		}
		return false
	})
	ce.waitApplied(t, h.c, 1)
	// The controller opens 5 for the centre; the board reports it open.
	if err := h.c.handleCommand([]byte(`{"type":"open","compartment":5,"at":"` + h.clock.Now().UTC().Format(time.RFC3339Nano) + `"}`)); err != nil {
		t.Fatal(err)
	}
	h.c.mu.Lock()
	h.c.doors[5] = false // as if the board's report came before the controller noted it
	h.c.mu.Unlock()
	h.c.door(DoorEvent{Compartment: 5, Open: true})
	if n := h.c.Pending(); n != 0 {
		t.Errorf("a door the controller opened was reported: %d events pending", n)
	}
}

// TestNewTokenDiscardsTheOldSession: a controller under a new device token
// (provisioned anew, or a new board for the locker) starts a clean session
// at the broker. The old controller's persistent session, under the same
// client ID, may still hold answers the centre sent it while it was away;
// numbered as the new controller's first events, they would mark those
// answered without the centre ever applying them.
func TestNewTokenDiscardsTheOldSession(t *testing.T) {
	t.Parallel()
	for _, sameFile := range []bool{false, true} {
		t.Run(fmt.Sprintf("same state file %v", sameFile), func(t *testing.T) {
			t.Parallel()
			broker := startBroker(t)
			ce := newCentre(t, broker)
			h := newHarness(t, broker, nil)
			h.run()
			h.stopRun() // gone: its persistent session stays at the broker
			stale, err := json.Marshal(device.Ack{Seq: 1, Result: device.ResultApplied})
			if err != nil {
				t.Fatal(err)
			}
			if tok := ce.client.Publish(device.Topic(h.id, device.KindAcks), 1, false, stale); !tok.WaitTimeout(waitFor) || tok.Error() != nil {
				t.Fatalf("publish the stale answer: %v", tok.Error())
			}
			ce.setSilent(true)
			if err := h.c.Close(); err != nil {
				t.Fatal(err)
			}
			h.cfg.Token = "lkd_new"
			if !sameFile {
				h.cfg.StatePath = filepath.Join(t.TempDir(), "state.db")
			}
			h.open()
			if err := h.c.Letters(context.Background(), 1); err != nil {
				t.Fatal(err)
			}
			h.run()
			// An old session's messages come right after the connection.
			time.Sleep(100 * time.Millisecond)
			if n := h.c.Pending(); n != 1 {
				t.Fatalf("Pending = %d, want 1: the centre answered nothing to the new token", n)
			}
			eventually(t, "the new controller's event at the centre", func() bool {
				received, _, _ := ce.snapshot()
				return len(received) > 0
			})
			// And the session it started is persistent again: an answer sent
			// while it is away reaches it when it is back.
			h.stopRun()
			ce.setSilent(false)
			again, err := json.Marshal(device.Ack{Seq: 1, Result: device.ResultApplied})
			if err != nil {
				t.Fatal(err)
			}
			if tok := ce.client.Publish(device.Topic(h.id, device.KindAcks), 1, false, again); !tok.WaitTimeout(waitFor) || tok.Error() != nil {
				t.Fatalf("publish: %v", tok.Error())
			}
			h.run()
			eventually(t, "the answer kept for it", func() bool { return h.c.Pending() == 0 })
		})
	}
}

// TestCleanStartsAtOnceAllHeard: many controllers starting at once, each
// under a token new to the broker (a clean start first), all hear their
// answers, then and after: the clean session's end does not take the
// persistent session's subscriptions with it (they share the client ID;
// purgeSession waits for that end).
func TestCleanStartsAtOnceAllHeard(t *testing.T) {
	t.Parallel()
	broker := startBroker(t)
	ce := newCentre(t, broker)
	var hs []*harness
	for i := range 40 {
		h := newHarness(t, broker, func(cfg *Config) { cfg.LocationID = fmt.Sprintf("SP-CLEAN-%02d", i) })
		if err := h.c.Letters(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
		hs = append(hs, h)
	}
	for _, h := range hs {
		h.start()
	}
	for _, h := range hs {
		eventually(t, h.cfg.LocationID+" answered", func() bool { return h.c.Connected() && h.c.Pending() == 0 })
		// Answers still reach it after the start: its subscriptions stand.
		if err := h.c.Letters(context.Background(), 2); err != nil {
			t.Fatal(err)
		}
		eventually(t, h.cfg.LocationID+" answered again", func() bool { return h.c.Pending() == 0 })
	}
	if _, applied, _ := ce.snapshot(); len(applied) != 80 {
		t.Errorf("the centre applied %d events; want 80", len(applied))
	}
}

// TestConnectsAgainWhenNoSyncComes: a broker that loses a controller's
// subscriptions and session in the moment it connects (as the embedded
// broker does when an old clean session's end overtakes a new connection
// under the same client ID) leaves it deaf: no answer, no command. The
// controller, hearing no sync SyncWait after it asked for one, connects
// again and hears the centre; once a sync came it stays connected.
func TestConnectsAgainWhenNoSyncComes(t *testing.T) {
	t.Parallel()
	srv, broker := startBrokerServer(t)
	ce := newCentre(t, broker)
	const wait = 300 * time.Millisecond
	h := newHarness(t, broker, func(c *Config) { c.SyncWait = wait })
	h.run()
	cl, ok := srv.Clients.Get(device.LockerClientID(h.id))
	if !ok {
		t.Fatal("the broker does not know the controller's client")
	}
	srv.UnsubscribeClient(cl)
	srv.Clients.Delete(cl.ID)

	k := testKDF(t)
	deadline := h.clock.Now().Add(7 * 24 * time.Hour)
	p := pickupFor(k, "SH-1", 1, "12345678901", deadline, 0)
	eventually(t, "a sync heard after connecting again", func() bool {
		h.clock.Advance(time.Second)
		ce.command(h.id, syncJSON(t, h.clock.Now(), k, p))
		time.Sleep(20 * time.Millisecond)
		return h.c.Expecting() == 1
	})
	asked := func() int {
		_, _, statuses := ce.snapshot()
		n := 0
		for _, st := range statuses {
			if st.Sync {
				n++
			}
		}
		return n
	}
	if n := asked(); n < 2 {
		t.Errorf("%d statuses asked for a sync; want one a connection, at least 2", n)
	}
	before := asked()
	time.Sleep(3 * wait)
	if n := asked(); n != before {
		t.Errorf("%d more connections after the sync came; want none", n-before)
	}
	if !h.c.Connected() {
		t.Error("not connected after the sync came")
	}
}

// TestLostStateFileRenumbersFromExpect: a controller whose state file was
// lost (or made anew) under the same device token starts again at 1,
// while the centre has applied 1..5 from the locker: its first answers are
// duplicate with expect 6, past anything this file numbered. The
// controller numbers its queued events again from 6 and sends them: all
// are applied, none dropped, and the sequence goes on from there after a
// restart. A keypad entry waiting for its answer when it is renumbered
// gets it, and its code went with it. An ordinary duplicate (expect within
// what the file numbered) still just forgets the event.
func TestLostStateFileRenumbersFromExpect(t *testing.T) {
	t.Parallel()
	broker := startBroker(t)
	ce := newCentre(t, broker)
	ce.answer = func(e Event) device.Ack {
		if e.Type == TypeKeypad && e.Code == "55555555555" {
			return device.Ack{Result: device.ResultApplied, Open: 9, Purpose: "pick_up"}
		}
		return device.Ack{Result: device.ResultApplied}
	}
	h := newHarness(t, broker, func(c *Config) { c.OnlineWait = 5 * time.Second })
	ce.mu.Lock()
	ce.last[h.id] = 5 // the lost file's events, applied
	ce.mu.Unlock()
	for range 3 {
		if err := h.c.Letters(context.Background(), 1); err != nil {
			t.Fatal(err)
		}
	}
	h.run()
	applied := ce.waitApplied(t, h.c, 3)
	if got := seqs(applied); !slices.Equal(got, []int64{6, 7, 8}) {
		t.Fatalf("applied %v; want the new file's 3 events as 6..8", got)
	}
	for _, e := range applied {
		if e.Type != TypeLetterDropped {
			t.Errorf("applied %+v; want the letter events", e)
		}
	}
	h.restart()
	h.run()
	if err := h.c.Letters(context.Background(), 1); err != nil {
		t.Fatal(err)
	}
	if applied = ce.waitApplied(t, h.c, 4); applied[3].Seq != 9 {
		t.Errorf("after a restart: %v; want the next event as 9", seqs(applied))
	}

	// Made anew once more, with a keypad entry waiting for its answer when
	// the centre's duplicate comes.
	h.stopRun()
	if err := h.c.Close(); err != nil {
		t.Fatal(err)
	}
	h.cfg.StatePath = filepath.Join(t.TempDir(), "state.db")
	h.open()
	ce.setSilent(true)
	h.run()
	got := make(chan KeypadResult, 1)
	go func() {
		r, err := h.c.Keypad(context.Background(), "55555555555")
		if err != nil {
			t.Errorf("Keypad: %v", err)
		}
		got <- r
	}()
	eventually(t, "the keypad entry at the centre", func() bool {
		received, _, _ := ce.snapshot()
		return len(received) > 0 && received[len(received)-1].Type == TypeKeypad
	})
	ce.setSilent(false)
	h.c.handleAck([]byte(`{"seq":1,"result":"duplicate","expect":10}`))
	if r := <-got; r != (KeypadResult{Result: ResultOpen, Compartment: 9}) {
		t.Errorf("a keypad entry renumbered while it waits: %+v; want door 9 open", r)
	}
	if applied = ce.waitApplied(t, h.c, 5); applied[4].Seq != 10 || applied[4].Code != "55555555555" {
		t.Errorf("applied %+v; want the keypad entry as 10, with its code", applied[4])
	}
	h.c.mu.Lock()
	left := len(h.c.waiters) + len(h.c.entries)
	h.c.mu.Unlock()
	if left != 0 {
		t.Errorf("%d waiters or entries left after the answer; want none", left)
	}

	// An ordinary duplicate: the event is answered, nothing renumbered.
	h.stopRun()
	seq, err := h.c.queueEvent(Event{Type: TypeLetterDropped, Count: 1})
	if err != nil || seq != 11 {
		t.Fatalf("queued: %d, %v; want 11", seq, err)
	}
	h.c.handleAck([]byte(`{"seq":11,"result":"duplicate","expect":12}`))
	if n := h.c.Pending(); n != 0 {
		t.Errorf("after an ordinary duplicate: %d pending; want none", n)
	}
	if seq, err := h.c.queueEvent(Event{Type: TypeLetterDropped, Count: 1}); err != nil || seq != 12 {
		t.Errorf("the next event: %d, %v; want 12", seq, err)
	}
}
