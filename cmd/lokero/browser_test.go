package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/lokero/lokero/browsertest"
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
	if _, err := chromedp.Run(ctx, chromedp.Poll[bool](`(() => { const e = document.querySelector('lokero-pickup-point'); return !!e && e.dataset.state === 'ready'; })()`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))); err != nil {
		t.Fatalf("the selector never became ready: %v", err)
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
