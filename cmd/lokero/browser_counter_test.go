package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/lokero/lokero/browsertest"
)

// counterOutlet is the demo network's post office in Helsinki, where the
// counter test's clerk works.
const counterOutlet = "POSTOFFICE-00100"

// counterPickupCode finds the pickup code in a notice of arrival at an
// outlet (in Finnish, the recipient's language).
var counterPickupCode = regexp.MustCompile(`Noutokoodi: ([0-9]+)`)

// TestCounterPage: a clerk at /counter, with the keyboard alone (a USB
// scanner types as a keyboard does), signs in with their token (a wrong
// one is refused; the page keeps no token: nothing in storage, the cookie
// HttpOnly), scans a parcel in and sees the shelf place the API put it
// on, switches to pickup with F3, scans it again, confirms the ID and
// takes its cash on delivery, and the API has it picked up and paid; an
// operator is told the counter is a clerk's.
func TestCounterPage(t *testing.T) {
	t.Parallel()
	db, args := storeArgs(t, "sqlite")
	base := startServe(t, append(args, "--dev", "--mqtt-listen", "off")...)
	key := lastLine(t, "retailer", "add", "--db", db, "Tiskikauppa")
	courier := lastLine(t, "courier", "add", "--db", db, "Kuski")
	operator := lastLine(t, "operator", "add", "--db", db, "Olli")
	clerk := lastLine(t, "clerk", "add", "--db", db, "--outlet", counterOutlet, "Kaisa Kassa")

	// Parcels to the post office, handed over: one with cash on delivery.
	type parcel struct {
		ID           string `json:"id"`
		TrackingCode string `json:"tracking_code"`
		Destination  struct{ ID string }
	}
	book := func(reference string, codCents int) parcel {
		t.Helper()
		body := map[string]any{
			"reference": reference,
			"sender":    map[string]any{"name": "Tiskikauppa", "street": "Tyynenmerenkatu 11", "postcode": "00220", "city": "Helsinki"},
			"recipient": map[string]any{"name": "Maija Meikäläinen", "street": "Mannerheimintie 5 B 12", "postcode": "00100", "city": "Helsinki",
				"email": "maija@example.fi", "language": "fi"},
			"parcel":          map[string]any{"length_cm": 30, "width_cm": 20, "height_cm": 10, "weight_kg": 1.5, "contents": "goods"},
			"pickup_point_id": counterOutlet,
		}
		if codCents > 0 {
			body["cod"] = map[string]any{"amount_cents": codCents, "currency": "EUR"}
		}
		var sh parcel
		if status := call(t, "POST", base+"/v1/shipments", key, body, &sh); status != 201 || sh.Destination.ID != counterOutlet {
			t.Fatalf("book a parcel to %s: %d, destination %q", counterOutlet, status, sh.Destination.ID)
		}
		if status := call(t, "POST", base+"/v1/shipments/"+sh.ID+"/handover", courier, nil, nil); status != 200 {
			t.Fatalf("hand %s over: %d", sh.TrackingCode, status)
		}
		return sh
	}
	sh, second := book("COUNTER-PAGE-1", 4990), book("COUNTER-PAGE-2", 0)
	tracking := sh.TrackingCode

	ctx := browsertest.New(t, 120*time.Second)
	eval := func(js string) string {
		t.Helper()
		out, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return out
	}
	waitFor := func(what, js string) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js, chromedp.WithPollingInterval(50*time.Millisecond),
			chromedp.WithPollingTimeout(15*time.Second))); err != nil {
			t.Fatalf("%s: never (%s): %v; alert %q", what, js, err, eval(`Array.from(document.querySelectorAll('[role=alert]'), a => a.textContent).join(' | ')`))
		}
	}
	keys := func(keys ...string) {
		t.Helper()
		for _, k := range keys {
			if err := chromedp.Do(ctx, chromedp.KeyEvent(k)); err != nil {
				t.Fatalf("key %q: %v", k, err)
			}
		}
	}
	focused := func(want string) {
		t.Helper()
		if got := eval(`document.activeElement ? document.activeElement.id : ''`); got != want {
			t.Fatalf("the focus is on %q; want %q", got, want)
		}
	}
	state := func() string { return eval(`document.getElementById('counter').dataset.state`) }
	shelf := func() (place, status string) {
		t.Helper()
		var v struct {
			OnShelf []struct {
				ShelfPlace   string `json:"shelf_place"`
				TrackingCode string `json:"tracking_code"`
				Status       string `json:"status"`
			} `json:"on_shelf"`
		}
		if code := call(t, "GET", base+"/v1/outlets/"+counterOutlet, clerk, nil, &v); code != 200 {
			t.Fatalf("the outlet's view: %d", code)
		}
		for _, p := range v.OnShelf {
			if p.TrackingCode == tracking {
				return p.ShelfPlace, p.Status
			}
		}
		return "", ""
	}
	trackingStatus := func() string {
		t.Helper()
		var tr struct{ Status string }
		if code := call(t, "GET", base+"/v1/tracking/"+tracking, "", nil, &tr); code != 200 {
			t.Fatalf("tracking %s: %d", tracking, code)
		}
		return tr.Status
	}

	// Signed out: the sign-in form, its field focused.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/counter?lang=en")); err != nil {
		t.Fatal(err)
	}
	waitFor("the sign-in form", `document.getElementById('counter').dataset.state === 'signed-out'`)
	focused("signin-token")
	browsertest.Screenshots(t, ctx, "counter-signin")
	browsertest.Audit(t, ctx, "/counter, signed out")

	// A wrong token: refused, in the alert.
	keys("lkk_not-a-clerks-token", kb.Enter)
	waitFor("the wrong token's refusal", `document.getElementById('counter-alert').textContent.includes("no clerk's")`)
	if s := state(); s != "signed-out" {
		t.Errorf("after a wrong token the page is %q; want signed-out", s)
	}
	focused("signin-token")

	// The clerk's token, typed and Enter.
	keys(clerk, kb.Enter)
	waitFor("the desk", `document.getElementById('counter').dataset.state === 'ready' && !!document.getElementById('count-on-shelf').dataset.count`)
	focused("scan")
	if h := eval(`document.getElementById('counter-heading').textContent`); !strings.Contains(h, "Helsinki") {
		t.Errorf("the heading %q does not name the outlet", h)
	}
	if n := eval(`document.getElementById('count-on-shelf').dataset.count`); n != "0" {
		t.Errorf("on the shelf before the arrival: %s; want 0", n)
	}
	// The page holds no token: no storage, an HttpOnly cookie, not in the page.
	if got := eval(`String(localStorage.length) + ' ' + String(sessionStorage.length) + ' ' + String(document.cookie.includes('lokero_session'))`); got != "0 0 false" {
		t.Errorf("localStorage, sessionStorage, the cookie seen by script: %s; want 0 0 false", got)
	}
	if html := eval(`document.documentElement.outerHTML + document.getElementById('signin-token').value`); strings.Contains(html, clerk) {
		t.Error("the page holds the clerk's token")
	}
	if got := eval(`fetch('/v1/outlets/` + counterOutlet + `', {credentials: 'omit'}).then(r => String(r.status))`); got != "401" {
		t.Errorf("the outlet's view without the cookie: %s; want 401", got)
	}
	if code := call(t, "GET", base+"/v1/outlets/"+counterOutlet, "", nil, nil); code != 401 {
		t.Errorf("the outlet's view without a token: %d; want 401", code)
	}

	// Arrival: the scanner types the code and Enter.
	keys(tracking, kb.Enter)
	waitFor("the arrival's shelf place", `!!document.querySelector('#result .result-card[data-kind=arrival]')`)
	shown := eval(`document.querySelector('#result .result-card').dataset.place`)
	bigText := eval(`document.querySelector('#result .place').textContent`)
	place, status := shelf()
	if place == "" || shown != place || bigText != place || status != "READY_FOR_PICKUP" {
		t.Fatalf("the page shows shelf place %q (%q); the API has %s on %q, %s", shown, bigText, tracking, place, status)
	}
	if s := trackingStatus(); s != "READY_FOR_PICKUP" {
		t.Errorf("tracking after the arrival: %s; want READY_FOR_PICKUP", s)
	}
	focused("scan")
	if v := eval(`document.getElementById('scan').value`); v != "" {
		t.Errorf("the scan field after the arrival: %q; want it cleared", v)
	}
	waitFor("the count on the shelf", `document.getElementById('count-on-shelf').dataset.count === '1'`)
	browsertest.Screenshots(t, ctx, "counter-arrival")
	browsertest.Audit(t, ctx, "/counter, signed in, a parcel scanned in")

	// Pickup: F3, scan again; the panel shows the place and the amount.
	keys(kb.F3)
	if m := eval(`document.querySelector('input[name=mode]:checked').value`); m != "pickup" {
		t.Fatalf("after F3 the mode is %q; want pickup", m)
	}
	focused("scan")
	keys(tracking, kb.Enter)
	waitFor("the pickup's panel", `document.getElementById('counter').dataset.pickup === 'tracking'`)
	focused("pickup-id")
	// A scanner's code while the panel waits goes to the scan field, and its
	// Enter finds the parcel again rather than confirming anything.
	eval(`document.getElementById('pickup-id').checked = true; ''`) // a mark: the panel opened anew unchecks it
	keys(tracking, kb.Enter)
	waitFor("the panel anew", `!document.getElementById('pickup-id').checked && document.getElementById('counter').dataset.pickup === 'tracking' && document.activeElement.id === 'pickup-id'`)
	if s := trackingStatus(); s != "READY_FOR_PICKUP" || eval(`document.getElementById('scan').value`) != "" {
		t.Fatalf("a scan into the pickup's panel: the parcel is %s; want it still READY_FOR_PICKUP, the scan field cleared", s)
	}
	if got := eval(`document.getElementById('pickup-place').textContent + ' | ' + document.getElementById('payment-title').textContent`); !strings.HasPrefix(got, place+" | ") || !strings.Contains(got, "49.90") {
		t.Errorf("the pickup panel shows %q; want shelf place %s and 49.90 to take", got, place)
	}
	if r := eval(`document.getElementById('pickup-recipient').textContent`); !strings.Contains(r, "Maija Meikäläinen") {
		t.Errorf("the pickup panel's recipient: %q", r)
	}
	// Enter without the ID checked: refused on the page, nothing sent.
	keys(kb.Enter)
	waitFor("the ID not confirmed", `document.getElementById('pickup-alert').textContent.includes('Check the ID')`)
	focused("pickup-id")
	browsertest.Screenshots(t, ctx, "counter-pickup")
	browsertest.Audit(t, ctx, "/counter, a pickup to confirm")
	// Space: ID checked; Tab past "collected by" to the payment; Space: cash;
	// Tab to the receipt, its number and Enter.
	keys(" ", kb.Tab)
	focused("by-recipient")
	keys(kb.Tab)
	focused("pay-cash")
	keys(" ", kb.Tab)
	focused("pay-reference")
	keys("R-1234", kb.Enter)
	waitFor("the pickup's result", `!!document.querySelector('#result .result-card[data-kind=pickup]')`)
	if got := eval(`document.querySelector('#result .result-card').dataset.place + ' | ' + document.getElementById('result').textContent`); !strings.HasPrefix(got, place+" | ") ||
		!strings.Contains(got, "handed over") || !strings.Contains(got, "paid in cash") {
		t.Errorf("after the pickup the page shows %q; want shelf place %s, handed over, paid in cash", got, place)
	}
	focused("scan")
	if s := trackingStatus(); s != "PICKED_UP" {
		t.Errorf("tracking after the pickup: %s; want PICKED_UP", s)
	}
	var got struct {
		PickedUp struct {
			LocationID string `json:"location_id"`
			By         string `json:"by"`
			ClerkID    string `json:"clerk_id"`
		} `json:"picked_up"`
		COD struct {
			CollectedAt *time.Time `json:"collected_at"`
			Method      string     `json:"method"`
			TerminalRef string     `json:"terminal_ref"`
		} `json:"cod"`
	}
	if code := call(t, "GET", base+"/v1/shipments/"+sh.ID, key, nil, &got); code != 200 || got.PickedUp.LocationID != counterOutlet ||
		got.PickedUp.By != "recipient" || got.PickedUp.ClerkID == "" || got.COD.CollectedAt == nil || got.COD.Method != "cash" || got.COD.TerminalRef != "R-1234" {
		t.Errorf("the retailer's shipment after the pickup: %d %+v", code, got)
	}
	if place, _ := shelf(); place != "" {
		t.Errorf("the parcel is still on the shelf, at %s", place)
	}
	browsertest.Screenshots(t, ctx, "counter-picked-up")
	browsertest.Audit(t, ctx, "/counter, a parcel handed over")
	// Scanned again: no longer on the shelf, said next to the scan field.
	keys(tracking, kb.Enter)
	waitFor("the parcel gone from the shelf", `document.getElementById('desk-alert').textContent.includes('is not on this outlet')`)
	focused("scan")

	// The second parcel: in with F2, out with F3 and the pickup code of its
	// notice, to a representative with a power of attorney.
	keys(kb.F2, second.TrackingCode, kb.Enter)
	waitFor("the second arrival", `(document.querySelector('#result .result-card[data-kind=arrival]') || {dataset: {}}).dataset.tracking === '`+second.TrackingCode+`'`)
	secondPlace := eval(`document.querySelector('#result .result-card').dataset.place`)
	var pickupCode string
	eventually(t, "the notice of arrival of "+second.TrackingCode, func() bool {
		var box struct {
			Messages []struct {
				TrackingCode string `json:"tracking_code"`
				Text         string `json:"text"`
			}
		}
		if call(t, "GET", base+"/dev/outbox?limit=1000", operator, nil, &box) != 200 {
			return false
		}
		for _, m := range box.Messages {
			if c := counterPickupCode.FindStringSubmatch(m.Text); m.TrackingCode == second.TrackingCode && c != nil {
				pickupCode = c[1]
				return true
			}
		}
		return false
	})
	keys(kb.F3, pickupCode, kb.Enter)
	waitFor("the pickup code's panel", `document.getElementById('counter').dataset.pickup === 'code'`)
	focused("pickup-id")
	keys(" ", kb.Tab)
	focused("by-recipient")
	keys(kb.ArrowDown, kb.Tab)
	focused("rep-name")
	keys("Matti Meikäläinen", kb.Tab)
	focused("rep-poa")
	keys(kb.Enter) // the power of attorney not confirmed yet
	waitFor("the power of attorney not confirmed", `document.getElementById('pickup-alert').textContent.includes('power of attorney')`)
	keys(" ", kb.Enter)
	waitFor("the representative's pickup", `(document.querySelector('#result .result-card[data-kind=pickup]') || {dataset: {}}).dataset.tracking === '`+second.TrackingCode+`'`)
	if got := eval(`document.querySelector('#result .result-card').dataset.place + ' | ' + document.getElementById('result').textContent`); !strings.HasPrefix(got, secondPlace+" | ") ||
		!strings.Contains(got, "representative Matti Meikäläinen") {
		t.Errorf("after the representative's pickup the page shows %q; want shelf place %s and the representative", got, secondPlace)
	}
	var rep struct {
		Status   string                              `json:"status"`
		PickedUp struct{ By, Representative string } `json:"picked_up"`
	}
	if code := call(t, "GET", base+"/v1/shipments/"+second.ID, key, nil, &rep); code != 200 || rep.Status != "PICKED_UP" ||
		rep.PickedUp.By != "representative" || rep.PickedUp.Representative != "Matti Meikäläinen" {
		t.Errorf("the second shipment after the pickup: %d %+v", code, rep)
	}
	focused("scan")

	// Sign out: the cookie no longer works. An operator is told the
	// counter is for a clerk.
	keys(kb.F2)
	if err := chromedp.Do(ctx, chromedp.Click(".counter-clerk .signout")); err != nil {
		t.Fatal(err)
	}
	waitFor("signed out", `document.getElementById('counter').dataset.state === 'signed-out'`)
	if got := eval(`fetch('/v1/session').then(r => String(r.status))`); got != "401" {
		t.Errorf("the session after signing out: %s; want 401", got)
	}
	keys(operator, kb.Enter)
	waitFor("the operator's notice", `document.getElementById('counter').dataset.state === 'not-clerk'`)
	if txt := eval(`document.getElementById('not-clerk-text').textContent`); !strings.Contains(txt, "for an outlet's clerk") {
		t.Errorf("an operator at the counter reads %q", txt)
	}
	// The session outlives a reload (the page asks GET /v1/session), in Finnish.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/counter?lang=fi")); err != nil {
		t.Fatal(err)
	}
	waitFor("the operator's notice in Finnish", `document.getElementById('counter').dataset.state === 'not-clerk' && document.getElementById('not-clerk-text').textContent.includes('virkailijalle')`)
	browsertest.Screenshots(t, ctx, "counter-operator-fi")

	// A refusal in the page's language: the clerk, in Finnish, confirms a
	// pickup code no parcel on the shelf has, and reads the page's own
	// Finnish text (the API's reason is its error's code), not the API's
	// English message.
	if err := chromedp.Do(ctx, chromedp.Click("#not-clerk .signout")); err != nil {
		t.Fatal(err)
	}
	waitFor("signed out in Finnish", `document.getElementById('counter').dataset.state === 'signed-out'`)
	keys(clerk, kb.Enter)
	waitFor("the desk in Finnish", `document.getElementById('counter').dataset.state === 'ready'`)
	keys(kb.F3, "99999999", kb.Enter)
	waitFor("the wrong pickup code's panel", `document.getElementById('counter').dataset.pickup === 'code'`)
	keys(" ", kb.Enter)
	// Nothing to hand over: the panel closes, the refusal shows by the scan
	// field.
	waitFor("the wrong pickup code refused in Finnish", `document.getElementById('desk-alert').textContent.includes('Millään tämän hyllyn lähetyksellä ei ole tätä noutokoodia')`)
	focused("scan")
	browsertest.Screenshots(t, ctx, "counter-wrong-code-fi")
}
