package routing

import (
	"fmt"
	"slices"
	"strings"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/address"
	"github.com/lokero/lokero/geo"
)

// FallbackNearestOutlet is the fallback a retailer may ask for: a parcel too
// big or too heavy for the locker (or the outlet) it would go to goes to
// the nearest POSTOFFICE that takes it instead of being refused; when no
// post office near takes it, and it is not cash on delivery, to the
// nearest PICKUPPOINT that does.
const FallbackNearestOutlet = "nearest_outlet"

// MaxDistanceM is how far (in metres) a search by distance reaches: the
// nearest pickup point, a COD redirect, the oversize fallback, an overflow.
const MaxDistanceM = 100_000

// Request is what routing needs of a shipment.
type Request struct {
	PickupPointID string       // chosen at checkout; "" to route by address
	Recipient     lokero.Party // Street and Postcode are used
	Parcel        lokero.Parcel
	COD           bool   // cash on delivery
	Fallback      string // "" or FallbackNearestOutlet
}

// Directory is what the rules need to know of the network. The service
// implements it over the directory snapshot.
type Directory interface {
	// Location returns the location with the id, or nil when unknown.
	Location(id string) *lokero.Location
	// LockersAtBuilding returns the lockers (LOCKER and SMARTPOST) at the
	// building of street whose postal code is postcode or its locker code /
	// base area (the service handles 00100 ↔ 00104 equivalence).
	LockersAtBuilding(postcode, street string) []*lokero.Location
	// Nearest returns up to k locations nearest to origin for which keep is
	// true, nearest first; it never returns LOCKERs (they serve only their
	// building).
	Nearest(origin geo.Point, k int, keep func(*lokero.Location) bool) []*lokero.Location
	// PostcodePoint is the representative point of a postal code (false
	// when unknown).
	PostcodePoint(postcode string) (geo.Point, bool)
	// IsLockerPostcode reports whether postcode is a building-locker postal
	// code (in the registry as a locker code, e.g. 00104).
	IsLockerPostcode(postcode string) bool
}

// Rules, as named in Decision.Rule.
const (
	RulePickupPoint        = "pickup_point"         // the point chosen at checkout
	RuleBuildingLocker     = "building_locker"      // postcode ending in 4: the locker in the recipient's building
	RuleNearestPickupPoint = "nearest_pickup_point" // no point chosen, ordinary postcode: the nearest point that takes it
	RuleCODRedirect        = "cod_redirect"         // COD cannot be paid there: the nearest SMARTPOST with a terminal that fits, or POSTOFFICE that takes the parcel
	RuleOversizeFallback   = "oversize_fallback"    // too big for the locker or outlet; the retailer asked for the nearest outlet that takes it
	RuleCapacityOverflow   = "capacity_overflow"    // the locker or outlet is full that day: the nearest one of the same access (an outlet: of the same type) with room (used by Overflow)
)

// Decision is where a shipment goes and why.
type Decision struct {
	Location  *lokero.Location
	Rule      string
	Reason    string  // one or two sentences for a person: what was asked, what was decided, why
	DistanceM float64 // from the recipient's postal code point (0 when unknown)
}

// Route decides the destination of a shipment by the rules of the package
// documentation. Refusals are *lokero.Error with Code EUNPROCESSABLE, a
// Reason, a Field (the JSON path of the request) and a message naming the
// thing refused:
//
//	food_not_insulated (parcel.insulated)  food must be insulated; checked first
//	parcel_too_large (parcel)              over the bound of what lokero carries (Limits.OutletMaxDims, OutletMaxWeightKG),
//	                                       or too big or heavy for the locker or outlet it would go to and no fallback asked
//	unknown_pickup_point (pickup_point_id) no such location
//	locker_residents_only (pickup_point_id) a LOCKER chosen for a recipient outside its building
//	no_locker_at_address (recipient.street) a locker postcode but no locker at that building
//	no_pickup_point (recipient.postcode)   nothing suitable within MaxDistanceM of the postal code's point, or no point;
//	                                       Field "cod" or "fallback" when the COD redirect or the oversize fallback finds nothing
//
// An unknown Fallback is an EINVALID error on field "fallback".
func Route(req Request, dir Directory, limits Limits) (Decision, error) {
	limits = limits.withDefaults()
	p := req.Parcel
	if p.Contents == lokero.ContentsFood && !p.Insulated {
		return Decision{}, refuse("parcel.insulated", "food_not_insulated",
			"Food must be sent in an insulated box with cold gels: the parcel's contents are food but it is not insulated.")
	}
	if req.Fallback != "" && req.Fallback != FallbackNearestOutlet {
		return Decision{}, lokero.Invalid("fallback", "unknown_fallback",
			"fallback must be %q or absent; got %q", FallbackNearestOutlet, req.Fallback)
	}
	if !fitsOutlet(p, limits) {
		return Decision{}, refuse("parcel", "parcel_too_large",
			"The parcel (%s) is more than lokero carries to any pickup point: at most %s (turned any way) and %s kg.",
			parcelText(p), box(limits.OutletMaxDims), num(limits.OutletMaxWeightKG))
	}
	r := &router{req: req, dir: dir, limits: limits}
	r.origin, r.hasOrigin = dir.PostcodePoint(req.Recipient.Postcode)
	switch {
	case req.PickupPointID != "":
		return r.chosen()
	case dir.IsLockerPostcode(req.Recipient.Postcode):
		return r.building()
	default:
		return r.nearest()
	}
}

// router carries one routing decision.
type router struct {
	req       Request
	dir       Directory
	limits    Limits
	origin    geo.Point // the recipient's postal code point
	hasOrigin bool
}

// refuse returns an EUNPROCESSABLE error.
func refuse(field, reason, format string, args ...any) error {
	return &lokero.Error{Code: lokero.EUNPROCESSABLE, Reason: reason, Field: field, Message: fmt.Sprintf(format, args...)}
}

// chosen applies rule 3: the pickup point chosen at checkout.
func (r *router) chosen() (Decision, error) {
	id := r.req.PickupPointID
	loc := r.dir.Location(id)
	if loc == nil {
		return Decision{}, refuse("pickup_point_id", "unknown_pickup_point", "There is no pickup point with id %q.", id)
	}
	if residentsOnly(loc) && !r.inBuilding(loc) {
		return Decision{}, refuse("pickup_point_id", "locker_residents_only",
			"The %s %s at %s serves its building's residents only, and the recipient's address, %s, is not in that building.",
			loc.Type, name(loc), locAddress(loc), recipientAddress(r.req.Recipient))
	}
	intro := fmt.Sprintf("The recipient chose %s %s at checkout.", kind(loc), name(loc))
	if loc.Type == lokero.TypeLocker {
		intro = fmt.Sprintf("The recipient chose %s %s in their own building at checkout.", kind(loc), name(loc))
	}
	return r.settle(loc, RulePickupPoint, intro, "the chosen pickup point")
}

// inBuilding reports whether the recipient's street address is in the
// building of the locker l.
func (r *router) inBuilding(l *lokero.Location) bool {
	if address.Building(r.req.Recipient.Street) == "" {
		return false
	}
	return slices.ContainsFunc(r.dir.LockersAtBuilding(r.req.Recipient.Postcode, r.req.Recipient.Street),
		func(b *lokero.Location) bool { return b != nil && b.ID == l.ID })
}

// building applies rule 4: the locker in the recipient's building.
func (r *router) building() (Decision, error) {
	rcpt := r.req.Recipient
	var lockers []*lokero.Location
	if address.Building(rcpt.Street) != "" {
		for _, l := range r.dir.LockersAtBuilding(rcpt.Postcode, rcpt.Street) {
			if l != nil && l.Type.IsLocker() {
				lockers = append(lockers, l)
			}
		}
	}
	if len(lockers) == 0 {
		if address.Building(rcpt.Street) == "" {
			street := "is missing"
			if strings.TrimSpace(rcpt.Street) != "" {
				street = fmt.Sprintf("%q names no building (street name and house number)", rcpt.Street)
			}
			return Decision{}, refuse("recipient.street", "no_locker_at_address",
				"Postcode %s is the parcel-locker postcode of a building, but the recipient's street address %s, so there is no locker to find at it.",
				rcpt.Postcode, street)
		}
		return Decision{}, refuse("recipient.street", "no_locker_at_address",
			"There is no parcel locker at %s: a postcode ending in 4 is for the locker in the recipient's own building. Check the street address, or use the building's ordinary postcode or a pickup point.",
			recipientAddress(rcpt))
	}
	loc := r.pickBuildingLocker(lockers)
	// The reason is shown in public tracking: it names the locker's address,
	// never the recipient's own (staircase, flat).
	intro := fmt.Sprintf("Postcode %s is a building-locker postcode: the parcel goes to the locker in the recipient's building, %s %s at %s.",
		rcpt.Postcode, kind(loc), name(loc), locAddress(loc))
	return r.settle(loc, RuleBuildingLocker, intro, "the recipient's locker")
}

// pickBuildingLocker chooses among the lockers of one building: the first
// that fits and takes the COD if any, else the first that fits, else the
// first.
func (r *router) pickBuildingLocker(lockers []*lokero.Location) *lokero.Location {
	for _, l := range lockers {
		if FitsLocker(r.req.Parcel, l, r.limits) && (!r.req.COD || l.TakesCOD()) {
			return l
		}
	}
	for _, l := range lockers {
		if FitsLocker(r.req.Parcel, l, r.limits) {
			return l
		}
	}
	return lockers[0]
}

// settle checks size and cash on delivery at the place chosen by rule 3 or
// 4, loc, whose choice intro (a sentence) describes; from names loc in the
// reason of a redirect ("the chosen pickup point").
func (r *router) settle(loc *lokero.Location, rule, intro, from string) (Decision, error) {
	p := r.req.Parcel
	why := ""
	switch {
	case loc.Type.IsLocker() && !FitsLocker(p, loc, r.limits):
		why = misfit(p, loc, r.limits)
	case loc.Type.IsOutlet() && !OutletTakes(p, loc, r.limits):
		why = outletMisfit(p, loc, r.limits)
	}
	if why != "" {
		if r.req.Fallback != FallbackNearestOutlet {
			return Decision{}, refuse("parcel", "parcel_too_large",
				"%s; with fallback %q it would go to the nearest post office that takes it instead.", upperFirst(why), FallbackNearestOutlet)
		}
		return r.fallback(loc, intro, why, from)
	}
	if r.req.COD && !loc.TakesCOD() {
		alt, d, ok := r.nearestTo(loc, r.takesCODParcel)
		if !ok {
			return Decision{}, refuse("cod", "no_pickup_point",
				"Cash on delivery cannot be paid at %s, %s, and there is no SMARTPOST with a payment terminal that fits the parcel, nor a post office that takes it, within %d km of it.",
				name(loc), noCOD(loc), MaxDistanceM/1000)
		}
		return r.decide(alt, RuleCODRedirect, fmt.Sprintf(
			"%s Cash on delivery cannot be paid at %s: redirected to the nearest place that takes it, %s, %s, %s from %s.",
			intro, noCOD(loc), name(alt), codPlace(alt), formatDistance(d), from)), nil
	}
	reason := intro
	switch c, fits := SizeClass(p, loc, r.limits); {
	case fits && r.req.COD:
		reason += fmt.Sprintf(" The parcel fits a size %s compartment there, and the cash on delivery is paid at its payment terminal.", c.Size)
	case fits:
		reason += fmt.Sprintf(" The parcel fits a size %s compartment there.", c.Size)
	case r.req.COD:
		reason += " The cash on delivery is paid there."
	}
	return r.decide(loc, rule, reason), nil
}

// fallback applies the oversize fallback to a parcel the place loc does
// not take (why says so): the nearest POSTOFFICE to loc that takes the
// parcel (and so its cash on delivery), else, without cash on delivery,
// the nearest PICKUPPOINT that does; never one whose limit is too small.
func (r *router) fallback(loc *lokero.Location, intro, why, from string) (Decision, error) {
	p := r.req.Parcel
	takes := func(t lokero.LocationType) func(*lokero.Location) bool {
		return func(l *lokero.Location) bool { return l.Type == t && OutletTakes(p, l, r.limits) }
	}
	po, d, ok := r.nearestTo(loc, takes(lokero.TypePostOffice))
	if ok {
		also := ""
		if r.req.COD {
			also = " (which also takes the cash on delivery)"
		}
		return r.decide(po, RuleOversizeFallback, fmt.Sprintf(
			"%s But %s, so, as the retailer asked (fallback %s), it goes to the nearest post office that takes it%s, %s, %s from %s.",
			intro, why, FallbackNearestOutlet, also, name(po), formatDistance(d), from)), nil
	}
	if !r.req.COD {
		if pp, d, ok := r.nearestTo(loc, takes(lokero.TypePickupPoint)); ok {
			return r.decide(pp, RuleOversizeFallback, fmt.Sprintf(
				"%s But %s, and no post office within %d km takes it, so, as the retailer asked (fallback %s), it goes to the nearest pickup point that does, %s, %s from %s.",
				intro, why, MaxDistanceM/1000, FallbackNearestOutlet, name(pp), formatDistance(d), from)), nil
		}
	}
	what := "post office nor pickup point"
	if r.req.COD {
		what = "post office (which would also take the cash on delivery)"
	}
	return Decision{}, refuse("fallback", "no_pickup_point",
		"%s, and there is no %s within %d km of it that takes the parcel for the fallback %q.", upperFirst(why), what, MaxDistanceM/1000, FallbackNearestOutlet)
}

// takesCODParcel reports whether a COD shipment with this parcel may go to
// l: a SMARTPOST with a payment terminal that fits it, or a POSTOFFICE that
// takes it.
func (r *router) takesCODParcel(l *lokero.Location) bool {
	return (l.Type == lokero.TypePostOffice && OutletTakes(r.req.Parcel, l, r.limits)) ||
		(l.Type == lokero.TypeSmartpost && l.PaymentTerminal && FitsLocker(r.req.Parcel, l, r.limits))
}

// takesParcel reports whether the parcel (and its COD) may go to the public
// location l by rule 5.
func (r *router) takesParcel(l *lokero.Location) bool {
	if r.req.COD {
		return r.takesCODParcel(l)
	}
	switch l.Type {
	case lokero.TypeSmartpost:
		return FitsLocker(r.req.Parcel, l, r.limits)
	case lokero.TypePostOffice, lokero.TypePickupPoint:
		return OutletTakes(r.req.Parcel, l, r.limits) // within its own limit
	}
	return false
}

// nearest applies rule 5: the nearest location to the recipient's postal
// code point that takes the parcel.
func (r *router) nearest() (Decision, error) {
	pc := r.req.Recipient.Postcode
	if !r.hasOrigin {
		return Decision{}, refuse("recipient.postcode", "no_pickup_point",
			"Postcode %s has no known location to find the nearest pickup point from; choose a pickup point instead.", pc)
	}
	loc, d, ok := nearestFrom(r.dir, r.origin, "", r.takesParcel)
	what := ""
	if r.req.COD {
		what = " with cash on delivery (a SMARTPOST with a payment terminal or a post office)"
	}
	if !ok {
		return Decision{}, refuse("recipient.postcode", "no_pickup_point",
			"There is no pickup point that takes this parcel (%s)%s within %d km of postcode %s.",
			parcelText(r.req.Parcel), what, MaxDistanceM/1000, pc)
	}
	return r.decide(loc, RuleNearestPickupPoint, fmt.Sprintf(
		"No pickup point was chosen, so the parcel goes to the nearest place that takes it%s: %s %s, %s from the recipient's postcode area %s.",
		what, kind(loc), name(loc), formatDistance(d), pc)), nil
}

// nearestTo returns the public location nearest to the place from (other
// than from itself) for which keep is true, within MaxDistanceM.
func (r *router) nearestTo(from *lokero.Location, keep func(*lokero.Location) bool) (*lokero.Location, float64, bool) {
	return nearestFrom(r.dir, point(from), from.ID, keep)
}

// nearestFrom returns the public location nearest to origin, other than the
// one with id not, for which keep is true, within MaxDistanceM.
func nearestFrom(dir Directory, origin geo.Point, not string, keep func(*lokero.Location) bool) (*lokero.Location, float64, bool) {
	ok := func(l *lokero.Location) bool { return public(l) && l.ID != not && keep(l) }
	for _, l := range dir.Nearest(origin, 1, ok) {
		if !ok(l) {
			continue
		}
		if d := geo.Distance(origin, point(l)); d <= MaxDistanceM {
			return l, d, true
		}
	}
	return nil, 0, false
}

// decide returns the decision for loc, with its distance from the
// recipient's postal code point.
func (r *router) decide(loc *lokero.Location, rule, reason string) Decision {
	return Decision{Location: loc, Rule: rule, Reason: reason, DistanceM: distanceFrom(r.origin, r.hasOrigin, loc)}
}

func distanceFrom(origin geo.Point, ok bool, l *lokero.Location) float64 {
	if !ok {
		return 0
	}
	return geo.Distance(origin, point(l))
}

// point returns a location's coordinates.
func point(l *lokero.Location) geo.Point { return geo.Point{Lat: l.Lat, Lon: l.Lon} }
