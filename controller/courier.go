package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lokero/lokero/device"
	bolt "go.etcd.io/bbolt"
)

// Courier mode at the keypad is a courier's: before a deposit the courier
// signs in with their courier token (typed, or scanned from their handheld
// or card). The controller keeps only its hash (device.CourierHash), for
// the session — until CourierIdle passes without a deposit, or the mode
// is left — and names the courier by it in every deposit event; the
// centre looks the credential up by it and refuses a deposit without an
// active courier. Offline, the keypad takes only a courier the centre
// accepted here within courierKeep (bucketCouriers), and not one a sync
// since named as revoked (its token revoked, expired or rotated: the
// centre lists those of the last courierKeep and more).

// ErrCourierSignIn is Deposit's error when no courier is signed in at the
// keypad (never, or the sign-in lapsed, or the centre no longer accepts
// the courier): the keypad asks for the courier's token again.
var ErrCourierSignIn = errors.New("sign in with your courier token first")

// courierTokenPrefix starts every courier token (service's tokenPrefixes):
// anything else is refused without asking the centre.
const courierTokenPrefix = "lkc_"

// maxCourierToken bounds a typed token (service.Authenticate's bound).
const maxCourierToken = 128

// courierTouch is how often at most the time a known courier was last
// accepted is written to the state file (a flash page a deposit saved).
const courierTouch = time.Hour

// courierSession is the courier signed in at the keypad.
type courierSession struct {
	hash string    // device.CourierHash of their token
	seen time.Time // the sign-in or the last deposit, by the clock
}

// SignInCourier signs a courier in at the keypad with their courier token
// (ResultSignedIn), ending any earlier sign-in. Online the centre checks
// the token's hash (a courier event): a courier it refuses is
// ResultWrongCode, and forgotten here. Offline, or with no answer in
// time, only a courier the centre accepted here within courierKeep is
// taken; another is an error saying so (ResultUnknown with no answer).
// The token is never stored, sent or logged: only its hash.
func (c *Controller) SignInCourier(ctx context.Context, token string) (KeypadResult, error) {
	c.kmu.Lock()
	defer c.kmu.Unlock()
	c.SignOutCourier()
	token = strings.TrimSpace(token)
	if token == "" {
		return KeypadResult{}, errors.New("type or scan your courier token")
	}
	if !strings.HasPrefix(token, courierTokenPrefix) || len(token) > maxCourierToken {
		return KeypadResult{Result: ResultWrongCode}, nil
	}
	hash := device.CourierHash(token)
	now := c.cfg.Clock.Now()
	answered := false
	if c.Connected() {
		ack, ok, err := c.ask(ctx, Event{At: now.UTC(), Type: TypeCourier, Courier: hash})
		if err != nil {
			return KeypadResult{Result: ResultUnknown}, err
		}
		switch {
		case ok && ack.Result == device.ResultApplied:
			c.acceptCourier(hash, now)
			c.startCourier(hash, now)
			return KeypadResult{Result: ResultSignedIn}, nil
		case ok && ack.Result == device.ResultRejected:
			c.forgetCourier(hash)
			return KeypadResult{Result: ResultWrongCode}, nil
		}
		answered = ok
	}
	c.mu.Lock()
	known := c.knownCourierLocked(hash, now)
	c.mu.Unlock()
	switch {
	case known:
		// The centre checks each deposit again when it has it.
		c.startCourier(hash, now)
		return KeypadResult{Result: ResultSignedIn}, nil
	case c.Connected() && !answered:
		return KeypadResult{Result: ResultUnknown}, nil
	}
	return KeypadResult{}, errors.New("the locker is offline and takes only couriers it has seen sign in here: sign in when it is back online")
}

// SignOutCourier ends the courier's sign-in at the keypad (leaving
// courier mode).
func (c *Controller) SignOutCourier() {
	c.mu.Lock()
	c.courier = nil
	c.mu.Unlock()
}

// CourierSignedIn reports whether a courier is signed in at the keypad now.
func (c *Controller) CourierSignedIn() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.courier
	return s != nil && c.cfg.Clock.Now().Sub(s.seen) < CourierIdle
}

// startCourier signs the courier of hash in.
func (c *Controller) startCourier(hash string, now time.Time) {
	c.mu.Lock()
	c.courier = &courierSession{hash: hash, seen: now}
	c.mu.Unlock()
}

// courierFor returns the hash of the courier signed in, and counts now as
// their activity; ErrCourierSignIn when none is (or the sign-in lapsed).
func (c *Controller) courierFor(now time.Time) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.courier
	if s == nil || now.Sub(s.seen) >= CourierIdle {
		c.courier = nil
		return "", ErrCourierSignIn
	}
	s.seen = now
	return s.hash, nil
}

// knownCourierLocked reports whether the centre accepted the courier of
// hash here within courierKeep. c.mu held.
func (c *Controller) knownCourierLocked(hash string, now time.Time) bool {
	at, ok := c.couriers[hash]
	return ok && now.Sub(at) < courierKeep
}

// acceptCourier records that the centre accepted the courier of hash here
// now (in the state file at most every courierTouch).
func (c *Controller) acceptCourier(hash string, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if at, ok := c.couriers[hash]; ok && now.Sub(at) < courierTouch && !now.Before(at) {
		return
	}
	stamp, err := now.UTC().MarshalText()
	if err == nil {
		err = c.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketCouriers).Put([]byte(hash), stamp) })
	}
	if err != nil {
		// The courier is taken online all the same; offline they may be
		// refused.
		c.log.Error("controller: remember a courier", "err", err)
		return
	}
	c.couriers[hash] = now
}

// forgetCourier drops the courier of hash (the centre refused them): the
// keypad no longer takes them offline, and their sign-in ends.
func (c *Controller) forgetCourier(hash string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.courier != nil && c.courier.hash == hash {
		c.courier = nil
	}
	if _, ok := c.couriers[hash]; !ok {
		return
	}
	if err := c.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketCouriers).Delete([]byte(hash)) }); err != nil {
		c.log.Error("controller: forget a courier", "err", err)
		return
	}
	delete(c.couriers, hash)
}

// forgetCouriers deletes from the state file, in tx, the couriers a sync
// names as revoked (device.Command.RevokedCouriers): their token no
// longer works, so the keypad must not take them offline either.
func forgetCouriers(tx *bolt.Tx, hashes []string) error {
	b := tx.Bucket(bucketCouriers)
	for _, h := range hashes {
		if h == "" {
			continue
		}
		if err := b.Delete([]byte(h)); err != nil {
			return fmt.Errorf("forget a revoked courier: %w", err)
		}
	}
	return nil
}

// forgetCouriersLocked drops the couriers forgetCouriers deleted from the
// known ones, and ends the sign-in of one of them. c.mu held.
func (c *Controller) forgetCouriersLocked(hashes []string) {
	for _, h := range hashes {
		delete(c.couriers, h)
		if c.courier != nil && c.courier.hash == h {
			c.courier = nil
		}
	}
}

// loadCouriers reads the known couriers, dropping those not accepted
// within courierKeep, in tx.
func (c *Controller) loadCouriers(tx *bolt.Tx, now time.Time) error {
	b := tx.Bucket(bucketCouriers)
	var stale [][]byte
	if err := b.ForEach(func(k, v []byte) error {
		var at time.Time
		if err := at.UnmarshalText(v); err != nil || now.Sub(at) >= courierKeep {
			stale = append(stale, append([]byte(nil), k...))
			return nil
		}
		c.couriers[string(k)] = at
		return nil
	}); err != nil {
		return fmt.Errorf("load couriers: %w", err)
	}
	for _, k := range stale {
		if err := b.Delete(k); err != nil {
			return fmt.Errorf("forget a courier: %w", err)
		}
	}
	return nil
}

// courierRefused reports whether the centre refused an event for its
// courier (none, or not an active courier's).
func courierRefused(a device.Ack) bool {
	return a.Result == device.ResultRejected && a.Error != nil &&
		(a.Error.Reason == "courier_required" || a.Error.Reason == "courier_unknown")
}
