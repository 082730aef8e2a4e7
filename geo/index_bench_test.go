package geo_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/lokero/lokero/geo"
)

// town is a population centre around which lockers cluster.
type town struct {
	lat, lon float64
	weight   float64 // relative share of the clustered points
	spreadKM float64 // standard deviation of the cluster
}

// finnishTowns are the largest Finnish towns, weighted roughly by population.
var finnishTowns = []town{
	{60.1699, 24.9384, 66, 6}, // Helsinki
	{60.2055, 24.6559, 30, 5}, // Espoo
	{61.4978, 23.7610, 25, 5}, // Tampere
	{60.2934, 25.0378, 24, 4}, // Vantaa
	{65.0121, 25.4651, 21, 5}, // Oulu
	{60.4518, 22.2666, 20, 4}, // Turku
	{62.2426, 25.7473, 15, 4}, // Jyväskylä
	{62.8924, 27.6770, 12, 4}, // Kuopio
	{60.9827, 25.6612, 12, 3}, // Lahti
	{61.4851, 21.7974, 8, 3},  // Pori
	{60.8679, 26.7042, 8, 4},  // Kouvola
	{62.6010, 29.7636, 8, 3},  // Joensuu
	{61.0587, 28.1887, 7, 3},  // Lappeenranta
	{60.9959, 24.4643, 7, 3},  // Hämeenlinna
	{63.0951, 21.6165, 7, 3},  // Vaasa
	{62.7903, 22.8403, 6, 3},  // Seinäjoki
	{66.5039, 25.7294, 6, 4},  // Rovaniemi
	{61.6886, 27.2723, 5, 3},  // Mikkeli
	{60.4664, 26.9458, 5, 3},  // Kotka
	{60.3833, 23.1333, 5, 3},  // Salo
	{60.3932, 25.6650, 5, 3},  // Porvoo
	{63.8385, 23.1307, 5, 3},  // Kokkola
	{60.6333, 24.8667, 5, 3},  // Hyvinkää
	{60.2500, 24.0667, 5, 3},  // Lohja
	{60.4740, 25.0890, 4, 2},  // Järvenpää
	{61.1272, 21.5113, 4, 2},  // Rauma
	{64.2222, 27.7278, 4, 3},  // Kajaani
	{60.4031, 25.1050, 4, 2},  // Kerava
	{61.8686, 28.8789, 3, 3},  // Savonlinna
	{61.4790, 23.5060, 3, 2},  // Nokia
	{65.7364, 24.5637, 2, 2},  // Kemi
	{65.8481, 24.1466, 2, 2},  // Tornio
	{63.5581, 27.1897, 2, 2},  // Iisalmi
	{64.6847, 24.4792, 2, 2},  // Raahe
	{61.1719, 28.7526, 3, 2},  // Imatra
	{61.5500, 23.5900, 3, 2},  // Ylöjärvi
}

// Finland's bounding box.
const (
	finMinLat, finMaxLat = 59.5, 70.1
	finMinLon, finMaxLon = 19.0, 31.6
)

// finlandPoints returns n points spread like lockers over Finland: 80 %
// normally distributed around towns, 20 % uniform over the bounding box.
func finlandPoints(n int, seed uint64) []geo.Point {
	rng := rand.New(rand.NewPCG(seed, 0x10c3e70))
	var total float64
	for _, t := range finnishTowns {
		total += t.weight
	}
	pts := make([]geo.Point, n)
	for i := range pts {
		if rng.IntN(5) == 0 {
			pts[i] = geo.Point{
				Lat: finMinLat + rng.Float64()*(finMaxLat-finMinLat),
				Lon: finMinLon + rng.Float64()*(finMaxLon-finMinLon),
			}
			continue
		}
		w := rng.Float64() * total
		t := finnishTowns[len(finnishTowns)-1]
		for _, c := range finnishTowns {
			if w -= c.weight; w < 0 {
				t = c
				break
			}
		}
		dLat := rng.NormFloat64() * t.spreadKM / 111.2
		dLon := rng.NormFloat64() * t.spreadKM / (111.2 * math.Cos(t.lat*math.Pi/180))
		pts[i] = geo.Point{Lat: t.lat + dLat, Lon: t.lon + dLon}
	}
	return pts
}

// benchSetup is the benchmark workload: 100,000 points, four location types
// (the query keeps one), and origins drawn like the points (people live
// where lockers are).
type benchSetup struct {
	points  []geo.Point
	types   []uint8
	origins []geo.Point
}

func newBenchSetup() benchSetup {
	const n = 100_000
	rng := rand.New(rand.NewPCG(42, 7))
	types := make([]uint8, n)
	for i := range types {
		types[i] = uint8(rng.IntN(4))
	}
	return benchSetup{
		points:  finlandPoints(n, 1),
		types:   types,
		origins: finlandPoints(4096, 2),
	}
}

func BenchmarkNearest(b *testing.B) {
	s := newBenchSetup()
	ix := geo.NewIndex(s.points)
	keep := func(item int) bool { return s.types[item] == 0 }
	dst := make([]geo.Neighbor, 0, 10)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		dst = ix.Nearest(s.origins[i%len(s.origins)], 10, keep, 0, dst[:0])
		i++
	}
	if len(dst) != 10 {
		b.Fatalf("got %d results, want 10", len(dst))
	}
}

func BenchmarkNearestBruteForce(b *testing.B) {
	s := newBenchSetup()
	keep := func(item int) bool { return s.types[item] == 0 }
	dst := make([]geo.Neighbor, 0, 10)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		dst = scanNearest(s.points, s.origins[i%len(s.origins)], 10, keep, 0, dst[:0])
		i++
	}
	if len(dst) != 10 {
		b.Fatalf("got %d results, want 10", len(dst))
	}
}

func BenchmarkNewIndex(b *testing.B) {
	pts := finlandPoints(100_000, 1)
	b.ReportAllocs()
	for b.Loop() {
		geo.NewIndex(pts)
	}
}

// scanNearest answers a Nearest query by a linear scan, keeping the best k
// in a sorted run at the end of dst: the baseline the index must beat.
func scanNearest(points []geo.Point, origin geo.Point, k int, keep func(int) bool, maxDistanceM float64, dst []geo.Neighbor) []geo.Neighbor {
	if k <= 0 {
		return dst
	}
	base := len(dst)
	for i, p := range points {
		if keep != nil && !keep(i) {
			continue
		}
		d := geo.Distance(origin, p)
		if maxDistanceM > 0 && d > maxDistanceM {
			continue
		}
		n := geo.Neighbor{Item: i, DistanceM: d}
		best := dst[base:]
		if len(best) == k {
			if !neighborLess(n, best[k-1]) {
				continue
			}
			dst = dst[:len(dst)-1]
		}
		// Insert n in order; items come in increasing order, so equal
		// distances stay ordered by item.
		j := len(dst)
		dst = append(dst, n)
		for j > base && neighborLess(n, dst[j-1]) {
			dst[j] = dst[j-1]
			j--
		}
		dst[j] = n
	}
	return dst
}

func neighborLess(a, b geo.Neighbor) bool {
	return a.DistanceM < b.DistanceM || a.DistanceM == b.DistanceM && a.Item < b.Item
}
