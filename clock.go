package lokero

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
	// Embed the tz database so that Europe/Helsinki loads on a machine
	// without /usr/share/zoneinfo (a scratch container, Windows): every
	// package that uses Helsinki imports this one.
	_ "time/tzdata"
)

// Helsinki is the Europe/Helsinki time zone: the one every calendar day,
// opening hour, keypad day, handover cut-off and storage deadline is
// reckoned in, whatever the location of the time.Time at hand. It is
// loaded once, here, for the whole program (the calendar and locker
// packages use it too). Treat it as a constant.
var Helsinki = mustLoadLocation("Europe/Helsinki")

func mustLoadLocation(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		// Cannot happen with time/tzdata embedded, short of a broken build.
		panic(fmt.Sprintf("lokero: load time zone %s: %v", name, err))
	}
	return loc
}

// Clock tells the time. Domain code never calls time.Now: it is handed a
// Clock so that deadlines and expiry can be tested.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }

// DevClock is a clock an integrator can move forward, like a payment
// provider's test clock: `lokero serve --dev` uses it so that expiry and
// reminders can be watched without waiting a week. Its offset (how far it
// is ahead of base) can be saved after each advance (SetSaver, Save) and
// resumed on the next start (Resume), so that a restart never sends time
// back. Safe for concurrent use.
type DevClock struct {
	base   Clock
	offset atomic.Int64 // nanoseconds ahead of base

	mu    sync.Mutex // serialises Save, so the last write has the newest offset
	saver func(ctx context.Context, offset time.Duration) error
}

// NewDevClock returns a clock that runs with base until advanced.
func NewDevClock(base Clock) *DevClock { return &DevClock{base: base} }

// Now returns base's time plus every advance so far.
func (c *DevClock) Now() time.Time { return c.base.Now().Add(time.Duration(c.offset.Load())) }

// Advance moves the clock forward by d (never backward: d must be > 0).
func (c *DevClock) Advance(d time.Duration) time.Time {
	if d > 0 {
		c.offset.Add(int64(d))
	}
	return c.Now()
}

// Offset returns how far the clock is ahead of base.
func (c *DevClock) Offset() time.Duration { return time.Duration(c.offset.Load()) }

// Resume sets the offset to one saved before, unless the clock is
// already further ahead: the clock never goes back.
func (c *DevClock) Resume(offset time.Duration) {
	for {
		cur := c.offset.Load()
		if int64(offset) <= cur || c.offset.CompareAndSwap(cur, int64(offset)) {
			return
		}
	}
}

// SetSaver sets what Save calls with the offset (call it before use).
func (c *DevClock) SetSaver(save func(ctx context.Context, offset time.Duration) error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.saver = save
}

// Save hands the current offset to the saver (SetSaver), if any; of
// concurrent saves the last one writes the newest offset.
func (c *DevClock) Save(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.saver == nil {
		return nil
	}
	return c.saver(ctx, c.Offset())
}
