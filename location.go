package lokero

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"
)

// LocationType is the kind of a pickup point, named exactly as in Posti's
// Locations API.
type LocationType string

// The location types.
const (
	// TypeLocker is a parcel locker in closed premises (a residential or
	// office building), for that building's residents only, with no payment
	// terminal.
	TypeLocker LocationType = "LOCKER"
	// TypeSmartpost is a parcel locker open to everyone; some have a payment
	// terminal.
	TypeSmartpost LocationType = "SMARTPOST"
	// TypePostOffice is a postal outlet; it takes cash on delivery.
	TypePostOffice LocationType = "POSTOFFICE"
	// TypePickupPoint is an agent outlet (a shop that hands out parcels).
	TypePickupPoint LocationType = "PICKUPPOINT"
)

// LocationTypes lists every location type, in a stable order.
var LocationTypes = []LocationType{TypeLocker, TypeSmartpost, TypePostOffice, TypePickupPoint}

// ParseLocationType returns the type named s (case-insensitive).
func ParseLocationType(s string) (LocationType, bool) {
	t := LocationType(strings.ToUpper(strings.TrimSpace(s)))
	return t, slices.Contains(LocationTypes, t)
}

// IsLocker reports whether locations of this type have compartments.
func (t LocationType) IsLocker() bool { return t == TypeLocker || t == TypeSmartpost }

// Access says who may use a location.
type Access string

// The access levels.
const (
	AccessPublic    Access = "public"    // anyone
	AccessResidents Access = "residents" // the residents of the building only
)

// Parcel and compartment limits.
const (
	// MaxCompartmentLengthCM etc. are the dimensions of the biggest
	// compartment in the network (70 × 40 × 40 cm).
	MaxCompartmentLengthCM = 70
	MaxCompartmentWidthCM  = 40
	MaxCompartmentHeightCM = 40
)

// CompartmentClass is one size class of a locker's compartments and how
// many compartments of it the locker has.
type CompartmentClass struct {
	Size     string `json:"size"` // e.g. "S", "M", "L"
	LengthCM int    `json:"length_cm"`
	WidthCM  int    `json:"width_cm"`
	HeightCM int    `json:"height_cm"`
	Count    int    `json:"count"`
}

// Fits reports whether a parcel of the given dimensions (cm, any order)
// fits the compartment when turned any way: its sorted dimensions each fit
// the compartment's sorted dimensions.
func (c CompartmentClass) Fits(dims [3]float64) bool {
	return FitsBox(dims, [3]float64{float64(c.LengthCM), float64(c.WidthCM), float64(c.HeightCM)})
}

// FitsBox reports whether a box of dimensions inner fits a box of
// dimensions outer when turned any way.
func FitsBox(inner, outer [3]float64) bool {
	in, out := sort3(inner), sort3(outer)
	return in[0] <= out[0] && in[1] <= out[1] && in[2] <= out[2]
}

// sort3 returns the three numbers in ascending order (a search checks a
// parcel against every candidate's classes: three swaps, not a sort call).
func sort3(v [3]float64) [3]float64 {
	if v[0] > v[1] {
		v[0], v[1] = v[1], v[0]
	}
	if v[1] > v[2] {
		v[1], v[2] = v[2], v[1]
	}
	if v[0] > v[1] {
		v[0], v[1] = v[1], v[0]
	}
	return v
}

// StandardCompartmentClasses are lokero's compartment size classes (our
// choice, by height as InPost's A/B/C): all share the 70 × 40 footprint of
// the biggest compartment.
var StandardCompartmentClasses = []CompartmentClass{
	{Size: "S", LengthCM: 70, WidthCM: 40, HeightCM: 10},
	{Size: "M", LengthCM: 70, WidthCM: 40, HeightCM: 20},
	{Size: "L", LengthCM: 70, WidthCM: 40, HeightCM: 40},
}

// OpeningHours is one day's opening time: Weekday 1 (Monday) … 7 (Sunday),
// From and To as "HH:MM" local time in Europe/Helsinki; To "24:00" means
// until midnight.
type OpeningHours struct {
	Weekday int    `json:"weekday"`
	From    string `json:"from"`
	To      string `json:"to"`
}

// AlwaysOpen is the opening time of a locker: every day, round the clock.
func AlwaysOpen() []OpeningHours {
	h := make([]OpeningHours, 7)
	for i := range h {
		h[i] = OpeningHours{Weekday: i + 1, From: "00:00", To: "24:00"}
	}
	return h
}

// Location is a pickup point: a locker, a post office or an agent outlet.
type Location struct {
	ID               string
	Type             LocationType
	Name             string
	Street           string // street name and number, e.g. "Mannerheimintie 5"
	StreetSV         string // the same in Swedish where the street has a Swedish name ("Mannerheimvägen 5"), else ""
	Postcode         string
	City             string
	Lat, Lon         float64
	OpeningHours     []OpeningHours
	Access           Access
	PaymentTerminal  bool
	WheelchairAccess bool
	Compartments     []CompartmentClass // only for LOCKER and SMARTPOST

	// The status fields: the operator changes them (each change is kept as
	// a LocationEvent), and OpenOn, OpenAt and HoursOn read them.
	Status        LocationStatus // OPEN when empty after Normalize
	StatusFrom    string         // "YYYY-MM-DD": TEMPORARILY_CLOSED from this day (inclusive); required for it
	StatusUntil   string         // "YYYY-MM-DD": last closed day (inclusive); "" = until further notice
	StatusReason  string         // free text, e.g. "renovation", "holiday"; at most MaxReasonLength characters; not with OPEN
	OpensOn       string         // "YYYY-MM-DD": NOT_YET_OPEN until this day (first open day); required for it
	ExceptionDays []ExceptionDay // dated exceptions to the weekly opening hours, sorted by date, unique dates
	Functions     []string       // of FunctionCollect, FunctionSend, FunctionReturn; Normalize fills the type's default when empty

	CreatedAt time.Time
	UpdatedAt time.Time
}

// TakesCOD reports whether cash on delivery can be paid at the location:
// at a POSTOFFICE, or at a SMARTPOST with a payment terminal. Never at a
// LOCKER.
func (l *Location) TakesCOD() bool {
	return l.Type == TypePostOffice || (l.Type == TypeSmartpost && l.PaymentTerminal)
}

// Fits reports whether the location has a compartment class that takes a
// parcel of the given dimensions.
func (l *Location) Fits(dims [3]float64) bool {
	for _, c := range l.Compartments {
		if c.Count > 0 && c.Fits(dims) {
			return true
		}
	}
	return false
}

var (
	locationIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)
	postcodePattern   = regexp.MustCompile(`^[0-9]{5}$`)
	clockPattern      = regexp.MustCompile(`^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$`)
)

// Normalize fills defaults that follow from the type: lockers are open
// round the clock, a LOCKER is for residents, a location without an
// access level is public. An empty status is OPEN; empty Functions get the
// type's DefaultFunctions, and given ones are lower-cased, deduplicated and
// sorted in the order collect, send, return; exception days are sorted by
// date. Normalize never drops a status field that does not apply to the
// status (Validate reports it; see SetStatus).
func (l *Location) Normalize() {
	l.ID = strings.TrimSpace(l.ID)
	l.Name = strings.TrimSpace(l.Name)
	l.Street = strings.Join(strings.Fields(l.Street), " ")
	l.StreetSV = strings.Join(strings.Fields(l.StreetSV), " ")
	l.Postcode = strings.TrimSpace(l.Postcode)
	l.City = strings.TrimSpace(l.City)
	if l.Type.IsLocker() && len(l.OpeningHours) == 0 {
		l.OpeningHours = AlwaysOpen()
	}
	if l.Access == "" {
		if l.Type == TypeLocker {
			l.Access = AccessResidents
		} else {
			l.Access = AccessPublic
		}
	}
	l.normalizeStatus()
}

// Validate checks the location against the directory's rules and returns
// an EINVALID *Error naming the first offending field (by its JSON name,
// e.g. "status_from", "exception_days[1].date"). Whether the postal code is
// known is checked by the caller, who has the registry. The rules of the
// status fields: a known status; real dates
// YYYY-MM-DD; status_from required with TEMPORARILY_CLOSED and
// status_until not before it; opens_on required with NOT_YET_OPEN; each
// date field only with its status; exception days on distinct dates,
// closed or open from < to; functions among collect, send, return.
func (l *Location) Validate() error {
	switch {
	case !locationIDPattern.MatchString(l.ID):
		return Invalid("id", "invalid_id", "id must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit; got %q", l.ID)
	case !slices.Contains(LocationTypes, l.Type):
		return Invalid("type", "unknown_type", "type must be one of LOCKER, SMARTPOST, POSTOFFICE, PICKUPPOINT; got %q", l.Type)
	case l.Name == "":
		return Invalid("name", "required", "name is required")
	case l.Street == "":
		return Invalid("street", "required", "street address is required")
	case !postcodePattern.MatchString(l.Postcode):
		return Invalid("postcode", "malformed", "postcode must be five digits; got %q", l.Postcode)
	case l.City == "":
		return Invalid("city", "required", "city is required")
	case !(l.Lat >= 59 && l.Lat <= 71):
		return Invalid("lat", "out_of_range", "latitude %v is not in Finland (59..71)", l.Lat)
	case !(l.Lon >= 19 && l.Lon <= 32):
		return Invalid("lon", "out_of_range", "longitude %v is not in Finland (19..32)", l.Lon)
	case l.Access != AccessPublic && l.Access != AccessResidents:
		return Invalid("access", "unknown_access", "access must be public or residents; got %q", l.Access)
	case l.Type == TypeLocker && l.Access != AccessResidents:
		return Invalid("access", "locker_residents_only", "a LOCKER is for its building's residents: access must be residents")
	case l.Type == TypeLocker && l.PaymentTerminal:
		return Invalid("payment_terminal", "no_terminal_in_locker", "a LOCKER never has a payment terminal")
	case l.Type.IsLocker() && len(l.Compartments) == 0:
		return Invalid("compartments", "required", "a %s needs at least one compartment class", l.Type)
	case !l.Type.IsLocker() && len(l.Compartments) > 0:
		return Invalid("compartments", "not_a_locker", "only LOCKER and SMARTPOST locations have compartments")
	}
	if err := validateOpeningHours(l.OpeningHours); err != nil {
		return err
	}
	seen := map[string]bool{}
	for i, c := range l.Compartments {
		field := fmt.Sprintf("compartments[%d]", i)
		switch {
		case strings.TrimSpace(c.Size) == "":
			return Invalid(field+".size", "required", "compartment size class is required")
		case seen[c.Size]:
			return Invalid(field+".size", "duplicate", "compartment size class %q appears twice", c.Size)
		case c.LengthCM <= 0 || c.WidthCM <= 0 || c.HeightCM <= 0:
			return Invalid(field, "out_of_range", "compartment dimensions must be positive")
		case !FitsBox([3]float64{float64(c.LengthCM), float64(c.WidthCM), float64(c.HeightCM)},
			[3]float64{MaxCompartmentLengthCM, MaxCompartmentWidthCM, MaxCompartmentHeightCM}):
			return Invalid(field, "too_large", "compartment %d × %d × %d cm is bigger than the largest allowed, 70 × 40 × 40 cm", c.LengthCM, c.WidthCM, c.HeightCM)
		case c.Count <= 0 || c.Count > 1000:
			return Invalid(field+".count", "out_of_range", "compartment count must be 1..1000; got %d", c.Count)
		}
		seen[c.Size] = true
	}
	return l.validateStatus()
}

func validateOpeningHours(hours []OpeningHours) error {
	for i, h := range hours {
		field := fmt.Sprintf("opening_hours[%d]", i)
		switch {
		case h.Weekday < 1 || h.Weekday > 7:
			return Invalid(field+".weekday", "out_of_range", "weekday must be 1 (Monday) … 7 (Sunday); got %d", h.Weekday)
		case !clockPattern.MatchString(h.From) || h.From == "24:00":
			return Invalid(field+".from", "malformed", "opening time must be HH:MM; got %q", h.From)
		case !clockPattern.MatchString(h.To):
			return Invalid(field+".to", "malformed", "closing time must be HH:MM; got %q", h.To)
		case h.To <= h.From:
			return Invalid(field+".to", "out_of_range", "closing time %s is not after opening time %s", h.To, h.From)
		}
	}
	return nil
}

// UpsertResult counts what an upsert did.
type UpsertResult struct {
	Inserted int
	Updated  int
}

// LocationStore persists the pickup-point directory.
type LocationStore interface {
	// UpsertLocations inserts new locations and updates existing ones (by
	// ID) in one transaction: all or nothing. It appends a LocationEvent
	// (Actor ActorImport, At the row's updated_at) for every inserted
	// location and every updated one whose Change() is not Equal to the
	// stored one's: a re-import of the same file appends none.
	UpsertLocations(ctx context.Context, locs []Location) (UpsertResult, error)
	// Location returns one location, or an ENOTFOUND error.
	Location(ctx context.Context, id string) (Location, error)
	// Locations returns every location, ordered by ID.
	Locations(ctx context.Context) ([]Location, error)
	// CountLocations returns how many locations there are.
	CountLocations(ctx context.Context) (int, error)
	// UpdateLocation writes one location (which must exist: ENOTFOUND
	// otherwise; its stored created_at is kept) and appends ev in one
	// transaction. The store assigns ev.Seq (the location's next) and sets
	// ev.LocationID to loc.ID; a zero ev.At is the location's updated_at
	// and a zero ev.Change is loc.Change(). updated_at is loc.UpdatedAt,
	// or when that is zero ev.At, or the time of the call.
	UpdateLocation(ctx context.Context, loc Location, ev LocationEvent) error
	// LocationEvents lists a location's status events, oldest first (by
	// Seq): an empty list for a location without any, ENOTFOUND for no
	// such location.
	LocationEvents(ctx context.Context, id string) ([]LocationEvent, error)
}
