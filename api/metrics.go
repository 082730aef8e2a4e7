package api

import (
	"maps"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	// byRoute keeps each route's and status's counter and histogram once
	// used: looking them up in the vectors hashes the labels under a
	// lock, for every request. Made on first use, so that /metrics shows
	// the same series as without it; copied on write (under mu), so that
	// answers read it without a lock.
	byRoute atomic.Pointer[map[routeStatus]*routeMetrics]
	mu      sync.Mutex
}

// routeStatus is a route pattern (or "unmatched") and an answer's status.
type routeStatus struct {
	route  string
	status int
}

// routeMetrics are the series of a routeStatus.
type routeMetrics struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// observe counts an answer of route with status that took d.
func (m *metrics) observe(route string, status int, d time.Duration) {
	key := routeStatus{route, status}
	r := (*m.byRoute.Load())[key]
	if r == nil {
		r = m.add(key)
	}
	r.requests.Inc()
	r.duration.Observe(d.Seconds())
}

// add returns the series of key, adding them to byRoute.
func (m *metrics) add(key routeStatus) *routeMetrics {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := *m.byRoute.Load()
	if r := old[key]; r != nil {
		return r
	}
	r := &routeMetrics{
		requests: m.requests.WithLabelValues(key.route, strconv.Itoa(key.status)),
		duration: m.duration.WithLabelValues(key.route),
	}
	next := maps.Clone(old)
	next[key] = r
	m.byRoute.Store(&next)
	return r
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "lokero_http_requests_total",
			Help: "HTTP requests answered, by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "lokero_http_request_duration_seconds",
			Help:    "Time to answer HTTP requests, by route pattern.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1},
		}, []string{"route"}),
	}
	m.byRoute.Store(&map[routeStatus]*routeMetrics{})
	reg.MustRegister(m.requests, m.duration)
	return m
}

// statusRecorder is the writer of every answer (route's): it keeps the
// answer's status for the metrics and, while req has no route pattern
// (the mux answering a path or method it has no route for), keeps the
// mux's answer apart in mux instead of sending it.
type statusRecorder struct {
	http.ResponseWriter
	req    *http.Request // nil: nothing kept apart
	status int
	mux    probeWriter
}

// muxAnswers reports whether the mux is answering the request itself.
func (r *statusRecorder) muxAnswers() bool { return r.req != nil && r.req.Pattern == "" }

func (r *statusRecorder) Header() http.Header {
	if r.muxAnswers() {
		return r.mux.Header()
	}
	return r.ResponseWriter.Header()
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.muxAnswers() {
		r.mux.WriteHeader(code)
		return
	}
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.muxAnswers() {
		return r.mux.Write(b)
	}
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// instrument counts a request answered through rec and times it from
// start, per route pattern (never per raw path, so that the label set
// stays bounded).
func (s *Server) instrument(rec *statusRecorder, r *http.Request, start time.Time) {
	route := r.Pattern
	if route == "" || route == "/" {
		route = "unmatched"
	}
	if rec.status == 0 {
		rec.status = http.StatusOK
	}
	s.metrics.observe(route, rec.status, time.Since(start))
}

// turnedAway counts parcels a point had no room for: at booking
// (overflowed to another point, or refused), at the evening's check
// before delivery (dispatch: re-routed, or no room near) or at the door
// (re-routed).
func turnedAway(at, outcome string, count func() int64) prometheus.Collector {
	return prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name:        "lokero_turned_away_total",
		Help:        "Parcels their point had no room for, by where it was decided (booking, dispatch: the evening before delivery, or door) and what became of them.",
		ConstLabels: prometheus.Labels{"at": at, "outcome": outcome},
	}, func() float64 { return float64(count()) })
}
