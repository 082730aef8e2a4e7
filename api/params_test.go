package api

import (
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/lokero/lokero"
)

// TestCheckQuery: unknown names, names given twice and overlong values
// are refused with the parameter named; "_" and a nameless "=" pass.
func TestCheckQuery(t *testing.T) {
	t.Parallel()
	known := []string{"postcode", "type", "limit"}
	tests := []struct {
		query, field, reason string
		known                []string
	}{
		{query: "postcode=00100&type=LOCKER", known: known},
		{query: "postcode=00100&postcode=99999", field: "postcode", reason: "duplicate_parameter", known: known},
		{query: "postcode=00100&postcode=00100", field: "postcode", reason: "duplicate_parameter", known: known},
		{query: "type=LOCKER&type=SMARTPOST", field: "type", reason: "duplicate_parameter", known: known},
		{query: "limit=1&limit=", field: "limit", reason: "duplicate_parameter", known: known},
		{query: "_=1&_=2&=&=", known: known},
		{query: "zipcode=00100", field: "zipcode", reason: "unknown_parameter", known: known},
		{query: "postcode=" + strings.Repeat("1", maxParamLen+1), field: "postcode", reason: "too_long", known: known},
		{query: "b=1&a=1&a=2", field: "a", reason: "unknown_parameter", known: known}, // the first in sort order, every time
		{query: ""},
		{query: "_=1"},
		{query: "location_id=X", field: "location_id", reason: "unknown_parameter"},
	}
	for _, tt := range tests {
		v, err := url.ParseQuery(tt.query)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 { // map order must not matter
			err = checkQuery(v, tt.known...)
			var e *lokero.Error
			switch {
			case tt.field == "" && err != nil:
				t.Errorf("%q: %v; want accepted", tt.query, err)
			case tt.field != "" && (!errors.As(err, &e) || e.Code != lokero.EINVALID || e.Field != tt.field || e.Reason != tt.reason):
				t.Errorf("%q: %v; want EINVALID %s naming %s", tt.query, err, tt.reason, tt.field)
			}
		}
	}
	if err := checkQuery(url.Values{"x": {"1"}}); err == nil || !strings.Contains(lokero.ErrorMessage(err), "takes no parameters") {
		t.Errorf("an endpoint without parameters: %v; want one saying it takes none", err)
	}
}

// TestPostiDuplicates: the Posti face lets types repeat (its clients do),
// and a value given again unchanged or blank; two different values of
// one parameter, in any spelling, are refused naming it as the query does.
func TestPostiDuplicates(t *testing.T) {
	t.Parallel()
	tests := []struct{ query, conflict string }{
		{"types=SMARTPOST&types=LOCKER&types[]=POSTOFFICE", ""},
		{"zipCode=00100&zipCode=00100", ""},
		{"zipCode=00100&zipCode=&zipCode=+00100+", ""},
		{"zipCode=00100&postalCode=99999", ""}, // two names: documented which wins
		{"zipCode=00100&zipCode=99999", "zipCode"},
		{"zipCode=00100&ZIPCODE=99999", "ZIPCODE"},
		{"top=5&top=10", "top"},
		{"lng=24.9&lng=25.1&lat=60.1", "lng"},
		{"zipCode[0]=00100&zipCode[1]=99999", "zipCode[0]"},
		{"unknown=1&unknown=2", ""}, // ignored, as every unknown parameter is
	}
	for _, tt := range tests {
		v, err := url.ParseQuery(tt.query)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			var p postiParams
			if got := p.read(v); got != tt.conflict {
				t.Errorf("%q: conflict %q; want %q", tt.query, got, tt.conflict)
			}
		}
		_, err = parsePostiQuery(v)
		if (err != nil) != (tt.conflict != "") || err != nil && !strings.Contains(lokero.ErrorMessage(err), tt.conflict) {
			t.Errorf("%q: parsePostiQuery: %v; want an error naming %q: %v", tt.query, err, tt.conflict, tt.conflict != "")
		}
	}
}
