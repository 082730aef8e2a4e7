// Package geo provides great-circle distance and an in-memory
// nearest-neighbour index over WGS84 points.
//
// Distances are haversine distances on a sphere of radius EarthRadiusM. The
// index answers k-nearest queries that are exact: the result is identical,
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
// The walk ranks candidates by the cheap chord (a few flops) alone; only
// those that can still be among the k nearest when it ends (the k nearest by
// chord, and any within a margin of the k-th) get their exact haversine
// Distance, computed by the same code as Distance so that results match a
// brute-force scan exactly. The margin (see chordMargin) is far wider than
// the rounding error of either measure, so the chord never drops an item that
// Distance would rank ahead of the k-th.
package geo

import "math"

// Point is a WGS84 coordinate in degrees.
type Point struct{ Lat, Lon float64 }

// EarthRadiusM is the mean Earth radius used for distances (6,371,008.8 m).
const EarthRadiusM = 6371008.8

// degToRad converts degrees to radians.
const degToRad = math.Pi / 180

// Distance returns the great-circle (haversine) distance between a and b in
// metres.
func Distance(a, b Point) float64 {
	latA := a.Lat * degToRad
	latB := b.Lat * degToRad
	return haversine(latA, math.Cos(latA), latB, math.Cos(latB), (b.Lon-a.Lon)*degToRad)
}

// haversine returns the distance in metres between two points given their
// latitudes and the cosines thereof, and their longitude difference, all in
// radians. Distance and the index both call it with inputs computed the same
// way, so both get bit-identical results; the explicit float64 conversions
// stop the compiler from fusing multiply-adds differently at each call site.
func haversine(latA, cosA, latB, cosB, dLon float64) float64 {
	sLat := math.Sin((latB - latA) / 2)
	sLon := math.Sin(dLon / 2)
	h := float64(sLat*sLat) + float64(float64(cosA*cosB)*float64(sLon*sLon))
	if h > 1 { // rounding near the antipode
		h = 1
	}
	return 2 * EarthRadiusM * math.Asin(math.Sqrt(h))
}
