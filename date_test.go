package lokero_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/lokero/lokero"
)

// date returns y-m-d as a Date.
func date(y int, m time.Month, d int) lokero.Date {
	return lokero.Date{Year: y, Month: m, Day: d}
}

// hel returns the wall-clock time y-m-d h:mi:s in Helsinki.
func hel(y int, m time.Month, d, h, mi, s int) time.Time {
	return time.Date(y, m, d, h, mi, s, 0, lokero.Helsinki)
}

// mustZone loads a time zone for a test (tzdata is embedded through this
// package).
func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

// wantInvalidDate fails unless err is an EINVALID *lokero.Error about the
// field "date" whose message quotes the input.
func wantInvalidDate(t *testing.T, err error, input string) {
	t.Helper()
	var e *lokero.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not a *lokero.Error", err, err)
	}
	if e.Code != lokero.EINVALID || e.Field != "date" {
		t.Errorf("error code %q field %q, want %q %q", e.Code, e.Field, lokero.EINVALID, "date")
	}
	if e.Reason == "" || !strings.Contains(e.Message, input) {
		t.Errorf("error reason %q message %q: want a reason and the input %q quoted", e.Reason, e.Message, input)
	}
}

func TestParseDate(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want lokero.Date
	}{
		{"2026-12-24", date(2026, 12, 24)},
		{"2024-02-29", date(2024, 2, 29)},
		{"2000-02-29", date(2000, 2, 29)},
		{"2026-01-01", date(2026, 1, 1)},
		{"2026-12-31", date(2026, 12, 31)},
		{"2026-04-30", date(2026, 4, 30)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := lokero.ParseDate(tt.in)
			if err != nil || got != tt.want {
				t.Fatalf("ParseDate(%q) = %v, %v; want %v", tt.in, got, err, tt.want)
			}
			if s := got.String(); s != tt.in {
				t.Errorf("String() = %q, want %q", s, tt.in)
			}
		})
	}
}

func TestParseDateRejects(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in     string
		reason string
	}{
		{"", "malformed"},
		{"2026-13-01", "out_of_range"},
		{"2026-00-10", "out_of_range"},
		{"2026-02-30", "out_of_range"},
		{"2025-02-29", "out_of_range"}, // not a leap year
		{"1900-02-29", "out_of_range"}, // not a leap year either
		{"2026-04-31", "out_of_range"},
		{"2026-01-00", "out_of_range"},
		{"2026-01-32", "out_of_range"},
		{"2026-1-1", "malformed"},
		{"26-01-01", "malformed"},
		{"2026/01/01", "malformed"},
		{"20260101", "malformed"},
		{" 2026-01-01", "malformed"},
		{"2026-01-01 ", "malformed"},
		{"2026-01-01T00:00:00Z", "malformed"},
		{"+026-01-01", "malformed"},
		{"2026-+1-01", "malformed"},
		{"2026--1-01", "malformed"},
		{"abcd-ef-gh", "malformed"},
		{"２026-01-01", "malformed"}, // a fullwidth digit
		{"24.12.2026", "malformed"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := lokero.ParseDate(tt.in)
			if err == nil {
				t.Fatalf("ParseDate(%q) = %v, want an error", tt.in, got)
			}
			if !got.IsZero() {
				t.Errorf("ParseDate(%q) returned %v with its error, want the zero Date", tt.in, got)
			}
			wantInvalidDate(t, err, tt.in)
			var e *lokero.Error
			if errors.As(err, &e) && e.Reason != tt.reason {
				t.Errorf("reason %q, want %q (message %q)", e.Reason, tt.reason, e.Message)
			}
		})
	}
}

func TestDateJSON(t *testing.T) {
	t.Parallel()
	type shipment struct {
		Delivery lokero.Date `json:"delivery"`
		Pickup   lokero.Date `json:"pickup"`
	}
	in := shipment{Delivery: date(2026, 12, 28)}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"delivery":"2026-12-28","pickup":""}`; string(b) != want {
		t.Errorf("json = %s, want %s", b, want)
	}
	var out shipment
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Errorf("round trip: %+v, want %+v", out, in)
	}

	// As a map key too (TextMarshaler).
	m := map[lokero.Date]int{date(2026, 12, 24): 3}
	b, err = json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"2026-12-24":3}`; string(b) != want {
		t.Errorf("map json = %s, want %s", b, want)
	}
}

func TestDateJSONRejects(t *testing.T) {
	t.Parallel()
	for _, in := range []string{`"2026-02-30"`, `"2026-13-01"`, `"tomorrow"`, `20261224`} {
		t.Run(in, func(t *testing.T) {
			t.Parallel()
			d := date(2000, 1, 1)
			err := json.Unmarshal([]byte(in), &d)
			if err == nil {
				t.Fatalf("Unmarshal(%s) = %v, want an error", in, d)
			}
			if d != date(2000, 1, 1) {
				t.Errorf("Unmarshal(%s) changed the date to %v on error", in, d)
			}
			if strings.HasPrefix(in, `"`) {
				wantInvalidDate(t, err, strings.Trim(in, `"`))
			}
		})
	}
}

func TestDateOf(t *testing.T) {
	t.Parallel()
	ny := mustZone(t, "America/New_York")
	tests := []struct {
		name string
		at   time.Time
		want lokero.Date
	}{
		{"Helsinki midnight", hel(2026, 3, 2, 0, 0, 0), date(2026, 3, 2)},
		{"Helsinki 23:59:59", hel(2026, 3, 2, 23, 59, 59), date(2026, 3, 2)},
		{"UTC evening, next day in Helsinki (winter)", time.Date(2026, 3, 1, 22, 0, 0, 0, time.UTC), date(2026, 3, 2)},
		{"UTC 21:59 still the same day (winter)", time.Date(2026, 3, 1, 21, 59, 59, 0, time.UTC), date(2026, 3, 1)},
		{"UTC 21:00, next day in Helsinki (summer)", time.Date(2026, 7, 1, 21, 0, 0, 0, time.UTC), date(2026, 7, 2)},
		{"New York evening of New Year's Eve", time.Date(2026, 12, 31, 18, 0, 0, 0, ny), date(2027, 1, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := lokero.DateOf(tt.at); got != tt.want {
				t.Errorf("DateOf(%s) = %s, want %s", tt.at, got, tt.want)
			}
		})
	}
}

func TestDateStart(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    lokero.Date
		want time.Time
	}{
		{date(2026, 3, 2), time.Date(2026, 3, 1, 22, 0, 0, 0, time.UTC)},
		{date(2026, 3, 29), time.Date(2026, 3, 28, 22, 0, 0, 0, time.UTC)}, // the day of the change: still EET at midnight
		{date(2026, 3, 30), time.Date(2026, 3, 29, 21, 0, 0, 0, time.UTC)},
		{date(2026, 10, 25), time.Date(2026, 10, 24, 21, 0, 0, 0, time.UTC)}, // still EEST at midnight
		{date(2026, 10, 26), time.Date(2026, 10, 25, 22, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			t.Parallel()
			got := tt.d.Start()
			if !got.Equal(tt.want) {
				t.Errorf("Start() = %s, want %s", got.UTC(), tt.want)
			}
			if lokero.DateOf(got) != tt.d || lokero.DateOf(got.Add(-time.Nanosecond)) != tt.d.AddDays(-1) {
				t.Errorf("Start() = %s is not the first instant of %s", got, tt.d)
			}
		})
	}
}

func TestDateArithmetic(t *testing.T) {
	t.Parallel()
	tests := []struct {
		d    lokero.Date
		n    int
		want lokero.Date
	}{
		{date(2026, 3, 26), 8, date(2026, 4, 3)},
		{date(2026, 12, 31), 1, date(2027, 1, 1)},
		{date(2027, 1, 1), -1, date(2026, 12, 31)},
		{date(2024, 2, 28), 1, date(2024, 2, 29)},
		{date(2025, 2, 28), 1, date(2025, 3, 1)},
		{date(2026, 3, 28), 1, date(2026, 3, 29)}, // DST changes do not matter to dates
		{date(2026, 10, 25), 1, date(2026, 10, 26)},
		{date(2026, 1, 1), 365, date(2027, 1, 1)},
		{date(2026, 5, 5), 0, date(2026, 5, 5)},
	}
	for _, tt := range tests {
		t.Run(tt.d.String(), func(t *testing.T) {
			t.Parallel()
			got := tt.d.AddDays(tt.n)
			if got != tt.want {
				t.Errorf("%s.AddDays(%d) = %s, want %s", tt.d, tt.n, got, tt.want)
			}
			switch {
			case tt.n > 0 && (!tt.d.Before(got) || !got.After(tt.d) || got.Before(tt.d)):
				t.Errorf("%s and %s are in the wrong order", tt.d, got)
			case tt.n < 0 && (!tt.d.After(got) || !got.Before(tt.d)):
				t.Errorf("%s and %s are in the wrong order", tt.d, got)
			case tt.n == 0 && (tt.d.Before(got) || tt.d.After(got)):
				t.Errorf("%s is before or after itself", tt.d)
			}
		})
	}
}

func TestDateOrderAcrossFields(t *testing.T) {
	t.Parallel()
	ordered := []lokero.Date{date(2025, 12, 31), date(2026, 1, 1), date(2026, 1, 31), date(2026, 2, 1), date(2026, 2, 2)}
	for i, a := range ordered {
		for j, b := range ordered {
			if got := a.Before(b); got != (i < j) {
				t.Errorf("%s.Before(%s) = %v", a, b, got)
			}
			if got := a.After(b); got != (i > j) {
				t.Errorf("%s.After(%s) = %v", a, b, got)
			}
		}
	}
}

func TestDateWeekdayAndZero(t *testing.T) {
	t.Parallel()
	if wd := date(2026, 12, 24).Weekday(); wd != time.Thursday {
		t.Errorf("2026-12-24 is a %s, want Thursday", wd)
	}
	if wd := date(2025, 12, 6).Weekday(); wd != time.Saturday {
		t.Errorf("2025-12-06 is a %s, want Saturday", wd)
	}
	var z lokero.Date
	if !z.IsZero() || date(2026, 1, 1).IsZero() {
		t.Errorf("IsZero wrong: zero %v, 2026-01-01 %v", z.IsZero(), date(2026, 1, 1).IsZero())
	}
	var d lokero.Date
	if err := d.UnmarshalText(nil); err != nil || !d.IsZero() {
		t.Errorf("UnmarshalText(empty) = %v, %v; want the zero Date", d, err)
	}
}

// TestDateSQL: a Date is stored as its text, the zero Date as "" (what
// the date columns hold for no date), and read back from text.
func TestDateSQL(t *testing.T) {
	for _, tt := range []struct {
		d    lokero.Date
		text string
	}{{date(2026, 12, 24), "2026-12-24"}, {lokero.Date{}, ""}} {
		v, err := tt.d.Value()
		if err != nil || v != tt.text {
			t.Errorf("%#v.Value() = %#v, %v; want %q", tt.d, v, err, tt.text)
		}
		for _, src := range []any{tt.text, []byte(tt.text)} {
			got := date(2000, 1, 1)
			if err := got.Scan(src); err != nil || got != tt.d {
				t.Errorf("Scan(%#v) = %v, %v; want %v", src, got, err, tt.d)
			}
		}
	}
	for _, src := range []any{"2026-02-30", []byte("24.12.2026"), nil, int64(20261224)} {
		d := date(2000, 1, 1)
		if err := d.Scan(src); err == nil {
			t.Errorf("Scan(%#v) = %v, nil; want an error", src, d)
		}
	}
}

// TestDateStringByHand: String writes every date as the format verb would.
func TestDateStringByHand(t *testing.T) {
	t.Parallel()
	for _, d := range []lokero.Date{{}, {Year: 2026, Month: time.December, Day: 7}, {Year: 999, Month: 1, Day: 2},
		{Year: 9999, Month: 12, Day: 31}, {Year: 10000, Month: 1, Day: 1}, {Year: -1, Month: 1, Day: 1}, {Year: 2026, Month: 13, Day: 99}} {
		if got, want := d.String(), fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day); got != want {
			t.Errorf("%#v.String() = %q; want %q", d, got, want)
		}
	}
}
