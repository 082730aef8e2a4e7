package api_test

import (
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/lokero/lokero/api"
)

// TestUnroutedAnswers: a path without a route is answered 404 and a
// method a path does not take 405 with Allow, in lokero's JSON error
// shape, with none of the mux's plain text or headers; a path the mux
// cleans into a route is redirected as the mux does; every answer is
// counted, those without a route as "unmatched".
func TestUnroutedAnswers(t *testing.T) {
	t.Parallel()
	srv := api.New(nil, nil, slog.New(slog.DiscardHandler))
	srv.SetReady(true)
	tests := []struct {
		method, target string
		status         int
		header         map[string]string
		body           string
	}{
		{"GET", "/v1/nothing", 404, map[string]string{"Content-Type": "application/json"},
			`{"error":{"code":"no_route","message":"no such endpoint: GET /v1/nothing"}}`},
		{"GET", "/v1//nothing", 404, map[string]string{"Content-Type": "application/json"},
			`{"error":{"code":"no_route","message":"no such endpoint: GET /v1//nothing"}}`},
		{"HEAD", "/nothing", 404, map[string]string{"Content-Type": "application/json"},
			`{"error":{"code":"no_route","message":"no such endpoint: HEAD /nothing"}}`},
		{"DELETE", "/v1/locations", 405, map[string]string{"Content-Type": "application/json", "Allow": "GET, HEAD"},
			`{"error":{"code":"method_not_allowed","message":"DELETE is not allowed on /v1/locations; allowed: GET, HEAD"}}`},
		{"PUT", "/api/2/location/", 405, map[string]string{"Content-Type": "application/json", "Allow": "GET, HEAD"},
			`{"error":{"code":"method_not_allowed","message":"PUT is not allowed on /api/2/location/; allowed: GET, HEAD"}}`},
		{"GET", "/v1//locations?lat=1", 307, map[string]string{"Location": "/v1/locations?lat=1"}, ""},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))
		if rec.Code != tt.status {
			t.Errorf("%s %s: %d; want %d", tt.method, tt.target, rec.Code, tt.status)
		}
		for name, want := range tt.header {
			if got := rec.Header().Get(name); got != want {
				t.Errorf("%s %s: %s %q; want %q", tt.method, tt.target, name, got, want)
			}
		}
		if tt.body != "" {
			if got := strings.TrimSpace(rec.Body.String()); got != tt.body {
				t.Errorf("%s %s: %s; want %s", tt.method, tt.target, got, tt.body)
			}
			if len(rec.Header()) != len(tt.header) {
				t.Errorf("%s %s: headers %v; want only %v", tt.method, tt.target, rec.Header(), tt.header)
			}
		}
	}
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{
		`lokero_http_requests_total{code="404",route="unmatched"} 3`,
		`lokero_http_requests_total{code="405",route="unmatched"} 2`,
		`lokero_http_requests_total{code="307",route="GET /v1/locations"} 1`,
		`lokero_http_request_duration_seconds_count{route="unmatched"} 5`,
	} {
		if !strings.Contains(rec.Body.String(), want+"\n") {
			t.Errorf("metrics: no %s", want)
		}
	}
}
