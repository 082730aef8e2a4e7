package api

import (
	"net/http"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/service"
)

// registerOutletRoutes serves the counter half of the network: a clerk
// scans parcels in, hands them over and takes returns and pre-paid
// parcels at their own outlet; a courier collects from its shelves; an
// operator, or the outlet's clerk, sees what is on them.
func (s *Server) registerOutletRoutes() {
	s.mux.HandleFunc("POST /v1/outlets/{location_id}/arrivals", s.credential(lokero.KindClerk, s.handleArrival))
	s.mux.HandleFunc("POST /v1/outlets/{location_id}/pickups", s.credential(lokero.KindClerk, s.handleCounterPickup))
	s.mux.HandleFunc("POST /v1/outlets/{location_id}/dropoffs", s.credential(lokero.KindClerk, s.handleCounterDropOff))
	s.mux.HandleFunc("GET /v1/outlets/{location_id}/collections", s.credential(lokero.KindCourier, s.handleOutletCollections))
	s.mux.HandleFunc("POST /v1/outlets/{location_id}/collections", s.credential(lokero.KindCourier, s.handleCollect)) // as at a locker
	s.mux.HandleFunc("GET /v1/outlets/{location_id}", s.credentialOf([]lokero.CredentialKind{lokero.KindOperator, lokero.KindClerk}, s.handleOutletView))
}

// shelfParcelJSON is a parcel on an outlet's shelf as the counter sees
// it: the recipient's name, to compare with their ID, and nothing else of
// theirs.
type shelfParcelJSON struct {
	ShelfPlace      string                `json:"shelf_place"`
	TrackingCode    string                `json:"tracking_code"`
	Kind            lokero.ShipmentKind   `json:"kind"`
	Status          lokero.ShipmentStatus `json:"status"`
	Recipient       string                `json:"recipient,omitempty"`
	StorageDeadline *time.Time            `json:"storage_deadline,omitempty"`
	AmountDueCents  int64                 `json:"amount_due_cents,omitempty"` // cash on delivery still to pay
	Currency        string                `json:"currency,omitempty"`
}

func toShelfParcel(place string, sh *lokero.Shipment) shelfParcelJSON {
	out := shelfParcelJSON{ShelfPlace: place, TrackingCode: sh.TrackingCode, Kind: sh.Kind.OrDefault(), Status: sh.Status}
	if sh.Kind.OrDefault() == lokero.ShipmentDelivery {
		out.Recipient = sh.Recipient.Name
	}
	if !sh.StorageDeadline.IsZero() {
		d := sh.StorageDeadline
		out.StorageDeadline = &d
	}
	if sh.COD != nil && sh.COD.CollectedAt == nil && sh.Status == lokero.StatusReadyForPickup {
		out.AmountDueCents, out.Currency = sh.COD.AmountCents, sh.COD.Currency
	}
	return out
}

// handleArrival is a clerk scanning a parcel in: it is ready for pickup
// on the shelf place the answer names.
func (s *Server) handleArrival(w http.ResponseWriter, r *http.Request) {
	var req struct {
		TrackingCode string `json:"tracking_code"`
	}
	if _, err := readJSON(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	res, err := s.lockers.Arrive(r.Context(), credentialFrom(r.Context()), r.PathValue("location_id"), req.TrackingCode)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, toShelfParcel(res.ShelfPlace, &res.Shipment))
}

// handleCounterPickup hands a parcel over at the counter, or answers
// payment_required with the amount due for cash on delivery.
func (s *Server) handleCounterPickup(w http.ResponseWriter, r *http.Request) {
	var req service.PickupRequest
	if _, err := readJSON(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	res, err := s.lockers.CounterPickup(r.Context(), credentialFrom(r.Context()), r.PathValue("location_id"), req)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := struct {
		Result       string                `json:"result"`
		TrackingCode string                `json:"tracking_code"`
		Status       lokero.ShipmentStatus `json:"status"`
		ShelfPlace   string                `json:"shelf_place"`
		AmountCents  int64                 `json:"amount_cents,omitempty"`
		Currency     string                `json:"currency,omitempty"`
		PickedUp     *lokero.Pickup        `json:"picked_up,omitempty"`
		COD          *lokero.COD           `json:"cod,omitempty"`
	}{Result: res.Result, TrackingCode: res.Shipment.TrackingCode, Status: res.Shipment.Status, ShelfPlace: res.ShelfPlace,
		AmountCents: res.AmountCents, Currency: res.Currency, PickedUp: res.Shipment.Pickup, COD: res.Shipment.COD}
	writeJSON(w, http.StatusOK, out)
}

// handleCounterDropOff takes a return or a pre-paid parcel at the
// counter; the answer is the consumer's receipt.
func (s *Server) handleCounterDropOff(w http.ResponseWriter, r *http.Request) {
	var req service.CounterDropOffRequest
	if _, err := readJSON(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	res, err := s.lockers.CounterDropOff(r.Context(), credentialFrom(r.Context()), r.PathValue("location_id"), req)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"tracking_code": res.Shipment.TrackingCode, "tracking_url": "/v1/tracking/" + res.Shipment.TrackingCode,
		"kind": res.Shipment.Kind.OrDefault(), "status": res.Shipment.Status, "shelf_place": res.ShelfPlace,
	})
}

// handleOutletCollections lists what a courier takes from an outlet's
// shelves: expired parcels back to their senders, returns and pre-paid
// parcels on their way.
func (s *Server) handleOutletCollections(w http.ResponseWriter, r *http.Request) {
	list, err := s.lockers.Collections(r.Context(), credentialFrom(r.Context()), r.PathValue("location_id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	out := struct {
		Collections []shelfParcelJSON `json:"collections"`
	}{Collections: make([]shelfParcelJSON, len(list))}
	for i := range list {
		out.Collections[i] = toShelfParcel(lokero.ShelfPlace(list[i].Compartment), &list[i])
		out.Collections[i].Recipient = "" // the courier needs where it goes, not who
	}
	writeJSON(w, http.StatusOK, out)
}

// handleOutletView is the outlet's shelves: what is on them, what expires
// today, what left them today.
func (s *Server) handleOutletView(w http.ResponseWriter, r *http.Request) {
	v, err := s.lockers.OutletView(r.Context(), credentialFrom(r.Context()), r.PathValue("location_id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	list := func(in []service.ShelfParcel) []shelfParcelJSON {
		out := make([]shelfParcelJSON, len(in))
		for i := range in {
			out[i] = toShelfParcel(in[i].ShelfPlace, &in[i].Shipment)
		}
		return out
	}
	type shelf struct {
		Places         int `json:"places"`
		Free           int `json:"free"`
		CapacityPerDay int `json:"capacity_per_day"`
		ReservedToday  int `json:"reserved_today"`
	}
	out := struct {
		Location       locationJSON      `json:"location"`
		Shelf          shelf             `json:"shelf"`
		OnShelf        []shelfParcelJSON `json:"on_shelf"`
		ExpiringToday  []shelfParcelJSON `json:"expiring_today"`
		CollectedToday []shelfParcelJSON `json:"collected_today"`
	}{Location: toLocationJSON(v.Location), Shelf: shelf{v.ShelfPlaces, v.Free, v.Location.ShelfCapacity, v.ReservedToday},
		OnShelf: list(v.OnShelf), ExpiringToday: list(v.ExpiringToday), CollectedToday: list(v.CollectedToday)}
	writeJSON(w, http.StatusOK, out)
}
