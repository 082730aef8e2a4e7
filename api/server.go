// Package api is lokero's JSON API over HTTP: routing with net/http
// patterns, input checking, coded errors mapped to status codes, the
// OpenAPI document, health and metrics.
package api

import (
	"context"
	"crypto/subtle"
	_ "embed"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/service"
)

//go:embed openapi.json
var openAPIDocument []byte

// OpenAPIDocument returns the OpenAPI 3 description of the API.
func OpenAPIDocument() []byte { return openAPIDocument }

// Pinger reports whether a backing service (the database) answers.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Server serves the API. Its zero value is not usable: use New.
type Server struct {
	dir     *service.Directory
	db      Pinger
	log     *slog.Logger
	ready   atomic.Bool
	mux     *routeMux
	handler http.Handler
	metrics *metrics
	cache   atomic.Pointer[encodedSnapshot]

	shipments *service.Shipments
	lockers   *service.Lockers
	webhooks  *service.Webhooks

	// tiles is the operator's tile server for the pages' maps (maptiles.go).
	tiles mapTiles

	// sessionKey signs web sessions' cookies (session.go); nil: none.
	sessionKey  []byte
	crossOrigin *http.CrossOriginProtection
	// secureCookies marks the session's cookie Secure whatever the
	// request (SetSecureCookies).
	secureCookies bool
	// commands reaches lockers' controllers directly (SetLockerCommands);
	// nil without.
	commands LockerCommands
	// credentialChanged is LockerOptions.CredentialChanged.
	credentialChanged func(lokero.Credential)
	// limits are the rate limits (ratelimit.go); proxies the trusted
	// proxies whose forwarding headers are believed.
	limits  atomic.Pointer[limiterSet]
	proxies atomic.Pointer[[]netip.Prefix]
	// buffers recycles answer buffers: a search answer is several kB, and
	// at tens of thousands of answers a second the garbage shows in p99.
	buffers sync.Pool
	// jsonType is the Content-Type header's value of a JSON answer, set
	// straight into the header map and shared by every answer (with a
	// capacity of 1, an Add copies it rather than write into it).
	jsonType []string
	// registry serves /metrics; RegisterMetrics adds to it.
	registry *prometheus.Registry
	// metricsToken, when set, is the bearer token /metrics asks for
	// (SetMetricsToken).
	metricsToken []byte
}

// SetMetricsToken has GET /metrics answer only a request with the header
// "Authorization: Bearer TOKEN" (Prometheus's scrape_config
// authorization), and 401 any other; "" (the default) serves it to all.
// Call it before serving.
func (s *Server) SetMetricsToken(token string) {
	s.metricsToken = nil
	if token != "" {
		s.metricsToken = []byte(token)
	}
}

// guardMetrics serves metrics to the scraper holding the metrics token,
// when one is set.
func (s *Server) guardMetrics(metrics http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.metricsToken != nil {
			given, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(given), s.metricsToken) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="lokero metrics"`)
				writeError(w, r, s.log, &lokero.Error{Code: lokero.EUNAUTHORIZED, Reason: "invalid_token",
					Message: "/metrics needs the metrics token: Authorization: Bearer TOKEN (lokero serve --metrics-token)"})
				return
			}
		}
		metrics.ServeHTTP(w, r)
	}
}

// RegisterMetrics adds a collector to the metrics served at /metrics (the
// device protocol's, say, which the command wires).
func (s *Server) RegisterMetrics(c prometheus.Collector) error { return s.registry.Register(c) }

// New returns a server for the directory. It answers 503 until SetReady.
func New(dir *service.Directory, db Pinger, log *slog.Logger) *Server {
	s := &Server{dir: dir, db: db, log: log, mux: &routeMux{ServeMux: http.NewServeMux()},
		jsonType: []string{"application/json"}}
	reg := prometheus.NewRegistry()
	s.registry = reg
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	s.metrics = newMetrics(reg)
	reg.MustRegister(s.NotificationMetrics())
	s.SetRateLimits(DefaultRateLimits())
	// Outside the limit: a page of another origin reads the 429 too (and
	// waits as Retry-After says) rather than seeing a network error.
	directory := func(h http.HandlerFunc) http.HandlerFunc {
		return anyOrigin(s.perAddress(func(l *limiterSet) *keyedLimiter[netip.Addr] { return l.directory }, "directory requests", h))
	}

	s.mux.HandleFunc("GET /healthz", s.handleHealth)
	s.mux.HandleFunc("GET /metrics", s.guardMetrics(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	s.mux.HandleFunc("GET /openapi.json", s.handleOpenAPI)
	s.mux.HandleFunc("GET /v1/postcodes/{code}", directory(s.handlePostcode))
	s.mux.HandleFunc("GET /v1/places", directory(s.handlePlaces))
	s.mux.HandleFunc("GET /v1/locations", directory(s.handleLocations))
	s.mux.HandleFunc("GET /v1/locations/{id}", directory(s.handleLocation))
	s.mux.HandleFunc("GET /v1/statuses", directory(s.handleStatuses))
	s.mux.HandleFunc("GET /v1/map", directory(s.handleMap))
	posti := newPostiHandler(s) // the Posti-compatible Locations interface (posti.go)
	search, one := s.perAddressPosti(posti.handleSearch), s.perAddressPosti(posti.handleLocation)
	s.mux.HandleFunc("GET /api/2/location", search)
	s.mux.HandleFunc("GET /api/2/location/{$}", search)
	s.mux.HandleFunc("GET /api/2/location/{id}", one)
	s.mux.HandleFunc("GET /location", search)
	s.mux.HandleFunc("GET /location/{$}", search)
	s.mux.HandleFunc("GET /location/{id}", one)
	s.mux.HandleFunc("GET /api/2/openapi.json", handlePostiOpenAPI)
	s.handler = s.recoverPanics(http.HandlerFunc(s.route))
	return s
}

// EnableShipments serves the retailer's shipment API (and public tracking
// and returns) over sh. Call it before serving.
func (s *Server) EnableShipments(sh *service.Shipments) {
	s.shipments = sh
	s.registerShipmentRoutes()
	for outcome, count := range map[string]func() int64{
		"overflowed": func() int64 { n, _ := sh.TurnedAway(); return n },
		"refused":    func() int64 { _, n := sh.TurnedAway(); return n },
	} {
		s.registry.MustRegister(turnedAway("booking", outcome, count))
	}
}

// EnableDispatch exports the turn-aways of the evening's check (d) for
// /metrics, beside the booking's and the door's:
// lokero_turned_away_total{at="dispatch",outcome="rerouted"} (moved to
// another locker the evening before delivery) and {outcome="no_room"}
// (no locker near had room: left for the door); and beside them
// lokero_dispatch_moved_back_total, the bookings it moved back to the
// locker their shopper chose, which had room after all (they had
// overflowed elsewhere on a forecast). Call it before serving.
func (s *Server) EnableDispatch(d *service.Dispatch) {
	for outcome, count := range map[string]func() int64{
		"rerouted": func() int64 { n, _ := d.TurnedAway(); return n },
		"no_room":  func() int64 { _, n := d.TurnedAway(); return n },
	} {
		s.registry.MustRegister(turnedAway("dispatch", outcome, count))
	}
	s.registry.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "lokero_dispatch_moved_back_total",
		Help: "Bookings the evening's check before delivery moved back to the locker their shopper chose, which had room after all (they had overflowed to another on a forecast).",
	}, func() float64 { return float64(d.MovedBack()) }))
}

// SetReady marks the server ready (or not) to answer API calls.
func (s *Server) SetReady(ready bool) { s.ready.Store(ready) }

// ServeHTTP implements http.Handler.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.handler.ServeHTTP(w, r)
}

func (s *Server) handleHealth(w http.ResponseWriter, r *http.Request) {
	if !s.ready.Load() {
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "starting"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.db.Ping(ctx); err != nil {
		s.log.Error("health check: database", "err", err)
		writeJSON(w, http.StatusServiceUnavailable, map[string]string{"status": "database unavailable"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"status": "ok", "locations": s.dir.Snapshot().Len()})
}

func (s *Server) handleOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(openAPIDocument)
}

// route dispatches through the mux, answering unknown paths (404) and
// unknown methods on known paths (405, with Allow) with JSON errors
// instead of the mux's plain text, and counts and times every answer
// (instrument). The mux looks the route up once: while the request has
// no pattern, the answer is the mux's own, which the answer's writer keeps
// apart (its headers and status; the body dropped) for route to answer
// in JSON instead.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &statusRecorder{ResponseWriter: w, req: r}
	s.mux.ServeHTTP(rec, r)
	if r.Pattern == "" {
		mux := rec.mux
		rec.req = nil // route's own answer, for the client
		if mux.code == http.StatusMethodNotAllowed {
			allow := mux.header.Get("Allow")
			rec.Header().Set("Allow", allow)
			writeJSON(rec, http.StatusMethodNotAllowed, errorBody{Error: errorDetail{Code: "method_not_allowed",
				Message: r.Method + " is not allowed on " + r.URL.Path + "; allowed: " + allow}})
		} else {
			writeError(rec, r, s.log, &lokero.Error{Code: lokero.ENOTFOUND, Reason: "no_route", Message: "no such endpoint: " + r.Method + " " + r.URL.Path})
		}
	}
	s.instrument(rec, r, start)
}

// publicDirectory reports whether r asks one of the directory's public
// reads, which any origin may read (anyOrigin): GET /v1/postcodes/{code},
// /v1/places, /v1/locations, /v1/locations/{id}, /v1/statuses, /v1/map.
func publicDirectory(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
	switch p := r.URL.Path; p {
	case "/v1/places", "/v1/locations", "/v1/statuses", "/v1/map":
		return true
	default:
		for _, prefix := range []string{"/v1/postcodes/", "/v1/locations/"} {
			if rest, ok := strings.CutPrefix(p, prefix); ok {
				return rest != "" && !strings.Contains(rest, "/") // not /v1/locations/{id}/events, an operator's
			}
		}
		return false
	}
}

// recoverPanics turns a panic into a logged 500 with a JSON body, so that
// one bad request never takes the process down.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("panic serving request", "method", r.Method, "path", loggedPath(r), "panic", v, "stack", string(debug.Stack()))
				writeError(w, r, s.log, lokero.Errorf(lokero.EINTERNAL, "internal error"))
			}
		}()
		if !s.ready.Load() && r.URL.Path != "/healthz" && r.URL.Path != "/metrics" {
			if publicDirectory(r) {
				// Answered for the route's anyOrigin, which it does not reach.
				w.Header().Set("Access-Control-Allow-Origin", "*")
			}
			writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: errorDetail{Code: "starting", Message: "the server is starting; try again in a moment"}})
			return
		}
		next.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
}

// routeMux is a ServeMux that remembers the patterns registered on it, so
// that tests can hold every route to account (the authorisation matrix).
type routeMux struct {
	*http.ServeMux
	patterns []string
}

// Handle registers handler for pattern and remembers the pattern.
func (m *routeMux) Handle(pattern string, handler http.Handler) {
	m.patterns = append(m.patterns, pattern)
	m.ServeMux.Handle(pattern, handler)
}

// HandleFunc registers handler for pattern and remembers the pattern.
func (m *routeMux) HandleFunc(pattern string, handler func(http.ResponseWriter, *http.Request)) {
	m.Handle(pattern, http.HandlerFunc(handler))
}

// Routes lists the patterns the server answers ("POST /v1/shipments"), in
// the order they were registered.
func (s *Server) Routes() []string { return slices.Clone(s.mux.patterns) }

// probeWriter keeps the status and headers of an answer and drops its body.
type probeWriter struct {
	header http.Header
	code   int
}

// Header returns the answer's headers, made on first use.
func (p *probeWriter) Header() http.Header {
	if p.header == nil {
		p.header = http.Header{}
	}
	return p.header
}

func (p *probeWriter) Write(b []byte) (int, error) { return len(b), nil }
func (p *probeWriter) WriteHeader(code int)        { p.code = code }
