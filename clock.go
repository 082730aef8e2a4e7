package lokero

import "time"

// Clock tells the time. Domain code never calls time.Now: it is handed a
// Clock so that deadlines and expiry can be tested.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }
