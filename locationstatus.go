package lokero

import (
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// LocationStatus says whether a pickup point takes parcels: the operator
// sets it, and every change is kept as a LocationEvent.
type LocationStatus string

// The location statuses. They are named Location* because the shipment
// statuses (StatusCreated, ...) already use the Status prefix.
const (
	// LocationOpen is a point in service (subject to its opening hours and
	// exception days). An empty status is normalised to it.
	LocationOpen LocationStatus = "OPEN"
	// LocationTemporarilyClosed is a point out of service from StatusFrom
	// to StatusUntil (both inclusive; no StatusUntil: until further
	// notice), e.g. for a renovation.
	LocationTemporarilyClosed LocationStatus = "TEMPORARILY_CLOSED"
	// LocationNotYetOpen is a point announced but not open before OpensOn.
	LocationNotYetOpen LocationStatus = "NOT_YET_OPEN"
	// LocationClosed is a point closed for good.
	LocationClosed LocationStatus = "CLOSED"
)

// LocationStatuses lists every location status, in a stable order.
var LocationStatuses = []LocationStatus{LocationOpen, LocationTemporarilyClosed, LocationNotYetOpen, LocationClosed}

// ParseLocationStatus returns the status named s (case-insensitive).
func ParseLocationStatus(s string) (LocationStatus, bool) {
	st := LocationStatus(strings.ToUpper(strings.TrimSpace(s)))
	return st, slices.Contains(LocationStatuses, st)
}

// The functions of a pickup point: what a consumer can do there.
const (
	FunctionCollect = "collect" // collect a parcel delivered there
	FunctionSend    = "send"    // send a parcel (drop a pre-paid parcel)
	FunctionReturn  = "return"  // leave a return
)

// LocationFunctions lists every function, in the order Normalize sorts
// them.
var LocationFunctions = []string{FunctionCollect, FunctionSend, FunctionReturn}

// DefaultFunctions returns the functions a location of type t has unless
// it says otherwise: collect, send and return at lockers and post offices,
// collect and return at an agent's pickup point. An unknown type has none.
func DefaultFunctions(t LocationType) []string {
	switch t {
	case TypeLocker, TypeSmartpost, TypePostOffice:
		return []string{FunctionCollect, FunctionSend, FunctionReturn}
	case TypePickupPoint:
		return []string{FunctionCollect, FunctionReturn}
	}
	return nil
}

// MaxReasonLength is the most characters (runes) a status or exception
// day reason may have.
const MaxReasonLength = 200

// ExceptionDay is a dated exception to the weekly opening hours: the point
// is closed all day (Closed), or open From-To instead of its usual hours
// ("HH:MM" Helsinki time as in OpeningHours; To may be "24:00").
type ExceptionDay struct {
	Date   string `json:"date"`             // YYYY-MM-DD
	Closed bool   `json:"closed"`           // closed all day
	From   string `json:"from,omitempty"`   // otherwise open From-To
	To     string `json:"to,omitempty"`     //
	Reason string `json:"reason,omitempty"` // e.g. "Midsummer Eve"
}

// dateLayout is the layout of the status fields' dates.
const dateLayout = "2006-01-02"

// validDate reports whether s is a real calendar date written YYYY-MM-DD
// (2026-02-30 and 2026-13-01 are not).
func validDate(s string) bool {
	return weekdayOf(s) != 0
}

// weekdayOf returns the ISO weekday (1 Monday … 7 Sunday) of a YYYY-MM-DD
// date, or 0 when it is not a real calendar date. A search checks every
// candidate's status against one date, so this does by arithmetic what
// time.Parse would do with a hundred times the work.
func weekdayOf(date string) int {
	if len(date) != len(dateLayout) || date[4] != '-' || date[7] != '-' {
		return 0
	}
	num := func(s string) int {
		n := 0
		for i := 0; i < len(s); i++ {
			c := s[i]
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	y, m, d := num(date[:4]), num(date[5:7]), num(date[8:])
	if y < 1 || m < 1 || m > 12 || d < 1 || d > daysIn(y, m) {
		return 0
	}
	// Sakamoto's method: 0 Sunday … 6 Saturday.
	offsets := [12]int{0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4}
	if m < 3 {
		y--
	}
	sunday0 := (y + y/4 - y/100 + y/400 + offsets[m-1] + d) % 7
	return (sunday0+6)%7 + 1
}

// daysIn returns the number of days of month m (1-12) in year y.
func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// normalizeStatus is the part of Normalize about the status fields: see
// Normalize.
func (l *Location) normalizeStatus() {
	l.Status = LocationStatus(strings.ToUpper(strings.TrimSpace(string(l.Status))))
	if l.Status == "" {
		l.Status = LocationOpen
	}
	l.StatusFrom = strings.TrimSpace(l.StatusFrom)
	l.StatusUntil = strings.TrimSpace(l.StatusUntil)
	l.StatusReason = strings.TrimSpace(l.StatusReason)
	l.OpensOn = strings.TrimSpace(l.OpensOn)
	for i := range l.ExceptionDays {
		d := &l.ExceptionDays[i]
		d.Date = strings.TrimSpace(d.Date)
		d.From, d.To = strings.TrimSpace(d.From), strings.TrimSpace(d.To)
		d.Reason = strings.TrimSpace(d.Reason)
	}
	slices.SortStableFunc(l.ExceptionDays, func(a, b ExceptionDay) int { return strings.Compare(a.Date, b.Date) })

	if len(l.Functions) == 0 {
		l.Functions = DefaultFunctions(l.Type)
		return
	}
	fs := make([]string, 0, len(l.Functions))
	for _, f := range l.Functions {
		if f = strings.ToLower(strings.TrimSpace(f)); f != "" && !slices.Contains(fs, f) {
			fs = append(fs, f)
		}
	}
	// Known functions in their order, then any unknown one (which Validate
	// refuses) in the order given.
	rank := func(f string) int {
		if i := slices.Index(LocationFunctions, f); i >= 0 {
			return i
		}
		return len(LocationFunctions)
	}
	slices.SortStableFunc(fs, func(a, b string) int { return rank(a) - rank(b) })
	if len(fs) == 0 {
		fs = DefaultFunctions(l.Type)
	}
	l.Functions = fs
}

// SetStatus changes the status and clears the fields that do not apply to
// the new one: StatusFrom and StatusUntil unless it is TEMPORARILY_CLOSED,
// OpensOn unless it is NOT_YET_OPEN, and StatusReason when the status
// changes. Validate refuses those fields with another status (reason
// "not_allowed") rather than dropping them silently, so that a typo in an
// import file or a request is reported; a partial update (PATCH) that
// changes the status calls SetStatus first, then applies the other fields
// of the request, then Normalize and Validate.
func (l *Location) SetStatus(s LocationStatus) {
	if s != l.Status {
		l.StatusReason = ""
	}
	l.Status = s
	if s != LocationTemporarilyClosed {
		l.StatusFrom, l.StatusUntil = "", ""
	}
	if s != LocationNotYetOpen {
		l.OpensOn = ""
	}
}

// validateStatus is the part of Validate about the status fields:
//
//   - status is one of the four (field "status", reason "unknown_status");
//   - status_from, status_until and opens_on, when set, are real dates
//     YYYY-MM-DD ("malformed");
//   - TEMPORARILY_CLOSED needs status_from and NOT_YET_OPEN opens_on
//     ("required"); status_until is not before status_from
//     ("before_from");
//   - status_from and status_until are set only with TEMPORARILY_CLOSED,
//     opens_on only with NOT_YET_OPEN and status_reason not with OPEN
//     ("not_allowed": see SetStatus);
//   - status_reason has at most MaxReasonLength characters ("too_long");
//   - exception days: a real date ("malformed"), at most once per date
//     ("duplicate"); either closed (then no from or to: "not_allowed") or
//     open from < to in the clock format of opening hours ("malformed",
//     "out_of_range"); a reason of at most MaxReasonLength characters;
//   - functions are collect, send or return ("unknown_function"), each at
//     most once ("duplicate").
func (l *Location) validateStatus() error {
	switch l.Status {
	case LocationOpen, LocationTemporarilyClosed, LocationNotYetOpen, LocationClosed:
	default:
		return Invalid("status", "unknown_status", "status must be one of OPEN, TEMPORARILY_CLOSED, NOT_YET_OPEN, CLOSED; got %q", l.Status)
	}
	for _, f := range []struct{ name, value string }{
		{"status_from", l.StatusFrom}, {"status_until", l.StatusUntil}, {"opens_on", l.OpensOn},
	} {
		if f.value != "" && !validDate(f.value) {
			return Invalid(f.name, "malformed", "%s must be a date YYYY-MM-DD; got %q", f.name, f.value)
		}
	}
	switch {
	case l.Status == LocationTemporarilyClosed && l.StatusFrom == "":
		return Invalid("status_from", "required", "a TEMPORARILY_CLOSED location needs status_from, the first closed day")
	case l.Status != LocationTemporarilyClosed && l.StatusFrom != "":
		return Invalid("status_from", "not_allowed", "status_from is only for a TEMPORARILY_CLOSED location; the status is %s", l.Status)
	case l.Status != LocationTemporarilyClosed && l.StatusUntil != "":
		return Invalid("status_until", "not_allowed", "status_until is only for a TEMPORARILY_CLOSED location; the status is %s", l.Status)
	case l.StatusUntil != "" && l.StatusUntil < l.StatusFrom:
		return Invalid("status_until", "before_from", "status_until %s is before status_from %s", l.StatusUntil, l.StatusFrom)
	case l.Status == LocationNotYetOpen && l.OpensOn == "":
		return Invalid("opens_on", "required", "a NOT_YET_OPEN location needs opens_on, the first open day")
	case l.Status != LocationNotYetOpen && l.OpensOn != "":
		return Invalid("opens_on", "not_allowed", "opens_on is only for a NOT_YET_OPEN location; the status is %s", l.Status)
	case l.Status == LocationOpen && l.StatusReason != "":
		return Invalid("status_reason", "not_allowed", "status_reason is only for a location that is not OPEN")
	case utf8.RuneCountInString(l.StatusReason) > MaxReasonLength:
		return Invalid("status_reason", "too_long", "status_reason has %d characters; at most %d are allowed", utf8.RuneCountInString(l.StatusReason), MaxReasonLength)
	}
	seen := map[string]bool{}
	for i, d := range l.ExceptionDays {
		field := fmt.Sprintf("exception_days[%d]", i)
		switch {
		case !validDate(d.Date):
			return Invalid(field+".date", "malformed", "exception day date must be a date YYYY-MM-DD; got %q", d.Date)
		case seen[d.Date]:
			return Invalid(field+".date", "duplicate", "exception day %s appears twice", d.Date)
		case d.Closed && (d.From != "" || d.To != ""):
			return Invalid(field+".from", "not_allowed", "exception day %s is closed all day: it has no opening time", d.Date)
		case !d.Closed && (!clockPattern.MatchString(d.From) || d.From == "24:00"):
			return Invalid(field+".from", "malformed", "exception day %s: opening time must be HH:MM (or the day closed); got %q", d.Date, d.From)
		case !d.Closed && !clockPattern.MatchString(d.To):
			return Invalid(field+".to", "malformed", "exception day %s: closing time must be HH:MM; got %q", d.Date, d.To)
		case !d.Closed && d.To <= d.From:
			return Invalid(field+".to", "out_of_range", "exception day %s: closing time %s is not after opening time %s", d.Date, d.To, d.From)
		case utf8.RuneCountInString(d.Reason) > MaxReasonLength:
			return Invalid(field+".reason", "too_long", "exception day %s: the reason has %d characters; at most %d are allowed", d.Date, utf8.RuneCountInString(d.Reason), MaxReasonLength)
		}
		seen[d.Date] = true
	}
	for i, f := range l.Functions {
		field := fmt.Sprintf("functions[%d]", i)
		if !slices.Contains(LocationFunctions, f) {
			return Invalid(field, "unknown_function", "function must be collect, send or return; got %q", f)
		}
		if slices.Contains(l.Functions[:i], f) {
			return Invalid(field, "duplicate", "function %q appears twice", f)
		}
	}
	return nil
}

// exceptionOn returns the exception day of date, if any.
func (l *Location) exceptionOn(date string) (ExceptionDay, bool) {
	for _, d := range l.ExceptionDays {
		if d.Date == date {
			return d, true
		}
	}
	return ExceptionDay{}, false
}

// statusClosedOn says whether the status alone closes the point on date.
func (l *Location) statusClosedOn(date string) bool {
	switch l.Status {
	case LocationClosed:
		return true
	case LocationNotYetOpen:
		return l.OpensOn == "" || date < l.OpensOn
	case LocationTemporarilyClosed:
		return l.StatusFrom <= date && (l.StatusUntil == "" || date <= l.StatusUntil)
	}
	return false // OPEN, or "" (not normalised): open
}

// OpenOn reports whether the point takes parcels on date, a Helsinki
// calendar day "YYYY-MM-DD" (dates compare as strings):
//
//   - CLOSED: never;
//   - NOT_YET_OPEN: not before OpensOn;
//   - TEMPORARILY_CLOSED: not from StatusFrom to StatusUntil, both
//     inclusive (from StatusFrom on when there is no StatusUntil);
//   - otherwise (OPEN, or outside those dates) an exception day of that
//     date decides: closed, or open at its hours even on a weekday that
//     usually has none; without one, the weekly opening hours: a location
//     that has some but none on that weekday (a post office on Sunday) is
//     closed, and a location with no opening hours at all counts as open.
//
// A date that is not YYYY-MM-DD is never open.
func (l *Location) OpenOn(date string) bool {
	return l.closedReason(date) == ""
}

// ClosedReason says why the point is not open on date (see OpenOn), in
// short English for a checkout or the operator: "temporarily closed
// 2026-12-20–2027-01-06: renovation", "temporarily closed from 2026-12-20
// until further notice", "opens on 2027-02-01", "permanently closed",
// "closed on 2026-06-19: Midsummer Eve", "closed on Sundays". It is ""
// when the point is open that day.
func (l *Location) ClosedReason(date string) string {
	return l.closedReason(date)
}

func (l *Location) closedReason(date string) string {
	wd := weekdayOf(date)
	if wd == 0 {
		return fmt.Sprintf("not a date: %q", date)
	}
	withReason := func(s string) string {
		if l.StatusReason != "" {
			return s + ": " + l.StatusReason
		}
		return s
	}
	if l.statusClosedOn(date) {
		switch l.Status {
		case LocationClosed:
			return withReason("permanently closed")
		case LocationNotYetOpen:
			if l.OpensOn == "" {
				return withReason("not yet open")
			}
			return withReason("opens on " + l.OpensOn)
		default:
			if l.StatusUntil == "" {
				return withReason("temporarily closed from " + l.StatusFrom + " until further notice")
			}
			return withReason("temporarily closed " + l.StatusFrom + "–" + l.StatusUntil)
		}
	}
	if d, ok := l.exceptionOn(date); ok {
		if !d.Closed {
			return ""
		}
		if d.Reason != "" {
			return "closed on " + date + ": " + d.Reason
		}
		return "closed on " + date
	}
	if len(l.OpeningHours) == 0 {
		return ""
	}
	for _, h := range l.OpeningHours {
		if h.Weekday == wd {
			return ""
		}
	}
	return "closed on " + weekdayPlurals[wd]
}

// weekdayPlurals name the days of the week for ClosedReason.
var weekdayPlurals = [8]string{1: "Mondays", 2: "Tuesdays", 3: "Wednesdays", 4: "Thursdays",
	5: "Fridays", 6: "Saturdays", 7: "Sundays"}

// HoursOn returns the opening hours that apply on date ("YYYY-MM-DD",
// Helsinki): none when the point is not open that day (OpenOn), the
// exception day's From-To as one entry (with that date's weekday) when
// there is one, otherwise the weekly entries of that weekday. It is also
// empty for a location with no opening hours at all, which OpenOn counts
// as open: its hours are not known.
func (l *Location) HoursOn(date string) []OpeningHours {
	return l.AppendHoursOn(nil, date)
}

// AppendHoursOn appends HoursOn(date) to dst and returns it: a caller
// with a buffer of its own allocates nothing (the API's answers).
func (l *Location) AppendHoursOn(dst []OpeningHours, date string) []OpeningHours {
	if !l.OpenOn(date) {
		return dst
	}
	wd := weekdayOf(date)
	if d, ok := l.exceptionOn(date); ok {
		return append(dst, OpeningHours{Weekday: wd, From: d.From, To: d.To})
	}
	for _, h := range l.OpeningHours {
		if h.Weekday == wd {
			dst = append(dst, h)
		}
	}
	return dst
}

// OpenAt reports whether the point is open at the instant t: OpenOn its
// Helsinki date, and its Helsinki clock time within one of HoursOn's
// From-To ranges (From inclusive, To exclusive; "24:00" is midnight at
// the end of the day). A location with no opening hours at all and no
// exception that day is open all day when it is open on that day.
func (l *Location) OpenAt(t time.Time) bool {
	local := t.In(Helsinki)
	date := local.Format(dateLayout)
	if !l.OpenOn(date) {
		return false
	}
	_, exception := l.exceptionOn(date)
	if len(l.OpeningHours) == 0 && !exception {
		return true
	}
	clock := local.Format("15:04")
	for _, h := range l.HoursOn(date) {
		if h.From <= clock && clock < h.To {
			return true
		}
	}
	return false
}

// Has reports whether the point offers function (FunctionCollect,
// FunctionSend or FunctionReturn). A location whose Functions are empty
// (not normalised) has its type's DefaultFunctions.
func (l *Location) Has(function string) bool {
	if len(l.Functions) == 0 {
		return slices.Contains(DefaultFunctions(l.Type), function)
	}
	return slices.Contains(l.Functions, function)
}

// LocationEvent is one dated change of a location's status fields, kept so
// that the operator sees who changed what and when.
type LocationEvent struct {
	LocationID string
	Seq        int // 1, 2, ... per location, assigned by the store
	At         time.Time
	Actor      string // the operator credential's ID, or "import"
	Change     LocationChange
}

// ActorImport is the Actor of the events of a location file import
// (UpsertLocations).
const ActorImport = "import"

// LocationChange is the state of a location's status fields after a
// change.
type LocationChange struct {
	Status           LocationStatus `json:"status"`
	StatusFrom       string         `json:"status_from,omitempty"`
	StatusUntil      string         `json:"status_until,omitempty"`
	StatusReason     string         `json:"status_reason,omitempty"`
	OpensOn          string         `json:"opens_on,omitempty"`
	ExceptionDays    []ExceptionDay `json:"exception_days,omitempty"`
	WheelchairAccess bool           `json:"wheelchair_access"`
	Functions        []string       `json:"functions,omitempty"`
}

// Change returns the location's current status fields (with copies of its
// slices).
func (l *Location) Change() LocationChange {
	return LocationChange{
		Status:           l.Status,
		StatusFrom:       l.StatusFrom,
		StatusUntil:      l.StatusUntil,
		StatusReason:     l.StatusReason,
		OpensOn:          l.OpensOn,
		ExceptionDays:    slices.Clone(l.ExceptionDays),
		WheelchairAccess: l.WheelchairAccess,
		Functions:        slices.Clone(l.Functions),
	}
}

// Equal reports whether c and d are the same state: every field equal, a
// nil and an empty slice alike. The stores append an import event when
// the stored location's Change is not Equal to the imported one's.
func (c LocationChange) Equal(d LocationChange) bool {
	return c.Status == d.Status && c.StatusFrom == d.StatusFrom && c.StatusUntil == d.StatusUntil &&
		c.StatusReason == d.StatusReason && c.OpensOn == d.OpensOn &&
		c.WheelchairAccess == d.WheelchairAccess &&
		slices.Equal(c.ExceptionDays, d.ExceptionDays) && slices.Equal(c.Functions, d.Functions)
}

// IsZero reports whether c is the zero LocationChange.
func (c LocationChange) IsZero() bool {
	return c.Equal(LocationChange{})
}

// OpenWeekdays is OpenOn precomputed for a point whose status is OPEN and
// that has no exception days (plain): bit d of days (1 = Monday … 7 =
// Sunday) is set when it is open on that weekday, every bit when it has no
// opening hours. For a plain point, OpenOn(date) is days&(1<<WeekdayOn(date))
// != 0; for any other, ask OpenOn.
func (l *Location) OpenWeekdays() (days uint8, plain bool) {
	if (l.Status != "" && l.Status != LocationOpen) || len(l.ExceptionDays) > 0 {
		return 0, false
	}
	if len(l.OpeningHours) == 0 {
		return 0xFE, true
	}
	for _, h := range l.OpeningHours {
		if h.Weekday >= 1 && h.Weekday <= 7 {
			days |= 1 << h.Weekday
		}
	}
	return days, true
}

// WeekdayOn is the weekday of a date "YYYY-MM-DD", 1 = Monday … 7 =
// Sunday, 0 for a malformed date.
func WeekdayOn(date string) int { return weekdayOf(date) }
