package demo

import (
	"bytes"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/locationfile"
	"github.com/lokero/lokero/postcode"
)

var bundledRegistry = sync.OnceValues(func() (*postcode.Registry, error) {
	codes, err := postcode.Bundled()
	if err != nil {
		return nil, err
	}
	points, err := postcode.BundledPoints()
	if err != nil {
		return nil, err
	}
	return postcode.NewRegistry(codes, points), nil
})

func registry(t *testing.T) *postcode.Registry {
	t.Helper()
	reg, err := bundledRegistry()
	if err != nil {
		t.Fatalf("bundled registry: %v", err)
	}
	return reg
}

var networkOnce = sync.OnceValues(func() ([]lokero.Location, error) {
	reg, err := bundledRegistry()
	if err != nil {
		return nil, err
	}
	return Network(reg, 0)
})

func network(t *testing.T) []lokero.Location {
	t.Helper()
	locs, err := networkOnce()
	if err != nil {
		t.Fatalf("Network: %v", err)
	}
	return locs
}

func TestValid(t *testing.T) {
	idPattern := regexp.MustCompile(`^[A-Z0-9][A-Za-z0-9_.-]*$`)
	seen := map[string]bool{}
	for _, l := range network(t) {
		n := l
		n.Normalize()
		if !reflect.DeepEqual(n, l) {
			t.Errorf("%s is not normalised", l.ID)
		}
		if err := n.Validate(); err != nil {
			t.Errorf("%s: %v", l.ID, err)
		}
		if !idPattern.MatchString(l.ID) || !strings.HasPrefix(l.ID, string(l.Type)+"-") {
			t.Errorf("id %q is not readable ASCII starting with its type", l.ID)
		}
		if seen[l.ID] {
			t.Errorf("id %s twice", l.ID)
		}
		seen[l.ID] = true
		if l.Lat < 59.5 || l.Lat > 70.1 || l.Lon < 19.1 || l.Lon > 31.6 {
			t.Errorf("%s at %v,%v is outside Finland's bounding box", l.ID, l.Lat, l.Lon)
		}
	}
}

func TestReproducible(t *testing.T) {
	reg := registry(t)
	a := network(t)
	b, err := Network(reg, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a, b) {
		t.Fatal("seed 0 (the default) and seed 1 give different networks, or two runs differ")
	}
	c, err := Network(reg, 2)
	if err != nil {
		t.Fatal(err)
	}
	if reflect.DeepEqual(a, c) {
		t.Error("seeds 1 and 2 give the same network")
	}
	// The demo building does not depend on the seed.
	for _, l := range c {
		if l.ID == DemoLockerID && l.Street != DemoBuildingStreet {
			t.Errorf("demo building moved with the seed: %+v", l)
		}
	}
}

func TestDemoBuilding(t *testing.T) {
	var found, smartpost bool
	for _, l := range network(t) {
		if l.ID == DemoSmartpostID {
			smartpost = true
			if l.Type != lokero.TypeSmartpost || !l.PaymentTerminal || l.Postcode != DemoBuildingPostcode {
				t.Errorf("demo SMARTPOST = %+v", l)
			}
		}
		if l.Street == DemoBuildingStreet && (l.Postcode == DemoLockerPostcode || l.Postcode == DemoBuildingPostcode) && l.ID != DemoLockerID {
			t.Errorf("%s shares the demo building's address", l.ID)
		}
		if l.ID != DemoLockerID {
			continue
		}
		found = true
		if l.Type != lokero.TypeLocker || l.Street != "Mannerheimintie 5" || l.Postcode != "00104" ||
			l.City != "Helsinki" || l.Name != "As Oy Mannerheimintie 5" || l.Access != lokero.AccessResidents ||
			l.PaymentTerminal || !reflect.DeepEqual(l.OpeningHours, lokero.AlwaysOpen()) || len(l.Compartments) == 0 {
			t.Errorf("demo building = %+v", l)
		}
		if l.Lat < 60.16 || l.Lat > 60.18 || l.Lon < 24.93 || l.Lon > 24.95 {
			t.Errorf("demo building at %v,%v is not in central Helsinki", l.Lat, l.Lon)
		}
	}
	// Post offices stand in the area named after the municipality (04600
	// Mäntsälä, not its lowest code 04530 Ohkola).
	offices := map[string]bool{"POSTOFFICE-00100": false, "POSTOFFICE-04600": false, "POSTOFFICE-33100": false, "POSTOFFICE-22100": false}
	for _, l := range network(t) {
		if _, ok := offices[l.ID]; ok {
			offices[l.ID] = l.Name == "Posti "+l.City
		}
		if l.ID == "POSTOFFICE-04530" {
			t.Errorf("post office of Mäntsälä in Ohkola")
		}
	}
	for id, ok := range offices {
		if !ok {
			t.Errorf("%s missing or misnamed", id)
		}
	}
	if !found || !smartpost {
		t.Errorf("demo building found %v, demo SMARTPOST found %v", found, smartpost)
	}
}

func TestCountsAndTypes(t *testing.T) {
	reg := registry(t)
	locs := network(t)
	count := map[lokero.LocationType]int{}
	terminals := 0
	for _, l := range locs {
		count[l.Type]++
		if l.Type == lokero.TypeSmartpost && l.PaymentTerminal {
			terminals++
		}
	}
	t.Logf("%d locations: %v; %d SMARTPOSTs with a payment terminal", len(locs), count, terminals)
	if len(locs) < 5000 || len(locs) > 20000 {
		t.Errorf("%d locations, want thousands", len(locs))
	}
	areas, municipalities := 0, map[string]bool{}
	for _, info := range reg.All() {
		if info.Kind == lokero.PostcodeArea {
			areas++
			municipalities[info.MunicipalityCode] = true
		}
	}
	if n := count[lokero.TypeSmartpost]; n < areas || n > 3*areas {
		t.Errorf("%d SMARTPOSTs for %d areas", n, areas)
	}
	if share := float64(terminals) / float64(count[lokero.TypeSmartpost]); share < 0.18 || share > 0.27 {
		t.Errorf("%.0f %% of SMARTPOSTs have a payment terminal, want about 20-25 %%", 100*share)
	}
	if n := count[lokero.TypeLocker]; n < 880 || n > 5000 {
		t.Errorf("%d LOCKERs", n)
	}
	if n := count[lokero.TypePostOffice]; n != len(municipalities) {
		t.Errorf("%d POSTOFFICEs for %d municipalities", n, len(municipalities))
	}
	if n := count[lokero.TypePickupPoint]; n < areas*2/5 || n > areas*3/5 {
		t.Errorf("%d PICKUPPOINTs for %d areas, want about one per two", n, areas)
	}
}

func TestEveryAreaCovered(t *testing.T) {
	reg := registry(t)
	covered := map[string]bool{}
	for _, l := range network(t) {
		covered[l.Postcode] = true
	}
	missing := 0
	for _, info := range reg.All() {
		if info.Kind == lokero.PostcodeArea && !covered[info.Code] {
			missing++
			if missing <= 10 {
				t.Errorf("area %s %s has no location", info.Code, info.NameFI)
			}
		}
	}
	if missing > 0 {
		t.Errorf("%d areas have no location", missing)
	}
}

func TestLockers(t *testing.T) {
	reg := registry(t)
	lockerAreas := map[string]bool{}
	for _, l := range network(t) {
		switch l.Type {
		case lokero.TypeLocker:
			if !strings.HasSuffix(l.Postcode, "4") || !reg.Known(l.Postcode) {
				t.Errorf("%s: postcode %s is not a known code ending in 4", l.ID, l.Postcode)
				continue
			}
			info, err := reg.Lookup(l.Postcode)
			if err != nil || info.Kind != lokero.PostcodeLocker {
				t.Errorf("%s: postcode %s: %+v, %v", l.ID, l.Postcode, info, err)
				continue
			}
			base, err := reg.Lookup(info.Base)
			if err != nil || base.Kind != lokero.PostcodeArea {
				t.Errorf("%s: base %s of %s is not an area code", l.ID, info.Base, l.Postcode)
			}
			if code, ok := reg.LockerCode(info.Base); !ok || code != l.Postcode {
				t.Errorf("%s: LockerCode(%s) = %s, %v", l.ID, info.Base, code, ok)
			}
			if l.PaymentTerminal || l.Access != lokero.AccessResidents {
				t.Errorf("%s: payment terminal %v, access %s", l.ID, l.PaymentTerminal, l.Access)
			}
			if !slices.ContainsFunc([]string{"As Oy ", "Asunto Oy ", "Kiinteistö Oy ", "Bostads Ab ", "Fastighets Ab "},
				func(p string) bool { return strings.HasPrefix(l.Name, p) }) {
				t.Errorf("%s: name %q", l.ID, l.Name)
			}
			for _, c := range l.Compartments {
				if c.Count > 12 {
					t.Errorf("%s: %d compartments of %s", l.ID, c.Count, c.Size)
				}
			}
			lockerAreas[info.Base] = true
		case lokero.TypeSmartpost:
			if l.Access != lokero.AccessPublic || !strings.HasPrefix(l.Name, "Smartpost ") {
				t.Errorf("%s: access %s, name %q", l.ID, l.Access, l.Name)
			}
			if !reflect.DeepEqual(l.OpeningHours, lokero.AlwaysOpen()) {
				t.Errorf("%s is not open 24/7", l.ID)
			}
		default:
			if len(l.Compartments) > 0 || !reg.Known(l.Postcode) {
				t.Errorf("%s: compartments %v, postcode %s", l.ID, l.Compartments, l.Postcode)
			}
		}
	}
	// Nearly every area with a locker code has buildings with LOCKERs.
	withCode := 0
	for _, info := range reg.All() {
		if info.Kind == lokero.PostcodeArea {
			if code, ok := reg.LockerCode(info.Code); ok && code != info.Code {
				withCode++
			}
		}
	}
	if len(lockerAreas) < withCode*95/100 {
		t.Errorf("LOCKERs in %d areas, %d areas have a locker code", len(lockerAreas), withCode)
	}
	t.Logf("LOCKERs in %d of %d areas with a locker code", len(lockerAreas), withCode)
}

func TestAddressesUnique(t *testing.T) {
	seen := map[string]string{}
	for _, l := range network(t) {
		k := l.Postcode + "|" + l.Street
		if other, dup := seen[k]; dup && l.Type == lokero.TypeLocker {
			t.Errorf("%s and %s share %s %s", other, l.ID, l.Postcode, l.Street)
		}
		seen[k] = l.ID
	}
}

func TestTablesMatchRegistry(t *testing.T) {
	municipalities := map[string]bool{}
	for _, info := range registry(t).All() {
		municipalities[info.MunicipalityFI] = true
	}
	for name := range tierByMunicipality {
		if !municipalities[name] {
			t.Errorf("tier table: no municipality %q in the registry", name)
		}
	}
	for name := range cityStreets {
		if !municipalities[name] {
			t.Errorf("street table: no municipality %q in the registry", name)
		}
	}
	for name := range swedishMunicipalities {
		if !municipalities[name] {
			t.Errorf("Swedish table: no municipality %q in the registry", name)
		}
	}
	for name := range metroMunicipalities {
		if !municipalities[name] {
			t.Errorf("metro table: no municipality %q in the registry", name)
		}
	}
}

// TestLocationFileRoundTrip exports the network as an operator would and
// imports it again.
func TestLocationFileRoundTrip(t *testing.T) {
	reg := registry(t)
	locs := network(t)
	var buf bytes.Buffer
	if err := locationfile.Write(&buf, locs); err != nil {
		t.Fatal(err)
	}
	known := func(l *lokero.Location) error {
		if !reg.Known(l.Postcode) {
			return lokero.Invalid("postcode", "unknown_postcode", "unknown postcode %s", l.Postcode)
		}
		return nil
	}
	got, err := locationfile.Read(&buf, "demo.csv", known, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, locs) {
		t.Error("the network differs after a CSV round trip")
	}
}

func TestIDPart(t *testing.T) {
	for in, want := range map[string]string{
		"Mannerheimintie 5":    "MANNERHEIMINTIE-5",
		"Hämeenkatu 10":        "HAMEENKATU-10",
		"Minna Canthin katu 7": "MINNA-CANTHIN-KATU-7",
		"Åkerlundinkatu 3":     "AKERLUNDINKATU-3",
	} {
		if got := idPart(in); got != want {
			t.Errorf("idPart(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSmallRegistry(t *testing.T) {
	if _, err := Network(nil, 1); err == nil {
		t.Error("Network(nil) did not fail")
	}
	codes := []lokero.Postcode{
		{Code: "33100", Kind: lokero.PostcodeArea, NameFI: "TAMPERE", MunicipalityCode: "837", MunicipalityFI: "Tampere"},
		{Code: "33104", Kind: lokero.PostcodeLocker, NameFI: "SMARTPOST", MunicipalityCode: "837", MunicipalityFI: "Tampere"},
		{Code: "99999", Kind: lokero.PostcodeArea, NameFI: "KORVATUNTURI", MunicipalityCode: "758", MunicipalityFI: "Sodankylä"},
	}
	points := map[string]postcode.Point{"33100": {Lat: 61.4981, Lon: 23.7608}, "99999": {Lat: 68.0, Lon: 29.3}}
	locs, err := Network(postcode.NewRegistry(codes, points), 7)
	if err != nil {
		t.Fatal(err)
	}
	count := map[lokero.LocationType]int{}
	for _, l := range locs {
		count[l.Type]++
		if l.ID == DemoLockerID {
			t.Error("demo building in a registry without 00104")
		}
	}
	if count[lokero.TypeSmartpost] < 2 || count[lokero.TypeLocker] < 1 || count[lokero.TypePostOffice] != 2 {
		t.Errorf("counts %v", count)
	}
	if _, err := Network(postcode.NewRegistry(codes, nil), 1); err == nil {
		t.Error("a registry without points did not fail")
	}
}
