package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/notify/kannel"
)

// registerNotificationRoutes serves the delivery of the outbox: the
// operator's list of messages and the SMS gateway's delivery reports.
func (s *Server) registerNotificationRoutes() {
	s.mux.HandleFunc("GET /v1/notifications", s.credential(lokero.KindOperator, s.handleNotifications))
	s.mux.HandleFunc("GET /v1/sms/dlr", s.handleSMSReport)
}

// notificationJSON is a message of the outbox as the operator sees it:
// its text as stored, an opening code only as its placeholder.
type notificationJSON struct {
	ID           int64      `json:"id"`
	Channel      string     `json:"channel"`
	To           string     `json:"to"`
	TrackingCode string     `json:"tracking_code"`
	Kind         string     `json:"kind"`
	Text         string     `json:"text"`
	State        string     `json:"state"`
	Attempts     int        `json:"attempts"`
	LastError    string     `json:"last_error"`
	ProviderID   string     `json:"provider_id"`
	SentAt       *time.Time `json:"sent_at"`
	Report       string     `json:"report"`
	CreatedAt    time.Time  `json:"created_at"`
	UpdatedAt    *time.Time `json:"updated_at"`
}

// optionalTime is t, or nil (JSON null) for the zero time.
func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// handleNotifications lists the outbox's messages, newest first:
// ?state=queued|sent|failed|local, ?channel=email|sms|push,
// ?limit=1..1000 (100 by default).
func (s *Server) handleNotifications(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := checkQuery(q, "state", "channel", "limit"); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	limit, err := listLimit(q, 0)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	f := lokero.NotificationFilter{State: q.Get("state"), Channel: q.Get("channel"), Limit: limit}
	list, err := s.lockers.Notifications(r.Context(), f)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := struct {
		Notifications []notificationJSON `json:"notifications"`
	}{Notifications: make([]notificationJSON, len(list))}
	for i, m := range list {
		out.Notifications[i] = notificationJSON{ID: m.ID, Channel: m.Channel, To: m.To, TrackingCode: m.TrackingCode,
			Kind: m.Kind, Text: m.Text, State: m.State, Attempts: m.Attempts, LastError: m.LastError,
			ProviderID: m.ProviderID, SentAt: optionalTime(m.SentAt), Report: m.Report, CreatedAt: m.CreatedAt,
			UpdatedAt: optionalTime(m.UpdatedAt)}
	}
	writeJSON(w, http.StatusOK, out)
}

// SMSReportURL returns what makes the delivery-report URL of a message
// for the SMS gateway (kannel.New's dlr): base (lokero's URL as the
// gateway reaches it) + "/v1/sms/dlr?msg=ID&sig=SIGNATURE", signed with
// the locker service's report keys (service.Lockers.ReportSignature), so
// that only the gateway lokero gave it to can report on the message. The
// kannel Sender appends kannel.DLRQuery, which the gateway fills in. Call
// it after EnableLockers.
func (s *Server) SMSReportURL(base string) func(messageID int64) string {
	for len(base) > 0 && base[len(base)-1] == '/' {
		base = base[:len(base)-1]
	}
	return func(messageID int64) string {
		id := strconv.FormatInt(messageID, 10)
		return base + "/v1/sms/dlr?msg=" + id + "&sig=" + s.lockers.ReportSignature(messageID)
	}
}

// handleSMSReport records a delivery report the SMS gateway sends to a
// message's report URL (SMSReportURL, with the gateway's status and
// answer). A URL not signed by lokero, or about no SMS, is answered as an
// unknown endpoint, telling nothing; such refusals count against the
// client address's directory limit.
func (s *Server) handleSMSReport(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id, err := strconv.ParseInt(q.Get("msg"), 10, 64)
	if err != nil || id <= 0 || len(q["msg"]) != 1 || len(q["sig"]) != 1 || !s.lockers.ValidReportSignature(id, q.Get("sig")) {
		s.refuseSMSReport(w, r)
		return
	}
	status, text, err := kannel.ParseDLR(q)
	if err != nil {
		writeError(w, r, s.log, lokero.Invalid("status", "malformed", "%s", err.Error()))
		return
	}
	if err := s.lockers.RecordSMSReport(r.Context(), id, status, text); lokero.ErrorCode(err) == lokero.ENOTFOUND {
		s.refuseSMSReport(w, r)
		return
	} else if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "recorded"})
}

// refuseSMSReport answers a delivery report lokero did not ask for as the
// router answers an unknown path (404 no_route), or 429 when its address
// sent too many.
func (s *Server) refuseSMSReport(w http.ResponseWriter, r *http.Request) {
	if !admit(headerSink{}, s.limits.Load().directory, s.clientKey(r), func(wait time.Duration) {
		writeError(w, r, s.log, tooMany("refused delivery reports from this address", wait))
	}) {
		return
	}
	writeError(w, r, s.log, &lokero.Error{Code: lokero.ENOTFOUND, Reason: "no_route", Message: "no such endpoint: " + r.Method + " " + r.URL.Path})
}

// headerSink is a ResponseWriter that keeps nothing: admit's rate-limit
// headers, which a refusal answered as an unknown path must not carry.
type headerSink struct{}

func (headerSink) Header() http.Header         { return http.Header{} }
func (headerSink) Write(b []byte) (int, error) { return len(b), nil }
func (headerSink) WriteHeader(int)             {}

// notificationsDesc describes lokero_notifications_total.
var notificationsDesc = prometheus.NewDesc("lokero_notifications_total",
	"Messages of the outbox this instance saw reach an outcome, by channel and state: sent, failed, local (kept for the local outbox, no provider), retried (a failed attempt to be tried again), repeated (sent again after another worker recorded it), resent (sent again after a run that died without a record: the provider may have it twice).",
	[]string{"channel", "state"}, nil)

// webhooksDesc describes lokero_webhook_deliveries_total.
var webhooksDesc = prometheus.NewDesc("lokero_webhook_deliveries_total",
	"Webhook deliveries this instance saw reach an outcome: succeeded, failed (for good), retried (a failed try to be tried again), disabled (webhooks disabled).",
	[]string{"outcome"}, nil)

// notificationCollector exposes the locker service's notification counts
// (service.Lockers.NotificationCounts) as lokero_notifications_total, and
// the webhooks' (service.Webhooks.WebhookCounts) as
// lokero_webhook_deliveries_total:
// the service keeps no Prometheus state of its own.
type notificationCollector struct{ s *Server }

// Describe implements prometheus.Collector.
func (c notificationCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- notificationsDesc
	ch <- webhooksDesc
}

// Collect implements prometheus.Collector.
func (c notificationCollector) Collect(ch chan<- prometheus.Metric) {
	if c.s.lockers != nil {
		for _, n := range c.s.lockers.NotificationCounts() {
			ch <- prometheus.MustNewConstMetric(notificationsDesc, prometheus.CounterValue, float64(n.N), n.Channel, n.State)
		}
	}
	if c.s.webhooks != nil {
		for outcome, n := range c.s.webhooks.WebhookCounts() {
			ch <- prometheus.MustNewConstMetric(webhooksDesc, prometheus.CounterValue, float64(n), outcome)
		}
	}
}

// NotificationMetrics returns the collector of lokero_notifications_total
// over the server's locker service (nothing before EnableLockers), for the
// registry the server's GET /metrics serves (made in New).
func (s *Server) NotificationMetrics() prometheus.Collector { return notificationCollector{s} }
