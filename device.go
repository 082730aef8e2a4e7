package lokero

import (
	"context"
	"time"
)

// LockerLink is what the centre knows of a locker controller's link to it
// over the device protocol (docs/device-protocol.md): whether it is
// connected, as its retained status (or its broker's will) last said, and
// its last heartbeat.
type LockerLink struct {
	LocationID string
	Online     bool      // connected, as the last status said
	ChangedAt  time.Time // when the last status was reported; zero: never
	// HeartbeatAt is the time of the last heartbeat (a status with
	// Online); zero: none yet.
	HeartbeatAt time.Time
	Firmware    string // as the last heartbeat reported it
	// Compartments are the last heartbeat's compartment states, the JSON
	// the locker sent (nil: none reported).
	Compartments []byte
}

// DeviceStore keeps the lockers' links. Each write is a statement of its
// own, outside any Tx: a status or heartbeat is state, not an event, and a
// late one never overwrites a newer one.
type DeviceStore interface {
	// RecordLockerStatus records that a locker went online or offline at
	// the time given (Online, ChangedAt), unless a status at a later time
	// is stored already. With online, the status is also a heartbeat:
	// HeartbeatAt at, Firmware firmware (kept when ""), Compartments
	// compartments (kept when nil), unless a later heartbeat is stored.
	RecordLockerStatus(ctx context.Context, locationID string, online bool, at time.Time, firmware string, compartments []byte) error
	// LockerLink returns one locker's link, or ENOTFOUND when it never
	// reported.
	LockerLink(ctx context.Context, locationID string) (LockerLink, error)
	// LockerLinks lists the links of every locker that reported, by
	// location ID.
	LockerLinks(ctx context.Context) ([]LockerLink, error)
	// Verifiers returns the stored verifiers of the shipments given (those
	// that have one), by shipment ID.
	Verifiers(ctx context.Context, shipmentIDs []string) (map[string]Verifier, error)
	// PutVerifier stores a shipment's verifier (a zero CreatedAt is the
	// time of the call), replacing the one it had. Its SaltSHA256 is empty
	// or a SHA-256 (EINVALID otherwise): no store keeps a salt.
	PutVerifier(ctx context.Context, v Verifier) error
	// PruneVerifiers forgets the verifiers made before a time and returns
	// how many. One still wanted after that is made again when asked for.
	PruneVerifiers(ctx context.Context, before time.Time) (int64, error)
}

// Verifier is what a locker's controller checks a parcel's opening code
// against while offline: a slow, salted hash of the code (argon2id), so
// that a stolen controller does not give codes away cheaply. The centre
// makes it once per code and keeps it, as deriving it costs what it is
// meant to cost.
type Verifier struct {
	ShipmentID string
	LocationID string
	// CodeHash is the shipment's OpeningCodeHash the verifier was made
	// for: a rotated code has another, and needs a new verifier.
	CodeHash []byte
	// SaltSHA256 is the SHA-256 of the locker's salt the verifier was
	// made with (a new salt needs new verifiers): enough to tell whether
	// the salt is still the same, and never the salt itself, which is
	// derived from the code secret (locker.Codes.Salt) so that a copy of
	// the database alone cannot test guessed codes against Hash.
	SaltSHA256 []byte
	Hash       []byte // the verifier itself
	CreatedAt  time.Time
}
