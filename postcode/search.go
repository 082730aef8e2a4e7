package postcode

import (
	"cmp"
	"slices"
	"strings"

	"github.com/lokero/lokero"
)

// Place is a place to search near: a postal area by its name or its
// municipality's, with the area's code and point.
type Place struct {
	Code string
	// Name and Municipality in the language asked for.
	Name, Municipality string
	Point              Point
}

// Search finds places whose area or municipality name, in Finnish or
// Swedish, starts with q (case-insensitive, after trimming), for "near
// another place" at a checkout: a summer cottage's village, a workplace's
// town. Only ordinary areas with a point count; of several areas with the
// same name and municipality the lowest code stands for them (the centre
// of a town comes first in Posti's numbering). An area named q comes
// first, then areas whose name starts with q, then areas of a
// municipality whose name does, each by code; names are in Swedish when sv
// is true. At most limit.
func (r *Registry) Search(q string, limit int, sv bool) []Place {
	q = strings.ToLower(strings.TrimSpace(q))
	if q == "" || limit <= 0 {
		return nil
	}
	type hit struct {
		Place
		rank int // 0: the area's name is q; 1: it starts with q; 2: only its municipality's does
	}
	seen := map[string]bool{}
	var hits []hit
	for _, info := range r.all { // by code: the lowest code of a name first
		if info.Kind != lokero.PostcodeArea || !info.HasPoint {
			continue
		}
		rank := 3
		for _, n := range []string{info.NameFI, info.NameSV} {
			switch n = strings.ToLower(n); {
			case n == q:
				rank = min(rank, 0)
			case n != "" && strings.HasPrefix(n, q):
				rank = min(rank, 1)
			}
		}
		for _, n := range []string{info.MunicipalityFI, info.MunicipalitySV} {
			if n = strings.ToLower(n); n != "" && strings.HasPrefix(n, q) {
				rank = min(rank, 2)
			}
		}
		if rank == 3 {
			continue
		}
		p := Place{Code: info.Code, Name: info.NameFI, Municipality: info.MunicipalityFI, Point: info.Point}
		if sv {
			p.Name, p.Municipality = cmp.Or(info.NameSV, info.NameFI), cmp.Or(info.MunicipalitySV, info.MunicipalityFI)
		}
		key := p.Name + "\x00" + p.Municipality
		if seen[key] {
			continue
		}
		seen[key] = true
		hits = append(hits, hit{p, rank})
	}
	// Stable: within a rank, by code.
	slices.SortStableFunc(hits, func(a, b hit) int { return cmp.Compare(a.rank, b.rank) })
	out := make([]Place, 0, min(limit, len(hits)))
	for _, h := range hits[:min(limit, len(hits))] {
		out = append(out, h.Place)
	}
	return out
}
