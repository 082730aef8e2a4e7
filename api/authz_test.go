package api_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/api"
	"github.com/lokero/lokero/demo"
	"github.com/lokero/lokero/notify/webhook"
	"github.com/lokero/lokero/notify/webpush"
	"github.com/lokero/lokero/notify/webpush/webpushtest"
	"github.com/lokero/lokero/service"
)

// who is one of the identities the authorisation matrix asks as.
type who int

const (
	anonymous  who = iota // no Authorization header
	retailerA             // a retailer: A owns the shipments the rows name
	retailerB             // another retailer, who must not see A's
	courier               // a courier's token
	operator              // an operator's token
	deviceX               // the device of locker X (the demo SMARTPOST, with a payment terminal)
	deviceY               // the device of locker Y (the demo building's LOCKER)
	clerkP                // a clerk of the post office P the matrix's parcels go to
	clerkQ                // a clerk of another post office
	identities            // how many there are
)

func (w who) String() string {
	return [...]string{"anonymous", "retailer A", "retailer B", "courier", "operator", "device of X", "device of Y", "clerk of P", "clerk of Q"}[w]
}

// expect is a row's expected status for each identity, in the order of
// the who constants.
type expect [identities]int

// everyone answers the same to every identity.
func everyone(status int) expect {
	var e expect
	for i := range e {
		e[i] = status
	}
	return e
}

// authzRow is one route of the router and what each identity gets from a
// request that is valid apart from the identity. In path and body, $name
// (or $name.field) stands for a fixture value (probe.value): a shipment,
// a locker, a code; $fresh is a new shipment of A for each cell.
type authzRow struct {
	route string // the router's pattern, as Routes lists it
	path  string
	body  string // JSON, or "" for none
	want  expect
}

// authzTable is the authorisation matrix: every route × every identity,
// each row's expected statuses in the order anonymous, retailer A,
// retailer B, courier, operator, device of X, device of Y, clerk of P,
// clerk of Q.
// 401: no credential, or one of the wrong kind (a retailer's key where a
// courier's token is needed); 403: a device of another locker, a clerk
// of another outlet; 404: a
// retailer asking about another retailer's shipment (existence is
// private). The allowed identity gets a 2xx, or a 409 where the fixture's
// shipment is in a state the call refuses (which shows the identity got
// past authorisation).
var authzTable = []authzRow{
	{"GET /healthz", "/healthz", "", everyone(200)},
	{"GET /metrics", "/metrics", "", everyone(200)},
	{"GET /openapi.json", "/openapi.json", "", everyone(200)},
	{"GET /v1/postcodes/{code}", "/v1/postcodes/00100", "", everyone(200)},
	{"GET /v1/places", "/v1/places?q=helsinki", "", everyone(200)},
	{"GET /v1/locations", "/v1/locations?postcode=00100&limit=3", "", everyone(200)},
	{"GET /v1/locations/{id}", "/v1/locations/$X", "", everyone(200)},
	{"GET /v1/statuses", "/v1/statuses", "", everyone(200)},
	{"GET /v1/map", "/v1/map", "", everyone(200)},
	{"GET /api/2/location", "/api/2/location?zipCode=00100&top=3", "", everyone(200)},
	{"GET /api/2/location/{$}", "/api/2/location/?zipCode=00100&top=3", "", everyone(200)},
	{"GET /api/2/location/{id}", "/api/2/location/$X", "", everyone(200)},
	{"GET /location", "/location?zipCode=00100&top=3", "", everyone(200)},
	{"GET /location/{$}", "/location/?zipCode=00100&top=3", "", everyone(200)},
	{"GET /location/{id}", "/location/$X", "", everyone(200)},
	{"GET /api/2/openapi.json", "/api/2/openapi.json", "", everyone(200)},

	{"POST /v1/shipments", "/v1/shipments", bookingJSON, expect{401, 201, 201, 401, 401, 401, 401, 401, 401}},
	{"GET /v1/shipments", "/v1/shipments?limit=5", "", expect{401, 200, 200, 401, 401, 401, 401, 401, 401}},
	{"GET /v1/shipments/{id}", "/v1/shipments/$created", "", expect{401, 200, 404, 401, 401, 401, 401, 401, 401}},
	{"GET /v1/shipments/{id}/label.pdf", "/v1/shipments/$created/label.pdf", "", expect{401, 200, 404, 401, 401, 401, 401, 401, 401}},
	{"POST /v1/shipments/{id}/cancel", "/v1/shipments/$fresh/cancel", "", expect{401, 200, 404, 401, 401, 401, 401, 401, 401}},
	{"POST /v1/shipments/{id}/handover", "/v1/shipments/$fresh/handover", "", expect{401, 200, 404, 200, 401, 401, 401, 401, 401}},
	{"POST /v1/shipments/{id}/returned", "/v1/shipments/$created/returned", "", expect{401, 409, 404, 409, 401, 401, 401, 401, 401}},
	{"GET /v1/tracking/{code}", "/v1/tracking/$created.tracking", "", everyone(200)},
	{"POST /v1/tracking/{code}/notice", "/v1/tracking/$created.tracking/notice", `{"postcode":"$created.postcode"}`, everyone(404)}, // not ready yet
	{"POST /v1/returns", "/v1/returns", `{"tracking_code":"$created.tracking","postcode":"$created.postcode"}`, everyone(200)},
	{"POST /v1/returns/label.pdf", "/v1/returns/label.pdf", `{"tracking_code":"$created.tracking","postcode":"$created.postcode"}`, everyone(200)},
	{"POST /v1/prepaid", "/v1/prepaid", prepaidJSON, expect{401, 201, 201, 401, 401, 401, 401, 401, 401}},

	{"POST /v1/lockers/{location_id}/deposits", "/v1/lockers/$X/deposits", `{"tracking_code":"$transitX.tracking"}`, expect{401, 401, 401, 200, 401, 401, 401, 401, 401}},
	{"POST /v1/devices/{location_id}/events", "/v1/devices/$X/events", `{"type":"letter_dropped","count":1}`, expect{401, 401, 401, 401, 401, 200, 403, 401, 401}},
	{"POST /v1/devices/{location_id}/keypad", "/v1/devices/$X/keypad", `{"code":"$codeX"}`, expect{401, 401, 401, 401, 401, 200, 403, 401, 401}},
	{"POST /v1/devices/{location_id}/payments", "/v1/devices/$X/payments", `{"compartment":$codX.compartment,"amount_cents":$codX.amount,"terminal_ref":"T-1"}`, expect{401, 401, 401, 401, 401, 200, 403, 401, 401}},
	{"GET /v1/cod/settlements", "/v1/cod/settlements?date=2026-11-25", "", expect{401, 401, 401, 401, 200, 401, 401, 401, 401}},
	{"GET /v1/lockers/{location_id}", "/v1/lockers/$X", "", expect{401, 401, 401, 401, 200, 401, 401, 401, 401}},
	{"GET /v1/devices", "/v1/devices", "", expect{401, 401, 401, 401, 200, 401, 401, 401, 401}},
	{"GET /v1/lockers/{location_id}/collections", "/v1/lockers/$X/collections", "", expect{401, 401, 401, 200, 200, 401, 401, 401, 401}},
	{"GET /v1/network", "/v1/network", "", expect{401, 401, 401, 401, 200, 401, 401, 401, 401}},
	{"GET /v1/network/occupancy", "/v1/network/occupancy?days=2", "", expect{401, 401, 401, 401, 200, 401, 401, 401, 401}},
	{"POST /v1/lockers/{location_id}/collections", "/v1/lockers/$X/collections", `{"tracking_code":"$droppedX.tracking"}`, expect{401, 401, 401, 200, 401, 401, 401, 401, 401}},
	{"POST /v1/lockers/{location_id}/compartments/{n}/out-of-order", "/v1/lockers/$X/compartments/$spareX/out-of-order", "", expect{401, 401, 401, 401, 200, 401, 401, 401, 401}},
	{"DELETE /v1/lockers/{location_id}/compartments/{n}/out-of-order", "/v1/lockers/$X/compartments/$spareX/out-of-order", "", expect{401, 401, 401, 401, 200, 401, 401, 401, 401}},
	{"POST /v1/shipments/{id}/notice", "/v1/shipments/$readyY/notice", "", expect{401, 200, 404, 401, 200, 401, 401, 401, 401}},
	{"PATCH /v1/locations/{id}", "/v1/locations/$patch", `{"wheelchair_access":$patch.wheelchair}`, expect{401, 401, 401, 401, 200, 401, 401, 401, 401}},
	{"GET /v1/locations/{id}/events", "/v1/locations/$X/events", "", expect{401, 401, 401, 401, 200, 401, 401, 401, 401}},
	{"GET /v1/locations/{id}/stranded", "/v1/locations/$X/stranded", "", expect{401, 401, 401, 401, 200, 401, 401, 401, 401}},
	{"GET /v1/stranded", "/v1/stranded", "", expect{401, 401, 401, 401, 200, 401, 401, 401, 401}},
	{"POST /v1/shipments/{id}/opening-code/rotate", "/v1/shipments/$readyX/opening-code/rotate", "", expect{401, 401, 401, 401, 200, 401, 401, 401, 401}},

	{"POST /v1/outlets/{location_id}/arrivals", "/v1/outlets/$postOffice/arrivals", `{"tracking_code":"$transitP.tracking"}`, expect{401, 401, 401, 401, 401, 401, 401, 200, 403}},
	{"POST /v1/outlets/{location_id}/pickups", "/v1/outlets/$postOffice/pickups", `{"tracking_code":"$arrivedP.tracking","identity_checked":true}`, expect{401, 401, 401, 401, 401, 401, 401, 200, 403}},
	{"POST /v1/outlets/{location_id}/dropoffs", "/v1/outlets/$postOffice/dropoffs", `{"code":"$prepaidP.code"}`, expect{401, 401, 401, 401, 401, 401, 401, 200, 403}},
	{"GET /v1/outlets/{location_id}/collections", "/v1/outlets/$postOffice/collections", "", expect{401, 401, 401, 200, 401, 401, 401, 401, 401}},
	{"POST /v1/outlets/{location_id}/collections", "/v1/outlets/$postOffice/collections", `{"tracking_code":"$droppedP.tracking"}`, expect{401, 401, 401, 200, 401, 401, 401, 401, 401}},
	{"GET /v1/outlets/{location_id}", "/v1/outlets/$postOffice", "", expect{401, 401, 401, 401, 200, 401, 401, 200, 403}},

	{"GET /v1/credentials", "/v1/credentials", "", expect{401, 401, 401, 401, 200, 401, 401, 401, 401}},
	{"POST /v1/credentials/{id}/revoke", "/v1/credentials/$spare1/revoke", `{}`, expect{401, 401, 401, 401, 200, 401, 401, 401, 401}},
	{"POST /v1/credentials/{id}/rotate", "/v1/credentials/$spare2/rotate", `{}`, expect{401, 401, 401, 401, 200, 401, 401, 401, 401}},
	{"GET /v1/notifications", "/v1/notifications?state=queued&limit=5", "", expect{401, 401, 401, 401, 200, 401, 401, 401, 401}},
	{"GET /v1/sms/dlr", "$dlr", "", everyone(200)},  // the gateway's report at lokero's signed URL: whoever brings it
	{"GET /q/{link}", "/q/$qrY", "", everyone(200)}, // the QR page of a notice of arrival: the link is the secret

	{"GET /v1/push-subscriptions/public-key", "/v1/push-subscriptions/public-key", "", everyone(200)},
	{"POST /v1/push-subscriptions", "/v1/push-subscriptions", subscribeJSON, everyone(201)},       // proven by postcode: whoever knows it
	{"DELETE /v1/push-subscriptions/{id}", "/v1/push-subscriptions/$freshSub", "", everyone(204)}, // the id is the secret
	{"POST /v1/webhooks", "/v1/webhooks", webhookJSON, expect{401, 201, 201, 401, 401, 401, 401, 401, 401}},
	{"GET /v1/webhooks", "/v1/webhooks", "", expect{401, 200, 200, 401, 401, 401, 401, 401, 401}},
	{"GET /v1/webhooks/{id}", "/v1/webhooks/$hookA", "", expect{401, 200, 404, 401, 401, 401, 401, 401, 401}},
	{"PATCH /v1/webhooks/{id}", "/v1/webhooks/$hookA", `{"events":["shipment.ready_for_pickup"],"enabled":true}`, expect{401, 200, 404, 401, 401, 401, 401, 401, 401}},
	{"DELETE /v1/webhooks/{id}", "/v1/webhooks/$doomedHook", "", expect{401, 204, 404, 401, 401, 401, 401, 401, 401}},
	{"POST /v1/webhooks/{id}/rotate-secret", "/v1/webhooks/$hookA/rotate-secret", `{"overlap_seconds":3600}`, expect{401, 200, 404, 401, 401, 401, 401, 401, 401}},
	{"GET /v1/webhooks/{id}/deliveries", "/v1/webhooks/$hookA/deliveries?state=pending&limit=5", "", expect{401, 200, 404, 401, 401, 401, 401, 401, 401}},
	{"POST /v1/session", "/v1/session", `{"token":"$operatorToken"}`, everyone(200)}, // the token in the body signs in, whoever sends it
	{"GET /v1/session", "/v1/session", "", expect{401, 401, 401, 401, 200, 401, 401, 200, 200}},
	{"DELETE /v1/session", "/v1/session", "", everyone(204)}, // forgets the cookie, if any
	{"GET /dev/outbox", "/dev/outbox?limit=5", "", expect{401, 401, 401, 401, 200, 401, 401, 401, 401}},
	{"POST /v1/admin/clock", "/v1/admin/clock", `{"advance":"1s"}`, expect{401, 401, 401, 401, 200, 401, 401, 401, 401}},
}

// bookingJSON is a parcel of retailer A or B to a post office (no locker
// compartment, so bookings never run into a locker's share).
const bookingJSON = `{"reference":"MATRIX","pickup_point_id":"$postOffice",
	"sender":{"name":"Kauppa","street":"Tyynenmerenkatu 11","postcode":"00220","city":"Helsinki"},
	"recipient":{"name":"Matti Matriisi","street":"Fredrikinkatu 1","postcode":"00120","city":"Helsinki","phone":"0409990009"},
	"parcel":{"length_cm":30,"width_cm":20,"height_cm":10,"weight_kg":1,"contents":"goods"}}`

// subscribeJSON is a browser's push subscription (webpushtest's) for A's
// parcel, proven with the recipient's postcode (TestPushSubscribeHTTP
// sends the browser's expirationTime too).
const subscribeJSON = `{"tracking_code":"$created.tracking","postcode":"$created.postcode","language":"fi",
	"subscription":{"endpoint":"$sub.endpoint","keys":{"p256dh":"$sub.key","auth":"$sub.auth"}}}`

// webhookJSON is a retailer's webhook for two event types.
const webhookJSON = `{"url":"https://hooks.example.com/lokero","events":["shipment.created","shipment.ready_for_pickup"],
	"contact_email":"ops@example.com"}`

// prepaidJSON is a pre-paid parcel to somebody in Tampere.
const prepaidJSON = `{"sender":{"name":"Maija","street":"Aleksanterinkatu 1","postcode":"00100","city":"Helsinki"},
	"recipient":{"name":"Mummo","street":"Hämeenkatu 1","postcode":"33100","city":"Tampere","phone":"0401234567"},"size":"S"}`

// Retailer A's recipient, whom only some may see (leaks).
const (
	secretName  = "Aino Salainen"
	secretPhone = "0409990001"
)

// TestAuthorizationMatrix sends every route of the router a request as
// each identity and checks the status: the table must name exactly the
// routes the server serves, so that a new endpoint without a row fails
// here. Every refusal is JSON, a 401 says how to authenticate, and no
// answer to another identity carries retailer A's customer's data.
func TestAuthorizationMatrix(t *testing.T) {
	t.Parallel()
	p := newProbe(t)

	routes := p.srv.Routes()
	rows := map[string]bool{}
	for _, row := range authzTable {
		if rows[row.route] {
			t.Errorf("route %q has two rows", row.route)
		}
		rows[row.route] = true
		if !slices.Contains(routes, row.route) {
			t.Errorf("row %q names a route the server does not serve", row.route)
		}
	}
	for _, route := range routes {
		if !rows[route] {
			t.Errorf("route %q has no row in the authorisation matrix: add one", route)
		}
	}

	cells := 0
	for i, row := range authzTable {
		if !slices.Contains(routes, row.route) {
			continue
		}
		method, _, _ := strings.Cut(row.route, " ")
		// The refused first, while the fixture is as the allowed need it:
		// a refusal that slipped through would then show as a success.
		order := make([]who, 0, identities)
		for w := range identities {
			if row.want[w] >= 300 {
				order = append(order, w)
			}
		}
		for w := range identities {
			if row.want[w] < 300 {
				order = append(order, w)
			}
		}
		// Each row from a client address of its own: the per-address
		// limits (returns, push subscriptions) allow a row's nine cells,
		// not the whole matrix's.
		addr := fmt.Sprintf("192.0.2.%d:1234", i%250+1)
		for _, w := range order {
			cell := map[string]string{}
			path, body := p.fill(t, row.path, cell), p.fill(t, row.body, cell)
			status, header, out := p.doFrom(addr, method, path, p.token[w], body)
			cells++
			if status != row.want[w] {
				t.Errorf("%s as %s (%s %s): %d %.300s; want %d", row.route, w, method, path, status, out, row.want[w])
			}
			if status >= 400 && !json.Valid(out) {
				t.Errorf("%s as %s: %d answered with a body that is not JSON: %.200q", row.route, w, status, out)
			}
			if status == http.StatusUnauthorized && !strings.HasPrefix(header.Get("WWW-Authenticate"), "Bearer") {
				t.Errorf("%s as %s: 401 without WWW-Authenticate: Bearer", row.route, w)
			}
			if leaks(w, out) {
				t.Errorf("%s as %s: the answer shows retailer A's customer: %.300s", row.route, w, out)
			}
		}
	}
	t.Logf("authorisation matrix: %d routes × %d identities, %d cells checked", len(authzTable), identities, cells)
}

// leaks reports whether an answer to w shows retailer A's customer though
// w has no business seeing them: anyone but A, an operator (who reads the
// outbox), a courier (who carries the parcel, its label printed with
// the recipient) and the clerk of the outlet it waits at (who compares
// the name with the recipient's ID).
func leaks(w who, out []byte) bool {
	if w == retailerA || w == operator || w == courier || w == clerkP {
		return false
	}
	// The phone without its trunk 0: stored as +358409990001.
	return bytes.Contains(out, []byte(secretName)) || bytes.Contains(out, []byte(secretPhone[1:]))
}

// probe is the whole API over a fresh SQLite database with the demo
// network: shipments, lockers, the development aids, two retailers, a
// courier, an operator and the devices of two lockers.
type probe struct {
	srv     *api.Server
	db      *sql.DB
	dir     *service.Directory
	lockers *service.Lockers
	push    *webpushtest.Server // the push service of the matrix's subscriptions
	token   [identities]string
	spare   [2]string // credential IDs for the operator to revoke and rotate

	cache map[string]map[string]string // fixture values by name, then field
}

// The lockers of the matrix.
const (
	lockerX = demo.DemoSmartpostID // a public SMARTPOST with a payment terminal
	lockerY = demo.DemoLockerID    // the demo building's LOCKER
)

func newProbe(t *testing.T) *probe {
	t.Helper()
	ctx := context.Background()
	plat := newDemoPlatform(t)
	st, dir, clock, log := plat.st, plat.dir, plat.clock, plat.log
	shipments, lockers := plat.shipments, plat.lockers
	// Every shipment event is queued for the retailer's webhooks in its
	// transaction, as serve wires it; nothing here sends them.
	hooks := service.NewWebhooks(st, clock, nil, nil, webhook.NextRetry, func(raw string) error { return webhook.ValidateURL(raw, false) }, log)
	st.SetEventHook(hooks.Publish)
	pushKeys, err := webpush.GenerateKeys(nil)
	if err != nil {
		t.Fatal(err)
	}
	p := &probe{db: st.SQL(), dir: dir, lockers: lockers, push: webpushtest.NewServer(t), cache: map[string]map[string]string{}}
	must := func(_ any, token string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return token
	}
	p.token[retailerA] = must(shipments.AddRetailer(ctx, "Kauppa A", true))
	p.token[retailerB] = must(shipments.AddRetailer(ctx, "Kauppa B", false))
	p.token[courier] = must(lockers.AddCredential(ctx, lokero.KindCourier, "Kuski", ""))
	p.token[operator] = must(lockers.AddCredential(ctx, lokero.KindOperator, "Olli", ""))
	p.token[deviceX] = must(lockers.AddCredential(ctx, lokero.KindDevice, "X", lockerX))
	p.token[deviceY] = must(lockers.AddCredential(ctx, lokero.KindDevice, "Y", lockerY))
	for i := range p.spare {
		c, _, err := lockers.AddCredential(ctx, lokero.KindCourier, fmt.Sprintf("Varakuski %d", i+1), "")
		if err != nil {
			t.Fatal(err)
		}
		p.spare[i] = c.ID
	}
	lockers.SetQRKey(ed25519.NewKeyFromSeed(bytes.Repeat([]byte{3}, ed25519.SeedSize)))
	p.srv = api.New(dir, st, log)
	p.srv.EnableShipments(shipments)
	// webpushtest's endpoints are http on loopback: allowed as under --dev.
	p.srv.EnableLockers(lockers, api.LockerOptions{DevOutbox: true, DevClock: clock,
		Push: api.PushOptions{PublicKey: pushKeys.PublicKey(), AllowInsecure: true}})
	p.srv.EnableWebhooks(hooks)
	if err := p.srv.EnableSessions(bytes.Repeat([]byte{7}, 32)); err != nil {
		t.Fatal(err)
	}
	p.srv.SetReady(true)
	p.token[clerkP] = must(lockers.AddCredential(ctx, lokero.KindClerk, "Kaisa", p.postOffice(t)))
	p.token[clerkQ] = must(lockers.AddCredential(ctx, lokero.KindClerk, "Kalle", "POSTOFFICE-33100"))
	return p
}

// do serves one request in-process and returns the answer.
func (p *probe) do(method, target, token, body string, headers ...string) (int, http.Header, []byte) {
	return p.doFrom("", method, target, token, body, headers...)
}

// doFrom is do from the client address addr ("": httptest's).
func (p *probe) doFrom(addr, method, target, token, body string, headers ...string) (int, http.Header, []byte) {
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, target, r)
	if addr != "" {
		req.RemoteAddr = addr
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	rec := httptest.NewRecorder()
	p.srv.ServeHTTP(rec, req)
	return rec.Code, rec.Header(), rec.Body.Bytes()
}

// call is do that insists on a status and decodes the answer.
func (p *probe) call(t *testing.T, want int, method, target string, w who, body any) map[string]any {
	t.Helper()
	raw := ""
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		raw = string(b)
	}
	status, _, out := p.do(method, target, p.token[w], raw)
	if status != want {
		t.Fatalf("fixture: %s %s as %s: %d %.400s; want %d", method, target, w, status, out, want)
	}
	var v map[string]any
	json.Unmarshal(out, &v)
	return v
}

var placeholder = regexp.MustCompile(`\$[A-Za-z0-9]+(\.[a-z]+)?`)

// fill replaces the $placeholders of s; cell holds the values made for
// this cell alone ($fresh).
func (p *probe) fill(t *testing.T, s string, cell map[string]string) string {
	t.Helper()
	return placeholder.ReplaceAllStringFunc(s, func(m string) string {
		name, field, _ := strings.Cut(m[1:], ".")
		switch name {
		case "fresh":
			if cell["fresh"] == "" {
				cell["fresh"] = p.book(t, retailerA, p.postOfficeBody(t, "FRESH", "S"))["id"].(string)
			}
			return cell["fresh"]
		case "freshSub": // a push subscription to A's $created parcel
			if cell["freshSub"] == "" {
				cell["freshSub"] = p.subscribe(t)
			}
			return cell["freshSub"]
		}
		return p.value(t, name, field)
	})
}

// value returns a fixture value, making it on first use.
func (p *probe) value(t *testing.T, name, field string) string {
	t.Helper()
	v, ok := p.cache[name]
	if !ok {
		v = p.make(t, name)
		p.cache[name] = v
	}
	out, ok := v[field]
	if !ok {
		t.Fatalf("fixture value $%s has no field %q", name, field)
	}
	return out
}

// make builds the fixture value called name.
func (p *probe) make(t *testing.T, name string) map[string]string {
	t.Helper()
	switch name {
	case "X":
		return map[string]string{"": lockerX}
	case "operatorToken": // signs in at a page: the token is in the body, whoever asks
		return map[string]string{"": p.token[operator]}
	case "Y":
		return map[string]string{"": lockerY}
	case "postOffice":
		return map[string]string{"": p.postOffice(t)}
	case "created": // A's shipment to a post office, booked with a return code
		body := p.postOfficeBody(t, "CREATED", "S")
		body["return_code"] = true
		sh := p.book(t, retailerA, body)
		return map[string]string{"": sh["id"].(string), "tracking": sh["tracking_code"].(string), "postcode": "00120"}
	case "transitX": // A's parcel for X, handed over, not deposited
		sh := p.book(t, retailerA, p.lockerXBody("TRANSIT-X", "M", nil))
		p.call(t, 200, "POST", "/v1/shipments/"+sh["id"].(string)+"/handover", courier, nil)
		return map[string]string{"": sh["id"].(string), "tracking": sh["tracking_code"].(string)}
	case "readyX": // A's parcel ready for pickup at X
		r := p.ready(t, retailerA, p.lockerXBody("READY-X", "S", nil), lockerX, deviceX)
		return map[string]string{"": r.id}
	case "readyY": // A's parcel ready for pickup at Y
		r := p.ready(t, retailerA, p.lockerYBody("READY-Y"), lockerY, deviceY)
		return map[string]string{"": r.id}
	case "qrY": // the QR link of A's parcel ready at Y
		link, _, err := p.lockers.QRLinkOf(context.Background(), p.value(t, "readyY", ""))
		if err != nil {
			t.Fatalf("fixture: the QR link: %v", err)
		}
		return map[string]string{"": link}
	case "codeX": // the opening code of B's parcel ready at X
		r := p.ready(t, retailerB, p.lockerXBody("CODE-X", "S", nil), lockerX, deviceX)
		return map[string]string{"": r.code}
	case "codX": // B's COD parcel ready at X, its code just entered at X's keypad
		r := p.ready(t, retailerB, p.lockerXBody("COD-X", "M", map[string]any{"amount_cents": 2590, "currency": "EUR"}), lockerX, deviceX)
		kp := p.call(t, 200, "POST", "/v1/devices/"+lockerX+"/keypad", deviceX, map[string]string{"code": r.code})
		if kp["result"] != "payment_required" {
			t.Fatalf("fixture: the COD parcel's code at the keypad: %v; want payment_required", kp)
		}
		return map[string]string{"compartment": strconv.Itoa(r.compartment), "amount": "2590"}
	case "droppedX": // A's pre-paid parcel dropped off at X
		body := map[string]any{}
		json.Unmarshal([]byte(p.fill(t, prepaidJSON, nil)), &body)
		body["reference"] = "DROPPED-X"
		pp := p.call(t, 201, "POST", "/v1/prepaid", retailerA, body)
		kp := p.call(t, 200, "POST", "/v1/devices/"+lockerX+"/keypad", deviceX, map[string]string{"code": pp["dropoff_code"].(string)})
		p.call(t, 200, "POST", "/v1/devices/"+lockerX+"/events", deviceX, map[string]any{"type": "door_closed", "compartment": kp["compartment"]})
		return map[string]string{"": pp["id"].(string), "tracking": pp["tracking_code"].(string)}
	case "transitP": // A's parcel for the post office P, handed over
		sh := p.book(t, retailerA, p.postOfficeBody(t, "TRANSIT-P", "S"))
		p.call(t, 200, "POST", "/v1/shipments/"+sh["id"].(string)+"/handover", courier, nil)
		return map[string]string{"": sh["id"].(string), "tracking": sh["tracking_code"].(string)}
	case "arrivedP": // A's parcel on P's shelf, ready for pickup
		sh := p.book(t, retailerA, p.postOfficeBody(t, "ARRIVED-P", "S"))
		p.call(t, 200, "POST", "/v1/shipments/"+sh["id"].(string)+"/handover", courier, nil)
		p.call(t, 200, "POST", "/v1/outlets/"+p.value(t, "postOffice", "")+"/arrivals", clerkP, map[string]string{"tracking_code": sh["tracking_code"].(string)})
		return map[string]string{"": sh["id"].(string), "tracking": sh["tracking_code"].(string)}
	case "prepaidP", "droppedP": // A's pre-paid parcel; dropped off at P's counter
		body := map[string]any{}
		json.Unmarshal([]byte(p.fill(t, prepaidJSON, nil)), &body)
		body["reference"] = strings.ToUpper(name)
		pp := p.call(t, 201, "POST", "/v1/prepaid", retailerA, body)
		if name == "droppedP" {
			p.call(t, 200, "POST", "/v1/outlets/"+p.value(t, "postOffice", "")+"/dropoffs", clerkP, map[string]string{"code": pp["dropoff_code"].(string)})
		}
		return map[string]string{"": pp["id"].(string), "tracking": pp["tracking_code"].(string), "code": pp["dropoff_code"].(string)}
	case "spareX": // X's last compartment (the biggest), which no parcel here takes
		view := p.call(t, 200, "GET", "/v1/lockers/"+lockerX, operator, nil)
		cs := view["compartments"].([]any)
		return map[string]string{"": strconv.Itoa(len(cs))}
	case "patch": // a post office, and the opposite of its wheelchair access
		id := p.postOffice(t)
		return map[string]string{"": id, "wheelchair": strconv.FormatBool(!p.dir.Snapshot().ByID(id).WheelchairAccess)}
	case "dlr": // a delivery report at the signed URL of an SMS of A's parcel at Y
		p.value(t, "readyY", "")
		list := p.call(t, 200, "GET", "/v1/notifications?channel=sms&limit=1", operator, nil)
		msgs, _ := list["notifications"].([]any)
		if len(msgs) == 0 {
			t.Fatal("fixture: no SMS queued")
		}
		id := int64(msgs[0].(map[string]any)["id"].(float64))
		return map[string]string{"": p.srv.SMSReportURL("")(id) + "&status=1&answer=ACK"}
	case "sub": // a browser's subscription at the test push service
		sub := p.push.Subscribe()
		return map[string]string{"endpoint": sub.Endpoint, "key": sub.P256dh, "auth": sub.Auth}
	case "hookA", "doomedHook": // webhooks of A's
		h := p.call(t, 201, "POST", "/v1/webhooks", retailerA, map[string]any{"url": "https://hooks.example.com/" + name})
		return map[string]string{"": h["id"].(string)}
	case "spare1":
		return map[string]string{"": p.spare[0]}
	case "spare2":
		return map[string]string{"": p.spare[1]}
	}
	t.Fatalf("no fixture value $%s", name)
	return nil
}

// subscribe subscribes a new browser to A's $created parcel, through the
// service (the API's per-address limit is the matrix's to test), and
// returns the subscription's id.
func (p *probe) subscribe(t *testing.T) string {
	t.Helper()
	sub := p.push.Subscribe()
	got, err := p.lockers.Subscribe(context.Background(), service.PushSubscriptionRequest{
		TrackingCode: p.value(t, "created", "tracking"), Postcode: p.value(t, "created", "postcode"),
		Endpoint: sub.Endpoint, P256dh: sub.P256dh, Auth: sub.Auth})
	if err != nil {
		t.Fatalf("fixture: subscribe: %v", err)
	}
	return got.ID
}

// postOffice returns the id of a post office in Helsinki.
func (p *probe) postOffice(t *testing.T) string {
	t.Helper()
	list := p.call(t, 200, "GET", "/v1/locations?postcode=00100&type=POSTOFFICE&limit=1", anonymous, nil)
	locs, _ := list["locations"].([]any)
	if len(locs) == 0 {
		t.Fatal("fixture: no post office near 00100")
	}
	return locs[0].(map[string]any)["id"].(string)
}

// parcelOf returns a parcel of the size class's height.
func parcelOf(size string) map[string]any {
	h := map[string]int{"S": 8, "M": 18, "L": 35}[size]
	return map[string]any{"length_cm": 30, "width_cm": 20, "height_cm": h, "weight_kg": 1, "contents": "goods"}
}

func sender() map[string]any {
	return map[string]any{"name": "Kauppa", "street": "Tyynenmerenkatu 11", "postcode": "00220", "city": "Helsinki"}
}

// postOfficeBody is A's customer's parcel to a post office.
func (p *probe) postOfficeBody(t *testing.T, ref, size string) map[string]any {
	t.Helper()
	return map[string]any{"reference": ref, "pickup_point_id": p.value(t, "postOffice", ""), "sender": sender(),
		"recipient": map[string]any{"name": secretName, "street": "Fredrikinkatu 1", "postcode": "00120", "city": "Helsinki", "phone": secretPhone},
		"parcel":    parcelOf(size)}
}

// lockerXBody is a parcel to locker X.
func (p *probe) lockerXBody(ref, size string, cod map[string]any) map[string]any {
	body := map[string]any{"reference": ref, "pickup_point_id": lockerX, "sender": sender(),
		"recipient": map[string]any{"name": secretName, "street": "Aleksanterinkatu 10", "postcode": "00100", "city": "Helsinki", "phone": secretPhone},
		"parcel":    parcelOf(size)}
	if cod != nil {
		body["cod"] = cod
	}
	return body
}

// lockerYBody is a parcel to a resident of the demo building.
func (p *probe) lockerYBody(ref string) map[string]any {
	return map[string]any{"reference": ref, "sender": sender(),
		"recipient": map[string]any{"name": secretName, "street": "Mannerheimintie 5 A 1", "postcode": "00104", "city": "Helsinki", "phone": secretPhone},
		"parcel":    parcelOf("S")}
}

// book books a shipment as a retailer (201) and returns the answer.
func (p *probe) book(t *testing.T, w who, body map[string]any) map[string]any {
	t.Helper()
	return p.call(t, 201, "POST", "/v1/shipments", w, body)
}

// readyParcel is a parcel ready for pickup.
type readyParcel struct {
	id, tracking, code string
	compartment        int
}

var noticeCode = regexp.MustCompile(`(?:Avauskoodi|Opening code|Öppningskod): ([0-9]+)`)

// ready books a parcel, has the courier hand it over and deposit it, the
// locker's device close the door, and reads its code from the outbox.
func (p *probe) ready(t *testing.T, w who, body map[string]any, lockerID string, device who) readyParcel {
	t.Helper()
	sh := p.book(t, w, body)
	r := readyParcel{id: sh["id"].(string), tracking: sh["tracking_code"].(string)}
	if dest, _ := sh["destination"].(map[string]any); dest == nil || dest["id"] != lockerID {
		t.Fatalf("fixture: the parcel for %s went to %v", lockerID, sh["destination"])
	}
	p.call(t, 200, "POST", "/v1/shipments/"+r.id+"/handover", courier, nil)
	dep := p.call(t, 200, "POST", "/v1/lockers/"+lockerID+"/deposits", courier, map[string]string{"tracking_code": r.tracking})
	r.compartment = int(dep["compartment"].(float64))
	p.call(t, 200, "POST", "/v1/devices/"+lockerID+"/events", device, map[string]any{"type": "door_closed", "compartment": r.compartment})
	box := p.call(t, 200, "GET", "/dev/outbox?limit=1000", operator, nil)
	for _, m := range box["messages"].([]any) {
		m := m.(map[string]any)
		if c := noticeCode.FindStringSubmatch(fmt.Sprint(m["text"])); c != nil && m["tracking_code"] == r.tracking {
			r.code = c[1]
			return r
		}
	}
	t.Fatalf("fixture: no opening code for %s in the outbox", r.tracking)
	return r
}

// TestOpenAPICoversEveryRoute: every route of lokero's own API that the
// whole server serves is in openapi.json, with its method (the Posti
// face, health, metrics and the documents themselves are not).
func TestOpenAPICoversEveryRoute(t *testing.T) {
	t.Parallel()
	p := newProbe(t)
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPIDocument())
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.json is not a valid OpenAPI document: %v", err)
	}
	n := 0
	for _, route := range p.srv.Routes() {
		method, pattern, _ := strings.Cut(route, " ")
		if !strings.HasPrefix(pattern, "/v1/") && !strings.HasPrefix(pattern, "/dev/") && !strings.HasPrefix(pattern, "/q/") {
			continue
		}
		n++
		item := doc.Paths.Find(pattern)
		if item == nil || item.GetOperation(method) == nil {
			t.Errorf("%s is served but not in openapi.json", route)
		}
	}
	if n < 50 {
		t.Errorf("only %d routes of lokero's own API; want them all", n)
	}
}
