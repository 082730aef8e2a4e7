package api

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/lokero/lokero"
)

// A web session lets a person at a browser use the credential they signed
// in with (an operator at /ops, a clerk at /counter) without the page ever
// holding the token: POST /v1/session takes the token once and answers a
// cookie, which then authenticates as the token would.
//
// The cookie is signed, not stored: "v1.CREDENTIAL_ID.EXPIRES.MAC", the MAC
// an HMAC-SHA256 under a key every instance derives from the one secret
// (locker.Codes.SubKey), over the credential's ID, the session's expiry
// and the credential's creation and rotation times. Every request reads the
// credential again, so that revoking it ends its sessions at once and
// rotating its token ends them too (the rotation time is signed); signing
// out forgets the cookie in the browser and ends every session of the
// credential begun until then (Credential.SessionsEndedAt: a session
// begins SessionLifetime before it expires, at a whole second, and is over
// unless it begins after the last sign-out), so that a copy of the cookie
// stops working as well. The cookie is HttpOnly (no script
// reads it), SameSite=Strict, Secure when the platform is served over TLS
// (SetSecureCookies) or the request came over it, and a
// request that changes anything with it must come from the platform's own
// pages (http.CrossOriginProtection: Sec-Fetch-Site or Origin), so no other
// site can act with it.

// SessionCookie is the name of the web session's cookie.
const SessionCookie = "lokero_session"

// SessionLifetime is how long a web session lasts from sign-in: a working
// day, then the clerk or operator signs in again.
const SessionLifetime = 12 * time.Hour

// sessionKinds are the credentials a person signs in with at a page.
var sessionKinds = []lokero.CredentialKind{lokero.KindOperator, lokero.KindClerk}

// EnableSessions serves web sign-in (POST, GET and DELETE /v1/session)
// with cookies signed under key (at least 32 bytes; the same on every
// instance). Call it after EnableLockers, before serving.
func (s *Server) EnableSessions(key []byte) error {
	if len(key) < 32 {
		return fmt.Errorf("session key of %d bytes; want at least 32", len(key))
	}
	if s.lockers == nil {
		return fmt.Errorf("sessions need the lockers (EnableLockers first)")
	}
	s.sessionKey = append([]byte(nil), key...)
	s.crossOrigin = http.NewCrossOriginProtection()
	// A token cannot be guessed (128 bits and more); the limit keeps a
	// flood of sign-ins from costing the database.
	signIn := s.perAddress(func(l *limiterSet) *keyedLimiter[netip.Addr] { return l.tracking }, "sign-in attempts", s.handleSignIn)
	s.mux.HandleFunc("POST /v1/session", signIn)
	s.mux.HandleFunc("GET /v1/session", s.credentialOf(sessionKinds, s.handleSession))
	s.mux.HandleFunc("DELETE /v1/session", s.handleSignOut)
	return nil
}

// EnableDemoSignIn serves POST /demo/session, which signs the visitor in
// as the demo's operator (operator gives its credential) without a token:
// for a loopback --dev start only, so that a newcomer following the demo
// sees the notice in the local outbox. Call it after EnableSessions.
func (s *Server) EnableDemoSignIn(operator func(ctx context.Context) (lokero.Credential, error)) {
	s.mux.HandleFunc("POST /demo/session", func(w http.ResponseWriter, r *http.Request) {
		if err := s.crossOrigin.Check(r); err != nil {
			writeError(w, r, s.log, crossOriginError())
			return
		}
		c, err := operator(r.Context())
		if err != nil {
			writeError(w, r, s.log, fmt.Errorf("demo operator: %w", err))
			return
		}
		s.startSession(w, r, c)
	})
}

// sessionJSON is the answer of sign-in and of GET /v1/session.
type sessionJSON struct {
	Credential CredentialJSON `json:"credential"`
	ExpiresAt  *time.Time     `json:"expires_at"` // null: the caller sent a token, not a session's cookie
}

// handleSignIn checks a token ({"token": "…"}) of an operator or a clerk
// and answers the session's cookie.
func (s *Server) handleSignIn(w http.ResponseWriter, r *http.Request) {
	if err := s.crossOrigin.Check(r); err != nil {
		writeError(w, r, s.log, crossOriginError())
		return
	}
	var req struct {
		Token string `json:"token"`
	}
	if _, err := readJSON(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if strings.TrimSpace(req.Token) == "" {
		writeError(w, r, s.log, lokero.Invalid("token", "missing", "token is the operator's or clerk's token (lokero operator add, lokero clerk add)"))
		return
	}
	c, err := s.authenticate(r.Context(), sessionKinds, strings.TrimSpace(req.Token))
	if err != nil {
		writeError(w, r, s.log, &lokero.Error{Code: lokero.EUNAUTHORIZED, Reason: "invalid_token",
			Message: "the token is no operator's or clerk's, or it is revoked or expired"})
		return
	}
	s.startSession(w, r, c)
}

// startSession sets the cookie of a new session of c and answers it.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, c lokero.Credential) {
	now := s.lockers.Now()
	// A session begins at the second its expiry names, SessionLifetime
	// before it: not before the credential's last sign-out.
	begins := now.Truncate(time.Second)
	if !begins.After(c.SessionsEndedAt) { // signed out earlier in this second
		begins = c.SessionsEndedAt.Truncate(time.Second).Add(time.Second)
	}
	expires := begins.Add(SessionLifetime)
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: s.signSession(c, expires), Path: "/",
		Expires: expires, MaxAge: int(SessionLifetime / time.Second), HttpOnly: true, Secure: s.secureCookie(r), SameSite: http.SameSiteStrictMode})
	w.Header().Set("Cache-Control", "no-store")
	s.log.Info("signed in", "credential", c.ID, "kind", c.Kind)
	writeJSON(w, http.StatusOK, sessionJSON{Credential: NewCredentialJSON(c, now), ExpiresAt: &expires})
}

// handleSession answers who is signed in (401 when nobody is).
func (s *Server) handleSession(w http.ResponseWriter, r *http.Request) {
	c := credentialFrom(r.Context())
	out := sessionJSON{Credential: NewCredentialJSON(c, s.lockers.Now())}
	if expires, ok := r.Context().Value(sessionExpiresKey{}).(time.Time); ok {
		out.ExpiresAt = &expires
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, out)
}

// handleSignOut ends the session's credential's sessions and forgets the
// cookie (204 whether or not there was one).
func (s *Server) handleSignOut(w http.ResponseWriter, r *http.Request) {
	if err := s.crossOrigin.Check(r); err != nil {
		writeError(w, r, s.log, crossOriginError())
		return
	}
	if c, _, ok := s.sessionCredential(r); ok {
		if err := s.lockers.EndSessions(r.Context(), c.ID); err != nil {
			writeError(w, r, s.log, fmt.Errorf("sign out: %w", err))
			return
		}
		s.log.Info("signed out", "credential", c.ID, "kind", c.Kind)
	}
	http.SetCookie(w, &http.Cookie{Name: SessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		Secure: s.secureCookie(r), SameSite: http.SameSiteStrictMode})
	w.WriteHeader(http.StatusNoContent)
}

// SetSecureCookies marks the session's cookie Secure on every answer,
// whatever the request says: for a platform its browsers reach over HTTPS
// only (serve sets it when it serves TLS itself, is --behind-proxy, or
// its --public-url is https). Without it, the cookie is Secure only when
// the request came over TLS here or says it did at a proxy
// (X-Forwarded-Proto), and a proxy that terminates TLS without saying so
// would have the cookie go out without it. Call it before serving.
func (s *Server) SetSecureCookies(on bool) { s.secureCookies = on }

// secureCookie reports whether the session's cookie in the answer to r is
// Secure.
func (s *Server) secureCookie(r *http.Request) bool {
	return s.secureCookies || overTLS(r)
}

// overTLS reports whether the request reached the platform over TLS, here
// or at a proxy in front (X-Forwarded-Proto). The header is believed from
// any peer: it can only add Secure, which costs a client that lies about
// it its own session.
func overTLS(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func crossOriginError() error {
	return &lokero.Error{Code: lokero.EFORBIDDEN, Reason: "cross_origin",
		Message: "a request with the session's cookie must come from the platform's own pages"}
}

// sessionMAC is the signature of a session of c until expires.
func (s *Server) sessionMAC(c lokero.Credential, expires int64) []byte {
	m := hmac.New(sha256.New, s.sessionKey)
	fmt.Fprintf(m, "lokero-session/v1|%s|%d|%d|%d", c.ID, expires, c.CreatedAt.UnixNano(), c.RotatedAt.UnixNano())
	return m.Sum(nil)
}

// signSession is the cookie's value of a session of c until expires.
func (s *Server) signSession(c lokero.Credential, expires time.Time) string {
	return "v1." + c.ID + "." + strconv.FormatInt(expires.Unix(), 10) + "." +
		base64.RawURLEncoding.EncodeToString(s.sessionMAC(c, expires.Unix()))
}

type sessionExpiresKey struct{}

// sessionCredential returns the credential of the request's session
// cookie, and when the session ends; ok is false when there is no valid
// session (no cookie, a forged or stale one, a credential revoked, expired
// or rotated since).
func (s *Server) sessionCredential(r *http.Request) (c lokero.Credential, expires time.Time, ok bool) {
	if s.sessionKey == nil {
		return c, expires, false
	}
	cookie, err := r.Cookie(SessionCookie)
	if err != nil {
		return c, expires, false
	}
	parts := strings.Split(cookie.Value, ".")
	if len(parts) != 4 || parts[0] != "v1" {
		return c, expires, false
	}
	unix, err := strconv.ParseInt(parts[2], 10, 64)
	mac, macErr := base64.RawURLEncoding.DecodeString(parts[3])
	if err != nil || macErr != nil {
		return c, expires, false
	}
	now := s.lockers.Now()
	if expires = time.Unix(unix, 0).UTC(); !now.Before(expires) {
		return c, expires, false
	}
	if c, err = s.lockers.Credential(r.Context(), parts[1]); err != nil {
		if lokero.ErrorCode(err) != lokero.ENOTFOUND {
			s.log.Error("session: read the credential", "credential", parts[1], "err", err)
		}
		return c, expires, false
	}
	if !hmac.Equal(mac, s.sessionMAC(c, unix)) || c.State(now) != lokero.CredentialActive ||
		!expires.Add(-SessionLifetime).After(c.SessionsEndedAt) {
		return lokero.Credential{}, expires, false
	}
	return c, expires, true
}

// withSession puts the session's end into ctx, for GET /v1/session.
func withSession(ctx context.Context, expires time.Time) context.Context {
	return context.WithValue(ctx, sessionExpiresKey{}, expires)
}
