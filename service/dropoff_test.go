package service_test

import (
	"context"
	"testing"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/service"
	"github.com/lokero/lokero/tracking"
)

// pickedUp books a parcel with a return code from a store that offers
// free returns, delivers it to the demo building's LOCKER and has the
// recipient pick it up.
func (f lockersFixture) pickedUp(t *testing.T, store lokero.Retailer, req service.ShipmentRequest) lokero.Shipment {
	t.Helper()
	ctx := context.Background()
	req.ReturnCode = true
	res, err := f.shipments.Create(ctx, store, req, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	sh, err := f.shipments.HandoverByCourier(ctx, f.courier, res.Shipment.ID)
	if err != nil {
		t.Fatal(err)
	}
	return f.deliver(t, sh)
}

// deliver deposits a parcel in transit at its locker and has it picked
// up with the code of its notice of arrival.
func (f lockersFixture) deliver(t *testing.T, sh lokero.Shipment) lokero.Shipment {
	t.Helper()
	ctx := context.Background()
	dep, err := f.lockers.Deposit(ctx, f.courier, sh.DestinationID, sh.TrackingCode)
	if err != nil {
		t.Fatalf("deposit: %v", err)
	}
	device := f.deviceOf(t, sh.DestinationID)
	if _, err := f.lockers.DoorClosed(ctx, device, sh.DestinationID, dep.Compartment.Number); err != nil {
		t.Fatal(err)
	}
	msgs, err := sentMessages(ctx, f.lockers, 1)
	if err != nil || len(msgs) == 0 || msgs[0].TrackingCode != sh.TrackingCode {
		t.Fatalf("no notice of arrival for %s: %v", sh.TrackingCode, err)
	}
	m := codePattern.FindStringSubmatch(msgs[0].Text)
	if m == nil {
		t.Fatalf("no code in %q", msgs[0].Text)
	}
	if _, err := f.lockers.Keypad(ctx, device, sh.DestinationID, m[1]); err != nil {
		t.Fatal(err)
	}
	done, err := f.lockers.DoorClosed(ctx, device, sh.DestinationID, dep.Compartment.Number)
	if err != nil || done.Status != lokero.StatusPickedUp {
		t.Fatalf("pickup: %+v, %v", done.Status, err)
	}
	return done
}

func (f lockersFixture) deviceOf(t *testing.T, locationID string) lokero.Credential {
	t.Helper()
	switch locationID {
	case "LOCKER-M5":
		return f.device
	case "SP-NEAR":
		return f.other
	}
	d, _, err := f.lockers.AddCredential(context.Background(), lokero.KindDevice, locationID, locationID)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func checkKeypadRefused(t *testing.T, err error, code, reason string) {
	t.Helper()
	var e *lokero.Error
	if !asError(err, &e) || e.Code != code || e.Reason != reason {
		t.Fatalf("keypad: %v; want %s %s", err, code, reason)
	}
}

func TestReturnDropOff(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		store, _, err := f.shipments.AddRetailer(ctx, "Palautuskauppa", true)
		if err != nil {
			t.Fatal(err)
		}
		// Before the recipient has the parcel its return code opens nothing.
		res, err := f.shipments.Create(ctx, store, func() service.ShipmentRequest { r := request(); r.ReturnCode = true; return r }(), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = f.lockers.Keypad(ctx, f.other, "SP-NEAR", res.Shipment.ReturnCode)
		checkKeypadRefused(t, err, lokero.ECONFLICT, "not_delivered_yet")

		delivery := f.pickedUp(t, store, request())
		if !tracking.ValidReturnCode(delivery.ReturnCode) || delivery.ReturnTrackingCode == "" {
			t.Fatalf("delivery without a return code: %q %q", delivery.ReturnCode, delivery.ReturnTrackingCode)
		}
		open, err := f.lockers.Keypad(ctx, f.other, "SP-NEAR", delivery.ReturnCode)
		if err != nil || open.Result != "open" || open.Purpose != service.PurposeDropOff || open.Compartment < 1 {
			t.Fatalf("return code at a SMARTPOST: %+v, %v; want a compartment opened for a drop-off", open, err)
		}
		ret, err := f.shipments.Track(ctx, delivery.ReturnTrackingCode)
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case ret.Kind != lokero.ShipmentReturn || ret.ReturnOf != delivery.ID || ret.RetailerID != store.ID:
			t.Fatalf("return %s: kind %s of %q for %s; want a return of %s for the store", ret.ID, ret.Kind, ret.ReturnOf, ret.RetailerID, delivery.ID)
		case ret.Status != lokero.StatusCreated || ret.Compartment != open.Compartment:
			t.Errorf("return while the door is open: %s in compartment %d; want CREATED in %d", ret.Status, ret.Compartment, open.Compartment)
		case ret.Sender.Name != delivery.Recipient.Name || ret.Recipient.Name != delivery.Sender.Name:
			t.Errorf("return from %q to %q; want from the recipient to the store", ret.Sender.Name, ret.Recipient.Name)
		}
		// The answer lost, the consumer types the code again before the
		// door closed: the same compartment opens again, the same return.
		// At another locker the code opens nothing, and is not used up.
		_, err = f.lockers.Keypad(ctx, f.device, "LOCKER-M5", delivery.ReturnCode)
		checkKeypadRefused(t, err, lokero.ECONFLICT, "drop_off_elsewhere")
		again, err := f.lockers.Keypad(ctx, f.other, "SP-NEAR", delivery.ReturnCode)
		if err != nil || again != open {
			t.Fatalf("the return code again before the door closed: %+v, %v; want %+v", again, err, open)
		}
		if again, err := f.shipments.Track(ctx, delivery.ReturnTrackingCode); err != nil || again.ID != ret.ID {
			t.Fatalf("the return after its code again: %s, %v; want %s", again.ID, err, ret.ID)
		}
		dropped, err := f.lockers.DoorClosed(ctx, f.other, "SP-NEAR", open.Compartment)
		if err != nil || dropped.ID != ret.ID || dropped.Status != lokero.StatusDroppedOff {
			t.Fatalf("door closed after the drop-off: %s %s, %v; want %s DROPPED_OFF", dropped.ID, dropped.Status, err, ret.ID)
		}
		// A return code works once.
		_, err = f.lockers.Keypad(ctx, f.other, "SP-NEAR", delivery.ReturnCode)
		checkKeypadRefused(t, err, lokero.EFORBIDDEN, "wrong_code")

		list, err := f.lockers.Collections(ctx, f.courier, "SP-NEAR")
		if err != nil || len(list) != 1 || list[0].ID != ret.ID {
			t.Fatalf("collection list %v, %v; want the return", list, err)
		}
		collected, _, err := f.lockers.Collect(ctx, f.courier, "SP-NEAR", ret.TrackingCode)
		if err != nil || collected.Status != lokero.StatusInTransit || collected.Compartment != 0 {
			t.Fatalf("collect: %s in %d, %v; want IN_TRANSIT", collected.Status, collected.Compartment, err)
		}
		cs, err := f.lockers.View(ctx, lokero.Credential{Kind: lokero.KindOperator}, "SP-NEAR")
		if err != nil || cs.Compartments[open.Compartment-1].State != "free" {
			t.Fatalf("compartment %d after collection: %+v, %v; want free", open.Compartment, cs.Compartments[open.Compartment-1], err)
		}
		if _, err := f.shipments.Returned(ctx, f.retailer.ID, ret.ID); lokero.ErrorCode(err) != lokero.ENOTFOUND {
			t.Errorf("another retailer marks the return delivered: %v; want ENOTFOUND", err)
		}
		home, err := f.shipments.Returned(ctx, store.ID, ret.ID)
		if err != nil || home.Status != lokero.StatusReturnedToSender {
			t.Fatalf("return at the store: %s, %v", home.Status, err)
		}
		mine, _, err := f.shipments.List(ctx, store, lokero.ShipmentFilter{})
		if err != nil || len(mine) != 3 {
			t.Errorf("the store lists %d shipments (%v); want its 2 deliveries and the return", len(mine), err)
		}
		// An undelivered parcel is not "returned" from transit.
		if _, err := f.shipments.Returned(ctx, f.retailer.ID, f.inTransit(t).ID); lokero.ErrorCode(err) != lokero.ECONFLICT {
			t.Errorf("a delivery in transit marked returned: %v; want ECONFLICT", err)
		}
	})
}

func TestReturnAtLockerIsForResidents(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		store, _, err := f.shipments.AddRetailer(ctx, "Palautuskauppa", true)
		if err != nil {
			t.Fatal(err)
		}
		elsewhere := request()
		elsewhere.Recipient.Street, elsewhere.Recipient.Postcode = "Aleksanterinkatu 1", "00100"
		elsewhere.PickupPointID = "SP-NEAR"
		outsider := f.pickedUp(t, store, elsewhere)
		_, err = f.lockers.Keypad(ctx, f.device, "LOCKER-M5", outsider.ReturnCode)
		checkKeypadRefused(t, err, lokero.EFORBIDDEN, "residents_only")

		resident := f.pickedUp(t, store, request())
		if open, err := f.lockers.Keypad(ctx, f.device, "LOCKER-M5", resident.ReturnCode); err != nil || open.Purpose != service.PurposeDropOff {
			t.Fatalf("a resident's return at the building's LOCKER: %+v, %v", open, err)
		}
		// The outsider can still use a public SMARTPOST.
		if open, err := f.lockers.Keypad(ctx, f.other, "SP-NEAR", outsider.ReturnCode); err != nil || open.Purpose != service.PurposeDropOff {
			t.Fatalf("the outsider's return at a SMARTPOST: %+v, %v", open, err)
		}
	})
}

func prepaidRequest() service.PrepaidRequest {
	return service.PrepaidRequest{
		Sender: lokero.Party{Name: "Maija Meikäläinen", Street: "Mannerheimintie 5 A 3", Postcode: "00100", City: "Helsinki"},
		Recipient: lokero.Party{Name: "Mummo Virtanen", Street: "Lönnrotinkatu 9", Postcode: "00120", City: "Helsinki",
			Phone: "+358401112222"},
		Size: "s",
	}
}

func TestPrepaidDropOff(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		bad := prepaidRequest()
		bad.Size = "XL"
		_, err := f.shipments.Prepaid(ctx, f.retailer, bad, "", nil)
		if e := new(lokero.Error); !asError(err, &e) || e.Code != lokero.EINVALID || e.Field != "size" {
			t.Fatalf("size XL: %v; want EINVALID naming size", err)
		}
		res, err := f.shipments.Prepaid(ctx, f.retailer, prepaidRequest(), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		pp := res.Shipment
		switch {
		case pp.Kind != lokero.ShipmentPrepaid || pp.Status != lokero.StatusCreated || !tracking.ValidReturnCode(pp.ReturnCode):
			t.Fatalf("prepaid: kind %s, %s, code %q", pp.Kind, pp.Status, pp.ReturnCode)
		case pp.DestinationID == "" || pp.SizeClass != "":
			t.Errorf("prepaid routed to %q with reservation %q; want a destination and no reservation until drop-off", pp.DestinationID, pp.SizeClass)
		case pp.Parcel.HeightCM != 10:
			t.Errorf("an S parcel %v cm high; want the S class's 10 cm", pp.Parcel.HeightCM)
		}
		if _, err := f.shipments.HandoverByCourier(ctx, f.courier, pp.ID); lokero.ErrorCode(err) != lokero.ECONFLICT {
			t.Errorf("a pre-paid parcel handed over without a drop-off: %v; want ECONFLICT", err)
		}
		// The sender lives in the demo building: its LOCKER takes it.
		open, err := f.lockers.Keypad(ctx, f.device, "LOCKER-M5", pp.ReturnCode)
		if err != nil || open.Purpose != service.PurposeDropOff {
			t.Fatalf("pre-paid code at the sender's LOCKER: %+v, %v", open, err)
		}
		if _, err := f.shipments.Cancel(ctx, f.retailer, pp.ID); lokero.ErrorCode(err) != lokero.ECONFLICT {
			t.Errorf("cancel during the drop-off: %v; want ECONFLICT", err)
		}
		// Typed again before the door closed (the answer lost): the same
		// compartment opens again; the code is not used up by it.
		if again, err := f.lockers.Keypad(ctx, f.device, "LOCKER-M5", pp.ReturnCode); err != nil || again != open {
			t.Fatalf("the pre-paid code again before the door closed: %+v, %v; want %+v", again, err, open)
		}
		dropped, err := f.lockers.DoorClosed(ctx, f.device, "LOCKER-M5", open.Compartment)
		if err != nil || dropped.Status != lokero.StatusDroppedOff {
			t.Fatalf("drop-off: %s, %v", dropped.Status, err)
		}
		_, err = f.lockers.Keypad(ctx, f.device, "LOCKER-M5", pp.ReturnCode)
		checkKeypadRefused(t, err, lokero.EFORBIDDEN, "wrong_code")

		moving, _, err := f.lockers.Collect(ctx, f.courier, "LOCKER-M5", pp.TrackingCode)
		if err != nil || moving.Status != lokero.StatusInTransit {
			t.Fatalf("collect: %s, %v", moving.Status, err)
		}
		// From here it is a parcel like any other: to its recipient.
		got := f.deliver(t, moving)
		if got.Status != lokero.StatusPickedUp {
			t.Errorf("pre-paid parcel ends %s; want PICKED_UP", got.Status)
		}
		// Its code was its drop-off code, used: no locker is to take it as
		// a return, offline either.
		at := f.deviceOf(t, got.DestinationID)
		if _, ok, err := f.lockers.ExpectedDropOff(ctx, at, got.DestinationID, got.ID); ok || err != nil {
			t.Errorf("the pre-paid parcel's code expected as a return where it was picked up: %v, %v", ok, err)
		}
		if s, err := f.lockers.Sync(ctx, at, got.DestinationID); err != nil || len(s.DropOffs) != 0 {
			t.Errorf("the sync where the pre-paid parcel was picked up: %d drop-offs, %v; want none", len(s.DropOffs), err)
		}

		// A cancelled pre-paid parcel's code opens nothing.
		res, err = f.shipments.Prepaid(ctx, f.retailer, prepaidRequest(), "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.shipments.Cancel(ctx, f.retailer, res.Shipment.ID); err != nil {
			t.Fatal(err)
		}
		_, err = f.lockers.Keypad(ctx, f.other, "SP-NEAR", res.Shipment.ReturnCode)
		checkKeypadRefused(t, err, lokero.EFORBIDDEN, "wrong_code")
	})
}

func TestNoticeAgainAndRotate(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		sh, door := f.depositedAtM5(t)
		if _, err := f.lockers.DoorClosed(ctx, f.device, "LOCKER-M5", door); err != nil {
			t.Fatal(err)
		}
		latest := func() (string, int) {
			t.Helper()
			msgs, err := sentMessages(ctx, f.lockers, 100)
			if err != nil || len(msgs) == 0 {
				t.Fatalf("outbox: %v", err)
			}
			m := codePattern.FindStringSubmatch(msgs[0].Text)
			if m == nil || msgs[0].Kind != "arrival" {
				t.Fatalf("latest message %q is no notice of arrival", msgs[0].Text)
			}
			return m[1], len(msgs)
		}
		first, n := latest()

		other, _, err := f.shipments.AddRetailer(ctx, "Toinen", false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.lockers.NoticeAgain(ctx, other.ID, sh.ID, false); lokero.ErrorCode(err) != lokero.ENOTFOUND {
			t.Errorf("another retailer resends the notice: %v; want ENOTFOUND", err)
		}
		if _, err := f.lockers.NoticeAgain(ctx, f.retailer.ID, sh.ID, false); err != nil {
			t.Fatal(err)
		}
		again, m := latest()
		if again != first || m != n+2 {
			t.Errorf("notice sent again with code %s (%d → %d messages); want the same code %s by SMS and e-mail", again, n, m, first)
		}

		rotated, err := f.lockers.NoticeAgain(ctx, "", sh.ID, true)
		if err != nil {
			t.Fatal(err)
		}
		second, _ := latest()
		if second == first || len(second) != len(first) {
			t.Fatalf("rotated code %s; want a new code as long as %s", second, first)
		}
		if string(rotated.OpeningCodeHash) == second {
			t.Error("the rotated code is stored in clear")
		}
		_, err = f.lockers.Keypad(ctx, f.device, "LOCKER-M5", first)
		checkKeypadRefused(t, err, lokero.EFORBIDDEN, "wrong_code")
		if open, err := f.lockers.Keypad(ctx, f.device, "LOCKER-M5", second); err != nil || open.Compartment != door {
			t.Fatalf("the rotated code: %+v, %v", open, err)
		}
		if _, err := f.lockers.DoorClosed(ctx, f.device, "LOCKER-M5", door); err != nil {
			t.Fatal(err)
		}
		if _, err := f.lockers.NoticeAgain(ctx, f.retailer.ID, sh.ID, false); lokero.ErrorCode(err) != lokero.ECONFLICT {
			t.Errorf("a notice for a parcel picked up: %v; want ECONFLICT", err)
		}
	})
}

// TestPrepaidAtRecipientsLockerIsForResidents: a pre-paid parcel's code
// opens a building's LOCKER only for its sender living there. A parcel
// bound for that LOCKER (its recipient lives there) gives its sender, who
// lives elsewhere, no access to it.
func TestPrepaidAtRecipientsLockerIsForResidents(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		req := prepaidRequest()
		req.Sender.Street, req.Sender.Postcode = "Aleksanterinkatu 1", "00100"
		req.Recipient.Street, req.Recipient.Postcode = "Mannerheimintie 5 B 12", "00104"
		res, err := f.shipments.Prepaid(ctx, f.retailer, req, "", nil)
		if err != nil {
			t.Fatal(err)
		}
		if res.Shipment.DestinationID != "LOCKER-M5" {
			t.Fatalf("pre-paid parcel routed to %s; want the recipient's LOCKER-M5", res.Shipment.DestinationID)
		}
		_, err = f.lockers.Keypad(ctx, f.device, "LOCKER-M5", res.Shipment.ReturnCode)
		checkKeypadRefused(t, err, lokero.EFORBIDDEN, "residents_only")
		// A public SMARTPOST takes it.
		if open, err := f.lockers.Keypad(ctx, f.other, "SP-NEAR", res.Shipment.ReturnCode); err != nil || open.Purpose != service.PurposeDropOff {
			t.Fatalf("the pre-paid parcel at a SMARTPOST: %+v, %v", open, err)
		}
	})
}
