package api

import (
	"bytes"
	"encoding/json"
	"hash/maphash"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

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
// nothing up front but its empty table, and a location of an older
// snapshot (a search that raced a reload) is simply encoded too. Beside
// each object it keeps the fields a result last had on its delivery date
// (cachedLocation.onDate).
//
// The table is open addressing by the location's address, at most
// half full, without locks: a search looks up ten locations, and a
// sync.Map's walk to each, a cache miss a level, showed in the profile.
type encodedSnapshot struct {
	snap  *service.Snapshot
	seed  maphash.Seed
	slots []atomic.Pointer[cachedLocation] // a power of two of them
	n     atomic.Int64                     // slots taken
}

func newEncodedSnapshot(snap *service.Snapshot) *encodedSnapshot {
	n := 16
	for n < 2*snap.Len() {
		n *= 2
	}
	return &encodedSnapshot{snap: snap, seed: maphash.MakeSeed(), slots: make([]atomic.Pointer[cachedLocation], n)}
}

// cachedLocation is what an encodedSnapshot keeps of one location.
type cachedLocation struct {
	loc  *lokero.Location
	open []byte // the JSON object, without its closing brace
	// onDate is the location's fields on a delivery date as last written,
	// with what they were written from: most searches ask the same date,
	// and a location's availability on it changes only with a booking
	// there, so they are written again only when that changes.
	onDate atomic.Pointer[onDateJSON]
}

// onDateJSON is what writeOnDate wrote of one result, and from what.
type onDateJSON struct {
	date, reason string
	open         bool
	avail        *service.LockerAvailability // read only, as every result's is; nil: none
	json         []byte
}

// matches reports whether res would be written as o was: the same date,
// status and availability.
func (o *onDateJSON) matches(res *service.LocationResult) bool {
	if o.date != res.Date || o.open != res.Open || o.reason != res.ClosedReason {
		return false
	}
	a, b := res.Availability, o.avail
	if a == b { // the usual case: a search shares what the capacity view shows
		return true
	}
	return a != nil && b != nil && a.Level == b.Level && slices.Equal(a.Classes, b.Classes)
}

func (s *Server) encoded() *encodedSnapshot {
	snap := s.dir.Snapshot()
	e := s.cache.Load()
	if e == nil || e.snap != snap {
		e = newEncodedSnapshot(snap)
		s.cache.Store(e)
	}
	return e
}

// location returns what is cached of l, encoding its object on first use.
func (e *encodedSnapshot) location(l *lokero.Location) *cachedLocation {
	mask := uint64(len(e.slots) - 1)
	for i := maphash.Comparable(e.seed, l) & mask; ; i = (i + 1) & mask {
		c := e.slots[i].Load()
		if c == nil {
			return e.add(l, i)
		}
		if c.loc == l {
			return c
		}
	}
}

// add encodes l and keeps it from slot i on, where the lookup found l
// missing, unless the table is half full: then it is encoded for each
// search (only locations of older snapshots can fill it).
func (e *encodedSnapshot) add(l *lokero.Location, i uint64) *cachedLocation {
	b, _ := json.Marshal(toLocationJSON(l)) // plain data: cannot fail
	c := &cachedLocation{loc: l, open: b[:len(b)-1]}
	if e.n.Add(1) > int64(len(e.slots)/2) {
		e.n.Add(-1)
		return c
	}
	mask := uint64(len(e.slots) - 1)
	for ; ; i = (i + 1) & mask {
		if e.slots[i].CompareAndSwap(nil, c) {
			return c
		}
		if other := e.slots[i].Load(); other.loc == l { // another search's, the same
			e.n.Add(-1)
			return other
		}
	}
}

// writeOnDate appends res's fields on its delivery date (the package's
// writeOnDate): as written for the location last, when res is the same
// there; written afresh and kept for the next search otherwise.
func (c *cachedLocation) writeOnDate(buf *bytes.Buffer, res *service.LocationResult) {
	if o := c.onDate.Load(); o != nil && o.matches(res) {
		buf.Write(o.json)
		return
	}
	start := buf.Len()
	writeOnDate(buf, res)
	c.onDate.Store(&onDateJSON{date: res.Date, reason: res.ClosedReason, open: res.Open, avail: res.Availability,
		json: bytes.Clone(buf.Bytes()[start:])})
}

func (s *Server) handleLocations(w http.ResponseWriter, r *http.Request) {
	q, err := readLocationQuery(r.URL)
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
	for i := range results {
		res := &results[i]
		if i > 0 {
			buf.WriteByte(',')
		}
		c := enc.location(res.Location)
		buf.Write(c.open)
		if res.HasDistance {
			buf.WriteString(`,"distance_m":`)
			buf.Write(strconv.AppendInt(buf.AvailableBuffer(), int64(math.Round(res.DistanceM)), 10))
		}
		c.writeOnDate(buf, res)
		buf.WriteByte('}')
	}
	buf.WriteString("]}\n")
	h := w.Header()
	h["Content-Type"] = s.jsonType[:1:1] // canonical already; shared, capacity 1
	// Its length, not chunks: the answer (10 kB or so) is whole already.
	h["Content-Length"] = []string{strconv.Itoa(buf.Len())}
	w.Write(buf.Bytes())
}

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

// writeOnDate appends what a result is on the delivery date: open or why
// not, its hours that day, a locker's free compartments. Written by hand:
// it is on every search's hot path.
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

// The parameters of GET /v1/locations, by their index in locationParams.
const (
	paramPostcode = iota
	paramStreet
	paramLat
	paramLon
	paramType
	paramPaymentTerminal
	paramFits
	paramDeliveryDate
	paramIncludeClosed
	paramCOD
	paramWheelchair
	paramOpenNow
	paramAvailable
	paramFunctions
	paramLimit
	nLocationParams
)

// locationParams are the parameters of GET /v1/locations.
var locationParams = [nLocationParams]string{paramPostcode: "postcode", paramStreet: "street", paramLat: "lat", paramLon: "lon",
	paramType: "type", paramPaymentTerminal: "payment_terminal", paramFits: "fits", paramDeliveryDate: "delivery_date",
	paramIncludeClosed: "include_closed", paramCOD: "cod", paramWheelchair: "wheelchair_access", paramOpenNow: "open_now",
	paramAvailable: "available", paramFunctions: "functions", paramLimit: "limit"}

// readLocationQuery reads the query of GET /v1/locations as
// parseLocationQuery does: the usual query (known names, each once,
// nothing to unescape) straight from its raw text, without building
// url.Values; any other through url.Values.
func readLocationQuery(u *url.URL) (service.LocationQuery, error) {
	var vals [nLocationParams]string
	if !scanLocationQuery(u.RawQuery, &vals) {
		return parseLocationQuery(u.Query())
	}
	return locationQueryFrom(&vals)
}

// scanLocationQuery sets vals, by parameter index, from raw, the query's
// text, and reports whether it could: raw names only known parameters,
// each at most once, with values of at most maxParamLen bytes, and has
// nothing to unescape ('%', '+') nor a ';' (which url.ParseQuery refuses).
// Such a query is what url.ParseQuery and checkQuery would read and let
// through; anything else is theirs to read or refuse.
func scanLocationQuery(raw string, vals *[nLocationParams]string) bool {
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c == '%' || c == '+' || c == ';' {
			return false
		}
	}
	var seen uint32
	for raw != "" {
		var pair string
		pair, raw, _ = strings.Cut(raw, "&")
		if pair == "" {
			continue // url.ParseQuery skips it too
		}
		name, value, _ := strings.Cut(pair, "=")
		i := slices.Index(locationParams[:], name)
		if i < 0 || seen&(1<<i) != 0 || len(value) > maxParamLen {
			return false
		}
		seen |= 1 << i
		vals[i] = value
	}
	return true
}

// parseLocationQuery reads the query of GET /v1/locations, refusing
// anything malformed with the parameter named.
func parseLocationQuery(v url.Values) (service.LocationQuery, error) {
	if err := checkQuery(v, locationParams[:]...); err != nil {
		return service.LocationQuery{}, err
	}
	// Each parameter is given at most once now.
	var vals [nLocationParams]string
	for i, name := range locationParams {
		vals[i] = v.Get(name)
	}
	return locationQueryFrom(&vals)
}

// locationQueryFrom reads the parameters of GET /v1/locations, each given
// at most once, by their index ("" for one not given), refusing anything
// malformed with the parameter named.
func locationQueryFrom(v *[nLocationParams]string) (service.LocationQuery, error) {
	var q service.LocationQuery
	q.Postcode = strings.TrimSpace(v[paramPostcode])
	q.Street = strings.TrimSpace(v[paramStreet])
	if q.Postcode != "" {
		if len(q.Postcode) != 5 || strings.Trim(q.Postcode, "0123456789") != "" {
			return q, lokero.Invalid("postcode", "malformed", "postcode must be five digits; got %q", q.Postcode)
		}
	}
	latS, lonS := v[paramLat], v[paramLon]
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
	for name := range strings.SplitSeq(v[paramType], ",") {
		if strings.TrimSpace(name) == "" {
			continue
		}
		t, ok := lokero.ParseLocationType(name)
		if !ok {
			return q, lokero.Invalid("type", "unknown_type", "type must be a comma list of LOCKER, SMARTPOST, POSTOFFICE, PICKUPPOINT; got %q", name)
		}
		q.Types = append(q.Types, t)
	}
	if pt := v[paramPaymentTerminal]; pt != "" {
		b, err := strconv.ParseBool(pt)
		if err != nil {
			return q, lokero.Invalid("payment_terminal", "malformed", "payment_terminal must be true or false; got %q", pt)
		}
		q.PaymentTerminal = b
	}
	if fits := v[paramFits]; fits != "" {
		dims, err := parseDimensions(fits)
		if err != nil {
			return q, err
		}
		q.Fits = &dims
	}
	for _, f := range [...]struct {
		param int
		dst   *bool
	}{{paramIncludeClosed, &q.IncludeClosed}, {paramCOD, &q.COD}, {paramWheelchair, &q.Wheelchair},
		{paramOpenNow, &q.OpenNow}, {paramAvailable, &q.Available}} {
		if b := v[f.param]; b != "" {
			val, err := strconv.ParseBool(b)
			if err != nil {
				name := locationParams[f.param]
				return q, lokero.Invalid(name, "malformed", "%s must be true or false; got %q", name, b)
			}
			*f.dst = val
		}
	}
	q.DeliveryDate = strings.TrimSpace(v[paramDeliveryDate])
	for f := range strings.SplitSeq(v[paramFunctions], ",") {
		if f = strings.ToLower(strings.TrimSpace(f)); f != "" {
			q.Functions = append(q.Functions, f)
		}
	}
	if ls := v[paramLimit]; ls != "" {
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
