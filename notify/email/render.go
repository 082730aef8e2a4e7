package email

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/notify"
)

// The templates: for each language, templates/LANG/KIND.txt.tmpl (the
// text part, with a "subject" block) and templates/LANG/KIND.html.tmpl
// (the HTML part's "content" block, inside templates/layout.html.tmpl).
// KIND "other" is the text-only mail of any other kind of message.
//
//go:embed templates
var templateFS embed.FS

// Languages are the languages there are templates for; any other
// language is sent in English.
var Languages = []string{"fi", "sv", "en"}

// kindOther is the template of every kind without its own.
const kindOther = "other"

// templated are the kinds with a text and an HTML template of their own.
var templated = []string{notify.KindArrival, notify.KindReminder}

// styles are the HTML part's inline styles, named for the templates'
// css function. No colours but a neutral grey: the client's own text and
// background colours apply, so that the mail reads as well in dark mode.
var styles = map[string]htmltemplate.CSS{
	"body":  "margin:0;padding:0;",
	"outer": "padding:24px 16px;",
	"inner": "max-width:560px;font-family:Arial,Helvetica,sans-serif;font-size:16px;line-height:1.5;text-align:left;",
	"h1":    "font-size:22px;line-height:1.3;margin:0 0 16px 0;",
	"h2":    "font-size:16px;margin:24px 0 4px 0;",
	"p":     "margin:0 0 12px 0;",
	"label": "margin:16px 0 4px 0;font-weight:bold;",
	"code":  "display:inline-block;margin:0 0 12px 0;padding:8px 16px;border:2px solid #8a8a8a;border-radius:8px;font-family:'Courier New',Courier,monospace;font-size:28px;font-weight:bold;letter-spacing:4px;",
	"box":   "margin:16px 0;padding:12px 16px;border-left:4px solid #8a8a8a;",
	"link":  "font-weight:bold;",
	"small": "margin:24px 0 0 0;font-size:13px;",
	"qr":    "display:block;margin:0 0 12px 0;width:240px;height:240px;border:0;",
}

// set is one language's templates.
type set struct {
	text map[string]*texttemplate.Template // by kind, "other" included
	html map[string]*htmltemplate.Template // by kind
}

// sets holds the parsed templates by language; parsed at init, so that a
// broken template fails every test and the build's first run, not a
// notice in production.
var sets = mustParse()

func mustParse() map[string]set {
	out := make(map[string]set, len(Languages))
	for _, lang := range Languages {
		st := set{text: map[string]*texttemplate.Template{}, html: map[string]*htmltemplate.Template{}}
		for _, kind := range append([]string{kindOther}, templated...) {
			name := kind + ".txt.tmpl"
			t, err := texttemplate.New(name).Option("missingkey=error").ParseFS(templateFS, "templates/"+lang+"/"+name)
			if err != nil {
				panic(fmt.Sprintf("email: templates/%s/%s: %v", lang, name, err))
			}
			if t.Lookup("subject") == nil {
				panic(fmt.Sprintf("email: templates/%s/%s: no subject block", lang, name))
			}
			st.text[kind] = t
		}
		for _, kind := range templated {
			name := kind + ".html.tmpl"
			t, err := htmltemplate.New("layout.html.tmpl").Funcs(htmltemplate.FuncMap{
				"css": func(name string) (htmltemplate.CSS, error) {
					c, ok := styles[name]
					if !ok {
						return "", fmt.Errorf("no style %q", name)
					}
					return c, nil
				},
			}).ParseFS(templateFS, "templates/layout.html.tmpl", "templates/"+lang+"/"+name)
			if err != nil {
				panic(fmt.Sprintf("email: templates/%s/%s: %v", lang, name, err))
			}
			st.html[kind] = t
		}
		out[lang] = st
	}
	return out
}

// view is what the templates see.
type view struct {
	Lang        string
	Subject     string // the rendered subject (the HTML part's title)
	Tracking    string
	TrackingURL string
	Place       notify.Place
	PostOffice  bool   // Place is a post office (fi "postissa", not "noutopisteessä")
	AllHours    bool   // a locker open round the clock: no Hours
	Code        string // the opening or pickup code ("" in a reminder)
	CodeChanged bool   // the code replaces one sent before, which no longer works
	LastDay     string // the last day to collect, d.m.yyyy in Helsinki; "" when not known
	COD         string // cash on delivery to pay, "49,90 €"; "" when none
	Text        string // the message as queued (KindOther)
	Kind        string // the message's kind (notify.Kind…, or another of the sender's)
	// QR is the image source of the QR code that opens the compartment
	// ("cid:" + QRContentID), "" when the message carries none; QRURL the
	// page that shows it (the text part's link).
	QR    htmltemplate.URL
	QRURL string
}

// Render renders m as Send sends it: the subject, the text part and the
// HTML part ("" for a kind without one: any kind but arrival and
// reminder is a text-only mail of m.Text). The language is m.Language
// (fi, sv, en; anything else en).
func Render(m notify.Message) (subject, text, html string, err error) {
	lang := language(m.Language)
	st := sets[lang]
	kind := m.Kind
	if _, ok := st.html[kind]; !ok {
		kind = kindOther
	}
	p := m.Parcel
	v := view{
		Lang:        lang,
		Tracking:    p.TrackingCode,
		TrackingURL: p.TrackingURL,
		Place:       p.Place,
		PostOffice:  p.Place.Type == "POSTOFFICE",
		AllHours:    !p.Place.Counter && len(p.Place.Hours) == 0,
		Code:        p.Code,
		CodeChanged: p.CodeChanged,
		LastDay:     lastDay(p.Deadline),
		COD:         money(p.CODCents, p.Currency, lang),
		Text:        m.Text,
		Kind:        m.Kind,
	}
	if kind == notify.KindReminder {
		v.Code = "" // a reminder never repeats the code, whatever it is given
	}
	if kind == notify.KindArrival && p.QRToken != "" {
		v.QR, v.QRURL = htmltemplate.URL("cid:"+QRContentID), p.QRURL
	}
	var b bytes.Buffer
	t := st.text[kind]
	if err := t.ExecuteTemplate(&b, "subject", v); err != nil {
		return "", "", "", fmt.Errorf("email: %s/%s subject: %w", lang, kind, err)
	}
	subject = oneLine(b.String())
	v.Subject = subject
	b.Reset()
	if err := t.Execute(&b, v); err != nil {
		return "", "", "", fmt.Errorf("email: %s/%s text: %w", lang, kind, err)
	}
	text = tidy(b.String())
	if ht, ok := st.html[kind]; ok {
		b.Reset()
		if err := ht.Execute(&b, v); err != nil {
			return "", "", "", fmt.Errorf("email: %s/%s HTML: %w", lang, kind, err)
		}
		html = b.String()
	}
	return subject, text, html, nil
}

// language is lang if there are templates for it, else "en".
func language(lang string) string {
	for _, l := range Languages {
		if l == lang {
			return l
		}
	}
	return "en"
}

// lastDay is the last day a parcel can be collected: the Helsinki date of
// the minute before the deadline (a deadline at midnight ends the day
// before), d.m.yyyy as the SMS tells it.
func lastDay(deadline time.Time) string {
	if deadline.IsZero() {
		return ""
	}
	return deadline.Add(-time.Minute).In(calendar.Helsinki).Format("2.1.2006")
}

// money writes an amount in cents as a Finn or a Finland-Swede writes it
// ("1 249,90 €", a no-break space between thousands and before the sign)
// or, in English, "€1,249.90". A currency other than euro (or none) is
// written by its code after the amount.
func money(cents int64, currency, lang string) string {
	if cents <= 0 {
		return ""
	}
	const nbsp = "\u00a0"
	units := strconv.FormatInt(cents/100, 10)
	sep, dec := nbsp, ","
	if lang == "en" {
		sep, dec = ",", "."
	}
	var g []string
	for len(units) > 3 {
		g = append([]string{units[len(units)-3:]}, g...)
		units = units[:len(units)-3]
	}
	g = append([]string{units}, g...)
	amount := strings.Join(g, sep) + dec + fmt.Sprintf("%02d", cents%100)
	cur := strings.ToUpper(strings.TrimSpace(currency))
	switch {
	case (cur == "" || cur == "EUR") && lang == "en":
		return "€" + amount
	case cur == "" || cur == "EUR":
		return amount + nbsp + "€"
	}
	return amount + nbsp + cur
}

// oneLine makes s a header's worth: its runs of white space (a newline
// from a template or a place's name included) one space.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// tidy trims the text part's lines, keeps at most one empty line between
// paragraphs, and ends it with a newline.
func tidy(s string) string {
	var out []string
	blank := true // drops leading empty lines
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimRight(line, " \t\r")
		if line == "" {
			if !blank {
				out = append(out, "")
			}
			blank = true
			continue
		}
		out = append(out, line)
		blank = false
	}
	for len(out) > 0 && out[len(out)-1] == "" {
		out = out[:len(out)-1]
	}
	return strings.Join(out, "\n") + "\n"
}
