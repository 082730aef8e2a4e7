package service_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/locker"
	"github.com/lokero/lokero/service"
)

// apply applies one event of LOCKER-M5's device and fails on an error.
func (f lockersFixture) apply(t *testing.T, ev service.DeviceEvent) service.DeviceOutcome {
	t.Helper()
	out, err := f.lockers.ApplyEvent(context.Background(), f.device, "LOCKER-M5", ev)
	if err != nil {
		t.Fatalf("event %d %s: %v", ev.Seq, ev.Type, err)
	}
	return out
}

// wantOutcome checks an outcome's result, the next number and, for a
// rejection, the reason.
func wantOutcome(t *testing.T, what string, out service.DeviceOutcome, result string, expect int64, reason string) {
	t.Helper()
	if out.Result != result || out.Expect != expect {
		t.Errorf("%s: %s expect %d (err %v); want %s expect %d", what, out.Result, out.Expect, out.Err, result, expect)
	}
	if reason != "" {
		if e, ok := out.Err.(*lokero.Error); !ok || e.Reason != reason {
			t.Errorf("%s: refusal %v; want reason %s", what, out.Err, reason)
		}
	} else if out.Err != nil {
		t.Errorf("%s: refusal %v; want none", what, out.Err)
	}
}

// TestWithdrawnEntryChecksNothing: a keypad or QR event without its code
// or token (sent again by a controller that stopped waiting for the
// answer) is refused as withdrawn, takes its number, and counts nothing
// against the keypad: after more of them than the lockout allows, the
// right code still opens.
func TestWithdrawnEntryChecksNothing(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		_, n := f.depositedAtM5(t)
		wantOutcome(t, "door closed", f.apply(t, service.DeviceEvent{Seq: 1, Type: service.DeviceEventDoorClosed, Compartment: n}),
			service.EventApplied, 2, "")
		code := codePattern.FindStringSubmatch(oneNoticePerChannel(t, f.lockers)[0].Text)[1]
		seq := int64(2)
		for range 10 {
			wantOutcome(t, "keypad without its code", f.apply(t, service.DeviceEvent{Seq: seq, Type: service.DeviceEventKeypad}),
				service.EventRejected, seq+1, "entry_withdrawn")
			seq++
		}
		wantOutcome(t, "QR without its token", f.apply(t, service.DeviceEvent{Seq: seq, Type: service.DeviceEventQR}),
			service.EventRejected, seq+1, "entry_withdrawn")
		seq++
		open := f.apply(t, service.DeviceEvent{Seq: seq, Type: service.DeviceEventKeypad, Code: code})
		wantOutcome(t, "the right code after them", open, service.EventApplied, seq+1, "")
		if open.Keypad.Result != "open" || open.Keypad.Compartment != n {
			t.Errorf("the right code after withdrawn entries: %+v; want compartment %d open", open.Keypad, n)
		}
	})
}

func TestApplyEventExactlyOnce(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		sh, n := f.depositedAtM5(t)
		closed := service.DeviceEvent{Seq: 1, Type: service.DeviceEventDoorClosed, Compartment: n}

		out := f.apply(t, closed)
		wantOutcome(t, "door closed", out, service.EventApplied, 2, "")
		if out.Shipment.Status != lokero.StatusReadyForPickup {
			t.Fatalf("door closed: parcel %s; want READY_FOR_PICKUP", out.Shipment.Status)
		}
		// The same event again (its ack was lost): nothing happens again.
		wantOutcome(t, "door closed again", f.apply(t, closed), service.EventDuplicate, 2, "")
		msgs := oneNoticePerChannel(t, f.lockers)
		code := codePattern.FindStringSubmatch(msgs[0].Text)[1]

		// A gap: event 3 before 2 is not applied.
		letters3 := service.DeviceEvent{Seq: 3, Type: service.LetterDropped, Count: 2}
		wantOutcome(t, "event after a gap", f.apply(t, letters3), service.EventGap, 2, "")
		slot := f.apply(t, service.DeviceEvent{Seq: 2, Type: service.LetterDropped, Count: 1})
		wantOutcome(t, "the missing event", slot, service.EventApplied, 3, "")
		if got := f.apply(t, letters3); got.Result != service.EventApplied || got.Letters.InSlot != 3 {
			t.Errorf("event 3 resent: %s with %d letters in the slot; want applied, 3", got.Result, got.Letters.InSlot)
		}

		// Refusals take their number: a wrong code (counted for the
		// lockout), a door that does not exist (undone), a bad field.
		wantOutcome(t, "wrong code", f.apply(t, service.DeviceEvent{Seq: 4, Type: service.DeviceEventKeypad, Code: "000000000"}),
			service.EventRejected, 5, "wrong_code")
		wantOutcome(t, "wrong code again", f.apply(t, service.DeviceEvent{Seq: 4, Type: service.DeviceEventKeypad, Code: "000000000"}),
			service.EventDuplicate, 5, "")
		wantOutcome(t, "no such door", f.apply(t, service.DeviceEvent{Seq: 5, Type: service.DeviceEventDoorClosed, Compartment: 999}),
			service.EventRejected, 6, "out_of_range")
		wantOutcome(t, "too many letters", f.apply(t, service.DeviceEvent{Seq: 6, Type: service.LetterDropped, Count: 5000}),
			service.EventRejected, 7, "out_of_range")
		wantOutcome(t, "unknown type", f.apply(t, service.DeviceEvent{Seq: 7, Type: "door_slammed"}),
			service.EventRejected, 8, "unknown_event")

		// The right code opens the parcel's door; closing it completes the pickup.
		open := f.apply(t, service.DeviceEvent{Seq: 8, Type: service.DeviceEventKeypad, Code: code})
		wantOutcome(t, "right code", open, service.EventApplied, 9, "")
		if open.Keypad.Result != "open" || open.Keypad.Compartment != n {
			t.Fatalf("right code: %+v; want compartment %d open", open.Keypad, n)
		}
		picked := f.apply(t, service.DeviceEvent{Seq: 9, Type: service.DeviceEventDoorClosed, Compartment: n})
		if picked.Result != service.EventApplied || picked.Shipment.Status != lokero.StatusPickedUp {
			t.Fatalf("door closed after the pickup: %s %s", picked.Result, picked.Shipment.Status)
		}
		// The door event resent after the pickup changes nothing.
		wantOutcome(t, "pickup's door again", f.apply(t, service.DeviceEvent{Seq: 9, Type: service.DeviceEventDoorClosed, Compartment: n}),
			service.EventDuplicate, 10, "")
		got, err := f.shipments.Get(ctx, f.retailer, sh.ID)
		if err != nil || got.Status != lokero.StatusPickedUp {
			t.Fatalf("parcel after the events: %s, %v", got.Status, err)
		}

		// Another locker's device is refused outright, its number untouched.
		if _, err := f.lockers.ApplyEvent(ctx, f.other, "LOCKER-M5", service.DeviceEvent{Seq: 10, Type: service.LetterDropped}); lokero.ErrorCode(err) != lokero.EFORBIDDEN {
			t.Errorf("another locker's device: %v; want EFORBIDDEN", err)
		}
		wantOutcome(t, "after the foreign event", f.apply(t, service.DeviceEvent{Seq: 10, Type: service.SlotEmptied}), service.EventApplied, 11, "")

		// A new controller (a new credential) numbers from 1 again.
		fresh, _, err := f.lockers.AddCredential(ctx, lokero.KindDevice, "M5 new", "LOCKER-M5")
		if err != nil {
			t.Fatal(err)
		}
		out, err = f.lockers.ApplyEvent(ctx, fresh, "LOCKER-M5", service.DeviceEvent{Seq: 1, Type: service.LetterDropped})
		if err != nil || out.Result != service.EventApplied {
			t.Errorf("first event of a new credential: %+v, %v; want applied", out, err)
		}
	})
}

func TestApplyEventConcurrentRepeats(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		sh := f.inTransit(t)
		dep, err := f.lockers.Deposit(ctx, f.courier, "LOCKER-M5", sh.TrackingCode)
		if err != nil {
			t.Fatal(err)
		}
		// The broker delivers one event to several instances at once.
		const copies = 6
		results := make(chan string, copies)
		var wg sync.WaitGroup
		for range copies {
			wg.Go(func() {
				out, err := f.lockers.ApplyEvent(ctx, f.device, "LOCKER-M5",
					service.DeviceEvent{Seq: 1, Type: service.DeviceEventDoorClosed, Compartment: dep.Compartment.Number})
				if err != nil {
					t.Error(err)
					return
				}
				results <- out.Result
			})
		}
		wg.Wait()
		close(results)
		count := map[string]int{}
		for r := range results {
			count[r]++
		}
		if count[service.EventApplied] != 1 || count[service.EventDuplicate] != copies-1 {
			t.Errorf("%d copies of one event: %v; want 1 applied, the rest duplicates", copies, count)
		}
		oneNoticePerChannel(t, f.lockers)
	})
}

// oneNoticePerChannel checks that the outbox holds one notice of arrival
// on each channel (e-mail, SMS), not two on any, and returns them.
func oneNoticePerChannel(t *testing.T, l *service.Lockers) []lokero.OutboxMessage {
	t.Helper()
	msgs, err := sentMessages(context.Background(), l, 10)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, m := range msgs {
		seen[m.Channel]++
	}
	for ch, n := range seen {
		if n != 1 {
			t.Fatalf("%d notices on %s after one deposit; want 1 (all: %v)", n, ch, seen)
		}
	}
	if len(msgs) == 0 {
		t.Fatal("no notice of arrival")
	}
	return msgs
}

func TestUnnumberedEventsApplyEachTime(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		for i := 1; i <= 2; i++ {
			out := f.apply(t, service.DeviceEvent{Type: service.LetterDropped})
			if out.Result != service.EventApplied || out.Letters.InSlot != i {
				t.Errorf("unnumbered letter %d: %s, %d in the slot", i, out.Result, out.Letters.InSlot)
			}
		}
	})
}

func TestLockerLinks(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		start := f.lockers.Now()
		if _, err := f.lockers.Link(ctx, "LOCKER-M5"); lokero.ErrorCode(err) != lokero.ENOTFOUND {
			t.Fatalf("link of a locker that never reported: %v; want ENOTFOUND", err)
		}
		comps := json.RawMessage(`[{"n":1,"door_open":false}]`)
		if err := f.lockers.RecordStatus(ctx, f.device, "LOCKER-M5", service.LockerStatus{Online: true, At: start, Firmware: "1.0", Compartments: comps}); err != nil {
			t.Fatal(err)
		}
		if err := f.lockers.RecordStatus(ctx, f.other, "SP-NEAR", service.LockerStatus{Online: true, At: start, Firmware: "0.9"}); err != nil {
			t.Fatal(err)
		}
		if err := f.lockers.RecordStatus(ctx, f.other, "LOCKER-M5", service.LockerStatus{Online: false}); lokero.ErrorCode(err) != lokero.EFORBIDDEN {
			t.Errorf("status for another locker: %v; want EFORBIDDEN", err)
		}
		if err := f.lockers.RecordStatus(ctx, f.device, "LOCKER-M5", service.LockerStatus{Online: true, Compartments: json.RawMessage(`{`)}); lokero.ErrorCode(err) != lokero.EINVALID {
			t.Errorf("status with broken JSON: %v; want EINVALID", err)
		}
		links, err := f.lockers.Links(ctx, 0)
		if err != nil || len(links) != 2 || links[0].LocationID != "LOCKER-M5" || links[0].Offline != 0 || links[0].Firmware != "1.0" {
			t.Fatalf("links: %+v, %v", links, err)
		}
		if string(links[0].Compartments) != string(comps) {
			t.Errorf("compartments %s; want %s", links[0].Compartments, comps)
		}

		// LOCKER-M5's connection drops (the will); SP-NEAR goes silent.
		f.clock.Advance(10 * time.Minute)
		if err := f.lockers.RecordStatus(ctx, f.device, "LOCKER-M5", service.LockerStatus{Online: false}); err != nil {
			t.Fatal(err)
		}
		// (A status is ordered by when it reaches the centre, not by its
		// board's clock: TestLockerLinkByTheCentresClock.)
		f.clock.Advance(20 * time.Minute)
		m5, err := f.lockers.Link(ctx, "LOCKER-M5")
		if err != nil || m5.Online || m5.Offline != 20*time.Minute || m5.Firmware != "1.0" {
			t.Errorf("LOCKER-M5 after its will: online %v offline %s firmware %s, %v; want offline 20m, firmware 1.0",
				m5.Online, m5.Offline, m5.Firmware, err)
		}
		off, err := f.lockers.Links(ctx, 25*time.Minute)
		if err != nil || len(off) != 1 || off[0].LocationID != "SP-NEAR" || off[0].Offline != 30*time.Minute {
			t.Errorf("offline for 25 minutes or more: %+v, %v; want SP-NEAR (silent 30 minutes)", off, err)
		}
		off, err = f.lockers.Links(ctx, 15*time.Minute)
		if err != nil || len(off) != 2 {
			t.Errorf("offline for 15 minutes or more: %d links, %v; want both", len(off), err)
		}
	})
}

func TestLockerDevice(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		got, err := f.lockers.LockerDevice(ctx, "LOCKER-M5")
		if err != nil || got.ID != f.device.ID {
			t.Fatalf("LOCKER-M5's device: %v, %v; want %s", got.ID, err, f.device.ID)
		}
		f.clock.Advance(time.Second) // the newer one is later
		newer, _, err := f.lockers.AddCredential(ctx, lokero.KindDevice, "M5 b", "LOCKER-M5")
		if err != nil {
			t.Fatal(err)
		}
		if got, err = f.lockers.LockerDevice(ctx, "LOCKER-M5"); err != nil || got.ID != newer.ID {
			t.Errorf("with two: %v, %v; want the newer %s", got.ID, err, newer.ID)
		}
		for _, c := range []lokero.Credential{f.device, newer} {
			if _, err := f.lockers.RevokeCredential(ctx, c.ID, false); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := f.lockers.LockerDevice(ctx, "LOCKER-M5"); lokero.ErrorCode(err) != lokero.EUNAUTHORIZED {
			t.Errorf("all revoked: %v; want EUNAUTHORIZED", err)
		}
	})
}

func TestSyncAndOfflinePickup(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		f.device.BoardKey = "" // provisioned before boards derived: the centre derives its verifiers (board_test.go: the boards that do)
		ctx := context.Background()
		empty, err := f.lockers.Sync(ctx, f.device, "LOCKER-M5")
		if err != nil || len(empty.Pickups) != 0 || len(empty.Salt) != 16 || empty.KDF.Check() != nil {
			t.Fatalf("sync of an empty locker: %+v, %v", empty, err)
		}
		if _, err := f.lockers.Sync(ctx, f.other, "LOCKER-M5"); lokero.ErrorCode(err) != lokero.EFORBIDDEN {
			t.Errorf("another locker's device asks for the sync: %v; want EFORBIDDEN", err)
		}
		sh := f.inTransit(t)
		dep, err := f.lockers.Deposit(ctx, f.courier, "LOCKER-M5", sh.TrackingCode)
		if err != nil {
			t.Fatal(err)
		}
		f.apply(t, service.DeviceEvent{Seq: 1, Type: service.DeviceEventDoorClosed, Compartment: dep.Compartment.Number})
		code := codePattern.FindStringSubmatch(oneNoticePerChannel(t, f.lockers)[0].Text)[1]

		s, err := f.lockers.Sync(ctx, f.device, "LOCKER-M5")
		if err != nil || len(s.Pickups) != 1 {
			t.Fatalf("sync: %+v, %v; want one pickup", s, err)
		}
		p := s.Pickups[0]
		if p.ShipmentID != sh.ID || p.Compartment != dep.Compartment.Number || p.Deadline.IsZero() || p.CODCents != 0 {
			t.Errorf("pickup %+v; want %s in %d", p, sh.ID, dep.Compartment.Number)
		}
		// The controller's check: one derivation of the entered code.
		if string(s.KDF.Verifier(code, s.Salt)) != string(p.Verifier) {
			t.Error("the verifier does not match the code of the notice")
		}
		if string(s.KDF.Verifier("00000000000", s.Salt)) == string(p.Verifier) {
			t.Error("a wrong code matches the verifier")
		}
		if near, err := f.lockers.Sync(ctx, f.other, "SP-NEAR"); err != nil || string(near.Salt) == string(s.Salt) {
			t.Errorf("SP-NEAR's salt: %x, %v; want its own", near.Salt, err)
		}
		// Kept: the second sync gives the same verifier (no new derivation
		// needed), and so does Expected.
		again, err := f.lockers.Sync(ctx, f.device, "LOCKER-M5")
		if err != nil || len(again.Pickups) != 1 || string(again.Pickups[0].Verifier) != string(p.Verifier) {
			t.Errorf("second sync: %+v, %v", again, err)
		}
		e, ok, err := f.lockers.Expected(ctx, f.device, "LOCKER-M5", sh.ID)
		if err != nil || !ok || string(e.Verifier) != string(p.Verifier) {
			t.Errorf("expected: %+v %v %v", e, ok, err)
		}

		// Offline, the controller opened the door itself and says so; the
		// door's closing completes the pickup, which the sync then drops.
		wantOutcome(t, "pickup of another parcel", f.apply(t, service.DeviceEvent{Seq: 2, Type: service.DeviceEventPickup,
			Compartment: dep.Compartment.Number, ShipmentID: "SH-NOPE"}), service.EventRejected, 3, "not_in_compartment")
		wantOutcome(t, "offline pickup", f.apply(t, service.DeviceEvent{Seq: 3, Type: service.DeviceEventPickup,
			Compartment: dep.Compartment.Number, ShipmentID: sh.ID}), service.EventApplied, 4, "")
		done := f.apply(t, service.DeviceEvent{Seq: 4, Type: service.DeviceEventDoorClosed, Compartment: dep.Compartment.Number})
		if done.Shipment.Status != lokero.StatusPickedUp {
			t.Fatalf("door closed after the offline pickup: %s", done.Shipment.Status)
		}
		if s, err := f.lockers.Sync(ctx, f.device, "LOCKER-M5"); err != nil || len(s.Pickups) != 0 {
			t.Errorf("sync after the pickup: %+v, %v; want none", s.Pickups, err)
		}
		if _, ok, err := f.lockers.Expected(ctx, f.device, "LOCKER-M5", sh.ID); ok || err != nil {
			t.Errorf("expected after the pickup: %v, %v; want not", ok, err)
		}
	})
}

// The centre's way of telling a controller of a parcel made ready:
// ExpectedOf from the parcel as the door's closing left it, then Recheck
// under the telling lock, which keeps the verifier unless the code
// changed, and says not when the parcel is gone.
func TestExpectedOfAndRecheck(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		f.device.BoardKey = "" // provisioned before boards derived: the centre derives its verifiers (board_test.go: the boards that do)
		ctx := context.Background()
		sh, n := f.depositedAtM5(t)
		closed := f.apply(t, service.DeviceEvent{Seq: 1, Type: service.DeviceEventDoorClosed, Compartment: n})
		if _, ok, err := f.lockers.ExpectedOf(ctx, f.device, "LOCKER-M5", sh); ok || err != nil {
			t.Errorf("ExpectedOf the parcel in transit: %v, %v; want not", ok, err)
		}
		if _, _, err := f.lockers.ExpectedOf(ctx, f.other, "LOCKER-M5", closed.Shipment); lokero.ErrorCode(err) != lokero.EFORBIDDEN {
			t.Errorf("another locker's device: %v; want EFORBIDDEN", err)
		}
		s, err := f.lockers.Sync(ctx, f.device, "LOCKER-M5")
		if err != nil {
			t.Fatal(err)
		}
		latestCode := func() string {
			t.Helper()
			msgs, err := sentMessages(ctx, f.lockers, 1)
			if err != nil || len(msgs) == 0 {
				t.Fatalf("outbox: %v", err)
			}
			return codePattern.FindStringSubmatch(msgs[0].Text)[1]
		}
		code := latestCode()
		p, ok, err := f.lockers.ExpectedOf(ctx, f.device, "LOCKER-M5", closed.Shipment)
		if err != nil || !ok || p.ShipmentID != sh.ID || p.Compartment != n ||
			string(p.Verifier) != string(s.KDF.Verifier(code, s.Salt)) {
			t.Fatalf("ExpectedOf the ready parcel: %+v, %v, %v; want it in %d with its code's verifier", p, ok, err, n)
		}
		again, ok, err := f.lockers.Recheck(ctx, f.device, "LOCKER-M5", p)
		if err != nil || !ok || again.Compartment != p.Compartment || string(again.Verifier) != string(p.Verifier) || !again.Deadline.Equal(p.Deadline) {
			t.Errorf("Recheck: %+v, %v, %v; want %+v", again, ok, err, p)
		}
		// Rotated meanwhile: the new code's verifier, not the old one's.
		if _, err := f.lockers.NoticeAgain(ctx, "", sh.ID, true); err != nil {
			t.Fatal(err)
		}
		rotated := latestCode()
		again, ok, err = f.lockers.Recheck(ctx, f.device, "LOCKER-M5", p)
		if err != nil || !ok || rotated == code || string(again.Verifier) != string(s.KDF.Verifier(rotated, s.Salt)) {
			t.Errorf("Recheck after the code's rotation: %v, %v; want the verifier of the new code %s", ok, err, rotated)
		}
		// Picked up meanwhile: no longer expected.
		f.apply(t, service.DeviceEvent{Seq: 2, Type: service.DeviceEventPickup, Compartment: n, ShipmentID: sh.ID})
		f.apply(t, service.DeviceEvent{Seq: 3, Type: service.DeviceEventDoorClosed, Compartment: n})
		if _, ok, err := f.lockers.Recheck(ctx, f.device, "LOCKER-M5", again); ok || err != nil {
			t.Errorf("Recheck after the pickup: %v, %v; want not", ok, err)
		}
	})
}

// A controller hands a parcel out offline just before its deadline, and
// its report reaches the centre after the expiry job ran: the recipient came
// in time, so the pickup stands. A report of an opening after the deadline,
// or one that does not say when, does not undo the expiry.
func TestOfflinePickupReportedAfterTheExpiry(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		expired := func(seq int64) (lokero.Shipment, int) {
			t.Helper()
			sh, n := f.depositedAtM5(t)
			ready := f.apply(t, service.DeviceEvent{Seq: seq, Type: service.DeviceEventDoorClosed, Compartment: n})
			f.clock.Advance(ready.Shipment.StorageDeadline.Add(time.Minute).Sub(f.clock.Now()))
			if err := f.lockers.Expire(ctx, sh.ID); err != nil {
				t.Fatal(err)
			}
			if got, _ := f.shipments.Get(ctx, f.retailer, sh.ID); got.Status != lokero.StatusExpired {
				t.Fatalf("after the deadline and the expiry job: %s; want EXPIRED", got.Status)
			}
			return ready.Shipment, n
		}

		late, n := expired(1)
		wantOutcome(t, "an opening reported without its time", f.apply(t, service.DeviceEvent{Seq: 2, Type: service.DeviceEventPickup,
			Compartment: n, ShipmentID: late.ID}), service.EventRejected, 3, "not_ready")
		wantOutcome(t, "an opening after the deadline", f.apply(t, service.DeviceEvent{Seq: 3, Type: service.DeviceEventPickup,
			At: late.StorageDeadline, Compartment: n, ShipmentID: late.ID}), service.EventRejected, 4, "not_ready")
		if got, _ := f.shipments.Get(ctx, f.retailer, late.ID); got.Status != lokero.StatusExpired {
			t.Errorf("after refused reports: %s; want EXPIRED", got.Status)
		}

		inTime, m := expired(4)
		wantOutcome(t, "an opening a second before the deadline", f.apply(t, service.DeviceEvent{Seq: 5, Type: service.DeviceEventPickup,
			At: inTime.StorageDeadline.Add(-time.Second), Compartment: m, ShipmentID: inTime.ID}), service.EventApplied, 6, "")
		done := f.apply(t, service.DeviceEvent{Seq: 6, Type: service.DeviceEventDoorClosed, Compartment: m})
		if done.Shipment.Status != lokero.StatusPickedUp || done.Shipment.Pickup == nil {
			t.Fatalf("door closed after the late report: %s, pickup %+v; want PICKED_UP", done.Shipment.Status, done.Shipment.Pickup)
		}
		var statuses []lokero.ShipmentStatus
		for _, e := range done.Shipment.Events {
			if len(statuses) == 0 || statuses[len(statuses)-1] != e.Status {
				statuses = append(statuses, e.Status)
			}
		}
		want := []lokero.ShipmentStatus{lokero.StatusReadyForPickup, lokero.StatusExpired, lokero.StatusReadyForPickup, lokero.StatusPickedUp}
		if len(statuses) < len(want) || !slices.Equal(statuses[len(statuses)-len(want):], want) {
			t.Errorf("history %v; want it to end %v", statuses, want)
		}
	})
}

func TestDepositAtTheKeypad(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		sh := f.inTransit(t)
		_, token, _, _ := keypadCouriers(t, f)
		by := courierHash(token)
		dep := service.DeviceEvent{Seq: 1, Type: service.DeviceEventDeposit, TrackingCode: strings.ToLower(sh.TrackingCode), Courier: by}
		out := f.apply(t, dep)
		wantOutcome(t, "deposit", out, service.EventApplied, 2, "")
		if out.Keypad.Compartment < 1 || out.Keypad.Purpose != service.PurposeDeposit || out.Shipment.Status != lokero.StatusInLocker {
			t.Fatalf("deposit at the keypad: %+v, parcel %s; want a compartment to open, IN_LOCKER", out.Keypad, out.Shipment.Status)
		}
		wantOutcome(t, "the same scan again", f.apply(t, dep), service.EventDuplicate, 2, "")
		// Scanned anew before the door closed (its answer came too late,
		// the door never opened): the same compartment opens again.
		again := f.apply(t, service.DeviceEvent{Seq: 2, Type: service.DeviceEventDeposit, TrackingCode: sh.TrackingCode, Courier: by})
		wantOutcome(t, "a new scan before the door closed", again, service.EventApplied, 3, "")
		if again.Keypad.Compartment != out.Keypad.Compartment || again.Keypad.Purpose != service.PurposeDeposit || again.Shipment.Status != lokero.StatusInLocker {
			t.Errorf("a new scan before the door closed: %+v, parcel %s; want compartment %d again", again.Keypad, again.Shipment.Status, out.Keypad.Compartment)
		}
		wantOutcome(t, "a scan of garbage", f.apply(t, service.DeviceEvent{Seq: 3, Type: service.DeviceEventDeposit, TrackingCode: "nonsense", Courier: by}),
			service.EventRejected, 4, "malformed")
		ready := f.apply(t, service.DeviceEvent{Seq: 4, Type: service.DeviceEventDoorClosed, Compartment: out.Keypad.Compartment})
		if ready.Shipment.Status != lokero.StatusReadyForPickup {
			t.Errorf("door shut after the deposit: %s; want READY_FOR_PICKUP", ready.Shipment.Status)
		}
		wantOutcome(t, "a scan of a parcel made ready", f.apply(t, service.DeviceEvent{Seq: 5, Type: service.DeviceEventDeposit, TrackingCode: sh.TrackingCode, Courier: by}),
			service.EventRejected, 6, lokero.ReasonIllegalTransition)

		// The sync tells the scanner the QR key.
		_, key, err := ed25519.GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		f.lockers.SetQRKey(key)
		s, err := f.lockers.Sync(context.Background(), f.device, "LOCKER-M5")
		if err != nil || !bytes.Equal(s.QRKey, key.Public().(ed25519.PublicKey)) || len(s.Pickups) != 1 {
			t.Errorf("sync with a QR key: key %x, %d pickups, %v", s.QRKey, len(s.Pickups), err)
		}
	})
}

func TestOfflineDeposit(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		a, b := f.inTransit(t), f.inTransit(t)
		s, err := f.lockers.Sync(ctx, f.device, "LOCKER-M5")
		if err != nil || len(s.Deliveries) != 2 || len(s.Compartments) == 0 {
			t.Fatalf("sync: %d deliveries, %d compartments, %v; want 2 and the locker's", len(s.Deliveries), len(s.Compartments), err)
		}
		if d := s.Deliveries[0]; d.Parcel[0] <= 0 || (d.TrackingCode != a.TrackingCode && d.TrackingCode != b.TrackingCode) {
			t.Errorf("delivery %+v; want one of the two with its size", d)
		}
		n := s.Compartments[len(s.Compartments)-1].Number // the controller's pick: any free one that fits
		_, token, _, _ := keypadCouriers(t, f)
		by := courierHash(token)
		out := f.apply(t, service.DeviceEvent{Seq: 1, Type: service.DeviceEventDeposit, TrackingCode: a.TrackingCode, Compartment: n, Courier: by})
		wantOutcome(t, "deposit taken offline", out, service.EventApplied, 2, "")
		if out.Shipment.Status != lokero.StatusInLocker || out.Shipment.Compartment != n || out.Keypad.Compartment != n {
			t.Fatalf("deposit taken offline: parcel %s in %d (ack %d); want IN_LOCKER in %d", out.Shipment.Status, out.Shipment.Compartment, out.Keypad.Compartment, n)
		}
		wantOutcome(t, "another parcel into the same compartment", f.apply(t, service.DeviceEvent{Seq: 2, Type: service.DeviceEventDeposit, TrackingCode: b.TrackingCode, Compartment: n, Courier: by}),
			service.EventRejected, 3, "compartment_taken")
		wantOutcome(t, "a parcel not on its way", f.apply(t, service.DeviceEvent{Seq: 3, Type: service.DeviceEventDeposit, TrackingCode: a.TrackingCode, Compartment: n - 1, Courier: by}),
			service.EventRejected, 4, "not_expected")
		ready := f.apply(t, service.DeviceEvent{Seq: 4, Type: service.DeviceEventDoorClosed, Compartment: n})
		if ready.Shipment.ID != a.ID || ready.Shipment.Status != lokero.StatusReadyForPickup {
			t.Errorf("door shut on the offline deposit: %s %s; want %s ready", ready.Shipment.ID, ready.Shipment.Status, a.ID)
		}
		if s, err = f.lockers.Sync(ctx, f.device, "LOCKER-M5"); err != nil || len(s.Deliveries) != 1 || !s.Compartments[n-1].Occupied {
			t.Errorf("sync after: %d deliveries, compartment %d occupied %v, %v", len(s.Deliveries), n, s.Compartments[n-1].Occupied, err)
		}
	})
}

func TestOfflineDropOff(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		f.device.BoardKey = "" // provisioned before boards derived: the centre derives its verifiers (board_test.go: the boards that do)
		ctx := context.Background()
		sh, n := f.returnableAtM5(t)
		f.apply(t, service.DeviceEvent{Seq: 1, Type: service.DeviceEventDoorClosed, Compartment: n})
		if _, ok, err := f.lockers.ExpectedDropOff(ctx, f.device, "LOCKER-M5", sh.ID); ok || err != nil {
			t.Errorf("a return expected before the pickup: %v, %v", ok, err)
		}
		code := codePattern.FindStringSubmatch(oneNoticePerChannel(t, f.lockers)[0].Text)[1]
		f.apply(t, service.DeviceEvent{Seq: 2, Type: service.DeviceEventKeypad, Code: code})
		f.apply(t, service.DeviceEvent{Seq: 3, Type: service.DeviceEventDoorClosed, Compartment: n})

		d, ok, err := f.lockers.ExpectedDropOff(ctx, f.device, "LOCKER-M5", sh.ID)
		if err != nil || !ok || d.Until.IsZero() || d.Parcel[0] != 30 {
			t.Fatalf("the return to expect after the pickup: %+v, %v, %v", d, ok, err)
		}
		s, err := f.lockers.Sync(ctx, f.device, "LOCKER-M5")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(s.KDF.Verifier(sh.ReturnCode, s.Salt), d.Verifier) {
			t.Error("the return verifier does not match the return code under the sync's KDF and salt")
		}
		// The sync carries it too, for a controller restarted since.
		if len(s.DropOffs) != 1 || s.DropOffs[0].ShipmentID != sh.ID || !bytes.Equal(s.DropOffs[0].Verifier, d.Verifier) || !s.DropOffs[0].Until.Equal(d.Until) {
			t.Errorf("the sync's drop-offs: %+v; want the one return, as expect_drop_off gives it", s.DropOffs)
		}
		if near, err := f.lockers.Sync(ctx, f.other, "SP-NEAR"); err != nil || len(near.DropOffs) != 0 {
			t.Errorf("another locker's sync: %d drop-offs, %v; want none", len(near.DropOffs), err)
		}
		if _, ok, _ := f.lockers.ExpectedDropOff(ctx, f.other, "SP-NEAR", sh.ID); ok {
			t.Error("another locker is told to expect the return")
		}
		// Offline, the controller opened a compartment for the return code.
		into := s.Compartments[len(s.Compartments)-1].Number
		out := f.apply(t, service.DeviceEvent{Seq: 4, Type: service.DeviceEventDropOff, ShipmentID: sh.ID, Compartment: into})
		wantOutcome(t, "offline drop-off", out, service.EventApplied, 5, "")
		if out.Keypad.Compartment != into || out.Keypad.Purpose != service.PurposeDropOff {
			t.Errorf("drop-off: %+v; want compartment %d, drop_off", out.Keypad, into)
		}
		wantOutcome(t, "the same return again", f.apply(t, service.DeviceEvent{Seq: 5, Type: service.DeviceEventDropOff, ShipmentID: sh.ID, Compartment: into - 1}),
			service.EventRejected, 6, "code_used")
		closed := f.apply(t, service.DeviceEvent{Seq: 6, Type: service.DeviceEventDoorClosed, Compartment: into})
		if closed.Shipment.Kind != lokero.ShipmentReturn || closed.Shipment.Status != lokero.StatusDroppedOff || closed.Shipment.ReturnOf != sh.ID {
			t.Errorf("door shut on the return: %s %s of %s; want the return of %s DROPPED_OFF", closed.Shipment.Kind, closed.Shipment.Status, closed.Shipment.ReturnOf, sh.ID)
		}
		if s, err := f.lockers.Sync(ctx, f.device, "LOCKER-M5"); err != nil || len(s.DropOffs) != 0 {
			t.Errorf("the sync after the return: %+v, %v; want no drop-off", s.DropOffs, err)
		}
		if _, ok, err := f.lockers.ExpectedDropOff(ctx, f.device, "LOCKER-M5", sh.ID); ok || err != nil {
			t.Errorf("the return expected again after it was made: %v, %v", ok, err)
		}
	})
}

// TestSyncCarriesReturnsWithinTheWindow: a locker's sync lists the
// returns of the parcels picked up there (sealed for a board that
// derives), until the return window ends, so that a controller restarted
// since takes them offline again.
func TestSyncCarriesReturnsWithinTheWindow(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		device, token, err := f.lockers.AddCredential(ctx, lokero.KindDevice, "M5 board", "LOCKER-M5")
		if err != nil {
			t.Fatal(err)
		}
		apply := func(ev service.DeviceEvent) service.DeviceOutcome {
			t.Helper()
			out, err := f.lockers.ApplyEvent(ctx, device, "LOCKER-M5", ev)
			if err != nil || out.Result != service.EventApplied {
				t.Fatalf("%s: %+v, %v", ev.Type, out, err)
			}
			return out
		}
		sh, n := f.returnableAtM5(t)
		apply(service.DeviceEvent{Seq: 1, Type: service.DeviceEventDoorClosed, Compartment: n})
		code := codePattern.FindStringSubmatch(oneNoticePerChannel(t, f.lockers)[0].Text)[1]
		apply(service.DeviceEvent{Seq: 2, Type: service.DeviceEventKeypad, Code: code})
		picked := apply(service.DeviceEvent{Seq: 3, Type: service.DeviceEventDoorClosed, Compartment: n})
		if picked.Shipment.Status != lokero.StatusPickedUp || picked.Shipment.Pickup == nil {
			t.Fatalf("pickup: %s", picked.Shipment.Status)
		}
		until := picked.Shipment.Pickup.At.Add(service.ReturnWindow)
		key := locker.BoardKey(token)
		synced := func(what string, want int) {
			t.Helper()
			s, err := f.lockers.Sync(ctx, device, "LOCKER-M5")
			if err != nil || len(s.DropOffs) != want {
				t.Fatalf("%s: %d drop-offs, %v; want %d", what, len(s.DropOffs), err, want)
			}
			if want == 0 {
				return
			}
			d := s.DropOffs[0]
			if d.ShipmentID != sh.ID || !d.Until.Equal(until) || d.Verifier != nil || d.Parcel[0] != 30 {
				t.Errorf("%s: %+v; want %s's return until %s, sealed", what, d, sh.ID, until)
			}
			if got, err := locker.OpenOnBoard(key, "LOCKER-M5", sh.ID, locker.BoardReturn, d.Sealed); err != nil || got != sh.ReturnCode {
				t.Errorf("%s: the sealed return code opens to %q, %v", what, got, err)
			}
		}
		synced("the sync after the pickup", 1)
		f.clock.Advance(until.Sub(f.lockers.Now()) - time.Minute)
		synced("a minute before the window ends", 1)
		f.clock.Advance(2 * time.Minute)
		synced("a minute after", 0)
	})
}

// returnableAtM5 books a parcel with a return code (from a store that
// offers free returns) for LOCKER-M5, hands it over and deposits it: its
// door is open. It returns the parcel and its compartment.
func (f lockersFixture) returnableAtM5(t *testing.T) (lokero.Shipment, int) {
	t.Helper()
	ctx := context.Background()
	store, _, err := f.shipments.AddRetailer(ctx, "Palautukset", true)
	if err != nil {
		t.Fatal(err)
	}
	req := request()
	req.ReturnCode = true
	res, err := f.shipments.Create(ctx, store, req, "", nil)
	if err != nil || res.Shipment.ReturnCode == "" {
		t.Fatalf("book with a return code: %q, %v", res.Shipment.ReturnCode, err)
	}
	sh, err := f.shipments.HandoverByCourier(ctx, f.courier, res.Shipment.ID)
	if err != nil {
		t.Fatal(err)
	}
	dep, err := f.lockers.Deposit(ctx, f.courier, "LOCKER-M5", sh.TrackingCode)
	if err != nil {
		t.Fatal(err)
	}
	return sh, dep.Compartment.Number
}

// TestPruneVerifiers: the centre forgets the verifiers made more than
// KeepVerifiers ago by its clock, and only those.
func TestPruneVerifiers(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		a, b := f.inTransit(t), f.inTransit(t)
		now := f.lockers.Now()
		old := lokero.Verifier{ShipmentID: a.ID, LocationID: "LOCKER-M5", Hash: []byte("old"), CreatedAt: now.Add(-service.KeepVerifiers - time.Hour)}
		young := lokero.Verifier{ShipmentID: b.ID, LocationID: "LOCKER-M5", Hash: []byte("young"), CreatedAt: now.Add(-service.KeepVerifiers + time.Hour)}
		for _, v := range []lokero.Verifier{old, young} {
			if err := f.store.PutVerifier(ctx, v); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := f.lockers.PruneVerifiers(ctx); err != nil || n != 1 {
			t.Fatalf("PruneVerifiers = %d, %v; want 1", n, err)
		}
		kept, err := f.store.Verifiers(ctx, []string{a.ID, b.ID})
		if err != nil || len(kept) != 1 || string(kept[b.ID].Hash) != "young" {
			t.Errorf("verifiers after the prune: %+v, %v; want only the young one", kept, err)
		}
	})
}

// TestOfflineDropOffOnlyOfItsOwnPickups: a controller takes a return
// offline only for a parcel picked up at its own locker (the only return
// codes it is given, expect_drop_off), and never a pre-paid parcel (its
// code is taken online only). A drop_off event of any other parcel is
// refused for the operator to reconcile, and changes nothing: one
// locker's device does not make returns of another locker's parcels.
func TestOfflineDropOffOnlyOfItsOwnPickups(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		store, _, err := f.shipments.AddRetailer(ctx, "Palautukset", true)
		if err != nil {
			t.Fatal(err)
		}
		atM5 := f.pickedUp(t, store, request()) // picked up at LOCKER-M5
		pp, err := f.shipments.Prepaid(ctx, f.retailer, prepaidRequest(), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name, id string
			into     int
		}{
			{"another locker's pickup", atM5.ID, 1},
			{"a pre-paid parcel", pp.Shipment.ID, 2},
		} {
			_, err := f.lockers.OfflineDropOff(ctx, f.other, "SP-NEAR", tt.id, tt.into)
			if e := new(lokero.Error); !asError(err, &e) || e.Code != lokero.ECONFLICT || e.Reason != "not_expected" {
				t.Errorf("%s dropped off offline at SP-NEAR: %v; want ECONFLICT not_expected", tt.name, err)
			}
		}
		// Nothing changed: the return code still works online, once.
		if open, err := f.lockers.Keypad(ctx, f.other, "SP-NEAR", atM5.ReturnCode); err != nil || open.Purpose != service.PurposeDropOff {
			t.Errorf("the return code online after the refusals: %+v, %v", open, err)
		}
	})
}

// TestRotatedDeviceNumbersAgain: a controller given its credential's
// rotated token numbers its events from 1 again (it renumbers its queue
// for any new token), so the rotation starts the credential's sequence
// anew: its next event 1 is applied, not answered duplicate (and dropped
// by the controller unapplied, with every event after it up to the old
// number).
func TestRotatedDeviceNumbersAgain(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		for seq := int64(1); seq <= 3; seq++ {
			wantOutcome(t, fmt.Sprintf("letter %d", seq), f.apply(t, service.DeviceEvent{Seq: seq, Type: service.LetterDropped, Count: 1}),
				service.EventApplied, seq+1, "")
		}
		if _, _, err := f.lockers.RotateCredential(ctx, f.device.ID); err != nil {
			t.Fatal(err)
		}
		got := f.apply(t, service.DeviceEvent{Seq: 1, Type: service.LetterDropped, Count: 1})
		wantOutcome(t, "event 1 under the rotated token", got, service.EventApplied, 2, "")
		if got.Letters.InSlot != 4 {
			t.Errorf("letters in the slot after it: %d; want 4", got.Letters.InSlot)
		}
	})
}
