package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/api"
	"github.com/lokero/lokero/notify/webhook"
	"github.com/lokero/lokero/service"
)

// webhookFixture is a server with shipments and webhooks over a store
// whose events are published to the webhooks (as serve wires it), two
// retailers (key and other), the webhook service to send deliveries with,
// and an endpoint that records what it receives.
type webhookFixture struct {
	shipFixture
	hooks    *service.Webhooks
	receiver *receiver
	clock    *lokero.DevClock
}

// receiver is a retailer's webhook endpoint: it records each request.
type receiver struct {
	*httptest.Server
	mu   sync.Mutex
	got  []received
	code int // the status it answers
}

type received struct {
	header http.Header
	body   []byte
}

func (rc *receiver) requests() []received {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.got)
}

// testPoster sends webhooks with notify/webhook's client, as serve does.
type testPoster struct{ client *webhook.Client }

func (p testPoster) Post(ctx context.Context, url, id string, at time.Time, payload []byte, secrets []string) (int, error) {
	return p.client.Send(ctx, webhook.Request{ID: id, Timestamp: at, Payload: payload, Secrets: secrets, URL: url})
}

func newWebhookFixture(t *testing.T) webhookFixture {
	t.Helper()
	ctx := context.Background()
	p := newDemoPlatform(t)
	// The receiver is on loopback: private endpoints allowed, as --dev.
	hooks := service.NewWebhooks(p.st, p.clock, nil, testPoster{webhook.New(webhook.Options{AllowPrivate: true})},
		webhook.NextRetry, func(raw string) error { return webhook.ValidateURL(raw, true) }, p.log)
	p.st.SetEventHook(hooks.Publish)
	_, key, err := p.shipments.AddRetailer(ctx, "Kauppa", true)
	if err != nil {
		t.Fatal(err)
	}
	_, other, err := p.shipments.AddRetailer(ctx, "Toinen", false)
	if err != nil {
		t.Fatal(err)
	}
	srv := api.New(p.dir, p.st, p.log)
	srv.EnableShipments(p.shipments)
	srv.EnableWebhooks(hooks)
	srv.SetReady(true)
	ts := httptest.NewServer(srv)
	t.Cleanup(ts.Close)
	rc := &receiver{code: http.StatusNoContent}
	rc.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		rc.mu.Lock()
		rc.got = append(rc.got, received{header: r.Header.Clone(), body: body})
		code := rc.code
		rc.mu.Unlock()
		w.WriteHeader(code)
	}))
	t.Cleanup(rc.Close)
	return webhookFixture{shipFixture: shipFixture{server: ts, router: newShipFixture(t).router, key: key, other: other},
		hooks: hooks, receiver: rc, clock: p.clock}
}

// webhookAnswer is a webhook as the API shows it.
type webhookAnswer struct {
	ID                      string   `json:"id"`
	URL                     string   `json:"url"`
	Events                  []string `json:"events"`
	ContactEmail            string   `json:"contact_email"`
	Secret                  *string  `json:"secret"`
	PreviousSecretExpiresAt *string  `json:"previous_secret_expires_at"`
	Enabled                 bool     `json:"enabled"`
	DisabledAt              *string  `json:"disabled_at"`
	DisabledReason          string   `json:"disabled_reason"`
}

type deliveryAnswer struct {
	ID            string  `json:"id"`
	Event         string  `json:"event"`
	ShipmentID    string  `json:"shipment_id"`
	Sequence      int     `json:"sequence"`
	State         string  `json:"state"`
	Attempts      int     `json:"attempts"`
	ResponseCode  int     `json:"response_code"`
	NextAttemptAt *string `json:"next_attempt_at"`
	DeliveredAt   *string `json:"delivered_at"`
}

// deliveries lists a webhook's deliveries with query.
func (f webhookFixture) deliveries(t *testing.T, id, query string) []deliveryAnswer {
	t.Helper()
	status, _, out := f.do(t, "GET", "/v1/webhooks/"+id+"/deliveries"+query, f.key, nil)
	if status != http.StatusOK {
		t.Fatalf("deliveries%s: %d %s", query, status, out)
	}
	return decode[struct{ Deliveries []deliveryAnswer }](t, out).Deliveries
}

// secretBytes checks a Standard Webhooks secret and returns its key.
func secretBytes(t *testing.T, secret *string) []byte {
	t.Helper()
	if secret == nil || !strings.HasPrefix(*secret, "whsec_") {
		t.Fatalf("secret %v; want whsec_…", secret)
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(*secret, "whsec_"))
	if err != nil || len(b) != 32 {
		t.Fatalf("secret %q: want whsec_ and the base64 of 32 bytes (%v)", *secret, err)
	}
	return b
}

func TestWebhooksHTTP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := newWebhookFixture(t)

	status, header, out := f.do(t, "POST", "/v1/webhooks", f.key, map[string]any{
		"url": f.receiver.URL + "/lokero", "events": []string{"shipment.created", "shipment.cancelled", "shipment.created"},
		"contact_email": "ops@kauppa.fi"})
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, out)
	}
	hook := decode[webhookAnswer](t, out)
	secret := secretBytes(t, hook.Secret)
	if !strings.HasPrefix(hook.ID, "wh_") || header.Get("Location") != "/v1/webhooks/"+hook.ID {
		t.Errorf("id %q, Location %q; want wh_… and /v1/webhooks/{id}", hook.ID, header.Get("Location"))
	}
	if !slices.Equal(hook.Events, []string{"shipment.cancelled", "shipment.created"}) || !hook.Enabled ||
		hook.ContactEmail != "ops@kauppa.fi" || hook.URL != f.receiver.URL+"/lokero" {
		t.Errorf("created %+v; want the events sorted once, enabled, the contact and URL", hook)
	}
	// All events: no events, or an empty list. A minute later, so that
	// the list's order shows.
	f.clock.Advance(time.Minute)
	status, _, out = f.do(t, "POST", "/v1/webhooks", f.key, map[string]any{"url": f.receiver.URL + "/all"})
	all := decode[webhookAnswer](t, out)
	if status != http.StatusCreated || all.Events == nil || len(all.Events) != 0 {
		t.Errorf("a webhook for every event: %d %s; want events []", status, out)
	}
	secretBytes(t, all.Secret)
	if *all.Secret == *hook.Secret {
		t.Error("two webhooks got the same secret")
	}

	// The secret is told once: never listed, never got.
	status, _, out = f.do(t, "GET", "/v1/webhooks", f.key, nil)
	list := decode[struct {
		Webhooks   []map[string]any `json:"webhooks"`
		EventTypes []string         `json:"event_types"`
	}](t, out)
	if status != http.StatusOK || len(list.Webhooks) != 2 || list.Webhooks[0]["id"] != hook.ID || list.Webhooks[1]["id"] != all.ID {
		t.Errorf("list: %d %s; want both, oldest first", status, out)
	}
	if !slices.Equal(list.EventTypes, service.EventTypes) || !slices.Contains(list.EventTypes, "shipment.ready_for_pickup") {
		t.Errorf("event_types %v; want %v", list.EventTypes, service.EventTypes)
	}
	status, _, one := f.do(t, "GET", "/v1/webhooks/"+hook.ID, f.key, nil)
	if status != http.StatusOK || decode[webhookAnswer](t, one).ID != hook.ID {
		t.Errorf("get: %d %s", status, one)
	}
	for what, body := range map[string][]byte{"list": out, "get": one} {
		if strings.Contains(string(body), "whsec_") || strings.Contains(string(body), `"secret"`) {
			t.Errorf("%s shows a secret: %s", what, body)
		}
	}
	if status, _, out := f.do(t, "GET", "/v1/webhooks", f.other, nil); status != http.StatusOK ||
		len(decode[struct{ Webhooks []any }](t, out).Webhooks) != 0 {
		t.Errorf("the other retailer's list: %d %s; want none", status, out)
	}

	// A shipment's event is queued for the webhook in its transaction.
	sh := f.create(t, shipmentBody("HOOK-1"), f.key)
	f.create(t, shipmentBody("NOT-MINE"), f.other) // another retailer's: not A's to hear of
	ds := f.deliveries(t, hook.ID, "")
	if len(ds) != 1 {
		t.Fatalf("deliveries after one booking: %+v; want one", ds)
	}
	d := ds[0]
	if d.Event != "shipment.created" || d.ShipmentID != sh.ID || d.Sequence != 1 || d.State != "pending" || d.Attempts != 0 ||
		!strings.HasPrefix(d.ID, "msg_") || d.DeliveredAt != nil {
		t.Errorf("delivery %+v; want shipment.created of %s, sequence 1, pending, not tried", d, sh.ID)
	}
	if len(f.deliveries(t, all.ID, "?state=pending")) != 1 {
		t.Error("the webhook for every event has no delivery of the booking")
	}

	// Sent (the job's work): the endpoint gets the body signed as the
	// Standard Webhooks library verifies, and the list says so.
	if err := f.hooks.DeliverWebhook(ctx, d.ID, 1); err != nil {
		t.Fatalf("deliver: %v", err)
	}
	got := f.receiver.requests()
	if len(got) != 1 {
		t.Fatalf("the endpoint got %d requests; want 1", len(got))
	}
	verifier, err := standardwebhooks.NewWebhook(*hook.Secret)
	if err != nil {
		t.Fatal(err)
	}
	// The timestamp is the test clock's, not now: the tolerance is not
	// what is tested.
	if err := verifier.VerifyIgnoringTimestamp(got[0].body, got[0].header); err != nil {
		t.Errorf("the signature does not verify with the secret: %v (%v)", err, got[0].header)
	}
	if got[0].header.Get("webhook-id") != d.ID {
		t.Errorf("webhook-id %q; want the delivery's id %s", got[0].header.Get("webhook-id"), d.ID)
	}
	var payload struct {
		Type      string         `json:"type"`
		Timestamp time.Time      `json:"timestamp"`
		Data      map[string]any `json:"data"`
	}
	if err := json.Unmarshal(got[0].body, &payload); err != nil {
		t.Fatalf("payload %s: %v", got[0].body, err)
	}
	if payload.Type != "shipment.created" || payload.Timestamp.IsZero() || payload.Data["shipment_id"] != sh.ID ||
		payload.Data["tracking_code"] != sh.TrackingCode || payload.Data["sequence"] != 1.0 || payload.Data["status"] != "CREATED" ||
		payload.Data["reference"] != "HOOK-1" {
		t.Errorf("payload %s; want shipment.created of %s, sequence 1", got[0].body, sh.ID)
	}
	// The body is as openapi.json documents it (the createWebhook
	// callback's WebhookEvent).
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPIDocument())
	if err != nil {
		t.Fatal(err)
	}
	var raw any
	json.Unmarshal(got[0].body, &raw)
	if err := doc.Components.Schemas["WebhookEvent"].Value.VisitJSON(raw); err != nil {
		t.Errorf("payload %s does not match WebhookEvent: %v", got[0].body, err)
	}
	if strings.Contains(string(got[0].body), "Maija") {
		t.Errorf("the payload has the recipient: %s", got[0].body)
	}
	done := f.deliveries(t, hook.ID, "?state=succeeded&limit=10")
	if len(done) != 1 || done[0].ID != d.ID || done[0].ResponseCode != http.StatusNoContent || done[0].Attempts != 1 || done[0].DeliveredAt == nil {
		t.Errorf("succeeded deliveries %+v; want the one, 204, one attempt", done)
	}
	if left := f.deliveries(t, hook.ID, "?state=pending"); len(left) != 0 {
		t.Errorf("pending after it succeeded: %+v", left)
	}
	if failed := f.deliveries(t, hook.ID, "?state=failed"); len(failed) != 0 {
		t.Errorf("failed: %+v", failed)
	}
	// A failure waits for its retry, with the answer's code.
	f.receiver.mu.Lock()
	f.receiver.code = http.StatusServiceUnavailable
	f.receiver.mu.Unlock()
	pend := f.deliveries(t, all.ID, "")
	if err := f.hooks.DeliverWebhook(ctx, pend[0].ID, 1); err == nil {
		t.Error("a delivery answered 503 reported no error (the job would not retry)")
	}
	retry := f.deliveries(t, all.ID, "?state=pending&limit=1")
	if len(retry) != 1 || retry[0].Attempts != 1 || retry[0].ResponseCode != http.StatusServiceUnavailable || retry[0].NextAttemptAt == nil {
		t.Errorf("a failed try: %+v; want pending, one attempt, 503, a next attempt", retry)
	}

	// state and limit are checked, and so is any other parameter.
	for _, q := range []struct{ query, field string }{
		{"?state=done", "state"}, {"?state=PENDING", "state"}, {"?limit=0", "limit"}, {"?limit=1001", "limit"},
		{"?limit=ten", "limit"}, {"?limit=-1", "limit"}, {"?since=2026-01-01", "since"}, {"?state=pending&state=failed", "state"},
	} {
		status, _, out := f.do(t, "GET", "/v1/webhooks/"+hook.ID+"/deliveries"+q.query, f.key, nil)
		if e := decode[apiError](t, out); status != http.StatusBadRequest || e.Error.Field != q.field || e.Error.Message == "" {
			t.Errorf("deliveries%s: %d %s; want 400 naming %s", q.query, status, out, q.field)
		}
	}

	// PATCH: events, enabled, and nothing else changes.
	status, _, out = f.do(t, "PATCH", "/v1/webhooks/"+hook.ID, f.key, map[string]any{"events": []string{"shipment.ready_for_pickup", "shipment.picked_up"}})
	patched := decode[webhookAnswer](t, out)
	if status != http.StatusOK || !slices.Equal(patched.Events, []string{"shipment.picked_up", "shipment.ready_for_pickup"}) ||
		patched.URL != hook.URL || patched.ContactEmail != hook.ContactEmail || patched.Secret != nil {
		t.Errorf("patch events: %d %s", status, out)
	}
	status, _, out = f.do(t, "PATCH", "/v1/webhooks/"+hook.ID, f.key, map[string]any{"enabled": false})
	patched = decode[webhookAnswer](t, out)
	if status != http.StatusOK || patched.Enabled || patched.DisabledAt == nil || patched.DisabledReason == "" {
		t.Errorf("disable: %d %s; want enabled false with when and why", status, out)
	}
	// A disabled webhook hears of nothing new … until enabled again.
	f.create(t, shipmentBody("WHILE-OFF"), f.key)
	status, _, out = f.do(t, "PATCH", "/v1/webhooks/"+hook.ID, f.key, map[string]any{"enabled": true, "events": []string{}})
	patched = decode[webhookAnswer](t, out)
	if status != http.StatusOK || !patched.Enabled || patched.DisabledAt != nil || len(patched.Events) != 0 {
		t.Errorf("enable with every event: %d %s", status, out)
	}
	if n := len(f.deliveries(t, hook.ID, "")); n != 1 {
		t.Errorf("%d deliveries after a booking while disabled; want still 1", n)
	}
	f.create(t, shipmentBody("AFTER-ON"), f.key)
	if n := len(f.deliveries(t, hook.ID, "")); n != 2 {
		t.Errorf("%d deliveries after a booking enabled again; want 2", n)
	}
	for _, bad := range []struct {
		body  any
		field string
	}{
		{map[string]any{"events": []string{"shipment.created", "shipment.exploded"}}, "events[1]"},
		{map[string]any{"url": "ftp://hooks.example.com/x"}, "url"},
		{map[string]any{"url": ""}, "url"},
		{map[string]any{"contact_email": "not an address"}, "contact_email"},
		{map[string]any{"enabled": "yes"}, "enabled"},
		{map[string]any{"secret": "whsec_mine"}, "secret"},
	} {
		status, _, out := f.do(t, "PATCH", "/v1/webhooks/"+hook.ID, f.key, bad.body)
		if e := decode[apiError](t, out); status != http.StatusBadRequest || e.Error.Field != bad.field {
			t.Errorf("patch %v: %d %s; want 400 naming %s", bad.body, status, out, bad.field)
		}
	}

	// Rotation: a new secret, told once, the old one still signing for
	// the overlap asked for (a day by default).
	now := f.clock.Now()
	status, _, out = f.do(t, "POST", "/v1/webhooks/"+hook.ID+"/rotate-secret", f.key, map[string]any{"overlap_seconds": 3600})
	rotated := decode[webhookAnswer](t, out)
	if status != http.StatusOK {
		t.Fatalf("rotate: %d %s", status, out)
	}
	if b := secretBytes(t, rotated.Secret); string(b) == string(secret) {
		t.Error("the rotated secret is the old one")
	}
	if rotated.PreviousSecretExpiresAt == nil || *rotated.PreviousSecretExpiresAt != now.Add(time.Hour).Format(time.RFC3339) {
		t.Errorf("previous_secret_expires_at %v; want %s", rotated.PreviousSecretExpiresAt, now.Add(time.Hour).Format(time.RFC3339))
	}
	status, _, out = f.do(t, "POST", "/v1/webhooks/"+hook.ID+"/rotate-secret", f.key, nil)
	again := decode[webhookAnswer](t, out)
	if status != http.StatusOK || again.Secret == nil || *again.Secret == *rotated.Secret ||
		again.PreviousSecretExpiresAt == nil || *again.PreviousSecretExpiresAt != now.Add(24*time.Hour).Format(time.RFC3339) {
		t.Errorf("rotate without a body: %d %s; want a new secret, the old one for a day", status, out)
	}
	if status, _, out := f.do(t, "GET", "/v1/webhooks/"+hook.ID, f.key, nil); status != http.StatusOK ||
		strings.Contains(string(out), "whsec_") || decode[webhookAnswer](t, out).PreviousSecretExpiresAt == nil {
		t.Errorf("get after rotation: %d %s; want the overlap's end, no secret", status, out)
	}
	for _, body := range []string{`{"overlap_seconds":-1}`, `{"overlap_seconds":604801}`, `{"overlap_seconds":"1h"}`,
		`{"overlap_seconds":1.5}`, `{"overlap_seconds":1e400}`} {
		status, _, out := f.do(t, "POST", "/v1/webhooks/"+hook.ID+"/rotate-secret", f.key, body)
		if e := decode[apiError](t, out); status != http.StatusBadRequest || e.Error.Field != "overlap_seconds" || e.Error.Message == "" {
			t.Errorf("rotate %s: %d %s; want 400 naming overlap_seconds", body, status, out)
		}
	}
	if status, _, out := f.do(t, "POST", "/v1/webhooks/"+hook.ID+"/rotate-secret", f.key, `{"overlap":60}`); status != http.StatusBadRequest ||
		decode[apiError](t, out).Error.Field != "overlap" {
		t.Errorf("rotate with an unknown field: %d %s; want 400 naming it", status, out)
	}

	// Delete: once.
	if status, _, out := f.do(t, "DELETE", "/v1/webhooks/"+all.ID, f.key, nil); status != http.StatusNoContent || len(out) != 0 {
		t.Errorf("delete: %d %q; want 204", status, out)
	}
	for _, r := range [][2]string{{"GET", ""}, {"DELETE", ""}, {"PATCH", ""}, {"GET", "/deliveries"}} {
		if status, _, out := f.do(t, r[0], "/v1/webhooks/"+all.ID+r[1], f.key, `{"enabled":true}`); status != http.StatusNotFound {
			t.Errorf("%s a deleted webhook%s: %d %s; want 404", r[0], r[1], status, out)
		}
	}
	if status, _, out := f.do(t, "GET", "/v1/webhooks", f.key, nil); len(decode[struct{ Webhooks []any }](t, out).Webhooks) != 1 {
		t.Errorf("list after delete: %d %s; want one", status, out)
	}
}

// TestWebhookCreateInvalid: every field is checked and named.
func TestWebhookCreateInvalid(t *testing.T) {
	t.Parallel()
	f := newWebhookFixture(t)
	tests := []struct {
		body  string
		field string
	}{
		{`{}`, "url"},
		{`{"url":""}`, "url"},
		{`{"url":"hooks.example.com/x"}`, "url"},
		{`{"url":"ftp://hooks.example.com/x"}`, "url"},
		{`{"url":"https://user:pw@hooks.example.com/x"}`, "url"},
		{`{"url":"https://hooks.example.com/x#frag"}`, "url"},
		{`{"url":"https://hooks.example.com/x y"}`, "url"},
		{`{"url":"https://hooks.example.com/` + strings.Repeat("x", 3000) + `"}`, "url"},
		{`{"url":42}`, "url"},
		{`{"url":"https://hooks.example.com/x","events":["shipment.created","SHIPMENT.CREATED"]}`, "events[1]"},
		{`{"url":"https://hooks.example.com/x","events":"shipment.created"}`, "events"},
		{`{"url":"https://hooks.example.com/x","contact_email":"Ops <ops@kauppa.fi>"}`, "contact_email"},
		{`{"url":"https://hooks.example.com/x","contact_email":"nobody"}`, "contact_email"},
		{`{"url":"https://hooks.example.com/x","secret":"whsec_mine"}`, "secret"},
		{`{"url":"https://hooks.example.com/x","URL":"https://hooks.example.com/y"}`, "URL"},
	}
	for _, tt := range tests {
		status, _, out := f.do(t, "POST", "/v1/webhooks", f.key, tt.body)
		if e := decode[apiError](t, out); status != http.StatusBadRequest || e.Error.Field != tt.field || e.Error.Message == "" {
			t.Errorf("%.80s: %d %s; want 400 naming %s", tt.body, status, out, tt.field)
		}
	}
	if status, _, out := f.do(t, "GET", "/v1/webhooks", f.key, nil); len(decode[struct{ Webhooks []any }](t, out).Webhooks) != 0 {
		t.Errorf("refused webhooks were made: %d %s", status, out)
	}
	// At most service.MaxWebhooks each.
	for i := range service.MaxWebhooks {
		if status, _, out := f.do(t, "POST", "/v1/webhooks", f.key, map[string]any{"url": "https://hooks.example.com/" + string(rune('a'+i))}); status != http.StatusCreated {
			t.Fatalf("webhook %d: %d %s", i+1, status, out)
		}
	}
	status, _, out := f.do(t, "POST", "/v1/webhooks", f.key, map[string]any{"url": "https://hooks.example.com/z"})
	if status != http.StatusConflict || decode[apiError](t, out).Error.Code != "too_many_webhooks" {
		t.Errorf("webhook %d: %d %s; want 409 too_many_webhooks", service.MaxWebhooks+1, status, out)
	}
}

// TestWebhooksAreTheRetailers: without an API key every route answers
// 401; another retailer's webhook is not found, whatever the route, and
// stays as it was.
func TestWebhooksAreTheRetailers(t *testing.T) {
	t.Parallel()
	f := newWebhookFixture(t)
	status, _, out := f.do(t, "POST", "/v1/webhooks", f.key, map[string]any{"url": "https://hooks.example.com/a"})
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, out)
	}
	id := decode[webhookAnswer](t, out).ID
	routes := []struct{ method, path, body string }{
		{"GET", "/v1/webhooks/" + id, ""},
		{"PATCH", "/v1/webhooks/" + id, `{"enabled":false}`},
		{"POST", "/v1/webhooks/" + id + "/rotate-secret", `{"overlap_seconds":60}`},
		{"GET", "/v1/webhooks/" + id + "/deliveries", ""},
		{"DELETE", "/v1/webhooks/" + id, ""},
	}
	for _, r := range append(routes, struct{ method, path, body string }{"GET", "/v1/webhooks", ""},
		struct{ method, path, body string }{"POST", "/v1/webhooks", `{"url":"https://hooks.example.com/b"}`}) {
		for _, key := range []string{"", "lkr_not-a-key"} {
			status, header, out := f.do(t, r.method, r.path, key, r.body)
			if status != http.StatusUnauthorized || !strings.HasPrefix(header.Get("WWW-Authenticate"), "Bearer") || decode[apiError](t, out).Error.Message == "" {
				t.Errorf("%s %s with key %q: %d %s; want 401 with WWW-Authenticate", r.method, r.path, key, status, out)
			}
		}
	}
	for _, r := range routes {
		status, _, out := f.do(t, r.method, r.path, f.other, r.body)
		if status != http.StatusNotFound || decode[apiError](t, out).Error.Code != "unknown_webhook" {
			t.Errorf("%s %s as another retailer: %d %s; want 404 unknown_webhook", r.method, r.path, status, out)
		}
	}
	status, _, out = f.do(t, "GET", "/v1/webhooks/"+id, f.key, nil)
	if h := decode[webhookAnswer](t, out); status != http.StatusOK || !h.Enabled || h.PreviousSecretExpiresAt != nil {
		t.Errorf("after the other retailer's tries: %d %s; want it enabled, never rotated", status, out)
	}
}
