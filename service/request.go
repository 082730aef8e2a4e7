package service

import (
	"fmt"
	"math"
	"net/mail"
	"strings"
	"unicode/utf8"

	"github.com/nyaruka/phonenumbers"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/postcode"
	"github.com/lokero/lokero/routing"
)

// ShipmentRequest is a retailer's request to create a shipment, as it
// arrives; Validate checks and normalises it.
type ShipmentRequest struct {
	Reference     string         `json:"reference"`
	Sender        lokero.Party   `json:"sender"`
	Recipient     lokero.Party   `json:"recipient"`
	PickupPointID string         `json:"pickup_point_id"`
	Parcel        *lokero.Parcel `json:"parcel"`
	COD           *CODRequest    `json:"cod"`
	ReturnCode    bool           `json:"return_code"`
	Fallback      string         `json:"fallback"`
}

// CODRequest asks for cash on delivery.
type CODRequest struct {
	AmountCents int64  `json:"amount_cents"`
	Currency    string `json:"currency"`
	Reference   string `json:"reference"`
}

// Input limits (ours): generous for real parcels, tight enough that
// nonsense is refused with a reason.
const (
	maxTextLen      = 200
	maxDimensionCM  = 500
	maxWeightKG     = 1000
	maxCODCents     = 5_000_00 // 5,000 €
	maxReferenceLen = 64
)

// Validate checks every field of the request, naming the JSON path of the
// first problem, and normalises it: trimmed text, phone numbers in E.164,
// country and language defaults.
func (r *ShipmentRequest) Validate(postcodes *postcode.Registry) error {
	r.Reference = strings.TrimSpace(r.Reference)
	if err := checkText("reference", r.Reference, false, maxReferenceLen); err != nil {
		return err
	}
	if err := validateParty("sender", &r.Sender, postcodes, false); err != nil {
		return err
	}
	if err := validateParty("recipient", &r.Recipient, postcodes, true); err != nil {
		return err
	}
	r.PickupPointID = strings.TrimSpace(r.PickupPointID)
	if err := checkText("pickup_point_id", r.PickupPointID, false, 64); err != nil {
		return err
	}
	if r.Parcel == nil {
		return lokero.Invalid("parcel", "required", "parcel is required: its length_cm, width_cm, height_cm, weight_kg and contents")
	}
	if err := validateParcel(r.Parcel); err != nil {
		return err
	}
	if r.COD != nil {
		c := r.COD
		switch {
		case c.AmountCents <= 0 || c.AmountCents > maxCODCents:
			return lokero.Invalid("cod.amount_cents", "out_of_range", "cod.amount_cents must be 1..%d (cents); got %d", maxCODCents, c.AmountCents)
		case c.Currency != "EUR":
			return lokero.Invalid("cod.currency", "unsupported_currency", "cash on delivery is collected in EUR only; got %q", c.Currency)
		}
		c.Reference = strings.TrimSpace(c.Reference)
		if err := checkText("cod.reference", c.Reference, false, maxReferenceLen); err != nil {
			return err
		}
	}
	switch r.Fallback {
	case "", routing.FallbackNearestOutlet, FallbackNearestOpen:
	default:
		return lokero.Invalid("fallback", "unknown_fallback", "fallback must be %q, %q or absent; got %q", routing.FallbackNearestOutlet, FallbackNearestOpen, r.Fallback)
	}
	return nil
}

func validateParty(path string, p *lokero.Party, postcodes *postcode.Registry, recipient bool) error {
	p.Name = strings.TrimSpace(p.Name)
	p.Street = strings.Join(strings.Fields(p.Street), " ")
	p.City = strings.TrimSpace(p.City)
	p.Postcode = strings.TrimSpace(p.Postcode)
	for _, f := range []struct{ name, value string }{{"name", p.Name}, {"street", p.Street}, {"city", p.City}} {
		if err := checkText(path+"."+f.name, f.value, true, maxTextLen); err != nil {
			return err
		}
	}
	if p.Country == "" {
		p.Country = "FI"
	}
	if p.Country != "FI" {
		return lokero.Invalid(path+".country", "unsupported_country", "lokero delivers in Finland only: country must be \"FI\"; got %q", p.Country)
	}
	if _, err := postcode.Parse(p.Postcode); err != nil {
		return lokero.Invalid(path+".postcode", "malformed", "%s.postcode must be five digits; got %q", path, p.Postcode)
	}
	if !postcodes.Known(p.Postcode) {
		return lokero.Invalid(path+".postcode", "unknown_postcode", "%s.postcode %s is not a Finnish postal code", path, p.Postcode)
	}
	if p.Phone != "" {
		e164, err := normalizePhone(p.Phone)
		if err != nil {
			return lokero.Invalid(path+".phone", "invalid_phone", "%s.phone %q is not a valid phone number (%v)", path, p.Phone, err)
		}
		p.Phone = e164
	}
	if p.Email != "" {
		addr, err := mail.ParseAddress(p.Email)
		if err != nil || addr.Address != strings.TrimSpace(p.Email) || len(p.Email) > 254 {
			return lokero.Invalid(path+".email", "invalid_email", "%s.email %q is not an e-mail address", path, p.Email)
		}
		p.Email = addr.Address
	}
	switch p.Language {
	case "":
		p.Language = "fi"
	case "fi", "sv", "en":
	default:
		return lokero.Invalid(path+".language", "unknown_language", "%s.language must be fi, sv or en; got %q", path, p.Language)
	}
	if recipient && p.Phone == "" && p.Email == "" {
		return lokero.Invalid(path+".phone", "required", "the recipient needs a phone number or an e-mail address for the notice of arrival")
	}
	return nil
}

// normalizePhone parses a phone number (Finnish when it has no country
// code) and returns it in E.164.
func normalizePhone(s string) (string, error) {
	if len(s) > 32 {
		return "", fmt.Errorf("too long")
	}
	num, err := phonenumbers.Parse(s, "FI")
	if err != nil {
		return "", err
	}
	if !phonenumbers.IsValidNumber(num) {
		return "", fmt.Errorf("no such number")
	}
	return phonenumbers.Format(num, phonenumbers.E164), nil
}

func validateParcel(p *lokero.Parcel) error {
	for _, d := range []struct {
		field string
		value float64
	}{{"parcel.length_cm", p.LengthCM}, {"parcel.width_cm", p.WidthCM}, {"parcel.height_cm", p.HeightCM}} {
		if math.IsNaN(d.value) || d.value <= 0 || d.value > maxDimensionCM {
			return lokero.Invalid(d.field, "out_of_range", "%s must be more than 0 and at most %d cm; got %v", d.field, maxDimensionCM, d.value)
		}
	}
	if math.IsNaN(p.WeightKG) || p.WeightKG <= 0 || p.WeightKG > maxWeightKG {
		return lokero.Invalid("parcel.weight_kg", "out_of_range", "parcel.weight_kg must be more than 0 and at most %d kg; got %v", maxWeightKG, p.WeightKG)
	}
	switch p.Contents {
	case lokero.ContentsGoods, lokero.ContentsFood:
	case "":
		return lokero.Invalid("parcel.contents", "required", "parcel.contents is required: goods or food")
	default:
		return lokero.Invalid("parcel.contents", "unknown_contents", "parcel.contents must be goods or food; got %q", p.Contents)
	}
	return nil
}

func checkText(field, s string, required bool, max int) error {
	switch {
	case required && s == "":
		return lokero.Invalid(field, "required", "%s is required", field)
	case !utf8.ValidString(s):
		return lokero.Invalid(field, "malformed", "%s is not valid UTF-8", field)
	case utf8.RuneCountInString(s) > max:
		return lokero.Invalid(field, "too_long", "%s is longer than %d characters", field, max)
	case strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == 0x7f }):
		return lokero.Invalid(field, "malformed", "%s contains control characters", field)
	}
	return nil
}
