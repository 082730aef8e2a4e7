package locationfile

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/lokero/lokero"
)

const statusHeader = "id,type,name,street,postcode,city,lat,lon,opening_hours,compartments," +
	"status,status_from,status_until,status_reason,opens_on,exception_days,functions\n"

const statusCSV = statusHeader +
	`SP-1,SMARTPOST,Smartpost Kamppi,Kauppakatu 1,00100,Helsinki,60.17,24.94,24/7,S*10,` +
	`temporarily_closed,2026-12-20,2027-01-06,renovation,,,` + "\n" +
	`PO-1,POSTOFFICE,Posti Kamppi,Kampinkuja 2,00100,Helsinki,60.169,24.931,"Mo-Fr 09:00-18:00; Sa 10:00-14:00",,` +
	`,,,,,"2026-12-24 10:00 - 14:00 Christmas Eve; 2026-06-19 closed Midsummer Eve;2026-06-20 suljettu",` + "\n" +
	`PP-1,PICKUPPOINT,R-kioski,Hämeenkatu 10,33100,Tampere,61.4981,23.7608,,,` +
	`Not yet open,,,new shop,2027-02-01,,"return, collect"` + "\n" +
	`PP-2,PICKUPPOINT,K-Market,Hämeenkatu 12,33100,Tampere,61.4982,23.7609,,,` +
	`CLOSED,,,,,,send` + "\n"

const statusJSON = `[
  {"id": "SP-1", "type": "SMARTPOST", "name": "Smartpost Kamppi", "street": "Kauppakatu 1", "postcode": "00100",
   "city": "Helsinki", "lat": 60.17, "lon": 24.94, "opening_hours": "24/7", "compartments": "S*10",
   "status": "TEMPORARILY_CLOSED", "status_from": "2026-12-20", "status_until": "2027-01-06",
   "status_reason": "renovation", "exception_days": null, "functions": null},
  {"id": "PO-1", "type": "POSTOFFICE", "name": "Posti Kamppi", "street": "Kampinkuja 2", "postcode": "00100",
   "city": "Helsinki", "lat": 60.169, "lon": 24.931, "opening_hours": "Mo-Fr 09:00-18:00; Sa 10:00-14:00",
   "exception_days": [{"date": "2026-12-24", "closed": false, "from": "10:00", "to": "14:00", "reason": "Christmas Eve"},
                      {"date": "2026-06-19", "closed": true, "reason": "Midsummer Eve"},
                      {"date": "2026-06-20", "closed": true}]},
  {"id": "PP-1", "type": "PICKUPPOINT", "name": "R-kioski", "street": "Hämeenkatu 10", "postcode": "33100",
   "city": "Tampere", "lat": 61.4981, "lon": 23.7608, "status": "not_yet_open", "status_reason": "new shop",
   "opens_on": "2027-02-01", "functions": ["return", "collect"]},
  {"id": "PP-2", "type": "PICKUPPOINT", "name": "K-Market", "street": "Hämeenkatu 12", "postcode": "33100",
   "city": "Tampere", "lat": 61.4982, "lon": 23.7609, "status": "CLOSED", "functions": "send"}
]`

func TestStatusColumns(t *testing.T) {
	locs := mustRead(t, statusCSV, "status.csv")
	if len(locs) != 4 {
		t.Fatalf("got %d locations, want 4", len(locs))
	}
	sp, po, pp1, pp2 := locs[0], locs[1], locs[2], locs[3]
	if c := sp.Change(); !c.Equal(lokero.LocationChange{
		Status: lokero.LocationTemporarilyClosed, StatusFrom: "2026-12-20", StatusUntil: "2027-01-06",
		StatusReason: "renovation", Functions: []string{"collect", "send", "return"},
	}) {
		t.Errorf("SP-1: %+v", c)
	}
	wantDays := []lokero.ExceptionDay{
		{Date: "2026-06-19", Closed: true, Reason: "Midsummer Eve"},
		{Date: "2026-06-20", Closed: true},
		{Date: "2026-12-24", From: "10:00", To: "14:00", Reason: "Christmas Eve"},
	}
	if c := po.Change(); !c.Equal(lokero.LocationChange{
		Status: lokero.LocationOpen, ExceptionDays: wantDays, Functions: []string{"collect", "send", "return"},
	}) {
		t.Errorf("PO-1: %+v", c)
	}
	if c := pp1.Change(); !c.Equal(lokero.LocationChange{
		Status: lokero.LocationNotYetOpen, StatusReason: "new shop", OpensOn: "2027-02-01",
		Functions: []string{"collect", "return"},
	}) {
		t.Errorf("PP-1: %+v", c)
	}
	if c := pp2.Change(); !c.Equal(lokero.LocationChange{Status: lokero.LocationClosed, Functions: []string{"send"}}) {
		t.Errorf("PP-2: %+v", c)
	}

	fromJSON := mustRead(t, statusJSON, "status.json")
	if !reflect.DeepEqual(fromJSON, locs) {
		t.Errorf("JSON and CSV differ:\nCSV  %+v\nJSON %+v", locs, fromJSON)
	}
}

func TestStatusRoundTrip(t *testing.T) {
	locs := mustRead(t, statusCSV, "status.csv")
	locs[1].ExceptionDays[0].Reason = "Juhannusaatto; kesä" // the ';' is written as ','
	var buf bytes.Buffer
	if err := Write(&buf, locs); err != nil {
		t.Fatal(err)
	}
	got := mustRead(t, buf.String(), "export.csv")
	locs[1].ExceptionDays[0].Reason = "Juhannusaatto, kesä"
	if !reflect.DeepEqual(got, locs) {
		t.Errorf("round trip differs:\nwrote %+v\nread  %+v\nfile:\n%s", locs, got, buf.String())
	}
	for _, want := range []string{
		// Then the outlet columns: empty for a locker, the type's defaults
		// for an outlet whose file gave none.
		",TEMPORARILY_CLOSED,2026-12-20,2027-01-06,renovation,,,collect send return,,,,,\n",
		`,OPEN,,,,,"2026-06-19 closed Juhannusaatto, kesä; 2026-06-20 closed; 2026-12-24 10:00-14:00 Christmas Eve",collect send return,120,60,60,35,150` + "\n",
		",NOT_YET_OPEN,,,new shop,2027-02-01,,collect return,100,60,60,35,40\n",
	} {
		if !strings.Contains(buf.String(), want) {
			t.Errorf("export lacks %q:\n%s", want, buf.String())
		}
	}
}

func TestStatusBadRows(t *testing.T) {
	const good = `X-1,SMARTPOST,Smartpost Test,Testikatu 1,00100,Helsinki,60.17,24.94,24/7,S*10,,,,,,,`
	cols := strings.Split(strings.TrimSpace(statusHeader), ",")
	// row returns good with the given columns replaced.
	row := func(kv ...string) string {
		f := strings.Split(good, ",")
		for i := 0; i < len(kv); i += 2 {
			for j, c := range cols {
				if c == kv[i] {
					f[j] = kv[i+1]
				}
			}
		}
		return strings.Join(f, ",")
	}
	tests := []struct {
		name, row, field, contains string
	}{
		{"unknown status", row("status", "FOO"), "status", "must be one of OPEN, TEMPORARILY_CLOSED, NOT_YET_OPEN, CLOSED"},
		{"month 13", row("status", "TEMPORARILY_CLOSED", "status_from", "2026-13-01"), "status_from", "YYYY-MM-DD"},
		{"30 February", row("status", "TEMPORARILY_CLOSED", "status_from", "2026-02-30"), "status_from", "YYYY-MM-DD"},
		{"until before from", row("status", "TEMPORARILY_CLOSED", "status_from", "2026-12-20", "status_until", "2026-12-01"), "status_until", "before"},
		{"closed without from", row("status", "temporarily closed"), "status_from", "needs status_from"},
		{"from without the status", row("status_from", "2026-12-20"), "status_from", "only for a TEMPORARILY_CLOSED"},
		{"not yet open without opens_on", row("status", "NOT_YET_OPEN"), "opens_on", "needs opens_on"},
		{"opens_on malformed", row("status", "NOT_YET_OPEN", "opens_on", "1.2.2027"), "opens_on", "YYYY-MM-DD"},
		{"exception date malformed", row("exception_days", "19.6.2026 closed"), "exception_days", "not a date"},
		{"exception date impossible", row("exception_days", "2026-06-31 closed"), "exception_days", "not a date"},
		{"exception neither closed nor hours", row("exception_days", "2026-06-19 maybe"), "exception_days", `"maybe" is neither closed nor HH:MM-HH:MM`},
		{"exception without anything", row("exception_days", "2026-06-19"), "exception_days", "missing closed"},
		{"exception with two ranges", row("exception_days", `"2026-06-19 10:00-12:00,13:00-15:00"`), "exception_days", "one time range"},
		{"exception hours backwards", row("exception_days", "2026-06-19 14:00-10:00"), "exception_days", "not after"},
		{"exception date twice", row("exception_days", "2026-06-19 closed; 2026-06-19 10:00-12:00"), "exception_days[1].date", "twice"},
		{"unknown function", row("functions", "collect deliver"), "functions[1]", `"deliver"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := statusHeader + strings.Replace(good, "X-1", "X-0", 1) + "\n" + tt.row + "\n"
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
}

func TestStatusJSONErrors(t *testing.T) {
	const head = `{"id": "J-%d", "type": "POSTOFFICE", "name": "Posti", "street": "Katu 1", "postcode": "00100", "city": "Helsinki", "lat": 60.2, "lon": 24.9`
	obj := func(i int, rest string) string {
		return strings.Replace(head, "%d", string(rune('0'+i)), 1) + rest + "}"
	}
	data := "[\n" + strings.Join([]string{
		obj(1, `, "status": 1`),
		obj(2, `, "exception_days": 5`),
		obj(3, `, "exception_days": [{"date": "2026-06-19", "closed": true, "why": "x"}]`),
		obj(4, `, "exception_days": [{"date": "2026-06-19", "closed": "yes"}]`),
		obj(5, `, "functions": 3`),
		obj(6, `, "functions": ["collect", 3]`),
		obj(7, `, "exception_days": "2026-06-19 shut"`),
	}, ",\n") + "\n]"
	_, errs := read(t, data, "f.json", nil)
	want := []struct {
		line  int
		field string
		text  string
	}{
		{2, "status", "must be a string"},
		{3, "exception_days", "want an array"},
		{4, "exception_days", `unknown field "why"`},
		{5, "exception_days", "closed: want a boolean"},
		{6, "functions", "want an array"},
		{7, "functions", "want a string"},
		{8, "exception_days", "neither closed"},
	}
	if len(errs) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(errs), len(want), errs)
	}
	for i, w := range want {
		if e := errs[i]; e.Line != w.line || e.Field != w.field || !strings.Contains(e.Message, w.text) {
			t.Errorf("error %d: got line %d field %q %q; want line %d field %q containing %q", i, e.Line, e.Field, e.Message, w.line, w.field, w.text)
		}
	}
}

func TestExceptionDaysSyntax(t *testing.T) {
	closed := func(date, reason string) lokero.ExceptionDay {
		return lokero.ExceptionDay{Date: date, Closed: true, Reason: reason}
	}
	open := func(date, from, to, reason string) lokero.ExceptionDay {
		return lokero.ExceptionDay{Date: date, From: from, To: to, Reason: reason}
	}
	tests := []struct {
		in     string
		want   []lokero.ExceptionDay
		format string
	}{
		{"", nil, ""},
		{" ; ", nil, ""},
		{"2026-06-19 closed Midsummer Eve; 2026-12-24 10:00-14:00 Christmas Eve",
			[]lokero.ExceptionDay{closed("2026-06-19", "Midsummer Eve"), open("2026-12-24", "10:00", "14:00", "Christmas Eve")},
			"2026-06-19 closed Midsummer Eve; 2026-12-24 10:00-14:00 Christmas Eve"},
		{"2026-06-19 CLOSED;2026-06-20 off: Juhannuspäivä;2026-12-06 suljettu",
			[]lokero.ExceptionDay{closed("2026-06-19", ""), closed("2026-06-20", "Juhannuspäivä"), closed("2026-12-06", "")},
			"2026-06-19 closed; 2026-06-20 closed Juhannuspäivä; 2026-12-06 closed"},
		{"2026-12-31  9.00 – 12.00   New Year's Eve - short day ",
			[]lokero.ExceptionDay{open("2026-12-31", "09:00", "12:00", "New Year's Eve - short day")},
			"2026-12-31 09:00-12:00 New Year's Eve - short day"},
		{"2026-12-26 12:00-24:00", []lokero.ExceptionDay{open("2026-12-26", "12:00", "24:00", "")}, "2026-12-26 12:00-24:00"},
	}
	for _, tt := range tests {
		got, err := ParseExceptionDays(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("ParseExceptionDays(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			continue
		}
		if f := FormatExceptionDays(got); f != tt.format {
			t.Errorf("FormatExceptionDays(%q) = %q, want %q", tt.in, f, tt.format)
		}
		if again, err := ParseExceptionDays(tt.format); err != nil || !reflect.DeepEqual(again, tt.want) {
			t.Errorf("re-parse of %q = %+v, %v", tt.format, again, err)
		}
	}
	for _, bad := range []string{"closed", "2026-06-19", "2026-06-19 open", "2026-6-19 closed", "2026-02-29 closed",
		"2026-06-19 10:00", "2026-06-19 10-14", "2026-06-19 25:00-26:00", "2026-06-19 14:00-14:00",
		"2026-06-19 24:00-24:00", "2026-06-19 closed; 2026-06-20 nope"} {
		if got, err := ParseExceptionDays(bad); err == nil {
			t.Errorf("ParseExceptionDays(%q) = %+v, want an error", bad, got)
		}
	}
}

func TestFunctionsSyntax(t *testing.T) {
	for in, want := range map[string][]string{
		"":                    nil,
		" , ":                 nil,
		"collect send return": {"collect", "send", "return"},
		"Collect,Return":      {"collect", "return"},
		"send; collect":       {"send", "collect"},
		"collect\tdeliver":    {"collect", "deliver"}, // Validate refuses deliver
	} {
		got, err := ParseFunctions(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("ParseFunctions(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if f := FormatFunctions([]string{"collect", "return"}); f != "collect return" {
		t.Errorf("FormatFunctions = %q", f)
	}
}

// TestKept: a file says which of the operator's fields it leaves out — by
// its header in CSV, by each object's keys in JSON — and Apply copies
// exactly those from the stored location.
func TestKept(t *testing.T) {
	t.Parallel()
	all := KeepStatus | KeepExceptionDays | KeepWheelchairAccess | KeepFunctions
	for _, tc := range []struct {
		name, file string
		want       []Kept
	}{
		{"plain.csv", "id,type,name,street,postcode,city,lat,lon,compartments\n" +
			"SP-1,SMARTPOST,A,Katu 1,00100,Helsinki,60.17,24.94,S*10\n", []Kept{all}},
		{"status.csv", statusCSV, slices.Repeat([]Kept{KeepWheelchairAccess}, strings.Count(statusCSV, "\n")-1)},
		{"wheelchair.csv", "id,type,name,street,postcode,city,lat,lon,compartments,wheelchair_access,functions\n" +
			"SP-1,SMARTPOST,A,Katu 1,00100,Helsinki,60.17,24.94,S*10,,\n", []Kept{KeepStatus | KeepExceptionDays}},
		{"mixed.json", `[{"id":"SP-1","type":"SMARTPOST","name":"A","street":"Katu 1","postcode":"00100","city":"Helsinki",
			"lat":60.17,"lon":24.94,"compartments":"S*10","status":"OPEN","wheelchair_access":null},
			{"id":"SP-2","type":"SMARTPOST","name":"B","street":"Katu 2","postcode":"00100","city":"Helsinki",
			"lat":60.17,"lon":24.94,"compartments":"S*10","exception_days":[],"functions":"collect"}]`,
			[]Kept{KeepExceptionDays | KeepFunctions, KeepStatus | KeepWheelchairAccess}},
	} {
		_, kept, err := ReadKept(strings.NewReader(tc.file), tc.name, nil, nil)
		if err != nil || !reflect.DeepEqual(kept, tc.want) {
			t.Errorf("%s: kept %b, %v; want %b", tc.name, kept, err, tc.want)
		}
	}

	stored := lokero.Location{Status: lokero.LocationTemporarilyClosed, StatusFrom: "2026-12-01", StatusReason: "renovation",
		ExceptionDays: []lokero.ExceptionDay{{Date: "2026-12-24", Closed: true}}, WheelchairAccess: true, Functions: []string{"collect"}}
	read := lokero.Location{Status: lokero.LocationOpen, Functions: []string{"collect", "send", "return"}}
	l := read
	KeepStatus.Apply(&l, &stored)
	if l.Status != stored.Status || l.StatusFrom != "2026-12-01" || l.StatusReason != "renovation" || l.WheelchairAccess || len(l.ExceptionDays) != 0 || len(l.Functions) != 3 {
		t.Errorf("KeepStatus applied: %+v", l)
	}
	l = read
	(KeepExceptionDays | KeepWheelchairAccess | KeepFunctions).Apply(&l, &stored)
	if l.Status != lokero.LocationOpen || !l.WheelchairAccess || !reflect.DeepEqual(l.ExceptionDays, stored.ExceptionDays) || !reflect.DeepEqual(l.Functions, stored.Functions) {
		t.Errorf("the other three applied: %+v", l)
	}
	l.Functions[0] = "changed"
	if stored.Functions[0] != "collect" {
		t.Error("Apply shares the stored slice")
	}
}
