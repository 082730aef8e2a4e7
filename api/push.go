package api

import (
	"errors"
	"net/http"
	"net/netip"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/notify/webpush"
	"github.com/lokero/lokero/service"
)

// PushOptions configure the Web Push subscriptions.
type PushOptions struct {
	// PublicKey is the VAPID public key (base64url) that browsers
	// subscribe with (applicationServerKey); "" serves no push routes.
	PublicKey string
	// AllowInsecure accepts http and loopback endpoints (tests, --dev).
	AllowInsecure bool
}

// registerPushRoutes serves the push subscriptions of parcels: anonymous,
// proven with the recipient's postcode or phone, and limited per address
// as tracking is.
func (s *Server) registerPushRoutes(opts PushOptions) {
	if opts.PublicKey == "" {
		return
	}
	limited := func(h http.HandlerFunc) http.HandlerFunc {
		return s.perAddress(func(l *limiterSet) *keyedLimiter[netip.Addr] { return l.returns }, "push subscription requests", h)
	}
	s.mux.HandleFunc("GET /v1/push-subscriptions/public-key", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		writeJSON(w, http.StatusOK, map[string]string{"public_key": opts.PublicKey})
	})
	s.mux.HandleFunc("POST /v1/push-subscriptions", limited(func(w http.ResponseWriter, r *http.Request) {
		s.handleSubscribe(w, r, opts)
	}))
	s.mux.HandleFunc("DELETE /v1/push-subscriptions/{id}", limited(s.handleUnsubscribe))
}

// pushSubscriptionRequest is the body of POST /v1/push-subscriptions:
// the parcel, the proof, and the browser's PushSubscription.toJSON().
type pushSubscriptionRequest struct {
	TrackingCode string `json:"tracking_code"`
	Postcode     string `json:"postcode"`
	Phone        string `json:"phone"`
	Language     string `json:"language"`
	Subscription struct {
		Endpoint       string   `json:"endpoint"`
		ExpirationTime *float64 `json:"expirationTime"`
		Keys           struct {
			P256dh string `json:"p256dh"`
			Auth   string `json:"auth"`
		} `json:"keys"`
	} `json:"subscription"`
}

// pushSubscriptionJSON is a subscription as its subscriber sees it.
type pushSubscriptionJSON struct {
	ID           string    `json:"id"`
	TrackingCode string    `json:"tracking_code"`
	CreatedAt    time.Time `json:"created_at"`
}

func (s *Server) handleSubscribe(w http.ResponseWriter, r *http.Request, opts PushOptions) {
	var req pushSubscriptionRequest
	if _, err := readJSON(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	sub := req.Subscription
	if err := webpush.ValidateSubscription(sub.Endpoint, sub.Keys.P256dh, sub.Keys.Auth, opts.AllowInsecure); err != nil {
		var inv *webpush.InvalidError
		if errors.As(err, &inv) {
			writeError(w, r, s.log, &lokero.Error{Code: lokero.EINVALID, Field: "subscription." + inv.Field, Reason: inv.Problem, Message: inv.Error()})
		} else {
			writeError(w, r, s.log, lokero.Invalid("subscription", "invalid", "%s", err.Error()))
		}
		return
	}
	got, err := s.lockers.Subscribe(r.Context(), service.PushSubscriptionRequest{TrackingCode: req.TrackingCode,
		Postcode: req.Postcode, Phone: req.Phone, Endpoint: sub.Endpoint, P256dh: sub.Keys.P256dh, Auth: sub.Keys.Auth,
		Language: req.Language})
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusCreated, pushSubscriptionJSON{ID: got.ID, TrackingCode: got.TrackingCode, CreatedAt: got.CreatedAt})
}

func (s *Server) handleUnsubscribe(w http.ResponseWriter, r *http.Request) {
	if err := s.lockers.Unsubscribe(r.Context(), r.PathValue("id")); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
