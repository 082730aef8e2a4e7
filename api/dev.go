package api

import (
	"net/http"
	"time"

	"github.com/lokero/lokero"
)

// registerDevRoutes serves the development aids that opts asks for (lokero
// serve --dev), and only to an operator's credential: the outbox shows
// opening codes in clear and the clock can expire every parcel. Without
// them neither route exists (404). Where the request came from (loopback,
// a proxy) makes no difference.
func (s *Server) registerDevRoutes(opts LockerOptions) {
	if opts.DevOutbox {
		s.mux.HandleFunc("GET /dev/outbox", s.credential(lokero.KindOperator, s.handleOutbox))
	}
	if opts.DevClock != nil {
		clock := opts.DevClock
		s.mux.HandleFunc("POST /v1/admin/clock", s.credential(lokero.KindOperator, func(w http.ResponseWriter, r *http.Request) {
			s.handleClock(w, r, clock)
		}))
	}
}

// handleOutbox lists the queued messages as they would be sent, newest
// first: ?limit=1..1000 (100 by default), nothing else.
func (s *Server) handleOutbox(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := checkQuery(q, "limit"); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	limit, err := listLimit(q, 100)
	if err != nil {
		writeError(w, r, s.log, err)
		return
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

// handleClock moves the test clock forward by {"advance": "168h"}.
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
	// Saved, so that a restart resumes the clock instead of sending time
	// back.
	if err := clock.Save(r.Context()); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	s.log.Info("test clock advanced", "by", d.String(), "now", now)
	writeJSON(w, http.StatusOK, map[string]any{"now": now.UTC()})
}
