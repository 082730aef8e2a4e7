package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/lokero/lokero/api"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/demo"
	"github.com/lokero/lokero/service"
	"github.com/lokero/lokero/sqlite"
)

// fixedClock stands still on a Wednesday afternoon in Helsinki.
type fixedClock struct{}

func (fixedClock) Now() time.Time { return time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC) }

// shipFixture is a server over the demo network with shipments enabled and
// two retailers: only the first offers free returns.
type shipFixture struct {
	server     *httptest.Server
	router     routers.Router
	key, other string
}

var (
	shipOnce   sync.Once
	shipShared shipFixture
	shipErr    error
)

func newShipFixture(t *testing.T) shipFixture {
	t.Helper()
	shipOnce.Do(func() { shipShared, shipErr = buildShipFixture() })
	if shipErr != nil {
		t.Fatalf("set up the shipment fixture: %v", shipErr)
	}
	return shipShared
}

func buildShipFixture() (shipFixture, error) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(testTempDir, "shipments.db"))
	if err != nil {
		return shipFixture{}, err
	}
	st.SetClock(fixedClock{})
	log := slog.New(slog.DiscardHandler)
	reg, err := service.LoadPostcodes(ctx, st)
	if err != nil {
		return shipFixture{}, err
	}
	dir := service.NewDirectory(st, reg, fixedClock{}, log)
	locs, err := demo.Network(reg, demo.DefaultSeed)
	if err != nil {
		return shipFixture{}, err
	}
	if _, err := dir.Import(ctx, locs); err != nil {
		return shipFixture{}, err
	}
	if err := dir.Reload(ctx); err != nil {
		return shipFixture{}, err
	}
	shipments := service.NewShipments(st, dir, calendar.Default(), fixedClock{}, nil, log)
	_, key, err := shipments.AddRetailer(ctx, "Verkkokauppa Oy", true)
	if err != nil {
		return shipFixture{}, err
	}
	_, other, err := shipments.AddRetailer(ctx, "Toinen Kauppa", false)
	if err != nil {
		return shipFixture{}, err
	}
	srv := api.New(dir, st, log)
	srv.EnableShipments(shipments)
	srv.SetReady(true)
	doc, err := openapi3.NewLoader().LoadFromData(api.OpenAPIDocument())
	if err != nil {
		return shipFixture{}, err
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return shipFixture{}, err
	}
	return shipFixture{server: httptest.NewServer(srv), router: router, key: key, other: other}, nil
}

// do sends a request and checks the answer against the OpenAPI document.
func (f shipFixture) do(t *testing.T, method, path, key string, body any, headers ...string) (int, http.Header, []byte) {
	t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequest(method, f.server.URL+path, bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
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
	// Check the answer against the document where the request is one the
	// document allows.
	vreq, _ := http.NewRequest(method, f.server.URL+path, bytes.NewReader(raw))
	vreq.Header = req.Header.Clone()
	route, params, err := f.router.FindRoute(vreq)
	if err != nil && resp.StatusCode < 300 {
		t.Errorf("%s %s answered %d but is not in the OpenAPI document: %v", method, path, resp.StatusCode, err)
	}
	if err == nil {
		in := &openapi3filter.RequestValidationInput{Request: vreq, PathParams: params, Route: route,
			Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc}}
		if openapi3filter.ValidateRequest(context.Background(), in) == nil {
			checkAnswer(t, method+" "+path, "the OpenAPI document", in, resp, out)
		}
	}
	return resp.StatusCode, resp.Header, out
}

func shipmentBody(reference string) map[string]any {
	return map[string]any{
		"reference": reference,
		"sender":    map[string]any{"name": "Verkkokauppa Oy", "street": "Tyynenmerenkatu 11", "postcode": "00220", "city": "Helsinki", "country": "FI"},
		"recipient": map[string]any{"name": "Maija Meikäläinen", "street": "Mannerheimintie 5 B 12", "postcode": "00104", "city": "Helsinki",
			"country": "FI", "phone": "0401234567", "email": "maija@example.fi", "language": "fi"},
		"parcel": map[string]any{"length_cm": 30, "width_cm": 20, "height_cm": 10, "weight_kg": 1.5, "contents": "goods", "insulated": false},
	}
}

type shipmentAnswer struct {
	ID                string `json:"id"`
	TrackingCode      string `json:"tracking_code"`
	Status            string `json:"status"`
	EstimatedDelivery string `json:"estimated_delivery"`
	ReturnCode        string `json:"return_code"`
	LabelURL          string `json:"label_url"`
	Destination       struct {
		ID, Type, Name, Street, Postcode, City string
	} `json:"destination"`
	Routing struct{ Rule, Reason string } `json:"routing"`
}

func (f shipFixture) create(t *testing.T, body map[string]any, key string, headers ...string) shipmentAnswer {
	t.Helper()
	status, _, out := f.do(t, "POST", "/v1/shipments", key, body, headers...)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, out)
	}
	return decode[shipmentAnswer](t, out)
}

func TestCreateShipmentHTTP(t *testing.T) {
	t.Parallel()
	f := newShipFixture(t)
	body := shipmentBody("ORDER-1")
	body["return_code"] = true
	status, header, out := f.do(t, "POST", "/v1/shipments", f.key, body)
	if status != http.StatusCreated {
		t.Fatalf("create: %d %s", status, out)
	}
	sh := decode[shipmentAnswer](t, out)
	if sh.Destination.ID != "LOCKER-00104-MANNERHEIMINTIE-5" || sh.Destination.Postcode != "00104" || sh.Destination.Street != "Mannerheimintie 5" {
		t.Errorf("destination %+v; want the demo building's LOCKER at 00104", sh.Destination)
	}
	if sh.Routing.Rule != "building_locker" || sh.Routing.Reason == "" || sh.EstimatedDelivery != "2026-11-26" || sh.Status != "CREATED" {
		t.Errorf("routing %+v, delivery %s, status %s", sh.Routing, sh.EstimatedDelivery, sh.Status)
	}
	if len(sh.ReturnCode) != 12 || header.Get("Location") != "/v1/shipments/"+sh.ID || sh.LabelURL != "/v1/shipments/"+sh.ID+"/label.pdf" {
		t.Errorf("return code %q, Location %q, label_url %q", sh.ReturnCode, header.Get("Location"), sh.LabelURL)
	}
	status, _, out = f.do(t, "GET", "/v1/shipments/"+sh.ID, f.key, nil)
	if status != 200 || decode[shipmentAnswer](t, out).TrackingCode != sh.TrackingCode {
		t.Errorf("get: %d %s", status, out)
	}
	// Another retailer: as if it did not exist.
	for _, path := range []string{"/v1/shipments/" + sh.ID, "/v1/shipments/" + sh.ID + "/label.pdf"} {
		if status, _, out := f.do(t, "GET", path, f.other, nil); status != http.StatusNotFound {
			t.Errorf("another retailer GET %s: %d %s; want 404", path, status, out)
		}
	}
	if status, _, _ := f.do(t, "POST", "/v1/shipments/"+sh.ID+"/cancel", f.other, nil); status != http.StatusNotFound {
		t.Errorf("another retailer's cancel: %d; want 404", status)
	}
}

func TestShipmentAuth(t *testing.T) {
	t.Parallel()
	f := newShipFixture(t)
	for _, key := range []string{"", "lok_wrong", "not-even-a-key", strings.Repeat("x", 5000)} {
		status, header, out := f.do(t, "POST", "/v1/shipments", key, shipmentBody("x"))
		e := decode[apiError](t, out)
		if status != http.StatusUnauthorized || e.Error.Message == "" || header.Get("WWW-Authenticate") == "" {
			t.Errorf("key %.20q: %d %s; want 401 with a JSON error and WWW-Authenticate", key, status, out)
		}
	}
	if status, _, _ := f.do(t, "GET", "/v1/shipments", "", nil); status != http.StatusUnauthorized {
		t.Errorf("list without a key: %d", status)
	}
}

func TestShipmentIdempotencyHTTP(t *testing.T) {
	t.Parallel()
	f := newShipFixture(t)
	body := shipmentBody("IDEM-1")
	first := f.create(t, body, f.key, "Idempotency-Key", "idem-http-1")
	status, header, out := f.do(t, "POST", "/v1/shipments", f.key, body, "Idempotency-Key", "idem-http-1")
	if status != http.StatusCreated || decode[shipmentAnswer](t, out).ID != first.ID || header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("replay: %d %s %v; want the same shipment, replayed", status, out, header)
	}
	body["reference"] = "IDEM-2"
	status, _, out = f.do(t, "POST", "/v1/shipments", f.key, body, "Idempotency-Key", "idem-http-1")
	if e := decode[apiError](t, out); status != http.StatusConflict || e.Error.Code != "idempotency_key_reused" {
		t.Errorf("same key, other body: %d %s; want 409 idempotency_key_reused", status, out)
	}
}

func TestShipmentBadInput(t *testing.T) {
	t.Parallel()
	f := newShipFixture(t)
	set := func(path string, v any) map[string]any {
		b := shipmentBody("BAD")
		parts := strings.Split(path, ".")
		m := b
		for _, p := range parts[:len(parts)-1] {
			m = m[p].(map[string]any)
		}
		m[parts[len(parts)-1]] = v
		return b
	}
	tests := []struct {
		name   string
		body   any
		status int
		field  string
	}{
		{"broken JSON", `{"reference": "x",`, 400, ""},
		{"not an object", `[1,2,3]`, 400, ""},
		{"empty body", ``, 400, ""},
		{"trailing data", `{} {}`, 400, ""},
		{"unknown field", set("colour", "red"), 400, "colour"},
		{"unknown nested field", set("parcel.colour", "red"), 400, "colour"},
		{"key in another case", set("Reference", "R9"), 400, "Reference"},
		{"trailing bracket", `{"reference":"x"}]`, 400, ""},
		{"duplicate key", `{"reference":"a","reference":"b"}`, 400, "reference"},
		{"weight NaN", set("parcel.weight_kg", "NaN"), 400, "parcel.weight_kg"},
		{"zero length", set("parcel.length_cm", 0), 400, "parcel.length_cm"},
		{"negative width", set("parcel.width_cm", -3), 400, "parcel.width_cm"},
		{"5000 cm", set("parcel.height_cm", 5000), 400, "parcel.height_cm"},
		{"unknown contents", set("parcel.contents", "gold"), 400, "parcel.contents"},
		{"COD in SEK", set("cod", map[string]any{"amount_cents": 1000, "currency": "SEK"}), 400, "cod.currency"},
		{"phone not a number", set("recipient.phone", "abc"), 400, "recipient.phone"},
		{"bad postcode", set("recipient.postcode", "001000"), 400, "recipient.postcode"},
		{"postcode as number", set("recipient.postcode", 104), 400, "recipient.postcode"},
		{"body over 64 kB", set("reference", strings.Repeat("x", 70_000)), 400, ""},
		{"too big for a locker", set("parcel.length_cm", 80), 422, "parcel"},
		{"food not insulated", set("parcel.contents", "food"), 422, "parcel.insulated"},
		{"no locker in the building", set("recipient.street", "Mannerheimintie 999"), 422, "recipient.street"},
		{"return code without free returns", nil, 422, "return_code"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			key := f.key
			if tt.body == nil {
				b := shipmentBody("RC")
				b["return_code"] = true
				tt.body, key = b, f.other
			}
			status, _, out := f.do(t, "POST", "/v1/shipments", key, tt.body)
			e := decode[apiError](t, out)
			if status != tt.status || e.Error.Field != tt.field || e.Error.Message == "" || e.Error.Code == "" {
				t.Errorf("%d %s; want %d on field %q with code and message", status, out, tt.status, tt.field)
			}
		})
	}
}

func TestTrackingIsPublicAndPrivate(t *testing.T) {
	t.Parallel()
	f := newShipFixture(t)
	sh := f.create(t, shipmentBody("TRACK-1"), f.key)
	status, _, out := f.do(t, "GET", "/v1/tracking/"+strings.ToLower(sh.TrackingCode), "", nil)
	if status != 200 {
		t.Fatalf("tracking: %d %s", status, out)
	}
	for _, secret := range []string{"Maija", "Meikäläinen", "maija@example.fi", "+35840", "B 12", "Verkkokauppa", "Tyynenmerenkatu"} {
		if bytes.Contains(out, []byte(secret)) {
			t.Errorf("public tracking shows %q: %s", secret, out)
		}
	}
	tr := decode[struct {
		Status      string
		Destination struct{ ID string }
		Events      []struct{ Status string }
	}](t, out)
	// The destination is the recipient's own building: public tracking
	// shows only that it is a LOCKER in Helsinki.
	for _, secret := range []string{"Mannerheimintie", "00104", sh.Destination.ID, "As Oy"} {
		if bytes.Contains(out, []byte(secret)) {
			t.Errorf("public tracking shows the residents-only locker's %q: %s", secret, out)
		}
	}
	if tr.Status != "CREATED" || tr.Destination.ID != "" || len(tr.Events) != 1 {
		t.Errorf("tracking answer %+v", tr)
	}
	// A public pickup point is shown whole.
	public := shipmentBody("TRACK-2")
	public["recipient"].(map[string]any)["postcode"] = "00100"
	sp := f.create(t, public, f.key)
	_, _, out = f.do(t, "GET", "/v1/tracking/"+sp.TrackingCode, "", nil)
	if !bytes.Contains(out, []byte(sp.Destination.ID)) || !bytes.Contains(out, []byte(sp.Destination.Street)) {
		t.Errorf("public pickup point not shown in tracking: %s", out)
	}
	if status, _, _ := f.do(t, "GET", "/v1/tracking/CL123", "", nil); status != 400 {
		t.Errorf("malformed tracking code: %d; want 400", status)
	}
	if status, _, _ := f.do(t, "GET", "/v1/tracking/CL000000005FI", "", nil); status != 404 {
		t.Errorf("unknown tracking code: %d; want 404", status)
	}
}

func TestCancelAndHandoverHTTP(t *testing.T) {
	t.Parallel()
	f := newShipFixture(t)
	a := f.create(t, shipmentBody("CANCEL-1"), f.key)
	status, _, out := f.do(t, "POST", "/v1/shipments/"+a.ID+"/cancel", f.key, nil)
	if status != 200 || decode[shipmentAnswer](t, out).Status != "CANCELLED" {
		t.Errorf("cancel: %d %s", status, out)
	}
	if status, _, out := f.do(t, "POST", "/v1/shipments/"+a.ID+"/cancel", f.key, nil); status != http.StatusConflict {
		t.Errorf("cancel twice: %d %s; want 409", status, out)
	}
	b := f.create(t, shipmentBody("HANDOVER-1"), f.key)
	if status, _, out := f.do(t, "POST", "/v1/shipments/"+b.ID+"/handover", f.key, nil); status != 200 || decode[shipmentAnswer](t, out).Status != "IN_TRANSIT" {
		t.Errorf("handover: %d %s", status, out)
	}
	if status, _, out := f.do(t, "POST", "/v1/shipments/"+b.ID+"/cancel", f.key, nil); status != http.StatusConflict || decode[apiError](t, out).Error.Code != "illegal_transition" {
		t.Errorf("cancel after handover: %d %s; want 409 illegal_transition", status, out)
	}
}

func TestLabelHTTP(t *testing.T) {
	t.Parallel()
	f := newShipFixture(t)
	sh := f.create(t, shipmentBody("LABEL-1"), f.key)
	status, header, out := f.do(t, "GET", sh.LabelURL, f.key, nil)
	if status != 200 || header.Get("Content-Type") != "application/pdf" || !bytes.HasPrefix(out, []byte("%PDF-")) {
		t.Fatalf("label: %d %s %.20q", status, header.Get("Content-Type"), out)
	}
}

func TestListShipmentsHTTP(t *testing.T) {
	t.Parallel()
	f := newShipFixture(t)
	ref := fmt.Sprintf("LIST-%d", time.Now().UnixNano())
	want := map[string]bool{}
	for range 5 {
		body := shipmentBody(ref)
		body["recipient"].(map[string]any)["postcode"] = "00100" // the nearest public point: room for all
		want[f.create(t, body, f.key).ID] = true
	}
	got := map[string]bool{}
	cursor := ""
	for page := 0; page < 10; page++ {
		path := "/v1/shipments?limit=2&reference=" + ref
		if cursor != "" {
			path += "&cursor=" + cursor
		}
		status, _, out := f.do(t, "GET", path, f.key, nil)
		if status != 200 {
			t.Fatalf("list: %d %s", status, out)
		}
		page := decode[struct {
			Shipments  []shipmentAnswer `json:"shipments"`
			NextCursor *string          `json:"next_cursor"`
		}](t, out)
		for _, s := range page.Shipments {
			if got[s.ID] || !want[s.ID] {
				t.Fatalf("%s listed twice or not ours", s.ID)
			}
			got[s.ID] = true
		}
		if page.NextCursor == nil {
			break
		}
		cursor = *page.NextCursor
	}
	if len(got) != 5 {
		t.Errorf("listed %d of 5", len(got))
	}
	for q, field := range map[string]string{"status=FOO": "status", "limit=0": "limit", "limit=x": "limit", "limit=501": "limit",
		"limit=-3": "limit", "state=CREATED": "state", "page=2": "page"} {
		status, _, out := f.do(t, "GET", "/v1/shipments?"+q, f.key, nil)
		e := decode[struct {
			Error struct{ Field, Message string }
		}](t, out)
		if status != 400 || e.Error.Field != field {
			t.Errorf("%s: %d %s; want 400 naming %s", q, status, out, field)
		}
		// The message quotes the number given, not one made up for it.
		if n, ok := strings.CutPrefix(q, "limit="); ok && n != "x" && !strings.HasSuffix(e.Error.Message, "got "+n) {
			t.Errorf("%s: message %q; want it to end \"got %s\"", q, e.Error.Message, n)
		}
	}
	status, _, out := f.do(t, "GET", "/v1/shipments?reference="+ref, f.other, nil)
	if status != 200 || bytes.Contains(out, []byte(ref)) {
		t.Errorf("another retailer lists our shipments: %s", out)
	}
}

func TestReturnsHTTP(t *testing.T) {
	t.Parallel()
	f := newShipFixture(t)
	sh := f.create(t, shipmentBody("RETURN-1"), f.key)
	status, _, out := f.do(t, "POST", "/v1/returns", "", map[string]string{"tracking_code": sh.TrackingCode, "postcode": "00104"})
	rc := decode[map[string]string](t, out)
	if status != 200 || len(rc["return_code"]) != 12 || rc["return_tracking_code"] == "" {
		t.Fatalf("return code: %d %s", status, out)
	}
	if status, _, _ := f.do(t, "POST", "/v1/returns", "", map[string]string{"tracking_code": sh.TrackingCode, "postcode": "00100"}); status != 404 {
		t.Errorf("wrong postcode: %d; want 404", status)
	}
	// The rate limit: a burst of guesses from one address ends in 429.
	limited := false
	for range 30 {
		status, header, _ := f.do(t, "POST", "/v1/returns", "", map[string]string{"tracking_code": "CL000000005FI", "postcode": "00100"})
		if status == http.StatusTooManyRequests {
			limited = header.Get("Retry-After") != ""
			break
		}
	}
	if !limited {
		t.Error("30 return-code guesses from one address were never rate-limited")
	}
}
