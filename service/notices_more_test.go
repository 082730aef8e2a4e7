package service_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/notify"
	"github.com/lokero/lokero/notify/kannel"
	"github.com/lokero/lokero/service"
)

// languagePhrases are words each kind's text has in each language, by
// kind and language: the message is in the recipient's language.
var languagePhrases = map[string]map[string]string{
	notify.KindRerouted: {"fi": "on ohjattu uuteen noutopaikkaan", "sv": "har styrts om till ett nytt utlämningsställe", "en": "has been redirected to a new pickup point"},
	notify.KindExpired:  {"fi": "palautetaan lähettäjälle", "sv": "returneras till avsändaren", "en": "goes back to the sender"},
	notify.KindDropOffReceipt: {"fi": " on jätetty ", "sv": " lämnades in ",
		"en": "Receipt: your parcel was dropped off"},
}

// kindMessages returns the queued messages of a kind about a tracking
// code, by channel, failing the test on two of one channel.
func kindMessages(t *testing.T, l *service.Lockers, trackingCode, kind string) map[string]lokero.OutboxMessage {
	t.Helper()
	all, err := l.Outbox(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]lokero.OutboxMessage{}
	for _, m := range all {
		if m.TrackingCode != trackingCode || m.Kind != kind {
			continue
		}
		if _, dup := out[m.Channel]; dup {
			t.Errorf("two %s messages of %s over %s", kind, trackingCode, m.Channel)
		}
		out[m.Channel] = m
	}
	return out
}

// checkMessages checks that a person got exactly the messages of a kind
// on the channels they gave (to, by channel), in their language, each
// text holding every one of wants, telling no code and fitting two SMS
// segments.
func checkMessages(t *testing.T, got map[string]lokero.OutboxMessage, kind, lang string, to map[string]string, wants ...string) {
	t.Helper()
	if len(got) != len(to) {
		t.Errorf("%s: %d messages %v; want one on each of %v", kind, len(got), got, to)
	}
	for ch, addr := range to {
		m, ok := got[ch]
		if !ok {
			t.Errorf("%s: no %s message", kind, ch)
			continue
		}
		if m.To != addr || m.Code != nil || strings.Contains(m.Text, lokero.CodePlaceholder) || m.ShipmentID == "" {
			t.Errorf("%s over %s: to %q (want %q), code %v, shipment %q", kind, ch, m.To, addr, m.Code, m.ShipmentID)
		}
		if p := languagePhrases[kind][lang]; p != "" && !strings.Contains(m.Text, p) {
			t.Errorf("%s over %s: %q is not in %s (no %q)", kind, ch, m.Text, lang, p)
		}
		for _, w := range wants {
			if !strings.Contains(m.Text, w) {
				t.Errorf("%s over %s: %q lacks %q", kind, ch, m.Text, w)
			}
		}
		if coding, n := kannel.Segments(m.Text); n > kannel.MaxSegments {
			t.Errorf("%s in %s: %d %s segments (%d characters); want at most %d: %q", kind, lang, n, coding, len([]rune(m.Text)), kannel.MaxSegments, m.Text)
		}
	}
}

// channelsOf is where a party's messages go, by channel.
func channelsOf(p lokero.Party) map[string]string {
	out := map[string]string{}
	if p.Phone != "" {
		out[notify.ChannelSMS] = p.Phone
	}
	if p.Email != "" {
		out[notify.ChannelEmail] = p.Email
	}
	return out
}

// longNamed is a SMARTPOST next to SP-NEAR (nearer than SP-MID) with a
// name and a street longer than any message should carry whole, in
// characters all of the GSM alphabet.
func longNamed() lokero.Location {
	l := smartpost("SP-LONG", "00100", 60.1699, 24.9401)
	l.Name = "Smartpost Kauppakeskus Forum, pääsisäänkäynnin vieressä Mannerheimintien puolella, katutaso"
	l.Street = "Mannerheimintie 14-20 B, kauppakeskuksen katutaso"
	l.StreetSV = "Mannerheimvägen 14-20 B, köpcentrets gatuplan"
	return l
}

// bookIn books a small parcel to a point for a recipient speaking lang.
func (f lockersFixture) bookIn(t *testing.T, point, lang string) lokero.Shipment {
	t.Helper()
	req := request()
	req.PickupPointID = point
	req.Parcel.HeightCM = 8
	req.Recipient.Language = lang
	res, err := f.shipments.Create(context.Background(), f.retailer, req, "", nil)
	if err != nil || res.Shipment.DestinationID != point {
		t.Fatalf("booking to %s: %s, %v", point, res.Shipment.DestinationID, err)
	}
	return res.Shipment
}

// TestNoticeRerouteAtClosure: closing a point moves its parcels; the
// recipient of each parcel handed over is told of the new place, in their
// language, on each channel; a parcel still only booked gets nothing; a
// second run moves and sends nothing.
func TestNoticeRerouteAtClosure(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		if _, err := f.dir.Import(ctx, []lokero.Location{longNamed()}); err != nil {
			t.Fatal(err)
		}
		if err := f.shipments.SetRetailerShare(1); err != nil {
			t.Fatal(err)
		}
		booked := f.bookIn(t, "SP-NEAR", "fi")
		moving := map[string]lokero.Shipment{}
		for _, lang := range []string{"fi", "sv", "en"} {
			sh, err := f.shipments.HandoverByCourier(ctx, f.courier, f.bookIn(t, "SP-NEAR", lang).ID)
			if err != nil || sh.Status != lokero.StatusInTransit {
				t.Fatalf("handover: %s, %v", sh.Status, err)
			}
			moving[lang] = sh
		}
		if _, err := f.dir.Patch(ctx, "operator_1", "SP-NEAR", service.LocationPatch{Status: strp("TEMPORARILY_CLOSED"),
			StatusFrom: strp("2026-11-26"), StatusReason: strp("renovation")}); err != nil {
			t.Fatal(err)
		}
		res, err := f.shipments.RerouteClosed(ctx, "SP-NEAR")
		if err != nil || len(res.Rerouted) != 4 {
			t.Fatalf("rerouted %d, %v; want all 4", len(res.Rerouted), err)
		}
		for _, sh := range res.Rerouted {
			if sh.DestinationID != "SP-LONG" {
				t.Fatalf("%s went to %s; want SP-LONG, the nearest", sh.ID, sh.DestinationID)
			}
		}
		if got := kindMessages(t, f.lockers, booked.TrackingCode, notify.KindRerouted); len(got) != 0 {
			t.Errorf("a parcel still booked (CREATED) re-routed: %v; want no message", got)
		}
		streets := map[string]string{"fi": "Mannerheimintie 14-20 B", "sv": "Mannerheimvägen 14-20 B", "en": "Mannerheimintie 14-20 B"}
		for lang, sh := range moving {
			got := kindMessages(t, f.lockers, sh.TrackingCode, notify.KindRerouted)
			checkMessages(t, got, notify.KindRerouted, lang, channelsOf(sh.Recipient),
				sh.TrackingCode, "Smartpost Kauppakeskus Forum", streets[lang], "00100 Helsinki")
		}
		before, err := f.lockers.Outbox(ctx, 1000)
		if err != nil {
			t.Fatal(err)
		}
		if again, err := f.shipments.RerouteClosed(ctx, "SP-NEAR"); err != nil || len(again.Rerouted) != 0 {
			t.Fatalf("a second run: %d rerouted, %v", len(again.Rerouted), err)
		}
		if after, _ := f.lockers.Outbox(ctx, 1000); len(after) != len(before) {
			t.Errorf("a second run queued %d messages; want none", len(after)-len(before))
		}
	})
}

// TestNoticeRerouteAtFullLocker: a parcel re-routed at a full locker as
// the courier scans it: its recipient is told of the new locker.
func TestNoticeRerouteAtFullLocker(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		for range 2 { // LOCKER-M5's two compartments
			if _, err := f.lockers.Deposit(ctx, f.courier, "LOCKER-M5", f.inTransit(t).TrackingCode); err != nil {
				t.Fatal(err)
			}
		}
		// The expected count alone lets the next day's booking through
		// (the default margin would send it to the overflow at booking).
		if err := f.dir.Availability().SetMargin(0); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(24 * time.Hour)
		sh := f.inTransit(t)
		before := kindMessages(t, f.lockers, sh.TrackingCode, notify.KindRerouted)
		if len(before) != 0 {
			t.Fatalf("re-routing messages before the re-routing: %v", before)
		}
		_, err := f.lockers.Deposit(ctx, f.courier, "LOCKER-M5", sh.TrackingCode)
		if e, ok := err.(*lokero.Error); !ok || e.Reason != "no_free_compartment" {
			t.Fatalf("deposit into a full locker: %v", err)
		}
		got := kindMessages(t, f.lockers, sh.TrackingCode, notify.KindRerouted)
		checkMessages(t, got, notify.KindRerouted, "fi", channelsOf(sh.Recipient),
			sh.TrackingCode, "Smartpost SP-NEAR, Kauppakatu 1, 00100 Helsinki")
	})
}

// TestNoticeExpire: at the end of the storage period the recipient is
// told, in their language, that the parcel goes back to its sender (named,
// however long the name); a second run tells nothing more.
func TestNoticeExpire(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		ready := map[string]lokero.Shipment{}
		for _, lang := range []string{"fi", "sv", "en"} {
			req := request()
			req.PickupPointID = "SP-NEAR"
			req.Parcel.HeightCM = 8
			req.Recipient.Language = lang
			req.Sender.Name = "Verkkokauppa Oy, Suomen suurin kodintekniikan ja viihde-elektroniikan myymälä"
			res, err := f.shipments.Create(ctx, f.retailer, req, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.shipments.HandoverByCourier(ctx, f.courier, res.Shipment.ID); err != nil {
				t.Fatal(err)
			}
			dep, err := f.lockers.Deposit(ctx, f.courier, "SP-NEAR", res.Shipment.TrackingCode)
			if err != nil {
				t.Fatal(err)
			}
			sh, err := f.lockers.DoorClosed(ctx, f.other, "SP-NEAR", dep.Compartment.Number)
			if err != nil || sh.Status != lokero.StatusReadyForPickup {
				t.Fatalf("door closed: %s, %v", sh.Status, err)
			}
			if got := kindMessages(t, f.lockers, sh.TrackingCode, notify.KindExpired); len(got) != 0 {
				t.Fatalf("an expiry notice before the expiry: %v", got)
			}
			ready[lang] = sh
		}
		f.clock.Advance(8 * 24 * time.Hour)
		for lang, sh := range ready {
			for range 2 { // the second run: expired already, nothing more
				if err := f.lockers.Expire(ctx, sh.ID); err != nil {
					t.Fatal(err)
				}
			}
			got := kindMessages(t, f.lockers, sh.TrackingCode, notify.KindExpired)
			checkMessages(t, got, notify.KindExpired, lang, channelsOf(sh.Recipient), sh.TrackingCode, "Verkkokauppa Oy, Suomen suurin")
		}
	})
}

// TestNoticeDropOffReceipt: a return handed in at a counter sends its
// receipt to the consumer who returns it (the delivery's recipient) in
// their language; a pre-paid parcel's to its sender, on the one channel
// they gave; each with the tracking code it travels under and the place.
func TestNoticeDropOffReceipt(t *testing.T) {
	t.Parallel()
	eachOutletStore(t, func(t *testing.T, f outletFixture) {
		ctx := context.Background()
		store, _, err := f.shipments.AddRetailer(ctx, "Palautuskauppa", true)
		if err != nil {
			t.Fatal(err)
		}
		// Long names everywhere: the receipt still fits two segments.
		kiosk := kioskLocation()
		kiosk.Name = "R-kioski Kamppi, kauppakeskus Kampin katutaso, Urho Kekkosen kadun puoleinen sisäänkäynti"
		kiosk.Street = "Urho Kekkosen katu 1, kauppakeskus Kampin katutaso, kioski 4"
		if _, err := f.dir.Import(ctx, []lokero.Location{kiosk}); err != nil {
			t.Fatal(err)
		}
		for _, lang := range []string{"fi", "sv"} {
			req := request()
			req.PickupPointID = "PO-FAR"
			req.ReturnCode = true
			req.Recipient.Language = lang
			req.Sender.Name = "Verkkokauppa Oy, Suomen suurin kodintekniikan ja viihde-elektroniikan myymälä"
			res, err := f.shipments.Create(ctx, store, req, "", nil)
			if err != nil {
				t.Fatal(err)
			}
			delivery := f.handOver(t, res.Shipment)
			_, code := f.arrive(t, delivery)
			if _, err := f.lockers.CounterPickup(ctx, f.clerk, "PO-FAR", service.PickupRequest{PickupCode: code, IdentityChecked: true}); err != nil {
				t.Fatal(err)
			}
			got, err := f.lockers.CounterDropOff(ctx, f.kiosk, "PP-KIOSK", service.CounterDropOffRequest{Code: delivery.ReturnCode})
			if err != nil || got.Shipment.Status != lokero.StatusDroppedOff {
				t.Fatalf("return: %+v, %v", got.Shipment, err)
			}
			ret := got.Shipment
			if msgs := kindMessages(t, f.lockers, delivery.TrackingCode, notify.KindDropOffReceipt); len(msgs) != 0 {
				t.Errorf("a receipt under the delivery's tracking code: %v", msgs)
			}
			checkMessages(t, kindMessages(t, f.lockers, ret.TrackingCode, notify.KindDropOffReceipt), notify.KindDropOffReceipt, lang,
				channelsOf(delivery.Recipient), ret.TrackingCode, "R-kioski Kamppi, kauppakeskus Kampin katutaso", "Urho Kekkosen katu 1", "00100 Helsinki", "Verkkokauppa Oy, Suomen suurin")
		}

		pre := prepaidRequest()
		pre.Sender.Email, pre.Sender.Language = "maija@example.fi", "en"
		res, err := f.shipments.Prepaid(ctx, f.retailer, pre, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if msgs := kindMessages(t, f.lockers, res.Shipment.TrackingCode, notify.KindDropOffReceipt); len(msgs) != 0 {
			t.Fatalf("a receipt before the drop-off: %v", msgs)
		}
		pp, err := f.lockers.CounterDropOff(ctx, f.clerk, "PO-FAR", service.CounterDropOffRequest{Code: res.Shipment.ReturnCode})
		if err != nil {
			t.Fatal(err)
		}
		receipts := kindMessages(t, f.lockers, pp.Shipment.TrackingCode, notify.KindDropOffReceipt)
		checkMessages(t, receipts, notify.KindDropOffReceipt, "en",
			map[string]string{notify.ChannelEmail: "maija@example.fi"}, pp.Shipment.TrackingCode, "Posti Pasila", "Mummo Virtanen")
		// The e-mail around the text (subject, footer) is in the sender's
		// language too, not the recipient's.
		email, _ := withSenders(f.lockersFixture)
		if err := f.lockers.Deliver(ctx, receipts[notify.ChannelEmail].ID, 1); err != nil {
			t.Fatal(err)
		}
		if sent := email.messages(); len(sent) != 1 || sent[0].Language != "en" {
			t.Errorf("the receipt went as %+v; want one e-mail in en, the sender's language", sent)
		}
	})
}

// TestNoticeAgainRotateTellsOldCodeStops: a rotation queues a new notice
// of arrival on each channel, with the new code and the words that the
// old one no longer works; a notice sent again without rotation has not.
func TestNoticeAgainRotateTellsOldCodeStops(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		sh, first := f.readyWith(t, request())
		if _, err := f.lockers.NoticeAgain(ctx, "", sh.ID, false); err != nil {
			t.Fatal(err)
		}
		again := f.queued(t, sh.TrackingCode)
		for ch, m := range again {
			if m.ID == first[ch].ID || strings.Contains(m.Text, "ei enää toimi") {
				t.Errorf("sent again without rotation over %s: %q", ch, m.Text)
			}
		}
		if _, err := f.lockers.NoticeAgain(ctx, "", sh.ID, true); err != nil {
			t.Fatal(err)
		}
		rotated := f.queued(t, sh.TrackingCode)
		if len(rotated) != 2 {
			t.Fatalf("after a rotation: %v; want an SMS and an e-mail", rotated)
		}
		for ch, m := range rotated {
			if m.ID == again[ch].ID || m.Kind != notify.KindArrival || m.Code == nil || m.Code.Version == first[ch].Code.Version ||
				!strings.Contains(m.Text, "Koodi on vaihdettu: aiempi koodi ei enää toimi.") || !strings.Contains(m.Text, lokero.CodePlaceholder) {
				t.Errorf("the rotated notice over %s: %+v", ch, m)
			}
		}
		sent, err := sentMessages(ctx, f.lockers, 2)
		if err != nil || len(sent) != 2 {
			t.Fatalf("rendered: %v, %v", sent, err)
		}
	})
}

// TestNoticeUnreachable: a notice of arrival failing for good on both
// channels notes the parcel unreachable once, with both reasons and
// without the recipient's address; one channel failing alone notes
// nothing.
func TestNoticeUnreachable(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		email, sms := withSenders(f)
		sms.fail = func(_ int, m notify.Message) error {
			return notify.Permanent(errors.New("not a mobile number: " + m.To))
		}
		email.fail = func(int, notify.Message) error { return notify.Permanent(errors.New("550 5.1.1 mailbox unknown")) }
		notes := func(id string) []string {
			t.Helper()
			sh, err := f.shipments.Get(ctx, f.retailer, id)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, e := range sh.Events {
				if strings.HasPrefix(e.Reason, service.UnreachableNote) {
					out = append(out, e.Reason)
				}
			}
			return out
		}
		sh, queued := f.readyWith(t, request())
		if err := f.lockers.Deliver(ctx, queued["sms"].ID, 1); err != nil {
			t.Fatal(err)
		}
		if n := notes(sh.ID); len(n) != 0 {
			t.Fatalf("noted unreachable with the e-mail still queued: %v", n)
		}
		if err := f.lockers.Deliver(ctx, queued["email"].ID, 1); err != nil {
			t.Fatal(err)
		}
		for _, id := range []int64{queued["sms"].ID, queued["email"].ID} { // again: failed already
			if err := f.lockers.Deliver(ctx, id, 2); err != nil {
				t.Fatal(err)
			}
		}
		n := notes(sh.ID)
		want := service.UnreachableNote + "sms: not a mobile number: <sms>; email: 550 5.1.1 mailbox unknown"
		if len(n) != 1 || n[0] != want {
			t.Errorf("notes %q; want one: %q", n, want)
		}
		if strings.Contains(strings.Join(n, ""), sh.Recipient.Phone) {
			t.Errorf("the note tells the phone number: %q", n)
		}
		failed, err := f.lockers.Notifications(ctx, lokero.NotificationFilter{State: lokero.DeliveryFailed})
		if err != nil || len(failed) != 2 {
			t.Errorf("failed list: %v, %v; want both messages", failed, err)
		}

		// The e-mail goes through: one failed channel is no unreachable parcel.
		email.fail = nil
		req := request()
		req.Reference = "ORDER-2"
		other, queued := f.readyWith(t, req)
		for _, ch := range []string{"email", "sms"} {
			if err := f.lockers.Deliver(ctx, queued[ch].ID, 1); err != nil {
				t.Fatal(err)
			}
		}
		if got := f.message(t, queued["sms"].ID); got.State != lokero.DeliveryFailed {
			t.Fatalf("the SMS: %s; want failed", got.State)
		}
		if n := notes(other.ID); len(n) != 0 {
			t.Errorf("noted unreachable with the e-mail sent: %v", n)
		}
	})
}

// TestNoticeDropOffReceiptAtKeypad: a pre-paid parcel dropped off at a
// SMARTPOST's keypad gets its receipt when the door closes on it.
func TestNoticeDropOffReceiptAtKeypad(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		pre := prepaidRequest()
		pre.Sender.Email, pre.Sender.Language = "maija@example.fi", "fi"
		res, err := f.shipments.Prepaid(ctx, f.retailer, pre, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		open, err := f.lockers.Keypad(ctx, f.other, f.other.LocationID, res.Shipment.ReturnCode)
		if err != nil || open.Purpose != service.PurposeDropOff {
			t.Fatalf("drop-off code at the keypad: %+v, %v", open, err)
		}
		if msgs := kindMessages(t, f.lockers, res.Shipment.TrackingCode, notify.KindDropOffReceipt); len(msgs) != 0 {
			t.Fatalf("a receipt before the door closed: %v", msgs)
		}
		if _, err := f.lockers.DoorClosed(ctx, f.other, f.other.LocationID, open.Compartment); err != nil {
			t.Fatal(err)
		}
		checkMessages(t, kindMessages(t, f.lockers, res.Shipment.TrackingCode, notify.KindDropOffReceipt), notify.KindDropOffReceipt, "fi",
			map[string]string{notify.ChannelEmail: "maija@example.fi"}, res.Shipment.TrackingCode, "Mummo Virtanen")
	})
}
