package api_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"testing"

	"github.com/lokero/lokero/api"
	"github.com/lokero/lokero/demo"
)

// send makes a request without checking the answer against the OpenAPI
// document (a 429 may come from any limited endpoint).
func send(t *testing.T, base, method, path, token string, body any, headers ...string) (int, http.Header, []byte) {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, base+path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, out
}

var rateLimitField = regexp.MustCompile(`^"([a-z]+)";r=([0-9]+);t=([0-9]+)$`)

// checkRefused fails unless an answer is the 429 of the named policy:
// Retry-After in whole seconds, RateLimit r=0, and an error body.
func checkRefused(t *testing.T, what, policy string, status int, h http.Header, body []byte, posti bool) {
	t.Helper()
	retry, err := strconv.Atoi(h.Get("Retry-After"))
	m := rateLimitField.FindStringSubmatch(h.Get("RateLimit"))
	if status != http.StatusTooManyRequests || err != nil || retry < 1 || m == nil || m[1] != policy || m[2] != "0" {
		t.Fatalf("%s: %d, Retry-After %q, RateLimit %q: %s; want 429 with Retry-After and %q;r=0",
			what, status, h.Get("Retry-After"), h.Get("RateLimit"), body, policy)
	}
	if posti {
		var e struct {
			Status  int
			Message string
		}
		if json.Unmarshal(body, &e); e.Status != 429 || e.Message == "" {
			t.Errorf("%s: body %s; want Posti's error shape with status 429", what, body)
		}
		return
	}
	var e struct {
		Error struct{ Code, Message string }
	}
	if json.Unmarshal(body, &e); e.Error.Code != "rate_limited" || e.Error.Message == "" {
		t.Errorf("%s: body %s; want a JSON error rate_limited", what, body)
	}
}

// TestRateLimitPerKeyHTTP: authenticated calls are counted per retailer
// and per credential, each kind by its own limit, and every answer says
// where the caller stands.
func TestRateLimitPerKeyHTTP(t *testing.T) {
	t.Parallel()
	f := newLockerFixture(t)
	limits := api.DefaultRateLimits()
	limits.Retailer = api.Limit{Rate: 0.001, Burst: 2}
	limits.Operator = api.Limit{Rate: 0.001, Burst: 2}
	f.srv.SetRateLimits(limits)
	base := f.server.URL

	for i := range 2 {
		status, h, out := send(t, base, "GET", "/v1/shipments", f.key, nil)
		m := rateLimitField.FindStringSubmatch(h.Get("RateLimit"))
		if status != 200 || h.Get("RateLimit-Policy") != `"retailer";q=2;w=2000` || m == nil || m[1] != "retailer" || m[2] != strconv.Itoa(1-i) {
			t.Fatalf("retailer request %d: %d, RateLimit-Policy %q, RateLimit %q: %.200s", i+1, status,
				h.Get("RateLimit-Policy"), h.Get("RateLimit"), out)
		}
	}
	status, h, out := send(t, base, "POST", "/v1/shipments", f.key, shipmentBody("LIMITED"))
	checkRefused(t, "the retailer's 3rd call", "retailer", status, h, out, false)
	// The retailer's bucket is its own: the operator's is full.
	if status, _, out := send(t, base, "GET", "/v1/stranded", f.operator, nil); status != 200 {
		t.Fatalf("operator's 1st call: %d %s", status, out)
	}

	status, h, _ = send(t, base, "GET", "/v1/stranded", f.operator, nil)
	if status != 200 || h.Get("RateLimit-Policy") != `"operator";q=2;w=2000` {
		t.Fatalf("operator's 2nd call: %d, RateLimit-Policy %q", status, h.Get("RateLimit-Policy"))
	}
	status, h, out = send(t, base, "GET", "/v1/cod/settlements?date=2026-11-25", f.operator, nil)
	checkRefused(t, "the operator's 3rd call", "operator", status, h, out, false)

	// A courier and a device have buckets of their own.
	status, h, out = send(t, base, "GET", "/v1/lockers/"+demo.DemoLockerID+"/collections", f.courier, nil)
	if status != 200 || h.Get("RateLimit-Policy") != `"courier";q=60;w=12` {
		t.Errorf("courier after the operator ran out: %d, RateLimit-Policy %q: %s", status, h.Get("RateLimit-Policy"), out)
	}
	status, h, out = send(t, base, "POST", "/v1/devices/"+demo.DemoLockerID+"/events", f.device, map[string]any{"type": "letter_dropped", "count": 1})
	if status != 200 || h.Get("RateLimit-Policy") != `"device";q=100;w=10` {
		t.Errorf("device: %d, RateLimit-Policy %q: %s", status, h.Get("RateLimit-Policy"), out)
	}
	// Without a credential nothing is counted and nothing said.
	status, h, _ = send(t, base, "GET", "/v1/shipments", "", nil)
	if status != 401 || h.Get("RateLimit") != "" {
		t.Errorf("no key: %d, RateLimit %q; want 401 without RateLimit", status, h.Get("RateLimit"))
	}
	// Limits are settings: raised, the retailer books again.
	f.srv.SetRateLimits(api.DefaultRateLimits())
	if status, _, out := send(t, base, "GET", "/v1/shipments", f.key, nil); status != 200 {
		t.Errorf("after the limits were raised: %d %s", status, out)
	}
}

// TestDirectoryLimitHTTP: anonymous directory reads, lokero's own and the
// Posti-compatible ones, share one generous bucket per client address;
// health and metrics are not limited.
func TestDirectoryLimitHTTP(t *testing.T) {
	t.Parallel()
	f := newLockerFixture(t)
	limits := api.DefaultRateLimits()
	limits.Directory = api.Limit{Rate: 0.001, Burst: 4}
	f.srv.SetRateLimits(limits)
	base := f.server.URL
	for i, path := range []string{"/v1/locations/" + demo.DemoLockerID, "/v1/locations?postcode=00100", "/api/2/location?zipCode=00100", "/v1/postcodes/00100"} {
		status, h, out := send(t, base, "GET", path, "", nil)
		if status != 200 || h.Get("RateLimit-Policy") != `"directory";q=4;w=4000` || h.Get("RateLimit") == "" {
			t.Fatalf("directory read %d (%s): %d, RateLimit-Policy %q, RateLimit %q: %.200s", i+1, path, status,
				h.Get("RateLimit-Policy"), h.Get("RateLimit"), out)
		}
	}
	status, h, out := send(t, base, "GET", "/api/2/location/"+demo.DemoLockerID, "", nil)
	checkRefused(t, "Posti read over the limit", "directory", status, h, out, true)
	status, h, out = send(t, base, "GET", "/v1/locations?lat=60.17&lon=24.94", "", nil)
	checkRefused(t, "search over the limit", "directory", status, h, out, false)
	if got := h.Get("Access-Control-Allow-Origin"); got != "*" {
		t.Errorf("search over the limit: Access-Control-Allow-Origin %q; want * (a shop's page reads the 429)", got)
	}
	for _, path := range []string{"/healthz", "/metrics", "/openapi.json"} {
		if status, h, _ := send(t, base, "GET", path, "", nil); status != 200 || h.Get("RateLimit") != "" {
			t.Errorf("%s: %d, RateLimit %q; want 200 and no limit", path, status, h.Get("RateLimit"))
		}
	}
}

// TestTrustedProxyHTTP: behind a trusted proxy each client has its own
// bucket; without one, X-Forwarded-For buys nobody a fresh bucket.
func TestTrustedProxyHTTP(t *testing.T) {
	t.Parallel()
	f := newLockerFixture(t)
	limits := api.DefaultRateLimits()
	limits.Tracking = api.Limit{Rate: 0.001, Burst: 1}
	f.srv.SetRateLimits(limits)
	base, path := f.server.URL, "/v1/tracking/JJFI00000000000001"
	track := func(xff string) (int, http.Header, []byte) {
		return send(t, base, "GET", path, "", nil, "X-Forwarded-For", xff)
	}
	if status, _, out := track("198.51.100.1"); status == 429 {
		t.Fatalf("first lookup: %d %s", status, out)
	}
	status, h, out := track("198.51.100.2")
	checkRefused(t, "a spoofed X-Forwarded-For from an untrusted peer", "tracking", status, h, out, false)

	f.srv.SetTrustedProxies([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")})
	f.srv.SetRateLimits(limits) // full buckets again
	if status, _, out := track("198.51.100.1"); status == 429 {
		t.Fatalf("client 1 behind the proxy: %d %s", status, out)
	}
	status, h, out = track("198.51.100.1")
	checkRefused(t, "client 1's second lookup", "tracking", status, h, out, false)
	if status, _, out := track("198.51.100.2"); status == 429 {
		t.Errorf("client 2 behind the proxy shares client 1's bucket: %d %s", status, out)
	}
	// A client cannot hide behind an address it writes itself: the proxy
	// appends the one it saw.
	status, h, out = track("203.0.113.99, 198.51.100.1")
	checkRefused(t, "client 1 prepending another address", "tracking", status, h, out, false)
}

// TestStrictQueryHTTP: a parameter given twice is a 400 naming it on
// every endpoint that reads the query; the stranded lists take no
// parameters at all.
func TestStrictQueryHTTP(t *testing.T) {
	t.Parallel()
	f := newLockerFixture(t)
	base := f.server.URL
	tests := []struct{ path, token, field string }{
		{"/v1/locations?postcode=00100&postcode=99999", "", "postcode"},
		{"/v1/locations?type=LOCKER&type=SMARTPOST", "", "type"},
		{"/v1/shipments?limit=2&limit=3", f.key, "limit"},
		{"/v1/cod/settlements?date=2026-11-25&date=2026-11-26", f.operator, "date"},
		{"/v1/cod/settlements?date=2026-11-25&day=2026-11-26", f.operator, "day"},
		{"/v1/stranded?location=" + demo.DemoLockerID, f.operator, "location"},
		{"/v1/stranded?limit=10", f.operator, "limit"},
		{"/v1/locations/" + demo.DemoLockerID + "/stranded?all=true", f.operator, "all"},
	}
	for _, tt := range tests {
		status, _, out := send(t, base, "GET", tt.path, tt.token, nil)
		if e := decode[apiError](t, out); status != 400 || e.Error.Field != tt.field || e.Error.Message == "" {
			t.Errorf("GET %s: %d %s; want 400 naming %s", tt.path, status, out, tt.field)
		}
	}
	for _, path := range []string{"/v1/stranded", "/v1/stranded?_=123", "/v1/locations/" + demo.DemoLockerID + "/stranded"} {
		if status, _, out := send(t, base, "GET", path, f.operator, nil); status != 200 {
			t.Errorf("GET %s: %d %s; want 200", path, status, out)
		}
	}
	// The Posti face: types may repeat, as Posti's clients send it; two
	// different postal codes are refused in Posti's error shape.
	if status, _, out := send(t, base, "GET", "/api/2/location?types=SMARTPOST&types=LOCKER&zipCode=00100&zipCode=00100", "", nil); status != 200 {
		t.Errorf("Posti, repeated types: %d %.200s; want 200", status, out)
	}
	status, _, out := send(t, base, "GET", "/api/2/location?zipCode=00100&zipCode=99999", "", nil)
	var pe struct {
		Status  int
		Message string
	}
	if json.Unmarshal(out, &pe); status != 400 || pe.Status != 400 || !bytes.Contains(out, []byte("zipCode")) {
		t.Errorf("Posti, two postal codes: %d %s; want 400 naming zipCode", status, out)
	}
}

// TestEmptyPatchHTTP: a patch that changes nothing is a 400 and writes no
// event; a real one still goes through.
func TestEmptyPatchHTTP(t *testing.T) {
	t.Parallel()
	f := newLockerFixture(t)
	base, loc := f.server.URL, "/v1/locations/"+demo.DemoSmartpostID
	events := func() int {
		t.Helper()
		status, _, out := send(t, base, "GET", loc+"/events", f.operator, nil)
		if status != 200 {
			t.Fatalf("events: %d %s", status, out)
		}
		return len(decode[struct{ Events []json.RawMessage }](t, out).Events)
	}
	before := events()
	for _, body := range []string{`{}`, `null`, `{"status":null}`, `{"status":null,"functions":null,"wheelchair_access":null}`, " {\n} "} {
		status, _, out := send(t, base, "PATCH", loc, f.operator, body)
		e := decode[apiError](t, out)
		if status != 400 || e.Error.Code != "empty_patch" || e.Error.Field != "body" || !bytes.Contains(out, []byte("changes nothing")) {
			t.Errorf("PATCH %s: %d %s; want 400 empty_patch naming field body", body, status, out)
		}
	}
	if n := events(); n != before {
		t.Errorf("patches that change nothing wrote %d events", n-before)
	}
	_, _, out := send(t, base, "GET", loc, "", nil)
	flip := !decode[struct {
		Wheelchair bool `json:"wheelchair_access"`
	}](t, out).Wheelchair
	if status, _, out := send(t, base, "PATCH", loc, f.operator, map[string]bool{"wheelchair_access": flip}); status != 200 {
		t.Fatalf("a real patch: %d %s", status, out)
	}
	if n := events(); n != before+1 {
		t.Errorf("a real patch wrote %d events; want 1", n-before)
	}
}
