// Package lokero holds the domain of the lokero parcel-locker platform: the
// pickup-point directory, postal codes, shipments and lockers, the coded
// errors every layer speaks, and the store interfaces the adapters implement.
//
// Rules live in the pure packages (postcode, geo, address, ...); persistence
// in sqlite and postgres; the JSON API in api; the use cases in service.
package lokero

import (
	"errors"
	"fmt"
	"time"
)

// Error codes: the class of an error. The API maps each class to one HTTP
// status; Reason narrows it down for machines (e.g. "out_of_range").
const (
	ECONFLICT      = "conflict"      // the request conflicts with the current state
	EINTERNAL      = "internal"      // a bug or an outage: never the caller's fault
	EINVALID       = "invalid"       // malformed input
	ENOTFOUND      = "not_found"     // no such thing (or not yours to see)
	EUNAUTHORIZED  = "unauthorized"  // missing or wrong credentials
	EFORBIDDEN     = "forbidden"     // authenticated, but not allowed
	EUNPROCESSABLE = "unprocessable" // well-formed, but the rules refuse it
	ETOOMANY       = "too_many"      // rate limited or locked out
)

// Error is lokero's application error: a class (Code), an optional specific
// machine-readable Reason, a message a person understands, and the input
// field it is about, if any.
type Error struct {
	Code    string
	Reason  string
	Message string
	Field   string
	// Alternatives are locations to use instead, nearest first, when the
	// error is about a location (e.g. one closed on the delivery date).
	Alternatives []Alternative
	// RetryAfter is how long to wait before asking again, for an ETOOMANY
	// refusal (a quota, a locked keypad); 0 when it is not known.
	RetryAfter time.Duration
}

// Alternative is a location an error offers instead of the one it is
// about: what a checkout needs to show it without another request.
type Alternative struct {
	ID        string
	Type      LocationType
	Name      string
	Street    string
	Postcode  string
	City      string
	DistanceM float64 // from the location the error is about
}

// Error implements the error interface.
func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("lokero: %s: %s: %s", e.Code, e.Field, e.Message)
	}
	return fmt.Sprintf("lokero: %s: %s", e.Code, e.Message)
}

// Errorf returns an *Error of the given class with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an EINVALID error about one input field.
func Invalid(field, reason, format string, args ...any) *Error {
	return &Error{Code: EINVALID, Reason: reason, Field: field, Message: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the class of err: the Code of the first *Error in its
// chain, EINTERNAL for any other non-nil error, "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the human-readable message of err when it is an
// *Error, and a generic text otherwise so that internals never leak.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}
