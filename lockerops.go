package lokero

import (
	"context"
	"time"
)

// CredentialKind is who a token belongs to.
type CredentialKind string

// The credential kinds. A token of one kind never acts as another.
const (
	KindCourier  CredentialKind = "courier"  // deposits and collects parcels at any locker
	KindDevice   CredentialKind = "device"   // one locker's controller: keypad, doors
	KindOperator CredentialKind = "operator" // runs the network
	KindClerk    CredentialKind = "clerk"    // hands parcels over at one outlet's counter
)

// Credential is a courier's, a locker device's or an operator's identity;
// its token is stored only as a hash. A credential answers only while it
// is active: not revoked, and not past its expiry.
type Credential struct {
	ID         string
	Kind       CredentialKind
	Name       string
	LocationID string // the device's locker or the clerk's outlet; "" for couriers and operators
	CreatedAt  time.Time
	ExpiresAt  time.Time // when its token stops working; zero: never
	LastUsedAt time.Time // when a request last authenticated with it (to about a minute); zero: never
	RevokedAt  time.Time // when it was revoked, for good; zero: not revoked
	RotatedAt  time.Time // when its current token replaced the previous one; zero: never rotated
	// SessionsEndedAt is when its web sessions were last ended (a sign-out):
	// a session begun before it no longer authenticates. Zero: never.
	SessionsEndedAt time.Time
	// BoardKey is, for a device, the key the centre seals its parcels'
	// codes under for its controller (locker.BoardKey of its token),
	// sealed under the code secret (locker.Codes.Seal); "" for a device
	// provisioned before boards derived their verifiers, and for the other
	// kinds. Never shown.
	BoardKey string
}

// CredentialState is what a credential's token does now.
type CredentialState string

// The states of a credential.
const (
	CredentialActive  CredentialState = "active"  // its token authenticates
	CredentialExpired CredentialState = "expired" // past ExpiresAt; rotating it gives a working token again
	CredentialRevoked CredentialState = "revoked" // revoked for good
)

// State returns what the credential's token does at now: a revoked
// credential is revoked whatever its expiry; one is expired from the
// instant ExpiresAt on.
func (c Credential) State(now time.Time) CredentialState {
	switch {
	case !c.RevokedAt.IsZero():
		return CredentialRevoked
	case !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt):
		return CredentialExpired
	}
	return CredentialActive
}

// IssuedAt is when the credential's current token was made: when it was
// rotated last, else when it was created.
func (c Credential) IssuedAt() time.Time {
	if !c.RotatedAt.IsZero() {
		return c.RotatedAt
	}
	return c.CreatedAt
}

// CredentialFilter selects credentials to list; a zero field selects all.
type CredentialFilter struct {
	Kind       CredentialKind
	LocationID string
}

// CompartmentCount counts one locker's compartments of one size class.
type CompartmentCount struct {
	LocationID string
	Size       string
	Total      int
	Occupied   int // a parcel in it, and in order
	OutOfOrder int
}

// WaitingParcel is a parcel in a locker's compartment.
type WaitingParcel struct {
	LocationID      string
	Compartment     int
	ShipmentID      string
	TrackingCode    string
	Status          ShipmentStatus
	StorageDeadline time.Time // zero: none (a dropped-off parcel)
}

// Occupants counts the parcels in one size class of one location's
// compartments (or shelf places) that arrived on one day and have one
// status, in compartments in order or out of order.
type Occupants struct {
	LocationID string
	Size       string // the compartment's size class
	Status     ShipmentStatus
	ArrivedOn  Date // zero: not known (put there before arrival days were kept)
	// OutOfOrder: the parcels sit in compartments marked out of order (a
	// parcel stays in one until collected). Such a compartment is counted
	// as out of order, taken whether or not it holds a parcel, so its
	// parcel takes no room of its own in the capacity model.
	OutOfOrder bool
	// ReservedSize and DeliveryDate are the reservation the parcels still
	// hold (Tx.Reserve, given back at pickup); ReservedSize "" for none.
	ReservedSize string
	DeliveryDate Date
	Count        int
}

// LockerLoad is what Tx.LockerLoad reads of one locker: its compartments
// out of order by size class, the parcels in its compartments, and its
// reservations by delivery date and size class (counts above 0; dates and
// classes with none are absent).
type LockerLoad struct {
	OutOfOrder map[string]int
	Occupants  []Occupants
	Reserved   map[Date]map[string]int
}

// Departures counts the parcels that left the compartments of one type of
// location on one day, having arrived on another: the network's record of
// how long parcels wait (package occupancy learns from it).
type Departures struct {
	Type      LocationType
	ArrivedOn Date
	LeftOn    Date
	Count     int
}

// OccupancySample is the network's occupancy of one size class at one
// time (sampled every hour; the operator's dashboard draws them).
type OccupancySample struct {
	At         time.Time
	Size       string
	Total      int
	Occupied   int
	OutOfOrder int
}

// Compartment is one physical compartment of a locker and what is in it,
// or one numbered shelf place of an outlet (Size ShelfSize, no door; its
// name is ShelfPlace(Number)).
type Compartment struct {
	LocationID string
	Number     int // 1..N, as painted on the door, or the shelf place's number
	Size       string
	LengthCM   int
	WidthCM    int
	HeightCM   int
	OutOfOrder bool
	ShipmentID string // the parcel in it (or on its way in or out); "" when empty
	DoorOpen   bool   // its lock was opened and the door has not been reported closed
	// DoorForced: the door was reported open without its lock's opening
	// (forced, or a lock that failed open) and not closed since. Its
	// closing completes nothing; the operator reconciles what is inside.
	DoorForced bool
}

// ShelfSize is the Size of an outlet's shelf places, and the size class of
// an outlet's per-day reservations.
const ShelfSize = "shelf"

// OutboxMessage is a message to a person, queued in the same transaction
// as the change it tells of (a notice of arrival, a reminder), with a
// delivery job queued beside it (Tx.AddOutbox). The job sends it through
// its channel's provider and records how that went in the delivery fields
// (State and after); GET /v1/notifications lists them.
//
// A message that tells an opening code is stored without it: Text holds
// CodePlaceholder where the code goes, and Code names the code (the
// version of the parcel's code derived for its locker, locker.Codes.Derive)
// that is filled in when the message is sent. The code is in clear only in
// the message on its way out.
type OutboxMessage struct {
	ID           int64
	Channel      string // "sms", "email" or "push"
	To           string
	TrackingCode string
	Kind         string // "arrival", "reminder"
	Text         string // with CodePlaceholder where an opening code goes
	CreatedAt    time.Time
	ShipmentID   string   // the parcel the message is about; "" for none
	Code         *CodeRef // the code CodePlaceholder stands for; nil when the text tells none
	// NotBefore, when set, is the earliest its delivery job runs (a
	// message that can wait for the morning); not stored: it is the job's.
	NotBefore time.Time

	// State is where the message's delivery stands: DeliveryQueued until
	// its job sent it (DeliverySent), gave up on it (DeliveryFailed) or
	// found no provider for its channel (DeliveryLocal).
	State string
	// Attempts counts the tries to hand the message to its provider.
	Attempts int
	// LastError is why the last try failed, or why the message failed for
	// good; "" when none did.
	LastError string
	// ProviderID is the provider's id of the accepted message (the SMTP
	// Message-ID, the SMS gateway's id); "" before, or when it gives none.
	ProviderID string
	// SentAt is when the provider accepted the message (DeliverySent), or
	// when it was kept for the local outbox (DeliveryLocal); zero
	// otherwise.
	SentAt time.Time
	// Report is the latest delivery report about the message (an SMS
	// gateway's DLR); "" when none came.
	Report string
	// UpdatedAt is when the delivery fields last changed (an attempt, the
	// end of the delivery, a report); zero while nothing happened since
	// the message was queued.
	UpdatedAt time.Time
}

// The delivery states of an OutboxMessage.
const (
	// DeliveryQueued: waiting for its delivery job (or for its retry).
	DeliveryQueued = "queued"
	// DeliverySent: the channel's provider accepted it.
	DeliverySent = "sent"
	// DeliveryFailed: it will not be sent: the provider refused it for
	// good, a delivery report said it failed, or retrying gave up.
	DeliveryFailed = "failed"
	// DeliveryLocal: no provider is configured for its channel; it is kept
	// for the local outbox viewer (GET /dev/outbox), the embedded default.
	DeliveryLocal = "local"
)

// DeliveryStates lists the delivery states, in the order a message goes
// through them.
var DeliveryStates = []string{DeliveryQueued, DeliverySent, DeliveryFailed, DeliveryLocal}

// NotificationFilter selects messages to list (NotificationStore.
// Notifications); a zero field selects all.
type NotificationFilter struct {
	State   string // one of DeliveryStates
	Channel string // "sms", "email", "push"
	// ShipmentID selects the messages about one shipment.
	ShipmentID string
	Limit      int // at most this many; 100 when <= 0
}

// CodeRef names a parcel's opening code without telling it: the locker it
// opens and the version of the code derived for the parcel there.
type CodeRef struct {
	LocationID string
	Version    int
}

// CodePlaceholder marks where a queued message's opening code goes.
const CodePlaceholder = "{opening_code}"

// LetterSlot counts the cards and letters dropped through a locker's mail
// slot: in it now, and since the locker was set up.
type LetterSlot struct {
	LocationID string
	InSlot     int // waiting for the courier
	Dropped    int // ever dropped
	Emptied    int // ever taken out by couriers
}

// CredentialStore persists tokens of couriers, devices and operators. It
// keeps only their hashes, and never answers with one.
type CredentialStore interface {
	// CreateCredential stores a credential (with its ExpiresAt; the times
	// of use, revocation and rotation start empty) and the hash of its
	// token.
	CreateCredential(ctx context.Context, c Credential, tokenHash []byte) error
	// ProvisionCredential is CreateCredential that also revokes at c's
	// CreatedAt, in the same transaction, every other credential of c's
	// kind and location not yet revoked (a locker's older device tokens),
	// and returns those it revoked.
	ProvisionCredential(ctx context.Context, c Credential, tokenHash []byte) ([]Credential, error)
	// CredentialByTokenHash finds a credential by its token's hash, or
	// returns ENOTFOUND. It finds revoked and expired credentials too:
	// whether one may act is the caller's business (Credential.State).
	CredentialByTokenHash(ctx context.Context, tokenHash []byte) (Credential, error)
	// CredentialByID returns a credential, or ENOTFOUND.
	CredentialByID(ctx context.Context, id string) (Credential, error)
	// Credentials lists the credentials the filter selects, oldest first
	// (by CreatedAt, then ID).
	Credentials(ctx context.Context, f CredentialFilter) ([]Credential, error)
	// RevokeCredential revokes a credential at the time given and returns
	// it; one already revoked keeps its RevokedAt. With keepAnOperator,
	// revoking the last active operator credential (as of at) is refused
	// with ECONFLICT "last_operator" and changes nothing; concurrent
	// revocations cannot pass that check together. ENOTFOUND when there is
	// no such credential.
	RevokeCredential(ctx context.Context, id string, at time.Time, keepAnOperator bool) (Credential, error)
	// RotateCredential replaces a credential's token hash and BoardKey,
	// sets RotatedAt to at and ExpiresAt to expiresAt (zero: never), and
	// returns it; the hash replaced is kept, as rotated at at
	// (RetiredCourierTokens), and finds no credential any more. A
	// revoked credential is ECONFLICT "revoked" and keeps its old hash;
	// ENOTFOUND when there is no such credential; ECONFLICT
	// "duplicate_token" when the hash is in use. A device credential's
	// event sequence (Tx.DeviceSequence) starts again from 0 in the same
	// transaction: its controller numbers from 1 again under a new token.
	RotateCredential(ctx context.Context, id string, tokenHash []byte, boardKey string, at, expiresAt time.Time) (Credential, error)
	// SwapBoardKey sets a credential's BoardKey to now if it still is was,
	// and reports whether it did (false: changed meanwhile, e.g. rotated);
	// ENOTFOUND when there is no such credential.
	SwapBoardKey(ctx context.Context, id, was, now string) (bool, error)
	// TouchCredential records that a request authenticated with a
	// credential at the time given, unless its LastUsedAt is already
	// after notBefore (another request, perhaps on another instance, got
	// there first): LastUsedAt only moves forward. An unknown ID is not
	// an error.
	TouchCredential(ctx context.Context, id string, at, notBefore time.Time) error
	// EndSessions sets a credential's SessionsEndedAt to at, unless it is
	// later already (it only moves forward). An unknown ID is not an
	// error.
	EndSessions(ctx context.Context, id string, at time.Time) error
	// RetiredCourierTokens returns the hashes of the courier tokens that
	// stopped working at or after since: the token of a courier credential
	// revoked then, or expired then and by until, and every token a
	// rotation replaced then (RotateCredential keeps the hash it
	// replaces). Each hash once, in byte order; no other kind's. The one
	// answer with hashes: of tokens that open nothing any more, for the
	// lockers' keypads to forget (the hash of a random token tells nothing
	// of it).
	RetiredCourierTokens(ctx context.Context, since, until time.Time) ([][]byte, error)
}

// LockerStore reads what happens at the lockers; its writes happen in
// ShipmentStore.InTx, through Tx. The delivery of the outbox's messages
// is recorded outside those transactions (NotificationStore).
type LockerStore interface {
	// Outbox lists the newest queued messages first, at most limit,
	// whatever their delivery state.
	Outbox(ctx context.Context, limit int) ([]OutboxMessage, error)
	// Compartments lists a locker's compartments by number (no lock).
	Compartments(ctx context.Context, locationID string) ([]Compartment, error)
	// CompartmentCounts counts every laid-out locker's compartments by
	// size class, ordered by locker and size.
	CompartmentCounts(ctx context.Context) ([]CompartmentCount, error)
	// ExpiringParcels lists the parcels in lockers' compartments whose
	// storage deadline is before the time given, soonest first.
	ExpiringParcels(ctx context.Context, before time.Time) ([]WaitingParcel, error)
	// ParcelsToCollect lists the parcels in compartments and on shelf
	// places that wait for a courier (EXPIRED, DROPPED_OFF), by location
	// and compartment.
	ParcelsToCollect(ctx context.Context) ([]WaitingParcel, error)
	// Occupants counts the parcels in the compartments of every location,
	// or of the locations given, by location, size class, status, the
	// day they arrived, the reservation they hold and whether their
	// compartment is out of order (Occupants.OutOfOrder).
	Occupants(ctx context.Context, locationIDs ...string) ([]Occupants, error)
	// Departures counts the parcels that left lockers' compartments on
	// since or later (shelf places not counted), by location type, arrival
	// day and departure day.
	Departures(ctx context.Context, since Date) ([]Departures, error)
	// PruneDepartures forgets the departures before a day; it returns how
	// many it forgot.
	PruneDepartures(ctx context.Context, before Date) (int64, error)
	// RecordOccupancy stores a sample of the network's occupancy, a row a
	// size class, all at one time; a time sampled already is kept as it
	// was (false). Samples at different times are EINVALID.
	RecordOccupancy(ctx context.Context, samples []OccupancySample) (bool, error)
	// OccupancySamples lists the samples taken at or after since, oldest
	// first, by size within a time.
	OccupancySamples(ctx context.Context, since time.Time) ([]OccupancySample, error)
	NotificationStore
}

// NotificationStore reads the outbox's messages and records their
// delivery: each write is a statement of its own, outside any Tx, so that
// a delivery job records what its provider did at once.
type NotificationStore interface {
	// OutboxMessage returns one message, or ENOTFOUND.
	OutboxMessage(ctx context.Context, id int64) (OutboxMessage, error)
	// RecordAttempt records a failed try of a message still queued: its
	// Attempts (the job's attempt number) and LastError, UpdatedAt now. A
	// message no longer queued is left as it is (not an error); ENOTFOUND
	// when there is none.
	RecordAttempt(ctx context.Context, id int64, attempts int, lastError string) error
	// RecordDelivery ends a queued message's delivery at the time given:
	// state DeliverySent (with the provider's id; SentAt at), DeliveryFailed
	// (with lastError) or DeliveryLocal (SentAt at). Sent and failed count
	// one more attempt. A message moves out of DeliveryQueued only once: for
	// a message no longer queued it changes nothing and returns ECONFLICT
	// "not_queued", so that of two workers recording one message only one
	// does. ENOTFOUND when there is none; EINVALID for another state.
	RecordDelivery(ctx context.Context, id int64, state, providerID, lastError string, at time.Time) error
	// RecordReport stores the latest delivery report of a message (Report,
	// UpdatedAt at). With failed, a message queued or sent becomes
	// DeliveryFailed with the report as its LastError; a failed one stays
	// failed and a local one local. ENOTFOUND when there is none.
	RecordReport(ctx context.Context, id int64, report string, failed bool, at time.Time) error
	// Notifications lists the messages the filter selects, newest first
	// (by ID).
	Notifications(ctx context.Context, f NotificationFilter) ([]OutboxMessage, error)
}
