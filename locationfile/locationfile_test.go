package locationfile

import (
	"bytes"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/lokero/lokero"
)

const header = "id,type,name,street,postcode,city,lat,lon,access,payment_terminal,wheelchair_access,opening_hours,compartments\n"

// sample is a small directory with every type and field in use.
const sampleCSV = header +
	`SMARTPOST-00100-1,SMARTPOST,Smartpost K-Market Kamppi,Urho Kekkosen katu 1,00100,Helsinki,60.1688,24.9327,public,true,true,24/7,S:70x40x10*30; M:70x40x20*12; L:70x40x40*6` + "\n" +
	`LOCKER-00104-MANNERHEIMINTIE-5,locker,As Oy Mannerheimintie 5,Mannerheimintie 5,00104,Helsinki,60.1686,24.9412,,,,,"S*8; M*5; L*2"` + "\n" +
	`POSTOFFICE-00100,POSTOFFICE,Posti Kamppi,Kampinkuja 2,00100,Helsinki,60.169,24.931,public,false,yes,"Mo-Fr 09:00-18:00; Sa 10:00-14:00; Su closed",` + "\n" +
	`PICKUPPOINT-33100-1,PICKUPPOINT,"R-kioski Hämeenkatu, Tampere",Hämeenkatu 10,33100,Tampere,61.4981,23.7608,public,no,1,"Mo-Fr 08:00-12:00,13:00-21:00; Sa 09:00-18:00; Su 12:00-18:00",` + "\n"

const sampleJSON = `{"locations": [
  {"id": "SMARTPOST-00100-1", "type": "SMARTPOST", "name": "Smartpost K-Market Kamppi",
   "street": "Urho Kekkosen katu 1", "postcode": "00100", "city": "Helsinki", "lat": 60.1688, "lon": 24.9327,
   "access": "public", "payment_terminal": true, "wheelchair_access": true, "opening_hours": "24/7",
   "compartments": [{"size": "S", "length_cm": 70, "width_cm": 40, "height_cm": 10, "count": 30},
                    {"size": "M", "length_cm": 70, "width_cm": 40, "height_cm": 20, "count": 12},
                    {"size": "L", "length_cm": 70, "width_cm": 40, "height_cm": 40, "count": 6}]},
  {"id": "LOCKER-00104-MANNERHEIMINTIE-5", "type": "LOCKER", "name": "As Oy Mannerheimintie 5",
   "street": "Mannerheimintie 5", "postcode": "00104", "city": "Helsinki", "lat": 60.1686, "lon": 24.9412,
   "compartments": "S*8; M*5; L*2"},
  {"id": "POSTOFFICE-00100", "type": "POSTOFFICE", "name": "Posti Kamppi", "street": "Kampinkuja 2",
   "postcode": "00100", "city": "Helsinki", "lat": 60.169, "lon": 24.931, "access": "public",
   "payment_terminal": false, "wheelchair_access": true,
   "opening_hours": [{"weekday": 1, "from": "09:00", "to": "18:00"}, {"weekday": 2, "from": "09:00", "to": "18:00"},
                     {"weekday": 3, "from": "09:00", "to": "18:00"}, {"weekday": 4, "from": "09:00", "to": "18:00"},
                     {"weekday": 5, "from": "09:00", "to": "18:00"}, {"weekday": 6, "from": "10:00", "to": "14:00"}],
   "compartments": null},
  {"id": "PICKUPPOINT-33100-1", "type": "PICKUPPOINT", "name": "R-kioski Hämeenkatu, Tampere",
   "street": "Hämeenkatu 10", "postcode": "33100", "city": "Tampere", "lat": 61.4981, "lon": 23.7608,
   "wheelchair_access": true,
   "opening_hours": "Mo-Fr 08:00-12:00,13:00-21:00; Sa 09:00-18:00; Su 12:00-18:00"}
]}`

func read(t *testing.T, data, name string, known func(string) bool) ([]lokero.Location, Errors) {
	t.Helper()
	var check func(*lokero.Location) error
	if known != nil {
		check = func(l *lokero.Location) error {
			if !known(l.Postcode) {
				return lokero.Invalid("postcode", "unknown_postcode", "postcode %q is not a known Finnish postal code", l.Postcode)
			}
			return nil
		}
	}
	locs, err := Read(strings.NewReader(data), name, check, nil)
	if err == nil {
		return locs, nil
	}
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Read: %v (not Errors)", err)
	}
	if locs != nil {
		t.Errorf("Read returned %d locations with errors", len(locs))
	}
	return nil, errs
}

func mustRead(t *testing.T, data, name string) []lokero.Location {
	t.Helper()
	locs, errs := read(t, data, name, nil)
	if errs != nil {
		t.Fatalf("Read %s:\n%v", name, errs)
	}
	return locs
}

func TestReadSample(t *testing.T) {
	locs := mustRead(t, sampleCSV, "sample.csv")
	if len(locs) != 4 {
		t.Fatalf("got %d locations, want 4", len(locs))
	}
	l := locs[1]
	if l.Type != lokero.TypeLocker || l.Access != lokero.AccessResidents || len(l.OpeningHours) != 7 ||
		!reflect.DeepEqual(l.OpeningHours, lokero.AlwaysOpen()) {
		t.Errorf("LOCKER not normalised: %+v", l)
	}
	wantComp := []lokero.CompartmentClass{
		{Size: "S", LengthCM: 70, WidthCM: 40, HeightCM: 10, Count: 8},
		{Size: "M", LengthCM: 70, WidthCM: 40, HeightCM: 20, Count: 5},
		{Size: "L", LengthCM: 70, WidthCM: 40, HeightCM: 40, Count: 2},
	}
	if !reflect.DeepEqual(l.Compartments, wantComp) {
		t.Errorf("compartments = %+v, want %+v", l.Compartments, wantComp)
	}
	if !locs[0].PaymentTerminal || !locs[0].WheelchairAccess || locs[3].PaymentTerminal || !locs[3].WheelchairAccess {
		t.Errorf("flags wrong: %+v / %+v", locs[0], locs[3])
	}
	po := locs[2].OpeningHours
	if len(po) != 6 || po[5] != (lokero.OpeningHours{Weekday: 6, From: "10:00", To: "14:00"}) {
		t.Errorf("post office hours = %+v", po)
	}
	pp := locs[3].OpeningHours
	if len(pp) != 12 || pp[0] != (lokero.OpeningHours{Weekday: 1, From: "08:00", To: "12:00"}) ||
		pp[1] != (lokero.OpeningHours{Weekday: 1, From: "13:00", To: "21:00"}) {
		t.Errorf("pickup point hours = %+v", pp)
	}
	if locs[3].Name != "R-kioski Hämeenkatu, Tampere" {
		t.Errorf("name = %q", locs[3].Name)
	}
}

func TestJSONAndCSVEqual(t *testing.T) {
	fromCSV := mustRead(t, sampleCSV, "sample.csv")
	fromJSON := mustRead(t, sampleJSON, "sample.json")
	if !reflect.DeepEqual(fromCSV, fromJSON) {
		t.Errorf("CSV and JSON differ:\nCSV  %+v\nJSON %+v", fromCSV, fromJSON)
	}
	// The bare array form, sniffed without an extension.
	arr := strings.TrimSuffix(strings.TrimPrefix(sampleJSON, `{"locations": `), "}")
	if got := mustRead(t, "\n  "+arr, "upload"); !reflect.DeepEqual(got, fromCSV) {
		t.Errorf("bare JSON array differs: %+v", got)
	}
	// CSV sniffed without an extension.
	if got := mustRead(t, sampleCSV, ""); !reflect.DeepEqual(got, fromCSV) {
		t.Errorf("sniffed CSV differs")
	}
}

func TestRoundTrip(t *testing.T) {
	locs := mustRead(t, sampleCSV, "sample.csv")
	// Hours the string syntax has to group carefully.
	locs[2].OpeningHours = []lokero.OpeningHours{
		{Weekday: 1, From: "09:00", To: "18:00"}, {Weekday: 2, From: "09:00", To: "18:00"},
		{Weekday: 4, From: "09:00", To: "12:00"}, {Weekday: 4, From: "13:00", To: "18:00"},
		{Weekday: 7, From: "00:00", To: "24:00"},
	}
	locs[0].Lat, locs[0].Lon = 60.123456789012, 24.987654321098
	locs[0].Name = `Smartpost "Kamppi", 1st floor`
	var buf bytes.Buffer
	if err := Write(&buf, locs); err != nil {
		t.Fatal(err)
	}
	got := mustRead(t, buf.String(), "export.csv")
	if !reflect.DeepEqual(got, locs) {
		t.Errorf("round trip differs:\nwrote %+v\nread  %+v\nfile:\n%s", locs, got, buf.String())
	}
	if !strings.Contains(buf.String(), "Mo-Tu 09:00-18:00; We closed; Th 09:00-12:00,13:00-18:00; Fr-Sa closed; Su 00:00-24:00") {
		t.Errorf("hours not written as expected:\n%s", buf.String())
	}
}

func TestBadRows(t *testing.T) {
	const good = `X-1,SMARTPOST,Smartpost Test,Testikatu 1,00100,Helsinki,60.17,24.94,public,false,false,24/7,S*10`
	// replace returns good with column i replaced.
	replace := func(col, value string) string {
		f := strings.Split(good, ",")
		for i, c := range Columns {
			if c == col {
				f[i] = value
			}
		}
		return strings.Join(f, ",")
	}
	tests := []struct {
		name, row, field, contains string
	}{
		{"bad postcode", replace("postcode", "0010"), "postcode", `postcode must be five digits; got "0010"`},
		{"unknown postcode", replace("postcode", "00000"), "postcode", "not a known"},
		{"empty id", replace("id", ""), "id", "id must be"},
		{"bad id", replace("id", "X 1"), "id", "id must be"},
		{"unknown type", replace("type", "KIOSK"), "type", "type must be one of"},
		{"no name", replace("name", " "), "name", "required"},
		{"no street", replace("street", ""), "street", "required"},
		{"no city", replace("city", ""), "city", "required"},
		{"lat not a number", replace("lat", "north"), "lat", "decimal degrees"},
		{"lat missing", replace("lat", ""), "lat", "latitude is required"},
		{"lat outside Finland", replace("lat", "58.5"), "lat", "not in Finland"},
		{"lon outside Finland", replace("lon", "35"), "lon", "not in Finland"},
		{"bad access", replace("access", "staff"), "access", "public or residents"},
		{"bad flag", replace("payment_terminal", "maybe"), "payment_terminal", "true or false"},
		{"bad wheelchair flag", replace("wheelchair_access", "2"), "wheelchair_access", "true or false"},
		{"bad hours syntax", replace("opening_hours", "Mo-Fr 8-20"), "opening_hours", "HH:MM"},
		{"bad day", replace("opening_hours", "Xy 08:00-20:00"), "opening_hours", "unknown day"},
		{"hours across midnight", replace("opening_hours", "Mo-Su 20:00-02:00"), "opening_hours", "not after"},
		{"day twice", replace("opening_hours", "Mo-Fr 08:00-20:00; Fr 09:00-10:00"), "opening_hours", "already appears"},
		{"no compartments", replace("compartments", ""), "compartments", "at least one"},
		{"bad compartments", replace("compartments", "S:70x40*3"), "compartments", "three dimensions"},
		{"unknown standard class", replace("compartments", "XL*3"), "compartments", "not a standard class"},
		{"compartment too big", replace("compartments", "XL:80x40x40*3"), "compartments[0]", "bigger than"},
		{"compartment count zero", replace("compartments", "S*0"), "compartments[0].count", "1..1000"},
		{"compartment class twice", replace("compartments", "S*1; S*2"), "compartments[1].size", "twice"},
		{"public locker", replace("type", "LOCKER"), "access", "residents"},
		{"too few fields", "X-1,SMARTPOST,Smartpost Test", "", "3 fields; the header has 13"},
		{"bare quote", `X-1,SMART"POST,Smartpost Test,Testikatu 1,00100,Helsinki,60.17,24.94,public,false,false,24/7,S*10`, "", "malformed CSV"},
	}
	known := func(pc string) bool { return pc != "00000" }
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The bad row is the third line, after a good row.
			data := header + strings.Replace(good, "X-1", "X-0", 1) + "\n" + tt.row + "\n"
			_, errs := read(t, data, "f.csv", known)
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
}

func TestRowErrorFormat(t *testing.T) {
	data := header + `X-1,SMARTPOST,Smartpost Test,Testikatu 1,0010,Helsinki,60.17,24.94,public,false,false,24/7,S*10` + "\n"
	for range 10 {
		data = "\n" + data // blank lines before the header: still line numbers of the file
	}
	_, errs := read(t, data, "f.csv", nil)
	want := `line 12: postcode: postcode must be five digits; got "0010"`
	if len(errs) != 1 || errs[0].Error() != want {
		t.Errorf("got %q, want %q", errs.Error(), want)
	}
	if code := lokero.ErrorCode(error(errs)); code != lokero.EINVALID {
		t.Errorf("ErrorCode = %q, want %q", code, lokero.EINVALID)
	}
}

func TestErrorsFromSeveralLines(t *testing.T) {
	data := header +
		`A-1,SMARTPOST,Smartpost A,Testikatu 1,00100,Helsinki,60.17,24.94,public,false,false,,S*10` + "\n" + // 2 ok
		`A-2,SMARTPOST,Smartpost B,Testikatu 2,001,Helsinki,60.17,24.94,public,false,false,,S*10` + "\n" + // 3 postcode
		`"A-3",POSTOFFICE,"Posti` + "\n" + `Kamppi",Testikatu 3,00100,Helsinki,x,y,public,false,false,,` + "\n" + // 4-5 lat, lon
		`A-1,PICKUPPOINT,Shop,Testikatu 4,00100,Helsinki,60.17,24.94,,,,,` + "\n" + // 6 duplicate id
		",,,,,,,,,,,,\n" + // 7 blank: ignored
		`A-5,LOCKER,As Oy,Testikatu 5,00104,Helsinki,60.17,24.94,public,true,,,S*5` + "\n" // 8 access (first failure)
	_, errs := read(t, data, "f.csv", nil)
	want := []struct {
		line  int
		field string
	}{{3, "postcode"}, {4, "lat"}, {4, "lon"}, {6, "id"}, {8, "access"}}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), errs)
	}
	for i, w := range want {
		if errs[i].Line != w.line || errs[i].Field != w.field {
			t.Errorf("error %d: got line %d field %q, want line %d field %q (%v)", i, errs[i].Line, errs[i].Field, w.line, w.field, errs[i])
		}
	}
	if !strings.Contains(errs[3].Message, `duplicate id "A-1": already used on line 2`) {
		t.Errorf("duplicate message: %q", errs[3].Message)
	}
	if n := strings.Count(errs.Error(), "\n"); n != len(want)-1 {
		t.Errorf("Error() has %d newlines, want one error per line:\n%s", n, errs.Error())
	}
}

func TestErrorCap(t *testing.T) {
	var b strings.Builder
	b.WriteString(header)
	for i := range 150 {
		fmt.Fprintf(&b, "B-%d,SMARTPOST,S,Testikatu 1,0010,Helsinki,60.17,24.94,,,,,S*1\n", i)
	}
	_, errs := read(t, b.String(), "f.csv", nil)
	if len(errs) != MaxErrors+1 {
		t.Fatalf("got %d errors, want %d", len(errs), MaxErrors+1)
	}
	last := errs[len(errs)-1]
	if last.Line != 0 || !strings.Contains(last.Message, "50 more") {
		t.Errorf("last entry = %+v, want a count of 50 more", last)
	}
	if errs[99].Line != 101 {
		t.Errorf("100th error on line %d, want 101", errs[99].Line)
	}
}

func TestProgress(t *testing.T) {
	var b strings.Builder
	b.WriteString(header)
	for i := range 2500 {
		fmt.Fprintf(&b, "P-%d,SMARTPOST,Smartpost %d,Testikatu %d,00100,Helsinki,60.17,24.94,,,,,S*10\n", i, i, i+1)
	}
	var calls []int
	locs, err := Read(strings.NewReader(b.String()), "big.csv", nil, func(n int) { calls = append(calls, n) })
	if err != nil {
		t.Fatal(err)
	}
	if len(locs) != 2500 {
		t.Errorf("got %d locations", len(locs))
	}
	if want := []int{1000, 2000, 2500}; !reflect.DeepEqual(calls, want) {
		t.Errorf("progress calls = %v, want %v", calls, want)
	}
	// The same in JSON.
	var buf bytes.Buffer
	buf.WriteString("[")
	for i := range 2000 {
		if i > 0 {
			buf.WriteString(",")
		}
		fmt.Fprintf(&buf, `{"id":"J-%d","type":"POSTOFFICE","name":"Posti","street":"Katu 1","postcode":"00100","city":"Helsinki","lat":60.2,"lon":24.9}`, i)
	}
	buf.WriteString("]")
	calls = nil
	if _, err := Read(&buf, "big.json", nil, func(n int) { calls = append(calls, n) }); err != nil {
		t.Fatal(err)
	}
	if want := []int{1000, 2000}; !reflect.DeepEqual(calls, want) {
		t.Errorf("JSON progress calls = %v, want %v", calls, want)
	}
}

func TestHeaderErrors(t *testing.T) {
	tests := []struct{ name, header, contains string }{
		{"unknown columns", "id,type,name,street,postcode,city,lat,lon,colour,Size\n", `unknown columns "colour", "Size"`},
		{"missing columns", "ID,Type,Name,Street,Postcode\n", "missing required columns city, lat, lon"},
		{"column twice", "id,type,name,street,postcode,city,lat,lon,id\n", "column id twice"},
		{"empty", "", "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := read(t, tt.header, "f.csv", nil)
			if len(errs) != 1 || errs[0].Line != 1 || !strings.Contains(errs[0].Message, tt.contains) {
				t.Errorf("got %v, want one error on line 1 containing %q", errs, tt.contains)
			}
		})
	}
}

func TestCSVVariants(t *testing.T) {
	// A Finnish spreadsheet export: BOM, ';' separators, decimal commas,
	// columns in another order and case, CRLF.
	data := "\ufeffPostcode;ID;Type;Name;Street;City;Lat;Lon;Payment Terminal\r\n" +
		"00100;S-1;smartpost;Smartpost Kamppi;Kampinkuja 1;Helsinki;60,1688;24,9327;Yes\r\n"
	_, errs := read(t, data, "export.CSV", nil)
	if len(errs) != 1 || errs[0].Field != "compartments" {
		t.Fatalf("want only the missing compartments reported, got %v", errs)
	}
	data = strings.Replace(data, "Payment Terminal", "Payment Terminal;compartments", 1)
	data = strings.Replace(data, ";Yes", ";Yes;S*4", 1)
	locs := mustRead(t, data, "export.csv")
	want := lokero.Location{ID: "S-1", Type: lokero.TypeSmartpost, Name: "Smartpost Kamppi", Street: "Kampinkuja 1",
		Postcode: "00100", City: "Helsinki", Lat: 60.1688, Lon: 24.9327, OpeningHours: lokero.AlwaysOpen(),
		Access: lokero.AccessPublic, PaymentTerminal: true,
		Compartments: []lokero.CompartmentClass{{Size: "S", LengthCM: 70, WidthCM: 40, HeightCM: 10, Count: 4}},
		Status:       lokero.LocationOpen, Functions: []string{"collect", "send", "return"}}
	if len(locs) != 1 || !reflect.DeepEqual(locs[0], want) {
		t.Errorf("got %+v\nwant %+v", locs, want)
	}
	// Header only: no locations, no error.
	if locs := mustRead(t, header, "f.csv"); len(locs) != 0 || locs == nil {
		t.Errorf("header only: got %#v, want an empty list", locs)
	}
}

func TestJSONErrors(t *testing.T) {
	data := `[
  {"id": "J-1", "type": "POSTOFFICE", "name": "Posti", "street": "Katu 1", "postcode": "00100",
   "city": "Helsinki", "lat": 60.2, "lon": 24.9},
  {"id": "J-2", "type": "POSTOFFICE", "name": "Posti", "street": "Katu 1", "postcode": "0010",
   "city": "Helsinki", "lat": 60.2, "lon": 24.9, "colour": "orange"},
  "J-3",
  {"id": "J-1", "type": "SMARTPOST", "name": "S", "street": "Katu 2", "postcode": 100,
   "city": "Helsinki", "lat": "60.2", "lon": 24.9,
   "compartments": [{"size": "S", "length_cm": 70, "width_cm": 40, "height_cm": 10, "count": 3, "door": "left"}]},
  {"id": "J-5", "type": "SMARTPOST", "name": "S", "street": "Katu 2", "postcode": "00100",
   "city": "Helsinki", "lat": 60.2, "lon": 24.9, "opening_hours": [{"weekday": 8, "from": "00:00", "to": "24:00"}],
   "compartments": "S*3"}
]`
	_, errs := read(t, data, "f.json", nil)
	want := []struct {
		line, index int
		field       string
	}{
		{4, 2, "colour"}, {4, 2, "postcode"},
		{6, 3, ""},
		{7, 4, "id"}, {7, 4, "postcode"}, {7, 4, "lat"}, {7, 4, "compartments"},
		{10, 5, "opening_hours[0].weekday"},
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), errs)
	}
	for i, w := range want {
		e := errs[i]
		if e.Line != w.line || e.Index != w.index || e.Field != w.field {
			t.Errorf("error %d: got line %d index %d field %q, want line %d index %d field %q (%v)",
				i, e.Line, e.Index, e.Field, w.line, w.index, w.field, e)
		}
	}
	if s := errs[6].Error(); !strings.Contains(s, `unknown field "door"`) || !strings.HasPrefix(s, "line 7 (location 4): compartments: ") {
		t.Errorf("nested unknown field: %q", s)
	}
	if s := errs[3].Message; !strings.Contains(s, "location 1 (line 2)") {
		t.Errorf("duplicate message: %q", s)
	}
}

func TestJSONMalformed(t *testing.T) {
	tests := []struct {
		name, data string
		line       int
		contains   string
	}{
		{"syntax", "[\n{\"id\": \"a\",\n \"type\" \"LOCKER\"}\n]", 3, "malformed JSON"},
		{"truncated", "[\n{\"id\": \"a\", \"type\": \"POSTOFFICE\", \"name\": \"P\", \"street\": \"K 1\", \"postcode\": \"00100\", \"city\": \"H\", \"lat\": 60.2, \"lon\": 25}", 2, "malformed JSON"},
		{"not an array", `{"stuff": []}`, 1, `unexpected field "stuff"`},
		{"a string", `"hello"`, 1, "want an array"},
		{"trailing data", "[]\n[]", 2, "after the end"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, errs := read(t, tt.data, "f.json", nil)
			if len(errs) != 1 || errs[0].Line != tt.line || !strings.Contains(errs[0].Message, tt.contains) {
				t.Errorf("got %#v, want one error on line %d containing %q", errs, tt.line, tt.contains)
			}
		})
	}
	if locs := mustRead(t, `{"locations": []}`, "f.json"); len(locs) != 0 {
		t.Errorf("empty locations: %v", locs)
	}
}

func TestOpeningHoursSyntax(t *testing.T) {
	oh := func(d int, from, to string) lokero.OpeningHours {
		return lokero.OpeningHours{Weekday: d, From: from, To: to}
	}
	tests := []struct {
		in     string
		want   []lokero.OpeningHours
		format string
	}{
		{"", nil, ""},
		{"24/7", lokero.AlwaysOpen(), "24/7"},
		{"Mo-Su 00:00-24:00", lokero.AlwaysOpen(), "24/7"},
		{"Sa 10:00-14:00; Mo-Fr 9.00-18:00", []lokero.OpeningHours{
			oh(1, "09:00", "18:00"), oh(2, "09:00", "18:00"), oh(3, "09:00", "18:00"), oh(4, "09:00", "18:00"),
			oh(5, "09:00", "18:00"), oh(6, "10:00", "14:00")}, "Mo-Fr 09:00-18:00; Sa 10:00-14:00; Su closed"},
		{"ma-pe 8:00–16:00; la-su suljettu", []lokero.OpeningHours{
			oh(1, "08:00", "16:00"), oh(2, "08:00", "16:00"), oh(3, "08:00", "16:00"), oh(4, "08:00", "16:00"),
			oh(5, "08:00", "16:00")}, "Mo-Fr 08:00-16:00; Sa-Su closed"},
		{"Sa-Mo 10:00-12:00, 13:00-15:00", []lokero.OpeningHours{
			oh(1, "10:00", "12:00"), oh(1, "13:00", "15:00"), oh(6, "10:00", "12:00"), oh(6, "13:00", "15:00"),
			oh(7, "10:00", "12:00"), oh(7, "13:00", "15:00")}, "Mo 10:00-12:00,13:00-15:00; Tu-Fr closed; Sa-Su 10:00-12:00,13:00-15:00"},
		{"Mo , We,Fr  12:00 – 24:00", []lokero.OpeningHours{oh(1, "12:00", "24:00"), oh(3, "12:00", "24:00"), oh(5, "12:00", "24:00")},
			"Mo 12:00-24:00; Tu closed; We 12:00-24:00; Th closed; Fr 12:00-24:00; Sa-Su closed"},
	}
	for _, tt := range tests {
		got, err := ParseOpeningHours(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseOpeningHours(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			continue
		}
		if f := FormatOpeningHours(got); f != tt.format {
			t.Errorf("FormatOpeningHours(%q) = %q, want %q", tt.in, f, tt.format)
		}
		if again, err := ParseOpeningHours(tt.format); err != nil || !reflect.DeepEqual(again, tt.want) {
			t.Errorf("re-parse of %q = %v, %v", tt.format, again, err)
		}
	}
	for _, bad := range []string{"Mo-Fr", "Mo-Fr 08:00", "Mo 25:00-26:00", "Mo 08:00-08:00", "Mo 24:00-24:00",
		"24/7; Su closed", "Mo-Su closed", "Mo 8-20", "Mo 08:60-09:00", "Mon 08:00-09:00"} {
		if got, err := ParseOpeningHours(bad); err == nil {
			t.Errorf("ParseOpeningHours(%q) = %v, want an error", bad, got)
		}
	}
}

func TestCompartmentsSyntax(t *testing.T) {
	want := []lokero.CompartmentClass{
		{Size: "S", LengthCM: 70, WidthCM: 40, HeightCM: 10, Count: 20},
		{Size: "XS", LengthCM: 60, WidthCM: 35, HeightCM: 8, Count: 4},
	}
	for _, in := range []string{
		"S:70x40x10*20; XS:60x35x8*4",
		"s*20;XS:60×35×8*4;",
		"S:70x40x10x20; XS:60X35X8x4",
	} {
		got, err := ParseCompartments(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseCompartments(%q) = %+v, %v", in, got, err)
		}
	}
	if f := FormatCompartments(want); f != "S:70x40x10*20; XS:60x35x8*4" {
		t.Errorf("FormatCompartments = %q", f)
	}
	for _, bad := range []string{"S", "S:70x40x10", "S:70x40*2", "S:70xAx10*2", "S*many", ":70x40x10*2", "Q*3"} {
		if got, err := ParseCompartments(bad); err == nil {
			t.Errorf("ParseCompartments(%q) = %+v, want an error", bad, got)
		}
	}
}

// TestNotUTF8: a file saved in Windows-1252 or Latin-1 (Excel's plain
// "CSV") is refused with the line of its first byte that is not UTF-8,
// never read with U+FFFD for ä.
func TestNotUTF8(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, data string
		line       int
		fix        string
	}{
		{"net.csv", "id;type;name;street;postcode;city;lat;lon\n" +
			"PO-X;POSTOFFICE;Posti H\xe4meenlinna;Raatihuoneenkatu 11;13100;H\xe4meenlinna;60,996;24,464\n", 2, "save the file as CSV UTF-8"},
		{"net.csv", header + strings.SplitAfter(sampleCSV, "\n")[1] +
			"PO-Y,POSTOFFICE,Posti,Katu 1,13100,H\xe4meenlinna,60.99,24.46,,,,,\n", 3, "save the file as CSV UTF-8"},
		{"net", "id,type,name,street,postcode,city,lat,lon\nPO-X,POSTOFFICE,Posti H\xe4meenlinna,Katu 1,13100,Hml,60.99,24.46\n", 2, "save the file as CSV UTF-8"},
		{"net.json", "[\n {\"id\": \"PO-X\", \"type\": \"POSTOFFICE\",\n  \"name\": \"Posti H\xe4meenlinna\"}]", 3, "save the file as UTF-8"},
	}
	for _, tt := range tests {
		_, errs := read(t, tt.data, tt.name, nil)
		if len(errs) != 1 || errs[0].Line != tt.line || !strings.HasPrefix(errs[0].Message, "not UTF-8: "+tt.fix) {
			t.Errorf("%s: %v; want one error on line %d: not UTF-8: %s", tt.name, errs, tt.line, tt.fix)
		}
	}
	// Valid UTF-8 with a byte-order mark is read as before.
	if locs := mustRead(t, "\ufeffid,type,name,street,postcode,city,lat,lon\nPO-X,POSTOFFICE,Posti Hämeenlinna,Katu 1,13100,Hämeenlinna,60.99,24.46\n", "net.csv"); locs[0].Name != "Posti Hämeenlinna" {
		t.Errorf("name %q", locs[0].Name)
	}
}
