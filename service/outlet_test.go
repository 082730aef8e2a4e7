package service_test

import (
	"context"
	"crypto/rand"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/notify"
	"github.com/lokero/lokero/service"
	"github.com/lokero/lokero/tracking"
)

// outletFixture is the locker fixture with the counters: PO-FAR, the
// network's POSTOFFICE (open Monday to Friday, 9-18), PP-KIOSK, a
// PICKUPPOINT open every day (collect and return, no send), a clerk of
// each and an operator.
type outletFixture struct {
	lockersFixture
	clerk    lokero.Credential // PO-FAR's
	kiosk    lokero.Credential // PP-KIOSK's
	operator lokero.Credential
	jobs     *recordingQueue
}

func kioskLocation() lokero.Location {
	hours := make([]lokero.OpeningHours, 7)
	for i := range hours {
		hours[i] = lokero.OpeningHours{Weekday: i + 1, From: "07:00", To: "22:00"}
	}
	return lokero.Location{ID: "PP-KIOSK", Type: lokero.TypePickupPoint, Name: "R-kioski Kamppi", Street: "Urho Kekkosen katu 1",
		Postcode: "00100", City: "Helsinki", Lat: 60.1690, Lon: 24.9320, OpeningHours: hours}
}

func newOutlets(t *testing.T, st lockerStore) outletFixture {
	t.Helper()
	ctx := context.Background()
	f := outletFixture{lockersFixture: newLockers(t, st), jobs: &recordingQueue{jobs: map[string]time.Time{}}}
	f.store.SetJobQueue(f.jobs)
	if _, err := f.dir.Import(ctx, []lokero.Location{kioskLocation()}); err != nil {
		t.Fatal(err)
	}
	var err error
	if f.clerk, _, err = f.lockers.AddCredential(ctx, lokero.KindClerk, "Paula Pasila", "PO-FAR"); err != nil {
		t.Fatal(err)
	}
	if f.kiosk, _, err = f.lockers.AddCredential(ctx, lokero.KindClerk, "Kalle Kioski", "PP-KIOSK"); err != nil {
		t.Fatal(err)
	}
	if f.operator, _, err = f.lockers.AddCredential(ctx, lokero.KindOperator, "Olli", ""); err != nil {
		t.Fatal(err)
	}
	return f
}

// eachOutletStore runs an outlet test on every store.
func eachOutletStore(t *testing.T, test func(t *testing.T, f outletFixture)) {
	t.Helper()
	onEveryStore(t, newOutlets, test)
}

// book books a parcel to an outlet for a store (cash on delivery of
// cents, none for 0; with a return code when the store offers free
// returns); it is not handed over.
func (f outletFixture) book(t *testing.T, store lokero.Retailer, outlet string, cents int64) lokero.Shipment {
	t.Helper()
	req := request()
	req.PickupPointID = outlet
	req.ReturnCode = store.FreeReturns
	if cents > 0 {
		req.COD = &service.CODRequest{AmountCents: cents, Currency: "EUR"}
	}
	res, err := f.shipments.Create(context.Background(), store, req, "", nil)
	if err != nil || res.Shipment.DestinationID != outlet {
		t.Fatalf("book to %s: %v, %v", outlet, res.Shipment.DestinationID, err)
	}
	return res.Shipment
}

// toOutlet books a parcel to an outlet and hands it over.
func (f outletFixture) toOutlet(t *testing.T, outlet string, cents int64) lokero.Shipment {
	t.Helper()
	return f.handOver(t, f.book(t, f.retailer, outlet, cents))
}

func (f outletFixture) handOver(t *testing.T, sh lokero.Shipment) lokero.Shipment {
	t.Helper()
	sh, err := f.shipments.HandoverByCourier(context.Background(), f.courier, sh.ID)
	if err != nil {
		t.Fatal(err)
	}
	return sh
}

// arrive scans a parcel in at its outlet with that outlet's clerk and
// returns it with the pickup code of its notice of arrival.
func (f outletFixture) arrive(t *testing.T, sh lokero.Shipment) (service.CounterParcel, string) {
	t.Helper()
	ctx := context.Background()
	clerk := f.clerk
	if sh.DestinationID == "PP-KIOSK" {
		clerk = f.kiosk
	}
	got, err := f.lockers.Arrive(ctx, clerk, sh.DestinationID, sh.TrackingCode)
	if err != nil {
		t.Fatalf("arrival of %s at %s: %v", sh.TrackingCode, sh.DestinationID, err)
	}
	msgs, err := sentMessages(ctx, f.lockers, 1)
	if err != nil || len(msgs) == 0 || msgs[0].TrackingCode != sh.TrackingCode {
		t.Fatalf("no notice of arrival for %s: %v", sh.TrackingCode, err)
	}
	m := codePattern.FindStringSubmatch(msgs[0].Text)
	if m == nil {
		t.Fatalf("no pickup code in %q", msgs[0].Text)
	}
	return got, m[1]
}

// checkError fails the test unless err is a coded error with the code,
// the reason (when not "") and the field (when not "").
func checkError(t *testing.T, what string, err error, code, reason, field string) {
	t.Helper()
	var e *lokero.Error
	if !asError(err, &e) || e.Code != code || (reason != "" && e.Reason != reason) || (field != "" && e.Field != field) {
		t.Errorf("%s: %v (%+v); want %s %s naming %q", what, err, e, code, reason, field)
	}
}

func outboxLen(t *testing.T, f outletFixture) int {
	t.Helper()
	all, err := f.lockers.Outbox(context.Background(), 1000)
	if err != nil {
		t.Fatal(err)
	}
	return len(all)
}

// TestCounterPickupEndToEnd: a shipment to a POSTOFFICE is created,
// handed over, arrives at the counter (a shelf place, the deadline on the
// outlet's calendar, the notice with the code and the hours queued, the
// code nowhere in clear) and is picked up with its pickup code; an
// arrival scanned twice changes nothing.
func TestCounterPickupEndToEnd(t *testing.T) {
	t.Parallel()
	eachOutletStore(t, func(t *testing.T, f outletFixture) {
		ctx := context.Background()
		created := f.book(t, f.retailer, "PO-FAR", 0)
		_, err := f.lockers.Arrive(ctx, f.clerk, "PO-FAR", created.TrackingCode)
		checkError(t, "arrival before the handover", err, lokero.ECONFLICT, lokero.ReasonIllegalTransition, "")
		sh := f.handOver(t, created)

		_, err = f.lockers.Arrive(ctx, f.kiosk, "PO-FAR", sh.TrackingCode)
		checkError(t, "another outlet's clerk", err, lokero.EFORBIDDEN, "other_outlet", "")
		_, err = f.lockers.Arrive(ctx, f.kiosk, "PP-KIOSK", sh.TrackingCode)
		checkError(t, "a parcel for another outlet", err, lokero.ECONFLICT, "wrong_outlet", "tracking_code")
		if e := new(lokero.Error); asError(err, &e) && !strings.Contains(e.Message, "Posti Pasila") {
			t.Errorf("wrong outlet %q does not say where the parcel goes", e.Message)
		}
		before := outboxLen(t, f)

		ready, code := f.arrive(t, sh)
		got := ready.Shipment
		if ready.ShelfPlace != "A-1" || got.Compartment != 1 || got.Status != lokero.StatusReadyForPickup {
			t.Fatalf("arrival: %s on %q (%d); want READY_FOR_PICKUP on A-1", got.Status, ready.ShelfPlace, got.Compartment)
		}
		// Wednesday 25 November 2026: seven days on which the post office is
		// open (Monday to Friday) after it end on Friday 4 December.
		wantDeadline := time.Date(2026, 12, 5, 0, 0, 0, 0, lokero.Helsinki)
		if !got.StorageDeadline.Equal(wantDeadline) {
			t.Errorf("deadline %v; want the end of Friday 4 December, %v", got.StorageDeadline, wantDeadline)
		}
		if due := f.jobs.jobs[service.JobExpiry+" "+sh.ID]; !due.Equal(wantDeadline) {
			t.Errorf("expiry job due %v; want %v", due, wantDeadline)
		}
		if due, want := f.jobs.jobs[service.JobReminder+" "+sh.ID], calendar.Default().ReminderAt(wantDeadline, 2); !due.Equal(want) {
			t.Errorf("reminder job due %v; want %v", due, want)
		}
		if len(code) != 11 || string(got.OpeningCodeHash) == code || len(got.OpeningCodeHash) == 0 {
			t.Errorf("pickup code of %d digits, hash %x: want 11 digits stored only as a hash", len(code), got.OpeningCodeHash)
		}
		msgs, err := sentMessages(ctx, f.lockers, 2) // checks that no code is stored in clear
		if err != nil || len(msgs) != 2 || outboxLen(t, f) != before+2 {
			t.Fatalf("notices of arrival: %d (%v); want SMS and e-mail", len(msgs), err)
		}
		stored, err := f.lockers.Outbox(ctx, 2)
		if err != nil {
			t.Fatal(err)
		}
		for i, m := range msgs {
			if stored[i].Code == nil || stored[i].Code.LocationID != "PO-FAR" || strings.Contains(stored[i].Text, code) {
				t.Errorf("stored notice %q (code %+v): want a placeholder for PO-FAR's code", stored[i].Text, stored[i].Code)
			}
			// The SMS tells the hours of the days that fit its two
			// segments, in GSM's characters; the e-mail the week's.
			hours := []string{"ke 25.11. 9.00-18.00", "la 28.11. suljettu", "su 29.11. suljettu"}
			if m.Channel == notify.ChannelEmail {
				hours = []string{"ke 25.11. 9.00–18.00", "la 28.11. suljettu", "su 29.11. suljettu", "ti 1.12. 9.00–18.00"}
			}
			for _, want := range append([]string{"Posti Pasila", "Ratapihantie 11", "00520 Helsinki", "Noutokoodi: " + code, "4.12.2026",
				"henkilöllisyystodistus"}, hours...) {
				if !strings.Contains(m.Text, want) {
					t.Errorf("notice %q lacks %q", m.Text, want)
				}
			}
			if strings.Contains(m.Text, "ke 2.12.") || strings.Contains(m.Text, "A-1") {
				t.Errorf("notice %q tells more than 7 days of hours, or the shelf place", m.Text)
			}
		}

		// Scanned twice: the same answer, nothing written.
		again, err := f.lockers.Arrive(ctx, f.clerk, "PO-FAR", sh.TrackingCode)
		if err != nil || again.ShelfPlace != "A-1" || len(again.Shipment.Events) != len(got.Events) || outboxLen(t, f) != before+2 {
			t.Fatalf("arrival scanned twice: %+v, %v; want the same parcel on A-1, no new event or notice", again.ShelfPlace, err)
		}
		second, secondCode := f.arrive(t, f.toOutlet(t, "PO-FAR", 0))
		if second.ShelfPlace != "A-2" || secondCode == code {
			t.Fatalf("second parcel on %s with code %s; want A-2 and another code", second.ShelfPlace, secondCode)
		}

		// The pickup: the clerk checks the ID.
		_, err = f.lockers.CounterPickup(ctx, f.clerk, "PO-FAR", service.PickupRequest{PickupCode: code})
		checkError(t, "no identity check", err, lokero.EINVALID, "", "identity_checked")
		_, err = f.lockers.CounterPickup(ctx, f.clerk, "PO-FAR", service.PickupRequest{PickupCode: "1" + code[1:] + "9", IdentityChecked: true})
		checkError(t, "a wrong pickup code", err, lokero.ENOTFOUND, "unknown_pickup_code", "pickup_code")
		_, err = f.lockers.CounterPickup(ctx, f.kiosk, "PP-KIOSK", service.PickupRequest{PickupCode: code, IdentityChecked: true})
		checkError(t, "the code at another outlet", err, lokero.ENOTFOUND, "unknown_pickup_code", "pickup_code")
		done, err := f.lockers.CounterPickup(ctx, f.clerk, "PO-FAR", service.PickupRequest{PickupCode: code[:4] + " " + code[4:], IdentityChecked: true})
		if err != nil || done.Result != service.ResultPickedUp || done.ShelfPlace != "A-1" || done.Shipment.Status != lokero.StatusPickedUp {
			t.Fatalf("pickup with the code: %+v, %v", done, err)
		}
		p := done.Shipment.Pickup
		if p == nil || p.By != lokero.PickedUpByRecipient || p.LocationID != "PO-FAR" || p.ClerkID != f.clerk.ID || p.Representative != "" || !p.At.Equal(f.clock.Now()) {
			t.Errorf("pickup recorded %+v", p)
		}
		if done.Shipment.Compartment != 0 || done.Shipment.OpeningCodeHash != nil || done.Shipment.SizeClass != "" {
			t.Errorf("after pickup: place %d, code hash %x, reservation %q; want none", done.Shipment.Compartment, done.Shipment.OpeningCodeHash, done.Shipment.SizeClass)
		}
		seen, err := f.shipments.Get(ctx, f.retailer, sh.ID)
		if err != nil || seen.Status != lokero.StatusPickedUp || seen.Pickup == nil || seen.Pickup.LocationID != "PO-FAR" || seen.Pickup.ClerkID != f.clerk.ID {
			t.Errorf("the retailer's shipment: %s, pickup %+v, %v; want PICKED_UP at PO-FAR", seen.Status, seen.Pickup, err)
		}
		// The booking reserved a shelf place of its day; the pickup gave
		// it back, and the second parcel's is left.
		if r, err := f.store.ReservedOn(ctx, sh.DeliveryDate, "PO-FAR"); err != nil || sh.SizeClass != lokero.ShelfSize || r["PO-FAR"][lokero.ShelfSize] != 1 {
			t.Errorf("reservations after the pickup: %v (the parcel's %q), %v; want the second parcel's only", r, sh.SizeClass, err)
		}
		_, err = f.lockers.CounterPickup(ctx, f.clerk, "PO-FAR", service.PickupRequest{PickupCode: code, IdentityChecked: true})
		checkError(t, "a used pickup code", err, lokero.ENOTFOUND, "unknown_pickup_code", "pickup_code")
		// Its shelf place is free for the next parcel.
		if third, _ := f.arrive(t, f.toOutlet(t, "PO-FAR", 0)); third.ShelfPlace != "A-1" {
			t.Errorf("the next parcel on %s; want the freed A-1", third.ShelfPlace)
		}

		// A representative, by the tracking code, with a power of attorney.
		_, err = f.lockers.CounterPickup(ctx, f.clerk, "PO-FAR", service.PickupRequest{TrackingCode: second.Shipment.TrackingCode, IdentityChecked: true, Representative: "Maija Edustaja"})
		checkError(t, "a representative without a power of attorney", err, lokero.EINVALID, "", "power_of_attorney")
		rep, err := f.lockers.CounterPickup(ctx, f.clerk, "PO-FAR", service.PickupRequest{TrackingCode: strings.ToLower(second.Shipment.TrackingCode),
			IdentityChecked: true, Representative: " Maija Edustaja ", PowerOfAttorney: true})
		if err != nil || rep.Result != service.ResultPickedUp || rep.ShelfPlace != "A-2" {
			t.Fatalf("pickup by a representative: %+v, %v", rep, err)
		}
		if p := rep.Shipment.Pickup; p == nil || p.By != lokero.PickedUpByRepresentative || p.Representative != "Maija Edustaja" {
			t.Errorf("pickup by a representative recorded %+v", p)
		}
		for _, e := range rep.Shipment.Events {
			if strings.Contains(e.Reason, "Maija") || strings.Contains(e.Reason, "A-2") {
				t.Errorf("event %q tells the representative or the shelf place to tracking", e.Reason)
			}
		}
		_, err = f.lockers.CounterPickup(ctx, f.clerk, "PO-FAR", service.PickupRequest{TrackingCode: second.Shipment.TrackingCode, IdentityChecked: true})
		checkError(t, "a parcel picked up already", err, lokero.ENOTFOUND, "not_on_shelf", "tracking_code")
	})
}

// TestCounterBadInput: every refusal names the field, and changes nothing.
func TestCounterBadInput(t *testing.T) {
	t.Parallel()
	eachOutletStore(t, func(t *testing.T, f outletFixture) {
		ctx := context.Background()
		sh := f.toOutlet(t, "PO-FAR", 0)
		unknown, err := tracking.New(rand.Reader, service.TrackingPrefix)
		if err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			name, code, reason, field string
			call                      func() error
		}{
			{"a malformed tracking code", lokero.EINVALID, "malformed", "tracking_code", func() error {
				_, err := f.lockers.Arrive(ctx, f.clerk, "PO-FAR", "CL12345")
				return err
			}},
			{"an unknown tracking code", lokero.ENOTFOUND, "unknown_tracking_code", "tracking_code", func() error {
				_, err := f.lockers.Arrive(ctx, f.clerk, "PO-FAR", unknown)
				return err
			}},
			{"the wrong outlet", lokero.ECONFLICT, "wrong_outlet", "tracking_code", func() error {
				_, err := f.lockers.Arrive(ctx, f.kiosk, "PP-KIOSK", sh.TrackingCode)
				return err
			}},
			{"no code at all", lokero.EINVALID, "required", "pickup_code", func() error {
				_, err := f.lockers.CounterPickup(ctx, f.clerk, "PO-FAR", service.PickupRequest{IdentityChecked: true})
				return err
			}},
			{"both codes", lokero.EINVALID, "ambiguous", "pickup_code", func() error {
				_, err := f.lockers.CounterPickup(ctx, f.clerk, "PO-FAR", service.PickupRequest{PickupCode: "12345678901", TrackingCode: sh.TrackingCode, IdentityChecked: true})
				return err
			}},
			{"a pickup without the identity checked", lokero.EINVALID, "required", "identity_checked", func() error {
				_, err := f.lockers.CounterPickup(ctx, f.clerk, "PO-FAR", service.PickupRequest{TrackingCode: sh.TrackingCode})
				return err
			}},
			{"a representative without a power of attorney", lokero.EINVALID, "required", "power_of_attorney", func() error {
				_, err := f.lockers.CounterPickup(ctx, f.clerk, "PO-FAR", service.PickupRequest{TrackingCode: sh.TrackingCode, IdentityChecked: true, Representative: "Edustaja"})
				return err
			}},
			{"a parcel not on the shelf", lokero.ENOTFOUND, "not_on_shelf", "tracking_code", func() error {
				_, err := f.lockers.CounterPickup(ctx, f.clerk, "PO-FAR", service.PickupRequest{TrackingCode: sh.TrackingCode, IdentityChecked: true})
				return err
			}},
			{"an unknown payment method", lokero.EINVALID, "unknown_method", "payment.method", func() error {
				_, err := f.lockers.CounterPickup(ctx, f.clerk, "PO-FAR", service.PickupRequest{TrackingCode: sh.TrackingCode, IdentityChecked: true,
					Payment: &service.CounterPayment{Method: "cheque", AmountCents: 100}})
				return err
			}},
			{"a drop-off with nothing to name the parcel", lokero.EINVALID, "required", "code", func() error {
				_, err := f.lockers.CounterDropOff(ctx, f.clerk, "PO-FAR", service.CounterDropOffRequest{})
				return err
			}},
			{"a malformed drop-off code", lokero.EINVALID, "malformed", "code", func() error {
				_, err := f.lockers.CounterDropOff(ctx, f.clerk, "PO-FAR", service.CounterDropOffRequest{Code: "123"})
				return err
			}},
			{"a return without its code, postcode malformed", lokero.EINVALID, "malformed", "postcode", func() error {
				_, err := f.lockers.CounterDropOff(ctx, f.clerk, "PO-FAR", service.CounterDropOffRequest{TrackingCode: sh.TrackingCode, Postcode: "1"})
				return err
			}},
			{"an unknown outlet", lokero.ENOTFOUND, "unknown_outlet", "", func() error {
				_, err := f.lockers.Arrive(ctx, lokero.Credential{Kind: lokero.KindClerk, LocationID: "SP-NEAR"}, "SP-NEAR", sh.TrackingCode)
				return err
			}},
			{"a courier at the counter", lokero.EFORBIDDEN, "not_a_clerk", "", func() error {
				_, err := f.lockers.Arrive(ctx, f.courier, "PO-FAR", sh.TrackingCode)
				return err
			}},
		} {
			checkError(t, tt.name, tt.call(), tt.code, tt.reason, tt.field)
		}
		if got, err := f.shipments.Get(ctx, f.retailer, sh.ID); err != nil || got.Status != lokero.StatusInTransit || len(got.Events) != len(sh.Events) {
			t.Errorf("after the refusals: %s with %d events, %v; want it unchanged", got.Status, len(got.Events), err)
		}
	})
}

// TestClerkActsOnlyAtOwnOutlet: a clerk of one outlet is refused at
// another, whatever the call; the operator sees every outlet.
func TestClerkActsOnlyAtOwnOutlet(t *testing.T) {
	t.Parallel()
	eachOutletStore(t, func(t *testing.T, f outletFixture) {
		ctx := context.Background()
		sh := f.toOutlet(t, "PO-FAR", 0)
		_, code := f.arrive(t, sh)
		for name, call := range map[string]func() error{
			"arrival": func() error { _, err := f.lockers.Arrive(ctx, f.kiosk, "PO-FAR", sh.TrackingCode); return err },
			"pickup": func() error {
				_, err := f.lockers.CounterPickup(ctx, f.kiosk, "PO-FAR", service.PickupRequest{PickupCode: code, IdentityChecked: true})
				return err
			},
			"drop-off": func() error {
				_, err := f.lockers.CounterDropOff(ctx, f.kiosk, "PO-FAR", service.CounterDropOffRequest{Code: sh.ReturnCode})
				return err
			},
			"view": func() error { _, err := f.lockers.OutletView(ctx, f.kiosk, "PO-FAR"); return err },
		} {
			checkError(t, "another outlet's clerk: "+name, call(), lokero.EFORBIDDEN, "other_outlet", "")
		}
		checkError(t, "a courier's view", func() error { _, err := f.lockers.OutletView(ctx, f.courier, "PO-FAR"); return err }(), lokero.EFORBIDDEN, "", "")
		if got, err := f.shipments.Get(ctx, f.retailer, sh.ID); err != nil || got.Status != lokero.StatusReadyForPickup {
			t.Fatalf("after another outlet's clerk: %s, %v", got.Status, err)
		}
		for _, viewer := range []lokero.Credential{f.operator, f.clerk} {
			v, err := f.lockers.OutletView(ctx, viewer, "PO-FAR")
			if err != nil || len(v.OnShelf) != 1 || v.OnShelf[0].ShelfPlace != "A-1" {
				t.Errorf("%s's view: %+v, %v", viewer.Kind, v.OnShelf, err)
			}
		}
	})
}

// TestCounterCashOnDeliveryByCard: the amount is asked before the parcel
// is handed over, a wrong amount is refused, the card payment and the
// handover happen together, and the settlement shows the payment under
// the post office, by card, next to a locker terminal's.
func TestCounterCashOnDeliveryByCard(t *testing.T) {
	t.Parallel()
	eachOutletStore(t, func(t *testing.T, f outletFixture) {
		ctx := context.Background()
		sh := f.toOutlet(t, "PO-FAR", 4990)
		ready, code := f.arrive(t, sh)
		req := service.PickupRequest{PickupCode: code, IdentityChecked: true}
		due, err := f.lockers.CounterPickup(ctx, f.clerk, "PO-FAR", req)
		if err != nil || due.Result != service.ResultPaymentRequired || due.AmountCents != 4990 || due.Currency != "EUR" || due.ShelfPlace != ready.ShelfPlace {
			t.Fatalf("pickup of an unpaid COD parcel: %+v, %v; want payment_required 4990 EUR", due, err)
		}
		req.Payment = &service.CounterPayment{Method: "card", AmountCents: 4000, Reference: "AUTH-1"}
		_, err = f.lockers.CounterPickup(ctx, f.clerk, "PO-FAR", req)
		checkError(t, "a partial payment", err, lokero.EUNPROCESSABLE, "amount_mismatch", "payment.amount_cents")
		if got, _ := f.shipments.Get(ctx, f.retailer, sh.ID); got.Status != lokero.StatusReadyForPickup || got.COD.CollectedAt != nil {
			t.Fatalf("after the refusals: %s, COD %+v; want it waiting, unpaid", got.Status, got.COD)
		}
		req.Payment = &service.CounterPayment{Method: " Card ", AmountCents: 4990, Reference: "AUTH-2"}
		done, err := f.lockers.CounterPickup(ctx, f.clerk, "PO-FAR", req)
		if err != nil || done.Result != service.ResultPickedUp || done.Shipment.Status != lokero.StatusPickedUp {
			t.Fatalf("the paid pickup: %+v, %v", done, err)
		}
		stored, err := f.shipments.Get(ctx, f.retailer, sh.ID)
		if err != nil {
			t.Fatal(err)
		}
		if c := stored.COD; c.CollectedAt == nil || c.Method != lokero.PaymentCard || c.LocationID != "PO-FAR" || c.TerminalRef != "AUTH-2" {
			t.Errorf("COD recorded %+v; want collected by card at PO-FAR, AUTH-2", c)
		}
		// A parcel with nothing to pay takes no payment.
		plain, plainCode := f.arrive(t, f.toOutlet(t, "PO-FAR", 0))
		_, err = f.lockers.CounterPickup(ctx, f.clerk, "PO-FAR", service.PickupRequest{PickupCode: plainCode, IdentityChecked: true,
			Payment: &service.CounterPayment{Method: "cash", AmountCents: 4990}})
		checkError(t, "a payment for a parcel without COD", err, lokero.ECONFLICT, "no_payment_due", "payment")
		if _, err := f.lockers.CounterPickup(ctx, f.clerk, "PO-FAR", service.PickupRequest{TrackingCode: plain.Shipment.TrackingCode, IdentityChecked: true}); err != nil {
			t.Fatal(err)
		}

		// A locker terminal's payment the same day: the settlement splits the day.
		cod := codFixture{lockersFixture: f.lockersFixture}
		pay := smartpost("SP-PAY", "00100", 60.1710, 24.9410)
		pay.PaymentTerminal = true
		if _, err := f.dir.Import(ctx, []lokero.Location{pay}); err != nil {
			t.Fatal(err)
		}
		if cod.pay, _, err = f.lockers.AddCredential(ctx, lokero.KindDevice, "PAY", "SP-PAY"); err != nil {
			t.Fatal(err)
		}
		_, number, lockerCode := cod.ready(t, 1500)
		if kp, err := f.lockers.Keypad(ctx, cod.pay, "SP-PAY", lockerCode); err != nil || kp.Result != "payment_required" {
			t.Fatalf("keypad: %+v, %v", kp, err)
		}
		if _, err := f.lockers.Payment(ctx, cod.pay, "SP-PAY", number, 1500, "T-1"); err != nil {
			t.Fatal(err)
		}
		list, err := f.lockers.Settlements(ctx, lokero.DateOf(f.clock.Now()))
		if err != nil || len(list) != 1 || list[0].AmountCents != 6490 || list[0].Shipments != 2 {
			t.Fatalf("settlements: %+v, %v; want the retailer's 49.90 + 15.00", list, err)
		}
		want := []service.LocationSettlement{
			{LocationID: "PO-FAR", Name: "Posti Pasila", Type: lokero.TypePostOffice, Shipments: 1, AmountCents: 4990, CardCents: 4990},
			{LocationID: "SP-PAY", Name: pay.Name, Type: lokero.TypeSmartpost, Shipments: 1, AmountCents: 1500, TerminalCents: 1500},
		}
		if !slices.Equal(list[0].Locations, want) {
			t.Errorf("settlement by place: %+v; want %+v", list[0].Locations, want)
		}
	})
}

// TestCounterDeadline: seven days on which the outlet is open, from the
// day after the arrival, to the end of the seventh.
func TestCounterDeadline(t *testing.T) {
	t.Parallel()
	weekdays := func(last int) []lokero.OpeningHours {
		var h []lokero.OpeningHours
		for d := 1; d <= last; d++ {
			h = append(h, lokero.OpeningHours{Weekday: d, From: "09:00", To: "18:00"})
		}
		return h
	}
	hel := func(y int, m time.Month, d, hour int) time.Time {
		return time.Date(y, m, d, hour, 0, 0, 0, lokero.Helsinki)
	}
	wednesday := hel(2026, 11, 25, 14) // Wednesday 25 November 2026
	for _, tt := range []struct {
		name    string
		loc     lokero.Location
		arrival time.Time
		want    time.Time
	}{
		{"open every day: the locker's deadline", lokero.Location{OpeningHours: lokero.AlwaysOpen()}, wednesday,
			calendar.Default().StorageDeadline(wednesday, calendar.StorageDays)},
		{"no opening hours known: every day counts", lokero.Location{}, wednesday, hel(2026, 12, 3, 0)},
		{"closed on Sundays", lokero.Location{OpeningHours: weekdays(6)}, wednesday, hel(2026, 12, 4, 0)},
		{"Monday to Friday", lokero.Location{OpeningHours: weekdays(5)}, wednesday, hel(2026, 12, 5, 0)},
		{"an arrival late in the evening counts its day", lokero.Location{OpeningHours: weekdays(5)}, hel(2026, 11, 25, 23), hel(2026, 12, 5, 0)},
		{"an arrival on a Saturday", lokero.Location{OpeningHours: weekdays(6)}, hel(2026, 11, 28, 10), hel(2026, 12, 8, 0)},
		{"a closed exception day", lokero.Location{OpeningHours: weekdays(5),
			ExceptionDays: []lokero.ExceptionDay{{Date: "2026-11-30", Closed: true, Reason: "inventory"}}}, wednesday, hel(2026, 12, 8, 0)},
		{"an exception day open on a Saturday", lokero.Location{OpeningHours: weekdays(5),
			ExceptionDays: []lokero.ExceptionDay{{Date: "2026-11-28", From: "10:00", To: "14:00"}}}, wednesday, hel(2026, 12, 4, 0)},
		{"a temporary closure", lokero.Location{OpeningHours: weekdays(5), Status: lokero.LocationTemporarilyClosed,
			StatusFrom: "2026-11-30", StatusUntil: "2026-12-02"}, wednesday, hel(2026, 12, 10, 0)},
		{"closed for good: at most 60 days", lokero.Location{OpeningHours: weekdays(5), Status: lokero.LocationClosed}, wednesday, hel(2027, 1, 25, 0)},
		{"closed until further notice: at most 60 days", lokero.Location{Status: lokero.LocationTemporarilyClosed, StatusFrom: "2026-11-26"}, wednesday, hel(2027, 1, 25, 0)},
		{"across the end of summer time", lokero.Location{}, hel(2026, 10, 21, 12), hel(2026, 10, 29, 0)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := service.CounterDeadline(&tt.loc, tt.arrival.UTC()); !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("deadline %v; want %v (UTC)", got.In(lokero.Helsinki), tt.want)
			}
		})
	}
}

// TestCounterStoragePeriod: a parcel left at the counter for 8 days is
// reminded, expires, is on the outlet's collection list, is collected
// and returned to its sender, the retailer seeing every step; its shelf
// place is free again.
func TestCounterStoragePeriod(t *testing.T) {
	t.Parallel()
	eachOutletStore(t, func(t *testing.T, f outletFixture) {
		ctx := context.Background()
		sh := f.toOutlet(t, "PP-KIOSK", 0)
		ready, code := f.arrive(t, sh)
		// Open every day: the locker's seven calendar days.
		if want := calendar.Default().StorageDeadline(f.clock.Now(), calendar.StorageDays); !ready.Shipment.StorageDeadline.Equal(want) {
			t.Errorf("deadline at a point open every day %v; want %v", ready.Shipment.StorageDeadline, want)
		}
		f.clock.Advance(8 * 24 * time.Hour)
		for range 2 {
			if err := f.lockers.Remind(ctx, sh.ID); err != nil {
				t.Fatal(err)
			}
		}
		msgs, err := sentMessages(ctx, f.lockers, 10)
		if err != nil {
			t.Fatal(err)
		}
		reminders := 0
		for _, m := range msgs {
			if m.Kind != "reminder" || m.TrackingCode != sh.TrackingCode {
				continue
			}
			reminders++
			for _, want := range []string{"noutopisteessä R-kioski Kamppi", "Urho Kekkosen katu 1", "noutokoodi"} {
				if !strings.Contains(m.Text, want) {
					t.Errorf("reminder %q lacks %q", m.Text, want)
				}
			}
			if strings.Contains(m.Text, "pakettiautomaat") || strings.Contains(m.Text, code) {
				t.Errorf("reminder %q speaks of a parcel locker or tells the code", m.Text)
			}
		}
		if reminders != 2 {
			t.Errorf("%d reminders; want one by SMS and one by e-mail, once", reminders)
		}
		for range 2 {
			if err := f.lockers.Expire(ctx, sh.ID); err != nil {
				t.Fatal(err)
			}
		}
		_, err = f.lockers.CounterPickup(ctx, f.kiosk, "PP-KIOSK", service.PickupRequest{PickupCode: code, IdentityChecked: true})
		checkError(t, "an expired parcel's code", err, lokero.ENOTFOUND, "unknown_pickup_code", "pickup_code")
		_, err = f.lockers.CounterPickup(ctx, f.kiosk, "PP-KIOSK", service.PickupRequest{TrackingCode: sh.TrackingCode, IdentityChecked: true})
		checkError(t, "an expired parcel by its tracking code", err, lokero.ECONFLICT, "expired", "")

		if _, err := f.lockers.Collections(ctx, f.kiosk, "PP-KIOSK"); lokero.ErrorCode(err) != lokero.EFORBIDDEN {
			t.Errorf("a clerk's collection list: %v; want EFORBIDDEN", err)
		}
		list, err := f.lockers.Collections(ctx, f.courier, "PP-KIOSK")
		if err != nil || len(list) != 1 || list[0].ID != sh.ID || list[0].Compartment != ready.Shipment.Compartment {
			t.Fatalf("collection list: %+v, %v; want the expired parcel on its place", list, err)
		}
		_, _, err = f.lockers.Collect(ctx, f.courier, "PP-KIOSK", f.toOutlet(t, "PP-KIOSK", 0).TrackingCode)
		checkError(t, "collecting a parcel not on the shelf", err, lokero.ENOTFOUND, "not_on_shelf", "tracking_code")
		back, _, err := f.lockers.Collect(ctx, f.courier, "PP-KIOSK", sh.TrackingCode)
		if err != nil || back.Status != lokero.StatusReturning || back.Compartment != 0 {
			t.Fatalf("collect: %s on %d, %v", back.Status, back.Compartment, err)
		}
		if list, _ := f.lockers.Collections(ctx, f.courier, "PP-KIOSK"); len(list) != 0 {
			t.Errorf("still on the collection list after collection: %v", list)
		}
		if r, err := f.store.ReservedOn(ctx, sh.DeliveryDate, "PP-KIOSK"); err != nil || sh.SizeClass != lokero.ShelfSize || back.SizeClass != "" || r["PP-KIOSK"][lokero.ShelfSize] != 0 {
			t.Errorf("reservations of %s after the collection: %v (%q → %q), %v; want the shelf place given back", sh.DeliveryDate, r, sh.SizeClass, back.SizeClass, err)
		}
		v, err := f.lockers.OutletView(ctx, f.kiosk, "PP-KIOSK")
		if err != nil || len(v.OnShelf) != 0 || len(v.CollectedToday) != 1 || v.CollectedToday[0].Shipment.ID != sh.ID || v.Free != v.ShelfPlaces {
			t.Errorf("view after the collection: on shelf %d, collected %+v, %d/%d free, %v", len(v.OnShelf), v.CollectedToday, v.Free, v.ShelfPlaces, err)
		}
		done, err := f.shipments.Returned(ctx, "", sh.ID)
		if err != nil || done.Status != lokero.StatusReturnedToSender {
			t.Fatalf("returned: %s, %v", done.Status, err)
		}
		seen, err := f.shipments.Get(ctx, f.retailer, sh.ID)
		if err != nil {
			t.Fatal(err)
		}
		var steps []lokero.ShipmentStatus
		for _, e := range seen.Events {
			if len(steps) == 0 || steps[len(steps)-1] != e.Status {
				steps = append(steps, e.Status)
			}
		}
		want := []lokero.ShipmentStatus{lokero.StatusCreated, lokero.StatusInTransit, lokero.StatusReadyForPickup,
			lokero.StatusExpired, lokero.StatusReturning, lokero.StatusReturnedToSender}
		if !slices.Equal(steps, want) {
			t.Errorf("the retailer sees %v; want %v", steps, want)
		}
		if next, _ := f.arrive(t, f.toOutlet(t, "PP-KIOSK", 0)); next.ShelfPlace != "A-1" {
			t.Errorf("after the collection the next parcel is on %s; want A-1", next.ShelfPlace)
		}
	})
}

// TestCounterReturnDropOff: a return handed in at a counter, with its
// code or by the delivery's tracking code and postcode, reaches the
// retailer's shipments and the outlet's collection list, and travels to
// the store; a pre-paid parcel only where the outlet takes them.
func TestCounterReturnDropOff(t *testing.T) {
	t.Parallel()
	eachOutletStore(t, func(t *testing.T, f outletFixture) {
		ctx := context.Background()
		store, _, err := f.shipments.AddRetailer(ctx, "Palautuskauppa", true)
		if err != nil {
			t.Fatal(err)
		}
		delivery := f.handOver(t, f.book(t, store, "PO-FAR", 0))
		if !tracking.ValidReturnCode(delivery.ReturnCode) {
			t.Fatalf("no return code: %q", delivery.ReturnCode)
		}
		_, err = f.lockers.CounterDropOff(ctx, f.kiosk, "PP-KIOSK", service.CounterDropOffRequest{Code: delivery.ReturnCode})
		checkError(t, "a return before the pickup", err, lokero.ECONFLICT, "not_delivered_yet", "")
		_, code := f.arrive(t, delivery)
		if _, err := f.lockers.CounterPickup(ctx, f.clerk, "PO-FAR", service.PickupRequest{PickupCode: code, IdentityChecked: true}); err != nil {
			t.Fatal(err)
		}

		rc := delivery.ReturnCode
		got, err := f.lockers.CounterDropOff(ctx, f.kiosk, "PP-KIOSK", service.CounterDropOffRequest{Code: rc[:4] + " " + rc[4:8] + " " + rc[8:]})
		if err != nil {
			t.Fatal(err)
		}
		ret := got.Shipment
		switch {
		case ret.Kind != lokero.ShipmentReturn || ret.ReturnOf != delivery.ID || ret.RetailerID != store.ID || ret.TrackingCode != delivery.ReturnTrackingCode:
			t.Fatalf("return %+v; want a return of %s for the store under %s", ret, delivery.ID, delivery.ReturnTrackingCode)
		case ret.Status != lokero.StatusDroppedOff || got.ShelfPlace != "A-1" || ret.Compartment != 1:
			t.Errorf("return %s on %q; want DROPPED_OFF on A-1", ret.Status, got.ShelfPlace)
		}
		mine, _, err := f.shipments.List(ctx, store, lokero.ShipmentFilter{})
		if err != nil || !slices.ContainsFunc(mine, func(s lokero.Shipment) bool { return s.ID == ret.ID && s.Status == lokero.StatusDroppedOff }) {
			t.Errorf("the store's shipments %v lack the return, %v", mine, err)
		}
		_, err = f.lockers.CounterDropOff(ctx, f.kiosk, "PP-KIOSK", service.CounterDropOffRequest{Code: delivery.ReturnCode})
		checkError(t, "the return code again", err, lokero.ECONFLICT, "code_used", "code")
		unknown, err := tracking.NewReturnCode(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.lockers.CounterDropOff(ctx, f.kiosk, "PP-KIOSK", service.CounterDropOffRequest{Code: unknown})
		checkError(t, "an unknown code", err, lokero.ENOTFOUND, "unknown_code", "code")

		list, err := f.lockers.Collections(ctx, f.courier, "PP-KIOSK")
		if err != nil || len(list) != 1 || list[0].ID != ret.ID {
			t.Fatalf("collection list: %+v, %v; want the return", list, err)
		}
		moving, _, err := f.lockers.Collect(ctx, f.courier, "PP-KIOSK", ret.TrackingCode)
		if err != nil || moving.Status != lokero.StatusInTransit {
			t.Fatalf("collect the return: %s, %v", moving.Status, err)
		}
		if back, err := f.shipments.Returned(ctx, store.ID, ret.ID); err != nil || back.Status != lokero.StatusReturnedToSender {
			t.Fatalf("the return at the store: %s, %v", back.Status, err)
		}

		// Without the code: the delivery's tracking code and postcode.
		second := f.handOver(t, f.book(t, store, "PO-FAR", 0))
		_, secondCode := f.arrive(t, second)
		if _, err := f.lockers.CounterPickup(ctx, f.clerk, "PO-FAR", service.PickupRequest{PickupCode: secondCode, IdentityChecked: true}); err != nil {
			t.Fatal(err)
		}
		_, err = f.lockers.CounterDropOff(ctx, f.clerk, "PO-FAR", service.CounterDropOffRequest{TrackingCode: second.TrackingCode, Postcode: "00999"})
		checkError(t, "a return with the wrong postcode", err, lokero.ENOTFOUND, "no_such_shipment", "tracking_code")
		byTracking, err := f.lockers.CounterDropOff(ctx, f.clerk, "PO-FAR", service.CounterDropOffRequest{TrackingCode: second.TrackingCode, Postcode: second.Recipient.Postcode})
		if err != nil || byTracking.Shipment.Kind != lokero.ShipmentReturn || byTracking.Shipment.ReturnOf != second.ID || byTracking.Shipment.Status != lokero.StatusDroppedOff {
			t.Fatalf("a return by tracking code and postcode: %+v, %v", byTracking.Shipment, err)
		}
		_, err = f.lockers.CounterDropOff(ctx, f.clerk, "PO-FAR", service.CounterDropOffRequest{TrackingCode: second.TrackingCode, Postcode: second.Recipient.Postcode})
		checkError(t, "the same return again", err, lokero.ECONFLICT, "code_used", "tracking_code")

		// A pre-paid parcel: not at the kiosk (no "send"), at the post office.
		res, err := f.shipments.Prepaid(ctx, f.retailer, prepaidRequest(), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.lockers.CounterDropOff(ctx, f.kiosk, "PP-KIOSK", service.CounterDropOffRequest{Code: res.Shipment.ReturnCode})
		checkError(t, "a pre-paid parcel at a pickup point without send", err, lokero.ECONFLICT, "not_offered_here", "")
		pp, err := f.lockers.CounterDropOff(ctx, f.clerk, "PO-FAR", service.CounterDropOffRequest{Code: res.Shipment.ReturnCode})
		if err != nil || pp.Shipment.ID != res.Shipment.ID || pp.Shipment.Status != lokero.StatusDroppedOff || pp.ShelfPlace == "" {
			t.Fatalf("a pre-paid parcel at the post office: %+v, %v", pp, err)
		}
		list, err = f.lockers.Collections(ctx, f.courier, "PO-FAR")
		if err != nil || len(list) != 2 {
			t.Fatalf("the post office's collection list: %d parcels, %v; want the return and the pre-paid parcel", len(list), err)
		}
	})
}

// TestOutletView: the shelves as the operator sees them: what is on
// them, what expires today, what left them today, the free places.
func TestOutletView(t *testing.T) {
	t.Parallel()
	eachOutletStore(t, func(t *testing.T, f outletFixture) {
		ctx := context.Background()
		a, _ := f.arrive(t, f.toOutlet(t, "PO-FAR", 0))
		b, codeB := f.arrive(t, f.toOutlet(t, "PO-FAR", 0))
		if _, err := f.lockers.CounterPickup(ctx, f.clerk, "PO-FAR", service.PickupRequest{PickupCode: codeB, IdentityChecked: true}); err != nil {
			t.Fatal(err)
		}
		v, err := f.lockers.OutletView(ctx, f.operator, "PO-FAR")
		if err != nil {
			t.Fatal(err)
		}
		loc := v.Location
		switch {
		case loc == nil || loc.ID != "PO-FAR" || v.ShelfPlaces != loc.ShelfPlaces() || v.ShelfPlaces != 1500:
			t.Errorf("view of %+v with %d places; want PO-FAR's 1500", loc, v.ShelfPlaces)
		case len(v.OnShelf) != 1 || v.OnShelf[0].Shipment.ID != a.Shipment.ID || v.OnShelf[0].ShelfPlace != "A-1":
			t.Errorf("on the shelf: %+v; want the first parcel on A-1", v.OnShelf)
		case v.Free != 1499:
			t.Errorf("%d places free; want 1499", v.Free)
		case len(v.CollectedToday) != 1 || v.CollectedToday[0].Shipment.ID != b.Shipment.ID:
			t.Errorf("collected today: %+v; want the parcel picked up", v.CollectedToday)
		case len(v.ExpiringToday) != 0:
			t.Errorf("expiring on the day of arrival: %+v", v.ExpiringToday)
		}
		// On the delivery date the first parcel's shelf reservation counts;
		// the second's was given back at its pickup.
		f.clock.Advance(24 * time.Hour)
		v, err = f.lockers.OutletView(ctx, f.operator, "PO-FAR")
		if err != nil || a.Shipment.SizeClass != lokero.ShelfSize || v.ReservedToday != 1 {
			t.Errorf("reserved on the delivery date: %d (the parcel's %q), %v; want the first parcel's shelf place", v.ReservedToday, a.Shipment.SizeClass, err)
		}
		// On Friday 4 December, the last day, the first parcel is listed; the
		// pickup of 25 November is no longer today's.
		f.clock.Advance(8 * 24 * time.Hour)
		v, err = f.lockers.OutletView(ctx, f.clerk, "PO-FAR")
		if err != nil || len(v.ExpiringToday) != 1 || v.ExpiringToday[0].Shipment.ID != a.Shipment.ID || len(v.CollectedToday) != 0 {
			t.Errorf("on the last day: expiring %+v, collected %+v, %v", v.ExpiringToday, v.CollectedToday, err)
		}
	})
}

// TestCounterNoticeAgain: the notice of arrival of a parcel at a counter
// is sent again with the same pickup code, and a rotated code replaces it.
func TestCounterNoticeAgain(t *testing.T) {
	t.Parallel()
	eachOutletStore(t, func(t *testing.T, f outletFixture) {
		ctx := context.Background()
		sh := f.toOutlet(t, "PO-FAR", 0)
		_, code := f.arrive(t, sh)
		if _, err := f.lockers.NoticeAgain(ctx, f.retailer.ID, sh.ID, false); err != nil {
			t.Fatal(err)
		}
		msgs, err := sentMessages(ctx, f.lockers, 1)
		if err != nil || codePattern.FindStringSubmatch(msgs[0].Text)[1] != code {
			t.Fatalf("notice again: %v, %v; want the same code", msgs, err)
		}
		if _, err := f.lockers.NoticeAgain(ctx, "", sh.ID, true); err != nil {
			t.Fatal(err)
		}
		msgs, _ = sentMessages(ctx, f.lockers, 1)
		rotated := codePattern.FindStringSubmatch(msgs[0].Text)[1]
		_, err = f.lockers.CounterPickup(ctx, f.clerk, "PO-FAR", service.PickupRequest{PickupCode: code, IdentityChecked: true})
		checkError(t, "the old code after a rotation", err, lokero.ENOTFOUND, "unknown_pickup_code", "pickup_code")
		if res, err := f.lockers.CounterPickup(ctx, f.clerk, "PO-FAR", service.PickupRequest{PickupCode: rotated, IdentityChecked: true}); err != nil || res.Result != service.ResultPickedUp {
			t.Fatalf("the rotated code: %+v, %v", res, err)
		}
	})
}

// TestConcurrentArrivals: parcels scanned in at once at one counter get
// a shelf place each, never the same.
func TestConcurrentArrivals(t *testing.T) {
	t.Parallel()
	eachOutletStore(t, func(t *testing.T, f outletFixture) {
		ctx := context.Background()
		parcels := make([]lokero.Shipment, 4)
		for i := range parcels {
			parcels[i] = f.toOutlet(t, "PO-FAR", 0)
		}
		places := make([]string, len(parcels))
		var wg sync.WaitGroup
		for i, sh := range parcels {
			wg.Go(func() {
				got, err := f.lockers.Arrive(ctx, f.clerk, "PO-FAR", sh.TrackingCode)
				if err != nil {
					t.Errorf("arrival %d: %v", i, err)
					return
				}
				places[i] = got.ShelfPlace
			})
		}
		wg.Wait()
		slices.Sort(places)
		if want := []string{"A-1", "A-2", "A-3", "A-4"}; !slices.Equal(places, want) {
			t.Errorf("concurrent arrivals on %v; want %v", places, want)
		}
		rows, err := f.store.Compartments(ctx, "PO-FAR")
		if err != nil || len(rows) != 4 {
			t.Fatalf("shelf rows: %d, %v; want 4 laid out", len(rows), err)
		}
		for _, r := range rows {
			if r.Size != lokero.ShelfSize || r.ShipmentID == "" || r.DoorOpen {
				t.Errorf("shelf row %+v; want a shelf place holding a parcel, no door", r)
			}
		}
	})
}
