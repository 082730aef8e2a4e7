package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/notify"
)

// Remind queues the reminder of a parcel still waiting two days before its
// deadline, at a locker or an outlet's counter (a job; idempotent: a
// parcel picked up meanwhile gets none, and a second run finds the
// reminder event and does nothing).
func (l *Lockers) Remind(ctx context.Context, shipmentID string) error {
	if !l.stillWaiting(ctx, shipmentID) {
		return nil
	}
	return l.store.InTx(ctx, func(tx lokero.Tx) error {
		sh, err := tx.Shipment(ctx, shipmentID)
		if err != nil {
			return err
		}
		if sh.Status != lokero.StatusReadyForPickup {
			return nil
		}
		for _, e := range sh.Events {
			if e.Status == lokero.StatusReadyForPickup && strings.HasPrefix(e.Reason, "Reminder") {
				return nil
			}
		}
		loc, err := l.pointAt(sh.DestinationID)
		if err != nil {
			return err
		}
		now := tx.Now()
		until := sh.StorageDeadline.Add(-time.Minute).In(calendar.Helsinki).Format("2.1.2006")
		text := reminderText(loc, &sh, until)
		if err := queueTo(ctx, tx, sh.Recipient, lokero.OutboxMessage{TrackingCode: sh.TrackingCode, Kind: notify.KindReminder,
			Text: text, CreatedAt: now, ShipmentID: sh.ID}); err != nil {
			return err
		}
		sh.Note(now, loc.ID, "Reminder sent: the storage period ends on "+until+".")
		return tx.UpdateShipment(ctx, &sh)
	})
}

// NotYet is a job's answer when it runs before its time: nothing was
// done, and the job is to run again at Until (the jobs runner snoozes
// it: jobs.NotBefore).
type NotYet struct{ Until time.Time }

// Error says until when.
func (e *NotYet) Error() string {
	return "not yet: due at " + e.Until.UTC().Format(time.RFC3339Nano)
}

// NotBefore is when the job is due.
func (e *NotYet) NotBefore() time.Time { return e.Until }

// Expire ends the storage period of a parcel not picked up (a job; a
// no-op for a parcel picked up or already expired; run before the
// parcel's deadline it does nothing and answers NotYet): its
// opening or pickup code stops working and it joins the collection list of
// its locker or outlet, where it stays in its compartment or on its shelf
// place until the courier takes it. Its recipient is told that it goes
// back to the sender (queueExpired), in the same transaction.
func (l *Lockers) Expire(ctx context.Context, shipmentID string) error {
	if !l.stillWaiting(ctx, shipmentID) {
		return nil
	}
	return l.store.InTx(ctx, func(tx lokero.Tx) error {
		sh, err := tx.Shipment(ctx, shipmentID)
		if err != nil {
			return err
		}
		now := tx.Now()
		if sh.Status != lokero.StatusReadyForPickup {
			return nil
		}
		if now.Before(sh.StorageDeadline) {
			// Run early (the job runner's clock ahead of this one, or
			// its jobs taken a little before they are due): not done,
			// to be run again at the deadline, never dropped.
			return &NotYet{Until: sh.StorageDeadline}
		}
		if err := sh.Transition(lokero.StatusExpired, now, sh.DestinationID,
			"The 7-day storage period ended: the parcel goes back to the sender."); err != nil {
			return err
		}
		sh.OpeningCodeHash = nil
		if err := tx.UpdateShipment(ctx, &sh); err != nil {
			return err
		}
		// The recipient is told here; the retailer will be told by the
		// shipment's "expired" webhook event (issue 20, item 5), not by a
		// message of the outbox.
		return queueExpired(ctx, tx, &sh, l.calendar.Daytime(now))
	})
}

// stillWaiting reports whether a storage job may have work to do: false
// only when a read outside any transaction finds the parcel no longer
// ready for pickup. Most parcels are picked up before their reminder and
// their expiry: their jobs end with one read instead of a write
// transaction. A parcel that is not ready does not become ready again
// for these jobs (a new wait schedules jobs of its own), and one that is
// ready is checked again, locked, in the job's transaction.
func (l *Lockers) stillWaiting(ctx context.Context, shipmentID string) bool {
	sh, err := l.store.Shipment(ctx, shipmentID)
	return err != nil || sh.Status == lokero.StatusReadyForPickup
}

// reminderText is a reminder in the recipient's language: where the
// parcel waits (a parcel locker, or a post office's or pickup point's
// counter, with its address) and until when; the code is the one in the
// notice of arrival, never told again here.
func reminderText(loc *lokero.Location, sh *lokero.Shipment, until string) string {
	lang := sh.Recipient.Language
	name, street := clip(loc.Name, maxNameText), loc.Street
	if lang == "sv" && loc.StreetSV != "" {
		street = loc.StreetSV
	}
	street = clip(street, maxStreetText)
	if loc.Type.IsOutlet() {
		at := outletWords(loc.Type, lang).at
		switch lang {
		case "sv":
			return fmt.Sprintf("Påminnelse: ditt paket %s väntar %s %s, %s. Hämta det senast %s; avhämtningskoden finns i ankomstaviseringen. Ta med legitimation.", sh.TrackingCode, at, name, street, until)
		case "en":
			return fmt.Sprintf("Reminder: your parcel %s is waiting %s %s, %s. Collect it by %s; the pickup code is in the notice of arrival. Bring an ID.", sh.TrackingCode, at, name, street, until)
		default:
			return fmt.Sprintf("Muistutus: pakettisi %s odottaa %s %s, %s. Nouda viimeistään %s; noutokoodi on saapumisilmoituksessa. Ota mukaan henkilöllisyystodistus.", sh.TrackingCode, at, name, street, until)
		}
	}
	switch lang {
	case "sv":
		return fmt.Sprintf("Påminnelse: ditt paket %s väntar i paketautomaten %s, %s. Hämta det senast %s; öppningskoden finns i ankomstaviseringen.", sh.TrackingCode, name, street, until)
	case "en":
		return fmt.Sprintf("Reminder: your parcel %s is waiting in the parcel locker %s, %s. Collect it by %s; the opening code is in the notice of arrival.", sh.TrackingCode, name, street, until)
	default:
		return fmt.Sprintf("Muistutus: pakettisi %s odottaa pakettiautomaatissa %s, %s. Nouda viimeistään %s; avauskoodi on saapumisilmoituksessa.", sh.TrackingCode, name, street, until)
	}
}
