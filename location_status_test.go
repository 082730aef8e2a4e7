package lokero_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lokero/lokero"
)

// postOffice is a valid, normalised post office open Mo-Fr 09:00-18:00 and
// Sa 10:00-14:00, closed on Sundays.
func postOffice() lokero.Location {
	l := lokero.Location{
		ID: "PO-1", Type: lokero.TypePostOffice, Name: "Posti Kamppi", Street: "Kampinkuja 2",
		Postcode: "00100", City: "Helsinki", Lat: 60.169, Lon: 24.931,
		OpeningHours: []lokero.OpeningHours{
			{Weekday: 1, From: "09:00", To: "18:00"}, {Weekday: 2, From: "09:00", To: "18:00"},
			{Weekday: 3, From: "09:00", To: "18:00"}, {Weekday: 4, From: "09:00", To: "18:00"},
			{Weekday: 5, From: "09:00", To: "18:00"}, {Weekday: 6, From: "10:00", To: "14:00"},
		},
	}
	l.Normalize()
	return l
}

// smartpost is a valid, normalised parcel locker, open round the clock.
func smartpost() lokero.Location {
	l := lokero.Location{
		ID: "SP-1", Type: lokero.TypeSmartpost, Name: "Smartpost Kamppi", Street: "Kauppakatu 1",
		Postcode: "00100", City: "Helsinki", Lat: 60.17, Lon: 24.94,
		Compartments: []lokero.CompartmentClass{{Size: "S", LengthCM: 70, WidthCM: 40, HeightCM: 10, Count: 3}},
	}
	l.Normalize()
	return l
}

func TestCalendarOfTheTests(t *testing.T) {
	// The tests below rely on these weekdays.
	for date, want := range map[string]time.Weekday{
		"2026-06-19": time.Friday, "2026-06-21": time.Sunday, "2026-06-22": time.Monday,
		"2026-12-20": time.Sunday, "2026-12-24": time.Thursday,
	} {
		d, _ := time.Parse("2006-01-02", date)
		if d.Weekday() != want {
			t.Fatalf("%s is a %v, not a %v", date, d.Weekday(), want)
		}
	}
}

func TestNormalizeStatus(t *testing.T) {
	for _, tt := range []struct {
		typ  lokero.LocationType
		want []string
	}{
		{lokero.TypeLocker, []string{"collect", "send", "return"}},
		{lokero.TypeSmartpost, []string{"collect", "send", "return"}},
		{lokero.TypePostOffice, []string{"collect", "send", "return"}},
		{lokero.TypePickupPoint, []string{"collect", "return"}},
	} {
		l := lokero.Location{Type: tt.typ}
		l.Normalize()
		if l.Status != lokero.LocationOpen {
			t.Errorf("%s: status %q, want OPEN", tt.typ, l.Status)
		}
		if !reflect.DeepEqual(l.Functions, tt.want) {
			t.Errorf("%s: functions %q, want %q", tt.typ, l.Functions, tt.want)
		}
	}

	l := postOffice()
	l.Status = " temporarily_closed "
	l.Functions = []string{"return", " Collect", "return", "send"}
	l.ExceptionDays = []lokero.ExceptionDay{
		{Date: "2026-12-24", From: "10:00", To: "14:00"},
		{Date: "2026-06-19", Closed: true, Reason: " Midsummer Eve "},
	}
	l.Normalize()
	if l.Status != lokero.LocationTemporarilyClosed {
		t.Errorf("status %q, want TEMPORARILY_CLOSED", l.Status)
	}
	if want := []string{"collect", "send", "return"}; !reflect.DeepEqual(l.Functions, want) {
		t.Errorf("functions %q, want %q", l.Functions, want)
	}
	wantDays := []lokero.ExceptionDay{
		{Date: "2026-06-19", Closed: true, Reason: "Midsummer Eve"},
		{Date: "2026-12-24", From: "10:00", To: "14:00"},
	}
	if !reflect.DeepEqual(l.ExceptionDays, wantDays) {
		t.Errorf("exception days %+v, want %+v", l.ExceptionDays, wantDays)
	}
	again := l
	again.ExceptionDays = append([]lokero.ExceptionDay(nil), l.ExceptionDays...)
	again.Functions = append([]string(nil), l.Functions...)
	again.Normalize()
	if !reflect.DeepEqual(again, l) {
		t.Errorf("Normalize is not idempotent:\n%+v\n%+v", again, l)
	}

	// Given functions are kept (not replaced by the default).
	pp := lokero.Location{Type: lokero.TypePickupPoint, Functions: []string{"send"}}
	pp.Normalize()
	if !reflect.DeepEqual(pp.Functions, []string{"send"}) {
		t.Errorf("pickup point with send: functions %q", pp.Functions)
	}
}

func TestValidateStatus(t *testing.T) {
	long := strings.Repeat("ä", lokero.MaxReasonLength)
	tests := []struct {
		name           string
		edit           func(l *lokero.Location)
		field, reason  string // "" for a valid location
		messageContain string
	}{
		{"open", func(l *lokero.Location) {}, "", "", ""},
		{"temporarily closed from a day", func(l *lokero.Location) {
			l.Status, l.StatusFrom = lokero.LocationTemporarilyClosed, "2026-12-20"
		}, "", "", ""},
		{"temporarily closed one day", func(l *lokero.Location) {
			l.Status, l.StatusFrom, l.StatusUntil = lokero.LocationTemporarilyClosed, "2026-12-20", "2026-12-20"
		}, "", "", ""},
		{"temporarily closed with a reason of 200 characters", func(l *lokero.Location) {
			l.Status, l.StatusFrom, l.StatusUntil, l.StatusReason = lokero.LocationTemporarilyClosed, "2026-12-20", "2027-01-06", long
		}, "", "", ""},
		{"not yet open", func(l *lokero.Location) { l.Status, l.OpensOn = lokero.LocationNotYetOpen, "2027-02-01" }, "", "", ""},
		{"closed with a reason", func(l *lokero.Location) { l.Status, l.StatusReason = lokero.LocationClosed, "moved" }, "", "", ""},
		{"lower-case status", func(l *lokero.Location) { l.Status = "closed" }, "", "", ""},
		{"exception days", func(l *lokero.Location) {
			l.ExceptionDays = []lokero.ExceptionDay{
				{Date: "2026-12-24", From: "10:00", To: "14:00", Reason: "Christmas Eve"},
				{Date: "2026-06-19", Closed: true, Reason: long},
				{Date: "2026-12-31", From: "00:00", To: "24:00"},
			}
		}, "", "", ""},
		{"some functions", func(l *lokero.Location) { l.Functions = []string{"return", "collect"} }, "", "", ""},

		{"unknown status", func(l *lokero.Location) { l.Status = "FOO" }, "status", "unknown_status", "OPEN, TEMPORARILY_CLOSED, NOT_YET_OPEN, CLOSED"},
		{"month 13", func(l *lokero.Location) {
			l.Status, l.StatusFrom = lokero.LocationTemporarilyClosed, "2026-13-01"
		}, "status_from", "malformed", "2026-13-01"},
		{"30 February", func(l *lokero.Location) {
			l.Status, l.StatusFrom = lokero.LocationTemporarilyClosed, "2026-02-30"
		}, "status_from", "malformed", ""},
		{"until malformed", func(l *lokero.Location) {
			l.Status, l.StatusFrom, l.StatusUntil = lokero.LocationTemporarilyClosed, "2026-12-20", "6.1.2027"
		}, "status_until", "malformed", ""},
		{"opens_on without zero padding", func(l *lokero.Location) {
			l.Status, l.OpensOn = lokero.LocationNotYetOpen, "2027-2-1"
		}, "opens_on", "malformed", ""},
		{"until before from", func(l *lokero.Location) {
			l.Status, l.StatusFrom, l.StatusUntil = lokero.LocationTemporarilyClosed, "2026-12-20", "2026-12-19"
		}, "status_until", "before_from", "before"},
		{"temporarily closed without from", func(l *lokero.Location) {
			l.Status, l.StatusUntil = lokero.LocationTemporarilyClosed, "2026-12-20"
		}, "status_from", "required", ""},
		{"not yet open without opens_on", func(l *lokero.Location) { l.Status = lokero.LocationNotYetOpen }, "opens_on", "required", ""},
		{"open with from", func(l *lokero.Location) { l.StatusFrom = "2026-12-20" }, "status_from", "not_allowed", ""},
		{"closed with until", func(l *lokero.Location) {
			l.Status, l.StatusUntil = lokero.LocationClosed, "2026-12-20"
		}, "status_until", "not_allowed", ""},
		{"temporarily closed with opens_on", func(l *lokero.Location) {
			l.Status, l.StatusFrom, l.OpensOn = lokero.LocationTemporarilyClosed, "2026-12-20", "2027-01-07"
		}, "opens_on", "not_allowed", ""},
		{"open with a reason", func(l *lokero.Location) { l.StatusReason = "renovation" }, "status_reason", "not_allowed", ""},
		{"reason too long", func(l *lokero.Location) {
			l.Status, l.StatusReason = lokero.LocationClosed, long+"x"
		}, "status_reason", "too_long", "201"},
		{"exception date malformed", func(l *lokero.Location) {
			l.ExceptionDays = []lokero.ExceptionDay{{Date: "2026-06-31", Closed: true}}
		}, "exception_days[0].date", "malformed", ""},
		{"exception date twice", func(l *lokero.Location) {
			l.ExceptionDays = []lokero.ExceptionDay{{Date: "2026-06-19", Closed: true}, {Date: "2026-06-19", From: "10:00", To: "12:00"}}
		}, "exception_days[1].date", "duplicate", "2026-06-19"},
		{"exception neither closed nor hours", func(l *lokero.Location) {
			l.ExceptionDays = []lokero.ExceptionDay{{Date: "2026-06-19"}}
		}, "exception_days[0].from", "malformed", ""},
		{"exception closed with hours", func(l *lokero.Location) {
			l.ExceptionDays = []lokero.ExceptionDay{{Date: "2026-06-19", Closed: true, From: "10:00", To: "12:00"}}
		}, "exception_days[0].from", "not_allowed", ""},
		{"exception bad closing time", func(l *lokero.Location) {
			l.ExceptionDays = []lokero.ExceptionDay{{Date: "2026-06-19", From: "10:00", To: "25:00"}}
		}, "exception_days[0].to", "malformed", ""},
		{"exception closing before opening", func(l *lokero.Location) {
			l.ExceptionDays = []lokero.ExceptionDay{{Date: "2026-06-19", From: "14:00", To: "10:00"}}
		}, "exception_days[0].to", "out_of_range", ""},
		{"exception reason too long", func(l *lokero.Location) {
			l.ExceptionDays = []lokero.ExceptionDay{{Date: "2026-06-19", Closed: true, Reason: long + "x"}}
		}, "exception_days[0].reason", "too_long", ""},
		{"unknown function", func(l *lokero.Location) { l.Functions = []string{"collect", "deliver"} }, "functions[1]", "unknown_function", `"deliver"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := postOffice()
			tt.edit(&l)
			l.Normalize()
			err := l.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
				return
			}
			var e *lokero.Error
			if !errors.As(err, &e) {
				t.Fatalf("Validate = %v, want a *lokero.Error on %s", err, tt.field)
			}
			if e.Code != lokero.EINVALID || e.Field != tt.field || e.Reason != tt.reason || !strings.Contains(e.Message, tt.messageContain) {
				t.Errorf("Validate = %s %s %s %q; want %s %s %s containing %q",
					e.Code, e.Field, e.Reason, e.Message, lokero.EINVALID, tt.field, tt.reason, tt.messageContain)
			}
		})
	}
}

func TestSetStatus(t *testing.T) {
	l := postOffice()
	l.SetStatus(lokero.LocationTemporarilyClosed)
	l.StatusFrom, l.StatusUntil, l.StatusReason = "2026-12-20", "2027-01-06", "renovation"
	if err := l.Validate(); err != nil {
		t.Fatal(err)
	}
	// The same status again keeps its fields.
	l.SetStatus(lokero.LocationTemporarilyClosed)
	if l.StatusFrom != "2026-12-20" || l.StatusUntil != "2027-01-06" || l.StatusReason != "renovation" {
		t.Errorf("SetStatus to the same status changed the fields: %+v", l.Change())
	}
	// Reopening clears them, so that the location validates.
	l.SetStatus(lokero.LocationOpen)
	if c := l.Change(); c.StatusFrom != "" || c.StatusUntil != "" || c.StatusReason != "" || c.Status != lokero.LocationOpen {
		t.Errorf("after SetStatus(OPEN): %+v", c)
	}
	if err := l.Validate(); err != nil {
		t.Errorf("after SetStatus(OPEN): %v", err)
	}
	l.SetStatus(lokero.LocationNotYetOpen)
	l.OpensOn = "2027-02-01"
	l.SetStatus(lokero.LocationClosed)
	if l.OpensOn != "" {
		t.Errorf("SetStatus(CLOSED) kept opens_on %q", l.OpensOn)
	}
}

// day is one expectation of a location on one date.
type day struct {
	date   string
	open   bool
	reason string                // ClosedReason, exactly
	hours  []lokero.OpeningHours // HoursOn
}

func checkDays(t *testing.T, l lokero.Location, days []day) {
	t.Helper()
	for _, d := range days {
		if got := l.OpenOn(d.date); got != d.open {
			t.Errorf("%s: OpenOn(%s) = %v, want %v", l.ID, d.date, got, d.open)
		}
		if got := l.ClosedReason(d.date); got != d.reason {
			t.Errorf("%s: ClosedReason(%s) = %q, want %q", l.ID, d.date, got, d.reason)
		}
		if got := l.HoursOn(d.date); !reflect.DeepEqual(got, d.hours) {
			t.Errorf("%s: HoursOn(%s) = %+v, want %+v", l.ID, d.date, got, d.hours)
		}
	}
}

func allDay(weekday int) []lokero.OpeningHours {
	return []lokero.OpeningHours{{Weekday: weekday, From: "00:00", To: "24:00"}}
}

func TestTemporarilyClosed(t *testing.T) {
	l := smartpost()
	l.Status, l.StatusFrom, l.StatusUntil, l.StatusReason = lokero.LocationTemporarilyClosed, "2026-12-20", "2027-01-06", "renovation"
	const reason = "temporarily closed 2026-12-20–2027-01-06: renovation"
	checkDays(t, l, []day{
		{"2026-12-19", true, "", allDay(6)},
		{"2026-12-20", false, reason, nil},
		{"2026-12-31", false, reason, nil},
		{"2027-01-06", false, reason, nil},
		{"2027-01-07", true, "", allDay(4)},
	})

	l.StatusUntil, l.StatusReason = "", ""
	checkDays(t, l, []day{
		{"2026-12-19", true, "", allDay(6)},
		{"2026-12-20", false, "temporarily closed from 2026-12-20 until further notice", nil},
		{"2030-01-01", false, "temporarily closed from 2026-12-20 until further notice", nil},
	})

	// Outside the closed range the weekly hours still apply.
	po := postOffice()
	po.Status, po.StatusFrom, po.StatusUntil = lokero.LocationTemporarilyClosed, "2026-06-23", "2026-06-30"
	checkDays(t, po, []day{
		{"2026-06-21", false, "closed on Sundays", nil},
		{"2026-06-22", true, "", []lokero.OpeningHours{{Weekday: 1, From: "09:00", To: "18:00"}}},
		{"2026-06-23", false, "temporarily closed 2026-06-23–2026-06-30", nil},
	})
}

func TestNotYetOpenAndClosed(t *testing.T) {
	l := smartpost()
	l.Status, l.OpensOn = lokero.LocationNotYetOpen, "2027-02-01"
	checkDays(t, l, []day{
		{"2026-06-22", false, "opens on 2027-02-01", nil},
		{"2027-01-31", false, "opens on 2027-02-01", nil},
		{"2027-02-01", true, "", allDay(1)},
		{"2028-01-01", true, "", allDay(6)},
	})

	l = smartpost()
	l.Status = lokero.LocationClosed
	checkDays(t, l, []day{
		{"2000-01-01", false, "permanently closed", nil},
		{"2026-06-22", false, "permanently closed", nil},
	})
	l.StatusReason = "moved to Kauppakatu 3"
	checkDays(t, l, []day{{"2026-06-22", false, "permanently closed: moved to Kauppakatu 3", nil}})
}

func TestExceptionDays(t *testing.T) {
	l := postOffice()
	l.ExceptionDays = []lokero.ExceptionDay{
		{Date: "2026-06-19", Closed: true, Reason: "Midsummer Eve"},
		{Date: "2026-06-20", Closed: true},
		{Date: "2026-12-20", From: "12:00", To: "16:00", Reason: "Christmas shopping"}, // a Sunday
		{Date: "2026-12-24", From: "10:00", To: "14:00", Reason: "Christmas Eve"},
	}
	l.Normalize()
	if err := l.Validate(); err != nil {
		t.Fatal(err)
	}
	checkDays(t, l, []day{
		{"2026-06-18", true, "", []lokero.OpeningHours{{Weekday: 4, From: "09:00", To: "18:00"}}},
		{"2026-06-19", false, "closed on 2026-06-19: Midsummer Eve", nil},
		{"2026-06-20", false, "closed on 2026-06-20", nil},
		{"2026-06-21", false, "closed on Sundays", nil},
		{"2026-06-27", true, "", []lokero.OpeningHours{{Weekday: 6, From: "10:00", To: "14:00"}}},
		{"2026-12-13", false, "closed on Sundays", nil},
		{"2026-12-20", true, "", []lokero.OpeningHours{{Weekday: 7, From: "12:00", To: "16:00"}}},
		{"2026-12-24", true, "", []lokero.OpeningHours{{Weekday: 4, From: "10:00", To: "14:00"}}},
		{"2026-12-17", true, "", []lokero.OpeningHours{{Weekday: 4, From: "09:00", To: "18:00"}}},
	})

	// The status wins over an exception day that would open the point.
	l.Status, l.StatusFrom = lokero.LocationTemporarilyClosed, "2026-12-01"
	checkDays(t, l, []day{
		{"2026-12-24", false, "temporarily closed from 2026-12-01 until further notice", nil},
	})
}

func TestNoOpeningHours(t *testing.T) {
	// A pickup point whose hours are not known counts as open every day.
	l := postOffice()
	l.Type, l.OpeningHours = lokero.TypePickupPoint, nil
	checkDays(t, l, []day{
		{"2026-06-21", true, "", nil},
		{"2026-06-22", true, "", nil},
	})
	if !l.OpenAt(time.Date(2026, 6, 21, 0, 30, 0, 0, time.UTC)) {
		t.Error("OpenAt of a location without hours = false, want true")
	}
	// An exception day still closes it, or gives it hours.
	l.ExceptionDays = []lokero.ExceptionDay{{Date: "2026-06-19", Closed: true}, {Date: "2026-06-20", From: "10:00", To: "12:00"}}
	checkDays(t, l, []day{
		{"2026-06-19", false, "closed on 2026-06-19", nil},
		{"2026-06-20", true, "", []lokero.OpeningHours{{Weekday: 6, From: "10:00", To: "12:00"}}},
	})
	if l.OpenAt(time.Date(2026, 6, 20, 6, 0, 0, 0, time.UTC)) { // 09:00 in Helsinki
		t.Error("OpenAt before an exception day's hours = true, want false")
	}
	if !l.OpenAt(time.Date(2026, 6, 20, 7, 0, 0, 0, time.UTC)) { // 10:00 in Helsinki
		t.Error("OpenAt within an exception day's hours = false, want true")
	}
}

func TestMalformedDateIsNeverOpen(t *testing.T) {
	l := smartpost()
	for _, date := range []string{"", "2026-02-30", "2026-6-1", "tomorrow"} {
		if l.OpenOn(date) || l.ClosedReason(date) == "" || l.HoursOn(date) != nil {
			t.Errorf("%q: OpenOn %v, ClosedReason %q, HoursOn %v; want closed", date,
				l.OpenOn(date), l.ClosedReason(date), l.HoursOn(date))
		}
	}
}

func TestOpenAt(t *testing.T) {
	utc := func(y int, m time.Month, d, hh, mm int) time.Time { return time.Date(y, m, d, hh, mm, 0, 0, time.UTC) }
	po := postOffice()
	po.ExceptionDays = []lokero.ExceptionDay{{Date: "2026-12-24", From: "10:00", To: "14:00"}}
	locker := smartpost()
	locker.Status, locker.StatusFrom, locker.StatusUntil = lokero.LocationTemporarilyClosed, "2026-06-22", "2026-06-22"
	tests := []struct {
		name string
		l    lokero.Location
		at   time.Time
		want bool
	}{
		// Summer: Helsinki is UTC+3.
		{"Monday 08:59", po, utc(2026, 6, 22, 5, 59), false},
		{"Monday 09:00", po, utc(2026, 6, 22, 6, 0), true},
		{"Monday 17:59", po, utc(2026, 6, 22, 14, 59), true},
		{"Monday 18:00", po, utc(2026, 6, 22, 15, 0), false},
		{"Sunday noon", po, utc(2026, 6, 21, 9, 0), false},
		// Winter: UTC+2; the exception day's hours, not Thursday's.
		{"Christmas Eve 09:59", po, utc(2026, 12, 24, 7, 59), false},
		{"Christmas Eve 10:00", po, utc(2026, 12, 24, 8, 0), true},
		{"Christmas Eve 13:59", po, utc(2026, 12, 24, 11, 59), true},
		{"Christmas Eve 14:00", po, utc(2026, 12, 24, 12, 0), false},
		{"Thursday before 17:00", po, utc(2026, 12, 17, 15, 0), true},
		// The Helsinki date decides, not the UTC one: 21:30 UTC on the 21st
		// is 00:30 on the 22nd, the closed day.
		{"locker 23:59 the day before", locker, utc(2026, 6, 21, 20, 59), true},
		{"locker 00:30 on the closed day", locker, utc(2026, 6, 21, 21, 30), false},
		{"locker 23:59 on the closed day", locker, utc(2026, 6, 22, 20, 59), false},
		{"locker 00:00 the day after", locker, utc(2026, 6, 22, 21, 0), true},
	}
	for _, tt := range tests {
		if got := tt.l.OpenAt(tt.at); got != tt.want {
			t.Errorf("%s: OpenAt(%v) = %v, want %v", tt.name, tt.at, got, tt.want)
		}
	}
}

func TestHas(t *testing.T) {
	po, pp := postOffice(), postOffice()
	pp.Type, pp.Functions = lokero.TypePickupPoint, nil
	pp.Normalize()
	only := postOffice()
	only.Functions = []string{lokero.FunctionCollect}
	bare := lokero.Location{Type: lokero.TypePickupPoint} // not normalised: the type's default
	for _, tt := range []struct {
		name     string
		l        lokero.Location
		function string
		want     bool
	}{
		{"post office sends", po, lokero.FunctionSend, true},
		{"post office returns", po, lokero.FunctionReturn, true},
		{"pickup point collects", pp, lokero.FunctionCollect, true},
		{"pickup point does not send", pp, lokero.FunctionSend, false},
		{"collect only does not return", only, lokero.FunctionReturn, false},
		{"collect only collects", only, lokero.FunctionCollect, true},
		{"bare pickup point returns", bare, lokero.FunctionReturn, true},
		{"bare pickup point does not send", bare, lokero.FunctionSend, false},
		{"unknown function", po, "deliver", false},
	} {
		if got := tt.l.Has(tt.function); got != tt.want {
			t.Errorf("%s: Has(%q) = %v, want %v", tt.name, tt.function, got, tt.want)
		}
	}
}

func TestLocationChange(t *testing.T) {
	l := postOffice()
	l.Status, l.StatusFrom, l.StatusUntil, l.StatusReason = lokero.LocationTemporarilyClosed, "2026-12-20", "2027-01-06", "renovation"
	l.ExceptionDays = []lokero.ExceptionDay{{Date: "2026-06-19", Closed: true, Reason: "Midsummer Eve"}, {Date: "2026-12-24", From: "10:00", To: "14:00"}}
	l.WheelchairAccess = true
	c := l.Change()
	b, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"status":"TEMPORARILY_CLOSED","status_from":"2026-12-20","status_until":"2027-01-06",` +
		`"status_reason":"renovation","exception_days":[{"date":"2026-06-19","closed":true,"reason":"Midsummer Eve"},` +
		`{"date":"2026-12-24","closed":false,"from":"10:00","to":"14:00"}],"wheelchair_access":true,` +
		`"functions":["collect","send","return"]}`
	if string(b) != want {
		t.Errorf("JSON of the change:\n got %s\nwant %s", b, want)
	}
	var back lokero.LocationChange
	if err := json.Unmarshal(b, &back); err != nil || !back.Equal(c) {
		t.Errorf("JSON round trip: %+v, %v", back, err)
	}

	// Change copies: later edits of the location do not show in it.
	l.ExceptionDays[0].Reason = "changed"
	l.Functions[0] = "changed"
	if c.ExceptionDays[0].Reason != "Midsummer Eve" || c.Functions[0] != "collect" {
		t.Errorf("Change shares the location's slices: %+v", c)
	}

	if !c.Equal(c) {
		t.Error("a change is not Equal to itself")
	}
	empty := lokero.LocationChange{Status: lokero.LocationOpen, ExceptionDays: []lokero.ExceptionDay{}, Functions: []string{}}
	if !empty.Equal(lokero.LocationChange{Status: lokero.LocationOpen}) {
		t.Error("empty and nil slices are not Equal")
	}
	for name, edit := range map[string]func(*lokero.LocationChange){
		"status":          func(d *lokero.LocationChange) { d.Status = lokero.LocationClosed },
		"from":            func(d *lokero.LocationChange) { d.StatusFrom = "2026-12-21" },
		"until":           func(d *lokero.LocationChange) { d.StatusUntil = "" },
		"reason":          func(d *lokero.LocationChange) { d.StatusReason = "holiday" },
		"opens on":        func(d *lokero.LocationChange) { d.OpensOn = "2027-01-01" },
		"exception hours": func(d *lokero.LocationChange) { d.ExceptionDays[1].To = "15:00" },
		"exception gone":  func(d *lokero.LocationChange) { d.ExceptionDays = d.ExceptionDays[:1] },
		"wheelchair":      func(d *lokero.LocationChange) { d.WheelchairAccess = false },
		"functions":       func(d *lokero.LocationChange) { d.Functions = []string{"collect", "return", "send"} },
	} {
		d := c
		d.ExceptionDays = append([]lokero.ExceptionDay(nil), c.ExceptionDays...)
		d.Functions = append([]string(nil), c.Functions...)
		edit(&d)
		if c.Equal(d) || d.Equal(c) {
			t.Errorf("a change of %s is Equal to the original", name)
		}
	}
	if !(lokero.LocationChange{}).IsZero() || c.IsZero() {
		t.Error("IsZero wrong")
	}
}

// TestOpenWeekdays: for a plain point the precomputed weekdays answer as
// OpenOn does on every day of a year; a point with a status or exception
// days is not plain.
func TestOpenWeekdays(t *testing.T) {
	t.Parallel()
	weekdays := lokero.Location{ID: "a", OpeningHours: []lokero.OpeningHours{{Weekday: 1, From: "08:00", To: "16:00"}, {Weekday: 5, From: "08:00", To: "12:00"}}}
	always := lokero.Location{ID: "b", Status: lokero.LocationOpen}
	for _, l := range []lokero.Location{weekdays, always} {
		days, plain := l.OpenWeekdays()
		if !plain {
			t.Fatalf("%s is not plain", l.ID)
		}
		for d := (lokero.Date{Year: 2026, Month: time.January, Day: 1}); d.Year == 2026; d = d.AddDays(1) {
			on := d.String()
			if got := days&(1<<lokero.WeekdayOn(on)) != 0; got != l.OpenOn(on) {
				t.Errorf("%s on %s: weekdays say %v, OpenOn %v", l.ID, on, got, l.OpenOn(on))
			}
		}
	}
	closed := lokero.Location{ID: "c", Status: lokero.LocationTemporarilyClosed, StatusFrom: "2026-12-01"}
	exception := lokero.Location{ID: "d", ExceptionDays: []lokero.ExceptionDay{{Date: "2026-12-24", Closed: true}}}
	for _, l := range []lokero.Location{closed, exception} {
		if _, plain := l.OpenWeekdays(); plain {
			t.Errorf("%s is plain", l.ID)
		}
	}
	if lokero.WeekdayOn("2026-12-07") != 1 || lokero.WeekdayOn("2026-12-06") != 7 || lokero.WeekdayOn("bad") != 0 {
		t.Error("WeekdayOn")
	}
}
