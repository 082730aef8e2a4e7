package occupancy

import (
	"cmp"
	"slices"
)

// What a planner that knew every arrival and every pickup in advance
// could do with the same parcels: the yardstick of lokero's turn-aways
// (lokero bench peak prints it beside them). A parcel turned away is one
// not placed in the locker its shopper chose, whether it goes to another
// locker or nowhere.

// Interval is one parcel's stay in a locker: it takes a compartment on
// the days From to Through, both included (days numbered from any
// origin). A parcel picked up on the day it arrives has From = Through.
type Interval struct {
	From, Through int
}

// MostKept is which of the stays one locker with n compartments keeps so
// that as many of them as possible are kept while no day has more than n
// at once. It is exact (the k-track interval scheduling of Faigle and
// Nawijn, 1995): sweep the stays by arrival, and whenever a day would have
// more than n, drop the kept stay that leaves last. Stays that fit on n
// compartments day by day fit on n compartments (interval graphs are
// perfect), so the kept ones can each have a compartment for their whole
// stay. Ties between stays leaving on the same day go to the one earlier
// in stays, so the answer is reproducible.
func MostKept(n int, stays []Interval) []bool {
	kept := make([]bool, len(stays))
	if n <= 0 {
		return kept
	}
	order := make([]int, len(stays))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(stays[a].From, stays[b].From) })
	var held []int // kept stays still there at the day being swept
	for _, i := range order {
		held = slices.DeleteFunc(held, func(j int) bool { return stays[j].Through < stays[i].From })
		held = append(held, i)
		kept[i] = true
		if len(held) > n {
			// Drop the one leaving last (the latest in stays among equals:
			// the earlier keeps its place).
			worst := 0
			for k, j := range held {
				if w := held[worst]; stays[j].Through > stays[w].Through || (stays[j].Through == stays[w].Through && j > w) {
					worst = k
				}
			}
			kept[held[worst]] = false
			held = slices.Delete(held, worst, worst+1)
		}
	}
	return kept
}

// Request is one parcel for an offline plan: its stay, the locker its
// shopper chose and the other lockers it may go to instead, in order of
// preference (nearest first). Lockers are numbered 0 to len(compartments)-1.
type Request struct {
	Stay         Interval
	Choice       int
	Alternatives []int
	// Class is the smallest compartment class that takes the parcel,
	// counting a locker's classes from 0, its smallest (FirstComeSized,
	// AwayAtLeast); it fits every class from there up. Lockers of one
	// class (Optimum, FirstCome) take every request of class 0.
	Class int
}

// Plan is where an offline planner puts each request: Locker[i] is the
// locker of request i, -1 for none. Away counts the requests not in their
// chosen locker, Elsewhere those of them placed in an alternative,
// Nowhere those placed nowhere (Away = Elsewhere + Nowhere).
type Plan struct {
	Locker []int
	// Class is the compartment class each request placed takes in its
	// locker (0 with lockers of one class), -1 for none.
	Class                    []int
	Away, Elsewhere, Nowhere int
}

// newPlan is a plan of n requests placed nowhere yet.
func newPlan(n int) Plan {
	p := Plan{Locker: make([]int, n), Class: make([]int, n)}
	for i := range n {
		p.Locker[i], p.Class[i] = -1, -1
	}
	return p
}

// Optimum plans the requests with every stay known in advance, turning
// away as few as possible: each locker keeps the most of the requests
// that chose it (MostKept), which no plan can beat, since a request
// placed elsewhere only takes room. Away is so the exact optimum (and a
// lower bound of every online policy's turn-aways, at booking and at the
// door together). The requests turned away are then placed, earliest
// departure first, in their first alternative with a compartment free
// every day of their stay: Elsewhere and Nowhere are that greedy
// placement's, not an optimum of their own.
func Optimum(compartments []int, reqs []Request) Plan {
	p := newPlan(len(reqs))
	classes := oneClass(compartments)
	used := newLoad(classes)
	var away []int
	byLocker, _ := byChoice(len(compartments), reqs)
	for l, idx := range byLocker {
		stays := make([]Interval, len(idx))
		for k, i := range idx {
			stays[k] = reqs[i].Stay
		}
		for k, keep := range MostKept(compartments[l], stays) {
			if keep {
				p.Locker[idx[k]], p.Class[idx[k]] = l, 0
				used.add(l, 0, reqs[idx[k]].Stay)
			}
		}
	}
	for i, r := range reqs {
		if p.Locker[i] != r.Choice || r.Choice < 0 || r.Choice >= len(compartments) {
			away = append(away, i)
		}
	}
	slices.SortStableFunc(away, func(a, b int) int { return cmp.Compare(reqs[a].Stay.Through, reqs[b].Stay.Through) })
	p.place(classes, reqs, away, used)
	return p
}

// FirstCome plans the requests as a network that knew each morning what
// its lockers hold, but not when the parcels in them will be picked up,
// would: the parcels in order of arrival (ties in the order of reqs),
// each in its chosen locker when a compartment is free there on its
// arrival day, else in its first alternative with one, else nowhere. It
// is what lokero's booking could at best reach without knowing the future
// pickups: the gap between it and Optimum is the worth of knowing them.
func FirstCome(compartments []int, reqs []Request) Plan {
	return FirstComeSized(oneClass(compartments), reqs)
}

// FirstComeSized is FirstCome for lockers with compartments of several
// classes: classes[l][c] is how many of class c locker l has, its
// smallest class first. A request takes the smallest class, from its
// Class up, with a compartment free every day of its stay.
func FirstComeSized(classes [][]int, reqs []Request) Plan {
	p := newPlan(len(reqs))
	order := make([]int, len(reqs))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(reqs[a].Stay.From, reqs[b].Stay.From) })
	p.place(classes, reqs, order, newLoad(classes))
	return p
}

// oneClass is lockers of one class each, with compartments[l] of them.
func oneClass(compartments []int) [][]int {
	classes := make([][]int, len(compartments))
	for l, n := range compartments {
		classes[l] = []int{n}
	}
	return classes
}

// place puts each of the requests in order in the first of its choice
// (when it is not placed yet and the choice has room) and its
// alternatives that has a compartment free every day of its stay, and
// counts the plan.
func (p *Plan) place(classes [][]int, reqs []Request, order []int, used load) {
	for _, i := range order {
		r := reqs[i]
		if p.Locker[i] >= 0 {
			continue
		}
		for _, l := range append([]int{r.Choice}, r.Alternatives...) {
			if l < 0 || l >= len(classes) {
				continue
			}
			if c, ok := used.fits(classes[l], l, r); ok {
				p.Locker[i], p.Class[i] = l, c
				used.add(l, c, r.Stay)
				break
			}
		}
	}
	p.Away, p.Elsewhere, p.Nowhere = 0, 0, 0
	for i, r := range reqs {
		switch l := p.Locker[i]; {
		case l == r.Choice && l >= 0:
		case l >= 0:
			p.Away++
			p.Elsewhere++
		default:
			p.Away++
			p.Nowhere++
		}
	}
}

// load is how many compartments of each class of each locker are taken
// on each day: load[l][c][day].
type load [][]map[int]int

func newLoad(classes [][]int) load {
	u := make(load, len(classes))
	for l, cs := range classes {
		u[l] = make([]map[int]int, len(cs))
		for c := range cs {
			u[l][c] = map[int]int{}
		}
	}
	return u
}

// fits returns the smallest class of locker l, from r's class up, with
// one of its compartments (counts[c] of them) free on every day of r's
// stay. Within a class, a compartment free each day for as many stays
// as there are compartments is one free for each stay's whole length
// (interval graphs are perfect).
func (u load) fits(counts []int, l int, r Request) (int, bool) {
	for c := max(r.Class, 0); c < len(counts); c++ {
		free := true
		for d := r.Stay.From; d <= r.Stay.Through && free; d++ {
			free = u[l][c][d] < counts[c]
		}
		if free {
			return c, true
		}
	}
	return 0, false
}

// add takes a compartment of class c of locker l for every day of s.
func (u load) add(l, c int, s Interval) {
	for d := s.From; d <= s.Through; d++ {
		u[l][c][d]++
	}
}
