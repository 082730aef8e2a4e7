package service

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/lokero/lokero"
)

// LockerOccupancy is one locker in the operator's network view: its
// compartments by size class and in all, the parcels whose storage period
// ends today, and its controller's link.
type LockerOccupancy struct {
	Location      *lokero.Location
	Sizes         map[string]Occupancy // ReservedToday is not counted here
	Total         int
	Occupied      int
	OutOfOrder    int
	ExpiringToday int
	ToCollect     int             // parcels waiting for a courier: expired, dropped off
	Link          *LockerLinkView // nil: its controller never reported over MQTT
}

// Share is the occupied share of the compartments in order, 0..1.
func (o LockerOccupancy) Share() float64 {
	if inOrder := o.Total - o.OutOfOrder; inOrder > 0 {
		return float64(o.Occupied) / float64(inOrder)
	}
	return 1 // nothing usable: as good as full
}

// NetworkView is the operator's view of every locker at once.
type NetworkView struct {
	At            time.Time
	Lockers       []LockerOccupancy    // fullest first, then by ID
	Sizes         map[string]Occupancy // the network's compartments by size class
	ExpiringToday []lokero.WaitingParcel
	// ToCollect are the collection lists of every point, lockers' and
	// outlets', by location and compartment (or shelf place).
	ToCollect []lokero.WaitingParcel
}

// Network returns the operator's view of the network: every locker's
// occupancy (occupancies), the parcels whose storage period ends today,
// every point's collection list and the lockers' links.
func (l *Lockers) Network(ctx context.Context, operator lokero.Credential) (NetworkView, error) {
	if operator.Kind != lokero.KindOperator {
		return NetworkView{}, lokero.Errorf(lokero.EFORBIDDEN, "the network view is for operators")
	}
	now := l.now()
	lockers, sizes, err := l.occupancies(ctx)
	if err != nil {
		return NetworkView{}, err
	}
	// A deadline at midnight is the day's last moment (as in View).
	endOfToday := lokero.DateOf(now).AddDays(1).Start().Add(time.Microsecond)
	expiring, err := l.store.ExpiringParcels(ctx, endOfToday)
	if err != nil {
		return NetworkView{}, err
	}
	toCollect, err := l.store.ParcelsToCollect(ctx)
	if err != nil {
		return NetworkView{}, err
	}
	links, err := l.Links(ctx, 0)
	if err != nil {
		return NetworkView{}, err
	}
	expiringAt := map[string]int{}
	for _, p := range expiring {
		expiringAt[p.LocationID]++
	}
	collectAt := map[string]int{}
	for _, p := range toCollect {
		collectAt[p.LocationID]++
	}
	linkOf := map[string]*LockerLinkView{}
	for i := range links {
		linkOf[links[i].LocationID] = &links[i]
	}
	for i := range lockers {
		o := &lockers[i]
		o.ExpiringToday, o.ToCollect, o.Link = expiringAt[o.Location.ID], collectAt[o.Location.ID], linkOf[o.Location.ID]
	}
	slices.SortFunc(lockers, func(a, b LockerOccupancy) int {
		if c := cmp.Compare(b.Share(), a.Share()); c != 0 {
			return c
		}
		return cmp.Compare(a.Location.ID, b.Location.ID)
	})
	return NetworkView{At: now, Lockers: lockers, Sizes: sizes, ExpiringToday: expiring, ToCollect: toCollect}, nil
}

// occupancies counts every locker's compartments by size class, in the
// directory's order, and the network's by size class: the store counts
// them in one query; a locker not yet laid out is counted free from its
// directory entry.
func (l *Lockers) occupancies(ctx context.Context) ([]LockerOccupancy, map[string]Occupancy, error) {
	counts, err := l.store.CompartmentCounts(ctx)
	if err != nil {
		return nil, nil, err
	}
	counted := map[string][]lokero.CompartmentCount{}
	for _, c := range counts {
		counted[c.LocationID] = append(counted[c.LocationID], c)
	}
	var lockers []LockerOccupancy
	sizes := map[string]Occupancy{}
	locs := l.dir.Snapshot().Locations()
	for i := range locs {
		loc := &locs[i]
		if !loc.Type.IsLocker() {
			continue
		}
		o := LockerOccupancy{Location: loc, Sizes: map[string]Occupancy{}}
		if cs, ok := counted[loc.ID]; ok {
			for _, c := range cs {
				o.Sizes[c.Size] = Occupancy{Total: c.Total, Occupied: c.Occupied, OutOfOrder: c.OutOfOrder}
			}
		} else {
			for _, c := range loc.Compartments {
				s := o.Sizes[c.Size]
				s.Total += c.Count
				o.Sizes[c.Size] = s
			}
		}
		for size, s := range o.Sizes {
			o.Total, o.Occupied, o.OutOfOrder = o.Total+s.Total, o.Occupied+s.Occupied, o.OutOfOrder+s.OutOfOrder
			n := sizes[size]
			n.Total, n.Occupied, n.OutOfOrder = n.Total+s.Total, n.Occupied+s.Occupied, n.OutOfOrder+s.OutOfOrder
			sizes[size] = n
		}
		lockers = append(lockers, o)
	}
	return lockers, sizes, nil
}

// SampleEvery is how often the network's occupancy is sampled for the
// dashboard's history.
const SampleEvery = time.Hour

// SampleOccupancy records the network's occupancy by size class at the
// current hour, unless another instance did (stored false).
func (l *Lockers) SampleOccupancy(ctx context.Context) (stored bool, err error) {
	_, sizes, err := l.occupancies(ctx)
	if err != nil {
		return false, fmt.Errorf("sample occupancy: %w", err)
	}
	at := l.now().Truncate(SampleEvery)
	samples := make([]lokero.OccupancySample, 0, len(sizes))
	for size, o := range sizes {
		samples = append(samples, lokero.OccupancySample{At: at, Size: size, Total: o.Total, Occupied: o.Occupied, OutOfOrder: o.OutOfOrder})
	}
	slices.SortFunc(samples, func(a, b lokero.OccupancySample) int { return cmp.Compare(a.Size, b.Size) })
	if stored, err = l.store.RecordOccupancy(ctx, samples); err != nil {
		return false, fmt.Errorf("sample occupancy: %w", err)
	}
	return stored, nil
}

// MaxHistoryDays is how far back the occupancy history reaches.
const MaxHistoryDays = 90

// OccupancyHistory returns the samples of the last days (1..MaxHistoryDays),
// oldest first.
func (l *Lockers) OccupancyHistory(ctx context.Context, operator lokero.Credential, days int) ([]lokero.OccupancySample, error) {
	if operator.Kind != lokero.KindOperator {
		return nil, lokero.Errorf(lokero.EFORBIDDEN, "the occupancy history is for operators")
	}
	if days < 1 || days > MaxHistoryDays {
		return nil, lokero.Invalid("days", "out_of_range", "days must be 1 to %d; got %d", MaxHistoryDays, days)
	}
	return l.store.OccupancySamples(ctx, l.now().Add(-time.Duration(days)*24*time.Hour))
}
