package locationfile

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/lokero/lokero"
)

// An outlet's limits in a file (issue #19): the biggest parcel it takes
// and its shelf capacity. Each is optional; empty (or 0, or null in JSON)
// is the outlet type's default (lokero.DefaultOutletLimit), one field at a
// time, so that a file can set the weight alone. A locker has none: its
// compartments are its limit, and Validate refuses a limit on it.

// outletColumns are the CSV columns of an outlet's limits, and the fields
// that Validate and the JSON format name them by.
var outletColumns = []struct{ column, field string }{
	{"max_length_cm", "max_parcel.length_cm"},
	{"max_width_cm", "max_parcel.width_cm"},
	{"max_height_cm", "max_parcel.height_cm"},
	{"max_weight_kg", "max_parcel.weight_kg"},
	{"shelf_capacity", "shelf_capacity"},
}

// maxParcelFields are the fields of the JSON object "max_parcel".
var maxParcelFields = []string{"length_cm", "width_cm", "height_cm", "weight_kg"}

// outletLimits are the limits a row gives, in the order of outletColumns
// (the weight is float); nil where it gives none.
type outletLimits struct {
	cm     [3]*int // length, width, height
	weight *float64
	shelf  *int
}

// apply sets l's limits: those given, and for an outlet the type's
// defaults for the others; a location of another type keeps zeros where
// none is given.
func (o *outletLimits) apply(l *lokero.Location) {
	limit, shelf := lokero.DefaultOutletLimit(l.Type)
	cm := [3]int{limit.LengthCM, limit.WidthCM, limit.HeightCM}
	for i, v := range o.cm {
		if v != nil {
			cm[i] = *v
		}
	}
	l.MaxParcel = lokero.ParcelLimit{LengthCM: cm[0], WidthCM: cm[1], HeightCM: cm[2], WeightKG: limit.WeightKG}
	if o.weight != nil {
		l.MaxParcel.WeightKG = *o.weight
	}
	l.ShelfCapacity = shelf
	if o.shelf != nil {
		l.ShelfCapacity = *o.shelf
	}
}

// given reports whether the row gives the limit of outletColumns[i].
func (o *outletLimits) given(i int) bool {
	switch {
	case i < 3:
		return o.cm[i] != nil
	case i == 3:
		return o.weight != nil
	}
	return o.shelf != nil
}

// csvField returns how a CSV file names a field that Validate names:
// "max_parcel.length_cm" is the column max_length_cm, and "max_parcel"
// (a limit on a locker) the first of the row's parcel limit columns
// given.
func (o *outletLimits) csvField(field string) string {
	if field == "max_parcel" {
		for i, c := range outletColumns[:4] {
			if o.given(i) {
				return c.column
			}
		}
		return outletColumns[0].column
	}
	for _, c := range outletColumns {
		if c.field == field {
			return c.column
		}
	}
	return field
}

// csvOutletLimits reads the limit columns of a row: get returns a cell
// (trimmed; "" when the column is absent). A cell that does not parse is
// an error and gives no limit.
func csvOutletLimits(get func(string) string) (outletLimits, []fieldErr) {
	var (
		o    outletLimits
		errs []fieldErr
	)
	for i, c := range outletColumns {
		s := get(c.column)
		if s == "" {
			continue
		}
		switch {
		case i < 3:
			o.cm[i], errs = parseWhole(s, c.column, "centimetres, e.g. 60", errs)
		case i == 3:
			o.weight, errs = parseWeight(s, c.column, errs)
		default:
			o.shelf, errs = parseWhole(s, c.column, "parcels a delivery day, e.g. 150", errs)
		}
	}
	return o, errs
}

// parseWhole reads a whole number; 0 is no value (the default).
func parseWhole(s, column, what string, errs []fieldErr) (*int, []fieldErr) {
	n, err := strconv.Atoi(s)
	if err != nil {
		return nil, append(errs, fieldErr{column, fmt.Sprintf("want a whole number of %s; got %q", what, s)})
	}
	if n == 0 {
		return nil, errs
	}
	return &n, errs
}

// parseWeight reads kilograms, with a decimal point or a decimal comma; 0
// is no value (the default).
func parseWeight(s, column string, errs []fieldErr) (*float64, []fieldErr) {
	t := s
	if !strings.Contains(t, ".") && strings.Count(t, ",") == 1 {
		t = strings.Replace(t, ",", ".", 1)
	}
	f, err := strconv.ParseFloat(t, 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, append(errs, fieldErr{column, fmt.Sprintf("want a weight in kilograms, e.g. 35 or 31,5; got %q", s)})
	}
	if f == 0 {
		return nil, errs
	}
	return &f, errs
}

// jsonOutletLimits reads "max_parcel" and "shelf_capacity" of a JSON
// object. A value of the wrong type is an error and gives no limit.
func jsonOutletLimits(obj map[string]json.RawMessage) (outletLimits, []fieldErr) {
	var (
		o    outletLimits
		errs []fieldErr
	)
	if v, ok := obj["max_parcel"]; ok {
		switch kind := jsonKind(v); kind {
		case "null":
		case "object":
			var fields map[string]json.RawMessage
			if err := json.Unmarshal(v, &fields); err != nil {
				errs = append(errs, fieldErr{"max_parcel", "malformed object: " + strings.TrimPrefix(err.Error(), "json: ")})
				break
			}
			var unknown []string
			for k := range fields {
				if !slices.Contains(maxParcelFields, k) {
					unknown = append(unknown, k)
				}
			}
			slices.Sort(unknown)
			for _, k := range unknown {
				errs = append(errs, fieldErr{"max_parcel." + k, "unknown field; the fields are " + strings.Join(maxParcelFields, ", ")})
			}
			for i, name := range maxParcelFields[:3] {
				o.cm[i], errs = jsonWhole(fields[name], "max_parcel."+name, "centimetres", errs)
			}
			if w, ok := fields["weight_kg"]; ok && jsonKind(w) != "null" {
				var f float64
				if err := json.Unmarshal(w, &f); err != nil {
					errs = append(errs, fieldErr{"max_parcel.weight_kg", "want a number of kilograms; got " + jsonKind(w)})
				} else if f != 0 {
					o.weight = &f
				}
			}
		default:
			errs = append(errs, fieldErr{"max_parcel", `want an object {"length_cm", "width_cm", "height_cm", "weight_kg"}; got ` + kind})
		}
	}
	o.shelf, errs = jsonWhole(obj["shelf_capacity"], "shelf_capacity", "parcels a delivery day", errs)
	return o, errs
}

// jsonWhole reads a whole number; absent, null and 0 are no value (the
// default).
func jsonWhole(v json.RawMessage, field, what string, errs []fieldErr) (*int, []fieldErr) {
	if v == nil || jsonKind(v) == "null" {
		return nil, errs
	}
	var f float64
	if err := json.Unmarshal(v, &f); err != nil {
		return nil, append(errs, fieldErr{field, fmt.Sprintf("want a whole number of %s; got %s", what, jsonKind(v))})
	}
	if f != math.Trunc(f) || math.Abs(f) > math.MaxInt32 {
		return nil, append(errs, fieldErr{field, fmt.Sprintf("want a whole number of %s; got %s", what, strings.TrimSpace(string(v)))})
	}
	if f == 0 {
		return nil, errs
	}
	n := int(f)
	return &n, errs
}

// outletCells returns the CSV cells of a location's limits, in the order
// of outletColumns: empty for a location without any (a locker).
func outletCells(l *lokero.Location) []string {
	cells := make([]string, len(outletColumns))
	m := l.MaxParcel
	for i, n := range []int{m.LengthCM, m.WidthCM, m.HeightCM} {
		if n != 0 {
			cells[i] = strconv.Itoa(n)
		}
	}
	if m.WeightKG != 0 {
		cells[3] = strconv.FormatFloat(m.WeightKG, 'f', -1, 64)
	}
	if l.ShelfCapacity != 0 {
		cells[4] = strconv.Itoa(l.ShelfCapacity)
	}
	return cells
}
