package api

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/service"
)

// LockerOptions are the development aids of the locker API.
type LockerOptions struct {
	// DevOutbox serves GET /dev/outbox: the queued messages, opening codes
	// in clear. For a machine without notification providers only.
	DevOutbox bool
	// DevClock, when set, serves POST /v1/admin/clock to move time on.
	DevClock *lokero.DevClock
	// Push configures the Web Push subscriptions of parcels.
	Push PushOptions
	// CredentialChanged, when set, is told of a credential revoked or
	// rotated through the API (serve drops a revoked locker from its MQTT
	// broker at once).
	CredentialChanged func(lokero.Credential)
}

// LockerCommands reaches lockers' controllers directly (serve's MQTT
// centre, device.Centre): the API tells a locker to open the compartment
// a courier's handheld deposits into or collects from, and passes on a
// compartment put out of order or back and a parcel's rotated code. Each
// is sent after the change is committed; one lost on the way is made good
// by the controller's next sync (the courier opens with the locker's
// keypad meanwhile).
type LockerCommands interface {
	Open(locationID string, compartment int, purpose, shipmentID string) bool
	SetOutOfOrder(locationID string, compartment int, outOfOrder bool) bool
	Expect(ctx context.Context, locationID, shipmentID string)
}

// expectTimeout bounds telling a locker's controller of a parcel's new
// code after the rotation committed, whether or not the client waits.
const expectTimeout = 10 * time.Second

// SetLockerCommands makes the locker operations tell lockers' controllers
// directly what changed for them. Call it before serving.
func (s *Server) SetLockerCommands(c LockerCommands) { s.commands = c }

// EnableLockers serves the locker operations over l: courier deposits,
// device doors and keypad, courier handover. Call it after
// EnableShipments and before serving.
func (s *Server) EnableLockers(l *service.Lockers, opts LockerOptions) {
	s.lockers = l
	s.credentialChanged = opts.CredentialChanged
	s.registry.MustRegister(turnedAway("door", "rerouted", l.DoorReroutes))
	s.mux.HandleFunc("POST /v1/lockers/{location_id}/deposits", s.credential(lokero.KindCourier, s.handleDeposit))
	s.mux.HandleFunc("POST /v1/devices/{location_id}/events", s.credential(lokero.KindDevice, s.handleDeviceEvent))
	s.mux.HandleFunc("POST /v1/devices/{location_id}/keypad", s.credential(lokero.KindDevice, s.handleKeypad))
	s.mux.HandleFunc("POST /v1/devices/{location_id}/payments", s.credential(lokero.KindDevice, s.handlePayment))
	s.mux.HandleFunc("GET /v1/devices", s.credential(lokero.KindOperator, s.handleDevices))
	s.mux.HandleFunc("GET /v1/cod/settlements", s.credential(lokero.KindOperator, s.handleSettlements))
	s.mux.HandleFunc("GET /v1/lockers/{location_id}", s.credential(lokero.KindOperator, s.handleLockerView))
	s.mux.HandleFunc("GET /v1/lockers/{location_id}/collections", s.credentialOf([]lokero.CredentialKind{lokero.KindCourier, lokero.KindOperator}, s.handleCollections))
	s.mux.HandleFunc("GET /v1/network", s.credential(lokero.KindOperator, s.handleNetwork))
	s.mux.HandleFunc("GET /v1/network/occupancy", s.credential(lokero.KindOperator, s.handleOccupancyHistory))
	s.mux.HandleFunc("POST /v1/lockers/{location_id}/collections", s.credential(lokero.KindCourier, s.handleCollect))
	s.mux.HandleFunc("POST /v1/lockers/{location_id}/compartments/{n}/out-of-order", s.credential(lokero.KindOperator, s.handleOutOfOrder(true)))
	s.mux.HandleFunc("DELETE /v1/lockers/{location_id}/compartments/{n}/out-of-order", s.credential(lokero.KindOperator, s.handleOutOfOrder(false)))
	s.mux.HandleFunc("POST /v1/shipments/{id}/notice", s.handleNotice)
	s.mux.HandleFunc("PATCH /v1/locations/{id}", s.credential(lokero.KindOperator, s.handlePatchLocation))
	s.mux.HandleFunc("GET /v1/locations/{id}/events", s.credential(lokero.KindOperator, s.handleLocationEvents))
	s.mux.HandleFunc("GET /v1/locations/{id}/stranded", s.credential(lokero.KindOperator, s.handleStranded))
	s.mux.HandleFunc("GET /v1/stranded", s.credential(lokero.KindOperator, s.handleStranded))
	s.mux.HandleFunc("POST /v1/shipments/{id}/opening-code/rotate", s.credential(lokero.KindOperator, func(w http.ResponseWriter, r *http.Request) {
		s.answerNotice(w, r, "", true)
	}))
	s.registerCredentialRoutes() // credentials.go
	s.registerOutletRoutes()     // outlets.go
	s.registerDevRoutes(opts)    // dev.go
	s.registerNotificationRoutes()
	s.registerPushRoutes(opts.Push)
	s.enableQR() // qr.go
}

// handleNotice sends a parcel's notice of arrival again, with the same
// code: for the retailer (its own parcels) or an operator, by token or by
// the web session of the operator's pages.
func (s *Server) handleNotice(w http.ResponseWriter, r *http.Request) {
	operator := func(w http.ResponseWriter, r *http.Request) { s.answerNotice(w, r, "", false) }
	token, ok := bearer(r)
	if ok && strings.HasPrefix(token, "lko_") {
		s.credential(lokero.KindOperator, operator)(w, r)
		return
	}
	if !ok {
		// No token: an operator's session takes the operator's path (from
		// the platform's own pages only, as every session's change); any
		// other caller is asked for a retailer's key.
		if c, expires, ok := s.sessionCredential(r); ok && c.Kind == lokero.KindOperator {
			s.sessionRequest(w, r, c, expires, operator)
			return
		}
	}
	s.retailer(func(w http.ResponseWriter, r *http.Request) {
		s.answerNotice(w, r, retailerFrom(r.Context()).ID, false)
	})(w, r)
}

func (s *Server) answerNotice(w http.ResponseWriter, r *http.Request, ownerID string, rotate bool) {
	sh, err := s.lockers.NoticeAgain(r.Context(), ownerID, r.PathValue("id"), rotate)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if rotate && s.commands != nil && sh.Status == lokero.StatusReadyForPickup {
		// The locker's controller gets the new code's verifier (or the new
		// code sealed for its board): the old code no longer opens,
		// offline either. The rotation is committed: a client that hangs
		// up now must not cancel the telling, or the locker keeps the old
		// verifier until its next sync.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), expectTimeout)
		s.commands.Expect(ctx, sh.DestinationID, sh.ID)
		cancel()
	}
	writeJSON(w, http.StatusOK, s.shipmentJSON(&sh))
}

// handlePatchLocation is the operator changing a point's status, exception
// days, wheelchair access or functions. Shipments routed there that it
// will now be closed for are re-routed at once; the answer counts them and
// lists those nothing could take.
func (s *Server) handlePatchLocation(w http.ResponseWriter, r *http.Request) {
	var p service.LocationPatch
	if _, err := readJSON(w, r, &p); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if p == (service.LocationPatch{}) {
		// {}, null, or only nulls: nothing to change, and no event to
		// record that nothing changed.
		writeError(w, r, s.log, lokero.Invalid("body", "empty_patch", "the patch changes nothing: the request body must give at least one of "+
			"status, status_from, status_until, status_reason, opens_on, exception_days, wheelchair_access, functions"))
		return
	}
	loc, err := s.dir.Patch(r.Context(), credentialFrom(r.Context()).ID, r.PathValue("id"), p)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := map[string]any{"location": toLocationJSON(&loc), "rerouted": []string{}, "stranded": []strandedJSON{}}
	if s.shipments != nil {
		res, err := s.shipments.RerouteClosed(r.Context(), loc.ID)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		ids := make([]string, len(res.Rerouted))
		for i, sh := range res.Rerouted {
			ids[i] = sh.ID
		}
		out["rerouted"], out["stranded"] = ids, toStranded(res.Stranded)
		if len(res.Stranded) > 0 {
			s.log.Warn("shipments stranded at a closed point", "location", loc.ID, "stranded", len(res.Stranded))
		}
	}
	writeJSON(w, http.StatusOK, out)
}

// strandedJSON is a shipment that no open point could take.
type strandedJSON struct {
	ID           string      `json:"id"`
	TrackingCode string      `json:"tracking_code"`
	RetailerID   string      `json:"retailer_id"`
	DeliveryDate lokero.Date `json:"delivery_date"`
	LocationID   string      `json:"location_id"` // the closed point it is routed to
}

func toStranded(list []lokero.Shipment) []strandedJSON {
	out := make([]strandedJSON, len(list))
	for i, sh := range list {
		out[i] = strandedJSON{sh.ID, sh.TrackingCode, sh.RetailerID, sh.DeliveryDate, sh.DestinationID}
	}
	return out
}

func (s *Server) handleLocationEvents(w http.ResponseWriter, r *http.Request) {
	events, err := s.dir.Events(r.Context(), r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	type eventJSON struct {
		Seq    int                   `json:"seq"`
		At     time.Time             `json:"at"`
		Actor  string                `json:"actor"`
		Change lokero.LocationChange `json:"change"`
	}
	out := make([]eventJSON, len(events))
	for i, e := range events {
		out[i] = eventJSON{e.Seq, e.At, e.Actor, e.Change}
	}
	writeJSON(w, http.StatusOK, map[string]any{"events": out})
}

func (s *Server) handleStranded(w http.ResponseWriter, r *http.Request) {
	if err := checkQuery(r.URL.Query()); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if s.shipments == nil {
		writeJSON(w, http.StatusOK, map[string]any{"stranded": []strandedJSON{}})
		return
	}
	var list []lokero.Shipment
	var err error
	if id := r.PathValue("id"); id != "" {
		list, err = s.shipments.Stranded(r.Context(), id)
	} else {
		list, err = s.shipments.StrandedEverywhere(r.Context())
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"stranded": toStranded(list)})
}

type credentialKey struct{}

// credential authenticates a token of kind (Authorization: Bearer) and
// limits its rate before next runs with it (credentialFrom).
func (s *Server) credential(kind lokero.CredentialKind, next http.HandlerFunc) http.HandlerFunc {
	return s.credentialOf([]lokero.CredentialKind{kind}, next)
}

// credentialOf is credential for a call that a token of any of kinds may
// make; a token's prefix says its kind, so trying each costs nothing.
func (s *Server) credentialOf(kinds []lokero.CredentialKind, next http.HandlerFunc) http.HandlerFunc {
	names := string(kinds[0])
	for _, k := range kinds[1:] {
		names += " or " + string(k)
	}
	return func(w http.ResponseWriter, r *http.Request) {
		token, ok := bearer(r)
		if !ok {
			// A session cookie costs a lookup of its credential: one that
			// does not hold is a failed authentication of its address.
			if _, err := r.Cookie(SessionCookie); err == nil && s.sessionKey != nil {
				if s.authBarred(w, r) {
					return
				}
				c, expires, ok := s.sessionCredential(r)
				if ok && slices.Contains(kinds, c.Kind) {
					s.sessionRequest(w, r, c, expires, next)
					return
				}
				if !ok {
					s.authFailed(r)
				}
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="lokero"`)
			writeError(w, r, s.log, &lokero.Error{Code: lokero.EUNAUTHORIZED, Reason: "missing_token",
				Message: "this call needs a " + names + " token: send Authorization: Bearer <token>"})
			return
		}
		// An address that spent its failed authentications is refused
		// before the store is asked about another token.
		if s.authBarred(w, r) {
			return
		}
		c, err := s.authenticate(r.Context(), kinds, token)
		if err != nil {
			if lokero.ErrorCode(err) == lokero.EUNAUTHORIZED {
				s.authFailed(r)
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="lokero", error="invalid_token"`)
			writeError(w, r, s.log, err)
			return
		}
		if !s.perKey(w, r, s.limits.Load().forCredential(c.Kind), c.ID) {
			return
		}
		next(w, r.WithContext(context.WithValue(r.Context(), credentialKey{}, c)))
	}
}

// authenticate returns the credential of a token of any of kinds (a
// token's prefix says its kind, so trying each costs nothing), or the
// last kind's refusal.
func (s *Server) authenticate(ctx context.Context, kinds []lokero.CredentialKind, token string) (c lokero.Credential, err error) {
	for _, kind := range kinds {
		if c, err = s.lockers.Authenticate(ctx, kind, token); err == nil {
			return c, nil
		}
	}
	return c, err
}

// sessionRequest runs next for a request authenticated by a web session's
// cookie: one that changes anything must come from the platform's own
// pages.
func (s *Server) sessionRequest(w http.ResponseWriter, r *http.Request, c lokero.Credential, expires time.Time, next http.HandlerFunc) {
	if err := s.crossOrigin.Check(r); err != nil {
		writeError(w, r, s.log, crossOriginError())
		return
	}
	if !s.perKey(w, r, s.limits.Load().forCredential(c.Kind), c.ID) {
		return
	}
	ctx := context.WithValue(withSession(r.Context(), expires), credentialKey{}, c)
	next(w, r.WithContext(ctx))
}

func credentialFrom(ctx context.Context) lokero.Credential {
	c, _ := ctx.Value(credentialKey{}).(lokero.Credential)
	return c
}

func (s *Server) handleDeposit(w http.ResponseWriter, r *http.Request) {
	var req struct {
		TrackingCode string `json:"tracking_code"`
	}
	if _, err := readJSON(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	res, err := s.lockers.Deposit(r.Context(), credentialFrom(r.Context()), r.PathValue("location_id"), req.TrackingCode)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if s.commands != nil {
		s.commands.Open(r.PathValue("location_id"), res.Compartment.Number, service.PurposeDeposit, res.Shipment.ID)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"tracking_code": res.Shipment.TrackingCode, "compartment": res.Compartment.Number, "size": res.Compartment.Size,
		"status": res.Shipment.Status, "door": "open",
	})
}

func (s *Server) handleDeviceEvent(w http.ResponseWriter, r *http.Request) {
	var req deviceEventRequest
	if _, err := readJSON(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if req.Seq != nil {
		s.handleSequencedEvent(w, r, req)
		return
	}
	if req.Type == service.LetterDropped || req.Type == service.SlotEmptied {
		slot, err := s.lockers.Letters(r.Context(), credentialFrom(r.Context()), r.PathValue("location_id"), req.Type, req.Count)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		writeJSON(w, http.StatusOK, lettersJSON(slot))
		return
	}
	if req.Type == service.DeviceEventDoorOpened {
		if err := s.lockers.DoorOpened(r.Context(), credentialFrom(r.Context()), r.PathValue("location_id"), req.Compartment); err != nil {
			writeError(w, r, s.log, err)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"compartment": req.Compartment, "door": "open"})
		return
	}
	if req.Type != "door_closed" {
		writeError(w, r, s.log, lokero.Invalid("type", "unknown_event", "type must be door_closed, door_opened, letter_dropped or slot_emptied; got %q", req.Type))
		return
	}
	sh, err := s.lockers.DoorClosed(r.Context(), credentialFrom(r.Context()), r.PathValue("location_id"), req.Compartment)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := map[string]any{"compartment": req.Compartment, "door": "closed"}
	if sh.ID != "" {
		out["tracking_code"], out["status"] = sh.TrackingCode, sh.Status
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleKeypad(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Code string `json:"code"`
	}
	if _, err := readJSON(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	res, err := s.lockers.Keypad(r.Context(), credentialFrom(r.Context()), r.PathValue("location_id"), req.Code)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := map[string]any{"result": res.Result, "compartment": res.Compartment, "purpose": res.Purpose}
	if res.Result == "payment_required" {
		out["amount_cents"], out["currency"] = res.AmountCents, "EUR"
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handlePayment(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Compartment int    `json:"compartment"`
		AmountCents int64  `json:"amount_cents"`
		TerminalRef string `json:"terminal_ref"`
	}
	if _, err := readJSON(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	res, err := s.lockers.Payment(r.Context(), credentialFrom(r.Context()), r.PathValue("location_id"), req.Compartment, req.AmountCents, req.TerminalRef)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"result": res.Result, "compartment": res.Compartment})
}

func (s *Server) handleSettlements(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := checkQuery(q, "date"); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	day, err := lokero.ParseDate(q.Get("date"))
	if err != nil {
		var e *lokero.Error
		if errors.As(err, &e) {
			e.Field = "date"
		}
		writeError(w, r, s.log, err)
		return
	}
	list, err := s.lockers.Settlements(r.Context(), day)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	type place struct {
		LocationID    string              `json:"location_id"`
		Name          string              `json:"name"`
		Type          lokero.LocationType `json:"type"`
		Shipments     int                 `json:"shipments"`
		AmountCents   int64               `json:"amount_cents"`
		CashCents     int64               `json:"cash_cents"`
		CardCents     int64               `json:"card_cents"`
		TerminalCents int64               `json:"terminal_cents"`
	}
	type settlement struct {
		RetailerID   string  `json:"retailer_id"`
		RetailerName string  `json:"retailer_name"`
		Shipments    int     `json:"shipments"`
		AmountCents  int64   `json:"amount_cents"`
		Currency     string  `json:"currency"`
		Locations    []place `json:"locations"` // where it was paid: terminals and counters
	}
	out := struct {
		Date        lokero.Date  `json:"date"`
		Settlements []settlement `json:"settlements"`
	}{Date: day, Settlements: make([]settlement, len(list))}
	for i, st := range list {
		places := make([]place, len(st.Locations))
		for j, l := range st.Locations {
			places[j] = place{l.LocationID, l.Name, l.Type, l.Shipments, l.AmountCents, l.CashCents, l.CardCents, l.TerminalCents}
		}
		out.Settlements[i] = settlement{st.RetailerID, st.RetailerName, st.Shipments, st.AmountCents, st.Currency, places}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleLockerView(w http.ResponseWriter, r *http.Request) {
	v, err := s.lockers.View(r.Context(), credentialFrom(r.Context()), r.PathValue("location_id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	type compartment struct {
		Number       int        `json:"number"`
		Size         string     `json:"size"`
		State        string     `json:"state"`
		DoorOpen     bool       `json:"door_open"`
		DoorForced   bool       `json:"door_forced"` // opened without its lock: check what is inside
		TrackingCode string     `json:"tracking_code,omitempty"`
		Deadline     *time.Time `json:"storage_deadline,omitempty"`
	}
	type occupancy struct {
		Total         int `json:"total"`
		Occupied      int `json:"occupied"`
		OutOfOrder    int `json:"out_of_order"`
		Free          int `json:"free"`
		ReservedToday int `json:"reserved_today"`
	}
	out := struct {
		Location      locationJSON         `json:"location"`
		Compartments  []compartment        `json:"compartments"`
		Occupancy     map[string]occupancy `json:"occupancy"`
		ExpiringToday []string             `json:"expiring_today"`
		Letters       map[string]int       `json:"letters"`
		Link          *linkJSON            `json:"link"` // null: its controller never reported over MQTT
	}{Location: toLocationJSON(v.Location), Compartments: []compartment{}, Occupancy: map[string]occupancy{}, ExpiringToday: []string{},
		Letters: lettersJSON(v.Letters)}
	if link, err := s.lockers.Link(r.Context(), v.Location.ID); err == nil {
		lj := toLinkJSON(link)
		out.Link = &lj
	} else if lokero.ErrorCode(err) != lokero.ENOTFOUND {
		writeError(w, r, s.log, err)
		return
	}
	for _, c := range v.Compartments {
		cj := compartment{Number: c.Number, Size: c.Size, State: c.State, DoorOpen: c.DoorOpen, DoorForced: c.DoorForced, TrackingCode: c.TrackingCode}
		if !c.Deadline.IsZero() {
			d := c.Deadline
			cj.Deadline = &d
		}
		out.Compartments = append(out.Compartments, cj)
	}
	for size, o := range v.Occupancy {
		out.Occupancy[size] = occupancy{o.Total, o.Occupied, o.OutOfOrder, o.Total - o.Occupied - o.OutOfOrder, o.ReservedToday}
	}
	out.ExpiringToday = append(out.ExpiringToday, v.ExpiringToday...)
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleOutOfOrder(outOfOrder bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		n, err := strconv.Atoi(r.PathValue("n"))
		if err != nil {
			writeError(w, r, s.log, lokero.Invalid("n", "malformed", "the compartment number must be a whole number; got %q", r.PathValue("n")))
			return
		}
		c, err := s.lockers.SetOutOfOrder(r.Context(), credentialFrom(r.Context()), r.PathValue("location_id"), n, outOfOrder)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		if s.commands != nil {
			s.commands.SetOutOfOrder(r.PathValue("location_id"), c.Number, c.OutOfOrder)
		}
		writeJSON(w, http.StatusOK, map[string]any{"number": c.Number, "size": c.Size, "out_of_order": c.OutOfOrder})
	}
}

func (s *Server) handleCollections(w http.ResponseWriter, r *http.Request) {
	list, err := s.lockers.Collections(r.Context(), credentialFrom(r.Context()), r.PathValue("location_id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	type item struct {
		TrackingCode string                `json:"tracking_code"`
		Compartment  int                   `json:"compartment"`
		Status       lokero.ShipmentStatus `json:"status"`
		Kind         lokero.ShipmentKind   `json:"kind"`
	}
	out := struct {
		Collections []item `json:"collections"`
	}{Collections: make([]item, len(list))}
	for i, sh := range list {
		out.Collections[i] = item{sh.TrackingCode, sh.Compartment, sh.Status, sh.Kind.OrDefault()}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleCollect(w http.ResponseWriter, r *http.Request) {
	var req struct {
		TrackingCode string `json:"tracking_code"`
	}
	if _, err := readJSON(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	sh, compartment, err := s.lockers.Collect(r.Context(), credentialFrom(r.Context()), r.PathValue("location_id"), req.TrackingCode)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if l := s.dir.Snapshot().ByID(r.PathValue("location_id")); s.commands != nil && l != nil && l.Type.IsLocker() {
		s.commands.Open(l.ID, compartment, "collect", sh.ID) // an outlet's shelf place has no lock
	}
	writeJSON(w, http.StatusOK, map[string]any{"tracking_code": sh.TrackingCode, "status": sh.Status, "kind": sh.Kind.OrDefault()})
}

// lettersJSON shows a mail slot's counts.
func lettersJSON(s lokero.LetterSlot) map[string]int {
	return map[string]int{"in_slot": s.InSlot, "dropped": s.Dropped, "emptied": s.Emptied}
}
