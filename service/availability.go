package service

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lokero/lokero"
)

// Availability levels of a locker (or one of its size classes) on a day.
const (
	LevelNormal = "normal"
	LevelBusy   = "busy" // fewer than the busy share of compartments free
	LevelFull   = "full" // none free
)

// DefaultBusyBelow is the share of free compartments under which a locker
// is busy (our choice: 15 %).
const DefaultBusyBelow = 0.15

// ClassAvailability is one size class of a locker on one delivery date.
type ClassAvailability struct {
	Size  string
	Total int // compartments of the class
	Free  int // not reserved for that date
	Level string
}

// LockerAvailability is a locker's capacity on one delivery date: free
// compartments per size class after the day's reservations.
type LockerAvailability struct {
	Date    string
	Classes []ClassAvailability // in the location's class order
	Level   string              // over all classes (or those that fit, when asked with a parcel)
}

// Availability tells how many compartments of each locker are still free
// for a delivery date. It reads every reservation of a date in one query
// and keeps it in memory: searches never touch the database. A booking in
// this process makes the next search read again (exact); bookings in other
// instances are seen within MaxAge. Booking itself always checks the
// database, and answers with the reason when the compartment went meanwhile.
type Availability struct {
	store     lokero.ShipmentStore
	clock     lokero.Clock
	maxAge    time.Duration
	busyBelow float64

	generation atomic.Uint64 // bumped by every local change of reservations
	mu         sync.Mutex
	days       map[string]*reservedDay
}

type reservedDay struct {
	generation uint64
	loadedAt   time.Time
	reserved   map[string]map[string]int
}

// NewAvailability returns the capacity view over store. maxAge bounds how
// stale another instance's bookings may be seen (0: one second).
func NewAvailability(store lokero.ShipmentStore, clock lokero.Clock, maxAge time.Duration) *Availability {
	if maxAge <= 0 {
		maxAge = time.Second
	}
	return &Availability{store: store, clock: clock, maxAge: maxAge, busyBelow: DefaultBusyBelow, days: map[string]*reservedDay{}}
}

// SetBusyBelow sets the share of free compartments under which a locker is
// busy (0 < share < 1).
func (a *Availability) SetBusyBelow(share float64) error {
	if !(share > 0 && share < 1) {
		return lokero.Invalid("busy_below", "out_of_range", "the busy threshold is a share between 0 and 1; got %v", share)
	}
	a.busyBelow = share
	return nil
}

// Changed tells the view that reservations changed in this process: the
// next read of any day goes to the database.
func (a *Availability) Changed() {
	if a != nil {
		a.generation.Add(1)
	}
}

// Day returns the reservations of a date, location → size → count, read
// from the database when not fresh. The map must not be modified.
func (a *Availability) Day(ctx context.Context, date string) (map[string]map[string]int, error) {
	gen := a.generation.Load()
	now := a.clock.Now()
	a.mu.Lock()
	d := a.days[date]
	a.mu.Unlock()
	if d != nil && d.generation == gen && now.Sub(d.loadedAt) < a.maxAge && !now.Before(d.loadedAt) {
		return d.reserved, nil
	}
	reserved, err := a.store.ReservedOn(ctx, date)
	if err != nil {
		return nil, fmt.Errorf("availability on %s: %w", date, err)
	}
	a.mu.Lock()
	if len(a.days) > 64 { // a few dates are asked at once; forget the rest
		clear(a.days)
	}
	a.days[date] = &reservedDay{generation: gen, loadedAt: now, reserved: reserved}
	a.mu.Unlock()
	return reserved, nil
}

// Of returns a locker's availability on a date from that day's
// reservations; with dims, the overall level counts only the classes that
// take the parcel.
func (a *Availability) Of(l *lokero.Location, date string, reserved map[string]map[string]int, dims *[3]float64) LockerAvailability {
	out := LockerAvailability{Date: date, Classes: make([]ClassAvailability, 0, len(l.Compartments))}
	total, free := 0, 0
	at := reserved[l.ID]
	for _, c := range l.Compartments {
		ca := ClassAvailability{Size: c.Size, Total: c.Count, Free: max(c.Count-at[c.Size], 0)}
		ca.Level = a.level(ca.Free, ca.Total)
		out.Classes = append(out.Classes, ca)
		if dims == nil || c.Fits(*dims) {
			total += ca.Total
			free += ca.Free
		}
	}
	out.Level = a.level(free, total)
	return out
}

// HasFree reports whether a locker has a free compartment on the day that
// takes the parcel (any compartment, without dims); it allocates nothing.
func HasFree(l *lokero.Location, reserved map[string]map[string]int, dims *[3]float64) bool {
	at := reserved[l.ID]
	for _, c := range l.Compartments {
		if c.Count > at[c.Size] && (dims == nil || c.Fits(*dims)) {
			return true
		}
	}
	return false
}

func (a *Availability) level(free, total int) string {
	switch {
	case free <= 0:
		return LevelFull
	case float64(free) < a.busyBelow*float64(total):
		return LevelBusy
	}
	return LevelNormal
}
