package api

import (
	"html/template"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/notify/email"
)

// The QR page: the link in a notice of arrival (service.QRLink) shows the
// QR code that opens the parcel's compartment at the locker's scanner,
// whatever the keypad's lockout. Public, no credential: the link's MAC is
// the secret, and the page is rate limited per client address as public
// tracking is. Any link that shows nothing now is the same 404.

// qrScale is the pixels per module of the page's QR image.
const qrScale = 8

// enableQR registers the QR page and its image (EnableLockers).
func (s *Server) enableQR() {
	s.mux.HandleFunc("GET /q/{link}", s.perAddress(func(l *limiterSet) *keyedLimiter[netip.Addr] { return l.tracking }, "QR page requests", s.handleQR))
	// The tracking page's way to the notice again (with the QR code): the
	// visitor proves the recipient's postcode, under the returns' stricter
	// rate limit, and the notice goes to the recipient's own phone and
	// e-mail, never to the visitor.
	s.mux.HandleFunc("POST /v1/tracking/{code}/notice", s.perAddress(func(l *limiterSet) *keyedLimiter[netip.Addr] { return l.returns }, "notice requests", s.handleTrackingNotice))
}

// handleTrackingNotice answers POST /v1/tracking/{code}/notice
// {"postcode": …}: 202 {"sent_to": ["sms", "email"]} when the postcode is
// the recipient's and the parcel is ready for pickup; the notice of
// arrival went again to the recipient's own phone and e-mail.
func (s *Server) handleTrackingNotice(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Postcode string `json:"postcode"`
	}
	if _, err := readJSON(w, r, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	to, err := s.lockers.NoticeAgainByPostcode(r.Context(), r.PathValue("code"), req.Postcode)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusAccepted, map[string][]string{"sent_to": to})
}

// handleQR answers GET /q/{link} (the page: HTML for a browser, which
// asks for text/html, JSON for anything else) and GET /q/{link}.png (its
// image): one route, as a path wildcard is a whole segment.
func (s *Server) handleQR(w http.ResponseWriter, r *http.Request) {
	link, image := strings.CutSuffix(r.PathValue("link"), ".png")
	page, err := s.lockers.QRPageOf(r.Context(), link)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	// The URL is a capability: no caching, no referrer, no indexing.
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Robots-Tag", "noindex, nofollow")
	h.Set("X-Content-Type-Options", "nosniff")
	if image {
		png, err := email.QRCodePNG(page.Token, qrScale)
		if err != nil {
			writeError(w, r, s.log, err)
			return
		}
		h.Set("Content-Type", "image/png")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write(png)
		return
	}
	lang, err := negotiateLanguage(r)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if !strings.Contains(r.Header.Get("Accept"), "text/html") {
		// An app (or a script) asks for the data, to draw the code itself.
		out := qrJSON{TrackingCode: page.TrackingCode, Compartment: page.Compartment, Token: page.Token, Image: link + ".png"}
		if page.Place != nil {
			out.LocationID, out.Name, out.Street, out.Postcode, out.City = page.Place.ID, page.Place.Name, page.Place.Street, page.Place.Postcode, page.Place.City
		}
		if !page.Deadline.IsZero() {
			d := page.Deadline.UTC()
			out.Deadline = &d
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	v := qrView{Lang: lang.String(), Words: qrWords[lang.String()], Image: link + ".png",
		Tracking: page.TrackingCode, Compartment: page.Compartment}
	if page.Place != nil {
		v.Place, v.Street, v.City = page.Place.Name, page.Place.Street, page.Place.Postcode+" "+page.Place.City
		if lang.String() == "sv" && page.Place.StreetSV != "" {
			v.Street = page.Place.StreetSV
		}
	}
	if !page.Deadline.IsZero() {
		v.LastDay = page.Deadline.Add(-time.Minute).In(calendar.Helsinki).Format("2.1.2006")
	}
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Security-Policy", "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'")
	w.WriteHeader(http.StatusOK)
	if err := qrPage.Execute(w, v); err != nil {
		s.log.Error("QR page", "err", err)
	}
}

// qrJSON is the QR page as data, for a client that does not ask for
// HTML: what the page shows, and the token the image encodes.
type qrJSON struct {
	TrackingCode string     `json:"tracking_code"`
	LocationID   string     `json:"location_id,omitempty"`
	Name         string     `json:"name,omitempty"`
	Street       string     `json:"street,omitempty"`
	Postcode     string     `json:"postcode,omitempty"`
	City         string     `json:"city,omitempty"`
	Compartment  int        `json:"compartment"`
	Deadline     *time.Time `json:"storage_deadline,omitempty"`
	Token        string     `json:"qr_token"`
	Image        string     `json:"qr_image"` // relative to the page
}

// qrView is what the QR page shows.
type qrView struct {
	Lang                string
	Words               qrText
	Image               string // relative to the page: the link + ".png"
	Tracking            string
	Place, Street, City string
	Compartment         int
	LastDay             string
}

// qrText is the page's words in one language.
type qrText struct {
	Title, Show, Locker, Compartment, LastDay string
}

var qrWords = map[string]qrText{
	"fi": {"Pakettisi QR-koodi", "Näytä koodi pakettiautomaatin lukijalle, niin luukku aukeaa. Koodi toimii, vaikka näppäimistö olisi lukittu.",
		"Pakettiautomaatti", "Lokero", "Nouda viimeistään"},
	"sv": {"QR-kod för ditt paket", "Visa koden för paketautomatens läsare, så öppnas luckan. Koden fungerar även när knappsatsen är låst.",
		"Paketautomat", "Fack", "Hämta senast"},
	"en": {"Your parcel's QR code", "Show the code to the parcel locker's scanner and the door opens. It works even when the keypad is locked.",
		"Parcel locker", "Compartment", "Collect by"},
}

var qrPage = template.Must(template.New("qr").Parse(`<!DOCTYPE html>
<html lang="{{.Lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>{{.Words.Title}} {{.Tracking}}</title>
</head>
<body style="margin:0;padding:24px 16px;font-family:Arial,Helvetica,sans-serif;font-size:18px;line-height:1.5;text-align:center;">
<h1 style="font-size:22px;margin:0 0 12px 0;">{{.Words.Title}}</h1>
<p style="margin:0 0 16px 0;">{{.Tracking}}</p>
<img src="{{.Image}}" alt="QR" style="width:min(90vw,360px);height:auto;image-rendering:pixelated;background:#fff;">
<p style="margin:16px 0;">{{.Words.Show}}</p>
<p style="margin:0 0 8px 0;">{{.Words.Locker}}: <strong>{{.Place}}</strong>{{with .Street}}<br>{{.}}{{end}}{{with .City}}<br>{{.}}{{end}}</p>
<p style="margin:0 0 8px 0;">{{.Words.Compartment}}: <strong>{{.Compartment}}</strong></p>
{{with .LastDay}}<p style="margin:0;">{{$.Words.LastDay}} <strong>{{.}}</strong></p>{{end}}
</body>
</html>
`))
