package lokero

import (
	"database/sql/driver"
	"fmt"
	"time"
)

// Date is a calendar date without a time zone, such as a delivery date.
// The zero Date means "no date". Make Dates with DateOf, ParseDate or
// AddDays; a Date literal is not checked.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns t's calendar day in Helsinki: 2026-03-01T22:30:00Z is
// 2026-03-02.
func DateOf(t time.Time) Date {
	y, m, d := t.In(Helsinki).Date()
	return Date{Year: y, Month: m, Day: d}
}

// ParseDate parses a date written as YYYY-MM-DD, e.g. "2026-12-24". A
// malformed or impossible date ("2026-13-01", "2026-02-30") is an EINVALID
// *lokero.Error with Field "date", which the caller may re-set to the name
// of its own input field.
func ParseDate(s string) (Date, error) {
	const layout = "YYYY-MM-DD"
	malformed := func() (Date, error) {
		return Date{}, Invalid("date", "malformed", "date must be written as YYYY-MM-DD, e.g. 2026-12-24; got %q", s)
	}
	if len(s) != len(layout) {
		return malformed()
	}
	n := [3]int{} // year, month, day
	field := 0
	for i := range len(layout) {
		switch ch := s[i]; {
		case layout[i] == '-':
			if ch != '-' {
				return malformed()
			}
			field++
		case ch >= '0' && ch <= '9':
			n[field] = n[field]*10 + int(ch-'0')
		default:
			return malformed()
		}
	}
	year, month, day := n[0], time.Month(n[1]), n[2]
	if month < time.January || month > time.December {
		return Date{}, Invalid("date", "out_of_range", "date %q has no month %d: months are 01-12", s, n[1])
	}
	// Day 0 of the next month is the last day of this one.
	last := time.Date(year, month+1, 0, 12, 0, 0, 0, time.UTC).Day()
	if day < 1 || day > last {
		return Date{}, Invalid("date", "out_of_range", "date %q does not exist: %s %d has days 01-%02d", s, month, year, last)
	}
	return Date{Year: year, Month: month, Day: day}, nil
}

// String returns the date as YYYY-MM-DD, e.g. "2026-12-24".
func (d Date) String() string {
	if d.Year < 0 || d.Year > 9999 || d.Month < 0 || d.Month > 99 || d.Day < 0 || d.Day > 99 {
		return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
	}
	// By hand: searches write the delivery date once a query.
	m := int(d.Month)
	b := [10]byte{byte('0' + d.Year/1000), byte('0' + d.Year/100%10), byte('0' + d.Year/10%10), byte('0' + d.Year%10), '-',
		byte('0' + m/10), byte('0' + m%10), '-', byte('0' + d.Day/10), byte('0' + d.Day%10)}
	return string(b[:])
}

// Text returns the date as it is written out to people, files and
// databases: YYYY-MM-DD, and the zero Date (no date) as "".
func (d Date) Text() string {
	if d.IsZero() {
		return ""
	}
	return d.String()
}

// MarshalText writes the date as Text, so that JSON shows it as
// "2026-12-24", and the zero Date as "".
func (d Date) MarshalText() ([]byte, error) { return []byte(d.Text()), nil }

// UnmarshalText reads a date written as YYYY-MM-DD (see ParseDate); empty
// text reads as the zero Date, the inverse of MarshalText. On error d is
// left unchanged.
func (d *Date) UnmarshalText(text []byte) error {
	if len(text) == 0 {
		*d = Date{}
		return nil
	}
	v, err := ParseDate(string(text))
	if err != nil {
		return err
	}
	*d = v
	return nil
}

// Value stores the date in a database column as the text YYYY-MM-DD; the
// zero Date as "", which is what the date columns hold for "no date"
// (NOT NULL, default empty text).
func (d Date) Value() (driver.Value, error) { return d.Text(), nil }

// Scan reads a date column written by Value: text (string or []byte) as
// YYYY-MM-DD, "" as the zero Date. A malformed date is an error.
func (d *Date) Scan(src any) error {
	switch v := src.(type) {
	case string:
		return d.UnmarshalText([]byte(v))
	case []byte:
		return d.UnmarshalText(v)
	default:
		return fmt.Errorf("lokero: scan date from %T: want text YYYY-MM-DD", src)
	}
}

// Start returns the first instant of the date in Helsinki. Finland changes
// its clocks at 03:00 and 04:00, so midnight always exists.
func (d Date) Start() time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, Helsinki)
}

// AddDays returns the date n calendar days later (earlier for negative n).
func (d Date) AddDays(n int) Date {
	// Noon UTC has no daylight-saving changes to step over.
	y, m, day := time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC).Date()
	return Date{Year: y, Month: m, Day: day}
}

// Before reports whether d is earlier than o.
func (d Date) Before(o Date) bool { return d.compare(o) < 0 }

// After reports whether d is later than o.
func (d Date) After(o Date) bool { return d.compare(o) > 0 }

func (d Date) compare(o Date) int {
	switch {
	case d.Year != o.Year:
		return d.Year - o.Year
	case d.Month != o.Month:
		return int(d.Month - o.Month)
	default:
		return d.Day - o.Day
	}
}

// IsZero reports whether d is the zero Date, "no date".
func (d Date) IsZero() bool { return d == Date{} }

// Weekday returns the day of the week of d.
func (d Date) Weekday() time.Weekday {
	return time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC).Weekday()
}
