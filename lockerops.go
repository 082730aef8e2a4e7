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
)

// Credential is a courier's, a locker device's or an operator's identity;
// its token is stored only as a hash.
type Credential struct {
	ID         string
	Kind       CredentialKind
	Name       string
	LocationID string // the device's locker; "" for couriers and operators
	CreatedAt  time.Time
}

// Compartment is one physical compartment of a locker and what is in it.
type Compartment struct {
	LocationID string
	Number     int // 1..N, as painted on the door
	Size       string
	LengthCM   int
	WidthCM    int
	HeightCM   int
	OutOfOrder bool
	ShipmentID string // the parcel in it (or on its way in or out); "" when empty
	DoorOpen   bool   // its lock was opened and the door has not been reported closed
}

// OutboxMessage is a message to a person, queued in the same transaction
// as the change it tells of (a notice of arrival, a reminder). The
// notifications issue delivers them; until then GET /dev/outbox shows them.
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

// CredentialStore persists tokens of couriers, devices and operators.
type CredentialStore interface {
	// CreateCredential stores a credential with the hash of its token.
	CreateCredential(ctx context.Context, c Credential, tokenHash []byte) error
	// CredentialByTokenHash finds a credential by its token's hash, or
	// returns ENOTFOUND.
	CredentialByTokenHash(ctx context.Context, tokenHash []byte) (Credential, error)
}

// LockerStore reads what happens at the lockers; its writes happen in
// ShipmentStore.InTx, through Tx.
type LockerStore interface {
	// Outbox lists the newest queued messages first, at most limit.
	Outbox(ctx context.Context, limit int) ([]OutboxMessage, error)
	// Compartments lists a locker's compartments by number (no lock).
	Compartments(ctx context.Context, locationID string) ([]Compartment, error)
}
