// Package service holds lokero's use cases. Each one reads and writes
// through the store interfaces of package lokero and applies the pure rules
// of the rule packages (postcode, geo, address); it is the only place that
// orchestrates them.
package service

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/address"
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

// Reload reads every location from the store and swaps in a new snapshot.
func (d *Directory) Reload(ctx context.Context) error {
	d.reloadMu.Lock()
	defer d.reloadMu.Unlock()
	locs, err := d.store.Locations(ctx)
	if err != nil {
		return fmt.Errorf("reload directory: %w", err)
	}
	if reflect.DeepEqual(locs, d.Snapshot().locs) {
		return nil // unchanged: keep the snapshot and the caches built on it
	}
	d.snap.Store(NewSnapshot(locs, d.postcodes.BaseCode))
	return nil
}

// Import validates locations and upserts them, then reloads the snapshot.
// Every location's postal code must be in the registry.
func (d *Directory) Import(ctx context.Context, locs []lokero.Location) (lokero.UpsertResult, error) {
	now := d.clock.Now().UTC()
	for i := range locs {
		l := &locs[i]
		l.Normalize()
		if err := d.ValidateLocation(l); err != nil {
			return lokero.UpsertResult{}, fmt.Errorf("location %q: %w", l.ID, err)
		}
		l.CreatedAt, l.UpdatedAt = now, now
	}
	res, err := d.store.UpsertLocations(ctx, locs)
	if err != nil {
		return res, fmt.Errorf("import locations: %w", err)
	}
	return res, d.Reload(ctx)
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
	return nil, &lokero.Error{Code: lokero.ENOTFOUND, Reason: "unknown_location", Field: "id", Message: fmt.Sprintf("no location with id %q", id)}
}

// LocationQuery is a search of the directory. The zero value lists the
// first locations by id.
type LocationQuery struct {
	Postcode        string                // a postal area: origin when Origin is nil; with Street, finds the building's LOCKER
	Street          string                // the recipient's street address; only with Postcode
	Origin          *geo.Point            // nearest first from here
	Types           []lokero.LocationType // empty: every type
	PaymentTerminal bool                  // only locations with a payment terminal
	Fits            *[3]float64           // only lockers with a compartment class that takes this parcel (cm)
	Limit           int                   // 0: DefaultLimit
}

// LocationResult is one search hit.
type LocationResult struct {
	Location    *lokero.Location
	DistanceM   float64
	HasDistance bool // DistanceM is set: the search had an origin
}

// Search finds locations, nearest first when the query has an origin (its
// coordinates, or its postal area's point). A LOCKER serves only the
// residents of its building: it is listed only when the query names a
// street address in that building with the building's or the locker's
// postal code, and then first, since it is the recipient's own.
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
		if lokero.ErrorCode(err) == lokero.ENOTFOUND {
			return nil, lokero.Invalid("postcode", "unknown_postcode", "postcode %s is not a Finnish postal code", q.Postcode)
		} else if err != nil {
			return nil, err
		}
		q.Postcode = info.Code
		if origin == nil && info.HasPoint {
			origin = &geo.Point{Lat: info.Point.Lat, Lon: info.Point.Lon}
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
	keep := func(l *lokero.Location) bool {
		return mask&typeBit(l.Type) != 0 &&
			(!q.PaymentTerminal || l.PaymentTerminal) &&
			(q.Fits == nil || l.Fits(*q.Fits))
	}
	results := make([]LocationResult, 0, q.Limit)
	if q.Street != "" && mask&typeBit(lokero.TypeLocker) != 0 {
		for _, l := range snap.LockersAt(q.Postcode, q.Street) {
			// SMARTPOSTs there come from the index, by distance.
			if l.Type == lokero.TypeLocker && len(results) < q.Limit && keep(l) {
				results = append(results, result(l, origin))
			}
		}
	}
	if len(results) == q.Limit {
		return results, nil
	}
	if origin == nil {
		for i := range snap.locs {
			l := &snap.locs[i]
			if l.Type != lokero.TypeLocker && keep(l) {
				results = append(results, result(l, nil))
				if len(results) == q.Limit {
					break
				}
			}
		}
		return results, nil
	}
	// Public points from the index; LOCKERs are never in it.
	var keepItem func(int) bool
	if mask&^typeBit(lokero.TypeLocker) != publicTypes || q.PaymentTerminal || q.Fits != nil {
		keepItem = func(i int) bool {
			return mask&snap.types[i] != 0 && keep(&snap.locs[snap.public[i]])
		}
	}
	for _, n := range snap.index.Nearest(*origin, q.Limit-len(results), keepItem, 0, nil) {
		l := &snap.locs[snap.public[n.Item]]
		results = append(results, LocationResult{Location: l, DistanceM: n.DistanceM, HasDistance: true})
	}
	return results, nil
}

func result(l *lokero.Location, origin *geo.Point) LocationResult {
	r := LocationResult{Location: l}
	if origin != nil {
		r.DistanceM = geo.Distance(*origin, geo.Point{Lat: l.Lat, Lon: l.Lon})
		r.HasDistance = true
	}
	return r
}

// Snapshot is an immutable view of the directory with its indexes.
type Snapshot struct {
	locs      []lokero.Location
	byID      map[string]int
	public    []int   // index item → position in locs (every type but LOCKER)
	types     []uint8 // index item → type bit
	index     *geo.Index
	buildings map[string][]int // base postcode + building key → positions of the lockers (LOCKER, SMARTPOST) there
	base      func(string) string
}

// NewSnapshot indexes locs (ordered by id, as the store returns them);
// base maps a postal code to its ordinary area code (00104 → 00100), the
// postal area of a LOCKER's building.
func NewSnapshot(locs []lokero.Location, base func(code string) string) *Snapshot {
	s := &Snapshot{locs: locs, byID: make(map[string]int, len(locs)), buildings: map[string][]int{}, base: base}
	var points []geo.Point
	for i := range locs {
		l := &locs[i]
		s.byID[l.ID] = i
		if l.Type.IsLocker() {
			// A building is found by its Finnish or its Swedish address.
			key := buildingKey(base(l.Postcode), l.Street)
			s.buildings[key] = append(s.buildings[key], i)
			if l.StreetSV != "" {
				if sv := buildingKey(base(l.Postcode), l.StreetSV); sv != key {
					s.buildings[sv] = append(s.buildings[sv], i)
				}
			}
		}
		if l.Type == lokero.TypeLocker {
			continue
		}
		s.public = append(s.public, i)
		s.types = append(s.types, typeBit(l.Type))
		points = append(points, geo.Point{Lat: l.Lat, Lon: l.Lon})
	}
	s.index = geo.NewIndex(points)
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

// LockersAt returns the lockers (LOCKER and SMARTPOST) in the building at
// street whose postal code is the building's or its locker code (00100 or
// 00104).
func (s *Snapshot) LockersAt(postcode, street string) []*lokero.Location {
	var out []*lokero.Location
	for _, i := range s.buildings[buildingKey(s.base(postcode), street)] {
		out = append(out, &s.locs[i])
	}
	return out
}

func buildingKey(base, street string) string {
	return base + "|" + address.Building(street)
}

const (
	allTypes    uint8 = 1<<4 - 1
	publicTypes       = allTypes &^ 1 // every type but LOCKER
)

func typeBit(t lokero.LocationType) uint8 {
	if i := slices.Index(lokero.LocationTypes, t); i >= 0 {
		return 1 << i
	}
	return 0
}

// Nearest returns up to k public locations (never a LOCKER) nearest to
// origin for which keep is true, nearest first.
func (s *Snapshot) Nearest(origin geo.Point, k int, keep func(*lokero.Location) bool) []*lokero.Location {
	var keepItem func(int) bool
	if keep != nil {
		keepItem = func(i int) bool { return keep(&s.locs[s.public[i]]) }
	}
	hits := s.index.Nearest(origin, k, keepItem, 0, nil)
	out := make([]*lokero.Location, len(hits))
	for i, n := range hits {
		out[i] = &s.locs[s.public[n.Item]]
	}
	return out
}
