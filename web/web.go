// Package web serves lokero's pages and their assets: the pickup-point
// selector a shop's checkout embeds (static/pickup-point.js), the home
// page and the demo shop's checkout. Everything is embedded in the binary;
// pages carry a strict Content-Security-Policy (no inline script or style,
// no other origin), assets are served gzipped when the client takes it,
// under their plain name (short cache: the URL a shop embeds) and under a
// content-hashed name (cached for a year: the URL lokero's own pages use).
package web

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"slices"
	"strings"
)

//go:embed static templates
var files embed.FS

// CSP is the Content-Security-Policy of every page: scripts, styles,
// images and requests from lokero's own origin only, no inline script or
// style, no framing.
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; base-uri 'none'; frame-ancestors 'none'"

// Cache lifetimes of the assets.
const (
	// plainMaxAge is for an asset's plain name, which a shop's checkout
	// embeds: a new release reaches shops within five minutes.
	plainMaxAge = "public, max-age=300"
	// hashedMaxAge is for its content-hashed name: it never changes.
	hashedMaxAge = "public, max-age=31536000, immutable"
)

// asset is one embedded file, ready to serve.
type asset struct {
	name, hashed string // "pickup-point.js", "pickup-point.1a2b3c4d.js"
	ctype        string
	etag         string
	body, gz     []byte // gz nil when gzip does not make it smaller
}

// Pages serves the pages and assets. Safe for concurrent use.
type Pages struct {
	assets map[string]*asset // by plain and by hashed name
	tmpl   *template.Template
	log    *slog.Logger
	demo   DemoLockers // the demo's web keypad (EnableDemoLockers); nil: none
	csp    string      // CSP, with the image origins AllowImagesFrom added
}

// AllowImagesFrom lets the pages load images from origin (scheme://host,
// the operator's tile server for the maps) besides their own. Call it
// before serving.
func (p *Pages) AllowImagesFrom(origin string) {
	p.csp = strings.Replace(p.csp, "img-src 'self' data:", "img-src 'self' data: "+origin, 1)
}

// New loads the embedded assets and templates.
func New(log *slog.Logger) (*Pages, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	p := &Pages{assets: map[string]*asset{}, log: log, csp: CSP}
	entries, err := fs.ReadDir(files, "static")
	if err != nil {
		return nil, fmt.Errorf("web: assets: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		body, err := files.ReadFile("static/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("web: asset %s: %w", e.Name(), err)
		}
		a, err := newAsset(e.Name(), body)
		if err != nil {
			return nil, err
		}
		p.assets[a.name], p.assets[a.hashed] = a, a
	}
	p.tmpl, err = template.New("").Funcs(template.FuncMap{"asset": p.assetURL, "dict": dict}).ParseFS(files, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("web: templates: %w", err)
	}
	return p, nil
}

func newAsset(name string, body []byte) (*asset, error) {
	sum := sha256.Sum256(body)
	h := hex.EncodeToString(sum[:])[:10]
	ext := path.Ext(name)
	a := &asset{name: name, hashed: strings.TrimSuffix(name, ext) + "." + h + ext, etag: `"` + h + `"`, body: body}
	switch ext {
	case ".js":
		a.ctype = "text/javascript; charset=utf-8"
	case ".json":
		a.ctype = "application/json"
	default:
		a.ctype = mime.TypeByExtension(ext)
	}
	if a.ctype == "" {
		return nil, fmt.Errorf("web: asset %s: unknown type", name)
	}
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // a valid level: no error
	if _, err := zw.Write(body); err != nil {
		return nil, fmt.Errorf("web: gzip %s: %w", name, err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("web: gzip %s: %w", name, err)
	}
	if buf.Len() < len(body) {
		a.gz = buf.Bytes()
	}
	return a, nil
}

// assetURL is the path of an asset under its hashed name (templates'
// "asset"); a name that is not embedded fails the page's rendering.
func (p *Pages) assetURL(name string) (string, error) {
	a, ok := p.assets[name]
	if !ok {
		return "", fmt.Errorf("web: no asset %q", name)
	}
	return "/static/" + a.hashed, nil
}

// dict makes a map of its key, value arguments (templates' "dict").
func dict(kv ...any) (map[string]any, error) {
	if len(kv)%2 != 0 {
		return nil, fmt.Errorf("dict: odd number of arguments")
	}
	m := make(map[string]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		k, ok := kv[i].(string)
		if !ok {
			return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
		}
		m[k] = kv[i+1]
	}
	return m, nil
}

// Register adds the pages and assets to mux.
func (p *Pages) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /static/{file}", p.serveAsset)
	mux.HandleFunc("GET /sw.js", p.serveServiceWorker)
	p.registerDemo(mux)
	mux.HandleFunc("GET /{$}", p.page("home.html", nil))
	mux.HandleFunc("GET /t/{code}", p.page("tracking.html", func(r *http.Request) any {
		code := r.PathValue("code")
		if len(code) > 40 { // no tracking code is longer; the API says it is unknown
			code = code[:40]
		}
		return map[string]any{"Lang": language(r), "Code": code, "Title": code}
	}))
	mux.HandleFunc("GET /returns", p.page("returns.html", func(r *http.Request) any {
		lang := language(r)
		return map[string]any{"Lang": lang, "T": returnsText[lang]}
	}))
	mux.HandleFunc("GET /counter", p.page("counter.html", counterData)) // counter.go
	mux.HandleFunc("GET /ops", p.page("ops.html", opsData))             // ops.go
	mux.HandleFunc("GET /demo/checkout", p.page("checkout.html", func(r *http.Request) any {
		q := r.URL.Query()
		lang := q.Get("lang")
		if !slices.Contains([]string{"fi", "sv", "en"}, lang) {
			lang = "fi"
		}
		postcode := q.Get("postcode")
		if len(postcode) != 5 || strings.Trim(postcode, "0123456789") != "" {
			postcode = "00100"
		}
		street := q.Get("street")
		if len(street) > 100 {
			street = ""
		}
		return map[string]any{"Lang": lang, "Postcode": postcode, "Street": street, "Chosen": q.Get("pickup_point"), "Name": q.Get("name"),
			"Live": p.demo != nil}
	}))
}

// returnsText is the returns page's text in each language.
var returnsText = map[string]map[string]string{
	"fi": {
		"title": "Palauta lähetys", "intro": "Kirjoita lähetyksen seurantakoodi ja postinumerosi: saat palautuskoodin, palautustarran ja lähimmät palautuspaikat.",
		"tracking": "Seurantakoodi", "postcode": "Postinumero", "submit": "Hae palautuskoodi", "yourCode": "Palautuskoodisi",
		"howTo":          "Näppäile koodi pakettiautomaatin näppäimistöllä tai näytä se postin tiskillä. Kiinnitä tarra pakettiin.",
		"returnTracking": "Palautuksen seurantakoodi:", "label": "Tulosta palautustarra (PDF)", "points": "Palautuspaikat lähelläsi",
		"notFound": "Lähetystä ei löytynyt tällä seurantakoodilla ja postinumerolla, tai verkkokauppa ei ota palautuksia tätä kautta.",
		"tooMany":  "Liian monta yritystä. Odota hetki ja yritä uudelleen.", "failed": "Palautuskoodia ei saatu juuri nyt. Yritä uudelleen.", "asking": "Haetaan…",
	},
	"sv": {
		"title": "Returnera en försändelse", "intro": "Skriv försändelsens spårningskod och ditt postnummer: du får returkoden, returetiketten och de närmaste returställena.",
		"tracking": "Spårningskod", "postcode": "Postnummer", "submit": "Hämta returkoden", "yourCode": "Din returkod",
		"howTo":          "Slå in koden på paketautomatens knappsats eller visa den vid postens disk. Fäst etiketten på paketet.",
		"returnTracking": "Returens spårningskod:", "label": "Skriv ut returetiketten (PDF)", "points": "Returställen nära dig",
		"notFound": "Ingen försändelse med den spårningskoden och det postnumret, eller så tar nätbutiken inte emot returer den här vägen.",
		"tooMany":  "För många försök. Vänta en stund och försök igen.", "failed": "Returkoden kunde inte hämtas just nu. Försök igen.", "asking": "Hämtar…",
	},
	"en": {
		"title": "Return a parcel", "intro": "Enter the parcel's tracking code and your postcode: you get the return code, the return label and the nearest points that take returns.",
		"tracking": "Tracking code", "postcode": "Postcode", "submit": "Get the return code", "yourCode": "Your return code",
		"howTo":          "Type the code at a parcel locker's keypad or show it at a post office counter. Stick the label on the parcel.",
		"returnTracking": "The return's tracking code:", "label": "Print the return label (PDF)", "points": "Points near you that take returns",
		"notFound": "No parcel with this tracking code and postcode, or its shop takes no returns this way.",
		"tooMany":  "Too many tries. Wait a moment and try again.", "failed": "The return code could not be fetched just now. Try again.", "asking": "Asking…",
	},
}

// language is the page's language: ?lang= (fi, sv or en), else the first
// of them in Accept-Language, else Finnish.
func language(r *http.Request) string {
	langs := []string{"fi", "sv", "en"}
	if l := r.URL.Query().Get("lang"); slices.Contains(langs, l) {
		return l
	}
	for part := range strings.SplitSeq(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if slices.Contains(langs, base) {
			return base
		}
	}
	return "fi"
}

// serveServiceWorker serves the service worker at the root, so that its
// scope is every page; the browser checks it for a new version on every
// navigation (no-cache), and it works only from this origin.
func (p *Pages) serveServiceWorker(w http.ResponseWriter, r *http.Request) {
	a := p.assets["sw.js"]
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Service-Worker-Allowed", "/")
	h.Set("Content-Length", fmt.Sprint(len(a.body)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(a.body)
}

// serveAsset serves one asset, gzipped when the client takes it, with
// its caching headers; a plain name may be fetched by any origin (a
// shop's checkout).
func (p *Pages) serveAsset(w http.ResponseWriter, r *http.Request) {
	file := r.PathValue("file")
	a, ok := p.assets[file]
	if !ok {
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("ETag", a.etag)
	h.Set("Vary", "Accept-Encoding")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Access-Control-Allow-Origin", "*")
	h.Set("Cross-Origin-Resource-Policy", "cross-origin")
	if file == a.hashed {
		h.Set("Cache-Control", hashedMaxAge)
	} else {
		h.Set("Cache-Control", plainMaxAge)
	}
	if match := r.Header.Get("If-None-Match"); match != "" && strings.Contains(match, a.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	body := a.body
	if a.gz != nil && acceptsGzip(r) {
		h.Set("Content-Encoding", "gzip")
		body = a.gz
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}

// acceptsGzip reports whether the request's Accept-Encoding takes gzip
// (and does not refuse it with q=0).
func acceptsGzip(r *http.Request) bool {
	for part := range strings.SplitSeq(r.Header.Get("Accept-Encoding"), ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(coding), "gzip") {
			return strings.ReplaceAll(params, " ", "") != "q=0"
		}
	}
	return false
}

// page renders a template with the data data(r) gives (nil: none), with
// the pages' security headers.
func (p *Pages) page(name string, data func(*http.Request) any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		var d any
		if data != nil {
			d = data(r)
		}
		var buf bytes.Buffer
		if err := p.tmpl.ExecuteTemplate(&buf, name, d); err != nil {
			p.log.Error("web: render", "page", name, "err", err)
			http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
			return
		}
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", p.csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cache-Control", "no-cache")
		_, _ = w.Write(buf.Bytes())
	}
}
