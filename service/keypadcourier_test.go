package service_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/service"
)

// courierHash is the courier a controller names in a keypad event: the
// SHA-256 of the token, base64url (device.CourierHash; not imported, as
// package device imports service).
func courierHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// keypadCouriers issues the tokens a keypad test signs in with: an active
// courier's, a revoked courier's and a device's (of LOCKER-M5, as the
// locker's own token would be).
func keypadCouriers(t *testing.T, f lockersFixture) (active lokero.Credential, activeToken, revokedToken, deviceToken string) {
	t.Helper()
	ctx := context.Background()
	active, activeToken, err := f.lockers.AddCredential(ctx, lokero.KindCourier, "Keypad courier", "")
	if err != nil {
		t.Fatal(err)
	}
	gone, revokedToken, err := f.lockers.AddCredential(ctx, lokero.KindCourier, "Gone courier", "")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.lockers.RevokeCredential(ctx, gone.ID, false); err != nil {
		t.Fatal(err)
	}
	if _, deviceToken, err = f.lockers.AddCredential(ctx, lokero.KindDevice, "M5 spare", "LOCKER-M5"); err != nil {
		t.Fatal(err)
	}
	return active, activeToken, revokedToken, deviceToken
}

// TestKeypadDepositNeedsACourier: a deposit at the keypad is refused, and
// nothing opens, unless it names an active courier credential — none, a
// device's token, a revoked courier's, garbage — and the refusal does not
// say where the parcel goes; with an active courier it is applied, and
// the parcel's events name the courier's credential. A sign-in event is
// checked the same way.
func TestKeypadDepositNeedsACourier(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		courier, token, revoked, deviceToken := keypadCouriers(t, f)
		sh := f.inTransit(t)
		seq := int64(0)
		next := func() int64 { seq++; return seq }
		for _, tt := range []struct {
			name, courier, reason string
		}{
			{"no courier", "", "courier_required"},
			{"a device's token", courierHash(deviceToken), "courier_unknown"},
			{"a revoked courier", courierHash(revoked), "courier_unknown"},
			{"an unknown token", courierHash("lkc_nobody"), "courier_unknown"},
			{"not a hash", "not-base64!", "courier_unknown"},
			{"the token itself", token, "courier_unknown"},
		} {
			s := next()
			out := f.apply(t, service.DeviceEvent{Seq: s, Type: service.DeviceEventDeposit, TrackingCode: sh.TrackingCode, Courier: tt.courier})
			wantOutcome(t, "deposit with "+tt.name, out, service.EventRejected, s+1, tt.reason)
			if out.Keypad.Compartment != 0 || out.Shipment.ID != "" {
				t.Errorf("deposit with %s: opens %d (%+v); want nothing", tt.name, out.Keypad.Compartment, out.Keypad)
			}
			if out.Err != nil && strings.Contains(out.Err.Error(), sh.TrackingCode) {
				t.Errorf("deposit with %s: refusal %q tells of the parcel", tt.name, out.Err)
			}
			s = next()
			wantOutcome(t, "sign-in with "+tt.name, f.apply(t, service.DeviceEvent{Seq: s, Type: service.DeviceEventCourier, Courier: tt.courier}),
				service.EventRejected, s+1, tt.reason)
		}
		if got, err := f.shipments.Get(ctx, f.retailer, sh.ID); err != nil || got.Status != lokero.StatusInTransit || got.Compartment != 0 {
			t.Fatalf("after refused deposits: %s in %d, %v; want IN_TRANSIT, no compartment", got.Status, got.Compartment, err)
		}

		// Another locker's parcel, scanned at SP-NEAR's keypad with no
		// courier: refused before the parcel is looked at.
		out, err := f.lockers.ApplyEvent(ctx, f.other, "SP-NEAR", service.DeviceEvent{Seq: 1, Type: service.DeviceEventDeposit, TrackingCode: sh.TrackingCode})
		if err != nil {
			t.Fatal(err)
		}
		wantOutcome(t, "another locker's parcel without a courier", out, service.EventRejected, 2, "courier_required")
		if msg := out.Err.Error(); strings.Contains(msg, "LOCKER-M5") || strings.Contains(msg, sh.TrackingCode) {
			t.Errorf("refusal at another locker's keypad names the parcel or its locker: %q", msg)
		}

		s := next()
		wantOutcome(t, "sign-in of an active courier", f.apply(t, service.DeviceEvent{Seq: s, Type: service.DeviceEventCourier, Courier: courierHash(token)}),
			service.EventApplied, s+1, "")
		s = next()
		out = f.apply(t, service.DeviceEvent{Seq: s, Type: service.DeviceEventDeposit, TrackingCode: sh.TrackingCode, Courier: courierHash(token)})
		wantOutcome(t, "deposit by an active courier", out, service.EventApplied, s+1, "")
		if out.Keypad.Compartment < 1 || out.Shipment.Status != lokero.StatusInLocker {
			t.Fatalf("deposit by an active courier: %+v, %s; want a compartment, IN_LOCKER", out.Keypad, out.Shipment.Status)
		}
		// Scanned again before the door closed: the same door, noted once.
		s = next()
		wantOutcome(t, "the same scan again", f.apply(t, service.DeviceEvent{Seq: s, Type: service.DeviceEventDeposit, TrackingCode: sh.TrackingCode, Courier: courierHash(token)}),
			service.EventApplied, s+1, "")
		got, err := f.shipments.Get(ctx, f.retailer, sh.ID)
		if err != nil {
			t.Fatal(err)
		}
		if n := countNotes(got, service.KeypadCourierNote+courier.ID+"."); n != 1 {
			t.Errorf("the parcel's events name courier %s %d times; want once: %+v", courier.ID, n, got.Events)
		}
		if c, err := f.lockers.Credential(ctx, courier.ID); err != nil || c.LastUsedAt.IsZero() {
			t.Errorf("courier's last use %v, %v; want recorded", c.LastUsedAt, err)
		}
	})
}

// TestOfflineKeypadDepositCourier: a deposit the controller took offline
// names the courier it took it from; one revoked since is applied all
// the same (the parcel is in the compartment) and noted as such; none,
// or no courier credential's, is refused for the operator to reconcile.
func TestOfflineKeypadDepositCourier(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		_, _, revoked, deviceToken := keypadCouriers(t, f)
		a := f.inTransit(t)
		s, err := f.lockers.Sync(ctx, f.device, "LOCKER-M5")
		if err != nil || len(s.Compartments) == 0 {
			t.Fatalf("sync: %d compartments, %v", len(s.Compartments), err)
		}
		n := s.Compartments[len(s.Compartments)-1].Number
		wantOutcome(t, "offline deposit without a courier", f.apply(t, service.DeviceEvent{Seq: 1, Type: service.DeviceEventDeposit,
			TrackingCode: a.TrackingCode, Compartment: n}), service.EventRejected, 2, "courier_required")
		wantOutcome(t, "offline deposit with a device's token", f.apply(t, service.DeviceEvent{Seq: 2, Type: service.DeviceEventDeposit,
			TrackingCode: a.TrackingCode, Compartment: n, Courier: courierHash(deviceToken)}), service.EventRejected, 3, "courier_unknown")
		out := f.apply(t, service.DeviceEvent{Seq: 3, Type: service.DeviceEventDeposit, TrackingCode: a.TrackingCode, Compartment: n, Courier: courierHash(revoked)})
		wantOutcome(t, "offline deposit by a courier revoked since", out, service.EventApplied, 4, "")
		if out.Shipment.Status != lokero.StatusInLocker || out.Shipment.Compartment != n {
			t.Fatalf("offline deposit by a courier revoked since: %s in %d; want IN_LOCKER in %d", out.Shipment.Status, out.Shipment.Compartment, n)
		}
		last := out.Shipment.Events[len(out.Shipment.Events)-1]
		if !strings.HasPrefix(last.Reason, service.KeypadCourierNote) || !strings.Contains(last.Reason, "revoked") {
			t.Errorf("offline deposit by a courier revoked since: last event %q; want it noted", last.Reason)
		}
	})
}

// countNotes counts the events of sh whose reason is note.
func countNotes(sh lokero.Shipment, note string) int {
	n := 0
	for _, e := range sh.Events {
		if e.Reason == note {
			n++
		}
	}
	return n
}
