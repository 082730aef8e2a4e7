package locationfile

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/lokero/lokero"
)

// lineCounter turns byte offsets into line numbers; offsets must not
// decrease between calls.
type lineCounter struct {
	data   []byte
	offset int
	line   int
}

func (lc *lineCounter) at(offset int64) int {
	o := min(max(int(offset), lc.offset), len(lc.data))
	lc.line += bytes.Count(lc.data[lc.offset:o], []byte("\n"))
	lc.offset = o
	return lc.line
}

// readJSON reads a JSON file into c: an array of locations, or an object
// {"locations": [...]}.
func readJSON(data []byte, c *collector) {
	lines := &lineCounter{data: data, line: 1}
	dec := json.NewDecoder(bytes.NewReader(data))
	fatal := func(err error) {
		c.add(jsonSyntaxError(err, dec, lines))
	}
	tok, err := dec.Token()
	if err != nil {
		if errors.Is(err, io.EOF) {
			c.add(RowError{Line: 1, Message: `the file is empty: want an array of locations or {"locations": [...]}`})
			return
		}
		fatal(err)
		return
	}
	switch tok {
	case json.Delim('['):
		if !readJSONArray(dec, c, lines) {
			return
		}
	case json.Delim('{'):
		found := false
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				fatal(err)
				return
			}
			if key != "locations" || found {
				c.add(RowError{Line: lines.at(dec.InputOffset()), Message: fmt.Sprintf(`unexpected field %q: want {"locations": [...]}`, key)})
				return
			}
			found = true
			if tok, err := dec.Token(); err != nil {
				fatal(err)
				return
			} else if tok != json.Delim('[') {
				c.add(RowError{Line: lines.at(dec.InputOffset()), Field: "locations", Message: "want an array of locations"})
				return
			}
			if !readJSONArray(dec, c, lines) {
				return
			}
		}
		if _, err := dec.Token(); err != nil { // the closing '}'
			fatal(err)
			return
		}
		if !found {
			c.add(RowError{Line: 1, Message: `want an array of locations or {"locations": [...]}; the object has no "locations"`})
			return
		}
	default:
		c.add(RowError{Line: 1, Message: `want an array of locations or {"locations": [...]}`})
		return
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		c.add(RowError{Line: lines.at(dec.InputOffset()), Message: "unexpected data after the end of the locations"})
	}
}

// readJSONArray reads the elements of an array whose '[' has been read, and
// its closing ']'. It reports false after a syntax error, which ends the
// reading.
func readJSONArray(dec *json.Decoder, c *collector, lines *lineCounter) bool {
	index := 0
	for dec.More() {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			c.add(jsonSyntaxError(err, dec, lines))
			return false
		}
		index++
		c.counted()
		at := position{line: lines.at(dec.InputOffset() - int64(len(raw))), index: index}
		loc, kept, errs := jsonLocation(raw)
		if loc == nil {
			for _, e := range errs {
				c.add(RowError{Line: at.line, Index: at.index, Field: e.field, Message: e.msg})
			}
			continue
		}
		c.row(*loc, kept, at, errs, nil)
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		c.add(jsonSyntaxError(err, dec, lines))
		return false
	}
	return true
}

// jsonSyntaxError describes malformed JSON, with the line where it is.
func jsonSyntaxError(err error, dec *json.Decoder, lines *lineCounter) RowError {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return RowError{Line: lines.at(se.Offset), Message: "malformed JSON: " + se.Error()}
	}
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return RowError{Line: lines.at(int64(len(lines.data))), Message: "malformed JSON: the file ends in the middle of a value"}
	}
	return RowError{Line: lines.at(dec.InputOffset()), Message: "malformed JSON: " + strings.TrimPrefix(err.Error(), "json: ")}
}

// jsonFields are the fields of a location object: the CSV columns, but
// an outlet's parcel limit is one object, "max_parcel".
var jsonFields = func() []string {
	var fields []string
	for _, c := range Columns {
		if !strings.HasPrefix(c, "max_") {
			fields = append(fields, c)
		}
	}
	return append(fields, "max_parcel")
}()

// jsonLocation builds a location from one array element, with the errors
// of the fields it could not decode. It returns a nil location when the
// element is not an object at all.
func jsonLocation(raw json.RawMessage) (*lokero.Location, Kept, []fieldErr) {
	var obj map[string]json.RawMessage
	if kind := jsonKind(raw); kind != "object" {
		return nil, 0, []fieldErr{{"", "a location must be an object; got " + kind}}
	}
	if err := json.Unmarshal(raw, &obj); err != nil {
		return nil, 0, []fieldErr{{"", "malformed object: " + strings.TrimPrefix(err.Error(), "json: ")}}
	}
	var errs []fieldErr
	var unknown []string
	for k := range obj {
		if !slices.Contains(jsonFields, k) {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		errs = append(errs, fieldErr{k, "unknown field; the fields are " + strings.Join(jsonFields, ", ")})
	}

	str := func(name string) string {
		v, ok := obj[name]
		if !ok || jsonKind(v) == "null" {
			return ""
		}
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			errs = append(errs, fieldErr{name, "must be a string; got " + jsonKind(v)})
		}
		return s
	}
	flag := func(name string) bool {
		v, ok := obj[name]
		if !ok || jsonKind(v) == "null" {
			return false
		}
		var b bool
		if err := json.Unmarshal(v, &b); err != nil {
			errs = append(errs, fieldErr{name, "must be true or false; got " + jsonKind(v)})
		}
		return b
	}
	coord := func(name, what string) float64 {
		v, ok := obj[name]
		if !ok || jsonKind(v) == "null" {
			errs = append(errs, fieldErr{name, what + " is required"})
			return 0
		}
		var f float64
		if err := json.Unmarshal(v, &f); err != nil {
			errs = append(errs, fieldErr{name, what + " must be a number of decimal degrees; got " + jsonKind(v)})
		}
		return f
	}

	loc := &lokero.Location{
		ID:               str("id"),
		Type:             lokero.LocationType(strings.ToUpper(str("type"))),
		Name:             str("name"),
		Street:           str("street"),
		StreetSV:         str("street_sv"),
		Postcode:         str("postcode"),
		City:             str("city"),
		Lat:              coord("lat", "latitude"),
		Lon:              coord("lon", "longitude"),
		Access:           lokero.Access(strings.ToLower(str("access"))),
		PaymentTerminal:  flag("payment_terminal"),
		WheelchairAccess: flag("wheelchair_access"),
		Status:           parseStatus(str("status")),
		StatusFrom:       str("status_from"),
		StatusUntil:      str("status_until"),
		StatusReason:     str("status_reason"),
		OpensOn:          str("opens_on"),
	}
	if v, ok := obj["opening_hours"]; ok {
		if err := stringOrArray(v, &loc.OpeningHours, ParseOpeningHours,
			`want an array of {"weekday", "from", "to"} or a string like "Mo-Fr 08:00-20:00"`); err != nil {
			errs = append(errs, fieldErr{"opening_hours", err.Error()})
		}
	}
	if v, ok := obj["compartments"]; ok {
		if err := stringOrArray(v, &loc.Compartments, ParseCompartments,
			`want an array of {"size", "length_cm", "width_cm", "height_cm", "count"} or a string like "S:70x40x10*20"`); err != nil {
			errs = append(errs, fieldErr{"compartments", err.Error()})
		}
	}
	if v, ok := obj["exception_days"]; ok {
		if err := stringOrArray(v, &loc.ExceptionDays, ParseExceptionDays,
			`want an array of {"date", "closed", "from", "to", "reason"} or a string like "2026-06-19 closed Midsummer Eve"`); err != nil {
			errs = append(errs, fieldErr{"exception_days", err.Error()})
		}
	}
	if v, ok := obj["functions"]; ok {
		if err := stringOrArray(v, &loc.Functions, ParseFunctions,
			`want an array of "collect", "send", "return" or a string like "collect send return"`); err != nil {
			errs = append(errs, fieldErr{"functions", err.Error()})
		}
	}
	limits, limitErrs := jsonOutletLimits(obj)
	limits.apply(loc)
	return loc, keptOf(func(key string) bool { _, ok := obj[key]; return ok }), append(errs, limitErrs...)
}

// stringOrArray reads a field given either in the CSV string syntax (parse)
// or as a JSON array of objects; null leaves dst as it is. want says what
// is expected, for an error.
func stringOrArray[T any](v json.RawMessage, dst *[]T, parse func(string) ([]T, error), want string) error {
	switch jsonKind(v) {
	case "null":
		return nil
	case "string":
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return err
		}
		parsed, err := parse(s)
		if err != nil {
			return err
		}
		*dst = parsed
		return nil
	case "array":
		return strictUnmarshal(v, dst)
	}
	return errors.New(want + "; got " + jsonKind(v))
}

// strictUnmarshal decodes v into dst refusing unknown fields, with an
// error message free of Go type names.
func strictUnmarshal(v json.RawMessage, dst any) error {
	d := json.NewDecoder(bytes.NewReader(v))
	d.DisallowUnknownFields()
	err := d.Decode(dst)
	var te *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &te):
		return fmt.Errorf("%s: want a %s; got %s", te.Field, jsonTypeName(te.Type.Kind().String()), te.Value)
	default:
		return errors.New(strings.TrimPrefix(err.Error(), "json: "))
	}
}

// jsonTypeName names a Go kind the way a JSON author would.
func jsonTypeName(kind string) string {
	switch kind {
	case "int", "int64", "int32", "float64":
		return "number"
	case "slice":
		return "array"
	case "struct", "map":
		return "object"
	case "bool":
		return "boolean"
	}
	return kind
}

// jsonKind names the JSON type of a raw value.
func jsonKind(v json.RawMessage) string {
	v = bytes.TrimLeft(v, " \t\r\n")
	if len(v) == 0 {
		return "nothing"
	}
	switch v[0] {
	case '{':
		return "object"
	case '[':
		return "array"
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	}
	if _, err := strconv.ParseFloat(string(v), 64); err == nil {
		return "number"
	}
	return "a malformed value"
}
