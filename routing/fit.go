package routing

import (
	"cmp"
	"slices"

	"github.com/lokero/lokero"
)

// Limits are the size and weight limits (our assumptions, configurable). A
// zero field means its default.
type Limits struct {
	LockerMaxWeightKG float64    // 35: heavier parcels never go to a locker
	OutletMaxWeightKG float64    // 35: the most a POSTOFFICE or PICKUPPOINT takes
	OutletMaxDims     [3]float64 // 100 × 60 × 60 cm: the biggest parcel an outlet takes (any orientation)
}

// DefaultLimits returns lokero's default limits: 35 kg in a locker, and at
// most 100 × 60 × 60 cm and 35 kg at a post office or pickup point.
func DefaultLimits() Limits {
	return Limits{
		LockerMaxWeightKG: 35,
		OutletMaxWeightKG: 35,
		OutletMaxDims:     [3]float64{100, 60, 60},
	}
}

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

// fitsOutlet reports whether a POSTOFFICE or PICKUPPOINT takes the parcel.
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

// FitsOutlet reports whether a POSTOFFICE or PICKUPPOINT takes the parcel
// (within Limits.OutletMaxWeightKG and OutletMaxDims).
func FitsOutlet(p lokero.Parcel, limits Limits) bool { return fitsOutlet(p, limits.withDefaults()) }
