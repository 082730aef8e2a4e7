package api

import (
	"net/http"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/service"
)

// EnableWebhooks serves a retailer's webhooks over wh. Call it after
// EnableShipments and before serving.
func (s *Server) EnableWebhooks(wh *service.Webhooks) {
	s.webhooks = wh
	s.mux.HandleFunc("POST /v1/webhooks", s.retailer(s.handleCreateWebhook))
	s.mux.HandleFunc("GET /v1/webhooks", s.retailer(s.handleListWebhooks))
	s.mux.HandleFunc("GET /v1/webhooks/{id}", s.retailer(s.handleGetWebhook))
	s.mux.HandleFunc("PATCH /v1/webhooks/{id}", s.retailer(s.handleUpdateWebhook))
	s.mux.HandleFunc("DELETE /v1/webhooks/{id}", s.retailer(s.handleDeleteWebhook))
	s.mux.HandleFunc("POST /v1/webhooks/{id}/rotate-secret", s.retailer(s.handleRotateWebhookSecret))
	s.mux.HandleFunc("GET /v1/webhooks/{id}/deliveries", s.retailer(s.handleWebhookDeliveries))
}

// webhookJSON is a webhook as its retailer sees it; the secret only in
// the answers that make one.
type webhookJSON struct {
	ID                    string     `json:"id"`
	URL                   string     `json:"url"`
	Events                []string   `json:"events"`
	ContactEmail          string     `json:"contact_email"`
	Secret                string     `json:"secret,omitempty"`
	PreviousSecretExpires *time.Time `json:"previous_secret_expires_at"`
	Enabled               bool       `json:"enabled"`
	DisabledAt            *time.Time `json:"disabled_at"`
	DisabledReason        string     `json:"disabled_reason,omitempty"`
	FailingSince          *time.Time `json:"failing_since"`
	CreatedAt             time.Time  `json:"created_at"`
	UpdatedAt             time.Time  `json:"updated_at"`
}

func toWebhookJSON(h lokero.Webhook, withSecret bool) webhookJSON {
	out := webhookJSON{ID: h.ID, URL: h.URL, Events: h.Events, ContactEmail: h.ContactEmail, Enabled: h.DisabledAt.IsZero(),
		DisabledAt: optionalTime(h.DisabledAt), DisabledReason: h.DisabledReason, FailingSince: optionalTime(h.FailingSince),
		CreatedAt: h.CreatedAt, UpdatedAt: h.UpdatedAt}
	if out.Events == nil {
		out.Events = []string{}
	}
	if h.PreviousSecret != "" {
		out.PreviousSecretExpires = optionalTime(h.PreviousUntil)
	}
	if withSecret {
		out.Secret = h.Secret
	}
	return out
}

func (s *Server) handleCreateWebhook(w http.ResponseWriter, r *http.Request) {
	var req struct {
		URL          string   `json:"url"`
		Events       []string `json:"events"`
		ContactEmail string   `json:"contact_email"`
	}
	if _, err := readJSON(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	hook, err := s.webhooks.Create(r.Context(), retailerFrom(r.Context()).ID,
		service.WebhookRequest{URL: req.URL, Events: req.Events, ContactEmail: req.ContactEmail})
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.Header().Set("Location", "/v1/webhooks/"+hook.ID)
	writeJSON(w, http.StatusCreated, toWebhookJSON(hook, true))
}

func (s *Server) handleListWebhooks(w http.ResponseWriter, r *http.Request) {
	if err := checkQuery(r.URL.Query()); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	hooks, err := s.webhooks.List(r.Context(), retailerFrom(r.Context()).ID)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := struct {
		Webhooks   []webhookJSON `json:"webhooks"`
		EventTypes []string      `json:"event_types"`
	}{Webhooks: make([]webhookJSON, len(hooks)), EventTypes: service.EventTypes}
	for i, h := range hooks {
		out.Webhooks[i] = toWebhookJSON(h, false)
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleGetWebhook(w http.ResponseWriter, r *http.Request) {
	hook, err := s.webhooks.Get(r.Context(), retailerFrom(r.Context()).ID, r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, toWebhookJSON(hook, false))
}

func (s *Server) handleUpdateWebhook(w http.ResponseWriter, r *http.Request) {
	var req struct {
		URL          *string   `json:"url"`
		Events       *[]string `json:"events"`
		ContactEmail *string   `json:"contact_email"`
		Enabled      *bool     `json:"enabled"`
	}
	if _, err := readJSON(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	hook, err := s.webhooks.Update(r.Context(), retailerFrom(r.Context()).ID, r.PathValue("id"),
		service.WebhookChange{URL: req.URL, Events: req.Events, ContactEmail: req.ContactEmail, Enabled: req.Enabled})
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, toWebhookJSON(hook, false))
}

func (s *Server) handleDeleteWebhook(w http.ResponseWriter, r *http.Request) {
	if err := s.webhooks.Delete(r.Context(), retailerFrom(r.Context()).ID, r.PathValue("id")); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) handleRotateWebhookSecret(w http.ResponseWriter, r *http.Request) {
	var req struct {
		OverlapSeconds int64 `json:"overlap_seconds"`
	}
	if r.ContentLength != 0 {
		if _, err := readJSON(w, r, &req); err != nil {
			writeError(w, r, s.log, err)
			return
		}
	}
	if req.OverlapSeconds < 0 || req.OverlapSeconds > int64(service.MaxSecretOverlap/time.Second) {
		writeError(w, r, s.log, lokero.Invalid("overlap_seconds", "out_of_range", "overlap_seconds must be 0..%d; got %d",
			int64(service.MaxSecretOverlap/time.Second), req.OverlapSeconds))
		return
	}
	hook, err := s.webhooks.RotateSecret(r.Context(), retailerFrom(r.Context()).ID, r.PathValue("id"),
		time.Duration(req.OverlapSeconds)*time.Second)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, toWebhookJSON(hook, true))
}

// webhookDeliveryJSON is a delivery as the retailer sees it.
type webhookDeliveryJSON struct {
	ID            string     `json:"id"`
	Event         string     `json:"event"`
	ShipmentID    string     `json:"shipment_id"`
	Sequence      int        `json:"sequence"`
	State         string     `json:"state"`
	Attempts      int        `json:"attempts"`
	ResponseCode  int        `json:"response_code"`
	LastError     string     `json:"last_error"`
	NextAttemptAt *time.Time `json:"next_attempt_at"`
	CreatedAt     time.Time  `json:"created_at"`
	DeliveredAt   *time.Time `json:"delivered_at"`
}

func (s *Server) handleWebhookDeliveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := checkQuery(q, "state", "limit"); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	limit, err := listLimit(q, 0)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	list, err := s.webhooks.Deliveries(r.Context(), retailerFrom(r.Context()).ID, r.PathValue("id"), q.Get("state"), limit)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := struct {
		Deliveries []webhookDeliveryJSON `json:"deliveries"`
	}{Deliveries: make([]webhookDeliveryJSON, len(list))}
	for i, d := range list {
		out.Deliveries[i] = webhookDeliveryJSON{ID: d.ID, Event: d.Event, ShipmentID: d.ShipmentID, Sequence: d.Sequence,
			State: d.State, Attempts: d.Attempts, ResponseCode: d.ResponseCode, LastError: d.LastError,
			NextAttemptAt: optionalTime(d.NextAttemptAt), CreatedAt: d.CreatedAt, DeliveredAt: optionalTime(d.DeliveredAt)}
	}
	writeJSON(w, http.StatusOK, out)
}
