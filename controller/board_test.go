package controller

import (
	"bytes"
	"crypto/rand"
	"os"
	"testing"
	"time"

	"github.com/lokero/lokero/device"
	"github.com/lokero/lokero/locker"
)

// sealedPickup is the pickup of code sealed for the board holding token,
// as the centre sends it to a board that derives (tag names the code).
func sealedPickup(t *testing.T, token, locationID, id string, compartment int, code, tag string, deadline time.Time) Pickup {
	t.Helper()
	sealed, err := locker.SealForBoard(rand.Reader, locker.BoardKey(token), locationID, id, locker.BoardPickup, code)
	if err != nil {
		t.Fatal(err)
	}
	return Pickup{ShipmentID: id, Compartment: compartment, Deadline: deadline, Sealed: sealed, CodeTag: tag}
}

// TestBoardDerivesFromSealedCodes: a board given its parcels' codes sealed
// under the key of its token derives their verifiers itself and opens for
// the codes offline, the derivations made after the commands are taken
// (off the MQTT client's message callback); it keeps neither the codes
// nor the sealed codes; a code sealed for another token, locker or purpose
// is never derived, so opens nothing here; a sync naming a code it derived
// before (the same tag, the same salt) keeps that verifier, and a new tag
// or a new salt derives again.
func TestBoardDerivesFromSealedCodes(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "tcp://127.0.0.1:1", nil) // never run: offline
	k := testKDF(t)
	deadline := h.clock.Now().Add(7 * 24 * time.Hour)
	const code1, code2, code3 = "11111111111", "22222222222", "33333333333"
	p1 := sealedPickup(t, h.cfg.Token, h.id, "SH-1", 1, code1, "tag-1", deadline)
	comps := []device.Compartment{{N: 1, Size: "M", LengthCM: 70, WidthCM: 40, HeightCM: 20}, {N: 2, Size: "M", LengthCM: 70, WidthCM: 40, HeightCM: 20},
		{N: 3, Size: "M", LengthCM: 70, WidthCM: 40, HeightCM: 20}}
	h.command(Command{Type: CommandSync, At: h.clock.Now(), KDF: k, Pickups: []Pickup{p1}, Compartments: comps})
	eventually(t, "the sync's sealed code derived", func() bool { return h.c.Expecting() == 1 })
	// expect_pickup, sealed; ones sealed for another token or locker are
	// kept underived (their doors open only with the centre).
	foreign := sealedPickup(t, "lkd_another", h.id, "SH-F", 3, "55555555555", "tag-f", deadline)
	elsewhere := sealedPickup(t, h.cfg.Token, "SP-OTHER", "SH-E", 3, "66666666666", "tag-e", deadline)
	p2 := sealedPickup(t, h.cfg.Token, h.id, "SH-2", 2, code2, "tag-2", deadline)
	for _, p := range []Pickup{foreign, elsewhere, p2} {
		h.command(Command{Type: CommandExpectPickup, Pickup: &p})
	}
	eventually(t, "SH-2's sealed code derived", func() bool { return h.c.Expecting() == 2 })
	time.Sleep(50 * time.Millisecond) // the derivations are one at a time: the two before SH-2's are done
	if got := h.c.Expecting(); got != 2 {
		t.Errorf("expecting %d; want 2 (the codes sealed for another token or locker never derived)", got)
	}
	for id, want := range map[string]bool{"SH-1": true, "SH-2": true, "SH-F": false, "SH-E": false, "SH-NONE": false} {
		if got := h.c.Checks(id); got != want {
			t.Errorf("Checks(%s) = %v; want %v", id, got, want)
		}
	}
	// SH-E and SH-F, sealed wrong, were in compartment 3; the return below
	// needs it: the centre tells the locker they are gone.
	for _, id := range []string{"SH-E", "SH-F"} {
		h.command(Command{Type: CommandCancel, ShipmentID: id})
	}
	// The return code of a parcel picked up here, sealed as a return.
	ret, err := locker.SealForBoard(rand.Reader, locker.BoardKey(h.cfg.Token), h.id, "SH-R", locker.BoardReturn, code3)
	if err != nil {
		t.Fatal(err)
	}
	// And another's return code sealed as an opening code: never derived.
	asPickup, err := locker.SealForBoard(rand.Reader, locker.BoardKey(h.cfg.Token), h.id, "SH-X", locker.BoardPickup, "77777777777")
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range []device.DropOff{
		{ShipmentID: "SH-X", Sealed: asPickup, LengthCM: 30, WidthCM: 20, HeightCM: 5, Until: deadline},
		{ShipmentID: "SH-R", Sealed: ret, LengthCM: 30, WidthCM: 20, HeightCM: 5, Until: deadline},
	} {
		h.command(Command{Type: CommandExpectDropOff, DropOff: &d})
	}
	derived := func(id string) bool {
		h.c.mu.Lock()
		defer h.c.mu.Unlock()
		return len(h.c.dropOffs[id].Verifier) > 0
	}
	eventually(t, "SH-R's sealed return code derived", func() bool { return derived("SH-R") })
	if derived("SH-X") {
		t.Error("a return code sealed as an opening code was derived")
	}

	raw, err := os.ReadFile(h.path)
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range [][]byte{[]byte(code1), []byte(code2), []byte(code3), p1.Sealed, p2.Sealed, ret} {
		if bytes.Contains(raw, b) {
			t.Fatalf("the state file holds a code or a sealed code (%d bytes)", len(b))
		}
	}
	for _, tc := range []struct {
		code string
		want KeypadResult
	}{
		{code1, KeypadResult{Result: ResultOpen, Compartment: 1}},
		{code2, KeypadResult{Result: ResultOpen, Compartment: 2}},
	} {
		if got := h.keypad(tc.code); got.Result != tc.want.Result || got.Compartment != tc.want.Compartment {
			t.Errorf("keypad %s offline = %+v, want %+v", tc.code, got, tc.want)
		}
		h.driver.Close(tc.want.Compartment)
	}
	if got := h.keypad(code3); got != (KeypadResult{Result: ResultOpen, Compartment: 3}) {
		t.Errorf("the return code offline = %+v, want door 3 (the one free) open for the return", got)
	}

	// A sync naming a code by the tag it was derived under keeps that
	// verifier: its sealed code is not even opened (here it would not).
	const code4 = "44444444444"
	expect4 := func() {
		t.Helper()
		p4 := sealedPickup(t, h.cfg.Token, h.id, "SH-4", 1, code4, "tag-4", deadline)
		h.command(Command{Type: CommandExpectPickup, Pickup: &p4})
	}
	sync4 := func(kdf *KDF, tag string) int {
		t.Helper()
		h.clock.Advance(time.Minute)
		p := Pickup{ShipmentID: "SH-4", Compartment: 1, Deadline: deadline, Sealed: []byte("does not open"), CodeTag: tag}
		h.command(Command{Type: CommandSync, At: h.clock.Now(), KDF: kdf, Pickups: []Pickup{p}, Compartments: comps})
		return h.c.Expecting()
	}
	expect4()
	eventually(t, "SH-4's sealed code derived", func() bool { return h.c.Expecting() == 1 })
	if got := sync4(k, "tag-4"); got != 1 {
		t.Fatalf("a sync with SH-4's tag unchanged: expecting %d, want 1 (the verifier kept)", got)
	}
	if got := h.keypad(code4); got != (KeypadResult{Result: ResultOpen, Compartment: 1}) {
		t.Errorf("SH-4's code after the sync kept its verifier = %+v, want door 1", got)
	}
	h.driver.Close(1)
	// A new tag, or the same tag under a new salt, is derived again: a
	// sealed code that does not open is then skipped.
	for _, tc := range []struct {
		name string
		kdf  *KDF
		tag  string
	}{
		{"a new tag", k, "tag-4b"},
		{"a new salt", testKDF(t), "tag-4"},
	} {
		h.clock.Advance(time.Minute)
		h.command(Command{Type: CommandSync, At: h.clock.Now(), KDF: k, Compartments: comps})
		expect4()
		if got := sync4(tc.kdf, tc.tag); got != 0 {
			t.Errorf("%s: expecting %d, want 0 (derived again, and the sealed code does not open)", tc.name, got)
		}
	}
}

// TestSyncCarriesDropOffs: a sync lists the returns the locker may take
// offline and replaces those the controller holds: one not derived before
// a restart is derived again from the sync's sealed code; one derived
// keeps its verifier; one no longer listed (returned elsewhere, or past
// its window) opens nothing; a return taken offline is not taken again
// from a sync read before the centre applied it; a sync without the list
// (a centre before it) keeps what the controller holds.
func TestSyncCarriesDropOffs(t *testing.T) {
	t.Parallel()
	h := newHarness(t, "tcp://127.0.0.1:1", nil) // never run: offline
	k := testKDF(t)
	until := h.clock.Now().Add(14 * 24 * time.Hour)
	comps := []device.Compartment{{N: 1, Size: "M", LengthCM: 70, WidthCM: 40, HeightCM: 20}, {N: 2, Size: "M", LengthCM: 70, WidthCM: 40, HeightCM: 20},
		{N: 3, Size: "M", LengthCM: 70, WidthCM: 40, HeightCM: 20}}
	const code1, code2, code3 = "111111111111", "222222222222", "333333333333"
	sealedReturn := func(id, code string) device.DropOff {
		t.Helper()
		sealed, err := locker.SealForBoard(rand.Reader, locker.BoardKey(h.cfg.Token), h.id, id, locker.BoardReturn, code)
		if err != nil {
			t.Fatal(err)
		}
		return device.DropOff{ShipmentID: id, Sealed: sealed, LengthCM: 30, WidthCM: 20, HeightCM: 5, Until: until}
	}
	sync := func(dropOffs []device.DropOff) {
		t.Helper()
		h.clock.Advance(time.Minute)
		h.command(Command{Type: CommandSync, At: h.clock.Now(), KDF: k, Compartments: comps, DropOffs: dropOffs})
	}
	held := func() map[string]bool { // shipment ID → derived
		h.c.mu.Lock()
		defer h.c.mu.Unlock()
		out := map[string]bool{}
		for id, d := range h.c.dropOffs {
			out[id] = len(d.Verifier) > 0
		}
		return out
	}
	opens := func(what, code string, want bool) {
		t.Helper()
		got := h.keypad(code)
		if (got.Result == ResultOpen) != want {
			t.Errorf("%s: keypad offline = %+v; want open %v", what, got, want)
		}
		if got.Result == ResultOpen {
			h.driver.Close(got.Compartment)
		}
	}

	// SH-1 told alone, its sealed code not derived before the board
	// restarted (here: sealed under another token, as it stays underived).
	sync([]device.DropOff{})
	wrong, err := locker.SealForBoard(rand.Reader, locker.BoardKey("lkd_another"), h.id, "SH-1", locker.BoardReturn, code1)
	if err != nil {
		t.Fatal(err)
	}
	h.command(Command{Type: CommandExpectDropOff, DropOff: &device.DropOff{ShipmentID: "SH-1", Sealed: wrong, LengthCM: 30, WidthCM: 20, HeightCM: 5, Until: until}})
	time.Sleep(50 * time.Millisecond)
	h.restart()
	if got := held(); len(got) != 1 || got["SH-1"] {
		t.Fatalf("after the restart: %v; want SH-1 held underived", got)
	}
	// The sync on connecting lists it, sealed right, and SH-2 and SH-3.
	sync([]device.DropOff{sealedReturn("SH-1", code1), sealedReturn("SH-2", code2), sealedReturn("SH-3", code3)})
	eventually(t, "the sync's returns derived", func() bool {
		got := held()
		return got["SH-1"] && got["SH-2"] && got["SH-3"]
	})
	eventually(t, "nothing left to derive", func() bool { return h.c.Stats().Deriving == 0 })

	// SH-3 is no longer listed; SH-1 and SH-2 keep their verifiers (their
	// sealed codes here would not open).
	broken := func(id string) device.DropOff {
		return device.DropOff{ShipmentID: id, Sealed: []byte("does not open"), LengthCM: 30, WidthCM: 20, HeightCM: 5, Until: until}
	}
	sync([]device.DropOff{broken("SH-1"), broken("SH-2")})
	if got := held(); len(got) != 2 || !got["SH-1"] || !got["SH-2"] {
		t.Fatalf("after a sync without SH-3: %v; want SH-1 and SH-2, derived", got)
	}
	opens("SH-3's return code, no longer listed", code3, false)

	// A sync without the list keeps them.
	h.clock.Advance(time.Minute)
	h.command(Command{Type: CommandSync, At: h.clock.Now(), KDF: k, Compartments: comps})
	if got := held(); len(got) != 2 {
		t.Fatalf("after a sync without drop_offs: %v; want both kept", got)
	}

	// SH-1 is returned offline; a sync read before the centre applied it
	// lists it again: it is not taken again.
	opens("SH-1's return code", code1, true)
	sync([]device.DropOff{broken("SH-1"), broken("SH-2")})
	if got := held(); len(got) != 1 || !got["SH-2"] {
		t.Errorf("after a stale sync listing the return taken: %v; want SH-2 alone", got)
	}
	opens("SH-1's return code again", code1, false)
	opens("SH-2's return code", code2, true)
}
