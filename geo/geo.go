// Package geo provides great-circle distance and an in-memory
// nearest-neighbour index over WGS84 points.
//
// Distances are great-circle distances on a sphere of radius EarthRadiusM,
// worked out from the chord between the points' unit vectors. The index
// answers k-nearest queries that are exact: the result is identical,
// item for item and bit for bit in DistanceM, to sorting every qualifying item
// by (Distance, Item) and taking the first k.
//
// # Index design
//
// The index is a k-d tree over 3-D unit vectors (the points on the unit
// sphere), not a grid in latitude and longitude. The straight-line (chord)
// distance between two unit vectors is a strictly increasing function of
// their great-circle distance, and the distance from a query vector to a
// node's bounding box is a true lower bound of the chord to every point in
// it, so pruning needs no spherical geometry: no special case at the poles or
// the antimeridian, and no trouble when the origin is far from the data. A
// k-d tree with median splits adapts to clustered data (lockers crowd into
// towns) where a uniform grid would hold thousands of points in a town cell
// and almost none elsewhere.
//
// The walk ranks candidates by the cheap squared chord (a few flops) alone;
// only those that can still be among the k nearest when it ends (the k
// nearest by chord, and any within a margin of the k-th) get their Distance,
// turned from the same squared chord by the same code as Distance (arc), so
// that results match a brute-force scan exactly. The margin (see
// chordMargin) is far wider than the rounding of the arc, so the chord never
// drops an item that Distance would rank ahead of the k-th.
package geo

import "math"

// Point is a WGS84 coordinate in degrees.
type Point struct{ Lat, Lon float64 }

// EarthRadiusM is the mean Earth radius used for distances (6,371,008.8 m).
const EarthRadiusM = 6371008.8

// degToRad converts degrees to radians.
const degToRad = math.Pi / 180

// Distance returns the great-circle distance between a and b in metres:
// 2R·asin(c/2) for the chord c between their unit vectors, the same
// great circle as the haversine formula's (to within a micrometre, and
// about 0.1 m next to the antipode, where both lose digits).
func Distance(a, b Point) float64 {
	va, vb := unitVector(a), unitVector(b)
	return arc(chordSq(&va, &vb))
}

// chordSq returns the squared chord between unit vectors a and b. Distance
// and the index both compute it here, so both get bit-identical results
// (chordSq(a, b) == chordSq(b, a): the differences only change sign); the
// explicit float64 conversions stop the compiler from fusing multiply-adds
// differently at each call site.
func chordSq(a, b *[3]float64) float64 {
	dx, dy, dz := a[0]-b[0], a[1]-b[1], a[2]-b[2]
	return float64(dx*dx) + float64(dy*dy) + float64(dz*dz)
}

// arc returns the great-circle distance in metres between two points whose
// unit vectors lie a squared chord cs apart.
func arc(cs float64) float64 {
	h := math.Sqrt(cs) / 2
	if h > 1 { // rounding near the antipode
		h = 1
	}
	return 2 * EarthRadiusM * math.Asin(h)
}
