package locationfile

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/lokero/lokero"
)

// parseStatus reads a status cell: OPEN, TEMPORARILY_CLOSED, NOT_YET_OPEN
// or CLOSED in any case, with spaces or '-' for the underscores
// ("Temporarily closed"). Any other value is kept (upper-cased) for
// Validate to refuse with the list of statuses; empty is "" (OPEN after
// Normalize).
func parseStatus(s string) lokero.LocationStatus {
	s = strings.Join(strings.Fields(s), "_")
	return lokero.LocationStatus(strings.ToUpper(strings.ReplaceAll(s, "-", "_")))
}

// exceptionRange matches the opening time range that may follow an
// exception day's date: "10:00-14:00", "9.00 – 14.00".
var exceptionRange = regexp.MustCompile(`^([0-9]{1,2}[:.][0-9]{2})\s*[-–]\s*([0-9]{1,2}[:.][0-9]{2})(?:\s+|$)`)

// ParseExceptionDays parses the exception days syntax of the CSV format:
//
//	2026-06-19 closed Midsummer Eve; 2026-12-24 10:00-14:00 Christmas Eve
//
// Days are separated by ';'. Each is a date YYYY-MM-DD, then "closed" (or
// "off", "suljettu") or one time range HH:MM-HH:MM (read as in
// ParseOpeningHours: "9.00" is "09:00", "24:00" closes at midnight), then
// an optional reason, the rest of the day's text. The empty string gives
// no exception days. Order and repeated dates are left to
// lokero.Location.Normalize and Validate.
func ParseExceptionDays(s string) ([]lokero.ExceptionDay, error) {
	var days []lokero.ExceptionDay
	for part := range strings.SplitSeq(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		d, err := parseExceptionDay(part)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", part, err)
		}
		days = append(days, d)
	}
	return days, nil
}

func parseExceptionDay(s string) (lokero.ExceptionDay, error) {
	const want = `want a date, then "closed" or HH:MM-HH:MM, then an optional reason, e.g. "2026-06-19 closed Midsummer Eve"`
	date, rest, _ := strings.Cut(s, " ")
	if _, err := time.Parse("2006-01-02", date); err != nil || len(date) != len("2006-01-02") {
		return lokero.ExceptionDay{}, fmt.Errorf("%q is not a date YYYY-MM-DD; %s", date, want)
	}
	d := lokero.ExceptionDay{Date: date}
	rest = strings.TrimSpace(rest)
	word, reason, _ := strings.Cut(rest, " ")
	if slices.Contains(closedWords, strings.ToLower(strings.TrimRight(word, ":,"))) {
		d.Closed, d.Reason = true, strings.TrimSpace(reason)
		return d, nil
	}
	m := exceptionRange.FindStringSubmatchIndex(rest)
	if m == nil {
		if rest == "" {
			return lokero.ExceptionDay{}, fmt.Errorf("missing closed or the opening hours; %s", want)
		}
		if strings.Contains(word, ",") && strings.ContainsAny(word, ":.") {
			return lokero.ExceptionDay{}, fmt.Errorf("an exception day has one time range; %s", want)
		}
		return lokero.ExceptionDay{}, fmt.Errorf("%q is neither closed nor HH:MM-HH:MM; %s", word, want)
	}
	from, to, err := parseTimeRange(rest[m[2]:m[3]] + "-" + rest[m[4]:m[5]])
	if err != nil {
		return lokero.ExceptionDay{}, err
	}
	d.From, d.To, d.Reason = from, to, strings.TrimSpace(rest[m[1]:])
	return d, nil
}

// FormatExceptionDays writes exception days in the syntax
// ParseExceptionDays reads: "2026-06-19 closed Midsummer Eve; 2026-12-24
// 10:00-14:00 Christmas Eve". A ';' in a reason, which would end the day,
// is written as ','.
func FormatExceptionDays(days []lokero.ExceptionDay) string {
	parts := make([]string, len(days))
	for i, d := range days {
		p := d.Date + " "
		if d.Closed {
			p += "closed"
		} else {
			p += d.From + "-" + d.To
		}
		if d.Reason != "" {
			p += " " + strings.ReplaceAll(d.Reason, ";", ",")
		}
		parts[i] = p
	}
	return strings.Join(parts, "; ")
}

// ParseFunctions parses the functions syntax of the CSV format: the names
// collect, send and return (any case) separated by spaces, commas or
// semicolons ("collect send return", "collect,return"). The empty string
// gives none (the type's default after Normalize); unknown names are kept
// for Validate to refuse.
func ParseFunctions(s string) ([]string, error) {
	fs := strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return r == ' ' || r == ',' || r == ';' || r == '\t'
	})
	if len(fs) == 0 {
		return nil, nil
	}
	return fs, nil
}

// FormatFunctions writes functions as ParseFunctions reads them:
// "collect send return".
func FormatFunctions(fs []string) string { return strings.Join(fs, " ") }
