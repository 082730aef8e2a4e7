package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
)

// Remind queues the reminder of a parcel still waiting two days before its
// deadline (a job; idempotent: a parcel picked up meanwhile gets none, and
// a second run finds the reminder event and does nothing).
func (l *Lockers) Remind(ctx context.Context, shipmentID string) error {
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
		loc, err := l.lockerAt(sh.DestinationID)
		if err != nil {
			return err
		}
		now := tx.Now()
		until := sh.StorageDeadline.Add(-time.Minute).In(calendar.Helsinki).Format("2.1.2006")
		var text string
		switch sh.Recipient.Language {
		case "sv":
			text = fmt.Sprintf("Påminnelse: ditt paket %s väntar i paketautomaten %s, %s. Hämta det senast %s; öppningskoden finns i ankomstaviseringen.", sh.TrackingCode, loc.Name, loc.Street, until)
		case "en":
			text = fmt.Sprintf("Reminder: your parcel %s is waiting in the parcel locker %s, %s. Collect it by %s; the opening code is in the notice of arrival.", sh.TrackingCode, loc.Name, loc.Street, until)
		default:
			text = fmt.Sprintf("Muistutus: pakettisi %s odottaa pakettiautomaatissa %s, %s. Nouda viimeistään %s; avauskoodi on saapumisilmoituksessa.", sh.TrackingCode, loc.Name, loc.Street, until)
		}
		for _, ch := range []struct{ channel, to string }{{"sms", sh.Recipient.Phone}, {"email", sh.Recipient.Email}} {
			if ch.to == "" {
				continue
			}
			m := lokero.OutboxMessage{Channel: ch.channel, To: ch.to, TrackingCode: sh.TrackingCode, Kind: "reminder", Text: text, CreatedAt: now}
			if err := tx.AddOutbox(ctx, m); err != nil {
				return err
			}
		}
		sh.Note(now, loc.ID, "Reminder sent: the storage period ends on "+until+".")
		return tx.UpdateShipment(ctx, &sh)
	})
}

// Expire ends the storage period of a parcel not picked up (a job; a
// no-op for a parcel picked up or already expired, or run early): its code
// stops working and it joins the locker's collection list.
func (l *Lockers) Expire(ctx context.Context, shipmentID string) error {
	return l.store.InTx(ctx, func(tx lokero.Tx) error {
		sh, err := tx.Shipment(ctx, shipmentID)
		if err != nil {
			return err
		}
		now := tx.Now()
		if sh.Status != lokero.StatusReadyForPickup || now.Before(sh.StorageDeadline) {
			return nil
		}
		if err := sh.Transition(lokero.StatusExpired, now, sh.DestinationID,
			"The 7-day storage period ended: the parcel goes back to the sender."); err != nil {
			return err
		}
		sh.OpeningCodeHash = nil
		return tx.UpdateShipment(ctx, &sh)
	})
}
