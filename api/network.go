package api

import (
	"compress/gzip"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/service"
)

// sizeJSON counts one size class's compartments.
type sizeJSON struct {
	Total      int `json:"total"`
	Occupied   int `json:"occupied"`
	OutOfOrder int `json:"out_of_order"`
	Free       int `json:"free"`
}

func toSizeJSON(o service.Occupancy) sizeJSON {
	return sizeJSON{Total: o.Total, Occupied: o.Occupied, OutOfOrder: o.OutOfOrder, Free: o.Total - o.Occupied - o.OutOfOrder}
}

func toSizesJSON(m map[string]service.Occupancy) map[string]sizeJSON {
	out := make(map[string]sizeJSON, len(m))
	for size, o := range m {
		out[size] = toSizeJSON(o)
	}
	return out
}

// networkLockerJSON is one locker of GET /v1/network.
type networkLockerJSON struct {
	ID            string              `json:"id"`
	Name          string              `json:"name"`
	Type          lokero.LocationType `json:"type"`
	Postcode      string              `json:"postcode"`
	City          string              `json:"city"`
	Lat           float64             `json:"lat"`
	Lon           float64             `json:"lon"`
	Status        string              `json:"status"` // OPEN, TEMPORARILY_CLOSED, NOT_YET_OPEN or CLOSED
	Total         int                 `json:"total"`
	Occupied      int                 `json:"occupied"`
	OutOfOrder    int                 `json:"out_of_order"`
	Free          int                 `json:"free"`
	Occupancy     float64             `json:"occupancy"` // occupied share of the compartments in order, 0..1
	Sizes         map[string]sizeJSON `json:"sizes"`
	ExpiringToday int                 `json:"expiring_today"`
	ToCollect     int                 `json:"to_collect"` // parcels waiting for a courier (its collection list)
	Online        *bool               `json:"online"`     // null: its controller never reported over MQTT
}

// handleNetwork answers the operator's view of every locker at once (GET
// /v1/network): occupancy by size class, the network's totals, the
// parcels whose storage period ends today and which lockers are offline.
func (s *Server) handleNetwork(w http.ResponseWriter, r *http.Request) {
	if err := checkQuery(r.URL.Query()); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	v, err := s.lockers.Network(r.Context(), credentialFrom(r.Context()))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	type expiringJSON struct {
		TrackingCode    string    `json:"tracking_code"`
		LocationID      string    `json:"location_id"`
		Compartment     int       `json:"compartment"`
		StorageDeadline time.Time `json:"storage_deadline"`
	}
	type collectJSON struct {
		TrackingCode string                `json:"tracking_code"`
		LocationID   string                `json:"location_id"`
		Compartment  int                   `json:"compartment"` // a locker's compartment, an outlet's shelf place
		Status       lokero.ShipmentStatus `json:"status"`      // EXPIRED (back to its sender) or DROPPED_OFF (a return or pre-paid parcel)
	}
	type totalsJSON struct {
		Lockers       int `json:"lockers"`
		Compartments  int `json:"compartments"`
		Occupied      int `json:"occupied"`
		OutOfOrder    int `json:"out_of_order"`
		Full          int `json:"full"`    // lockers with no compartment free
		Offline       int `json:"offline"` // lockers whose controller is offline or silent
		ExpiringToday int `json:"expiring_today"`
		ToCollect     int `json:"to_collect"`
	}
	out := struct {
		At            time.Time           `json:"at"`
		Totals        totalsJSON          `json:"totals"`
		Sizes         map[string]sizeJSON `json:"sizes"`
		Lockers       []networkLockerJSON `json:"lockers"`
		ExpiringToday []expiringJSON      `json:"expiring_today"`
		ToCollect     []collectJSON       `json:"to_collect"`
	}{At: v.At, Sizes: toSizesJSON(v.Sizes), Lockers: make([]networkLockerJSON, 0, len(v.Lockers)),
		ExpiringToday: make([]expiringJSON, 0, len(v.ExpiringToday)), ToCollect: make([]collectJSON, 0, len(v.ToCollect))}
	for _, o := range v.Lockers {
		lj := networkLockerJSON{ID: o.Location.ID, Name: o.Location.Name, Type: o.Location.Type, Postcode: o.Location.Postcode,
			City: o.Location.City, Lat: o.Location.Lat, Lon: o.Location.Lon, Status: string(o.Location.Status),
			Total: o.Total, Occupied: o.Occupied, OutOfOrder: o.OutOfOrder, Free: o.Total - o.Occupied - o.OutOfOrder,
			Occupancy: float64(int(o.Share()*1000+0.5)) / 1000, Sizes: toSizesJSON(o.Sizes), ExpiringToday: o.ExpiringToday, ToCollect: o.ToCollect}
		if lj.Status == "" {
			lj.Status = string(lokero.LocationOpen)
		}
		if o.Link != nil {
			online := o.Link.Online && o.Link.Offline == 0
			lj.Online = &online
			if !online {
				out.Totals.Offline++
			}
		}
		if lj.Free == 0 {
			out.Totals.Full++
		}
		out.Totals.Compartments += o.Total
		out.Totals.Occupied += o.Occupied
		out.Totals.OutOfOrder += o.OutOfOrder
		out.Lockers = append(out.Lockers, lj)
	}
	out.Totals.Lockers = len(v.Lockers)
	out.Totals.ExpiringToday = len(v.ExpiringToday)
	out.Totals.ToCollect = len(v.ToCollect)
	for _, p := range v.ToCollect {
		out.ToCollect = append(out.ToCollect, collectJSON{p.TrackingCode, p.LocationID, p.Compartment, p.Status})
	}
	for _, p := range v.ExpiringToday {
		out.ExpiringToday = append(out.ExpiringToday, expiringJSON{p.TrackingCode, p.LocationID, p.Compartment, p.StorageDeadline})
	}
	writeJSONGzip(w, r, http.StatusOK, out)
}

// writeJSONGzip is writeJSON for a large answer, gzipped for a client
// that takes it: the network view of thousands of lockers is megabytes of
// JSON, a tenth of that gzipped.
func writeJSONGzip(w http.ResponseWriter, r *http.Request, status int, v any) {
	w.Header().Add("Vary", "Accept-Encoding")
	if !acceptsGzip(r) {
		writeJSON(w, status, v)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Encoding", "gzip")
	w.WriteHeader(status)
	zw, _ := gzip.NewWriterLevel(w, gzip.BestSpeed) // a valid level: no error
	enc := json.NewEncoder(zw)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	zw.Close()
}

// acceptsGzip reports whether the request's Accept-Encoding takes gzip
// (with a q above 0).
func acceptsGzip(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
			return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
		}
	}
	return false
}

// handleOccupancyHistory answers the network's occupancy by size class as
// sampled every hour over the last ?days= (default 7), oldest first (GET
// /v1/network/occupancy).
func (s *Server) handleOccupancyHistory(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if err := checkQuery(q, "days"); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	days := 7
	if v := q.Get("days"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			writeError(w, r, s.log, lokero.Invalid("days", "not_a_number", "days must be a whole number of days, 1 to %d; got %q", service.MaxHistoryDays, v))
			return
		}
		days = n
	}
	samples, err := s.lockers.OccupancyHistory(r.Context(), credentialFrom(r.Context()), days)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	type sampleJSON struct {
		At    time.Time           `json:"at"`
		Sizes map[string]sizeJSON `json:"sizes"`
	}
	out := struct {
		Days    int          `json:"days"`
		Samples []sampleJSON `json:"samples"`
	}{Days: days, Samples: []sampleJSON{}}
	for _, smp := range samples {
		if n := len(out.Samples); n == 0 || !out.Samples[n-1].At.Equal(smp.At) {
			out.Samples = append(out.Samples, sampleJSON{At: smp.At, Sizes: map[string]sizeJSON{}})
		}
		out.Samples[len(out.Samples)-1].Sizes[smp.Size] = toSizeJSON(service.Occupancy{Total: smp.Total, Occupied: smp.Occupied, OutOfOrder: smp.OutOfOrder})
	}
	writeJSON(w, http.StatusOK, out)
}
