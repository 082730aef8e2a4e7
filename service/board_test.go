package service_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/locker"
	"github.com/lokero/lokero/service"
)

// TestBoardDerivesItsVerifiers: a controller provisioned with a board key
// gets its parcels' codes sealed for it (opened by the key of its token
// alone) instead of verifiers, and the centre derives and keeps none; a
// rotation gives the credential the key of its new token.
func TestBoardDerivesItsVerifiers(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		device, token, err := f.lockers.AddCredential(ctx, lokero.KindDevice, "M5 board", "LOCKER-M5")
		if err != nil {
			t.Fatal(err)
		}
		if device.BoardKey == "" || bytes.Contains([]byte(device.BoardKey), locker.BoardKey(token)) {
			t.Fatalf("a new device's board key: %q; want it sealed", device.BoardKey)
		}
		stored, err := f.store.CredentialByID(ctx, device.ID)
		if err != nil || stored.BoardKey != device.BoardKey {
			t.Fatalf("the board key as stored: %q, %v", stored.BoardKey, err)
		}
		if courier, _, err := f.lockers.AddCredential(ctx, lokero.KindCourier, "Kuski 2", ""); err != nil || courier.BoardKey != "" {
			t.Errorf("a courier's board key: %q, %v; want none", courier.BoardKey, err)
		}

		sh, n := f.returnableAtM5(t)
		closed, err := f.lockers.ApplyEvent(ctx, device, "LOCKER-M5", service.DeviceEvent{Seq: 1, Type: service.DeviceEventDoorClosed, Compartment: n})
		if err != nil {
			t.Fatal(err)
		}
		code := codePattern.FindStringSubmatch(oneNoticePerChannel(t, f.lockers)[0].Text)[1]

		key := locker.BoardKey(token)
		opens := func(what string, p service.ExpectedPickup) {
			t.Helper()
			if p.Verifier != nil || p.Sealed == nil || p.CodeTag == "" {
				t.Fatalf("%s: verifier %x, sealed %x, tag %q; want a sealed code and its tag, no verifier", what, p.Verifier, p.Sealed, p.CodeTag)
			}
			if got, err := locker.OpenOnBoard(key, "LOCKER-M5", sh.ID, locker.BoardPickup, p.Sealed); err != nil || got != code {
				t.Errorf("%s: the sealed code opens to %q, %v; want the notice's code", what, got, err)
			}
			if _, err := locker.OpenOnBoard(locker.BoardKey("lkd_another"), "LOCKER-M5", sh.ID, locker.BoardPickup, p.Sealed); err == nil {
				t.Errorf("%s: the sealed code opens under another token's key", what)
			}
		}
		s, err := f.lockers.Sync(ctx, device, "LOCKER-M5")
		if err != nil || len(s.Pickups) != 1 {
			t.Fatalf("sync: %+v, %v; want one pickup", s.Pickups, err)
		}
		opens("sync", s.Pickups[0])
		p, ok, err := f.lockers.ExpectedOf(ctx, device, "LOCKER-M5", closed.Shipment)
		if err != nil || !ok {
			t.Fatalf("ExpectedOf: %v, %v", ok, err)
		}
		opens("ExpectedOf", p)
		if p.CodeTag != s.Pickups[0].CodeTag {
			t.Errorf("the code's tag: %q, then %q; want one tag for one code", s.Pickups[0].CodeTag, p.CodeTag)
		}
		again, ok, err := f.lockers.Recheck(ctx, device, "LOCKER-M5", p)
		if err != nil || !ok || !bytes.Equal(again.Sealed, p.Sealed) {
			t.Errorf("Recheck with the code unchanged: %v, %v; want the same sealed code", ok, err)
		}
		if kept, err := f.store.Verifiers(ctx, []string{sh.ID}); err != nil || len(kept) != 0 {
			t.Errorf("verifiers kept for a board that derives: %+v, %v; want none", kept, err)
		}

		// A rotated code: a new tag.
		if _, err := f.lockers.NoticeAgain(ctx, "", sh.ID, true); err != nil {
			t.Fatal(err)
		}
		msgs, err := sentMessages(ctx, f.lockers, 1)
		if err != nil || len(msgs) == 0 {
			t.Fatalf("outbox: %v", err)
		}
		code = codePattern.FindStringSubmatch(msgs[0].Text)[1]
		rotated, ok, err := f.lockers.Recheck(ctx, device, "LOCKER-M5", p)
		if err != nil || !ok {
			t.Fatalf("Recheck after the code's rotation: %v, %v", ok, err)
		}
		opens("after the code's rotation", rotated)
		if rotated.CodeTag == p.CodeTag {
			t.Error("a rotated code keeps its tag: the board would keep the old code's verifier")
		}

		// Picked up with its code: the return code, sealed for a return.
		if _, err := f.lockers.ApplyEvent(ctx, device, "LOCKER-M5", service.DeviceEvent{Seq: 2, Type: service.DeviceEventKeypad, Code: code}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.lockers.ApplyEvent(ctx, device, "LOCKER-M5", service.DeviceEvent{Seq: 3, Type: service.DeviceEventDoorClosed, Compartment: n}); err != nil {
			t.Fatal(err)
		}
		d, ok, err := f.lockers.ExpectedDropOff(ctx, device, "LOCKER-M5", sh.ID)
		if err != nil || !ok || d.Verifier != nil {
			t.Fatalf("the return to expect: %+v, %v, %v; want a sealed code, no verifier", d, ok, err)
		}
		if got, err := locker.OpenOnBoard(key, "LOCKER-M5", sh.ID, locker.BoardReturn, d.Sealed); err != nil || got != sh.ReturnCode {
			t.Errorf("the sealed return code opens to %q, %v; want the return code", got, err)
		}
		if _, err := locker.OpenOnBoard(key, "LOCKER-M5", sh.ID, locker.BoardPickup, d.Sealed); err == nil {
			t.Error("the sealed return code opens as an opening code")
		}

		// Rotated, the credential keeps the key of its new token.
		rotatedDevice, newToken, err := f.lockers.RotateCredential(ctx, device.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rotatedDevice.BoardKey == "" || rotatedDevice.BoardKey == device.BoardKey {
			t.Fatalf("the rotated device's board key: %q; want a new one", rotatedDevice.BoardKey)
		}
		d, ok, err = f.lockers.ExpectedDropOff(ctx, rotatedDevice, "LOCKER-M5", sh.ID)
		if err != nil || !ok {
			t.Fatalf("the return after the rotation: %v, %v", ok, err)
		}
		if _, err := locker.OpenOnBoard(locker.BoardKey(newToken), "LOCKER-M5", sh.ID, locker.BoardReturn, d.Sealed); err != nil {
			t.Errorf("after the rotation the new token's key does not open: %v", err)
		}
		if _, err := locker.OpenOnBoard(key, "LOCKER-M5", sh.ID, locker.BoardReturn, d.Sealed); err == nil {
			t.Error("after the rotation the old token's key still opens")
		}
	})
}

// TestBoardKeyAcrossTheSecretsKeys: a board key sealed under a key of the
// code secret an instance does not hold (retired, or not given to it yet)
// does not stop the locker's sync: the centre derives its verifiers, as
// for a board provisioned before. ResealBoardKeys, which lokero secret
// retire runs first, seals it under the newest key, and the board gets
// sealed codes again.
func TestBoardKeyAcrossTheSecretsKeys(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		oldKey := locker.Key{Generation: 0, Secret: []byte(strings.Repeat("s", 32))} // the fixture's (lockers_test.go)
		newKey := locker.Key{Generation: 1, Secret: []byte(strings.Repeat("n", 32))}
		withNew, err := locker.NewKeyring(newKey, oldKey)
		if err != nil {
			t.Fatal(err)
		}
		newOnly, err := locker.NewKeyring(newKey)
		if err != nil {
			t.Fatal(err)
		}
		var sh lokero.Shipment
		lockersUnder := func(codes *locker.Codes) *service.Lockers {
			return service.NewLockers(f.store, f.dir, calendar.Default(), f.clock, nil, codes, slog.New(slog.DiscardHandler))
		}
		syncs := func(what string, l *service.Lockers, sealed bool) {
			t.Helper()
			dev, err := f.store.CredentialByID(ctx, f.device.ID)
			if err != nil {
				t.Fatal(err)
			}
			s, err := l.Sync(ctx, dev, "LOCKER-M5")
			if err != nil || len(s.Pickups) != 1 || s.Pickups[0].ShipmentID != sh.ID {
				t.Fatalf("%s: sync %+v, %v; want the parcel", what, s.Pickups, err)
			}
			if got := s.Pickups[0].Sealed != nil; got != sealed || (s.Pickups[0].Verifier != nil) == sealed {
				t.Errorf("%s: sealed code %v, verifier %v; want sealed %v", what, got, s.Pickups[0].Verifier != nil, sealed)
			}
		}
		// A parcel made ready after the rotation: its code under the new key.
		var n int
		sh, n = f.depositedAtM5(t)
		if _, err := lockersUnder(withNew).ApplyEvent(ctx, f.device, "LOCKER-M5", service.DeviceEvent{Seq: 1, Type: service.DeviceEventDoorClosed, Compartment: n}); err != nil {
			t.Fatal(err)
		}
		syncs("both keys, the board key under the old one", lockersUnder(withNew), true)
		syncs("the old key retired without a reseal", lockersUnder(newOnly), false)
		if n, err := lockersUnder(withNew).ResealBoardKeys(ctx); err != nil || n != 2 {
			t.Fatalf("ResealBoardKeys = %d, %v; want the two devices of the fixture", n, err)
		}
		if n, err := lockersUnder(withNew).ResealBoardKeys(ctx); err != nil || n != 0 {
			t.Errorf("ResealBoardKeys again = %d, %v; want none left", n, err)
		}
		syncs("resealed, the old key retired", lockersUnder(newOnly), true)
	})
}
