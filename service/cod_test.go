package service_test

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/locker"
	"github.com/lokero/lokero/service"
)

// codFixture is the locker fixture with SP-PAY, a SMARTPOST with a payment
// terminal, and its device.
type codFixture struct {
	lockersFixture
	pay lokero.Credential // SP-PAY's device
}

func newCODFixture(t *testing.T, st lockerStore) codFixture {
	t.Helper()
	f := codFixture{lockersFixture: newLockers(t, st)}
	ctx := context.Background()
	pay := smartpost("SP-PAY", "00100", 60.1710, 24.9410)
	pay.PaymentTerminal = true
	if _, err := f.dir.Import(ctx, []lokero.Location{pay}); err != nil {
		t.Fatal(err)
	}
	var err error
	if f.pay, _, err = f.lockers.AddCredential(ctx, lokero.KindDevice, "PAY", "SP-PAY"); err != nil {
		t.Fatal(err)
	}
	return f
}

// ready books a parcel to SP-PAY (cash on delivery of cents, none for 0),
// deposits it and closes the door; it returns the parcel, its compartment
// and its opening code from the notice of arrival.
func (f codFixture) ready(t *testing.T, cents int64) (lokero.Shipment, int, string) {
	t.Helper()
	ctx := context.Background()
	req := request()
	req.PickupPointID = "SP-PAY"
	if cents > 0 {
		req.COD = &service.CODRequest{AmountCents: cents, Currency: "EUR"}
	}
	res, err := f.shipments.Create(ctx, f.retailer, req, "", nil)
	if err != nil || res.Shipment.DestinationID != "SP-PAY" {
		t.Fatalf("book to SP-PAY: %v, %v", res.Shipment.DestinationID, err)
	}
	sh, err := f.shipments.HandoverByCourier(ctx, f.courier, res.Shipment.ID)
	if err != nil {
		t.Fatal(err)
	}
	dep, err := f.lockers.Deposit(ctx, f.courier, "SP-PAY", sh.TrackingCode)
	if err != nil {
		t.Fatal(err)
	}
	if sh, err = f.lockers.DoorClosed(ctx, f.pay, "SP-PAY", dep.Compartment.Number); err != nil {
		t.Fatal(err)
	}
	msgs, err := sentMessages(ctx, f.lockers, 1)
	if err != nil || len(msgs) == 0 || msgs[0].TrackingCode != sh.TrackingCode {
		t.Fatalf("notice of arrival of %s: %v, %v", sh.TrackingCode, msgs, err)
	}
	return sh, dep.Compartment.Number, codePattern.FindStringSubmatch(msgs[0].Text)[1]
}

// checkNoSession asserts that a payment was refused for want of the
// keypad's session, telling nothing of the parcel: no amount, no status.
func checkNoSession(t *testing.T, err error, secrets ...string) {
	t.Helper()
	e, ok := err.(*lokero.Error)
	if !ok || e.Code != lokero.ECONFLICT || e.Reason != "no_keypad_session" {
		t.Fatalf("payment: %v; want ECONFLICT no_keypad_session", err)
	}
	if !strings.Contains(e.Message, "keypad") {
		t.Errorf("refusal %q does not tell the device to have the code entered first", e.Message)
	}
	for _, s := range secrets {
		if strings.Contains(e.Message, s) {
			t.Errorf("refusal %q reveals %q", e.Message, s)
		}
	}
}

// checkShut asserts that a COD parcel is still unpaid behind a shut door.
func (f codFixture) checkShut(t *testing.T, sh lokero.Shipment, number int) {
	t.Helper()
	cs, err := f.store.Compartments(context.Background(), "SP-PAY")
	if err != nil {
		t.Fatal(err)
	}
	if cs[number-1].DoorOpen {
		t.Errorf("compartment %d opened without a paid code", number)
	}
	got, err := f.shipments.Get(context.Background(), f.retailer, sh.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.COD.CollectedAt != nil {
		t.Errorf("COD of %s marked collected: %+v", sh.ID, got.COD)
	}
}

// TestPaymentNeedsTheCode: the probe of issue 18 — with the device's
// credential alone, paying a wrong amount told the amount and paying it
// opened the door. Without the code entered, every payment is refused
// alike: any amount, any compartment, full or empty, and nothing opens.
func TestPaymentNeedsTheCode(t *testing.T) {
	t.Parallel()
	onEveryStore(t, newCODFixture, func(t *testing.T, f codFixture) {
		ctx := context.Background()
		sh, number, _ := f.ready(t, 4990)
		for _, tt := range []struct {
			name        string
			compartment int
			cents       int64
		}{
			{"1 cent", number, 1},
			{"the right amount", number, 4990},
			{"too much", number, 100000},
			{"an empty compartment", number + 1, 4990},
			{"compartment 0", 0, 4990},
			{"past the last compartment", 99, 4990},
		} {
			_, err := f.lockers.Payment(ctx, f.pay, "SP-PAY", tt.compartment, tt.cents, "T-"+tt.name)
			checkNoSession(t, err, "4990", "49,90", "49.90", string(lokero.StatusReadyForPickup))
		}
		f.checkShut(t, sh, number)
	})
}

// TestPaymentSession: the code entered at the keypad opens a session for
// its compartment only; the amount is told only inside it; the payment
// ends it; the window ends it; any other code entered ends it.
func TestPaymentSession(t *testing.T) {
	t.Parallel()
	onEveryStore(t, newCODFixture, func(t *testing.T, f codFixture) {
		ctx := context.Background()
		a, numA, codeA := f.ready(t, 4990)
		b, numB, codeB := f.ready(t, 1500)
		_, numPlain, plainCode := f.ready(t, 0)
		enter := func(code string, want string) {
			t.Helper()
			kp, err := f.lockers.Keypad(ctx, f.pay, "SP-PAY", code)
			if err != nil || kp.Result != want {
				t.Fatalf("keypad: %+v, %v; want %s", kp, err, want)
			}
		}

		// A's code: the session is A's; B cannot be paid in it.
		enter(codeA, "payment_required")
		_, err := f.lockers.Payment(ctx, f.pay, "SP-PAY", numB, 1500, "T-B")
		checkNoSession(t, err, "1500", "4990")
		f.checkShut(t, b, numB)

		// Inside the session a wrong amount is told (the keypad showed
		// it already) and the session goes on.
		_, err = f.lockers.Payment(ctx, f.pay, "SP-PAY", numA, 4000, "T-1")
		if e, ok := err.(*lokero.Error); !ok || e.Reason != "amount_mismatch" || !strings.Contains(e.Message, "4990") {
			t.Fatalf("a partial payment in the session: %v; want amount_mismatch telling 4990", err)
		}
		f.checkShut(t, a, numA)

		// The window ends the session.
		f.clock.Advance(locker.DefaultPaymentWindow)
		_, err = f.lockers.Payment(ctx, f.pay, "SP-PAY", numA, 4990, "T-late")
		checkNoSession(t, err, "4990")
		f.checkShut(t, a, numA)

		// Another code entered ends the session: a wrong one, or another
		// parcel's right one.
		enter(codeA, "payment_required")
		if _, err := f.lockers.Keypad(ctx, f.pay, "SP-PAY", strings.Repeat("1", len(codeA))); lokero.ErrorCode(err) != lokero.EFORBIDDEN {
			t.Fatalf("a wrong code: %v", err)
		}
		_, err = f.lockers.Payment(ctx, f.pay, "SP-PAY", numA, 4990, "T-after-wrong")
		checkNoSession(t, err, "4990")
		enter(codeA, "payment_required")
		enter(plainCode, "open")
		_, err = f.lockers.Payment(ctx, f.pay, "SP-PAY", numA, 4990, "T-after-other")
		checkNoSession(t, err, "4990")
		f.checkShut(t, a, numA)
		if _, err := f.lockers.DoorClosed(ctx, f.pay, "SP-PAY", numPlain); err != nil {
			t.Fatal(err)
		}

		// B's code, then B's payment, just inside the window: the door
		// opens and the session ends.
		enter(codeB, "payment_required")
		f.clock.Advance(locker.DefaultPaymentWindow - time.Second)
		open, err := f.lockers.Payment(ctx, f.pay, "SP-PAY", numB, 1500, "T-B2")
		if err != nil || open.Result != "open" || open.Compartment != numB {
			t.Fatalf("B's payment in its session: %+v, %v", open, err)
		}
		// A second card (a double tap) while the parcel is still there:
		// already paid, so that the terminal refunds it; the first stands.
		_, err = f.lockers.Payment(ctx, f.pay, "SP-PAY", numB, 1500, "T-B3")
		if e, ok := err.(*lokero.Error); !ok || e.Code != lokero.ECONFLICT || e.Reason != "already_paid" {
			t.Fatalf("a second payment of B: %v; want ECONFLICT already_paid", err)
		}
		done, err := f.lockers.DoorClosed(ctx, f.pay, "SP-PAY", numB)
		if err != nil || done.Status != lokero.StatusPickedUp || done.COD.CollectedAt == nil || done.COD.TerminalRef != "T-B2" {
			t.Fatalf("B after payment and pickup: %+v, %v", done, err)
		}
		// Once the parcel is out, the compartment awaits nothing.
		_, err = f.lockers.Payment(ctx, f.pay, "SP-PAY", numB, 1500, "T-B4")
		checkNoSession(t, err)
		// A is still unpaid, behind its door.
		f.checkShut(t, a, numA)
	})
}

// TestPaymentSessionIsPerLocker: a session at one locker's keypad is no
// session at another's, and another locker's device cannot pay at all.
func TestPaymentSessionIsPerLocker(t *testing.T) {
	t.Parallel()
	onEveryStore(t, newCODFixture, func(t *testing.T, f codFixture) {
		ctx := context.Background()
		pay2 := smartpost("SP-PAY2", "00100", 60.1712, 24.9412)
		pay2.PaymentTerminal = true
		if _, err := f.dir.Import(ctx, []lokero.Location{pay2}); err != nil {
			t.Fatal(err)
		}
		dev2, _, err := f.lockers.AddCredential(ctx, lokero.KindDevice, "PAY2", "SP-PAY2")
		if err != nil {
			t.Fatal(err)
		}
		sh, number, code := f.ready(t, 2500)
		if kp, err := f.lockers.Keypad(ctx, f.pay, "SP-PAY", code); err != nil || kp.Result != "payment_required" {
			t.Fatalf("keypad: %+v, %v", kp, err)
		}
		if _, err := f.lockers.Payment(ctx, dev2, "SP-PAY", number, 2500, "T-X"); lokero.ErrorCode(err) != lokero.EFORBIDDEN {
			t.Errorf("another locker's device pays here: %v; want EFORBIDDEN", err)
		}
		_, err = f.lockers.Payment(ctx, dev2, "SP-PAY2", number, 2500, "T-Y")
		checkNoSession(t, err, "2500")
		f.checkShut(t, sh, number)
		if open, err := f.lockers.Payment(ctx, f.pay, "SP-PAY", number, 2500, "T-"+strconv.Itoa(number)); err != nil || open.Result != "open" {
			t.Fatalf("the payment at the keypad's own locker: %+v, %v", open, err)
		}
	})
}
