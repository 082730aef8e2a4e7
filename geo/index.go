package geo

import "math"

// Neighbor is one search result: the item (its position in the slice the
// index was built from, or the number NewNumberedIndex gave it), and its
// distance in metres.
type Neighbor struct {
	Item      int
	DistanceM float64
}

// Index answers k-nearest-neighbour queries by great-circle distance over a
// fixed set of points. Immutable after construction and safe for concurrent
// use.
type Index struct {
	// entries holds the points as unit vectors, in tree order: every node
	// covers one contiguous run of it.
	entries []entry
	// nodes is the k-d tree; nodes[0] is the root.
	nodes []node
}

// entry is a point as a unit vector, with its item number and tag
// (NewTaggedIndex). 32 bytes: two entries to a cache line.
type entry struct {
	v    [3]float64
	item int32
	tag  uint32
}

// node is a k-d tree node: the bounding box of the vectors in
// entries[lo:hi], and its children left and left+1, or left < 0 for a leaf.
type node struct {
	min, max [3]float64
	lo, hi   int32
	left     int32
}

// leafSize is the most points a leaf holds (16 measured fastest, 4 to 32).
const leafSize = 16

// NewIndex builds an index over points; item i is points[i]. Latitudes must
// lie in [-90, 90]; any finite longitude works.
func NewIndex(points []Point) *Index {
	return NewTaggedIndex(points, nil)
}

// NewTaggedIndex is NewIndex with a tag for each point (tags[i] for
// points[i]; nil: all 0), which NearestTagged hands to its keep function.
// The tag lies beside the point in the index's own memory, so a filter
// that needs only it reads nothing else for each candidate.
func NewTaggedIndex(points []Point, tags []uint32) *Index {
	return NewNumberedIndex(points, nil, tags)
}

// NewNumberedIndex is NewTaggedIndex with the items numbered by the
// caller: points[i] is item items[i] (items nil: i), which the searches
// report, break ties by, and hand to keep. Items must not be negative. A
// caller that indexes some of its records can so number each by its place
// among them all, and look nothing up to go from a result to its record.
func NewNumberedIndex(points []Point, items []int32, tags []uint32) *Index {
	if tags != nil && len(tags) != len(points) {
		panic("geo: tags and points differ in length")
	}
	if items != nil && len(items) != len(points) {
		panic("geo: items and points differ in length")
	}
	if len(points) >= math.MaxInt32 {
		panic("geo: too many points for an Index")
	}
	ix := &Index{}
	if len(points) == 0 {
		return ix
	}
	// Built with each entry's place in points as its item, numbered
	// as the caller asks once the tree is laid out.
	ix.entries = make([]entry, len(points))
	for i, p := range points {
		ix.entries[i] = entry{v: unitVector(p), item: int32(i)}
		if tags != nil {
			ix.entries[i].tag = tags[i]
		}
	}
	ix.nodes = make([]node, 1, 4*len(points)/leafSize+1)
	ix.build(0, 0, len(points))
	if items != nil {
		for i, e := range ix.entries {
			if items[e.item] < 0 {
				panic("geo: a negative item number")
			}
			ix.entries[i].item = items[e.item]
		}
	}
	return ix
}

// unitVector returns p as a point on the unit sphere.
func unitVector(p Point) [3]float64 {
	lat, lon := p.Lat*degToRad, p.Lon*degToRad
	c := math.Cos(lat)
	return [3]float64{c * math.Cos(lon), c * math.Sin(lon), math.Sin(lat)}
}

// build makes nodes[ni] cover entries[lo:hi], splitting it at the median of
// its widest axis until the pieces fit in a leaf.
func (ix *Index) build(ni int32, lo, hi int) {
	es := ix.entries[lo:hi]
	nd := node{min: es[0].v, max: es[0].v, lo: int32(lo), hi: int32(hi), left: -1}
	for _, e := range es[1:] {
		for a := range 3 {
			nd.min[a] = min(nd.min[a], e.v[a])
			nd.max[a] = max(nd.max[a], e.v[a])
		}
	}
	if len(es) > leafSize {
		axis := 0
		for a := 1; a < 3; a++ {
			if nd.max[a]-nd.min[a] > nd.max[axis]-nd.min[axis] {
				axis = a
			}
		}
		mid := len(es) / 2
		selectNth(es, mid, axis)
		nd.left = int32(len(ix.nodes))
		ix.nodes = append(ix.nodes, node{}, node{})
		ix.build(nd.left, lo, lo+mid)
		ix.build(nd.left+1, lo+mid, hi)
	}
	ix.nodes[ni] = nd
}

// selectNth reorders es so that es[nth] holds the value it would hold if es
// were sorted by axis, with no smaller value after it and no larger before it
// (Hoare's selection; it copes with many equal values).
func selectNth(es []entry, nth, axis int) {
	lo, hi := 0, len(es)-1
	for lo < hi {
		a, b, c := es[lo].v[axis], es[(lo+hi)/2].v[axis], es[hi].v[axis]
		pivot := max(min(a, b), min(max(a, b), c)) // median of three
		i, j := lo, hi
		for i <= j {
			for es[i].v[axis] < pivot {
				i++
			}
			for es[j].v[axis] > pivot {
				j--
			}
			if i <= j {
				es[i], es[j] = es[j], es[i]
				i++
				j--
			}
		}
		switch {
		case nth <= j:
			hi = j
		case nth >= i:
			lo = i
		default:
			return // es[j+1:i] all equal the pivot
		}
	}
}

// Len returns the number of items.
func (ix *Index) Len() int { return len(ix.entries) }

// Nearest appends to dst (which it may reuse; pass nil or dst[:0]) the k
// items nearest to origin, nearest first (ties broken by smaller Item),
// keeping only items for which keep(item) is true (keep nil = all), and only
// items within maxDistanceM metres when maxDistanceM > 0. Returns fewer than
// k when fewer qualify (none for an origin with a NaN or infinite
// coordinate). The result is exactly that of a brute-force scan.
//
// keep is called only for items close enough to matter, at most once each.
// Nearest allocates nothing when dst has room for k more results.
func (ix *Index) Nearest(origin Point, k int, keep func(item int) bool, maxDistanceM float64, dst []Neighbor) []Neighbor {
	return ix.nearest(origin, k, keep, TagFilter{}, maxDistanceM, dst)
}

// NearestTagged is Nearest with keep given each candidate's tag too
// (NewTaggedIndex), read from the index's own memory.
func (ix *Index) NearestTagged(origin Point, k int, keep func(item int, tag uint32) bool, maxDistanceM float64, dst []Neighbor) []Neighbor {
	return ix.nearest(origin, k, nil, TagFilter{Keep: keep}, maxDistanceM, dst)
}

// TagFilter picks candidates by their tags (NewTaggedIndex) in the
// search's own loop, calling nothing for those their tag settles.
//
// A candidate passes when its tag shares a bit with each nonzero mask of
// Any (a zero mask asks nothing). Of those, one whose tag shares a bit
// with Settled is kept; any other is kept when Keep says so (Keep nil:
// kept). Keep is called as NearestTagged calls its keep.
type TagFilter struct {
	Any     [2]uint32
	Settled uint32
	Keep    func(item int, tag uint32) bool
}

// NearestFiltered is Nearest with the candidates picked by f: the tree's
// walk tests most of them with a few bit operations on the tags beside
// their points, where a keep function costs a call for each. Like
// Nearest it allocates nothing when dst has room for k more results, and
// f.Keep's closure stays where its caller made it.
func (ix *Index) NearestFiltered(origin Point, k int, f TagFilter, maxDistanceM float64, dst []Neighbor) []Neighbor {
	return ix.nearest(origin, k, nil, f, maxDistanceM, dst)
}

// nearest is Nearest with keep nil or f the zero TagFilter.
func (ix *Index) nearest(origin Point, k int, keep func(int) bool, f TagFilter, maxDistanceM float64, dst []Neighbor) []Neighbor {
	if k <= 0 || len(ix.entries) == 0 || !finite(origin.Lat) || !finite(origin.Lon) {
		return dst // nowhere is near a point that is not one
	}
	buf := searchBuf{out: dst}
	s := searcher{
		ix:      ix,
		q:       unitVector(origin),
		k:       k,
		keep:    keep,
		any:     f.Any,
		settled: f.Settled,
		tagged:  f.Keep,
		maxDist: math.Inf(1),
		limit:   math.Inf(1),
		base:    len(dst),
	}
	if maxDistanceM > 0 {
		s.maxDist = maxDistanceM
		if angle := maxDistanceM / EarthRadiusM; angle < math.Pi {
			s.limit = chordBoundSq(2 * math.Sin(angle/2))
		}
	}
	s.bound = s.limit
	if boxDistSq(&s.q, &ix.nodes[0]) <= s.bound {
		s.visit(&buf, 0)
	}
	s.finish(&buf)
	// buf.out[s.base:] is a max-heap; sort it in place, nearest first.
	h := buf.out[s.base:]
	for end := len(h) - 1; end > 0; end-- {
		h[0], h[end] = h[end], h[0]
		siftDown(h[:end], 0)
	}
	return buf.out
}

// searcher is the state of one Nearest call.
type searcher struct {
	ix      *Index
	q       [3]float64 // origin as a unit vector
	k       int
	keep    func(int) bool
	any     [2]uint32 // TagFilter's
	settled uint32
	tagged  func(int, uint32) bool
	maxDist float64 // metres; +Inf when unlimited
	limit   float64 // chordBoundSq for maxDist, +Inf when unlimited
	// bound is the squared chord beyond which nothing can qualify: limit
	// until k candidates are held, then the tighter of limit and the k-th's.
	bound float64
	// base is where the search's results begin in its searchBuf's out.
	base int
	// spill[:nSpill], then the searchBuf's more, hold the candidates
	// that passed keep but are not (or no longer) among the k nearest by
	// chord: one may still be within the margin of the k-th, where the
	// haversine may order them otherwise.
	spill  [32]Neighbor
	nSpill int
}

// searchBuf is the slices a search appends to, handed to the searcher's
// methods beside it rather than held in it: what append does to them
// would otherwise make the compiler move what the searcher's keep
// function captures to the heap, and a caller's filter (a closure over
// its query) would cost an allocation a search.
//
// out[base:] is a max-heap: during the walk of the k candidates nearest
// by chord, each as Neighbor{Item: position in entries, DistanceM:
// squared chord}; after finish, of the results.
type searchBuf struct {
	out  []Neighbor
	more []Neighbor // allocated only when many candidates lie within a margin of each other
}

// chordMargin returns how far beyond chord c (the k-th candidate's, or
// maxDistanceM's) a point's computed chord must lie before it is surely
// farther by Distance too. Chords and vectors carry errors of about
// 1e-15 and the haversine about as much in angle, except near the antipode
// where the arcsine amplifies them to about 1e-7 rad; chord grows no faster
// than angle, so a chord margin of 1e-12 (6 µm on the ground), or 1e-6 where
// chords near 2 (antipodal, beyond 16,000 km) may be involved, covers all of
// that with room to spare.
func chordMargin(c float64) float64 {
	if c+1e-6 < 1.98 {
		return 1e-12
	}
	return 1e-6
}

// chordBoundSq returns the squared chord beyond which a point is surely
// farther than the distance whose chord is c.
func chordBoundSq(c float64) float64 {
	b := c + chordMargin(c)
	return b * b
}

// boxDistSq returns the squared distance from q to the node's bounding box,
// a lower bound of the squared chord to each of its points (as computed by
// scan, since rounding is monotonic).
func boxDistSq(q *[3]float64, nd *node) float64 {
	var sum float64
	for a := range 3 {
		var d float64
		if q[a] < nd.min[a] {
			d = nd.min[a] - q[a]
		} else if q[a] > nd.max[a] {
			d = q[a] - nd.max[a]
		}
		sum += d * d
	}
	return sum
}

// visit searches the subtree at nodes[ni], nearer child first.
func (s *searcher) visit(buf *searchBuf, ni int32) {
	nd := &s.ix.nodes[ni]
	if nd.left < 0 {
		s.scan(buf, int(nd.lo), int(nd.hi))
		return
	}
	a, b := nd.left, nd.left+1
	da, db := boxDistSq(&s.q, &s.ix.nodes[a]), boxDistSq(&s.q, &s.ix.nodes[b])
	if db < da {
		a, b, da, db = b, a, db, da
	}
	if da <= s.bound {
		s.visit(buf, a)
	}
	if db <= s.bound { // bound may have shrunk while visiting a
		s.visit(buf, b)
	}
}

// scan considers entries[lo:hi].
func (s *searcher) scan(b *searchBuf, lo, hi int) {
	es := s.ix.entries[lo:hi]
	for i := range es {
		e := &es[i]
		cs := chordSq(&s.q, &e.v)
		if cs > s.bound {
			continue
		}
		if t := e.tag; t&s.any[0] == 0 && s.any[0] != 0 || t&s.any[1] == 0 && s.any[1] != 0 {
			continue
		}
		s.consider(b, lo+i, int(e.item), e.tag, cs)
	}
}

// consider offers the entry at position pos, whose squared chord cs passed
// the screen. The walk ranks candidates by chord alone; finish computes the
// haversine only for those that can still be among the k nearest (about k,
// where the walk meets about twice as many).
func (s *searcher) consider(b *searchBuf, pos, item int, tag uint32, cs float64) {
	switch {
	case s.tagged != nil:
		if tag&s.settled == 0 && !s.tagged(item, tag) {
			return
		}
	case s.keep != nil:
		if !s.keep(item) {
			return
		}
	}
	n := Neighbor{Item: pos, DistanceM: cs}
	h := b.out[s.base:]
	if len(h) < s.k {
		b.out = append(b.out, n)
		h = b.out[s.base:]
		siftUp(h, len(h)-1)
		if len(h) < s.k {
			return
		}
	} else {
		if !less(n, h[0]) {
			s.spillOne(b, n)
			return
		}
		s.spillOne(b, h[0])
		h[0] = n
		siftDown(h, 0)
	}
	// The heap is full: nothing farther by chord than its worst, by more
	// than the margin, can be nearer by Distance.
	s.bound = min(s.limit, chordBoundSq(math.Sqrt(h[0].DistanceM)))
}

// spillOne keeps a candidate put out of the chord heap, while it is within
// the bound.
func (s *searcher) spillOne(b *searchBuf, n Neighbor) {
	if s.nSpill == len(s.spill) {
		kept := 0
		for _, m := range s.spill {
			if m.DistanceM <= s.bound {
				s.spill[kept] = m
				kept++
			}
		}
		s.nSpill = kept
	}
	if s.nSpill < len(s.spill) {
		s.spill[s.nSpill] = n
		s.nSpill++
		return
	}
	b.more = append(b.more, n)
}

// finish turns the walk's candidates into the results: it computes the
// haversine of those within the final bound (the chord heap's, and the
// spilled ones still within it), drops those beyond maxDist, and leaves
// in out[base:] the max-heap of the k nearest by (Distance, Item).
func (s *searcher) finish(b *searchBuf) {
	cands := b.out[s.base:]
	b.out = b.out[:s.base]
	// offer writes at most one result per candidate read, never past it.
	for _, n := range cands {
		s.offer(b, n)
	}
	for _, n := range s.spill[:s.nSpill] {
		s.offer(b, n)
	}
	for _, n := range b.more {
		s.offer(b, n)
	}
}

// offer puts a candidate of the walk (position, squared chord) into the
// results when its Distance ranks among the k nearest.
func (s *searcher) offer(b *searchBuf, c Neighbor) {
	if c.DistanceM > s.bound {
		return
	}
	d := arc(c.DistanceM)
	if d > s.maxDist {
		return
	}
	n := Neighbor{Item: int(s.ix.entries[c.Item].item), DistanceM: d}
	h := b.out[s.base:]
	if len(h) < s.k {
		b.out = append(b.out, n)
		siftUp(b.out[s.base:], len(h))
		return
	}
	if less(n, h[0]) {
		h[0] = n
		siftDown(h, 0)
	}
}

// less orders neighbours by distance, then item.
func less(a, b Neighbor) bool {
	return a.DistanceM < b.DistanceM || a.DistanceM == b.DistanceM && a.Item < b.Item
}

// siftUp restores the max-heap h after h[i] was set.
func siftUp(h []Neighbor, i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !less(h[p], h[i]) {
			return
		}
		h[p], h[i] = h[i], h[p]
		i = p
	}
}

// siftDown restores the max-heap h after h[i] was set.
func siftDown(h []Neighbor, i int) {
	for {
		c := 2*i + 1
		if c >= len(h) {
			return
		}
		if c+1 < len(h) && less(h[c], h[c+1]) {
			c++
		}
		if !less(h[i], h[c]) {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

// finite reports whether x is a number, neither NaN nor infinite.
func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
