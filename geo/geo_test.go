package geo_test

import (
	"math"
	"testing"

	"github.com/lokero/lokero/geo"
)

func TestDistance(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		a, b       geo.Point
		minM, maxM float64
	}{
		{"Helsinki to Tampere", geo.Point{Lat: 60.1699, Lon: 24.9384}, geo.Point{Lat: 61.4978, Lon: 23.7610}, 160_000, 161_000},
		{"one degree of longitude at 60°N", geo.Point{Lat: 60, Lon: 24}, geo.Point{Lat: 60, Lon: 25}, 55_550, 55_650},
		{"one degree of latitude", geo.Point{Lat: 60, Lon: 24}, geo.Point{Lat: 61, Lon: 24}, 111_150, 111_250},
		{"zero", geo.Point{Lat: 60.1699, Lon: 24.9384}, geo.Point{Lat: 60.1699, Lon: 24.9384}, 0, 0},
		{"same pole, different longitudes", geo.Point{Lat: 90, Lon: 0}, geo.Point{Lat: 90, Lon: 120}, 0, 1e-6},
		{"antipodes", geo.Point{Lat: 60.1699, Lon: 24.9384}, geo.Point{Lat: -60.1699, Lon: -155.0616}, 20_014_000, 20_016_000},
		{"pole to pole", geo.Point{Lat: 90, Lon: 0}, geo.Point{Lat: -90, Lon: 0}, 20_014_000, 20_016_000},
		{"across the antimeridian", geo.Point{Lat: 0, Lon: 179.5}, geo.Point{Lat: 0, Lon: -179.5}, 111_150, 111_250},
		{"longitudes a turn apart", geo.Point{Lat: 10, Lon: -170}, geo.Point{Lat: 10, Lon: 190}, 0, 1e-6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, d := range []float64{geo.Distance(tt.a, tt.b), geo.Distance(tt.b, tt.a)} {
				if !(d >= tt.minM && d <= tt.maxM) {
					t.Errorf("Distance = %.3f m, want %.0f..%.0f m", d, tt.minM, tt.maxM)
				}
			}
		})
	}
}

func TestDistanceExactFigures(t *testing.T) {
	t.Parallel()
	const degree = geo.EarthRadiusM * math.Pi / 180 // 111,195 m
	assertNear(t, "a degree along a meridian", geo.Distance(geo.Point{Lat: 0, Lon: 0}, geo.Point{Lat: 1, Lon: 0}), degree, 1e-6)
	assertNear(t, "a degree along the equator", geo.Distance(geo.Point{Lat: 0, Lon: 0}, geo.Point{Lat: 0, Lon: 1}), degree, 1e-6)
	assertNear(t, "half the circumference", geo.Distance(geo.Point{Lat: 0, Lon: 0}, geo.Point{Lat: 0, Lon: 180}), math.Pi*geo.EarthRadiusM, 1e-3)
	// At 60°N a degree of longitude is half a degree of latitude (the
	// great circle is a hair shorter than the parallel).
	assertNear(t, "a degree of longitude at 60°N", geo.Distance(geo.Point{Lat: 60, Lon: 0}, geo.Point{Lat: 60, Lon: 1}), degree/2, 2)
}

func assertNear(t *testing.T, what string, got, want, tol float64) {
	t.Helper()
	if math.Abs(got-want) > tol {
		t.Errorf("%s: got %.6f m, want %.6f ± %g m", what, got, want, tol)
	}
}
