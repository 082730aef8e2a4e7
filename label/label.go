// Package label renders a shipment's address label as a PDF: 10 × 15 cm,
// one page, with the tracking code (and the return code, when one was
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
	"time"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/code128"
	"github.com/go-pdf/fpdf"

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
	DeliveryDate string // YYYY-MM-DD
	Parcel       lokero.Parcel
	COD          *lokero.COD // nil when the recipient pays nothing
	ReturnCode   string      // "" when none was issued
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
// Palautuskoodi".
//
// Text is set in the PDF core fonts (code page 1252), which cover
// Finnish and Swedish (ä ö å Ä Ö Å); any character outside it prints as
// '.'. A line too long for the label is set smaller and, if still too
// long, cut with "…". An invalid tracking or return code is an EINVALID
// error: a label that cannot be scanned is never printed.
func Write(w io.Writer, l Label) error {
	if !tracking.Valid(l.TrackingCode) {
		return fmt.Errorf("render label: %w", lokero.Invalid("tracking_code", "malformed",
			"%q is not a valid S10 tracking code", l.TrackingCode))
	}
	if l.ReturnCode != "" && !tracking.ValidReturnCode(l.ReturnCode) {
		return fmt.Errorf("render label: %w", lokero.Invalid("return_code", "malformed",
			"%q is not a valid return code", l.ReturnCode))
	}
	pdf := fpdf.NewCustom(&fpdf.InitType{
		OrientationStr: "P",
		UnitStr:        "mm",
		Size:           fpdf.SizeType{Wd: pageWidth, Ht: pageHeight},
	})
	created := l.CreatedAt.UTC()
	if l.CreatedAt.IsZero() {
		created = time.Unix(0, 0).UTC()
	}
	pdf.SetCreationDate(created)
	pdf.SetModificationDate(created)
	pdf.SetCatalogSort(true)
	pdf.SetCreator("lokero", true)
	pdf.SetTitle("Label "+l.TrackingCode, true)
	pdf.SetMargins(margin, margin, margin)
	pdf.SetAutoPageBreak(false, 0)
	tr := pdf.UnicodeTranslatorFromDescriptor("") // cp1252
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("render label: load code page 1252: %w", err)
	}
	pdf.AddPage()

	d := &drawer{pdf: pdf, tr: tr, y: margin}
	d.draw(l)
	if d.err != nil {
		return fmt.Errorf("render label: %w", d.err)
	}
	if err := pdf.Output(w); err != nil {
		return fmt.Errorf("render label: %w", err)
	}
	return nil
}

// drawer lays the label out from the top down; y is the top of the next
// line, in millimetres.
type drawer struct {
	pdf *fpdf.Fpdf
	tr  func(string) string
	y   float64
	err error
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
	facts := []string{
		"Delivery / Toimitus: " + l.DeliveryDate,
		"Weight / Paino: " + decimal(p.WeightKG, 2) + " kg",
		"Size / Koko: " + decimal(p.LengthCM, 1) + " × " + decimal(p.WidthCM, 1) + " × " + decimal(p.HeightCM, 1) + " cm",
	}
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
		d.caption("Return code / Palautuskoodi")
		d.barcode(l.ReturnCode, returnBCHeight)
		d.textCenter(l.ReturnCode, "B", 11)
	}
	if d.err == nil && d.y > pageHeight-margin+0.01 {
		d.err = fmt.Errorf("the label's content runs %.1f mm past its bottom margin", d.y-(pageHeight-margin))
	}
}

// ptToMM converts a font size in points to millimetres.
func ptToMM(pt float64) float64 { return pt * 25.4 / 72 }

// fit sets the font to style and the largest size from size down to
// minSize at which s fits width, and returns s in code page 1252, cut
// with "…" when it does not fit even at minSize.
func (d *drawer) fit(s, style string, size, minSize, width float64) (string, float64) {
	t := d.tr(s)
	for sz := size; sz >= minSize; sz -= 0.5 {
		d.pdf.SetFont("Helvetica", style, sz)
		if d.pdf.GetStringWidth(t) <= width {
			return t, sz
		}
	}
	d.pdf.SetFont("Helvetica", style, minSize)
	ellipsis := d.tr("…")
	for len(t) > 0 && d.pdf.GetStringWidth(t+ellipsis) > width {
		t = t[:len(t)-1]
	}
	return strings.TrimRight(t, " ") + ellipsis, minSize
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
