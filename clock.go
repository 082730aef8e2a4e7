package lokero

import (
	"sync/atomic"
	"time"
)

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
// provider's test clock: `lokero serve --dev-clock` uses it so that expiry
// and reminders can be watched without waiting a week. Safe for
// concurrent use.
type DevClock struct {
	base   Clock
	offset atomic.Int64 // nanoseconds ahead of base
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
