// Package device is the centre's side of the locker device protocol
// (docs/device-protocol.md): the topics and messages of version 1, the
// embedded MQTT broker with its authentication and per-locker ACL, the
// files that give Mosquitto the same rules, and the centre's client that
// applies the lockers' events exactly once through package service.
package device

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"strings"
	"time"
)

// Prefix is the root of every topic of version 1 of the protocol: a
// locker's topics are Prefix + its location ID + "/" + a Kind.
const Prefix = "lokero/v1/lockers/"

// The kinds of topic each locker has.
const (
	KindEvents   = "events"   // locker → centre: DeviceEvent, QoS 1
	KindAcks     = "acks"     // centre → locker: Ack, QoS 1
	KindCommands = "commands" // centre → locker: Command, QoS 1
	KindStatus   = "status"   // locker (or its will) → centre: Status, QoS 1, retained
)

// Topic returns the topic of one kind of a locker.
func Topic(locationID, kind string) string { return Prefix + locationID + "/" + kind }

// ParseTopic splits a topic of version 1 into the locker's location ID and
// the kind; ok is false for any other topic (wildcards included).
func ParseTopic(topic string) (locationID, kind string, ok bool) {
	rest, found := strings.CutPrefix(topic, Prefix)
	if !found {
		return "", "", false
	}
	locationID, kind, found = strings.Cut(rest, "/")
	if !found || locationID == "" || strings.ContainsAny(locationID, "+#/") {
		return "", "", false
	}
	switch kind {
	case KindEvents, KindAcks, KindCommands, KindStatus:
		return locationID, kind, true
	}
	return "", "", false
}

// LockerClientID is the MQTT client ID a locker connects with: its
// persistent session is bound to it, so no locker may take another's.
func LockerClientID(locationID string) string { return "locker-" + locationID }

// CentreClientIDPrefix starts the client ID of each lokero serve instance.
const CentreClientIDPrefix = "lokero-centre-"

// Event is one event a locker reports on its events topic.
type Event struct {
	// Seq is the locker's sequence number: 1 for the first event a
	// controller sends with its credential, then one more for each.
	Seq int64 `json:"seq"`
	// At is when it happened at the locker (its clock).
	At   time.Time `json:"at"`
	Type string    `json:"type"`
	// The fields of the types that have them.
	Compartment int    `json:"compartment,omitempty"`
	Count       int    `json:"count,omitempty"`
	Code        string `json:"code,omitempty"`
	AmountCents int64  `json:"amount_cents,omitempty"`
	TerminalRef string `json:"terminal_ref,omitempty"`
	ShipmentID  string `json:"shipment_id,omitempty"` // pickup
	// TrackingCode is the parcel a courier scanned (deposit).
	TrackingCode string `json:"tracking_code,omitempty"`
	Token        string `json:"token,omitempty"` // qr: the QR code the scanner read
	// Courier is the courier signed in at the keypad (deposit, courier):
	// CourierHash of their courier token. Never the token itself.
	Courier string `json:"courier,omitempty"`
}

// CourierHash is how a controller names the courier who signed in at its
// keypad: the SHA-256 of their courier token (the form the centre stores
// tokens in, so it looks the credential up by it), base64url without
// padding. The controller keeps this, never the token.
func CourierHash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Ack is the centre's answer to one event, on the locker's acks topic.
type Ack struct {
	Seq int64 `json:"seq"`
	// Result is "applied", "duplicate" (applied before: nothing done),
	// "rejected" (applied as a refusal: Error says why; the sequence
	// moves on) or "gap" (not applied: resend from Expect). With
	// "duplicate" and "gap", Expect is the next sequence the centre takes:
	// a duplicate's past what the controller ever numbered tells it the
	// centre applied numbers it never issued (its state file lost).
	Result string `json:"result"`
	Expect int64  `json:"expect,omitempty"`
	// What an applied event gives the locker: the compartment to open and
	// why, or a payment to take first.
	Open        int    `json:"open,omitempty"`
	Purpose     string `json:"purpose,omitempty"`
	AmountCents int64  `json:"amount_cents,omitempty"`
	Currency    string `json:"currency,omitempty"` // of AmountCents: EUR
	Status      string `json:"status,omitempty"`   // the shipment's status after a door closed
	Error       *Error `json:"error,omitempty"`
}

// Error is why the centre rejected an event.
type Error struct {
	Code    string `json:"code"`
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message"`
}

// The results of an Ack.
const (
	ResultApplied   = "applied"
	ResultDuplicate = "duplicate"
	ResultRejected  = "rejected"
	ResultGap       = "gap"
)

// The commands the centre sends on a locker's commands topic.
const (
	CommandSync         = "sync"          // everything the locker should know: replaces its pickups
	CommandExpectPickup = "expect_pickup" // one more parcel waiting
	CommandCancel       = "cancel"        // a parcel no longer to be handed out
	// CommandExpectDropOff: a parcel picked up here may come back, with
	// its return code (until the return window ends).
	CommandExpectDropOff = "expect_drop_off"
	// CommandOpen: open a compartment now, for someone the centre let in
	// (a courier's handheld deposit or collection, an operator): its
	// door's closing comes back as a door_closed event.
	CommandOpen = "open"
	// CommandOutOfOrder: a compartment is out of order (or back in
	// order): the controller uses it for no deposit taken offline.
	CommandOutOfOrder = "out_of_order"
)

// Command is one command from the centre.
type Command struct {
	Type string `json:"type"`
	// sync
	At      time.Time `json:"at,omitzero"`
	KDF     *KDF      `json:"kdf,omitempty"`
	Pickups []Pickup  `json:"pickups,omitempty"`
	// QRKey is the Ed25519 public key of the QR tokens (base64 in JSON).
	QRKey []byte `json:"qr_key,omitempty"`
	// Deliveries are the parcels on their way to the locker and
	// Compartments its compartments, for deposits taken offline.
	Deliveries   []Delivery    `json:"deliveries,omitempty"`
	Compartments []Compartment `json:"compartments,omitempty"`
	// DropOffs are the returns the locker may take offline (each also
	// sent alone: expect_drop_off), so that a controller restarted
	// before it derived one gets it again. A sync always carries the list
	// (empty: none); nil, a centre that does not send it, whose
	// controller keeps the drop-offs it was told of one by one.
	DropOffs []DropOff `json:"drop_offs,omitzero"`
	// RevokedCouriers are the couriers the controller must forget (its
	// keypad takes them no more, offline included, and signs out one
	// signed in): the CourierHash of each courier token revoked, expired
	// or replaced by a rotation within the last days (service.
	// RevokedCourierWindow, as long as a controller keeps a courier).
	// Absent: none, or a centre that does not send it; a controller then
	// forgets nobody.
	RevokedCouriers []string `json:"revoked_couriers,omitzero"`
	// expect_pickup
	Pickup *Pickup `json:"pickup,omitempty"`
	// expect_drop_off
	DropOff *DropOff `json:"drop_off,omitempty"`
	// cancel; open (the parcel it is opened for, if any)
	ShipmentID string `json:"shipment_id,omitempty"`
	// open, out_of_order: the compartment (from 1)
	Compartment int `json:"compartment,omitempty"`
	// open: why: "deposit", "collect" (a courier taking parcels away) or
	// "service" (an operator)
	Purpose string `json:"purpose,omitempty"`
	// out_of_order: true to take it out of use, false to put it back
	OutOfOrder *bool `json:"out_of_order,omitempty"`
}

// DropOff is a return the locker may take offline: the verifier of the
// return code of a parcel picked up here, its size, and until when.
type DropOff struct {
	ShipmentID string `json:"shipment_id"`
	Verifier   []byte `json:"verifier,omitempty"` // base64 in JSON
	// Sealed is, instead of Verifier, the return code sealed for a board
	// that derives its verifiers (locker.SealForBoard, purpose "return").
	Sealed   []byte    `json:"sealed,omitempty"`
	LengthCM float64   `json:"length_cm"`
	WidthCM  float64   `json:"width_cm"`
	HeightCM float64   `json:"height_cm"`
	Until    time.Time `json:"until"`
}

// KDF is how the controller derives an entered code to compare it with
// the verifiers: argon2id with these parameters, under Salt.
type KDF struct {
	Alg       string `json:"alg"`
	Salt      []byte `json:"salt"` // base64 in JSON
	Time      uint32 `json:"time"`
	MemoryKiB uint32 `json:"memory_kib"`
	Threads   uint8  `json:"threads"`
	KeyLen    uint32 `json:"key_len"`
}

// Pickup is a parcel waiting in the locker.
type Pickup struct {
	ShipmentID  string `json:"shipment_id"`
	Compartment int    `json:"compartment"`
	Verifier    []byte `json:"verifier,omitempty"` // base64 in JSON
	// Sealed is, instead of Verifier, the opening code sealed for a board
	// that derives its verifiers (locker.SealForBoard, purpose "pickup");
	// CodeTag names the code, so that a board keeps a verifier it derived
	// for the same code and salt instead of deriving it again.
	Sealed   []byte    `json:"sealed,omitempty"`
	CodeTag  string    `json:"code_tag,omitempty"`
	Deadline time.Time `json:"deadline"`
	CODCents int64     `json:"cod_cents"` // cash on delivery to pay first; 0: none
	// QRSince is when the parcel's current QR window begins (it last
	// became ready, or its code was last rotated), whole seconds: a token
	// whose window begins earlier was issued before a rotation and opens
	// nothing. Zero (absent): a centre that does not send it, whose
	// controller checks no start.
	QRSince time.Time `json:"qr_since,omitzero"`
}

// Delivery is a parcel on its way to the locker: a courier may deposit it
// while the locker is offline.
type Delivery struct {
	TrackingCode string  `json:"tracking_code"`
	LengthCM     float64 `json:"length_cm"`
	WidthCM      float64 `json:"width_cm"`
	HeightCM     float64 `json:"height_cm"`
}

// Compartment is one compartment of the locker as the centre knows it.
type Compartment struct {
	N          int    `json:"n"`
	Size       string `json:"size"`
	LengthCM   int    `json:"length_cm"`
	WidthCM    int    `json:"width_cm"`
	HeightCM   int    `json:"height_cm"`
	OutOfOrder bool   `json:"out_of_order,omitempty"`
	Occupied   bool   `json:"occupied,omitempty"`
}

// Status is a locker's retained status: published on connect and as its
// heartbeat with Online true, and as its will (set at connect, sent by
// the broker when the connection drops) with Online false.
type Status struct {
	Online bool `json:"online"`
	// Sync asks the centre for a sync command (a controller sets it when
	// it connects); the centre also sends one every SyncEvery.
	Sync         bool            `json:"sync,omitempty"`
	At           time.Time       `json:"at,omitzero"`
	Firmware     string          `json:"firmware,omitempty"`
	Compartments json.RawMessage `json:"compartments,omitempty"`
}
