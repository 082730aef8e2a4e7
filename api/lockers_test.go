package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/api"
	"github.com/lokero/lokero/demo"
	"github.com/lokero/lokero/service"
)

// lockerFixture is a server over the demo network with shipments and
// locker operations, the development outbox and a test clock.
type lockerFixture struct {
	shipFixture
	courier, device    string
	spDevice, operator string // the demo SMARTPOST's device (a payment terminal); an operator
	srv                *api.Server
	lockers            *service.Lockers // for credentials a test adds (clerks)
}

func newLockerFixture(t *testing.T) lockerFixture {
	t.Helper()
	ctx := context.Background()
	p := newDemoPlatform(t)
	st, dir, clock, log := p.st, p.dir, p.clock, p.log
	shipments, lockers := p.shipments, p.lockers
	_, key, err := shipments.AddRetailer(ctx, "Kauppa", true)
	if err != nil {
		t.Fatal(err)
	}
	_, courier, err := lockers.AddCredential(ctx, lokero.KindCourier, "Kuski", "")
	if err != nil {
		t.Fatal(err)
	}
	_, device, err := lockers.AddCredential(ctx, lokero.KindDevice, "M5", demo.DemoLockerID)
	if err != nil {
		t.Fatal(err)
	}
	_, spDevice, err := lockers.AddCredential(ctx, lokero.KindDevice, "SP", demo.DemoSmartpostID)
	if err != nil {
		t.Fatal(err)
	}
	_, operator, err := lockers.AddCredential(ctx, lokero.KindOperator, "Olli", "")
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(dir, st, log)
	srv.EnableShipments(shipments)
	srv.EnableLockers(lockers, api.LockerOptions{DevOutbox: true, DevClock: clock})
	srv.SetReady(true)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	base := newShipFixture(t) // for its OpenAPI router
	return lockerFixture{shipFixture: shipFixture{server: ts, router: base.router, key: key},
		courier: courier, device: device, spDevice: spDevice, operator: operator, srv: srv, lockers: lockers}
}

// lockerReadyParcel books a parcel of the fixture's retailer to the demo
// locker and has it deposited and its door closed: ready for pickup,
// its notice of arrival sent.
func lockerReadyParcel(t *testing.T, f lockerFixture, reference string) shipmentAnswer {
	t.Helper()
	sh := f.create(t, shipmentBody(reference), f.key)
	if status, _, out := f.do(t, "POST", "/v1/shipments/"+sh.ID+"/handover", f.courier, nil); status != 200 {
		t.Fatalf("handover: %d %s", status, out)
	}
	status, _, out := f.do(t, "POST", "/v1/lockers/"+demo.DemoLockerID+"/deposits", f.courier, map[string]string{"tracking_code": sh.TrackingCode})
	if status != 200 {
		t.Fatalf("deposit: %d %s", status, out)
	}
	dep := decode[struct{ Compartment int }](t, out)
	if status, _, out := f.do(t, "POST", "/v1/devices/"+demo.DemoLockerID+"/events", f.device,
		map[string]any{"type": "door_closed", "compartment": dep.Compartment}); status >= 300 {
		t.Fatalf("door closed: %d %s", status, out)
	}
	return sh
}

var openingCode = regexp.MustCompile(`Avauskoodi: ([0-9]+)`)

// TestLockerFlowHTTP: create → handover (courier) → deposit → door closed
// → code from the outbox → keypad → picked up, with the lockout between.
func TestLockerFlowHTTP(t *testing.T) {
	t.Parallel()
	f := newLockerFixture(t)
	sh := f.create(t, shipmentBody("LOCKER-1"), f.key)
	deposit := "/v1/lockers/" + demo.DemoLockerID + "/deposits"
	if status, _, out := f.do(t, "POST", deposit, f.courier, map[string]string{"tracking_code": sh.TrackingCode}); status != 409 {
		t.Fatalf("deposit before handover: %d %s; want 409", status, out)
	}
	if status, _, out := f.do(t, "POST", "/v1/shipments/"+sh.ID+"/handover", f.device, nil); status != 401 {
		t.Fatalf("a device token hands over: %d %s; want 401", status, out)
	}
	if status, _, out := f.do(t, "POST", "/v1/shipments/"+sh.ID+"/handover", f.courier, nil); status != 200 {
		t.Fatalf("courier handover: %d %s", status, out)
	}
	if status, _, _ := f.do(t, "POST", deposit, f.device, map[string]string{"tracking_code": sh.TrackingCode}); status != 401 {
		t.Fatalf("a device deposits: %d; want 401", status)
	}
	status, _, out := f.do(t, "POST", deposit, f.courier, map[string]string{"tracking_code": sh.TrackingCode})
	dep := decode[struct{ Compartment int }](t, out)
	if status != 200 || dep.Compartment < 1 {
		t.Fatalf("deposit: %d %s", status, out)
	}
	events := "/v1/devices/" + demo.DemoLockerID + "/events"
	if status, _, out := f.do(t, "POST", events, f.courier, map[string]any{"type": "door_closed", "compartment": dep.Compartment}); status != 401 {
		t.Fatalf("a courier reports a door: %d %s; want 401", status, out)
	}
	if status, _, out := f.do(t, "POST", events, f.device, map[string]any{"type": "door_closed", "compartment": dep.Compartment}); status != 200 {
		t.Fatalf("door closed: %d %s", status, out)
	}
	view := "/v1/lockers/" + demo.DemoLockerID
	if status, _, _ := f.do(t, "GET", view, f.courier, nil); status != 401 {
		t.Errorf("a courier's locker view: %d; want 401", status)
	}
	status, _, out = f.do(t, "GET", view, f.operator, nil)
	lv := decode[struct {
		Compartments []struct {
			Number       int
			State        string
			TrackingCode string `json:"tracking_code"`
		}
	}](t, out)
	if status != 200 || len(lv.Compartments) == 0 || lv.Compartments[dep.Compartment-1].State != "occupied" ||
		lv.Compartments[dep.Compartment-1].TrackingCode != sh.TrackingCode {
		t.Errorf("operator view: %d %s", status, out)
	}
	if status, _, out := f.do(t, "POST", view+"/compartments/999/out-of-order", f.operator, nil); status != 404 {
		t.Errorf("out of order, no such compartment: %d %s", status, out)
	}
	status, _, out = f.do(t, "GET", "/dev/outbox", f.operator, nil)
	box := decode[struct {
		Messages []struct{ Channel, To, TrackingCode, Kind, Text string }
	}](t, out)
	if status != 200 || len(box.Messages) == 0 {
		t.Fatalf("outbox: %d %s", status, out)
	}
	m := openingCode.FindStringSubmatch(box.Messages[0].Text)
	if m == nil {
		t.Fatalf("no opening code in %q", box.Messages[0].Text)
	}
	keypad := "/v1/devices/" + demo.DemoLockerID + "/keypad"
	for i := range 5 {
		status, _, out := f.do(t, "POST", keypad, f.device, map[string]string{"code": "123456"})
		want := 403
		if i == 4 {
			want = 429
		}
		if status != want {
			t.Fatalf("wrong code %d: %d %s; want %d", i+1, status, out, want)
		}
	}
	if status, _, _ := f.do(t, "POST", "/v1/admin/clock", f.operator, map[string]string{"advance": "2m"}); status != 200 {
		t.Fatalf("advance the test clock: %d", status)
	}
	status, _, out = f.do(t, "POST", keypad, f.device, map[string]string{"code": m[1]})
	open := decode[struct {
		Result      string
		Compartment int
	}](t, out)
	if status != 200 || open.Result != "open" || open.Compartment != dep.Compartment {
		t.Fatalf("keypad: %d %s", status, out)
	}
	if status, _, out := f.do(t, "POST", events, f.device, map[string]any{"type": "door_closed", "compartment": dep.Compartment}); status != 200 {
		t.Fatalf("door closed after pickup: %d %s", status, out)
	}
	_, _, out = f.do(t, "GET", "/v1/shipments/"+sh.ID, f.key, nil)
	if got := decode[shipmentAnswer](t, out); got.Status != "PICKED_UP" {
		t.Errorf("after pickup the shipment is %s", got.Status)
	}
	status, _, out = f.do(t, "POST", events, f.device, map[string]any{"type": "letter_dropped", "count": 3})
	if l := decode[map[string]int](t, out); status != 200 || l["in_slot"] != 3 {
		t.Errorf("letters dropped: %d %s", status, out)
	}
	status, _, out = f.do(t, "POST", events, f.device, map[string]any{"type": "slot_emptied"})
	if l := decode[map[string]int](t, out); status != 200 || l["in_slot"] != 0 || l["emptied"] != 3 {
		t.Errorf("slot emptied: %d %s", status, out)
	}
	_, _, out = f.do(t, "GET", view, f.operator, nil)
	if lv := decode[struct{ Letters map[string]int }](t, out); lv.Letters["dropped"] != 3 {
		t.Errorf("operator view letters: %s", out)
	}
	// A door the device did not open: recorded open, for the operator.
	if status, _, out := f.do(t, "POST", events, f.device, map[string]any{"type": "door_opened", "compartment": 2}); status != 200 {
		t.Errorf("door opened by force: %d %s", status, out)
	}
	_, _, out = f.do(t, "GET", view, f.operator, nil)
	if lv := decode[struct {
		Compartments []struct {
			Number   int  `json:"number"`
			DoorOpen bool `json:"door_open"`
		}
	}](t, out); len(lv.Compartments) < 2 || lv.Compartments[1].Number != 2 || !lv.Compartments[1].DoorOpen {
		t.Errorf("operator view after door 2 was forced: %s", out)
	}
	for _, bad := range []any{map[string]any{"type": "door_slammed", "compartment": 1}, map[string]any{"type": "door_closed", "compartment": 999},
		map[string]any{"type": "door_opened", "compartment": 999}} {
		if status, _, out := f.do(t, "POST", events, f.device, bad); status != 400 {
			t.Errorf("event %v: %d %s; want 400", bad, status, out)
		}
	}
	if status, _, _ := f.do(t, "POST", "/v1/admin/clock", f.operator, map[string]string{"advance": "-1h"}); status != 400 {
		t.Errorf("moving the test clock back: %d; want 400", status)
	}
}

// TestCODHTTP: a COD parcel at a SMARTPOST with a terminal asks for the
// payment first; only the full amount opens; the operator's settlement
// shows what is owed to the retailer.
func TestCODHTTP(t *testing.T) {
	t.Parallel()
	f := newLockerFixture(t)
	body := shipmentBody("COD-1")
	body["pickup_point_id"] = demo.DemoSmartpostID
	body["recipient"].(map[string]any)["postcode"] = "00100"
	body["cod"] = map[string]any{"amount_cents": 2590, "currency": "EUR"}
	sh := f.create(t, body, f.key)
	if sh.Destination.ID != demo.DemoSmartpostID {
		t.Fatalf("COD to the demo SMARTPOST went to %s", sh.Destination.ID)
	}
	f.do(t, "POST", "/v1/shipments/"+sh.ID+"/handover", f.courier, nil)
	status, _, out := f.do(t, "POST", "/v1/lockers/"+demo.DemoSmartpostID+"/deposits", f.courier, map[string]string{"tracking_code": sh.TrackingCode})
	dep := decode[struct{ Compartment int }](t, out)
	if status != 200 {
		t.Fatalf("deposit: %d %s", status, out)
	}
	dev := "/v1/devices/" + demo.DemoSmartpostID
	f.do(t, "POST", dev+"/events", f.spDevice, map[string]any{"type": "door_closed", "compartment": dep.Compartment})
	_, _, out = f.do(t, "GET", "/dev/outbox", f.operator, nil)
	box := decode[struct{ Messages []struct{ Text string } }](t, out)
	code := openingCode.FindStringSubmatch(box.Messages[0].Text)[1]
	status, _, out = f.do(t, "POST", dev+"/keypad", f.spDevice, map[string]string{"code": code})
	if kp := decode[map[string]any](t, out); status != 200 || kp["result"] != "payment_required" || kp["amount_cents"] != 2590.0 {
		t.Fatalf("keypad: %d %s; want payment_required 2590", status, out)
	}
	if status, _, out := f.do(t, "POST", dev+"/payments", f.spDevice, map[string]any{"compartment": dep.Compartment, "amount_cents": 2000, "terminal_ref": "X1"}); status != 422 {
		t.Fatalf("partial payment: %d %s; want 422", status, out)
	}
	if status, _, out := f.do(t, "POST", dev+"/payments", f.spDevice, map[string]any{"compartment": dep.Compartment, "amount_cents": 2590, "terminal_ref": "X2"}); status != 200 {
		t.Fatalf("payment: %d %s", status, out)
	}
	status, _, out = f.do(t, "GET", "/v1/cod/settlements?date=2026-11-25", f.operator, nil)
	set := decode[struct {
		Settlements []struct {
			RetailerName string `json:"retailer_name"`
			AmountCents  int64  `json:"amount_cents"`
		}
	}](t, out)
	if status != 200 || len(set.Settlements) != 1 || set.Settlements[0].AmountCents != 2590 || set.Settlements[0].RetailerName != "Kauppa" {
		t.Fatalf("settlements: %d %s", status, out)
	}
	if status, _, _ := f.do(t, "GET", "/v1/cod/settlements?date=2026-13-01", f.operator, nil); status != 400 {
		t.Errorf("a bad date: %d; want 400", status)
	}
	if status, _, _ := f.do(t, "GET", "/v1/cod/settlements?date=2026-11-25", f.courier, nil); status != 401 {
		t.Errorf("settlements for a courier: %d; want 401", status)
	}
}

// TestPrepaidHTTP: a pre-paid parcel is booked with a size class, its
// code opens a compartment at a SMARTPOST for the drop-off, and the
// courier finds it on the collection list and takes it on its way.
func TestPrepaidHTTP(t *testing.T) {
	t.Parallel()
	f := newLockerFixture(t)
	body := map[string]any{
		"sender":    map[string]any{"name": "Maija", "street": "Aleksanterinkatu 1", "postcode": "00100", "city": "Helsinki"},
		"recipient": map[string]any{"name": "Mummo", "street": "Mannerheimintie 5 A 1", "postcode": "00104", "city": "Helsinki", "phone": "0401234567"},
		"size":      "M",
	}
	for name, bad := range map[string]map[string]any{
		"size": {"sender": body["sender"], "recipient": body["recipient"]},
		"cod":  {"sender": body["sender"], "recipient": body["recipient"], "size": "M", "cod": map[string]any{"amount_cents": 100}},
	} {
		status, _, out := f.do(t, "POST", "/v1/prepaid", f.key, bad)
		if e := decode[struct{ Error struct{ Field string } }](t, out); status != 400 || e.Error.Field != name {
			t.Errorf("pre-paid without %s / with it: %d %s; want 400 naming %s", name, status, out, name)
		}
	}
	if status, _, _ := f.do(t, "POST", "/v1/prepaid", f.courier, body); status != 401 {
		t.Errorf("a courier books a pre-paid parcel: %d; want 401", status)
	}
	status, _, out := f.do(t, "POST", "/v1/prepaid", f.key, body)
	pp := decode[struct {
		ID, Kind, Status string
		TrackingCode     string `json:"tracking_code"`
		DropOffCode      string `json:"dropoff_code"`
		Destination      struct{ ID string }
	}](t, out)
	if status != 201 || pp.Kind != "prepaid" || pp.Status != "CREATED" || len(pp.DropOffCode) != 12 {
		t.Fatalf("pre-paid: %d %s", status, out)
	}
	if pp.Destination.ID != demo.DemoLockerID {
		t.Errorf("pre-paid for a resident of the demo building goes to %s; want its LOCKER", pp.Destination.ID)
	}
	dev := "/v1/devices/" + demo.DemoSmartpostID
	status, _, out = f.do(t, "POST", dev+"/keypad", f.spDevice, map[string]string{"code": pp.DropOffCode})
	open := decode[struct {
		Result, Purpose string
		Compartment     int
	}](t, out)
	if status != 200 || open.Result != "open" || open.Purpose != "drop_off" {
		t.Fatalf("drop-off code at the keypad: %d %s", status, out)
	}
	f.do(t, "POST", dev+"/events", f.spDevice, map[string]any{"type": "door_closed", "compartment": open.Compartment})
	collections := "/v1/lockers/" + demo.DemoSmartpostID + "/collections"
	status, _, out = f.do(t, "GET", collections, f.courier, nil)
	list := decode[struct {
		Collections []struct{ TrackingCode, Kind, Status string }
	}](t, out)
	if status != 200 || len(list.Collections) != 1 || list.Collections[0].Kind != "prepaid" || list.Collections[0].Status != "DROPPED_OFF" {
		t.Fatalf("collection list: %d %s", status, out)
	}
	status, _, out = f.do(t, "POST", collections, f.courier, map[string]string{"tracking_code": pp.TrackingCode})
	if got := decode[struct{ Kind, Status string }](t, out); status != 200 || got.Status != "IN_TRANSIT" || got.Kind != "prepaid" {
		t.Fatalf("collect: %d %s", status, out)
	}
	if status, _, out := f.do(t, "POST", dev+"/keypad", f.spDevice, map[string]string{"code": pp.DropOffCode}); status != 403 {
		t.Errorf("the drop-off code again: %d %s; want 403", status, out)
	}
	// Its label captions the code as the drop-off code it is, not as a
	// return code (last: without pdftotext the test skips here).
	status, _, pdf := f.do(t, "GET", "/v1/shipments/"+pp.ID+"/label.pdf", f.key, nil)
	if status != 200 {
		t.Fatalf("the pre-paid parcel's label: %d", status)
	}
	if text := pdfText(t, pdf); !strings.Contains(text, "Drop-off code / Jättökoodi") || !strings.Contains(text, pp.DropOffCode) || strings.Contains(text, "Palautuskoodi") {
		t.Errorf("the pre-paid parcel's label: want its drop-off code %s captioned as one, no return code:\n%s", pp.DropOffCode, text)
	}
}

// TestNoticeAgainHTTP: the retailer resends the notice with the same code;
// only an operator rotates it.
func TestNoticeAgainHTTP(t *testing.T) {
	t.Parallel()
	f := newLockerFixture(t)
	sh := f.create(t, shipmentBody("NOTICE-1"), f.key)
	f.do(t, "POST", "/v1/shipments/"+sh.ID+"/handover", f.courier, nil)
	status, _, out := f.do(t, "POST", "/v1/lockers/"+demo.DemoLockerID+"/deposits", f.courier, map[string]string{"tracking_code": sh.TrackingCode})
	dep := decode[struct{ Compartment int }](t, out)
	if status != 200 {
		t.Fatalf("deposit: %d %s", status, out)
	}
	f.do(t, "POST", "/v1/devices/"+demo.DemoLockerID+"/events", f.device, map[string]any{"type": "door_closed", "compartment": dep.Compartment})
	code := func() string {
		_, _, out := f.do(t, "GET", "/dev/outbox", f.operator, nil)
		box := decode[struct{ Messages []struct{ Text string } }](t, out)
		return openingCode.FindStringSubmatch(box.Messages[0].Text)[1]
	}
	first := code()
	if status, _, out := f.do(t, "POST", "/v1/shipments/"+sh.ID+"/notice", f.key, nil); status != 200 || code() != first {
		t.Fatalf("notice again: %d %s; want the same code", status, out)
	}
	rotate := "/v1/shipments/" + sh.ID + "/opening-code/rotate"
	if status, _, _ := f.do(t, "POST", rotate, f.key, nil); status != 401 {
		t.Errorf("a retailer rotates the code: %d; want 401", status)
	}
	if status, _, out := f.do(t, "POST", rotate, f.operator, nil); status != 200 || code() == first {
		t.Fatalf("rotate: %d %s; want a new code", status, out)
	}
}

// hangUpCommands is a locker's controller link whose Expect sees the
// client hang up just then (cancel, the request's own), and records what
// its context says after.
type hangUpCommands struct {
	cancel      context.CancelFunc
	expected    []string // shipment IDs
	err         error    // the context's Err after the hang-up
	hasDeadline bool
}

func (*hangUpCommands) Open(string, int, string, string) bool { return true }
func (*hangUpCommands) SetOutOfOrder(string, int, bool) bool  { return true }
func (c *hangUpCommands) Expect(ctx context.Context, _, id string) {
	c.cancel()
	c.expected = append(c.expected, id)
	c.err = ctx.Err()
	_, c.hasDeadline = ctx.Deadline()
}

// TestRotateTellsLockerAfterHangUp: once a parcel's code is rotated, the
// locker's controller is told of the new code under a context of its own
// (with its own deadline), which a client hanging up does not cancel:
// else the locker kept the old code's verifier.
func TestRotateTellsLockerAfterHangUp(t *testing.T) {
	t.Parallel()
	f := newLockerFixture(t)
	cmds := &hangUpCommands{cancel: func() {}}
	f.srv.SetLockerCommands(cmds)
	sh := lockerReadyParcel(t, f, "ROTATE-HANGUP-1")

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cmds.cancel = cancel
	req := httptest.NewRequest("POST", "/v1/shipments/"+sh.ID+"/opening-code/rotate", nil).WithContext(ctx)
	req.Header.Set("Authorization", "Bearer "+f.operator)
	rec := httptest.NewRecorder()
	f.srv.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("rotate: %d %s", rec.Code, rec.Body)
	}
	if len(cmds.expected) != 1 || cmds.expected[0] != sh.ID {
		t.Fatalf("the locker was told of %v; want %s", cmds.expected, sh.ID)
	}
	if cmds.err != nil || !cmds.hasDeadline {
		t.Errorf("telling the locker after the client hung up: context %v, deadline %v; want not cancelled, with a deadline of its own", cmds.err, cmds.hasDeadline)
	}
}

// TestPatchLocationHTTP: an operator closes a point for a date range; bad
// values name the field; the search then leaves it out for those dates.
func TestPatchLocationHTTP(t *testing.T) {
	t.Parallel()
	f := newLockerFixture(t)
	path := "/v1/locations/" + demo.DemoSmartpostID
	for field, body := range map[string]map[string]any{
		"status":       {"status": "FOO"},
		"status_until": {"status": "TEMPORARILY_CLOSED", "status_from": "2026-12-10", "status_until": "2026-12-01"},
		"status_from":  {"status": "TEMPORARILY_CLOSED", "status_from": "2026-13-01"},
	} {
		status, _, out := f.do(t, "PATCH", path, f.operator, body)
		if e := decode[struct{ Error struct{ Field string } }](t, out); status != 400 || e.Error.Field != field {
			t.Errorf("PATCH %v: %d %s; want 400 naming %s", body, status, out, field)
		}
	}
	if status, _, _ := f.do(t, "PATCH", path, f.courier, map[string]any{"status": "CLOSED"}); status != 401 {
		t.Errorf("a courier closes a point: %d; want 401", status)
	}
	status, _, out := f.do(t, "PATCH", path, f.operator, map[string]any{"status": "TEMPORARILY_CLOSED",
		"status_from": "2026-12-01", "status_until": "2026-12-03", "status_reason": "renovation"})
	if status != 200 {
		t.Fatalf("close: %d %s", status, out)
	}
	listed := func(query string) bool {
		t.Helper()
		status, _, out := f.do(t, "GET", "/v1/locations?lat=60.1699&lon=24.9384&limit=50&"+query, "", nil)
		if status != 200 {
			t.Fatalf("search %s: %d %s", query, status, out)
		}
		return strings.Contains(string(out), `"id":"`+demo.DemoSmartpostID+`"`)
	}
	if listed("delivery_date=2026-12-02") || !listed("delivery_date=2026-12-04") || !listed("delivery_date=2026-12-02&include_closed=true") {
		t.Error("the closed SMARTPOST: want it left out on 2.12., back on 4.12., and shown with include_closed")
	}
	if status, _, out := f.do(t, "GET", "/v1/locations?lat=60.1699&lon=24.9384&delivery_date=2026-13-01", "", nil); status != 400 || !strings.Contains(string(out), "delivery_date") {
		t.Errorf("delivery_date=2026-13-01: %d %s; want 400 naming it", status, out)
	}
	// The Posti-compatible interface leaves it out as well, shows it with
	// includeClosed (in any of the spellings clients use), and refuses a
	// date that is not one in its own error shape.
	posti := func(query string) (bool, map[string]any) {
		t.Helper()
		status, out := postiGetFrom(t, f.server.URL, "/api/2/location?lat=60.1699&lng=24.9384&top=50&"+query)
		if status != 200 {
			t.Fatalf("posti %s: %d %s", query, status, out)
		}
		var list struct{ Locations []map[string]any }
		if err := json.Unmarshal(out, &list); err != nil {
			t.Fatal(err)
		}
		for _, l := range list.Locations {
			if l["id"] == demo.DemoSmartpostID {
				return true, l
			}
		}
		return false, nil
	}
	if in, _ := posti("deliveryDate=2026-12-02"); in {
		t.Error("posti: the SMARTPOST closed on 2.12. is listed for that date")
	}
	if in, l := posti("deliveryDate=2026-12-04"); !in || l["openOnDeliveryDate"] != nil {
		t.Errorf("posti 4.12.: listed %v, %v; want listed in Posti's fields alone", in, l["openOnDeliveryDate"])
	}
	for _, q := range []string{"deliveryDate=2026-12-02&includeClosed=true", "delivery_date=2026-12-02&include_closed=1", "DELIVERYDATE=2026-12-02&IncludeClosed=TRUE"} {
		in, l := posti(q)
		if !in || l["status"] != "TEMPORARILY_CLOSED" || l["openOnDeliveryDate"] != false || l["deliveryDate"] != "2026-12-02" ||
			!strings.Contains(fmt.Sprint(l["closedReason"]), "renovation") || l["pupCode"] != demo.DemoSmartpostID {
			t.Errorf("posti %s: listed %v as %v", q, in, l)
		}
	}
	if in, _ := posti("deliveryDate=2026-12-02&pupCode=" + demo.DemoSmartpostID); in {
		t.Error("posti pupCode of a point closed that day: listed without includeClosed")
	}
	if in, l := posti("deliveryDate=2026-12-02&includeClosed=true&pupCode=" + demo.DemoSmartpostID); !in || l["openOnDeliveryDate"] != false {
		t.Errorf("posti pupCode with includeClosed: listed %v as %v", in, l)
	}
	for _, date := range []string{"2026-13-01", "2020-01-01"} {
		if status, out := postiGetFrom(t, f.server.URL, "/api/2/location?zipCode=00100&deliveryDate="+date); status != 400 ||
			!strings.Contains(string(out), `"status":400`) || !strings.Contains(string(out), "deliveryDate") {
			t.Errorf("posti deliveryDate=%s: %d %s; want 400 naming it", date, status, out)
		}
	}
	status, _, out = f.do(t, "GET", path+"/events", f.operator, nil)
	if status != 200 || !strings.Contains(string(out), "TEMPORARILY_CLOSED") {
		t.Errorf("events: %d %s", status, out)
	}
	if status, _, out := f.do(t, "GET", path+"/stranded", f.operator, nil); status != 200 {
		t.Errorf("stranded: %d %s", status, out)
	}
	if status, _, out := f.do(t, "GET", "/v1/stranded", f.operator, nil); status != 200 || !strings.Contains(string(out), `"stranded":[`) {
		t.Errorf("the network's stranded list: %d %s", status, out)
	}
	if status, _, _ := f.do(t, "GET", "/v1/stranded", f.courier, nil); status != 401 {
		t.Errorf("a courier asks for the stranded list: %d; want 401", status)
	}
	if status, _, out := f.do(t, "GET", "/v1/locations?lat=60.1699&lon=24.9384&cod=true&available=true&functions=collect,return&wheelchair_access=false&open_now=true", "", nil); status != 200 {
		t.Errorf("every filter at once: %d %s", status, out)
	}
}

// TestClosedPointRefusalHTTP: booking a point closed on the delivery date
// answers 422 pickup_point_closed naming the point and offering open
// points a checkout can show as they are; with fallback nearest_open the
// parcel goes to the first of them, with the reason.
func TestClosedPointRefusalHTTP(t *testing.T) {
	t.Parallel()
	f := newLockerFixture(t)
	if status, _, out := f.do(t, "PATCH", "/v1/locations/"+demo.DemoSmartpostID, f.operator, map[string]any{"status": "TEMPORARILY_CLOSED",
		"status_from": "2026-11-25", "status_until": "2026-11-30", "status_reason": "renovation"}); status != 200 {
		t.Fatalf("close: %d %s", status, out)
	}
	body := shipmentBody("CLOSED-1")
	body["pickup_point_id"] = demo.DemoSmartpostID
	status, _, out := f.do(t, "POST", "/v1/shipments", f.key, body)
	refusal := decode[struct {
		Error struct {
			Code, Message, Field string
			Alternatives         []struct {
				ID, Type, Name, Street, Postcode, City string
				DistanceM                              float64 `json:"distance_m"`
			}
		}
	}](t, out).Error
	if status != 422 || refusal.Code != "pickup_point_closed" || refusal.Field != "pickup_point_id" ||
		!strings.Contains(refusal.Message, demo.DemoSmartpostID) || !strings.Contains(refusal.Message, "renovation") {
		t.Fatalf("booking the closed point: %d %s; want 422 pickup_point_closed naming it and why", status, out)
	}
	if len(refusal.Alternatives) == 0 || len(refusal.Alternatives) > 3 {
		t.Fatalf("alternatives %+v; want 1 to 3", refusal.Alternatives)
	}
	last := 0.0
	for _, a := range refusal.Alternatives {
		if a.ID == demo.DemoSmartpostID || a.Type != "SMARTPOST" || a.Name == "" || a.Street == "" || len(a.Postcode) != 5 || a.DistanceM <= last {
			t.Errorf("alternative %+v: want another open SMARTPOST with its address, farther than the one before", a)
		}
		last = a.DistanceM
	}
	body["fallback"] = "nearest_open"
	sh := f.create(t, body, f.key)
	if sh.Destination.ID != refusal.Alternatives[0].ID || !strings.Contains(sh.Routing.Reason, "renovation") {
		t.Errorf("with the fallback: to %s (%+v); want %s with the reason", sh.Destination.ID, sh.Routing, refusal.Alternatives[0].ID)
	}
}
