// Package locationfile reads and writes pickup-point files: the files an
// operator loads with `lokero import locations FILE`, and exports, edits
// and loads again.
//
// Two formats are read, CSV and JSON; Write writes CSV.
//
// # CSV
//
// The first row is a header naming the columns, in any order and any
// case. The columns are
//
//	id, type, name, street, postcode, city, lat, lon        (required)
//	access, payment_terminal, wheelchair_access,
//	opening_hours, compartments, street_sv,
//	status, status_from, status_until, status_reason,
//	opens_on, exception_days, functions,
//	max_length_cm, max_width_cm, max_height_cm,
//	max_weight_kg, shelf_capacity                           (optional)
//
// and any other column is an error. type is LOCKER, SMARTPOST, POSTOFFICE
// or PICKUPPOINT; access is public or residents (empty: residents for a
// LOCKER, public otherwise); payment_terminal and wheelchair_access are
// true/false, 1/0 or yes/no (empty: false); lat and lon are WGS84 decimal
// degrees (a decimal comma is read too); opening_hours uses the syntax of
// ParseOpeningHours ("Mo-Fr 08:00-20:00; Sa 09:00-16:00; Su closed", or
// "24/7"; empty for a locker means 24/7); compartments the syntax of
// ParseCompartments ("S:70x40x10*20; M:70x40x20*10; L:70x40x40*4").
//
// The status columns say whether the point takes parcels (see
// lokero.Location): status is OPEN, TEMPORARILY_CLOSED, NOT_YET_OPEN or
// CLOSED in any case (empty: OPEN); status_from and status_until (the
// first and last closed day of TEMPORARILY_CLOSED; no until: until further
// notice) and opens_on (the first open day of NOT_YET_OPEN) are dates
// YYYY-MM-DD; status_reason is free text; exception_days uses the syntax
// of ParseExceptionDays ("2026-06-19 closed Midsummer Eve; 2026-12-24
// 10:00-14:00 Christmas Eve"); functions that of ParseFunctions ("collect
// send return"; empty: the type's default).
//
// The outlet columns say what a POSTOFFICE or PICKUPPOINT takes: the
// biggest parcel (max_length_cm, max_width_cm, max_height_cm: whole
// centimetres, any orientation; max_weight_kg: kilograms, a decimal
// comma is read too) and its shelf capacity (shelf_capacity: parcels a
// delivery day). Each one empty (or 0) is the type's default
// (lokero.DefaultOutletLimit: a POSTOFFICE 120 × 60 × 60 cm, 35 kg, 150
// parcels a day; a PICKUPPOINT 100 × 60 × 60 cm, 35 kg, 40 a day); a
// LOCKER or SMARTPOST leaves them empty (its compartments are its limit).
//
// The operator also sets these by hand (PATCH /v1/locations/{id}), and a
// file need not carry them: ReadKept says, for every location, which of
// them its file leaves out (Kept), so that an import keeps what is stored
// for those. The status columns (status, status_from, status_until,
// status_reason, opens_on) go together: a file with a status column sets
// all five. A column that is there but empty sets its default.
//
// The field separator is ',' unless the header has more ';' or tabs (as
// spreadsheets in Finnish locales write). A UTF-8 byte-order mark is
// skipped, and rows whose cells are all empty are ignored. A file, CSV or
// JSON, must be UTF-8: one that is not (Excel's plain "CSV" is
// Windows-1252) is refused with the line of its first byte that is not.
//
// # JSON
//
// An array of objects with the same fields (lat and lon numbers, the two
// flags booleans), or an object {"locations": [...]}. opening_hours is
// either the string syntax above or an array of
// {"weekday": 1, "from": "08:00", "to": "20:00"} (weekday 1 is Monday,
// 7 Sunday); compartments either the string syntax or an array of
// {"size": "S", "length_cm": 70, "width_cm": 40, "height_cm": 10,
// "count": 20}; exception_days either the string syntax or an array of
// {"date": "2026-06-19", "closed": true, "reason": "Midsummer Eve"} and
// {"date": "2026-12-24", "from": "10:00", "to": "14:00"}; functions either
// the string syntax or an array of strings. The other status fields are
// strings. An outlet's limits are an object "max_parcel": {"length_cm":
// 120, "width_cm": 60, "height_cm": 60, "weight_kg": 35} (each field
// optional, as the CSV columns) and a number "shelf_capacity"; the CSV
// columns max_length_cm … max_weight_kg are not JSON fields. Unknown
// fields are errors.
//
// # Errors
//
// Read checks every row (Normalize, Validate, the caller's check, no id
// twice in one file) and reports every bad row at once, so that an
// operator fixes a file in one go.
package locationfile

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/lokero/lokero"
)

// MaxErrors is how many row errors Read collects before it only counts.
const MaxErrors = 100

// Columns are the CSV columns, in the order Write writes them.
var Columns = []string{
	"id", "type", "name", "street", "postcode", "city", "lat", "lon",
	"access", "payment_terminal", "wheelchair_access", "opening_hours", "compartments", "street_sv",
	"status", "status_from", "status_until", "status_reason", "opens_on", "exception_days", "functions",
	"max_length_cm", "max_width_cm", "max_height_cm", "max_weight_kg", "shelf_capacity",
}

// requiredColumns must be present in a CSV header.
var requiredColumns = []string{"id", "type", "name", "street", "postcode", "city", "lat", "lon"}

// RowError is what is wrong with one row (one location) of a file.
type RowError struct {
	// Line is the physical line of the file where the row begins: in CSV
	// the header is line 1; in JSON the line where the object begins.
	// Line 0 is about the file as a whole.
	Line int
	// Index is, in JSON, the 1-based position of the object in the array
	// (0 in CSV, where the line says it all).
	Index int
	// Field is the column or JSON field at fault ("postcode",
	// "compartments[1].count"), or "" when the row as a whole is.
	Field string
	// Message says what is wrong, for a person.
	Message string
}

// Error formats the error as `line 12: postcode: postcode must be five
// digits; got "0010"`; a JSON row names its place in the array too
// (`line 40 (location 7): ...`).
func (e RowError) Error() string {
	var b strings.Builder
	if e.Line > 0 {
		fmt.Fprintf(&b, "line %d", e.Line)
		if e.Index > 0 {
			fmt.Fprintf(&b, " (location %d)", e.Index)
		}
		b.WriteString(": ")
	} else if e.Index > 0 {
		fmt.Fprintf(&b, "location %d: ", e.Index)
	}
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Message)
	return b.String()
}

// Errors is every row error of a file, in file order. When there were more
// than MaxErrors, the last entry (Line 0, no Field) says how many more were
// not listed.
type Errors []RowError

// Error lists the errors one per line.
func (es Errors) Error() string {
	lines := make([]string, len(es))
	for i, e := range es {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap lets lokero.ErrorCode classify the errors as EINVALID (the file
// is the caller's to fix).
func (es Errors) Unwrap() error {
	msg := "the file has errors"
	if len(es) > 0 {
		msg = fmt.Sprintf("the file has %s; the first: %s", plural(len(es), "error"), es[0].Error())
		if es[len(es)-1].Line == 0 && len(es) > MaxErrors {
			msg = fmt.Sprintf("the file has more than %d errors; the first: %s", MaxErrors, es[0].Error())
		}
	}
	return &lokero.Error{Code: lokero.EINVALID, Reason: "invalid_file", Message: msg}
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// Read reads locations from a CSV or JSON file. The format follows the
// name's extension (.csv or .json); with any other name it is sniffed: a
// file whose first non-space character is '[' or '{' is JSON, any other
// CSV.
//
// Every row is normalised (lokero.Location.Normalize) and validated
// (Validate), then passes check (may be nil; the directory passes its own
// rules, e.g. that the postal code is known), and no id may appear twice
// in the file (the later row is the error). Read reads the whole file and, when any row is bad,
// returns no locations and an Errors listing every bad row (up to
// MaxErrors). Other errors (reading r) are returned wrapped.
//
// progress, when not nil, is called after every 1,000 rows with the count
// read so far, and once at the end with the total.
func Read(r io.Reader, name string, check func(*lokero.Location) error, progress func(rows int)) ([]lokero.Location, error) {
	locs, _, err := ReadKept(r, name, check, progress)
	return locs, err
}

// ReadKept is Read that also says, for each location, which of the
// fields the operator sets by hand its file leaves out (a CSV file without
// those columns, a JSON object without those keys).
func ReadKept(r io.Reader, name string, check func(*lokero.Location) error, progress func(rows int)) ([]lokero.Location, []Kept, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("read location file %s: %w", name, err)
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	isJSON := false
	switch strings.ToLower(path.Ext(name)) {
	case ".csv":
	case ".json":
		isJSON = true
	default:
		t := bytes.TrimLeft(data, " \t\r\n")
		isJSON = len(t) > 0 && (t[0] == '[' || t[0] == '{')
	}
	// Excel saves "CSV" in Windows-1252: read as UTF-8 its ä and ö would
	// become U+FFFD (or fail in the database with no line). The encoding
	// is not guessed: the operator saves the file again.
	if err := checkUTF8(data, isJSON); err != nil {
		return nil, nil, err
	}
	c := &collector{check: check, ids: map[string]position{}, progress: progress}
	if isJSON {
		readJSON(data, c)
	} else {
		readCSV(data, c)
	}
	if progress != nil && c.rows%1000 != 0 {
		progress(c.rows)
	}
	if len(c.errs) > 0 {
		errs := c.errs
		if c.more > 0 {
			errs = append(errs, RowError{Message: fmt.Sprintf("… and %d more %s not listed", c.more, pluralWord(c.more, "error"))})
		}
		return nil, nil, errs
	}
	if c.locs == nil {
		c.locs = []lokero.Location{}
	}
	return c.locs, c.kept, nil
}

// Kept names the fields the operator also sets by hand that a file leaves
// out for a location: an import keeps their stored values.
type Kept uint8

// The fields a file may leave out.
const (
	KeepStatus           Kept = 1 << iota // status, status_from, status_until, status_reason, opens_on
	KeepExceptionDays                     // exception_days
	KeepWheelchairAccess                  // wheelchair_access
	KeepFunctions                         // functions
)

// keptOf returns what a row leaves out, from whether it has a column.
func keptOf(has func(column string) bool) Kept {
	var k Kept
	for bit, column := range map[Kept]string{KeepStatus: "status", KeepExceptionDays: "exception_days",
		KeepWheelchairAccess: "wheelchair_access", KeepFunctions: "functions"} {
		if !has(column) {
			k |= bit
		}
	}
	return k
}

// Apply copies into l, read from a file, the fields that file leaves out
// from stored, the location as it is now.
func (k Kept) Apply(l *lokero.Location, stored *lokero.Location) {
	if k&KeepStatus != 0 {
		l.Status, l.StatusFrom, l.StatusUntil, l.StatusReason, l.OpensOn =
			stored.Status, stored.StatusFrom, stored.StatusUntil, stored.StatusReason, stored.OpensOn
	}
	if k&KeepExceptionDays != 0 {
		l.ExceptionDays = slices.Clone(stored.ExceptionDays)
	}
	if k&KeepWheelchairAccess != 0 {
		l.WheelchairAccess = stored.WheelchairAccess
	}
	if k&KeepFunctions != 0 {
		l.Functions = slices.Clone(stored.Functions)
	}
}

// position is where a row is: its line and, in JSON, its index.
type position struct{ line, index int }

func (p position) String() string {
	if p.index > 0 {
		return fmt.Sprintf("location %d (line %d)", p.index, p.line)
	}
	return fmt.Sprintf("line %d", p.line)
}

// collector gathers the good locations and the row errors of one file.
type collector struct {
	check    func(*lokero.Location) error
	ids      map[string]position
	locs     []lokero.Location
	kept     []Kept // of each of locs
	errs     Errors
	more     int
	rows     int
	progress func(int)
}

// add records one error, or only counts it past MaxErrors.
func (c *collector) add(e RowError) {
	if len(c.errs) < MaxErrors {
		c.errs = append(c.errs, e)
	} else {
		c.more++
	}
}

// counted counts one row read and reports progress.
func (c *collector) counted() {
	c.rows++
	if c.progress != nil && c.rows%1000 == 0 {
		c.progress(c.rows)
	}
}

// fieldErr is a problem with one field found while parsing a row.
type fieldErr struct{ field, msg string }

// row checks one parsed location: parse errors found so far, duplicate id,
// Validate, the caller's check. A row with no error joins the result.
// field, when not nil, renames the fields of Validate's errors as the
// file's format names them (a CSV column for "max_parcel.length_cm").
func (c *collector) row(loc lokero.Location, kept Kept, at position, parseErrs []fieldErr, field func(string) string) {
	ok := true
	fail := func(field, msg string) {
		ok = false
		c.add(RowError{Line: at.line, Index: at.index, Field: field, Message: msg})
	}
	loc.Normalize()
	if loc.ID != "" {
		if first, dup := c.ids[loc.ID]; dup {
			fail("id", fmt.Sprintf("duplicate id %q: already used on %s", loc.ID, first))
		} else {
			c.ids[loc.ID] = at
		}
	}
	reported := map[string]bool{}
	for _, e := range parseErrs {
		fail(e.field, e.msg)
		reported[e.field] = true
	}
	failWith := func(err error) {
		var le *lokero.Error
		if !errors.As(err, &le) {
			fail("", err.Error())
			return
		}
		f := le.Field
		if field != nil {
			f = field(f)
		}
		if !reported[baseField(f)] {
			fail(f, le.Message)
		}
	}
	if err := loc.Validate(); err != nil {
		failWith(err)
	} else if c.check != nil {
		if err := c.check(&loc); err != nil {
			failWith(err)
		}
	}
	if ok {
		c.locs = append(c.locs, loc)
		c.kept = append(c.kept, kept)
	}
}

// baseField is the column a Validate field belongs to:
// "compartments[1].count" → "compartments".
func baseField(f string) string {
	if i := strings.IndexAny(f, "[."); i >= 0 {
		return f[:i]
	}
	return f
}

// checkUTF8 returns an Errors naming the line and character of the first
// byte of data that is not UTF-8, or nil when all of it is.
func checkUTF8(data []byte, isJSON bool) error {
	if utf8.Valid(data) {
		return nil
	}
	at := 0
	for at < len(data) {
		r, size := utf8.DecodeRune(data[at:])
		if r == utf8.RuneError && size <= 1 {
			break
		}
		at += size
	}
	lineStart := bytes.LastIndexByte(data[:at], '\n') + 1
	line := 1 + bytes.Count(data[:at], []byte{'\n'})
	char := 1 + utf8.RuneCount(data[lineStart:at])
	fix := "save the file as CSV UTF-8"
	if isJSON {
		fix = "save the file as UTF-8"
	}
	return Errors{{Line: line, Message: fmt.Sprintf("not UTF-8: %s (byte 0x%02X at character %d of the line is not UTF-8; is the file in Windows-1252 or Latin-1?)", fix, data[at], char)}}
}
