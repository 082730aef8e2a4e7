package api

import (
	"net/http"
	"strconv"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/postcode"
)

// postcodeJSON is a postal code as the API shows it.
type postcodeJSON struct {
	Postcode       string              `json:"postcode"`
	Valid          bool                `json:"valid"`
	Kind           lokero.PostcodeKind `json:"kind"`
	Base           string              `json:"base"`
	LockerPostcode string              `json:"locker_postcode,omitempty"`
	NameFI         string              `json:"name_fi"`
	NameSV         string              `json:"name_sv"`
	LabelFI        string              `json:"label_fi"`
	LabelSV        string              `json:"label_sv"`
	Municipality   municipalityJSON    `json:"municipality"`
	Lat            *float64            `json:"lat,omitempty"`
	Lon            *float64            `json:"lon,omitempty"`
}

type municipalityJSON struct {
	Code   string `json:"code"`
	NameFI string `json:"name_fi"`
	NameSV string `json:"name_sv"`
}

func (s *Server) handlePostcode(w http.ResponseWriter, r *http.Request) {
	reg := s.dir.Postcodes()
	info, err := reg.Lookup(r.PathValue("code"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, toPostcodeJSON(reg, info))
}

func toPostcodeJSON(reg *postcode.Registry, info postcode.Info) postcodeJSON {
	p := postcodeJSON{
		Postcode: info.Code, Valid: true, Kind: info.Kind, Base: info.Base,
		NameFI: info.NameFI, NameSV: info.NameSV, LabelFI: info.LabelFI, LabelSV: info.LabelSV,
		Municipality: municipalityJSON{Code: info.MunicipalityCode, NameFI: info.MunicipalityFI, NameSV: info.MunicipalitySV},
	}
	if locker, ok := reg.LockerCode(info.Base); ok {
		p.LockerPostcode = locker
	}
	if info.HasPoint {
		p.Lat, p.Lon = &info.Point.Lat, &info.Point.Lon
	}
	return p
}

// anyOrigin lets any web page read a public answer (the directory's): a
// shop's checkout, on the shop's own origin, runs the pickup-point
// selector against lokero. No credentials are sent or allowed with it.
func anyOrigin(h http.HandlerFunc) http.HandlerFunc {
	// Set straight into the header map (the name is canonical already),
	// one value shared by every answer: with a capacity of 1, an Add
	// copies it rather than write into it.
	star := []string{"*"}
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header()["Access-Control-Allow-Origin"] = star[:1:1]
		h(w, r)
	}
}

// placeJSON is a place to search near (GET /v1/places).
type placeJSON struct {
	Postcode     string  `json:"postcode"`
	Name         string  `json:"name"`
	Municipality string  `json:"municipality"`
	Lat          float64 `json:"lat"`
	Lon          float64 `json:"lon"`
}

// handlePlaces finds places by name for "search near another place":
// ?q= (at least 2 characters), &limit= (1–20, default 5), &lang=fi|sv|en
// (the names' language; en gets the Finnish ones).
func (s *Server) handlePlaces(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	if err := checkQuery(v, "q", "limit", "lang"); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	q := v.Get("q")
	if n := len([]rune(q)); n < 2 || n > 64 {
		writeError(w, r, s.log, lokero.Invalid("q", "out_of_range", "q must be 2 to 64 characters; got %d", n))
		return
	}
	limit := 5
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 20 {
			writeError(w, r, s.log, lokero.Invalid("limit", "out_of_range", "limit must be 1 to 20; got %q", l))
			return
		}
		limit = n
	}
	lang := v.Get("lang")
	switch lang {
	case "", "fi", "sv", "en":
	default:
		writeError(w, r, s.log, lokero.Invalid("lang", "unknown_lang", "lang must be fi, sv or en; got %q", lang))
		return
	}
	places := s.dir.Postcodes().Search(q, limit, lang == "sv")
	out := struct {
		Places []placeJSON `json:"places"`
	}{Places: make([]placeJSON, 0, len(places))}
	for _, p := range places {
		out.Places = append(out.Places, placeJSON{Postcode: p.Code, Name: p.Name, Municipality: p.Municipality, Lat: p.Point.Lat, Lon: p.Point.Lon})
	}
	writeJSON(w, http.StatusOK, out)
}
