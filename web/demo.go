package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/lokero/lokero"
)

// DemoLockers is what the demo's web keypad (/demo/lockers/{id}) asks of
// the platform: a locker's keypad and its doors, through the same service
// calls as a locker's device. Only a loopback --dev start has it.
type DemoLockers interface {
	// Keypad enters a code at the locker: the compartment that opened,
	// or what to pay first (amountCents above 0, the compartment 0).
	Keypad(ctx context.Context, locationID, code string) (compartment int, amountCents int64, err error)
	// CloseDoor shuts a compartment's door: the status of the parcel
	// behind it, if any ("" for none).
	CloseDoor(ctx context.Context, locationID string, compartment int) (status string, err error)
	// Order books the demo shop's parcel for a shopper and has a courier
	// deliver it at once: handed over, and at a locker deposited with its
	// door closed, so that its notice of arrival is queued.
	Order(ctx context.Context, o DemoOrder) (DemoDelivery, error)
}

// DemoOrder is a shopper's order at the demo shop's checkout.
type DemoOrder struct {
	Name        string `json:"name"`
	Email       string `json:"email"`
	Street      string `json:"street"`
	Postcode    string `json:"postcode"`
	City        string `json:"city"`
	PickupPoint string `json:"pickup_point"`
}

// DemoDelivery is what became of a demo order.
type DemoDelivery struct {
	TrackingCode string `json:"tracking_code"`
	LocationID   string `json:"location_id"`
	Locker       bool   `json:"locker"`      // delivered into a compartment: the web keypad opens it
	Compartment  int    `json:"compartment"` // 0 at a counter
	Status       string `json:"status"`
}

// EnableDemoLockers serves the demo's web keypad of every locker over d.
// Call it before Register.
func (p *Pages) EnableDemoLockers(d DemoLockers) { p.demo = d }

// registerDemo adds the web keypad's page and its two calls.
func (p *Pages) registerDemo(mux *http.ServeMux) {
	if p.demo == nil {
		return
	}
	mux.HandleFunc("GET /demo/lockers/{id}", p.page("keypad.html", func(r *http.Request) any {
		id := r.PathValue("id")
		return map[string]any{"Lang": "en", "Title": "Web keypad of " + id, "ID": id}
	}))
	mux.HandleFunc("POST /demo/lockers/{id}/keypad", demoCall(p, func(ctx context.Context, id string, body demoRequest) (any, error) {
		n, amount, err := p.demo.Keypad(ctx, id, body.Code)
		return map[string]any{"compartment": n, "amount_cents": amount}, err
	}))
	mux.HandleFunc("POST /demo/lockers/{id}/close", demoCall(p, func(ctx context.Context, id string, body demoRequest) (any, error) {
		status, err := p.demo.CloseDoor(ctx, id, body.Compartment)
		return map[string]any{"compartment": body.Compartment, "status": status}, err
	}))
	mux.HandleFunc("POST /demo/orders", demoCall(p, func(ctx context.Context, _ string, o DemoOrder) (any, error) {
		return p.demo.Order(ctx, o)
	}))
}

// demoRequest is the body of the web keypad's calls.
type demoRequest struct {
	Code        string `json:"code"`
	Compartment int    `json:"compartment"`
}

// demoCall answers one of the web keypad's calls: JSON in (so that no
// other site's form can post it), from this origin, JSON out; a refusal
// as {"error": {"code", "message"}} with its HTTP status.
func demoCall[T any](p *Pages, call func(ctx context.Context, id string, body T) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || ct != "application/json" {
			demoJSON(w, http.StatusUnsupportedMediaType, demoError("invalid", "send JSON"))
			return
		}
		if o := r.Header.Get("Origin"); o != "" {
			if u, err := url.Parse(o); err != nil || u.Host != r.Host {
				demoJSON(w, http.StatusForbidden, demoError("forbidden", "another origin"))
				return
			}
		}
		var body T
		if err := json.NewDecoder(io.LimitReader(r.Body, 4<<10)).Decode(&body); err != nil {
			demoJSON(w, http.StatusBadRequest, demoError("invalid", "the body must be JSON: "+err.Error()))
			return
		}
		out, err := call(r.Context(), r.PathValue("id"), body)
		if err != nil {
			var e *lokero.Error
			if !errors.As(err, &e) || e.Code == lokero.EINTERNAL {
				p.log.Error("web: demo call", "path", r.URL.Path, "err", err)
				demoJSON(w, http.StatusInternalServerError, demoError("internal", "the demo could not answer"))
				return
			}
			status := demoStatus[e.Code]
			if status == 0 {
				status = http.StatusBadRequest
			}
			demoJSON(w, status, demoError(e.Code, e.Message))
			return
		}
		demoJSON(w, http.StatusOK, out)
	}
}

// demoStatus is the HTTP status of a refusal's code.
var demoStatus = map[string]int{
	lokero.ECONFLICT: http.StatusConflict, lokero.EINVALID: http.StatusBadRequest, lokero.ENOTFOUND: http.StatusNotFound,
	lokero.EUNAUTHORIZED: http.StatusUnauthorized, lokero.EFORBIDDEN: http.StatusForbidden,
	lokero.EUNPROCESSABLE: http.StatusUnprocessableEntity, lokero.ETOOMANY: http.StatusTooManyRequests,
}

func demoError(code, message string) map[string]any {
	return map[string]any{"error": map[string]string{"code": code, "message": message}}
}

func demoJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
