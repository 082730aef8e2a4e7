package storetest

// The locker half of the suite: credentials, compartments, the shipment's
// place in its locker, keypads and the outbox. Besides the interface
// documentation in package lokero, the stores agree that:
//
//   - A credential ID or token hash already in use is an ECONFLICT with
//     the reason "duplicate_id" or "duplicate_token".
//   - A compartment's empty ShipmentID, a shipment's zero StorageDeadline
//     and empty OpeningCodeHash are stored as NULL and come back as "",
//     the zero time and nil. StorageDeadline is kept to the microsecond and
//     comes back in UTC, as every time.
//   - The store's ShipmentTx is also a lokero.Tx: compartments,
//     shipments, keypads and the outbox change in one transaction.
//   - LockerTx.Compartments serialises the transactions of one locker, also
//     while the locker has no compartments yet: concurrent claims of a free
//     compartment never take one twice, and concurrent first lay-outs lay
//     the locker out once.
//   - DeleteCompartmentsAbove deletes only the locker's rows numbered above
//     the number, in the transaction (a rollback keeps them), and a number
//     deleted can be put again as a new row.
//   - ShipmentByOpeningCode matches the shipment's destination and opening
//     code hash; an empty hash matches nothing.
//   - Outbox lists by ID, newest first; 100 messages when the limit is
//     <= 0; a message's parcel and the reference to its code (never the
//     code) come back as stored.

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lokero/lokero"
)

var lockerTests = []struct {
	name string
	fn   func(t *testing.T, s Store)
}{
	{"Credentials", testCredentials},
	{"Compartments", testCompartments},
	{"DeleteCompartmentsAbove", testDeleteCompartmentsAbove},
	{"ShipmentLockerFields", testShipmentLockerFields},
	{"ShipmentByOpeningCode", testShipmentByOpeningCode},
	{"Keypad", testKeypad},
	{"LetterSlot", testLetterSlot},
	{"Outbox", testOutbox},
	{"ClaimCompartmentConcurrent", testClaimCompartmentConcurrent},
	{"LayOutLockerConcurrent", testLayOutLockerConcurrent},
	{"DropOffs", testDropOffs},
	{"ReturnsExpected", testReturnsExpected},
	{"ReservedOnAndShipmentsTo", testReservedOnAndShipmentsTo},
}

func tokenHash(token string) []byte {
	h := sha256.Sum256([]byte("token " + token))
	return h[:]
}

func testCredentials(t *testing.T, s Store) {
	ctx := t.Context()
	courier := lokero.Credential{ID: "c-1", Kind: lokero.KindCourier, Name: "Kaisa Kuriiri – Åbo",
		CreatedAt: t0.Add(123).In(helsinki)}
	device := lokero.Credential{ID: "d-1", Kind: lokero.KindDevice, Name: "locker smartpost-1",
		LocationID: "smartpost-1", CreatedAt: t0.Add(time.Hour)}
	operator := lokero.Credential{ID: "o-1", Kind: lokero.KindOperator, Name: "Olli", CreatedAt: t0}
	for _, c := range []lokero.Credential{courier, device, operator} {
		if err := s.CreateCredential(ctx, c, tokenHash(c.ID)); err != nil {
			t.Fatalf("CreateCredential(%s): %v", c.ID, err)
		}
	}
	for _, want := range []lokero.Credential{courier, device, operator} {
		got, err := s.CredentialByTokenHash(ctx, tokenHash(want.ID))
		if err != nil {
			t.Fatalf("CredentialByTokenHash(%s): %v", want.ID, err)
		}
		if got.CreatedAt.Location() != time.UTC {
			t.Errorf("credential %s: CreatedAt %v not in UTC", want.ID, got.CreatedAt)
		}
		want.CreatedAt = want.CreatedAt.UTC().Truncate(time.Microsecond)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("credential:\n got %+v\nwant %+v", got, want)
		}
	}

	dupID := device
	dupID.Name = "another"
	checkError(t, s.CreateCredential(ctx, dupID, tokenHash("other")), lokero.ECONFLICT, "duplicate_id")
	checkError(t, s.CreateCredential(ctx, lokero.Credential{ID: "c-2", Kind: lokero.KindCourier, CreatedAt: t0},
		tokenHash(courier.ID)), lokero.ECONFLICT, "duplicate_token")
	// Neither duplicate was stored.
	if _, err := s.CredentialByTokenHash(ctx, tokenHash("other")); lokero.ErrorCode(err) != lokero.ENOTFOUND {
		t.Errorf("CredentialByTokenHash of a refused duplicate: %v, want ENOTFOUND", err)
	}
	if got, err := s.CredentialByTokenHash(ctx, tokenHash(courier.ID)); err != nil || got.ID != courier.ID {
		t.Errorf("CredentialByTokenHash after a refused duplicate = %+v, %v; want %s", got, err, courier.ID)
	}
	for _, h := range [][]byte{tokenHash("nobody"), {}, nil} {
		_, err := s.CredentialByTokenHash(ctx, h)
		checkError(t, err, lokero.ENOTFOUND, "")
	}
}

// layout returns n compartments of a locker, numbered from 1, all sizes.
func layout(locationID string, n int) []lokero.Compartment {
	var cs []lokero.Compartment
	for i := 1; i <= n; i++ {
		cs = append(cs, lokero.Compartment{LocationID: locationID, Number: i, Size: []string{"S", "M", "L"}[(i-1)%3],
			LengthCM: 70, WidthCM: 40, HeightCM: []int{10, 20, 40}[(i-1)%3]})
	}
	return cs
}

func checkCompartments(t *testing.T, what string, got, want []lokero.Compartment) {
	t.Helper()
	if len(got) != len(want) || len(want) > 0 && !reflect.DeepEqual(got, want) {
		t.Errorf("%s:\n got %+v\nwant %+v", what, got, want)
	}
}

func testCompartments(t *testing.T, s Store) {
	ctx := t.Context()
	const loc, other = "locker-1", "locker-2"
	cs := layout(loc, 3)
	check := func(want []lokero.Compartment) {
		t.Helper()
		got, err := s.Compartments(ctx, loc)
		if err != nil {
			t.Fatalf("Compartments: %v", err)
		}
		checkCompartments(t, "Compartments", got, want)
		mustInTx(t, s, func(tx lokero.Tx) error {
			got, err := tx.Compartments(ctx, loc)
			if err != nil {
				return err
			}
			checkCompartments(t, "LockerTx.Compartments", got, want)
			return nil
		})
	}
	check(nil)

	// Put out of order (3, 1, 2), and another locker's: listed by number.
	mustInTx(t, s, func(tx lokero.Tx) error {
		for _, i := range []int{2, 0, 1} {
			if err := tx.PutCompartment(ctx, cs[i]); err != nil {
				return err
			}
		}
		got, err := tx.Compartments(ctx, loc) // its own writes
		if err != nil {
			return err
		}
		checkCompartments(t, "Compartments in the transaction that put them", got, cs)
		return tx.PutCompartment(ctx, lokero.Compartment{LocationID: other, Number: 1, Size: "XL",
			LengthCM: 70, WidthCM: 40, HeightCM: 40})
	})
	check(cs)

	// Update every field of one; then empty it again.
	want := slices.Clone(cs)
	want[1] = lokero.Compartment{LocationID: loc, Number: 2, Size: "L", LengthCM: 60, WidthCM: 35, HeightCM: 41,
		OutOfOrder: true, ShipmentID: "s-ä1", DoorOpen: true, DoorForced: true}
	mustInTx(t, s, func(tx lokero.Tx) error {
		return tx.PutCompartment(ctx, want[1])
	})
	check(want)
	want[1].ShipmentID, want[1].OutOfOrder, want[1].DoorOpen, want[1].DoorForced = "", false, false, false
	mustInTx(t, s, func(tx lokero.Tx) error {
		return tx.PutCompartment(ctx, want[1])
	})
	check(want)

	got, err := s.Compartments(ctx, other)
	if err != nil || len(got) != 1 || got[0].Size != "XL" || got[0].ShipmentID != "" {
		t.Errorf("Compartments(%s) = %+v, %v", other, got, err)
	}

	// A rolled-back put leaves nothing.
	errRollback := errors.New("roll back")
	err = s.InTx(ctx, func(tx lokero.Tx) error {
		c := want[0]
		c.ShipmentID = "rolled-back"
		if err := tx.PutCompartment(ctx, c); err != nil {
			return err
		}
		if err := tx.PutCompartment(ctx, lokero.Compartment{LocationID: loc, Number: 4, Size: "S"}); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("InTx = %v, want %v", err, errRollback)
	}
	check(want)
}

func testDeleteCompartmentsAbove(t *testing.T, s Store) {
	ctx := t.Context()
	const loc, other = "locker-1", "locker-2"
	cs, others := layout(loc, 5), layout(other, 4)
	mustInTx(t, s, func(tx lokero.Tx) error {
		for _, c := range slices.Concat(cs, others) {
			if err := tx.PutCompartment(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	check := func(what, locationID string, want []lokero.Compartment) {
		t.Helper()
		got, err := s.Compartments(ctx, locationID)
		if err != nil {
			t.Fatalf("Compartments(%s): %v", locationID, err)
		}
		checkCompartments(t, what, got, want)
	}
	deleteAbove := func(tx lokero.Tx, locationID string, number, want int) error {
		t.Helper()
		n, err := tx.DeleteCompartmentsAbove(ctx, locationID, number)
		if err != nil {
			return err
		}
		if n != want {
			t.Errorf("DeleteCompartmentsAbove(%s, %d) deleted %d; want %d", locationID, number, n, want)
		}
		return nil
	}

	// Rolled back, nothing goes.
	errRollback := errors.New("roll back")
	if err := s.InTx(ctx, func(tx lokero.Tx) error {
		if err := deleteAbove(tx, loc, 0, 5); err != nil {
			return err
		}
		return errRollback
	}); !errors.Is(err, errRollback) {
		t.Fatalf("InTx = %v, want %v", err, errRollback)
	}
	check("after a rolled-back delete", loc, cs)

	tests := []struct {
		name   string
		number int
		want   int // rows left, numbered 1..want
	}{
		{"above the last", 5, 5},
		{"the last two", 3, 3},
		{"none left above", 3, 3},
		{"above a number beyond", 7, 3},
		{"all", 0, 0},
	}
	left := 5
	for _, tt := range tests {
		mustInTx(t, s, func(tx lokero.Tx) error {
			if err := deleteAbove(tx, loc, tt.number, left-tt.want); err != nil {
				return err
			}
			got, err := tx.Compartments(ctx, loc) // its own delete
			if err != nil {
				return err
			}
			checkCompartments(t, tt.name+": in the transaction", got, cs[:tt.want])
			return nil
		})
		left = tt.want
		check(tt.name, loc, cs[:tt.want])
		check(tt.name+": another locker's", other, others)
	}

	// A number deleted in a transaction is put again in it, as a new row
	// holding a parcel.
	mustInTx(t, s, func(tx lokero.Tx) error {
		for _, c := range cs[:2] {
			if err := tx.PutCompartment(ctx, c); err != nil {
				return err
			}
		}
		if _, err := tx.Compartments(ctx, loc); err != nil {
			return err
		}
		if err := deleteAbove(tx, loc, 1, 1); err != nil {
			return err
		}
		c := cs[1]
		c.ShipmentID = "s-2"
		return tx.PutCompartment(ctx, c)
	})
	want := slices.Clone(cs[:2])
	want[1].ShipmentID = "s-2"
	check("put again after a delete", loc, want)
}

// lockerShipment returns a shipment deposited in a locker: compartment,
// storage deadline (finer than a microsecond, not in UTC) and opening code
// hash set.
func lockerShipment(retailerID, id, locationID string, compartment int, code string) lokero.Shipment {
	s := shipment(retailerID, id)
	s.Status = lokero.StatusReadyForPickup
	s.DestinationID = locationID
	s.Compartment = compartment
	s.StorageDeadline = t0.Add(7*24*time.Hour + 789).In(helsinki)
	s.OpeningCodeHash = tokenHash("opening code " + code)
	return s
}

// storedLocker returns s as stored, the storage deadline in UTC to the
// microsecond.
func storedLocker(s lokero.Shipment) lokero.Shipment {
	if !s.StorageDeadline.IsZero() {
		s.StorageDeadline = s.StorageDeadline.UTC().Truncate(time.Microsecond)
	}
	if len(s.OpeningCodeHash) == 0 {
		s.OpeningCodeHash = nil
	}
	return s
}

func testShipmentLockerFields(t *testing.T, s Store) {
	ctx := t.Context()
	mustRetailer(t, s, "r")
	plain := shipment("r", "s-plain")
	deposited := lockerShipment("r", "s-deposited", "locker-1", 7, "123456")
	mustInsert(t, s, plain, deposited)

	checkAll := func(sh lokero.Shipment) {
		t.Helper()
		want := storedLocker(sh)
		checkShipment(t, mustShipment(t, s, sh.ID), want, true)
		got, err := s.ShipmentByTrackingCode(ctx, sh.TrackingCode)
		if err != nil {
			t.Fatalf("ShipmentByTrackingCode(%s): %v", sh.TrackingCode, err)
		}
		checkShipment(t, got, want, true)
		mustInTx(t, s, func(tx lokero.Tx) error {
			got, err := tx.Shipment(ctx, sh.ID)
			if err != nil {
				return err
			}
			checkShipment(t, got, want, true)
			return nil
		})
		list, err := s.Shipments(ctx, lokero.ShipmentFilter{RetailerID: sh.RetailerID})
		if err != nil {
			t.Fatal(err)
		}
		for _, got := range list {
			if got.ID == sh.ID {
				checkShipment(t, got, want, false)
			}
		}
		if got := mustShipment(t, s, sh.ID); got.StorageDeadline.Location() != time.UTC {
			t.Errorf("shipment %s: StorageDeadline %v not in UTC", sh.ID, got.StorageDeadline)
		}
	}
	checkAll(plain)
	checkAll(deposited)

	// Deposit the plain one; clear the other (picked up).
	plain.Status, plain.Compartment = lokero.StatusReadyForPickup, 3
	plain.StorageDeadline = t0.Add(48*time.Hour + 1).In(helsinki)
	plain.OpeningCodeHash = []byte{0, 1, 2, 0xff}
	plain.UpdatedAt = t0.Add(time.Hour)
	plain.Events = append(plain.Events, lokero.ShipmentEvent{Status: lokero.StatusReadyForPickup, At: plain.UpdatedAt})
	deposited.Status, deposited.Compartment = lokero.StatusPickedUp, 0
	deposited.StorageDeadline, deposited.OpeningCodeHash = time.Time{}, []byte{}
	deposited.UpdatedAt = t0.Add(2 * time.Hour)
	mustInTx(t, s, func(tx lokero.Tx) error {
		if err := tx.UpdateShipment(ctx, &plain); err != nil {
			return err
		}
		return tx.UpdateShipment(ctx, &deposited)
	})
	checkAll(plain)
	checkAll(deposited)
}

func testShipmentByOpeningCode(t *testing.T, s Store) {
	ctx := t.Context()
	mustRetailer(t, s, "r")
	a := lockerShipment("r", "s-a", "locker-a", 1, "111111")
	a.Events = append(a.Events, lokero.ShipmentEvent{Status: lokero.StatusReadyForPickup, At: t0.Add(time.Hour),
		LocationID: "locker-a"})
	b := lockerShipment("r", "s-b", "locker-b", 1, "222222")
	sameCodeElsewhere := lockerShipment("r", "s-c", "locker-c", 2, "111111")
	noCode := shipment("r", "s-none")
	noCode.DestinationID = "locker-a"
	mustInsert(t, s, a, b, sameCodeElsewhere, noCode)

	find := func(loc string, hash []byte) (lokero.Shipment, error) {
		var got lokero.Shipment
		var ferr error
		mustInTx(t, s, func(tx lokero.Tx) error {
			got, ferr = tx.ShipmentByOpeningCode(ctx, loc, hash)
			return nil
		})
		return got, ferr
	}
	for _, want := range []lokero.Shipment{a, b, sameCodeElsewhere} {
		got, err := find(want.DestinationID, want.OpeningCodeHash)
		if err != nil {
			t.Fatalf("ShipmentByOpeningCode(%s): %v", want.ID, err)
		}
		checkShipment(t, got, storedLocker(want), true)
	}
	for _, c := range []struct {
		loc  string
		hash []byte
	}{
		{"locker-a", b.OpeningCodeHash},                // another locker's code
		{"locker-b", a.OpeningCodeHash},                // a code of another locker
		{"locker-a", tokenHash("opening code 333333")}, // nobody's
		{"locker-a", nil},
		{"locker-a", []byte{}},
		{"", a.OpeningCodeHash},
	} {
		got, err := find(c.loc, c.hash)
		if lokero.ErrorCode(err) != lokero.ENOTFOUND {
			t.Errorf("ShipmentByOpeningCode(%s, %x) = %s, %v; want ENOTFOUND", c.loc, c.hash, got.ID, err)
		}
	}

	// Once its code is cleared, a shipment is not found by it.
	a.OpeningCodeHash, a.Status = nil, lokero.StatusPickedUp
	mustInTx(t, s, func(tx lokero.Tx) error { return tx.UpdateShipment(ctx, &a) })
	if got, err := find("locker-a", tokenHash("opening code 111111")); lokero.ErrorCode(err) != lokero.ENOTFOUND {
		t.Errorf("ShipmentByOpeningCode of a cleared code = %s, %v; want ENOTFOUND", got.ID, err)
	}
}

func testKeypad(t *testing.T, s Store) {
	ctx := t.Context()
	keypad := func(loc string) []byte {
		t.Helper()
		var state []byte
		mustInTx(t, s, func(tx lokero.Tx) error {
			var err error
			state, err = tx.Keypad(ctx, loc)
			return err
		})
		return state
	}
	if got := keypad("locker-1"); got != nil {
		t.Fatalf("Keypad of a new locker = %q, want nil", got)
	}
	first := []byte(`{"wrong":[1,2],"locked_until":"2025-03-01T12:00:00Z","level":1,"note":"ä"}`)
	second := []byte(`{"wrong":[],"level":2}`)
	mustInTx(t, s, func(tx lokero.Tx) error {
		if got, err := tx.Keypad(ctx, "locker-1"); err != nil || got != nil {
			return fmt.Errorf("Keypad = %q, %v; want nil", got, err)
		}
		if err := tx.SaveKeypad(ctx, "locker-1", first); err != nil {
			return err
		}
		if got, err := tx.Keypad(ctx, "locker-1"); err != nil || !bytes.Equal(got, first) {
			return fmt.Errorf("Keypad in the saving transaction = %q, %v; want %q", got, err, first)
		}
		return nil
	})
	if got := keypad("locker-1"); !bytes.Equal(got, first) {
		t.Errorf("Keypad = %q, want %q", got, first)
	}
	if got := keypad("locker-2"); got != nil {
		t.Errorf("Keypad of another locker = %q, want nil", got)
	}
	mustInTx(t, s, func(tx lokero.Tx) error {
		return tx.SaveKeypad(ctx, "locker-1", second)
	})
	if got := keypad("locker-1"); !bytes.Equal(got, second) {
		t.Errorf("Keypad after the second save = %q, want %q", got, second)
	}
	// A rolled-back save leaves the state as it was.
	errRollback := errors.New("roll back")
	err := s.InTx(ctx, func(tx lokero.Tx) error {
		if err := tx.SaveKeypad(ctx, "locker-1", first); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("InTx = %v", err)
	}
	if got := keypad("locker-1"); !bytes.Equal(got, second) {
		t.Errorf("Keypad after a rolled-back save = %q, want %q", got, second)
	}
}

func testOutbox(t *testing.T, s Store) {
	ctx := t.Context()
	if list, err := s.Outbox(ctx, 0); err != nil || len(list) != 0 {
		t.Fatalf("Outbox of an empty store = %+v, %v", list, err)
	}
	var sent []lokero.OutboxMessage
	for i := range 5 {
		sent = append(sent, lokero.OutboxMessage{
			Channel:      []string{"sms", "email", "push"}[i%3],
			To:           fmt.Sprintf("+35840000000%d", i),
			TrackingCode: fmt.Sprintf("JJ%09dFI", i),
			Kind:         []string{"arrival", "reminder"}[i%2],
			Text:         fmt.Sprintf("Pakettisi on noudettavissa – koodi %s. Åbo ✓ %d", lokero.CodePlaceholder, i),
			CreatedAt:    t0.Add(time.Duration(i)*time.Minute + 999).In(helsinki),
			ShipmentID:   fmt.Sprintf("shp_%d", i),
			Code:         []*lokero.CodeRef{nil, {LocationID: "SP-1", Version: 0}, {LocationID: "LK-2", Version: 63}}[i%3],
		})
	}
	// Two transactions, then a third that rolls back.
	for _, batch := range [][]lokero.OutboxMessage{sent[:2], sent[2:]} {
		mustInTx(t, s, func(tx lokero.Tx) error {
			for _, m := range batch {
				if err := tx.AddOutbox(ctx, m); err != nil {
					return err
				}
			}
			return nil
		})
	}
	errRollback := errors.New("roll back")
	err := s.InTx(ctx, func(tx lokero.Tx) error {
		if err := tx.AddOutbox(ctx, lokero.OutboxMessage{Channel: "sms", To: "+358", Kind: "arrival",
			Text: "rolled back", CreatedAt: t0}); err != nil {
			return err
		}
		return errRollback
	})
	if !errors.Is(err, errRollback) {
		t.Fatalf("InTx = %v", err)
	}

	check := func(limit, n int) {
		t.Helper()
		list, err := s.Outbox(ctx, limit)
		if err != nil {
			t.Fatalf("Outbox(%d): %v", limit, err)
		}
		if len(list) != n {
			t.Fatalf("Outbox(%d) returned %d messages, want %d: %+v", limit, len(list), n, list)
		}
		for i, got := range list {
			want := sent[len(sent)-1-i]
			if got.ID <= 0 || i > 0 && got.ID >= list[i-1].ID {
				t.Errorf("Outbox(%d): IDs not descending: %d after %d", limit, got.ID, list[max(i-1, 0)].ID)
			}
			if got.CreatedAt.Location() != time.UTC {
				t.Errorf("Outbox: CreatedAt %v not in UTC", got.CreatedAt)
			}
			want.ID = got.ID
			want.State = lokero.DeliveryQueued // a new message waits for delivery
			want.CreatedAt = want.CreatedAt.UTC().Truncate(time.Microsecond)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("Outbox(%d)[%d]:\n got %+v\nwant %+v", limit, i, got, want)
			}
		}
	}
	check(0, 5)
	check(-1, 5)
	check(2, 2)
	check(5, 5)
	check(100, 5)

	// The default limit is 100.
	mustInTx(t, s, func(tx lokero.Tx) error {
		for i := range 101 {
			m := sent[0]
			m.Text = fmt.Sprintf("bulk %d", i)
			if err := tx.AddOutbox(ctx, m); err != nil {
				return err
			}
		}
		return nil
	})
	list, err := s.Outbox(ctx, 0)
	if err != nil || len(list) != 100 || list[0].Text != "bulk 100" || list[99].Text != "bulk 1" {
		t.Errorf("Outbox(0) of 106 messages: %d messages, %v", len(list), err)
	}
	if list, err := s.Outbox(ctx, 200); err != nil || len(list) != 106 {
		t.Errorf("Outbox(200) of 106 messages: %d messages, %v", len(list), err)
	}
}

// testClaimCompartmentConcurrent claims the free compartments of a locker
// with 2 from 10 transactions at once, each reading the compartments,
// taking the first free one and writing it back: exactly 2 succeed, and no
// compartment is claimed twice.
func testClaimCompartmentConcurrent(t *testing.T, s Store) {
	ctx := t.Context()
	const loc, workers = "locker-1", 10
	mustInTx(t, s, func(tx lokero.Tx) error {
		for _, c := range layout(loc, 2) {
			if err := tx.PutCompartment(ctx, c); err != nil {
				return err
			}
		}
		return nil
	})
	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		claimed = map[string]int{} // shipment → compartment
		start   = make(chan struct{})
	)
	for w := range workers {
		wg.Go(func() {
			<-start
			id := fmt.Sprintf("s-%02d", w)
			var got int
			err := s.InTx(ctx, func(tx lokero.Tx) error {
				got = 0 // the store may run fn again
				cs, err := tx.Compartments(ctx, loc)
				if err != nil {
					return err
				}
				for _, c := range cs {
					if c.ShipmentID == "" {
						c.ShipmentID = id
						if err := tx.PutCompartment(ctx, c); err != nil {
							return err
						}
						got = c.Number
						return nil
					}
				}
				return nil
			})
			if err != nil {
				t.Errorf("worker %d: %v", w, err)
				return
			}
			if got != 0 {
				mu.Lock()
				claimed[id] = got
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	if len(claimed) != 2 {
		t.Errorf("%d claims succeeded, want 2: %v", len(claimed), claimed)
	}
	numbers := map[int]bool{}
	for _, n := range claimed {
		if numbers[n] {
			t.Errorf("compartment %d claimed twice: %v", n, claimed)
		}
		numbers[n] = true
	}
	cs, err := s.Compartments(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 2 {
		t.Fatalf("%d compartments, want 2: %+v", len(cs), cs)
	}
	for _, c := range cs {
		if c.ShipmentID == "" || claimed[c.ShipmentID] != c.Number {
			t.Errorf("compartment %d holds %q; claims %v", c.Number, c.ShipmentID, claimed)
		}
	}
}

// testLayOutLockerConcurrent lays out an empty locker from 10
// transactions at once, each laying it out only when it finds no
// compartments: the locker ends with one lay-out, and none fails.
func testLayOutLockerConcurrent(t *testing.T, s Store) {
	ctx := t.Context()
	const loc, workers = "locker-new", 10
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		laid  int
		start = make(chan struct{})
	)
	for w := range workers {
		wg.Go(func() {
			<-start
			var did bool
			err := s.InTx(ctx, func(tx lokero.Tx) error {
				did = false // the store may run fn again
				cs, err := tx.Compartments(ctx, loc)
				if err != nil || len(cs) > 0 {
					return err
				}
				for _, c := range layout(loc, 3) {
					c.Size = fmt.Sprintf("%s by worker %d", c.Size, w)
					if err := tx.PutCompartment(ctx, c); err != nil {
						return err
					}
				}
				did = true
				return nil
			})
			if err != nil {
				t.Errorf("worker %d: %v", w, err)
				return
			}
			if did {
				mu.Lock()
				laid++
				mu.Unlock()
			}
		})
	}
	close(start)
	wg.Wait()
	if laid != 1 {
		t.Errorf("the locker was laid out %d times, want once", laid)
	}
	cs, err := s.Compartments(ctx, loc)
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != 3 {
		t.Fatalf("%d compartments, want 3: %+v", len(cs), cs)
	}
	// All three from the one transaction that laid the locker out.
	var by string
	for i, c := range cs {
		if c.Number != i+1 {
			t.Errorf("compartment %d numbered %d", i+1, c.Number)
		}
		_, author, _ := strings.Cut(c.Size, " by ")
		if i == 0 {
			by = author
		} else if author != by {
			t.Errorf("compartments laid out by several transactions: %+v", cs)
			break
		}
	}
}

// testLetterSlot: counts start at zero, are saved, and concurrent drops
// are all counted (the slot is locked in the transaction).
func testLetterSlot(t *testing.T, s Store) {
	ctx := t.Context()
	read := func(loc string) lokero.LetterSlot {
		t.Helper()
		var slot lokero.LetterSlot
		mustInTx(t, s, func(tx lokero.Tx) error {
			var err error
			slot, err = tx.LetterSlot(ctx, loc)
			return err
		})
		return slot
	}
	if got := read("locker-1"); got != (lokero.LetterSlot{LocationID: "locker-1"}) {
		t.Fatalf("a new locker's slot = %+v; want zero counts", got)
	}
	mustInTx(t, s, func(tx lokero.Tx) error {
		return tx.SaveLetterSlot(ctx, lokero.LetterSlot{LocationID: "locker-1", InSlot: 2, Dropped: 5, Emptied: 3})
	})
	if got := read("locker-1"); got.InSlot != 2 || got.Dropped != 5 || got.Emptied != 3 {
		t.Fatalf("after saving: %+v", got)
	}
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			err := s.InTx(ctx, func(tx lokero.Tx) error {
				slot, err := tx.LetterSlot(ctx, "locker-2")
				if err != nil {
					return err
				}
				slot.InSlot++
				slot.Dropped++
				return tx.SaveLetterSlot(ctx, slot)
			})
			if err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if got := read("locker-2"); got.InSlot != 10 || got.Dropped != 10 {
		t.Errorf("10 concurrent drops counted as %+v", got)
	}
}
