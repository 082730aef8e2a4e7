package label

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/lokero/lokero"
)

// sample is a label for a building LOCKER (postcode ending in 4), with
// COD and a return code, and Finnish and Swedish letters in the names.
func sample() Label {
	return Label{
		TrackingCode: "JJ123456785FI",
		Reference:    "ORDER-2026-0042",
		Sender: lokero.Party{
			Name: "Åsa Ströms Bokhandel Oy", Street: "Ålandsgatan 3", Postcode: "22100", City: "Mariehamn", Country: "FI",
		},
		Recipient: lokero.Party{
			Name: "Äijälä Öhman", Street: "Mannerheimintie 5 B 12", Postcode: "00104", City: "Helsinki", Country: "FI",
		},
		Destination: lokero.Location{
			ID: "HEL-00104-1", Type: lokero.TypeLocker, Name: "As Oy Mannerheimintie 5 pakettiautomaatti",
			Street: "Mannerheimintie 5", Postcode: "00104", City: "Helsinki",
		},
		DeliveryDate: lokero.Date{Year: 2026, Month: time.March, Day: 10},
		Parcel:       lokero.Parcel{LengthCM: 30, WidthCM: 20.5, HeightCM: 10, WeightKG: 1.25, Contents: lokero.ContentsGoods},
		COD:          &lokero.COD{AmountCents: 4990, Currency: "EUR", Reference: "1232"},
		ReturnCode:   "201234567893",
		CreatedAt:    time.Date(2026, 3, 9, 14, 30, 5, 0, time.UTC),
	}
}

func render(t *testing.T, l Label) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, l); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return b.Bytes()
}

var mediaBox = regexp.MustCompile(`/MediaBox \[0 0 ([0-9.]+) ([0-9.]+)\]`)

// TestPDF: a PDF with exactly one page of 100 × 150 mm.
func TestPDF(t *testing.T) {
	pdf := render(t, sample())
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Fatalf("not a PDF: starts %q", pdf[:min(len(pdf), 16)])
	}
	if !bytes.HasSuffix(bytes.TrimSpace(pdf), []byte("%%EOF")) {
		t.Error("PDF does not end with the end-of-file marker")
	}
	if n := len(regexp.MustCompile(`/Type /Page\b[^s]`).FindAll(pdf, -1)); n != 1 {
		t.Errorf("%d page objects, want 1", n)
	}
	if !bytes.Contains(pdf, []byte("/Count 1")) {
		t.Error("page tree does not say /Count 1")
	}
	boxes := mediaBox.FindAllSubmatch(pdf, -1)
	if len(boxes) == 0 {
		t.Fatal("no /MediaBox")
	}
	for _, m := range boxes {
		w, _ := strconv.ParseFloat(string(m[1]), 64)
		h, _ := strconv.ParseFloat(string(m[2]), 64)
		// 100 mm = 283.46 pt, 150 mm = 425.20 pt.
		if wmm, hmm := w*25.4/72, h*25.4/72; abs(wmm-100) > 0.05 || abs(hmm-150) > 0.05 {
			t.Errorf("MediaBox %s × %s pt = %.2f × %.2f mm, want 100 × 150", m[1], m[2], wmm, hmm)
		}
	}
	if !bytes.Contains(pdf, []byte("(D:20260309143005)")) {
		t.Error("creation date is not CreatedAt (D:20260309143005)")
	}
}

func abs(x float64) float64 {
	if x < 0 {
		return -x
	}
	return x
}

// TestDeterministic: the same label gives the same bytes, whatever the
// time zone of CreatedAt; another label gives other bytes.
func TestDeterministic(t *testing.T) {
	a := render(t, sample())
	b := render(t, sample())
	if !bytes.Equal(a, b) {
		t.Fatal("two renderings of the same label differ")
	}
	l := sample()
	hel, err := time.LoadLocation("Europe/Helsinki")
	if err == nil {
		l.CreatedAt = l.CreatedAt.In(hel)
		if !bytes.Equal(a, render(t, l)) {
			t.Error("the same instant in another time zone gives other bytes")
		}
	}
	l = sample()
	l.CreatedAt = time.Time{}
	z1, z2 := render(t, l), render(t, l)
	if !bytes.Equal(z1, z2) || !bytes.Contains(z1, []byte("(D:19700101000000)")) {
		t.Error("a zero CreatedAt is not rendered deterministically as 1970-01-01")
	}
	l = sample()
	l.TrackingCode = "RR473124829GB"
	if bytes.Equal(a, render(t, l)) {
		t.Error("another tracking code gives the same bytes")
	}
}

func TestRejects(t *testing.T) {
	for name, mod := range map[string]func(*Label){
		"no tracking code":      func(l *Label) { l.TrackingCode = "" },
		"wrong check digit":     func(l *Label) { l.TrackingCode = "JJ123456784FI" },
		"lower-case code":       func(l *Label) { l.TrackingCode = "jj123456785fi" },
		"bad return code":       func(l *Label) { l.ReturnCode = "201234567890" },
		"short return code":     func(l *Label) { l.ReturnCode = "12345" },
		"non-digit return code": func(l *Label) { l.ReturnCode = "20123456789X" },
	} {
		l := sample()
		mod(&l)
		var b bytes.Buffer
		err := Write(&b, l)
		if lokero.ErrorCode(err) != lokero.EINVALID || !strings.HasPrefix(err.Error(), "render label: ") {
			t.Errorf("%s: error %v, want an EINVALID wrapped as render label", name, err)
		}
		if b.Len() != 0 {
			t.Errorf("%s: %d bytes written before the error", name, b.Len())
		}
	}
}

type failWriter struct{}

var errDiskFull = errors.New("disk full")

func (failWriter) Write([]byte) (int, error) { return 0, errDiskFull }

func TestWriterError(t *testing.T) {
	if err := Write(failWriter{}, sample()); !errors.Is(err, errDiskFull) {
		t.Errorf("error %v, want the writer's error in the chain", err)
	}
}

func TestFormats(t *testing.T) {
	for _, tc := range []struct {
		cents int64
		want  string
	}{
		{4990, "49,90"}, {5, "0,05"}, {0, "0,00"}, {100, "1,00"}, {123456, "1 234,56"},
		{100000000, "1 000 000,00"}, {-4990, "-49,90"},
	} {
		if got := money(tc.cents); got != tc.want {
			t.Errorf("money(%d) = %q, want %q", tc.cents, got, tc.want)
		}
	}
	for _, tc := range []struct {
		v      float64
		places int
		want   string
	}{
		{1.25, 2, "1,25"}, {2, 2, "2"}, {20.5, 1, "20,5"}, {0.1 + 0.2, 2, "0,3"}, {35, 1, "35"}, {1.999, 2, "2"},
	} {
		if got := decimal(tc.v, tc.places); got != tc.want {
			t.Errorf("decimal(%v, %d) = %q, want %q", tc.v, tc.places, got, tc.want)
		}
	}
}

// tool finds a command-line tool from Debian's packages. Without it the
// test skips, except in CI (CI=true), where nothing may be skipped.
func tool(t *testing.T, name, pkg string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	msg := name + " not found: install Debian's " + pkg + " (apt-get install -y " + pkg + ")"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr)
	}
	return string(out)
}

func writeFile(t *testing.T, l Label) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "label.pdf")
	if err := os.WriteFile(path, render(t, l), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestBarcodesDecode rasterises the label with poppler's pdftoppm and
// reads its barcodes with zbar's zbarimg: tools that are not ours, as a
// scanner at a depot would. At 300 dpi and at 203 dpi, the resolution of
// the commonest label printers.
func TestBarcodesDecode(t *testing.T) {
	pdftoppm := tool(t, "pdftoppm", "poppler-utils")
	zbarimg := tool(t, "zbarimg", "zbar-tools")

	noReturn := sample()
	noReturn.ReturnCode = ""
	noReturn.COD = nil
	noReturn.TrackingCode = "RR473124829GB"
	for _, tc := range []struct {
		name  string
		label Label
		want  []string
	}{
		{"with return code", sample(), []string{"201234567893", "JJ123456785FI"}},
		{"without return code", noReturn, []string{"RR473124829GB"}},
	} {
		for _, dpi := range []string{"300", "203"} {
			t.Run(tc.name+" at "+dpi+" dpi", func(t *testing.T) {
				pdf := writeFile(t, tc.label)
				png := filepath.Join(filepath.Dir(pdf), "label")
				run(t, pdftoppm, "-r", dpi, "-png", "-singlefile", pdf, png)
				out := run(t, zbarimg, "--raw", "-q", png+".png")
				got := strings.Fields(out)
				slices.Sort(got)
				if !slices.Equal(got, tc.want) {
					t.Errorf("zbarimg read %q, want %q", got, tc.want)
				}
			})
		}
	}
}

// TestText extracts the label's text with poppler's pdftotext: the
// Finnish and Swedish letters survive, the locker's own postcode and the
// tracking code are there.
func TestText(t *testing.T) {
	pdftotext := tool(t, "pdftotext", "poppler-utils")
	text := run(t, pdftotext, "-layout", writeFile(t, sample()), "-")
	for _, want := range []string{
		"Äijälä Öhman",
		"Åsa Ströms Bokhandel Oy",
		"Ålandsgatan 3",
		"From / Lähettäjä",
		"As Oy Mannerheimintie 5 pakettiautomaatti",
		"LOCKER",
		"HEL-00104-1",
		"Mannerheimintie 5, 00104 Helsinki",
		"00104 HELSINKI",
		"00104",
		"2026-03-10",
		"1,25 kg",
		"30 × 20,5 × 10 cm",
		"49,90 EUR",
		"ORDER-2026-0042",
		"JJ123456785FI",
		"Return code / Palautuskoodi",
		"201234567893",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("pdftotext output lacks %q:\n%s", want, text)
		}
	}

	if !strings.Contains(text, "Delivery / Toimitus: 2026-03-10") {
		t.Errorf("no delivery date line:\n%s", text)
	}

	l := sample()
	l.ReturnCode, l.COD, l.DeliveryDate = "", nil, lokero.Date{} // a return's label has no delivery date
	text = run(t, pdftotext, "-layout", writeFile(t, l), "-")
	for _, absent := range []string{"Palautuskoodi", "EUR", "201234567893", "Delivery / Toimitus"} {
		if strings.Contains(text, absent) {
			t.Errorf("label without return code, COD or delivery date shows %q", absent)
		}
	}
	if !strings.Contains(text, "JJ123456785FI") {
		t.Error("tracking code text missing")
	}
}

// TestCodeCaption: the second code is captioned as what it is: a
// delivery's return code, or a pre-paid parcel's drop-off code (DropOff),
// and never as the other.
func TestCodeCaption(t *testing.T) {
	pdftotext := tool(t, "pdftotext", "poppler-utils")
	for _, tc := range []struct {
		name          string
		dropOff       bool
		want, notWant string
	}{
		{"a delivery's return code", false, "Return code / Palautuskoodi", "Jättökoodi"},
		{"a pre-paid parcel's drop-off code", true, "Drop-off code / Jättökoodi", "Palautuskoodi"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := sample()
			l.COD, l.DropOff = nil, tc.dropOff
			text := run(t, pdftotext, "-layout", writeFile(t, l), "-")
			if !strings.Contains(text, tc.want) || !strings.Contains(text, l.ReturnCode) {
				t.Errorf("pdftotext output lacks %q or the code %s:\n%s", tc.want, l.ReturnCode, text)
			}
			if strings.Contains(text, tc.notWant) {
				t.Errorf("pdftotext output has %q:\n%s", tc.notWant, text)
			}
		})
	}
}

// TestPageInfo asks poppler's pdfinfo for the page count and size.
func TestPageInfo(t *testing.T) {
	pdfinfo := tool(t, "pdfinfo", "poppler-utils")
	out := run(t, pdfinfo, writeFile(t, sample()))
	if !regexp.MustCompile(`(?m)^Pages:\s+1$`).MatchString(out) {
		t.Errorf("pdfinfo: not one page:\n%s", out)
	}
	m := regexp.MustCompile(`(?m)^Page size:\s+([0-9.]+) x ([0-9.]+) pts`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("pdfinfo: no page size:\n%s", out)
	}
	w, _ := strconv.ParseFloat(m[1], 64)
	h, _ := strconv.ParseFloat(m[2], 64)
	if wmm, hmm := w*25.4/72, h*25.4/72; abs(wmm-100) > 0.05 || abs(hmm-150) > 0.05 {
		t.Errorf("pdfinfo: page size %s × %s pt = %.2f × %.2f mm, want 100 × 150", m[1], m[2], wmm, hmm)
	}
}

// TestLongText: names far too long for the label are shrunk and cut, and
// the label stays one page with its barcodes readable.
func TestLongText(t *testing.T) {
	l := sample()
	long := strings.Repeat("Pitkäniminen Vastaanottaja ", 10)
	l.Recipient.Name = long
	l.Sender.Name = long
	l.Destination.Name = long
	l.Reference = strings.Repeat("R", 80)
	l.Parcel.Contents, l.Parcel.Insulated = lokero.ContentsFood, true
	pdf := render(t, l)
	if n := len(regexp.MustCompile(`/Type /Page\b[^s]`).FindAll(pdf, -1)); n != 1 {
		t.Fatalf("%d pages", n)
	}
	if _, err := exec.LookPath("zbarimg"); err != nil {
		return
	}
	if _, err := exec.LookPath("pdftoppm"); err != nil {
		return
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "label.pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, "pdftoppm", "-r", "300", "-png", "-singlefile", path, filepath.Join(dir, "label"))
	got := strings.Fields(run(t, "zbarimg", "--raw", "-q", filepath.Join(dir, "label.png")))
	slices.Sort(got)
	if want := []string{"201234567893", "JJ123456785FI"}; !slices.Equal(got, want) {
		t.Errorf("zbarimg read %q, want %q", got, want)
	}
}

// TestSize: the fonts are embedded as subsets, so a label stays small
// enough to send to a printer or store by the thousand.
func TestSize(t *testing.T) {
	const limit = 200 << 10
	for name, l := range map[string]Label{"sample": sample(), "unicode": unicodeSample()} {
		pdf := render(t, l)
		t.Logf("%s: %d bytes", name, len(pdf))
		if len(pdf) > limit {
			t.Errorf("%s: %d bytes, want at most %d", name, len(pdf), limit)
		}
	}
}

// unicodeSample is sample with a Cyrillic recipient, a Greek sender and
// a Cyrillic destination.
func unicodeSample() Label {
	l := sample()
	l.Recipient.Name = "Иван Петров"
	l.Sender.Name = "Ωμέγα Oy"
	l.Sender.City = "Αθήνα"
	l.Sender.Country = "GR"
	l.Destination.Name = "Пункт выдачи «Север»"
	return l
}

// TestUnicodeText: Cyrillic and Greek names print as themselves, not as
// dots, and the label's barcodes still read.
func TestUnicodeText(t *testing.T) {
	pdftotext := tool(t, "pdftotext", "poppler-utils")
	l := unicodeSample()
	path := writeFile(t, l)
	text := run(t, pdftotext, "-layout", path, "-")
	for _, want := range []string{
		"Иван Петров",
		"Ωμέγα Oy",
		"22100 Αθήνα",
		"Пункт выдачи «Север»",
		"From / Lähettäjä",
		"30 × 20,5 × 10 cm",
		"JJ123456785FI",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("pdftotext output lacks %q:\n%s", want, text)
		}
	}
	if !bytes.Equal(render(t, l), render(t, l)) {
		t.Error("two renderings of the same Cyrillic label differ")
	}
}

// bidiControls are the characters that reorder text when displayed: the
// embeddings and overrides, the isolates, and the directional marks.
const bidiControls = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"

// TestMissingGlyphs: characters the font lacks print as '?' without
// breaking the label, and a right-to-left override is removed, so the
// text reads as printed.
func TestMissingGlyphs(t *testing.T) {
	l := sample()
	l.Recipient.Name = "李小龍 😀 \u202eevil"
	l.Sender.Name = "\u2067Shop\u2069 \U0001F4E6 Oy"
	pdf := render(t, l)
	if n := len(regexp.MustCompile(`/Type /Page\b[^s]`).FindAll(pdf, -1)); n != 1 {
		t.Fatalf("%d pages", n)
	}
	pdftotext := tool(t, "pdftotext", "poppler-utils")
	pdfinfo := tool(t, "pdfinfo", "poppler-utils")
	path := filepath.Join(t.TempDir(), "label.pdf")
	if err := os.WriteFile(path, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	if out := run(t, pdfinfo, path); !regexp.MustCompile(`(?m)^Pages:\s+1$`).MatchString(out) {
		t.Errorf("pdfinfo: not one page:\n%s", out)
	}
	text := run(t, pdftotext, "-layout", path, "-")
	for _, want := range []string{"??? ? evil", "Shop ? Oy", "JJ123456785FI"} {
		if !strings.Contains(text, want) {
			t.Errorf("pdftotext output lacks %q:\n%s", want, text)
		}
	}
	if i := strings.IndexAny(text, bidiControls); i >= 0 {
		r, _ := utf8.DecodeRuneInString(text[i:])
		t.Errorf("pdftotext output has the bidi control %U:\n%q", r, text)
	}
	for _, absent := range []string{"李", "😀"} {
		if strings.Contains(text, absent) {
			t.Errorf("pdftotext output has %q:\n%s", absent, text)
		}
	}
}

func TestClean(t *testing.T) {
	faces, err := loadFaces()
	if err != nil {
		t.Fatal(err)
	}
	regular := faces[0]
	for _, tc := range []struct{ in, want string }{
		{"Äijälä Öhman", "Äijälä Öhman"},
		{"Иван Петров", "Иван Петров"},
		{"Ωμέγα Oy", "Ωμέγα Oy"},
		{"Łódź Śląsk Ęę Žižek Ğğ İı", "Łódź Śląsk Ęę Žižek Ğğ İı"}, // Latin Extended-A
		{"49,90 € – “quoted” …", "49,90 € – “quoted” …"},
		{"李小龍 😀 \u202eevil", "??? ? evil"},
		{bidiControls + "abc", "abc"},
		{"a\x00b\x07c\x1bd\x7fe\u0080f\u009fg", "abcdefg"},  // C0, DEL, C1
		{"line\none\ttab\r\nx\u2028y", "line one tab  x y"}, // breaks become spaces
		{"zero\u200bwidth\u200djoin\ufeffbom\u00adsoft", "zerowidthjoinbomsoft"},
		{"Jose\u0301 \u2764\ufe0f", "Jose ?"}, // combining marks the font lacks
		{"bad \xff\xfe utf-8 \ufffd", "bad ?? utf-8 ?"},
		{"\U00010000 \U0001F1EB\U0001F1EE", "? ??"}, // above the BMP
		{"Ǎ Ș ț", "Ǎ Ș ț"},                          // Latin Extended-B the Go fonts have
		{"Ƀ ơ ư Ạ ệ", "? ? ? ? ?"},                  // and some they lack
	} {
		if got := clean(tc.in, regular); got != tc.want {
			t.Errorf("clean(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestFitCutsWholeCharacters: a Cyrillic or Greek line too long for the
// label is cut between characters, never inside one.
func TestFitCutsWholeCharacters(t *testing.T) {
	d, err := newDrawer()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{
		strings.Repeat("Пётр Ильич Чайковский ", 20),
		strings.Repeat("Ωμέγα ", 50),
		strings.Repeat("李", 200),
	} {
		for _, width := range []float64{5, 20, textWidth} {
			got, size := d.fit(s, "B", 14, 8, width)
			if !utf8.ValidString(got) || !strings.HasSuffix(got, "…") {
				t.Errorf("fit(%.20q…, %v mm) = %q: not valid UTF-8 ending in …", s, width, got)
			}
			if size != 8 {
				t.Errorf("fit(%.20q…, %v mm): size %v, want the minimum 8", s, width, size)
			}
			if w := d.pdf.GetStringWidth(got); w > width {
				t.Errorf("fit(%.20q…, %v mm) = %q, %.2f mm wide", s, width, got, w)
			}
			if !strings.HasPrefix(clean(s, d.face("B")), strings.TrimSuffix(got, "…")) {
				t.Errorf("fit(%.20q…, %v mm) = %q: not a prefix of the line", s, width, got)
			}
		}
	}
	if err := d.pdf.Error(); err != nil {
		t.Error(err)
	}
}

func BenchmarkWrite(b *testing.B) {
	l := unicodeSample()
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := Write(&buf, l); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(buf.Len()), "bytes/label")
}
