// Package demo generates lokero's bundled demo network: thousands of
// pickup points of every type all over Finland, made up deterministically
// from the postal code registry so that nothing needs to be stored.
//
// The network has, for a registry like the bundled one:
//
//   - SMARTPOST public lockers at shops: at least one in every ordinary
//     postal area (kind area), several in the dense areas of big towns;
//     about a fifth with a payment terminal.
//   - LOCKERs in residential and office buildings: one or more in every
//     area that has a locker code (the area's code ending in 4), more in
//     the big cities, each at its own street address under the locker code.
//   - A POSTOFFICE in the main area of every municipality (the lowest area
//     code named after the municipality, else its lowest area code).
//   - PICKUPPOINT agent outlets in about every second area.
//
// Always there: the demo building (DemoBuildingStreet in
// DemoBuildingPostcode) with its LOCKER DemoLockerID, and the SMARTPOST
// DemoSmartpostID with a payment terminal, which the docs and examples use.
//
// Points are spread reproducibly around each postal code's own point: a few
// hundred metres in dense city areas, a few kilometres in the countryside.
// Postal code coordinates © GeoNames (https://www.geonames.org), CC BY 4.0.
package demo

import (
	"cmp"
	"errors"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/postcode"
)

// The demo building that the docs and examples use: a housing company in
// central Helsinki with a LOCKER for its residents.
const (
	// DemoBuildingStreet is the building's street address.
	DemoBuildingStreet = "Mannerheimintie 5"
	// DemoBuildingStreetSV is the same address in Swedish.
	DemoBuildingStreetSV = "Mannerheimvägen 5"
	// DemoBuildingPostcode is the building's postal code.
	DemoBuildingPostcode = "00100"
	// DemoLockerPostcode is the postal code of the building's locker: the
	// building's code with its last digit replaced by 4.
	DemoLockerPostcode = "00104"
	// DemoLockerID is the stable id of the building's LOCKER.
	DemoLockerID = "LOCKER-00104-MANNERHEIMINTIE-5"
	// DemoLockerName is the name of the building's LOCKER.
	DemoLockerName = "As Oy Mannerheimintie 5"
	// DemoCity is the city of the demo building.
	DemoCity = "Helsinki"
	// DemoSmartpostID is a public SMARTPOST near the demo building that
	// always has a payment terminal (for cash-on-delivery examples).
	DemoSmartpostID = "SMARTPOST-00100-1"
)

// DefaultSeed is the seed of the bundled demo network, the one `lokero
// serve` loads into an empty database and the one Network uses when given
// 0: the same seed gives the same network on every machine, so docs and
// examples can name its points.
const DefaultSeed = 1

// demoLockerPoint is where the demo building stands.
var demoLockerPoint = postcode.Point{Lat: 60.16838, Lon: 24.94155}

// Finland's bounding box as lokero.Location.Validate checks it, shrunk a
// little so that no point lies on the edge.
const (
	minLat, maxLat = 59.5, 70.09
	minLon, maxLon = 19.1, 31.58
)

// area is an ordinary postal area with what the generator derived for it.
type area struct {
	info   postcode.Info
	pt     postcode.Point
	nearKM float64 // distance to the nearest other area's point
	tier   int     // of its municipality: 0 village … 3 big city
	// swedish says the area speaks Swedish: Åland and a few mainland
	// municipalities.
	swedish bool
}

// dense reports whether the area is a city area with neighbours close by.
func (a *area) dense() bool { return a.nearKM < 4 }

// spreadKM is how far from the area's point its locations may lie.
func (a *area) spreadKM() float64 {
	return min(max(0.6*a.nearKM, 0.3), 5)
}

// generator holds the state of one Network call.
type generator struct {
	seed  uint64
	reg   *postcode.Registry
	out   []lokero.Location
	names map[string]bool            // names of public locations taken
	used  map[string]map[string]bool // area code → street addresses taken
}

// Network generates the demo network from the postal code registry. The
// result is the same for the same registry and seed (0 means DefaultSeed):
// the same ids, coordinates, names and everything else, sorted by id. Each
// area draws from its own random stream, so a registry that gains or loses
// a code changes the network only there.
//
// Areas the registry has no point for get no locations; the demo building
// is there when the registry knows DemoLockerPostcode. Every location
// passes Normalize and Validate.
func Network(reg *postcode.Registry, seed uint64) ([]lokero.Location, error) {
	if reg == nil {
		return nil, errors.New("demo network: no postal code registry")
	}
	if seed == 0 {
		seed = DefaultSeed
	}
	g := &generator{seed: seed, reg: reg, names: map[string]bool{}, used: map[string]map[string]bool{}}

	areas := g.areas()
	if len(areas) == 0 {
		return nil, errors.New("demo network: the postal code registry has no ordinary areas with coordinates")
	}
	if reg.Known(DemoLockerPostcode) {
		g.demoBuilding()
	}
	for i := range areas {
		a := &areas[i]
		if err := errors.Join(g.smartposts(a), g.pickupPoints(a), g.lockers(a)); err != nil {
			return nil, fmt.Errorf("demo network: %w", err)
		}
	}
	if err := g.postOffices(areas); err != nil {
		return nil, fmt.Errorf("demo network: %w", err)
	}

	for i := range g.out {
		l := &g.out[i]
		l.Normalize()
		if err := l.Validate(); err != nil {
			return nil, fmt.Errorf("demo network: generated location %s: %w", l.ID, err)
		}
	}
	slices.SortFunc(g.out, func(a, b lokero.Location) int { return strings.Compare(a.ID, b.ID) })
	for i := 1; i < len(g.out); i++ {
		if g.out[i].ID == g.out[i-1].ID {
			return nil, fmt.Errorf("demo network: id %s generated twice", g.out[i].ID)
		}
	}
	return g.out, nil
}

// areas returns the registry's ordinary areas that have a point, sorted by
// code, with their nearest-neighbour distances and municipality tiers.
func (g *generator) areas() []area {
	var areas []area
	perMunicipality := map[string]int{}
	for _, info := range g.reg.All() {
		if info.Kind != lokero.PostcodeArea {
			continue
		}
		pt, ok := g.reg.Point(info.Code)
		if !ok {
			continue
		}
		areas = append(areas, area{info: info, pt: pt, nearKM: math.Inf(1)})
		perMunicipality[municipalityKey(info)]++
	}
	// Nearest neighbour by brute force: a few thousand points, a few
	// million cheap distances. Points closer than 50 m are the same place
	// (codes sharing a fallback point) and do not count.
	xs, ys := make([]float64, len(areas)), make([]float64, len(areas))
	for i, a := range areas {
		xs[i] = a.pt.Lon * 111.32 * math.Cos(a.pt.Lat*math.Pi/180)
		ys[i] = a.pt.Lat * 110.57
	}
	for i := range areas {
		for j := i + 1; j < len(areas); j++ {
			d := math.Hypot(xs[i]-xs[j], ys[i]-ys[j])
			if d < 0.05 {
				continue
			}
			areas[i].nearKM = min(areas[i].nearKM, d)
			areas[j].nearKM = min(areas[j].nearKM, d)
		}
	}
	for i := range areas {
		a := &areas[i]
		if math.IsInf(a.nearKM, 1) {
			a.nearKM = 10
		}
		a.swedish = strings.HasPrefix(a.info.Code, "22") || swedishMunicipalities[a.info.MunicipalityFI]
		if t, ok := tierByMunicipality[a.info.MunicipalityFI]; ok {
			a.tier = t
		} else if perMunicipality[municipalityKey(a.info)] >= townAreaCodes {
			a.tier = 1
		}
	}
	return areas
}

// municipalityKey identifies the municipality of a code.
func municipalityKey(info postcode.Info) string {
	return cmp.Or(info.MunicipalityCode, info.MunicipalityFI, info.NameFI)
}

// rng returns the random stream of one purpose in one area.
func (g *generator) rng(code, purpose string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(code))
	h.Write([]byte{0})
	h.Write([]byte(purpose))
	return rand.New(rand.NewPCG(g.seed, h.Sum64()))
}

// between returns a random integer in [lo, hi].
func between(r *rand.Rand, lo, hi int) int { return lo + r.IntN(hi-lo+1) }

// place returns a point at a random offset from a's point, within Finland.
func place(r *rand.Rand, a *area) (lat, lon float64) {
	d := a.spreadKM() * math.Sqrt(0.02+0.98*r.Float64())
	θ := 2 * math.Pi * r.Float64()
	lat = a.pt.Lat + d*math.Cos(θ)/110.57
	lon = a.pt.Lon + d*math.Sin(θ)/(111.32*math.Cos(a.pt.Lat*math.Pi/180))
	return round6(min(max(lat, minLat), maxLat)), round6(min(max(lon, minLon), maxLon))
}

// round6 rounds a coordinate to six decimals (about 10 cm).
func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// streets returns the street names to draw from in an area.
func streets(a *area) []string {
	if a.swedish {
		return swedishStreets
	}
	if !a.dense() && a.tier < 3 {
		return ruralStreets
	}
	return append(slices.Clip(cityStreets[a.info.MunicipalityFI]), urbanStreets...)
}

// address draws a street address not yet used in the area.
func (g *generator) address(r *rand.Rand, a *area) (street, name string, err error) {
	names := streets(a)
	maxNumber := 60
	if !a.dense() {
		maxNumber = 120
	}
	used := g.used[a.info.Code]
	if used == nil {
		used = map[string]bool{}
		g.used[a.info.Code] = used
	}
	for range 1000 {
		name = names[r.IntN(len(names))]
		street = name + " " + strconv.Itoa(between(r, 1, maxNumber))
		if !used[street] {
			used[street] = true
			return street, name, nil
		}
	}
	return "", "", fmt.Errorf("area %s: no free street address left", a.info.Code)
}

// chains returns the shop chains of an area.
func chains(a *area) []string {
	switch {
	case metroMunicipalities[a.info.MunicipalityFI]:
		return metroChains
	case a.tier >= 1 && a.dense() || a.tier >= 2:
		return townChains
	}
	return ruralChains
}

// uniqueName returns a name not yet taken: prefix, a shop chain (trying
// them from start on) and the area's name ("Smartpost K-Market Kuhmo");
// where every chain is taken, qualified by the street name ("Smartpost
// Alepa Helsinki Bulevardi"), then by the street address, and at last by
// the postal code.
func (g *generator) uniqueName(prefix string, cs []string, start int, a *area, streetName, street string) string {
	var candidates []string
	for _, suffix := range []string{"", " " + streetName} {
		for i := range cs {
			candidates = append(candidates, prefix+cs[(start+i)%len(cs)]+" "+a.info.NameFI+suffix)
		}
	}
	base := prefix + cs[start%len(cs)] + " " + a.info.NameFI
	candidates = append(candidates, base+" "+street, base+" "+street+" "+a.info.Code)
	for _, n := range candidates {
		if !g.names[n] {
			g.names[n] = true
			return n
		}
	}
	return candidates[len(candidates)-1]
}

// classes returns the standard compartment classes with the given counts.
func classes(s, m, l int) []lokero.CompartmentClass {
	cs := slices.Clone(lokero.StandardCompartmentClasses)
	for i, n := range []int{s, m, l} {
		cs[i].Count = n
	}
	return cs
}

// demoBuilding adds the LOCKER of the demo building.
func (g *generator) demoBuilding() {
	g.used[DemoBuildingPostcode] = map[string]bool{DemoBuildingStreet: true}
	city := DemoCity
	if info, err := g.reg.Lookup(DemoLockerPostcode); err == nil && info.NameFI != "" {
		city = info.NameFI
	}
	g.out = append(g.out, lokero.Location{
		ID:               DemoLockerID,
		Type:             lokero.TypeLocker,
		Name:             DemoLockerName,
		Street:           DemoBuildingStreet,
		StreetSV:         DemoBuildingStreetSV,
		Postcode:         DemoLockerPostcode,
		City:             city,
		Lat:              demoLockerPoint.Lat,
		Lon:              demoLockerPoint.Lon,
		OpeningHours:     lokero.AlwaysOpen(),
		Access:           lokero.AccessResidents,
		WheelchairAccess: true,
		Compartments:     classes(10, 6, 3),
	})
}

// smartposts adds the SMARTPOST lockers of an area: one in the
// countryside, up to four in the dense areas of the biggest cities.
func (g *generator) smartposts(a *area) error {
	r := g.rng(a.info.Code, "smartpost")
	n := 1
	if a.dense() {
		n = between(r, []int{1, 1, 1, 2}[a.tier], []int{1, 2, 3, 4}[a.tier])
	}
	cs := chains(a)
	for i := 1; i <= n; i++ {
		street, streetName, err := g.address(r, a)
		if err != nil {
			return err
		}
		lat, lon := place(r, a)
		loc := lokero.Location{
			ID:               fmt.Sprintf("SMARTPOST-%s-%d", a.info.Code, i),
			Type:             lokero.TypeSmartpost,
			Name:             g.uniqueName("Smartpost ", cs, r.IntN(len(cs)), a, streetName, street),
			Street:           street,
			Postcode:         a.info.Code,
			City:             a.info.NameFI,
			Lat:              lat,
			Lon:              lon,
			OpeningHours:     lokero.AlwaysOpen(),
			Access:           lokero.AccessPublic,
			PaymentTerminal:  r.Float64() < 0.22,
			WheelchairAccess: r.Float64() < 0.7,
			Compartments:     classes(between(r, 20, 40), between(r, 10, 20), between(r, 4, 10)),
		}
		if loc.ID == DemoSmartpostID {
			loc.PaymentTerminal = true
		}
		g.out = append(g.out, loc)
	}
	return nil
}

// pickupHours are the opening hours of agent outlets: a shop, a
// supermarket, a kiosk.
var pickupHours = [][]rule{
	{{1, 5, "08:00", "21:00"}, {6, 6, "09:00", "18:00"}, {7, 7, "12:00", "18:00"}},
	{{1, 6, "07:00", "22:00"}, {7, 7, "10:00", "22:00"}},
	{{1, 5, "07:00", "23:00"}, {6, 6, "08:00", "23:00"}, {7, 7, "09:00", "23:00"}},
}

// Post office hours: bigger ones open on Saturdays too.
var (
	postOfficeHours      = []rule{{1, 5, "09:00", "18:00"}, {6, 6, "10:00", "14:00"}}
	smallPostOfficeHours = []rule{{1, 5, "10:00", "17:00"}}
)

// rule is opening hours from..to on the weekdays first..last.
type rule struct {
	first, last int
	from, to    string
}

// week expands rules into opening hours, ordered by weekday.
func week(rules []rule) []lokero.OpeningHours {
	var hours []lokero.OpeningHours
	for _, ru := range rules {
		for d := ru.first; d <= ru.last; d++ {
			hours = append(hours, lokero.OpeningHours{Weekday: d, From: ru.from, To: ru.to})
		}
	}
	return hours
}

// pickupPoints adds an agent outlet to about every second area.
func (g *generator) pickupPoints(a *area) error {
	r := g.rng(a.info.Code, "pickuppoint")
	if r.Float64() >= 0.5 {
		return nil
	}
	street, streetName, err := g.address(r, a)
	if err != nil {
		return err
	}
	cs := chains(a)
	lat, lon := place(r, a)
	hours := pickupHours[0] // half are shops, a quarter supermarkets, a quarter kiosks
	switch x := r.Float64(); {
	case x >= 0.75:
		hours = pickupHours[2]
	case x >= 0.5:
		hours = pickupHours[1]
	}
	g.out = append(g.out, lokero.Location{
		ID:               fmt.Sprintf("PICKUPPOINT-%s-1", a.info.Code),
		Type:             lokero.TypePickupPoint,
		Name:             g.uniqueName("", cs, r.IntN(len(cs)), a, streetName, street),
		Street:           street,
		Postcode:         a.info.Code,
		City:             a.info.NameFI,
		Lat:              lat,
		Lon:              lon,
		OpeningHours:     week(hours),
		Access:           lokero.AccessPublic,
		WheelchairAccess: r.Float64() < 0.6,
	})
	return nil
}

// lockers adds the building LOCKERs of an area that has a locker code: one
// or two in the countryside, three to six in the dense areas of the
// biggest cities.
func (g *generator) lockers(a *area) error {
	code, ok := g.reg.LockerCode(a.info.Code)
	if !ok || code == a.info.Code {
		return nil
	}
	// Only where the locker code belongs to this very area (its Base), so
	// that routing by postal code finds its building here.
	if info, err := g.reg.Lookup(code); err != nil || info.Base != a.info.Code {
		return nil
	}
	r := g.rng(a.info.Code, "locker")
	lo, hi := 1, 2
	if a.dense() {
		lo, hi = []int{1, 1, 2, 3}[a.tier], []int{2, 3, 4, 6}[a.tier]
	}
	n := between(r, lo, hi)
	for range n {
		street, _, err := g.address(r, a)
		if err != nil {
			return err
		}
		owner := "As Oy "
		switch x := r.Float64(); {
		case x < 0.1 && a.swedish:
			owner = "Fastighets Ab " // an office building
		case x < 0.1:
			owner = "Kiinteistö Oy "
		case a.swedish:
			owner = "Bostads Ab "
		case x < 0.35:
			owner = "Asunto Oy "
		}
		lat, lon := place(r, a)
		g.out = append(g.out, lokero.Location{
			ID:               "LOCKER-" + code + "-" + idPart(street),
			Type:             lokero.TypeLocker,
			Name:             owner + street,
			Street:           street,
			Postcode:         code,
			City:             a.info.NameFI,
			Lat:              lat,
			Lon:              lon,
			OpeningHours:     lokero.AlwaysOpen(),
			Access:           lokero.AccessResidents,
			WheelchairAccess: r.Float64() < 0.5,
			Compartments:     classes(between(r, 6, 12), between(r, 4, 8), between(r, 1, 3)),
		})
	}
	return nil
}

// postOffices adds a POSTOFFICE in the main area of every municipality:
// the lowest area code named after the municipality (00100 Helsinki, 04600
// Mäntsälä), else its lowest area code.
func (g *generator) postOffices(areas []area) error {
	main := map[string]*area{}
	var keys []string
	better := func(a, than *area) bool {
		if na, nt := namedAfterMunicipality(a.info), namedAfterMunicipality(than.info); na != nt {
			return na
		}
		return a.info.Code < than.info.Code
	}
	for i := range areas {
		k := municipalityKey(areas[i].info)
		if m, ok := main[k]; !ok || better(&areas[i], m) {
			if !ok {
				keys = append(keys, k)
			}
			main[k] = &areas[i]
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		a := main[k]
		r := g.rng(a.info.Code, "postoffice")
		street, _, err := g.address(r, a)
		if err != nil {
			return err
		}
		lat, lon := place(r, a)
		hours := smallPostOfficeHours
		if a.tier >= 1 {
			hours = postOfficeHours
		}
		g.out = append(g.out, lokero.Location{
			ID:               "POSTOFFICE-" + a.info.Code,
			Type:             lokero.TypePostOffice,
			Name:             "Posti " + a.info.NameFI,
			Street:           street,
			Postcode:         a.info.Code,
			City:             a.info.NameFI,
			Lat:              lat,
			Lon:              lon,
			OpeningHours:     week(hours),
			Access:           lokero.AccessPublic,
			PaymentTerminal:  true, // a Posti outlet takes cash on delivery
			WheelchairAccess: r.Float64() < 0.9,
		})
	}
	return nil
}

// namedAfterMunicipality reports whether an area bears its municipality's
// name.
func namedAfterMunicipality(info postcode.Info) bool {
	return strings.EqualFold(info.NameFI, info.MunicipalityFI) || strings.EqualFold(info.NameFI, info.MunicipalitySV) ||
		strings.EqualFold(info.NameSV, info.MunicipalitySV)
}

// idPart turns a street address into the ASCII of an id:
// "Hämeenkatu 10" → "HAMEENKATU-10".
func idPart(s string) string {
	var b strings.Builder
	for _, c := range s {
		switch {
		case c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9':
			b.WriteString(strings.ToUpper(string(c)))
		case c == ' ' || c == '-':
			b.WriteByte('-')
		default:
			b.WriteString(transliteration[c])
		}
	}
	return b.String()
}
