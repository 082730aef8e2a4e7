package api

// The Posti-compatible Locations interface: GET /api/2/location (and the
// unversioned /location of older clients) answering the query parameters
// and the JSON shape of Posti's Locations API version 2, so that a store
// whose checkout plugin was written against Posti switches to lokero by
// changing the plugin's base URL. One search, two faces: every answer comes
// from service.Directory.Search, with the same rules as /v1/locations.
// docs/compatibility.md tells store owners what is the same and what
// differs; openapi-posti.json describes the interface.

import (
	"bytes"
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/geo"
	"github.com/lokero/lokero/postcode"
	"github.com/lokero/lokero/service"
)

//go:embed openapi-posti.json
var postiOpenAPIDocument []byte

// PostiOpenAPIDocument returns the OpenAPI 3 description of the
// Posti-compatible Locations interface, served at /api/2/openapi.json.
func PostiOpenAPIDocument() []byte { return postiOpenAPIDocument }

// What the Posti face answers where lokero has no data of its own (see
// docs/compatibility.md).
const (
	// postiPartnerType is every location's partnerType. Plugins written
	// for Posti keep a SMARTPOST only when its partnerType is POSTI.
	postiPartnerType = "POSTI"
	// postiCountry is every location's countryCode: lokero's network is
	// Finnish.
	postiCountry = "FI"
	// postiRoundTheClock is the availability of a location open every day
	// round the clock.
	postiRoundTheClock = "24h"
)

// postiHandler serves the Posti-compatible interface for one Server.
type postiHandler struct {
	s     *Server
	cache atomic.Pointer[postiSnapshot]
}

// newPostiHandler returns the Posti-compatible handlers of s; it reads
// nothing of s until the first request (a Server answers 503 until ready).
func newPostiHandler(s *Server) *postiHandler { return &postiHandler{s: s} }

// postiSnapshot caches each location's JSON object in Posti's shape for
// one directory snapshot: nothing in it depends on the query, so an answer
// is a concatenation. Objects are encoded on first use (about 2 kB each:
// the whole demo network would be some 17 MB, most of it never asked for).
type postiSnapshot struct {
	snap *service.Snapshot
	reg  *postcode.Registry
	objs sync.Map // *lokero.Location → []byte
}

// encoded returns the cache of the directory's current snapshot.
func (p *postiHandler) encoded() *postiSnapshot {
	snap := p.s.dir.Snapshot()
	e := p.cache.Load()
	if e == nil || e.snap != snap {
		e = &postiSnapshot{snap: snap, reg: p.s.dir.Postcodes()}
		p.cache.Store(e)
	}
	return e
}

// object returns the JSON object of l.
func (e *postiSnapshot) object(l *lokero.Location) []byte {
	if b, ok := e.objs.Load(l); ok {
		return b.([]byte)
	}
	b, _ := e.objs.LoadOrStore(l, encodePostiLocation(e.reg, l))
	return b.([]byte)
}

// handleSearch serves GET /api/2/location and GET /location.
func (p *postiHandler) handleSearch(w http.ResponseWriter, r *http.Request) {
	q, err := parsePostiQuery(r.URL.Query())
	if err != nil {
		writePostiError(w, r, http.StatusBadRequest, lokero.ErrorMessage(err))
		return
	}
	hits, err := p.find(r.Context(), q)
	var e *lokero.Error
	if errors.As(err, &e) && e.Code == lokero.EINVALID { // only a deliveryDate: see find
		writePostiError(w, r, http.StatusBadRequest, strings.Replace(e.Message, "delivery_date", "deliveryDate", 1))
		return
	}
	if err != nil {
		p.s.log.Error("posti location search", "query", r.URL.RawQuery, "err", err)
		writePostiError(w, r, http.StatusInternalServerError, "internal error")
		return
	}
	enc := p.encoded()
	buf := postiBuffers.Get().(*bytes.Buffer)
	defer putPostiBuffer(buf)
	buf.WriteString(`{"locations":[`)
	for i, h := range hits {
		if i > 0 {
			buf.WriteByte(',')
		}
		obj := enc.object(h.l)
		if !q.includeClosed {
			buf.Write(obj)
			continue
		}
		// lokero's own fields, after Posti's: whether the point is open on
		// the delivery date, and why not.
		buf.Write(obj[:len(obj)-1])
		ext, _ := json.Marshal(postiStatus{Status: string(h.l.Status), DeliveryDate: h.date, OpenOnDeliveryDate: h.open, ClosedReason: h.reason})
		buf.WriteByte(',')
		buf.Write(ext[1:])
	}
	buf.WriteString("]}\n")
	w.Header().Set("Content-Type", "application/json")
	w.Write(buf.Bytes())
}

// postiHit is a location a Posti search found, with its state on the
// delivery date the search was made for.
type postiHit struct {
	l      *lokero.Location
	date   string
	open   bool
	reason string // why not open, when not
}

// postiStatus is what an answer adds to Posti's fields with
// includeClosed=true: a point's status and whether it takes parcels on
// the delivery date.
type postiStatus struct {
	Status             string `json:"status"`
	DeliveryDate       string `json:"deliveryDate"`
	OpenOnDeliveryDate bool   `json:"openOnDeliveryDate"`
	ClosedReason       string `json:"closedReason,omitempty"`
}

// postiBuffers holds answer buffers for reuse: an answer in Posti's shape
// is about 2 kB a location, 20 kB for ten, and allocating that afresh for
// every request costs more than building it.
var postiBuffers = sync.Pool{New: func() any { return bytes.NewBuffer(make([]byte, 0, 32<<10)) }}

func putPostiBuffer(b *bytes.Buffer) {
	if b.Cap() > 1<<20 {
		return // an outsize answer: let it go
	}
	b.Reset()
	postiBuffers.Put(b)
}

// handleLocation serves GET /api/2/location/{id} and GET /location/{id}.
func (p *postiHandler) handleLocation(w http.ResponseWriter, r *http.Request) {
	l, err := p.s.dir.Location(r.PathValue("id"))
	if err != nil {
		if lokero.ErrorCode(err) == lokero.ENOTFOUND {
			msg := lokero.ErrorMessage(err)
			if len(r.PathValue("id")) > maxParamLen {
				msg = "no location with that id" // and no need to echo 10 kB of it
			}
			writePostiError(w, r, http.StatusNotFound, msg)
			return
		}
		p.s.log.Error("posti location", "id", r.PathValue("id"), "err", err)
		writePostiError(w, r, http.StatusInternalServerError, "internal error")
		return
	}
	body := p.encoded().object(l)
	w.Header().Set("Content-Type", "application/json")
	w.Write(body)
	w.Write([]byte{'\n'})
}

// handlePostiOpenAPI serves openapi-posti.json.
func handlePostiOpenAPI(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Write(postiOpenAPIDocument)
}

// postiError is the body of an error answer: the shape of the Spring
// services Posti's interfaces ran on.
type postiError struct {
	Status  int    `json:"status"`
	Error   string `json:"error"`
	Message string `json:"message"`
	Path    string `json:"path"`
}

// writePostiError answers status with a postiError body.
func writePostiError(w http.ResponseWriter, r *http.Request, status int, message string) {
	writeJSON(w, status, postiError{Status: status, Error: http.StatusText(status), Message: message, Path: r.URL.Path})
}

// postiQuery is a search as a Posti client asks it, read leniently.
type postiQuery struct {
	// none says the answer is an empty list whatever else was asked:
	// another country, only types lokero does not have, a postal code
	// that is not five digits.
	none        bool
	types       []lokero.LocationType
	postcode    string
	street      string
	origin      *geo.Point
	maxDistance float64 // metres; 0: none
	box         *postiBox
	city        string
	municipal   string
	pupCode     string
	strict      bool
	partner     string
	top         int
	// lokero's own: the delivery date points must be open on ("": the
	// next; checked in find, and answered 400 when it is not one), and
	// whether to list closed points too.
	deliveryDate  string
	includeClosed bool
}

// postiBox is a bounding box in degrees.
type postiBox struct{ minLat, maxLat, minLon, maxLon float64 }

func (b *postiBox) contains(l *lokero.Location) bool {
	return l.Lat >= b.minLat && l.Lat <= b.maxLat && l.Lon >= b.minLon && l.Lon <= b.maxLon
}

// postiParamNames are the parameters the interface reads, in lower case.
var postiParamNames = [...]string{
	"countrycode", "types", "zipcode", "postalcode", "locationzipcode",
	"streetaddress", "address", "street", "strictzipcode",
	"lat", "latitude", "lng", "lon", "longitude", "distance",
	"topleftlat", "topleftlng", "topleftlon", "bottomrightlat", "bottomrightlng", "bottomrightlon",
	"city", "municipality", "pupcode", "partnertype", "top",
	"includeclosed", "include_closed", "deliverydate", "delivery_date",
}

// postiParamIDs maps a name of postiParamNames to its position.
var postiParamIDs = func() map[string]int {
	m := make(map[string]int, len(postiParamNames))
	for i, n := range postiParamNames {
		m[n] = i
	}
	return m
}()

// postiParams holds the values of the parameters the interface reads, by
// position in postiParamNames, their names folded: any case, and PHP's
// "types[]" and "types[0]" as "types". Other parameters are dropped.
type postiParams [len(postiParamNames)][]string

// read fills p from a query. It returns the name of a parameter given
// more than once with different values, as the query spells it (of the
// first such parameter in postiParamNames, the spelling first in sort
// order), or "" when there is none: only types
// may repeat (Posti's clients send types=A&types=B); a value given again
// unchanged, or blank, is harmless.
func (p *postiParams) read(v url.Values) (conflict string) {
	var buf [32]byte
	var spelt [len(postiParamNames)]string
	for k, values := range v {
		name := strings.TrimSpace(k)
		if i := strings.IndexByte(name, '['); i > 0 && strings.HasSuffix(name, "]") {
			name = name[:i]
		}
		if len(name) > len(buf) {
			continue
		}
		for i := range len(name) {
			c := name[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			buf[i] = c
		}
		if id, ok := postiParamIDs[string(buf[:len(name)])]; ok {
			p[id] = append(p[id], values...)
			if spelt[id] == "" || k < spelt[id] {
				spelt[id] = k
			}
		}
	}
	for id, values := range p {
		if id != postiTypes && len(values) > 1 && differ(values) {
			return spelt[id]
		}
	}
	return ""
}

// maxPostiTypes is how many type names a query's types are read for: there
// are four types, and a client names each at most once or twice.
const maxPostiTypes = 16

// postiTypes is the position of types, the one parameter that repeats.
var postiTypes = postiParamIDs["types"]

// differ reports whether values hold two different non-blank values.
func differ(values []string) bool {
	first := ""
	for _, v := range values {
		if v = strings.TrimSpace(v); v == "" {
			continue
		} else if first == "" {
			first = v
		} else if v != first {
			return true
		}
	}
	return false
}

// get returns the first non-blank value of the first of names that has
// one, trimmed.
func (p *postiParams) get(names ...string) string {
	for _, n := range names {
		for _, v := range p[postiParamIDs[n]] {
			if v = strings.TrimSpace(v); v != "" {
				return v
			}
		}
	}
	return ""
}

// parsePostiQuery reads a query as Posti's interface did: parameter names
// in any case, unknown parameters ignored, and values it cannot use either
// ignored (top, coordinates, distance, the street address: the search goes
// on without them) or, for what says where to search or what to list
// (postal code, country, types), answered with an empty list. It fails
// only for a parameter given twice with different values
// (zipCode=00100&zipCode=99999): answering for either would be a guess.
func parsePostiQuery(v url.Values) (postiQuery, error) {
	var p postiParams
	if name := p.read(v); name != "" {
		name = truncate(name, 64)
		return postiQuery{}, lokero.Invalid(name, "duplicate_parameter", "%s is given more than once with different values; give it once", name)
	}
	q := postiQuery{top: service.DefaultLimit}

	if c := p.get("countrycode"); c != "" && !strings.EqualFold(c, "FI") && !strings.EqualFold(c, "FIN") {
		q.none = true
	}

	// types is read within bounds: an over-long value names no type we
	// have (it is not split, which would cost several times its size), and
	// at most maxPostiTypes names are read in all.
	given := 0
types:
	for _, tv := range p[postiParamIDs["types"]] {
		if len(tv) > maxParamLen {
			given++
			continue
		}
		for _, name := range strings.FieldsFunc(tv, func(r rune) bool { return r == ',' || r == ';' || unicode.IsSpace(r) }) {
			if given == maxPostiTypes {
				break types
			}
			given++
			if t, ok := lokero.ParseLocationType(name); ok {
				q.types = append(q.types, t)
			}
		}
	}
	if given > 0 && len(q.types) == 0 {
		q.none = true // only types lokero does not have (BUSINESSSERVICE, POBOX...)
	}

	if z := p.get("zipcode", "postalcode", "locationzipcode"); z != "" {
		q.postcode = digitsOnly(z)
		if len(q.postcode) != 5 {
			q.none = true
		}
	}
	if s := p.get("streetaddress", "address", "street"); len(s) <= maxParamLen {
		q.street = s
	}
	q.strict = lenientBool(p.get("strictzipcode"))

	lat, latOK := lenientCoordinate(p.get("lat", "latitude"), 90)
	lon, lonOK := lenientCoordinate(p.get("lng", "lon", "longitude"), 180)
	if latOK && lonOK {
		q.origin = &geo.Point{Lat: lat, Lon: lon}
	}
	if d, err := strconv.ParseFloat(strings.TrimSpace(p.get("distance")), 64); err == nil && d > 0 && !math.IsInf(d, 0) {
		q.maxDistance = d
	}
	tlLat, ok1 := lenientCoordinate(p.get("topleftlat"), 90)
	tlLon, ok2 := lenientCoordinate(p.get("topleftlng", "topleftlon"), 180)
	brLat, ok3 := lenientCoordinate(p.get("bottomrightlat"), 90)
	brLon, ok4 := lenientCoordinate(p.get("bottomrightlng", "bottomrightlon"), 180)
	if ok1 && ok2 && ok3 && ok4 {
		q.box = &postiBox{minLat: min(tlLat, brLat), maxLat: max(tlLat, brLat), minLon: min(tlLon, brLon), maxLon: max(tlLon, brLon)}
	}

	// What names a place or a point is bounded as the street is; an
	// over-long one names nothing there is: the answer is empty.
	for _, f := range []struct {
		dst  *string
		name string
	}{{&q.city, "city"}, {&q.municipal, "municipality"}, {&q.pupCode, "pupcode"}, {&q.partner, "partnertype"}} {
		if v := p.get(f.name); len(v) > maxParamLen {
			q.none = true
		} else {
			*f.dst = v
		}
	}

	if n, err := strconv.Atoi(p.get("top")); err == nil && n >= 1 {
		q.top = min(n, service.MaxLimit)
	}
	q.includeClosed = lenientBool(p.get("includeclosed", "include_closed"))
	q.deliveryDate = p.get("deliverydate", "delivery_date")
	return q, nil
}

// find answers a Posti query from the directory. Only a failure of the
// directory itself is an error; any input gives a list, maybe empty.
//
// Like GET /v1/locations it lists only points open on the delivery date
// (q.deliveryDate, or the next one) unless q.includeClosed.
func (p *postiHandler) find(ctx context.Context, q postiQuery) ([]postiHit, error) {
	dir := p.s.dir
	if q.deliveryDate != "" {
		// The one value not read leniently: a checkout that names a date
		// must not be answered for another. Answered 400 (handleSearch).
		if err := dir.CheckDeliveryDate(q.deliveryDate); err != nil {
			return nil, err
		}
	}
	if q.none || q.partner != "" && !strings.EqualFold(q.partner, postiPartnerType) {
		return nil, nil
	}
	if q.pupCode != "" {
		snap := dir.Snapshot()
		l := snap.ByID(q.pupCode)
		if l == nil || len(q.types) > 0 && !containsType(q.types, l.Type) {
			return nil, nil
		}
		// A residents-only point (a LOCKER, or access residents) serves
		// its building only: a search names it only with an address in
		// that building, as any other search.
		if service.ResidentsOnly(l) && !slices.Contains(snap.LockersAt(q.postcode, q.street), l) {
			return nil, nil
		}
		h := postiHit{l: l, date: q.deliveryDate}
		if h.date == "" {
			h.date = dir.DeliveryDate().String()
		}
		if h.open = l.OpenOn(h.date); !h.open {
			if !q.includeClosed {
				return nil, nil
			}
			h.reason = l.ClosedReason(h.date)
		}
		return []postiHit{h}, nil
	}

	sq := service.LocationQuery{Types: q.types, Limit: q.top, Origin: q.origin,
		DeliveryDate: q.deliveryDate, IncludeClosed: q.includeClosed}
	var place *service.Place
	box := q.box
	switch {
	case q.postcode != "":
		sq.Postcode, sq.Street = q.postcode, q.street
		box = nil
	case q.origin != nil:
		box = nil
	case box != nil:
		sq.Origin = &geo.Point{Lat: (box.minLat + box.maxLat) / 2, Lon: (box.minLon + box.maxLon) / 2}
	case q.city != "" || q.municipal != "":
		var ok bool
		if q.city != "" {
			place, ok = dir.FindPlace(q.city)
		} else {
			place, ok = dir.FindMunicipality(q.municipal)
		}
		if !ok {
			return nil, nil // a city nobody knows has no pickup points
		}
		sq.Origin = &place.Origin
	}
	strict := q.strict && sq.Postcode != ""
	filtered := strict || place != nil || box != nil || q.maxDistance > 0 && (sq.Origin != nil || sq.Postcode != "")
	if filtered {
		sq.Limit = service.MaxLimit // filter the nearest the search can give
	}

	results, err := dir.Search(ctx, sq)
	if err != nil {
		if code := lokero.ErrorCode(err); code == lokero.EINVALID || code == lokero.ENOTFOUND {
			return nil, nil // an unknown postal code: nothing there
		}
		return nil, fmt.Errorf("posti search: %w", err)
	}
	var base string
	if strict {
		base = dir.Postcodes().BaseCode(sq.Postcode)
	}
	out := make([]postiHit, 0, min(len(results), q.top))
	for _, res := range results {
		l := res.Location
		switch {
		case q.maxDistance > 0 && res.HasDistance && res.DistanceM > q.maxDistance,
			strict && l.Postcode != sq.Postcode && dir.Postcodes().BaseCode(l.Postcode) != base,
			place != nil && !place.Contains(l),
			box != nil && !box.contains(l):
			continue
		}
		out = append(out, postiHit{l: l, date: res.Date, open: res.Open, reason: res.ClosedReason})
		if len(out) == q.top {
			break
		}
	}
	return out, nil
}

// containsType reports whether t is one of types.
func containsType(types []lokero.LocationType, t lokero.LocationType) bool {
	for _, x := range types {
		if x == t {
			return true
		}
	}
	return false
}

// digitsOnly returns the ASCII digits of s ("FI-00100" → "00100"), at
// most six of them: more is not a postal code anyway.
func digitsOnly(s string) string {
	var b [6]byte
	n := 0
	for i := 0; i < len(s) && n < len(b); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b[n] = s[i]
			n++
		}
	}
	return string(b[:n])
}

// lenientBool reads true, 1, yes and on (any case) as true.
func lenientBool(s string) bool {
	switch strings.ToLower(s) {
	case "true", "1", "yes", "on":
		return true
	}
	return false
}

// lenientCoordinate reads a coordinate in degrees, with a decimal point or
// a decimal comma, and reports whether it is one (a finite number within
// ±limit).
func lenientCoordinate(s string, limit float64) (float64, bool) {
	if s == "" || len(s) > 64 {
		return 0, false
	}
	if !strings.Contains(s, ".") {
		s = strings.Replace(s, ",", ".", 1)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f < -limit || f > limit {
		return 0, false
	}
	return f, true
}

// Posti's shape of a location.
type (
	postiText struct {
		FI string `json:"fi"`
		SV string `json:"sv"`
		EN string `json:"en"`
	}
	postiAddress struct {
		Address        string `json:"address"`
		StreetName     string `json:"streetName"`
		StreetNumber   string `json:"streetNumber"`
		PostalCode     string `json:"postalCode"`
		PostalCodeName string `json:"postalCodeName"`
		Municipality   string `json:"municipality"`
	}
	postiAddresses struct {
		FI postiAddress `json:"fi"`
		SV postiAddress `json:"sv"`
		EN postiAddress `json:"en"`
	}
	postiPoint struct {
		Lat string `json:"lat"`
		Lon string `json:"lon"`
	}
	postiOpeningTime struct {
		Weekday           string `json:"weekday"`
		TimeFrom          string `json:"timeFrom"`
		TimeTo            string `json:"timeTo"`
		TimeFromWithPoint string `json:"timeFromWithPoint"`
		TimeToWithPoint   string `json:"timeToWithPoint"`
	}
	postiLocation struct {
		ID                         string             `json:"id"`
		Type                       string             `json:"type"`
		PupCode                    string             `json:"pupCode"`
		RoutingServiceCode         string             `json:"routingServiceCode"`
		PublicName                 postiText          `json:"publicName"`
		LabelName                  postiText          `json:"labelName"`
		LocationName               postiText          `json:"locationName"`
		AdditionalInfo             postiText          `json:"additionalInfo"`
		PostalCode                 string             `json:"postalCode"`
		PostalCodeAreas            []string           `json:"postalCodeAreas"`
		CountryCode                string             `json:"countryCode"`
		Address                    postiAddresses     `json:"address"`
		Location                   postiPoint         `json:"location"`
		OpeningTimes               []postiOpeningTime `json:"openingTimes"`
		Availability               string             `json:"availability"`
		WheelChairAccess           bool               `json:"wheelChairAccess"`
		DropOfTimeParcel           *string            `json:"dropOfTimeParcel"`
		DropOffTimeParcel          *string            `json:"dropOffTimeParcel"`
		DropOfTimeLetters          *string            `json:"dropOfTimeLetters"`
		DropOffTimeLetters         *string            `json:"dropOffTimeLetters"`
		DropOfTimeExpress          *string            `json:"dropOfTimeExpress"`
		DropOffTimeExpress         *string            `json:"dropOffTimeExpress"`
		EmptyTime                  string             `json:"emptyTime"`
		LetterClass                string             `json:"letterClass"`
		PostalOfficeType           string             `json:"postalOfficeType"`
		PartnerType                string             `json:"partnerType"`
		Category                   string             `json:"category"`
		Capacity                   string             `json:"capacity"`
		CustomerServicePhoneNumber string             `json:"customerServicePhoneNumber"`
		Capabilities               []struct{}         `json:"capabilities"`
	}
)

// encodePostiLocation returns l as a JSON object in Posti's shape.
func encodePostiLocation(reg *postcode.Registry, l *lokero.Location) []byte {
	b, err := json.Marshal(toPostiLocation(reg, l))
	if err != nil { // plain strings, numbers and booleans: cannot happen
		panic(fmt.Sprintf("encode location %s: %v", l.ID, err))
	}
	return b
}

// toPostiLocation maps l to Posti's shape: names the same in every
// language; addresses with the postal area's and the municipality's
// Swedish names where the postal code data has them, Finnish otherwise,
// English as Finnish; coordinates, weekdays and times as strings; what
// lokero has no data for empty or null (docs/compatibility.md).
func toPostiLocation(reg *postcode.Registry, l *lokero.Location) postiLocation {
	name := postiText{FI: l.Name, SV: l.Name, EN: l.Name}
	streetName, streetNumber := splitStreet(l.Street)
	fi := postiAddress{Address: l.Street, StreetName: streetName, StreetNumber: streetNumber,
		PostalCode: l.Postcode, PostalCodeName: l.City, Municipality: l.City}
	sv := fi
	if l.StreetSV != "" {
		sv.Address = l.StreetSV
		sv.StreetName, sv.StreetNumber = splitStreet(l.StreetSV)
	}
	areas := []string{l.Postcode}
	if info, err := reg.Lookup(l.Postcode); err == nil {
		if fi.PostalCodeName == "" {
			fi.PostalCodeName = info.NameFI
		}
		sv.PostalCodeName = fi.PostalCodeName
		// The Swedish name, when the postal code data has one for the
		// place the location names.
		if info.NameSV != "" && strings.EqualFold(info.NameFI, fi.PostalCodeName) {
			sv.PostalCodeName = info.NameSV
		}
		if info.MunicipalityFI != "" {
			fi.Municipality = info.MunicipalityFI
			sv.Municipality = cmp.Or(info.MunicipalitySV, info.MunicipalityFI)
		}
		if info.Base != l.Postcode {
			areas = append(areas, info.Base)
		}
	}
	capacity := ""
	if len(l.Compartments) > 0 {
		n := 0
		for _, c := range l.Compartments {
			n += c.Count
		}
		capacity = strconv.Itoa(n)
	}
	return postiLocation{
		ID:               l.ID,
		Type:             string(l.Type),
		PupCode:          l.ID,
		PublicName:       name,
		LabelName:        name,
		LocationName:     name,
		AdditionalInfo:   additionalInfo(l),
		PostalCode:       l.Postcode,
		PostalCodeAreas:  areas,
		CountryCode:      postiCountry,
		Address:          postiAddresses{FI: fi, SV: sv, EN: fi},
		Location:         postiPoint{Lat: strconv.FormatFloat(l.Lat, 'f', -1, 64), Lon: strconv.FormatFloat(l.Lon, 'f', -1, 64)},
		OpeningTimes:     postiOpeningTimes(l.OpeningHours),
		Availability:     availability(l.OpeningHours),
		WheelChairAccess: l.WheelchairAccess,
		PartnerType:      postiPartnerType,
		Capacity:         capacity,
		Capabilities:     []struct{}{},
	}
}

// splitStreet splits a street address into the street name and the house
// number with whatever follows it ("Itäinen Pitkäkatu 1-3 B" → "Itäinen
// Pitkäkatu", "1-3 B"). An address without a number is all street name.
func splitStreet(street string) (name, number string) {
	fields := strings.Fields(street)
	for i, f := range fields {
		if f[0] >= '0' && f[0] <= '9' {
			return strings.Join(fields[:i], " "), strings.Join(fields[i:], " ")
		}
	}
	return strings.Join(fields, " "), ""
}

// additionalInfo says in three languages what a customer must know: that a
// LOCKER is for the building's residents, that there is a payment
// terminal.
func additionalInfo(l *lokero.Location) postiText {
	var fi, sv, en []string
	if l.Access == lokero.AccessResidents {
		fi = append(fi, "Vain talon asukkaille")
		sv = append(sv, "Endast för husets invånare")
		en = append(en, "For the residents of the building only")
	}
	if l.PaymentTerminal {
		fi = append(fi, "Maksupääte")
		sv = append(sv, "Betalterminal")
		en = append(en, "Payment terminal")
	}
	return postiText{FI: strings.Join(fi, ". "), SV: strings.Join(sv, ". "), EN: strings.Join(en, ". ")}
}

// postiClock turns lokero's "HH:MM" into Posti's: "24:00" (until midnight)
// is "23:59", which every time parser takes.
func postiClock(hhmm string) string {
	if hhmm == "24:00" {
		return "23:59"
	}
	return hhmm
}

// postiOpeningTimes maps opening hours to Posti's openingTimes, every
// value a string: weekday "1" (Monday) … "7", "08:00" and "08.00".
func postiOpeningTimes(hours []lokero.OpeningHours) []postiOpeningTime {
	out := make([]postiOpeningTime, 0, len(hours))
	for _, h := range hours {
		from, to := postiClock(h.From), postiClock(h.To)
		out = append(out, postiOpeningTime{
			Weekday: strconv.Itoa(h.Weekday), TimeFrom: from, TimeTo: to,
			TimeFromWithPoint: strings.Replace(from, ":", ".", 1), TimeToWithPoint: strings.Replace(to, ":", ".", 1),
		})
	}
	return out
}

// finnishWeekdays are the Finnish abbreviations of the weekdays 1..7.
var finnishWeekdays = [8]string{"", "ma", "ti", "ke", "to", "pe", "la", "su"}

// availability describes opening hours as free text, as Posti's data did:
// "24h" for every day round the clock, else runs of days with the same
// hours in Finnish ("ma-pe 08.00-21.00, la 09.00-18.00").
func availability(hours []lokero.OpeningHours) string {
	if len(hours) == 0 {
		return ""
	}
	allDay := len(hours) == 7
	for i, h := range hours {
		allDay = allDay && h.Weekday == i+1 && h.From == "00:00" && h.To == "24:00"
	}
	if allDay {
		return postiRoundTheClock
	}
	var parts []string
	for i := 0; i < len(hours); {
		j := i
		for j+1 < len(hours) && hours[j+1].Weekday == hours[j].Weekday+1 &&
			hours[j+1].From == hours[i].From && hours[j+1].To == hours[i].To {
			j++
		}
		days := finnishWeekday(hours[i].Weekday)
		if j > i {
			days += "-" + finnishWeekday(hours[j].Weekday)
		}
		parts = append(parts, days+" "+strings.Replace(hours[i].From, ":", ".", 1)+"-"+strings.Replace(hours[i].To, ":", ".", 1))
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

func finnishWeekday(d int) string {
	if d < 1 || d > 7 {
		return strconv.Itoa(d)
	}
	return finnishWeekdays[d]
}
