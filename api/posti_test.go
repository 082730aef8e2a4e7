package api_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/api"
	"github.com/lokero/lokero/demo"
	"github.com/lokero/lokero/geo"
	"github.com/lokero/lokero/service"
	"github.com/lokero/lokero/sqlite"
)

// The compatibility suite of the Posti-compatible Locations interface:
// the requests that plugins and clients written against Posti's Locations
// API v2 make (as ../shared/reference/posti-locations-api.md lists them),
// each answer checked against openapi-posti.json and, field by field,
// against what those clients read and how they type it.

var (
	postiRouterOnce sync.Once
	postiRouter     routers.Router
	postiRouterErr  error
)

// postiGet requests path from the shared fixture and checks the answer
// against the Posti OpenAPI document: the route must be in it, and every
// answer must match its schema. It never accepts a 5xx.
func postiGet(t *testing.T, path string) (int, []byte) {
	t.Helper()
	return postiGetFrom(t, newFixture(t).server.URL, path)
}

// postiGetFrom is postiGet from the server at base.
func postiGetFrom(t *testing.T, base, path string) (int, []byte) {
	t.Helper()
	postiRouterOnce.Do(func() {
		ctx := context.Background()
		doc, err := openapi3.NewLoader().LoadFromData(api.PostiOpenAPIDocument())
		if err != nil {
			postiRouterErr = err
			return
		}
		if err := doc.Validate(ctx); err != nil {
			postiRouterErr = err
			return
		}
		postiRouter, postiRouterErr = legacy.NewRouter(doc)
	})
	if postiRouterErr != nil {
		t.Fatalf("load openapi-posti.json: %v", postiRouterErr)
	}
	resp, body := httpGet(t, base+path)
	if resp.StatusCode >= 500 {
		t.Errorf("GET %.100s: status %d: %.300s", path, resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("GET %.100s: Content-Type %q, want JSON", path, ct)
	}
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	route, params, err := postiRouter.FindRoute(req)
	if err != nil {
		t.Fatalf("GET %.100s: not in openapi-posti.json: %v", path, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{ExcludeRequestBody: true}}
	if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
		// The interface takes anything; the document says so (every
		// parameter a string), so every request must pass.
		t.Errorf("GET %.100s: request does not match openapi-posti.json: %.300v", path, err)
	}
	checkAnswer(t, "GET "+path, "openapi-posti.json", in, resp, body)
	return resp.StatusCode, body
}

// postiLocation is a location as a client reads it: untyped, so that the
// checks see exactly what the JSON holds.
type postiLocation = map[string]any

// postiSearch requests a search and checks every location in the answer
// the way the clients read it.
func postiSearch(t *testing.T, path string) []postiLocation {
	t.Helper()
	status, body := postiGet(t, path)
	if status != http.StatusOK {
		t.Fatalf("GET %.100s: status %d, want 200: %.300s", path, status, body)
	}
	ans := decode[map[string]any](t, body)
	list, ok := ans["locations"].([]any)
	if !ok {
		t.Fatalf("GET %.100s: locations is %T, want an array: %.300s", path, ans["locations"], body)
	}
	locs := make([]postiLocation, 0, len(list))
	for i, v := range list {
		l, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("GET %.100s: locations[%d] is %T", path, i, v)
		}
		checkPostiFields(t, path, l)
		locs = append(locs, l)
	}
	return locs
}

var (
	postcodeRE  = regexp.MustCompile(`^[0-9]{5}$`)
	clockRE     = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$`)
	dropTimeRE  = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$`)
	weekdayRE   = regexp.MustCompile(`^[1-7]$`)
	postiTypes  = []string{"LOCKER", "SMARTPOST", "POSTOFFICE", "PICKUPPOINT"}
	textFields  = []string{"publicName", "labelName", "locationName", "additionalInfo"}
	addrFields  = []string{"address", "streetName", "streetNumber", "postalCode", "postalCodeName", "municipality"}
	plainFields = []string{"routingServiceCode", "postalOfficeType", "partnerType", "category", "capacity", "availability"}
	dropFields  = []string{"dropOfTimeParcel", "dropOffTimeParcel", "dropOfTimeLetters", "dropOffTimeLetters", "dropOfTimeExpress", "dropOffTimeExpress"}
)

// checkPostiFields checks that every field the clients read is there and
// typed as they expect: strings for ids, codes, coordinates, weekdays and
// times; a boolean wheelChairAccess; per-language objects of strings.
func checkPostiFields(t *testing.T, path string, l postiLocation) {
	t.Helper()
	id, _ := l["id"].(string)
	where := func(field string) string { return path + ": " + id + ": " + field }
	str := func(field string, v any) string {
		t.Helper()
		s, ok := v.(string)
		if !ok {
			t.Errorf("%s is %T (%v), want a string", where(field), v, v)
		}
		return s
	}
	if id == "" {
		t.Errorf("%s: id %v, want a non-empty string", path, l["id"])
	}
	if typ := str("type", l["type"]); !slices.Contains(postiTypes, typ) {
		t.Errorf("%s %q is not a location type", where("type"), typ)
	}
	if str("pupCode", l["pupCode"]) == "" {
		t.Errorf("%s is empty", where("pupCode"))
	}
	for _, f := range plainFields {
		str(f, l[f])
	}
	if l["partnerType"] != "POSTI" || l["countryCode"] != "FI" {
		t.Errorf("%s: partnerType %v, countryCode %v; want POSTI, FI", where(""), l["partnerType"], l["countryCode"])
	}
	for _, f := range textFields {
		obj, ok := l[f].(map[string]any)
		if !ok {
			t.Errorf("%s is %T, want an object with fi, sv, en", where(f), l[f])
			continue
		}
		for _, lang := range []string{"fi", "sv", "en"} {
			s := str(f+"."+lang, obj[lang])
			if f == "publicName" && s == "" {
				t.Errorf("%s is empty", where(f+"."+lang))
			}
		}
	}
	if pc := str("postalCode", l["postalCode"]); !postcodeRE.MatchString(pc) {
		t.Errorf("%s %q is not a postal code", where("postalCode"), pc)
	}
	if areas, ok := l["postalCodeAreas"].([]any); !ok || len(areas) == 0 {
		t.Errorf("%s is %v, want a non-empty array", where("postalCodeAreas"), l["postalCodeAreas"])
	} else {
		for _, a := range areas {
			str("postalCodeAreas[]", a)
		}
	}
	addr, ok := l["address"].(map[string]any)
	if !ok {
		t.Errorf("%s is %T, want an object with fi, sv, en", where("address"), l["address"])
	} else {
		for _, lang := range []string{"fi", "sv", "en"} {
			a, ok := addr[lang].(map[string]any)
			if !ok {
				t.Errorf("%s is %T, want an object", where("address."+lang), addr[lang])
				continue
			}
			for _, f := range addrFields {
				if s := str("address."+lang+"."+f, a[f]); s == "" && f != "streetNumber" {
					t.Errorf("%s is empty", where("address."+lang+"."+f))
				}
			}
			if a["postalCode"] != l["postalCode"] {
				t.Errorf("%s %v is not postalCode %v", where("address."+lang+".postalCode"), a["postalCode"], l["postalCode"])
			}
		}
	}
	if loc, ok := l["location"].(map[string]any); !ok {
		t.Errorf("%s is %T, want an object", where("location"), l["location"])
	} else {
		for _, f := range []string{"lat", "lon"} {
			if _, err := strconv.ParseFloat(str("location."+f, loc[f]), 64); err != nil {
				t.Errorf("%s %v is not a decimal number: %v", where("location."+f), loc[f], err)
			}
		}
	}
	if times, ok := l["openingTimes"].([]any); !ok {
		t.Errorf("%s is %T, want an array", where("openingTimes"), l["openingTimes"])
	} else {
		for _, v := range times {
			ot, ok := v.(map[string]any)
			if !ok {
				t.Errorf("%s has a %T", where("openingTimes"), v)
				continue
			}
			if wd := str("openingTimes.weekday", ot["weekday"]); !weekdayRE.MatchString(wd) {
				t.Errorf("%s %q, want \"1\"..\"7\"", where("openingTimes.weekday"), wd)
			}
			for _, f := range []string{"timeFrom", "timeTo"} {
				s := str("openingTimes."+f, ot[f])
				if !clockRE.MatchString(s) {
					t.Errorf("%s %q, want HH:MM", where("openingTimes."+f), s)
				}
				if p := str("openingTimes."+f+"WithPoint", ot[f+"WithPoint"]); p != strings.Replace(s, ":", ".", 1) {
					t.Errorf("%s %q, want %q", where("openingTimes."+f+"WithPoint"), p, strings.Replace(s, ":", ".", 1))
				}
			}
		}
	}
	if _, ok := l["wheelChairAccess"].(bool); !ok {
		t.Errorf("%s is %T, want a boolean", where("wheelChairAccess"), l["wheelChairAccess"])
	}
	for _, f := range dropFields {
		v, present := l[f]
		if !present {
			t.Errorf("%s is missing (want a time or null)", where(f))
		} else if v != nil && !dropTimeRE.MatchString(str(f, v)) {
			t.Errorf("%s %v, want HH:MM:SS or null", where(f), v)
		}
	}
	if caps, ok := l["capabilities"].([]any); !ok || caps == nil {
		t.Errorf("%s is %T, want an array", where("capabilities"), l["capabilities"])
	}
}

func ids(locs []postiLocation) []string {
	out := make([]string, len(locs))
	for i, l := range locs {
		out[i], _ = l["id"].(string)
	}
	return out
}

func point(t *testing.T, l postiLocation) geo.Point {
	t.Helper()
	loc := l["location"].(map[string]any)
	lat, err1 := strconv.ParseFloat(loc["lat"].(string), 64)
	lon, err2 := strconv.ParseFloat(loc["lon"].(string), 64)
	if err1 != nil || err2 != nil {
		t.Fatalf("%v: location %v", l["id"], loc)
	}
	return geo.Point{Lat: lat, Lon: lon}
}

// TestPostiPluginRequests replays the requests of real plugins and
// clients, as the reference lists them.
func TestPostiPluginRequests(t *testing.T) {
	t.Parallel()
	helsinki := geo.Point{Lat: 60.1699, Lon: 24.9384}
	typesOf := func(locs []postiLocation) map[string]bool {
		seen := map[string]bool{}
		for _, l := range locs {
			seen[l["type"].(string)] = true
		}
		return seen
	}
	tests := []struct {
		name  string
		path  string
		count int // exact count wanted; -1: at least one
		check func(t *testing.T, locs []postiLocation)
	}{
		{"WooCommerce SmartPOST: lng+lat, types, top", "/api/2/location?types=SMARTPOST&lng=24.9384&lat=60.1699&top=30", 30,
			func(t *testing.T, locs []postiLocation) {
				last := 0.0
				for _, l := range locs {
					if l["type"] != "SMARTPOST" {
						t.Errorf("%v: type %v", l["id"], l["type"])
					}
					d := geo.Distance(helsinki, point(t, l))
					if d+0.01 < last {
						t.Errorf("%v at %.0f m after %.0f m: not nearest first", l["id"], d, last)
					}
					last = d
				}
			}},
		{"OpenCart: ?& query, unversioned, types repeated with LOCKER", "/location?&types=SMARTPOST&types=LOCKER&locationZipCode=00100&top=10", 10,
			func(t *testing.T, locs []postiLocation) {
				if seen := typesOf(locs); seen["LOCKER"] || !seen["SMARTPOST"] || len(seen) != 1 {
					t.Errorf("types %v: want SMARTPOST only (a LOCKER needs the building's address)", seen)
				}
			}},
		{"PHP proxy: locationZipCode, types with BUSINESSSERVICE", "/location?locationZipCode=00100&top=10&types=POSTOFFICE&types=PICKUPPOINT&types=SMARTPOST&types=BUSINESSSERVICE", 10,
			func(t *testing.T, locs []postiLocation) {
				if seen := typesOf(locs); seen["LOCKER"] {
					t.Errorf("types %v: no LOCKER asked for", seen)
				}
			}},
		{"shop cart: countryCode, locationZipCode", "/location?types=SMARTPOST&types=PICKUPPOINT&countryCode=FI&locationZipCode=33100&top=10", 10,
			func(t *testing.T, locs []postiLocation) {
				for _, l := range locs {
					if l["type"] != "SMARTPOST" && l["type"] != "PICKUPPOINT" {
						t.Errorf("%v: type %v", l["id"], l["type"])
					}
					if d := geo.Distance(geo.Point{Lat: 61.4981, Lon: 23.7608}, point(t, l)); d > 10_000 {
						t.Errorf("%v is %.0f m from central Tampere", l["id"], d)
					}
				}
			}},
		{"client by postcode with top", "/api/2/location?locationZipCode=20100&top=5", 5, nil},
		{"client by zipCode", "/api/2/location?zipCode=00100", 10, nil},
		{"postalCode stripped to digits", "/api/2/location?postalCode=FI-00100", 10, nil},
		{"types as a comma list", "/api/2/location?types=SMARTPOST,POSTOFFICE&zipCode=00100&top=20", 20,
			func(t *testing.T, locs []postiLocation) {
				if seen := typesOf(locs); !seen["SMARTPOST"] || !seen["POSTOFFICE"] || len(seen) != 2 {
					t.Errorf("types %v, want SMARTPOST and POSTOFFICE", seen)
				}
			}},
		{"lower-case countryCode", "/api/2/location?countryCode=fi&zipCode=00100&top=3", 3, nil},
		{"another country", "/api/2/location?countryCode=lv", 0, nil},
		{"lat+lng+distance", "/api/2/location?lat=60.1699&lng=24.9384&distance=1000&top=100", -1,
			func(t *testing.T, locs []postiLocation) {
				if len(locs) == 100 {
					t.Errorf("100 points within 1 km of central Helsinki: the distance was not applied")
				}
				for _, l := range locs {
					if d := geo.Distance(helsinki, point(t, l)); d > 1000 {
						t.Errorf("%v is %.0f m away, beyond distance=1000", l["id"], d)
					}
				}
			}},
		{"lat+lon", "/api/2/location?lat=60.1699&lon=24.9384&top=3", 3, nil},
		{"unknown types only", "/api/2/location?types=BUSINESSSERVICE&types=LETTERBOX&types=POBOX&zipCode=00100", 0, nil},
		{"strictZipCode", "/api/2/location?zipCode=00100&strictZipCode=true&top=100", -1,
			func(t *testing.T, locs []postiLocation) {
				for _, l := range locs {
					if pc := l["postalCode"]; pc != "00100" && pc != "00104" {
						t.Errorf("%v: postalCode %v with strictZipCode=true&zipCode=00100", l["id"], pc)
					}
				}
			}},
		{"city", "/api/2/location?city=Helsinki&top=20", 20,
			func(t *testing.T, locs []postiLocation) {
				for _, l := range locs {
					if m := l["address"].(map[string]any)["fi"].(map[string]any)["municipality"]; m != "Helsinki" {
						t.Errorf("%v: municipality %v, want Helsinki", l["id"], m)
					}
				}
			}},
		{"city in Swedish, lower case", "/api/2/location?city=helsingfors&top=20", 20, nil},
		{"city without its dots", "/api/2/location?city=HAMEENLINNA&top=5", 5,
			func(t *testing.T, locs []postiLocation) {
				for _, l := range locs {
					if m := l["address"].(map[string]any)["fi"].(map[string]any)["municipality"]; m != "Hämeenlinna" {
						t.Errorf("%v: municipality %v, want Hämeenlinna", l["id"], m)
					}
				}
			}},
		{"city nobody knows", "/api/2/location?city=Atlantis", 0, nil},
		{"municipality", "/api/2/location?municipality=Espoo&top=5", 5,
			func(t *testing.T, locs []postiLocation) {
				for _, l := range locs {
					if m := l["address"].(map[string]any)["fi"].(map[string]any)["municipality"]; m != "Espoo" {
						t.Errorf("%v: municipality %v, want Espoo", l["id"], m)
					}
				}
			}},
		{"pupCode", "/api/2/location?pupCode=" + demo.DemoSmartpostID, 1, nil},
		{"pupCode nobody has", "/api/2/location?pupCode=NOPE", 0, nil},
		{"pupCode of a LOCKER, no address", "/api/2/location?pupCode=" + demo.DemoLockerID, 0, nil},
		{"pupCode of a LOCKER, a resident", "/api/2/location?pupCode=" + demo.DemoLockerID + "&zipCode=00104&streetAddress=Mannerheimintie+5+A+1", 1, nil},
		{"partnerType POSTI", "/api/2/location?partnerType=POSTI&zipCode=00100&top=2", 2, nil},
		{"another partnerType", "/api/2/location?partnerType=MATKAHUOLTO&zipCode=00100", 0, nil},
		{"bounding box", "/api/2/location?topLeftLat=60.18&topLeftLng=24.92&bottomRightLat=60.16&bottomRightLng=24.96&top=100", -1,
			func(t *testing.T, locs []postiLocation) {
				for _, l := range locs {
					if p := point(t, l); p.Lat < 60.16 || p.Lat > 60.18 || p.Lon < 24.92 || p.Lon > 24.96 {
						t.Errorf("%v at %v is outside the box", l["id"], p)
					}
				}
			}},
		{"PHP array syntax types[]", "/api/2/location?types%5B%5D=POSTOFFICE&zipCode=00100&top=2", 2,
			func(t *testing.T, locs []postiLocation) {
				if seen := typesOf(locs); !seen["POSTOFFICE"] || len(seen) != 1 {
					t.Errorf("types %v, want POSTOFFICE", seen)
				}
			}},
		{"the whole country without top", "/api/2/location?countryCode=FI", 10, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			locs := postiSearch(t, tt.path)
			if tt.count >= 0 && len(locs) != tt.count || tt.count < 0 && len(locs) == 0 {
				t.Fatalf("%s: %d locations, want %d", tt.path, len(locs), tt.count)
			}
			if tt.check != nil {
				tt.check(t, locs)
			}
		})
	}
}

// TestPostiLocker: a LOCKER serves its building's residents only, through
// this face as through /v1: listed only with an address in the building.
func TestPostiLocker(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query     string
		demoFirst bool
	}{
		{"zipCode=00104&streetAddress=" + url.QueryEscape("Mannerheimintie 5 B 12"), true},
		{"zipCode=00100&address=" + url.QueryEscape("mannerheimint. 5"), true},
		{"zipCode=00100&streetAddress=" + url.QueryEscape("Mannerheimintie 5") + "&types=LOCKER", true},
		{"zipCode=00100&streetAddress=" + url.QueryEscape("Mannerheimintie 5") + "&types=SMARTPOST", false},
		{"zipCode=00100&streetAddress=" + url.QueryEscape("Mannerheimintie 7"), false},
		{"zipCode=00100&top=100", false},
		{"zipCode=00104&top=100", false},
		{"streetAddress=" + url.QueryEscape("Mannerheimintie 5") + "&top=100", false},
		{"city=Helsinki&streetAddress=" + url.QueryEscape("Mannerheimintie 5") + "&top=100", false},
		{"types=LOCKER&lat=60.16838&lng=24.94155", false},
	}
	for _, tt := range tests {
		locs := postiSearch(t, "/api/2/location?"+tt.query)
		demoFirst := len(locs) > 0 && locs[0]["id"] == demo.DemoLockerID
		for i, l := range locs {
			if l["type"] == "LOCKER" && (i > 0 || !tt.demoFirst) {
				t.Errorf("%s: LOCKER %v listed", tt.query, l["id"])
			}
		}
		if demoFirst != tt.demoFirst {
			t.Errorf("%s: demo LOCKER first %v, want %v (got %v)", tt.query, demoFirst, tt.demoFirst, ids(locs))
		}
	}

	// The demo LOCKER by id: Swedish names from the postal code data,
	// Finnish elsewhere, English as Finnish.
	for _, path := range []string{"/api/2/location/" + demo.DemoLockerID, "/location/" + demo.DemoLockerID} {
		status, body := postiGet(t, path)
		if status != http.StatusOK {
			t.Fatalf("%s: %d %s", path, status, body)
		}
		l := decode[postiLocation](t, body)
		checkPostiFields(t, path, l)
		addr := l["address"].(map[string]any)
		fi, sv, en := addr["fi"].(map[string]any), addr["sv"].(map[string]any), addr["en"].(map[string]any)
		want := map[string]string{"address": demo.DemoBuildingStreet, "streetName": "Mannerheimintie", "streetNumber": "5",
			"postalCode": demo.DemoLockerPostcode, "postalCodeName": "Helsinki", "municipality": "Helsinki"}
		for k, v := range want {
			if fi[k] != v || en[k] != v {
				t.Errorf("%s: address.fi/en.%s %v/%v, want %s", path, k, fi[k], en[k], v)
			}
		}
		if sv["postalCodeName"] != "Helsingfors" || sv["municipality"] != "Helsingfors" || sv["address"] != demo.DemoBuildingStreetSV ||
			sv["streetName"] != "Mannerheimvägen" || sv["streetNumber"] != "5" {
			t.Errorf("%s: address.sv %v, want Mannerheimvägen 5, Helsingfors", path, sv)
		}
		if l["id"] != demo.DemoLockerID || l["type"] != "LOCKER" || l["availability"] != "24h" || l["pupCode"] != demo.DemoLockerID {
			t.Errorf("%s: id %v type %v availability %v pupCode %v", path, l["id"], l["type"], l["availability"], l["pupCode"])
		}
		if name := l["publicName"].(map[string]any); name["fi"] != demo.DemoLockerName || name["en"] != demo.DemoLockerName {
			t.Errorf("%s: publicName %v", path, name)
		}
		if areas := l["postalCodeAreas"].([]any); !slices.Equal(areas, []any{"00104", "00100"}) {
			t.Errorf("%s: postalCodeAreas %v, want [00104 00100]", path, areas)
		}
		if info := l["additionalInfo"].(map[string]any); !strings.Contains(info["en"].(string), "residents") {
			t.Errorf("%s: additionalInfo %v does not say residents only", path, info)
		}
		if times := l["openingTimes"].([]any); len(times) != 7 ||
			times[0].(map[string]any)["timeFrom"] != "00:00" || times[6].(map[string]any)["timeTo"] != "23:59" {
			t.Errorf("%s: openingTimes %v, want every day 00:00-23:59", path, times)
		}
	}

	// A location where the postal code data has no Swedish name: Swedish
	// is Finnish.
	locs := postiSearch(t, "/api/2/location?zipCode=33100&top=1")
	if len(locs) != 1 {
		t.Fatal("no location at 33100")
	}
	addr := locs[0]["address"].(map[string]any)
	if sv, fi := addr["sv"].(map[string]any), addr["fi"].(map[string]any); sv["postalCodeName"] != "Tampere" || fi["postalCodeName"] != "Tampere" {
		t.Errorf("33100: postalCodeName fi %v sv %v, want Tampere in both", fi["postalCodeName"], sv["postalCodeName"])
	}
}

// TestPostiByID: one location by id, and a JSON 404 for an id nobody has.
func TestPostiByID(t *testing.T) {
	t.Parallel()
	status, body := postiGet(t, "/api/2/location/"+demo.DemoSmartpostID)
	if status != http.StatusOK {
		t.Fatalf("%d %s", status, body)
	}
	l := decode[postiLocation](t, body)
	checkPostiFields(t, "by id", l)
	if l["id"] != demo.DemoSmartpostID || l["type"] != "SMARTPOST" || l["availability"] != "24h" {
		t.Errorf("by id: %v %v %v", l["id"], l["type"], l["availability"])
	}
	if info := l["additionalInfo"].(map[string]any); info["fi"] != "Maksupääte" || info["sv"] != "Betalterminal" {
		t.Errorf("by id: additionalInfo %v, want the payment terminal", info)
	}
	// pupCode= answers the same location as a one-element list.
	search := postiSearch(t, "/api/2/location?pupCode="+demo.DemoSmartpostID)
	if len(search) != 1 || search[0]["id"] != demo.DemoSmartpostID {
		t.Errorf("pupCode search: %v", ids(search))
	}

	for _, path := range []string{"/api/2/location/NO-SUCH-ID", "/location/NO-SUCH-ID", "/api/2/location/" + strings.Repeat("x", 10_000)} {
		status, body := postiGet(t, path)
		e := decode[map[string]any](t, body)
		if status != http.StatusNotFound || e["status"] != 404.0 || e["message"] == "" || e["error"] != "Not Found" {
			t.Errorf("%.60s: %d %s; want 404 with a JSON body", path, status, body)
		}
	}

	// Opening times of an outlet: Finnish availability text, times as
	// strings with colon and point.
	locs := postiSearch(t, "/api/2/location?types=POSTOFFICE&zipCode=00100&top=1")
	if len(locs) != 1 {
		t.Fatal("no post office near 00100")
	}
	if av := locs[0]["availability"].(string); !strings.HasPrefix(av, "ma-pe ") {
		t.Errorf("post office availability %q, want it to start with ma-pe", av)
	}
}

// TestPostiSameSearchAsV1: one search, two faces. The same query answers
// the same locations in the same order through both.
func TestPostiSameSearchAsV1(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	street := url.QueryEscape("Mannerheimintie 5 B 12")
	tests := []struct{ v1, posti string }{
		{"lat=60.1699&lon=24.9384&limit=25&type=SMARTPOST,POSTOFFICE", "lat=60.1699&lng=24.9384&top=25&types=SMARTPOST&types=POSTOFFICE"},
		{"postcode=00100&street=" + street, "zipCode=00100&streetAddress=" + street},
		{"postcode=00104&street=" + street + "&limit=5&type=LOCKER,SMARTPOST", "postalCode=00104&address=" + street + "&top=5&types=LOCKER,SMARTPOST"},
		{"postcode=33100&limit=100", "locationZipCode=33100&top=100"},
		{"lat=65.0121&lon=25.4651&limit=50&type=PICKUPPOINT", "lat=65.0121&lng=25.4651&top=50&types=PICKUPPOINT"},
		{"limit=10", ""},
	}
	for _, tt := range tests {
		status, body := f.get(t, "/v1/locations?"+tt.v1)
		if status != http.StatusOK {
			t.Fatalf("v1 %s: %d %s", tt.v1, status, body)
		}
		var want []string
		for _, l := range decode[locationsAnswer](t, body).Locations {
			want = append(want, l.ID)
		}
		got := ids(postiSearch(t, "/api/2/location?"+tt.posti))
		if len(want) == 0 || !slices.Equal(got, want) {
			t.Errorf("v1 %s and posti %s differ:\n v1    %v\n posti %v", tt.v1, tt.posti, want, got)
		}
	}
}

// TestPostiHostileInput: nothing a client sends gets a 500, and bad values
// are answered leniently.
func TestPostiHostileInput(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("1", 10_000)
	longText := strings.Repeat("ä", 5_000)
	tests := []struct {
		query string
		count int // -1: any
	}{
		{"lat=abc&lng=24.9", 10},
		{"lat=abc&lng=xyz&zipCode=00100", 10},
		{"lat=NaN&lng=NaN", 10},
		{"lat=1e999&lng=24", 10},
		{"lat=91&lng=24", 10},
		{"lat=60,1699&lng=24,9384&top=1", 1},
		{"top=-5", 10},
		{"top=0", 10},
		{"top=999999", 100},
		{"top=abc", 10},
		{"top=1e3", 10},
		{"top=" + long, 10},
		{"zipCode=ABC", 0},
		{"zipCode=0010", 0},
		{"zipCode=00009", 0},
		{"zipCode=" + long, 0},
		{"zipCode=00100&distance=-1", 10},
		{"zipCode=00100&distance=NaN", 10},
		{"zipCode=00100&distance=abc", 10},
		{"zipCode=00100&distance=" + long, 10},
		{"zipCode=00100&strictZipCode=maybe", 10},
		{"types=,,,&zipCode=00100", 10},
		{"types=" + long, 0},
		{"types=" + url.QueryEscape(longText), 0},
		{"countryCode=" + long, 0},
		{"city=" + long, 0},
		{"city=" + url.QueryEscape(longText), 0},
		{"municipality=" + url.QueryEscape(longText), 0},
		{"pupCode=" + long, 0},
		{"streetAddress=" + long + "&zipCode=00100", 10},
		{"address=" + url.QueryEscape(longText) + "&zipCode=00100", 10},
		{"topLeftLat=abc&topLeftLng=1&bottomRightLat=2&bottomRightLng=3", 10},
		{"topLeftLat=60&topLeftLng=25&bottomRightLat=60&bottomRightLng=25", 0},
		{"&&&", 10},
		{"a%zz=1&zipCode=00100", 10},
		{"zipCode=00100;top=3", -1},
		{"unknownParam=1&another=&zipCode=00100&top=2", 2},
		{"ZIPCODE=00100&TOP=2&Types=smartpost", 2},
	}
	for _, tt := range tests {
		locs := postiSearch(t, "/api/2/location?"+tt.query)
		if tt.count >= 0 && len(locs) != tt.count {
			t.Errorf("%.80s: %d locations, want %d", tt.query, len(locs), tt.count)
		}
	}
	// The unversioned path answers the same.
	want := ids(postiSearch(t, "/api/2/location?zipCode=00100&top=5"))
	if got := ids(postiSearch(t, "/location?zipCode=00100&top=5")); !slices.Equal(got, want) {
		t.Errorf("/location %v, /api/2/location %v", got, want)
	}
	// So do both with a trailing slash (not in the document: checked
	// here by hand).
	f := newFixture(t)
	for _, path := range []string{"/api/2/location/?zipCode=00100&top=5", "/location/?zipCode=00100&top=5"} {
		resp, body := httpGet(t, f.server.URL+path)
		var got []string
		if resp.StatusCode == http.StatusOK {
			for _, l := range decode[map[string][]postiLocation](t, body)["locations"] {
				got = append(got, l["id"].(string))
			}
		}
		if resp.StatusCode != http.StatusOK || !slices.Equal(got, want) {
			t.Errorf("%s: %d %v, want 200 %v", path, resp.StatusCode, got, want)
		}
	}
}

// TestPostiDocument: the description is served beside lokero's own.
func TestPostiDocument(t *testing.T) {
	t.Parallel()
	status, body := postiGet(t, "/api/2/openapi.json")
	if status != http.StatusOK || !bytes.Equal(body, api.PostiOpenAPIDocument()) {
		t.Errorf("/api/2/openapi.json: %d", status)
	}
	if bytes.Equal(api.PostiOpenAPIDocument(), api.OpenAPIDocument()) {
		t.Error("the Posti document is lokero's own")
	}
}

// TestPostiCity: a city is found by its Finnish or Swedish name in any
// case, with or without its dots, and answers the same; a postal area name
// that is no municipality's restricts the answer to that area.
func TestPostiCity(t *testing.T) {
	t.Parallel()
	want := ids(postiSearch(t, "/api/2/location?city=Espoo&top=15"))
	for _, city := range []string{"Esbo", "ESPOO", "  espoo ", "esbo"} {
		if got := ids(postiSearch(t, "/api/2/location?top=15&city="+url.QueryEscape(city))); !slices.Equal(got, want) {
			t.Errorf("city=%q: %v, want %v as for Espoo", city, got, want)
		}
	}
	if got := ids(postiSearch(t, "/api/2/location?municipality=Espoo&top=15")); !slices.Equal(got, want) {
		t.Errorf("municipality=Espoo: %v, want %v as city=Espoo", got, want)
	}
	// Jakobstad is Pietarsaari in Swedish; its Swedish address says so.
	locs := postiSearch(t, "/api/2/location?city=Jakobstad&top=3")
	if len(locs) == 0 {
		t.Fatal("city=Jakobstad: nothing")
	}
	for _, l := range locs {
		addr := l["address"].(map[string]any)
		fi, sv := addr["fi"].(map[string]any), addr["sv"].(map[string]any)
		if fi["municipality"] != "Pietarsaari" || sv["municipality"] != "Jakobstad" || sv["postalCodeName"] != "Jakobstad" {
			t.Errorf("city=Jakobstad: %v: fi %v, sv %v", l["id"], fi, sv)
		}
	}
	// Kilpisjärvi is a postal area of Enontekiö, not a municipality: only
	// its own points, however far the next ones.
	for _, l := range postiSearch(t, "/api/2/location?city=kilpisjarvi&top=100") {
		if l["postalCode"] != "99490" {
			t.Errorf("city=kilpisjarvi: %v at %v", l["id"], l["postalCode"])
		}
	}
	// municipality= takes municipality names only.
	if locs := postiSearch(t, "/api/2/location?municipality=Kilpisjärvi"); len(locs) != 0 {
		t.Errorf("municipality=Kilpisjärvi: %v, want none (it is a postal area)", ids(locs))
	}
}

// newPostiServer serves the Posti face over a directory of locs alone,
// for a test whose points the demo network does not have; it returns the
// server's URL.
func newPostiServer(t *testing.T, locs []lokero.Location) string {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, t.TempDir()+"/posti.db")
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	reg, err := service.LoadPostcodes(ctx, st)
	if err != nil {
		t.Fatal(err)
	}
	d := service.NewDirectory(st, reg, fixedClock{}, slog.New(slog.DiscardHandler))
	if _, err := d.Import(ctx, locs); err != nil {
		t.Fatalf("import: %v", err)
	}
	srv := api.New(d, st, slog.New(slog.DiscardHandler))
	srv.SetReady(true)
	limits := api.DefaultRateLimits()
	limits.Directory = api.Limit{}
	srv.SetRateLimits(limits)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return hs.URL
}

// postiIDsFrom searches the server at base and returns the ids listed.
func postiIDsFrom(t *testing.T, base, query string) []string {
	t.Helper()
	status, body := postiGetFrom(t, base, "/api/2/location?"+query)
	if status != http.StatusOK {
		t.Fatalf("%s: %d %s", query, status, body)
	}
	var out []string
	for _, l := range decode[map[string][]postiLocation](t, body)["locations"] {
		out = append(out, l["id"].(string))
	}
	return out
}

// TestPostiResidentsSmartpost: a SMARTPOST with access residents is a
// building's own, as a LOCKER is: not listed by postal code, type,
// coordinates or pupCode alone, only (first) for an address in its
// building.
func TestPostiResidentsSmartpost(t *testing.T) {
	t.Parallel()
	classes := []lokero.CompartmentClass{{Size: "S", LengthCM: 60, WidthCM: 40, HeightCM: 10, Count: 5}}
	base := newPostiServer(t, []lokero.Location{
		{ID: "SP-RES", Type: lokero.TypeSmartpost, Name: "As Oy Kotikatu 3", Street: "Kotikatu 3", Postcode: "00100", City: "Helsinki",
			Lat: 60.1714, Lon: 24.9316, Access: lokero.AccessResidents, Compartments: classes},
		{ID: "SP-PUB", Type: lokero.TypeSmartpost, Name: "Public", Street: "Kauppakatu 1", Postcode: "00100", City: "Helsinki",
			Lat: 60.18, Lon: 24.95, Compartments: classes},
	})
	kotikatu := url.QueryEscape("Kotikatu 3 B 12")
	tests := []struct {
		query string
		want  []string
	}{
		{"zipCode=00100", []string{"SP-PUB"}},
		{"zipCode=00100&types=SMARTPOST", []string{"SP-PUB"}},
		{"lat=60.1714&lng=24.9316", []string{"SP-PUB"}},
		{"city=Helsinki", []string{"SP-PUB"}},
		{"pupCode=SP-RES", nil},
		{"pupCode=SP-RES&zipCode=00100", nil},
		{"pupCode=SP-RES&zipCode=00100&streetAddress=Kotikatu", nil},
		{"zipCode=00100&streetAddress=" + url.QueryEscape("Kotikatu 5"), []string{"SP-PUB"}},
		{"zipCode=00100&streetAddress=" + kotikatu, []string{"SP-RES", "SP-PUB"}},
		{"zipCode=00100&types=SMARTPOST&streetAddress=" + kotikatu, []string{"SP-RES", "SP-PUB"}},
		{"pupCode=SP-RES&zipCode=00100&streetAddress=" + kotikatu, []string{"SP-RES"}},
	}
	for _, tt := range tests {
		if got := postiIDsFrom(t, base, tt.query); !slices.Equal(got, tt.want) {
			t.Errorf("%s: %v, want %v", tt.query, got, tt.want)
		}
	}
}
