package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
)

// MapTiles is the operator's own raster tile server, which the pages'
// maps (the pickup-point selector, the tracking page) draw under their
// points instead of the bundled outline of Finland: an XYZ template such
// as https://tiles.example.fi/{z}/{x}/{y}.png (Web Mercator, 256 px), the
// attribution its data's licence asks for, and its deepest zoom.
type MapTiles struct {
	URL         string `json:"url"`
	Attribution string `json:"attribution"`
	MaxZoom     int    `json:"max_zoom"`
}

// ParseMapTiles checks a tile server's template: an absolute https URL (or
// http with allowHTTP, for a tile server on the operator's own machine)
// with {z}, {x} and {y}, a zoom of 0..22. It returns the origin the
// pages' Content-Security-Policy must allow images from.
func ParseMapTiles(template, attribution string, maxZoom int, allowHTTP bool) (*MapTiles, string, error) {
	u, err := url.Parse(strings.ReplaceAll(strings.ReplaceAll(strings.ReplaceAll(template, "{z}", "0"), "{x}", "0"), "{y}", "0"))
	switch {
	case err != nil || u.Host == "" || u.User != nil:
		return nil, "", fmt.Errorf("map tiles %q: want an absolute URL such as https://tiles.example.fi/{z}/{x}/{y}.png", template)
	case u.Scheme != "https" && !(allowHTTP && u.Scheme == "http"):
		return nil, "", fmt.Errorf("map tiles %q: the tile server must be https (http only with --dev)", template)
	case !strings.Contains(template, "{z}") || !strings.Contains(template, "{x}") || !strings.Contains(template, "{y}"):
		return nil, "", fmt.Errorf("map tiles %q: the template needs {z}, {x} and {y}", template)
	case strings.ContainsAny(template, " \"'<>\\;"):
		return nil, "", fmt.Errorf("map tiles %q: the template has a character no URL has", template)
	case maxZoom < 0 || maxZoom > 22:
		return nil, "", fmt.Errorf("map tiles: the deepest zoom is 0 to 22; got %d", maxZoom)
	case len(attribution) > 300:
		return nil, "", fmt.Errorf("map tiles: the attribution is over 300 bytes")
	}
	return &MapTiles{URL: template, Attribution: attribution, MaxZoom: maxZoom}, u.Scheme + "://" + u.Host, nil
}

// mapTiles is the tile server GET /v1/map answers (nil: none).
type mapTiles = atomic.Pointer[MapTiles]

// SetMapTiles sets the tile server the pages' maps use (nil: the bundled
// outline of Finland only).
func (s *Server) SetMapTiles(t *MapTiles) { s.tiles.Store(t) }

// handleMap answers the pages' map configuration (GET /v1/map), to any
// origin: a shop's checkout embeds the selector.
func (s *Server) handleMap(w http.ResponseWriter, r *http.Request) {
	if err := checkQuery(r.URL.Query()); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.Header().Set("Cache-Control", "public, max-age=300")
	writeJSON(w, http.StatusOK, map[string]*MapTiles{"tiles": s.tiles.Load()})
}
