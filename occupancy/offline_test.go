package occupancy_test

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/lokero/lokero/occupancy"
)

// feasible reports whether the stays fit n compartments: no day has more
// than n.
func feasible(n int, stays []occupancy.Interval) bool {
	days := map[int]int{}
	for _, s := range stays {
		for d := s.From; d <= s.Through; d++ {
			if days[d]++; days[d] > n {
				return false
			}
		}
	}
	return true
}

// mostByBruteForce is the most stays that fit n compartments, over every
// subset.
func mostByBruteForce(n int, stays []occupancy.Interval) int {
	best := 0
	for mask := 0; mask < 1<<len(stays); mask++ {
		var sub []occupancy.Interval
		for i, s := range stays {
			if mask&(1<<i) != 0 {
				sub = append(sub, s)
			}
		}
		if len(sub) > best && feasible(n, sub) {
			best = len(sub)
		}
	}
	return best
}

func keptOf(stays []occupancy.Interval, kept []bool) []occupancy.Interval {
	var out []occupancy.Interval
	for i, k := range kept {
		if k {
			out = append(out, stays[i])
		}
	}
	return out
}

// TestMostKept: the kept stays fit, and there are as many as the best
// subset has; where arrival order would keep a long stay, the long one
// goes.
func TestMostKept(t *testing.T) {
	t.Parallel()
	iv := func(from, through int) occupancy.Interval { return occupancy.Interval{From: from, Through: through} }
	tests := []struct {
		name  string
		n     int
		stays []occupancy.Interval
		want  []bool
	}{
		{"none", 2, nil, []bool{}},
		{"no compartments", 0, []occupancy.Interval{iv(0, 0)}, []bool{false}},
		{"all fit", 2, []occupancy.Interval{iv(0, 3), iv(1, 1), iv(2, 5)}, []bool{true, true, true}},
		// The week-long stay that came first blocks two short ones: it goes.
		{"the long stay goes", 1, []occupancy.Interval{iv(0, 7), iv(1, 1), iv(2, 3)}, []bool{false, true, true}},
		// Two compartments, three parcels on day 1: the one leaving last goes.
		{"the latest departure goes", 2, []occupancy.Interval{iv(0, 2), iv(1, 5), iv(1, 1)}, []bool{true, false, true}},
		// Equal departures: the earlier in the list keeps its place.
		{"ties keep the first", 1, []occupancy.Interval{iv(0, 2), iv(1, 2)}, []bool{true, false}},
		// A parcel picked up the day another arrives still holds its compartment that day.
		{"the same day is taken", 1, []occupancy.Interval{iv(0, 1), iv(1, 1)}, []bool{true, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := occupancy.MostKept(tt.n, tt.stays)
			if !slices.Equal(got, tt.want) {
				t.Errorf("MostKept(%d, %v) = %v; want %v", tt.n, tt.stays, got, tt.want)
			}
		})
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for trial := range 400 {
		n := 1 + rng.IntN(3)
		stays := make([]occupancy.Interval, 1+rng.IntN(11))
		for i := range stays {
			from := rng.IntN(6)
			stays[i] = iv(from, from+rng.IntN(5))
		}
		kept := occupancy.MostKept(n, stays)
		sub := keptOf(stays, kept)
		if !feasible(n, sub) {
			t.Fatalf("trial %d: MostKept(%d, %v) keeps %v, which do not fit", trial, n, stays, sub)
		}
		if best := mostByBruteForce(n, stays); len(sub) != best {
			t.Fatalf("trial %d: MostKept(%d, %v) keeps %d; the best subset has %d", trial, n, stays, len(sub), best)
		}
	}
}

// leastAwayByBruteForce is the fewest requests not in their chosen locker
// over every assignment of each to its choice, an alternative or nowhere.
func leastAwayByBruteForce(compartments []int, reqs []occupancy.Request) int {
	best := len(reqs)
	assign := make([]int, len(reqs))
	var try func(i, away int)
	try = func(i, away int) {
		if away >= best {
			return
		}
		if i == len(reqs) {
			for l, n := range compartments {
				var stays []occupancy.Interval
				for k, a := range assign {
					if a == l {
						stays = append(stays, reqs[k].Stay)
					}
				}
				if !feasible(n, stays) {
					return
				}
			}
			best = away
			return
		}
		options := append([]int{reqs[i].Choice}, reqs[i].Alternatives...)
		for k, l := range append(options, -1) {
			assign[i] = l
			extra := 0
			if k > 0 {
				extra = 1
			}
			try(i+1, away+extra)
		}
	}
	try(0, 0)
	return best
}

// checkPlan fails when a plan puts more parcels in a locker on a day than
// it has compartments, places one outside its choice and alternatives, or
// miscounts.
func checkPlan(t *testing.T, what string, compartments []int, reqs []occupancy.Request, p occupancy.Plan) {
	t.Helper()
	away, elsewhere, nowhere := 0, 0, 0
	for l, n := range compartments {
		var stays []occupancy.Interval
		for i, at := range p.Locker {
			if at == l {
				stays = append(stays, reqs[i].Stay)
			}
		}
		if !feasible(n, stays) {
			t.Fatalf("%s: locker %d is given %v with %d compartments", what, l, stays, n)
		}
	}
	for i, at := range p.Locker {
		switch {
		case at == reqs[i].Choice:
		case at < 0:
			away, nowhere = away+1, nowhere+1
		case slices.Contains(reqs[i].Alternatives, at):
			away, elsewhere = away+1, elsewhere+1
		default:
			t.Fatalf("%s: request %d placed at %d, neither its choice nor an alternative", what, i, at)
		}
	}
	if p.Away != away || p.Elsewhere != elsewhere || p.Nowhere != nowhere {
		t.Fatalf("%s: counts %d/%d/%d; the plan has %d away, %d elsewhere, %d nowhere", what, p.Away, p.Elsewhere, p.Nowhere, away, elsewhere, nowhere)
	}
}

// TestOptimum: the optimum turns away exactly as few as the best of every
// assignment, never more than first come, first served, and its plan is
// a real one.
func TestOptimum(t *testing.T) {
	t.Parallel()
	// Two lockers of one compartment. Locker 0's shopper A stays a week,
	// B and C a day each; first come keeps A at 0 and sends B and C to
	// locker 1; the optimum sends A to locker 1 and keeps B and C.
	reqs := []occupancy.Request{
		{Stay: occupancy.Interval{From: 0, Through: 6}, Choice: 0, Alternatives: []int{1}},
		{Stay: occupancy.Interval{From: 1, Through: 1}, Choice: 0, Alternatives: []int{1}},
		{Stay: occupancy.Interval{From: 2, Through: 2}, Choice: 0, Alternatives: []int{1}},
	}
	comps := []int{1, 1}
	opt, fc := occupancy.Optimum(comps, reqs), occupancy.FirstCome(comps, reqs)
	checkPlan(t, "optimum", comps, reqs, opt)
	checkPlan(t, "first come", comps, reqs, fc)
	if want := []int{1, 0, 0}; !slices.Equal(opt.Locker, want) || opt.Away != 1 || opt.Elsewhere != 1 {
		t.Errorf("optimum = %+v; want lockers %v, one away, elsewhere", opt, want)
	}
	if want := []int{0, 1, 1}; !slices.Equal(fc.Locker, want) || fc.Away != 2 || fc.Elsewhere != 2 {
		t.Errorf("first come = %+v; want lockers %v, two away, both elsewhere", fc, want)
	}
	// With no alternative, first come places them nowhere.
	for i := range reqs {
		reqs[i].Alternatives = nil
	}
	if fc := occupancy.FirstCome(comps, reqs); !slices.Equal(fc.Locker, []int{0, -1, -1}) || fc.Nowhere != 2 {
		t.Errorf("first come without alternatives = %+v; want A kept, B and C nowhere", fc)
	}

	rng := rand.New(rand.NewPCG(3, 5))
	for trial := range 300 {
		lockers := 2 + rng.IntN(2)
		comps := make([]int, lockers)
		for l := range comps {
			comps[l] = 1 + rng.IntN(2)
		}
		reqs := make([]occupancy.Request, 1+rng.IntN(7))
		for i := range reqs {
			from := rng.IntN(4)
			choice := rng.IntN(lockers)
			alt := (choice + 1 + rng.IntN(lockers-1)) % lockers
			reqs[i] = occupancy.Request{Stay: occupancy.Interval{From: from, Through: from + rng.IntN(4)}, Choice: choice, Alternatives: []int{alt}}
		}
		opt, fc := occupancy.Optimum(comps, reqs), occupancy.FirstCome(comps, reqs)
		checkPlan(t, "optimum", comps, reqs, opt)
		checkPlan(t, "first come", comps, reqs, fc)
		if best := leastAwayByBruteForce(comps, reqs); opt.Away != best {
			t.Fatalf("trial %d: optimum turns away %d of %+v on %v; the best assignment %d", trial, opt.Away, reqs, comps, best)
		}
		if fc.Away < opt.Away {
			t.Fatalf("trial %d: first come turns away %d, fewer than the optimum's %d", trial, fc.Away, opt.Away)
		}
	}
}

// fitsSized reports whether stays (each with its class) can each have
// one compartment of a class from theirs up for their whole stay, by
// trying every assignment: no parcel changes compartments.
func fitsSized(counts []int, reqs []occupancy.Request) bool {
	var comps []int // the class of each compartment
	for c, n := range counts {
		for range n {
			comps = append(comps, c)
		}
	}
	at := make([]int, len(reqs))
	var try func(i int) bool
	try = func(i int) bool {
		if i == len(reqs) {
			return true
		}
		for k, c := range comps {
			if c < reqs[i].Class {
				continue
			}
			free := true
			for j := range i {
				if at[j] == k && reqs[j].Stay.From <= reqs[i].Stay.Through && reqs[i].Stay.From <= reqs[j].Stay.Through {
					free = false
					break
				}
			}
			if free {
				at[i] = k
				if try(i + 1) {
					return true
				}
			}
		}
		return false
	}
	return try(0)
}

// TestAwayAtLeast: for one locker with compartments of three classes,
// the bound never exceeds the fewest an exhaustive search turns away (no
// parcel changing compartments), equals it with one class, and reaches it
// in most random cases; where only a change of compartments would keep
// every parcel, it is below.
func TestAwayAtLeast(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		counts  []int
		reqs    []occupancy.Request
		least   int // the fewest turned away
		atLeast int
	}{
		{"two large parcels at once, one large compartment", []int{1, 1}, []occupancy.Request{req(0, 2, 1), req(1, 1, 1)}, 1, 1},
		{"small parcels overflow into the large", []int{1, 1}, []occupancy.Request{req(0, 2, 0), req(1, 1, 0)}, 0, 0},
		{"a parcel no class takes", []int{2}, []occupancy.Request{req(0, 0, 1), req(0, 0, 0)}, 1, 1},
		// A small parcel from day 0 to 2 and another from 2 to 4 need the
		// small and the large compartment on day 2; a medium parcel on
		// days 0–1 takes the large, a large one on day 3 finds it held:
		// day by day everything fits, but not without a move.
		{"fits day by day, not without a move", []int{1, 0, 1}, []occupancy.Request{req(0, 2, 0), req(0, 1, 1), req(3, 3, 2), req(2, 4, 0)}, 1, 0},
	} {
		if got := occupancy.AwayAtLeast([][]int{tc.counts}, tc.reqs); got != tc.atLeast {
			t.Errorf("%s: AwayAtLeast %d; want %d", tc.name, got, tc.atLeast)
		}
		if got := leastAwaySized(tc.counts, tc.reqs); got != tc.least {
			t.Errorf("%s: the brute force turns away %d; the case says %d", tc.name, got, tc.least)
		}
	}

	rng := rand.New(rand.NewPCG(7, 11))
	exact := 0
	const trials = 400
	for trial := range trials {
		counts := []int{rng.IntN(3), rng.IntN(3), rng.IntN(2)}
		reqs := make([]occupancy.Request, 1+rng.IntN(8))
		for i := range reqs {
			from := rng.IntN(6)
			reqs[i] = req(from, from+rng.IntN(4), rng.IntN(3))
		}
		bound, least := occupancy.AwayAtLeast([][]int{counts}, reqs), leastAwaySized(counts, reqs)
		if bound > least {
			t.Fatalf("trial %d: AwayAtLeast %d above the fewest turned away, %d, for %+v on %v", trial, bound, least, reqs, counts)
		}
		if bound == least {
			exact++
		}
		// One class: the bound is Optimum's exact count.
		for i := range reqs {
			reqs[i].Class = 0
		}
		if got, opt := occupancy.AwayAtLeast([][]int{{counts[0] + 1}}, reqs), occupancy.Optimum([]int{counts[0] + 1}, reqs); got != opt.Away {
			t.Fatalf("trial %d, one class: AwayAtLeast %d, Optimum %d", trial, got, opt.Away)
		}
	}
	if exact < trials*9/10 {
		t.Errorf("the bound was the fewest turned away in %d of %d cases; want nine in ten", exact, trials)
	}
}

// req is a request of a class for locker 0, staying from a day through
// another.
func req(from, through, class int) occupancy.Request {
	return occupancy.Request{Stay: occupancy.Interval{From: from, Through: through}, Choice: 0, Class: class}
}

// leastAwaySized is the fewest of reqs (one locker's) turned away, over
// every subset that fits without a parcel changing compartments.
func leastAwaySized(counts []int, reqs []occupancy.Request) int {
	least := len(reqs)
	for mask := 0; mask < 1<<len(reqs); mask++ {
		var sub []occupancy.Request
		for i, r := range reqs {
			if mask&(1<<i) != 0 {
				sub = append(sub, r)
			}
		}
		if away := len(reqs) - len(sub); away < least && fitsSized(counts, sub) {
			least = away
		}
	}
	return least
}

// TestFirstComeSized: a parcel takes the smallest free class that takes
// it, a larger one when that is full, and goes elsewhere when none is
// free its whole stay; with one class it is FirstCome.
func TestFirstComeSized(t *testing.T) {
	t.Parallel()
	req := func(from, through, class int, alts ...int) occupancy.Request {
		return occupancy.Request{Stay: occupancy.Interval{From: from, Through: through}, Choice: 0, Class: class, Alternatives: alts}
	}
	classes := [][]int{{1, 1}, {0, 1}} // locker 0: a small and a large compartment; locker 1: a large one
	reqs := []occupancy.Request{
		req(0, 2, 0, 1), // the small compartment
		req(1, 1, 0, 1), // small full: the large
		req(1, 3, 1, 1), // large: locker 0's is held on day 1, so locker 1
		req(2, 2, 1, 1), // locker 0's large is free on day 2, locker 1's is not needed
		req(3, 3, 0, 1), // the small is free again on day 3
	}
	p := occupancy.FirstComeSized(classes, reqs)
	if want := []int{0, 0, 1, 0, 0}; !slices.Equal(p.Locker, want) || p.Away != 1 || p.Elsewhere != 1 {
		t.Errorf("FirstComeSized = %+v; want lockers %v, one away, elsewhere", p, want)
	}
	// A large parcel whose stay finds every large compartment held is
	// placed nowhere.
	if p := occupancy.FirstComeSized(classes, append(slices.Clone(reqs), req(1, 2, 1, 1))); p.Locker[5] != -1 || p.Nowhere != 1 {
		t.Errorf("a sixth, large, on days 1–2: %+v; want nowhere", p)
	}
	rng := rand.New(rand.NewPCG(13, 17))
	for trial := range 200 {
		comps := []int{1 + rng.IntN(2), 1 + rng.IntN(2)}
		reqs := make([]occupancy.Request, 1+rng.IntN(8))
		for i := range reqs {
			from := rng.IntN(5)
			reqs[i] = occupancy.Request{Stay: occupancy.Interval{From: from, Through: from + rng.IntN(3)}, Choice: rng.IntN(2), Alternatives: []int{rng.IntN(2)}}
		}
		if a, b := occupancy.FirstCome(comps, reqs), occupancy.FirstComeSized([][]int{{comps[0]}, {comps[1]}}, reqs); !slices.Equal(a.Locker, b.Locker) {
			t.Fatalf("trial %d: FirstCome %v, FirstComeSized with one class %v", trial, a.Locker, b.Locker)
		}
	}
}

// checkPlanSized fails unless every request the plan places is in a
// class that takes it and no locker's class holds more stays on a day
// than it has compartments.
func checkPlanSized(t *testing.T, classes [][]int, reqs []occupancy.Request, p occupancy.Plan) {
	t.Helper()
	type key struct{ locker, class, day int }
	on := map[key]int{}
	for i, r := range reqs {
		l, c := p.Locker[i], p.Class[i]
		if l < 0 {
			if c != -1 {
				t.Fatalf("request %d placed nowhere has class %d", i, c)
			}
			continue
		}
		if c < r.Class || c >= len(classes[l]) {
			t.Fatalf("request %d of class %d in class %d of locker %d (%v)", i, r.Class, c, l, classes[l])
		}
		for d := r.Stay.From; d <= r.Stay.Through; d++ {
			if on[key{l, c, d}]++; on[key{l, c, d}] > classes[l][c] {
				t.Fatalf("locker %d, class %d, day %d: more stays than its %d compartments", l, c, d, classes[l][c])
			}
		}
	}
}

// TestOptimumSized: the search turns away as few as the exhaustive one
// (no parcel changing compartments), its plans fit, it is Optimum with
// one class, stays between AwayAtLeast and first come on loads like the
// bench's, and says so when its budget cuts it short.
func TestOptimumSized(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name   string
		counts []int
		reqs   []occupancy.Request
		away   int
	}{
		{"fits day by day, not without a move", []int{1, 0, 1}, []occupancy.Request{req(0, 2, 0), req(0, 1, 1), req(3, 3, 2), req(2, 4, 0)}, 1},
		// The first small parcel takes the medium compartment, though the
		// small one is free when it comes: the second small parcel stays
		// past the medium one's arrival.
		{"a small parcel in the larger compartment from the start", []int{1, 1}, []occupancy.Request{req(0, 10, 0), req(1, 20, 0), req(12, 15, 1)}, 0},
		{"a parcel no class takes", []int{2}, []occupancy.Request{req(0, 0, 1), req(0, 0, 0)}, 1},
	} {
		p, exact := occupancy.OptimumSized([][]int{tc.counts}, tc.reqs, 0)
		if p.Away != tc.away || !exact {
			t.Errorf("%s: OptimumSized turns away %d (exact %v); want %d, exact", tc.name, p.Away, exact, tc.away)
		}
		checkPlanSized(t, [][]int{tc.counts}, tc.reqs, p)
	}

	rng := rand.New(rand.NewPCG(19, 23))
	for trial := range 400 {
		counts := []int{rng.IntN(3), rng.IntN(3), rng.IntN(2)}
		reqs := make([]occupancy.Request, 1+rng.IntN(9))
		for i := range reqs {
			from := rng.IntN(6)
			reqs[i] = req(from, from+rng.IntN(4), rng.IntN(3))
		}
		p, exact := occupancy.OptimumSized([][]int{counts}, reqs, 0)
		if least := leastAwaySized(counts, reqs); p.Away != least || !exact {
			t.Fatalf("trial %d: OptimumSized turns away %d (exact %v), the exhaustive search %d, for %+v on %v", trial, p.Away, exact, least, reqs, counts)
		}
		checkPlanSized(t, [][]int{counts}, reqs, p)
		for i := range reqs {
			reqs[i].Class = 0
		}
		if p, opt := must(occupancy.OptimumSized([][]int{{counts[0] + 1}}, reqs, 0)), occupancy.Optimum([]int{counts[0] + 1}, reqs); p.Away != opt.Away {
			t.Fatalf("trial %d, one class: OptimumSized %d, Optimum %d", trial, p.Away, opt.Away)
		}
	}

	above := 0 // how far the optimum was above the bound, in all
	// Loads like bench peak --mix demo's (benchShapedLoad).
	for trial := range 8 {
		classes, reqs := benchShapedLoad(rng, 10, 60)
		p, exact := occupancy.OptimumSized(classes, reqs, 1_000_000)
		if !exact {
			t.Fatalf("trial %d: the search did not finish within a million steps a locker", trial)
		}
		checkPlanSized(t, classes, reqs, p)
		least, fc := occupancy.AwayAtLeast(classes, reqs), occupancy.FirstComeSized(classes, reqs)
		if p.Away < least || p.Away > fc.Away {
			t.Fatalf("trial %d: OptimumSized turns away %d; want between AwayAtLeast %d and FirstComeSized %d", trial, p.Away, least, fc.Away)
		}
		above += p.Away - least
		if p.Away != p.Elsewhere+p.Nowhere {
			t.Fatalf("trial %d: away %d, elsewhere %d, nowhere %d", trial, p.Away, p.Elsewhere, p.Nowhere)
		}
		if cut, exact := occupancy.OptimumSized(classes, reqs, 1); exact || cut.Away < p.Away {
			t.Fatalf("trial %d: a search of one step: away %d, exact %v; want not exact, at least %d", trial, cut.Away, exact, p.Away)
		} else {
			checkPlanSized(t, classes, reqs, cut)
		}
	}
	// The search is worth its cost where the bound is loose: on these
	// loads it is, a little.
	if above == 0 {
		t.Errorf("the optimum was AwayAtLeast's bound in every trial: the search found nothing the bound did not say")
	}
}

// must is a plan whose exactness the caller does not need.
func must(p occupancy.Plan, _ bool) occupancy.Plan { return p }

// benchShapedLoad is a load like bench peak --mix demo's: lockers of 8 S,
// 3 M and 2 L, perLocker parcels each on average over six days, 58 / 29 /
// 13 % small, medium and large, more arriving a day than a locker holds,
// most picked up within two days, one in thirty never (the storage
// period), each with two alternatives.
func benchShapedLoad(rng *rand.Rand, lockers, perLocker int) ([][]int, []occupancy.Request) {
	classes := make([][]int, lockers)
	for l := range classes {
		classes[l] = []int{8, 3, 2}
	}
	reqs := make([]occupancy.Request, perLocker*lockers)
	for i := range reqs {
		from, stay := rng.IntN(6), rng.IntN(3)
		if rng.IntN(30) == 0 {
			stay = 8
		}
		class := 0
		if x := rng.IntN(100); x >= 87 {
			class = 2
		} else if x >= 58 {
			class = 1
		}
		reqs[i] = occupancy.Request{Stay: occupancy.Interval{From: from, Through: from + stay}, Choice: rng.IntN(lockers),
			Alternatives: []int{rng.IntN(lockers), rng.IntN(lockers)}, Class: class}
	}
	return classes, reqs
}

// BenchmarkOptimumSized: the exact search over a bench-shaped load of 200
// lockers, beside AwayAtLeast's bound alone and first come, first served
// on the same load.
func BenchmarkOptimumSized(b *testing.B) {
	classes, reqs := benchShapedLoad(rand.New(rand.NewPCG(29, 31)), 200, 60)
	b.Run("bound", func(b *testing.B) {
		for b.Loop() {
			occupancy.AwayAtLeast(classes, reqs)
		}
	})
	b.Run("search", func(b *testing.B) {
		for b.Loop() {
			if _, exact := occupancy.OptimumSized(classes, reqs, 200_000); !exact {
				b.Fatal("not exact")
			}
		}
	})
	b.Run("first-come", func(b *testing.B) {
		for b.Loop() {
			occupancy.FirstComeSized(classes, reqs)
		}
	})
}
