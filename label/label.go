// Package label renders a shipment's address label as a PDF: 10 × 15 cm,
// one page, with the tracking code (and the return or drop-off code, when one was
// issued) as Code 128 barcodes that a scanner reads.
//
// It is an adapter around github.com/go-pdf/fpdf and
// github.com/boombuler/barcode: it draws, and decides nothing about the
// shipment. The same Label always gives the same bytes.
package label

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/code128"
	"github.com/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/sfnt"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/tracking"
)

// Label is what is printed on a shipment's address label.
type Label struct {
	TrackingCode string       // UPU S10, e.g. "JJ123456785FI"
	Reference    string       // the retailer's order number
	Sender       lokero.Party // printed small, top left
	Recipient    lokero.Party // only the name is printed
	// Destination is the pickup point or locker the parcel goes to: its
	// name, type, id and address, the postcode as the location has it (a
	// building LOCKER's own postcode ends in 4).
	Destination  lokero.Location
	DeliveryDate lokero.Date // printed YYYY-MM-DD; the zero Date prints nothing
	Parcel       lokero.Parcel
	COD          *lokero.COD // nil when the recipient pays nothing
	ReturnCode   string      // "" when none was issued
	// DropOff says ReturnCode is a pre-paid parcel's drop-off code, the
	// code its sender drops it off with at a locker or counter, rather
	// than a delivery's return code: it is captioned "Drop-off code /
	// Jättökoodi".
	DropOff bool
	// CreatedAt is written as the PDF's creation and modification date,
	// in UTC, so that the same Label always gives the same bytes. A zero
	// CreatedAt is written as 1970-01-01 00:00:00 UTC.
	CreatedAt time.Time
}

// Page and barcode geometry, in millimetres.
const (
	pageWidth  = 100.0
	pageHeight = 150.0
	margin     = 5.0
	textWidth  = pageWidth - 2*margin

	// printerDot is one dot of a 203 dpi label printer, the most common
	// resolution: bars a whole number of dots wide print without
	// distortion. Module widths are multiples of it, at least 3 dots
	// (0.375 mm, above the 0.33 mm a scanner needs) and at most 4.
	printerDot     = 25.4 / 203
	minModuleDots  = 3
	maxModuleDots  = 4
	quietModules   = 10   // white modules either side of a barcode
	barcodeHeight  = 18.0 // tracking code
	returnBCHeight = 15.0 // return code
)

// Write renders the label as a one-page PDF of 100 × 150 mm (portrait):
// the sender, small, top left ("From"); the recipient's name; "Deliver
// to" the destination's name, type and id, its street address and
// postcode and city ("Mannerheimintie 5, 00104 Helsinki"), with the
// postcode and city again in large type for sorting; the delivery date,
// weight, dimensions and, when present, the cash-on-delivery amount
// ("49,90 EUR"); the tracking code as a Code 128 barcode (bars a whole
// number of 203 dpi printer dots wide, at least 0.375 mm, with quiet zones
// of 10 modules, 18 mm high) and as text below it; and, when issued, the
// return code with its own barcode, captioned "Return code /
// Palautuskoodi" (a pre-paid parcel's drop-off code, DropOff: "Drop-off
// code / Jättökoodi").
//
// Text is set in the Go fonts (Go Regular and Go Bold), embedded as
// subsets with Unicode text: Latin with Latin-1 and Latin Extended-A
// (Finnish, Swedish, Northern Sámi, most European names), Greek, Cyrillic, common
// punctuation and currency signs. A character the font has no glyph for
// (Chinese, emoji, …) prints as '?'; a combining mark the font lacks is
// left out, its base letter printed. Control characters and invisible
// format characters (bidirectional overrides and isolates, zero-width
// joiners) are removed, tabs and line breaks become spaces: see clean. A
// line too long for the label is set smaller and, if still too long, cut
// with "…". An invalid tracking or return code is an EINVALID error: a
// label that cannot be scanned is never printed.
func Write(w io.Writer, l Label) error {
	if !tracking.Valid(l.TrackingCode) {
		return fmt.Errorf("render label: %w", lokero.Invalid("tracking_code", "malformed",
			"%q is not a valid S10 tracking code", l.TrackingCode))
	}
	if l.ReturnCode != "" && !tracking.ValidReturnCode(l.ReturnCode) {
		return fmt.Errorf("render label: %w", lokero.Invalid("return_code", "malformed",
			"%q is not a valid return code", l.ReturnCode))
	}
	d, err := newDrawer()
	if err != nil {
		return fmt.Errorf("render label: %w", err)
	}
	created := l.CreatedAt.UTC()
	if l.CreatedAt.IsZero() {
		created = time.Unix(0, 0).UTC()
	}
	d.pdf.SetCreationDate(created)
	d.pdf.SetModificationDate(created)
	d.pdf.SetTitle("Label "+l.TrackingCode, true)
	d.draw(l)
	if d.err != nil {
		return fmt.Errorf("render label: %w", d.err)
	}
	if err := d.pdf.Output(w); err != nil {
		return fmt.Errorf("render label: %w", err)
	}
	return nil
}

// fontFamily is the name the Go fonts are registered under in the PDF.
const fontFamily = "Go"

// face is one style of the label's font: its TrueType bytes, for fpdf to
// embed, and the characters it has a glyph for, to replace the others
// before they reach the PDF.
type face struct {
	style string // fpdf's style: "" regular, "B" bold
	ttf   []byte
	// has holds a bit for each rune of the Basic Multilingual Plane the
	// font maps to a glyph. fpdf reads only a font's BMP character map
	// (format 4), so nothing above U+FFFF is ever printable.
	has *[0x10000 / 64]uint64
}

// hasGlyph reports whether the face prints r as itself.
func (f face) hasGlyph(r rune) bool {
	return r >= 0 && r <= 0xFFFF && f.has[r/64]&(1<<(r%64)) != 0
}

// loadFaces reads the character maps of the Go fonts once: the bytes are
// compiled in, so an error here is a broken build, reported by Write.
var loadFaces = sync.OnceValues(func() ([]face, error) {
	var faces []face
	var buf sfnt.Buffer
	for _, f := range []struct {
		style, name string
		ttf         []byte
	}{
		{"", "Go Regular", goregular.TTF},
		{"B", "Go Bold", gobold.TTF},
	} {
		font, err := sfnt.Parse(f.ttf)
		if err != nil {
			return nil, fmt.Errorf("parse %s: %w", f.name, err)
		}
		has := new([0x10000 / 64]uint64)
		for r := rune(0); r <= 0xFFFF; r++ {
			g, err := font.GlyphIndex(&buf, r)
			if err != nil {
				return nil, fmt.Errorf("%s: glyph of %U: %w", f.name, r, err)
			}
			if g != 0 {
				has[r/64] |= 1 << (r % 64)
			}
		}
		faces = append(faces, face{style: f.style, ttf: f.ttf, has: has})
	}
	return faces, nil
})

// newDrawer starts a one-page document of the label's size with the Go
// fonts, at the top of its page.
func newDrawer() (*drawer, error) {
	faces, err := loadFaces()
	if err != nil {
		return nil, err
	}
	pdf := fpdf.NewCustom(&fpdf.InitType{
		OrientationStr: "P",
		UnitStr:        "mm",
		Size:           fpdf.SizeType{Wd: pageWidth, Ht: pageHeight},
	})
	pdf.SetCatalogSort(true)
	pdf.SetCreator("lokero", true)
	pdf.SetMargins(margin, margin, margin)
	pdf.SetAutoPageBreak(false, 0)
	for _, f := range faces {
		pdf.AddUTF8FontFromBytes(fontFamily, f.style, f.ttf)
		// fpdf reports a font it cannot parse only when it is selected.
		pdf.SetFont(fontFamily, f.style, 10)
	}
	if err := pdf.Error(); err != nil {
		return nil, fmt.Errorf("load the Go fonts: %w", err)
	}
	pdf.AddPage()
	return &drawer{pdf: pdf, faces: faces, y: margin}, nil
}

// face returns the face of style, regular when there is none.
func (d *drawer) face(style string) face {
	for _, f := range d.faces {
		if f.style == style {
			return f
		}
	}
	return d.faces[0]
}

// clean makes s printable in f: a character f has no glyph for becomes
// '?', except a combining mark, which is left out (its base letter is
// printed); an invalid UTF-8 byte and U+FFFD become '?'. Tabs, line and
// paragraph breaks become spaces. Other control characters (C0, DEL, C1)
// and format characters (Unicode category Cf: the bidirectional
// embeddings, overrides and isolates U+202A–U+202E and U+2066–U+2069,
// the marks U+200E, U+200F and U+061C, zero-width spaces and joiners,
// the byte order mark, the soft hyphen) are removed: they are invisible,
// and a bidi override would make a viewer or text extractor show the
// line in an order other than the one printed.
func clean(s string, f face) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == utf8.RuneError:
			// An invalid byte, or U+FFFD standing for an unknown one.
			b.WriteByte('?')
		case r == '\t' || r == '\n' || r == '\v' || r == '\f' || r == '\r' || r == 0x85 ||
			r == '\u2028' || r == '\u2029':
			b.WriteByte(' ')
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r):
			// dropped
		case f.hasGlyph(r):
			b.WriteRune(r)
		case unicode.Is(unicode.Mn, r):
			// A combining accent or variation selector the font lacks.
		default:
			b.WriteByte('?')
		}
	}
	return b.String()
}

// drawer lays the label out from the top down; y is the top of the next
// line, in millimetres.
type drawer struct {
	pdf   *fpdf.Fpdf
	faces []face
	y     float64
	err   error
}

func (d *drawer) draw(l Label) {
	// Sender, small, top left; the reference top right.
	d.caption("From / Lähettäjä")
	top := d.y
	s := l.Sender
	for _, line := range []string{s.Name, s.Street, join(" ", s.Postcode, s.City), countryLine(s.Country)} {
		if line != "" {
			d.text(line, "", 7, 5, textWidth*0.6)
		}
	}
	if l.Reference != "" {
		bottom := d.y
		d.y = top
		d.textRight("Ref. "+l.Reference, "", 7, textWidth*0.38)
		d.y = max(d.y, bottom)
	}
	d.rule()

	// Recipient.
	d.caption("To / Vastaanottaja")
	d.text(l.Recipient.Name, "B", 14, 8, textWidth)
	d.gap(1.5)

	// Destination: the pickup point, its postcode large.
	loc := l.Destination
	d.caption("Deliver to / Toimitetaan")
	d.text(loc.Name, "B", 11, 7, textWidth)
	d.text(join(" · ", string(loc.Type), describeType(loc.Type), loc.ID), "", 8, 5, textWidth)
	d.text(join(", ", loc.Street, join(" ", loc.Postcode, loc.City)), "", 10, 6, textWidth)
	d.gap(0.5)
	d.text(join(" ", loc.Postcode, strings.ToUpper(loc.City)), "B", 24, 12, textWidth)
	d.rule()

	// Delivery date, parcel, cash on delivery.
	p := l.Parcel
	var facts []string
	if !l.DeliveryDate.IsZero() { // a return's label has none
		facts = append(facts, "Delivery / Toimitus: "+l.DeliveryDate.Text())
	}
	facts = append(facts,
		"Weight / Paino: "+decimal(p.WeightKG, 2)+" kg",
		"Size / Koko: "+decimal(p.LengthCM, 1)+" × "+decimal(p.WidthCM, 1)+" × "+decimal(p.HeightCM, 1)+" cm",
	)
	if p.Contents == lokero.ContentsFood {
		food := "Food / Elintarvike"
		if p.Insulated {
			food += " – insulated, keep cool / kylmäkuljetus"
		}
		facts = append(facts, food)
	}
	for _, f := range facts {
		d.text(f, "", 9, 6, textWidth)
	}
	if c := l.COD; c != nil {
		cur := c.Currency
		if cur == "" {
			cur = "EUR"
		}
		d.text("COD / Postiennakko: "+money(c.AmountCents)+" "+cur, "B", 12, 8, textWidth)
		if c.Reference != "" {
			d.text("COD ref. "+c.Reference, "", 8, 5, textWidth)
		}
	}
	d.rule()

	// The tracking code, then the return code.
	d.barcode(l.TrackingCode, barcodeHeight)
	d.textCenter(l.TrackingCode, "B", 12)
	if l.ReturnCode != "" {
		d.rule()
		d.caption(codeCaption(l.DropOff))
		d.barcode(l.ReturnCode, returnBCHeight)
		d.textCenter(l.ReturnCode, "B", 11)
	}
	if d.err == nil && d.y > pageHeight-margin+0.01 {
		d.err = fmt.Errorf("the label's content runs %.1f mm past its bottom margin", d.y-(pageHeight-margin))
	}
}

// codeCaption is the caption of the label's second code: a pre-paid
// parcel's drop-off code (dropOff), or a delivery's return code.
func codeCaption(dropOff bool) string {
	if dropOff {
		return "Drop-off code / Jättökoodi"
	}
	return "Return code / Palautuskoodi"
}

// ptToMM converts a font size in points to millimetres.
func ptToMM(pt float64) float64 { return pt * 25.4 / 72 }

// fit sets the font to style and the largest size from size down to
// minSize at which s fits width, and returns s made printable (see
// clean), cut with "…" when it does not fit even at minSize.
func (d *drawer) fit(s, style string, size, minSize, width float64) (string, float64) {
	t := clean(s, d.face(style))
	for sz := size; sz >= minSize; sz -= 0.5 {
		d.pdf.SetFont(fontFamily, style, sz)
		if d.pdf.GetStringWidth(t) <= width {
			return t, sz
		}
	}
	d.pdf.SetFont(fontFamily, style, minSize)
	// fpdf sets text without kerning: a string's width is the sum of its
	// characters' widths, in thousandths of the font size.
	_, unit := d.pdf.GetFontSize()
	const ellipsis = "…"
	avail := width*1000/unit - float64(d.pdf.GetStringSymbolWidth(ellipsis))
	used, cut := 0, 0
	for i, r := range t {
		used += d.pdf.GetStringSymbolWidth(string(r))
		if float64(used) > avail {
			break
		}
		cut = i + utf8.RuneLen(r)
	}
	return strings.TrimRight(t[:cut], " ") + ellipsis, minSize
}

// text writes one line at the left margin and moves down.
func (d *drawer) text(s, style string, size, minSize, width float64) {
	t, sz := d.fit(s, style, size, minSize, width)
	h := ptToMM(sz)
	d.pdf.Text(margin, d.y+h*0.8, t)
	d.y += h * 1.2
}

// textRight writes one line ending at the right margin and moves down.
func (d *drawer) textRight(s, style string, size, width float64) {
	t, sz := d.fit(s, style, size, size-2, width)
	h := ptToMM(sz)
	d.pdf.Text(pageWidth-margin-d.pdf.GetStringWidth(t), d.y+h*0.8, t)
	d.y += h * 1.2
}

// textCenter writes one centred line and moves down.
func (d *drawer) textCenter(s, style string, size float64) {
	t, sz := d.fit(s, style, size, size-4, textWidth)
	h := ptToMM(sz)
	d.pdf.Text((pageWidth-d.pdf.GetStringWidth(t))/2, d.y+h*0.8, t)
	d.y += h * 1.2
}

// caption writes a small grey heading.
func (d *drawer) caption(s string) {
	d.pdf.SetTextColor(90, 90, 90)
	d.text(s, "", 6.5, 6.5, textWidth)
	d.pdf.SetTextColor(0, 0, 0)
	d.y += 0.6 // room for the accents of capitals below (Ä, Å)
}

func (d *drawer) gap(mm float64) { d.y += mm }

// rule draws a thin line across the label.
func (d *drawer) rule() {
	d.y += 1
	d.pdf.SetLineWidth(0.3)
	d.pdf.Line(margin, d.y, pageWidth-margin, d.y)
	d.y += 1.5
}

// barcode draws content as a centred Code 128 barcode of the given height
// in vector bars: the widest whole number of printer dots per module
// (3 or 4) that fits the label with its quiet zones.
func (d *drawer) barcode(content string, height float64) {
	if d.err != nil {
		return
	}
	bc, err := code128.Encode(content)
	if err != nil {
		d.err = fmt.Errorf("encode %q as Code 128: %w", content, err)
		return
	}
	modules := bc.Bounds().Dx()
	pageDots := int(math.Floor(pageWidth / printerDot))
	dots := min(maxModuleDots, pageDots/(modules+2*quietModules))
	if dots < minModuleDots {
		d.err = fmt.Errorf("Code 128 of %q is %d modules: too wide for the label", content, modules)
		return
	}
	module := float64(dots) * printerDot
	x0 := (pageWidth - float64(modules)*module) / 2
	d.pdf.SetFillColor(0, 0, 0)
	for x := 0; x < modules; {
		if !isBar(bc, x) {
			x++
			continue
		}
		start := x
		for x < modules && isBar(bc, x) {
			x++
		}
		d.pdf.Rect(x0+float64(start)*module, d.y, float64(x-start)*module, height, "F")
	}
	d.y += height + 1
}

// isBar reports whether module x of a one-dimensional barcode is dark.
func isBar(bc barcode.Barcode, x int) bool {
	return color.GrayModel.Convert(bc.At(x, 0)).(color.Gray).Y < 128
}

// join joins the non-empty parts with sep.
func join(sep string, parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, sep)
}

// countryLine is the sender's country, printed only when not Finland.
func countryLine(country string) string {
	if c := strings.ToUpper(strings.TrimSpace(country)); c != "" && c != "FI" {
		return c
	}
	return ""
}

// describeType says in words what a location type is.
func describeType(t lokero.LocationType) string {
	switch t {
	case lokero.TypeLocker:
		return "building parcel locker"
	case lokero.TypeSmartpost:
		return "parcel locker"
	case lokero.TypePostOffice:
		return "post office"
	case lokero.TypePickupPoint:
		return "pickup point"
	}
	return ""
}

// decimal formats v with at most places decimals and a decimal comma,
// as Finnish writes numbers: 1.5 → "1,5", 2 → "2".
func decimal(v float64, places int) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "?"
	}
	s := strconv.FormatFloat(v, 'f', places, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return strings.Replace(s, ".", ",", 1)
}

// money formats an amount in cents the Finnish way: a space between
// thousands and a decimal comma, 123456 → "1 234,56".
func money(cents int64) string {
	sign := ""
	u := uint64(cents)
	if cents < 0 {
		sign, u = "-", uint64(-(cents+1))+1
	}
	whole := strconv.FormatUint(u/100, 10)
	var b strings.Builder
	for i, r := range whole {
		if i > 0 && (len(whole)-i)%3 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return fmt.Sprintf("%s%s,%02d", sign, b.String(), u%100)
}
