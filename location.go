package lokero

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/lokero/lokero/address"
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

// IsOutlet reports whether locations of this type hand parcels over at a
// counter (a post office or an agent outlet): staffed, with shelves
// instead of compartments.
func (t LocationType) IsOutlet() bool { return t == TypePostOffice || t == TypePickupPoint }

// ParcelLimit is the biggest parcel an outlet takes: its dimensions (cm,
// any orientation) and weight.
type ParcelLimit struct {
	LengthCM int     `json:"length_cm"`
	WidthCM  int     `json:"width_cm"`
	HeightCM int     `json:"height_cm"`
	WeightKG float64 `json:"weight_kg"`
}

// IsZero reports whether no limit is set.
func (p ParcelLimit) IsZero() bool { return p == ParcelLimit{} }

// Takes reports whether a parcel is within the limit, turned any way.
func (p ParcelLimit) Takes(parcel Parcel) bool {
	return parcel.WeightKG <= p.WeightKG &&
		FitsBox(parcel.Dimensions(), [3]float64{float64(p.LengthCM), float64(p.WidthCM), float64(p.HeightCM)})
}

// DefaultOutletLimit returns what an outlet of type t takes unless its
// directory entry says otherwise, and how many parcels a delivery day its
// shelves take; zero for lockers.
//
// A POSTOFFICE takes Posti's largest postal parcel, 120 × 60 × 60 cm and
// 35 kg (Posti's published limits for a Postipaketti), far bigger than
// the largest compartment (70 × 40 × 40 cm). A PICKUPPOINT, a shop's
// counter with a back room, takes 100 × 60 × 60 cm and 35 kg (our choice:
// Posti's parcel-point limit before 2020, and lokero's outlet limit until
// outlets had their own). Shelves, our choice: 150 parcels a delivery day
// at a post office, 40 at an agent outlet.
func DefaultOutletLimit(t LocationType) (ParcelLimit, int) {
	switch t {
	case TypePostOffice:
		return ParcelLimit{LengthCM: 120, WidthCM: 60, HeightCM: 60, WeightKG: 35}, 150
	case TypePickupPoint:
		return ParcelLimit{LengthCM: 100, WidthCM: 60, HeightCM: 60, WeightKG: 35}, 40
	}
	return ParcelLimit{}, 0
}

// Outlet limits a directory entry may give.
const (
	MaxOutletParcelCM  = 300   // no counter takes a longer parcel
	MaxOutletWeightKG  = 1000  // nor a heavier one
	MaxShelfCapacity   = 10000 // parcels a delivery day
	ShelfPlacesPerDay  = 10    // shelf places laid out per parcel a day of capacity (see ShelfPlaces)
	shelfSectionLength = 50    // places per shelf section: A-1 … A-50, B-1 …
)

// ShelfPlaces is how many numbered shelf places an outlet has: its daily
// capacity times ShelfPlacesPerDay (our choice: the 7-day storage period,
// the reminder's slack and the parcels waiting for the courier, with
// room to spare).
func (l *Location) ShelfPlaces() int { return l.ShelfCapacity * ShelfPlacesPerDay }

// ShelfPlace names an outlet's shelf place number n (1, 2, …) as the
// counter's staff find it: sections of 50 places lettered A, B, …, Z, AA,
// AB, …, e.g. 67 is "B-17".
func ShelfPlace(n int) string {
	if n < 1 {
		return ""
	}
	section, place := (n-1)/shelfSectionLength, (n-1)%shelfSectionLength+1
	letters := ""
	for section >= 0 {
		letters = string(rune('A'+section%26)) + letters
		section = section/26 - 1
	}
	return fmt.Sprintf("%s-%d", letters, place)
}

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
	MaxParcel        ParcelLimit        // only for POSTOFFICE and PICKUPPOINT: the biggest parcel it takes; Normalize fills the type's default
	ShelfCapacity    int                // only for POSTOFFICE and PICKUPPOINT: parcels a delivery day; Normalize fills the type's default

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

// TakesParcel reports whether the location takes the parcel: an outlet
// within its limit, a locker in one of its compartment classes (its weight
// limit is the routing rules' business).
func (l *Location) TakesParcel(p Parcel) bool {
	if l.Type.IsOutlet() {
		return l.MaxParcel.Takes(p)
	}
	return l.Fits(p.Dimensions())
}

// TakesCOD reports whether cash on delivery can be paid at the location:
// at a POSTOFFICE, or at a SMARTPOST with a payment terminal. Never at a
// LOCKER.
func (l *Location) TakesCOD() bool {
	return l.Type == TypePostOffice || (l.Type == TypeSmartpost && l.PaymentTerminal)
}

// Fits reports whether the location takes a parcel of the given
// dimensions: a locker has a compartment class that takes it, an outlet's
// limit does (dimensions only; TakesParcel weighs it too).
func (l *Location) Fits(dims [3]float64) bool {
	if l.Type.IsOutlet() {
		m := l.MaxParcel
		return FitsBox(dims, [3]float64{float64(m.LengthCM), float64(m.WidthCM), float64(m.HeightCM)})
	}
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
	if l.Type.IsOutlet() {
		limit, shelf := DefaultOutletLimit(l.Type)
		if l.MaxParcel.IsZero() {
			l.MaxParcel = limit
		}
		if l.ShelfCapacity == 0 {
			l.ShelfCapacity = shelf
		}
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
	case l.residentsOnly() && address.Building(l.Street) == "":
		// The building is found by its number: a street without one
		// would match every number-less address of the postal area.
		return Invalid("street", "building_number_required", "a building's locker needs the building's street address with its number; got %q", l.Street)
	case l.residentsOnly() && l.StreetSV != "" && address.Building(l.StreetSV) == "":
		return Invalid("street_sv", "building_number_required", "a building's locker needs the building's street address with its number; got %q", l.StreetSV)
	case l.Type == TypeLocker && l.PaymentTerminal:
		return Invalid("payment_terminal", "no_terminal_in_locker", "a LOCKER never has a payment terminal")
	case l.Type.IsLocker() && len(l.Compartments) == 0:
		return Invalid("compartments", "required", "a %s needs at least one compartment class", l.Type)
	case !l.Type.IsLocker() && len(l.Compartments) > 0:
		return Invalid("compartments", "not_a_locker", "only LOCKER and SMARTPOST locations have compartments")
	case !l.Type.IsOutlet() && !l.MaxParcel.IsZero():
		return Invalid("max_parcel", "not_an_outlet", "only POSTOFFICE and PICKUPPOINT locations have a parcel limit; a locker's compartments are its limit")
	case !l.Type.IsOutlet() && l.ShelfCapacity != 0:
		return Invalid("shelf_capacity", "not_an_outlet", "only POSTOFFICE and PICKUPPOINT locations have shelves")
	case l.Type.IsOutlet() && (l.ShelfCapacity < 1 || l.ShelfCapacity > MaxShelfCapacity):
		return Invalid("shelf_capacity", "out_of_range", "shelf capacity must be 1..%d parcels a day; got %d", MaxShelfCapacity, l.ShelfCapacity)
	}
	if l.Type.IsOutlet() {
		m := l.MaxParcel
		for _, d := range []struct {
			field string
			cm    int
		}{{"max_parcel.length_cm", m.LengthCM}, {"max_parcel.width_cm", m.WidthCM}, {"max_parcel.height_cm", m.HeightCM}} {
			if d.cm < 1 || d.cm > MaxOutletParcelCM {
				return Invalid(d.field, "out_of_range", "an outlet's parcel limit is 1..%d cm a side; got %d", MaxOutletParcelCM, d.cm)
			}
		}
		if !(m.WeightKG > 0 && m.WeightKG <= MaxOutletWeightKG) {
			return Invalid("max_parcel.weight_kg", "out_of_range", "an outlet's weight limit is above 0 and at most %d kg; got %v", MaxOutletWeightKG, m.WeightKG)
		}
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

// residentsOnly reports whether l serves its building's residents only (a
// LOCKER, or access residents), as service.ResidentsOnly does.
func (l *Location) residentsOnly() bool {
	return l.Type == TypeLocker || l.Access == AccessResidents
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
	// UpsertLocationsKeeping is UpsertLocations that lets the caller keep
	// what is stored: in the same transaction, before it writes, it reads
	// every one of locs already stored, locked against concurrent writers
	// until the commit, and calls keep(i, stored) for it, which may change
	// locs[i] (an import keeping the operator's status fields its file
	// leaves out). keep sees the row as it is at the write, never an
	// older copy; an error from keep writes nothing and is returned as it
	// is. A nil keep is UpsertLocations.
	UpsertLocationsKeeping(ctx context.Context, locs []Location, keep func(i int, stored *Location) error) (UpsertResult, error)
	// Location returns one location, or an ENOTFOUND error.
	Location(ctx context.Context, id string) (Location, error)
	// Locations returns every location, ordered by ID.
	Locations(ctx context.Context) ([]Location, error)
	// CountLocations returns how many locations there are.
	CountLocations(ctx context.Context) (int, error)
	// DirectoryVersion returns a number that changes whenever a location
	// is inserted, updated or deleted, by any process: a reader that read
	// it before Locations need not read them again while it stays the
	// same.
	DirectoryVersion(ctx context.Context) (int64, error)
	// UpdateLocation writes one location (which must exist: ENOTFOUND
	// otherwise; its stored created_at is kept) and appends ev in one
	// transaction. The store assigns ev.Seq (the location's next) and sets
	// ev.LocationID to loc.ID; a zero ev.At is the location's updated_at
	// and a zero ev.Change is loc.Change(). updated_at is loc.UpdatedAt,
	// or when that is zero ev.At, or the time of the call.
	//
	// UpdateLocation overwrites every column with loc: a caller that read
	// loc earlier (from a snapshot) undoes whatever was written since. An
	// operator's change goes through PatchLocation.
	UpdateLocation(ctx context.Context, loc Location, ev LocationEvent) error
	// PatchLocation changes one location from its current row, in one
	// transaction: it reads the row locked against concurrent writers
	// (ENOTFOUND when there is none) and calls patch with a copy of it.
	// When patch fails, nothing is written and its error is returned as it
	// is; when it reports no change, nothing is written (no event, no new
	// DirectoryVersion) and the row as read is returned. Otherwise the
	// location as patch left it is written (its ID and created_at are
	// kept) and ev appended, as UpdateLocation does, before the commit, and
	// the location as written is returned. patch is called at most once,
	// while the row is locked: it must not wait on the store.
	PatchLocation(ctx context.Context, id string, patch func(loc *Location) (changed bool, ev LocationEvent, err error)) (Location, error)
	// LocationEvents lists a location's status events, oldest first (by
	// Seq): an empty list for a location without any, ENOTFOUND for no
	// such location.
	LocationEvents(ctx context.Context, id string) ([]LocationEvent, error)
}
