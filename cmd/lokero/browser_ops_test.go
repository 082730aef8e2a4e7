package main

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/lokero/lokero/browsertest"
	"github.com/lokero/lokero/demo"
)

// TestOpsDashboard: the operator signs in at /ops with their token (the
// page keeps no token and cannot read the session's cookie), sees the
// network, finds the demo building's locker, sees its occupancy change
// after a deposit when they refresh (keyboard only), opens its
// compartments, closes the point from the page and opens it again; every
// stage passes the accessibility audit.
func TestOpsDashboard(t *testing.T) {
	t.Parallel()
	rig := startLockerRig(t, "sqlite")
	ctx := browsertest.New(t, 180*time.Second)
	id := demo.DemoLockerID
	row := `tr[data-id="` + id + `"]`

	poll := func(what, js string, timeout time.Duration) {
		t.Helper()
		if _, err := chromedp.Run(ctx, chromedp.Poll[bool](js,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout))); err != nil {
			text, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('ops-status').textContent`))
			t.Fatalf("%s: %v (status line %q)", what, err, text)
		}
	}
	eval := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	press := func(selector string) { // focus and Enter: the keyboard alone
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Focus(chromedp.CSS(selector)), chromedp.KeyEvent(kb.Enter)); err != nil {
			t.Fatalf("press %s: %v", selector, err)
		}
	}
	pointStatus := func(want string) {
		t.Helper()
		var got string
		for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
			var loc struct {
				Status string `json:"status"`
			}
			if status := call(t, "GET", rig.base+"/v1/locations/"+id, "", nil, &loc); status != 200 {
				t.Fatalf("GET /v1/locations/%s: %d", id, status)
			}
			if got = loc.Status; got == want {
				return
			}
		}
		t.Fatalf("the point's status is %s; want %s", got, want)
	}

	// Signed out: the sign-in form.
	start := time.Now()
	if err := chromedp.Do(ctx, chromedp.Navigate(rig.base+"/ops")); err != nil {
		t.Fatal(err)
	}
	poll("the sign-in form", `!document.getElementById('signin').hidden && document.getElementById('dashboard').hidden`, 15*time.Second)
	if typ := eval(`document.getElementById('signin-token').type`); typ != "password" {
		t.Errorf("the token's field is of type %q; want password", typ)
	}
	if eval(`document.getElementById('demo-signin').hidden ? 'hidden' : 'shown'`) != "shown" {
		t.Error("on a loopback address the page offers no demo operator's sign-in")
	}
	browsertest.Screenshots(t, ctx, "ops-signin")
	browsertest.Audit(t, ctx, "/ops, signed out")

	// A wrong token is refused.
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#signin-token"), "lko_wrong"+kb.Enter)); err != nil {
		t.Fatal(err)
	}
	poll("the wrong token refused", `document.getElementById('ops-status').textContent.includes('no operator')`, 10*time.Second)

	// Sign in: type the token and Enter.
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#signin-token"), rig.operator+kb.Enter)); err != nil {
		t.Fatal(err)
	}
	poll("the dashboard ready", `document.getElementById('main').dataset.state === 'ready'`, 30*time.Second)
	t.Logf("signed in and the network drawn %v after navigating", time.Since(start).Round(time.Millisecond))
	if v := eval(`document.getElementById('signin-token').value`); v != "" {
		t.Errorf("the token stays in the form after sign-in: %q", v)
	}
	if n := eval(`String(localStorage.length + sessionStorage.length)`); n != "0" {
		t.Errorf("the page stored %s items in localStorage/sessionStorage; want none", n)
	}
	if c := eval(`document.cookie`); strings.Contains(c, "lokero_session") {
		t.Errorf("script reads the session's cookie (%q): it must be HttpOnly", c)
	}
	if dots := eval(`String(document.querySelectorAll('#map path.dot').length)`); dots == "0" {
		t.Error("the map draws no locker")
	}
	if rows := eval(`String(document.querySelectorAll('#lockers-body tr').length)`); rows != "50" {
		t.Errorf("the table lists %s lockers; want the 50 fullest", rows)
	}
	browsertest.Screenshots(t, ctx, "ops-network")

	// The demo building's locker, through the filter.
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#filter"), id)); err != nil {
		t.Fatal(err)
	}
	poll("the filtered table", `document.querySelectorAll('#lockers-body tr').length === 1 && !!document.querySelector('`+row+`')`, 10*time.Second)
	occupied := func() string {
		return eval(`document.querySelector('` + row + ` [data-field=occupied]').textContent`)
	}
	if got := occupied(); got != "0" {
		t.Fatalf("the demo locker's occupied count is %q before any deposit; want 0", got)
	}
	browsertest.Screenshots(t, ctx, "ops-dashboard")
	browsertest.Audit(t, ctx, "/ops, signed in")

	// A deposit, then Refresh with the keyboard: the count is 1.
	shipment, tracking := emailOnlyParcel(t, rig.base, rig.key, "ops.test@example.fi")
	compartment := depositAtDemoLocker(t, rig.base, rig.courier, rig.device, shipment, tracking)
	loads, _ := strconv.Atoi(eval(`document.getElementById('main').dataset.loads`))
	press("#refresh")
	poll("the refreshed table", `+document.getElementById('main').dataset.loads > `+strconv.Itoa(loads)+
		` && document.getElementById('main').dataset.state === 'ready'`, 20*time.Second)
	if got := occupied(); got != "1" {
		t.Fatalf("after a deposit and Refresh the demo locker's occupied count is %q; want 1", got)
	}

	// The parcel's door forced open (the controller saw it open without
	// its lock): the drill-down marks it, for the operator to check.
	if status := call(t, "POST", rig.base+"/v1/devices/"+id+"/events", rig.device,
		map[string]any{"type": "door_opened", "compartment": compartment}, nil); status != 200 {
		t.Fatalf("door_opened: %d", status)
	}

	// Its compartments: the drill-down opens and takes the focus.
	press(row + ` button.details`)
	poll("the locker's details", `(() => { const d = document.getElementById('locker-detail');
		return !d.hidden && d.dataset.id === '`+id+`' && d.querySelectorAll('#compartments li').length > 0; })()`, 15*time.Second)
	if f := eval(`document.activeElement.id`); f != "detail-title" {
		t.Errorf("the focus is on #%s after opening the details; want #detail-title", f)
	}
	cell := eval(`(() => { const c = document.querySelector('#compartments li[data-number="` + strconv.Itoa(compartment) + `"]');
		return c ? c.dataset.state + '|' + c.textContent : ''; })()`)
	if !strings.HasPrefix(cell, "occupied|") || !strings.Contains(cell, tracking) || !strings.Contains(cell, "occupied") {
		t.Errorf("compartment %d shows %q; want occupied, with %s", compartment, cell, tracking)
	}
	if !strings.Contains(cell, "door forced open") || eval(`String(document.querySelector('#compartments li[data-number="`+strconv.Itoa(compartment)+`"]').classList.contains('door-forced'))`) != "true" {
		t.Errorf("compartment %d shows %q; want it marked door forced open", compartment, cell)
	}
	browsertest.Screenshots(t, ctx, "ops-locker")
	browsertest.Audit(t, ctx, "/ops, a locker's details")

	// Close the point from the page, confirmed in the page.
	press("#point-close")
	poll("the confirmation", `!document.getElementById('close-form').hidden && document.getElementById('close-from').value !== ''`, 5*time.Second)
	if f := eval(`document.activeElement.id`); f != "close-title" {
		t.Errorf("the focus is on #%s when asked to confirm; want #close-title", f)
	}
	browsertest.Screenshots(t, ctx, "ops-close-confirm")
	browsertest.Audit(t, ctx, "/ops, closing a point")
	press("#close-confirm")
	pointStatus("TEMPORARILY_CLOSED")
	poll("the page showing the point closed", `(() => { const d = document.getElementById('locker-detail');
		return d.dataset.status === 'TEMPORARILY_CLOSED' && !document.getElementById('point-open').hidden; })()`, 15*time.Second)
	if s := eval(`document.querySelector('` + row + `').textContent`); !strings.Contains(s, "temporarily closed") {
		t.Errorf("the table's row after closing: %q; want it temporarily closed", s)
	}
	browsertest.Screenshots(t, ctx, "ops-closed")

	// And open it again.
	press("#point-open")
	pointStatus("OPEN")
	poll("the page showing the point open", `document.getElementById('locker-detail').dataset.status === 'OPEN' && !document.getElementById('point-close').hidden`, 15*time.Second)

	// Sign out; the demo operator's button signs in again (loopback --dev).
	press("#signout")
	poll("signed out", `!document.getElementById('signin').hidden && document.getElementById('dashboard').hidden`, 10*time.Second)
	var who struct{}
	if status := call(t, "GET", rig.base+"/v1/session", "", nil, &who); status != 401 {
		t.Errorf("GET /v1/session without a cookie: %d; want 401", status)
	}
	press("#demo-signin-button")
	poll("the demo operator signed in", `document.getElementById('main').dataset.state === 'ready'`, 30*time.Second)
}
