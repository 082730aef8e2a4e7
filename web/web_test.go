package web_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

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
	for _, path := range []string{"/", "/demo/checkout", "/demo/checkout?lang=sv&postcode=20100&pickup_point=X&name=%3Cb%3E", "/t/JJFI%3Cb%3E123", "/t/CL123456789FI?lang=sv", "/returns", "/returns?lang=sv"} {
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
