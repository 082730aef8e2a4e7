package lokero

import (
	"fmt"
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
