package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzLocationQueries sends any query string to the three search
// endpoints, lokero's own and the Posti-compatible two: every answer is
// JSON and 200 or 400, never a 5xx, and lokero's own 400 names the field.
// `go test` runs the seeds; `go test ./api -run XXX -fuzz FuzzLocationQueries`
// looks for more.
func FuzzLocationQueries(f *testing.F) {
	for _, seed := range []string{
		"lat=60.17&lon=24.94&limit=10",
		"postcode=00100&street=Mannerheimintie+5+B+12",
		"fits=30x20x15&available=true&cod=true&wheelchair_access=false&open_now=1",
		"delivery_date=2026-13-01&include_closed=true",
		"type=SMARTPOST,FOO&functions=collect,send",
		"lat=1e400&lon=-0&limit=-1",
		"%zz=%zz&&=&;",
		"zipCode=00100&top=3&includeClosed=true&deliveryDate=2026-12-01&types[]=SMARTPOST",
		"topLeftLat=61&topLeftLng=24&bottomRightLat=60&bottomRightLng=25&distance=NaN",
		"pupCode=" + strings.Repeat("x", 300) + "&city=Helsinki&strictZipCode=yes",
		"_=1&street=" + strings.Repeat("ä", 150),
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, query string) {
		h := newFixture(t).server.Config.Handler
		for _, path := range []string{"/v1/locations", "/api/2/location", "/location"} {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			req.URL.RawQuery = query
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK && rec.Code != http.StatusBadRequest {
				t.Fatalf("GET %s?%q: status %d: %.300s", path, query, rec.Code, rec.Body)
			}
			if !json.Valid(rec.Body.Bytes()) {
				t.Fatalf("GET %s?%q: not JSON: %.300s", path, query, rec.Body)
			}
			if rec.Code == http.StatusBadRequest && path == "/v1/locations" {
				var e struct {
					Error struct{ Field, Message string }
				}
				if json.Unmarshal(rec.Body.Bytes(), &e); e.Error.Field == "" || e.Error.Message == "" {
					t.Fatalf("GET %s?%q: 400 without the field and a message: %.300s", path, query, rec.Body)
				}
			}
		}
	})
}
