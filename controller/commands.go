package controller

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lokero/lokero/device"
	"github.com/lokero/lokero/locker"
	bolt "go.etcd.io/bbolt"
)

// The commands the controller takes on its commands topic (device.Command).
const (
	CommandSync          = device.CommandSync
	CommandExpectPickup  = device.CommandExpectPickup
	CommandCancel        = device.CommandCancel
	CommandExpectDropOff = device.CommandExpectDropOff
	CommandOpen          = device.CommandOpen
	CommandOutOfOrder    = device.CommandOutOfOrder
)

// Command is a command from the centre.
type Command = device.Command

// handleCommand applies one command from the centre.
func (c *Controller) handleCommand(payload []byte) error {
	var cmd Command
	if err := json.Unmarshal(payload, &cmd); err != nil {
		return fmt.Errorf("decode command: %w", err)
	}
	switch cmd.Type {
	case CommandSync:
		c.heardSync()
		return c.applySync(cmd)
	case CommandExpectPickup:
		if cmd.Pickup == nil {
			return fmt.Errorf("expect_pickup without pickup")
		}
		p, d, err := c.opened(*cmd.Pickup, nil)
		if err != nil {
			return fmt.Errorf("expect_pickup: %w", err)
		}
		if err := c.expectPickup(p); err != nil {
			return err
		}
		c.toDeriveLater([]*derivation{d})
		return nil
	case CommandCancel:
		return c.cancel(cmd.ShipmentID)
	case CommandExpectDropOff:
		if cmd.DropOff == nil {
			return fmt.Errorf("expect_drop_off without drop_off")
		}
		d, later, err := c.openedDropOff(*cmd.DropOff, nil) // checks what the drop-off must have
		if err != nil {
			return fmt.Errorf("expect_drop_off: %w", err)
		}
		if err := c.expectDropOff(d); err != nil {
			return err
		}
		c.toDeriveLater([]*derivation{later})
		return nil
	case CommandOpen:
		return c.openFor(cmd)
	case CommandOutOfOrder:
		if cmd.Compartment < 1 || cmd.OutOfOrder == nil {
			return fmt.Errorf("out_of_order without compartment or out_of_order")
		}
		return c.setOutOfOrder(cmd.Compartment, *cmd.OutOfOrder)
	}
	return fmt.Errorf("unknown command %q", cmd.Type)
}

// noKDF is the answer to a sealed code that comes before any sync.
func noKDF(shipmentID string) error {
	return fmt.Errorf("%s: a sealed code before any sync: no kdf to derive it with", shipmentID)
}

// deriveSealed opens a code the centre sealed for this board
// (locker.SealForBoard, under the key of its token) and returns its
// verifier under kdf: the board derives its verifiers itself, and the code
// is forgotten once derived.
func (c *Controller) deriveSealed(kdf KDF, shipmentID, purpose string, sealed []byte) ([]byte, error) {
	code, err := locker.OpenOnBoard(c.boardKey, c.cfg.LocationID, shipmentID, purpose, sealed)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", shipmentID, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), deriveTimeout)
	defer cancel()
	v, err := c.cfg.Derivations.Verifier(ctx, locker.KDF{Alg: kdf.Alg, Time: kdf.Time, MemoryKiB: kdf.MemoryKiB,
		Threads: kdf.Threads, KeyLen: kdf.KeyLen}, code, kdf.Salt)
	if err != nil {
		return nil, fmt.Errorf("%s: derive the verifier: %w", shipmentID, err)
	}
	return v, nil
}

// deriveTimeout bounds the wait for a derivation's turn (Derivations).
const deriveTimeout = time.Minute

// derivation is a sealed code to derive the verifier of: for the pickup
// kept with its tag and no verifier yet (purpose locker.BoardPickup), or
// for the drop-off kept with its until and no verifier yet
// (locker.BoardReturn).
type derivation struct {
	shipmentID, purpose, tag string
	until                    time.Time
	kdf                      KDF
	sealed                   []byte
}

// opened returns p as the controller keeps it, without its sealed code:
// with the verifier of a pickup it already holds for the same code (its
// CodeTag) under the same KDF (kdf, a sync's; nil: the last sync's), else
// with no verifier yet and, second, the derivation that gives it one
// (deriveLoop, once p is kept). A pickup with a verifier is returned as it
// is.
func (c *Controller) opened(p Pickup, kdf *KDF) (Pickup, *derivation, error) {
	if len(p.Sealed) == 0 {
		return p, nil, nil
	}
	var (
		held Pickup
		ok   bool
	)
	kdf, same := c.kdfFor(kdf, func() { held, ok = c.pickups[p.ShipmentID] })
	switch {
	case kdf == nil:
		return Pickup{}, nil, noKDF(p.ShipmentID)
	case p.CodeTag == "":
		return Pickup{}, nil, fmt.Errorf("%s: a sealed code without its tag", p.ShipmentID)
	case ok && same && held.CodeTag == p.CodeTag && len(held.Verifier) > 0:
		p.Verifier, p.Sealed = held.Verifier, nil
		return p, nil, nil
	}
	d := &derivation{shipmentID: p.ShipmentID, purpose: locker.BoardPickup, tag: p.CodeTag, kdf: *kdf, sealed: p.Sealed}
	p.Verifier, p.Sealed = nil, nil
	return p, d, nil
}

// openedDropOff is opened for a drop-off: d as the controller keeps it,
// without its sealed code, with the verifier it already holds for that
// return under the same KDF (a parcel's return code never changes), else
// with none yet and the derivation that gives it one.
func (c *Controller) openedDropOff(d device.DropOff, kdf *KDF) (device.DropOff, *derivation, error) {
	if d.ShipmentID == "" || len(d.Verifier) == 0 && len(d.Sealed) == 0 || d.Until.IsZero() {
		return device.DropOff{}, nil, fmt.Errorf("drop-off %q: want shipment_id, verifier or sealed, and until", d.ShipmentID)
	}
	if len(d.Sealed) == 0 {
		return d, nil, nil
	}
	var (
		held device.DropOff
		ok   bool
	)
	kdf, same := c.kdfFor(kdf, func() { held, ok = c.dropOffs[d.ShipmentID] })
	switch {
	case kdf == nil:
		return device.DropOff{}, nil, noKDF(d.ShipmentID)
	case ok && same && len(held.Verifier) > 0:
		d.Verifier, d.Sealed = held.Verifier, nil
		return d, nil, nil
	}
	later := &derivation{shipmentID: d.ShipmentID, purpose: locker.BoardReturn, until: d.Until, kdf: *kdf, sealed: d.Sealed}
	d.Verifier, d.Sealed = nil, nil
	return d, later, nil
}

// kdfFor returns the KDF a sealed code is derived under — kdf (a sync's)
// or, nil, the last sync's — and whether a verifier the controller derived
// under the last sync's holds under it too; look reads what the caller
// holds, under c.mu with the last sync's KDF.
func (c *Controller) kdfFor(kdf *KDF, look func()) (*KDF, bool) {
	c.mu.Lock()
	look()
	current := c.kdf
	c.mu.Unlock()
	if kdf == nil {
		kdf = current
	}
	return kdf, kdf != nil && current != nil && sameKDF(*current, *kdf)
}

// toDeriveLater hands derivations to deriveLoop, once the pickups they are
// for are kept.
func (c *Controller) toDeriveLater(ds []*derivation) {
	for _, d := range ds {
		if d == nil {
			continue
		}
		c.counts.deriving.Add(1)
		select {
		case c.toDerive <- *d:
		case <-c.stopDeriving:
			c.counts.deriving.Add(-1)
			return
		}
	}
}

// deriveLoop derives the verifiers of the pickups and drop-offs kept
// without one, one at a time, until Close, and gives each to what it is
// for if that still waits for it: the same parcel, its code's tag (a
// drop-off's until) and the KDF it was derived under. A code that does not
// open is left underived (and counted a refused command): the centre
// checks it online.
func (c *Controller) deriveLoop() {
	for {
		var d derivation
		select {
		case d = <-c.toDerive:
		case <-c.stopDeriving:
			return
		}
		v, err := c.deriveSealed(d.kdf, d.shipmentID, d.purpose, d.sealed)
		if err != nil {
			c.counts.deriving.Add(-1)
			c.log.Error("controller: a sealed code", "err", err)
			c.counts.commandsRefused.Add(1)
			continue
		}
		c.mu.Lock()
		if err := c.giveVerifier(d, v); err != nil {
			c.log.Error("controller: keep a derived verifier", "shipment", d.shipmentID, "err", err)
		}
		c.mu.Unlock()
		c.counts.deriving.Add(-1)
	}
}

// giveVerifier gives v, derived for d, to the pickup or drop-off that
// still waits for it, and keeps it; nothing if superseded meanwhile. c.mu
// held.
func (c *Controller) giveVerifier(d derivation, v []byte) error {
	if c.closed || c.kdf == nil || !sameKDF(*c.kdf, d.kdf) {
		return nil
	}
	if d.purpose == locker.BoardReturn {
		dd, ok := c.dropOffs[d.shipmentID]
		if !ok || len(dd.Verifier) > 0 || !dd.Until.Equal(d.until) {
			return nil
		}
		dd.Verifier = v
		if err := c.db.Update(func(tx *bolt.Tx) error { return putJSON(tx, bucketDropOffs, []byte(dd.ShipmentID), dd) }); err != nil {
			return err
		}
		c.dropOffs[dd.ShipmentID] = dd
		return nil
	}
	p, ok := c.pickups[d.shipmentID]
	if !ok || p.CodeTag != d.tag || len(p.Verifier) > 0 {
		return nil
	}
	p.Verifier = v
	if err := c.db.Update(func(tx *bolt.Tx) error { return putJSON(tx, bucketPickups, []byte(p.ShipmentID), p) }); err != nil {
		return err
	}
	c.addPickup(p)
	return nil
}

// sameKDF reports whether a and b derive alike (parameters and salt).
func sameKDF(a, b KDF) bool {
	return a.Alg == b.Alg && a.Time == b.Time && a.MemoryKiB == b.MemoryKiB && a.Threads == b.Threads &&
		a.KeyLen == b.KeyLen && bytes.Equal(a.Salt, b.Salt)
}

// applySync replaces the KDF, the pickups and (when the sync carries them)
// the drop-offs, and forgets the couriers it names as revoked (signing
// out one signed in). A sync older than the last
// one applied changes nothing; a parcel the controller handed out stays
// handed out whatever the sync says.
func (c *Controller) applySync(cmd Command) error {
	if cmd.KDF == nil {
		return fmt.Errorf("sync without kdf")
	}
	if err := validateKDF(*cmd.KDF); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	var (
		pickups []Pickup
		derive  []*derivation // once the pickups are kept
	)
	for _, p := range cmd.Pickups {
		p, d, err := c.opened(p, cmd.KDF)
		if err == nil {
			err = validatePickup(p)
		}
		if err != nil {
			c.log.Warn("controller: sync: pickup skipped", "err", err)
			continue
		}
		pickups = append(pickups, p)
		derive = append(derive, d)
	}
	var dropOffs []device.DropOff // nil: a centre that sends none in a sync; those told one by one stay
	if cmd.DropOffs != nil {
		dropOffs = []device.DropOff{}
		for _, d := range cmd.DropOffs {
			d, later, err := c.openedDropOff(d, cmd.KDF)
			if err != nil {
				c.log.Warn("controller: sync: drop-off skipped", "err", err)
				continue
			}
			dropOffs = append(dropOffs, d)
			derive = append(derive, later)
		}
	}
	defer func() { c.toDeriveLater(derive) }() // after c.mu is released
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("sync: controller closed")
	}
	if !cmd.At.IsZero() && cmd.At.Before(c.syncAt) {
		c.log.Warn("controller: stale sync ignored", "at", cmd.At, "last", c.syncAt)
		return nil
	}
	now := c.cfg.Clock.Now()
	var gone []string // marks in c.deposited the sync settles
	err := c.db.Update(func(tx *bolt.Tx) error {
		gone = gone[:0]
		if err := tx.DeleteBucket(bucketPickups); err != nil {
			return fmt.Errorf("clear pickups: %w", err)
		}
		if _, err := tx.CreateBucket(bucketPickups); err != nil {
			return fmt.Errorf("create pickups: %w", err)
		}
		for _, p := range pickups {
			if err := putJSON(tx, bucketPickups, []byte(p.ShipmentID), p); err != nil {
				return err
			}
		}
		if err := putJSON(tx, bucketMeta, keyKDF, cmd.KDF); err != nil {
			return err
		}
		if len(cmd.QRKey) == ed25519.PublicKeySize {
			if err := tx.Bucket(bucketMeta).Put(keyQRKey, cmd.QRKey); err != nil {
				return fmt.Errorf("store qr_key: %w", err)
			}
		}
		if err := putJSON(tx, bucketMeta, keyDeliveries, cmd.Deliveries); err != nil {
			return err
		}
		if err := putJSON(tx, bucketMeta, keyCompartments, cmd.Compartments); err != nil {
			return err
		}
		// A parcel deposited offline that the centre no longer lists as on
		// its way here is in its compartment at the centre too; so is a
		// return taken offline once its drop_off event is answered (a sync
		// read before the centre applied it does not know it yet).
		returning, err := pendingDropOffs(tx)
		if err != nil {
			return err
		}
		if dropOffs != nil {
			// A return this controller took offline is not taken again,
			// whatever a sync read before the centre applied it says.
			dropOffs = slices.DeleteFunc(dropOffs, func(d device.DropOff) bool {
				_, taken := c.deposited[returnMark+d.ShipmentID]
				return taken || returning[d.ShipmentID]
			})
			if err := tx.DeleteBucket(bucketDropOffs); err != nil {
				return fmt.Errorf("clear drop-offs: %w", err)
			}
			if _, err := tx.CreateBucket(bucketDropOffs); err != nil {
				return fmt.Errorf("create drop-offs: %w", err)
			}
			for _, d := range dropOffs {
				if err := putJSON(tx, bucketDropOffs, []byte(d.ShipmentID), d); err != nil {
					return err
				}
			}
		}
		for code := range c.deposited {
			shipmentID, isReturn := strings.CutPrefix(code, returnMark)
			if isReturn && returning[shipmentID] || !isReturn && onTheWay(cmd.Deliveries, code) {
				continue
			}
			if err := tx.Bucket(bucketDeposited).Delete([]byte(code)); err != nil {
				return err
			}
			gone = append(gone, code)
		}
		if err := forgetCouriers(tx, cmd.RevokedCouriers); err != nil {
			return err
		}
		if !cmd.At.IsZero() {
			at, _ := cmd.At.MarshalText()
			if err := tx.Bucket(bucketMeta).Put(keySyncAt, at); err != nil {
				return fmt.Errorf("store sync_at: %w", err)
			}
		}
		return c.prunePicked(tx, now)
	})
	if err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	c.kdf = cmd.KDF
	if len(cmd.QRKey) == ed25519.PublicKeySize {
		c.qrKey = ed25519.PublicKey(cmd.QRKey)
	}
	c.setDeliveries(cmd.Deliveries)
	c.known = cmd.Compartments
	for _, code := range gone {
		delete(c.deposited, code)
	}
	if !cmd.At.IsZero() {
		c.syncAt = cmd.At
	}
	c.forgetCouriersLocked(cmd.RevokedCouriers)
	c.pickups = map[string]Pickup{}
	c.byVerifier = map[string][]string{}
	for _, p := range pickups {
		c.addPickup(p)
	}
	if dropOffs != nil {
		c.dropOffs = make(map[string]device.DropOff, len(dropOffs))
		for _, d := range dropOffs {
			c.dropOffs[d.ShipmentID] = d
		}
	}
	c.log.Info("controller: synced", "pickups", len(pickups), "drop_offs", len(c.dropOffs))
	return nil
}

// pendingDropOffs returns the shipments whose drop_off event (a return
// taken offline) is still unanswered in the outbox.
func pendingDropOffs(tx *bolt.Tx) (map[string]bool, error) {
	pending := map[string]bool{}
	err := tx.Bucket(bucketOutbox).ForEach(func(_, v []byte) error {
		var e Event
		if err := json.Unmarshal(v, &e); err != nil {
			return fmt.Errorf("outbox event: %w", err)
		}
		if e.Type == TypeDropOff {
			pending[e.ShipmentID] = true
		}
		return nil
	})
	return pending, err
}

// expectPickup adds (or replaces) one parcel.
func (c *Controller) expectPickup(p Pickup) error {
	if err := validatePickup(p); err != nil {
		return fmt.Errorf("expect_pickup: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("expect_pickup: controller closed")
	}
	// A compartment holds one parcel: one expected in it before, whose
	// cancel was lost or overtaken, is no longer there, and its code must
	// not open the door on this one.
	var gone []string
	for id, q := range c.pickups {
		if q.Compartment == p.Compartment && id != p.ShipmentID {
			gone = append(gone, id)
		}
	}
	if err := c.db.Update(func(tx *bolt.Tx) error {
		for _, id := range gone {
			if err := tx.Bucket(bucketPickups).Delete([]byte(id)); err != nil {
				return err
			}
		}
		return putJSON(tx, bucketPickups, []byte(p.ShipmentID), p)
	}); err != nil {
		return fmt.Errorf("expect_pickup: %w", err)
	}
	for _, id := range gone {
		c.removePickup(id)
	}
	c.addPickup(p)
	return nil
}

// cancel forgets one parcel.
func (c *Controller) cancel(id string) error {
	if id == "" {
		return fmt.Errorf("cancel without shipment_id")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("cancel: controller closed")
	}
	if err := c.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPickups).Delete([]byte(id))
	}); err != nil {
		return fmt.Errorf("cancel %s: %w", id, err)
	}
	c.removePickup(id)
	return nil
}

// onTheWay reports whether the parcel with tracking code is among ds.
func onTheWay(ds []device.Delivery, code string) bool {
	for _, d := range ds {
		if strings.EqualFold(d.TrackingCode, code) {
			return true
		}
	}
	return false
}

// commandOpenTimeout bounds the lock pulse of an open command.
const commandOpenTimeout = 5 * time.Second

// openFor opens the compartment the centre names, for someone it let in
// (a courier's handheld deposit or collection, an operator). Only the
// centre can publish on the locker's commands topic (the broker's ACL),
// so the command is trusted as the keypad's answers are; the door's
// closing is reported as any door_closed.
func (c *Controller) openFor(cmd Command) error {
	if cmd.Compartment < 1 || cmd.At.IsZero() {
		return fmt.Errorf("open without compartment or at")
	}
	// A broker keeps a command for a locker that is offline: the courier
	// it was for has long gone when the locker comes back. One dated ahead
	// of the locker's clock by more than that (a centre's clock far off,
	// or a command not the centre's) would stay valid as long: refused too.
	switch age := c.cfg.Clock.Now().Sub(cmd.At); {
	case age > OpenCommandValidFor:
		return fmt.Errorf("open compartment %d: the command is %s old (valid %s): ignored", cmd.Compartment, age.Round(time.Second), OpenCommandValidFor)
	case age < -OpenCommandValidFor:
		return fmt.Errorf("open compartment %d: the command is dated %s ahead of this locker's clock (at most %s): ignored; check both clocks", cmd.Compartment, (-age).Round(time.Second), OpenCommandValidFor)
	}
	ctx, cancel := context.WithTimeout(context.Background(), commandOpenTimeout)
	defer cancel()
	if err := c.openDoor(ctx, cmd.Compartment); err != nil {
		return fmt.Errorf("%s: %w", cmd.Purpose, err)
	}
	c.log.Info("controller: opened for the centre", "compartment", cmd.Compartment, "purpose", cmd.Purpose, "shipment", cmd.ShipmentID)
	return nil
}

// OpenCommandValidFor is how old (by the locker's clock) an open command
// may be and still open its compartment, and how far ahead of that clock
// it may be dated.
const OpenCommandValidFor = time.Minute

// setOutOfOrder marks a compartment out of order (or back in order) in
// the compartments the last sync listed, kept in the state file: a deposit
// taken offline never goes into one out of order.
func (c *Controller) setOutOfOrder(n int, outOfOrder bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return fmt.Errorf("out_of_order: controller closed")
	}
	known := slices.Clone(c.known)
	i := slices.IndexFunc(known, func(k device.Compartment) bool { return k.N == n })
	if i < 0 {
		return fmt.Errorf("out_of_order: no compartment %d in the last sync", n)
	}
	known[i].OutOfOrder = outOfOrder
	if err := c.db.Update(func(tx *bolt.Tx) error { return putJSON(tx, bucketMeta, keyCompartments, known) }); err != nil {
		return fmt.Errorf("out_of_order: %w", err)
	}
	c.known = known
	return nil
}
