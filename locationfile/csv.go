package locationfile

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/lokero/lokero"
)

// readCSV reads a CSV file into c.
func readCSV(data []byte, c *collector) {
	r := csv.NewReader(bytes.NewReader(data))
	r.Comma = sniffComma(data)
	r.FieldsPerRecord = -1 // checked here, with a clearer message
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		c.add(RowError{Line: 1, Message: "the file is empty: want a header row naming the columns (" + strings.Join(Columns, ",") + ")"})
		return
	}
	if err != nil {
		c.add(csvError(err))
		return
	}
	cols, ok := parseHeader(header, c)
	if !ok {
		return
	}
	kept := keptOf(func(column string) bool { _, ok := cols[column]; return ok })
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			c.counted()
			c.add(csvError(err))
			continue
		}
		c.counted()
		line, _ := r.FieldPos(0)
		if allBlank(rec) {
			continue
		}
		if len(rec) != len(header) {
			c.add(RowError{Line: line, Message: fmt.Sprintf("the row has %d fields; the header has %d", len(rec), len(header))})
			continue
		}
		loc, limits, errs := csvLocation(rec, cols)
		c.row(loc, kept, position{line: line}, errs, limits.csvField)
	}
}

// csvError turns an error of encoding/csv into a RowError.
func csvError(err error) RowError {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return RowError{Line: pe.Line, Message: fmt.Sprintf("malformed CSV at column %d: %v", pe.Column, pe.Err)}
	}
	return RowError{Message: "malformed CSV: " + err.Error()}
}

// sniffComma picks the field separator that the header line uses most:
// ',', ';' or a tab.
func sniffComma(data []byte) rune {
	line, _, _ := bytes.Cut(data, []byte("\n"))
	best, n := ',', bytes.Count(line, []byte(","))
	for _, sep := range []rune{';', '\t'} {
		if m := bytes.Count(line, []byte(string(sep))); m > n {
			best, n = sep, m
		}
	}
	return best
}

// parseHeader maps column names to indexes, reporting unknown, missing,
// unnamed and repeated columns.
func parseHeader(header []string, c *collector) (map[string]int, bool) {
	cols := map[string]int{}
	var unknown, repeated []string
	ok := true
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		name = strings.NewReplacer(" ", "_", "-", "_").Replace(name)
		switch {
		case name == "":
			c.add(RowError{Line: 1, Message: fmt.Sprintf("column %d of the header has no name", i+1)})
			ok = false
		case !slices.Contains(Columns, name):
			unknown = append(unknown, strconv.Quote(strings.TrimSpace(h)))
		default:
			if _, dup := cols[name]; dup {
				repeated = append(repeated, name)
			}
			cols[name] = i
		}
	}
	if len(unknown) > 0 {
		c.add(RowError{Line: 1, Message: fmt.Sprintf("unknown %s %s; the columns are %s",
			pluralWord(len(unknown), "column"), strings.Join(unknown, ", "), strings.Join(Columns, ", "))})
		ok = false
	}
	if len(repeated) > 0 {
		c.add(RowError{Line: 1, Message: fmt.Sprintf("%s %s twice", pluralWord(len(repeated), "column"), strings.Join(repeated, ", "))})
		ok = false
	}
	var missing []string
	for _, name := range requiredColumns {
		if _, found := cols[name]; !found {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		c.add(RowError{Line: 1, Message: fmt.Sprintf("missing required %s %s", pluralWord(len(missing), "column"), strings.Join(missing, ", "))})
		ok = false
	}
	return cols, ok
}

func pluralWord(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func allBlank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

// csvLocation builds a location from one CSV record, with the outlet
// limits the record gives and the errors of the fields it could not
// parse.
func csvLocation(rec []string, cols map[string]int) (lokero.Location, *outletLimits, []fieldErr) {
	get := func(name string) string {
		if i, ok := cols[name]; ok {
			return strings.TrimSpace(rec[i])
		}
		return ""
	}
	var errs []fieldErr
	loc := lokero.Location{
		ID:       get("id"),
		Type:     lokero.LocationType(strings.ToUpper(get("type"))),
		Name:     get("name"),
		Street:   get("street"),
		StreetSV: get("street_sv"),
		Postcode: get("postcode"),
		City:     get("city"),
		Access:   lokero.Access(strings.ToLower(get("access"))),

		Status:       parseStatus(get("status")),
		StatusFrom:   get("status_from"),
		StatusUntil:  get("status_until"),
		StatusReason: get("status_reason"),
		OpensOn:      get("opens_on"),
	}
	var err error
	if loc.Lat, err = parseCoord(get("lat"), "latitude"); err != nil {
		errs = append(errs, fieldErr{"lat", err.Error()})
	}
	if loc.Lon, err = parseCoord(get("lon"), "longitude"); err != nil {
		errs = append(errs, fieldErr{"lon", err.Error()})
	}
	if loc.PaymentTerminal, err = parseBool(get("payment_terminal")); err != nil {
		errs = append(errs, fieldErr{"payment_terminal", err.Error()})
	}
	if loc.WheelchairAccess, err = parseBool(get("wheelchair_access")); err != nil {
		errs = append(errs, fieldErr{"wheelchair_access", err.Error()})
	}
	if loc.OpeningHours, err = ParseOpeningHours(get("opening_hours")); err != nil {
		errs = append(errs, fieldErr{"opening_hours", err.Error()})
	}
	if loc.Compartments, err = ParseCompartments(get("compartments")); err != nil {
		errs = append(errs, fieldErr{"compartments", err.Error()})
	}
	if loc.ExceptionDays, err = ParseExceptionDays(get("exception_days")); err != nil {
		errs = append(errs, fieldErr{"exception_days", err.Error()})
	}
	if loc.Functions, err = ParseFunctions(get("functions")); err != nil {
		errs = append(errs, fieldErr{"functions", err.Error()})
	}
	limits, limitErrs := csvOutletLimits(get)
	limits.apply(&loc)
	return loc, &limits, append(errs, limitErrs...)
}

// parseCoord reads decimal degrees, with a decimal point or a decimal comma.
func parseCoord(s, what string) (float64, error) {
	if s == "" {
		return 0, fmt.Errorf("%s is required", what)
	}
	t := s
	if !strings.Contains(t, ".") && strings.Count(t, ",") == 1 {
		t = strings.Replace(t, ",", ".", 1)
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil {
		return 0, fmt.Errorf("%s must be decimal degrees, e.g. 60.1699; got %q", what, s)
	}
	return f, nil
}

// parseBool reads true/false, 1/0, yes/no (any case); empty is false.
func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "", "false", "0", "no":
		return false, nil
	case "true", "1", "yes":
		return true, nil
	}
	return false, fmt.Errorf("want true or false (1/0, yes/no); got %q", s)
}

// Write writes locations as CSV in the format Read reads, with a header of
// all Columns: an operator can export the directory, edit it in a
// spreadsheet and import it again.
func Write(w io.Writer, locs []lokero.Location) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(Columns); err != nil {
		return fmt.Errorf("write location file header: %w", err)
	}
	for _, l := range locs {
		rec := []string{
			l.ID, string(l.Type), l.Name, l.Street, l.Postcode, l.City,
			strconv.FormatFloat(l.Lat, 'f', -1, 64), strconv.FormatFloat(l.Lon, 'f', -1, 64),
			string(l.Access), strconv.FormatBool(l.PaymentTerminal), strconv.FormatBool(l.WheelchairAccess),
			FormatOpeningHours(l.OpeningHours), FormatCompartments(l.Compartments), l.StreetSV,
			string(l.Status), l.StatusFrom, l.StatusUntil, l.StatusReason, l.OpensOn,
			FormatExceptionDays(l.ExceptionDays), FormatFunctions(l.Functions),
		}
		rec = append(rec, outletCells(&l)...)
		if err := cw.Write(rec); err != nil {
			return fmt.Errorf("write location %s: %w", l.ID, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write location file: %w", err)
	}
	return nil
}
