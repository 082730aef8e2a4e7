package service

import (
	"runtime"
	"strings"
	"sync"
	"unicode"
	"weak"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/geo"
	"github.com/lokero/lokero/postcode"
)

// Place is a city or a municipality found by name in the postal code
// registry (see FindPlace and FindMunicipality): where a search around it
// starts, and which locations lie in it.
type Place struct {
	// Name is the place's Finnish name as the registry writes it
	// ("Helsinki" also when it was found as "Helsingfors").
	Name string
	// Origin is the point of the place's main postal area: for a
	// municipality, its lowest area code named after it (00100 for
	// Helsinki), else its lowest area code; for a postal area name, the
	// lowest area code of that name.
	Origin geo.Point

	municipalities map[string]bool // municipality codes, when the name is a municipality's
	areas          map[string]bool // area codes, when the name is only a postal area's
	codes          map[string]codeFacts
}

// Contains reports whether l lies in the place: its postal code belongs to
// the place's municipality, or, for a place that is a postal area name and
// no municipality's, its postal code's area (00104 → 00100) has that name.
func (p *Place) Contains(l *lokero.Location) bool {
	facts, ok := p.codes[l.Postcode]
	if !ok {
		return false
	}
	if p.municipalities != nil {
		return p.municipalities[facts.municipality]
	}
	return p.areas[facts.base]
}

// FindPlace finds a city by name: a municipality's name in Finnish or
// Swedish ("Helsinki", "Helsingfors"), else the name of postal areas
// ("Korvatunturi"). Case does not matter, nor do ä, ö and å against a, o
// and a ("hameenlinna" finds Hämeenlinna), nor runs of spaces. A name the
// registry does not know gives false, as does a place without any point.
func (d *Directory) FindPlace(name string) (*Place, bool) {
	ix := placesOf(d.postcodes)
	key := placeKey(name)
	if p, ok := ix.municipalities[key]; ok {
		return p, true
	}
	p, ok := ix.areas[key]
	return p, ok
}

// FindMunicipality is FindPlace for municipality names only.
func (d *Directory) FindMunicipality(name string) (*Place, bool) {
	p, ok := placesOf(d.postcodes).municipalities[placeKey(name)]
	return p, ok
}

// codeFacts is what Place.Contains needs of a postal code.
type codeFacts struct {
	municipality string // municipality code
	base         string // the ordinary area code (00104 → 00100)
}

// placeIndex holds the places of one registry by folded name. It does not
// refer to the registry, so that a registry no longer used can be
// collected together with its index.
type placeIndex struct {
	municipalities map[string]*Place
	areas          map[string]*Place
}

// placeIndexes caches one placeIndex per registry; an entry goes when its
// registry is collected.
var placeIndexes sync.Map // weak.Pointer[postcode.Registry] → *placeIndex

func placesOf(reg *postcode.Registry) *placeIndex {
	key := weak.Make(reg)
	if v, ok := placeIndexes.Load(key); ok {
		return v.(*placeIndex)
	}
	v, loaded := placeIndexes.LoadOrStore(key, newPlaceIndex(reg))
	if !loaded {
		runtime.AddCleanup(reg, func(k weak.Pointer[postcode.Registry]) { placeIndexes.Delete(k) }, key)
	}
	return v.(*placeIndex)
}

// newPlaceIndex indexes the municipality names and the names of the
// ordinary postal areas of reg.
func newPlaceIndex(reg *postcode.Registry) *placeIndex {
	all := reg.All() // sorted by code
	codes := make(map[string]codeFacts, len(all))
	type municipality struct {
		name           string
		code           string
		main, fallback *postcode.Info // lowest area named after it; lowest area
	}
	var munOrder []string
	muns := map[string]*municipality{}       // municipality code → facts
	munNames := map[string]map[string]bool{} // folded name → municipality codes
	areaNames := map[string][]*postcode.Info{}
	var areaOrder []string
	for i := range all {
		info := &all[i]
		codes[info.Code] = codeFacts{municipality: info.MunicipalityCode, base: info.Base}
		if info.Kind != lokero.PostcodeArea || !info.HasPoint {
			continue
		}
		for _, n := range uniqueKeys(info.NameFI, info.NameSV) {
			if areaNames[n] == nil {
				areaOrder = append(areaOrder, n)
			}
			areaNames[n] = append(areaNames[n], info)
		}
		if info.MunicipalityCode == "" {
			continue
		}
		m := muns[info.MunicipalityCode]
		if m == nil {
			m = &municipality{name: info.MunicipalityFI, code: info.MunicipalityCode}
			muns[m.code] = m
			munOrder = append(munOrder, m.code)
			for _, n := range uniqueKeys(info.MunicipalityFI, info.MunicipalitySV) {
				if munNames[n] == nil {
					munNames[n] = map[string]bool{}
				}
				munNames[n][m.code] = true
			}
		}
		if m.fallback == nil {
			m.fallback = info
		}
		if m.main == nil && namedAfter(info) {
			m.main = info
		}
	}

	ix := &placeIndex{municipalities: map[string]*Place{}, areas: map[string]*Place{}}
	for name, set := range munNames {
		// The first municipality of the name in code order gives the
		// origin; a name shared by two municipalities covers both.
		var first *municipality
		for _, code := range munOrder {
			if set[code] {
				first = muns[code]
				break
			}
		}
		origin := first.main
		if origin == nil {
			origin = first.fallback
		}
		ix.municipalities[name] = &Place{Name: first.name, Origin: geo.Point{Lat: origin.Point.Lat, Lon: origin.Point.Lon},
			municipalities: set, codes: codes}
	}
	for _, name := range areaOrder {
		infos := areaNames[name]
		set := make(map[string]bool, len(infos))
		for _, info := range infos {
			set[info.Code] = true
		}
		ix.areas[name] = &Place{Name: infos[0].NameFI, Origin: geo.Point{Lat: infos[0].Point.Lat, Lon: infos[0].Point.Lon},
			areas: set, codes: codes}
	}
	return ix
}

// namedAfter reports whether an area bears its municipality's name (00100
// Helsinki in Helsinki).
func namedAfter(info *postcode.Info) bool {
	return strings.EqualFold(info.NameFI, info.MunicipalityFI) || strings.EqualFold(info.NameSV, info.MunicipalitySV) ||
		strings.EqualFold(info.NameFI, info.MunicipalitySV)
}

// uniqueKeys returns the non-empty folded keys of names, without repeats.
func uniqueKeys(names ...string) []string {
	var keys []string
	for _, n := range names {
		k := placeKey(n)
		if k != "" && (len(keys) == 0 || keys[0] != k) {
			keys = append(keys, k)
		}
	}
	return keys
}

// placeKey folds a place name for lookups: lower case, ä/å → a, ö → o,
// é → e, ü → u, runs of spaces as one.
func placeKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range strings.TrimSpace(s) {
		r = unicode.ToLower(r)
		switch r {
		case 'ä', 'å', 'á', 'à', 'â':
			r = 'a'
		case 'ö', 'ø', 'ó', 'ò', 'ô':
			r = 'o'
		case 'é', 'è', 'ê', 'ë':
			r = 'e'
		case 'ü', 'ú':
			r = 'u'
		}
		if unicode.IsSpace(r) {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(r)
	}
	return b.String()
}
