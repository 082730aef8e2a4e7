package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/lokero/lokero"
)

// registerDevRoutes serves the development aids that opts asks for.
func (s *Server) registerDevRoutes(opts LockerOptions) {
	if opts.DevOutbox {
		s.mux.HandleFunc("GET /dev/outbox", s.handleOutbox)
	}
	if opts.DevClock != nil {
		clock := opts.DevClock
		s.mux.HandleFunc("POST /v1/admin/clock", func(w http.ResponseWriter, r *http.Request) { s.handleClock(w, r, clock) })
	}
}

func (s *Server) handleOutbox(w http.ResponseWriter, r *http.Request) {
	limit := 100
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, r, s.log, lokero.Invalid("limit", "out_of_range", "limit must be 1..1000; got %q", v))
			return
		}
		limit = n
	}
	msgs, err := s.lockers.Outbox(r.Context(), limit)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	type message struct {
		Channel      string    `json:"channel"`
		To           string    `json:"to"`
		TrackingCode string    `json:"tracking_code"`
		Kind         string    `json:"kind"`
		Text         string    `json:"text"`
		CreatedAt    time.Time `json:"created_at"`
	}
	out := struct {
		Messages []message `json:"messages"`
	}{Messages: make([]message, len(msgs))}
	for i, m := range msgs {
		// As it would be sent: the opening code filled in.
		if m, err = s.lockers.Render(m); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		out.Messages[i] = message{m.Channel, m.To, m.TrackingCode, m.Kind, m.Text, m.CreatedAt}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleClock(w http.ResponseWriter, r *http.Request, clock *lokero.DevClock) {
	var req struct {
		Advance string `json:"advance"`
	}
	if _, err := readJSON(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	d, err := time.ParseDuration(req.Advance)
	if err != nil || d <= 0 || d > 365*24*time.Hour {
		writeError(w, r, s.log, lokero.Invalid("advance", "malformed", "advance must be a positive duration up to a year, e.g. \"168h\"; got %q", req.Advance))
		return
	}
	now := clock.Advance(d)
	s.log.Info("test clock advanced", "by", d.String(), "now", now)
	writeJSON(w, http.StatusOK, map[string]any{"now": now.UTC()})
}
