package web_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/web"
)

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	p, err := web.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	p.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string, header map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	// The transport must not unzip by itself: the test reads what came.
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, body
}

// hashedURL finds the hashed URL of an asset in a page.
func hashedURL(t *testing.T, page []byte, name string) string {
	t.Helper()
	base, ext, _ := strings.Cut(name, ".")
	m := regexp.MustCompile(`/static/` + regexp.QuoteMeta(base) + `\.[0-9a-f]{10}\.` + regexp.QuoteMeta(ext)).Find(page)
	if m == nil {
		t.Fatalf("no hashed URL of %s in the page", name)
	}
	return string(m)
}

// TestAssets: an asset under its hashed name is cached for a year, under
// its plain name (what a shop embeds) for five minutes; both gzipped for a
// client that takes it, plain otherwise; a repeated request with the ETag
// gets 304; any origin may load them.
func TestAssets(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	_, page := get(t, srv.URL+"/demo/checkout", nil)
	hashed := hashedURL(t, page, "pickup-point.js")
	tests := []struct {
		path, cache string
	}{
		{hashed, "public, max-age=31536000, immutable"},
		{"/static/pickup-point.js", "public, max-age=300"},
	}
	for _, tt := range tests {
		plain, body := get(t, srv.URL+tt.path, nil)
		if plain.StatusCode != 200 || plain.Header.Get("Cache-Control") != tt.cache || plain.Header.Get("Content-Encoding") != "" ||
			!strings.HasPrefix(plain.Header.Get("Content-Type"), "text/javascript") || !bytes.Contains(body, []byte("lokero-pickup-point")) {
			t.Errorf("GET %s: %d %v; want 200, %q, text/javascript, the selector", tt.path, plain.StatusCode, plain.Header, tt.cache)
		}
		if plain.Header.Get("Access-Control-Allow-Origin") != "*" || plain.Header.Get("Vary") != "Accept-Encoding" {
			t.Errorf("GET %s: headers %v; want any origin and Vary: Accept-Encoding", tt.path, plain.Header)
		}
		zipped, zbody := get(t, srv.URL+tt.path, map[string]string{"Accept-Encoding": "br, gzip"})
		if zipped.Header.Get("Content-Encoding") != "gzip" || len(zbody) >= len(body) {
			t.Errorf("GET %s with gzip accepted: %v, %d bytes against %d", tt.path, zipped.Header, len(zbody), len(body))
		} else if zr, err := gzip.NewReader(bytes.NewReader(zbody)); err != nil {
			t.Errorf("GET %s: not gzip: %v", tt.path, err)
		} else if unzipped, _ := io.ReadAll(zr); !bytes.Equal(unzipped, body) {
			t.Errorf("GET %s: the gzipped body is not the asset", tt.path)
		}
		again, _ := get(t, srv.URL+tt.path, map[string]string{"If-None-Match": plain.Header.Get("ETag")})
		if plain.Header.Get("ETag") == "" || again.StatusCode != http.StatusNotModified {
			t.Errorf("GET %s with its ETag %q: %d; want 304", tt.path, plain.Header.Get("ETag"), again.StatusCode)
		}
	}
	if resp, _ := get(t, srv.URL+"/static/gzip;q=0", map[string]string{"Accept-Encoding": "gzip;q=0"}); resp.StatusCode != 404 {
		t.Errorf("an unknown asset: %d; want 404", resp.StatusCode)
	}
	if resp, _ := get(t, srv.URL+"/static/pickup-point.js", map[string]string{"Accept-Encoding": "gzip;q=0"}); resp.Header.Get("Content-Encoding") != "" {
		t.Error("gzip;q=0 got gzip")
	}
}

// TestSelectorSize: the selector's script and styles stay within 50 kB
// gzipped (what a checkout loads).
func TestSelectorSize(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	total := 0
	for _, name := range []string{"pickup-point.js", "pickup-point.css"} {
		resp, body := get(t, srv.URL+"/static/"+name, map[string]string{"Accept-Encoding": "gzip"})
		if resp.StatusCode != 200 || resp.Header.Get("Content-Encoding") != "gzip" {
			t.Fatalf("GET %s: %d %v", name, resp.StatusCode, resp.Header)
		}
		total += len(body)
	}
	t.Logf("selector: %d bytes gzipped", total)
	if total > 50<<10 {
		t.Errorf("the selector is %d bytes gzipped; the budget is 50 kB", total)
	}
}

// TestPagesCSP: every page has the strict policy and carries no inline
// script, style or event handler that the policy would block.
func TestPagesCSP(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	inline := regexp.MustCompile(`(?i)<script(?:\s[^>]*)?>\s*[^<\s]|<style|\sstyle=|\son[a-z]+=|javascript:`)
	for _, path := range []string{"/", "/demo/checkout", "/demo/checkout?lang=sv&postcode=20100&pickup_point=X&name=%3Cb%3E", "/t/JJFI%3Cb%3E123", "/t/CL123456789FI?lang=sv", "/returns", "/returns?lang=sv", "/counter", "/counter?lang=en", "/counter?lang=%3Cx", "/ops"} {
		resp, body := get(t, srv.URL+path, nil)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
			t.Errorf("GET %s: %d %s", path, resp.StatusCode, resp.Header.Get("Content-Type"))
			continue
		}
		if got := resp.Header.Get("Content-Security-Policy"); got != web.CSP || !strings.Contains(got, "script-src 'self'") || strings.Contains(got, "unsafe") {
			t.Errorf("GET %s: CSP %q", path, got)
		}
		if m := inline.Find(body); m != nil {
			t.Errorf("GET %s: inline code %q the policy blocks", path, m)
		}
		if bytes.Contains(body, []byte("<b>")) {
			t.Errorf("GET %s: a query value reached the page unescaped", path)
		}
	}
	if resp, _ := get(t, srv.URL+"/nowhere", nil); resp.StatusCode != 404 {
		t.Errorf("GET /nowhere: %d; want 404 (the pages' mux serves only its routes)", resp.StatusCode)
	}
}

// fakeLockers is a DemoLockers that opens compartment 7 for code 1234.
type fakeLockers struct{}

func (fakeLockers) Keypad(_ context.Context, id, code string) (int, int64, error) {
	if code != "1234" {
		return 0, 0, &lokero.Error{Code: lokero.EUNAUTHORIZED, Reason: "wrong_code", Message: "wrong code"}
	}
	return 7, 0, nil
}

func (fakeLockers) CloseDoor(context.Context, string, int) (string, error) { return "PICKED_UP", nil }

func (fakeLockers) Order(_ context.Context, o web.DemoOrder) (web.DemoDelivery, error) {
	if o.PickupPoint == "" {
		return web.DemoDelivery{}, lokero.Invalid("pickup_point_id", "missing", "choose a pickup point")
	}
	return web.DemoDelivery{TrackingCode: "JJFI1", LocationID: o.PickupPoint, Locker: true, Compartment: 3, Status: "READY_FOR_PICKUP"}, nil
}

// TestDemoKeypadCalls: the web keypad's calls take JSON from this origin
// only, and answer a refusal with its status; without EnableDemoLockers
// (not a loopback --dev start) there is no web keypad at all.
func TestDemoKeypadCalls(t *testing.T) {
	t.Parallel()
	plain := newServer(t)
	if resp, _ := get(t, plain.URL+"/demo/lockers/L1", nil); resp.StatusCode != 404 {
		t.Errorf("the web keypad without the demo: %d; want 404", resp.StatusCode)
	}
	p, err := web.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	p.EnableDemoLockers(fakeLockers{})
	mux := http.NewServeMux()
	p.Register(mux)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	tests := []struct {
		name, contentType, origin, body string
		status                          int
		want                            string
	}{
		{"the code", "application/json", "", `{"code":"1234"}`, 200, `"compartment":7`},
		{"from this origin", "application/json", srv.URL, `{"code":"1234"}`, 200, `"compartment":7`},
		{"a wrong code", "application/json", "", `{"code":"9"}`, 401, `"wrong code"`},
		{"a form from anywhere", "application/x-www-form-urlencoded", "", `code=1234`, 415, `"invalid"`},
		{"another origin", "application/json", "https://evil.example", `{"code":"1234"}`, 403, `"forbidden"`},
		{"not JSON", "application/json", "", `{"code":`, 400, `"invalid"`},
	}
	order := []struct {
		body   string
		status int
		want   string
	}{
		{`{"name":"Maija","pickup_point":"L1"}`, 200, `"compartment":3`},
		{`{"name":"Maija"}`, 400, `choose a pickup point`},
		{`{"name":5}`, 400, `"invalid"`},
	}
	// post sends a demo call and returns its status and body.
	post := func(path, contentType, origin, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		req.Header.Set("Content-Type", contentType)
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(out)
	}
	for _, tt := range order {
		if status, body := post("/demo/orders", "application/json", "", tt.body); status != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("order %s: %d %s; want %d with %s", tt.body, status, body, tt.status, tt.want)
		}
	}
	for _, tt := range tests {
		if status, body := post("/demo/lockers/L1/keypad", tt.contentType, tt.origin, tt.body); status != tt.status || !strings.Contains(body, tt.want) {
			t.Errorf("%s: %d %s; want %d with %s", tt.name, status, body, tt.status, tt.want)
		}
	}
	if resp, page := get(t, srv.URL+"/demo/lockers/L1", nil); resp.StatusCode != 200 || resp.Header.Get("Content-Security-Policy") != web.CSP || !bytes.Contains(page, []byte(`data-id="L1"`)) {
		t.Errorf("the web keypad's page: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestServiceWorker: the service worker is served at the root (its scope
// is every page), checked for a new version on every navigation, and it
// shows a push's title and text and tells the open pages.
func TestServiceWorker(t *testing.T) {
	t.Parallel()
	srv := newServer(t)
	resp, body := get(t, srv.URL+"/sw.js", nil)
	if resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "javascript") ||
		resp.Header.Get("Cache-Control") != "no-cache" || resp.Header.Get("Service-Worker-Allowed") != "/" {
		t.Fatalf("GET /sw.js: %d %v", resp.StatusCode, resp.Header)
	}
	for _, want := range []string{`addEventListener("push"`, "showNotification", `addEventListener("notificationclick"`, "lokero-push"} {
		if !bytes.Contains(body, []byte(want)) {
			t.Errorf("the service worker lacks %s", want)
		}
	}
	if resp, _ := get(t, srv.URL+"/static/sw.js", nil); resp.StatusCode != 200 {
		t.Errorf("GET /static/sw.js: %d", resp.StatusCode)
	}
}
