// Package calendar knows Finnish business days, delivery dates and storage
// deadlines.
//
// Every rule works on the calendar day in Europe/Helsinki, whatever the
// location of the time.Time it is given. The package never reads the wall
// clock: callers pass the time from a lokero.Clock.
//
// The Finnish public holidays are composed from the common holiday
// definitions of github.com/rickar/cal/v2/aa (New Year, Epiphany, the
// Easter-based days, May Day, Christmas) plus the Finnish ones it lacks
// (Midsummer, All Saints' Day on a Saturday, Independence Day, Christmas
// Eve), because that library has no Finland package.
package calendar

import (
	"fmt"
	"sync"
	"time"

	"github.com/lokero/lokero"
	"github.com/rickar/cal/v2"
	"github.com/rickar/cal/v2/aa"
)

// helsinki is the location every rule uses: lokero.Helsinki, copied at
// init so that reassigning an exported variable cannot change this
// package's answers.
var helsinki = lokero.Helsinki

// Helsinki is lokero.Helsinki (the same *time.Location), the zone Finnish
// calendar days, the handover cut-off and storage deadlines are reckoned
// in; kept so that callers of this package need not import the root.
// Treat it as a constant: the package itself uses its own copy.
var Helsinki = helsinki

// Default handover cut-off (our assumption): parcels handed over from 16:00
// Helsinki time on count as handed over on the next business day.
const (
	DefaultCutoffHour   = 16
	DefaultCutoffMinute = 0
)

// StorageDays is how many calendar days a parcel waits in a locker after
// its deposit day before it goes back to the sender (see StorageDeadline).
const StorageDays = 7

// Calendar knows Finnish public holidays and the daily cut-off for handover.
// It is immutable and safe for concurrent use.
type Calendar struct {
	holidays *cal.Calendar // read-only after New: Cacheable stays false, so IsHoliday never writes
	cutoff   int           // minutes after local midnight
	years    sync.Map      // year → map[lokero.Date]string: the holidays of a year once asked, since every search asks
}

// New returns a calendar with the given daily cut-off for handover: hour
// (0-23) and minute (0-59), Europe/Helsinki local time. The default is
// 16:00 (our assumption; see Default). New panics on an impossible time of
// day, which is a programming or configuration error.
func New(cutoffHour, cutoffMinute int) *Calendar {
	if cutoffHour < 0 || cutoffHour > 23 || cutoffMinute < 0 || cutoffMinute > 59 {
		panic(fmt.Sprintf("calendar: cut-off %02d:%02d is not a time of day (00:00-23:59)", cutoffHour, cutoffMinute))
	}
	return &Calendar{
		holidays: &cal.Calendar{Name: "FI", Description: "Finnish public holidays", Holidays: finnishHolidays()},
		cutoff:   cutoffHour*60 + cutoffMinute,
	}
}

// Default returns a calendar with the default cut-off, 16:00: New(16, 0).
func Default() *Calendar { return New(DefaultCutoffHour, DefaultCutoffMinute) }

// finnishHolidays returns fresh definitions of the Finnish public holidays,
// Finnish names first, the English one as the description. They are built
// per Calendar rather than held in package variables, so no caller can
// mutate what another calendar sees.
func finnishHolidays() []*cal.Holiday {
	fi := func(h *cal.Holiday, name, english string) *cal.Holiday {
		c := h.Clone(&cal.Holiday{Name: name, Description: english, Type: cal.ObservancePublic})
		c.Func = onDay(c.Func)
		return c
	}
	dayOfMonth := func(name, english string, month time.Month, day int) *cal.Holiday {
		return &cal.Holiday{Name: name, Description: english, Type: cal.ObservancePublic,
			Month: month, Day: day, Func: onDay(cal.CalcDayOfMonth)}
	}
	// The first weekday on or after month/day: Midsummer Eve is the Friday
	// of 19-25 June, Midsummer Day the Saturday of 20-26 June, All Saints'
	// Day the Saturday of 31 Oct - 6 Nov (since 1955).
	firstWeekdayFrom := func(name, english string, month time.Month, day int, wd time.Weekday) *cal.Holiday {
		return &cal.Holiday{Name: name, Description: english, Type: cal.ObservancePublic,
			Month: month, Day: day, Weekday: wd, Offset: 1, Func: onDay(cal.CalcWeekdayFrom)}
	}
	// Order matters only when two holidays fall on the same day (May Day
	// and Ascension Day did in 2008): the first one listed names the day.
	return []*cal.Holiday{
		fi(aa.NewYear, "Uudenvuodenpäivä", "New Year's Day"),
		fi(aa.Epiphany, "Loppiainen", "Epiphany"),
		fi(aa.GoodFriday, "Pitkäperjantai", "Good Friday"),
		fi(aa.Easter, "Pääsiäispäivä", "Easter Sunday"),
		fi(aa.EasterMonday, "2. pääsiäispäivä", "Easter Monday"),
		fi(aa.WorkersDay, "Vappu", "May Day"),
		fi(aa.AscensionDay, "Helatorstai", "Ascension Day"),
		fi(aa.Pentecost, "Helluntaipäivä", "Whit Sunday"),
		firstWeekdayFrom("Juhannusaatto", "Midsummer Eve", time.June, 19, time.Friday),
		firstWeekdayFrom("Juhannuspäivä", "Midsummer Day", time.June, 20, time.Saturday),
		firstWeekdayFrom("Pyhäinpäivä", "All Saints' Day", time.October, 31, time.Saturday),
		dayOfMonth("Itsenäisyyspäivä", "Independence Day", time.December, 6),
		dayOfMonth("Jouluaatto", "Christmas Eve", time.December, 24),
		fi(aa.ChristmasDay, "Joulupäivä", "Christmas Day"),
		fi(aa.ChristmasDay2, "Tapaninpäivä", "Boxing Day"),
	}
}

// onDay makes a holiday function of rickar/cal independent of the
// process's time zone. The library answers with local midnight in
// cal.DefaultLoc (time.Local); where that zone skips midnight on the day
// (Atlantic/Azores on the last Sunday of March, which was Easter Sunday in
// 2024), time.Date gives 23:00 the day before instead. The wrapped function
// returns the day the library meant, its wall clock rounded to the nearest
// midnight, at noon UTC.
func onDay(f func(*cal.Holiday, int) time.Time) func(*cal.Holiday, int) time.Time {
	return func(h *cal.Holiday, year int) time.Time {
		t := f(h, year)
		if t.IsZero() {
			return t
		}
		y, m, d := t.Date()
		y, m, d = time.Date(y, m, d, t.Hour()+12, 0, 0, 0, time.UTC).Date()
		return time.Date(y, m, d, 12, 0, 0, 0, time.UTC)
	}
}

// Holiday reports whether t's calendar day in Helsinki is a Finnish public
// holiday, and its Finnish name, e.g. "Itsenäisyyspäivä" for 6 December.
//
// The holidays are New Year's Day (Uudenvuodenpäivä, 1 Jan), Epiphany
// (Loppiainen, 6 Jan), Good Friday (Pitkäperjantai), Easter Sunday
// (Pääsiäispäivä), Easter Monday (2. pääsiäispäivä), May Day (Vappu, 1 May),
// Ascension Day (Helatorstai), Whit Sunday (Helluntaipäivä), Midsummer Eve
// (Juhannusaatto, the Friday of 19-25 June), Midsummer Day (Juhannuspäivä,
// the Saturday of 20-26 June), All Saints' Day (Pyhäinpäivä, the Saturday of
// 31 Oct - 6 Nov), Independence Day (Itsenäisyyspäivä, 6 Dec), Christmas Eve
// (Jouluaatto), Christmas Day (Joulupäivä) and Boxing Day (Tapaninpäivä).
func (c *Calendar) Holiday(t time.Time) (name string, ok bool) {
	return c.holiday(lokero.DateOf(t))
}

func (c *Calendar) holiday(d lokero.Date) (string, bool) {
	year, ok := c.years.Load(d.Year)
	if !ok {
		days := map[lokero.Date]string{}
		for day := (lokero.Date{Year: d.Year, Month: time.January, Day: 1}); day.Year == d.Year; day = day.AddDays(1) {
			if name, ok := c.computeHoliday(day); ok {
				days[day] = name
			}
		}
		year, _ = c.years.LoadOrStore(d.Year, days)
	}
	name, ok := year.(map[lokero.Date]string)[d]
	return name, ok
}

func (c *Calendar) computeHoliday(d lokero.Date) (string, bool) {
	// cal.Calendar compares the year, month and day of the time it is
	// given; noon UTC carries d's date whatever cal.DefaultLoc is.
	act, obs, h := c.holidays.IsHoliday(time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC))
	if (act || obs) && h != nil {
		return h.Name, true
	}
	return "", false
}

// IsBusinessDay reports whether t's calendar day in Helsinki is a business
// day: not a Saturday, not a Sunday and not a public holiday.
func (c *Calendar) IsBusinessDay(t time.Time) bool {
	return c.isBusinessDay(lokero.DateOf(t))
}

func (c *Calendar) isBusinessDay(d lokero.Date) bool {
	if wd := d.Weekday(); wd == time.Saturday || wd == time.Sunday {
		return false
	}
	_, holiday := c.holiday(d)
	return !holiday
}

// NextBusinessDay returns the first business day strictly after t's
// calendar day in Helsinki: for Friday 5 Dec 2025 it is Monday 8 Dec.
func (c *Calendar) NextBusinessDay(t time.Time) lokero.Date {
	return c.nextBusinessDay(lokero.DateOf(t))
}

func (c *Calendar) nextBusinessDay(d lokero.Date) lokero.Date {
	// Terminates within a week: no Finnish holiday run with its weekend
	// lasts longer than four days (Easter, Christmas).
	for {
		d = d.AddDays(1)
		if c.isBusinessDay(d) {
			return d
		}
	}
}

// DeliveryDate returns the day a parcel handed over at handover is
// delivered: the next business day after its handover day. A parcel handed
// over at or after the cut-off, or on a day that is not a business day,
// counts as handed over on the next business day, so it is delivered on the
// business day after that. Times are reckoned in Helsinki, whatever
// handover's location. With the default 16:00 cut-off:
//
//	Mon 10:00                  → Tue
//	Mon 15:59:59               → Tue
//	Mon 16:00                  → Wed
//	Fri 17:00                  → Tue (counts as Monday's)
//	Sat, any time              → Tue (counts as Monday's)
//	Fri 5 Dec 2025 12:00       → Mon 8 Dec 2025 (6 Dec is a Saturday anyway)
//	Wed 23 Dec 2026 12:00      → Mon 28 Dec 2026 (24, 25, 26 Dec holidays, 27 Dec a Sunday)
func (c *Calendar) DeliveryDate(handover time.Time) lokero.Date {
	local := handover.In(helsinki)
	day := lokero.DateOf(local)
	// Compare wall-clock minutes: the cut-off is a whole minute, so
	// 15:59:59.999 is before it and 16:00:00 is not.
	if !c.isBusinessDay(day) || local.Hour()*60+local.Minute() >= c.cutoff {
		day = c.nextBusinessDay(day)
	}
	return c.nextBusinessDay(day)
}

// StorageDeadline returns when the storage period of a parcel deposited at
// deposit ends: a deposit at any time on day D (Helsinki) may be collected
// until the end of day D+days, so the deadline is the first instant of day
// D+days+1 in Helsinki (24:00 on D+days). For lokero's StorageDays (7) a
// parcel deposited on Thursday 26 March 2026 may be collected until the
// start of Friday 3 April, 2026-04-03T00:00+03:00. The days are calendar
// days, not business days, and the arithmetic is on Helsinki dates, so a
// daylight-saving change in between does not shift the deadline by an
// hour. The result is in UTC.
func (c *Calendar) StorageDeadline(deposit time.Time, days int) time.Time {
	return lokero.DateOf(deposit).AddDays(days + 1).Start().UTC()
}

// The night, in Helsinki hours, when a message that can wait is not sent:
// from NightFrom to NightUntil the next morning.
const (
	NightFrom  = 21
	NightUntil = 8
)

// Daytime returns t, or when t falls in Helsinki's night (NightFrom to
// NightUntil) the next NightUntil o'clock: when a message that can wait
// for the morning goes. The result is in UTC.
func (c *Calendar) Daytime(t time.Time) time.Time {
	l := t.In(helsinki)
	switch {
	case l.Hour() >= NightFrom:
		return time.Date(l.Year(), l.Month(), l.Day()+1, NightUntil, 0, 0, 0, helsinki).UTC()
	case l.Hour() < NightUntil:
		return time.Date(l.Year(), l.Month(), l.Day(), NightUntil, 0, 0, 0, helsinki).UTC()
	}
	return t.UTC()
}

// ReminderHour is the Helsinki hour reminders go at: in the morning, never
// at the deadline's midnight.
const ReminderHour = 10

// ReminderAt returns when to remind the recipient of a deadline: at
// ReminderHour in Helsinki, daysBefore calendar days before the deadline's
// day (for a deadline at 00:00 on 3 April and daysBefore 2: 10:00 on 1
// April, with the 1st and the 2nd still to collect it), or a day earlier
// where that is not before the deadline. A daylight-saving change in
// between changes nothing: the day and the hour are Helsinki's. The result
// is in UTC.
func (c *Calendar) ReminderAt(deadline time.Time, daysBefore int) time.Time {
	l := deadline.In(helsinki)
	at := time.Date(l.Year(), l.Month(), l.Day()-daysBefore, ReminderHour, 0, 0, 0, helsinki)
	if !at.Before(deadline) {
		at = time.Date(l.Year(), l.Month(), l.Day()-daysBefore-1, ReminderHour, 0, 0, 0, helsinki)
	}
	return at.UTC()
}
