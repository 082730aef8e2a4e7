package postcode

import (
	"slices"
	"strings"

	"github.com/lokero/lokero"
)

// Info is what the registry knows of one postal code, ready for the API.
type Info struct {
	Code string
	Kind lokero.PostcodeKind
	// Base is, for a locker code, the ordinary area code it belongs to: the
	// code with its last digit replaced by 0 when the registry has that
	// code (00104 → 00100), else the code itself. For every other code it
	// is the code itself.
	Base string
	// NameFI and NameSV are display names, title-cased ("HELSINKI" →
	// "Helsinki", "HELSINGFORS" → "Helsingfors"). Locker and pickup-point
	// codes take the names of their area (00104 → "Helsinki"), or of their
	// municipality when the registry does not have the area.
	NameFI, NameSV string
	// LabelFI and LabelSV are the names exactly as in Posti's file
	// ("SMARTPOST", "HELSINKI").
	LabelFI, LabelSV string
	// MunicipalityCode, MunicipalityFI and MunicipalitySV are the
	// municipality as in Posti's file ("091", "Helsinki", "Helsingfors").
	MunicipalityCode, MunicipalityFI, MunicipalitySV string
	// Point is a representative point of the code; HasPoint says whether
	// there is one (see NewRegistry).
	Point    Point
	HasPoint bool
}

// Registry is an immutable index of known postal codes, safe for
// concurrent use.
type Registry struct {
	all   []Info         // sorted by code
	index map[string]int // code → position in all
}

// NewRegistry builds a registry from records and points (points may be
// nil). Records with a malformed code are skipped; of two records with the
// same code the first counts. A record without a Kind gets it from its
// TypeCode.
//
// The point of a code is its own point in points; else its Base's point;
// else, for a pickup-point code, its area's point (the code ending in 0);
// else the mean of the points of the registry's codes in the same
// municipality (by municipality code, which is GeoNames' admin code 3);
// else there is none (HasPoint false).
func NewRegistry(codes []lokero.Postcode, points map[string]Point) *Registry {
	recs := make(map[string]lokero.Postcode, len(codes))
	for _, p := range codes {
		code, err := Parse(p.Code)
		if err != nil {
			continue
		}
		if _, dup := recs[code]; dup {
			continue
		}
		p.Code = code
		if p.Kind == "" {
			p.Kind, _ = kindOf(strings.TrimSpace(p.TypeCode))
		}
		recs[code] = p
	}

	// Mean point of each municipality, from the codes that have their own.
	type sum struct {
		lat, lon float64
		n        int
	}
	sums := map[string]sum{}
	for code, p := range recs {
		if pt, ok := points[code]; ok && p.MunicipalityCode != "" {
			s := sums[p.MunicipalityCode]
			sums[p.MunicipalityCode] = sum{s.lat + pt.Lat, s.lon + pt.Lon, s.n + 1}
		}
	}

	r := &Registry{all: make([]Info, 0, len(recs)), index: make(map[string]int, len(recs))}
	for code, p := range recs {
		info := Info{
			Code:             code,
			Kind:             p.Kind,
			Base:             code,
			LabelFI:          p.NameFI,
			LabelSV:          p.NameSV,
			MunicipalityCode: p.MunicipalityCode,
			MunicipalityFI:   p.MunicipalityFI,
			MunicipalitySV:   p.MunicipalitySV,
		}
		// The area of a locker or pickup-point code: the same code ending
		// in 0.
		var area lokero.Postcode
		hasArea := false
		if p.Kind == lokero.PostcodeLocker || p.Kind == lokero.PostcodePickupPoint {
			area, hasArea = recs[code[:4]+"0"]
			hasArea = hasArea && area.Code != code
			if hasArea && p.Kind == lokero.PostcodeLocker {
				info.Base = area.Code
			}
		}
		switch {
		case hasArea:
			info.NameFI, info.NameSV = displayNames(area.NameFI, area.NameSV)
		case p.Kind == lokero.PostcodeLocker || p.Kind == lokero.PostcodePickupPoint:
			info.NameFI, info.NameSV = displayNames(p.MunicipalityFI, p.MunicipalitySV)
			if info.NameFI == "" {
				info.NameFI, info.NameSV = displayNames(p.NameFI, p.NameSV)
			}
		default:
			info.NameFI, info.NameSV = displayNames(p.NameFI, p.NameSV)
		}
		if pt, ok := points[code]; ok {
			info.Point, info.HasPoint = pt, true
		} else if pt, ok := points[area.Code]; hasArea && ok {
			info.Point, info.HasPoint = pt, true
		} else if s, ok := sums[p.MunicipalityCode]; ok && p.MunicipalityCode != "" {
			info.Point, info.HasPoint = Point{Lat: s.lat / float64(s.n), Lon: s.lon / float64(s.n)}, true
		}
		r.all = append(r.all, info)
	}
	slices.SortFunc(r.all, func(a, b Info) int { return strings.Compare(a.Code, b.Code) })
	for i, info := range r.all {
		r.index[info.Code] = i
	}
	return r
}

// displayNames title-cases a Finnish and a Swedish name; a missing Swedish
// name is the Finnish one.
func displayNames(fi, sv string) (string, string) {
	fi, sv = titleCase(fi), titleCase(sv)
	if sv == "" {
		sv = fi
	}
	return fi, sv
}

// info returns the entry of a code, which may have surrounding spaces.
func (r *Registry) info(code string) (*Info, bool) {
	if !wellFormed(code) {
		code = strings.TrimSpace(code)
	}
	i, ok := r.index[code]
	if !ok {
		return nil, false
	}
	return &r.all[i], true
}

// Lookup returns what the registry knows of a postal code. A malformed code
// gives the error of Parse; a well-formed code the registry does not have
// gives an ENOTFOUND *lokero.Error (Field "postcode", Reason
// "unknown_postcode").
func (r *Registry) Lookup(code string) (Info, error) {
	c, err := Parse(code)
	if err != nil {
		return Info{}, err
	}
	info, ok := r.info(c)
	if !ok {
		e := lokero.Errorf(lokero.ENOTFOUND, "postal code %s is not a known Finnish postal code", c)
		e.Field, e.Reason = "postcode", "unknown_postcode"
		return Info{}, e
	}
	return *info, nil
}

// Known reports whether code is in the registry.
func (r *Registry) Known(code string) bool {
	_, ok := r.info(code)
	return ok
}

// LockerCode returns the locker code of a building's postal code: the code
// with its last digit replaced by 4, when the registry has that code as a
// locker code that belongs to the building's area ("00100" → "00104",
// true). A locker code is its own locker code ("00104" → "00104", true).
//
// "Belongs" keeps the rule to what the data supports: the locker code's
// Base is the building's code, or, when the registry has no area for the
// locker code, the building's code is an area code of the same
// municipality (54915 Saimaanharju → 54914). So a PO box (00101), a pickup
// point (00107) or an area that merely shares the first four digits with
// another area's locker (99999 Korvatunturi, 99994 is Nuorgam's) has no
// locker code. An unknown or malformed code gives "", false.
func (r *Registry) LockerCode(buildingCode string) (string, bool) {
	info, ok := r.info(buildingCode)
	if !ok {
		return "", false
	}
	if info.Kind == lokero.PostcodeLocker {
		return info.Code, true
	}
	locker, ok := r.info(info.Code[:4] + "4")
	switch {
	case !ok || locker.Kind != lokero.PostcodeLocker:
		return "", false
	case locker.Base == info.Code,
		locker.Base == locker.Code && info.Kind == lokero.PostcodeArea && info.MunicipalityCode == locker.MunicipalityCode:
		return locker.Code, true
	}
	return "", false
}

// BaseCode returns Info.Base for a known code, and code itself for an
// unknown one.
func (r *Registry) BaseCode(code string) string {
	if info, ok := r.info(code); ok {
		return info.Base
	}
	return code
}

// Point returns the code's point (see NewRegistry), and false when the code
// is unknown or has none.
func (r *Registry) Point(code string) (Point, bool) {
	info, ok := r.info(code)
	if !ok || !info.HasPoint {
		return Point{}, false
	}
	return info.Point, true
}

// All returns every Info, sorted by code. The slice is the caller's.
func (r *Registry) All() []Info {
	return slices.Clone(r.all)
}

// Len returns the number of codes in the registry.
func (r *Registry) Len() int {
	return len(r.all)
}
