package api_test

import (
	"strings"
	"testing"

	"github.com/lokero/lokero/api"
)

// TestParseMapTiles: a tile server is an https XYZ template (http only on
// a developer's machine), its origin what the pages' CSP allows.
func TestParseMapTiles(t *testing.T) {
	t.Parallel()
	tests := []struct {
		url       string
		zoom      int
		allowHTTP bool
		origin    string // "" for an error
		want      string // in the error
	}{
		{"https://tiles.example.fi/{z}/{x}/{y}.png", 19, false, "https://tiles.example.fi", ""},
		{"https://tiles.example.fi:8443/osm/{z}/{x}/{y}@2x.png?key=k", 18, false, "https://tiles.example.fi:8443", ""},
		{"http://127.0.0.1:8080/{z}/{x}/{y}.png", 19, true, "http://127.0.0.1:8080", ""},
		{"http://tiles.example.fi/{z}/{x}/{y}.png", 19, false, "", "must be https"},
		{"https://tiles.example.fi/{z}/{x}.png", 19, false, "", "{z}, {x} and {y}"},
		{"/tiles/{z}/{x}/{y}.png", 19, false, "", "absolute URL"},
		{"https://user:pw@tiles.example.fi/{z}/{x}/{y}.png", 19, false, "", "absolute URL"},
		{"https://tiles.example.fi/{z}/{x}/{y}.png'; script-src *", 19, false, "", "no URL has"},
		{"https://tiles.example.fi/{z}/{x}/{y}.png", 23, false, "", "0 to 22"},
		{"ftp://tiles.example.fi/{z}/{x}/{y}.png", 19, true, "", "https"},
	}
	for _, tt := range tests {
		tiles, origin, err := api.ParseMapTiles(tt.url, "© OpenStreetMap contributors", tt.zoom, tt.allowHTTP)
		if tt.origin != "" {
			if err != nil || origin != tt.origin || tiles.URL != tt.url || tiles.MaxZoom != tt.zoom {
				t.Errorf("ParseMapTiles(%q) = %+v, %q, %v; want origin %s", tt.url, tiles, origin, err, tt.origin)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ParseMapTiles(%q): %v; want an error saying %q", tt.url, err, tt.want)
		}
	}
}

// TestMapHTTP: GET /v1/map answers null until the operator sets a tile
// server, then its template, to any origin.
func TestMapHTTP(t *testing.T) {
	t.Parallel()
	f := newLockerFixture(t)
	status, h, out := f.do(t, "GET", "/v1/map", "", nil)
	if status != 200 || strings.TrimSpace(string(out)) != `{"tiles":null}` || h.Get("Access-Control-Allow-Origin") != "*" {
		t.Errorf("GET /v1/map without tiles: %d %s %v", status, out, h)
	}
	tiles, _, err := api.ParseMapTiles("https://tiles.example.fi/{z}/{x}/{y}.png", "© OpenStreetMap contributors", 18, false)
	if err != nil {
		t.Fatal(err)
	}
	f.srv.SetMapTiles(tiles)
	status, _, out = f.do(t, "GET", "/v1/map", "", nil)
	m := decode[struct {
		Tiles *struct {
			URL         string
			Attribution string
			MaxZoom     int `json:"max_zoom"`
		}
	}](t, out)
	if status != 200 || m.Tiles == nil || m.Tiles.URL != tiles.URL || m.Tiles.Attribution != tiles.Attribution || m.Tiles.MaxZoom != 18 {
		t.Errorf("GET /v1/map with tiles: %d %s", status, out)
	}
	if status, _, _ := f.do(t, "GET", "/v1/map?z=1", "", nil); status != 400 {
		t.Errorf("GET /v1/map?z=1: %d; want 400", status)
	}
}
