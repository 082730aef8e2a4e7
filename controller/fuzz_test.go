package controller

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/lokero/lokero/device"
)

// FuzzCommand: no command from the centre, however malformed, panics the
// controller or leaves it a state file it cannot open again (a board that
// cannot boot on its own state is a locker out of service); what it lists
// as free is a compartment the centre told it of; and what it holds in
// memory is what it reads back after a restart.
func FuzzCommand(f *testing.F) {
	k := testKDF(f)
	at := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	seeds := []Command{
		{Type: CommandSync, At: at, KDF: k, Pickups: []Pickup{pickupFor(k, "SH-1", 2, "12121212121", at.Add(time.Hour), 0)},
			Deliveries:   []device.Delivery{{TrackingCode: "JJFI00000000000001", LengthCM: 30, WidthCM: 20, HeightCM: 5}},
			Compartments: []device.Compartment{{N: 1, Size: "S", LengthCM: 70, WidthCM: 40, HeightCM: 10}, {N: 2, Size: "M", LengthCM: 70, WidthCM: 40, HeightCM: 20, Occupied: true}}},
		{Type: CommandExpectPickup, Pickup: &Pickup{ShipmentID: "SH-2", Compartment: 1, Verifier: []byte("0123456789abcdef0123456789abcdef")}},
		{Type: CommandExpectDropOff, DropOff: &device.DropOff{ShipmentID: "SH-R", Verifier: []byte("0123456789abcdef"), LengthCM: 1e300, Until: at}},
		{Type: CommandCancel, ShipmentID: "SH-1"},
		{Type: CommandOpen, At: at, Compartment: 1, Purpose: "service"},
		{Type: CommandOpen, At: at, Compartment: -3, Purpose: "deposit", ShipmentID: "SH-9"},
		{Type: CommandOutOfOrder, Compartment: 1 << 30, OutOfOrder: new(bool)},
	}
	for _, s := range seeds {
		data, err := json.Marshal(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(`{"type":"sync","kdf":{"alg":"argon2id","time":0,"memory_kib":0}}`))
	f.Add([]byte(`{"type":"expect_pickup","pickup":{"shipment_id":"","compartment":0}}`))
	f.Add([]byte(`not json`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		h := newHarness(t, "tcp://127.0.0.1:1", nil) // never run: offline
		_ = h.c.handleCommand(payload)               // refused or applied: either is fine
		h.c.mu.Lock()
		known := map[int]bool{}
		for _, c := range h.c.known {
			known[c.N] = true
		}
		for _, c := range h.c.freeCompartments() {
			if !known[c.Number] {
				t.Errorf("free compartment %d the centre never listed", c.Number)
			}
		}
		h.c.mu.Unlock()
		// An offline deposit on whatever state the command left: taken,
		// or refused with an error, never a panic.
		h.courierIn()
		_, _ = h.c.Deposit(context.Background(), "JJFI00000000000001")
		before := [3]int{h.c.Expecting(), h.c.ExpectingReturns(), h.c.Pending()}
		h.restart()
		if after := [3]int{h.c.Expecting(), h.c.ExpectingReturns(), h.c.Pending()}; after != before {
			t.Errorf("parcels expected, returns expected, events pending: %v in memory, %v after a restart", before, after)
		}
	})
}
