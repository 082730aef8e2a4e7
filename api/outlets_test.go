package api_test

import (
	"context"
	"regexp"
	"strings"
	"testing"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/demo"
)

// The demo network's post offices in Helsinki and Tampere.
const (
	outletHelsinki = "POSTOFFICE-00100"
	outletTampere  = "POSTOFFICE-33100"
)

var pickupCode = regexp.MustCompile(`Noutokoodi: ([0-9]+)`)

// clerk adds a clerk at an outlet and returns the token.
func (f lockerFixture) clerk(t *testing.T, outlet string) string {
	t.Helper()
	_, token, err := f.lockers.AddCredential(context.Background(), lokero.KindClerk, "Kaisa "+outlet, outlet)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// outletParcel books a parcel to an outlet and hands it over.
func (f lockerFixture) outletParcel(t *testing.T, reference, outlet string, codCents int) shipmentAnswer {
	t.Helper()
	body := shipmentBody(reference)
	body["pickup_point_id"] = outlet
	if codCents > 0 {
		body["cod"] = map[string]any{"amount_cents": codCents, "currency": "EUR"}
	}
	sh := f.create(t, body, f.key)
	if sh.Destination.ID != outlet {
		t.Fatalf("booked to %s; want %s", sh.Destination.ID, outlet)
	}
	if status, _, out := f.do(t, "POST", "/v1/shipments/"+sh.ID+"/handover", f.courier, nil); status != 200 {
		t.Fatalf("handover: %d %s", status, out)
	}
	return sh
}

// TestCounterFlowHTTP: a parcel to a post office is scanned in by its
// clerk (not by another outlet's), waits on a shelf place, is handed over
// with its pickup code to a recipient whose ID was checked, and the
// retailer sees where and when; tracking shows the outlet and its hours,
// never the shelf place.
func TestCounterFlowHTTP(t *testing.T) {
	t.Parallel()
	f := newLockerFixture(t)
	clerk, other := f.clerk(t, outletHelsinki), f.clerk(t, outletTampere)
	sh := f.outletParcel(t, "COUNTER-1", outletHelsinki, 0)
	arrivals := "/v1/outlets/" + outletHelsinki + "/arrivals"
	scan := map[string]string{"tracking_code": sh.TrackingCode}
	for _, c := range []struct {
		who, token string
		want       int
	}{{"nobody", "", 401}, {"a courier", f.courier, 401}, {"an operator", f.operator, 401}, {"another outlet's clerk", other, 403}} {
		if status, _, out := f.do(t, "POST", arrivals, c.token, scan); status != c.want {
			t.Errorf("%s scans in at %s: %d %s; want %d", c.who, outletHelsinki, status, out, c.want)
		}
	}
	if status, _, out := f.do(t, "POST", "/v1/outlets/"+outletTampere+"/arrivals", other, scan); status != 409 || !strings.Contains(string(out), "wrong_outlet") {
		t.Errorf("scanned in at the wrong outlet: %d %s; want 409 wrong_outlet", status, out)
	}
	status, _, out := f.do(t, "POST", arrivals, clerk, scan)
	arrived := decode[struct {
		ShelfPlace string `json:"shelf_place"`
		Status     string
	}](t, out)
	if status != 200 || arrived.Status != "READY_FOR_PICKUP" || !regexp.MustCompile(`^[A-Z]+-[0-9]+$`).MatchString(arrived.ShelfPlace) {
		t.Fatalf("arrival: %d %s", status, out)
	}
	if status, _, again := f.do(t, "POST", arrivals, clerk, scan); status != 200 || !strings.Contains(string(again), arrived.ShelfPlace) {
		t.Errorf("scanned twice: %d %s; want the same shelf place", status, again)
	}

	_, _, out = f.do(t, "GET", "/dev/outbox", f.operator, nil)
	code := ""
	if m := pickupCode.FindStringSubmatch(string(out)); m != nil {
		code = m[1]
	}
	if code == "" {
		t.Fatalf("no pickup code in the notice of arrival: %s", out)
	}

	status, _, out = f.do(t, "GET", "/v1/tracking/"+sh.TrackingCode, "", nil)
	if status != 200 || strings.Contains(string(out), arrived.ShelfPlace) || strings.Contains(string(out), "Maija") || strings.Contains(string(out), code) {
		t.Errorf("public tracking shows the shelf place, the recipient or the code: %s", out)
	}
	if tr := decode[struct {
		Destination struct {
			ID           string
			OpeningHours []lokero.OpeningHours `json:"opening_hours"`
		}
	}](t, out); tr.Destination.ID != outletHelsinki || len(tr.Destination.OpeningHours) == 0 {
		t.Errorf("public tracking's destination: %+v; want the outlet with its hours", tr.Destination)
	}

	pickups := "/v1/outlets/" + outletHelsinki + "/pickups"
	for _, bad := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"pickup_code": code}, "identity_checked"},
		{map[string]any{"pickup_code": code, "identity_checked": true, "representative": "Matti"}, "power_of_attorney"},
		{map[string]any{"pickup_code": "00000000000", "identity_checked": true}, "pickup_code"},
		{map[string]any{"tracking_code": "nonsense", "identity_checked": true}, "tracking_code"},
	} {
		status, _, out := f.do(t, "POST", pickups, clerk, bad.body)
		if e := decode[struct{ Error struct{ Field string } }](t, out); status < 400 || status > 499 || e.Error.Field != bad.field {
			t.Errorf("pickup %v: %d %s; want 4xx naming %s", bad.body, status, out, bad.field)
		}
	}
	if status, _, out := f.do(t, "POST", "/v1/outlets/"+outletTampere+"/pickups", other, map[string]any{"pickup_code": code, "identity_checked": true}); status < 400 || status > 499 {
		t.Errorf("another outlet's clerk hands it over: %d %s", status, out)
	}
	status, _, out = f.do(t, "POST", pickups, clerk, map[string]any{"pickup_code": code, "identity_checked": true,
		"representative": "Matti Meikäläinen", "power_of_attorney": true})
	if got := decode[struct{ Result, Status string }](t, out); status != 200 || got.Result != "picked_up" || got.Status != "PICKED_UP" {
		t.Fatalf("pickup: %d %s", status, out)
	}
	_, _, out = f.do(t, "GET", "/v1/shipments/"+sh.ID, f.key, nil)
	got := decode[struct {
		Status   string
		PickedUp *lokero.Pickup `json:"picked_up"`
	}](t, out)
	if got.Status != "PICKED_UP" || got.PickedUp == nil || got.PickedUp.LocationID != outletHelsinki ||
		got.PickedUp.By != "representative" || got.PickedUp.Representative != "Matti Meikäläinen" || got.PickedUp.At.IsZero() {
		t.Errorf("the retailer's shipment after the pickup: %s", out)
	}
}

// TestCounterCODHTTP: cash on delivery at the counter: the amount first,
// then the card payment, and the settlement splits it by outlet.
func TestCounterCODHTTP(t *testing.T) {
	t.Parallel()
	f := newLockerFixture(t)
	clerk := f.clerk(t, outletHelsinki)
	sh := f.outletParcel(t, "COUNTER-COD", outletHelsinki, 4990)
	if status, _, out := f.do(t, "POST", "/v1/outlets/"+outletHelsinki+"/arrivals", clerk, map[string]string{"tracking_code": sh.TrackingCode}); status != 200 ||
		!strings.Contains(string(out), `"amount_due_cents":4990`) {
		t.Fatalf("arrival: %d %s; want the amount due", status, out)
	}
	pickups := "/v1/outlets/" + outletHelsinki + "/pickups"
	ask := map[string]any{"tracking_code": sh.TrackingCode, "identity_checked": true}
	status, _, out := f.do(t, "POST", pickups, clerk, ask)
	if due := decode[struct {
		Result      string
		AmountCents int64 `json:"amount_cents"`
		Status      string
	}](t, out); status != 200 || due.Result != "payment_required" || due.AmountCents != 4990 || due.Status != "READY_FOR_PICKUP" {
		t.Fatalf("pickup of an unpaid COD parcel: %d %s; want payment_required 4990", status, out)
	}
	ask["payment"] = map[string]any{"method": "card", "amount_cents": 100, "reference": "R-1"}
	if status, _, out := f.do(t, "POST", pickups, clerk, ask); status != 422 {
		t.Errorf("paying 1 € of 49.90 €: %d %s; want 422", status, out)
	}
	ask["payment"] = map[string]any{"method": "card", "amount_cents": 4990, "reference": "R-1"}
	status, _, out = f.do(t, "POST", pickups, clerk, ask)
	paid := decode[struct {
		Result string
		COD    lokero.COD
	}](t, out)
	if status != 200 || paid.Result != "picked_up" || paid.COD.Method != "card" || paid.COD.LocationID != outletHelsinki || paid.COD.CollectedAt == nil {
		t.Fatalf("pickup with the card payment: %d %s", status, out)
	}
	day := paid.COD.CollectedAt.In(lokero.Helsinki).Format("2006-01-02")
	status, _, out = f.do(t, "GET", "/v1/cod/settlements?date="+day, f.operator, nil)
	report := decode[struct {
		Settlements []struct {
			AmountCents int64 `json:"amount_cents"`
			Locations   []struct {
				LocationID string `json:"location_id"`
				CardCents  int64  `json:"card_cents"`
			}
		}
	}](t, out)
	if status != 200 || len(report.Settlements) != 1 || report.Settlements[0].AmountCents != 4990 ||
		len(report.Settlements[0].Locations) != 1 || report.Settlements[0].Locations[0].LocationID != outletHelsinki ||
		report.Settlements[0].Locations[0].CardCents != 4990 {
		t.Errorf("settlement: %d %s; want 49.90 € by card at %s", status, out, outletHelsinki)
	}
}

// TestOutletViewHTTP: an operator and the outlet's own clerk see its
// shelves; another outlet's clerk does not.
func TestOutletViewHTTP(t *testing.T) {
	t.Parallel()
	f := newLockerFixture(t)
	clerk, other := f.clerk(t, outletHelsinki), f.clerk(t, outletTampere)
	sh := f.outletParcel(t, "COUNTER-VIEW", outletHelsinki, 0)
	f.do(t, "POST", "/v1/outlets/"+outletHelsinki+"/arrivals", clerk, map[string]string{"tracking_code": sh.TrackingCode})
	view := "/v1/outlets/" + outletHelsinki
	for _, token := range []string{f.operator, clerk} {
		status, _, out := f.do(t, "GET", view, token, nil)
		v := decode[struct {
			OnShelf []struct {
				TrackingCode string `json:"tracking_code"`
				ShelfPlace   string `json:"shelf_place"`
			} `json:"on_shelf"`
			Shelf struct {
				CapacityPerDay int `json:"capacity_per_day"`
				Free           int
			}
		}](t, out)
		if status != 200 || len(v.OnShelf) != 1 || v.OnShelf[0].TrackingCode != sh.TrackingCode || v.Shelf.CapacityPerDay != 150 {
			t.Errorf("outlet view: %d %s", status, out)
		}
	}
	for _, c := range []struct {
		token string
		want  int
	}{{other, 403}, {f.courier, 401}, {"", 401}} {
		if status, _, out := f.do(t, "GET", view, c.token, nil); status != c.want {
			t.Errorf("outlet view by %.4s…: %d %s; want %d", c.token, status, out, c.want)
		}
	}
}

// TestOutletLimitsHTTP: an outlet's location shows what it takes; a
// locker's does not (its compartments are its limit).
func TestOutletLimitsHTTP(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for _, c := range []struct {
		id    string
		limit *lokero.ParcelLimit
		shelf int
	}{
		{outletHelsinki, &lokero.ParcelLimit{LengthCM: 120, WidthCM: 60, HeightCM: 60, WeightKG: 35}, 150},
		{demo.DemoSmartpostID, nil, 0},
	} {
		status, body := f.get(t, "/v1/locations/"+c.id)
		got := decode[struct {
			MaxParcel     *lokero.ParcelLimit `json:"max_parcel"`
			ShelfCapacity int                 `json:"shelf_capacity"`
		}](t, body)
		if status != 200 || (c.limit == nil) != (got.MaxParcel == nil) || (c.limit != nil && *got.MaxParcel != *c.limit) || got.ShelfCapacity != c.shelf {
			t.Errorf("%s: %d %s; want max_parcel %+v, shelf_capacity %d", c.id, status, body, c.limit, c.shelf)
		}
	}
}
