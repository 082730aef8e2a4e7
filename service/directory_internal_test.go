package service

import (
	"testing"
	"time"

	"github.com/lokero/lokero"
)

// stillClock is a clock of a non-empty value type: never taken for
// another, even an equal one.
type stillClock struct{ t time.Time }

func (c stillClock) Now() time.Time { return c.t }

// TestSameClock: a search hands the capacity view the time it read only
// when the view's clock is surely the directory's.
func TestSameClock(t *testing.T) {
	t.Parallel()
	dev, other := lokero.NewDevClock(lokero.SystemClock{}), lokero.NewDevClock(lokero.SystemClock{})
	still := stillClock{time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)}
	for _, c := range []struct {
		name string
		a, b lokero.Clock
		want bool
	}{
		{"the system clock", lokero.SystemClock{}, lokero.SystemClock{}, true},
		{"one DevClock", dev, dev, true},
		{"two DevClocks", dev, other, false},
		{"a DevClock and the system clock", dev, lokero.SystemClock{}, false},
		{"equal values", still, still, false},
		{"none", nil, nil, false},
	} {
		if got := sameClock(c.a, c.b); got != c.want {
			t.Errorf("%s: sameClock = %v, want %v", c.name, got, c.want)
		}
	}
}
