package api

import (
	"bytes"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/geo"
	"github.com/lokero/lokero/service"
)

// maxParamLen bounds every query parameter: nothing we take is longer, and
// a 10 kB postcode deserves a clear answer, not a search.
const maxParamLen = 200

// locationJSON is a location as the API shows it.
type locationJSON struct {
	ID               string                    `json:"id"`
	Type             lokero.LocationType       `json:"type"`
	Name             string                    `json:"name"`
	Street           string                    `json:"street"`
	StreetSV         string                    `json:"street_sv,omitempty"`
	Postcode         string                    `json:"postcode"`
	City             string                    `json:"city"`
	Lat              float64                   `json:"lat"`
	Lon              float64                   `json:"lon"`
	OpeningHours     []lokero.OpeningHours     `json:"opening_hours"`
	Access           lokero.Access             `json:"access"`
	PaymentTerminal  bool                      `json:"payment_terminal"`
	WheelchairAccess bool                      `json:"wheelchair_access"`
	Compartments     []lokero.CompartmentClass `json:"compartments,omitempty"`
	MaxParcel        *lokero.ParcelLimit       `json:"max_parcel,omitempty"`     // outlets only: the biggest parcel it takes
	ShelfCapacity    int                       `json:"shelf_capacity,omitempty"` // outlets only: parcels a delivery day
	Status           lokero.LocationStatus     `json:"status"`
	StatusFrom       string                    `json:"status_from,omitempty"`
	StatusUntil      string                    `json:"status_until,omitempty"`
	StatusReason     string                    `json:"status_reason,omitempty"`
	OpensOn          string                    `json:"opens_on,omitempty"`
	ExceptionDays    []lokero.ExceptionDay     `json:"exception_days,omitempty"`
	Functions        []string                  `json:"functions"`
}

func toLocationJSON(l *lokero.Location) locationJSON {
	hours := l.OpeningHours
	if hours == nil {
		hours = []lokero.OpeningHours{}
	}
	var limit *lokero.ParcelLimit
	shelf := 0
	if l.Type.IsOutlet() {
		m := l.MaxParcel
		limit, shelf = &m, l.ShelfCapacity
	}
	return locationJSON{
		ID: l.ID, Type: l.Type, Name: l.Name, Street: l.Street, StreetSV: l.StreetSV, Postcode: l.Postcode, City: l.City,
		Lat: l.Lat, Lon: l.Lon, OpeningHours: hours, Access: l.Access,
		PaymentTerminal: l.PaymentTerminal, WheelchairAccess: l.WheelchairAccess, Compartments: l.Compartments,
		MaxParcel: limit, ShelfCapacity: shelf,
		Status: l.Status, StatusFrom: l.StatusFrom, StatusUntil: l.StatusUntil, StatusReason: l.StatusReason,
		OpensOn: l.OpensOn, ExceptionDays: l.ExceptionDays, Functions: emptyIfNil(l.Functions),
	}
}

func emptyIfNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// encodedSnapshot caches each location's JSON object of one directory
// snapshot, without its closing brace so that a per-query distance can be
// appended: a search answer is then a concatenation, with no reflection on
// the hot path. Objects are encoded on first use, so a new snapshot costs
// nothing up front, and a location of an older snapshot (a search that
// raced a reload) is simply encoded too.
type encodedSnapshot struct {
	snap *service.Snapshot
	open sync.Map // *lokero.Location → []byte
}

func (s *Server) encoded() *encodedSnapshot {
	snap := s.dir.Snapshot()
	e := s.cache.Load()
	if e == nil || e.snap != snap {
		e = &encodedSnapshot{snap: snap}
		s.cache.Store(e)
	}
	return e
}

// object returns the open JSON object of l.
func (e *encodedSnapshot) object(l *lokero.Location) []byte {
	if b, ok := e.open.Load(l); ok {
		return b.([]byte)
	}
	b, _ := json.Marshal(toLocationJSON(l)) // plain data: cannot fail
	v, _ := e.open.LoadOrStore(l, b[:len(b)-1])
	return v.([]byte)
}

func (s *Server) handleLocations(w http.ResponseWriter, r *http.Request) {
	q, err := parseLocationQuery(r.URL.Query())
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if q.DeliveryDate == "" {
		q.DeliveryDate = s.dir.DeliveryDate().String()
	}
	results, err := s.dir.Search(r.Context(), q)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	enc := s.encoded()
	buf, _ := s.buffers.Get().(*bytes.Buffer)
	if buf == nil {
		buf = new(bytes.Buffer)
	}
	defer s.buffers.Put(buf)
	buf.Reset()
	buf.WriteString(`{"delivery_date":"`)
	buf.WriteString(q.DeliveryDate)
	buf.WriteString(`","locations":[`)
	for i, res := range results {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.Write(enc.object(res.Location))
		if res.HasDistance {
			buf.WriteString(`,"distance_m":`)
			buf.WriteString(strconv.FormatInt(int64(math.Round(res.DistanceM)), 10))
		}
		writeOnDate(buf, &res)
		buf.WriteByte('}')
	}
	buf.WriteString("]}\n")
	w.Header().Set("Content-Type", "application/json")
	w.Write(buf.Bytes())
}

// writeOnDate appends what a result is on the delivery date: open or why
// not, its hours that day, a locker's free compartments. Written by hand:
// it is on every search's hot path.
// writeJSONString writes s as a JSON string: as it is when it needs no
// escaping (a size class: "S", "XL"), through encoding/json otherwise.
func writeJSONString(buf *bytes.Buffer, s string) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s)
			buf.Write(b)
			return
		}
	}
	buf.WriteByte('"')
	buf.WriteString(s)
	buf.WriteByte('"')
}

func writeOnDate(buf *bytes.Buffer, res *service.LocationResult) {
	buf.WriteString(`,"open_on_date":`)
	buf.WriteString(strconv.FormatBool(res.Open))
	if !res.Open {
		buf.WriteString(`,"closed_reason":`)
		reason, _ := json.Marshal(res.ClosedReason)
		buf.Write(reason)
	}
	buf.WriteString(`,"hours_on_date":[`)
	var hours [8]lokero.OpeningHours
	for i, h := range res.Location.AppendHoursOn(hours[:0], res.Date) {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(`{"weekday":`)
		buf.WriteString(strconv.Itoa(h.Weekday))
		buf.WriteString(`,"from":"`)
		buf.WriteString(h.From)
		buf.WriteString(`","to":"`)
		buf.WriteString(h.To)
		buf.WriteString(`"}`)
	}
	buf.WriteByte(']')
	if a := res.Availability; a != nil {
		buf.WriteString(`,"availability":{"level":"`)
		buf.WriteString(a.Level)
		buf.WriteString(`","compartments":[`)
		for i, c := range a.Classes {
			if i > 0 {
				buf.WriteByte(',')
			}
			buf.WriteString(`{"size":`)
			writeJSONString(buf, c.Size)
			buf.WriteString(`,"total":`)
			buf.WriteString(strconv.Itoa(c.Total))
			buf.WriteString(`,"free":`)
			buf.WriteString(strconv.Itoa(c.Free))
			buf.WriteString(`,"level":"`)
			buf.WriteString(c.Level)
			buf.WriteString(`"}`)
		}
		buf.WriteString(`]}`)
	}
}

func (s *Server) handleLocation(w http.ResponseWriter, r *http.Request) {
	l, err := s.dir.Location(r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, toLocationJSON(l))
}

// locationParams are the parameters of GET /v1/locations.
var locationParams = []string{"postcode", "street", "lat", "lon", "type", "payment_terminal", "fits",
	"delivery_date", "include_closed", "cod", "wheelchair_access", "open_now", "available", "functions", "limit"}

// parseLocationQuery reads the query of GET /v1/locations, refusing
// anything malformed with the parameter named.
func parseLocationQuery(v url.Values) (service.LocationQuery, error) {
	var q service.LocationQuery
	if err := checkQuery(v, locationParams...); err != nil {
		return q, err
	}
	q.Postcode = strings.TrimSpace(v.Get("postcode"))
	q.Street = strings.TrimSpace(v.Get("street"))
	if q.Postcode != "" {
		if len(q.Postcode) != 5 || strings.Trim(q.Postcode, "0123456789") != "" {
			return q, lokero.Invalid("postcode", "malformed", "postcode must be five digits; got %q", q.Postcode)
		}
	}
	latS, lonS := v.Get("lat"), v.Get("lon")
	if latS != "" || lonS != "" {
		if latS == "" || lonS == "" {
			field := "lat"
			if lonS == "" {
				field = "lon"
			}
			return q, lokero.Invalid(field, "required", "lat and lon go together: %s is missing", field)
		}
		lat, err := parseCoordinate("lat", latS, 90)
		if err != nil {
			return q, err
		}
		lon, err := parseCoordinate("lon", lonS, 180)
		if err != nil {
			return q, err
		}
		q.Origin = &geo.Point{Lat: lat, Lon: lon}
	}
	for _, tv := range v["type"] {
		for name := range strings.SplitSeq(tv, ",") {
			if strings.TrimSpace(name) == "" {
				continue
			}
			t, ok := lokero.ParseLocationType(name)
			if !ok {
				return q, lokero.Invalid("type", "unknown_type", "type must be a comma list of LOCKER, SMARTPOST, POSTOFFICE, PICKUPPOINT; got %q", name)
			}
			q.Types = append(q.Types, t)
		}
	}
	if pt := v.Get("payment_terminal"); pt != "" {
		b, err := strconv.ParseBool(pt)
		if err != nil {
			return q, lokero.Invalid("payment_terminal", "malformed", "payment_terminal must be true or false; got %q", pt)
		}
		q.PaymentTerminal = b
	}
	if fits := v.Get("fits"); fits != "" {
		dims, err := parseDimensions(fits)
		if err != nil {
			return q, err
		}
		q.Fits = &dims
	}
	for name, dst := range map[string]*bool{"include_closed": &q.IncludeClosed, "cod": &q.COD,
		"wheelchair_access": &q.Wheelchair, "open_now": &q.OpenNow, "available": &q.Available} {
		if b := v.Get(name); b != "" {
			val, err := strconv.ParseBool(b)
			if err != nil {
				return q, lokero.Invalid(name, "malformed", "%s must be true or false; got %q", name, b)
			}
			*dst = val
		}
	}
	// The search checks the date and the function names.
	q.DeliveryDate = strings.TrimSpace(v.Get("delivery_date"))
	for _, fv := range v["functions"] {
		for f := range strings.SplitSeq(fv, ",") {
			if f = strings.ToLower(strings.TrimSpace(f)); f != "" {
				q.Functions = append(q.Functions, f)
			}
		}
	}
	if ls := v.Get("limit"); ls != "" {
		n, err := strconv.Atoi(ls)
		if err != nil {
			return q, lokero.Invalid("limit", "malformed", "limit must be a whole number; got %q", ls)
		}
		if n < 1 || n > service.MaxLimit {
			return q, lokero.Invalid("limit", "out_of_range", "limit must be 1..%d; got %d", service.MaxLimit, n)
		}
		q.Limit = n
	}
	return q, nil
}

func parseCoordinate(field, s string, max float64) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, lokero.Invalid(field, "malformed", "%s must be a decimal number of degrees; got %q", field, s)
	}
	if f < -max || f > max {
		return 0, lokero.Invalid(field, "out_of_range", "%s must be between -%g and %g; got %g", field, max, max, f)
	}
	return f, nil
}

// parseDimensions reads "LxWxH" in centimetres ("30x20x10", decimals allowed).
func parseDimensions(s string) ([3]float64, error) {
	var dims [3]float64
	parts := strings.Split(strings.ToLower(s), "x")
	if len(parts) != 3 {
		return dims, lokero.Invalid("fits", "malformed", "fits must be LxWxH in centimetres, e.g. 30x20x10; got %q", s)
	}
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return dims, lokero.Invalid("fits", "malformed", "fits must be LxWxH in centimetres, e.g. 30x20x10; got %q", s)
		}
		if f <= 0 || f > 1000 {
			return dims, lokero.Invalid("fits", "out_of_range", "each dimension in fits must be more than 0 and at most 1000 cm; got %g", f)
		}
		dims[i] = f
	}
	return dims, nil
}
