package routing

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/lokero/lokero"
)

// formatDistance writes a distance for a person: whole metres below 1 km,
// kilometres with one decimal from 1 km up ("420 m", "2.3 km").
func formatDistance(m float64) string {
	if r := math.Round(m); r < 1000 {
		return fmt.Sprintf("%d m", int(r))
	}
	return fmt.Sprintf("%.1f km", m/1000)
}

// num writes a number without trailing zeros ("80", "35.01").
func num(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// box writes dimensions as "80 × 30 × 30 cm".
func box(d [3]float64) string {
	return num(d[0]) + " × " + num(d[1]) + " × " + num(d[2]) + " cm"
}

// parcelText writes a parcel's dimensions and weight: "80 × 30 × 30 cm, 12 kg".
func parcelText(p lokero.Parcel) string {
	return box(p.Dimensions()) + ", " + num(p.WeightKG) + " kg"
}

// name writes a location as its name and id: "Posti Kamppi (POSTOFFICE-1)".
func name(l *lokero.Location) string {
	if strings.TrimSpace(l.Name) == "" {
		return l.ID
	}
	return l.Name + " (" + l.ID + ")"
}

// kind writes a location's type with an article: "the LOCKER", "the post office".
func kind(l *lokero.Location) string {
	switch l.Type {
	case lokero.TypePostOffice:
		return "the post office"
	case lokero.TypePickupPoint:
		return "the pickup point"
	default:
		return "the " + string(l.Type)
	}
}

// locAddress writes a location's street address and postcode.
func locAddress(l *lokero.Location) string { return l.Street + ", " + l.Postcode }

// recipientAddress writes the recipient's street address and postcode.
func recipientAddress(p lokero.Party) string {
	if strings.TrimSpace(p.Street) == "" {
		return "(no street address), " + p.Postcode
	}
	return p.Street + ", " + p.Postcode
}

// noCOD says why cash on delivery cannot be paid at l.
func noCOD(l *lokero.Location) string {
	switch l.Type {
	case lokero.TypeLocker:
		return "a LOCKER, which has no payment terminal"
	case lokero.TypeSmartpost:
		return "a SMARTPOST without a payment terminal"
	case lokero.TypePickupPoint:
		return "an agent pickup point (PICKUPPOINT), which does not handle cash on delivery"
	default:
		return "a " + string(l.Type) + ", which does not handle cash on delivery"
	}
}

// codPlace says how l takes cash on delivery: "a SMARTPOST with a payment
// terminal" or "a post office".
func codPlace(l *lokero.Location) string {
	if l.Type == lokero.TypePostOffice {
		return "a post office"
	}
	return "a SMARTPOST with a payment terminal"
}

// misfit says why the parcel may not go to the locker l: too heavy, or no
// compartment takes it.
func misfit(p lokero.Parcel, l *lokero.Location, limits Limits) string {
	if !(p.WeightKG <= limits.LockerMaxWeightKG) {
		return fmt.Sprintf("the parcel weighs %s kg, more than the %s kg a parcel locker takes", num(p.WeightKG), num(limits.LockerMaxWeightKG))
	}
	if c, ok := largestClass(l); ok {
		return fmt.Sprintf("the parcel (%s) does not fit any compartment of %s, the largest of which is %d × %d × %d cm",
			box(p.Dimensions()), name(l), c.LengthCM, c.WidthCM, c.HeightCM)
	}
	return fmt.Sprintf("%s has no compartments to take the parcel (%s)", name(l), box(p.Dimensions()))
}

// limitText writes an outlet's limit: "100 × 60 × 60 cm (turned any way)
// and 35 kg".
func limitText(m lokero.ParcelLimit) string {
	return fmt.Sprintf("%d × %d × %d cm (turned any way) and %s kg", m.LengthCM, m.WidthCM, m.HeightCM, num(m.WeightKG))
}

// outletMisfit says why the parcel may not go to the outlet l, naming the
// outlet's limit (or the bound of what lokero carries, when that is the
// smaller).
func outletMisfit(p lokero.Parcel, l *lokero.Location, limits Limits) string {
	m := OutletLimit(l)
	if !fitsOutlet(p, limits) && m.Takes(p) {
		return fmt.Sprintf("the parcel (%s) is more than lokero carries to %s %s: at most %s (turned any way) and %s kg",
			parcelText(p), kind(l), name(l), box(limits.OutletMaxDims), num(limits.OutletMaxWeightKG))
	}
	return fmt.Sprintf("the parcel (%s) is more than %s %s takes: at most %s", parcelText(p), kind(l), name(l), limitText(m))
}

// upperFirst capitalises the first letter of a sentence (a whole
// character: "äänekosken" → "Äänekosken").
func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if n == 0 || r == utf8.RuneError {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
