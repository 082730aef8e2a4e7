package geo_test

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"

	"github.com/lokero/lokero/geo"
)

// bruteNearest is the reference answer: every qualifying item, sorted by
// distance then item, cut to k.
func bruteNearest(points []geo.Point, origin geo.Point, k int, keep func(int) bool, maxDistanceM float64) []geo.Neighbor {
	var all []geo.Neighbor
	for i, p := range points {
		if keep != nil && !keep(i) {
			continue
		}
		d := geo.Distance(origin, p)
		if maxDistanceM > 0 && d > maxDistanceM {
			continue
		}
		all = append(all, geo.Neighbor{Item: i, DistanceM: d})
	}
	slices.SortFunc(all, func(a, b geo.Neighbor) int {
		if c := compareFloat(a.DistanceM, b.DistanceM); c != 0 {
			return c
		}
		return a.Item - b.Item
	})
	return all[:min(k, len(all))]
}

func compareFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// assertSame fails unless got equals want exactly, distances bit for bit.
func assertSame(t *testing.T, what string, got, want []geo.Neighbor) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %d neighbours, want %d\ngot  %v\nwant %v", what, len(got), len(want), head(got), head(want))
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: result %d is %+v, want %+v", what, i, got[i], want[i])
		}
	}
}

func head(ns []geo.Neighbor) []geo.Neighbor { return ns[:min(len(ns), 12)] }

// globalPoints returns n points uniform over the sphere, with a few exactly
// on the poles and the antimeridian.
func globalPoints(n int, seed uint64) []geo.Point {
	rng := rand.New(rand.NewPCG(seed, 99))
	pts := make([]geo.Point, n)
	for i := range pts {
		pts[i] = geo.Point{
			Lat: math.Asin(2*rng.Float64()-1) * 180 / math.Pi,
			Lon: rng.Float64()*360 - 180,
		}
		switch i % 50 {
		case 1:
			pts[i].Lat = 90
		case 2:
			pts[i].Lat = -90
		case 3:
			pts[i].Lon = 180
		case 4:
			pts[i].Lon = -180
		}
	}
	return pts
}

// antimeridianPoints returns n points near the antimeridian and the north
// pole, where latitude-longitude structures go wrong.
func antimeridianPoints(n int, seed uint64) []geo.Point {
	rng := rand.New(rand.NewPCG(seed, 5))
	pts := make([]geo.Point, n)
	for i := range pts {
		lon := 175 + rng.Float64()*10
		if lon > 180 {
			lon -= 360
		}
		pts[i] = geo.Point{Lat: 80 + rng.Float64()*10, Lon: lon}
	}
	return pts
}

// origins returns query origins: data points themselves, points near them,
// and points anywhere on Earth (antipodes and poles included).
func origins(points []geo.Point, n int, seed uint64) []geo.Point {
	rng := rand.New(rand.NewPCG(seed, 3))
	out := []geo.Point{
		{Lat: 90, Lon: 0}, {Lat: -90, Lon: 0}, {Lat: 0, Lon: 180}, {Lat: 65, Lon: -180},
		{Lat: -65, Lon: -155}, // Finland's antipode
		{Lat: 60.1699, Lon: 24.9384}, {Lat: 59.5, Lon: 19}, {Lat: 70.1, Lon: 31.6},
		{Lat: 52.52, Lon: 13.40}, {Lat: 59.33, Lon: 18.07}, // Berlin, Stockholm
	}
	for len(out) < n {
		switch rng.IntN(4) {
		case 0:
			out = append(out, points[rng.IntN(len(points))])
		case 1:
			p := points[rng.IntN(len(points))]
			out = append(out, geo.Point{Lat: max(-90, min(90, p.Lat+rng.NormFloat64()*0.05)), Lon: p.Lon + rng.NormFloat64()*0.1})
		case 2:
			p := points[rng.IntN(len(points))]
			out = append(out, geo.Point{Lat: -p.Lat, Lon: p.Lon + 180}) // antipode of a point
		default:
			out = append(out, geo.Point{Lat: rng.Float64()*180 - 90, Lon: rng.Float64()*360 - 180})
		}
	}
	return out
}

func TestNearestMatchesBruteForce(t *testing.T) {
	t.Parallel()
	datasets := []struct {
		name   string
		points []geo.Point
	}{
		{"Finland", finlandPoints(3000, 11)},
		{"world", globalPoints(2000, 12)},
		{"antimeridian and pole", antimeridianPoints(1000, 13)},
		{"tiny", finlandPoints(5, 14)},
		{"one", []geo.Point{{Lat: 61, Lon: 25}}},
	}
	for _, ds := range datasets {
		t.Run(ds.name, func(t *testing.T) {
			t.Parallel()
			ix := geo.NewIndex(ds.points)
			if ix.Len() != len(ds.points) {
				t.Fatalf("Len = %d, want %d", ix.Len(), len(ds.points))
			}
			rng := rand.New(rand.NewPCG(21, 22))
			types := make([]uint8, len(ds.points))
			for i := range types {
				types[i] = uint8(rng.IntN(4))
			}
			tags := make([]uint32, len(types))
			for i, ty := range types {
				tags[i] = 1 << ty
			}
			tagged := geo.NewTaggedIndex(ds.points, tags)
			keeps := []struct {
				name string
				fn   func(int) bool
			}{
				{"all", nil},
				{"one type in four", func(i int) bool { return types[i] == 0 }},
				{"odd items", func(i int) bool { return i%2 == 1 }},
				{"none", func(int) bool { return false }},
			}
			var dst []geo.Neighbor
			for oi, origin := range origins(ds.points, 60, 23) {
				for _, keep := range keeps {
					for _, k := range []int{1, 10, 100, len(ds.points) + 1} {
						for _, maxD := range []float64{0, -1, 1000, 50_000, 1_000_000, 30_000_000} {
							what := fmt.Sprintf("origin %d %v, keep %s, k %d, max %g m", oi, origin, keep.name, k, maxD)
							dst = ix.Nearest(origin, k, keep.fn, maxD, dst[:0])
							want := bruteNearest(ds.points, origin, k, keep.fn, maxD)
							assertSame(t, what, dst, want)
							// The same filter through the tags: keep sees
							// each item's own tag.
							var byTag func(int, uint32) bool
							if keep.fn != nil {
								byTag = func(i int, tag uint32) bool {
									if tag != 1<<types[i] {
										t.Fatalf("item %d: tag %b, want %b", i, tag, 1<<types[i])
									}
									return keep.fn(i)
								}
							}
							dst = tagged.NearestTagged(origin, k, byTag, maxD, dst[:0])
							assertSame(t, what+" (tagged)", dst, want)
						}
					}
				}
			}
		})
	}
}

// TestScanNearestMatchesBruteForce checks the benchmark's baseline.
func TestScanNearestMatchesBruteForce(t *testing.T) {
	t.Parallel()
	points := finlandPoints(2000, 31)
	keep := func(i int) bool { return i%4 == 0 }
	for _, origin := range origins(points, 30, 32) {
		for _, k := range []int{1, 10, 3000} {
			got := scanNearest(points, origin, k, keep, 200_000, nil)
			assertSame(t, fmt.Sprintf("origin %v, k %d", origin, k), got, bruteNearest(points, origin, k, keep, 200_000))
		}
	}
}

func TestNearestEmptyIndex(t *testing.T) {
	t.Parallel()
	for _, points := range [][]geo.Point{nil, {}} {
		ix := geo.NewIndex(points)
		if ix.Len() != 0 {
			t.Errorf("Len = %d, want 0", ix.Len())
		}
		if got := ix.Nearest(geo.Point{Lat: 60, Lon: 25}, 10, nil, 0, nil); len(got) != 0 {
			t.Errorf("Nearest = %v, want nothing", got)
		}
	}
}

func TestNearestNonPositiveK(t *testing.T) {
	t.Parallel()
	ix := geo.NewIndex(finlandPoints(100, 41))
	for _, k := range []int{0, -1} {
		if got := ix.Nearest(geo.Point{Lat: 60, Lon: 25}, k, nil, 0, nil); len(got) != 0 {
			t.Errorf("k = %d: Nearest = %v, want nothing", k, got)
		}
	}
}

func TestNearestDuplicatePoints(t *testing.T) {
	t.Parallel()
	tampere := geo.Point{Lat: 61.4978, Lon: 23.7610}
	points := make([]geo.Point, 50)
	for i := range points {
		points[i] = tampere
	}
	points[7] = geo.Point{Lat: 61.5, Lon: 23.77}
	ix := geo.NewIndex(points)

	got := ix.Nearest(tampere, 5, nil, 0, nil)
	want := []geo.Neighbor{{0, 0}, {1, 0}, {2, 0}, {3, 0}, {4, 0}}
	assertSame(t, "at the duplicates", got, want)

	got = ix.Nearest(geo.Point{Lat: 61.6, Lon: 23.8}, 50, nil, 0, nil)
	assertSame(t, "from elsewhere", got, bruteNearest(points, geo.Point{Lat: 61.6, Lon: 23.8}, 50, nil, 0))
	if got[0].Item != 7 {
		t.Errorf("nearest is %d, want the odd one out, 7", got[0].Item)
	}
	for i := 2; i < len(got); i++ {
		if got[i].DistanceM != got[1].DistanceM || got[i].Item <= got[i-1].Item {
			t.Fatalf("duplicates not in item order: %v", got)
		}
	}
}

func TestNearestTies(t *testing.T) {
	t.Parallel()
	// Four points a degree from the origin on the equator and the prime
	// meridian are at bit-identical distances; ties go to the smaller item.
	points := []geo.Point{
		{Lat: 0, Lon: 1},    // 0
		{Lat: 5, Lon: 5},    // 1, farther
		{Lat: -1, Lon: 0},   // 2
		{Lat: 0, Lon: 0.5},  // 3, nearest
		{Lat: 0, Lon: -1},   // 4
		{Lat: 1, Lon: 0},    // 5
		{Lat: 0, Lon: -0.5}, // 6, nearest too
	}
	ix := geo.NewIndex(points)
	origin := geo.Point{}
	got := ix.Nearest(origin, 6, nil, 0, nil)
	items := make([]int, len(got))
	for i, n := range got {
		items[i] = n.Item
	}
	if want := []int{3, 6, 0, 2, 4, 5}; !slices.Equal(items, want) {
		t.Errorf("items = %v, want %v", items, want)
	}
	assertSame(t, "ties", got, bruteNearest(points, origin, 6, nil, 0))

	// The tie at the cut goes to the smaller items too.
	got = ix.Nearest(origin, 4, nil, 0, nil)
	assertSame(t, "cut in a tie", got, bruteNearest(points, origin, 4, nil, 0))
	if got[3].Item != 2 {
		t.Errorf("fourth is %d, want 2", got[3].Item)
	}
}

func TestNearestAppendsToDst(t *testing.T) {
	t.Parallel()
	points := finlandPoints(500, 51)
	ix := geo.NewIndex(points)
	origin := geo.Point{Lat: 62, Lon: 25}
	prefix := []geo.Neighbor{{Item: -1, DistanceM: -1}, {Item: -2, DistanceM: -2}}
	got := ix.Nearest(origin, 10, nil, 0, slices.Clone(prefix))
	assertSame(t, "prefix kept", got[:2], prefix)
	assertSame(t, "appended", got[2:], bruteNearest(points, origin, 10, nil, 0))
}

func TestNearestMaxDistance(t *testing.T) {
	t.Parallel()
	helsinki := geo.Point{Lat: 60.1699, Lon: 24.9384}
	tampere := geo.Point{Lat: 61.4978, Lon: 23.7610}
	ix := geo.NewIndex([]geo.Point{tampere, helsinki})
	d := geo.Distance(helsinki, tampere)
	tests := []struct {
		maxD  float64
		items []int
	}{
		{0, []int{1, 0}},
		{-5, []int{1, 0}},
		{1, []int{1}},
		{d, []int{1, 0}}, // the limit is inclusive
		{math.Nextafter(d, 0), []int{1}},
	}
	for _, tt := range tests {
		var items []int
		for _, n := range ix.Nearest(helsinki, 10, nil, tt.maxD, nil) {
			items = append(items, n.Item)
		}
		if !slices.Equal(items, tt.items) {
			t.Errorf("max %v m: items %v, want %v", tt.maxD, items, tt.items)
		}
	}
}

func TestNearestKeepCalledOnlyForCandidates(t *testing.T) {
	t.Parallel()
	points := finlandPoints(20_000, 61)
	ix := geo.NewIndex(points)
	calls := map[int]int{}
	keep := func(i int) bool { calls[i]++; return i%4 == 0 }
	ix.Nearest(geo.Point{Lat: 61.5, Lon: 23.76}, 10, keep, 0, nil)
	for item, n := range calls {
		if n > 1 {
			t.Errorf("keep(%d) called %d times", item, n)
		}
	}
	if len(calls) > len(points)/10 {
		t.Errorf("keep called for %d of %d items; the index should skip most", len(calls), len(points))
	}
}

// TestNearestNoAllocations is not parallel: testing.AllocsPerRun refuses to
// run in a parallel test.
func TestNearestNoAllocations(t *testing.T) {
	points := finlandPoints(10_000, 71)
	types := make([]uint8, len(points))
	for i := range types {
		types[i] = uint8(i % 4)
	}
	ix := geo.NewIndex(points)
	keep := func(i int) bool { return types[i] == 0 }
	dst := make([]geo.Neighbor, 0, 10)
	allocs := testing.AllocsPerRun(100, func() {
		dst = ix.Nearest(geo.Point{Lat: 60.2, Lon: 24.9}, 10, keep, 0, dst[:0])
	})
	if allocs != 0 {
		t.Errorf("Nearest allocated %v times per call with dst reused, want 0", allocs)
	}
	tags := make([]uint32, len(types))
	for i, ty := range types {
		tags[i] = uint32(ty)
	}
	tagged := geo.NewTaggedIndex(points, tags)
	keepTag := func(_ int, tag uint32) bool { return tag == 0 }
	allocs = testing.AllocsPerRun(100, func() {
		dst = tagged.NearestTagged(geo.Point{Lat: 60.2, Lon: 24.9}, 10, keepTag, 0, dst[:0])
	})
	if allocs != 0 {
		t.Errorf("NearestTagged allocated %v times per call with dst reused, want 0", allocs)
	}
}

func TestNearestConcurrent(t *testing.T) {
	t.Parallel()
	points := finlandPoints(5000, 81)
	ix := geo.NewIndex(points)
	queries := origins(points, 40, 82)
	want := make([][]geo.Neighbor, len(queries))
	for i, o := range queries {
		want[i] = bruteNearest(points, o, 10, nil, 0)
	}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			var dst []geo.Neighbor
			for i := range queries {
				j := (i + g*10) % len(queries)
				dst = ix.Nearest(queries[j], 10, nil, 0, dst[:0])
				if !slices.Equal(dst, want[j]) {
					t.Errorf("goroutine %d, origin %v: got %v, want %v", g, queries[j], dst, want[j])
				}
			}
		})
	}
	wg.Wait()
}

// TestNearestFilteredMatchesBruteForce checks TagFilter against the same
// filter written as a keep function, on a numbered index whose items are
// not their places (odd numbers, descending), duplicate points and ties
// included.
func TestNearestFilteredMatchesBruteForce(t *testing.T) {
	t.Parallel()
	points := finlandPoints(3000, 91)
	for i := 0; i < len(points); i += 7 {
		points[i+1] = points[i] // a duplicate: a tie broken by item
	}
	rng := rand.New(rand.NewPCG(92, 93))
	tags := make([]uint32, len(points))
	items := make([]int32, len(points))
	byItem := map[int]int{} // item → place in points
	for i := range points {
		tags[i] = 1<<rng.IntN(4) | uint32(rng.IntN(4))<<8
		items[i] = int32(2*(len(points)-i) + 1)
		byItem[int(items[i])] = i
	}
	ix := geo.NewNumberedIndex(points, items, tags)
	filters := []struct {
		name string
		f    geo.TagFilter
		want func(tag uint32, place int) bool
	}{
		{"none", geo.TagFilter{}, func(uint32, int) bool { return true }},
		{"one type", geo.TagFilter{Any: [2]uint32{1}}, func(tag uint32, _ int) bool { return tag&1 != 0 }},
		{"two masks", geo.TagFilter{Any: [2]uint32{3, 1 << 8}}, func(tag uint32, _ int) bool { return tag&3 != 0 && tag&(1<<8) != 0 }},
		{"second mask alone", geo.TagFilter{Any: [2]uint32{0, 2 << 8}}, func(tag uint32, _ int) bool { return tag&(2<<8) != 0 }},
		{"keep for the unsettled", geo.TagFilter{Any: [2]uint32{1 | 4}, Settled: 1 << 8,
			Keep: func(item int, tag uint32) bool {
				if tag != tags[byItem[item]] {
					t.Fatalf("item %d: tag %b, want %b", item, tag, tags[byItem[item]])
				}
				if tag&(1<<8) != 0 {
					t.Fatalf("item %d: Keep asked about a settled tag %b", item, tag)
				}
				return item%3 == 0
			}},
			func(tag uint32, place int) bool {
				return tag&5 != 0 && (tag&(1<<8) != 0 || int(items[place])%3 == 0)
			}},
	}
	var dst []geo.Neighbor
	for oi, origin := range origins(points, 40, 94) {
		for _, f := range filters {
			for _, k := range []int{1, 10, 100} {
				for _, maxD := range []float64{0, 20_000} {
					dst = ix.NearestFiltered(origin, k, f.f, maxD, dst[:0])
					want := bruteNearest(points, origin, len(points), func(i int) bool { return f.want(tags[i], i) }, maxD)
					// Numbered: the items are renamed, and ties go to the
					// smaller new number.
					for i := range want {
						want[i].Item = int(items[want[i].Item])
					}
					slices.SortStableFunc(want, func(a, b geo.Neighbor) int {
						if c := compareFloat(a.DistanceM, b.DistanceM); c != 0 {
							return c
						}
						return a.Item - b.Item
					})
					assertSame(t, fmt.Sprintf("origin %d, filter %s, k %d, max %g", oi, f.name, k, maxD), dst, want[:min(k, len(want))])
				}
			}
		}
	}
}

// TestNearestFilteredNoAllocations: a Keep closure over a large value the
// caller keeps on its stack costs no allocation (the search does not make
// the compiler move what the closure captures to the heap).
func TestNearestFilteredNoAllocations(t *testing.T) {
	points := finlandPoints(10_000, 95)
	tags := make([]uint32, len(points))
	for i := range tags {
		tags[i] = 1 << (i % 4)
	}
	ix := geo.NewTaggedIndex(points, tags)
	dst := make([]geo.Neighbor, 0, 10)
	allocs := testing.AllocsPerRun(100, func() {
		var query [64]int // captured by reference: big, and written below
		query[3] = 1
		f := geo.TagFilter{Any: [2]uint32{1 | 2}, Settled: 1, Keep: func(item int, _ uint32) bool { return item%2 == query[3] }}
		dst = ix.NearestFiltered(geo.Point{Lat: 60.2, Lon: 24.9}, 10, f, 0, dst[:0])
		query[5] = len(dst)
	})
	if allocs != 0 {
		t.Errorf("NearestFiltered allocated %v times per call with dst reused, want 0", allocs)
	}
}

// TestNearestNonFiniteOrigin: an origin with a NaN or infinite coordinate
// is near nothing (before, its distances came back NaN).
func TestNearestNonFiniteOrigin(t *testing.T) {
	t.Parallel()
	ix := geo.NewIndex(finlandPoints(100, 41))
	for _, origin := range []geo.Point{{Lat: math.NaN(), Lon: 25}, {Lat: 60, Lon: math.NaN()}, {Lat: math.Inf(1), Lon: 25}, {Lat: 60, Lon: math.Inf(-1)}} {
		if got := ix.Nearest(origin, 5, nil, 0, nil); len(got) != 0 {
			t.Errorf("Nearest(%v) = %v; want nothing", origin, got)
		}
		if got := ix.NearestFiltered(origin, 5, geo.TagFilter{}, 1000, nil); len(got) != 0 {
			t.Errorf("NearestFiltered(%v) = %v; want nothing", origin, got)
		}
	}
}
