package device

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/locker"
	"github.com/lokero/lokero/service"
)

// slowLockers answers the centre as the locker use cases would for one
// parcel in compartment 1 of locker L1: the first door_closed makes it
// ready, the second picks it up. Its first Expected holds until release
// is closed, as a slow derivation of the verifier would.
type slowLockers struct {
	deriving chan struct{} // closed when the first Expected has begun
	release  chan struct{}
	doors    atomic.Int64
	waiting  atomic.Bool // the parcel waits in the locker
	expected atomic.Int64
}

func newSlowLockers() *slowLockers {
	return &slowLockers{deriving: make(chan struct{}), release: make(chan struct{})}
}

func (f *slowLockers) ApplyEvent(_ context.Context, _ lokero.Credential, _ string, ev service.DeviceEvent) (service.DeviceOutcome, error) {
	out := service.DeviceOutcome{Result: service.EventApplied, Expect: ev.Seq + 1}
	if ev.Type == service.DeviceEventDoorClosed {
		out.Shipment = lokero.Shipment{ID: "SH-1", Status: lokero.StatusReadyForPickup}
		f.waiting.Store(true)
		if f.doors.Add(1) > 1 {
			out.Shipment.Status = lokero.StatusPickedUp
			f.waiting.Store(false)
		}
	}
	return out, nil
}

func (f *slowLockers) RecordStatus(context.Context, lokero.Credential, string, service.LockerStatus) error {
	return nil
}

func (f *slowLockers) LockerDevice(_ context.Context, id string) (lokero.Credential, error) {
	return lokero.Credential{ID: "cred-" + id, Kind: lokero.KindDevice, LocationID: id}, nil
}

func (f *slowLockers) Sync(context.Context, lokero.Credential, string) (service.DeviceSync, error) {
	return service.DeviceSync{}, nil
}

func (f *slowLockers) Expected(ctx context.Context, _ lokero.Credential, _, shipmentID string) (service.ExpectedPickup, bool, error) {
	waits := f.waiting.Load() // read before the derivation, as the use case does
	if f.expected.Add(1) == 1 {
		close(f.deriving)
		select {
		case <-f.release:
		case <-ctx.Done():
			return service.ExpectedPickup{}, false, ctx.Err()
		}
	}
	return service.ExpectedPickup{ShipmentID: shipmentID, Compartment: 1, Verifier: []byte("v")}, waits, nil
}

func (f *slowLockers) ExpectedOf(ctx context.Context, dev lokero.Credential, locationID string, sh lokero.Shipment) (service.ExpectedPickup, bool, error) {
	return f.Expected(ctx, dev, locationID, sh.ID)
}

// Recheck reads whether the parcel waits now, as the use case reads it
// again.
func (f *slowLockers) Recheck(_ context.Context, _ lokero.Credential, _ string, p service.ExpectedPickup) (service.ExpectedPickup, bool, error) {
	f.expected.Add(1)
	return p, f.waiting.Load(), nil
}

func (f *slowLockers) ExpectedDropOff(context.Context, lokero.Credential, string, string) (service.ExpectedDropOff, bool, error) {
	return service.ExpectedDropOff{}, false, nil
}

// commandLog records the commands the centre publishes.
type commandLog struct {
	mu   sync.Mutex
	list []Command
}

func (l *commandLog) publish(topic string, payload []byte) error {
	if _, kind, _ := ParseTopic(topic); kind != KindCommands {
		return nil
	}
	var c Command
	if err := json.Unmarshal(payload, &c); err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = append(l.list, c)
	return nil
}

func (l *commandLog) types() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for _, c := range l.list {
		out = append(out, c.Type)
	}
	return out
}

// waitTypes waits until the log holds want, in order.
func (l *commandLog) waitTypes(t *testing.T, what string, want ...string) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		got := l.types()
		if len(got) == len(want) {
			same := true
			for i := range got {
				same = same && got[i] == want[i]
			}
			if same {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: commands %v; want %v", what, got, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// testCentre is a centre of one worker on lockers, its commands logged.
func testCentre(t *testing.T, lockers Lockers) (*Centre, *commandLog) {
	t.Helper()
	c := newCentre(CentreConfig{Workers: 1, Lockers: lockers, Log: slog.New(slog.DiscardHandler),
		Clock: lokero.NewDevClock(lokero.SystemClock{})})
	log := &commandLog{}
	c.out = log.publish
	t.Cleanup(c.Close)
	return c, log
}

// The verifier of a parcel made ready is derived off the worker: the next
// event of the locker is applied meanwhile. When that event picks the
// parcel up, the expect_pickup derived for it is not sent after its
// cancel.
func TestCentreDerivesOffTheWorker(t *testing.T) {
	t.Parallel()
	t.Run("picked up while deriving", func(t *testing.T) {
		t.Parallel()
		f := newSlowLockers()
		c, log := testCentre(t, f)
		c.enqueue(Topic("L1", KindEvents), []byte(`{"seq":1,"type":"door_closed","compartment":1}`))
		<-f.deriving
		c.enqueue(Topic("L1", KindEvents), []byte(`{"seq":2,"type":"door_closed","compartment":1}`))
		log.waitTypes(t, "the pickup's door closed while the verifier was derived", CommandCancel)
		close(f.release)
		time.Sleep(quietPeriod)
		if got := log.types(); len(got) != 1 {
			t.Errorf("commands %v; want the cancel alone: the parcel is gone", got)
		}
	})
	t.Run("still waiting", func(t *testing.T) {
		t.Parallel()
		f := newSlowLockers()
		close(f.release)
		c, log := testCentre(t, f)
		c.enqueue(Topic("L1", KindEvents), []byte(`{"seq":1,"type":"door_closed","compartment":1}`))
		log.waitTypes(t, "a parcel made ready", CommandExpectPickup)
		if n := f.expected.Load(); n != 2 {
			t.Errorf("Expected called %d times; want 2 (derive, then tell)", n)
		}
	})
}

// syncingLockers is slowLockers whose Sync lists the parcel while it
// waits, the first Sync holding until release is closed, as a sync that
// derives verifiers would.
type syncingLockers struct {
	*slowLockers
	syncing, syncRelease chan struct{}
	syncs                atomic.Int64
}

func (f *syncingLockers) Sync(ctx context.Context, _ lokero.Credential, _ string) (service.DeviceSync, error) {
	var s service.DeviceSync
	if f.waiting.Load() { // read before the derivation, as the use case does
		s.Pickups = []service.ExpectedPickup{{ShipmentID: "SH-1", Compartment: 1, Verifier: []byte("v")}}
	}
	if f.syncs.Add(1) == 1 {
		close(f.syncing)
		select {
		case <-f.syncRelease:
		case <-ctx.Done():
			return service.DeviceSync{}, ctx.Err()
		}
	}
	return s, nil
}

// A sync read before a parcel was handed out another way (its cancel sent
// meanwhile by Expect) is read again before it is sent: it never brings
// the parcel back to the controller after its cancel.
func TestCentreSyncNeverUndoesACancel(t *testing.T) {
	t.Parallel()
	f := &syncingLockers{slowLockers: newSlowLockers(), syncing: make(chan struct{}), syncRelease: make(chan struct{})}
	close(f.release) // Expected answers at once
	f.waiting.Store(true)
	c, log := testCentre(t, f)
	c.enqueue(Topic("L1", KindStatus), []byte(`{"online":true,"sync":true}`))
	<-f.syncing
	f.waiting.Store(false) // handed out, e.g. at the post office's counter
	c.Expect(t.Context(), "L1", "SH-1")
	log.waitTypes(t, "the parcel handed out while the sync was read", CommandCancel)
	close(f.syncRelease)
	log.waitTypes(t, "the sync after the cancel", CommandCancel, CommandSync)
	log.mu.Lock()
	sync := log.list[1]
	log.mu.Unlock()
	if len(sync.Pickups) != 0 {
		t.Errorf("the sync sent after the cancel lists %+v; want no pickups: the parcel is gone", sync.Pickups)
	}
	if n := f.syncs.Load(); n != 2 {
		t.Errorf("Sync called %d times; want 2 (read, then read again after the cancel)", n)
	}
}

// seqLockers numbers events per credential as the locker use cases do
// (applied, duplicate, gap); LockerDevice gives the locker's current
// credential, which provisioning a new token replaces.
type seqLockers struct {
	*slowLockers
	mu   sync.Mutex
	cred string           // the locker's newest active credential
	last map[string]int64 // last applied seq per credential
}

func (f *seqLockers) ApplyEvent(_ context.Context, dev lokero.Credential, _ string, ev service.DeviceEvent) (service.DeviceOutcome, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch last := f.last[dev.ID]; {
	case ev.Seq == last+1:
		f.last[dev.ID] = ev.Seq
		return service.DeviceOutcome{Result: service.EventApplied, Expect: ev.Seq + 1}, nil
	case ev.Seq <= last:
		return service.DeviceOutcome{Result: service.EventDuplicate, Expect: last + 1}, nil
	default:
		return service.DeviceOutcome{Result: service.EventGap, Expect: last + 1}, nil
	}
}

func (f *seqLockers) LockerDevice(_ context.Context, id string) (lokero.Credential, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return lokero.Credential{ID: f.cred, Kind: lokero.KindDevice, LocationID: id}, nil
}

func (f *seqLockers) provision(cred string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.cred = cred
}

// A controller provisioned anew numbers its events from 1 under its new
// credential: the centre, holding the old one in its cache, must not
// answer them duplicate (the controller would forget them unapplied) nor
// gap.
func TestCentreNewCredentialWithinCache(t *testing.T) {
	t.Parallel()
	f := &seqLockers{slowLockers: newSlowLockers(), cred: "cred-old", last: map[string]int64{}}
	c, _ := testCentre(t, f)
	acks := make(chan Ack, 16)
	c.out = func(topic string, payload []byte) error {
		if _, kind, _ := ParseTopic(topic); kind == KindAcks {
			var a Ack
			if err := json.Unmarshal(payload, &a); err != nil {
				return err
			}
			acks <- a
		}
		return nil
	}
	next := func(t *testing.T) Ack {
		t.Helper()
		select {
		case a := <-acks:
			return a
		case <-time.After(waitFor):
			t.Fatal("no answer")
			return Ack{}
		}
	}
	for seq := 1; seq <= 3; seq++ {
		c.enqueue(Topic("L1", KindEvents), fmt.Appendf(nil, `{"seq":%d,"type":"letter_dropped"}`, seq))
		if a := next(t); a.Result != ResultApplied {
			t.Fatalf("event %d under the old credential: %+v; want applied", seq, a)
		}
	}
	f.provision("cred-new")
	for _, s := range []struct {
		seq  int64
		want string
	}{{1, ResultApplied}, {2, ResultApplied}, {2, ResultDuplicate}, {4, ResultGap}} {
		c.enqueue(Topic("L1", KindEvents), fmt.Appendf(nil, `{"seq":%d,"type":"letter_dropped"}`, s.seq))
		if a := next(t); a.Seq != s.seq || a.Result != s.want {
			t.Errorf("event %d under the new credential: %+v; want %s", s.seq, a, s.want)
		}
	}
}

// returnsLockers is slowLockers whose Sync lists one return while
// returning is set.
type returnsLockers struct {
	*slowLockers
	returning atomic.Bool
}

func (f *returnsLockers) Sync(context.Context, lokero.Credential, string) (service.DeviceSync, error) {
	s := service.DeviceSync{KDF: locker.DefaultKDF, Salt: []byte("salt")}
	if f.returning.Load() {
		s.DropOffs = []service.ExpectedDropOff{{ShipmentID: "SH-R", Sealed: []byte("sealed"), Parcel: [3]float64{30, 20, 10},
			Until: time.Date(2026, 12, 22, 10, 0, 0, 0, time.UTC)}}
		s.RevokedCouriers = []string{CourierHash("lkc_revoked")}
	}
	return s, nil
}

// A sync carries the returns the locker may take offline, and says so
// when there are none (an empty list, not none at all: a controller keeps
// what it holds from a sync without the list, as from a centre before it).
func TestCentreSyncCarriesDropOffs(t *testing.T) {
	t.Parallel()
	f := &returnsLockers{slowLockers: newSlowLockers()}
	c, log := testCentre(t, f)
	c.enqueue(Topic("L1", KindStatus), []byte(`{"online":true,"sync":true}`))
	log.waitTypes(t, "the sync without returns", CommandSync)
	f.returning.Store(true)
	c.cfg.Clock.(*lokero.DevClock).Advance(SyncAskedEvery) // a sync asked for sooner waits (SyncAskedEvery)
	c.enqueue(Topic("L1", KindStatus), []byte(`{"online":true,"sync":true}`))
	log.waitTypes(t, "the sync with a return", CommandSync, CommandSync)
	log.mu.Lock()
	none, one := log.list[0], log.list[1]
	log.mu.Unlock()
	if none.DropOffs == nil || len(none.DropOffs) != 0 {
		t.Errorf("a sync without returns: drop_offs %#v; want an empty list", none.DropOffs)
	}
	want := DropOff{ShipmentID: "SH-R", Sealed: []byte("sealed"), LengthCM: 30, WidthCM: 20, HeightCM: 10,
		Until: time.Date(2026, 12, 22, 10, 0, 0, 0, time.UTC)}
	if len(one.DropOffs) != 1 || !reflect.DeepEqual(one.DropOffs[0], want) {
		t.Errorf("a sync with a return: drop_offs %+v; want [%+v]", one.DropOffs, want)
	}
}

// A sync carries the couriers the controller must forget, as the service
// lists them (their CourierHash); none, and the field is left out (as a
// centre before it sent it).
func TestCentreSyncCarriesRevokedCouriers(t *testing.T) {
	t.Parallel()
	f := &returnsLockers{slowLockers: newSlowLockers()}
	c, log := testCentre(t, f)
	c.enqueue(Topic("L1", KindStatus), []byte(`{"online":true,"sync":true}`))
	log.waitTypes(t, "the sync without revoked couriers", CommandSync)
	f.returning.Store(true)
	c.cfg.Clock.(*lokero.DevClock).Advance(SyncAskedEvery)
	c.enqueue(Topic("L1", KindStatus), []byte(`{"online":true,"sync":true}`))
	log.waitTypes(t, "the sync with a revoked courier", CommandSync, CommandSync)
	log.mu.Lock()
	none, one := log.list[0], log.list[1]
	log.mu.Unlock()
	if none.RevokedCouriers != nil {
		t.Errorf("a sync without revoked couriers: revoked_couriers %#v; want none", none.RevokedCouriers)
	}
	if want := []string{CourierHash("lkc_revoked")}; !reflect.DeepEqual(one.RevokedCouriers, want) {
		t.Errorf("a sync with a revoked courier: revoked_couriers %q; want %q", one.RevokedCouriers, want)
	}
}
