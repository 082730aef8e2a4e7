package api

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// locationQuerySeeds are queries of GET /v1/locations, good and bad, for
// TestReadLocationQuery and FuzzReadLocationQuery.
var locationQuerySeeds = []string{
	"",
	"lat=60.17&lon=24.94&limit=10",
	"lat=60.17&lon=24.94&limit=10&",
	"&&lat=60.17&&lon=24.94",
	"lat=60.17",
	"lon=24.94&lat=",
	"lat=60.17&lon=24.94&lat=60.18",
	"lat=60.17&lon=24.94&limit=",
	"lat=60.17&lon=24.94&limit=0",
	"lat=60.17&lon=24.94&limit=1=2",
	"lat=60.17&lon=24.94&zipcode=00100",
	"lat=60.17&lon=24.94&_=123",
	"=&lat=60.17&lon=24.94",
	"lat=60.17&lon=24.94;limit=3",
	"lat=60%2E17&lon=24.94",
	"postcode=00100&street=Mannerheimintie+5+B+12",
	"postcode=00100&street=Mannerheimintie 5",
	"postcode=0010&street=x",
	"fits=30x20x15&available=true&cod=true&wheelchair_access=false&open_now=1&include_closed=0",
	"fits=30x20&available=maybe",
	"cod=yes&open_now=no",
	"delivery_date= 2026-12-08 &include_closed=true",
	"type=SMARTPOST,,POSTOFFICE&functions=Collect, send",
	"type=&functions=",
	"type=FOO",
	"payment_terminal=true&lat=1e400&lon=-0&limit=-1",
	"postcode=" + strings.Repeat("1", maxParamLen+1),
	"street=" + strings.Repeat("ä", maxParamLen/2) + "&postcode=00100",
	"street=" + strings.Repeat("ä", maxParamLen/2+1) + "&postcode=00100",
}

// TestReadLocationQuery: reading a query straight from its text gives
// what url.Values and checkQuery give, the same query or the same error.
func TestReadLocationQuery(t *testing.T) {
	t.Parallel()
	for _, raw := range locationQuerySeeds {
		checkReadLocationQuery(t, raw)
	}
}

// FuzzReadLocationQuery is TestReadLocationQuery for any query.
func FuzzReadLocationQuery(f *testing.F) {
	for _, seed := range locationQuerySeeds {
		f.Add(seed)
	}
	f.Fuzz(checkReadLocationQuery)
}

func checkReadLocationQuery(t *testing.T, raw string) {
	t.Helper()
	u := &url.URL{Path: "/v1/locations", RawQuery: raw}
	got, gotErr := readLocationQuery(u)
	want, wantErr := parseLocationQuery(u.Query())
	if (gotErr == nil) != (wantErr == nil) || gotErr != nil && gotErr.Error() != wantErr.Error() {
		t.Errorf("%q: error %v; want %v", raw, gotErr, wantErr)
		return
	}
	if gotErr == nil && !reflect.DeepEqual(got, want) {
		t.Errorf("%q: %+v; want %+v", raw, got, want)
	}
}
