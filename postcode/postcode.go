// Package postcode handles Finnish postal codes: parsing, the registry of
// known codes, and the mapping between a building's postal code and the
// locker code (the building's code with its last digit replaced by 4).
//
// Validation is data-driven: a code is known when Posti's postal code file
// lists it, never because it matches a pattern. The package reads that file
// in Posti's own fixed-width PCF format and as JSON, and bundles Posti's
// file of 2024-04-13 and GeoNames' postal code points (see data/README.md).
package postcode

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lokero/lokero"
)

// Point is a WGS84 coordinate.
type Point struct{ Lat, Lon float64 }

// Parse checks that s is a well-formed Finnish postal code (exactly five
// ASCII digits after trimming surrounding spaces) and returns it; otherwise
// it returns an EINVALID *lokero.Error with Field "postcode", Reason
// "malformed" and a message saying what is wrong.
func Parse(s string) (string, error) {
	code := strings.TrimSpace(s)
	if code == "" {
		return "", lokero.Invalid("postcode", "malformed", "postal code is empty: it must be five digits, e.g. 00100")
	}
	for _, r := range code {
		if r < '0' || r > '9' {
			return "", lokero.Invalid("postcode", "malformed", "postal code %q must be five digits: %q is not a digit", code, r)
		}
	}
	if len(code) != 5 {
		return "", lokero.Invalid("postcode", "malformed", "postal code %q must be five digits, not %d", code, len(code))
	}
	return code, nil
}

// wellFormed reports whether code is exactly five ASCII digits (no
// trimming): the fast check used on already normalised codes.
func wellFormed(code string) bool {
	if len(code) != 5 {
		return false
	}
	for i := range len(code) {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

// kindOf returns the kind for a type code of Posti's postal code file.
func kindOf(typeCode string) (lokero.PostcodeKind, bool) {
	switch typeCode {
	case "1":
		return lokero.PostcodeArea, true
	case "2":
		return lokero.PostcodePOBox, true
	case "3":
		return lokero.PostcodeOrganisation, true
	case "4":
		return lokero.PostcodeOther, true
	case "5":
		return lokero.PostcodeBusinessReply, true
	case "6":
		return lokero.PostcodeLocker, true
	case "7":
		return lokero.PostcodePickupPoint, true
	}
	return "", false
}

// lowerWord reports whether w is an abbreviation that Posti's place names
// have after a place name and that is written in lower case: "ALAVUS AS"
// (asema, station) is "Alavus as", "HOLLOLA KK" (kirkonkylä, church
// village) "Hollola kk", "INGÅ ST" (station) "Ingå st". Our choice,
// following Finnish usage.
func lowerWord(w string) bool {
	switch strings.ToUpper(w) {
	case "AS", "KK", "ST":
		return true
	}
	return false
}

// titleCase turns a name as written in Posti's file ("ETELÄ-PORTIMOJÄRVI",
// "HELSINGFORS", "KOSKI TL") into a display name ("Etelä-Portimojärvi",
// "Helsingfors", "Koski Tl"): every word after a space or a hyphen starts
// with a capital, the rest is lower case, runs of spaces collapse.
func titleCase(s string) string {
	fields := strings.Fields(s)
	var b strings.Builder
	b.Grow(len(s))
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(' ')
			if lowerWord(f) {
				b.WriteString(strings.ToLower(f))
				continue
			}
		}
		for j, part := range strings.Split(f, "-") {
			if j > 0 {
				b.WriteByte('-')
			}
			if part == "" {
				continue
			}
			r, n := utf8.DecodeRuneInString(part)
			b.WriteRune(unicode.ToUpper(r))
			b.WriteString(strings.ToLower(part[n:]))
		}
	}
	return b.String()
}
