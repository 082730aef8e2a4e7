package calendar_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/rickar/cal/v2"
)

// date returns y-m-d as a Date.
func date(y int, m time.Month, d int) lokero.Date {
	return lokero.Date{Year: y, Month: m, Day: d}
}

// hel returns the wall-clock time y-m-d h:mi:s in Helsinki.
func hel(y int, m time.Month, d, h, mi, s int) time.Time {
	return time.Date(y, m, d, h, mi, s, 0, calendar.Helsinki)
}

// mustZone loads a time zone for a test (tzdata is embedded through the
// root package, which calendar imports).
func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("load %s: %v", name, err)
	}
	return loc
}

// mustWeekday fails the test when a hand-written input is not on the
// weekday its case claims, so that a typo in a table cannot pass silently.
func mustWeekday(t *testing.T, tm time.Time, want time.Weekday) {
	t.Helper()
	if got := lokero.DateOf(tm).Weekday(); got != want {
		t.Fatalf("test input %s is a %s in Helsinki, the case says %s", tm.In(calendar.Helsinki), got, want)
	}
}

// holidays lists every Finnish public holiday of 2025-2027 by date. The
// Easter dates come from published tables (Easter Sunday 2025-04-20,
// 2026-04-05, 2027-03-28); the others follow from them by hand.
var holidays = map[lokero.Date]string{
	date(2025, 1, 1):   "Uudenvuodenpäivä",
	date(2025, 1, 6):   "Loppiainen",
	date(2025, 4, 18):  "Pitkäperjantai",
	date(2025, 4, 20):  "Pääsiäispäivä",
	date(2025, 4, 21):  "2. pääsiäispäivä",
	date(2025, 5, 1):   "Vappu",
	date(2025, 5, 29):  "Helatorstai",
	date(2025, 6, 8):   "Helluntaipäivä",
	date(2025, 6, 20):  "Juhannusaatto",
	date(2025, 6, 21):  "Juhannuspäivä",
	date(2025, 11, 1):  "Pyhäinpäivä",
	date(2025, 12, 6):  "Itsenäisyyspäivä",
	date(2025, 12, 24): "Jouluaatto",
	date(2025, 12, 25): "Joulupäivä",
	date(2025, 12, 26): "Tapaninpäivä",

	date(2026, 1, 1):   "Uudenvuodenpäivä",
	date(2026, 1, 6):   "Loppiainen",
	date(2026, 4, 3):   "Pitkäperjantai",
	date(2026, 4, 5):   "Pääsiäispäivä",
	date(2026, 4, 6):   "2. pääsiäispäivä",
	date(2026, 5, 1):   "Vappu",
	date(2026, 5, 14):  "Helatorstai",
	date(2026, 5, 24):  "Helluntaipäivä",
	date(2026, 6, 19):  "Juhannusaatto",
	date(2026, 6, 20):  "Juhannuspäivä",
	date(2026, 10, 31): "Pyhäinpäivä",
	date(2026, 12, 6):  "Itsenäisyyspäivä",
	date(2026, 12, 24): "Jouluaatto",
	date(2026, 12, 25): "Joulupäivä",
	date(2026, 12, 26): "Tapaninpäivä",

	date(2027, 1, 1):   "Uudenvuodenpäivä",
	date(2027, 1, 6):   "Loppiainen",
	date(2027, 3, 26):  "Pitkäperjantai",
	date(2027, 3, 28):  "Pääsiäispäivä",
	date(2027, 3, 29):  "2. pääsiäispäivä",
	date(2027, 5, 1):   "Vappu",
	date(2027, 5, 6):   "Helatorstai",
	date(2027, 5, 16):  "Helluntaipäivä",
	date(2027, 6, 25):  "Juhannusaatto",
	date(2027, 6, 26):  "Juhannuspäivä",
	date(2027, 11, 6):  "Pyhäinpäivä",
	date(2027, 12, 6):  "Itsenäisyyspäivä",
	date(2027, 12, 24): "Jouluaatto",
	date(2027, 12, 25): "Joulupäivä",
	date(2027, 12, 26): "Tapaninpäivä",
}

func TestHolidayEveryHolidayByDate(t *testing.T) {
	t.Parallel()
	c := calendar.Default()
	for d, want := range holidays {
		t.Run(d.String(), func(t *testing.T) {
			t.Parallel()
			// Any time of the Helsinki day counts, also given in UTC.
			for _, tm := range []time.Time{d.Start(), hel(d.Year, d.Month, d.Day, 12, 0, 0).UTC(), d.AddDays(1).Start().Add(-time.Nanosecond)} {
				name, ok := c.Holiday(tm)
				if !ok || name != want {
					t.Errorf("Holiday(%s) = %q, %v; want %q, true", tm, name, ok, want)
				}
				if c.IsBusinessDay(tm) {
					t.Errorf("IsBusinessDay(%s) = true on %s", tm, want)
				}
			}
		})
	}
}

// TestHolidayNoOthers walks every day of 2025-2027: the days Holiday names
// are exactly the table's, and business days are exactly the weekdays that
// are not holidays.
func TestHolidayNoOthers(t *testing.T) {
	t.Parallel()
	c := calendar.Default()
	count := 0
	for d := date(2025, 1, 1); d.Before(date(2028, 1, 1)); d = d.AddDays(1) {
		name, ok := c.Holiday(d.Start())
		want, wantOK := holidays[d]
		if ok != wantOK || name != want {
			t.Errorf("Holiday(%s) = %q, %v; want %q, %v", d, name, ok, want, wantOK)
		}
		weekend := d.Weekday() == time.Saturday || d.Weekday() == time.Sunday
		if got, want := c.IsBusinessDay(d.Start()), !weekend && !wantOK; got != want {
			t.Errorf("IsBusinessDay(%s, a %s) = %v, want %v", d, d.Weekday(), got, want)
		}
		if ok {
			count++
		}
	}
	if count != 45 {
		t.Errorf("found %d holidays in 2025-2027, want 45 (15 a year)", count)
	}
}

func TestHolidayLookalikes(t *testing.T) {
	t.Parallel()
	c := calendar.Default()
	tests := []struct {
		name     string
		at       time.Time
		business bool
	}{
		{"5 Jan 2026, eve of Epiphany (Mon)", hel(2026, 1, 5, 12, 0, 0), true},
		{"7 Jan 2026, day after Epiphany (Wed)", hel(2026, 1, 7, 12, 0, 0), true},
		{"7 Dec 2026, day after Independence Day (Mon)", hel(2026, 12, 7, 12, 0, 0), true},
		{"5 Dec 2025 (Fri)", hel(2025, 12, 5, 12, 0, 0), true},
		{"27 Dec 2027 (Mon)", hel(2027, 12, 27, 12, 0, 0), true},
		{"27 Dec 2026 (Sun)", hel(2026, 12, 27, 12, 0, 0), false},
		{"31 Dec 2026, New Year's Eve (Thu)", hel(2026, 12, 31, 12, 0, 0), true},
		{"Maundy Thursday 2026", hel(2026, 4, 2, 12, 0, 0), true},
		{"Whit Monday 2026 is not a holiday in Finland", hel(2026, 5, 25, 12, 0, 0), true},
		{"1 Nov 2026 is a Sunday, not All Saints' Day", hel(2026, 11, 1, 12, 0, 0), false},
		{"18 Jun 2026 (Thu) before Midsummer Eve", hel(2026, 6, 18, 12, 0, 0), true},
		{"6 Jun 2025, Sweden's national day (Fri)", hel(2025, 6, 6, 12, 0, 0), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if name, ok := c.Holiday(tt.at); ok {
				t.Errorf("Holiday(%s) = %q, true; want no holiday", tt.at, name)
			}
			if got := c.IsBusinessDay(tt.at); got != tt.business {
				t.Errorf("IsBusinessDay(%s) = %v, want %v", tt.at, got, tt.business)
			}
		})
	}
}

// TestHolidayHelsinkiDay: the Helsinki calendar day decides, not the day in
// the time's own location.
func TestHolidayHelsinkiDay(t *testing.T) {
	t.Parallel()
	c := calendar.Default()
	ny := mustZone(t, "America/New_York")
	tests := []struct {
		name string
		at   time.Time
		want string // "" for no holiday
	}{
		{"5 Dec 22:30Z is 6 Dec 00:30 in Helsinki", time.Date(2026, 12, 5, 22, 30, 0, 0, time.UTC), "Itsenäisyyspäivä"},
		{"6 Dec 21:59Z is 6 Dec 23:59 in Helsinki", time.Date(2026, 12, 6, 21, 59, 59, 0, time.UTC), "Itsenäisyyspäivä"},
		{"6 Dec 22:00Z is 7 Dec in Helsinki", time.Date(2026, 12, 6, 22, 0, 0, 0, time.UTC), ""},
		{"5 Dec 18:00 in New York is 6 Dec in Helsinki", time.Date(2026, 12, 5, 18, 0, 0, 0, ny), "Itsenäisyyspäivä"},
		{"6 Jan 20:00 in New York is 7 Jan in Helsinki", time.Date(2026, 1, 6, 20, 0, 0, 0, ny), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			name, ok := c.Holiday(tt.at)
			if name != tt.want || ok != (tt.want != "") {
				t.Errorf("Holiday(%s) = %q, %v; want %q", tt.at, name, ok, tt.want)
			}
		})
	}
}

// TestHolidayRules checks the moving holidays' rules over many years
// against their definitions rather than a table.
func TestHolidayRules(t *testing.T) {
	t.Parallel()
	c := calendar.Default()
	for year := 1990; year <= 2100; year++ {
		seen := map[string]int{}
		for d := date(year, 1, 1); d.Year == year; d = d.AddDays(1) {
			name, ok := c.Holiday(d.Start())
			if !ok {
				continue
			}
			seen[name]++
			switch name {
			case "Juhannusaatto":
				if d.Weekday() != time.Friday || d.Month != time.June || d.Day < 19 || d.Day > 25 {
					t.Errorf("Midsummer Eve on %s (%s)", d, d.Weekday())
				}
			case "Juhannuspäivä":
				if d.Weekday() != time.Saturday || d.Month != time.June || d.Day < 20 || d.Day > 26 {
					t.Errorf("Midsummer Day on %s (%s)", d, d.Weekday())
				}
			case "Pyhäinpäivä":
				inRange := (d.Month == time.October && d.Day == 31) || (d.Month == time.November && d.Day <= 6)
				if d.Weekday() != time.Saturday || !inRange {
					t.Errorf("All Saints' Day on %s (%s)", d, d.Weekday())
				}
			case "Pitkäperjantai":
				if d.Weekday() != time.Friday {
					t.Errorf("Good Friday on %s (%s)", d, d.Weekday())
				}
			case "Pääsiäispäivä", "Helluntaipäivä":
				if d.Weekday() != time.Sunday {
					t.Errorf("%s on %s (%s)", name, d, d.Weekday())
				}
			case "2. pääsiäispäivä":
				if d.Weekday() != time.Monday {
					t.Errorf("Easter Monday on %s (%s)", d, d.Weekday())
				}
			case "Helatorstai":
				if d.Weekday() != time.Thursday {
					t.Errorf("Ascension Day on %s (%s)", d, d.Weekday())
				}
			}
		}
		// 15 holidays a year, unless May Day and Ascension Day coincide
		// (Easter on 23 March, as in 2008): then one name is lost.
		if len(seen) < 14 {
			t.Errorf("%d: only %d distinct holidays: %v", year, len(seen), seen)
		}
		for name, n := range seen {
			if n != 1 {
				t.Errorf("%d: %s on %d days", year, name, n)
			}
		}
	}
}

func TestNextBusinessDay(t *testing.T) {
	t.Parallel()
	c := calendar.Default()
	tests := []struct {
		name string
		at   time.Time
		want lokero.Date
	}{
		{"Mon → Tue", hel(2026, 3, 2, 9, 0, 0), date(2026, 3, 3)},
		{"Fri → Mon", hel(2026, 3, 6, 9, 0, 0), date(2026, 3, 9)},
		{"Sat → Mon", hel(2026, 3, 7, 9, 0, 0), date(2026, 3, 9)},
		{"Sun 23:59 → Mon", hel(2026, 3, 8, 23, 59, 59), date(2026, 3, 9)},
		{"Mon, a business day itself, → Tue (strictly after)", hel(2026, 3, 9, 0, 0, 0), date(2026, 3, 10)},
		{"Maundy Thursday 2026 → Tue after Easter", hel(2026, 4, 2, 12, 0, 0), date(2026, 4, 7)},
		{"Fri 5 Dec 2025 → Mon 8 Dec", hel(2025, 12, 5, 12, 0, 0), date(2025, 12, 8)},
		{"Wed 23 Dec 2026 → Mon 28 Dec", hel(2026, 12, 23, 12, 0, 0), date(2026, 12, 28)},
		{"Thu 31 Dec 2026 → Mon 4 Jan 2027", hel(2026, 12, 31, 12, 0, 0), date(2027, 1, 4)},
		{"Tue 5 Jan 2027 → Thu 7 Jan (Epiphany)", hel(2027, 1, 5, 12, 0, 0), date(2027, 1, 7)},
		{"Thu 18 Jun 2026 → Mon 22 Jun (Midsummer)", hel(2026, 6, 18, 12, 0, 0), date(2026, 6, 22)},
		{"Wed 13 May 2026 → Fri 15 May (Ascension)", hel(2026, 5, 13, 12, 0, 0), date(2026, 5, 15)},
		{"Sun 1 Mar 22:30Z is Mon in Helsinki → Tue", time.Date(2026, 3, 1, 22, 30, 0, 0, time.UTC), date(2026, 3, 3)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := c.NextBusinessDay(tt.at); got != tt.want {
				t.Errorf("NextBusinessDay(%s) = %s (%s), want %s (%s)", tt.at, got, got.Weekday(), tt.want, tt.want.Weekday())
			}
		})
	}
}

func TestDeliveryDate(t *testing.T) {
	t.Parallel()
	ny := mustZone(t, "America/New_York")
	tokyo := mustZone(t, "Asia/Tokyo")
	tests := []struct {
		name    string
		at      time.Time
		weekday time.Weekday // of the handover in Helsinki, to catch typos in the table
		want    lokero.Date
	}{
		// The documented examples (2 March 2026 is a Monday).
		{"Mon 10:00 → Tue", hel(2026, 3, 2, 10, 0, 0), time.Monday, date(2026, 3, 3)},
		{"Mon 16:00 → Wed", hel(2026, 3, 2, 16, 0, 0), time.Monday, date(2026, 3, 4)},
		{"Fri 17:00 → Tue", hel(2026, 3, 6, 17, 0, 0), time.Friday, date(2026, 3, 10)},
		{"Sat 09:00 → Tue", hel(2026, 3, 7, 9, 0, 0), time.Saturday, date(2026, 3, 10)},
		{"Sat 17:00 → Tue", hel(2026, 3, 7, 17, 0, 0), time.Saturday, date(2026, 3, 10)},
		{"Sun 10:00 → Tue", hel(2026, 3, 8, 10, 0, 0), time.Sunday, date(2026, 3, 10)},
		{"Fri 5 Dec 2025 12:00 → Mon 8 Dec", hel(2025, 12, 5, 12, 0, 0), time.Friday, date(2025, 12, 8)},
		{"Wed 23 Dec 2026 12:00 → Mon 28 Dec", hel(2026, 12, 23, 12, 0, 0), time.Wednesday, date(2026, 12, 28)},
		{"Wed 23 Dec 2026 16:00 → Tue 29 Dec", hel(2026, 12, 23, 16, 0, 0), time.Wednesday, date(2026, 12, 29)},

		// Around the cut-off, in Helsinki.
		{"Mon 00:00 → Tue", hel(2026, 3, 2, 0, 0, 0), time.Monday, date(2026, 3, 3)},
		{"Mon 15:59:59 → Tue", hel(2026, 3, 2, 15, 59, 59), time.Monday, date(2026, 3, 3)},
		{"Mon 15:59:59.999999999 → Tue", hel(2026, 3, 2, 15, 59, 59).Add(999_999_999), time.Monday, date(2026, 3, 3)},
		{"Mon 16:00:00 → Wed", hel(2026, 3, 2, 16, 0, 0), time.Monday, date(2026, 3, 4)},
		{"Mon 23:59:59 → Wed", hel(2026, 3, 2, 23, 59, 59), time.Monday, date(2026, 3, 4)},
		{"Fri 15:59:59 → Mon", hel(2026, 3, 6, 15, 59, 59), time.Friday, date(2026, 3, 9)},
		{"Fri 16:00:00 → Tue", hel(2026, 3, 6, 16, 0, 0), time.Friday, date(2026, 3, 10)},

		// The same instants given in UTC: Helsinki is UTC+2 in winter, UTC+3 in summer.
		{"winter UTC 13:59:59Z = 15:59:59 → Tue", time.Date(2026, 3, 2, 13, 59, 59, 0, time.UTC), time.Monday, date(2026, 3, 3)},
		{"winter UTC 14:00:00Z = 16:00 → Wed", time.Date(2026, 3, 2, 14, 0, 0, 0, time.UTC), time.Monday, date(2026, 3, 4)},
		{"summer UTC 12:59:59Z = 15:59:59 → Tue", time.Date(2026, 6, 8, 12, 59, 59, 0, time.UTC), time.Monday, date(2026, 6, 9)},
		{"summer UTC 13:00:00Z = 16:00 → Wed", time.Date(2026, 6, 8, 13, 0, 0, 0, time.UTC), time.Monday, date(2026, 6, 10)},
		{"summer UTC 14:00Z is 17:00 in Helsinki though 14:00 in UTC → Wed", time.Date(2026, 6, 8, 14, 0, 0, 0, time.UTC), time.Monday, date(2026, 6, 10)},

		// Other zones.
		{"New York 08:59:59 EST = 15:59:59 → Tue", time.Date(2026, 3, 2, 8, 59, 59, 0, ny), time.Monday, date(2026, 3, 3)},
		{"New York 09:00 EST = 16:00 → Wed", time.Date(2026, 3, 2, 9, 0, 0, 0, ny), time.Monday, date(2026, 3, 4)},
		{"New York Mon 23:00 = Tue 06:00 in Helsinki → Wed", time.Date(2026, 3, 2, 23, 0, 0, 0, ny), time.Tuesday, date(2026, 3, 4)},
		{"Tokyo Mon 22:59:59 JST = 15:59:59 → Tue", time.Date(2026, 3, 2, 22, 59, 59, 0, tokyo), time.Monday, date(2026, 3, 3)},
		{"Tokyo Tue 05:00 JST = Mon 22:00 in Helsinki → Wed", time.Date(2026, 3, 3, 5, 0, 0, 0, tokyo), time.Monday, date(2026, 3, 4)},
		{"UTC Sun 22:30Z = Mon 00:30 in Helsinki → Tue", time.Date(2026, 3, 1, 22, 30, 0, 0, time.UTC), time.Monday, date(2026, 3, 3)},

		// Holidays.
		{"Maundy Thursday 12:00 → Tue after Easter", hel(2026, 4, 2, 12, 0, 0), time.Thursday, date(2026, 4, 7)},
		{"Maundy Thursday 16:00 → Wed after Easter", hel(2026, 4, 2, 16, 0, 0), time.Thursday, date(2026, 4, 8)},
		{"Good Friday → Wed after Easter", hel(2026, 4, 3, 10, 0, 0), time.Friday, date(2026, 4, 8)},
		{"Independence Day 2027 (Mon) 10:00 → Wed", hel(2027, 12, 6, 10, 0, 0), time.Monday, date(2027, 12, 8)},
		{"Midsummer Eve 2026 → Tue", hel(2026, 6, 19, 10, 0, 0), time.Friday, date(2026, 6, 23)},
		{"Thu 31 Dec 2026 12:00 → Mon 4 Jan 2027", hel(2026, 12, 31, 12, 0, 0), time.Thursday, date(2027, 1, 4)},
		{"Mon 4 Jan 2027 12:00 → Tue 5 Jan", hel(2027, 1, 4, 12, 0, 0), time.Monday, date(2027, 1, 5)},
		{"Mon 4 Jan 2027 16:00 → Thu 7 Jan (Epiphany)", hel(2027, 1, 4, 16, 0, 0), time.Monday, date(2027, 1, 7)},
	}
	c := calendar.Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			mustWeekday(t, tt.at, tt.weekday)
			if got := c.DeliveryDate(tt.at); got != tt.want {
				t.Errorf("DeliveryDate(%s = %s Helsinki) = %s (%s), want %s (%s)",
					tt.at, tt.at.In(calendar.Helsinki).Format("Mon 15:04:05"), got, got.Weekday(), tt.want, tt.want.Weekday())
			}
		})
	}
}

func TestDeliveryDateCustomCutoff(t *testing.T) {
	t.Parallel()
	tests := []struct {
		hour, minute int
		at           time.Time
		want         lokero.Date
	}{
		{12, 30, hel(2026, 3, 2, 12, 29, 59), date(2026, 3, 3)},
		{12, 30, hel(2026, 3, 2, 12, 30, 0), date(2026, 3, 4)},
		{0, 0, hel(2026, 3, 2, 0, 0, 0), date(2026, 3, 4)}, // a 00:00 cut-off: every handover counts for the next business day
		{23, 59, hel(2026, 3, 2, 23, 58, 59), date(2026, 3, 3)},
		{23, 59, hel(2026, 3, 2, 23, 59, 0), date(2026, 3, 4)},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%02d:%02d at %s", tt.hour, tt.minute, tt.at.Format("15:04:05")), func(t *testing.T) {
			t.Parallel()
			if got := calendar.New(tt.hour, tt.minute).DeliveryDate(tt.at); got != tt.want {
				t.Errorf("DeliveryDate = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestNewRejectsImpossibleCutoff(t *testing.T) {
	t.Parallel()
	for _, hm := range [][2]int{{24, 0}, {-1, 0}, {16, 60}, {16, -1}} {
		t.Run(fmt.Sprint(hm), func(t *testing.T) {
			t.Parallel()
			defer func() {
				if recover() == nil {
					t.Errorf("New(%d, %d) did not panic", hm[0], hm[1])
				}
			}()
			calendar.New(hm[0], hm[1])
		})
	}
}

func TestStorageDeadline(t *testing.T) {
	t.Parallel()
	ny := mustZone(t, "America/New_York")
	tests := []struct {
		name    string
		deposit time.Time
		days    int
		want    time.Time
	}{
		{"winter, no DST change", hel(2026, 2, 10, 10, 0, 0), 7,
			time.Date(2026, 2, 17, 22, 0, 0, 0, time.UTC)}, // 18 Feb 00:00 EET
		{"across March's change (EET → EEST)", hel(2026, 3, 26, 10, 0, 0), 7,
			time.Date(2026, 4, 2, 21, 0, 0, 0, time.UTC)}, // 3 Apr 00:00 EEST
		{"deposit at the first instant of the day", hel(2026, 3, 26, 0, 0, 0), 7,
			time.Date(2026, 4, 2, 21, 0, 0, 0, time.UTC)},
		{"deposit at the last second of the day", hel(2026, 3, 26, 23, 59, 59), 7,
			time.Date(2026, 4, 2, 21, 0, 0, 0, time.UTC)},
		{"across October's change (EEST → EET)", hel(2026, 10, 20, 10, 0, 0), 7,
			time.Date(2026, 10, 27, 22, 0, 0, 0, time.UTC)}, // 28 Oct 00:00 EET
		{"deposit on the day of March's change", hel(2026, 3, 29, 5, 0, 0), 7,
			time.Date(2026, 4, 5, 21, 0, 0, 0, time.UTC)},
		{"deposit on the day of October's change", hel(2026, 10, 25, 3, 30, 0), 7,
			time.Date(2026, 11, 1, 22, 0, 0, 0, time.UTC)},
		{"over the new year", hel(2026, 12, 28, 18, 0, 0), 7,
			time.Date(2027, 1, 4, 22, 0, 0, 0, time.UTC)}, // 5 Jan 00:00
		{"holidays do not extend it", hel(2026, 12, 20, 12, 0, 0), 7,
			time.Date(2026, 12, 27, 22, 0, 0, 0, time.UTC)}, // 28 Dec 00:00
		{"deposit given in UTC, already the next day in Helsinki", time.Date(2026, 3, 25, 22, 30, 0, 0, time.UTC), 7,
			time.Date(2026, 4, 2, 21, 0, 0, 0, time.UTC)},
		{"deposit given in New York", time.Date(2026, 3, 25, 19, 0, 0, 0, ny), 7, // 26 Mar 01:00 in Helsinki
			time.Date(2026, 4, 2, 21, 0, 0, 0, time.UTC)},
		{"other period: 14 days", hel(2026, 3, 20, 10, 0, 0), 14,
			time.Date(2026, 4, 3, 21, 0, 0, 0, time.UTC)}, // 4 Apr 00:00 EEST
		{"zero days: end of the deposit day", hel(2026, 3, 20, 10, 0, 0), 0,
			time.Date(2026, 3, 20, 22, 0, 0, 0, time.UTC)},
	}
	c := calendar.Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := c.StorageDeadline(tt.deposit, tt.days)
			if !got.Equal(tt.want) {
				t.Errorf("StorageDeadline(%s, %d) = %s (%s Helsinki), want %s", tt.deposit, tt.days, got, got.In(calendar.Helsinki), tt.want)
			}
			if got.Location() != time.UTC {
				t.Errorf("StorageDeadline returned location %s, want UTC", got.Location())
			}
			if l := got.In(calendar.Helsinki); l.Hour() != 0 || l.Minute() != 0 || l.Second() != 0 || l.Nanosecond() != 0 {
				t.Errorf("deadline %s is not midnight in Helsinki", l)
			}
		})
	}
}

func TestStorageDeadlineIsNotPlain168Hours(t *testing.T) {
	t.Parallel()
	c := calendar.Default()
	deposit := hel(2026, 3, 26, 10, 0, 0)
	naive := lokero.DateOf(deposit).AddDays(1).Start().Add(7 * 24 * time.Hour)
	got := c.StorageDeadline(deposit, calendar.StorageDays)
	if got.Sub(naive) != -time.Hour {
		t.Errorf("deadline %s, 168 h from the next midnight %s: want the deadline an hour earlier (the spring-forward hour)", got, naive.UTC())
	}
}

func TestReminderAt(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		deadline   time.Time
		daysBefore int
		want       time.Time
	}{
		{"no DST change", time.Date(2026, 4, 2, 21, 0, 0, 0, time.UTC), 2, // 3 Apr 00:00 EEST
			time.Date(2026, 4, 1, 7, 0, 0, 0, time.UTC)}, // 1 Apr 10:00 EEST
		{"across March's change", time.Date(2026, 3, 29, 21, 0, 0, 0, time.UTC), 2, // 30 Mar 00:00 EEST
			time.Date(2026, 3, 28, 8, 0, 0, 0, time.UTC)}, // 28 Mar 10:00 EET
		{"across October's change", time.Date(2026, 10, 26, 22, 0, 0, 0, time.UTC), 2, // 27 Oct 00:00 EET
			time.Date(2026, 10, 25, 8, 0, 0, 0, time.UTC)}, // 25 Oct 10:00 EET (the change was at 04:00)
		{"a deadline in the evening", hel(2026, 10, 27, 18, 30, 0), 1,
			time.Date(2026, 10, 26, 8, 0, 0, 0, time.UTC)}, // 26 Oct 10:00 EET
		{"zero days: the morning before", time.Date(2026, 4, 2, 21, 0, 0, 0, time.UTC), 0,
			time.Date(2026, 4, 2, 7, 0, 0, 0, time.UTC)}, // 2 Apr 10:00 EEST
		{"zero days, a deadline in the evening: that morning", hel(2026, 4, 3, 18, 0, 0), 0,
			time.Date(2026, 4, 3, 7, 0, 0, 0, time.UTC)},
	}
	c := calendar.Default()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got := c.ReminderAt(tt.deadline, tt.daysBefore)
			if !got.Equal(tt.want) {
				t.Errorf("ReminderAt(%s, %d) = %s (%s Helsinki), want %s", tt.deadline, tt.daysBefore, got, got.In(calendar.Helsinki), tt.want)
			}
			if got.Location() != time.UTC {
				t.Errorf("ReminderAt returned location %s, want UTC", got.Location())
			}
		})
	}
}

// TestDeadlineAndReminderTogether follows one parcel: deposit, deadline,
// reminder two days before.
func TestDeadlineAndReminderTogether(t *testing.T) {
	t.Parallel()
	c := calendar.Default()
	deposit := hel(2026, 3, 26, 10, 0, 0)
	deadline := c.StorageDeadline(deposit, calendar.StorageDays)
	reminder := c.ReminderAt(deadline, 2)
	if want := hel(2026, 4, 1, 10, 0, 0); !reminder.Equal(want) {
		t.Errorf("reminder at %s, want %s", reminder.In(calendar.Helsinki), want)
	}
	if !reminder.After(deposit) || !reminder.Before(deadline) {
		t.Errorf("reminder %s not between deposit %s and deadline %s", reminder, deposit, deadline)
	}
}

func BenchmarkDeliveryDate(b *testing.B) {
	c := calendar.Default()
	// A spread of handovers, including the Christmas and Easter runs.
	times := []time.Time{
		hel(2026, 3, 2, 10, 0, 0),
		hel(2026, 3, 6, 17, 0, 0),
		hel(2026, 4, 2, 16, 0, 0),
		hel(2026, 12, 23, 12, 0, 0),
	}
	var sink lokero.Date
	i := 0
	for b.Loop() {
		sink = c.DeliveryDate(times[i%len(times)])
		i++
	}
	if sink.IsZero() {
		b.Fatal("zero delivery date")
	}
}

// TestHolidayWhateverTheLocalZone: the holidays do not depend on the
// process's local time zone (TZ), which github.com/rickar/cal/v2 computes
// in (cal.DefaultLoc, time.Local at start). In a zone that changes its
// clocks at midnight (the Azores on the last Sunday of March, Easter
// Sunday in 2024 and 2035; Cuba on Easter Sunday 1994 and 1996; Brazil on
// Saturday 2 November 1985, All Saints' Day), time.Date(…, 0, 0, …) in
// that zone may give 23:00 the day before.
//
// Not parallel: it swaps cal.DefaultLoc, which the parallel tests read;
// they wait at t.Parallel until the sequential tests are done.
func TestHolidayWhateverTheLocalZone(t *testing.T) {
	saved := cal.DefaultLoc
	defer func() { cal.DefaultLoc = saved }()
	holidaysIn := func(loc *time.Location) map[lokero.Date]string {
		cal.DefaultLoc = loc
		c := calendar.Default()
		days := map[lokero.Date]string{}
		for d := date(1980, 1, 1); d.Before(date(2060, 1, 1)); d = d.AddDays(1) {
			if name, ok := c.Holiday(d.Start()); ok {
				days[d] = name
			}
		}
		return days
	}
	want := holidaysIn(time.UTC)
	for _, zone := range []string{"America/Havana", "Atlantic/Azores", "America/Asuncion", "America/Santiago", "Asia/Beirut", "Africa/Cairo", "Asia/Amman", "America/Sao_Paulo"} {
		got := holidaysIn(mustZone(t, zone))
		for d, name := range want {
			if got[d] != name {
				t.Errorf("TZ=%s: %s is %q, want %q", zone, d, got[d], name)
			}
		}
		for d, name := range got {
			if _, ok := want[d]; !ok {
				t.Errorf("TZ=%s: %s is %q, want no holiday", zone, d, name)
			}
		}
	}
}

func TestDaytime(t *testing.T) {
	t.Parallel()
	c := calendar.Default()
	for _, tt := range []struct {
		name     string
		at, want time.Time
	}{
		{"midnight: that morning", hel(2026, 12, 3, 0, 0, 0), hel(2026, 12, 3, 8, 0, 0)},
		{"07:59: that morning", hel(2026, 12, 3, 7, 59, 0), hel(2026, 12, 3, 8, 0, 0)},
		{"08:00: at once", hel(2026, 12, 3, 8, 0, 0), hel(2026, 12, 3, 8, 0, 0)},
		{"20:59: at once", hel(2026, 12, 3, 20, 59, 0), hel(2026, 12, 3, 20, 59, 0)},
		{"21:00: the next morning", hel(2026, 12, 3, 21, 0, 0), hel(2026, 12, 4, 8, 0, 0)},
		{"the last night of March: the morning after the change", hel(2026, 3, 28, 23, 0, 0), hel(2026, 3, 29, 8, 0, 0)},
		{"New Year's Eve: 1 January", hel(2026, 12, 31, 22, 0, 0), hel(2027, 1, 1, 8, 0, 0)},
	} {
		if got := c.Daytime(tt.at); !got.Equal(tt.want) || got.Location() != time.UTC {
			t.Errorf("%s: Daytime(%s) = %s; want %s in UTC", tt.name, tt.at, got, tt.want)
		}
	}
}
