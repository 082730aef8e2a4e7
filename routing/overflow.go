package routing

import (
	"cmp"
	"fmt"
	"slices"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/geo"
)

// Overflow lists, nearest first (up to k), the alternatives for a shipment
// whose locker full has no free compartment that fits on the delivery date:
// lockers of the same access that take the parcel, honouring COD (a payment
// terminal) and excluding full itself and the ids in skip, within
// MaxDistanceM of full. A LOCKER's overflow goes first to the other lockers
// of its building (nearest first), then to the nearest public SMARTPOSTs; a
// SMARTPOST's to the nearest other SMARTPOSTs. Each Decision has Rule
// RuleCapacityOverflow and a Reason saying that full has no free compartment
// for the parcel on date and naming the alternative and its distance from
// full; its DistanceM is from the recipient's postal code point. The service
// tries them in order against the reservations.
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
	what := "with room"
	if req.COD {
		what = "with a payment terminal and room"
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
			Reason: fmt.Sprintf("%s has no free compartment for the parcel (%s) on %s: it goes to %s %s, %s, %s away.",
				name(full), box(req.Parcel.Dimensions()), date, where, what, name(l), formatDistance(d)),
			DistanceM: distanceFrom(recipient, hasRecipient, l),
		})
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
