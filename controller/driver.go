package controller

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// LockDriver drives a locker's locks and reads its door sensors. It is the
// slot for the hardware: a GPIO lock board (one output per lock, pulsed
// for a few hundred milliseconds, one input per door switch) or a serial
// lock board (RS-485 boards of the Kerong/"KR-CU" kind: a command frame
// per open, a status frame per poll) implements it; SimDriver stands in
// for both in tests and in `lokero sim`.
//
// A driver is used by one Controller. Open may be called from several
// goroutines, but the controller calls it for one compartment at a time.
type LockDriver interface {
	// Open pulses the lock of compartment (1-based): the door springs
	// open. It returns once the pulse is done, or with an error when the
	// board did not take it (the door stays shut).
	Open(ctx context.Context, compartment int) error
	// Events returns the doors closing (and opening) as the sensors
	// report them. The channel stays the same for the driver's life.
	Events() <-chan DoorEvent
}

// DoorEvent is one change of a door as its sensor reports it.
type DoorEvent struct {
	Compartment int  // 1-based
	Open        bool // true: the door opened; false: it was shut
}

// simEventBuffer is how many door events a SimDriver holds for a reader.
const simEventBuffer = 1024

// SimDriver is a simulated lock board: Open springs a door open, Close
// simulates a person shutting it. Safe for concurrent use.
type SimDriver struct {
	n      int
	events chan DoorEvent

	mu     sync.Mutex
	open   []bool // index compartment-1
	opened []int  // how many times each compartment was opened
	fail   error  // when set, Open fails with it
}

// NewSimDriver returns a simulated board of compartments doors (1..n), all
// shut.
func NewSimDriver(compartments int) *SimDriver {
	return &SimDriver{
		n:      compartments,
		events: make(chan DoorEvent, simEventBuffer),
		open:   make([]bool, compartments),
		opened: make([]int, compartments),
	}
}

// Open springs the door of compartment open (it reports no event for it:
// the controller knows it opened it).
func (d *SimDriver) Open(ctx context.Context, compartment int) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("sim driver: open %d: %w", compartment, err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.fail != nil {
		return fmt.Errorf("sim driver: open %d: %w", compartment, d.fail)
	}
	if compartment < 1 || compartment > d.n {
		return fmt.Errorf("sim driver: no compartment %d (1..%d)", compartment, d.n)
	}
	d.open[compartment-1] = true
	d.opened[compartment-1]++
	return nil
}

// Events returns the doors shut with Close.
func (d *SimDriver) Events() <-chan DoorEvent { return d.events }

// Close simulates a person shutting door n: it reports DoorEvent{n, false}
// (blocking when simEventBuffer events are already waiting for a reader).
// It reports whether the door was open; a shut door reports nothing.
func (d *SimDriver) Close(n int) bool {
	d.mu.Lock()
	if n < 1 || n > d.n || !d.open[n-1] {
		d.mu.Unlock()
		return false
	}
	d.open[n-1] = false
	d.mu.Unlock()
	d.events <- DoorEvent{Compartment: n, Open: false}
	return true
}

// Force simulates door n opened without its lock (forced, or a lock
// failed open): it reports DoorEvent{n, true}. It reports whether the door
// was shut.
func (d *SimDriver) Force(n int) bool {
	d.mu.Lock()
	if n < 1 || n > d.n || d.open[n-1] {
		d.mu.Unlock()
		return false
	}
	d.open[n-1] = true
	d.mu.Unlock()
	d.events <- DoorEvent{Compartment: n, Open: true}
	return true
}

// pulsedDriver remembers when the controller last pulsed each lock, so
// that a door's opening can be told from a forced one (door): a board
// reports the door it opened, a moment after the pulse.
type pulsedDriver struct {
	LockDriver
	at sync.Map // compartment → time.Time of its last pulse
}

// Open records the pulse, then pulses the lock.
func (d *pulsedDriver) Open(ctx context.Context, compartment int) error {
	d.at.Store(compartment, time.Now())
	return d.LockDriver.Open(ctx, compartment)
}

// pulsedWithin reports whether compartment's lock was pulsed within d.
func (d *pulsedDriver) pulsedWithin(compartment int, within time.Duration) bool {
	v, ok := d.at.Load(compartment)
	return ok && time.Since(v.(time.Time)) <= within
}

// IsOpen reports whether door n is open.
func (d *SimDriver) IsOpen(n int) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return n >= 1 && n <= d.n && d.open[n-1]
}

// Opened returns how many times each compartment was opened: index 0 is
// compartment 1.
func (d *SimDriver) Opened() []int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]int(nil), d.opened...)
}

// SetFail makes every Open fail with err until called again with nil: a
// board that does not answer.
func (d *SimDriver) SetFail(err error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.fail = err
}
