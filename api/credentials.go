package api

import (
	"net/http"
	"time"

	"github.com/lokero/lokero"
)

// registerCredentialRoutes serves the operator's administration of
// credentials: list them, revoke one, rotate one. Token hashes never leave
// the store; a new token is answered once, by the rotation.
func (s *Server) registerCredentialRoutes() {
	s.mux.HandleFunc("GET /v1/credentials", s.credential(lokero.KindOperator, s.handleCredentials))
	s.mux.HandleFunc("POST /v1/credentials/{id}/revoke", s.credential(lokero.KindOperator, s.handleRevokeCredential))
	s.mux.HandleFunc("POST /v1/credentials/{id}/rotate", s.credential(lokero.KindOperator, s.handleRotateCredential))
}

// CredentialJSON is a credential as the API (GET /v1/credentials) and
// `lokero credential list --json` show it: never its token's hash.
type CredentialJSON struct {
	ID         string     `json:"id"`
	Kind       string     `json:"kind"`
	Name       string     `json:"name"`
	LocationID *string    `json:"location_id"` // a device's locker; null for couriers and operators
	State      string     `json:"state"`       // active, expired or revoked
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`   // null: never
	LastUsedAt *time.Time `json:"last_used_at"` // null: never
	RevokedAt  *time.Time `json:"revoked_at"`   // null: not revoked
	RotatedAt  *time.Time `json:"rotated_at"`   // null: never rotated
}

// timeOrNull is t, or nil for the zero time.
func timeOrNull(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// NewCredentialJSON is c as shown at now (its state depends on the time).
func NewCredentialJSON(c lokero.Credential, now time.Time) CredentialJSON {
	out := CredentialJSON{ID: c.ID, Kind: string(c.Kind), Name: c.Name, State: string(c.State(now)), CreatedAt: c.CreatedAt,
		ExpiresAt: timeOrNull(c.ExpiresAt), LastUsedAt: timeOrNull(c.LastUsedAt), RevokedAt: timeOrNull(c.RevokedAt),
		RotatedAt: timeOrNull(c.RotatedAt)}
	if c.LocationID != "" {
		out.LocationID = &c.LocationID
	}
	return out
}

// handleCredentials lists the credentials, oldest first, filtered by
// ?kind= and ?location_id=.
func (s *Server) handleCredentials(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := checkQuery(q, "kind", "location_id"); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	for _, name := range []string{"kind", "location_id"} {
		if len(q[name]) > 1 {
			writeError(w, r, s.log, lokero.Invalid(name, "duplicate_parameter", "%s is given %d times; give it once", name, len(q[name])))
			return
		}
	}
	list, err := s.lockers.Credentials(r.Context(), lokero.CredentialFilter{Kind: lokero.CredentialKind(q.Get("kind")), LocationID: q.Get("location_id")})
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	now := s.lockers.Now()
	out := make([]CredentialJSON, len(list))
	for i, c := range list {
		out[i] = NewCredentialJSON(c, now)
	}
	writeJSON(w, http.StatusOK, map[string]any{"credentials": out})
}

// handleRevokeCredential revokes a credential for good. The last active
// operator credential is not revoked here (409 last_operator): that takes
// the command line.
func (s *Server) handleRevokeCredential(w http.ResponseWriter, r *http.Request) {
	if err := checkQuery(r.URL.Query()); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	c, err := s.lockers.RevokeCredential(r.Context(), r.PathValue("id"), true)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	s.log.Info("credential revoked through the API", "credential", c.ID, "by", credentialFrom(r.Context()).ID)
	if s.credentialChanged != nil {
		s.credentialChanged(c)
	}
	writeJSON(w, http.StatusOK, map[string]any{"credential": NewCredentialJSON(c, s.lockers.Now())})
}

// handleRotateCredential gives a credential a new token and answers it,
// once; the old token stops working.
func (s *Server) handleRotateCredential(w http.ResponseWriter, r *http.Request) {
	if err := checkQuery(r.URL.Query()); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	c, token, err := s.lockers.RotateCredential(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	s.log.Info("credential rotated through the API", "credential", c.ID, "by", credentialFrom(r.Context()).ID)
	w.Header().Set("Cache-Control", "no-store")
	if s.credentialChanged != nil {
		s.credentialChanged(c)
	}
	writeJSON(w, http.StatusOK, map[string]any{"credential": NewCredentialJSON(c, s.lockers.Now()), "token": token})
}
