package api_test

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lokero/lokero/api"
	"github.com/lokero/lokero/notify/webpush"
	"github.com/lokero/lokero/notify/webpush/webpushtest"
)

// pushFixture is a server with shipments, locker operations and Web Push
// subscriptions, the push service that makes the browsers' subscriptions,
// and the VAPID public key the server serves.
type pushFixture struct {
	shipFixture
	push      *webpushtest.Server
	publicKey string
}

// newPushFixture serves push subscriptions with opts (its PublicKey made
// here unless empty is asked for with noPush). With limits false the
// per-address limit is off, so that a test may send many subscriptions.
func newPushFixture(t *testing.T, allowInsecure, noPush, limits bool) pushFixture {
	t.Helper()
	ctx := context.Background()
	p := newDemoPlatform(t)
	_, key, err := p.shipments.AddRetailer(ctx, "Kauppa", true)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := webpush.GenerateKeys(nil)
	if err != nil {
		t.Fatal(err)
	}
	opts := api.PushOptions{PublicKey: keys.PublicKey(), AllowInsecure: allowInsecure}
	if noPush {
		opts = api.PushOptions{}
	}
	srv := api.New(p.dir, p.st, p.log)
	srv.EnableShipments(p.shipments)
	srv.EnableLockers(p.lockers, api.LockerOptions{Push: opts})
	if !limits {
		l := api.DefaultRateLimits()
		l.Returns = api.Limit{}
		srv.SetRateLimits(l)
	}
	srv.SetReady(true)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	return pushFixture{shipFixture: shipFixture{server: ts, router: newShipFixture(t).router, key: key},
		push: webpushtest.NewServer(t), publicKey: opts.PublicKey}
}

// subscription is the body of POST /v1/push-subscriptions for a browser's
// subscription (browserJSON adds what PushSubscription.toJSON() adds).
func subscription(tracking, proofField, proof string, sub webpushtest.Subscription) map[string]any {
	return map[string]any{"tracking_code": tracking, proofField: proof, "language": "sv",
		"subscription": map[string]any{"endpoint": sub.Endpoint,
			"keys": map[string]any{"p256dh": sub.P256dh, "auth": sub.Auth}}}
}

// browserJSON is body with the subscription as a browser's
// PushSubscription.toJSON() gives it: with expirationTime (null, or
// milliseconds since the epoch).
func browserJSON(body map[string]any, expiration any) map[string]any {
	body["subscription"].(map[string]any)["expirationTime"] = expiration
	return body
}

func TestPushPublicKeyHTTP(t *testing.T) {
	t.Parallel()
	f := newPushFixture(t, true, false, true)
	status, header, out := f.do(t, "GET", "/v1/push-subscriptions/public-key", "", nil)
	if status != http.StatusOK {
		t.Fatalf("public key: %d %s", status, out)
	}
	got := decode[map[string]string](t, out)["public_key"]
	if got != f.publicKey {
		t.Errorf("public key %q, want the VAPID key %q", got, f.publicKey)
	}
	// The applicationServerKey browsers take: an uncompressed P-256 point,
	// base64url without padding.
	if raw, err := base64.RawURLEncoding.DecodeString(got); err != nil || len(raw) != 65 || raw[0] != 4 {
		t.Errorf("public key %q: not a base64url uncompressed P-256 point (%v, %d bytes)", got, err, len(raw))
	}
	if cc := header.Get("Cache-Control"); !strings.Contains(cc, "max-age") {
		t.Errorf("Cache-Control %q; want it cacheable", cc)
	}

	// Without a key there is no push at all.
	none := newPushFixture(t, true, true, true)
	for _, r := range [][2]string{{"GET", "/v1/push-subscriptions/public-key"}, {"POST", "/v1/push-subscriptions"}, {"DELETE", "/v1/push-subscriptions/psub_x"}} {
		if status, _, out := none.do(t, r[0], r[1], "", "{}"); status != http.StatusNotFound && status != http.StatusMethodNotAllowed {
			t.Errorf("%s %s without push: %d %s; want 404", r[0], r[1], status, out)
		}
	}
}

func TestPushSubscribeHTTP(t *testing.T) {
	t.Parallel()
	f := newPushFixture(t, true, false, false)
	sh := f.create(t, shipmentBody("PUSH-1"), f.key) // to 00104, phone 0401234567
	sub := f.push.Subscribe()
	const path = "/v1/push-subscriptions"

	bad := f.push.Subscribe()
	bad.P256dh = base64.RawURLEncoding.EncodeToString(make([]byte, 65)) // 0x00…: not an uncompressed point
	offCurve := f.push.Subscribe()
	point := make([]byte, 65)
	point[0] = 4 // 0x04, then (0, 0): not on the curve
	offCurve.P256dh = base64.RawURLEncoding.EncodeToString(point)
	shortAuth := f.push.Subscribe()
	shortAuth.Auth = base64.RawURLEncoding.EncodeToString(make([]byte, 8))
	tests := []struct {
		name   string
		body   any
		status int
		field  string // for 400
		code   string // the error's code
	}{
		{"no subscription", map[string]any{"tracking_code": sh.TrackingCode, "postcode": "00104"}, 400, "subscription.endpoint", "missing"},
		{"endpoint not a URL", subscription(sh.TrackingCode, "postcode", "00104", webpushtest.Subscription{Endpoint: "push me", P256dh: sub.P256dh, Auth: sub.Auth}), 400, "subscription.endpoint", "not_url"},
		{"p256dh not a point", subscription(sh.TrackingCode, "postcode", "00104", bad), 400, "subscription.keys.p256dh", "bad_key"},
		{"p256dh off the curve", subscription(sh.TrackingCode, "postcode", "00104", offCurve), 400, "subscription.keys.p256dh", "not_on_curve"},
		{"p256dh not base64", subscription(sh.TrackingCode, "postcode", "00104", webpushtest.Subscription{Endpoint: sub.Endpoint, P256dh: "!!!", Auth: sub.Auth}), 400, "subscription.keys.p256dh", "bad_base64"},
		{"auth too short", subscription(sh.TrackingCode, "postcode", "00104", shortAuth), 400, "subscription.keys.auth", "bad_length"},
		{"no proof", subscription(sh.TrackingCode, "postcode", "", sub), 400, "postcode", "required"},
		{"malformed postcode", subscription(sh.TrackingCode, "postcode", "0010", sub), 400, "postcode", "malformed"},
		{"malformed tracking code", subscription("CL123", "postcode", "00104", sub), 400, "tracking_code", "malformed"},
		{"unknown language", map[string]any{"tracking_code": sh.TrackingCode, "postcode": "00104", "language": "de",
			"subscription": map[string]any{"endpoint": sub.Endpoint, "keys": map[string]any{"p256dh": sub.P256dh, "auth": sub.Auth}}}, 400, "language", "unknown_language"},
		{"unknown top field", map[string]any{"tracking_code": sh.TrackingCode, "postcode": "00104", "name": "Maija",
			"subscription": map[string]any{"endpoint": sub.Endpoint, "keys": map[string]any{"p256dh": sub.P256dh, "auth": sub.Auth}}}, 400, "name", "unknown_field"},
		{"unknown key field", map[string]any{"tracking_code": sh.TrackingCode, "postcode": "00104",
			"subscription": map[string]any{"endpoint": sub.Endpoint, "keys": map[string]any{"p256dh": sub.P256dh, "auth": sub.Auth, "secret": "x"}}}, 400, "subscription.keys.secret", "unknown_field"},
		{"wrong type", map[string]any{"tracking_code": 42, "postcode": "00104"}, 400, "tracking_code", "wrong_type"},
		// A wrong proof and an unknown parcel answer alike: nothing confirmed to a guesser.
		{"wrong postcode", subscription(sh.TrackingCode, "postcode", "00100", sub), 404, "", "no_such_shipment"},
		{"wrong phone", subscription(sh.TrackingCode, "phone", "040 765 4321", sub), 404, "", "no_such_shipment"},
		{"the sender's postcode", subscription(sh.TrackingCode, "postcode", "00220", sub), 404, "", "no_such_shipment"},
	}
	for _, tt := range tests {
		status, _, out := f.do(t, "POST", path, "", tt.body)
		if status != tt.status {
			t.Errorf("%s: %d %s; want %d", tt.name, status, out, tt.status)
			continue
		}
		e := decode[apiError](t, out)
		// An unknown field deep in the body may be named by its own name.
		if e.Error.Code != tt.code || e.Error.Message == "" || (tt.field != "" && e.Error.Field != tt.field &&
			!(tt.code == "unknown_field" && strings.HasSuffix(tt.field, "."+e.Error.Field))) {
			t.Errorf("%s: error %+v; want code %q, field %q and a message", tt.name, e.Error, tt.code, tt.field)
		}
		if tt.status == 404 && strings.Contains(string(out), "Maija") {
			t.Errorf("%s: the refusal names the recipient: %s", tt.name, out)
		}
	}

	// The right postcode, the tracking code as typed.
	status, _, out := f.do(t, "POST", path, "", subscription(strings.ToLower(sh.TrackingCode), "postcode", "00104", sub))
	if status != http.StatusCreated {
		t.Fatalf("subscribe with the postcode: %d %s", status, out)
	}
	got := decode[map[string]any](t, out)
	id, _ := got["id"].(string)
	if !strings.HasPrefix(id, "psub_") || got["tracking_code"] != sh.TrackingCode || got["created_at"] == nil || len(got) != 3 {
		t.Errorf("subscription %v; want only id psub_…, the tracking code %s and created_at", got, sh.TrackingCode)
	}
	// The same browser again gets the same subscription.
	if status, _, out := f.do(t, "POST", path, "", subscription(sh.TrackingCode, "postcode", "00104", sub)); status != http.StatusCreated ||
		decode[map[string]any](t, out)["id"] != id {
		t.Errorf("the same subscription again: %d %s; want 201 with id %s", status, out, id)
	}
	// The phone, written as people write it, proves too.
	other := f.push.Subscribe()
	status, _, out = f.do(t, "POST", path, "", subscription(sh.TrackingCode, "phone", "+358 40 123 4567", other))
	if status != http.StatusCreated {
		t.Fatalf("subscribe with the phone: %d %s", status, out)
	}
	// What a browser sends as it is: PushSubscription.toJSON() has
	// expirationTime (null or a time), which the page passes on.
	for _, exp := range []any{nil, 1798761600000} {
		status, _, out := f.do(t, "POST", path, "", browserJSON(subscription(sh.TrackingCode, "postcode", "00104", f.push.Subscribe()), exp))
		if status != http.StatusCreated {
			t.Errorf("the browser's subscription with expirationTime %v: %d %s; want 201", exp, status, out)
		}
	}
	id2, _ := decode[map[string]any](t, out)["id"].(string)
	if id2 == "" || id2 == id {
		t.Errorf("a second browser's subscription id %q; want a new one (first %q)", id2, id)
	}

	// Unsubscribe: once.
	if status, _, out := f.do(t, "DELETE", path+"/"+id, "", nil); status != http.StatusNoContent || len(out) != 0 {
		t.Errorf("unsubscribe: %d %q; want 204 and no body", status, out)
	}
	for _, gone := range []string{id, "psub_nosuchsubscription", "wh_01abc", "' OR '1'='1"} {
		status, _, out := f.do(t, "DELETE", path+"/"+strings.ReplaceAll(gone, " ", "%20"), "", nil)
		if status != http.StatusNotFound || decode[apiError](t, out).Error.Code != "unknown_subscription" {
			t.Errorf("unsubscribe %q: %d %s; want 404 unknown_subscription", gone, status, out)
		}
	}
	// The other browser's stays: deleting it works once more.
	if status, _, out := f.do(t, "DELETE", path+"/"+id2, "", nil); status != http.StatusNoContent {
		t.Errorf("unsubscribe the second: %d %s", status, out)
	}

	// A parcel whose journey is over takes no subscription.
	if status, _, out := f.do(t, "POST", "/v1/shipments/"+sh.ID+"/cancel", f.key, nil); status != http.StatusOK {
		t.Fatalf("cancel: %d %s", status, out)
	}
	status, _, out = f.do(t, "POST", path, "", subscription(sh.TrackingCode, "postcode", "00104", f.push.Subscribe()))
	if status != http.StatusConflict || decode[apiError](t, out).Error.Code != "tracking_ended" {
		t.Errorf("subscribe to a cancelled parcel: %d %s; want 409 tracking_ended", status, out)
	}
}

// TestPushSubscribeSecureHTTP: without AllowInsecure, as in production,
// an endpoint must be https on a name (webpushtest's http://127.0.0.1 is
// refused), and subscriptions are limited per client address.
func TestPushSubscribeSecureHTTP(t *testing.T) {
	t.Parallel()
	f := newPushFixture(t, false, false, true)
	sh := f.create(t, shipmentBody("PUSH-2"), f.key)
	sub := f.push.Subscribe()
	https := sub
	https.Endpoint = "https://push.example.com/wpush/v2/abc"
	tests := []struct {
		endpoint string
		status   int
		code     string
	}{
		{sub.Endpoint, 400, "not_https"}, // http://127.0.0.1:…
		{"https://127.0.0.1/push/1", 400, "ip_host"},
		{"https://[::1]/push/1", 400, "ip_host"},
		{"https://localhost/push/1", 400, "localhost"},
		{"https://push.localhost/push/1", 400, "localhost"},
		{"ftp://push.example.com/push/1", 400, "not_https"},
		{https.Endpoint, 201, ""},
	}
	for _, tt := range tests {
		s := sub
		s.Endpoint = tt.endpoint
		status, _, out := f.do(t, "POST", "/v1/push-subscriptions", "", subscription(sh.TrackingCode, "postcode", "00104", s))
		if status != tt.status {
			t.Errorf("%s: %d %s; want %d", tt.endpoint, status, out, tt.status)
			continue
		}
		if e := decode[apiError](t, out); tt.status == 400 && (e.Error.Field != "subscription.endpoint" || e.Error.Code != tt.code) {
			t.Errorf("%s: error %+v; want field subscription.endpoint, code %s", tt.endpoint, e.Error, tt.code)
		}
	}
	// The default limit (returns': 10 in a burst) stops a guesser: what is
	// left of the burst, then 429 with Retry-After.
	var limited *http.Response
	for i := range 20 {
		resp, err := http.Post(f.server.URL+"/v1/push-subscriptions", "application/json",
			strings.NewReader(`{"tracking_code":"`+sh.TrackingCode+`","postcode":"99999"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusTooManyRequests {
			limited = resp
			// The n-th request of this address; one token may have come
			// back while the test ran.
			if n := len(tests) + i + 1; n < 11 || n > 12 {
				t.Errorf("the %d-th request limited; want the 11th (after the burst of 10)", n)
			}
			break
		}
	}
	if limited == nil {
		t.Fatal("27 subscription requests from one address: none limited")
	}
	if limited.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
}
