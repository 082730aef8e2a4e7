package lokero

import (
	"context"
	"time"
)

// PushSubscription is a Web Push subscription (RFC 8030) that a browser
// or an app registered for one parcel, proven with the recipient's
// postcode or phone: the parcel's notices go to it as well as to the
// recipient's phone and e-mail. It belongs to nobody's account; knowing
// its ID is the right to remove it.
type PushSubscription struct {
	ID           string // "psub_" and 26 random base32 characters
	ShipmentID   string
	TrackingCode string
	// Endpoint is the push service's URL for the subscription; P256dh and
	// Auth its keys (base64url, RFC 8291), as the browser's
	// PushSubscription.toJSON() gives them.
	Endpoint string
	P256dh   string
	Auth     string
	// Language is the language the page asked in ("fi", "sv", "en"; ""
	// for the recipient's).
	Language  string
	CreatedAt time.Time
}

// MaxPushSubscriptions is how many push subscriptions one parcel keeps at
// most (a recipient's phone, tablet and a couple of browsers).
const MaxPushSubscriptions = 10

// PushStore keeps the push subscriptions of parcels. Tx.PushSubscriptions
// reads them in the transaction that queues a notice.
type PushStore interface {
	// AddPushSubscription stores a subscription (its ID, CreatedAt and the
	// rest given). A subscription of the same parcel and endpoint already
	// stored is updated in place (keys, language) and keeps its ID and
	// CreatedAt: the stored one is returned. A parcel with
	// MaxPushSubscriptions already gets ECONFLICT "too_many_subscriptions"
	// for a new endpoint.
	AddPushSubscription(ctx context.Context, s PushSubscription) (PushSubscription, error)
	// PushSubscription returns one, or ENOTFOUND.
	PushSubscription(ctx context.Context, id string) (PushSubscription, error)
	// DeletePushSubscription removes one; ENOTFOUND when there is none.
	DeletePushSubscription(ctx context.Context, id string) error
}
