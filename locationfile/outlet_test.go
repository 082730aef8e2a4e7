package locationfile

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/lokero/lokero"
)

const outletHeader = "id,type,name,street,postcode,city,lat,lon,compartments," +
	"max_length_cm,max_width_cm,max_height_cm,max_weight_kg,shelf_capacity\n"

// outletCSV has an outlet with every limit of its own (a decimal comma in
// the weight), one with the weight alone, one with none, one with zeros
// (the defaults too), and a locker without any.
const outletCSV = outletHeader +
	`PO-1,POSTOFFICE,Posti Kamppi,Kampinkuja 2,00100,Helsinki,60.169,24.931,,150,80,70,"31,5",220` + "\n" +
	`PP-1,PICKUPPOINT,R-kioski,Hämeenkatu 10,33100,Tampere,61.4981,23.7608,,,,,20,` + "\n" +
	`PO-2,POSTOFFICE,Posti Pasila,Ratapihantie 11,00520,Helsinki,60.199,24.934,,,,,,` + "\n" +
	`PP-2,PICKUPPOINT,K-Market,Hämeenkatu 12,33100,Tampere,61.4982,23.7609,,0,0,0,0,0` + "\n" +
	`SP-1,SMARTPOST,Smartpost Kamppi,Kauppakatu 1,00100,Helsinki,60.17,24.94,S*10,,,,,` + "\n"

const outletJSON = `[
  {"id": "PO-1", "type": "POSTOFFICE", "name": "Posti Kamppi", "street": "Kampinkuja 2", "postcode": "00100",
   "city": "Helsinki", "lat": 60.169, "lon": 24.931,
   "max_parcel": {"length_cm": 150, "width_cm": 80, "height_cm": 70, "weight_kg": 31.5}, "shelf_capacity": 220},
  {"id": "PP-1", "type": "PICKUPPOINT", "name": "R-kioski", "street": "Hämeenkatu 10", "postcode": "33100",
   "city": "Tampere", "lat": 61.4981, "lon": 23.7608, "max_parcel": {"weight_kg": 20}, "shelf_capacity": null},
  {"id": "PO-2", "type": "POSTOFFICE", "name": "Posti Pasila", "street": "Ratapihantie 11", "postcode": "00520",
   "city": "Helsinki", "lat": 60.199, "lon": 24.934, "max_parcel": null},
  {"id": "PP-2", "type": "PICKUPPOINT", "name": "K-Market", "street": "Hämeenkatu 12", "postcode": "33100",
   "city": "Tampere", "lat": 61.4982, "lon": 23.7609,
   "max_parcel": {"length_cm": 0, "width_cm": 0, "height_cm": 0, "weight_kg": 0}, "shelf_capacity": 0},
  {"id": "SP-1", "type": "SMARTPOST", "name": "Smartpost Kamppi", "street": "Kauppakatu 1", "postcode": "00100",
   "city": "Helsinki", "lat": 60.17, "lon": 24.94, "compartments": "S*10"}
]`

func TestOutletLimits(t *testing.T) {
	t.Parallel()
	po, pp := lokero.ParcelLimit{LengthCM: 120, WidthCM: 60, HeightCM: 60, WeightKG: 35},
		lokero.ParcelLimit{LengthCM: 100, WidthCM: 60, HeightCM: 60, WeightKG: 35}
	want := []struct {
		limit lokero.ParcelLimit
		shelf int
	}{
		{lokero.ParcelLimit{LengthCM: 150, WidthCM: 80, HeightCM: 70, WeightKG: 31.5}, 220},
		{lokero.ParcelLimit{LengthCM: 100, WidthCM: 60, HeightCM: 60, WeightKG: 20}, 40}, // the weight alone
		{po, 150},
		{pp, 40},
		{lokero.ParcelLimit{}, 0},
	}
	fromCSV := mustRead(t, outletCSV, "outlets.csv")
	fromJSON := mustRead(t, outletJSON, "outlets.json")
	for name, locs := range map[string][]lokero.Location{"CSV": fromCSV, "JSON": fromJSON} {
		if len(locs) != len(want) {
			t.Fatalf("%s: %d locations, want %d", name, len(locs), len(want))
		}
		for i, w := range want {
			if l := locs[i]; l.MaxParcel != w.limit || l.ShelfCapacity != w.shelf {
				t.Errorf("%s %s: limit %+v, shelf %d; want %+v, %d", name, l.ID, l.MaxParcel, l.ShelfCapacity, w.limit, w.shelf)
			}
		}
	}
	if !reflect.DeepEqual(fromCSV, fromJSON) {
		t.Errorf("CSV and JSON differ:\nCSV  %+v\nJSON %+v", fromCSV, fromJSON)
	}

	// A file without the columns gives every outlet its type's defaults.
	for _, l := range mustRead(t, sampleCSV, "sample.csv") {
		limit, shelf := lokero.DefaultOutletLimit(l.Type)
		if l.MaxParcel != limit || l.ShelfCapacity != shelf {
			t.Errorf("%s (%s) without the columns: %+v, %d; want %+v, %d", l.ID, l.Type, l.MaxParcel, l.ShelfCapacity, limit, shelf)
		}
	}
}

func TestOutletRoundTrip(t *testing.T) {
	t.Parallel()
	locs := mustRead(t, outletCSV, "outlets.csv")
	var buf bytes.Buffer
	if err := Write(&buf, locs); err != nil {
		t.Fatal(err)
	}
	if got := mustRead(t, buf.String(), "export.csv"); !reflect.DeepEqual(got, locs) {
		t.Errorf("round trip differs:\nwrote %+v\nread  %+v\nfile:\n%s", locs, got, buf.String())
	}
	for _, want := range []string{
		",collect send return,150,80,70,31.5,220\n", // PO-1
		",collect return,100,60,60,20,40\n",         // PP-1: the defaults written out
		",collect send return,,,,,\n",               // SP-1: a locker has none
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("export lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestOutletBadRows(t *testing.T) {
	t.Parallel()
	const good = `PO-1,POSTOFFICE,Posti Kamppi,Kampinkuja 2,00100,Helsinki,60.169,24.931,,120,60,60,35,150`
	replace := func(col, value string) string {
		f := strings.Split(good, ",")
		for i, c := range strings.Split(strings.TrimSpace(outletHeader), ",") {
			if c == col {
				f[i] = value
			}
		}
		return strings.Join(f, ",")
	}
	locker := `SP-1,SMARTPOST,Smartpost,Kauppakatu 1,00100,Helsinki,60.17,24.94,S*10,`
	tests := []struct {
		name, row, field, contains string
	}{
		{"length not whole", replace("max_length_cm", "120.5"), "max_length_cm", `whole number of centimetres, e.g. 60; got "120.5"`},
		{"width not a number", replace("max_width_cm", "wide"), "max_width_cm", "whole number"},
		{"height too big", replace("max_height_cm", "301"), "max_height_cm", "1..300 cm"},
		{"length negative", replace("max_length_cm", "-5"), "max_length_cm", "1..300 cm"},
		{"weight not a number", replace("max_weight_kg", "heavy"), "max_weight_kg", `kilograms, e.g. 35 or 31,5; got "heavy"`},
		{"weight not a number either", replace("max_weight_kg", "NaN"), "max_weight_kg", "kilograms"},
		{"weight too big", replace("max_weight_kg", "1000.5"), "max_weight_kg", "at most 1000 kg"},
		{"weight negative", replace("max_weight_kg", "-1"), "max_weight_kg", "above 0"},
		{"shelf not whole", replace("shelf_capacity", "1e3"), "shelf_capacity", "parcels a delivery day"},
		{"shelf too big", replace("shelf_capacity", "10001"), "shelf_capacity", "1..10000"},
		{"limit on a locker", locker + ",,90,,", "max_height_cm", "only POSTOFFICE and PICKUPPOINT"},
		{"weight on a locker", locker + ",,,25,", "max_weight_kg", "only POSTOFFICE and PICKUPPOINT"},
		{"shelves on a locker", locker + ",,,,30", "shelf_capacity", "only POSTOFFICE and PICKUPPOINT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			data := outletHeader + strings.Replace(good, "PO-1", "PO-0", 1) + "\n" + tt.row + "\n"
			_, errs := read(t, data, "f.csv", nil)
			if len(errs) != 1 {
				t.Fatalf("got %d errors, want 1: %v", len(errs), errs)
			}
			e := errs[0]
			if e.Line != 3 || e.Field != tt.field || !strings.Contains(e.Message, tt.contains) {
				t.Errorf("got line %d field %q message %q; want line 3 field %q message containing %q",
					e.Line, e.Field, e.Message, tt.field, tt.contains)
			}
		})
	}

	// Two bad cells of one row: both are reported.
	_, errs := read(t, outletHeader+replace("max_length_cm", "long")+"\n"+"", "f.csv", nil)
	if len(errs) != 1 || errs[0].Field != "max_length_cm" {
		t.Errorf("one bad cell: %v", errs)
	}
	bad := strings.Replace(replace("max_length_cm", "long"), ",35,", ",heavy,", 1)
	if _, errs = read(t, outletHeader+bad+"\n", "f.csv", nil); len(errs) != 2 ||
		errs[0].Field != "max_length_cm" || errs[1].Field != "max_weight_kg" {
		t.Errorf("two bad cells: %v", errs)
	}
}

func TestOutletJSONErrors(t *testing.T) {
	t.Parallel()
	const head = `"type": "POSTOFFICE", "name": "Posti", "street": "Katu 1", "postcode": "00100", "city": "Helsinki", "lat": 60.2, "lon": 24.9`
	data := `[
  {"id": "J-1", ` + head + `, "max_parcel": {"length_cm": 130, "weight_kg": 30}, "shelf_capacity": 60},
  {"id": "J-2", ` + head + `, "max_parcel": "120x60x60"},
  {"id": "J-3", ` + head + `, "max_parcel": {"length_cm": 120.5, "depth_cm": 3, "weight_kg": "heavy"}},
  {"id": "J-4", ` + head + `, "shelf_capacity": "many"},
  {"id": "J-5", ` + head + `, "max_parcel": {"height_cm": 500}},
  {"id": "J-6", ` + head + `, "max_length_cm": 120},
  {"id": "J-7", "type": "SMARTPOST", "name": "S", "street": "Katu 2", "postcode": "00100", "city": "Helsinki",
   "lat": 60.2, "lon": 24.9, "compartments": "S*3", "max_parcel": {"weight_kg": 20}},
  {"id": "J-8", ` + head + `, "shelf_capacity": 12.5}
]`
	_, errs := read(t, data, "f.json", nil)
	want := []struct {
		line, index int
		field       string
		contains    string
	}{
		{3, 2, "max_parcel", `want an object {"length_cm", "width_cm", "height_cm", "weight_kg"}; got string`},
		{4, 3, "max_parcel.depth_cm", "unknown field; the fields are length_cm, width_cm, height_cm, weight_kg"},
		{4, 3, "max_parcel.length_cm", "want a whole number of centimetres; got 120.5"},
		{4, 3, "max_parcel.weight_kg", "want a number of kilograms; got string"},
		{5, 4, "shelf_capacity", "want a whole number of parcels a delivery day; got string"},
		{6, 5, "max_parcel.height_cm", "1..300 cm"},
		{7, 6, "max_length_cm", "unknown field"},
		{8, 7, "max_parcel", "only POSTOFFICE and PICKUPPOINT"},
		{10, 8, "shelf_capacity", "got 12.5"},
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), errs)
	}
	for i, w := range want {
		e := errs[i]
		if e.Line != w.line || e.Index != w.index || e.Field != w.field || !strings.Contains(e.Message, w.contains) {
			t.Errorf("error %d: got line %d index %d field %q %q; want line %d index %d field %q containing %q",
				i, e.Line, e.Index, e.Field, e.Message, w.line, w.index, w.field, w.contains)
		}
	}
	if !strings.Contains(errs[6].Message, "max_parcel") {
		t.Errorf("the list of JSON fields lacks max_parcel: %q", errs[6].Message)
	}
}
