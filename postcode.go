package lokero

import "context"

// PostcodeKind is what a Finnish postal code stands for.
type PostcodeKind string

// The postal code kinds, from the type code of Posti's postal code file.
const (
	PostcodeArea          PostcodeKind = "area"           // 1: an ordinary postal area
	PostcodePOBox         PostcodeKind = "po_box"         // 2: PO boxes
	PostcodeOrganisation  PostcodeKind = "organisation"   // 3: a single organisation
	PostcodeOther         PostcodeKind = "other"          // 4: other
	PostcodeBusinessReply PostcodeKind = "business_reply" // 5: business reply
	PostcodeLocker        PostcodeKind = "locker"         // 6: parcel lockers (…4, …5)
	PostcodePickupPoint   PostcodeKind = "pickup_point"   // 7: pickup points
)

// Postcode is one record of Posti's postal code file.
type Postcode struct {
	Code              string       `json:"postcode"`
	Kind              PostcodeKind `json:"kind"`
	TypeCode          string       `json:"type_code"`
	NameFI            string       `json:"name_fi"` // as in the file, e.g. "HELSINKI" or "SMARTPOST"
	NameSV            string       `json:"name_sv"`
	AbbrFI            string       `json:"abbr_fi,omitempty"`
	AbbrSV            string       `json:"abbr_sv,omitempty"`
	ValidFrom         string       `json:"valid_from,omitempty"` // YYYYMMDD
	AreaCode          string       `json:"area_code,omitempty"`
	AreaFI            string       `json:"area_fi,omitempty"`
	AreaSV            string       `json:"area_sv,omitempty"`
	MunicipalityCode  string       `json:"municipality_code"`
	MunicipalityFI    string       `json:"municipality_fi"`
	MunicipalitySV    string       `json:"municipality_sv"`
	LanguageRatioCode string       `json:"language_ratio_code,omitempty"`
	FileDate          string       `json:"file_date,omitempty"` // YYYYMMDD of the postal code file
}

// PostcodeStore persists the postal code registry so that an imported file
// outlives a restart.
type PostcodeStore interface {
	// ReplacePostcodes replaces the whole registry in one transaction.
	ReplacePostcodes(ctx context.Context, codes []Postcode) error
	// Postcodes returns every postal code, ordered by code.
	Postcodes(ctx context.Context) ([]Postcode, error)
}
