package locker

import (
	"math"

	"github.com/lokero/lokero"
)

// Compartment is one physical compartment of a locker.
type Compartment struct {
	Number                      int    // 1..N, as painted on the door
	Size                        string // its size class
	LengthCM, WidthCM, HeightCM int
	OutOfOrder                  bool
	Occupied                    bool // a parcel is in it (or its door is open for one)
}

// dims returns the compartment's inside dimensions as FitsBox takes them.
func (c Compartment) dims() [3]float64 {
	return [3]float64{float64(c.LengthCM), float64(c.WidthCM), float64(c.HeightCM)}
}

// volume returns the compartment's inside volume in cm³.
func (c Compartment) volume() int { return c.LengthCM * c.WidthCM * c.HeightCM }

// longest returns the compartment's largest inside dimension in cm.
func (c Compartment) longest() int { return max(c.LengthCM, c.WidthCM, c.HeightCM) }

// Layout numbers a locker's compartments from its size classes: classes in
// the given order, each class's compartments consecutively from 1. A class
// with Count ≤ 0 has no compartments. The compartments are all free and in
// order.
func Layout(classes []lokero.CompartmentClass) []Compartment {
	n := 0
	for _, cl := range classes {
		n += max(cl.Count, 0)
	}
	out := make([]Compartment, 0, n)
	for _, cl := range classes {
		for range max(cl.Count, 0) {
			out = append(out, Compartment{
				Number:   len(out) + 1,
				Size:     cl.Size,
				LengthCM: cl.LengthCM,
				WidthCM:  cl.WidthCM,
				HeightCM: cl.HeightCM,
			})
		}
	}
	return out
}

// Allocate picks the best compartment for a parcel (dimensions in cm, any
// order) among those not occupied and not out of order: the smallest that
// takes the parcel turned any way (by volume, then by largest dimension);
// ties go to the lowest number; so big compartments stay free. ok is false
// when none fits, and for a parcel with a dimension that is not a positive
// finite number.
func Allocate(parcel [3]float64, compartments []Compartment) (c Compartment, ok bool) {
	for _, d := range parcel {
		if !(d > 0) || math.IsInf(d, 1) {
			return Compartment{}, false
		}
	}
	for _, cand := range compartments {
		if cand.Occupied || cand.OutOfOrder || (ok && !better(cand, c)) {
			continue
		}
		if lokero.FitsBox(parcel, cand.dims()) {
			c, ok = cand, true
		}
	}
	return c, ok
}

// better reports whether a is a better pick than b: smaller by volume, then
// by largest dimension, then lower numbered.
func better(a, b Compartment) bool {
	if va, vb := a.volume(), b.volume(); va != vb {
		return va < vb
	}
	if la, lb := a.longest(), b.longest(); la != lb {
		return la < lb
	}
	return a.Number < b.Number
}
