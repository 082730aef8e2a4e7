// Package service holds lokero's use cases. Each one reads and writes
// through the store interfaces of package lokero and applies the pure rules
// of the rule packages (postcode, geo, address); it is the only place that
// orchestrates them.
package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/address"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/geo"
	"github.com/lokero/lokero/postcode"
)

// Search limits.
const (
	DefaultLimit = 10
	MaxLimit     = 100
)

// Directory is the pickup-point directory: the locations of the store, held
// in memory in an immutable snapshot with a spatial index so that searches
// never touch the database. Reload replaces the snapshot.
type Directory struct {
	store     lokero.LocationStore
	postcodes *postcode.Registry
	clock     lokero.Clock
	log       *slog.Logger

	snap     atomic.Pointer[Snapshot]
	reloadMu sync.Mutex
	// version is the store's DirectoryVersion the snapshot was read at;
	// loaded, whether one was (under reloadMu).
	version int64
	loaded  bool

	calendar     *calendar.Calendar // the next delivery date; nil: today
	availability *Availability      // lockers' free compartments and outlets' free shelf places; nil: not shown
	sharedClock  bool               // availability's clock is the directory's: a search hands it the time it read

	neighbors sync.Pool                   // *[]geo.Neighbor: the searches' buffers, so that a search allocates only its answer
	day       atomic.Pointer[deliveryDay] // the delivery date of the latest minute asked
}

// deliveryDay is the delivery date worked out for one minute: it changes
// at most once a minute (the cut-off is a whole minute, and Helsinki's
// offsets from UTC whole hours), and every search without a date asks.
type deliveryDay struct {
	calendar *calendar.Calendar // the calendar it was worked out with
	minute   int64              // the Unix minute
	date     lokero.Date
	on       string // date, YYYY-MM-DD
	weekday  uint8  // 1 << its weekday, as posInfo.days has it
}

// deliveryDay returns the delivery date of a parcel booked at now.
func (d *Directory) deliveryDay(now time.Time) *deliveryDay {
	sec := now.Unix()
	minute := sec / 60
	if sec%60 < 0 {
		minute-- // floor, before 1970
	}
	cal := d.calendar
	if day := d.day.Load(); day != nil && day.minute == minute && day.calendar == cal {
		return day
	}
	day := &deliveryDay{calendar: cal, minute: minute}
	if cal == nil {
		day.date = lokero.DateOf(now)
	} else {
		day.date = cal.DeliveryDate(now)
	}
	day.on = day.date.String()
	day.weekday = uint8(1) << lokero.WeekdayOn(day.on)
	d.day.Store(day)
	return day
}

// SetCheckout gives the directory what checkout searches need: the
// delivery calendar (the default date a point must be open on) and the
// capacity view (lockers' compartments, outlets' shelf places).
func (d *Directory) SetCheckout(cal *calendar.Calendar, a *Availability) {
	d.calendar, d.availability = cal, a
	d.sharedClock = a != nil && sameClock(d.clock, a.clock)
	if a != nil {
		a.typeOf = func(id string) lokero.LocationType {
			if l := d.Snapshot().ByID(id); l != nil {
				return l.Type
			}
			return ""
		}
	}
}

// sameClock reports whether a and b are surely the same clock: the same
// pointer, or values of the same empty type (lokero.SystemClock). Other
// values are not compared: == may panic on them, or take copies for one.
func sameClock(a, b lokero.Clock) bool {
	t := reflect.TypeOf(a)
	if t == nil || t != reflect.TypeOf(b) {
		return false
	}
	switch {
	case t.Kind() == reflect.Pointer:
		return a == b
	case t.Kind() == reflect.Struct && t.Size() == 0:
		return true
	}
	return false
}

// Availability returns the capacity view of lockers and outlets, or nil.
func (d *Directory) Availability() *Availability { return d.availability }

// reservationsChanged tells the capacity view that this process changed
// the reservations of these locations (after the commit): the next search
// reads them again.
func (d *Directory) reservationsChanged(locationIDs ...string) {
	d.availability.Changed(locationIDs...)
}

// DeliveryDate returns the date a parcel booked now is delivered: the date
// searches check points against unless asked for another.
func (d *Directory) DeliveryDate() lokero.Date {
	return d.deliveryDay(d.clock.Now()).date
}

// NewDirectory returns a directory over store. Call Reload before the first
// search.
func NewDirectory(store lokero.LocationStore, postcodes *postcode.Registry, clock lokero.Clock, log *slog.Logger) *Directory {
	d := &Directory{store: store, postcodes: postcodes, clock: clock, log: log}
	d.snap.Store(NewSnapshot(nil, postcodes.BaseCode))
	return d
}

// Postcodes returns the postal code registry the directory checks against.
func (d *Directory) Postcodes() *postcode.Registry { return d.postcodes }

// Snapshot returns the current immutable view of the directory.
func (d *Directory) Snapshot() *Snapshot { return d.snap.Load() }

// Reload reads every location from the store and swaps in a new snapshot,
// unless the store's DirectoryVersion says nothing changed since the last
// read (then it costs one small query, however often serve reloads). An
// outlet read without its own parcel limit or shelf capacity gets its
// type's defaults (outletDefaults).
func (d *Directory) Reload(ctx context.Context) error {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	// Read before the locations: a write between the two makes the next
	// reload read them again, never miss them.
	version, err := d.store.DirectoryVersion(ctx)
	if err != nil {
		return fmt.Errorf("reload directory: %w", err)
	}
	if d.loaded && version == d.version {
		return nil
	}
	locs, err := d.store.Locations(ctx)
	if err != nil {
		return fmt.Errorf("reload directory: %w", err)
	}
	d.version, d.loaded = version, true
	for i := range locs {
		outletDefaults(&locs[i])
	}
	if reflect.DeepEqual(locs, d.Snapshot().locs) {
		return nil // unchanged: keep the snapshot and the caches built on it
	}
	d.snap.Store(NewSnapshot(locs, d.postcodes.BaseCode))
	return nil
}

// outletDefaults gives an outlet without its own parcel limit or shelf
// capacity its type's defaults (lokero.DefaultOutletLimit), as Normalize
// does on import: a store that does not keep them, or a row written before
// it did, must not leave an outlet that takes nothing. Validate refuses a
// zero limit or capacity, so a zero is never the operator's choice.
func outletDefaults(l *lokero.Location) {
	if !l.Type.IsOutlet() {
		return
	}
	limit, shelf := lokero.DefaultOutletLimit(l.Type)
	if l.MaxParcel.IsZero() {
		l.MaxParcel = limit
	}
	if l.ShelfCapacity == 0 {
		l.ShelfCapacity = shelf
	}
}

// Import validates locations and upserts them, then reloads the snapshot.
// Every location's postal code must be in the registry, and a building has
// at most one LOCKER (ImportCheck).
func (d *Directory) Import(ctx context.Context, locs []lokero.Location) (lokero.UpsertResult, error) {
	return d.ImportKeeping(ctx, locs, nil)
}

// ImportKeeping is Import that lets keep(i, stored) change locs[i] from
// its stored row (locationfile.Kept.Apply: the operator's fields a file
// leaves out). keep runs inside the store's transaction, on the row read
// locked (LocationStore.UpsertLocationsKeeping), so that an operator's
// change committed after this import began is kept, not undone by a copy
// read before; what it leaves is checked again (ValidateLocation). A nil
// keep is Import.
func (d *Directory) ImportKeeping(ctx context.Context, locs []lokero.Location, keep func(i int, stored *lokero.Location)) (lokero.UpsertResult, error) {
	now := d.clock.Now().UTC()
	check := d.ImportCheck()
	for i := range locs {
		l := &locs[i]
		l.Normalize()
		if err := check(l); err != nil {
			return lokero.UpsertResult{}, fmt.Errorf("location %q: %w", l.ID, err)
		}
		l.CreatedAt, l.UpdatedAt = now, now
	}
	var merge func(int, *lokero.Location) error
	if keep != nil {
		merge = func(i int, stored *lokero.Location) error {
			l := &locs[i]
			keep(i, stored)
			l.Normalize()
			if err := d.ValidateLocation(l); err != nil {
				return fmt.Errorf("location %q: %w", l.ID, err)
			}
			return nil
		}
	}
	res, err := d.store.UpsertLocationsKeeping(ctx, locs, merge)
	if err != nil {
		return res, fmt.Errorf("import locations: %w", err)
	}
	return res, d.Reload(ctx)
}

// ImportCheck returns the check of one import's locations, in the order
// the file lists them: ValidateLocation, and one LOCKER per building. A
// second LOCKER at a building that has one (in the directory or earlier in
// the same import) is refused, naming the first: routing would otherwise
// switch the building's parcels to whichever it met first. (A SMARTPOST in
// the same building is fine: it serves the public too.)
func (d *Directory) ImportCheck() func(*lokero.Location) error {
	snap := d.Snapshot()
	seen := map[string]string{} // building key → the id of the file's LOCKER there
	return func(l *lokero.Location) error {
		if err := d.ValidateLocation(l); err != nil {
			return err
		}
		if l.Type != lokero.TypeLocker {
			return nil
		}
		// ValidateLocation refused a LOCKER without a house number; the
		// check stays so that no key is ever a whole area's "base|".
		var keys []string
		for _, street := range []string{l.Street, l.StreetSV} {
			if key, ok := buildingKey(snap.base(l.Postcode), street); ok {
				keys = append(keys, key)
			}
		}
		for _, key := range keys {
			if first, ok := seen[key]; ok && first != l.ID {
				return lokero.Invalid("street", "second_locker_in_building",
					"the building at %s %s already has LOCKER %s earlier in this file: one LOCKER per building", l.Street, l.Postcode, first)
			}
			for _, i := range snap.buildings[key] {
				if other := &snap.locs[i]; other.Type == lokero.TypeLocker && other.ID != l.ID {
					return lokero.Invalid("street", "second_locker_in_building",
						"the building at %s %s already has LOCKER %s (%s): one LOCKER per building; change that one, or remove it first", l.Street, l.Postcode, other.ID, other.Name)
				}
			}
		}
		for _, key := range keys {
			seen[key] = l.ID
		}
		return nil
	}
}

// ValidateLocation checks a (normalised) location against the directory's
// rules, including that its postal code is known and that a LOCKER sits at
// a locker postal code (ending in 4).
func (d *Directory) ValidateLocation(l *lokero.Location) error {
	if err := l.Validate(); err != nil {
		return err
	}
	info, err := d.postcodes.Lookup(l.Postcode)
	if err != nil {
		return lokero.Invalid("postcode", "unknown_postcode", "postcode %s is not in the postal code registry", l.Postcode)
	}
	if l.Type == lokero.TypeLocker && info.Kind != lokero.PostcodeLocker {
		return lokero.Invalid("postcode", "not_a_locker_postcode",
			"a LOCKER has its building's postcode ending in 4 (e.g. 00104 for a building at 00100); %s is a postcode of kind %s", l.Postcode, info.Kind)
	}
	return nil
}

// Location returns one location by id from the snapshot.
func (d *Directory) Location(id string) (*lokero.Location, error) {
	if l := d.Snapshot().ByID(id); l != nil {
		return l, nil
	}
	return nil, unknownLocation(id)
}

// unknownLocation is the ENOTFOUND of an id the directory does not have.
func unknownLocation(id string) error {
	return &lokero.Error{Code: lokero.ENOTFOUND, Reason: "unknown_location", Field: "id", Message: fmt.Sprintf("no location with id %q", id)}
}

// MaxDeliveryDays is how far ahead a search may ask about a delivery
// date: a year.
const MaxDeliveryDays = 366

// CheckDeliveryDate checks a delivery date a search asks about: a date
// YYYY-MM-DD from today to MaxDeliveryDays ahead (a parcel is delivered
// from today on, and nobody books a year ahead); otherwise EINVALID naming
// delivery_date.
func (d *Directory) CheckDeliveryDate(date string) error {
	_, err := d.parseDeliveryDate(date)
	return err
}

// parseDeliveryDate is CheckDeliveryDate returning the date it checked.
func (d *Directory) parseDeliveryDate(date string) (lokero.Date, error) {
	day, err := lokero.ParseDate(date)
	if err != nil {
		return lokero.Date{}, lokero.Invalid("delivery_date", "malformed", "delivery_date must be a date YYYY-MM-DD; got %q", truncateText(date, 32))
	}
	today := lokero.DateOf(d.clock.Now())
	if last := today.AddDays(MaxDeliveryDays); day.Before(today) || day.After(last) {
		return lokero.Date{}, lokero.Invalid("delivery_date", "out_of_range", "delivery_date must be from today, %s, to %s; got %s", today, last, day)
	}
	return day, nil
}

// LocationQuery is a search of the directory. The zero value lists the
// first locations by id.
type LocationQuery struct {
	Postcode        string                // a postal area: origin when Origin is nil; with Street, finds the building's LOCKER
	Street          string                // the recipient's street address; only with Postcode
	Origin          *geo.Point            // nearest first from here
	Types           []lokero.LocationType // empty: every type
	PaymentTerminal bool                  // only locations with a payment terminal
	Fits            *[3]float64           // only points that take this parcel (cm, any orientation): a locker's compartment class, an outlet's limit
	Limit           int                   // 0: DefaultLimit

	DeliveryDate  string   // YYYY-MM-DD the point must be open on; "": the next delivery date
	IncludeClosed bool     // list points closed on that date too (each result says why)
	COD           bool     // only points where cash on delivery can be paid
	Wheelchair    bool     // only points with wheelchair access
	OpenNow       bool     // only points open at this moment
	Functions     []string // only points offering all of these (collect, send, return)
	Available     bool     // only lockers with a free compartment (that takes Fits), and outlets (that take Fits) with a free shelf place, on the date
}

// LocationResult is one search hit.
//
// Location and Availability are shared with the directory and with other
// answers: callers must not modify what they point to.
type LocationResult struct {
	Location     *lokero.Location
	DistanceM    float64
	Date         string              // the delivery date the result was checked against
	ClosedReason string              // why not, when not
	Availability *LockerAvailability // a locker's or an outlet's capacity on that date (nil without a capacity view)
	HasDistance  bool                // DistanceM is set: the search had an origin
	Open         bool                // open on that date
}

// Search finds locations, nearest first when the query has an origin (its
// coordinates, or its postal area's point). A residents-only point (a
// LOCKER, or any point with access residents: ResidentsOnly) serves only
// the residents of its building: it is listed only when the query names a
// street address with a house number in that building with the building's
// or the locker's postal code, and then first, since it is the
// recipient's own.
func (d *Directory) Search(ctx context.Context, q LocationQuery) ([]LocationResult, error) {
	if q.Limit == 0 {
		q.Limit = DefaultLimit
	}
	if q.Limit < 1 || q.Limit > MaxLimit {
		return nil, lokero.Invalid("limit", "out_of_range", "limit must be 1..%d; got %d", MaxLimit, q.Limit)
	}
	if q.Street != "" && q.Postcode == "" {
		return nil, lokero.Invalid("street", "postcode_required", "a street address needs its postcode to find the building's locker")
	}
	origin := q.Origin
	if q.Postcode != "" {
		info, err := d.postcodes.Lookup(q.Postcode)
		if err != nil {
			// ErrorCode only here: the error it looks into costs an
			// allocation wherever it is asked.
			if lokero.ErrorCode(err) == lokero.ENOTFOUND {
				return nil, lokero.Invalid("postcode", "unknown_postcode", "postcode %s is not a Finnish postal code", q.Postcode)
			}
			return nil, err
		}
		q.Postcode = info.Code
		if origin == nil && info.HasPoint {
			origin = &geo.Point{Lat: info.Point.Lat, Lon: info.Point.Lon}
		}
	}
	// date is the delivery date; on is the same written YYYY-MM-DD, as
	// the location status fields OpenOn compares it with are.
	date, on := lokero.Date{}, q.DeliveryDate
	if on != "" {
		var err error
		if date, err = d.parseDeliveryDate(on); err != nil {
			return nil, err
		}
	}
	for _, f := range q.Functions {
		if !slices.Contains(lokero.LocationFunctions, f) {
			return nil, lokero.Invalid("functions", "unknown_function", "functions are collect, send and return; got %q", f)
		}
	}
	snap := d.Snapshot()
	var mask uint8
	for _, t := range q.Types {
		mask |= typeBit(t)
	}
	if mask == 0 {
		mask = allTypes
	}
	var now time.Time
	if on == "" || q.OpenNow {
		now = d.clock.Now()
	}
	var weekday uint8 // the date's weekday bit, as posInfo.days has it
	if on == "" {
		day := d.deliveryDay(now)
		date, on, weekday = day.date, day.on, day.weekday
	} else {
		weekday = uint8(1) << lokero.WeekdayOn(on)
	}
	var free *freeTable
	if d.availability != nil {
		var clock time.Time // zero: the view reads its own
		if d.sharedClock {
			clock = now
		}
		var err error
		if free, err = d.availability.table(ctx, snap, date, clock); err != nil {
			return nil, err
		}
	}
	if q.Available && d.availability == nil {
		return nil, lokero.Invalid("available", "unsupported", "this server does not track compartments and shelf places")
	}
	// byLocation: a filter that reads the Location itself.
	byLocation := q.PaymentTerminal || q.COD || q.Wheelchair || len(q.Functions) > 0 || q.OpenNow
	// keep says whether the location at position pos, whose posInfo is in,
	// answers the query.
	keep := func(pos int, in posInfo) bool {
		// Cheap tests first, from the snapshot's tables; with available,
		// hasFree checks the fit too (an outlet's by its limit, a
		// locker's by its classes).
		if mask&in.bits == 0 {
			return false
		}
		if !q.IncludeClosed {
			if in.plain {
				if in.days&weekday == 0 {
					return false
				}
			} else if !snap.locs[pos].OpenOn(on) {
				return false
			}
		}
		if q.Available {
			if !free.hasFree(pos, q.Fits) {
				return false
			}
		} else if q.Fits != nil && !snap.fits(pos, in.bits, q.Fits) {
			return false
		}
		if !byLocation {
			return true
		}
		l := &snap.locs[pos]
		return (!q.PaymentTerminal || l.PaymentTerminal) &&
			(!q.COD || l.TakesCOD()) &&
			(!q.Wheelchair || l.WheelchairAccess) &&
			(len(q.Functions) == 0 || hasAll(l, q.Functions)) &&
			(!q.OpenNow || l.OpenAt(now))
	}
	// at holds each result's position, for its availability.
	var at [MaxLimit]int32
	results := make([]LocationResult, 0, q.Limit)
	// add appends the hit at pos, at distanceM when hasDistance: its
	// status on the date (without include_closed, keep let only open
	// points through). The caller sees that there is room for it.
	add := func(pos int, distanceM float64, hasDistance bool) {
		l := &snap.locs[pos]
		at[len(results)] = int32(pos)
		results = results[:len(results)+1]
		r := &results[len(results)-1]
		r.Location, r.DistanceM, r.HasDistance, r.Date = l, distanceM, hasDistance, on
		r.Open = !q.IncludeClosed || l.OpenOn(on)
		if !r.Open {
			r.ClosedReason = l.ClosedReason(on)
		}
	}
	if q.Street != "" {
		for _, pos := range snap.building(q.Postcode, q.Street) {
			// Only the residents-only points: the public ones there come
			// from the index, by distance. keep checks the type.
			if ResidentsOnly(&snap.locs[pos]) && len(results) < q.Limit && keep(pos, snap.info[pos]) {
				dist, has := distanceFrom(origin, &snap.locs[pos])
				add(pos, dist, has)
			}
		}
	}
	switch {
	case len(results) == q.Limit:
	case origin == nil:
		for pos := range snap.locs {
			if !ResidentsOnly(&snap.locs[pos]) && keep(pos, snap.info[pos]) {
				add(pos, 0, false)
				if len(results) == q.Limit {
					break
				}
			}
		}
	default:
		// Public points from the index (residents-only points are never
		// in it), its
		// items numbered by position. The walk itself drops the
		// candidates of another type and the plain points closed on the
		// date, from their tags; keep hears of the others only when a
		// filter reads more than the tag.
		f := geo.TagFilter{Any: [2]uint32{uint32(mask)}, Keep: func(pos int, t uint32) bool { return keep(pos, untag(t)) }}
		if !q.IncludeClosed {
			f.Any[1] = uint32(weekday) << 8
		}
		if !byLocation && !q.Available && q.Fits == nil {
			if q.IncludeClosed {
				f.Keep = nil
			} else {
				f.Settled = tagPlain // a plain point open on the date is in
			}
		}
		nbrs, _ := d.neighbors.Get().(*[]geo.Neighbor)
		if nbrs == nil {
			nbrs = &[]geo.Neighbor{}
		}
		*nbrs = snap.indexFor(mask).NearestFiltered(*origin, q.Limit-len(results), f, 0, (*nbrs)[:0])
		for _, n := range *nbrs {
			add(n.Item, n.DistanceM, true)
		}
		d.neighbors.Put(nbrs)
	}
	if d.availability != nil {
		d.availability.addTo(results, at[:len(results)], free, on, q.Fits)
	}
	return results, nil
}

// hasAll reports whether a location offers every function asked for.
func hasAll(l *lokero.Location, functions []string) bool {
	for _, f := range functions {
		if !l.Has(f) {
			return false
		}
	}
	return true
}

// distanceFrom returns the distance of l from origin, and whether there
// is one (origin is not nil).
func distanceFrom(origin *geo.Point, l *lokero.Location) (float64, bool) {
	if origin == nil {
		return 0, false
	}
	return geo.Distance(*origin, geo.Point{Lat: l.Lat, Lon: l.Lon}), true
}

// Snapshot is an immutable view of the directory with its indexes.
type Snapshot struct {
	locs []lokero.Location
	byID map[string]int
	// public and byType index points by position (their items are
	// positions in locs), each tagged with its posInfo (tag), so that a
	// search's filter reads, for most candidates, nothing but the tree.
	public    *geo.Index               // every point but the residents-only ones (ResidentsOnly)
	byType    [allTypes + 1]*geo.Index // a mask of one public type → its public points alone; nil otherwise
	buildings map[string][]int         // base postcode + building key → positions of the lockers (LOCKER, SMARTPOST) and residents-only points there
	base      func(string) string
	// info is by position, so that a search's filter reads no string and
	// touches no Location.
	info []posInfo
	// classes holds every location's classes in position order, from
	// classOff[pos] to classOff[pos+1]: a locker's compartment classes, an
	// outlet's shelves as one class (see shelfClass). Availability reads
	// them instead of the Location.
	classOff []int32
	classes  []lokero.CompartmentClass
	// classRows is by class too: what an answer shows of it in 8 bytes,
	// where a CompartmentClass takes 48.
	classRows []classRow
	sizes     []string // the classes' distinct sizes
}

// classRow is a class's count (an outlet's shelf capacity) and its size,
// as an index in Snapshot.sizes.
type classRow struct {
	total int32
	size  uint32
}

// posInfo is what a search's filter reads of a location: its type bit and
// the weekdays open of a plain point (lokero.Location.OpenWeekdays; plain
// false: ask OpenOn).
type posInfo struct {
	bits  uint8
	days  uint8
	plain bool
}

// classRef is where a location's classes are in Snapshot.classes.
type classRef struct {
	off, n int32
}

// classRef returns where the classes of the location at pos are.
func (s *Snapshot) classRef(pos int) classRef {
	return classRef{off: s.classOff[pos], n: s.classOff[pos+1] - s.classOff[pos]}
}

// tagPlain is the tag bit of a plain point (posInfo.plain).
const tagPlain = 1 << 16

// tag packs a posInfo into an index tag: the type bit in bits 0-7, the
// weekdays open in bits 8-15, and plain in bit 16. A point that is not
// plain has every weekday's bit, so that a filter on the tag's weekday
// lets it through to OpenOn.
func tag(in posInfo) uint32 {
	if !in.plain {
		return uint32(in.bits) | 0xFF<<8
	}
	return uint32(in.bits) | uint32(in.days)<<8 | tagPlain
}

// untag unpacks a tag: the posInfo it was made of, but for the weekdays
// of a point that is not plain, which nothing reads.
func untag(t uint32) posInfo {
	return posInfo{bits: uint8(t), days: uint8(t >> 8), plain: t&tagPlain != 0}
}

// newPointIndex indexes the locations for which keep is true, each as
// the item of its position, tagged with its posInfo.
func newPointIndex(s *Snapshot, keep func(*lokero.Location) bool) *geo.Index {
	var points []geo.Point
	var items []int32
	var tags []uint32
	for i := range s.locs {
		if l := &s.locs[i]; keep(l) {
			points = append(points, geo.Point{Lat: l.Lat, Lon: l.Lon})
			items = append(items, int32(i))
			tags = append(tags, tag(s.info[i]))
		}
	}
	return geo.NewNumberedIndex(points, items, tags)
}

// indexFor returns the smallest index holding every type of mask: a
// query that can only match SMARTPOSTs (type=SMARTPOST) walks past no post
// office.
func (s *Snapshot) indexFor(mask uint8) *geo.Index {
	if ix := s.byType[mask&publicTypes]; ix != nil {
		return ix
	}
	return s.public
}

// fits is lokero.Location.Fits for the location at pos, whose type bit is
// bits, read from the snapshot's classes.
func (s *Snapshot) fits(pos int, bits uint8, dims *[3]float64) bool {
	cs := s.classes[s.classOff[pos]:s.classOff[pos+1]]
	if bits&outletTypes != 0 {
		return cs[0].Fits(*dims) // the outlet's limit
	}
	for i := range cs {
		if cs[i].Count > 0 && cs[i].Fits(*dims) {
			return true
		}
	}
	return false
}

// shelfClass is an outlet's shelves as a class: its parcel limit's box,
// so that the class fits what the outlet takes, and its shelf capacity.
func shelfClass(l *lokero.Location) lokero.CompartmentClass {
	m := l.MaxParcel
	return lokero.CompartmentClass{Size: lokero.ShelfSize, LengthCM: m.LengthCM, WidthCM: m.WidthCM, HeightCM: m.HeightCM, Count: l.ShelfCapacity}
}

// NewSnapshot indexes locs (ordered by id, as the store returns them);
// base maps a postal code to its ordinary area code (00104 → 00100), the
// postal area of a LOCKER's building.
func NewSnapshot(locs []lokero.Location, base func(code string) string) *Snapshot {
	s := &Snapshot{locs: locs, byID: make(map[string]int, len(locs)), buildings: map[string][]int{}, base: base,
		info: make([]posInfo, len(locs)), classOff: make([]int32, len(locs)+1)}
	for i := range locs {
		l := &locs[i]
		s.byID[l.ID] = i
		s.info[i].bits = typeBit(l.Type)
		s.info[i].days, s.info[i].plain = l.OpenWeekdays()
		s.classOff[i] = int32(len(s.classes))
		if l.Type.IsOutlet() {
			s.classes = append(s.classes, shelfClass(l))
		} else {
			s.classes = append(s.classes, l.Compartments...)
		}
		if l.Type.IsLocker() || ResidentsOnly(l) {
			// A building is found by its Finnish or its Swedish address;
			// an address without a house number (stored before
			// ValidateLocation refused it) names no building.
			key, ok := buildingKey(base(l.Postcode), l.Street)
			if ok {
				s.buildings[key] = append(s.buildings[key], i)
			}
			if l.StreetSV != "" {
				if sv, svOK := buildingKey(base(l.Postcode), l.StreetSV); svOK && sv != key {
					s.buildings[sv] = append(s.buildings[sv], i)
				}
			}
		}
	}
	s.classOff[len(locs)] = int32(len(s.classes))
	s.classRows = make([]classRow, len(s.classes))
	sizeIndex := map[string]uint32{}
	for i, c := range s.classes {
		j, ok := sizeIndex[c.Size]
		if !ok {
			j = uint32(len(s.sizes))
			sizeIndex[c.Size] = j
			s.sizes = append(s.sizes, c.Size)
		}
		s.classRows[i] = classRow{total: int32(c.Count), size: j}
	}
	// A residents-only point is never listed by distance: only for an
	// address in its building (Search's street loop, LockersAt).
	s.public = newPointIndex(s, func(l *lokero.Location) bool { return !ResidentsOnly(l) })
	for _, t := range lokero.LocationTypes {
		if t != lokero.TypeLocker {
			s.byType[typeBit(t)] = newPointIndex(s, func(l *lokero.Location) bool { return l.Type == t && !ResidentsOnly(l) })
		}
	}
	return s
}

// Len returns the number of locations.
func (s *Snapshot) Len() int { return len(s.locs) }

// Locations returns every location, ordered by id. Callers must not modify it.
func (s *Snapshot) Locations() []lokero.Location { return s.locs }

// ByID returns the location with the id, or nil.
func (s *Snapshot) ByID(id string) *lokero.Location {
	if i, ok := s.byID[id]; ok {
		return &s.locs[i]
	}
	return nil
}

// LockersAt returns the lockers (LOCKER and SMARTPOST) and the
// residents-only points in the building at street whose postal code is
// the building's or its locker code (00100 or 00104).
func (s *Snapshot) LockersAt(postcode, street string) []*lokero.Location {
	var out []*lokero.Location
	for _, i := range s.building(postcode, street) {
		out = append(out, &s.locs[i])
	}
	return out
}

// ResidentsOnly reports whether l serves its building's residents only: a
// LOCKER, or any point with access residents. Such a point is never
// listed by distance or by postal area, only for an address in its
// building; routing (routing.residentsOnly) uses the same rule.
func ResidentsOnly(l *lokero.Location) bool {
	return l.Type == lokero.TypeLocker || l.Access == lokero.AccessResidents
}

// building returns the positions of the points in the building at street
// in the postal area of postcode; none for a street without a house
// number: "Kissa" names no building, and must not match every other
// number-less address of the area.
//
// Where the address may be read two ways ("Kotikatu 3a 12": staircase A of
// building 3, or flat 12 of building 3a; address.Buildings), the first
// reading that names a building with points is taken.
func (s *Snapshot) building(postcode, street string) []int {
	base := s.base(postcode)
	for _, b := range address.Buildings(street) {
		if hits := s.buildings[base+"|"+b]; len(hits) > 0 {
			return hits
		}
	}
	return nil
}

// buildingKey returns the key of the building at street in the postal
// area base, and false when street names no building (no house number).
func buildingKey(base, street string) (string, bool) {
	b := address.Building(street)
	if b == "" {
		return "", false
	}
	return base + "|" + b, true
}

const (
	allTypes    uint8 = 1<<4 - 1
	publicTypes       = allTypes &^ 1 // every type but LOCKER
)

// outletTypes are the type bits of POSTOFFICE and PICKUPPOINT.
var outletTypes = typeBit(lokero.TypePostOffice) | typeBit(lokero.TypePickupPoint)

func typeBit(t lokero.LocationType) uint8 {
	if i := slices.Index(lokero.LocationTypes, t); i >= 0 {
		return 1 << i
	}
	return 0
}

// Nearest returns up to k public locations (never a residents-only one) nearest to
// origin for which keep is true, nearest first.
func (s *Snapshot) Nearest(origin geo.Point, k int, keep func(*lokero.Location) bool) []*lokero.Location {
	var keepPos func(int) bool
	if keep != nil {
		keepPos = func(pos int) bool { return keep(&s.locs[pos]) }
	}
	hits := s.public.Nearest(origin, k, keepPos, 0, nil)
	out := make([]*lokero.Location, len(hits))
	for i, n := range hits {
		out[i] = &s.locs[n.Item]
	}
	return out
}

// LocationPatch changes a location's status fields; a nil field stays as
// it is. Setting Status clears the fields that do not apply to the new
// status (e.g. the dates of a closure when it opens again).
type LocationPatch struct {
	Status           *string                `json:"status"`
	StatusFrom       *string                `json:"status_from"`
	StatusUntil      *string                `json:"status_until"`
	StatusReason     *string                `json:"status_reason"`
	OpensOn          *string                `json:"opens_on"`
	ExceptionDays    *[]lokero.ExceptionDay `json:"exception_days"`
	WheelchairAccess *bool                  `json:"wheelchair_access"`
	Functions        *[]string              `json:"functions"`
}

// Patch applies an operator's change to a location's status fields,
// stores it with a dated event naming the actor, and swaps in a new
// snapshot. Bad values are EINVALID naming the field; a patch that names
// no field is EINVALID too. A patch that leaves every field as it is
// stores nothing and writes no event: the audit trail lists changes only.
//
// The patch applies to the location as stored, read locked in the
// store's transaction (LocationStore.PatchLocation), never to this
// instance's snapshot: another instance's change or an import since the
// last reload stays, and whether anything changes is decided against the
// stored row.
func (d *Directory) Patch(ctx context.Context, actor, id string, p LocationPatch) (lokero.Location, error) {
	var changed bool
	loc, err := d.store.PatchLocation(ctx, id, func(loc *lokero.Location) (bool, lokero.LocationEvent, error) {
		// What a reload would make of the row, so that an outlet stored
		// without its limits is checked and written with its defaults.
		outletDefaults(loc)
		before := loc.Change()
		if err := d.applyPatch(loc, p); err != nil {
			return false, lokero.LocationEvent{}, err
		}
		if loc.Change().Equal(before) {
			return false, lokero.LocationEvent{}, nil
		}
		now := d.clock.Now().UTC().Truncate(time.Microsecond)
		loc.UpdatedAt, changed = now, true
		return true, lokero.LocationEvent{LocationID: loc.ID, At: now, Actor: actor, Change: loc.Change()}, nil
	})
	if err != nil {
		var e *lokero.Error
		switch {
		case errors.As(err, &e) && e.Code == lokero.ENOTFOUND:
			return lokero.Location{}, unknownLocation(id)
		case errors.As(err, &e):
			return lokero.Location{}, err // the patch's own refusal, naming the field
		}
		return lokero.Location{}, fmt.Errorf("update location %s: %w", id, err)
	}
	outletDefaults(&loc)
	if !changed {
		return loc, nil
	}
	if err := d.Reload(ctx); err != nil {
		return lokero.Location{}, err
	}
	d.log.Info("location status changed", "location", id, "status", loc.Status, "from", loc.StatusFrom, "until", loc.StatusUntil, "by", actor)
	return loc, nil
}

// applyPatch applies p to loc, normalises and validates the result.
func (d *Directory) applyPatch(loc *lokero.Location, p LocationPatch) error {
	if p == (LocationPatch{}) {
		return lokero.Invalid("body", "empty_patch",
			"the patch changes nothing: send at least one of status, status_from, status_until, status_reason, opens_on, exception_days, wheelchair_access, functions")
	}
	if p.Status != nil {
		st, ok := lokero.ParseLocationStatus(*p.Status)
		if !ok {
			return lokero.Invalid("status", "unknown_status", "status must be OPEN, TEMPORARILY_CLOSED, NOT_YET_OPEN or CLOSED; got %q", *p.Status)
		}
		loc.SetStatus(st)
	}
	for _, f := range []struct {
		v   *string
		dst *string
	}{{p.StatusFrom, &loc.StatusFrom}, {p.StatusUntil, &loc.StatusUntil}, {p.StatusReason, &loc.StatusReason}, {p.OpensOn, &loc.OpensOn}} {
		if f.v != nil {
			*f.dst = *f.v
		}
	}
	if p.ExceptionDays != nil {
		loc.ExceptionDays = slices.Clone(*p.ExceptionDays)
	}
	if p.WheelchairAccess != nil {
		loc.WheelchairAccess = *p.WheelchairAccess
	}
	if p.Functions != nil {
		if len(*p.Functions) == 0 {
			return lokero.Invalid("functions", "required", "a location offers at least one of collect, send, return")
		}
		loc.Functions = slices.Clone(*p.Functions)
	}
	loc.Normalize()
	return d.ValidateLocation(loc)
}

// Events lists a location's status changes, oldest first.
func (d *Directory) Events(ctx context.Context, id string) ([]lokero.LocationEvent, error) {
	if _, err := d.Location(id); err != nil {
		return nil, err
	}
	return d.store.LocationEvents(ctx, id)
}
