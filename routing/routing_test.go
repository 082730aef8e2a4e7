package routing_test

import (
	"cmp"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/address"
	"github.com/lokero/lokero/geo"
	"github.com/lokero/lokero/routing"
)

// fakeDir is an in-memory Directory: a slice of locations, brute-force
// Nearest and building matching by address.Building.
type fakeDir struct {
	locs        []*lokero.Location
	points      map[string]geo.Point
	lockerCodes map[string]bool
}

// base maps a locker postal code to its building's area (00104 → 00100).
func base(pc string) string {
	if len(pc) == 5 && pc[4] == '4' {
		return pc[:4] + "0"
	}
	return pc
}

func (f *fakeDir) Location(id string) *lokero.Location {
	for _, l := range f.locs {
		if l.ID == id {
			return l
		}
	}
	return nil
}

func (f *fakeDir) LockersAtBuilding(postcode, street string) []*lokero.Location {
	key := address.Building(street)
	if key == "" {
		return nil
	}
	var out []*lokero.Location
	for _, l := range f.locs {
		if l.Type.IsLocker() && base(l.Postcode) == base(postcode) && address.Building(l.Street) == key {
			out = append(out, l)
		}
	}
	return out
}

func (f *fakeDir) Nearest(origin geo.Point, k int, keep func(*lokero.Location) bool) []*lokero.Location {
	var out []*lokero.Location
	for _, l := range f.locs {
		if l.Type != lokero.TypeLocker && (keep == nil || keep(l)) {
			out = append(out, l)
		}
	}
	dist := func(l *lokero.Location) float64 { return geo.Distance(origin, geo.Point{Lat: l.Lat, Lon: l.Lon}) }
	slices.SortFunc(out, func(a, b *lokero.Location) int {
		return cmp.Or(cmp.Compare(dist(a), dist(b)), cmp.Compare(a.ID, b.ID))
	})
	return out[:min(k, len(out))]
}

func (f *fakeDir) PostcodePoint(postcode string) (geo.Point, bool) {
	p, ok := f.points[postcode]
	return p, ok
}

func (f *fakeDir) IsLockerPostcode(postcode string) bool { return f.lockerCodes[postcode] }

var (
	sml = []lokero.CompartmentClass{
		{Size: "S", LengthCM: 70, WidthCM: 40, HeightCM: 10, Count: 10},
		{Size: "M", LengthCM: 70, WidthCM: 40, HeightCM: 20, Count: 6},
		{Size: "L", LengthCM: 70, WidthCM: 40, HeightCM: 40, Count: 2},
	}
	sm     = sml[:2]
	sOnly  = sml[:1]
	centre = geo.Point{Lat: 60.1700, Lon: 24.9400} // postcode 00100
)

// network returns a small network around Kamppi, Helsinki (distances from
// the 00100 point in brackets), plus Oulu and Ivalo far away.
func network() *fakeDir {
	return &fakeDir{
		locs: []*lokero.Location{
			{ID: "PP-R", Type: lokero.TypePickupPoint, Name: "R-kioski Lasipalatsi", Street: "Mannerheimintie 22", Postcode: "00100", Lat: 60.1705, Lon: 24.9400, Access: lokero.AccessPublic},                                                    // 56 m
			{ID: "SP-PRIVATE", Type: lokero.TypeSmartpost, Name: "Smartpost Office Tower", Street: "Aleksanterinkatu 1", Postcode: "00100", Lat: 60.1701, Lon: 24.9400, Access: lokero.AccessResidents, PaymentTerminal: true, Compartments: sml}, // 11 m
			{ID: "SP-ALEPA", Type: lokero.TypeSmartpost, Name: "Smartpost Alepa Fredrikinkatu", Street: "Fredrikinkatu 40", Postcode: "00100", Lat: 60.1710, Lon: 24.9400, Access: lokero.AccessPublic, Compartments: sml},                        // 111 m
			{ID: "SP-KAMPPI", Type: lokero.TypeSmartpost, Name: "Smartpost K-Market Kamppi", Street: "Urho Kekkosen katu 1", Postcode: "00100", Lat: 60.1720, Lon: 24.9400, Access: lokero.AccessPublic, PaymentTerminal: true, Compartments: sm}, // 222 m
			{ID: "SP-BIG", Type: lokero.TypeSmartpost, Name: "Smartpost Prisma Kamppi", Street: "Runeberginkatu 2", Postcode: "00100", Lat: 60.1740, Lon: 24.9400, Access: lokero.AccessPublic, PaymentTerminal: true, Compartments: sml},         // 445 m
			{ID: "PO-KAMPPI", Type: lokero.TypePostOffice, Name: "Posti Kamppi", Street: "Narinkka 2", Postcode: "00100", Lat: 60.1760, Lon: 24.9400, Access: lokero.AccessPublic},                                                                // 667 m
			// Outlets with their own, smaller limits, nearer than PO-KAMPPI; the others above have none
			// set (zero), which is their type's default: 120 × 60 × 60 cm at a post office, 100 × 60 × 60 at a pickup point.
			{ID: "PO-SMALL", Type: lokero.TypePostOffice, Name: "Posti Kioski Simonkatu", Street: "Simonkatu 6", Postcode: "00100", Lat: 60.1750, Lon: 24.9400, Access: lokero.AccessPublic,
				MaxParcel: lokero.ParcelLimit{LengthCM: 60, WidthCM: 40, HeightCM: 40, WeightKG: 20}}, // 556 m
			{ID: "PP-TORI", Type: lokero.TypePickupPoint, Name: "Kukka Tori", Street: "Kampinkuja 2", Postcode: "00100", Lat: 60.1730, Lon: 24.9400, Access: lokero.AccessPublic,
				MaxParcel: lokero.ParcelLimit{LengthCM: 40, WidthCM: 30, HeightCM: 30, WeightKG: 10}}, // 334 m
			{ID: "LK-MANNER-2", Type: lokero.TypeLocker, Name: "As Oy Mannerheimintie 12 B", Street: "Mannerheimintie 12", Postcode: "00104", Lat: 60.17002, Lon: 24.9380, Access: lokero.AccessResidents, Compartments: sOnly},
			{ID: "LK-MANNER-1", Type: lokero.TypeLocker, Name: "As Oy Mannerheimintie 12", Street: "Mannerheimintie 12", Postcode: "00104", Lat: 60.1700, Lon: 24.9380, Access: lokero.AccessResidents, Compartments: sml}, // 111 m
			{ID: "LK-RUNE", Type: lokero.TypeLocker, Name: "As Oy Runeberginkatu 5", Street: "Runeberginkatu 5", Postcode: "00254", Lat: 60.1900, Lon: 24.9200, Access: lokero.AccessResidents, Compartments: sOnly},
			{ID: "PO-OULU", Type: lokero.TypePostOffice, Name: "Posti Oulu keskusta", Street: "Hallituskatu 36", Postcode: "90100", Lat: 65.0300, Lon: 25.4700, Access: lokero.AccessPublic}, // 2.0 km from 90100
			{ID: "PP-IVALO", Type: lokero.TypePickupPoint, Name: "K-Market Ivalo", Street: "Ivalontie 10", Postcode: "99800", Lat: 68.6600, Lon: 27.5500, Access: lokero.AccessPublic},
			{ID: "SP-IVALO", Type: lokero.TypeSmartpost, Name: "Smartpost Ivalo", Street: "Ivalontie 12", Postcode: "99800", Lat: 68.6601, Lon: 27.5500, Access: lokero.AccessPublic, PaymentTerminal: true, Compartments: sOnly},
		},
		points: map[string]geo.Point{
			"00100": centre,
			"00104": centre,
			"00250": {Lat: 60.19, Lon: 24.92},
			"90100": {Lat: 65.0121, Lon: 25.4651},
			"96100": {Lat: 66.50, Lon: 25.73}, // Rovaniemi: 164 km from Oulu, 252 km from Ivalo
			"99800": {Lat: 68.66, Lon: 27.55},
		},
		lockerCodes: map[string]bool{"00104": true, "00254": true},
	}
}

// Parcels.
var (
	small   = lokero.Parcel{LengthCM: 30, WidthCM: 20, HeightCM: 10, WeightKG: 2, Contents: lokero.ContentsGoods}
	medium  = lokero.Parcel{LengthCM: 40, WidthCM: 70, HeightCM: 15, WeightKG: 5, Contents: lokero.ContentsGoods} // turned: fits 70 × 40 × 20
	large   = lokero.Parcel{LengthCM: 70, WidthCM: 40, HeightCM: 30, WeightKG: 9, Contents: lokero.ContentsGoods} // L only
	over    = lokero.Parcel{LengthCM: 80, WidthCM: 30, HeightCM: 30, WeightKG: 10, Contents: lokero.ContentsGoods}
	huge    = lokero.Parcel{LengthCM: 110, WidthCM: 50, HeightCM: 50, WeightKG: 12, Contents: lokero.ContentsGoods} // a post office only
	giant   = lokero.Parcel{LengthCM: 130, WidthCM: 50, HeightCM: 50, WeightKG: 12, Contents: lokero.ContentsGoods} // nowhere
	long    = lokero.Parcel{LengthCM: 105, WidthCM: 50, HeightCM: 50, WeightKG: 12, Contents: lokero.ContentsGoods} // over a pickup point's default 100 cm
	food    = lokero.Parcel{LengthCM: 30, WidthCM: 20, HeightCM: 10, WeightKG: 2, Contents: lokero.ContentsFood, Insulated: true}
	rawFood = lokero.Parcel{LengthCM: 30, WidthCM: 20, HeightCM: 10, WeightKG: 2, Contents: lokero.ContentsFood}
)

func weighing(p lokero.Parcel, kg float64) lokero.Parcel { p.WeightKG = kg; return p }

// Recipients.
var (
	resident    = lokero.Party{Name: "Aino", Street: "Mannerheimintie 12 B 34", Postcode: "00100"}
	residentAlt = lokero.Party{Name: "Aino", Street: "MANNERHEIMINT. 12 as. 34", Postcode: "00104"}
	resident104 = lokero.Party{Name: "Aino", Street: "Mannerheimintie 12 B 34", Postcode: "00104"}
	spaced104   = lokero.Party{Name: "Aino", Street: "mannerheimin tie 12", Postcode: "00104"}
	stranger    = lokero.Party{Name: "Eero", Street: "Fredrikinkatu 3", Postcode: "00100"}
	stranger104 = lokero.Party{Name: "Eero", Street: "Fredrikinkatu 3", Postcode: "00104"}
	noStreet104 = lokero.Party{Name: "Eero", Postcode: "00104"}
	noStreet    = lokero.Party{Name: "Aino", Postcode: "00100"}
	rune        = lokero.Party{Name: "Ville", Street: "Runeberginkatu 5 A 1", Postcode: "00254"}
	tower       = lokero.Party{Name: "Liisa", Street: "Aleksanterinkatu 1", Postcode: "00100"}
	oulu        = lokero.Party{Name: "Olli", Street: "Kirkkokatu 1", Postcode: "90100"}
	rovaniemi   = lokero.Party{Name: "Rauni", Street: "Koskikatu 1", Postcode: "96100"}
	ivalo       = lokero.Party{Name: "Iida", Street: "Ivalontie 1", Postcode: "99800"}
	nowhere     = lokero.Party{Name: "Nils", Street: "Tie 1", Postcode: "99999"}
)

func distance(t *testing.T, dir *fakeDir, from geo.Point, id string) float64 {
	t.Helper()
	l := dir.Location(id)
	if l == nil {
		t.Fatalf("no location %s in the test network", id)
	}
	return geo.Distance(from, geo.Point{Lat: l.Lat, Lon: l.Lon})
}

func pointOf(t *testing.T, dir *fakeDir, id string) geo.Point {
	t.Helper()
	l := dir.Location(id)
	if l == nil {
		t.Fatalf("no location %s in the test network", id)
	}
	return geo.Point{Lat: l.Lat, Lon: l.Lon}
}

func wantContains(t *testing.T, what, s string, subs ...string) {
	t.Helper()
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			t.Errorf("%s %q does not contain %q", what, s, sub)
		}
	}
}

func wantRefusal(t *testing.T, err error, code, reason, field string, contains ...string) {
	t.Helper()
	var e *lokero.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v, want a *lokero.Error %s", err, reason)
	}
	if e.Code != code || e.Reason != reason || e.Field != field {
		t.Errorf("error = {code %s, reason %s, field %s}, want {%s, %s, %s} (%s)", e.Code, e.Reason, e.Field, code, reason, field, e.Message)
	}
	wantContains(t, "message", e.Message, contains...)
}

func TestRoute(t *testing.T) {
	t.Parallel()
	dir := network()
	fd := routing.FormatDistance
	from := func(a, b string) string { return fd(distance(t, dir, pointOf(t, dir, a), b)) }
	lighter := routing.Limits{LockerMaxWeightKG: 20} // the rest default
	cases := []struct {
		name   string
		req    routing.Request
		limits routing.Limits
		// success
		rule     string
		location string
		reason   []string
		// refusal
		code, refusal, field string
		message              []string
	}{
		// 1. food
		{name: "food not insulated comes first", req: routing.Request{PickupPointID: "NOPE", Recipient: stranger, Parcel: func() lokero.Parcel { p := huge; p.Contents = "food"; return p }()},
			refusal: "food_not_insulated", field: "parcel.insulated", message: []string{"insulated", "food"}},
		{name: "food not insulated by address", req: routing.Request{Recipient: resident104, Parcel: rawFood},
			refusal: "food_not_insulated", field: "parcel.insulated"},
		{name: "insulated food goes", req: routing.Request{PickupPointID: "SP-ALEPA", Recipient: stranger, Parcel: food},
			rule: routing.RulePickupPoint, location: "SP-ALEPA"},

		// 2. the bound of what lokero carries: the biggest default outlet limit
		{name: "over the carrier's bound", req: routing.Request{PickupPointID: "PO-KAMPPI", Recipient: stranger, Parcel: giant},
			refusal: "parcel_too_large", field: "parcel", message: []string{"130 × 50 × 50 cm", "120 × 60 × 60 cm", "35 kg"}},
		{name: "over the carrier's bound even with fallback", req: routing.Request{Recipient: stranger, Parcel: giant, Fallback: routing.FallbackNearestOutlet},
			refusal: "parcel_too_large", field: "parcel"},
		{name: "size before unknown pickup point", req: routing.Request{PickupPointID: "NOPE", Recipient: stranger, Parcel: giant},
			refusal: "parcel_too_large", field: "parcel"},
		{name: "within the bound, to a post office", req: routing.Request{PickupPointID: "PO-KAMPPI", Recipient: stranger, Parcel: huge},
			rule: routing.RulePickupPoint, location: "PO-KAMPPI"},
		{name: "35 kg goes to a locker", req: routing.Request{PickupPointID: "SP-ALEPA", Recipient: stranger, Parcel: weighing(small, 35)},
			rule: routing.RulePickupPoint, location: "SP-ALEPA"},
		{name: "35.01 kg goes nowhere", req: routing.Request{PickupPointID: "SP-ALEPA", Recipient: stranger, Parcel: weighing(small, 35.01), Fallback: routing.FallbackNearestOutlet},
			refusal: "parcel_too_large", field: "parcel", message: []string{"35.01 kg"}},

		// 3. chosen pickup point
		{name: "unknown pickup point", req: routing.Request{PickupPointID: "NOPE", Recipient: stranger, Parcel: small},
			refusal: "unknown_pickup_point", field: "pickup_point_id", message: []string{`"NOPE"`}},
		{name: "smartpost chosen", req: routing.Request{PickupPointID: "SP-ALEPA", Recipient: stranger, Parcel: medium},
			rule: routing.RulePickupPoint, location: "SP-ALEPA", reason: []string{"chose", "Smartpost Alepa Fredrikinkatu (SP-ALEPA)", "size M"}},
		{name: "post office chosen", req: routing.Request{PickupPointID: "PO-KAMPPI", Recipient: stranger, Parcel: small},
			rule: routing.RulePickupPoint, location: "PO-KAMPPI", reason: []string{"Posti Kamppi (PO-KAMPPI)"}},
		{name: "locker chosen by a stranger", req: routing.Request{PickupPointID: "LK-MANNER-1", Recipient: stranger, Parcel: small},
			refusal: "locker_residents_only", field: "pickup_point_id", message: []string{"LOCKER", "LK-MANNER-1", "residents only", "Fredrikinkatu 3, 00100", "Mannerheimintie 12, 00104"}},
		{name: "locker chosen with locker postcode by a stranger", req: routing.Request{PickupPointID: "LK-MANNER-1", Recipient: stranger104, Parcel: small},
			refusal: "locker_residents_only", field: "pickup_point_id"},
		{name: "locker chosen without a street", req: routing.Request{PickupPointID: "LK-MANNER-1", Recipient: noStreet, Parcel: small},
			refusal: "locker_residents_only", field: "pickup_point_id"},
		{name: "locker of another building", req: routing.Request{PickupPointID: "LK-RUNE", Recipient: resident, Parcel: small},
			refusal: "locker_residents_only", field: "pickup_point_id", message: []string{"LK-RUNE"}},
		{name: "residents smartpost chosen by a stranger", req: routing.Request{PickupPointID: "SP-PRIVATE", Recipient: stranger, Parcel: small},
			refusal: "locker_residents_only", field: "pickup_point_id", message: []string{"SP-PRIVATE", "residents only"}},
		{name: "residents smartpost chosen by a resident", req: routing.Request{PickupPointID: "SP-PRIVATE", Recipient: tower, Parcel: small},
			rule: routing.RulePickupPoint, location: "SP-PRIVATE"},
		{name: "locker chosen by a resident", req: routing.Request{PickupPointID: "LK-MANNER-1", Recipient: resident, Parcel: medium},
			rule: routing.RulePickupPoint, location: "LK-MANNER-1", reason: []string{"As Oy Mannerheimintie 12 (LK-MANNER-1)", "own building", "size M"}},
		{name: "locker chosen by a resident writing it otherwise", req: routing.Request{PickupPointID: "LK-MANNER-1", Recipient: residentAlt, Parcel: small},
			rule: routing.RulePickupPoint, location: "LK-MANNER-1", reason: []string{"size S"}},
		{name: "chosen locker too small", req: routing.Request{PickupPointID: "SP-KAMPPI", Recipient: stranger, Parcel: large},
			refusal: "parcel_too_large", field: "parcel", message: []string{"70 × 40 × 30 cm", "SP-KAMPPI", "70 × 40 × 20 cm", `"nearest_outlet"`}},
		{name: "chosen locker too big parcel", req: routing.Request{PickupPointID: "LK-MANNER-1", Recipient: resident, Parcel: over},
			refusal: "parcel_too_large", field: "parcel", message: []string{"80 × 30 × 30 cm", "LK-MANNER-1", "70 × 40 × 40 cm"}},
		{name: "chosen locker too big parcel with fallback", req: routing.Request{PickupPointID: "LK-MANNER-1", Recipient: resident, Parcel: over, Fallback: routing.FallbackNearestOutlet},
			rule: routing.RuleOversizeFallback, location: "PO-KAMPPI",
			reason: []string{"80 × 30 × 30 cm", "LK-MANNER-1", "nearest post office", "Posti Kamppi (PO-KAMPPI)", from("LK-MANNER-1", "PO-KAMPPI") + " from the chosen pickup point", "nearest_outlet"}},
		{name: "COD and oversize with fallback go to the post office", req: routing.Request{PickupPointID: "LK-MANNER-1", Recipient: resident, Parcel: over, COD: true, Fallback: routing.FallbackNearestOutlet},
			rule: routing.RuleOversizeFallback, location: "PO-KAMPPI", reason: []string{"PO-KAMPPI", "cash on delivery"}},
		{name: "COD and oversize without fallback are refused", req: routing.Request{PickupPointID: "SP-ALEPA", Recipient: stranger, Parcel: over, COD: true},
			refusal: "parcel_too_large", field: "parcel"},
		{name: "too heavy for a locker by custom limit", req: routing.Request{PickupPointID: "SP-ALEPA", Recipient: stranger, Parcel: weighing(small, 25)}, limits: lighter,
			refusal: "parcel_too_large", field: "parcel", message: []string{"25 kg", "20 kg"}},
		{name: "too heavy for a locker by custom limit, fallback", req: routing.Request{PickupPointID: "SP-ALEPA", Recipient: stranger, Parcel: weighing(small, 25), Fallback: routing.FallbackNearestOutlet}, limits: lighter,
			rule: routing.RuleOversizeFallback, location: "PO-KAMPPI", reason: []string{"25 kg", "PO-KAMPPI", from("SP-ALEPA", "PO-KAMPPI")}},
		{name: "COD to a resident's locker", req: routing.Request{PickupPointID: "LK-MANNER-1", Recipient: resident, Parcel: small, COD: true},
			rule: routing.RuleCODRedirect, location: "SP-KAMPPI",
			reason: []string{"Cash on delivery cannot be paid at a LOCKER, which has no payment terminal", "Smartpost K-Market Kamppi (SP-KAMPPI)", from("LK-MANNER-1", "SP-KAMPPI") + " from the chosen pickup point"}},
		{name: "COD redirect skips lockers too small", req: routing.Request{PickupPointID: "LK-MANNER-1", Recipient: resident, Parcel: large, COD: true},
			rule: routing.RuleCODRedirect, location: "SP-BIG", reason: []string{"SP-BIG", from("LK-MANNER-1", "SP-BIG")}},
		{name: "COD to a smartpost without terminal", req: routing.Request{PickupPointID: "SP-ALEPA", Recipient: stranger, Parcel: small, COD: true},
			rule: routing.RuleCODRedirect, location: "SP-KAMPPI", reason: []string{"SMARTPOST without a payment terminal", "SP-ALEPA", "SP-KAMPPI", from("SP-ALEPA", "SP-KAMPPI")}},
		{name: "COD to a smartpost with terminal", req: routing.Request{PickupPointID: "SP-KAMPPI", Recipient: stranger, Parcel: small, COD: true},
			rule: routing.RulePickupPoint, location: "SP-KAMPPI", reason: []string{"payment terminal"}},
		{name: "COD to a pickup point", req: routing.Request{PickupPointID: "PP-R", Recipient: stranger, Parcel: small, COD: true},
			rule: routing.RuleCODRedirect, location: "SP-KAMPPI", reason: []string{"PICKUPPOINT", "R-kioski Lasipalatsi (PP-R)", "SP-KAMPPI", from("PP-R", "SP-KAMPPI")}},
		{name: "COD oversize to a pickup point", req: routing.Request{PickupPointID: "PP-R", Recipient: stranger, Parcel: over, COD: true},
			rule: routing.RuleCODRedirect, location: "PO-KAMPPI", reason: []string{"a post office", "PO-KAMPPI"}},
		{name: "oversize to a pickup point", req: routing.Request{PickupPointID: "PP-R", Recipient: stranger, Parcel: over},
			rule: routing.RulePickupPoint, location: "PP-R"},
		{name: "COD to a post office", req: routing.Request{PickupPointID: "PO-KAMPPI", Recipient: stranger, Parcel: over, COD: true},
			rule: routing.RulePickupPoint, location: "PO-KAMPPI", reason: []string{"cash on delivery is paid there"}},
		{name: "COD with nowhere to redirect", req: routing.Request{PickupPointID: "PP-IVALO", Recipient: ivalo, Parcel: medium, COD: true},
			refusal: "no_pickup_point", field: "cod", message: []string{"PP-IVALO", "100 km"}},
		{name: "fallback with no post office near goes to a pickup point", req: routing.Request{PickupPointID: "SP-IVALO", Recipient: ivalo, Parcel: medium, Fallback: routing.FallbackNearestOutlet},
			rule: routing.RuleOversizeFallback, location: "PP-IVALO",
			reason: []string{"SP-IVALO", "no post office within 100 km takes it", "nearest pickup point", "K-Market Ivalo (PP-IVALO)", from("SP-IVALO", "PP-IVALO") + " from the chosen pickup point"}},
		{name: "fallback with COD and no post office near", req: routing.Request{PickupPointID: "SP-IVALO", Recipient: ivalo, Parcel: medium, COD: true, Fallback: routing.FallbackNearestOutlet},
			refusal: "no_pickup_point", field: "fallback", message: []string{"SP-IVALO", "post office", "100 km"}},
		{name: "fallback with nothing near that takes it", req: routing.Request{PickupPointID: "SP-IVALO", Recipient: ivalo, Parcel: long, Fallback: routing.FallbackNearestOutlet},
			refusal: "no_pickup_point", field: "fallback", message: []string{"SP-IVALO", "post office nor pickup point", "100 km"}},

		// Each outlet's own limit (MaxParcel; zero is its type's default).
		{name: "pickup point too small", req: routing.Request{PickupPointID: "PP-R", Recipient: stranger, Parcel: huge},
			refusal: "parcel_too_large", field: "parcel",
			message: []string{"110 × 50 × 50 cm", "the pickup point R-kioski Lasipalatsi (PP-R)", "at most 100 × 60 × 60 cm (turned any way) and 35 kg", `"nearest_outlet"`}},
		{name: "pickup point too small, fallback to the nearest post office that takes it", req: routing.Request{PickupPointID: "PP-R", Recipient: stranger, Parcel: huge, Fallback: routing.FallbackNearestOutlet},
			rule: routing.RuleOversizeFallback, location: "PO-KAMPPI", // not PO-SMALL, nearer but too small
			reason: []string{"PP-R", "100 × 60 × 60 cm", "nearest post office that takes it", "Posti Kamppi (PO-KAMPPI)", from("PP-R", "PO-KAMPPI") + " from the chosen pickup point"}},
		{name: "post office with its own limit too small", req: routing.Request{PickupPointID: "PO-SMALL", Recipient: stranger, Parcel: over},
			refusal: "parcel_too_large", field: "parcel", message: []string{"80 × 30 × 30 cm, 10 kg", "PO-SMALL", "at most 60 × 40 × 40 cm (turned any way) and 20 kg"}},
		{name: "post office with its own limit too small, COD", req: routing.Request{PickupPointID: "PO-SMALL", Recipient: stranger, Parcel: over, COD: true},
			refusal: "parcel_too_large", field: "parcel", message: []string{"PO-SMALL", "60 × 40 × 40 cm"}},
		{name: "post office with its own weight limit", req: routing.Request{PickupPointID: "PO-SMALL", Recipient: stranger, Parcel: weighing(small, 25)},
			refusal: "parcel_too_large", field: "parcel", message: []string{"25 kg", "PO-SMALL", "20 kg"}},
		{name: "post office with its own limit takes a small one", req: routing.Request{PickupPointID: "PO-SMALL", Recipient: stranger, Parcel: weighing(small, 20), COD: true},
			rule: routing.RulePickupPoint, location: "PO-SMALL", reason: []string{"cash on delivery is paid there"}},
		{name: "pickup point with its own limit", req: routing.Request{PickupPointID: "PP-TORI", Recipient: stranger, Parcel: medium},
			refusal: "parcel_too_large", field: "parcel", message: []string{"Kukka Tori (PP-TORI)", "40 × 30 × 30 cm (turned any way) and 10 kg"}},
		{name: "pickup point with its own limit, fallback", req: routing.Request{PickupPointID: "PP-TORI", Recipient: stranger, Parcel: weighing(small, 15), Fallback: routing.FallbackNearestOutlet},
			rule: routing.RuleOversizeFallback, location: "PO-SMALL", reason: []string{"PP-TORI", "15 kg", "10 kg", "PO-SMALL", from("PP-TORI", "PO-SMALL")}},
		{name: "pickup point too small, fallback past a post office too small", req: routing.Request{PickupPointID: "PP-TORI", Recipient: stranger, Parcel: medium, Fallback: routing.FallbackNearestOutlet},
			rule: routing.RuleOversizeFallback, location: "PO-KAMPPI", reason: []string{"PP-TORI", "PO-KAMPPI"}},
		{name: "oversize fallback to the nearest post office that takes it", req: routing.Request{PickupPointID: "SP-ALEPA", Recipient: stranger, Parcel: weighing(small, 15), Fallback: routing.FallbackNearestOutlet},
			limits: routing.Limits{LockerMaxWeightKG: 10}, rule: routing.RuleOversizeFallback, location: "PO-SMALL",
			reason: []string{"15 kg", "10 kg", "Posti Kioski Simonkatu (PO-SMALL)", from("SP-ALEPA", "PO-SMALL")}},
		{name: "oversize fallback skips a post office too small", req: routing.Request{PickupPointID: "SP-ALEPA", Recipient: stranger, Parcel: over, Fallback: routing.FallbackNearestOutlet},
			rule: routing.RuleOversizeFallback, location: "PO-KAMPPI", reason: []string{"PO-KAMPPI", from("SP-ALEPA", "PO-KAMPPI")}},
		{name: "oversize fallback with COD skips a post office too small", req: routing.Request{PickupPointID: "LK-MANNER-1", Recipient: resident, Parcel: weighing(small, 25), COD: true, Fallback: routing.FallbackNearestOutlet},
			limits: lighter, rule: routing.RuleOversizeFallback, location: "PO-KAMPPI", reason: []string{"25 kg", "PO-KAMPPI", "cash on delivery"}},
		{name: "COD to a pickup point too small: size first", req: routing.Request{PickupPointID: "PP-R", Recipient: stranger, Parcel: huge, COD: true},
			refusal: "parcel_too_large", field: "parcel", message: []string{"PP-R", "100 × 60 × 60 cm"}},
		{name: "COD redirect skips a post office too small", req: routing.Request{PickupPointID: "PP-R", Recipient: stranger, Parcel: weighing(over, 25), COD: true},
			rule: routing.RuleCODRedirect, location: "PO-KAMPPI", reason: []string{"PICKUPPOINT", "a post office", "Posti Kamppi (PO-KAMPPI)", from("PP-R", "PO-KAMPPI")}},
		{name: "COD redirect to the nearest post office that takes it", req: routing.Request{PickupPointID: "PP-TORI", Recipient: stranger, Parcel: weighing(small, 8), COD: true},
			limits: routing.Limits{LockerMaxWeightKG: 5}, rule: routing.RuleCODRedirect, location: "PO-SMALL", reason: []string{"PP-TORI", "PO-SMALL", from("PP-TORI", "PO-SMALL")}},
		{name: "COD redirect finds no post office that takes it", req: routing.Request{PickupPointID: "PP-IVALO", Recipient: ivalo, Parcel: weighing(small, 8), COD: true},
			limits: routing.Limits{LockerMaxWeightKG: 5}, refusal: "no_pickup_point", field: "cod", message: []string{"PP-IVALO", "nor a post office that takes it"}},

		// 4. building locker
		{name: "building locker", req: routing.Request{Recipient: resident104, Parcel: medium},
			rule: routing.RuleBuildingLocker, location: "LK-MANNER-1", reason: []string{"00104", "Mannerheimintie 12, 00104", "As Oy Mannerheimintie 12 (LK-MANNER-1)", "size M"}},
		{name: "building locker: first that fits", req: routing.Request{Recipient: resident104, Parcel: small},
			rule: routing.RuleBuildingLocker, location: "LK-MANNER-2", reason: []string{"LK-MANNER-2", "size S"}},
		{name: "building locker with the street written otherwise", req: routing.Request{Recipient: spaced104, Parcel: medium},
			rule: routing.RuleBuildingLocker, location: "LK-MANNER-1"},
		{name: "no locker at the address", req: routing.Request{Recipient: stranger104, Parcel: small},
			refusal: "no_locker_at_address", field: "recipient.street", message: []string{"Fredrikinkatu 3, 00104"}},
		{name: "no street with a locker postcode", req: routing.Request{Recipient: noStreet104, Parcel: small},
			refusal: "no_locker_at_address", field: "recipient.street", message: []string{"00104"}},
		{name: "building locker with COD", req: routing.Request{Recipient: resident104, Parcel: medium, COD: true},
			rule: routing.RuleCODRedirect, location: "SP-KAMPPI",
			reason: []string{"LK-MANNER-1", "Cash on delivery cannot be paid at a LOCKER, which has no payment terminal", "Smartpost K-Market Kamppi (SP-KAMPPI)", from("LK-MANNER-1", "SP-KAMPPI") + " from the recipient's locker"}},
		{name: "building locker too small", req: routing.Request{Recipient: rune, Parcel: medium},
			refusal: "parcel_too_large", field: "parcel", message: []string{"LK-RUNE", "70 × 40 × 10 cm"}},
		{name: "building locker too small, fallback", req: routing.Request{Recipient: rune, Parcel: medium, Fallback: routing.FallbackNearestOutlet},
			rule: routing.RuleOversizeFallback, location: "PO-KAMPPI", reason: []string{"LK-RUNE", "PO-KAMPPI", from("LK-RUNE", "PO-KAMPPI") + " from the recipient's locker"}},
		{name: "building locker, oversize", req: routing.Request{Recipient: resident104, Parcel: over},
			refusal: "parcel_too_large", field: "parcel", message: []string{"80 × 30 × 30 cm"}},
		{name: "building locker, oversize with COD and fallback", req: routing.Request{Recipient: resident104, Parcel: over, COD: true, Fallback: routing.FallbackNearestOutlet},
			rule: routing.RuleOversizeFallback, location: "PO-KAMPPI", reason: []string{"cash on delivery"}},
		{name: "chosen point wins over locker postcode", req: routing.Request{PickupPointID: "SP-ALEPA", Recipient: stranger104, Parcel: small},
			rule: routing.RulePickupPoint, location: "SP-ALEPA"},

		// 5. nearest
		{name: "nearest", req: routing.Request{Recipient: stranger, Parcel: small},
			rule: routing.RuleNearestPickupPoint, location: "PP-R", reason: []string{"No pickup point was chosen", "R-kioski Lasipalatsi (PP-R)", fd(distance(t, dir, centre, "PP-R")), "00100"}},
		{name: "nearest with COD", req: routing.Request{Recipient: stranger, Parcel: small, COD: true},
			rule: routing.RuleNearestPickupPoint, location: "SP-KAMPPI", reason: []string{"cash on delivery", "SP-KAMPPI", fd(distance(t, dir, centre, "SP-KAMPPI"))}},
		{name: "nearest with COD, large", req: routing.Request{Recipient: stranger, Parcel: large, COD: true},
			rule: routing.RuleNearestPickupPoint, location: "SP-BIG"},
		{name: "nearest with COD, oversize", req: routing.Request{Recipient: stranger, Parcel: over, COD: true},
			rule: routing.RuleNearestPickupPoint, location: "PO-KAMPPI"},
		{name: "nearest, oversize", req: routing.Request{Recipient: stranger, Parcel: over},
			rule: routing.RuleNearestPickupPoint, location: "PP-R"},
		{name: "nearest, bigger than any pickup point takes", req: routing.Request{Recipient: stranger, Parcel: huge},
			rule: routing.RuleNearestPickupPoint, location: "PO-KAMPPI", reason: []string{"Posti Kamppi (PO-KAMPPI)"}}, // past PP-R, PP-TORI and PO-SMALL
		{name: "nearest with COD skips a post office too small", req: routing.Request{Recipient: stranger, Parcel: weighing(over, 25), COD: true},
			rule: routing.RuleNearestPickupPoint, location: "PO-KAMPPI"},
		{name: "nearest skips a pickup point too small", req: routing.Request{Recipient: stranger, Parcel: weighing(small, 12)}, limits: routing.Limits{LockerMaxWeightKG: 10},
			rule: routing.RuleNearestPickupPoint, location: "PP-R"},
		{name: "nearest in km", req: routing.Request{Recipient: oulu, Parcel: small},
			rule: routing.RuleNearestPickupPoint, location: "PO-OULU", reason: []string{"Posti Oulu keskusta (PO-OULU)", "2.0 km", "90100"}},
		{name: "nothing within 100 km", req: routing.Request{Recipient: rovaniemi, Parcel: small},
			refusal: "no_pickup_point", field: "recipient.postcode", message: []string{"96100", "100 km"}},
		{name: "postcode without a point", req: routing.Request{Recipient: nowhere, Parcel: small},
			refusal: "no_pickup_point", field: "recipient.postcode", message: []string{"99999"}},
		{name: "unknown fallback", req: routing.Request{Recipient: stranger, Parcel: small, Fallback: "anywhere"},
			code: lokero.EINVALID, refusal: "unknown_fallback", field: "fallback", message: []string{"anywhere"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			d, err := routing.Route(c.req, dir, c.limits)
			if c.refusal != "" {
				if err == nil {
					t.Fatalf("Route = %s at %s (%s), want refusal %s", d.Rule, d.Location.ID, d.Reason, c.refusal)
				}
				wantRefusal(t, err, cmp.Or(c.code, lokero.EUNPROCESSABLE), c.refusal, c.field, c.message...)
				return
			}
			if err != nil {
				t.Fatalf("Route: %v", err)
			}
			if d.Location == nil || d.Location.ID != c.location || d.Rule != c.rule {
				t.Fatalf("Route = %s at %v, want %s at %s (%s)", d.Rule, d.Location, c.rule, c.location, d.Reason)
			}
			wantContains(t, "reason", d.Reason, c.reason...)
			// Reasons appear in public tracking: never the recipient's flat.
			if strings.Contains(d.Reason, "B 34") {
				t.Errorf("reason %q shows the recipient's own address", d.Reason)
			}
			if d.Reason == "" || !strings.HasSuffix(d.Reason, ".") {
				t.Errorf("reason %q is not a sentence", d.Reason)
			}
			if p, ok := dir.PostcodePoint(c.req.Recipient.Postcode); ok {
				if want := distance(t, dir, p, c.location); d.DistanceM != want {
					t.Errorf("DistanceM = %v, want %v", d.DistanceM, want)
				}
			} else if d.DistanceM != 0 {
				t.Errorf("DistanceM = %v without a postcode point, want 0", d.DistanceM)
			}
		})
	}
}

// TestRouteInvariants routes every combination of the test network's
// points, recipients, parcels, COD and fallback, and checks what must hold
// of every decision: a LOCKER only for its building's residents, COD only
// where it can be paid, a locker only for a parcel that fits it, an outlet
// only for a parcel its own limit takes.
func TestRouteInvariants(t *testing.T) {
	t.Parallel()
	dir := network()
	ids := []string{""}
	for _, l := range dir.locs {
		ids = append(ids, l.ID)
	}
	recipients := []lokero.Party{resident, residentAlt, resident104, spaced104, stranger, stranger104, noStreet104, noStreet, rune, tower, oulu, rovaniemi, ivalo, nowhere}
	parcels := []lokero.Parcel{small, medium, large, over, huge, giant, long, food, rawFood, weighing(small, 15), weighing(small, 25), weighing(small, 35), weighing(small, 35.01)}
	decisions := 0
	for _, id := range ids {
		for _, rcpt := range recipients {
			for _, p := range parcels {
				for _, cod := range []bool{false, true} {
					for _, fb := range []string{"", routing.FallbackNearestOutlet} {
						req := routing.Request{PickupPointID: id, Recipient: rcpt, Parcel: p, COD: cod, Fallback: fb}
						d, err := routing.Route(req, dir, routing.DefaultLimits())
						if err != nil {
							var e *lokero.Error
							if !errors.As(err, &e) || e.Code != lokero.EUNPROCESSABLE || e.Reason == "" || e.Field == "" || e.Message == "" {
								t.Errorf("%+v: error %v is not a complete refusal", req, err)
							}
							continue
						}
						decisions++
						l := d.Location
						if l == nil || d.Reason == "" || d.Rule == "" {
							t.Fatalf("%+v: incomplete decision %+v", req, d)
						}
						if l.Type == lokero.TypeLocker || l.Access == lokero.AccessResidents {
							if !slices.Contains(dir.LockersAtBuilding(rcpt.Postcode, rcpt.Street), l) {
								t.Errorf("%+v: routed to %s %s, whose building the recipient does not live in", req, l.Type, l.ID)
							}
						}
						if cod && !(l.Type == lokero.TypePostOffice || (l.Type == lokero.TypeSmartpost && l.PaymentTerminal)) {
							t.Errorf("%+v: COD routed to %s %s, where it cannot be paid", req, l.Type, l.ID)
						}
						if l.Type.IsLocker() && !routing.FitsLocker(p, l, routing.DefaultLimits()) {
							t.Errorf("%+v: routed to %s, which does not fit the parcel", req, l.ID)
						}
						if l.Type.IsOutlet() && !routing.OutletLimit(l).Takes(p) {
							t.Errorf("%+v: routed to %s, whose limit %+v does not take the parcel", req, l.ID, routing.OutletLimit(l))
						}
						if id != "" && l.ID != id && d.Rule != routing.RuleCODRedirect && d.Rule != routing.RuleOversizeFallback {
							t.Errorf("%+v: chosen point replaced under rule %s", req, d.Rule)
						}
					}
				}
			}
		}
	}
	if decisions < 100 {
		t.Errorf("only %d decisions: the invariants were hardly tested", decisions)
	}
}

func TestFittingClasses(t *testing.T) {
	t.Parallel()
	loc := &lokero.Location{ID: "SP-MIXED", Type: lokero.TypeSmartpost, Compartments: []lokero.CompartmentClass{
		{Size: "L", LengthCM: 70, WidthCM: 40, HeightCM: 40, Count: 5},
		{Size: "S", LengthCM: 70, WidthCM: 40, HeightCM: 10, Count: 5},
		{Size: "M", LengthCM: 70, WidthCM: 40, HeightCM: 20, Count: 5},
		{Size: "X", LengthCM: 30, WidthCM: 30, HeightCM: 30, Count: 1}, // 27,000 cm³
		{Size: "B", LengthCM: 40, WidthCM: 20, HeightCM: 40, Count: 1}, // 32,000 cm³, 40 high
		{Size: "A", LengthCM: 40, WidthCM: 40, HeightCM: 20, Count: 1}, // 32,000 cm³, 20 high
		{Size: "Z", LengthCM: 70, WidthCM: 40, HeightCM: 40, Count: 0}, // none in service
	}}
	box := func(l, w, h, kg float64) lokero.Parcel {
		return lokero.Parcel{LengthCM: l, WidthCM: w, HeightCM: h, WeightKG: kg, Contents: lokero.ContentsGoods}
	}
	cases := []struct {
		name   string
		parcel lokero.Parcel
		loc    *lokero.Location
		limits routing.Limits
		want   []string
	}{
		{"small fits all, smallest first", box(10, 10, 10, 1), loc, routing.DefaultLimits(), []string{"X", "S", "A", "B", "M", "L"}},
		{"turned: 40×70×10 fits 70×40×10", box(40, 70, 10, 1), loc, routing.DefaultLimits(), []string{"S", "M", "L"}},
		{"turned on its side", box(10, 40, 70, 1), loc, routing.DefaultLimits(), []string{"S", "M", "L"}},
		{"a little higher", box(40, 70, 10.5, 1), loc, routing.DefaultLimits(), []string{"M", "L"}},
		{"largest", box(40, 40, 70, 1), loc, routing.DefaultLimits(), []string{"L"}},
		{"too long", box(71, 1, 1, 1), loc, routing.DefaultLimits(), nil},
		{"35 kg is the limit", box(10, 10, 10, 35), loc, routing.DefaultLimits(), []string{"X", "S", "A", "B", "M", "L"}},
		{"35.01 kg is over", box(10, 10, 10, 35.01), loc, routing.DefaultLimits(), nil},
		{"zero limits mean the defaults", box(10, 10, 10, 35), loc, routing.Limits{}, []string{"X", "S", "A", "B", "M", "L"}},
		{"custom weight limit", box(10, 10, 10, 21), loc, routing.Limits{LockerMaxWeightKG: 20}, nil},
		{"not a locker", box(10, 10, 10, 1), &lokero.Location{ID: "PO", Type: lokero.TypePostOffice}, routing.DefaultLimits(), nil},
		{"no location", box(10, 10, 10, 1), nil, routing.DefaultLimits(), nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var got []string
			for _, cl := range routing.FittingClasses(c.parcel, c.loc, c.limits) {
				got = append(got, cl.Size)
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("FittingClasses = %v, want %v", got, c.want)
			}
			if fits := routing.FitsLocker(c.parcel, c.loc, c.limits); fits != (len(c.want) > 0) {
				t.Errorf("FitsLocker = %v, want %v", fits, len(c.want) > 0)
			}
			cl, ok := routing.SizeClass(c.parcel, c.loc, c.limits)
			if ok != (len(c.want) > 0) || (ok && cl.Size != c.want[0]) {
				t.Errorf("SizeClass = %q, %v; want the first of %v", cl.Size, ok, c.want)
			}
		})
	}
}

func TestDefaultLimits(t *testing.T) {
	t.Parallel()
	got := routing.DefaultLimits()
	// The bound of what lokero carries is the biggest default outlet
	// limit: a POSTOFFICE's.
	want := routing.Limits{LockerMaxWeightKG: 35, OutletMaxWeightKG: 35, OutletMaxDims: [3]float64{120, 60, 60}}
	if got != want {
		t.Errorf("DefaultLimits = %+v, want %+v", got, want)
	}
	// An outlet's limit takes any orientation: 60 × 120 × 60 is within a
	// post office's, 121 is not; 60 × 100 × 60 within a pickup point's, 101
	// is not.
	dir := network()
	for _, c := range []struct {
		to     string
		parcel lokero.Parcel
		ok     bool
	}{
		{"PO-KAMPPI", lokero.Parcel{LengthCM: 60, WidthCM: 120, HeightCM: 60, WeightKG: 10, Contents: "goods"}, true},
		{"PO-KAMPPI", lokero.Parcel{LengthCM: 60, WidthCM: 121, HeightCM: 60, WeightKG: 10, Contents: "goods"}, false},
		{"PO-KAMPPI", lokero.Parcel{LengthCM: 61, WidthCM: 61, HeightCM: 50, WeightKG: 10, Contents: "goods"}, false},
		{"PO-KAMPPI", lokero.Parcel{LengthCM: 60, WidthCM: 60, HeightCM: 60, WeightKG: 35.01, Contents: "goods"}, false},
		{"PP-R", lokero.Parcel{LengthCM: 60, WidthCM: 100, HeightCM: 60, WeightKG: 35, Contents: "goods"}, true},
		{"PP-R", lokero.Parcel{LengthCM: 60, WidthCM: 101, HeightCM: 60, WeightKG: 10, Contents: "goods"}, false},
	} {
		_, err := routing.Route(routing.Request{PickupPointID: c.to, Recipient: stranger, Parcel: c.parcel}, dir, routing.Limits{})
		if (err == nil) != c.ok {
			t.Errorf("parcel %v × %v × %v, %v kg to %s: err = %v, want ok = %v", c.parcel.LengthCM, c.parcel.WidthCM, c.parcel.HeightCM, c.parcel.WeightKG, c.to, err, c.ok)
		}
	}
}

func TestOverflow(t *testing.T) {
	t.Parallel()
	dir := network()
	const date = "2026-03-05"
	req := func(p lokero.Parcel, cod bool) routing.Request {
		return routing.Request{Recipient: resident104, Parcel: p, COD: cod}
	}
	cases := []struct {
		name string
		full string
		req  routing.Request
		skip map[string]bool
		k    int
		want []string
	}{
		{"locker: building mate first, then public smartposts", "LK-MANNER-1", req(small, false), nil, 10, []string{"LK-MANNER-2", "SP-ALEPA", "SP-KAMPPI", "SP-BIG"}},
		{"locker: only those that fit", "LK-MANNER-1", req(medium, false), nil, 10, []string{"SP-ALEPA", "SP-KAMPPI", "SP-BIG"}},
		{"locker: large parcel", "LK-MANNER-1", req(large, false), nil, 10, []string{"SP-ALEPA", "SP-BIG"}},
		{"COD: payment terminals only", "LK-MANNER-1", req(small, true), nil, 10, []string{"SP-KAMPPI", "SP-BIG"}},
		{"skip", "LK-MANNER-1", req(small, false), map[string]bool{"LK-MANNER-2": true, "SP-ALEPA": true}, 10, []string{"SP-KAMPPI", "SP-BIG"}},
		{"k", "LK-MANNER-1", req(small, false), nil, 2, []string{"LK-MANNER-2", "SP-ALEPA"}},
		{"k = 1 is the building mate", "LK-MANNER-1", req(small, false), nil, 1, []string{"LK-MANNER-2"}},
		{"smartpost: other smartposts only", "SP-ALEPA", req(small, false), nil, 10, []string{"SP-KAMPPI", "SP-BIG"}},
		{"smartpost: large", "SP-BIG", req(large, false), nil, 10, []string{"SP-ALEPA"}},
		{"smartpost: COD large", "SP-BIG", req(large, true), nil, 10, nil},
		{"nothing within 100 km", "SP-IVALO", req(small, false), nil, 10, nil},
		{"post office: other post offices that take it", "PO-KAMPPI", req(small, false), nil, 10, []string{"PO-SMALL"}},
		{"post office: COD", "PO-KAMPPI", req(small, true), nil, 10, []string{"PO-SMALL"}},
		{"post office: none takes it", "PO-KAMPPI", req(over, false), nil, 10, nil},
		{"post office: back to the bigger one", "PO-SMALL", req(small, false), nil, 10, []string{"PO-KAMPPI"}},
		{"pickup point: other pickup points only", "PP-R", req(small, false), nil, 10, []string{"PP-TORI"}},
		{"pickup point: skips one too small", "PP-R", req(medium, false), nil, 10, nil},
		{"pickup point: skip", "PP-TORI", req(small, false), map[string]bool{"PP-R": true}, 10, nil},
		{"k = 0", "LK-MANNER-1", req(small, false), nil, 0, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			full := dir.Location(c.full)
			got := routing.Overflow(full, c.req, dir, routing.DefaultLimits(), date, c.skip, c.k)
			var ids []string
			for _, d := range got {
				ids = append(ids, d.Location.ID)
			}
			if !slices.Equal(ids, c.want) {
				t.Fatalf("Overflow = %v, want %v", ids, c.want)
			}
			rp, _ := dir.PostcodePoint(c.req.Recipient.Postcode)
			for _, d := range got {
				if d.Rule != routing.RuleCapacityOverflow {
					t.Errorf("%s: rule %s, want %s", d.Location.ID, d.Rule, routing.RuleCapacityOverflow)
				}
				room, cod := "no free compartment", "payment terminal"
				if full.Type.IsOutlet() {
					room, cod = "no free shelf place", "takes the cash on delivery"
					if d.Location.Type != full.Type || !routing.OutletTakes(c.req.Parcel, d.Location, routing.DefaultLimits()) {
						t.Errorf("%s: a %s that takes the parcel: %v; want the same type as %s", d.Location.ID, d.Location.Type,
							routing.OutletTakes(c.req.Parcel, d.Location, routing.DefaultLimits()), full.Type)
					}
				}
				wantContains(t, "reason", d.Reason, full.Name, c.full, room, date, d.Location.Name, d.Location.ID,
					routing.FormatDistance(distance(t, dir, pointOf(t, dir, c.full), d.Location.ID)))
				if c.req.COD {
					wantContains(t, "reason", d.Reason, cod)
				}
				if want := distance(t, dir, rp, d.Location.ID); d.DistanceM != want {
					t.Errorf("%s: DistanceM %v, want %v", d.Location.ID, d.DistanceM, want)
				}
			}
		})
	}
	if got := routing.Overflow(nil, req(small, false), dir, routing.DefaultLimits(), date, nil, 3); got != nil {
		t.Errorf("Overflow(nil) = %v, want nil", got)
	}
}

func TestOutletTakes(t *testing.T) {
	t.Parallel()
	parcel := func(l, w, h, kg float64) lokero.Parcel {
		return lokero.Parcel{LengthCM: l, WidthCM: w, HeightCM: h, WeightKG: kg, Contents: lokero.ContentsGoods}
	}
	po := &lokero.Location{ID: "PO", Type: lokero.TypePostOffice}  // no limit set: the type's default
	pp := &lokero.Location{ID: "PP", Type: lokero.TypePickupPoint} // likewise
	own := &lokero.Location{ID: "PP-OWN", Type: lokero.TypePickupPoint, MaxParcel: lokero.ParcelLimit{LengthCM: 50, WidthCM: 40, HeightCM: 30, WeightKG: 10}}
	roomy := &lokero.Location{ID: "PO-ROOMY", Type: lokero.TypePostOffice, MaxParcel: lokero.ParcelLimit{LengthCM: 200, WidthCM: 100, HeightCM: 100, WeightKG: 100}}
	sp := &lokero.Location{ID: "SP", Type: lokero.TypeSmartpost, Compartments: sml}
	cases := []struct {
		name   string
		loc    *lokero.Location
		parcel lokero.Parcel
		limits routing.Limits
		want   bool
	}{
		{"post office default, turned", po, parcel(60, 120, 60, 35), routing.Limits{}, true},
		{"post office default, too long", po, parcel(121, 10, 10, 1), routing.Limits{}, false},
		{"post office default, too heavy", po, parcel(10, 10, 10, 35.5), routing.Limits{}, false},
		{"pickup point default", pp, parcel(100, 60, 60, 35), routing.Limits{}, true},
		{"pickup point default, too long", pp, parcel(101, 10, 10, 1), routing.Limits{}, false},
		{"own limit, turned", own, parcel(30, 50, 40, 10), routing.Limits{}, true},
		{"own limit, too big", own, parcel(31, 50, 40, 1), routing.Limits{}, false},
		{"own limit, too heavy", own, parcel(10, 10, 10, 10.5), routing.Limits{}, false},
		{"a roomy outlet takes no more than lokero carries", roomy, parcel(130, 50, 50, 10), routing.Limits{}, false},
		{"a roomy outlet within the bound", roomy, parcel(120, 60, 60, 35), routing.Limits{}, true},
		{"a custom bound", roomy, parcel(150, 50, 50, 50), routing.Limits{OutletMaxDims: [3]float64{150, 80, 80}, OutletMaxWeightKG: 60}, true},
		{"not an outlet", sp, parcel(10, 10, 10, 1), routing.Limits{}, false},
		{"no location", nil, parcel(10, 10, 10, 1), routing.Limits{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := routing.OutletTakes(c.parcel, c.loc, c.limits); got != c.want {
				t.Errorf("OutletTakes = %v, want %v (limit %+v)", got, c.want, routing.OutletLimit(c.loc))
			}
		})
	}
	if got := routing.OutletLimit(pp); got != (lokero.ParcelLimit{LengthCM: 100, WidthCM: 60, HeightCM: 60, WeightKG: 35}) {
		t.Errorf("OutletLimit of a pickup point without its own = %+v, want the type's default", got)
	}
	if got := routing.OutletLimit(own); got != own.MaxParcel {
		t.Errorf("OutletLimit = %+v, want its own %+v", got, own.MaxParcel)
	}
	if got := routing.OutletLimit(sp); !got.IsZero() {
		t.Errorf("OutletLimit of a SMARTPOST = %+v, want zero", got)
	}
}

func TestFormatDistance(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		m    float64
		want string
	}{
		{0, "0 m"}, {3.4, "3 m"}, {420, "420 m"}, {999.4, "999 m"}, {999.6, "1.0 km"},
		{1000, "1.0 km"}, {2345, "2.3 km"}, {100000, "100.0 km"},
	} {
		if got := routing.FormatDistance(c.m); got != c.want {
			t.Errorf("FormatDistance(%v) = %q, want %q", c.m, got, c.want)
		}
	}
}
