package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/lokero/lokero"
	"github.com/lokero/lokero/service"
)

// TestCheckKeys: a name given twice in one object or in another case than
// lower snake_case is refused with the name; the same name in two objects,
// values in any case and malformed JSON (left to encoding/json) pass.
func TestCheckKeys(t *testing.T) {
	t.Parallel()
	tests := []struct {
		body, field, reason string
	}{
		{`{"a":"UPPER","b":["X","Y"]}`, "", ""},
		{`{"a":{"b":1},"b":2}`, "", ""},
		{`{"a":[{"b":1},{"b":1}]}`, "", ""},
		{`{"expirationTime":1}`, "", ""},
		{`{"a":`, "", ""},
		{`[{"a":1},{"a":1}]`, "", ""},
		{`{"a":{"b":1,"b":2}}`, "b", "duplicate_field"},
		{`{"a":[1,2],"a":3}`, "a", "duplicate_field"},
		{`{"\u0061":1,"a":2}`, "a", "duplicate_field"},
		{`{"a":["X",{"Yes":1}]}`, "Yes", "unknown_field"},
		{`{"a":{"b":{"c":{"D":null}}}}`, "D", "unknown_field"},
		{`{"a":"b","Reference":"R"}`, "Reference", "unknown_field"},
		// encoding/json matches names by Unicode case folding: "ſize"
		// (U+017F, a lower-case letter) would set size, twice over.
		{`{"size":"S","\u017fize":"L"}`, "\u017fize", "unknown_field"},
		{`{"ſender":{"name":"N"}}`, "ſender", "unknown_field"},
	}
	for _, tt := range tests {
		err := checkKeys([]byte(tt.body))
		var e *lokero.Error
		switch {
		case tt.reason == "" && err != nil:
			t.Errorf("%s: %v; want it to pass", tt.body, err)
		case tt.reason != "" && (!errors.As(err, &e) || e.Field != tt.field || e.Reason != tt.reason):
			t.Errorf("%s: %v; want %s on %q", tt.body, err, tt.reason, tt.field)
		}
	}
}

// FuzzCheckKeys: checkKeys never panics, and on valid JSON where it
// refuses no name's case it finds a name given twice in one object exactly
// when jsontext, which refuses duplicate names by default, does.
func FuzzCheckKeys(f *testing.F) {
	for _, seed := range []string{`{"a":{"b":1,"b":2}}`, `{"a":[{"b":1},{"b":1}]}`, `{"\u0061":1,"a":2}`,
		`{"a":[1,{"c":[{}]}],"a":3}`, `[{"a":1,"a":1}]`, `{"a":"b","Reference":"R"}`, `{"a":`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		err := checkKeys(body)
		var e *lokero.Error
		if !json.Valid(body) || errors.As(err, &e) && e.Reason == "unknown_field" {
			return
		}
		found := errors.As(err, &e) && e.Reason == "duplicate_field"
		strict := jsontext.NewDecoder(bytes.NewReader(body), jsontext.AllowInvalidUTF8(true))
		_, serr := strict.ReadValue()
		if want := errors.Is(serr, jsontext.ErrDuplicateName); found != want {
			t.Errorf("%q: checkKeys %v, jsontext %v", body, err, serr)
		}
	})
}

// BenchmarkCheckKeys checks a booking's body beside what encoding/json
// does with the same bytes: scan them (json.Valid, the floor of any walk)
// and decode them into the request (what follows the check).
func BenchmarkCheckKeys(b *testing.B) {
	body, err := json.Marshal(map[string]any{
		"reference": "ORDER-10023",
		"sender":    map[string]any{"name": "Verkkokauppa Oy", "street": "Tyynenmerenkatu 11", "postcode": "00220", "city": "Helsinki", "country": "FI"},
		"recipient": map[string]any{"name": "Maija Meikäläinen", "street": "Mannerheimintie 5 B 12", "postcode": "00104", "city": "Helsinki",
			"country": "FI", "phone": "0401234567", "email": "maija@example.fi", "language": "fi"},
		"parcel": map[string]any{"length_cm": 30, "width_cm": 20, "height_cm": 10, "weight_kg": 1.5, "contents": "goods", "insulated": false},
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Run("checkKeys", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if err := checkKeys(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("json.Valid", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if !json.Valid(body) {
				b.Fatal("not valid")
			}
		}
	})
	b.Run("json.Unmarshal into the request", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var req service.ShipmentRequest
			if err := json.Unmarshal(body, &req); err != nil {
				b.Fatal(err)
			}
		}
	})
}
