package api

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lokero/lokero"
)

// statusOf maps lokero's error classes to HTTP status codes.
var statusOf = map[string]int{
	lokero.EINVALID:       http.StatusBadRequest,
	lokero.EUNAUTHORIZED:  http.StatusUnauthorized,
	lokero.EFORBIDDEN:     http.StatusForbidden,
	lokero.ENOTFOUND:      http.StatusNotFound,
	lokero.ECONFLICT:      http.StatusConflict,
	lokero.EUNPROCESSABLE: http.StatusUnprocessableEntity,
	lokero.ETOOMANY:       http.StatusTooManyRequests,
	lokero.EINTERNAL:      http.StatusInternalServerError,
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
	// Alternatives are locations to use instead, nearest first.
	Alternatives []alternative `json:"alternatives,omitempty"`
}

// alternative is a location offered instead, in the answer.
type alternative struct {
	ID        string  `json:"id"`
	Type      string  `json:"type"`
	Name      string  `json:"name"`
	Street    string  `json:"street"`
	Postcode  string  `json:"postcode"`
	City      string  `json:"city"`
	DistanceM float64 `json:"distance_m"`
}

// writeError answers with the error's status and a JSON body
// {"error":{"code","message","field"}}. The code is the error's specific
// reason when it has one, else its class. Internal errors are logged and
// their text never reaches the client. An ETOOMANY error that says how
// long to wait (a rate limit, a quota, a locked keypad) is answered 429
// with Retry-After in whole seconds, rounded up.
func writeError(w http.ResponseWriter, r *http.Request, log *slog.Logger, err error) {
	if r.Context().Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		// The client went away: nobody reads an answer, and it is not
		// the server's failure. 499 is what proxies log for it.
		log.Debug("request abandoned by the client", "method", r.Method, "path", loggedPath(r))
		w.WriteHeader(499)
		return
	}
	code := lokero.ErrorCode(err)
	status, ok := statusOf[code]
	if !ok {
		status = http.StatusInternalServerError
	}
	detail := errorDetail{Code: code, Message: lokero.ErrorMessage(err)}
	var e *lokero.Error
	if errors.As(err, &e) {
		if e.Reason != "" {
			detail.Code = e.Reason
		}
		detail.Field = e.Field
		if e.Code == lokero.ETOOMANY && e.RetryAfter > 0 {
			setRetryAfter(w, e.RetryAfter)
		}
		for _, a := range e.Alternatives {
			detail.Alternatives = append(detail.Alternatives, alternative{ID: a.ID, Type: string(a.Type), Name: a.Name,
				Street: a.Street, Postcode: a.Postcode, City: a.City, DistanceM: a.DistanceM})
		}
	}
	if status >= 500 {
		log.Error("request failed", "method", r.Method, "path", loggedPath(r), "err", err)
	}
	writeJSON(w, status, errorBody{Error: detail})
}

// loggedPath is r's path as the log may keep it: a QR page's link
// (/q/{link}) is a capability, like the opening code it shows, and is
// logged as its route only.
func loggedPath(r *http.Request) string {
	if strings.HasPrefix(r.URL.Path, "/q/") {
		return "/q/{link}"
	}
	return r.URL.Path
}

// setRetryAfter sets Retry-After to d in whole seconds, rounded up (at
// least 1: "0" would invite the same request at once).
func setRetryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.FormatInt(max(1, ceilSeconds(d)), 10))
}
