package service_test

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/locker"
	"github.com/lokero/lokero/pgtest"
	"github.com/lokero/lokero/postgres"
	"github.com/lokero/lokero/service"
	"github.com/lokero/lokero/sqlite"
	"github.com/lokero/lokero/sqlstore"
)

type lockersFixture struct {
	shipments *service.Shipments
	lockers   *service.Lockers
	clock     *lokero.DevClock
	retailer  lokero.Retailer
	courier   lokero.Credential
	device    lokero.Credential // LOCKER-M5's
	other     lokero.Credential // SP-NEAR's device
	dir       *service.Directory
	store     lockerStore
}

// lockerStore is what the locker tests need of a store.
type lockerStore interface {
	service.LockerStore
	lokero.WebhookStore
	lokero.LocationStore
	lokero.RetailerStore
	SetClock(lokero.Clock)
	SetJobQueue(sqlstore.JobQueue)
	Close() error
	// For the job runner (delivery_test.go).
	SQL() *sql.DB
	Dialect() sqlstore.Dialect
}

// stores opens a fresh store of each kind: the locker's life is tested on
// SQLite and on PostgreSQL alike.
var stores = []struct {
	name string
	open func(t *testing.T) lockerStore
}{
	{"sqlite", func(t *testing.T) lockerStore {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "lockers.db"))
		if err != nil {
			t.Fatal(err)
		}
		return st
	}},
	{"postgres", func(t *testing.T) lockerStore {
		url, err := pgtest.Require(t).CreateDatabase(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		st, err := postgres.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}},
}

// onEveryStore runs test as a subtest on every store, with the fixture
// that fixture builds over it.
func onEveryStore[F any](t *testing.T, fixture func(*testing.T, lockerStore) F, test func(t *testing.T, f F)) {
	t.Helper()
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			t.Parallel()
			test(t, fixture(t, s.open(t)))
		})
	}
}

// eachStore runs a locker test on every store.
func eachStore(t *testing.T, test func(t *testing.T, f lockersFixture)) {
	t.Helper()
	onEveryStore(t, newLockers, test)
}

func newLockers(t *testing.T, st lockerStore) lockersFixture {
	t.Helper()
	ctx := context.Background()
	t.Cleanup(func() { st.Close() })
	var err error
	clock := lokero.NewDevClock(fixedClock{now})
	st.SetClock(clock)
	log := slog.New(slog.DiscardHandler)
	dir := service.NewDirectory(st, testRegistry(t), clock, log)
	if _, err := dir.Import(ctx, network()); err != nil {
		t.Fatal(err)
	}
	codes, err := locker.NewCodes([]byte(strings.Repeat("s", 32)))
	if err != nil {
		t.Fatal(err)
	}
	f := lockersFixture{clock: clock, dir: dir, store: st,
		shipments: service.NewShipments(st, dir, calendar.Default(), clock, nil, log),
		lockers:   service.NewLockers(st, dir, calendar.Default(), clock, nil, codes, log)}
	if f.retailer, _, err = f.shipments.AddRetailer(ctx, "Kauppa", false); err != nil {
		t.Fatal(err)
	}
	if f.courier, _, err = f.lockers.AddCredential(ctx, lokero.KindCourier, "Kuski", ""); err != nil {
		t.Fatal(err)
	}
	if f.device, _, err = f.lockers.AddCredential(ctx, lokero.KindDevice, "M5", "LOCKER-M5"); err != nil {
		t.Fatal(err)
	}
	if f.other, _, err = f.lockers.AddCredential(ctx, lokero.KindDevice, "SP", "SP-NEAR"); err != nil {
		t.Fatal(err)
	}
	return f
}

// inTransit books a parcel to the demo building's LOCKER and hands it over.
func (f lockersFixture) inTransit(t *testing.T) lokero.Shipment {
	t.Helper()
	return f.handedOver(t, request())
}

// depositedAtM5 books a parcel to LOCKER-M5 and deposits it there (its
// door still open): the shipment as handed over, and its compartment.
func (f lockersFixture) depositedAtM5(t *testing.T) (lokero.Shipment, int) {
	t.Helper()
	sh := f.inTransit(t)
	dep, err := f.lockers.Deposit(context.Background(), f.courier, "LOCKER-M5", sh.TrackingCode)
	if err != nil {
		t.Fatal(err)
	}
	return sh, dep.Compartment.Number
}

// handedOver books req and hands the parcel over to the courier.
func (f lockersFixture) handedOver(t *testing.T, req service.ShipmentRequest) lokero.Shipment {
	t.Helper()
	ctx := context.Background()
	res, err := f.shipments.Create(ctx, f.retailer, req, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	sh, err := f.shipments.HandoverByCourier(ctx, f.courier, res.Shipment.ID)
	if err != nil {
		t.Fatal(err)
	}
	return sh
}

// codePattern finds the code in a notice of arrival: a locker's opening
// code, or an outlet's pickup code.
var codePattern = regexp.MustCompile(`(?:Avauskoodi|Opening code|Öppningskod|Noutokoodi|Pickup code|Avhämtningskod): ([0-9]+)`)

// sentMessages lists the queued messages, newest first, as they are sent
// (Lockers.Render), after checking that each was stored without its
// opening code: a placeholder where the code goes, the code nowhere.
func sentMessages(ctx context.Context, l *service.Lockers, limit int) ([]lokero.OutboxMessage, error) {
	stored, err := l.Outbox(ctx, limit)
	if err != nil {
		return nil, err
	}
	sent := make([]lokero.OutboxMessage, len(stored))
	for i, m := range stored {
		if sent[i], err = l.Render(m); err != nil {
			return nil, err
		}
		if m.Code == nil {
			if sent[i].Text != m.Text {
				return nil, fmt.Errorf("message %d tells no code but was changed when sent", m.ID)
			}
			continue
		}
		code := codePattern.FindStringSubmatch(sent[i].Text)
		switch {
		case !strings.Contains(m.Text, lokero.CodePlaceholder):
			return nil, fmt.Errorf("message %d with a code stored without its placeholder: %q", m.ID, m.Text)
		case code == nil || strings.Contains(sent[i].Text, lokero.CodePlaceholder):
			return nil, fmt.Errorf("message %d sent without its code: %q", m.ID, sent[i].Text)
		case strings.Contains(m.Text, code[1]):
			return nil, fmt.Errorf("message %d stored with its opening code in clear", m.ID)
		}
	}
	return sent, nil
}

func TestLockerPickupEndToEnd(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		sh := f.inTransit(t)
		if _, err := f.lockers.Deposit(ctx, f.courier, "SP-NEAR", sh.TrackingCode); lokero.ErrorCode(err) != lokero.ECONFLICT {
			t.Fatalf("deposit at the wrong locker: %v; want ECONFLICT", err)
		}
		dep, err := f.lockers.Deposit(ctx, f.courier, "LOCKER-M5", sh.TrackingCode)
		if err != nil || dep.Compartment.Number != 1 || dep.Shipment.Status != lokero.StatusInLocker {
			t.Fatalf("deposit: %+v, %v", dep, err)
		}
		if _, err := f.lockers.DoorClosed(ctx, f.other, "LOCKER-M5", 1); lokero.ErrorCode(err) != lokero.EFORBIDDEN {
			t.Fatalf("another locker's device: %v; want EFORBIDDEN", err)
		}
		ready, err := f.lockers.DoorClosed(ctx, f.device, "LOCKER-M5", 1)
		if err != nil || ready.Status != lokero.StatusReadyForPickup || ready.StorageDeadline.IsZero() {
			t.Fatalf("door closed: %+v, %v", ready, err)
		}
		wantDeadline := calendar.Default().StorageDeadline(now, 7)
		if !ready.StorageDeadline.Equal(wantDeadline) {
			t.Errorf("deadline %v; want %v", ready.StorageDeadline, wantDeadline)
		}
		msgs, err := sentMessages(ctx, f.lockers, 10)
		if err != nil || len(msgs) != 2 {
			t.Fatalf("outbox: %d messages (%v); want sms and e-mail", len(msgs), err)
		}
		m := codePattern.FindStringSubmatch(msgs[0].Text)
		if m == nil || len(m[1]) < 6 || msgs[0].TrackingCode != sh.TrackingCode || !strings.Contains(msgs[0].Text, "Mannerheimintie 5") {
			t.Fatalf("notice of arrival %q: no opening code or place", msgs[0].Text)
		}
		code := m[1]
		if string(ready.OpeningCodeHash) == code || len(ready.OpeningCodeHash) == 0 {
			t.Error("the opening code is stored in clear or not at all")
		}

		// Five wrong codes lock the keypad out; the right one then waits too.
		for i := range 5 {
			_, err := f.lockers.Keypad(ctx, f.device, "LOCKER-M5", "0000000000")
			want := lokero.EFORBIDDEN
			if i == 4 {
				want = lokero.ETOOMANY
			}
			if lokero.ErrorCode(err) != want {
				t.Fatalf("wrong code %d: %v; want %s", i+1, err, want)
			}
		}
		if _, err := f.lockers.Keypad(ctx, f.device, "LOCKER-M5", code); lokero.ErrorCode(err) != lokero.ETOOMANY {
			t.Fatalf("right code during the lockout: %v; want ETOOMANY", err)
		}
		f.clock.Advance(2 * time.Minute)
		if _, err := f.lockers.Keypad(ctx, f.other, "SP-NEAR", code); lokero.ErrorCode(err) != lokero.EFORBIDDEN {
			t.Errorf("the code at another locker: %v; want a wrong code", err)
		}
		open, err := f.lockers.Keypad(ctx, f.device, "LOCKER-M5", code)
		if err != nil || open.Result != "open" || open.Compartment != 1 {
			t.Fatalf("right code: %+v, %v", open, err)
		}
		done, err := f.lockers.DoorClosed(ctx, f.device, "LOCKER-M5", 1)
		if err != nil || done.Status != lokero.StatusPickedUp || done.SizeClass != "" {
			t.Fatalf("door closed after pickup: %+v, %v", done, err)
		}
		want := lokero.Pickup{At: f.clock.Now().UTC().Truncate(time.Microsecond), LocationID: "LOCKER-M5", By: lokero.PickedUpByRecipient}
		if done.Pickup == nil || !done.Pickup.At.Equal(want.At) || done.Pickup.LocationID != want.LocationID || done.Pickup.By != want.By || done.Pickup.ClerkID != "" {
			t.Errorf("pickup recorded %+v; want %+v", done.Pickup, want)
		}
		if stored, err := f.shipments.Get(ctx, f.retailer, done.ID); err != nil || stored.Pickup == nil || stored.Pickup.LocationID != "LOCKER-M5" {
			t.Errorf("the stored pickup: %+v, %v; want the one recorded", stored.Pickup, err)
		}
		if _, err := f.lockers.Keypad(ctx, f.device, "LOCKER-M5", code); lokero.ErrorCode(err) != lokero.EFORBIDDEN {
			t.Errorf("a used code: %v; want wrong code", err)
		}
		// The compartment is free again: the next parcel gets it.
		next := f.inTransit(t)
		if dep, err := f.lockers.Deposit(ctx, f.courier, "LOCKER-M5", next.TrackingCode); err != nil || dep.Compartment.Number != 1 {
			t.Errorf("after pickup: %+v, %v; want compartment 1 again", dep, err)
		}
	})
}

func TestExpiredCodeOpensNothing(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		sh := f.inTransit(t)
		if _, err := f.lockers.Deposit(ctx, f.courier, "LOCKER-M5", sh.TrackingCode); err != nil {
			t.Fatal(err)
		}
		if _, err := f.lockers.DoorClosed(ctx, f.device, "LOCKER-M5", 1); err != nil {
			t.Fatal(err)
		}
		msgs, _ := sentMessages(ctx, f.lockers, 1)
		code := codePattern.FindStringSubmatch(msgs[0].Text)[1]
		f.clock.Advance(8 * 24 * time.Hour)
		if _, err := f.lockers.Keypad(ctx, f.device, "LOCKER-M5", code); lokero.ErrorCode(err) != lokero.EFORBIDDEN {
			t.Errorf("code after the storage deadline: %v; want wrong code", err)
		}
	})
}

func TestConcurrentDepositsAndOverflow(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		// LOCKER-M5 has two compartments: two parcels deposited at once get
		// one each, never the same.
		a, b := f.inTransit(t), f.inTransit(t)
		var wg sync.WaitGroup
		got := make([]int, 2)
		for i, sh := range []lokero.Shipment{a, b} {
			wg.Go(func() {
				dep, err := f.lockers.Deposit(ctx, f.courier, "LOCKER-M5", sh.TrackingCode)
				if err != nil {
					t.Errorf("deposit %d: %v", i, err)
					return
				}
				got[i] = dep.Compartment.Number
			})
		}
		wg.Wait()
		if got[0] == got[1] || got[0] == 0 || got[1] == 0 {
			t.Fatalf("concurrent deposits got compartments %v", got)
		}
		// A third parcel, booked for the next day (its reservation is of that
		// day), finds the locker still full and is re-routed to the nearest
		// public locker with room. (The booking counts the two parcels by
		// their expected count alone here, which lets it through; with the
		// default margin it would go to the overflow at booking.)
		if err := f.dir.Availability().SetMargin(0); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(24 * time.Hour)
		c := f.inTransit(t)
		if c.DestinationID != "LOCKER-M5" {
			t.Fatalf("the next day's parcel was booked to %s", c.DestinationID)
		}
		_, err := f.lockers.Deposit(ctx, f.courier, "LOCKER-M5", c.TrackingCode)
		if e, ok := err.(*lokero.Error); !ok || e.Reason != "no_free_compartment" || !strings.Contains(e.Message, "SP-NEAR") {
			t.Fatalf("deposit into a full locker: %v; want no_free_compartment naming SP-NEAR", err)
		}
		moved, err := f.shipments.Get(ctx, f.retailer, c.ID)
		if err != nil || moved.DestinationID != "SP-NEAR" || moved.Status != lokero.StatusInTransit {
			t.Fatalf("after the full locker: %+v, %v; want re-routed to SP-NEAR, in transit", moved, err)
		}
		last := moved.Events[len(moved.Events)-1]
		if !strings.Contains(last.Reason, "Re-routed") {
			t.Errorf("no reason for the re-route: %+v", last)
		}
		if n := f.lockers.DoorReroutes(); n != 1 {
			t.Errorf("%d turned away at the door; want 1, counted", n)
		}
		// It holds a compartment of SP-NEAR booked for today, as a booking
		// for today would.
		today := lokero.DateOf(f.clock.Now())
		reserved, err := f.store.ReservedOn(ctx, today, "SP-NEAR")
		if moved.SizeClass == "" || moved.DeliveryDate != today || err != nil || reserved["SP-NEAR"][moved.SizeClass] != 1 {
			t.Errorf("re-routed at the door with size class %q for %v; SP-NEAR's bookings for today %v (%v); want one, its own",
				moved.SizeClass, moved.DeliveryDate, reserved, err)
		}
		// When SP-NEAR's free compartments are all booked for today (parcels
		// still to come), the next parcel turned away at LOCKER-M5's door
		// does not take one of them: it goes on to the next locker.
		d := f.inTransit(t)
		near := f.dir.Snapshot().ByID("SP-NEAR")
		if err := f.store.InTx(ctx, func(tx lokero.Tx) error {
			for _, c := range near.Compartments {
				for {
					ok, err := tx.Reserve(ctx, near.ID, today, c.Size, c.Count)
					if err != nil || !ok {
						return err
					}
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		_, err = f.lockers.Deposit(ctx, f.courier, "LOCKER-M5", d.TrackingCode)
		if e, ok := err.(*lokero.Error); !ok || e.Reason != "no_free_compartment" {
			t.Fatalf("deposit into a full locker: %v; want no_free_compartment", err)
		}
		moved, err = f.shipments.Get(ctx, f.retailer, d.ID)
		if err != nil || moved.DestinationID == "SP-NEAR" || moved.DestinationID == "LOCKER-M5" || moved.SizeClass == "" {
			t.Errorf("with SP-NEAR booked full for today: %s with size class %q, %v; want another locker, booked", moved.DestinationID, moved.SizeClass, err)
		}
	})
}

func TestCredentials(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		_, courierToken, err := f.lockers.AddCredential(ctx, lokero.KindCourier, "K", "")
		if err != nil {
			t.Fatal(err)
		}
		_, deviceToken, err := f.lockers.AddCredential(ctx, lokero.KindDevice, "D", "LOCKER-M5")
		if err != nil {
			t.Fatal(err)
		}
		if c, err := f.lockers.Authenticate(ctx, lokero.KindCourier, courierToken); err != nil || c.Kind != lokero.KindCourier {
			t.Errorf("courier token: %+v, %v", c, err)
		}
		if _, err := f.lockers.Authenticate(ctx, lokero.KindDevice, courierToken); lokero.ErrorCode(err) != lokero.EUNAUTHORIZED {
			t.Errorf("a courier token as a device: %v; want EUNAUTHORIZED", err)
		}
		if _, err := f.lockers.Authenticate(ctx, lokero.KindCourier, deviceToken); lokero.ErrorCode(err) != lokero.EUNAUTHORIZED {
			t.Errorf("a device token as a courier: %v; want EUNAUTHORIZED", err)
		}
		if _, _, err := f.lockers.AddCredential(ctx, lokero.KindDevice, "X", "PO-FAR"); lokero.ErrorCode(err) != lokero.EINVALID {
			t.Errorf("a device for a post office: %v; want EINVALID", err)
		}
	})
}

func TestCashOnDelivery(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		pay := smartpost("SP-PAY", "00100", 60.1710, 24.9410)
		pay.PaymentTerminal = true
		if _, err := f.dir.Import(ctx, []lokero.Location{pay}); err != nil {
			t.Fatal(err)
		}
		device, _, err := f.lockers.AddCredential(ctx, lokero.KindDevice, "PAY", "SP-PAY")
		if err != nil {
			t.Fatal(err)
		}
		req := request()
		req.PickupPointID = "SP-PAY"
		req.COD = &service.CODRequest{AmountCents: 4990, Currency: "EUR"}
		res, err := f.shipments.Create(ctx, f.retailer, req, "", nil)
		if err != nil || res.Shipment.DestinationID != "SP-PAY" {
			t.Fatalf("COD to a SMARTPOST with a terminal: %+v, %v", res.Shipment.DestinationID, err)
		}
		sh, err := f.shipments.HandoverByCourier(ctx, f.courier, res.Shipment.ID)
		if err != nil {
			t.Fatal(err)
		}
		dep, err := f.lockers.Deposit(ctx, f.courier, "SP-PAY", sh.TrackingCode)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.lockers.DoorClosed(ctx, device, "SP-PAY", dep.Compartment.Number); err != nil {
			t.Fatal(err)
		}
		msgs, _ := sentMessages(ctx, f.lockers, 1)
		code := codePattern.FindStringSubmatch(msgs[0].Text)[1]
		kp, err := f.lockers.Keypad(ctx, device, "SP-PAY", code)
		if err != nil || kp.Result != "payment_required" || kp.AmountCents != 4990 {
			t.Fatalf("keypad before payment: %+v, %v; want payment_required 4990", kp, err)
		}
		if _, err := f.lockers.Payment(ctx, device, "SP-PAY", dep.Compartment.Number, 4000, "T-1"); lokero.ErrorCode(err) != lokero.EUNPROCESSABLE {
			t.Fatalf("a partial payment: %v; want EUNPROCESSABLE, door shut", err)
		}
		open, err := f.lockers.Payment(ctx, device, "SP-PAY", dep.Compartment.Number, 4990, "T-2")
		if err != nil || open.Result != "open" {
			t.Fatalf("the full payment: %+v, %v", open, err)
		}
		if _, err := f.lockers.Payment(ctx, device, "SP-PAY", dep.Compartment.Number, 4990, "T-3"); lokero.ErrorCode(err) != lokero.ECONFLICT {
			t.Errorf("paying twice: %v; want ECONFLICT", err)
		}
		done, err := f.lockers.DoorClosed(ctx, device, "SP-PAY", dep.Compartment.Number)
		if err != nil || done.Status != lokero.StatusPickedUp || done.COD.CollectedAt == nil || done.COD.TerminalRef != "T-2" {
			t.Fatalf("after payment and pickup: %+v, %v", done, err)
		}
		if done.COD.Method != lokero.PaymentTerminal || done.COD.LocationID != "SP-PAY" {
			t.Errorf("paid by %q at %q; want the terminal at SP-PAY", done.COD.Method, done.COD.LocationID)
		}
		day := lokero.DateOf(f.clock.Now())
		list, err := f.lockers.Settlements(ctx, day)
		if err != nil || len(list) != 1 || list[0].RetailerID != f.retailer.ID || list[0].AmountCents != 4990 || list[0].Shipments != 1 {
			t.Fatalf("settlements of %s: %+v, %v", day, list, err)
		}
		wantAt := service.LocationSettlement{LocationID: "SP-PAY", Name: pay.Name, Type: lokero.TypeSmartpost, Shipments: 1, AmountCents: 4990, TerminalCents: 4990}
		if len(list[0].Locations) != 1 || list[0].Locations[0] != wantAt {
			t.Errorf("settlement by place: %+v; want %+v", list[0].Locations, wantAt)
		}
		if list, err := f.lockers.Settlements(ctx, day.AddDays(1)); err != nil || len(list) != 0 {
			t.Errorf("the next day's settlements: %+v, %v; want none", list, err)
		}
	})
}

func TestOperatorViewAndOutOfOrder(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		op, _, err := f.lockers.AddCredential(ctx, lokero.KindOperator, "Olli", "")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.lockers.SetOutOfOrder(ctx, f.courier, "LOCKER-M5", 1, true); lokero.ErrorCode(err) != lokero.EFORBIDDEN {
			t.Errorf("a courier marks a compartment: %v; want EFORBIDDEN", err)
		}
		if _, err := f.lockers.SetOutOfOrder(ctx, op, "LOCKER-M5", 1, true); err != nil {
			t.Fatal(err)
		}
		sh := f.inTransit(t)
		dep, err := f.lockers.Deposit(ctx, f.courier, "LOCKER-M5", sh.TrackingCode)
		if err != nil || dep.Compartment.Number != 2 {
			t.Fatalf("deposit with compartment 1 out of order: %+v, %v; want compartment 2", dep.Compartment, err)
		}
		if _, err := f.lockers.DoorClosed(ctx, f.device, "LOCKER-M5", 2); err != nil {
			t.Fatal(err)
		}
		v, err := f.lockers.View(ctx, op, "LOCKER-M5")
		if err != nil {
			t.Fatal(err)
		}
		if len(v.Compartments) != 2 || v.Compartments[0].State != "out_of_order" || v.Compartments[1].State != "occupied" || v.Compartments[1].TrackingCode != sh.TrackingCode {
			t.Errorf("view: %+v", v.Compartments)
		}
		if o := v.Occupancy["L"]; o.Total != 2 || o.Occupied != 1 || o.OutOfOrder != 1 {
			t.Errorf("occupancy %+v", o)
		}
		if len(v.ExpiringToday) != 0 {
			t.Errorf("expiring today on the day of the deposit: %v", v.ExpiringToday)
		}
		// On the last day of the storage period the parcel is listed.
		f.clock.Advance(7*24*time.Hour + time.Hour)
		v, err = f.lockers.View(ctx, op, "LOCKER-M5")
		if err != nil || len(v.ExpiringToday) != 1 || v.ExpiringToday[0] != sh.TrackingCode {
			t.Errorf("expiring on the 7th day: %v, %v", v.ExpiringToday, err)
		}
	})
}

// recordingQueue records the jobs a use case queues in its transaction.
type recordingQueue struct {
	mu   sync.Mutex
	jobs map[string]time.Time // kind + " " + shipment id → due
}

func (r *recordingQueue) InsertTx(_ context.Context, tx *sql.Tx, j lokero.Job) error {
	if tx == nil {
		return errors.New("no transaction")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.jobs[j.Kind+" "+j.ShipmentID] = j.At
	if j.Kind == lokero.JobDeliver {
		r.jobs[fmt.Sprintf("%s %d", j.Kind, j.MessageID)] = j.At
	}
	return nil
}

// TestStoragePeriod: the reminder and the expiry are queued at deposit;
// run at their time, the reminder is queued once and the parcel expires,
// its code stops working, the courier collects it from the collection
// list and it travels back to the sender.
func TestStoragePeriod(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		jobs := &recordingQueue{jobs: map[string]time.Time{}}
		f.store.SetJobQueue(jobs)
		sh := f.inTransit(t)
		if _, err := f.lockers.Deposit(ctx, f.courier, "LOCKER-M5", sh.TrackingCode); err != nil {
			t.Fatal(err)
		}
		ready, err := f.lockers.DoorClosed(ctx, f.device, "LOCKER-M5", 1)
		if err != nil {
			t.Fatal(err)
		}
		if due := jobs.jobs[service.JobExpiry+" "+sh.ID]; !due.Equal(ready.StorageDeadline) {
			t.Errorf("expiry job due %v; want the deadline %v", due, ready.StorageDeadline)
		}
		remind := jobs.jobs[service.JobReminder+" "+sh.ID]
		if want := ready.StorageDeadline.Add(-48*time.Hour + calendar.ReminderHour*time.Hour); remind.Sub(want).Abs() > time.Hour ||
			remind.In(calendar.Helsinki).Hour() != calendar.ReminderHour {
			t.Errorf("reminder due %v; want two days before the deadline, in the morning, %v", remind, want)
		}
		msgs, _ := sentMessages(ctx, f.lockers, 1)
		code := codePattern.FindStringSubmatch(msgs[0].Text)[1]

		// An early run changes nothing and says when it is due.
		var early *service.NotYet
		if err := f.lockers.Expire(ctx, sh.ID); !errors.As(err, &early) || !early.NotBefore().Equal(ready.StorageDeadline) {
			t.Fatalf("expire before the deadline: %v; want NotYet until %s", err, ready.StorageDeadline)
		}
		if got, _ := f.shipments.Get(ctx, f.retailer, sh.ID); got.Status != lokero.StatusReadyForPickup {
			t.Fatalf("expired before the deadline: %s", got.Status)
		}
		f.clock.Advance(5*24*time.Hour + 12*time.Hour)
		for range 2 {
			if err := f.lockers.Remind(ctx, sh.ID); err != nil {
				t.Fatal(err)
			}
		}
		all, _ := sentMessages(ctx, f.lockers, 100)
		reminders := 0
		for _, m := range all {
			if m.Kind == "reminder" && m.TrackingCode == sh.TrackingCode {
				reminders++
			}
		}
		if reminders != 2 { // one by SMS, one by e-mail: the second run added none
			t.Errorf("%d reminder messages; want one per channel, once", reminders)
		}
		f.clock.Advance(ready.StorageDeadline.Sub(f.clock.Now())) // the deadline's midnight, as the job runs
		for range 2 {
			if err := f.lockers.Expire(ctx, sh.ID); err != nil {
				t.Fatal(err)
			}
		}
		expired, _ := f.shipments.Get(ctx, f.retailer, sh.ID)
		if expired.Status != lokero.StatusExpired {
			t.Fatalf("after the deadline: %s", expired.Status)
		}
		// Its notice waits for the morning: queued now, sent at 08:00.
		outbox, err := f.lockers.Outbox(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		morning := time.Date(ready.StorageDeadline.In(calendar.Helsinki).Year(), ready.StorageDeadline.In(calendar.Helsinki).Month(),
			ready.StorageDeadline.In(calendar.Helsinki).Day(), calendar.NightUntil, 0, 0, 0, calendar.Helsinki)
		notices := 0
		for _, m := range outbox {
			if m.Kind != "expired" || m.TrackingCode != sh.TrackingCode {
				continue
			}
			notices++
			if due := jobs.jobs[fmt.Sprintf("%s %d", lokero.JobDeliver, m.ID)]; !due.Equal(morning) {
				t.Errorf("the expiry notice by %s is due %v; want the morning, %v", m.Channel, due, morning)
			}
		}
		if notices == 0 {
			t.Error("no expiry notice queued")
		}
		if _, err := f.lockers.Keypad(ctx, f.device, "LOCKER-M5", code); lokero.ErrorCode(err) != lokero.EFORBIDDEN {
			t.Errorf("an expired parcel's code: %v; want wrong code", err)
		}
		list, err := f.lockers.Collections(ctx, f.courier, "LOCKER-M5")
		if err != nil || len(list) != 1 || list[0].ID != sh.ID {
			t.Fatalf("collection list: %v, %v", list, err)
		}
		back, from, err := f.lockers.Collect(ctx, f.courier, "LOCKER-M5", sh.TrackingCode)
		if err != nil || back.Status != lokero.StatusReturning || from != list[0].Compartment || from < 1 {
			t.Fatalf("collect: %+v from %d, %v; want RETURNING from compartment %d", back.Status, from, err, list[0].Compartment)
		}
		if list, _ := f.lockers.Collections(ctx, f.courier, "LOCKER-M5"); len(list) != 0 {
			t.Errorf("still on the collection list after collection: %v", list)
		}
		done, err := f.shipments.Returned(ctx, "", sh.ID)
		if err != nil || done.Status != lokero.StatusReturnedToSender {
			t.Fatalf("returned: %+v, %v", done.Status, err)
		}
		// The compartment is free again.
		next := f.inTransit(t)
		if dep, err := f.lockers.Deposit(ctx, f.courier, "LOCKER-M5", next.TrackingCode); err != nil || dep.Compartment.Number != 1 {
			t.Errorf("after collection: %+v, %v", dep.Compartment, err)
		}
	})
}

func TestLetters(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		if _, err := f.lockers.Letters(ctx, f.device, "LOCKER-M5", service.LetterDropped, 0); err != nil {
			t.Fatal(err)
		}
		slot, err := f.lockers.Letters(ctx, f.device, "LOCKER-M5", service.LetterDropped, 3)
		if err != nil || slot.InSlot != 4 || slot.Dropped != 4 {
			t.Fatalf("after 1 + 3 letters: %+v, %v", slot, err)
		}
		slot, err = f.lockers.Letters(ctx, f.device, "LOCKER-M5", service.SlotEmptied, 0)
		if err != nil || slot.InSlot != 0 || slot.Emptied != 4 || slot.Dropped != 4 {
			t.Fatalf("after emptying: %+v, %v", slot, err)
		}
		if _, err := f.lockers.Letters(ctx, f.other, "LOCKER-M5", service.LetterDropped, 1); lokero.ErrorCode(err) != lokero.EFORBIDDEN {
			t.Errorf("another locker's device: %v; want EFORBIDDEN", err)
		}
		if _, err := f.lockers.Letters(ctx, f.device, "LOCKER-M5", service.LetterDropped, -2); lokero.ErrorCode(err) != lokero.EINVALID {
			t.Errorf("a negative count: %v; want EINVALID", err)
		}
	})
}

// TestKeypadPickupAcrossTheExpiry: a recipient whose right code opened the
// door a minute before the storage deadline, and who shuts it after the
// expiry job ran, took the parcel in time: the closing completes the
// pickup (the expiry is undone, as for a pickup reported late by an
// offline locker), the compartment is free, and the parcel is on no
// courier's collection list as if it were still inside.
func TestKeypadPickupAcrossTheExpiry(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		sh, n := f.depositedAtM5(t)
		ready, err := f.lockers.DoorClosed(ctx, f.device, "LOCKER-M5", n)
		if err != nil {
			t.Fatal(err)
		}
		msgs, err := sentMessages(ctx, f.lockers, 1)
		if err != nil {
			t.Fatal(err)
		}
		code := codePattern.FindStringSubmatch(msgs[0].Text)[1]
		f.clock.Advance(ready.StorageDeadline.Add(-time.Minute).Sub(f.clock.Now()))
		if open, err := f.lockers.Keypad(ctx, f.device, "LOCKER-M5", code); err != nil || open.Compartment != n {
			t.Fatalf("the right code a minute before the deadline: %+v, %v", open, err)
		}
		f.clock.Advance(2 * time.Minute)
		if err := f.lockers.Expire(ctx, sh.ID); err != nil {
			t.Fatal(err)
		}
		done, err := f.lockers.DoorClosed(ctx, f.device, "LOCKER-M5", n)
		if err != nil {
			t.Fatal(err)
		}
		if done.Status != lokero.StatusPickedUp || done.Pickup == nil || done.Compartment != 0 || done.SizeClass != "" {
			t.Fatalf("door shut after the expiry on a parcel taken in time: %s, pickup %+v, compartment %d, size class %q; want PICKED_UP, out of its compartment",
				done.Status, done.Pickup, done.Compartment, done.SizeClass)
		}
		list, err := f.lockers.Collections(ctx, f.courier, "LOCKER-M5")
		if err != nil || len(list) != 0 {
			t.Errorf("collection list after the pickup: %d parcels (%v); want none", len(list), err)
		}
		// A door shut again on an expired parcel nobody opened completes nothing.
		late, m := f.depositedAtM5(t)
		ready, err = f.lockers.DoorClosed(ctx, f.device, "LOCKER-M5", m)
		if err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(ready.StorageDeadline.Add(time.Minute).Sub(f.clock.Now()))
		if err := f.lockers.Expire(ctx, late.ID); err != nil {
			t.Fatal(err)
		}
		if got, err := f.lockers.DoorClosed(ctx, f.device, "LOCKER-M5", m); err != nil || got.Status != lokero.StatusExpired {
			t.Errorf("a closed door reported again on an expired parcel: %s, %v; want EXPIRED", got.Status, err)
		}
	})
}

// TestForcedDoorCompletesNothing: a door the controller reports open
// without its lock's opening (forced, or a lock that failed open) and
// then shut leaves the parcel as it was — ready for pickup, in its
// compartment, which no deposit is given — for the operator to check;
// the operator's view shows the door forced meanwhile. The recipient's
// code still opens it and completes the pickup. A door the centre opened
// and the controller reports open late is the centre's opening.
func TestForcedDoorCompletesNothing(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		sh, n := f.depositedAtM5(t)
		if _, err := f.lockers.DoorClosed(ctx, f.device, "LOCKER-M5", n); err != nil {
			t.Fatal(err)
		}
		msgs, err := sentMessages(ctx, f.lockers, 1)
		if err != nil {
			t.Fatal(err)
		}
		code := codePattern.FindStringSubmatch(msgs[0].Text)[1]

		if err := f.lockers.DoorOpened(ctx, f.device, "LOCKER-M5", n); err != nil {
			t.Fatal(err)
		}
		view, err := f.lockers.View(ctx, lokero.Credential{Kind: lokero.KindOperator}, "LOCKER-M5")
		if err != nil {
			t.Fatal(err)
		}
		if c := view.Compartments[n-1]; !c.DoorOpen || !c.DoorForced || c.ShipmentID != sh.ID {
			t.Errorf("operator's view of the forced door: %+v; want open, forced, the parcel in it", c.Compartment)
		}
		got, err := f.lockers.DoorClosed(ctx, f.device, "LOCKER-M5", n)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != lokero.StatusReadyForPickup || got.Pickup != nil || got.Compartment != n {
			t.Fatalf("a forced door shut: %s, pickup %+v, compartment %d; want READY_FOR_PICKUP in %d", got.Status, got.Pickup, got.Compartment, n)
		}
		cs, err := f.store.Compartments(ctx, "LOCKER-M5")
		if err != nil {
			t.Fatal(err)
		}
		if c := cs[n-1]; c.ShipmentID != sh.ID || c.DoorOpen || c.DoorForced {
			t.Errorf("compartment %d after the forced door shut: %+v; want the parcel in it, shut", n, c)
		}

		// The recipient's code opens it; a late door_opened of that
		// opening is the centre's, and the closing completes the pickup.
		if open, err := f.lockers.Keypad(ctx, f.device, "LOCKER-M5", code); err != nil || open.Compartment != n {
			t.Fatalf("the right code after the forced door: %+v, %v", open, err)
		}
		if err := f.lockers.DoorOpened(ctx, f.device, "LOCKER-M5", n); err != nil {
			t.Fatal(err)
		}
		if got, err = f.lockers.DoorClosed(ctx, f.device, "LOCKER-M5", n); err != nil || got.Status != lokero.StatusPickedUp {
			t.Errorf("the recipient's opening shut: %s, %v; want PICKED_UP", got.Status, err)
		}
	})
}

// TestDoorRerouteSkipsClosedLockers: a parcel turned away at a full
// locker's door is re-routed to the nearest locker with room that is open
// today, never to one closed (SP-NEAR here, nearer than SP-MID).
func TestDoorRerouteSkipsClosedLockers(t *testing.T) {
	t.Parallel()
	eachStore(t, func(t *testing.T, f lockersFixture) {
		ctx := context.Background()
		f.depositedAtM5(t)
		f.depositedAtM5(t)
		if err := f.dir.Availability().SetMargin(0); err != nil {
			t.Fatal(err)
		}
		f.clock.Advance(24 * time.Hour)
		c := f.inTransit(t)
		if c.DestinationID != "LOCKER-M5" {
			t.Fatalf("the next day's parcel was booked to %s", c.DestinationID)
		}
		if _, err := f.dir.Patch(ctx, "operator_1", "SP-NEAR", service.LocationPatch{Status: strp("CLOSED")}); err != nil {
			t.Fatal(err)
		}
		_, err := f.lockers.Deposit(ctx, f.courier, "LOCKER-M5", c.TrackingCode)
		if e, ok := err.(*lokero.Error); !ok || e.Reason != "no_free_compartment" {
			t.Fatalf("deposit into a full locker: %v; want no_free_compartment", err)
		}
		moved, err := f.shipments.Get(ctx, f.retailer, c.ID)
		if err != nil || moved.DestinationID != "SP-MID" {
			t.Fatalf("re-routed at the door to %s (%v); want SP-MID, the nearest open locker (SP-NEAR is closed)", moved.DestinationID, err)
		}
	})
}
