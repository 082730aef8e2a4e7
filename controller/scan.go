package controller

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/lokero/lokero/device"
	"github.com/lokero/lokero/locker"
	bolt "go.etcd.io/bbolt"
)

// ScanQR is a recipient showing the QR code of their notice of arrival to
// the locker's scanner (or pasting its text at the keypad's screen). The
// controller verifies the token itself with the centre's public key (from
// the last sync): the locker, the window, the signature; a token of a
// parcel it expects opens that parcel's door at once, offline too, and
// whatever the keypad's lockout, which a token neither checks nor counts
// towards. A token it cannot decide on (no key yet, a parcel it does not
// know) goes to the centre when connected. A bad token opens nothing, nor
// does one whose window begins before the parcel's current one (its
// QRSince, from the centre): a notice from before the operator rotated the
// parcel's code, refused as the centre refuses it (qr_not_current), offline
// and online alike.
func (c *Controller) ScanQR(ctx context.Context, token string) (KeypadResult, error) {
	c.kmu.Lock()
	defer c.kmu.Unlock()
	token = strings.TrimSpace(token)
	now := c.cfg.Clock.Now()
	c.mu.Lock()
	key := c.qrKey
	c.mu.Unlock()
	if key != nil {
		claims, err := locker.VerifyQR(key, token, c.cfg.LocationID, now)
		if err != nil {
			return KeypadResult{Result: ResultWrongCode}, nil
		}
		c.mu.Lock()
		p, known := c.pickups[claims.ShipmentID]
		_, picked := c.picked[claims.ShipmentID]
		c.mu.Unlock()
		switch {
		case known && picked:
			return KeypadResult{Result: ResultWrongCode}, nil // handed out already: never again
		case known && claims.NotBefore.Before(p.QRSince):
			// Issued before the current window (a rotated code): the centre
			// would refuse it too, so it is not asked.
			c.log.Info("controller: QR code from before the parcel's current window refused", "shipment", p.ShipmentID)
			return KeypadResult{Result: ResultWrongCode}, nil
		case known && p.Compartment == claims.Compartment && p.CODCents == 0:
			return c.openPickup(ctx, p, now)
		case known && p.CODCents > 0 && !c.Connected():
			return KeypadResult{Result: ResultPaymentRequired, Compartment: p.Compartment, AmountCents: p.CODCents}, nil
		}
	}
	if !c.Connected() {
		return KeypadResult{Result: ResultWrongCode}, nil
	}
	ack, ok, err := c.ask(ctx, Event{At: now.UTC(), Type: TypeQR, Token: token})
	if err != nil || !ok {
		return KeypadResult{Result: ResultUnknown}, err
	}
	switch {
	case ack.Result == device.ResultRejected:
		return KeypadResult{Result: ResultWrongCode}, nil
	case ack.Open > 0:
		if err := c.openDoor(ctx, ack.Open); err != nil {
			return KeypadResult{}, err
		}
		return KeypadResult{Result: ResultOpen, Compartment: ack.Open}, nil
	case ack.AmountCents > 0:
		return KeypadResult{Result: ResultPaymentRequired, AmountCents: ack.AmountCents}, nil
	}
	return KeypadResult{Result: ResultUnknown}, nil
}

// Deposit is a courier scanning a parcel at the locker's keypad (courier
// mode): the courier signed in first (SignInCourier; ErrCourierSignIn when
// none is, or the sign-in lapsed), and the event names them
// (device.CourierHash). The centre allocates the compartment and the
// controller opens it; shutting the door completes the deposit. A refusal
// (a parcel for another locker, none free) is an error with the centre's
// words; the centre refusing the courier ends the sign-in
// (ErrCourierSignIn). Offline, the controller takes a parcel the last sync
// said is on its way here: it picks the compartment as the centre would
// (the smallest free one that takes it), opens it and reports the deposit
// with the compartment and the courier when it is back; a parcel it does
// not know of is refused.
//
// A deposit the centre applies after OnlineWait, when the courier has
// gone, leaves the parcel booked into a compartment it is not in: the
// operator's view shows it (its door open), to put right by hand.
func (c *Controller) Deposit(ctx context.Context, trackingCode string) (KeypadResult, error) {
	c.kmu.Lock()
	defer c.kmu.Unlock()
	now := c.cfg.Clock.Now()
	courier, err := c.courierFor(now)
	if err != nil {
		return KeypadResult{}, err
	}
	trackingCode = strings.ToUpper(strings.Join(strings.Fields(trackingCode), ""))
	if trackingCode == "" {
		return KeypadResult{}, errors.New("scan the parcel's tracking code")
	}
	if !c.Connected() {
		return c.depositOffline(ctx, trackingCode, courier)
	}
	ack, ok, err := c.ask(ctx, Event{At: now.UTC(), Type: TypeDeposit, TrackingCode: trackingCode, Courier: courier})
	if err != nil || !ok {
		return KeypadResult{Result: ResultUnknown}, err
	}
	if courierRefused(ack) {
		c.forgetCourier(courier)
		return KeypadResult{}, fmt.Errorf("the centre does not take this courier: %w", ErrCourierSignIn)
	}
	if ack.Result == device.ResultRejected {
		msg := "the centre refused the deposit"
		if ack.Error != nil && ack.Error.Message != "" {
			msg = ack.Error.Message
		}
		return KeypadResult{}, errors.New(msg)
	}
	if ack.Result == device.ResultApplied {
		c.acceptCourier(courier, now)
	}
	if ack.Open < 1 {
		return KeypadResult{Result: ResultUnknown}, nil
	}
	if err := c.openDoor(ctx, ack.Open); err != nil {
		return KeypadResult{}, err
	}
	return KeypadResult{Result: ResultOpen, Compartment: ack.Open}, nil
}

// ask queues e and waits up to OnlineWait for the centre's answer; ok is
// false when none came in time (the event stays queued and is applied
// when it arrives).
//
// A code or QR token in e opens a door: the state file never holds it.
// The outbox keeps e without it, and e is sent with it from memory
// (entries) only while the keypad waits for the answer. Sent again after
// that (a resend, a restart), e carries nothing to check, and the centre
// answers it withdrawn: a late answer would open a door for nobody.
func (c *Controller) ask(ctx context.Context, e Event) (device.Ack, bool, error) {
	answer := make(chan device.Ack, 1)
	code, token := e.Code, e.Token
	e.Code, e.Token = "", ""
	c.mu.Lock()
	if err := c.queueLocked(&e, nil); err != nil {
		c.mu.Unlock()
		return device.Ack{}, false, err
	}
	if code != "" || token != "" {
		live := e
		live.Code, live.Token = code, token
		data, err := json.Marshal(live)
		if err != nil {
			c.mu.Unlock()
			return device.Ack{}, false, fmt.Errorf("encode event %d: %w", e.Seq, err)
		}
		c.entries[e.Seq] = data
	}
	c.waiters[e.Seq] = answer
	c.wake()
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		// By the channel, not e.Seq: a renumbering (renumberFrom) may have
		// moved the wait to another number.
		for seq, ch := range c.waiters {
			if ch == answer {
				delete(c.waiters, seq)
				delete(c.entries, seq)
			}
		}
		c.mu.Unlock()
	}()
	timer := time.NewTimer(c.cfg.OnlineWait)
	defer timer.Stop()
	select {
	case ack := <-answer:
		return ack, true, nil
	case <-timer.C:
		return device.Ack{}, false, nil
	case <-ctx.Done():
		return device.Ack{}, false, nil
	}
}

// openDoor pulses a compartment's lock and records the door open.
func (c *Controller) openDoor(ctx context.Context, n int) error {
	if err := c.cfg.Driver.Open(ctx, n); err != nil {
		return fmt.Errorf("controller: open compartment %d: %w", n, err)
	}
	c.mu.Lock()
	c.doors[n] = true
	c.mu.Unlock()
	return nil
}

// setDeliveries replaces the parcels on their way here. c.mu held (or
// the controller not yet shared).
func (c *Controller) setDeliveries(ds []device.Delivery) {
	c.deliveries = make(map[string]device.Delivery, len(ds))
	for _, d := range ds {
		c.deliveries[strings.ToUpper(d.TrackingCode)] = d
	}
}

// depositOffline takes a parcel with the locker offline from the courier
// of hash (CourierHash), whom the centre accepted here before.
func (c *Controller) depositOffline(ctx context.Context, trackingCode, courier string) (KeypadResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.knownCourierLocked(courier, c.cfg.Clock.Now()) {
		// Signed in online without the centre's answer, or forgotten
		// since: not one to take parcels from offline.
		c.courier = nil
		return KeypadResult{}, fmt.Errorf("the locker is offline and does not know this courier: %w", ErrCourierSignIn)
	}
	d, expected := c.deliveries[trackingCode]
	if n, done := c.deposited[trackingCode]; done {
		return KeypadResult{}, fmt.Errorf("parcel %s is in door %d already", trackingCode, n)
	}
	if !expected {
		return KeypadResult{}, fmt.Errorf("the locker is offline and does not expect parcel %s: deposit it when the locker is back online", trackingCode)
	}
	best, ok := locker.Allocate([3]float64{d.LengthCM, d.WidthCM, d.HeightCM}, c.freeCompartments())
	if !ok {
		return KeypadResult{}, fmt.Errorf("no free compartment here takes parcel %s", trackingCode)
	}
	e := Event{At: c.cfg.Clock.Now().UTC(), Type: TypeDeposit, TrackingCode: trackingCode, Compartment: best.Number, Courier: courier}
	if err := c.queueLocked(&e, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDeposited).Put([]byte(trackingCode), []byte(strconv.Itoa(best.Number)))
	}); err != nil {
		return KeypadResult{}, err
	}
	c.deposited[trackingCode] = best.Number
	if err := c.cfg.Driver.Open(ctx, best.Number); err != nil {
		// The parcel did not go in: take back the event (never sent: the
		// locker is offline and the sender waits for the connection) and
		// the mark.
		if uerr := c.unqueue(e.Seq, func(tx *bolt.Tx) error { return tx.Bucket(bucketDeposited).Delete([]byte(trackingCode)) }); uerr == nil {
			delete(c.deposited, trackingCode)
		} else {
			c.log.Error("controller: lock failed and the deposit could not be undone", "tracking_code", trackingCode, "err", uerr)
		}
		return KeypadResult{}, fmt.Errorf("controller: open compartment %d: %w", best.Number, err)
	}
	c.doors[best.Number] = true
	c.wake()
	c.log.Info("controller: parcel deposited offline", "tracking_code", trackingCode, "compartment", best.Number, "seq", e.Seq)
	return KeypadResult{Result: ResultOpen, Compartment: best.Number}, nil
}

// expectDropOff keeps a return the locker may take offline.
func (c *Controller) expectDropOff(d device.DropOff) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return errors.New("expect_drop_off: controller closed")
	}
	if err := c.db.Update(func(tx *bolt.Tx) error {
		return putJSON(tx, bucketDropOffs, []byte(d.ShipmentID), d)
	}); err != nil {
		return fmt.Errorf("expect_drop_off: %w", err)
	}
	c.dropOffs[d.ShipmentID] = d
	return nil
}

// forgetDropOff drops a return taken (or no longer expected).
func (c *Controller) forgetDropOff(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketDropOffs).Delete([]byte(id)) }); err != nil {
		c.log.Error("controller: forget a drop-off", "shipment", id, "err", err)
		return
	}
	delete(c.dropOffs, id)
}

// lookupDropOff returns the return whose code's verifier is key, within
// its window; nil when none. c.mu held.
func (c *Controller) lookupDropOff(key []byte, now time.Time) *device.DropOff {
	for _, d := range c.dropOffs {
		if subtle.ConstantTimeCompare(d.Verifier, key) == 1 && now.Before(d.Until) {
			return &d
		}
	}
	return nil
}

// freeCompartments lists the compartments as the last sync told them,
// those the controller has filled or opened since, or expects a parcel
// in, counted occupied. c.mu held.
func (c *Controller) freeCompartments() []locker.Compartment {
	used := map[int]bool{}
	for _, n := range c.deposited {
		used[n] = true
	}
	for _, p := range c.pickups {
		used[p.Compartment] = true
	}
	cs := make([]locker.Compartment, 0, len(c.known))
	for _, k := range c.known {
		cs = append(cs, locker.Compartment{Number: k.N, Size: k.Size, LengthCM: k.LengthCM, WidthCM: k.WidthCM, HeightCM: k.HeightCM,
			OutOfOrder: k.OutOfOrder, Occupied: k.Occupied || used[k.N] || c.doors[k.N]})
	}
	return cs
}

// dropOffOffline takes a return with the locker offline: the smallest
// free compartment that takes the parcel opens, the return is reported
// with it when the locker is back, and the code opens nothing again.
func (c *Controller) dropOffOffline(ctx context.Context, d device.DropOff, now time.Time) (KeypadResult, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	best, ok := locker.Allocate([3]float64{d.LengthCM, d.WidthCM, d.HeightCM}, c.freeCompartments())
	if !ok {
		return KeypadResult{Result: ResultUnknown}, errors.New("no free compartment here takes the parcel: try another parcel locker")
	}
	e := Event{At: now.UTC(), Type: TypeDropOff, ShipmentID: d.ShipmentID, Compartment: best.Number}
	raw, err := json.Marshal(d)
	if err != nil {
		return KeypadResult{}, err
	}
	// The compartment is taken: kept in the state file with the event, so
	// that after a restart (still offline) no deposit goes into it.
	taken := returnMark + d.ShipmentID
	if err := c.queueLocked(&e, func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketDeposited).Put([]byte(taken), []byte(strconv.Itoa(best.Number))); err != nil {
			return err
		}
		return tx.Bucket(bucketDropOffs).Delete([]byte(d.ShipmentID))
	}); err != nil {
		return KeypadResult{}, err
	}
	delete(c.dropOffs, d.ShipmentID)
	c.deposited[taken] = best.Number
	if err := c.cfg.Driver.Open(ctx, best.Number); err != nil {
		if uerr := c.unqueue(e.Seq, func(tx *bolt.Tx) error {
			if err := tx.Bucket(bucketDeposited).Delete([]byte(taken)); err != nil {
				return err
			}
			return tx.Bucket(bucketDropOffs).Put([]byte(d.ShipmentID), raw)
		}); uerr == nil {
			c.dropOffs[d.ShipmentID] = d
			delete(c.deposited, taken)
		} else {
			c.log.Error("controller: lock failed and the drop-off could not be undone", "shipment", d.ShipmentID, "err", uerr)
		}
		return KeypadResult{}, fmt.Errorf("controller: open compartment %d: %w", best.Number, err)
	}
	c.doors[best.Number] = true
	c.wake()
	c.log.Info("controller: return taken offline", "shipment", d.ShipmentID, "compartment", best.Number, "seq", e.Seq)
	return KeypadResult{Result: ResultOpen, Compartment: best.Number}, nil
}

// ExpectingReturns returns how many returns the controller can take
// itself now.
func (c *Controller) ExpectingReturns() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, d := range c.dropOffs {
		if len(d.Verifier) > 0 { // not still to derive
			n++
		}
	}
	return n
}
