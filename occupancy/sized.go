package occupancy

import (
	"cmp"
	"encoding/binary"
	"slices"
)

// Offline plans for lockers with compartments of several classes: a
// parcel fits the compartments of its own class and every larger one.
// The exact optimum is no sweep then: a set of stays that fits day by day
// may still need a parcel to change compartments half-way (a small parcel
// in the one large compartment on the day a large parcel comes), so
// OptimumSized searches each locker's assignments, cut by the bound of
// AwayAtLeast.

// AwayAtLeast is a lower bound of the requests any plan turns away from
// the locker their shopper chose when the lockers have compartments of
// several classes (classes as FirstComeSized has them), knowing every
// stay in advance. For each class k, the parcels of class k and up can
// never be more at once than the compartments of class k and up: each
// such family alone is the one-class problem, which MostKept solves
// exactly, and the most any family must turn away at a locker is turned
// away by every plan. With one class it is Optimum's Away.
func AwayAtLeast(classes [][]int, reqs []Request) int {
	byLocker, away := byChoice(len(classes), reqs)
	for l, idx := range byLocker {
		s := newSizedSearch(classes[l], reqs, idx, 0)
		away += s.bound(0, make([][]int, len(classes[l])))
	}
	return away
}

// OptimumSized is Optimum for lockers with compartments of several
// classes (classes as FirstComeSized has them): each locker keeps the
// most of the requests that chose it with no parcel changing
// compartments, found by a branch-and-bound search over each arriving
// parcel's class (or none), cut where what is turned away already plus
// AwayAtLeast's bound for the rest reaches the best plan found. A search
// stops after budget steps at one locker (0: no limit) with the best plan
// it found. Exact reports whether every locker's search finished: then
// Away is the exact optimum; else it is a plan's, at least the optimum
// (AwayAtLeast is the other side). The requests turned away are then
// placed as Optimum places them.
func OptimumSized(classes [][]int, reqs []Request, budget int) (p Plan, exact bool) {
	p = newPlan(len(reqs))
	used := newLoad(classes)
	exact = true
	byLocker, _ := byChoice(len(classes), reqs)
	for l, idx := range byLocker {
		s := newSizedSearch(classes[l], reqs, idx, budget)
		s.run(0, 0, make([][]int, len(classes[l])))
		exact = exact && !s.stopped
		for k, c := range s.best {
			if c >= 0 {
				i := idx[k]
				p.Locker[i], p.Class[i] = l, c
				used.add(l, c, reqs[i].Stay)
			}
		}
	}
	var away []int
	for i := range reqs {
		if p.Locker[i] < 0 {
			away = append(away, i)
		}
	}
	slices.SortStableFunc(away, func(a, b int) int { return cmp.Compare(reqs[a].Stay.Through, reqs[b].Stay.Through) })
	p.place(classes, reqs, away, used)
	return p, exact
}

// byChoice is the requests that chose each of n lockers, and how many
// chose none of them.
func byChoice(n int, reqs []Request) (by [][]int, none int) {
	by = make([][]int, n)
	for i, r := range reqs {
		if r.Choice < 0 || r.Choice >= n {
			none++
			continue
		}
		by[r.Choice] = append(by[r.Choice], i)
	}
	return by, none
}

// sizedSearch is the search for one locker: its compartments by class
// and the stays that chose it, in order of arrival (the earlier leaving
// first among the same day's).
type sizedSearch struct {
	counts []int
	stays  []Interval
	class  []int
	at     []int // the current path: each stay's class, -1 turned away
	// best is the best plan found, each stay's class (-1 turned away),
	// and bestAway how many it turns away.
	best     []int
	bestAway int
	toIdx    []int // a stay's place in the requests' order of idx
	// seen is the fewest turned away with which the search reached a
	// state (the next stay, and the last days of the stays held in each
	// class, sorted): reached again with no fewer, it has nothing new.
	seen    map[string]int
	steps   int
	budget  int
	stopped bool
}

func newSizedSearch(counts []int, reqs []Request, idx []int, budget int) *sizedSearch {
	// The search runs in arrival order; best is kept in idx's order.
	toIdx := make([]int, len(idx))
	for k := range toIdx {
		toIdx[k] = k
	}
	slices.SortStableFunc(toIdx, func(a, b int) int {
		sa, sb := reqs[idx[a]].Stay, reqs[idx[b]].Stay
		return cmp.Or(cmp.Compare(sa.From, sb.From), cmp.Compare(sa.Through, sb.Through))
	})
	s := &sizedSearch{counts: counts, budget: budget, bestAway: len(idx) + 1, seen: map[string]int{}, toIdx: toIdx,
		stays: make([]Interval, len(idx)), class: make([]int, len(idx)), at: make([]int, len(idx)), best: make([]int, len(idx))}
	for k, j := range toIdx {
		s.stays[k], s.class[k] = reqs[idx[j]].Stay, max(reqs[idx[j]].Class, 0)
	}
	return s
}

// run places the stays from the pos-th on, away turned away so far and
// held[c] the last days of the stays in compartments of class c.
func (s *sizedSearch) run(pos, away int, held [][]int) {
	if s.stopped {
		return
	}
	// The first descent (each stay in the smallest class free, else away)
	// is a whole plan: the budget stops the search only after it.
	if s.steps++; s.budget > 0 && s.steps > s.budget && s.bestAway <= len(s.stays) {
		s.stopped = true
		return
	}
	if pos == len(s.stays) {
		if away < s.bestAway {
			s.bestAway = away
			for k, c := range s.at {
				s.best[s.toIdx[k]] = c
			}
		}
		return
	}
	day := s.stays[pos].From
	now := make([][]int, len(held)) // what is still there on the day
	for c, ends := range held {
		for _, e := range ends {
			if e >= day {
				now[c] = append(now[c], e)
			}
		}
	}
	if away+s.bound(pos, now) >= s.bestAway {
		return
	}
	key := stateKey(pos, now)
	if fewest, ok := s.seen[key]; ok && fewest <= away {
		return
	}
	s.seen[key] = away
	for c := s.class[pos]; c < len(s.counts); c++ {
		if len(now[c]) >= s.counts[c] {
			continue
		}
		with := slices.Clone(now)
		with[c] = append(slices.Clone(now[c]), s.stays[pos].Through)
		s.at[pos] = c
		s.run(pos+1, away, with)
	}
	s.at[pos] = -1
	s.run(pos+1, away+1, now)
}

// bound is at least how many of the stays from the pos-th on every plan
// turns away, with held[c] the last days of the stays in compartments of
// class c (all there on the pos-th stay's day, and kept). For each class
// k the stays of class k and up, with the compartments of class k and up
// all taking each of them, are a one-class problem with the held stays of
// those compartments kept: the sweep that drops the kept stay leaving last
// whenever a day has too many, never a held one, keeps the most (on the
// day of an excess every stay there is there from then on until it
// leaves, so the one leaving last frees a superset of the days any other
// would). Stays that no class takes are turned away by every plan.
func (s *sizedSearch) bound(pos int, held [][]int) int {
	most := 0
	for k := range s.counts {
		n := 0
		var there []Interval // From -1 marks a held stay
		for c := k; c < len(s.counts); c++ {
			n += s.counts[c]
			for _, e := range held[c] {
				there = append(there, Interval{From: -1, Through: e})
			}
		}
		dropped := 0
		for j := pos; j < len(s.stays); j++ {
			if s.class[j] < k || s.class[j] >= len(s.counts) {
				continue
			}
			st := s.stays[j]
			there = slices.DeleteFunc(there, func(h Interval) bool { return h.Through < st.From })
			there = append(there, st)
			if len(there) > n {
				worst := -1
				for x, h := range there {
					if h.From >= 0 && (worst < 0 || h.Through > there[worst].Through) {
						worst = x
					}
				}
				there = slices.Delete(there, worst, worst+1)
				dropped++
			}
		}
		most = max(most, dropped)
	}
	for j := pos; j < len(s.stays); j++ {
		if s.class[j] >= len(s.counts) {
			most++
		}
	}
	return most
}

// stateKey is the search's state before the pos-th stay with held[c] the
// last days of the stays held in class c, in any order (it sorts them).
func stateKey(pos int, held [][]int) string {
	b := binary.AppendUvarint(nil, uint64(pos))
	for _, ends := range held {
		slices.Sort(ends)
		b = binary.AppendUvarint(b, uint64(len(ends)))
		for _, e := range ends {
			b = binary.AppendVarint(b, int64(e))
		}
	}
	return string(b)
}
