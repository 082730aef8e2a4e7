package api

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/device"
	"github.com/lokero/lokero/service"
)

// deviceEventRequest is an event of the device protocol as a locker that
// speaks HTTP sends it (docs/device-protocol.md).
type deviceEventRequest struct {
	Seq          *int64 `json:"seq"`
	At           string `json:"at"` // when it happened at the locker: RFC 3339 (read by handleSequencedEvent)
	Type         string `json:"type"`
	Compartment  int    `json:"compartment"`
	Count        int    `json:"count"`
	Code         string `json:"code"`
	AmountCents  int64  `json:"amount_cents"`
	TerminalRef  string `json:"terminal_ref"`
	Token        string `json:"token"`         // qr: the QR code the scanner read
	ShipmentID   string `json:"shipment_id"`   // pickup
	TrackingCode string `json:"tracking_code"` // deposit
	Courier      string `json:"courier"`       // deposit, courier: the SHA-256 of the signed-in courier's token (device.CourierHash)
}

// handleSequencedEvent applies an event numbered in its device's sequence,
// exactly once, and answers as the MQTT ack does: 200 with the result,
// a refusal included ("rejected" with its error: the number is taken).
func (s *Server) handleSequencedEvent(w http.ResponseWriter, r *http.Request, req deviceEventRequest) {
	if *req.Seq < 1 {
		writeError(w, r, s.log, lokero.Invalid("seq", "out_of_range", "seq must be 1 or more; got %d", *req.Seq))
		return
	}
	var at time.Time
	if req.At != "" {
		var err error
		if at, err = time.Parse(time.RFC3339Nano, req.At); err != nil {
			writeError(w, r, s.log, lokero.Invalid("at", "malformed", "at must be an RFC 3339 time, e.g. 2026-12-13T21:58:40Z; got %q", truncate(req.At, 64)))
			return
		}
	}
	out, err := s.lockers.ApplyEvent(r.Context(), credentialFrom(r.Context()), r.PathValue("location_id"), service.DeviceEvent{
		Seq: *req.Seq, At: at, Type: req.Type, Compartment: req.Compartment, Count: req.Count,
		Code: req.Code, AmountCents: req.AmountCents, TerminalRef: req.TerminalRef, Token: req.Token,
		ShipmentID: req.ShipmentID, TrackingCode: req.TrackingCode, Courier: req.Courier})
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, device.AckOf(*req.Seq, out)) // the MQTT ack's very fields
}

// linkJSON is a locker's link to the centre as the operator sees it.
type linkJSON struct {
	LocationID     string          `json:"location_id"`
	Online         bool            `json:"online"`
	ChangedAt      *time.Time      `json:"changed_at,omitempty"`
	HeartbeatAt    *time.Time      `json:"heartbeat_at,omitempty"`
	Firmware       string          `json:"firmware,omitempty"`
	OfflineSeconds int64           `json:"offline_seconds"`
	Compartments   json.RawMessage `json:"compartments,omitempty"`
}

func toLinkJSON(v service.LockerLinkView) linkJSON {
	out := linkJSON{LocationID: v.LocationID, Online: v.Online && v.Offline == 0, Firmware: v.Firmware,
		OfflineSeconds: int64(v.Offline / time.Second), Compartments: v.Compartments}
	if !v.ChangedAt.IsZero() {
		out.ChangedAt = &v.ChangedAt
	}
	if !v.HeartbeatAt.IsZero() {
		out.HeartbeatAt = &v.HeartbeatAt
	}
	return out
}

// handleDevices lists the lockers' links: GET /v1/devices, with
// ?offline_for=15m only those offline (or silent) at least that long.
func (s *Server) handleDevices(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := checkQuery(q, "offline_for"); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	var offlineFor time.Duration
	if v := q.Get("offline_for"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			writeError(w, r, s.log, lokero.Invalid("offline_for", "bad_duration", "offline_for must be a positive duration such as 15m or 2h; got %q", v))
			return
		}
		offlineFor = d
	}
	links, err := s.lockers.Links(r.Context(), offlineFor)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := make([]linkJSON, 0, len(links))
	for _, v := range links {
		out = append(out, toLinkJSON(v))
	}
	writeJSON(w, http.StatusOK, map[string]any{"devices": out})
}
