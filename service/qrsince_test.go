package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/lokero/lokero/locker"
	"github.com/lokero/lokero/service"
)

// TestPickupsCarryQRSince: every way the centre tells a controller of a
// parcel (Sync, Expected, ExpectedOf, Recheck) carries the start of its
// current QR window, the NotBefore of the token its notice carries; after
// a rotation of its code, the new notice's, which is later than the old
// one's, so that the controller refuses the old token as ScanQR does.
// Without a QR key, none.
func TestPickupsCarryQRSince(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		_, email, sms := withQR(f)
		sh, _ := f.readyWith(t, request())
		since := func(what, token string) time.Time {
			t.Helper()
			c, err := locker.VerifyQR(f.lockers.QRPublicKey(), token, "LOCKER-M5", f.clock.Now())
			if err != nil {
				t.Fatalf("%s: %v", what, err)
			}
			return c.NotBefore
		}
		told := func(what string, want time.Time) service.ExpectedPickup {
			t.Helper()
			s, err := f.lockers.Sync(ctx, f.device, "LOCKER-M5")
			if err != nil || len(s.Pickups) != 1 {
				t.Fatalf("%s: sync: %+v, %v; want one pickup", what, s.Pickups, err)
			}
			e, ok, err := f.lockers.Expected(ctx, f.device, "LOCKER-M5", sh.ID)
			if err != nil || !ok {
				t.Fatalf("%s: Expected: %v, %v", what, ok, err)
			}
			r, ok, err := f.lockers.Recheck(ctx, f.device, "LOCKER-M5", e)
			if err != nil || !ok {
				t.Fatalf("%s: Recheck: %v, %v", what, ok, err)
			}
			for _, p := range []struct {
				how string
				p   service.ExpectedPickup
			}{{"Sync", s.Pickups[0]}, {"Expected", e}, {"Recheck", r}} {
				if !p.p.QRSince.Equal(want) {
					t.Errorf("%s: %s's qr_since %v; want %v", what, p.how, p.p.QRSince, want)
				}
			}
			return e
		}

		mail, _ := f.noticeOf(t, email, sms, sh.TrackingCode)
		first := since("the first notice's token", mail.Parcel.QRToken)
		told("ready", first)
		p, ok, err := f.lockers.ExpectedOf(ctx, f.device, "LOCKER-M5", sh)
		if err != nil || !ok || !p.QRSince.Equal(first) {
			t.Errorf("ExpectedOf the parcel the door's closing made ready: qr_since %v, %v, %v; want %v", p.QRSince, ok, err, first)
		}

		f.clock.Advance(time.Minute)
		if _, err := f.lockers.NoticeAgain(ctx, "", sh.ID, true); err != nil {
			t.Fatal(err)
		}
		mail, _ = f.noticeOf(t, email, sms, sh.TrackingCode)
		rotated := since("the rotated notice's token", mail.Parcel.QRToken)
		if !first.Before(rotated) {
			t.Fatalf("the rotated notice's window begins %v, the first's %v; want later", rotated, first)
		}
		told("rotated", rotated)

		f.lockers.SetQRKey(nil)
		told("no QR key", time.Time{})
	})
}
