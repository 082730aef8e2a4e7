package device

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/service"
)

// holdLockers applies every event at once, but the first event of the
// locker "HOLD" holds the worker until release is closed; it records the
// events applied and the statuses recorded, in order.
type holdLockers struct {
	*slowLockers
	held, release chan struct{}
	once          sync.Once

	mu       sync.Mutex
	applied  []string // location/seq
	statuses []service.LockerStatus
	syncs    int
}

func newHoldLockers() *holdLockers {
	return &holdLockers{slowLockers: newSlowLockers(), held: make(chan struct{}), release: make(chan struct{})}
}

func (f *holdLockers) ApplyEvent(ctx context.Context, _ lokero.Credential, id string, ev service.DeviceEvent) (service.DeviceOutcome, error) {
	if id == "HOLD" {
		first := false
		f.once.Do(func() { first = true })
		if first {
			close(f.held)
			select {
			case <-f.release:
			case <-ctx.Done():
				return service.DeviceOutcome{}, ctx.Err()
			}
		}
	}
	f.mu.Lock()
	f.applied = append(f.applied, fmt.Sprintf("%s/%d", id, ev.Seq))
	f.mu.Unlock()
	return service.DeviceOutcome{Result: service.EventApplied, Expect: ev.Seq + 1}, nil
}

func (f *holdLockers) RecordStatus(_ context.Context, _ lokero.Credential, _ string, s service.LockerStatus) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.statuses = append(f.statuses, s)
	return nil
}

func (f *holdLockers) Sync(context.Context, lokero.Credential, string) (service.DeviceSync, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.syncs++
	return service.DeviceSync{}, nil
}

// hold has the centre's one worker held by HOLD's first event.
func (f *holdLockers) hold(t *testing.T, c *Centre) {
	t.Helper()
	c.enqueue(Topic("HOLD", KindEvents), []byte(`{"seq":1,"type":"letter_dropped"}`))
	select {
	case <-f.held:
	case <-time.After(waitFor):
		t.Fatal("the worker never took the first event")
	}
}

// queued returns how many messages a queue holds.
func (q *queue) queued() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.items)
}

// waitApplied waits until the event named applied (location/seq) was
// applied and returns the events applied before it.
func (f *holdLockers) waitApplied(t *testing.T, applied string) []string {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	for {
		f.mu.Lock()
		i := slices.Index(f.applied, applied)
		before := slices.Clone(f.applied[:max(i, 0)])
		f.mu.Unlock()
		if i >= 0 {
			return before
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s not applied within %s", applied, waitFor)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestCentreBoundsALockersQueue: one locker floods its events while the
// worker is held. The centre keeps at most MaxQueuedEvents (and
// MaxQueuedEventBytes) of them, counts the rest dropped, and another
// locker on the same worker has its event applied right after those.
func TestCentreBoundsALockersQueue(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		flood   int // events of FLOOD
		padding int // bytes added to each
		kept    func(size int) int
	}{
		{"small events", 2000, 0, func(int) int { return MaxQueuedEvents }},
		{"60 KB events", 300, 60 << 10, func(size int) int { return MaxQueuedEventBytes / size }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newHoldLockers()
			c, _ := testCentre(t, f)
			f.hold(t, c)
			pad := strings.Repeat("x", tt.padding)
			size := 0
			for seq := 1; seq <= tt.flood; seq++ {
				// The same length for every seq: 5 characters.
				ev := fmt.Appendf(nil, `{"seq":%5d,"type":"letter_dropped","terminal_ref":"%s"}`, seq, pad)
				size = len(ev)
				c.enqueue(Topic("FLOOD", KindEvents), ev)
			}
			c.enqueue(Topic("OTHER", KindEvents), []byte(`{"seq":1,"type":"letter_dropped"}`))
			kept := tt.kept(size)
			if n := c.queues[0].queued(); n != kept+1 {
				t.Errorf("%d messages queued after %d events of one locker and one of another; want %d (its %d and the other's)",
					n, tt.flood, kept+1, kept)
			}
			if d := c.Stats().Dropped; d != int64(tt.flood-kept) {
				t.Errorf("%d events counted dropped; want %d", d, tt.flood-kept)
			}
			close(f.release)
			before := f.waitApplied(t, "OTHER/1")
			if len(before) != 1+kept || before[len(before)-1] != fmt.Sprintf("FLOOD/%d", kept) {
				t.Errorf("OTHER/1 applied after %d events (last %v); want after HOLD/1 and FLOOD/1..%d", len(before), before[len(before)-1:], kept)
			}
			// Once its queue drained, the flooder's events are taken again.
			c.enqueue(Topic("FLOOD", KindEvents), []byte(`{"seq":99999,"type":"letter_dropped"}`))
			f.waitApplied(t, "FLOOD/99999")
		})
	}
}

// TestCentreKeepsTheNewestStatus: of a locker's statuses waiting for its
// worker only the newest is kept, with the sync an earlier one asked for.
func TestCentreKeepsTheNewestStatus(t *testing.T) {
	t.Parallel()
	f := newHoldLockers()
	c, log := testCentre(t, f)
	f.hold(t, c)
	c.enqueue(Topic("L1", KindStatus), []byte(`{"online":true,"sync":true,"firmware":"fw-0"}`))
	for i := 1; i <= 500; i++ {
		c.enqueue(Topic("L1", KindStatus), fmt.Appendf(nil, `{"online":true,"firmware":"fw-%d"}`, i))
	}
	if n := c.queues[0].queued(); n != 1 {
		t.Errorf("%d messages queued after 501 statuses of one locker; want 1", n)
	}
	close(f.release)
	log.waitTypes(t, "the sync the first status asked for", CommandSync)
	time.Sleep(quietPeriod)
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.statuses) != 1 || f.statuses[0].Firmware != "fw-500" {
		t.Errorf("%d statuses recorded (the last of %s); want one, the newest (fw-500)",
			len(f.statuses), f.statuses[len(f.statuses)-1].Firmware)
	}
}

// TestCentreSyncAskedAtMostEvery: a locker asking for a sync over and
// over gets one at once, then one more once askedEvery is up (for every
// request meanwhile), then none until it asks again; asked after
// askedEvery, at once again.
func TestCentreSyncAskedAtMostEvery(t *testing.T) {
	t.Parallel()
	f := newHoldLockers()
	c, log := testCentre(t, f)
	const every = 2 * time.Second
	c.askedEvery = every // before any message: the worker reads it after the queue's lock
	clock := c.cfg.Clock.(*lokero.DevClock)
	ask := []byte(`{"online":true,"sync":true}`)

	first := time.Now() // the first sync is answered after it: the one due, every after that at least
	c.enqueue(Topic("L1", KindStatus), ask)
	log.waitTypes(t, "the first sync asked for", CommandSync)
	for range 200 {
		c.enqueue(Topic("L1", KindStatus), ask)
		time.Sleep(time.Millisecond) // most taken by the worker one by one, not merged in the queue
	}
	if got := log.types(); len(got) != 1 && time.Since(first) < every {
		t.Fatalf("%d syncs within %s of the first; want 1", len(got), every)
	}
	log.waitTypes(t, "the sync due once askedEvery is up", CommandSync, CommandSync)
	time.Sleep(quietPeriod)
	if got := log.types(); len(got) != 2 {
		t.Fatalf("%d syncs after 201 requests; want 2", len(got))
	}

	clock.Advance(every)
	asked := time.Now()
	c.enqueue(Topic("L1", KindStatus), ask)
	log.waitTypes(t, "a sync asked for askedEvery after the last", CommandSync, CommandSync, CommandSync)
	if waited := time.Since(asked); waited >= every {
		t.Errorf("the sync asked for askedEvery after the last came after %s; want at once", waited)
	}
}
