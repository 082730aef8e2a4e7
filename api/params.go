package api

import (
	"net/url"
	"slices"
	"sort"
	"strconv"

	"github.com/lokero/lokero"
)

// paramHints name the parameter meant by a name that other pickup-point
// and shipment APIs use (Posti's own among them).
var paramHints = map[string]string{
	"types": "type", "zipcode": "postcode", "zipCode": "postcode", "postalCode": "postcode", "postal_code": "postcode",
	"lng": "lon", "longitude": "lon", "latitude": "lat", "top": "limit", "deliveryDate": "delivery_date",
	"includeClosed": "include_closed", "address": "street", "streetAddress": "street", "page": "cursor",
}

// checkQuery refuses a query that names a parameter the endpoint does not
// know (a misspelt filter would otherwise be ignored, and the answer look
// right but be wrong), that gives a parameter more than once (which one
// would count?), or that has a value over maxParamLen bytes. "_", the
// cache buster browsers' libraries add, is always allowed, and so is a
// nameless "=" (a query built as "?" + "&".join(...) of nothing). With no
// known names, the endpoint takes no parameters at all.
func checkQuery(v url.Values, known ...string) error {
	bad := false
	for name := range v {
		if bad = checkParam(v, name, known) != nil; bad {
			break
		}
	}
	if !bad {
		return nil // the usual case, without sorting
	}
	names := make([]string, 0, len(v))
	for name := range v {
		names = append(names, name)
	}
	sort.Strings(names) // the same error for the same query
	for _, name := range names {
		if err := checkParam(v, name, known); err != nil {
			return err
		}
	}
	return nil
}

// checkParam is checkQuery for one parameter.
func checkParam(v url.Values, name string, known []string) error {
	if name == "_" || name == "" {
		return nil
	}
	if !slices.Contains(known, name) {
		if hint, ok := paramHints[name]; ok && slices.Contains(known, hint) {
			return lokero.Invalid(name, "unknown_parameter", "unknown parameter %q: did you mean %q?", name, hint)
		}
		if len(known) == 0 {
			return lokero.Invalid(truncate(name, 64), "unknown_parameter", "unknown parameter %q; this endpoint takes no parameters", truncate(name, 64))
		}
		return lokero.Invalid(truncate(name, 64), "unknown_parameter", "unknown parameter %q; this endpoint takes %v", truncate(name, 64), known)
	}
	if n := len(v[name]); n > 1 {
		return lokero.Invalid(name, "duplicate_parameter", "%s is given %d times; give it once (a list is one comma-separated value)", name, n)
	}
	for _, value := range v[name] {
		if len(value) > maxParamLen {
			return lokero.Invalid(name, "too_long", "%s is %d bytes long; at most %d are allowed", name, len(value), maxParamLen)
		}
	}
	return nil
}

// truncate cuts s to at most n bytes, for echoing input in an error.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// listLimit reads the ?limit= of a list of at most 1000: 1..1000, or
// byDefault when absent; anything else is a 400 naming "limit".
func listLimit(q url.Values, byDefault int) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return byDefault, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > 1000 {
		return 0, lokero.Invalid("limit", "out_of_range", "limit must be 1..1000; got %q", v)
	}
	return n, nil
}
