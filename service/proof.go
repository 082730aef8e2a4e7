package service

import (
	"context"
	"crypto/hmac"
	"strings"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/tracking"
)

// trackingCodeReader is the one read a recipient's proof needs.
type trackingCodeReader interface {
	ShipmentByTrackingCode(ctx context.Context, code string) (lokero.Shipment, error)
}

// provenShipment finds the shipment a visitor shows to be theirs by its
// tracking code and the recipient's postcode or phone: what the tracking
// page's notice, its push subscription, a return code and a counter's
// return without its code ask. A malformed tracking code, postcode or
// phone, or neither of the last two, is EINVALID naming the field. A
// tracking code of no shipment, or a postcode and phone not the
// recipient's, is ok == false with no error: each caller answers every
// miss with its own one ENOTFOUND, the same whatever missed, so that the
// answer tells a guesser nothing.
func provenShipment(ctx context.Context, store trackingCodeReader, trackingCode, postcode, phone string) (sh lokero.Shipment, ok bool, err error) {
	code := tracking.Normalize(trackingCode)
	switch {
	case !tracking.Valid(code):
		return lokero.Shipment{}, false, lokero.Invalid("tracking_code", "malformed", "%q is not a tracking code (e.g. JJ123456785FI)", truncateText(trackingCode, 32))
	case postcode == "" && phone == "":
		return lokero.Shipment{}, false, lokero.Invalid("postcode", "required", "give the recipient's postcode to prove the parcel is yours")
	case postcode != "" && (len(postcode) != 5 || strings.Trim(postcode, "0123456789") != ""):
		return lokero.Shipment{}, false, lokero.Invalid("postcode", "malformed", "postcode must be five digits; got %q", truncateText(postcode, 16))
	case phone != "" && phoneDigits(phone) < 6:
		return lokero.Shipment{}, false, lokero.Invalid("phone", "malformed", "phone must be a phone number; got %q", truncateText(phone, 32))
	}
	sh, err = store.ShipmentByTrackingCode(ctx, code)
	if lokero.ErrorCode(err) == lokero.ENOTFOUND {
		return lokero.Shipment{}, false, nil
	} else if err != nil {
		return lokero.Shipment{}, false, err
	}
	if sh.TrackingCode != code || !proves(sh.Recipient, postcode, phone) {
		return lokero.Shipment{}, false, nil
	}
	return sh, true, nil
}

// proves reports whether a postcode or phone number given as proof is
// the recipient's, compared in constant time. The phone is normalised as
// the booking normalised the recipient's (normalizePhone, E.164), so
// "040 123 4567", "+358 40 1234567" and "00358401234567" all match.
func proves(r lokero.Party, postcode, phone string) bool {
	ok := false
	if postcode != "" && r.Postcode != "" && hmac.Equal([]byte(postcode), []byte(r.Postcode)) {
		ok = true
	}
	if e164, err := normalizePhone(phone); phone != "" && r.Phone != "" && err == nil && hmac.Equal([]byte(e164), []byte(r.Phone)) {
		ok = true
	}
	return ok
}

// phoneDigits counts the digits of a phone number as given.
func phoneDigits(s string) int {
	n := 0
	for _, r := range s {
		if r >= '0' && r <= '9' {
			n++
		}
	}
	return n
}
