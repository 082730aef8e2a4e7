package api

import (
	"net/http"

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
