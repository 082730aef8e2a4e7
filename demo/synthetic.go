package demo

import (
	"fmt"
	"math/rand/v2"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/postcode"
)

// Synthetic makes n public pickup points for benchmarks, spread like a
// real network: around the points of Finland's postal areas, denser where
// codes are dense. Types cycle SMARTPOST, SMARTPOST, POSTOFFICE,
// PICKUPPOINT, so a filter on POSTOFFICE keeps a quarter. Reproducible for
// the same registry, n and seed.
func Synthetic(reg *postcode.Registry, n int, seed uint64) []lokero.Location {
	var areas []postcode.Info
	for _, info := range reg.All() {
		if info.Kind == lokero.PostcodeArea && info.HasPoint {
			areas = append(areas, info)
		}
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	types := []lokero.LocationType{lokero.TypeSmartpost, lokero.TypeSmartpost, lokero.TypePostOffice, lokero.TypePickupPoint}
	locs := make([]lokero.Location, n)
	for i := range locs {
		a := areas[rng.IntN(len(areas))]
		t := types[i%len(types)]
		l := lokero.Location{
			ID: fmt.Sprintf("BENCH-%06d", i), Type: t, Name: fmt.Sprintf("Bench point %d", i),
			Street: fmt.Sprintf("Testikatu %d", i%200+1), Postcode: a.Code, City: a.NameFI,
			Lat: a.Point.Lat + rng.NormFloat64()*0.02, Lon: a.Point.Lon + rng.NormFloat64()*0.04,
			PaymentTerminal: i%7 == 0 && t != lokero.TypeLocker,
		}
		if t.IsLocker() {
			l.Compartments = []lokero.CompartmentClass{{Size: "M", LengthCM: 70, WidthCM: 40, HeightCM: 20, Count: 10}}
		}
		l.Normalize()
		locs[i] = l
	}
	return locs
}
