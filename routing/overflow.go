package routing

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/geo"
)

// Overflow lists, nearest first (up to k), the alternatives for a shipment
// whose place full has no room for it on the delivery date: a locker with
// no free compartment that fits, or an outlet whose shelves are full.
//
// A locker's alternatives are lockers of the same access that take the
// parcel, honouring COD (a payment terminal) and excluding full itself and
// the ids in skip, within MaxDistanceM of full. A LOCKER's overflow goes
// first to the other lockers of its building (nearest first), then to the
// nearest public SMARTPOSTs; a SMARTPOST's to the nearest other SMARTPOSTs.
//
// An outlet's alternatives are the nearest other public outlets of the same
// type (a POSTOFFICE's post offices, a PICKUPPOINT's pickup points) whose
// own limit takes the parcel (OutletTakes), honouring COD, excluding full
// and skip, within MaxDistanceM: the recipient expects a counter of the
// same kind, and a post office's parcel is often one no pickup point takes.
//
// Each Decision has Rule RuleCapacityOverflow and a Reason saying that full
// has no free compartment (or shelf place) for the parcel on date and
// naming the alternative and its distance from full; its DistanceM is from
// the recipient's postal code point. The service tries them in order
// against the reservations.
func Overflow(full *lokero.Location, req Request, dir Directory, limits Limits, date string, skip map[string]bool, k int) []Decision {
	if full == nil || k <= 0 {
		return nil
	}
	limits = limits.withDefaults()
	from := point(full)
	recipient, hasRecipient := dir.PostcodePoint(req.Recipient.Postcode)
	takes := func(l *lokero.Location) bool {
		return l != nil && l.ID != full.ID && !skip[l.ID] && l.Type.IsLocker() &&
			FitsLocker(req.Parcel, l, limits) && (!req.COD || l.TakesCOD())
	}
	what, room := "with room", "no free compartment"
	if req.COD {
		what = "with a payment terminal and room"
	}
	if full.Type.IsOutlet() {
		room = "no free shelf place"
		takes = func(l *lokero.Location) bool {
			return l != nil && l.ID != full.ID && !skip[l.ID] && l.Type == full.Type &&
				OutletTakes(req.Parcel, l, limits) && (!req.COD || l.TakesCOD())
		}
		if req.COD {
			what = "that takes the cash on delivery and has room"
		}
	}
	out := make([]Decision, 0, k)
	seen := map[string]bool{}
	add := func(l *lokero.Location, d float64, where string) {
		if len(out) == k || seen[l.ID] || d > MaxDistanceM {
			return
		}
		seen[l.ID] = true
		out = append(out, Decision{
			Location: l,
			Rule:     RuleCapacityOverflow,
			Reason: fmt.Sprintf("%s has %s for the parcel (%s) on %s: it goes to %s %s, %s, %s away.",
				name(full), room, box(req.Parcel.Dimensions()), date, where, what, name(l), formatDistance(d)),
			DistanceM: distanceFrom(recipient, hasRecipient, l),
		})
	}

	if full.Type.IsOutlet() {
		where := "the nearest other post office"
		if full.Type == lokero.TypePickupPoint {
			where = "the nearest other pickup point"
		}
		keep := func(l *lokero.Location) bool { return public(l) && takes(l) }
		for _, l := range dir.Nearest(from, k, keep) {
			if keep(l) {
				add(l, geo.Distance(from, point(l)), where)
			}
		}
		return out
	}

	if residentsOnly(full) {
		type mate struct {
			l *lokero.Location
			d float64
		}
		var mates []mate
		for _, l := range dir.LockersAtBuilding(full.Postcode, full.Street) {
			if takes(l) && residentsOnly(l) {
				mates = append(mates, mate{l, geo.Distance(from, point(l))})
			}
		}
		slices.SortFunc(mates, func(a, b mate) int { return cmp.Or(cmp.Compare(a.d, b.d), cmp.Compare(a.l.ID, b.l.ID)) })
		for _, m := range mates {
			add(m.l, m.d, "another locker in the same building")
		}
	}

	where := "the nearest other SMARTPOST"
	if full.Type == lokero.TypeLocker {
		where = "the nearest public SMARTPOST"
	}
	keep := func(l *lokero.Location) bool {
		return l != nil && l.Type == lokero.TypeSmartpost && public(l) && takes(l)
	}
	if len(out) == k {
		return out
	}
	for _, l := range dir.Nearest(from, k-len(out), keep) {
		if keep(l) {
			add(l, geo.Distance(from, point(l)), where)
		}
	}
	return out
}

// SpreadM is how much farther from the full locker than the nearest
// alternative with room Spread looks for one with more room.
const SpreadM = 500.0

// Spread orders a locker's alternatives (Overflow's, nearest first) so
// that the public SMARTPOSTs with room within SpreadM of the nearest one
// with room come first, the one with the most room first (the nearer of
// equals), then the rest as they were. room tells a locker's free
// compartments of the class the parcel would take there on the date (0:
// none; it may be a moment old: the caller still reserves in turn).
//
// A parcel sent to a locker that is not its shopper's takes a
// compartment that locker's own shoppers may want later in the day:
// sent where the most are free, it turns fewer of them away (measured in
// docs/capacity.md). The lockers of the full locker's own building come
// first as Overflow has them: Spread leaves them be. Each alternative
// moved ahead of a nearer one with room says so in its Reason, naming the
// nearest of those.
func Spread(full *lokero.Location, req Request, date string, alts []Decision, room func(*lokero.Location) int) []Decision {
	if full == nil || !full.Type.IsLocker() {
		return alts
	}
	from := point(full)
	type near struct {
		i, room int
		d       float64
	}
	var cands []near
	for i, a := range alts {
		if residentsOnly(a.Location) {
			if room(a.Location) > 0 {
				return alts // the building's own locker with room comes first
			}
			continue
		}
		r := room(a.Location)
		if r <= 0 {
			continue
		}
		d := geo.Distance(from, point(a.Location))
		if len(cands) > 0 && d > cands[0].d+SpreadM {
			break // nearest first: the rest are farther still
		}
		cands = append(cands, near{i, r, d})
	}
	if len(cands) == 0 {
		return alts
	}
	byDistance := slices.Clone(cands) // nearest first
	slices.SortStableFunc(cands, func(a, b near) int { return cmp.Compare(b.room, a.room) })
	out := make([]Decision, 0, len(alts))
	moved := make([]bool, len(alts))
	for _, c := range cands {
		d := alts[c.i]
		// The nearest with room not placed yet: c is put ahead of it
		// unless it is c itself.
		nearest := byDistance[slices.IndexFunc(byDistance, func(n near) bool { return !moved[n.i] })]
		if c.i != nearest.i {
			d.Reason = fmt.Sprintf("%s has no free compartment for the parcel (%s) on %s: it goes to %s, %s away, where more compartments are free than at %s, %s away.",
				name(full), box(req.Parcel.Dimensions()), date, name(d.Location), formatDistance(c.d), name(alts[nearest.i].Location), formatDistance(nearest.d))
		}
		out = append(out, d)
		moved[c.i] = true
	}
	for i, d := range alts {
		if !moved[i] {
			out = append(out, d)
		}
	}
	return out
}
