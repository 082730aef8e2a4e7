package api_test

import (
	"bytes"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/lokero/lokero/demo"
)

// publicEvent is an event of public tracking.
type publicEvent struct {
	Status, Reason, Text string
	StatusName           string `json:"status_name"`
	LocationID           string `json:"location_id"`
}

// track answers GET /v1/tracking/{code} with no credential.
func track(t *testing.T, f lockerFixture, code string) (status string, events []publicEvent) {
	t.Helper()
	st, _, out := f.do(t, "GET", "/v1/tracking/"+code, "", nil)
	got := decode[struct {
		Status string
		Events []publicEvent
	}](t, out)
	if st != 200 {
		t.Fatalf("tracking %s: %d %s", code, st, out)
	}
	return got.Status, got.Events
}

// TestReturnTrackingHTTP: a return dropped off at a SMARTPOST tells in
// public tracking what it is and what happened, event by event, without
// the store's or the consumer's address.
func TestReturnTrackingHTTP(t *testing.T) {
	t.Parallel()
	f := newLockerFixture(t)
	sh := f.create(t, shipmentBody("RETURN-TRACK-1"), f.key)
	pickUp(t, f, sh)
	status, _, out := f.do(t, "POST", "/v1/returns", "", map[string]string{"tracking_code": sh.TrackingCode, "postcode": "00104"})
	rc := decode[map[string]string](t, out)
	if status != 200 {
		t.Fatalf("return code: %d %s", status, out)
	}
	dev := "/v1/devices/" + demo.DemoSmartpostID
	status, _, out = f.do(t, "POST", dev+"/keypad", f.spDevice, map[string]string{"code": rc["return_code"]})
	open := decode[struct {
		Result, Purpose string
		Compartment     int
	}](t, out)
	if status != 200 || open.Purpose != "drop_off" {
		t.Fatalf("return code at the keypad: %d %s", status, out)
	}
	if status, _, out := f.do(t, "POST", dev+"/events", f.spDevice, map[string]any{"type": "door_closed", "compartment": open.Compartment}); status != 200 {
		t.Fatalf("door closed: %d %s", status, out)
	}
	state, events := track(t, f, rc["return_tracking_code"])
	if state != "DROPPED_OFF" || len(events) < 2 {
		t.Fatalf("the return's tracking: %s %+v; want DROPPED_OFF with its events", state, events)
	}
	if events[0].Status != "CREATED" || !strings.Contains(events[0].Reason, "return") {
		t.Errorf("the return's first event: %+v; want CREATED saying it is a return", events[0])
	}
	for _, e := range events {
		if e.Reason == "" {
			t.Errorf("a bare %s event in the return's tracking: %+v", e.Status, events)
		}
		for _, private := range []string{"Mannerheimintie", "Aleksanterinkatu", "00104", "00100"} {
			if strings.Contains(e.Reason, private) {
				t.Errorf("public tracking names %q: %q", private, e.Reason)
			}
		}
	}
}

// pickUp takes a parcel booked to the demo LOCKER through handover,
// deposit and pickup with the code of its notice.
func pickUp(t *testing.T, f lockerFixture, sh shipmentAnswer) {
	t.Helper()
	if status, _, out := f.do(t, "POST", "/v1/shipments/"+sh.ID+"/handover", f.courier, nil); status != 200 {
		t.Fatalf("handover: %d %s", status, out)
	}
	status, _, out := f.do(t, "POST", "/v1/lockers/"+demo.DemoLockerID+"/deposits", f.courier, map[string]string{"tracking_code": sh.TrackingCode})
	dep := decode[struct{ Compartment int }](t, out)
	if status != 200 {
		t.Fatalf("deposit: %d %s", status, out)
	}
	events := "/v1/devices/" + demo.DemoLockerID + "/events"
	closed := map[string]any{"type": "door_closed", "compartment": dep.Compartment}
	if status, _, out := f.do(t, "POST", events, f.device, closed); status != 200 {
		t.Fatalf("door closed: %d %s", status, out)
	}
	_, _, out = f.do(t, "GET", "/dev/outbox", f.operator, nil)
	box := decode[struct {
		Messages []struct {
			TrackingCode string `json:"tracking_code"`
			Text         string
		}
	}](t, out)
	code := ""
	for _, m := range box.Messages {
		if c := openingCode.FindStringSubmatch(m.Text); c != nil && m.TrackingCode == sh.TrackingCode {
			code = c[1]
		}
	}
	if status, _, out := f.do(t, "POST", "/v1/devices/"+demo.DemoLockerID+"/keypad", f.device, map[string]string{"code": code}); status != 200 {
		t.Fatalf("keypad: %d %s", status, out)
	}
	if status, _, out := f.do(t, "POST", events, f.device, closed); status != 200 {
		t.Fatalf("door closed after pickup: %d %s", status, out)
	}
}

// TestRerouteTrackingAndLabelHTTP: a parcel re-routed from a point closed
// on its delivery day shows the new destination and date on its label and
// in public tracking, which says it was re-routed and why, in its own
// words.
func TestRerouteTrackingAndLabelHTTP(t *testing.T) {
	t.Parallel()
	f := newLockerFixture(t)
	body := shipmentBody("REROUTE-1")
	body["pickup_point_id"] = demo.DemoSmartpostID
	sh := f.create(t, body, f.key)
	if sh.Destination.ID != demo.DemoSmartpostID {
		t.Fatalf("booked to %s; want %s", sh.Destination.ID, demo.DemoSmartpostID)
	}
	if status, _, out := f.do(t, "PATCH", "/v1/locations/"+demo.DemoSmartpostID, f.operator, map[string]any{"status": "TEMPORARILY_CLOSED",
		"status_from": sh.EstimatedDelivery, "status_reason": "water damage"}); status != 200 {
		t.Fatalf("close: %d %s", status, out)
	}
	// Handed over after the day's cut-off: delivered a day later.
	if status, _, _ := f.do(t, "POST", "/v1/admin/clock", f.operator, map[string]string{"advance": "3h"}); status != 200 {
		t.Fatalf("advance the test clock: %d", status)
	}
	if status, _, out := f.do(t, "POST", "/v1/shipments/"+sh.ID+"/handover", f.courier, nil); status != 200 {
		t.Fatalf("handover: %d %s", status, out)
	}
	_, _, out := f.do(t, "GET", "/v1/shipments/"+sh.ID, f.key, nil)
	moved := decode[shipmentAnswer](t, out)
	if moved.Destination.ID == demo.DemoSmartpostID || moved.Destination.ID == "" {
		t.Fatalf("after the closure the parcel goes to %q; want another point", moved.Destination.ID)
	}
	if moved.EstimatedDelivery <= sh.EstimatedDelivery {
		t.Fatalf("handed over after the cut-off, delivered on %s; want after %s", moved.EstimatedDelivery, sh.EstimatedDelivery)
	}

	status, header, pdf := f.do(t, "GET", "/v1/shipments/"+sh.ID+"/label.pdf", f.key, nil)
	if status != 200 || header.Get("Content-Type") != "application/pdf" {
		t.Fatalf("label: %d %s", status, header.Get("Content-Type"))
	}
	text := pdfText(t, pdf)
	for _, want := range []string{moved.Destination.Name, moved.Destination.Street, "Delivery / Toimitus: " + moved.EstimatedDelivery} {
		if !strings.Contains(text, want) {
			t.Errorf("the re-routed label lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, sh.Destination.Name) {
		t.Errorf("the re-routed label still names %q:\n%s", sh.Destination.Name, text)
	}

	_, events := track(t, f, sh.TrackingCode)
	if len(events) < 2 || events[0].Reason != "Shipment booked." || !strings.HasPrefix(events[1].Reason, "Re-routed: the pickup point is closed") {
		t.Fatalf("tracking after the re-routing: %+v; want the booking, then the re-routing", events)
	}
	for _, e := range events {
		if strings.Contains(e.Reason, moved.Destination.Street) || strings.Contains(e.Reason, "Mannerheimintie") {
			t.Errorf("public tracking names an address: %q", e.Reason)
		}
	}
}

// pdfText is the text of a PDF by poppler's pdftotext. Without it the test
// skips, except in CI, where it fails.
func pdfText(t *testing.T, pdf []byte) string {
	t.Helper()
	path, err := exec.LookPath("pdftotext")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("pdftotext not found: install Debian's poppler-utils")
		}
		t.Skip("pdftotext not found: install Debian's poppler-utils")
	}
	file := filepath.Join(t.TempDir(), "label.pdf")
	if err := os.WriteFile(file, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path, "-layout", file, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	return string(out)
}

// localTracking is public tracking in a language asked for with headers.
type localTracking struct {
	Status     string
	StatusName string `json:"status_name"`
	Events     []publicEvent
}

// TestLocalisedTrackingHTTP: a parcel's life — booking, handover, deposit,
// pickup, its return dropped off at a SMARTPOST and collected — in public
// tracking in Finnish has a Finnish sentence for every event and no
// English left, in Swedish a Swedish one, in English the reasons as they
// were; the language is told in Content-Language and Vary, and still no
// personal data shows.
func TestLocalisedTrackingHTTP(t *testing.T) {
	t.Parallel()
	f := newLockerFixture(t)
	sh := f.create(t, shipmentBody("LOCALISED-1"), f.key)
	pickUp(t, f, sh)
	status, _, out := f.do(t, "POST", "/v1/returns", "", map[string]string{"tracking_code": sh.TrackingCode, "postcode": "00104"})
	rc := decode[map[string]string](t, out)
	if status != 200 {
		t.Fatalf("return code: %d %s", status, out)
	}
	dev := "/v1/devices/" + demo.DemoSmartpostID
	status, _, out = f.do(t, "POST", dev+"/keypad", f.spDevice, map[string]string{"code": rc["return_code"]})
	open := decode[struct{ Compartment int }](t, out)
	if status != 200 {
		t.Fatalf("return code at the keypad: %d %s", status, out)
	}
	if status, _, out := f.do(t, "POST", dev+"/events", f.spDevice, map[string]any{"type": "door_closed", "compartment": open.Compartment}); status != 200 {
		t.Fatalf("door closed: %d %s", status, out)
	}
	if status, _, out := f.do(t, "POST", "/v1/lockers/"+demo.DemoSmartpostID+"/collections", f.courier, map[string]string{"tracking_code": rc["return_tracking_code"]}); status != 200 {
		t.Fatalf("collect the return: %d %s", status, out)
	}

	get := func(code string, headers ...string) (localTracking, http.Header) {
		t.Helper()
		status, header, out := f.do(t, "GET", "/v1/tracking/"+code, "", nil, headers...)
		if status != 200 {
			t.Fatalf("tracking %s %v: %d %s", code, headers, status, out)
		}
		return decode[localTracking](t, out), header
	}
	english := regexp.MustCompile(`(?i)\b(the|parcel|shipment|courier|booked|picked|handed|compartment|ready|return)\b`)
	private := []string{"Maija", "Meikäläinen", "Mannerheimintie", "00104", "0401234567", "maija@", "Tyynenmerenkatu", "00220", "Verkkokauppa"}
	for _, code := range []string{sh.TrackingCode, rc["return_tracking_code"]} {
		en, _ := get(code)
		fi, header := get(code, "Accept-Language", "fi-FI,fi;q=0.9,en;q=0.5")
		sv, svHeader := get(code+"?lang=sv", "Accept-Language", "fi")
		if header.Get("Content-Language") != "fi" || svHeader.Get("Content-Language") != "sv" || !strings.Contains(strings.Join(header.Values("Vary"), ","), "Accept-Language") {
			t.Errorf("%s: Content-Language %q and %q, Vary %q; want fi, sv and Accept-Language", code,
				header.Get("Content-Language"), svHeader.Get("Content-Language"), header.Values("Vary"))
		}
		if len(fi.Events) < 3 || len(fi.Events) != len(en.Events) || len(sv.Events) != len(en.Events) {
			t.Fatalf("%s: %d, %d and %d events", code, len(en.Events), len(fi.Events), len(sv.Events))
		}
		wantName := map[string]string{"PICKED_UP": "Noudettu", "IN_TRANSIT": "Kuljetuksessa"}[fi.Status]
		if wantName == "" || fi.StatusName != wantName || en.StatusName == fi.StatusName || sv.StatusName == fi.StatusName {
			t.Errorf("%s: %s named %q in Finnish, %q in Swedish, %q in English; want %q", code, fi.Status, fi.StatusName, sv.StatusName, en.StatusName, wantName)
		}
		for i, e := range fi.Events {
			if e.Reason != en.Events[i].Reason || en.Events[i].Text != en.Events[i].Reason {
				t.Errorf("%s event %d: reason %q in Finnish, %q in English, English text %q; want the reason unchanged", code, i, e.Reason, en.Events[i].Reason, en.Events[i].Text)
			}
			if e.Text == "" || e.Text == e.Reason || english.MatchString(e.Text) {
				t.Errorf("%s event %d (%s): %q in Finnish; reason %q", code, i, e.Status, e.Text, e.Reason)
			}
			if s := sv.Events[i]; s.Text == "" || s.Text == s.Reason || s.Text == e.Text || s.StatusName == e.StatusName {
				t.Errorf("%s event %d (%s): %q (%s) in Swedish", code, i, s.Status, s.Text, s.StatusName)
			}
			for _, p := range private {
				for _, words := range []string{e.Text, e.Reason, sv.Events[i].Text} {
					if strings.Contains(words, p) {
						t.Errorf("%s: public tracking names %q: %q", code, p, words)
					}
				}
			}
		}
	}
	if status, _, out := f.do(t, "GET", "/v1/tracking/"+sh.TrackingCode+"?lang=ru", "", nil); status != 400 || !strings.Contains(string(out), `"lang"`) {
		t.Errorf("tracking ?lang=ru: %d %s; want 400 naming lang", status, out)
	}
}

// TestTrackingPickupBy: public tracking says until when a parcel waits,
// only while it waits.
func TestTrackingPickupBy(t *testing.T) {
	t.Parallel()
	f := newLockerFixture(t)
	sh := f.create(t, shipmentBody("PICKUP-BY-1"), f.key)
	type answer struct {
		PickupBy *time.Time `json:"pickup_by"`
		Events   []struct {
			Status string
			At     time.Time
		}
	}
	track := func() answer {
		t.Helper()
		status, _, out := f.do(t, "GET", "/v1/tracking/"+sh.TrackingCode, "", nil)
		if status != 200 {
			t.Fatalf("tracking: %d %s", status, out)
		}
		return decode[answer](t, out)
	}
	pickupBy := func() *time.Time { return track().PickupBy }
	if got := pickupBy(); got != nil {
		t.Errorf("booked: pickup_by %v; want none", got)
	}
	f.deliverToDemoLocker(t, sh)
	ready := track()
	var readyAt time.Time
	for _, e := range ready.Events {
		if e.Status == "READY_FOR_PICKUP" {
			readyAt = e.At
		}
	}
	if got := ready.PickupBy; got == nil || readyAt.IsZero() || got.Sub(readyAt) < 6*24*time.Hour || got.Sub(readyAt) > 8*24*time.Hour {
		t.Errorf("ready for pickup at %v: pickup_by %v; want about 7 days later", readyAt, got)
	}
}

// TestReturnLabelHTTP: the consumer's return label, for the same proof as
// the return code, as JSON or as a plain form's fields; the wrong postcode
// gets nothing.
func TestReturnLabelHTTP(t *testing.T) {
	t.Parallel()
	f := newLockerFixture(t)
	sh := f.create(t, shipmentBody("RETURN-LABEL-1"), f.key)
	tests := []struct {
		name, body, contentType string
		status                  int
	}{
		{"json", `{"tracking_code":"` + sh.TrackingCode + `","postcode":"00104"}`, "application/json", 200},
		{"form", "tracking_code=" + sh.TrackingCode + "&postcode=00104", "application/x-www-form-urlencoded", 200},
		{"wrong postcode", `{"tracking_code":"` + sh.TrackingCode + `","postcode":"00100"}`, "application/json", 404},
		{"malformed postcode", "tracking_code=" + sh.TrackingCode + "&postcode=1", "application/x-www-form-urlencoded", 400},
	}
	for _, tt := range tests {
		status, header, out := f.do(t, "POST", "/v1/returns/label.pdf", "", tt.body, "Content-Type", tt.contentType)
		if status != tt.status {
			t.Errorf("%s: %d %s; want %d", tt.name, status, out, tt.status)
			continue
		}
		if status == 200 && (header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(out, []byte("%PDF-"))) {
			t.Errorf("%s: %s, %q…; want a PDF", tt.name, header.Get("Content-Type"), out[:min(8, len(out))])
		}
	}
}

// TestReturnsOnlyForDeliveriesHTTP: the return code and the return label
// are for a parcel a consumer received. A pre-paid parcel's tracking code
// and its recipient's postcode get neither (its code is the one its sender
// drops it off with, once: whoever has it first uses it up), nor do a
// return's own tracking code and its store's postcode: the same 404 as a
// wrong pair, naming no code.
func TestReturnsOnlyForDeliveriesHTTP(t *testing.T) {
	t.Parallel()
	f := newLockerFixture(t)
	status, _, out := f.do(t, "POST", "/v1/prepaid", f.key, map[string]any{
		"sender":    map[string]any{"name": "Maija", "street": "Aleksanterinkatu 1", "postcode": "00100", "city": "Helsinki"},
		"recipient": map[string]any{"name": "Mummo", "street": "Mannerheimintie 5 A 1", "postcode": "00104", "city": "Helsinki", "phone": "0401234567"},
		"size":      "S",
	})
	pp := decode[struct {
		TrackingCode string `json:"tracking_code"`
		DropOffCode  string `json:"dropoff_code"`
	}](t, out)
	if status != 201 || pp.DropOffCode == "" {
		t.Fatalf("pre-paid: %d %s", status, out)
	}
	sh := f.create(t, shipmentBody("RETURNS-ONLY-1"), f.key)
	pickUp(t, f, sh)
	status, _, out = f.do(t, "POST", "/v1/returns", "", map[string]string{"tracking_code": sh.TrackingCode, "postcode": "00104"})
	rc := decode[map[string]string](t, out)
	if status != 200 || rc["return_tracking_code"] == "" {
		t.Fatalf("return code: %d %s", status, out)
	}
	dev := "/v1/devices/" + demo.DemoSmartpostID
	status, _, out = f.do(t, "POST", dev+"/keypad", f.spDevice, map[string]string{"code": rc["return_code"]})
	open := decode[struct{ Compartment int }](t, out)
	if status != 200 {
		t.Fatalf("return code at the keypad: %d %s", status, out)
	}
	if status, _, out := f.do(t, "POST", dev+"/events", f.spDevice, map[string]any{"type": "door_closed", "compartment": open.Compartment}); status != 200 {
		t.Fatalf("door closed: %d %s", status, out)
	}
	tests := []struct {
		name, tracking, postcode, secret string
	}{
		{"pre-paid parcel", pp.TrackingCode, "00104", pp.DropOffCode},
		{"return", rc["return_tracking_code"], "00220", rc["return_code"]},
	}
	for _, tt := range tests {
		for _, path := range []string{"/v1/returns", "/v1/returns/label.pdf"} {
			status, _, out := f.do(t, "POST", path, "", map[string]string{"tracking_code": tt.tracking, "postcode": tt.postcode})
			if e := decode[struct{ Error struct{ Code string } }](t, out); status != 404 || e.Error.Code != "no_such_shipment" || strings.Contains(string(out), tt.secret) {
				t.Errorf("%s: %s: %d %.300s; want 404 no_such_shipment", tt.name, path, status, out)
			}
		}
	}
}
