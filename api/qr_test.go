package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image/png"
	"strconv"
	"strings"
	"testing"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/locker"
	"github.com/lokero/lokero/notify"
	"github.com/lokero/lokero/zbartest"
)

// TestQRPage: the link of a parcel ready at a locker shows a page with
// its locker and compartment and the QR image, whose code is the parcel's
// token (VerifyQR accepts it at that locker); the scanner's event with
// that token opens the compartment over HTTP; once the parcel is picked
// up, and for any link that is wrong, the answer is the same 404.
func TestQRPage(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	r := p.ready(t, retailerA, p.lockerYBody("QR-PAGE"), lockerY, deviceY)
	link, pageURL, err := p.lockers.QRLinkOf(context.Background(), r.id)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(link, r.tracking+".") || len(link) != len(r.tracking)+17 {
		t.Errorf("link %q: want the tracking code, '.', 16 characters", link)
	}
	_ = pageURL

	status, h, page := p.do("GET", "/q/"+link+"?lang=fi", "", "", "Accept", "text/html,application/xhtml+xml,*/*;q=0.8")
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("GET /q/{link}: %d %s %.300s", status, h.Get("Content-Type"), page)
	}
	for _, want := range []string{`src="` + link + `.png"`, "Lokero: <strong>" + strconv.Itoa(r.compartment) + "</strong>", r.tracking, `lang="fi"`} {
		if !bytes.Contains(page, []byte(want)) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	if h.Get("Cache-Control") != "no-store" || h.Get("Referrer-Policy") != "no-referrer" || h.Get("RateLimit-Policy") == "" ||
		!strings.Contains(h.Get("RateLimit-Policy"), `"tracking"`) {
		t.Errorf("headers %v: want no-store, no-referrer and the tracking rate limit", h)
	}

	// Without text/html in Accept: the same as data.
	var data struct {
		TrackingCode string `json:"tracking_code"`
		LocationID   string `json:"location_id"`
		Compartment  int    `json:"compartment"`
		Token        string `json:"qr_token"`
		Image        string `json:"qr_image"`
	}
	status, h, out := p.do("GET", "/q/"+link, "", "")
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "application/json") || json.Unmarshal(out, &data) != nil ||
		data.TrackingCode != r.tracking || data.LocationID != lockerY || data.Compartment != r.compartment || data.Image != link+".png" {
		t.Errorf("GET /q/{link} as JSON: %d %s %.300s", status, h.Get("Content-Type"), out)
	}

	status, h, img := p.do("GET", "/q/"+link+".png", "", "")
	if status != 200 || h.Get("Content-Type") != "image/png" {
		t.Fatalf("GET /q/{link}.png: %d %s", status, h.Get("Content-Type"))
	}
	if _, err := png.Decode(bytes.NewReader(img)); err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	token := zbartest.Scan(t, img)
	if token != data.Token {
		t.Errorf("the image reads %q, the JSON says %q", token, data.Token)
	}
	c, err := locker.VerifyQR(p.lockers.QRPublicKey(), token, lockerY, p.lockers.Now())
	if err != nil || c.ShipmentID != r.id || c.Compartment != r.compartment {
		t.Fatalf("the image's token: %+v, %v", c, err)
	}

	// The scanner's event over HTTP opens the compartment.
	ev := p.call(t, 200, "POST", "/v1/devices/"+lockerY+"/events", deviceY, map[string]any{"seq": 1, "type": "qr", "token": token})
	if ev["result"] != "applied" || ev["open"] != float64(r.compartment) {
		t.Fatalf("qr event: %v; want applied, open %d", ev, r.compartment)
	}
	// An event whose time is not RFC 3339: refused, naming the field; its
	// number is not taken.
	bad := p.call(t, 400, "POST", "/v1/devices/"+lockerY+"/events", deviceY, map[string]any{"seq": 2, "type": "door_opened", "compartment": 1, "at": "yesterday"})
	if e, _ := bad["error"].(map[string]any); e["field"] != "at" || e["code"] != "malformed" {
		t.Errorf("an event at %q: %v; want 400 naming the field at", "yesterday", bad)
	}
	// Another locker's device: refused, naming the locker mismatch.
	ev = p.call(t, 200, "POST", "/v1/devices/"+lockerX+"/events", deviceX, map[string]any{"seq": 1, "type": "qr", "token": token})
	if e, _ := ev["error"].(map[string]any); ev["result"] != "rejected" || e["reason"] != "qr_wrong_locker" {
		t.Errorf("the token at another locker: %v; want rejected qr_wrong_locker", ev)
	}
	p.call(t, 200, "POST", "/v1/devices/"+lockerY+"/events", deviceY, map[string]any{"type": "door_closed", "compartment": r.compartment})

	// Picked up: the link shows nothing any more.
	wrongMAC := r.tracking + "." + strings.Repeat("A", 16)
	for _, path := range []string{"/q/" + link, "/q/" + link + ".png", "/q/" + wrongMAC, "/q/" + wrongMAC + ".png",
		"/q/XX000000000FI." + strings.Repeat("A", 16), "/q/nothing", "/q/.png", "/q/x.", "/q/" + strings.Repeat("x", 300)} {
		status, _, out := p.do("GET", path, "", "")
		var e struct {
			Error struct{ Code, Message string }
		}
		if status != 404 || json.Unmarshal(out, &e) != nil || e.Error.Message != "not found" {
			t.Errorf("GET %s: %d %.200s; want the same bare 404", path, status, out)
		}
	}
}

// TestTrackingNotice: the tracking page's "send the notice again", for
// the recipient's postcode only: the notice of arrival (its code, its QR
// link) goes again to the recipient's own phone and e-mail, and the
// answer tells the visitor nothing of it.
func TestTrackingNotice(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	r := p.ready(t, retailerA, p.lockerYBody("TRACKING-NOTICE"), lockerY, deviceY)
	link, _, err := p.lockers.QRLinkOf(context.Background(), r.id)
	if err != nil {
		t.Fatal(err)
	}
	arrivals := func() int {
		t.Helper()
		list, err := p.lockers.Notifications(context.Background(), lokero.NotificationFilter{ShipmentID: r.id, Limit: 500})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, m := range list {
			if m.Kind == notify.KindArrival && m.Channel != notify.ChannelPush {
				n++
			}
		}
		return n
	}
	before := arrivals()
	tests := []struct {
		name, body string
		status     int
	}{
		{"the recipient's postcode", `{"postcode":"00104"}`, 202},
		{"another postcode", `{"postcode":"00100"}`, 404},
		{"a malformed postcode", `{"postcode":"104"}`, 400},
	}
	for _, tt := range tests {
		status, h, out := p.do("POST", "/v1/tracking/"+r.tracking+"/notice", "", tt.body)
		if status != tt.status {
			t.Errorf("%s: %d %s; want %d", tt.name, status, out, tt.status)
			continue
		}
		if status != 202 {
			continue
		}
		var got struct {
			SentTo []string `json:"sent_to"`
		}
		if err := json.Unmarshal(out, &got); err != nil || len(got.SentTo) == 0 || h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: %s (%v), Cache-Control %q; want the channels it went to, not stored", tt.name, out, err, h.Get("Cache-Control"))
		}
		if strings.Contains(string(out), link) || strings.Contains(string(out), "/q/") {
			t.Errorf("%s: %s; the answer gives the visitor the QR link", tt.name, out)
		}
	}
	if after := arrivals(); after != before+before {
		t.Errorf("notices of arrival queued: %d before, %d after; want each channel's sent once again", before, after)
	}
	if status, _, out := p.do("POST", "/v1/tracking/NOTACODE/notice", "", `{"postcode":"00104"}`); status != 400 {
		t.Errorf("a malformed tracking code: %d %s; want 400", status, out)
	}
	if status, _, out := p.do("POST", "/v1/tracking/"+r.tracking+"/qr", "", `{"postcode":"00104"}`); status == 200 {
		t.Errorf("the QR code by postcode is still answered: %s", out)
	}
}
