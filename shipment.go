package lokero

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// ShipmentStatus is where a shipment is in its life.
type ShipmentStatus string

// The shipment statuses.
const (
	StatusCreated          ShipmentStatus = "CREATED"            // booked by the retailer, label printable
	StatusInTransit        ShipmentStatus = "IN_TRANSIT"         // handed over to the carrier
	StatusInLocker         ShipmentStatus = "IN_LOCKER"          // in a compartment, door not yet closed
	StatusReadyForPickup   ShipmentStatus = "READY_FOR_PICKUP"   // the recipient can collect it
	StatusPickedUp         ShipmentStatus = "PICKED_UP"          // collected: the end
	StatusExpired          ShipmentStatus = "EXPIRED"            // the storage period ended
	StatusReturning        ShipmentStatus = "RETURNING"          // on its way back to the sender
	StatusReturnedToSender ShipmentStatus = "RETURNED_TO_SENDER" // back with the sender: the end
	StatusCancelled        ShipmentStatus = "CANCELLED"          // cancelled before handover: the end
	StatusDroppedOff       ShipmentStatus = "DROPPED_OFF"        // a return or pre-paid parcel left in a compartment by a consumer
)

// ShipmentStatuses lists every status in lifecycle order.
var ShipmentStatuses = []ShipmentStatus{
	StatusCreated, StatusInTransit, StatusInLocker, StatusReadyForPickup, StatusPickedUp,
	StatusExpired, StatusReturning, StatusReturnedToSender, StatusCancelled, StatusDroppedOff,
}

// transitions are the legal moves of the lifecycle. A parcel at a post
// office or an agent outlet skips IN_LOCKER. A consumer's parcel (a
// return or a pre-paid one) is DROPPED_OFF at a locker before it travels;
// a return in transit ends with the store (RETURNED_TO_SENDER). An EXPIRED
// parcel is READY_FOR_PICKUP again only when its locker reports, after the
// expiry, that it handed the parcel out before the deadline.
var transitions = map[ShipmentStatus][]ShipmentStatus{
	StatusCreated:        {StatusInTransit, StatusCancelled, StatusDroppedOff},
	StatusDroppedOff:     {StatusInTransit},
	StatusInTransit:      {StatusInLocker, StatusReadyForPickup, StatusReturning, StatusReturnedToSender},
	StatusInLocker:       {StatusReadyForPickup},
	StatusReadyForPickup: {StatusPickedUp, StatusExpired},
	StatusExpired:        {StatusReturning, StatusReadyForPickup},
	StatusReturning:      {StatusReturnedToSender},
}

// Valid reports whether s is a known status.
func (s ShipmentStatus) Valid() bool { return slices.Contains(ShipmentStatuses, s) }

// CanBecome reports whether a shipment in status s may move to next.
func (s ShipmentStatus) CanBecome(next ShipmentStatus) bool {
	return slices.Contains(transitions[s], next)
}

// Final reports whether nothing more happens to a shipment in status s.
func (s ShipmentStatus) Final() bool { return len(transitions[s]) == 0 }

// ReasonIllegalTransition is the Reason of the ECONFLICT a shipment
// answers a move its status does not allow.
const ReasonIllegalTransition = "illegal_transition"

// Begin starts a new shipment's life: it is CREATED at at (its CreatedAt
// and UpdatedAt) with its first event. A shipment that has begun already
// is an ECONFLICT (ReasonIllegalTransition), and nothing changes.
func (s *Shipment) Begin(at time.Time, locationID, reason string) error {
	if s.Status != "" || len(s.Events) > 0 {
		return &Error{Code: ECONFLICT, Reason: ReasonIllegalTransition,
			Message: fmt.Sprintf("shipment %s was created already", s.ID)}
	}
	s.Status, s.CreatedAt, s.UpdatedAt = StatusCreated, at, at
	s.Events = []ShipmentEvent{{Status: StatusCreated, At: at, LocationID: locationID, Reason: reason}}
	return nil
}

// Transition moves a shipment to status to at at, recording the event
// with its location and reason: the only way a shipment's status changes
// after Begin. A move the lifecycle does not allow (CanBecome) is an
// ECONFLICT (ReasonIllegalTransition) naming both statuses, and nothing
// changes.
func (s *Shipment) Transition(to ShipmentStatus, at time.Time, locationID, reason string) error {
	if err := s.CheckTransition(to); err != nil {
		return err
	}
	s.Status, s.UpdatedAt = to, at
	s.Events = append(s.Events, ShipmentEvent{Status: to, At: at, LocationID: locationID, Reason: reason})
	return nil
}

// CheckTransition returns the error Transition would answer a move to
// status to, changing nothing: nil when the lifecycle allows it. A use
// case checks first when the move's own work comes before Transition.
func (s *Shipment) CheckTransition(to ShipmentStatus) error {
	if !s.Status.CanBecome(to) {
		return &Error{Code: ECONFLICT, Reason: ReasonIllegalTransition,
			Message: fmt.Sprintf("shipment %s is %s and cannot become %s", s.ID, s.Status, to)}
	}
	return nil
}

// Note records an event at at that changes no status (re-routed, a
// reminder sent, cash on delivery paid...): the event carries the current
// status, and the shipment's UpdatedAt becomes at.
func (s *Shipment) Note(at time.Time, locationID, reason string) {
	s.UpdatedAt = at
	s.Events = append(s.Events, ShipmentEvent{Status: s.Status, At: at, LocationID: locationID, Reason: reason})
}

// ShipmentKind is who started a shipment and where it begins.
type ShipmentKind string

// The shipment kinds.
const (
	// ShipmentDelivery is a retailer's parcel to a recipient at a pickup point.
	ShipmentDelivery ShipmentKind = "delivery"
	// ShipmentReturn is a consumer's return of a delivery to its store,
	// dropped off at a locker with the delivery's return code.
	ShipmentReturn ShipmentKind = "return"
	// ShipmentPrepaid is a pre-paid parcel: a consumer drops it off at a
	// locker with its code and it travels to its recipient.
	ShipmentPrepaid ShipmentKind = "prepaid"
)

// DroppedOffByConsumer reports whether shipments of this kind start at a
// locker's keypad.
func (k ShipmentKind) DroppedOffByConsumer() bool { return k == ShipmentReturn || k == ShipmentPrepaid }

// Party is a sender or a recipient.
type Party struct {
	Name     string `json:"name"`
	Street   string `json:"street"`
	Postcode string `json:"postcode"`
	City     string `json:"city"`
	Country  string `json:"country"`
	Phone    string `json:"phone,omitempty"` // E.164
	Email    string `json:"email,omitempty"`
	Language string `json:"language,omitempty"` // fi, sv or en
}

// Parcel contents.
const (
	ContentsGoods = "goods"
	ContentsFood  = "food"
)

// Parcel is what is shipped: its outer dimensions (any order), weight and
// contents.
type Parcel struct {
	LengthCM  float64 `json:"length_cm"`
	WidthCM   float64 `json:"width_cm"`
	HeightCM  float64 `json:"height_cm"`
	WeightKG  float64 `json:"weight_kg"`
	Contents  string  `json:"contents"`
	Insulated bool    `json:"insulated"`
}

// Dimensions returns the parcel's dimensions as a box.
func (p Parcel) Dimensions() [3]float64 { return [3]float64{p.LengthCM, p.WidthCM, p.HeightCM} }

// COD is cash on delivery: what the recipient pays before the door opens.
type COD struct {
	AmountCents int64      `json:"amount_cents"`
	Currency    string     `json:"currency"`
	Reference   string     `json:"reference,omitempty"`
	CollectedAt *time.Time `json:"collected_at,omitempty"`
	TerminalRef string     `json:"terminal_ref,omitempty"` // the payment terminal's reference of the authorisation, or the counter's receipt
	Method      string     `json:"method,omitempty"`       // how it was paid: PaymentTerminal at a locker, PaymentCash or PaymentCard at a counter
	LocationID  string     `json:"location_id,omitempty"`  // where it was paid
}

// How cash on delivery was paid.
const (
	PaymentTerminal = "terminal" // at a SMARTPOST's payment terminal
	PaymentCash     = "cash"     // at a counter, in cash
	PaymentCard     = "card"     // at a counter, by card
)

// Pickup records who collected a parcel, where and when.
type Pickup struct {
	At         time.Time `json:"at"`
	LocationID string    `json:"location_id"`
	// By is PickedUpByRecipient, or PickedUpByRepresentative with a
	// power of attorney (at a counter only).
	By string `json:"by"`
	// Representative is the representative's name, as on their ID; ""
	// for the recipient.
	Representative string `json:"representative,omitempty"`
	// ClerkID is the credential of the clerk who handed it over; "" at a
	// locker.
	ClerkID string `json:"clerk_id,omitempty"`
}

// Who picked a parcel up.
const (
	PickedUpByRecipient      = "recipient"
	PickedUpByRepresentative = "representative"
)

// ShipmentEvent is one timestamped step of a shipment's life.
type ShipmentEvent struct {
	Status     ShipmentStatus `json:"status"`
	At         time.Time      `json:"at"`
	LocationID string         `json:"location_id,omitempty"`
	Reason     string         `json:"reason,omitempty"` // shown in tracking: no personal data
}

// Routing is why a shipment goes where it goes.
type Routing struct {
	Rule   string `json:"rule"`
	Reason string `json:"reason"`
}

// Shipment is a parcel from a retailer to a recipient at a pickup point.
type Shipment struct {
	ID                 string
	Kind               ShipmentKind // "" reads as ShipmentDelivery
	ReturnOf           string       // a return's delivery (its ID); "" otherwise
	RetailerID         string
	Reference          string // the retailer's own order number
	TrackingCode       string // UPU S10, e.g. "JJ123456785FI"
	Status             ShipmentStatus
	Sender             Party
	Recipient          Party
	Parcel             Parcel
	COD                *COD
	PickupPointID      string // as the retailer asked; "" for routing by address
	Fallback           string // "", "nearest_outlet"
	DestinationID      string // the location it goes to
	Routing            Routing
	DeliveryDate       Date      // Europe/Helsinki; zero: none
	SizeClass          string    // the compartment size class reserved at a locker, lokero.ShelfSize at an outlet; "" when none
	ReturnCode         string    // the code a consumer enters at a keypad to drop a parcel off: a delivery's return code, or a pre-paid parcel's own code
	ReturnTrackingCode string    // the return's own tracking code
	Compartment        int       // the compartment it is in at its locker, or its shelf place's number at an outlet; 0 when none
	StorageDeadline    time.Time // when it expires if not picked up; zero until deposited
	OpeningCodeHash    []byte    // keyed hash of the opening code (at an outlet: the pickup code); the code itself is never stored
	Pickup             *Pickup   // who collected it, where and when; nil until picked up
	CreatedAt          time.Time
	UpdatedAt          time.Time
	Events             []ShipmentEvent // oldest first
}

// Retailer is an online store that ships through lokero.
type Retailer struct {
	ID          string
	Name        string
	FreeReturns bool // its customers may return parcels for free with a return code
	CreatedAt   time.Time
}

// ShipmentFilter selects a retailer's shipments, ordered by ID (which
// sorts by creation time).
type ShipmentFilter struct {
	RetailerID string
	Status     ShipmentStatus // "" for any
	Reference  string         // "" for any
	AfterID    string         // the cursor: only shipments with a greater ID
	Limit      int
}

// RetailerStore persists retailers and their API keys (hashed). A
// retailer never changes once created; its key is replaced by
// RotateRetailerKey (a key that leaked), which the service's instances
// learn within their cache's lifetime.
type RetailerStore interface {
	// CreateRetailer stores a retailer with the hash of its API key.
	CreateRetailer(ctx context.Context, r Retailer, keyHash []byte) error
	// RetailerByKeyHash finds the retailer whose API key hashes to hash,
	// or returns ENOTFOUND.
	RetailerByKeyHash(ctx context.Context, keyHash []byte) (Retailer, error)
	// Retailer returns a retailer by ID, or ENOTFOUND.
	Retailer(ctx context.Context, id string) (Retailer, error)
	// RotateRetailerKey replaces a retailer's API key by the one hashing
	// to keyHash: the old key finds nothing from then on. ENOTFOUND for
	// no such retailer; ECONFLICT "duplicate_key" for a hash in use.
	RotateRetailerKey(ctx context.Context, id string, keyHash []byte) error
}

// ShipmentStore persists shipments, their events and the per-day
// compartment reservations of lockers.
type ShipmentStore interface {
	// InTx runs fn in one write transaction: everything fn writes commits
	// together when fn returns nil, and nothing when it returns an error.
	InTx(ctx context.Context, fn func(tx Tx) error) error
	// Shipment returns a shipment with its events, or ENOTFOUND.
	Shipment(ctx context.Context, id string) (Shipment, error)
	// ShipmentByTrackingCode returns a shipment (by its tracking code or
	// its return tracking code) with its events, or ENOTFOUND.
	ShipmentByTrackingCode(ctx context.Context, code string) (Shipment, error)
	// Shipments lists shipments matching the filter (without events).
	Shipments(ctx context.Context, f ShipmentFilter) ([]Shipment, error)
	// CODCollected lists the shipments whose cash on delivery was
	// collected in [from, to), ordered by retailer and ID, without events.
	CODCollected(ctx context.Context, from, to time.Time) ([]Shipment, error)
	// ReservedOn returns the compartment reservations of every location
	// for a delivery date, or of the locations given: location ID → size
	// class → count (counts above 0).
	ReservedOn(ctx context.Context, date Date, locationIDs ...string) (map[string]map[string]int, error)
	// ShipmentsTo lists the shipments routed to a location in any of the
	// statuses, ordered by ID, without events.
	ShipmentsTo(ctx context.Context, locationID string, statuses []ShipmentStatus) ([]Shipment, error)
	// ReturnsExpected lists the deliveries picked up at a location at or
	// after since whose return code may still come back there: still
	// PICKED_UP, with a return code and no return made. Ordered by ID,
	// without events.
	ReturnsExpected(ctx context.Context, locationID string, since time.Time) ([]Shipment, error)
}

// OrDefault returns the kind, ShipmentDelivery when unset.
func (k ShipmentKind) OrDefault() ShipmentKind {
	if k == "" {
		return ShipmentDelivery
	}
	return k
}
