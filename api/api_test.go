package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
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
	"github.com/lokero/lokero/service"
	"github.com/lokero/lokero/sqlite"
)

// fixture is one server over the demo network, shared by the tests of this
// package (they only read), with the OpenAPI router to check answers.
type fixture struct {
	server *httptest.Server
	router routers.Router
}

var (
	fixtureOnce sync.Once
	shared      fixture
	fixtureErr  error
)

func newFixture(t *testing.T) fixture {
	t.Helper()
	fixtureOnce.Do(func() {
		ctx := context.Background()
		dir := filepath.Join(testTempDir, "api.db")
		st, err := sqlite.Open(ctx, dir)
		if err != nil {
			fixtureErr = err
			return
		}
		reg, err := service.LoadPostcodes(ctx, st)
		if err != nil {
			fixtureErr = err
			return
		}
		// A fixed clock on a weekday: what is open "today" must not depend
		// on the day the tests run (post offices close on Sundays).
		d := service.NewDirectory(st, reg, fixedClock{}, slog.New(slog.DiscardHandler))
		locs, err := demo.Network(reg, demo.DefaultSeed)
		if err != nil {
			fixtureErr = err
			return
		}
		if _, err := d.Import(ctx, locs); err != nil {
			fixtureErr = err
			return
		}
		if err := d.Reload(ctx); err != nil {
			fixtureErr = err
			return
		}
		srv := api.New(d, st, slog.New(slog.DiscardHandler))
		srv.SetReady(true)
		// The fixture serves every search test, and fuzzing sends
		// thousands of searches a second, all from one address: the
		// directory's limit is tested on a server of its own.
		limits := api.DefaultRateLimits()
		limits.Directory = api.Limit{}
		srv.SetRateLimits(limits)
		doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPIDocument())
		if err != nil {
			fixtureErr = err
			return
		}
		if err := doc.Validate(ctx); err != nil {
			fixtureErr = err
			return
		}
		router, err := legacy.NewRouter(doc)
		if err != nil {
			fixtureErr = err
			return
		}
		shared = fixture{server: httptest.NewServer(srv), router: router}
	})
	if fixtureErr != nil {
		t.Fatalf("set up the API fixture: %v", fixtureErr)
	}
	return shared
}

var testTempDir string

func TestMain(m *testing.M) {
	var err error
	testTempDir, err = os.MkdirTemp("", "lokero-api-test-")
	if err != nil {
		panic(err)
	}
	code := m.Run()
	if shared.server != nil {
		shared.server.Close()
	}
	os.RemoveAll(testTempDir)
	os.Exit(code)
}

// httpGet GETs url and reads the whole answer, or fails the test.
func httpGet(t testing.TB, url string) (*http.Response, []byte) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %.100s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("GET %.100s: read body: %v", url, err)
	}
	return resp, body
}

// get requests path and checks the answer against the OpenAPI document:
// every documented response must match its schema.
func (f fixture) get(t *testing.T, path string) (int, []byte) {
	t.Helper()
	resp, body := httpGet(t, f.server.URL+path)
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") && !strings.HasPrefix(path, "/metrics") {
		t.Errorf("GET %s: Content-Type %q, want JSON", path, ct)
	}
	req, _ := http.NewRequest(http.MethodGet, f.server.URL+path, nil)
	route, params, err := f.router.FindRoute(req)
	if err != nil && resp.StatusCode < 300 && strings.HasPrefix(path, "/v1/") {
		t.Errorf("GET %s answered %d but is not in the OpenAPI document: %v", path, resp.StatusCode, err)
	}
	if err == nil {
		in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
			Options: &openapi3filter.Options{ExcludeRequestBody: true}}
		// Only answers to requests the document allows can be checked.
		if openapi3filter.ValidateRequest(context.Background(), in) == nil {
			checkAnswer(t, "GET "+path, "the OpenAPI document", in, resp, body)
		}
	}
	return resp.StatusCode, body
}

// checkAnswer fails the test when an answer does not match the OpenAPI
// document it was validated against (named by doc).
func checkAnswer(t *testing.T, what, doc string, in *openapi3filter.RequestValidationInput, resp *http.Response, body []byte) {
	t.Helper()
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: resp.StatusCode, Header: resp.Header,
		Options: &openapi3filter.Options{IncludeResponseStatus: true},
	}
	out.SetBodyBytes(body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("%.100s: answer does not match %s: %v\n%.500s", what, doc, err, body)
	}
}

type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

func decode[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("decode %s: %v", body, err)
	}
	return v
}

func TestPostcode(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		code       string
		status     int
		kind, base string
		nameFI     string
		field      string
	}{
		{code: "00104", status: 200, kind: "locker", base: "00100", nameFI: "Helsinki"},
		{code: "00100", status: 200, kind: "area", base: "00100", nameFI: "Helsinki"},
		{code: "00101", status: 200, kind: "po_box", base: "00101"},
		{code: "00009", status: 404, field: "postcode"},
		{code: "99999", status: 200, kind: "area", base: "99999", nameFI: "Korvatunturi"},
		{code: "0010", status: 400, field: "postcode"},
		{code: "ABCDE", status: 400, field: "postcode"},
		{code: "001000", status: 400, field: "postcode"},
	}
	for _, tt := range tests {
		status, body := f.get(t, "/v1/postcodes/"+tt.code)
		if status != tt.status {
			t.Errorf("%s: status %d, want %d: %s", tt.code, status, tt.status, body)
			continue
		}
		if status != 200 {
			e := decode[apiError](t, body)
			if e.Error.Field != tt.field || e.Error.Message == "" || e.Error.Code == "" {
				t.Errorf("%s: error %+v, want field %q with code and message", tt.code, e.Error, tt.field)
			}
			continue
		}
		p := decode[map[string]any](t, body)
		if p["postcode"] != tt.code || p["valid"] != true || p["kind"] != tt.kind || p["base"] != tt.base {
			t.Errorf("%s: got %v", tt.code, p)
		}
		if tt.nameFI != "" && p["name_fi"] != tt.nameFI {
			t.Errorf("%s: name_fi %v, want %s", tt.code, p["name_fi"], tt.nameFI)
		}
	}
	_, body := f.get(t, "/v1/postcodes/00100")
	if p := decode[map[string]any](t, body); p["locker_postcode"] != "00104" {
		t.Errorf("00100: locker_postcode %v, want 00104", p["locker_postcode"])
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	long := strings.Repeat("1", 10_000)
	tests := []struct {
		query string
		field string
	}{
		{"lat=91&lon=25", "lat"},
		{"lat=-90.5&lon=25", "lat"},
		{"lat=60&lon=x", "lon"},
		{"lat=60&lon=181", "lon"},
		{"lat=60", "lon"},
		{"lon=25", "lat"},
		{"lat=NaN&lon=25", "lat"},
		{"limit=-1", "limit"},
		{"limit=0", "limit"},
		{"limit=101", "limit"},
		{"limit=ten", "limit"},
		{"fits=70x40", "fits"},
		{"fits=70x40x0", "fits"},
		{"fits=axbxc", "fits"},
		{"type=FOO", "type"},
		{"type=SMARTPOST,FOO", "type"},
		{"payment_terminal=maybe", "payment_terminal"},
		{"postcode=0010", "postcode"},
		{"postcode=ABCDE", "postcode"},
		{"postcode=00009", "postcode"},
		{"street=Mannerheimintie+5", "street"},
		{"postcode=" + long, "postcode"},
		{"street=" + long + "&postcode=00100", "street"},
		{"types=SMARTPOST", "types"}, // a misspelt filter is refused, not ignored
		{"lat=60&lon=25&bogus=1", "bogus"},
		{"zipCode=00100", "zipCode"},
	}
	for _, tt := range tests {
		status, body := f.get(t, "/v1/locations?"+tt.query)
		if status != http.StatusBadRequest {
			t.Errorf("%.60s: status %d, want 400: %.200s", tt.query, status, body)
			continue
		}
		e := decode[apiError](t, body)
		if e.Error.Field != tt.field || e.Error.Message == "" {
			t.Errorf("%.60s: error %+v, want field %q and a message", tt.query, e.Error, tt.field)
		}
	}
	// A parameter another API calls so names the one meant; the cache
	// buster of browsers' libraries passes.
	if status, body := f.get(t, "/v1/locations?types=SMARTPOST"); !strings.Contains(decode[apiError](t, body).Error.Message, `did you mean "type"`) {
		t.Errorf("types=SMARTPOST: %d %s; want a hint at type", status, body)
	}
	if status, body := f.get(t, "/v1/locations?lat=60.17&lon=24.94&_=1732526400000"); status != http.StatusOK {
		t.Errorf("with _=…: %d %s; want 200", status, body)
	}
	for _, path := range []string{"/v1/nothing", "/v1/locations/NO-SUCH-ID"} {
		status, body := f.get(t, path)
		if status != http.StatusNotFound || decode[apiError](t, body).Error.Message == "" {
			t.Errorf("%s: status %d, body %s; want 404 with a JSON error", path, status, body)
		}
	}
	resp, err := http.Post(f.server.URL+"/v1/locations", "application/json", bytes.NewReader([]byte("{}")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /v1/locations: status %d, want 405", resp.StatusCode)
	}
}

type locationsAnswer struct {
	Locations []struct {
		ID              string   `json:"id"`
		Type            string   `json:"type"`
		Street          string   `json:"street"`
		Postcode        string   `json:"postcode"`
		Lat             float64  `json:"lat"`
		Lon             float64  `json:"lon"`
		PaymentTerminal bool     `json:"payment_terminal"`
		Access          string   `json:"access"`
		DistanceM       *float64 `json:"distance_m"`
		Compartments    []struct {
			Size     string `json:"size"`
			LengthCM int    `json:"length_cm"`
			WidthCM  int    `json:"width_cm"`
			HeightCM int    `json:"height_cm"`
		} `json:"compartments"`
	} `json:"locations"`
}

func TestSearchNearest(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	status, body := f.get(t, "/v1/locations?lat=60.1699&lon=24.9384&limit=25&type=SMARTPOST,POSTOFFICE")
	if status != 200 {
		t.Fatalf("status %d: %s", status, body)
	}
	ans := decode[locationsAnswer](t, body)
	if len(ans.Locations) != 25 {
		t.Fatalf("got %d locations, want 25", len(ans.Locations))
	}
	last := -1.0
	for _, l := range ans.Locations {
		if l.Type != "SMARTPOST" && l.Type != "POSTOFFICE" {
			t.Errorf("%s: type %s not asked for", l.ID, l.Type)
		}
		if l.DistanceM == nil {
			t.Fatalf("%s: no distance_m", l.ID)
		}
		if *l.DistanceM < last {
			t.Errorf("%s: distance %v after %v: not nearest first", l.ID, *l.DistanceM, last)
		}
		last = *l.DistanceM
	}
	if last > 20_000 {
		t.Errorf("25th nearest point to central Helsinki is %v m away: the demo network is too sparse or the search wrong", last)
	}
	// One by id answers the same location.
	first := ans.Locations[0]
	status, body = f.get(t, "/v1/locations/"+url.PathEscape(first.ID))
	if status != 200 || decode[map[string]any](t, body)["id"] != first.ID {
		t.Errorf("GET /v1/locations/%s: %d %s", first.ID, status, body)
	}
}

// TestSearchContentLength: a search's answer comes with its length, in
// one piece, not chunked.
func TestSearchContentLength(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	resp, body := httpGet(t, f.server.URL+"/v1/locations?lat=60.1699&lon=24.9384&limit=10")
	if resp.StatusCode != 200 || resp.ContentLength != int64(len(body)) || len(resp.TransferEncoding) != 0 || len(body) < 1000 {
		t.Errorf("search: %d, Content-Length %d for %d bytes, Transfer-Encoding %v; want the length of the whole answer",
			resp.StatusCode, resp.ContentLength, len(body), resp.TransferEncoding)
	}
}

func TestSearchFilters(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	_, body := f.get(t, "/v1/locations?lat=60.45&lon=22.26&payment_terminal=true&limit=20")
	ans := decode[locationsAnswer](t, body)
	if len(ans.Locations) == 0 {
		t.Fatal("no location with a payment terminal near Turku")
	}
	for _, l := range ans.Locations {
		if !l.PaymentTerminal || l.Type == "LOCKER" {
			t.Errorf("%s (%s): payment_terminal %v", l.ID, l.Type, l.PaymentTerminal)
		}
	}
	_, body = f.get(t, "/v1/locations?lat=60.45&lon=22.26&fits=35x65x30&type=SMARTPOST,LOCKER&limit=20")
	ans = decode[locationsAnswer](t, body)
	if len(ans.Locations) == 0 {
		t.Fatal("no locker takes a 65 × 35 × 30 cm parcel near Turku")
	}
	for _, l := range ans.Locations {
		fits := false
		for _, c := range l.Compartments {
			fits = fits || lokero.FitsBox([3]float64{35, 65, 30}, [3]float64{float64(c.LengthCM), float64(c.WidthCM), float64(c.HeightCM)})
		}
		if !fits {
			t.Errorf("%s: no compartment takes 35x65x30: %+v", l.ID, l.Compartments)
		}
	}
	status, body := f.get(t, "/v1/locations?lat=60.45&lon=22.26&fits=71x40x40&type=SMARTPOST,LOCKER")
	if status != 200 || len(decode[locationsAnswer](t, body).Locations) != 0 {
		t.Errorf("a 71 cm parcel fits no locker; got %d %s", status, body)
	}
	// Outlets take bigger parcels than any compartment: a post office up
	// to 120 cm, a pickup point up to 100 cm.
	_, body = f.get(t, "/v1/locations?lat=60.45&lon=22.26&fits=71x40x40&limit=20")
	outlets := decode[locationsAnswer](t, body).Locations
	if len(outlets) == 0 {
		t.Fatal("no outlet takes a 71 cm parcel near Turku")
	}
	for _, l := range outlets {
		if l.Type != "POSTOFFICE" && l.Type != "PICKUPPOINT" {
			t.Errorf("%s (%s) listed for a 71 cm parcel", l.ID, l.Type)
		}
	}
	_, body = f.get(t, "/v1/locations?lat=60.45&lon=22.26&fits=110x40x40&limit=20")
	for _, l := range decode[locationsAnswer](t, body).Locations {
		if l.Type != "POSTOFFICE" {
			t.Errorf("%s (%s) listed for a 110 cm parcel: only post offices take it", l.ID, l.Type)
		}
	}
	status, body = f.get(t, "/v1/locations?lat=60.45&lon=22.26&fits=121x40x40")
	if status != 200 || len(decode[locationsAnswer](t, body).Locations) != 0 {
		t.Errorf("a 121 cm parcel fits nowhere; got %d %s", status, body)
	}
	_, body = f.get(t, "/v1/locations?postcode=33100&limit=5")
	ans = decode[locationsAnswer](t, body)
	if len(ans.Locations) != 5 || ans.Locations[0].DistanceM == nil || *ans.Locations[0].DistanceM > 5000 {
		t.Errorf("postcode 33100 (Tampere): want 5 nearby points, got %s", body)
	}
}

func TestLockerForResidentsOnly(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	hasLocker := func(query string) (bool, bool) {
		t.Helper()
		status, body := f.get(t, "/v1/locations?"+query)
		if status != 200 {
			t.Fatalf("%s: status %d: %s", query, status, body)
		}
		ans := decode[locationsAnswer](t, body)
		anyLocker, demoFirst := false, len(ans.Locations) > 0 && ans.Locations[0].ID == demo.DemoLockerID
		for _, l := range ans.Locations {
			if l.Type == "LOCKER" {
				anyLocker = true
				if l.Access != "residents" || l.Postcode[4] != '4' {
					t.Errorf("%s: LOCKER %s with access %s postcode %s", query, l.ID, l.Access, l.Postcode)
				}
			}
		}
		return anyLocker, demoFirst
	}
	tests := []struct {
		query             string
		anyLocker, demoIs bool
	}{
		{"postcode=00100&limit=100", false, false},
		{"postcode=00104&limit=100", false, false},
		{"lat=60.1699&lon=24.9384&limit=100", false, false},
		{"postcode=00100&street=" + url.QueryEscape("Mannerheimintie 5 B 12"), true, true},
		{"postcode=00104&street=" + url.QueryEscape("mannerheimint. 5"), true, true},
		{"postcode=00100&street=" + url.QueryEscape("Mannerheimvägen 5 A 2"), true, true},
		{"postcode=00100&street=" + url.QueryEscape("Mannerheimintie 5") + "&type=LOCKER", true, true},
		{"postcode=00100&street=" + url.QueryEscape("Mannerheimintie 5") + "&type=SMARTPOST", false, false},
		{"postcode=00100&street=" + url.QueryEscape("Mannerheimintie 5") + "&payment_terminal=true", false, false},
		{"postcode=00100&street=" + url.QueryEscape("Mannerheimintie 7"), false, false},
		{"postcode=00120&street=" + url.QueryEscape("Mannerheimintie 5"), false, false},
	}
	for _, tt := range tests {
		anyLocker, demoFirst := hasLocker(tt.query)
		if anyLocker != tt.anyLocker || demoFirst != tt.demoIs {
			t.Errorf("%s: any LOCKER %v, demo LOCKER first %v; want %v, %v", tt.query, anyLocker, demoFirst, tt.anyLocker, tt.demoIs)
		}
	}
	status, body := f.get(t, "/v1/locations/"+demo.DemoLockerID)
	if status != 200 {
		t.Fatalf("demo locker: %d %s", status, body)
	}
	l := decode[map[string]any](t, body)
	if l["street"] != "Mannerheimintie 5" || l["postcode"] != "00104" || l["city"] != "Helsinki" || l["type"] != "LOCKER" {
		t.Errorf("demo locker: %v", l)
	}
}

func TestHealthMetricsAndDocument(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	status, body := f.get(t, "/healthz")
	if status != 200 || decode[map[string]any](t, body)["status"] != "ok" {
		t.Errorf("healthz: %d %s", status, body)
	}
	f.get(t, "/v1/locations?limit=1")
	status, body = f.get(t, "/metrics")
	if status != 200 || !bytes.Contains(body, []byte(`lokero_http_requests_total{code="200",route="GET /v1/locations"}`)) {
		t.Errorf("metrics: %d, no request counter for GET /v1/locations:\n%.2000s", status, body)
	}
	status, body = f.get(t, "/openapi.json")
	if status != 200 || !bytes.Equal(body, api.OpenAPIDocument()) {
		t.Errorf("openapi.json: %d", status)
	}
}

// TestMetricsToken: with a metrics token, /metrics answers only a
// scraper that sends it as a bearer token; without one, everyone.
func TestMetricsToken(t *testing.T) {
	t.Parallel()
	srv := api.New(nil, nil, slog.New(slog.DiscardHandler))
	scrape := func(authorization string) *httptest.ResponseRecorder {
		t.Helper()
		req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
		if authorization != "" {
			req.Header.Set("Authorization", authorization)
		}
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		return rec
	}
	if rec := scrape(""); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "go_goroutines") {
		t.Fatalf("without a metrics token: %d; want the metrics to all", rec.Code)
	}
	srv.SetMetricsToken("s3cret-metrics")
	for _, auth := range []string{"", "Bearer wrong", "Bearer s3cret-metric", "Bearer s3cret-metricsX", "Basic czNjcmV0LW1ldHJpY3M=", "s3cret-metrics"} {
		rec := scrape(auth)
		if rec.Code != http.StatusUnauthorized || rec.Header().Get("WWW-Authenticate") == "" ||
			strings.Contains(rec.Body.String(), "go_goroutines") || !strings.Contains(rec.Body.String(), `"invalid_token"`) {
			t.Errorf("Authorization %q: %d %s; want 401 invalid_token with WWW-Authenticate", auth, rec.Code, rec.Body)
		}
	}
	if rec := scrape("Bearer s3cret-metrics"); rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), "go_goroutines") {
		t.Errorf("with the metrics token: %d; want the metrics", rec.Code)
	}
	srv.SetMetricsToken("")
	if rec := scrape(""); rec.Code != http.StatusOK {
		t.Errorf("the token taken away: %d; want the metrics to all again", rec.Code)
	}
}

func TestNotReady(t *testing.T) {
	t.Parallel()
	srv := api.New(nil, nil, slog.New(slog.DiscardHandler))
	for _, path := range []string{"/healthz", "/v1/locations"} {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
		if rec.Code != http.StatusServiceUnavailable {
			t.Errorf("%s before ready: %d, want 503", path, rec.Code)
		}
	}
}

// TestPlaces: GET /v1/places finds places by name for "near another
// place", in the language asked for, and refuses bad input by field.
func TestPlaces(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tests := []struct {
		query     string
		status    int
		first     string // "postcode name"
		field     string
		maxPlaces int
	}{
		{"q=sysm%C3%A4", 200, "19700 Sysmä", "", 5},
		{"q=turku&limit=1", 200, "20100 Turku", "", 1},
		{"q=turku&lang=sv", 200, "20100 Åbo", "", 5},
		{"q=xyzzy", 200, "", "", 0},
		{"q=a", 400, "", "q", 0},
		{"q=turku&limit=0", 400, "", "limit", 0},
		{"q=turku&lang=de", 400, "", "lang", 0},
		{"q=turku&q=tampere", 400, "", "q", 0},
		{"q=turku&limit=1&limit=20", 400, "", "limit", 0},
		{"q=turku&limt=1", 400, "", "limt", 0},
	}
	for _, tt := range tests {
		status, body := f.get(t, "/v1/places?"+tt.query)
		if status != tt.status {
			t.Errorf("%s: status %d, want %d: %s", tt.query, status, tt.status, body)
			continue
		}
		if status != 200 {
			var e struct{ Error struct{ Field string } }
			if err := json.Unmarshal(body, &e); err != nil || e.Error.Field != tt.field {
				t.Errorf("%s: error %s; want one on field %s", tt.query, body, tt.field)
			}
			continue
		}
		var got struct {
			Places []struct {
				Postcode, Name string
				Lat, Lon       float64
			}
		}
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatal(err)
		}
		if len(got.Places) > tt.maxPlaces || (tt.first == "") != (len(got.Places) == 0) {
			t.Errorf("%s: %d places %s; want at most %d, first %q", tt.query, len(got.Places), body, tt.maxPlaces, tt.first)
			continue
		}
		if tt.first != "" {
			if p := got.Places[0]; p.Postcode+" "+p.Name != tt.first || p.Lat < 59 || p.Lon < 19 {
				t.Errorf("%s: first %+v; want %s with its point", tt.query, p, tt.first)
			}
		}
	}
}

// TestStartingAnswerAnyOrigin: while the server starts, the directory's
// public reads answer 503 "starting" readable by any origin (the shop's
// selector shows it, not a network error); other routes' 503 does not
// open to other origins.
func TestStartingAnswerAnyOrigin(t *testing.T) {
	t.Parallel()
	srv := api.New(nil, nil, slog.New(slog.DiscardHandler)) // not ready
	for _, tc := range []struct {
		method, path string
		acao         string
	}{
		{"GET", "/v1/locations?postcode=00100", "*"},
		{"GET", "/v1/locations/LOCKER-1", "*"},
		{"HEAD", "/v1/places?q=turku", "*"},
		{"GET", "/v1/postcodes/00100", "*"},
		{"GET", "/v1/statuses", "*"},
		{"GET", "/v1/map", "*"},
		{"GET", "/v1/locations/LOCKER-1/events", ""},
		{"PATCH", "/v1/locations/LOCKER-1", ""},
		{"GET", "/v1/network", ""},
		{"GET", "/v1/postcodes/", ""},
	} {
		req := httptest.NewRequest(tc.method, tc.path, nil)
		req.Header.Set("Origin", "https://shop.example")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if got := rec.Header().Get("Access-Control-Allow-Origin"); rec.Code != 503 || got != tc.acao {
			t.Errorf("%s %s while starting: %d, Access-Control-Allow-Origin %q; want 503 and %q", tc.method, tc.path, rec.Code, got, tc.acao)
		}
	}
}

// TestDirectoryAnyOrigin: a shop's checkout on its own origin may read
// the directory (the pickup-point selector), without credentials.
func TestDirectoryAnyOrigin(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, path := range []string{"/v1/locations?postcode=00100&limit=1", "/v1/places?q=turku", "/v1/postcodes/00100"} {
		req, _ := http.NewRequest("GET", f.server.URL+path, nil)
		req.Header.Set("Origin", "https://shop.example")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Access-Control-Allow-Origin"); resp.StatusCode != 200 || got != "*" {
			t.Errorf("GET %s from another origin: %d, Access-Control-Allow-Origin %q; want 200 and *", path, resp.StatusCode, got)
		}
		if resp.Header.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("GET %s: credentials allowed", path)
		}
	}
}
