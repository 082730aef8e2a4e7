package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"image/png"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/serviceworker"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/lokero/lokero/browsertest"
	"github.com/lokero/lokero/demo"
)

// pickedOption is an option of the pickup-point selector as the page
// shows it.
type pickedOption struct {
	ID       string `json:"id"`
	Text     string `json:"text"`
	Selected bool   `json:"selected"`
}

// options reads the selector's options.
func options(t *testing.T, ctx context.Context) []pickedOption {
	t.Helper()
	opts, err := chromedp.Run(ctx, chromedp.Evaluate[[]pickedOption](`Array.from(document.querySelectorAll('lokero-pickup-point [role=option]')).map(o => ({
		id: o.dataset.id || '', text: o.textContent, selected: o.getAttribute('aria-selected') === 'true'}))`))
	if err != nil {
		t.Fatalf("read the options: %v", err)
	}
	return opts
}

// waitReady waits until the selector painted its list.
func waitReady(t *testing.T, ctx context.Context) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		_, err := chromedp.Run(ctx, chromedp.Poll[bool](`(() => { const e = document.querySelector('lokero-pickup-point'); return !!e && e.dataset.state === 'ready'; })()`,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(time.Until(deadline))))
		if err == nil {
			return
		}
		// A page still navigating destroys the context the poll runs in
		// ("Cannot find context with specified id"): poll the new page.
		navigating := strings.Contains(err.Error(), "Cannot find context with specified id") ||
			strings.Contains(err.Error(), "Execution context was destroyed")
		if !navigating || time.Now().After(deadline) {
			t.Fatalf("the selector never became ready: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestHomePage: the home page explains the platform and links to the demo
// checkout; it passes the accessibility audit.
func TestHomePage(t *testing.T) {
	t.Parallel()
	ctx := browsertest.New(t, 60*time.Second)
	base := startServe(t, "--db", t.TempDir()+"/lokero.db", "--mqtt-listen", "off")
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/")); err != nil {
		t.Fatal(err)
	}
	link, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.querySelector('main a[href="/demo/checkout"]') || {}).textContent || ''`))
	if err != nil || link == "" {
		t.Errorf("the home page has no link to the demo checkout (%v)", err)
	}
	browsertest.Screenshots(t, ctx, "home")
	browsertest.Audit(t, ctx, "/")
}

// TestCheckoutSelector: the demo shop's checkout embeds the selector,
// which lists the points near 00100 (nearest first, with distances); a
// shopper with a keyboard alone picks one: the selector fires its event
// (the page shows the choice) and fills the form's field, which the order
// carries; the choice is remembered for the next visit.
func TestCheckoutSelector(t *testing.T) {
	t.Parallel()
	ctx := browsertest.New(t, 90*time.Second)
	base := startServe(t, "--db", t.TempDir()+"/lokero.db", "--mqtt-listen", "off")

	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/demo/checkout?lang=en")); err != nil {
		t.Fatal(err)
	}
	waitReady(t, ctx)
	if painted, err := chromedp.Run(ctx, chromedp.Evaluate[float64](`window.__lokeroFirstPaint || 0`)); err == nil && painted > 0 {
		t.Logf("first list painted %.0f ms after navigation started (demo network, loopback)", painted)
	}
	opts := options(t, ctx)
	if len(opts) < 3 {
		t.Fatalf("the selector lists %d points for 00100; want several: %+v", len(opts), opts)
	}
	for _, o := range opts {
		if o.ID == "" || !strings.Contains(o.Text, "m") {
			t.Errorf("option %+v: want a point ID and a distance", o)
		}
	}
	browsertest.Screenshots(t, ctx, "checkout-listed")
	browsertest.Audit(t, ctx, "/demo/checkout")

	// Keyboard only: Tab until the list has the focus, then the second
	// point, then Enter.
	focused := false
	for range 25 {
		if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.Tab)); err != nil {
			t.Fatal(err)
		}
		role, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement && document.activeElement.getAttribute('role') || ''`))
		if err != nil {
			t.Fatal(err)
		}
		if role == "listbox" {
			focused = true
			break
		}
	}
	if !focused {
		t.Fatal("Tab never reached the list of points")
	}
	if err := chromedp.Do(ctx, chromedp.KeyEvent(kb.ArrowDown), chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatal(err)
	}
	field, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('input[type=hidden][name=pickup_point]').value`))
	if err != nil {
		t.Fatal(err)
	}
	opts = options(t, ctx)
	var chosen pickedOption
	for _, o := range opts {
		if o.Selected {
			chosen = o
		}
	}
	if field == "" || chosen.ID != field {
		t.Fatalf("after ArrowDown and Enter the field is %q and the selected option %+v; want them the same point", field, chosen)
	}
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('choice').dataset.id || ''`))
	if err != nil || shown != field {
		t.Errorf("the page's lokero-select listener saw %q (%v); want %q", shown, err, field)
	}
	browsertest.Screenshots(t, ctx, "checkout-chosen")
	browsertest.Audit(t, ctx, "/demo/checkout, a point chosen")

	// The order carries the field.
	if err := chromedp.Do(ctx, chromedp.Focus("#place-order"), chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatal(err)
	}
	got := ""
	for deadline := time.Now().Add(15 * time.Second); got == "" && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
		// Errors while the page navigates: try again.
		got, _ = chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById('chosen-point') || {}).textContent || ''`))
	}
	if got != field {
		href, _ := chromedp.Run(ctx, chromedp.Location())
		t.Errorf("the order's pickup point is %q; want %q (page %s)", got, field, href)
	}

	// The next visit to the shop starts with the same point chosen.
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/demo/checkout?lang=en")); err != nil {
		t.Fatal(err)
	}
	waitReady(t, ctx)
	again, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('input[type=hidden][name=pickup_point]').value`))
	if err != nil || again != field {
		t.Errorf("on the next visit the field is %q (%v); want the remembered %q", again, err, field)
	}
}

// TestTrackingPage: /t/{code} shows the parcel's journey in the reader's
// language and nothing personal (no recipient's name, address, phone or
// e-mail, no opening code); it turns to "ready for pickup", with the date
// to pick up by, when the parcel arrives, without a reload.
func TestTrackingPage(t *testing.T) {
	t.Parallel()
	rig := startLockerRig(t, "sqlite")
	id, tracking := emailOnlyParcel(t, rig.base, rig.key, "maija.meikalainen@example.fi")
	ctx := browsertest.New(t, 90*time.Second)

	state := func(want string) string {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById('tracking').dataset.status === '`+want+`'`,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second))); err != nil {
			t.Fatalf("the tracking page never showed %s: %v", want, err)
		}
		text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('tracking').innerText`))
		if err != nil {
			t.Fatal(err)
		}
		return text
	}
	private := []string{"Maija", "maija", "Mannerheimintie 5 A", "0401234567", "Meikäläinen", "meikalainen"}

	if err := chromedp.Do(ctx, chromedp.Navigate(rig.base+"/t/"+tracking+"?lang=fi")); err != nil {
		t.Fatal(err)
	}
	text := state("CREATED")
	if !strings.Contains(text, tracking) || !strings.Contains(text, "Vaiheet") {
		t.Errorf("the booked parcel's page in Finnish: %q", text)
	}
	browsertest.Screenshots(t, ctx, "tracking-created")
	browsertest.Audit(t, ctx, "/t/{code}, booked")

	depositAtDemoLocker(t, rig.base, rig.courier, rig.device, id, tracking)
	// The page polls every 30 s while visible; a return to the tab asks at once.
	if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.dispatchEvent(new Event('visibilitychange'))`)); err != nil {
		t.Fatal(err)
	}
	text = state("READY_FOR_PICKUP")
	if !strings.Contains(text, "Nouda viimeistään") || !strings.Contains(text, "Helsinki") {
		t.Errorf("the ready parcel's page: %q; want the date to pick up by and the place's city", text)
	}
	// The notice of arrival sent again, for the recipient's postcode only,
	// to the recipient's own e-mail: the page shows no code and no QR.
	arrivals := func() int {
		t.Helper()
		var box struct {
			Messages []struct {
				TrackingCode string `json:"tracking_code"`
				Kind         string `json:"kind"`
			}
		}
		if call(t, "GET", rig.base+"/dev/outbox?limit=1000", rig.operator, nil, &box) != 200 {
			t.Fatal("the outbox")
		}
		n := 0
		for _, m := range box.Messages {
			if m.TrackingCode == tracking && m.Kind == "arrival" {
				n++
			}
		}
		return n
	}
	noticeCode(t, rig.base, rig.operator, tracking) // the first notice is queued
	before := arrivals()
	again := func(postcode string) string {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById('resend-postcode').value = ''; document.querySelector('.resend-out').textContent = ''`),
			chromedp.SendKeys("#resend-postcode", postcode+kb.Enter)); err != nil {
			t.Fatal(err)
		}
		out, err := chromedp.Run(ctx, chromedp.Poll[string](`document.querySelector('.resend-out').textContent`,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
		if err != nil {
			t.Fatalf("the notice again for %s: %v", postcode, err)
		}
		return out
	}
	if got := again("00100"); !strings.Contains(got, "ei ole vastaanottajan") {
		t.Errorf("the notice again for another postcode: %q; want refused", got)
	}
	if got := again("00104"); !strings.Contains(got, "lähetettiin uudelleen") {
		t.Errorf("the notice again for the recipient's postcode: %q; want sent", got)
	}
	if after := arrivals(); after != before+1 {
		t.Errorf("notices of arrival in the outbox: %d before, %d after; want one more (to the recipient's e-mail)", before, after)
	}
	html, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range private {
		if strings.Contains(html, p) {
			t.Errorf("the tracking page shows %q", p)
		}
	}
	if code := noticeCode(t, rig.base, rig.operator, tracking); strings.Contains(html, code) {
		t.Errorf("the tracking page shows the opening code %s", code)
	}
	browsertest.Screenshots(t, ctx, "tracking-ready")
	browsertest.Audit(t, ctx, "/t/{code}, ready for pickup")
}

// TestReturnsPage: a consumer with the tracking code and their postcode
// gets the return code, the label (a PDF) and the points near them; a
// wrong postcode gets a plain answer and nothing else.
func TestReturnsPage(t *testing.T) {
	t.Parallel()
	rig := startLockerRig(t, "sqlite")
	key := lastLine(t, "retailer", "add", "--db", rig.db, "--free-returns", "Palautuskauppa")
	_, tracking := emailOnlyParcel(t, rig.base, key, "returner@example.fi")
	var want struct {
		ReturnCode         string `json:"return_code"`
		ReturnTrackingCode string `json:"return_tracking_code"`
	}
	ctx := browsertest.New(t, 90*time.Second)
	if err := chromedp.Do(ctx, chromedp.Navigate(rig.base+"/returns?lang=en")); err != nil {
		t.Fatal(err)
	}
	browsertest.Audit(t, ctx, "/returns")
	ask := func(postcode string) {
		t.Helper()
		if err := chromedp.Do(ctx,
			chromedp.Evaluate[chromedp.Void](`document.getElementById('tracking_code').value = ''; document.getElementById('postcode').value = ''`),
			chromedp.SendKeys("#tracking_code", tracking), chromedp.SendKeys("#postcode", postcode+kb.Enter)); err != nil {
			t.Fatal(err)
		}
	}
	ask("00100") // not the recipient's
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById('return-message').textContent.includes('No parcel')`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("a wrong postcode: no plain answer: %v", err)
	}
	if hidden, _ := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.getElementById('return-result').hidden`)); !hidden {
		t.Error("a wrong postcode showed a result")
	}
	// The outlet nearest 00104 stops taking returns: the points the page
	// lists are those that take them.
	var near struct {
		Locations []struct{ ID, Type string } `json:"locations"`
	}
	if status := call(t, "GET", rig.base+"/v1/locations?postcode=00104&limit=10", "", nil, &near); status != 200 {
		t.Fatalf("the points near 00104: %d", status)
	}
	collectOnly := ""
	for _, l := range near.Locations {
		if l.Type == "POSTOFFICE" || l.Type == "PICKUPPOINT" {
			collectOnly = l.ID
			break
		}
	}
	if collectOnly == "" {
		t.Fatalf("no outlet among the points near 00104: %+v", near.Locations)
	}
	if status := call(t, "PATCH", rig.base+"/v1/locations/"+collectOnly, rig.operator, map[string]any{"functions": []string{"collect"}}, nil); status != 200 {
		t.Fatalf("make %s collect-only: %d", collectOnly, status)
	}
	ask("00104")
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`!document.getElementById('return-result').hidden`, chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("no return code shown: %v", err)
	}
	if status := call(t, "POST", rig.base+"/v1/returns", "", map[string]string{"tracking_code": tracking, "postcode": "00104"}, &want); status != 200 {
		t.Fatalf("the return code from the API: %d", status)
	}
	shown, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[document.getElementById('return-code').textContent, document.getElementById('return-tracking').textContent]`))
	if err != nil || len(shown) != 2 || shown[0] != want.ReturnCode || shown[1] != want.ReturnTrackingCode {
		t.Errorf("the page shows %v (%v); want %s and %s", shown, err, want.ReturnCode, want.ReturnTrackingCode)
	}
	// The label form posts the same proof and gets a PDF.
	pdf, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch('/v1/returns/label.pdf', {method: 'POST',
		body: new URLSearchParams(new FormData(document.getElementById('label-form')))}).then(r => r.headers.get('Content-Type') + ' ' + r.status)`, chromedp.EvalAwaitPromise))
	if err != nil || pdf != "application/pdf 200" {
		t.Errorf("the label form's answer: %q (%v); want a PDF", pdf, err)
	}
	waitReady(t, ctx) // the points near 00104
	opts := options(t, ctx)
	if len(opts) == 0 {
		t.Error("no points near the consumer")
	}
	for _, o := range opts {
		if o.ID == collectOnly {
			t.Errorf("the returns page lists %s, which takes no returns (%q)", collectOnly, o.Text)
		}
	}
	browsertest.Screenshots(t, ctx, "returns")
	browsertest.Audit(t, ctx, "/returns, a return code shown")
}

// TestDemoKeypad: on a loopback --dev start, the web keypad of the demo
// building's locker opens the parcel's compartment for its code (typed on
// the keyboard, C + code + OK as at the locker) and its door's closing
// completes the pickup; a wrong code opens nothing.
func TestDemoKeypad(t *testing.T) {
	t.Parallel()
	rig := startLockerRig(t, "sqlite")
	id, tracking := emailOnlyParcel(t, rig.base, rig.key, "keypad@example.fi")
	compartment := depositAtDemoLocker(t, rig.base, rig.courier, rig.device, id, tracking)
	code := noticeCode(t, rig.base, rig.operator, tracking)
	ctx := browsertest.New(t, 90*time.Second)
	if err := chromedp.Do(ctx, chromedp.Navigate(rig.base+"/demo/lockers/"+demo.DemoLockerID)); err != nil {
		t.Fatal(err)
	}
	enter := func(digits string) string {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Evaluate[chromedp.Void](`document.getElementById('keypad-result').textContent = ''`),
			chromedp.KeyEvent("C"), chromedp.KeyEvent(digits), chromedp.KeyEvent(kb.Enter)); err != nil {
			t.Fatal(err)
		}
		out, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => { const t = document.getElementById('keypad-result').textContent; return t && t !== '…' ? t : ''; })()`,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
		if err != nil {
			t.Fatalf("the keypad never answered %s: %v", digits, err)
		}
		return out
	}
	if got := enter("12345678901"); strings.Contains(got, "opened") {
		t.Errorf("a wrong code: %q", got)
	}
	if got := enter(code); got != fmt.Sprintf("Door %d opened.", compartment) {
		t.Fatalf("the parcel's code: %q; want door %d opened", got, compartment)
	}
	browsertest.Screenshots(t, ctx, "demo-keypad-open")
	browsertest.Audit(t, ctx, "/demo/lockers/{id}")
	if err := chromedp.Do(ctx, chromedp.Click("#close-door")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById('keypad').dataset.closed === 'PICKED_UP'`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("closing the door did not complete the pickup: %v", err)
	}
	var sh struct{ Status string }
	if status := call(t, "GET", rig.base+"/v1/tracking/"+tracking, "", nil, &sh); status != 200 || sh.Status != "PICKED_UP" {
		t.Errorf("tracking after the web keypad: %d %s; want PICKED_UP", status, sh.Status)
	}
}

// TestCheckoutResidentsLocker: a building's own locker is offered to its
// residents only: with the shopper's street in that building, not without.
func TestCheckoutResidentsLocker(t *testing.T) {
	t.Parallel()
	ctx := browsertest.New(t, 90*time.Second)
	base := startServe(t, "--db", t.TempDir()+"/lokero.db", "--mqtt-listen", "off")
	offered := func(query string) bool {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(base+"/demo/checkout?lang=en&"+query)); err != nil {
			t.Fatal(err)
		}
		waitReady(t, ctx)
		for _, o := range options(t, ctx) {
			if o.ID == demo.DemoLockerID {
				return true
			}
		}
		return false
	}
	if !offered("postcode=00104&street=Mannerheimintie+5+A+1") {
		t.Error("a resident of the demo building is not offered its locker")
	}
	browsertest.Screenshots(t, ctx, "checkout-resident")
	if offered("postcode=00104") || offered("postcode=00100&street=Mannerheimintie+7") {
		t.Error("the demo building's locker is offered to a shopper who does not live there")
	}
}

// TestDemoFlow: the newcomer's demo on a loopback --dev start, through the
// pages alone: the demo shop's checkout books a real parcel to the locker
// chosen in the selector, a courier delivers it at once, the order's page
// shows the notice of arrival from the local outbox (the visitor signed in
// as the demo operator), the locker's web keypad opens the compartment with
// its code, and the tracking page shows the parcel picked up.
func TestDemoFlow(t *testing.T) {
	t.Parallel()
	ctx := browsertest.New(t, 120*time.Second)
	base := startServe(t, "--db", t.TempDir()+"/lokero.db", "--mqtt-listen", "off", "--dev")

	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/demo/checkout?lang=en&postcode=00104&street=Mannerheimintie+5+A+1")); err != nil {
		t.Fatal(err)
	}
	waitReady(t, ctx)
	if err := chromedp.Do(ctx, chromedp.Click(`lokero-pickup-point [role=option][data-id="`+demo.DemoLockerID+`"]`),
		chromedp.SendKeys("#name", "Maija Meikäläinen"), chromedp.Click("#place-order")); err != nil {
		t.Fatal(err)
	}
	notice, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => { const r = document.getElementById('order-result');
		return r && r.dataset.notice ? r.dataset.notice + '|' + r.dataset.tracking + '|' + document.getElementById('order-notice').textContent : ''; })()`,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))
	if err != nil {
		msg, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('order-message').textContent`))
		t.Fatalf("the order's page never showed its notice (%q): %v", msg, err)
	}
	parts := strings.SplitN(notice, "|", 3)
	if parts[0] != "shown" {
		t.Fatalf("the order's page: %q", notice)
	}
	tracking := parts[1]
	m := regexp.MustCompile(`Opening code: ([0-9]+)`).FindStringSubmatch(parts[2])
	if m == nil || !strings.Contains(parts[2], tracking) || !strings.Contains(parts[2], "shopper@example.com") {
		t.Fatalf("the notice on the order's page: %q; want the opening code, the tracking code and the address", parts[2])
	}
	browsertest.Screenshots(t, ctx, "demo-ordered")
	browsertest.Audit(t, ctx, "/demo/checkout, ordered")

	keypad, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('order-keypad').href`))
	if err != nil || !strings.HasSuffix(keypad, "/demo/lockers/"+demo.DemoLockerID) {
		t.Fatalf("the link to the web keypad: %q %v", keypad, err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(keypad), chromedp.KeyEvent(m[1]), chromedp.KeyEvent(kb.Enter)); err != nil {
		t.Fatal(err)
	}
	opened, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => { const t = document.getElementById('keypad-result').textContent; return t && t !== '…' ? t : ''; })()`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil || !strings.Contains(opened, "opened") {
		t.Fatalf("the web keypad with the notice's code: %q %v", opened, err)
	}
	if err := chromedp.Do(ctx, chromedp.Click("#close-door")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById('keypad').dataset.closed === 'PICKED_UP'`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		t.Fatalf("closing the door did not complete the pickup: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/t/"+tracking+"?lang=en")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById('tracking').dataset.status === 'PICKED_UP'`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Fatalf("the tracking page never showed the parcel picked up: %v", err)
	}
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('tracking').innerText`))
	if err != nil || strings.Contains(text, "Maija") || strings.Contains(text, m[1]) || strings.Contains(text, "shopper@example.com") {
		t.Errorf("the tracking page shows something personal: %q %v", text, err)
	}
	browsertest.Screenshots(t, ctx, "demo-picked-up")
}

// TestTrackingPush: the tracking page offers push notices while the
// parcel is on its way: its button asks the browser's permission and
// registers lokero's service worker (/sw.js, scope /); the service worker
// shows a pushed notice (delivered here by DevTools, as a push service
// would) with its title and text. Whether the browser reaches a push
// service to subscribe depends on the machine; the page says so either
// way.
func TestTrackingPush(t *testing.T) {
	t.Parallel()
	rig := startLockerRig(t, "sqlite")
	id, tracking := emailOnlyParcel(t, rig.base, rig.key, "push@example.fi")
	depositAtDemoLocker(t, rig.base, rig.courier, rig.device, id, tracking)
	ctx := browsertest.New(t, 90*time.Second)
	if err := chromedp.FromContext(ctx).Browser.Call(ctx, "Browser.grantPermissions",
		map[string]any{"permissions": []string{"notifications"}, "origin": rig.base}, nil); err != nil {
		t.Fatalf("grant notifications: %v", err)
	}
	// The service worker's registration, as DevTools reports it.
	registrations := make(chan serviceworker.RegistrationID, 8)
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
		events := cdp.Events(ctx, tab, serviceworker.WorkerRegistrationUpdated)
		go func() {
			for ev, err := range events {
				if err != nil {
					return
				}
				for _, r := range ev.Registrations {
					if r.ScopeURL == rig.base+"/" && !r.IsDeleted {
						select {
						case registrations <- r.RegistrationID:
						default:
						}
					}
				}
			}
		}()
		_, err := cdp.Call(ctx, tab, serviceworker.Enable, cdp.Empty{})
		return err
	})); err != nil {
		t.Fatal(err)
	}

	if err := chromedp.Do(ctx, chromedp.Navigate(rig.base+"/t/"+tracking+"?lang=en")); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`document.getElementById('tracking').dataset.status === 'READY_FOR_PICKUP'`,
		chromedp.WithPollingTimeout(15*time.Second))); err != nil {
		t.Fatalf("the tracking page never showed the parcel ready: %v", err)
	}
	browsertest.Screenshots(t, ctx, "tracking-push")
	browsertest.Audit(t, ctx, "/t/{code}, push notices offered")
	if err := chromedp.Do(ctx, chromedp.SendKeys("#push-postcode", "00104"), chromedp.Click("#push-subscribe")); err != nil {
		t.Fatal(err)
	}
	outcome, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => { const s = document.querySelector('.push');
		return s && s.dataset.push ? s.dataset.push + '|' + s.innerText : ''; })()`,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		t.Fatalf("the push button never finished: %v", err)
	}
	state, text, _ := strings.Cut(outcome, "|")
	switch state {
	case "on":
		if !strings.Contains(text, "Notices will come to this device") {
			t.Errorf("subscribed, the section says %q", text)
		}
	case "error":
		// No push service reachable (a headless browser without one): the
		// page says what failed.
		if !strings.Contains(text, "The notices could not be turned on:") {
			t.Errorf("a failed subscription says %q", text)
		}
		t.Logf("no push service for this browser: %q", text)
	default:
		t.Fatalf("the push button ended %q: %q", state, text)
	}
	script, err := chromedp.Run(ctx, chromedp.Evaluate[string](`navigator.serviceWorker.getRegistration('/').then(r => r && r.active ? r.active.scriptURL + ' ' + r.scope : '')`,
		chromedp.EvalAwaitPromise))
	if err != nil || script != rig.base+"/sw.js "+rig.base+"/" {
		t.Fatalf("the service worker: %q %v; want /sw.js at scope /", script, err)
	}

	var reg serviceworker.RegistrationID
	select {
	case reg = <-registrations:
	case <-time.After(10 * time.Second):
		t.Fatal("DevTools never reported the service worker's registration")
	}
	payload := `{"id":7,"kind":"arrival","title":"Your parcel has arrived","body":"Opening code: 123456.","url":"/t/` + tracking + `","tracking_code":"` + tracking + `","lang":"en"}`
	if err := chromedp.Do(ctx, chromedp.Func(func(ctx context.Context, tab *chromedp.Target) error {
		_, err := cdp.Call(ctx, tab, serviceworker.DeliverPushMessage, serviceworker.DeliverPushMessageParams{Origin: rig.base, RegistrationID: reg, Data: payload})
		return err
	})); err != nil {
		t.Fatalf("deliver a push: %v", err)
	}
	// The service worker tells the parcel's open page, which reads its
	// tracking again; the notice itself it shows where the browser allows
	// notices (chromium-headless-shell denies them whatever DevTools
	// grants, so that is not checked here).
	shown, err := chromedp.Run(ctx, chromedp.Poll[string](`document.getElementById('tracking').dataset.pushed || ''`,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		t.Fatalf("the service worker never passed the push on to the page: %v", err)
	}
	if want := "lokero:" + tracking + ":arrival Your parcel has arrived: Opening code: 123456."; shown != want {
		t.Errorf("the notice shown: %q; want %q", shown, want)
	}
}

// TestMapTiles: with the operator's own tile server (--map-tiles), the
// selector's map draws its tiles under the points, with the attribution,
// and the pages' policy lets the browser fetch them from there only.
func TestMapTiles(t *testing.T) {
	t.Parallel()
	var tile bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 256, 256))
	draw.Draw(img, img.Bounds(), &image.Uniform{color.RGBA{0xcc, 0xe5, 0xcc, 0xff}}, image.Point{}, draw.Src)
	if err := png.Encode(&tile, img); err != nil {
		t.Fatal(err)
	}
	var hits atomic.Int64
	tiles := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var z, x, y int
		if _, err := fmt.Sscanf(r.URL.Path, "/%d/%d/%d.png", &z, &x, &y); err != nil || z < 10 || z > 19 {
			http.Error(w, "no such tile", http.StatusNotFound)
			return
		}
		hits.Add(1)
		w.Header().Set("Content-Type", "image/png")
		w.Write(tile.Bytes())
	}))
	t.Cleanup(tiles.Close)
	base := startServe(t, "--db", t.TempDir()+"/lokero.db", "--mqtt-listen", "off", "--dev",
		"--map-tiles", tiles.URL+"/{z}/{x}/{y}.png", "--map-attribution", "© Test tiles")

	resp, err := http.Get(base + "/demo/checkout")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data: "+tiles.URL+";") {
		t.Errorf("the pages' policy with a tile server: %q", csp)
	}
	ctx := browsertest.New(t, 60*time.Second)
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/demo/checkout?lang=en&postcode=00100")); err != nil {
		t.Fatal(err)
	}
	waitReady(t, ctx)
	drawn, err := chromedp.Run(ctx, chromedp.Poll[string](`(() => {
		const imgs = document.querySelectorAll('lokero-pickup-point .lokero-pp-tiles image');
		const a = document.querySelector('lokero-pickup-point .lokero-pp-attribution');
		return imgs.length && a && !a.hidden ? imgs.length + ' ' + a.textContent : ''; })()`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)))
	if err != nil {
		t.Fatalf("the selector drew no tiles: %v", err)
	}
	if !strings.HasSuffix(drawn, " © Test tiles") {
		t.Errorf("tiles and attribution: %q", drawn)
	}
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`Array.from(document.querySelectorAll('lokero-pickup-point .lokero-pp-tiles image'))
		.every(i => i.getBBox().width > 0)`, chromedp.WithPollingTimeout(5*time.Second))); err != nil {
		t.Errorf("the tiles have no size: %v", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for hits.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if hits.Load() == 0 {
		t.Error("the browser fetched no tile from the tile server")
	}
	browsertest.Screenshots(t, ctx, "checkout-tiles")
}
