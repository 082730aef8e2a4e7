package locationfile

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/lokero/lokero"
)

// weekdayNames are the day abbreviations of the opening-hours syntax: the
// English ones of OpenStreetMap's opening_hours, which Write uses.
var weekdayNames = [8]string{1: "Mo", 2: "Tu", 3: "We", 4: "Th", 5: "Fr", 6: "Sa", 7: "Su"}

// weekdayByName maps every accepted day abbreviation (lower case) to its
// weekday: the English ones and the Finnish ones (ma ti ke to pe la su).
var weekdayByName = map[string]int{
	"mo": 1, "tu": 2, "we": 3, "th": 4, "fr": 5, "sa": 6, "su": 7,
	"ma": 1, "ti": 2, "ke": 3, "to": 4, "pe": 5, "la": 6,
}

// tightSeparators matches the spaces around the dashes and commas of the
// opening-hours syntax.
var tightSeparators = regexp.MustCompile(`\s*([-–,])\s*`)

// closedWords say that the days of a rule are closed.
var closedWords = []string{"closed", "off", "suljettu"}

// ParseOpeningHours parses the opening-hours syntax of the CSV format:
//
//	Mo-Fr 08:00-20:00; Sa 09:00-16:00; Su closed
//
// Rules are separated by ';'. Each rule is a list of days, a space and a
// list of time ranges. Days are Mo Tu We Th Fr Sa Su (or the Finnish ma ti
// ke to pe la su, any case), as single days or ranges joined by ','
// ("Mo-We,Fr"; a range may wrap round the week, "Fr-Mo"). Time ranges are
// HH:MM-HH:MM joined by ',' ("08:00-12:00,13:00-17:00"); "24:00" closes at
// midnight, "8:00" and "8.00" are read as "08:00", and "closed" (or "off")
// lists the days as closed. A day may appear in one rule only; a day that
// appears in none is closed, but not every day may be closed. The whole value "24/7" means open round the
// clock every day. The empty string gives no opening hours (a locker then
// gets 24/7 from Normalize).
//
// The result is ordered by weekday; a day's ranges keep their order.
func ParseOpeningHours(s string) ([]lokero.OpeningHours, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if strings.EqualFold(s, "24/7") {
		return lokero.AlwaysOpen(), nil
	}
	s = tightSeparators.ReplaceAllString(s, "$1") // "Mo - Fr 8:00 - 20:00" → "Mo-Fr 8:00-20:00"
	var byDay [8][]lokero.OpeningHours
	var seen [8]bool
	for rule := range strings.SplitSeq(s, ";") {
		rule = strings.TrimSpace(rule)
		if rule == "" {
			continue
		}
		if strings.EqualFold(rule, "24/7") {
			return nil, fmt.Errorf("%q must stand alone, not with other rules", rule)
		}
		daysPart, timesPart, ok := strings.Cut(rule, " ")
		if !ok {
			return nil, fmt.Errorf("rule %q: want days and times, e.g. \"Mo-Fr 08:00-20:00\"", rule)
		}
		days, err := parseDays(daysPart)
		if err != nil {
			return nil, fmt.Errorf("rule %q: %w", rule, err)
		}
		timesPart = strings.Join(strings.Fields(timesPart), "")
		var ranges [][2]string
		if !slices.Contains(closedWords, strings.ToLower(timesPart)) {
			for r := range strings.SplitSeq(timesPart, ",") {
				from, to, err := parseTimeRange(r)
				if err != nil {
					return nil, fmt.Errorf("rule %q: %w", rule, err)
				}
				ranges = append(ranges, [2]string{from, to})
			}
		}
		for _, d := range days {
			if seen[d] {
				return nil, fmt.Errorf("rule %q: %s already appears in an earlier rule", rule, weekdayNames[d])
			}
			seen[d] = true
			for _, r := range ranges {
				byDay[d] = append(byDay[d], lokero.OpeningHours{Weekday: d, From: r[0], To: r[1]})
			}
		}
	}
	var hours []lokero.OpeningHours
	for d := 1; d <= 7; d++ {
		hours = append(hours, byDay[d]...)
	}
	if hours == nil {
		// Every day closed would read as "no hours given", which makes a
		// locker 24/7: refuse rather than guess.
		return nil, fmt.Errorf("every day is closed; leave opening_hours empty when the hours are unknown")
	}
	return hours, nil
}

// parseDays parses "Mo-Fr", "Sa", "Mo,We,Fr", "Mo-We,Fr".
func parseDays(s string) ([]int, error) {
	var days []int
	for part := range strings.SplitSeq(s, ",") {
		first, last, isRange := cutDash(part)
		a, ok := weekdayByName[strings.ToLower(strings.TrimSpace(first))]
		if !ok {
			return nil, fmt.Errorf("unknown day %q (want Mo Tu We Th Fr Sa Su)", strings.TrimSpace(first))
		}
		if !isRange {
			days = append(days, a)
			continue
		}
		b, ok := weekdayByName[strings.ToLower(strings.TrimSpace(last))]
		if !ok {
			return nil, fmt.Errorf("unknown day %q (want Mo Tu We Th Fr Sa Su)", strings.TrimSpace(last))
		}
		for d := a; ; d = d%7 + 1 {
			days = append(days, d)
			if d == b {
				break
			}
		}
	}
	return days, nil
}

// parseTimeRange parses "08:00-20:00" into canonical "HH:MM" times.
func parseTimeRange(s string) (from, to string, err error) {
	a, b, ok := cutDash(s)
	if !ok {
		return "", "", fmt.Errorf("time range %q: want HH:MM-HH:MM", s)
	}
	if from, err = parseClock(a); err != nil {
		return "", "", err
	}
	if to, err = parseClock(b); err != nil {
		return "", "", err
	}
	if from == "24:00" {
		return "", "", fmt.Errorf("time range %q: opening time 24:00 is not a time of day", s)
	}
	if to <= from {
		return "", "", fmt.Errorf("time range %q: closing time is not after opening time (ranges cannot cross midnight: close at 24:00)", s)
	}
	return from, to, nil
}

// parseClock reads "8:00", "08:00" or "8.00" as "08:00".
func parseClock(s string) (string, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok {
		h, m, ok = strings.Cut(s, ".")
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || len(h) < 1 || len(h) > 2 || len(m) != 2 ||
		hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return "", fmt.Errorf("time %q: want HH:MM (00:00-24:00)", s)
	}
	return fmt.Sprintf("%02d:%02d", hh, mm), nil
}

// cutDash splits s at its first '-' or en dash.
func cutDash(s string) (before, after string, found bool) {
	if i := strings.IndexAny(s, "-–"); i >= 0 {
		_, size := utf8.DecodeRuneInString(s[i:])
		return s[:i], s[i+size:], true
	}
	return s, "", false
}

// FormatOpeningHours writes opening hours in the syntax ParseOpeningHours
// reads: "24/7" when every day is open round the clock, otherwise rules
// grouping consecutive days with the same ranges ("Mo-Fr 08:00-20:00;
// Sa 09:00-16:00; Su closed"). No hours give "".
func FormatOpeningHours(hours []lokero.OpeningHours) string {
	if len(hours) == 0 {
		return ""
	}
	var byDay [8][]string
	for _, h := range hours {
		if h.Weekday >= 1 && h.Weekday <= 7 {
			byDay[h.Weekday] = append(byDay[h.Weekday], h.From+"-"+h.To)
		}
	}
	spec := func(d int) string {
		if len(byDay[d]) == 0 {
			return "closed"
		}
		return strings.Join(byDay[d], ",")
	}
	always := true
	for d := 1; d <= 7; d++ {
		always = always && spec(d) == "00:00-24:00"
	}
	if always {
		return "24/7"
	}
	var rules []string
	for d := 1; d <= 7; {
		e := d
		for e < 7 && spec(e+1) == spec(d) {
			e++
		}
		days := weekdayNames[d]
		if e > d {
			days += "-" + weekdayNames[e]
		}
		rules = append(rules, days+" "+spec(d))
		d = e + 1
	}
	return strings.Join(rules, "; ")
}
