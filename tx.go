package lokero

import (
	"context"
	"time"
)

// Tx is everything a use case may do inside one write transaction
// (ShipmentStore.InTx): shipments and their events, the per-day
// compartment reservations, the lockers' compartments, keypads and mail
// slots, the outbox of messages to people, and background jobs. What it
// writes commits together, or not at all.
//
// Reads inside a Tx lock what they read against concurrent writers until
// the transaction ends, so that what a use case decides on stays true
// until it commits.
type Tx interface {
	// Now is the time of the transaction: the store's clock, read once
	// when the transaction began (UTC, to the microsecond). Every time the
	// transaction writes and every rule it applies uses it.
	Now() time.Time

	// ShipmentByIdempotencyKey returns the shipment a retailer created
	// with this key and the hash of that request's body, or ENOTFOUND.
	ShipmentByIdempotencyKey(ctx context.Context, retailerID, key string) (Shipment, []byte, error)
	// InsertShipment stores a new shipment and its events, remembering the
	// idempotency key (when not "") and the request hash. A tracking code
	// or return code already in use is an ECONFLICT with Reason
	// "duplicate_tracking_code" or "duplicate_return_code"; the
	// transaction goes on.
	InsertShipment(ctx context.Context, s *Shipment, idempotencyKey string, requestHash []byte) error
	// Shipment reads a shipment with its events, locking it against
	// concurrent writers until the transaction ends; ENOTFOUND if none.
	Shipment(ctx context.Context, id string) (Shipment, error)
	// ShipmentByReturnCode reads, locked as Shipment, the shipment whose
	// ReturnCode is code; ENOTFOUND if none.
	ShipmentByReturnCode(ctx context.Context, code string) (Shipment, error)
	// ReturnOf reads, locked as Shipment, the return shipment of a
	// delivery (the one whose ReturnOf is deliveryID); ENOTFOUND if none.
	// A second return of one delivery is an ECONFLICT with Reason
	// "duplicate_return" at InsertShipment.
	ReturnOf(ctx context.Context, deliveryID string) (Shipment, error)
	// UpdateShipment writes the shipment's mutable fields (status,
	// destination, routing, delivery date, size class, COD, return codes,
	// compartment, storage deadline, opening code hash, updated_at) and
	// appends the events in s.Events beyond those stored.
	UpdateShipment(ctx context.Context, s *Shipment) error

	// Reserve takes one compartment of size class size at a location for a
	// delivery date, if fewer than capacity are taken; it reports whether
	// it did.
	Reserve(ctx context.Context, locationID string, date Date, size string, capacity int) (bool, error)
	// Release gives back one reservation taken by Reserve.
	Release(ctx context.Context, locationID string, date Date, size string) error
	// Reserved returns how many compartments of each size class are
	// reserved at a location for a date.
	Reserved(ctx context.Context, locationID string, date Date) (map[string]int, error)
	// RetailerReservations returns how many of a retailer's shipments hold
	// a compartment reservation (a size class) at a location for a
	// delivery date, by size class (counts above 0). Read after Reserve
	// took the counter's row lock, it sees every booking of that class
	// committed before.
	RetailerReservations(ctx context.Context, retailerID, locationID string, date Date) (map[string]int, error)

	// Occupants counts the parcels in a location's compartments by size
	// class, status, arrival day and whether their compartment is out of
	// order (as LockerStore.Occupants, read in the transaction).
	Occupants(ctx context.Context, locationID string) ([]Occupants, error)

	// LockerLoad reads at once what a booking at a locker weighs: how many
	// of its compartments are out of order, by size class (counts above 0;
	// none when it is not laid out yet), the parcels in its compartments
	// (as Occupants: one in a compartment out of order is marked so, its
	// compartment counted among those out of order too) and its
	// reservations of each delivery date from from to through, both
	// included (as Reserved): one round trip instead of three or more,
	// which on PostgreSQL is most of a read's cost.
	LockerLoad(ctx context.Context, locationID string, from, through Date) (LockerLoad, error)

	// Compartments returns a locker's compartments ordered by number,
	// locked against concurrent writers until the transaction ends (so two
	// deposits never get one compartment); none when not yet laid out.
	Compartments(ctx context.Context, locationID string) ([]Compartment, error)
	// PutCompartment inserts or updates one compartment (by location and
	// number).
	PutCompartment(ctx context.Context, c Compartment) error
	// DeleteCompartmentsAbove deletes a locker's compartments numbered
	// above number (all of them for 0) and reports how many it deleted:
	// those a new layout no longer has. The caller deletes only rows it
	// read locked (Compartments) and knows empty: a parcel's compartment
	// would be lost with its row.
	DeleteCompartmentsAbove(ctx context.Context, locationID string, number int) (int, error)
	// ShipmentByOpeningCode returns the shipment at a locker whose opening
	// code hashes to hash, locked as Shipment, or ENOTFOUND.
	ShipmentByOpeningCode(ctx context.Context, locationID string, hash []byte) (Shipment, error)
	// Keypad returns the stored state of a locker's keypad (its lockout
	// and its payment session; nil when none yet), locked until the
	// transaction ends.
	Keypad(ctx context.Context, locationID string) ([]byte, error)
	// SaveKeypad stores the keypad's state.
	SaveKeypad(ctx context.Context, locationID string, state []byte) error
	// LetterSlot returns a locker's mail slot counts (zero counts when
	// none yet), locked until the transaction ends.
	LetterSlot(ctx context.Context, locationID string) (LetterSlot, error)
	// SaveLetterSlot stores a locker's mail slot counts.
	SaveLetterSlot(ctx context.Context, s LetterSlot) error

	// AddOutbox queues a message to a person (a zero CreatedAt is Now) in
	// DeliveryQueued, and schedules its delivery (a Job of kind JobDeliver,
	// through ScheduleJob) in the same transaction: the message and its job
	// commit together, or neither does. Its delivery fields beyond State
	// are ignored.
	AddOutbox(ctx context.Context, m OutboxMessage) error
	// PushSubscriptions returns a shipment's push subscriptions, oldest
	// first (none when it has none).
	PushSubscriptions(ctx context.Context, shipmentID string) ([]PushSubscription, error)
	// WebhookSubscriptions returns the ID and the event types of each of
	// a retailer's enabled webhooks, oldest first.
	WebhookSubscriptions(ctx context.Context, retailerID string) ([]WebhookSubscription, error)
	// AddWebhookDelivery stores a delivery in WebhookPending (its ID and
	// the rest given; a zero CreatedAt is Now, NextAttemptAt is CreatedAt)
	// and schedules its job (JobWebhook with DeliveryID) in the same
	// transaction.
	AddWebhookDelivery(ctx context.Context, d WebhookDelivery) error
	// ScheduleJob queues a background job, to run at or after j.At, in
	// this transaction: it runs only if the transaction commits.
	ScheduleJob(ctx context.Context, j Job) error
	// DeviceSequence returns the sequence number of the last event applied
	// from a device credential (0 when none yet), locked until the
	// transaction ends: of two deliveries of one event, only one applies
	// it (a lock of its own covers the first time, when there is no row).
	DeviceSequence(ctx context.Context, credentialID string) (int64, error)
	// SetDeviceSequence records seq as the last event applied from a
	// device credential of the locker locationID (updated_at: Now).
	SetDeviceSequence(ctx context.Context, credentialID, locationID string, seq int64) error
	// AdvanceDeviceSequence is DeviceSequence and SetDeviceSequence at
	// once for the usual case, an event that directly follows the last
	// one recorded: it records seq only if the stored sequence is seq-1,
	// locking it as DeviceSequence does, and reports whether it did.
	// false (a first event, a duplicate, a gap) writes and locks nothing:
	// the caller asks DeviceSequence.
	AdvanceDeviceSequence(ctx context.Context, credentialID, locationID string, seq int64) (bool, error)
}

// Job is a background job about one shipment, such as the reminder or the
// expiry of its storage period, or about one message of the outbox (its
// delivery, JobDeliver).
type Job struct {
	Kind       string
	ShipmentID string // the shipment of a shipment's job; "" for a message's
	MessageID  int64  // the OutboxMessage of a JobDeliver; 0 for the others
	DeliveryID string // the WebhookDelivery of a JobWebhook; "" for the others
	At         time.Time
}

// JobDeliver is the kind of the job that delivers one OutboxMessage
// (Job.MessageID), scheduled by Tx.AddOutbox.
const JobDeliver = "deliver"

// MaxDeliveryAttempts is how many times a delivery job runs at most: a
// message still failing on the last is given up as DeliveryFailed.
const MaxDeliveryAttempts = 25
