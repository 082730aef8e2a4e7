package service

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"slices"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/locker"
)

// What a locker's controller keeps so that it opens the right doors with
// the network down (docs/device-protocol.md, commands): the parcels
// waiting in it, each with its code's verifier, and the derivation that
// checks an entered code against them.

// ExpectedPickup is a parcel waiting in a locker, as its controller knows
// it.
type ExpectedPickup struct {
	ShipmentID  string
	Compartment int
	Verifier    []byte // locker.KDF.Verifier of its opening code under the locker's salt
	// Sealed is, instead of Verifier, the opening code sealed for the
	// locker's controller (locker.SealForBoard) when its board derives the
	// verifier itself (its credential has a BoardKey); CodeTag then tells
	// it whether a code it derived before is still the parcel's.
	Sealed   []byte
	CodeTag  string
	Deadline time.Time
	// CODCents is the cash on delivery still to pay (0: none): the
	// controller hands such a parcel out only with the centre, after the
	// payment.
	CODCents int64
	// QRSince is when the parcel's current QR window begins (qrSince: it
	// last became ready, or its code was last rotated), zero without a QR
	// key: the controller refuses a token whose window begins earlier, as
	// ScanQR does, so that a rotation stops a leaked notice at the locker
	// too, offline included.
	QRSince time.Time

	// codeHash and salt are what Verifier was made for (Recheck).
	codeHash, salt []byte
}

// DeviceSync is everything a locker's controller needs to hand parcels
// out offline.
type DeviceSync struct {
	At   time.Time
	KDF  locker.KDF
	Salt []byte
	// QRKey is the public key the locker's scanner checks QR tokens with
	// (nil: no QR codes).
	QRKey []byte
	// Deliveries are the parcels on their way to the locker, and
	// Compartments its compartments: what a controller needs to take a
	// courier's deposit offline (offlinedeposit.go).
	Deliveries   []ExpectedDelivery
	Compartments []CompartmentState
	Pickups      []ExpectedPickup
	// DropOffs are the returns the locker may take offline: the parcels
	// picked up there within the ReturnWindow whose return code is not
	// used yet (each also sent alone at its pickup: expect_drop_off).
	DropOffs []ExpectedDropOff
	// RevokedCouriers are the couriers the controller must no longer take
	// at its keypad, offline included: each courier token revoked,
	// expired or rotated within RevokedCourierWindow, as the controller
	// names it (device.CourierHash); nil when none.
	RevokedCouriers []string
}

// Sync returns what the controller of a locker should know now: every
// parcel ready for pickup in it, with its code's verifier, or its code
// sealed for a board that derives the verifiers itself, every return
// it may take (DropOffs), alike, and the couriers it must forget
// (RevokedCouriers). A verifier is
// derived once per code and kept (the derivation is slow on purpose); a
// rotated code, or a new key of the secret, gets a new one.
func (l *Lockers) Sync(ctx context.Context, device lokero.Credential, locationID string) (DeviceSync, error) {
	loc, err := l.deviceLocker(device, locationID)
	if err != nil {
		return DeviceSync{}, err
	}
	if l.codes == nil {
		return DeviceSync{}, fmt.Errorf("sync: no code secret configured")
	}
	key, err := l.boardKeyOf(device)
	if err != nil {
		return DeviceSync{}, fmt.Errorf("sync %s: %w", loc.ID, err)
	}
	now := l.now()
	list, err := l.store.ShipmentsTo(ctx, loc.ID, []lokero.ShipmentStatus{lokero.StatusReadyForPickup})
	if err != nil {
		return DeviceSync{}, fmt.Errorf("sync %s: %w", loc.ID, err)
	}
	returns, err := l.store.ReturnsExpected(ctx, loc.ID, now.Add(-ReturnWindow))
	if err != nil {
		return DeviceSync{}, fmt.Errorf("sync %s: %w", loc.ID, err)
	}
	ids := make([]string, 0, len(list)+len(returns))
	for _, sh := range slices.Concat(list, returns) {
		ids = append(ids, sh.ID)
	}
	kept, err := l.keptVerifiers(ctx, key, ids...)
	if err != nil {
		return DeviceSync{}, fmt.Errorf("sync %s: %w", loc.ID, err)
	}
	out := DeviceSync{At: now, KDF: locker.DefaultKDF, Salt: l.codes.Salt(loc.ID, locker.DefaultKDF), Pickups: []ExpectedPickup{},
		DropOffs: []ExpectedDropOff{}, QRKey: l.QRPublicKey()}
	for _, sh := range returns { // each returnableAt loc, as ReturnsExpected selects them
		d, err := l.expectedDropOff(ctx, key, loc, sh, kept[sh.ID], out.Salt)
		if err != nil {
			return DeviceSync{}, fmt.Errorf("sync %s: %w", loc.ID, err)
		}
		out.DropOffs = append(out.DropOffs, d)
	}
	for _, sh := range list {
		if !waitingAt(sh, loc) {
			continue
		}
		if l.delivery.qrKey != nil {
			// ShipmentsTo gives no events, and the QR window's start
			// (qrSince) is in them: one read of the parcel each, only
			// with QR codes in use.
			full, err := l.store.Shipment(ctx, sh.ID)
			if lokero.ErrorCode(err) == lokero.ENOTFOUND {
				continue
			} else if err != nil {
				return DeviceSync{}, fmt.Errorf("sync %s: %w", loc.ID, err)
			}
			if !waitingAt(full, loc) { // handed out (or moved) since the list was read
				continue
			}
			sh = full
		}
		p, err := l.expected(ctx, key, loc, sh, kept[sh.ID], out.Salt)
		if err != nil {
			return DeviceSync{}, err
		}
		if p.made() {
			out.Pickups = append(out.Pickups, p)
		}
	}
	if err := l.deliveriesAndCompartments(ctx, loc, &out); err != nil {
		return DeviceSync{}, err
	}
	if out.RevokedCouriers, err = l.revokedCouriers(ctx, now); err != nil {
		return DeviceSync{}, fmt.Errorf("sync %s: %w", loc.ID, err)
	}
	return out, nil
}

// KeepVerifiers is how long the centre keeps a verifier after making it:
// a parcel's storage period and the return window after its pickup, with
// a margin. One wanted later (a storage period extended) is made again
// when asked for.
const KeepVerifiers = 30 * 24 * time.Hour

// PruneVerifiers forgets the verifiers made more than KeepVerifiers ago
// (by the service's clock) and returns how many: run it now and then (lokero
// serve does, every hour), or they would grow by one a parcel for ever.
func (l *Lockers) PruneVerifiers(ctx context.Context) (int64, error) {
	return l.store.PruneVerifiers(ctx, l.now().Add(-KeepVerifiers))
}

// Expected returns one parcel as its locker's controller should expect
// it (Sync's entry for it); ok is false when it is not waiting there.
func (l *Lockers) Expected(ctx context.Context, device lokero.Credential, locationID, shipmentID string) (ExpectedPickup, bool, error) {
	loc, err := l.deviceLocker(device, locationID)
	if err != nil {
		return ExpectedPickup{}, false, err
	}
	sh, err := l.store.Shipment(ctx, shipmentID)
	if err != nil {
		return ExpectedPickup{}, false, err
	}
	return l.expectedOf(ctx, device, loc, sh)
}

// ExpectedOf is Expected for a parcel the caller holds as it stands (a
// door's closing just made it ready): the same answer, without reading
// the shipment again.
func (l *Lockers) ExpectedOf(ctx context.Context, device lokero.Credential, locationID string, sh lokero.Shipment) (ExpectedPickup, bool, error) {
	loc, err := l.deviceLocker(device, locationID)
	if err != nil {
		return ExpectedPickup{}, false, err
	}
	return l.expectedOf(ctx, device, loc, sh)
}

func (l *Lockers) expectedOf(ctx context.Context, device lokero.Credential, loc *lokero.Location, sh lokero.Shipment) (ExpectedPickup, bool, error) {
	if !waitingAt(sh, loc) {
		return ExpectedPickup{}, false, nil
	}
	key, err := l.boardKeyOf(device)
	if err != nil {
		return ExpectedPickup{}, false, err
	}
	kept, err := l.keptVerifiers(ctx, key, sh.ID)
	if err != nil {
		return ExpectedPickup{}, false, err
	}
	p, err := l.expected(ctx, key, loc, sh, kept[sh.ID], l.codes.Salt(loc.ID, locker.DefaultKDF))
	return p, err == nil && p.made(), err
}

// Recheck returns p, an ExpectedPickup made a moment ago, as its parcel
// stands now: ok is false when it no longer waits at the locker. Only the
// shipment is read again; its verifier (or sealed code) is p's unless its
// code or the locker's salt changed since (then it is Expected's).
func (l *Lockers) Recheck(ctx context.Context, device lokero.Credential, locationID string, p ExpectedPickup) (ExpectedPickup, bool, error) {
	loc, err := l.deviceLocker(device, locationID)
	if err != nil {
		return ExpectedPickup{}, false, err
	}
	sh, err := l.store.Shipment(ctx, p.ShipmentID)
	if err != nil {
		return ExpectedPickup{}, false, err
	}
	if !waitingAt(sh, loc) {
		return ExpectedPickup{}, false, nil
	}
	salt := l.codes.Salt(loc.ID, locker.DefaultKDF)
	if !p.made() || !bytes.Equal(p.codeHash, sh.OpeningCodeHash) || !bytes.Equal(p.salt, salt) {
		return l.expectedOf(ctx, device, loc, sh)
	}
	q := pickupOf(sh, board{verifier: p.Verifier, sealed: p.Sealed}, salt)
	q.QRSince = l.pickupQRSince(&sh)
	return q, true, nil
}

// pickupQRSince is the start of sh's current QR window as its controller
// is told it (ExpectedPickup.QRSince): qrSince, ScanQR's own bound; zero
// when no QR key is set (no token to check). sh must carry its events.
func (l *Lockers) pickupQRSince(sh *lokero.Shipment) time.Time {
	if l.delivery.qrKey == nil {
		return time.Time{}
	}
	return qrSince(sh).UTC()
}

// keptVerifiers returns the verifiers the centre keeps of the shipments'
// codes, for a board that does not derive its own (key, its BoardKey, nil);
// none for one that does.
func (l *Lockers) keptVerifiers(ctx context.Context, key []byte, shipmentIDs ...string) (map[string]lokero.Verifier, error) {
	if key != nil {
		return nil, nil
	}
	return l.store.Verifiers(ctx, shipmentIDs)
}

// made reports whether p carries what its controller checks the code with:
// a verifier, or the code sealed for a board that derives.
func (p ExpectedPickup) made() bool { return p.Verifier != nil || p.Sealed != nil }

// waitingAt reports whether sh waits for its recipient in a compartment
// of loc with an opening code.
func waitingAt(sh lokero.Shipment, loc *lokero.Location) bool {
	return sh.Status == lokero.StatusReadyForPickup && sh.DestinationID == loc.ID && sh.Compartment >= 1 && len(sh.OpeningCodeHash) > 0
}

// pickupOf is sh as its locker's controller expects it, with the
// verifier made for its code under salt, or the code sealed for its board.
func pickupOf(sh lokero.Shipment, b board, salt []byte) ExpectedPickup {
	p := ExpectedPickup{ShipmentID: sh.ID, Compartment: sh.Compartment, Deadline: sh.StorageDeadline,
		Verifier: b.verifier, Sealed: b.sealed, codeHash: sh.OpeningCodeHash, salt: salt}
	if b.sealed != nil {
		p.CodeTag = codeTag(sh.OpeningCodeHash)
	}
	if sh.COD != nil && sh.COD.CollectedAt == nil {
		p.CODCents = sh.COD.AmountCents
	}
	return p
}

// codeTag names a parcel's opening code to its board without telling
// anything of it: the first 8 bytes of its keyed hash (under the code
// secret, which no board holds), in hex.
func codeTag(codeHash []byte) string { return hex.EncodeToString(codeHash[:min(8, len(codeHash))]) }

// expected is a ready parcel with its verifier (the one kept when it was
// made for this code and salt, else a new one, kept for next time), or,
// for a board that derives (key, its BoardKey), its code sealed for it.
func (l *Lockers) expected(ctx context.Context, key []byte, loc *lokero.Location, sh lokero.Shipment, v lokero.Verifier, salt []byte) (ExpectedPickup, error) {
	b, err := l.forBoard(ctx, key, loc, sh.ID, locker.BoardPickup, sh.OpeningCodeHash, salt, v, func() (string, bool) {
		_, code, ok := l.codes.Version(loc.ID, sh.ID, l.policy.CodeLength(loc.Type), sh.OpeningCodeHash)
		if !ok {
			// A code made under a key the secret no longer holds: it cannot
			// be told, so the controller cannot check it; the centre still can.
			l.log.Warn("sync: a parcel's code is under a retired key; left to the centre", "shipment", sh.ID)
		}
		return code, ok
	})
	p := pickupOf(sh, b, salt)
	p.QRSince = l.pickupQRSince(&sh)
	return p, err
}

// board is what a controller checks a code with: the verifier the centre
// derived, or the code sealed for a board that derives it itself.
type board struct{ verifier, sealed []byte }

// forBoard returns what the controller checks a shipment's code (the one
// codeHash names) with. For a board that derives (key, its BoardKey): the
// code sealed for it, for purpose (locker.BoardPickup, BoardReturn). For
// the others: the verifier kept, when it was made for this code and salt,
// else derived from code() and kept for next time (the derivation is slow
// on purpose). Neither when code() cannot tell the code.
func (l *Lockers) forBoard(ctx context.Context, key []byte, loc *lokero.Location, shipmentID, purpose string, codeHash, salt []byte,
	kept lokero.Verifier, code func() (string, bool)) (board, error) {
	if key == nil && bytes.Equal(kept.CodeHash, codeHash) && bytes.Equal(kept.SaltSHA256, saltSHA256(salt)) && len(kept.Hash) > 0 {
		return board{verifier: kept.Hash}, nil
	}
	c, ok := code()
	if !ok {
		return board{}, nil
	}
	if key != nil {
		sealed, err := locker.SealForBoard(l.random, key, loc.ID, shipmentID, purpose, c)
		if err != nil {
			return board{}, fmt.Errorf("seal the code of %s for its board: %w", shipmentID, err)
		}
		return board{sealed: sealed}, nil
	}
	v, err := l.derivations.Verifier(ctx, locker.DefaultKDF, c, salt)
	if err != nil {
		return board{}, fmt.Errorf("derive the verifier of %s: %w", shipmentID, err)
	}
	if err := l.store.PutVerifier(ctx, lokero.Verifier{ShipmentID: shipmentID, LocationID: loc.ID,
		CodeHash: codeHash, SaltSHA256: saltSHA256(salt), Hash: v}); err != nil {
		return board{}, fmt.Errorf("keep the verifier of %s: %w", shipmentID, err)
	}
	return board{verifier: v}, nil
}

// saltSHA256 is what the centre keeps of the salt a verifier was made
// with (lokero.Verifier.SaltSHA256): its SHA-256, which tells whether the
// salt changed but cannot stand in for it. The salt itself is derived from
// the code secret and never stored: with it, a copy of the database alone
// would let anyone test guessed codes against the kept verifiers.
func saltSHA256(salt []byte) []byte {
	sum := sha256.Sum256(salt)
	return sum[:]
}

// OfflinePickup is a controller reporting that it opened a compartment
// itself, at "at" by its clock, for a code it checked offline against the
// parcel's verifier: the door is open as after a right code at the keypad,
// and its closing completes the pickup (DoorClosed). The parcel must be the
// one in that compartment and ready for pickup; a parcel that is not is
// refused, and the operator reconciles it (the door opened all the same).
// One exception: a parcel that expired before the report arrived, when
// the locker handed it out before the deadline (its controller stops
// accepting the code at the deadline, but its report may come later, after
// a lost connection or behind other events). The recipient came in time:
// the expiry is undone and the pickup stands.
func (l *Lockers) OfflinePickup(ctx context.Context, device lokero.Credential, locationID string, number int, shipmentID string, at time.Time) error {
	loc, err := l.deviceLocker(device, locationID)
	if err != nil {
		return err
	}
	return l.deviceTx(ctx, func(tx lokero.Tx) error {
		cs, err := l.compartments(ctx, tx, loc)
		if err != nil {
			return err
		}
		c, err := numbered(cs, number)
		if err != nil {
			return err
		}
		if c.ShipmentID == "" || c.ShipmentID != shipmentID {
			return &lokero.Error{Code: lokero.ECONFLICT, Reason: "not_in_compartment",
				Message: fmt.Sprintf("compartment %d does not hold parcel %s", number, shipmentID)}
		}
		sh, err := tx.Shipment(ctx, shipmentID)
		if err != nil {
			return err
		}
		now := tx.Now()
		if sh.Status == lokero.StatusExpired && !at.IsZero() && at.Before(sh.StorageDeadline) {
			if err := sh.Transition(lokero.StatusReadyForPickup, now, loc.ID, fmt.Sprintf(
				"The locker handed the parcel out at %s, before the storage period ended; its report came after the expiry, which is undone.",
				at.In(calendar.Helsinki).Format("2.1.2006 15:04"))); err != nil {
				return err
			}
		}
		if sh.Status != lokero.StatusReadyForPickup {
			return &lokero.Error{Code: lokero.ECONFLICT, Reason: "not_ready",
				Message: fmt.Sprintf("parcel %s is %s, not ready for pickup", sh.TrackingCode, sh.Status)}
		}
		if sh.COD != nil && sh.COD.CollectedAt == nil {
			return &lokero.Error{Code: lokero.ECONFLICT, Reason: "payment_due",
				Message: fmt.Sprintf("parcel %s has cash on delivery to pay: a controller does not hand it out offline", sh.TrackingCode)}
		}
		sh.Note(now, loc.ID, fmt.Sprintf("Compartment %d opened by the locker for the opening code, checked while offline.", number))
		if err := tx.UpdateShipment(ctx, &sh); err != nil {
			return err
		}
		c.DoorOpen, c.DoorForced = true, false // its controller's own opening, for a code
		return tx.PutCompartment(ctx, c)
	})
}
