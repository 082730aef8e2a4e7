package web

import "net/http"

// opsData is the data of the operator's dashboard (/ops): the network at a
// glance from the operator's API (GET /v1/network, /v1/network/occupancy,
// /v1/stranded, /v1/notifications, /v1/devices), one locker's compartments
// and collection list, and closing or reopening a point (PATCH
// /v1/locations/{id}). The operator signs in with their token (POST
// /v1/session): the page keeps only the session's HttpOnly cookie, never
// the token. English only; every text is in ops.html, ops.js fills them
// in.
func opsData(r *http.Request) any {
	return map[string]any{"Lang": "en", "Title": "Operations"}
}
