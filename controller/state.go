package controller

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/lokero/lokero/device"
	"github.com/lokero/lokero/locker"
	bolt "go.etcd.io/bbolt"
)

// The buckets of the state file.
var (
	bucketMeta    = []byte("meta")    // keySeq, keyKeypad, keyKDF, keySyncAt
	bucketOutbox  = []byte("outbox")  // big-endian seq → Event JSON, until answered
	bucketPickups = []byte("pickups") // shipment ID → Pickup JSON
	bucketPicked  = []byte("picked")  // shipment ID → pickedMark JSON
	// bucketDeposited: tracking code → compartment (decimal) of a parcel
	// a courier deposited while the locker was offline, until a sync no
	// longer lists it as on its way; returnMark + shipment ID →
	// compartment of a return taken offline, until a sync after its
	// drop_off event was answered.
	bucketDeposited = []byte("deposited")
	// bucketDropOffs: shipment ID → device.DropOff JSON, the returns the
	// locker may take offline.
	bucketDropOffs = []byte("drop_offs")
	// bucketCouriers: device.CourierHash of a courier token → when the
	// centre last accepted it here (RFC 3339): the couriers the keypad
	// takes while offline, for courierKeep. Never a token.
	bucketCouriers = []byte("couriers")
)

// The keys of bucketMeta.
var (
	keySeq    = []byte("seq")     // the last sequence number taken, 8 bytes big-endian
	keyKeypad = []byte("keypad")  // locker.Keypad JSON
	keyKDF    = []byte("kdf")     // KDF JSON
	keySyncAt = []byte("sync_at") // the "at" of the last sync applied, RFC 3339
	keyQRKey  = []byte("qr_key")  // the centre's Ed25519 public key of the QR tokens
	// keyToken is a fingerprint of the device token the sequence belongs
	// to (SHA-256, 8 bytes): the centre numbers events per credential.
	keyToken = []byte("token")
	// keySession is the fingerprint of the device token under which the
	// controller last connected: the persistent session at the broker is
	// that token's. Under another one (or none yet) the next connection
	// starts a clean session first (Run).
	keySession = []byte("session")
	// keyDeliveries and keyCompartments: the last sync's parcels on their
	// way here and compartments (JSON), for deposits taken offline.
	keyDeliveries   = []byte("deliveries")
	keyCompartments = []byte("compartments")
)

// pickedKeep is how long the controller remembers a parcel it handed out:
// a stale sync that still lists it within that time never opens it again.
const pickedKeep = 30 * 24 * time.Hour

// courierKeep is how long after the centre last accepted a courier at
// this locker the keypad still takes them offline.
const courierKeep = 30 * 24 * time.Hour

// Event is one event the controller sends (device.Event).
type Event = device.Event

// returnMark starts bucketDeposited's key of a return taken offline.
const returnMark = "return:"

// The event types the controller sends.
const (
	TypeDoorClosed    = "door_closed"
	TypeDoorOpened    = "door_opened" // a door opened without the controller: forced
	TypeKeypad        = "keypad"
	TypeLetterDropped = "letter_dropped"
	TypePickup        = "pickup"
	TypeDeposit       = "deposit"
	TypeQR            = "qr"
	TypeDropOff       = "drop_off"
	TypeCourier       = "courier" // a courier's sign-in at the keypad, checked by the centre
)

// KDF is the key derivation of the verifiers a sync gives (device.KDF):
// argon2id with these parameters turns a code into its verifier.
type KDF = device.KDF

// Limits on a KDF from the centre, so that a bad command cannot make one
// keypad entry take minutes or the controller's memory.
const (
	maxKDFTime   = 16
	maxKDFMemory = 256 * 1024 // KiB
	maxKDFKeyLen = 64
	minKDFKeyLen = 16
)

// validateKDF checks that the controller can use k.
func validateKDF(k KDF) error {
	switch {
	case k.Alg != "argon2id":
		return fmt.Errorf("kdf: algorithm %q is not argon2id", k.Alg)
	case len(k.Salt) < 8:
		return fmt.Errorf("kdf: salt of %d bytes, want at least 8", len(k.Salt))
	case k.Time < 1 || k.Time > maxKDFTime:
		return fmt.Errorf("kdf: time %d out of 1..%d", k.Time, maxKDFTime)
	case k.MemoryKiB < 8*uint32(max(k.Threads, 1)) || k.MemoryKiB > maxKDFMemory:
		return fmt.Errorf("kdf: memory %d KiB out of range (..%d)", k.MemoryKiB, maxKDFMemory)
	case k.Threads < 1:
		return errors.New("kdf: threads must be at least 1")
	case k.KeyLen < minKDFKeyLen || k.KeyLen > maxKDFKeyLen:
		return fmt.Errorf("kdf: key length %d out of %d..%d", k.KeyLen, minKDFKeyLen, maxKDFKeyLen)
	}
	return nil
}

// Pickup is a parcel waiting in a compartment as the centre told it
// (device.Pickup): the verifier of its code, its deadline and its cash on
// delivery.
type Pickup = device.Pickup

// validatePickup checks a pickup from the centre.
func validatePickup(p Pickup) error {
	switch {
	case p.ShipmentID == "":
		return errors.New("pickup without shipment_id")
	case p.Compartment < 1:
		return fmt.Errorf("pickup %s: compartment %d", p.ShipmentID, p.Compartment)
	case len(p.Verifier) == 0 && p.CodeTag == "":
		return fmt.Errorf("pickup %s: no verifier", p.ShipmentID)
	case len(p.Sealed) > 0: // a code, sealed or not, is never kept
		return fmt.Errorf("pickup %s: a sealed code not derived", p.ShipmentID)
	case p.CODCents < 0:
		return fmt.Errorf("pickup %s: negative cod_cents", p.ShipmentID)
	}
	return nil
}

// pickedMark is a parcel the controller handed out itself.
type pickedMark struct {
	At  time.Time `json:"at"`
	Seq int64     `json:"seq"` // its pickup event
}

// seqKey is the outbox key of a sequence number: big-endian, so that the
// bucket's order is the sequence's.
func seqKey(seq int64) []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(seq))
	return b[:]
}

// initBuckets creates the buckets of a new state file.
func initBuckets(tx *bolt.Tx) error {
	for _, b := range [][]byte{bucketMeta, bucketOutbox, bucketPickups, bucketPicked, bucketDeposited, bucketDropOffs, bucketCouriers} {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return fmt.Errorf("create bucket %s: %w", b, err)
		}
	}
	return nil
}

// lastSeq reads the last sequence number taken.
func lastSeq(tx *bolt.Tx) int64 {
	v := tx.Bucket(bucketMeta).Get(keySeq)
	if len(v) != 8 {
		return 0
	}
	return int64(binary.BigEndian.Uint64(v))
}

// queue takes the next sequence number for e and keeps e in the outbox,
// in tx: the number and the event are stored together or not at all.
func queue(tx *bolt.Tx, e *Event) error {
	seq := lastSeq(tx) + 1
	e.Seq = seq
	data, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode event %d: %w", seq, err)
	}
	if err := tx.Bucket(bucketMeta).Put(keySeq, seqKey(seq)); err != nil {
		return fmt.Errorf("store sequence %d: %w", seq, err)
	}
	if err := tx.Bucket(bucketOutbox).Put(seqKey(seq), data); err != nil {
		return fmt.Errorf("queue event %d: %w", seq, err)
	}
	return nil
}

// putJSON stores v as JSON under key in bucket b.
func putJSON(tx *bolt.Tx, b, key []byte, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s/%s: %w", b, key, err)
	}
	if err := tx.Bucket(b).Put(key, data); err != nil {
		return fmt.Errorf("store %s/%s: %w", b, key, err)
	}
	return nil
}

// getJSON reads key of bucket b into v; found is false when absent.
func getJSON(tx *bolt.Tx, b, key []byte, v any) (found bool, err error) {
	data := tx.Bucket(b).Get(key)
	if data == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return true, fmt.Errorf("decode %s/%s: %w", b, key, err)
	}
	return true, nil
}

// loadKeypad reads the keypad's lockout state.
func loadKeypad(tx *bolt.Tx) (locker.Keypad, error) {
	var k locker.Keypad
	_, err := getJSON(tx, bucketMeta, keyKeypad, &k)
	return k, err
}

// tokenPrint is a device token's fingerprint as the state file keeps it
// (keyToken, keySession): 8 bytes of its SHA-256.
func tokenPrint(token string) []byte {
	sum := sha256.Sum256([]byte(token))
	return sum[:8]
}

// verifierKey is the map key of a verifier.
func verifierKey(v []byte) string { return base64.RawStdEncoding.EncodeToString(v) }

// newCredential starts the sequence again when the controller runs with
// another device token than the one its events were numbered under (the
// locker was provisioned anew, keeping its state file): the centre counts
// a new credential's events from 1, so the events still waiting for an
// answer are numbered 1, 2, … in their order. (An event of the old token
// that the centre applied but whose answer was lost is then applied once
// more: provision a controller anew when its queue is empty.)
func (c *Controller) newCredential(tx *bolt.Tx) error {
	fp := tokenPrint(c.cfg.Token)
	meta := tx.Bucket(bucketMeta)
	c.cleanStart = !bytes.Equal(meta.Get(keySession), fp)
	old := meta.Get(keyToken)
	if old != nil && bytes.Equal(old, fp) {
		return nil
	}
	if old != nil { // another token: renumber
		n, _, err := renumber(tx, 1)
		if err != nil {
			return err
		}
		c.log.Info("controller: a new device token: the sequence starts again", "pending", n)
	}
	return meta.Put(keyToken, fp)
}

// renumber numbers the events still in the outbox from, from+1, … in
// their order and makes the last of them (from-1 when none) the last
// sequence number taken, in tx. It returns how many there are, and each
// renumbered event's old number → new number.
func renumber(tx *bolt.Tx, from int64) (int, map[int64]int64, error) {
	var pending [][]byte
	if err := tx.Bucket(bucketOutbox).ForEach(func(_, v []byte) error {
		pending = append(pending, append([]byte(nil), v...))
		return nil
	}); err != nil {
		return 0, nil, fmt.Errorf("renumber: %w", err)
	}
	if err := tx.DeleteBucket(bucketOutbox); err != nil {
		return 0, nil, fmt.Errorf("renumber: %w", err)
	}
	out, err := tx.CreateBucket(bucketOutbox)
	if err != nil {
		return 0, nil, fmt.Errorf("renumber: %w", err)
	}
	moved := make(map[int64]int64, len(pending))
	for i, v := range pending {
		var e Event
		if err := json.Unmarshal(v, &e); err != nil {
			return 0, nil, fmt.Errorf("renumber: decode a queued event: %w", err)
		}
		old := e.Seq
		e.Seq = from + int64(i)
		moved[old] = e.Seq
		data, err := json.Marshal(e)
		if err != nil {
			return 0, nil, fmt.Errorf("renumber: encode event %d: %w", e.Seq, err)
		}
		if err := out.Put(seqKey(e.Seq), data); err != nil {
			return 0, nil, fmt.Errorf("renumber: queue event %d: %w", e.Seq, err)
		}
	}
	last := from + int64(len(pending)) - 1
	if err := tx.Bucket(bucketMeta).Put(keySeq, seqKey(last)); err != nil {
		return 0, nil, fmt.Errorf("renumber: store sequence %d: %w", last, err)
	}
	return len(pending), moved, nil
}
