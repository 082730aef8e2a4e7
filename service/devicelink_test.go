package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/lokero/lokero/service"
)

// TestLockerLinkByTheCentresClock: a locker's statuses are ordered and
// timed by the centre's clock, when they arrive. A board whose clock is
// slow reconnects after its connection dropped: its status, dated by the
// board before the will the broker sent (dated by nothing), makes it
// online all the same, and its heartbeats keep it from counting silent.
func TestLockerLinkByTheCentresClock(t *testing.T) {
	t.Parallel()
	const slow = 10 * time.Minute // the board's clock is behind the centre's
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		record := func(what string, s service.LockerStatus) {
			t.Helper()
			if err := f.lockers.RecordStatus(ctx, f.device, "LOCKER-M5", s); err != nil {
				t.Fatalf("%s: %v", what, err)
			}
		}
		record("connected", service.LockerStatus{Online: true, At: f.lockers.Now().Add(-slow), Firmware: "1.0"})
		f.clock.Advance(time.Minute)
		dropped := f.lockers.Now()
		record("the will", service.LockerStatus{Online: false})
		reconnected := f.clock.Advance(time.Minute)
		record("reconnected", service.LockerStatus{Online: true, At: reconnected.Add(-slow), Firmware: "1.1"})

		for _, step := range []struct {
			what  string
			after time.Duration
		}{{"just reconnected", 0}, {"4 minutes after its last heartbeat", 4 * time.Minute}} {
			f.clock.Advance(step.after)
			l, err := f.lockers.Link(ctx, "LOCKER-M5")
			if err != nil {
				t.Fatal(err)
			}
			if !l.Online || l.Offline != 0 || l.Firmware != "1.1" {
				t.Errorf("%s (will at %s, status dated %s by the board received at %s): online %v, offline for %s, firmware %q; want online, firmware 1.1",
					step.what, dropped.Format(time.TimeOnly), reconnected.Add(-slow).Format(time.TimeOnly),
					reconnected.Format(time.TimeOnly), l.Online, l.Offline, l.Firmware)
			}
			if !l.ChangedAt.Equal(reconnected.UTC().Truncate(time.Microsecond)) || !l.HeartbeatAt.Equal(l.ChangedAt) {
				t.Errorf("%s: changed at %s, heartbeat at %s; want both %s, when the status reached the centre",
					step.what, l.ChangedAt, l.HeartbeatAt, reconnected.UTC())
			}
		}
	})
}
