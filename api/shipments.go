package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-json-experiment/json/jsontext"
	"github.com/lokero/lokero"
	"github.com/lokero/lokero/label"
	"github.com/lokero/lokero/service"
	"github.com/lokero/lokero/tracking"
)

// maxBodyBytes bounds every JSON request body.
const maxBodyBytes = 64 << 10

func (s *Server) registerShipmentRoutes() {
	s.mux.HandleFunc("POST /v1/shipments", s.retailer(s.handleCreateShipment))
	s.mux.HandleFunc("GET /v1/shipments", s.retailer(s.handleListShipments))
	s.mux.HandleFunc("GET /v1/shipments/{id}", s.retailer(s.handleGetShipment))
	s.mux.HandleFunc("GET /v1/shipments/{id}/label.pdf", s.retailer(s.handleLabel))
	s.mux.HandleFunc("POST /v1/shipments/{id}/cancel", s.retailer(s.handleCancel))
	s.mux.HandleFunc("POST /v1/shipments/{id}/handover", s.handleHandover)
	s.mux.HandleFunc("POST /v1/shipments/{id}/returned", s.handleReturned)
	s.mux.HandleFunc("GET /v1/tracking/{code}", s.perAddress(func(l *limiterSet) *keyedLimiter[netip.Addr] { return l.tracking }, "tracking requests", s.handleTracking))
	s.mux.HandleFunc("POST /v1/returns", s.perAddress(func(l *limiterSet) *keyedLimiter[netip.Addr] { return l.returns }, "return code requests", s.handleReturns))
	s.mux.HandleFunc("POST /v1/returns/label.pdf", s.perAddress(func(l *limiterSet) *keyedLimiter[netip.Addr] { return l.returns }, "return label requests", s.handleReturnLabel))
	s.mux.HandleFunc("POST /v1/prepaid", s.retailer(s.handlePrepaid))
}

type retailerKey struct{}

// retailer authenticates the caller as a retailer (Authorization: Bearer
// KEY) and spends a request of the retailer's rate limit before next
// runs; next finds the retailer with retailerFrom.
func (s *Server) retailer(next http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		key, ok := bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="lokero"`)
			writeError(w, r, s.log, &lokero.Error{Code: lokero.EUNAUTHORIZED, Reason: "missing_api_key", Message: "send your API key as Authorization: Bearer <key>"})
			return
		}
		// An address that spent its failed authentications is refused
		// before the store is asked about another key.
		if s.authBarred(w, r) {
			return
		}
		ret, err := s.shipments.Authenticate(r.Context(), key)
		if err != nil {
			if lokero.ErrorCode(err) == lokero.EUNAUTHORIZED {
				s.authFailed(r)
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="lokero", error="invalid_token"`)
			writeError(w, r, s.log, err)
			return
		}
		if !s.perKey(w, r, s.limits.Load().retailer, ret.ID) {
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), retailerKey{}, ret)))
	}
}

func retailerFrom(ctx context.Context) lokero.Retailer {
	r, _ := ctx.Value(retailerKey{}).(lokero.Retailer)
	return r
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if len(h) <= len(prefix) || !strings.EqualFold(h[:len(prefix)], prefix) {
		return "", false
	}
	return strings.TrimSpace(h[len(prefix):]), true
}

// readJSON reads a JSON body of at most maxBodyBytes into v, refusing
// unknown fields, trailing data and wrong types with the field named.
func readJSON(w http.ResponseWriter, r *http.Request, v any) ([]byte, error) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return nil, &lokero.Error{Code: lokero.EINVALID, Reason: "body_too_large", Message: fmt.Sprintf("the request body is over %d bytes", maxBodyBytes)}
	} else if err != nil {
		return nil, lokero.Invalid("", "unreadable_body", "could not read the request body: %v", err)
	}
	if err := checkKeys(body); err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return nil, jsonError(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, lokero.Invalid("", "malformed_json", "the request body has data after its JSON object")
	}
	return body, nil
}

// checkKeys refuses what encoding/json would let through: a key given
// twice in one object (the last would win silently) and a key in another
// case than the field's (json matches case-insensitively, by Unicode case
// folding; every field of this API is ASCII lower snake_case). It walks
// the body's tokens with jsontext, which reads a value without allocating
// it (encoding/json's Token took a tenth of a booking's CPU); malformed
// JSON passes, for encoding/json to say where.
func checkKeys(body []byte) error {
	dec := jsontext.NewDecoder(bytes.NewReader(body), jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true))
	// The names of the open objects, one after the other; each object's
	// start in names (-1 for an array). A request's objects have a few
	// names each: a look along a slice beats a map.
	var (
		names  []string
		starts []int
	)
	for {
		tok, err := dec.ReadToken()
		if err != nil {
			return nil // the end, or malformed JSON
		}
		switch tok.Kind() {
		case '{':
			starts = append(starts, len(names))
			continue
		case '[':
			starts = append(starts, -1)
			continue
		case '}', ']':
			if start := starts[len(starts)-1]; start >= 0 {
				names = names[:start]
			}
			starts = starts[:len(starts)-1]
			continue
		case '"':
		default:
			continue
		}
		// A string is a name when it is an odd token of its object: the
		// decoder counts names and values alike.
		if kind, n := dec.StackIndex(dec.StackDepth()); kind != '{' || n%2 == 0 {
			continue
		}
		key := tok.String()
		if !asciiName(key) {
			// encoding/json matches a name to a field by Unicode case
			// folding: "ſize" (U+017F) would be size, past the checks here.
			return lokero.Invalid(key, "unknown_field", "unknown field %q (field names are ASCII lower case, e.g. \"size\")", key)
		}
		if strings.ToLower(key) != key && !camelKeys[key] {
			return lokero.Invalid(key, "unknown_field", "unknown field %q (field names are lower case, e.g. %q)", key, strings.ToLower(key))
		}
		if slices.Contains(names[starts[len(starts)-1]:], key) {
			return lokero.Invalid(key, "duplicate_field", "field %q appears twice in one object", key)
		}
		names = append(names, key)
	}
}

// asciiName reports whether a name is all ASCII, as every field name of
// the API is.
func asciiName(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// camelKeys are the keys a body may carry outside lower snake_case: those
// of objects the API takes as a browser gives them (expirationTime of
// PushSubscription.toJSON()).
var camelKeys = map[string]bool{"expirationTime": true}

// jsonError turns a decoding error into a 400 naming the field.
func jsonError(err error) error {
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return lokero.Invalid("", "malformed_json", "the request body is not valid JSON (at byte %d): %v", syntax.Offset, syntax)
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			return lokero.Invalid("", "wrong_type", "the request body must be a JSON %s; got %s", jsonType(typeErr.Type.String()), typeErr.Value)
		}
		return lokero.Invalid(field, "wrong_type", "%s must be a JSON %s; got %s", field, jsonType(typeErr.Type.String()), typeErr.Value)
	case errors.Is(err, io.EOF):
		return lokero.Invalid("", "empty_body", "the request body is empty; send a JSON object")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return lokero.Invalid("", "malformed_json", "the request body ends in the middle of its JSON")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return lokero.Invalid(field, "unknown_field", "unknown field %q", field)
	}
	return lokero.Invalid("", "malformed_json", "the request body is not valid JSON: %v", err)
}

func jsonType(goType string) string {
	switch {
	case strings.HasPrefix(goType, "int"), strings.HasPrefix(goType, "uint"):
		return "integer"
	case strings.HasPrefix(goType, "float"):
		return "number"
	case goType == "bool":
		return "boolean"
	case goType == "string":
		return "string"
	}
	return "object"
}

func (s *Server) handleCreateShipment(w http.ResponseWriter, r *http.Request) {
	var req service.ShipmentRequest
	if _, err := readJSON(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	// The fingerprint is of the request as read, not its bytes: the same
	// request re-sent with other whitespace or key order is the same.
	canonical, _ := json.Marshal(req)
	hash := sha256.Sum256(canonical)
	res, err := s.shipments.Create(r.Context(), retailerFrom(r.Context()), req, r.Header.Get("Idempotency-Key"), hash[:])
	s.answerCreated(w, r, res, err)
}

// answerCreated answers a booking: 201 with the shipment and its
// Location, marked when it replays an earlier request with the same key.
func (s *Server) answerCreated(w http.ResponseWriter, r *http.Request, res service.CreateResult, err error) {
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if res.Replayed {
		w.Header().Set("Idempotent-Replayed", "true")
	}
	w.Header().Set("Location", "/v1/shipments/"+res.Shipment.ID)
	writeJSON(w, http.StatusCreated, s.shipmentJSON(&res.Shipment))
}

// handlePrepaid books a pre-paid parcel for the calling store or app,
// which sold it to a consumer: the answer holds its drop-off code.
func (s *Server) handlePrepaid(w http.ResponseWriter, r *http.Request) {
	var req service.PrepaidRequest
	if _, err := readJSON(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	canonical, _ := json.Marshal(struct {
		Prepaid service.PrepaidRequest `json:"prepaid"` // not the hash of an equal shipment request
	}{req})
	hash := sha256.Sum256(canonical)
	res, err := s.shipments.Prepaid(r.Context(), retailerFrom(r.Context()), req, r.Header.Get("Idempotency-Key"), hash[:])
	s.answerCreated(w, r, res, err)
}

func (s *Server) handleGetShipment(w http.ResponseWriter, r *http.Request) {
	sh, err := s.shipments.Get(r.Context(), retailerFrom(r.Context()), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, s.shipmentJSON(&sh))
}

func (s *Server) handleListShipments(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := lokero.ShipmentFilter{Status: lokero.ShipmentStatus(q.Get("status")), Reference: q.Get("reference"), AfterID: q.Get("cursor")}
	if err := checkQuery(q, "status", "reference", "cursor", "limit"); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil {
			writeError(w, r, s.log, lokero.Invalid("limit", "malformed", "limit must be a whole number; got %q", l))
			return
		}
		if n < 1 {
			// An explicit 0 is out of range, not the default (which
			// service.List takes a zero Limit for): answered here, with
			// the number given.
			writeError(w, r, s.log, lokero.Invalid("limit", "out_of_range", "limit must be 1..%d; got %d", service.MaxShipmentsPage, n))
			return
		}
		f.Limit = n
	}
	list, next, err := s.shipments.List(r.Context(), retailerFrom(r.Context()), f)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := struct {
		Shipments  []shipmentJSON `json:"shipments"`
		NextCursor *string        `json:"next_cursor"`
	}{Shipments: make([]shipmentJSON, len(list))}
	for i := range list {
		out.Shipments[i] = s.shipmentJSON(&list[i])
	}
	if next != "" {
		out.NextCursor = &next
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleCancel(w http.ResponseWriter, r *http.Request) {
	sh, err := s.shipments.Cancel(r.Context(), retailerFrom(r.Context()), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, s.shipmentJSON(&sh))
}

// handleHandover takes the retailer's key or, once lockers are served, a
// courier's token.
func (s *Server) handleHandover(w http.ResponseWriter, r *http.Request) {
	if token, ok := bearer(r); ok && s.lockers != nil && strings.HasPrefix(token, "lkc_") {
		s.credential(lokero.KindCourier, func(w http.ResponseWriter, r *http.Request) {
			sh, err := s.shipments.HandoverByCourier(r.Context(), credentialFrom(r.Context()), r.PathValue("id"))
			if err != nil {
				writeError(w, r, s.log, err)
				return
			}
			writeJSON(w, http.StatusOK, s.shipmentJSON(&sh))
		})(w, r)
		return
	}
	s.retailer(s.handleRetailerHandover)(w, r)
}

// handleReturned: a returning parcel was handed to its sender, reported
// by the retailer or a courier.
func (s *Server) handleReturned(w http.ResponseWriter, r *http.Request) {
	answer := func(w http.ResponseWriter, r *http.Request, owner string) {
		sh, err := s.shipments.Returned(r.Context(), owner, r.PathValue("id"))
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		writeJSON(w, http.StatusOK, s.shipmentJSON(&sh))
	}
	if token, ok := bearer(r); ok && s.lockers != nil && strings.HasPrefix(token, "lkc_") {
		s.credential(lokero.KindCourier, func(w http.ResponseWriter, r *http.Request) { answer(w, r, "") })(w, r)
		return
	}
	s.retailer(func(w http.ResponseWriter, r *http.Request) { answer(w, r, retailerFrom(r.Context()).ID) })(w, r)
}

func (s *Server) handleRetailerHandover(w http.ResponseWriter, r *http.Request) {
	sh, err := s.shipments.Handover(r.Context(), retailerFrom(r.Context()), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, s.shipmentJSON(&sh))
}

func (s *Server) handleLabel(w http.ResponseWriter, r *http.Request) {
	sh, err := s.shipments.Get(r.Context(), retailerFrom(r.Context()), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	l := label.Label{TrackingCode: sh.TrackingCode, Reference: sh.Reference, Sender: sh.Sender, Recipient: sh.Recipient,
		DeliveryDate: sh.DeliveryDate, Parcel: sh.Parcel, COD: sh.COD, ReturnCode: sh.ReturnCode, CreatedAt: sh.CreatedAt,
		DropOff: sh.Kind == lokero.ShipmentPrepaid} // its code drops it off; it returns nothing
	if dest := s.dir.Snapshot().ByID(sh.DestinationID); dest != nil {
		l.Destination = *dest
	}
	s.writeLabel(w, r, l, "label of "+sh.ID)
}

// writeLabel answers with l as a PDF, shown inline under its tracking
// code; what names it in an error, if the label cannot be drawn.
func (s *Server) writeLabel(w http.ResponseWriter, r *http.Request, l label.Label, what string) {
	var buf bytes.Buffer
	if err := label.Write(&buf, l); err != nil {
		writeError(w, r, s.log, fmt.Errorf("%s: %w", what, err))
		return
	}
	w.Header().Set("Content-Type", "application/pdf")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`inline; filename="%s.pdf"`, l.TrackingCode))
	w.Write(buf.Bytes())
}

func (s *Server) handleTracking(w http.ResponseWriter, r *http.Request) {
	lang, err := negotiateLanguage(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	sh, err := s.shipments.Track(r.Context(), r.PathValue("code"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	setLanguage(w, lang)
	if tracking.Normalize(r.PathValue("code")) == sh.ReturnTrackingCode {
		// The return's own tracking: its life starts when it is dropped
		// off, and it says nothing of the original parcel.
		writeJSON(w, http.StatusOK, trackingJSON{TrackingCode: sh.ReturnTrackingCode, Status: lokero.StatusCreated,
			StatusName: statusName(lokero.StatusCreated, lang), Events: []publicEventJSON{}})
		return
	}
	out := trackingJSON{TrackingCode: sh.TrackingCode, Status: sh.Status, StatusName: statusName(sh.Status, lang),
		EstimatedDelivery: sh.DeliveryDate, Destination: s.publicDestination(sh.DestinationID), Events: s.publicEvents(&sh, lang)}
	if sh.Status == lokero.StatusReadyForPickup && !sh.StorageDeadline.IsZero() {
		out.PickupBy = &sh.StorageDeadline
	}
	writeJSON(w, http.StatusOK, out)
}

// publicEventJSON is an event as public tracking shows it: reason is its
// public English sentence (as before localisation), text the same in the
// answer's language and status_name its status's name.
type publicEventJSON struct {
	Status     lokero.ShipmentStatus `json:"status"`
	StatusName string                `json:"status_name"`
	At         time.Time             `json:"at"`
	LocationID string                `json:"location_id,omitempty"`
	Reason     string                `json:"reason,omitempty"`
	Text       string                `json:"text,omitempty"`
}

// publicEvents are a shipment's events as anyone with the tracking code
// sees them, in lang: the booking's reason is its rule's public sentence,
// a re-routing says why without addresses, a notice that reached nobody
// says so without the channels' answers, and a residents-only locker is
// not named. Other events' reasons are public as they are; their text is
// the reason in lang when eventText classifies it, else the reason (left
// out when it names a residents-only locker: the recipient's building).
func (s *Server) publicEvents(sh *lokero.Shipment, lang language) []publicEventJSON {
	return publicEventsOf(sh, lang, s.dir.Snapshot().ByID)
}

// publicEventsOf is publicEvents with byID finding places.
func publicEventsOf(sh *lokero.Shipment, lang language, byID func(string) *lokero.Location) []publicEventJSON {
	out := make([]publicEventJSON, len(sh.Events))
	rerouted := false
	for _, e := range sh.Events[min(1, len(sh.Events)):] {
		rerouted = rerouted || strings.HasPrefix(e.Reason, service.RerouteNote) || strings.HasPrefix(e.Reason, service.LockerRerouteNote) ||
			strings.HasPrefix(e.Reason, service.DispatchRerouteNote) || strings.HasPrefix(e.Reason, service.DispatchBackNote)
	}
	for i, e := range sh.Events {
		var t text
		switch {
		case i == 0:
			t = text{{publicBooking(sh, rerouted), nil}}
		case strings.HasPrefix(e.Reason, service.RerouteNote):
			t = text{{pubClosureReroute, nil}}
		case strings.HasPrefix(e.Reason, service.LockerRerouteNote):
			t = text{{pubLockerReroute, nil}}
		case strings.HasPrefix(e.Reason, service.DispatchRerouteNote):
			t = text{{pubDispatchReroute, nil}}
		case strings.HasPrefix(e.Reason, service.DispatchBackNote):
			t = text{{pubDispatchBack, nil}}
		case strings.HasPrefix(e.Reason, service.UnreachableNote):
			t = text{{pubUnreachable, nil}} // the channels' failures are the operator's to read
		case strings.HasPrefix(e.Reason, service.KeypadCourierNote):
			out[i] = publicEventJSON{Status: e.Status, StatusName: statusName(e.Status, lang), At: e.At} // which courier is the operator's
			continue
		default:
			t, _ = eventText(sh, e, byID)
		}
		pe := publicEventJSON{Status: e.Status, StatusName: statusName(e.Status, lang), At: e.At, LocationID: e.LocationID, Reason: e.Reason, Text: e.Reason}
		if t != nil {
			pe.Reason, pe.Text = t.in(langEN), t.in(lang)
		} else if namesResidentsLocker(sh, e, byID) {
			pe.Reason, pe.Text = "", "" // its status and time only: the locker's name is the recipient's home
		}
		if l := byID(e.LocationID); l != nil && l.Access == lokero.AccessResidents {
			pe.LocationID = ""
		}
		out[i] = pe
	}
	return out
}

// publicBooking is the public sentence of a shipment's first event. The
// routing rule a shipment keeps is its latest: once re-routed, the rule
// it was booked by is no longer known, and the booking says only that.
func publicBooking(sh *lokero.Shipment, rerouted bool) phrase {
	switch {
	case sh.Kind == lokero.ShipmentReturn:
		return pubReturn
	case sh.Kind == lokero.ShipmentPrepaid:
		return pubPrepaid
	case rerouted:
		return pubBooked
	}
	if p, ok := pubRouting[sh.Routing.Rule]; ok {
		return p
	}
	return pubBooked
}

// publicDestination is the destination as public tracking shows it: a
// residents-only locker only by its type and town, since its address is
// the recipient's home.
func (s *Server) publicDestination(id string) *destinationJSON {
	d := s.destinationJSON(id)
	if d == nil {
		return nil
	}
	if l := s.dir.Snapshot().ByID(id); l != nil && l.Access == lokero.AccessResidents {
		return &destinationJSON{Type: d.Type, City: d.City}
	}
	return d
}

// returnOf is the shipment a consumer returns, found by what proves it:
// the original tracking code and the recipient's postcode, as JSON, or
// (form) as a plain HTML form's fields (Shipments.ReturnCode).
func (s *Server) returnOf(w http.ResponseWriter, r *http.Request, form bool) (lokero.Shipment, error) {
	var req struct {
		TrackingCode string `json:"tracking_code"`
		Postcode     string `json:"postcode"`
	}
	if ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";"); form && strings.TrimSpace(ct) == "application/x-www-form-urlencoded" {
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		if err := r.ParseForm(); err != nil {
			return lokero.Shipment{}, lokero.Invalid("", "malformed_form", "could not read the form: %v", err)
		}
		req.TrackingCode, req.Postcode = r.PostForm.Get("tracking_code"), r.PostForm.Get("postcode")
	} else if _, err := readJSON(w, r, &req); err != nil {
		return lokero.Shipment{}, err
	}
	// Only a delivery's (Shipments.ReturnCode answers a pre-paid parcel
	// or a return as it answers a wrong pair).
	return s.shipments.ReturnCode(r.Context(), req.TrackingCode, req.Postcode)
}

func (s *Server) handleReturns(w http.ResponseWriter, r *http.Request) {
	sh, err := s.returnOf(w, r, false)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{
		"tracking_code": sh.TrackingCode, "return_code": sh.ReturnCode, "return_tracking_code": sh.ReturnTrackingCode,
	})
}

// handleReturnLabel prints the label of a consumer's return, for the
// same proof as its code (POST /v1/returns): the original tracking code and
// the recipient's postcode, as JSON or as a plain HTML form's fields (the
// returns page posts its form here, so that the browser opens the PDF).
// The label goes from the consumer back to the store, under the return's
// own tracking code, with the return code to enter at the locker.
func (s *Server) handleReturnLabel(w http.ResponseWriter, r *http.Request) {
	sh, err := s.returnOf(w, r, true)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	store := sh.Sender
	l := label.Label{
		TrackingCode: sh.ReturnTrackingCode,
		Reference:    sh.Reference,
		Sender:       sh.Recipient,
		Recipient:    store,
		Destination:  lokero.Location{Name: store.Name, Street: store.Street, Postcode: store.Postcode, City: store.City},
		Parcel:       sh.Parcel,
		ReturnCode:   sh.ReturnCode,
		CreatedAt:    sh.CreatedAt,
	}
	w.Header().Set("Cache-Control", "no-store") // a consumer's addresses
	s.writeLabel(w, r, l, "return label of "+sh.ID)
}

// shipmentJSON is a shipment as its retailer sees it.
type shipmentJSON struct {
	ID                 string                 `json:"id"`
	Kind               lokero.ShipmentKind    `json:"kind"`
	ReturnOf           string                 `json:"return_of,omitempty"`
	Reference          string                 `json:"reference"`
	TrackingCode       string                 `json:"tracking_code"`
	Status             lokero.ShipmentStatus  `json:"status"`
	Sender             lokero.Party           `json:"sender"`
	Recipient          lokero.Party           `json:"recipient"`
	Parcel             lokero.Parcel          `json:"parcel"`
	COD                *lokero.COD            `json:"cod"`
	PickupPointID      string                 `json:"pickup_point_id,omitempty"`
	Fallback           string                 `json:"fallback,omitempty"`
	Destination        *destinationJSON       `json:"destination"`
	Routing            lokero.Routing         `json:"routing"`
	EstimatedDelivery  lokero.Date            `json:"estimated_delivery"`
	ReturnCode         string                 `json:"return_code,omitempty"`
	ReturnTrackingCode string                 `json:"return_tracking_code,omitempty"`
	DropOffCode        string                 `json:"dropoff_code,omitempty"`
	PickedUp           *lokero.Pickup         `json:"picked_up,omitempty"` // where, when and by whom it was collected
	LabelURL           string                 `json:"label_url"`
	TrackingURL        string                 `json:"tracking_url"`
	Events             []lokero.ShipmentEvent `json:"events"`
	CreatedAt          time.Time              `json:"created_at"`
	UpdatedAt          time.Time              `json:"updated_at"`
}

// destinationJSON is the location a shipment goes to (in public
// tracking, a residents-only locker shows only its type and town).
type destinationJSON struct {
	ID       string              `json:"id,omitempty"`
	Type     lokero.LocationType `json:"type"`
	Name     string              `json:"name,omitempty"`
	Street   string              `json:"street,omitempty"`
	Postcode string              `json:"postcode,omitempty"`
	City     string              `json:"city"`
	Lat      float64             `json:"lat,omitempty"`
	Lon      float64             `json:"lon,omitempty"`
	// An outlet's weekly opening hours and dated exceptions: when the
	// parcel can be collected there (a locker is open round the clock).
	OpeningHours  []lokero.OpeningHours `json:"opening_hours,omitempty"`
	ExceptionDays []lokero.ExceptionDay `json:"exception_days,omitempty"`
}

// trackingJSON is what anyone with the tracking code sees: no names, no
// addresses of people, no codes.
type trackingJSON struct {
	TrackingCode      string                `json:"tracking_code"`
	Status            lokero.ShipmentStatus `json:"status"`
	StatusName        string                `json:"status_name"`
	EstimatedDelivery lokero.Date           `json:"estimated_delivery,omitzero"`
	// PickupBy is the end of the storage period while the parcel waits
	// for its recipient (READY_FOR_PICKUP): after it, it goes back.
	PickupBy    *time.Time        `json:"pickup_by,omitempty"`
	Destination *destinationJSON  `json:"destination,omitempty"`
	Events      []publicEventJSON `json:"events"`
}

func (s *Server) destinationJSON(id string) *destinationJSON {
	l := s.dir.Snapshot().ByID(id)
	if l == nil {
		return nil
	}
	d := &destinationJSON{ID: l.ID, Type: l.Type, Name: l.Name, Street: l.Street, Postcode: l.Postcode, City: l.City, Lat: l.Lat, Lon: l.Lon}
	if l.Type.IsOutlet() {
		d.OpeningHours, d.ExceptionDays = l.OpeningHours, l.ExceptionDays
	}
	return d
}

func (s *Server) shipmentJSON(sh *lokero.Shipment) shipmentJSON {
	events := sh.Events
	if events == nil {
		events = []lokero.ShipmentEvent{}
	}
	out := shipmentJSON{
		ID: sh.ID, Kind: sh.Kind.OrDefault(), ReturnOf: sh.ReturnOf, Reference: sh.Reference, TrackingCode: sh.TrackingCode, Status: sh.Status,
		Sender: sh.Sender, Recipient: sh.Recipient, Parcel: sh.Parcel, COD: sh.COD,
		PickupPointID: sh.PickupPointID, Fallback: sh.Fallback, Destination: s.destinationJSON(sh.DestinationID),
		Routing: sh.Routing, EstimatedDelivery: sh.DeliveryDate, ReturnCode: sh.ReturnCode, ReturnTrackingCode: sh.ReturnTrackingCode,
		LabelURL: "/v1/shipments/" + sh.ID + "/label.pdf", TrackingURL: "/v1/tracking/" + sh.TrackingCode,
		Events: events, CreatedAt: sh.CreatedAt, UpdatedAt: sh.UpdatedAt, PickedUp: sh.Pickup,
	}
	if sh.Kind != lokero.ShipmentDelivery && sh.Kind != "" {
		// A pre-paid parcel's code drops it off; a return has none.
		out.ReturnCode, out.DropOffCode = "", sh.ReturnCode
	}
	return out
}
