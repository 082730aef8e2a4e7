package service

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lokero/lokero"
)

// Availability levels of a locker (or one of its size classes), or of an
// outlet's shelves, on a day.
const (
	LevelNormal = "normal"
	LevelBusy   = "busy" // fewer than the busy share of compartments (shelf places) free
	LevelFull   = "full" // none free
)

// DefaultBusyBelow is the share of free compartments (an outlet's: of its
// shelf places for the day) under which a point is busy (our choice: 15 %).
const DefaultBusyBelow = 0.15

// ClassAvailability is one size class of a locker on one delivery date, or
// an outlet's shelves (Size lokero.ShelfSize).
type ClassAvailability struct {
	Size  string
	Total int // compartments of the class; an outlet's shelf capacity for the day
	Free  int // neither reserved for that date nor out of order
	Level string
}

// LockerAvailability is a point's capacity on one delivery date: a
// locker's free compartments per size class after the day's reservations
// and those out of order; an outlet's free shelf places, one class of Size
// lokero.ShelfSize whose Total is its ShelfCapacity (parcels a delivery
// day) and Free that less the day's reservations.
type LockerAvailability struct {
	Date    string
	Classes []ClassAvailability // in the location's class order; an outlet's one shelf class
	Level   string              // over all classes (or those that fit, when asked with a parcel; an outlet whose limit does not take it is full)
}

// Availability tells how many compartments of each locker, and shelf
// places of each outlet, are still free for a delivery date: neither
// reserved for it nor (a compartment) out of order. An outlet's shelves
// take ShelfCapacity parcels a delivery day, reserved as the lockers' size
// classes are, under the size class lokero.ShelfSize. It reads
// every reservation of a date and every compartment out of order in two
// queries and keeps them in memory: searches never touch the database. A
// booking, or a compartment marked out of order or back, in this process
// makes the next search read again the lockers it changed (exact, through
// Changed); changes in other instances are seen within maxAge, when the
// whole day is read again. Booking itself always checks the database, and
// answers with the reason when the compartment went meanwhile.
//
// One search at a time reads a day again; the searches that come while it
// does are answered from the day as last read (at most one read older)
// instead of all going to the database at once.
type Availability struct {
	store     lokero.ShipmentStore
	broken    OutOfOrderCounter // nil: the store counts none
	clock     lokero.Clock
	maxAge    time.Duration
	busyBelow float64
	occupants OccupantCounter                     // nil: the store counts none, and nothing is carried between days
	typeOf    func(id string) lokero.LocationType // a location's type (SetCheckout), for its dwell
	dwell     dwellStore                          // the learnt dwell by locker type (LearnDwell); nil: the prior
	margin    float64                             // standard deviations of the carried count counted on top of it (SetMargin)

	generation atomic.Uint64 // bumped by every local change of reservations, under mu
	mu         sync.Mutex
	days       map[lokero.Date]*dayEntry
	recent     atomic.Pointer[dayEntry] // the entry of the date asked last: most searches ask the same date, and take no lock to find it
	changes    []change                 // the latest local changes, oldest first
	forgotten  uint64                   // the newest generation dropped from changes
}

// change is one location whose reservations this process changed, at a
// generation; "" stands for every location.
type change struct {
	generation uint64
	locationID string
}

// maxChanges bounds the log of local changes: a day read longer ago than
// that many changes is read again whole.
const maxChanges = 4096

// maxPartial is how many changed locations a day is read again for one by
// one; past that one read of the whole day is cheaper.
const maxPartial = 256

// dayEntry is one date's reservations as last read, and the lock held by
// the one search that reads them again.
type dayEntry struct {
	date    lokero.Date
	loading sync.Mutex
	current atomic.Pointer[reservedDay]
}

// reservedDay is one read of a date's reservations; never modified.
type reservedDay struct {
	generation uint64    // Availability.generation when the read began
	loadedAt   time.Time // when the whole day was last read
	// reserved is location → size class → compartments not free on the
	// day: reserved for it, or out of order (see taken).
	reserved map[string]map[string]int

	// A day read again only where it changed keeps the table of the read
	// before and the locations read again, to lay out its own table from
	// them. Cleared once its table is laid out.
	base    *freeTable
	changed []string
	// prev is the table of the read before, whichever way this one was
	// read, for what it showed (freeTable.keepShown). Cleared with base.
	prev *freeTable

	building sync.Mutex                // held while the table is laid out for a new snapshot
	table    atomic.Pointer[freeTable] // the day by the positions of the latest snapshot asked
}

// OutOfOrderCounter is a store that counts the compartments out of order
// of every locker at once, as the SQL store does (sqlstore.DB.OutOfOrder).
type OutOfOrderCounter interface {
	// OutOfOrder returns how many compartments are out of order at every
	// locker, or at the lockers given: location ID → size class → count
	// (counts above 0).
	OutOfOrder(ctx context.Context, locationIDs ...string) (map[string]map[string]int, error)
}

// NewAvailability returns the capacity view over store; when the store is
// an OutOfOrderCounter (the SQL stores are), compartments out of order are
// not free either. maxAge bounds how stale another instance's bookings may
// be seen (0: one second).
func NewAvailability(store lokero.ShipmentStore, clock lokero.Clock, maxAge time.Duration) *Availability {
	if maxAge <= 0 {
		maxAge = time.Second
	}
	broken, _ := store.(OutOfOrderCounter)
	occupants, _ := store.(OccupantCounter)
	return &Availability{store: store, broken: broken, occupants: occupants, clock: clock, maxAge: maxAge, busyBelow: DefaultBusyBelow,
		typeOf: func(string) lokero.LocationType { return lokero.TypeSmartpost }, days: map[lokero.Date]*dayEntry{}, margin: DefaultMargin}
}

// SetBusyBelow sets the share of free compartments under which a locker is
// busy (0 < share < 1). Call it before the view is used.
func (a *Availability) SetBusyBelow(share float64) error {
	if !(share > 0 && share < 1) {
		return lokero.Invalid("busy_below", "out_of_range", "the busy threshold is a share between 0 and 1; got %v", share)
	}
	a.busyBelow = share
	return nil
}

// Changed tells the view that this process changed the reservations of
// these locations, or marked a compartment of theirs out of order or back
// (after the commit): the next search of any day reads them again. Without
// ids the whole day is read again.
func (a *Availability) Changed(locationIDs ...string) {
	if a == nil {
		return
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	gen := a.generation.Add(1)
	if len(locationIDs) == 0 {
		locationIDs = []string{""}
	}
	for _, id := range locationIDs {
		a.changes = append(a.changes, change{generation: gen, locationID: id})
	}
	if n := len(a.changes); n > maxChanges {
		drop := n - maxChanges/2
		a.forgotten = a.changes[drop-1].generation
		a.changes = append(a.changes[:0], a.changes[drop:]...)
	}
}

// changedSince returns the locations changed in this process after
// generation gen and the generation they bring the day to, or false when
// the whole day must be read again: every location changed, or the log no
// longer reaches back to gen.
func (a *Availability) changedSince(gen uint64) ([]string, uint64, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if gen < a.forgotten {
		return nil, 0, false
	}
	var ids []string
	for i := len(a.changes) - 1; i >= 0 && a.changes[i].generation > gen; i-- {
		id := a.changes[i].locationID
		if id == "" {
			return nil, 0, false
		}
		if !slices.Contains(ids, id) {
			if len(ids) == maxPartial {
				return nil, 0, false
			}
			ids = append(ids, id)
		}
	}
	return ids, a.generation.Load(), true
}

// Day returns the compartments of a date that are not free, location →
// size → count: those reserved for the date and those out of order, read
// from the database when not fresh. The map must not be modified.
func (a *Availability) Day(ctx context.Context, date lokero.Date) (map[string]map[string]int, error) {
	d, err := a.day(ctx, date, time.Time{})
	if err != nil {
		return nil, err
	}
	return d.reserved, nil
}

// day returns the date's reservations: as last read when that is fresh
// (no local change since, younger than maxAge), or while another search is
// reading them again; otherwise read now. now is the view's clock's time,
// read by the caller; zero: day reads it.
func (a *Availability) day(ctx context.Context, date lokero.Date, now time.Time) (*reservedDay, error) {
	e := a.recent.Load()
	if e == nil || e.date != date {
		a.mu.Lock()
		if e = a.days[date]; e == nil {
			if len(a.days) >= 64 { // a few dates are asked at once; forget the rest
				clear(a.days)
			}
			e = &dayEntry{date: date}
			a.days[date] = e
		}
		a.recent.Store(e)
		a.mu.Unlock()
	}
	if now.IsZero() {
		now = a.clock.Now()
	}
	d := e.current.Load()
	if a.freshAt(d, now) {
		return d, nil
	}
	if d != nil && !e.loading.TryLock() {
		return d, nil // another search is reading the day again
	}
	if d == nil {
		e.loading.Lock() // nothing to answer from: wait for the first read
	}
	defer e.loading.Unlock()
	if d = e.current.Load(); a.fresh(d) {
		return d, nil // read while this search waited
	}
	if d != nil && a.young(d) {
		// Only local changes since: read again the lockers they touched.
		if ids, gen, ok := a.changedSince(d.generation); ok {
			got, err := a.read(ctx, date, ids...)
			if err != nil {
				return nil, err
			}
			reserved := maps.Clone(d.reserved)
			for _, id := range ids {
				if r, ok := got[id]; ok {
					reserved[id] = r
				} else {
					delete(reserved, id)
				}
			}
			base := d.table.Load()
			next := &reservedDay{generation: gen, loadedAt: d.loadedAt, reserved: reserved, base: base, changed: ids, prev: base}
			e.current.Store(next)
			return next, nil
		}
	}
	gen, now := a.generation.Load(), a.clock.Now()
	reserved, err := a.read(ctx, date)
	if err != nil {
		return nil, err
	}
	var prev *freeTable
	if d != nil {
		prev = d.table.Load()
	}
	d = &reservedDay{generation: gen, loadedAt: now, reserved: reserved, prev: prev}
	e.current.Store(d)
	return d, nil
}

// read reads from the database the compartments of every location, or of
// the locations given, not free on date: reserved for it, out of order, or
// expected to be still taken by the parcels of earlier days (capacity.go).
func (a *Availability) read(ctx context.Context, date lokero.Date, locationIDs ...string) (map[string]map[string]int, error) {
	reserved, err := a.store.ReservedOn(ctx, date, locationIDs...)
	if err != nil {
		return nil, fmt.Errorf("availability on %s: %w", date, err)
	}
	carried, err := a.readCarried(ctx, date, locationIDs...)
	if err != nil {
		return nil, fmt.Errorf("availability on %s: %w", date, err)
	}
	if a.broken == nil {
		return taken(reserved, carried), nil
	}
	broken, err := a.broken.OutOfOrder(ctx, locationIDs...)
	if err != nil {
		return nil, fmt.Errorf("availability on %s: %w", date, err)
	}
	return taken(taken(reserved, broken), carried), nil
}

// readCarried reads the parcels in the lockers' compartments and the
// reservations of the days from today to before date, and returns how many
// of them each locker's size classes are expected to hold at the start of
// date.
func (a *Availability) readCarried(ctx context.Context, date lokero.Date, locationIDs ...string) (map[string]map[string]int, error) {
	today := lokero.DateOf(a.clock.Now())
	if a.occupants == nil || date.Before(today) {
		return nil, nil
	}
	occ, err := a.occupants.Occupants(ctx, locationIDs...)
	if err != nil {
		return nil, err
	}
	return a.carriedInto(occ, today, date, a.typeOf, func(d lokero.Date) (map[string]map[string]int, error) {
		return a.store.ReservedOn(ctx, d, locationIDs...)
	})
}

// taken adds the compartments out of order to those reserved, in
// reserved (a map of the caller's), and returns it: neither kind is free.
// A class's free compartments are its count less both. An outlet's shelf
// place out of order is not counted: its shelves have ShelfPlacesPerDay
// places per parcel a day, and the day's capacity is what it takes in.
func taken(reserved, outOfOrder map[string]map[string]int) map[string]map[string]int {
	if reserved == nil {
		reserved = map[string]map[string]int{}
	}
	for loc, sizes := range outOfOrder {
		at := reserved[loc]
		if at == nil {
			at = make(map[string]int, len(sizes))
			reserved[loc] = at
		}
		for size, n := range sizes {
			if size != lokero.ShelfSize {
				at[size] += n
			}
		}
	}
	return reserved
}

// fresh reports whether a read of a day may still be answered from: no
// local change since, and young.
func (a *Availability) fresh(d *reservedDay) bool {
	return a.freshAt(d, a.clock.Now())
}

// freshAt is fresh at now, the view's clock's time.
func (a *Availability) freshAt(d *reservedDay, now time.Time) bool {
	return d != nil && d.generation == a.generation.Load() && youngAt(d, now, a.maxAge)
}

// young reports whether the whole day was read within maxAge.
func (a *Availability) young(d *reservedDay) bool {
	return youngAt(d, a.clock.Now(), a.maxAge)
}

// youngAt is young at now.
func youngAt(d *reservedDay, now time.Time, maxAge time.Duration) bool {
	return now.Sub(d.loadedAt) < maxAge && !now.Before(d.loadedAt)
}

// table returns a date's free compartments laid out by the positions of
// snap, laid out again only when the day was read again or the snapshot
// changed. now is the view's clock's time, read by the caller (a search
// reads it anyway, and a clock costs up to 100 ns); zero: table reads it.
func (a *Availability) table(ctx context.Context, snap *Snapshot, date lokero.Date, now time.Time) (*freeTable, error) {
	d, err := a.day(ctx, date, now)
	if err != nil {
		return nil, err
	}
	if t := d.table.Load(); t != nil && t.snap == snap {
		return t, nil
	}
	d.building.Lock()
	defer d.building.Unlock()
	t := d.table.Load()
	if t == nil || t.snap != snap {
		if d.base != nil && d.base.snap == snap {
			t = d.base.withChanges(d, d.changed)
		} else {
			t = newFreeTable(snap, d)
		}
		t.on, t.busyBelow = date.String(), a.busyBelow
		if d.prev != nil {
			t.keepShown(d.prev)
		}
		d.base, d.changed, d.prev = nil, nil, nil
		d.table.Store(t)
	}
	return t, nil
}

// freeTable is one date's free compartments of every location of a
// snapshot, by position and class: a search reads it for every candidate
// it passes, where a lookup by id in the day's map would hash each id. It
// follows the snapshot's classes (Snapshot.classOff): an outlet has one,
// its shelves.
//
// It caches, too, what an answer shows of a location (shownAt): worked out
// at the location's first hit and shared by every answer after, so that a
// search allocates nothing for its results' availability.
type freeTable struct {
	snap *Snapshot
	free []int32 // free compartments per class of Snapshot.classes; an outlet's free shelf places

	// on and busyBelow are the date, YYYY-MM-DD, and the busy share
	// what it shows was worked out for (set by Availability.table).
	on        string
	busyBelow float64
	// shown is by chunk of shownChunkLen positions, each allocated at the
	// first hit in it. A chunk belongs to no table in particular: the
	// table of the next read of the day takes over those whose free
	// compartments it finds all the same (keepShown). Entries are only
	// ever set, never changed.
	shown  []atomic.Pointer[shownChunk]
	nShown atomic.Int64 // entries cached, about; none are added past maxShown
}

// shownChunk is what a freeTable shows of shownChunk consecutive
// positions, and how many of them are set.
type shownChunk struct {
	at [shownChunkLen]atomic.Pointer[LockerAvailability]
	n  atomic.Int64
}

// shownChunkLen is the positions a shownChunk covers: 256 keeps the chunk
// directory small (400 entries for 100,000 locations) and a chunk whose
// free compartments changed cheap to leave behind.
const shownChunkLen = 256

// maxShown bounds the entries a table caches, and so the memory a date's
// answers hold (about 150 bytes an entry); past it answers are worked out
// for each search, as they would be without the cache.
const maxShown = 1 << 15

func newFreeTable(snap *Snapshot, d *reservedDay) *freeTable {
	t := &freeTable{snap: snap, free: make([]int32, len(snap.classes)), shown: newShown(len(snap.locs))}
	for pos := range snap.locs {
		t.fill(pos, d)
	}
	return t
}

// newShown returns an empty cache of what is shown of n locations.
func newShown(n int) []atomic.Pointer[shownChunk] {
	return make([]atomic.Pointer[shownChunk], (n+shownChunkLen-1)/shownChunkLen)
}

// keepShown takes over what prev, a table of the day read before, shows
// of the chunks of positions whose free compartments are all as in t,
// when both were worked out alike (same snapshot, date and busy share):
// the answers are the same. A booking changes a chunk or two; the rest
// stay cached.
func (t *freeTable) keepShown(prev *freeTable) {
	if prev.snap != t.snap || prev.on != t.on || prev.busyBelow != t.busyBelow || len(prev.shown) != len(t.shown) {
		return
	}
	off := t.snap.classOff
	for ci := range prev.shown {
		ch := prev.shown[ci].Load()
		if ch == nil {
			continue
		}
		lo, hi := ci*shownChunkLen, min((ci+1)*shownChunkLen, len(t.snap.locs))
		if !slices.Equal(t.free[off[lo]:off[hi]], prev.free[off[lo]:off[hi]]) {
			continue
		}
		t.shown[ci].Store(ch)
		t.nShown.Add(ch.n.Load())
	}
}

// withChanges returns a copy of t with the locations ids laid out again
// from d (t is shared with searches and never changed).
func (t *freeTable) withChanges(d *reservedDay, ids []string) *freeTable {
	next := &freeTable{snap: t.snap, free: slices.Clone(t.free), shown: newShown(len(t.snap.locs))}
	for _, id := range ids {
		if pos, ok := t.snap.byID[id]; ok {
			next.fill(pos, d)
		}
	}
	return next
}

// fill lays out the free compartments (shelf places) of the location at
// pos from d.
func (t *freeTable) fill(pos int, d *reservedDay) {
	lo, hi := t.snap.classOff[pos], t.snap.classOff[pos+1]
	if lo == hi {
		return
	}
	at := d.reserved[t.snap.locs[pos].ID]
	for j, c := range t.snap.classes[lo:hi] {
		t.free[int(lo)+j] = int32(max(c.Count-at[c.Size], 0))
	}
}

// hasFree is HasFree for the location at position pos of the snapshot.
func (t *freeTable) hasFree(pos int, dims *[3]float64) bool {
	lo, hi := t.snap.classOff[pos], t.snap.classOff[pos+1]
	free := t.free[lo:hi]
	for j := range free {
		if free[j] > 0 && (dims == nil || t.snap.classes[int(lo)+j].Fits(*dims)) {
			return true
		}
	}
	return false
}

// ofTable returns the availability on date of the locker or outlet at
// position pos of the table's snapshot; with dims, the overall level
// counts only the classes that take the parcel (an outlet's shelves when
// its limit takes it; none: full).
func (a *Availability) ofTable(t *freeTable, pos int, date string, dims *[3]float64) LockerAvailability {
	c := t.snap.classRef(pos)
	return a.ofClasses(t, c, date, dims, make([]ClassAvailability, c.n))
}

// ofClasses is ofTable for the location whose classes c are, writing them
// into out, which has room for exactly them.
func (a *Availability) ofClasses(t *freeTable, c classRef, date string, dims *[3]float64, out []ClassAvailability) LockerAvailability {
	free, rows := t.free[c.off:c.off+c.n], t.snap.classRows[c.off:c.off+c.n]
	total, sumFree := 0, 0
	for j := range rows {
		f, n := int(free[j]), int(rows[j].total)
		out[j] = ClassAvailability{Size: t.snap.sizes[rows[j].size], Total: n, Free: f, Level: a.level(f, n)}
		if dims == nil || t.snap.classes[int(c.off)+j].Fits(*dims) {
			total += n
			sumFree += f
		}
	}
	return LockerAvailability{Date: date, Classes: out, Level: a.level(sumFree, total)}
}

// cachedShown returns what t shows of the location at pos when it is
// cached, or nil: shownAt's fast path, small enough to be inlined.
func (t *freeTable) cachedShown(pos int32) *LockerAvailability {
	if ch := t.shown[uint32(pos)/shownChunkLen].Load(); ch != nil {
		return ch.at[uint32(pos)%shownChunkLen].Load()
	}
	return nil
}

// shownAt returns the availability, shown without a parcel, of the
// location at pos on the table's date: cached in t, or worked out now
// (and cached, up to maxShown). The caller checks that the table shows
// what it asks (the date, the busy share). Shared: never to be modified.
func (a *Availability) shownAt(t *freeTable, pos int32) *LockerAvailability {
	if s := t.cachedShown(pos); s != nil {
		return s
	}
	ci := uint32(pos) / shownChunkLen
	ch := t.shown[ci].Load()
	c := t.snap.classRef(int(pos))
	var s *LockerAvailability
	if c.n == 1 { // an outlet (its shelves), or a locker of one class: one allocation
		one := &struct {
			LockerAvailability
			classes [1]ClassAvailability
		}{}
		one.LockerAvailability = a.ofClasses(t, c, t.on, nil, one.classes[:])
		s = &one.LockerAvailability
	} else {
		av := a.ofClasses(t, c, t.on, nil, make([]ClassAvailability, c.n))
		s = &av
	}
	if t.nShown.Load() >= maxShown {
		return s
	}
	if ch == nil {
		ch = &shownChunk{}
		if !t.shown[ci].CompareAndSwap(nil, ch) {
			ch = t.shown[ci].Load()
		}
	}
	if !ch.at[uint32(pos)%shownChunkLen].CompareAndSwap(nil, s) {
		return ch.at[uint32(pos)%shownChunkLen].Load() // another search's, the same
	}
	ch.n.Add(1)
	t.nShown.Add(1)
	return s
}

// addTo sets the availability on date of each of a search's results, the
// location at the position at has at the same index, from t. Without a
// parcel each result shares what the table shows (shownAt), and a search
// allocates nothing for it; with one, the results share the classes and
// get a level of their own, in one allocation for the whole answer.
func (a *Availability) addTo(results []LocationResult, at []int32, t *freeTable, date string, dims *[3]float64) {
	if len(results) == 0 {
		return
	}
	if date == t.on && a.busyBelow == t.busyBelow {
		if dims == nil {
			for i, pos := range at {
				s := t.cachedShown(pos)
				if s == nil {
					s = a.shownAt(t, pos)
				}
				results[i].Availability = s
			}
			return
		}
		avs := make([]LockerAvailability, len(results))
		for i, pos := range at {
			s := a.shownAt(t, pos)
			c := t.snap.classRef(int(pos))
			total, free := 0, 0
			for j := range s.Classes {
				if t.snap.classes[int(c.off)+j].Fits(*dims) {
					total += s.Classes[j].Total
					free += s.Classes[j].Free
				}
			}
			avs[i] = LockerAvailability{Date: s.Date, Classes: s.Classes, Level: a.level(free, total)}
			results[i].Availability = &avs[i]
		}
		return
	}
	n := 0
	for _, pos := range at {
		n += int(t.snap.classOff[pos+1] - t.snap.classOff[pos])
	}
	avs := make([]LockerAvailability, len(results))
	classes := make([]ClassAvailability, n)
	for i, pos := range at {
		c := t.snap.classRef(int(pos))
		// Capped at its own classes: an append to one result's list
		// cannot write over the next one's.
		avs[i] = a.ofClasses(t, c, date, dims, classes[:c.n:c.n])
		classes = classes[c.n:]
		results[i].Availability = &avs[i]
	}
}

// HasFree reports whether a locker has a free compartment on the day that
// takes the parcel (any compartment, without dims), or an outlet whose
// limit takes it a free shelf place for the day, given the compartments
// and shelf places not free (Availability.Day); it allocates nothing.
func HasFree(l *lokero.Location, reserved map[string]map[string]int, dims *[3]float64) bool {
	if l.Type.IsOutlet() {
		return (dims == nil || l.Fits(*dims)) && l.ShelfCapacity > reserved[l.ID][lokero.ShelfSize]
	}
	var at map[string]int // looked up once a class fits
	for _, c := range l.Compartments {
		if c.Count == 0 || dims != nil && !c.Fits(*dims) {
			continue
		}
		if at == nil {
			if at = reserved[l.ID]; at == nil {
				return true // nothing reserved there
			}
		}
		if c.Count > at[c.Size] {
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
