package routing

import (
	"cmp"
	"slices"

	"github.com/lokero/lokero"
)

// Limits are the limits the rules apply besides each location's own (our
// assumptions, configurable). A zero field means its default.
//
// OutletMaxDims and OutletMaxWeightKG are the bound of every parcel lokero
// carries at all, wherever it goes: by default the biggest parcel any
// outlet type takes by default (lokero.DefaultOutletLimit: a POSTOFFICE's
// 120 × 60 × 60 cm and 35 kg, Posti's largest Postipaketti). Each outlet
// takes what its own limit (Location.MaxParcel) allows within that bound.
// The bound stays because it is the carrier's, not a counter's: the vans
// and the sorting take nothing bigger, even to an outlet whose directory
// entry says it has room for more; and a parcel over it is refused as
// parcel_too_large before anything else is looked at, instead of searching
// the network for a place that cannot exist.
type Limits struct {
	LockerMaxWeightKG float64    // 35: heavier parcels never go to a locker
	OutletMaxWeightKG float64    // 35: the most any parcel weighs that lokero carries (to an outlet)
	OutletMaxDims     [3]float64 // 120 × 60 × 60 cm: the biggest parcel lokero carries (any orientation)
}

// DefaultLimits returns lokero's default limits: 35 kg in a locker, and
// nothing bigger than the biggest default outlet limit, 120 × 60 × 60 cm
// and 35 kg (a POSTOFFICE's), anywhere.
func DefaultLimits() Limits { return defaultLimits }

// defaultLimits are worked out once from the outlet types' defaults, so
// that the bound follows lokero.DefaultOutletLimit.
var defaultLimits = func() Limits {
	l := Limits{LockerMaxWeightKG: 35}
	for _, t := range lokero.LocationTypes {
		m, _ := lokero.DefaultOutletLimit(t)
		dims := []float64{float64(m.LengthCM), float64(m.WidthCM), float64(m.HeightCM)}
		slices.SortFunc(dims, func(a, b float64) int { return cmp.Compare(b, a) }) // longest first
		for i := range dims {
			l.OutletMaxDims[i] = max(l.OutletMaxDims[i], dims[i])
		}
		l.OutletMaxWeightKG = max(l.OutletMaxWeightKG, m.WeightKG)
	}
	return l
}()

// withDefaults replaces zero (or negative) fields by their defaults.
func (l Limits) withDefaults() Limits {
	d := DefaultLimits()
	if !(l.LockerMaxWeightKG > 0) {
		l.LockerMaxWeightKG = d.LockerMaxWeightKG
	}
	if !(l.OutletMaxWeightKG > 0) {
		l.OutletMaxWeightKG = d.OutletMaxWeightKG
	}
	if !(l.OutletMaxDims[0] > 0 && l.OutletMaxDims[1] > 0 && l.OutletMaxDims[2] > 0) {
		l.OutletMaxDims = d.OutletMaxDims
	}
	return l
}

// fitsOutlet reports whether the parcel is within the bound of what lokero
// carries (Limits.OutletMaxDims turned any way, OutletMaxWeightKG).
func fitsOutlet(p lokero.Parcel, limits Limits) bool {
	return p.WeightKG <= limits.OutletMaxWeightKG && lokero.FitsBox(p.Dimensions(), limits.OutletMaxDims)
}

// FitsLocker reports whether the parcel may go to the locker l (a LOCKER or
// SMARTPOST): it weighs at most Limits.LockerMaxWeightKG and one of l's
// compartment classes takes it, turned any way.
func FitsLocker(p lokero.Parcel, l *lokero.Location, limits Limits) bool {
	return len(FittingClasses(p, l, limits)) > 0
}

// FittingClasses returns the compartment classes of the locker l that take
// the parcel (turned any way, within the locker weight limit), in order of
// preference: smallest volume first, then lowest height, then by size name.
// It returns nil for a location that is not a locker, a parcel over the
// weight limit, or when no class fits.
func FittingClasses(p lokero.Parcel, l *lokero.Location, limits Limits) []lokero.CompartmentClass {
	limits = limits.withDefaults()
	if l == nil || !l.Type.IsLocker() || !(p.WeightKG <= limits.LockerMaxWeightKG) {
		return nil
	}
	dims := p.Dimensions()
	var out []lokero.CompartmentClass
	for _, c := range l.Compartments {
		if c.Count > 0 && c.Fits(dims) {
			out = append(out, c)
		}
	}
	slices.SortStableFunc(out, func(a, b lokero.CompartmentClass) int {
		return cmp.Or(
			cmp.Compare(volume(a), volume(b)),
			cmp.Compare(a.HeightCM, b.HeightCM),
			cmp.Compare(a.Size, b.Size),
		)
	})
	return out
}

// SizeClass returns the class the parcel should be given at the locker l:
// the first of FittingClasses, or false when none fits.
func SizeClass(p lokero.Parcel, l *lokero.Location, limits Limits) (lokero.CompartmentClass, bool) {
	classes := FittingClasses(p, l, limits)
	if len(classes) == 0 {
		return lokero.CompartmentClass{}, false
	}
	return classes[0], true
}

func volume(c lokero.CompartmentClass) int { return c.LengthCM * c.WidthCM * c.HeightCM }

// largestClass returns the biggest (by volume) class of l with compartments.
func largestClass(l *lokero.Location) (lokero.CompartmentClass, bool) {
	var best lokero.CompartmentClass
	found := false
	for _, c := range l.Compartments {
		if c.Count > 0 && (!found || volume(c) > volume(best)) {
			best, found = c, true
		}
	}
	return best, found
}

// residentsOnly reports whether l serves its building's residents only.
func residentsOnly(l *lokero.Location) bool {
	return l.Type == lokero.TypeLocker || l.Access == lokero.AccessResidents
}

// public reports whether anyone may use l, so that it may be found by
// distance.
func public(l *lokero.Location) bool { return l != nil && !residentsOnly(l) }

// FitsOutlet reports whether the parcel is within the bound of what lokero
// carries (Limits.OutletMaxDims turned any way, OutletMaxWeightKG), the
// most any outlet may take; whether a given outlet takes it is
// OutletTakes.
func FitsOutlet(p lokero.Parcel, limits Limits) bool { return fitsOutlet(p, limits.withDefaults()) }

// OutletLimit returns the biggest parcel the outlet l (a POSTOFFICE or
// PICKUPPOINT) takes: its own MaxParcel, or its type's default
// (lokero.DefaultOutletLimit) when that is zero, as in a location that
// was not normalised. The zero limit for a locker.
func OutletLimit(l *lokero.Location) lokero.ParcelLimit {
	if l == nil || !l.Type.IsOutlet() {
		return lokero.ParcelLimit{}
	}
	if l.MaxParcel.IsZero() {
		m, _ := lokero.DefaultOutletLimit(l.Type)
		return m
	}
	return l.MaxParcel
}

// OutletTakes reports whether the outlet l (a POSTOFFICE or PICKUPPOINT)
// takes the parcel: within its own limit (OutletLimit, turned any way) and
// within the bound of what lokero carries. False for a location that is
// not an outlet.
func OutletTakes(p lokero.Parcel, l *lokero.Location, limits Limits) bool {
	if l == nil || !l.Type.IsOutlet() {
		return false
	}
	return fitsOutlet(p, limits.withDefaults()) && OutletLimit(l).Takes(p)
}
