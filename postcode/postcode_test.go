package postcode_test

import (
	"errors"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/postcode"
)

// bundledRegistry builds the registry of the bundled data once for all
// tests.
var bundledRegistry = sync.OnceValues(func() (*postcode.Registry, error) {
	codes, err := postcode.Bundled()
	if err != nil {
		return nil, err
	}
	points, err := postcode.BundledPoints()
	if err != nil {
		return nil, err
	}
	return postcode.NewRegistry(codes, points), nil
})

// registry returns the registry of the bundled data.
func registry(t testing.TB) *postcode.Registry {
	t.Helper()
	r, err := bundledRegistry()
	if err != nil {
		t.Fatalf("bundled registry: %v", err)
	}
	return r
}

// wantError checks that err is a *lokero.Error of the given code, field and
// reason whose message contains each of contains.
func wantError(t *testing.T, err error, code, field, reason string, contains ...string) {
	t.Helper()
	var e *lokero.Error
	if !errors.As(err, &e) {
		t.Fatalf("error = %v (%T), want a *lokero.Error", err, err)
	}
	if e.Code != code || e.Field != field || e.Reason != reason {
		t.Errorf("error = code %q field %q reason %q, want %q %q %q (%v)", e.Code, e.Field, e.Reason, code, field, reason, err)
	}
	for _, s := range contains {
		if !strings.Contains(e.Message, s) {
			t.Errorf("error message %q does not contain %q", e.Message, s)
		}
	}
}

func TestParse(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		msg      string // part of the error message; "" when valid
	}{
		{in: "00100", want: "00100"},
		{in: " 00104 ", want: "00104"},
		{in: "99999", want: "99999"},
		{in: "\t22100\n", want: "22100"},
		{in: "", msg: "empty"},
		{in: "   ", msg: "empty"},
		{in: "0010", msg: "not 4"},
		{in: "001000", msg: "not 6"},
		{in: "ABCDE", msg: `'A' is not a digit`},
		{in: "00 100", msg: `' ' is not a digit`},
		{in: "0010a", msg: `'a' is not a digit`},
		{in: "０0100", msg: "is not a digit"}, // a fullwidth digit is not an ASCII digit
		{in: "-0100", msg: "is not a digit"},
		{in: "FI-00100", msg: "is not a digit"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			t.Parallel()
			got, err := postcode.Parse(tt.in)
			if tt.msg == "" {
				if err != nil || got != tt.want {
					t.Fatalf("Parse(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
				}
				return
			}
			if got != "" {
				t.Errorf("Parse(%q) = %q, want \"\" with an error", tt.in, got)
			}
			wantError(t, err, lokero.EINVALID, "postcode", "malformed", tt.msg)
		})
	}
}

func TestBundled(t *testing.T) {
	t.Parallel()
	codes, err := postcode.Bundled()
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != 5033 {
		t.Errorf("Bundled has %d codes, want 5,033", len(codes))
	}
	kinds := map[string]lokero.PostcodeKind{"1": lokero.PostcodeArea, "2": lokero.PostcodePOBox, "3": lokero.PostcodeOrganisation,
		"4": lokero.PostcodeOther, "5": lokero.PostcodeBusinessReply, "6": lokero.PostcodeLocker, "7": lokero.PostcodePickupPoint}
	counts := map[string]int{}
	for _, c := range codes {
		counts[c.TypeCode]++
		if c.Kind != kinds[c.TypeCode] {
			t.Errorf("%s: type code %q has kind %q, want %q", c.Code, c.TypeCode, c.Kind, kinds[c.TypeCode])
		}
		if c.FileDate != "20240413" {
			t.Errorf("%s: file date %q, want 20240413", c.Code, c.FileDate)
		}
	}
	want := map[string]int{"1": 3024, "2": 590, "3": 137, "4": 1, "5": 14, "6": 1252, "7": 15}
	for tc, n := range want {
		if counts[tc] != n {
			t.Errorf("type code %s: %d codes, want %d", tc, counts[tc], n)
		}
	}
	i := slices.IndexFunc(codes, func(c lokero.Postcode) bool { return c.Code == "20100" })
	if i < 0 {
		t.Fatal("20100 is not in the bundled file")
	}
	if got, want := codes[i], (lokero.Postcode{Code: "20100", Kind: lokero.PostcodeArea, TypeCode: "1", NameFI: "TURKU", NameSV: "ÅBO",
		AbbrFI: "TKU", ValidFrom: "19970925", AreaCode: "FI1C1", AreaFI: "Varsinais-Suomi", AreaSV: "Egentliga Finland", MunicipalityCode: "853",
		MunicipalityFI: "Turku", MunicipalitySV: "Åbo", LanguageRatioCode: "2", FileDate: "20240413"}); got != want {
		t.Errorf("20100 =\n%+v, want\n%+v", got, want)
	}
}

func TestBundledPoints(t *testing.T) {
	t.Parallel()
	points, err := postcode.BundledPoints()
	if err != nil {
		t.Fatal(err)
	}
	if len(points) != 3576+37 {
		t.Errorf("BundledPoints has %d points, want 3,613", len(points))
	}
	tests := []struct {
		code string
		want postcode.Point
		ok   bool
	}{
		{"00100", postcode.Point{Lat: 60.1714, Lon: 24.9316}, true},
		{"22100", postcode.Point{Lat: 60.1007, Lon: 19.9438}, true}, // Åland's file
		{"00104", postcode.Point{}, false},                          // GeoNames has no locker codes
		{"60250", postcode.Point{}, false},
	}
	for _, tt := range tests {
		got, ok := points[tt.code]
		if ok != tt.ok || got != tt.want {
			t.Errorf("points[%s] = %v, %v; want %v, %v", tt.code, got, ok, tt.want, tt.ok)
		}
	}
	for code, p := range points {
		if p.Lat < 59 || p.Lat > 71 || p.Lon < 19 || p.Lon > 32 {
			t.Errorf("point of %s = %v: not in Finland", code, p)
		}
	}
}

func TestLookup(t *testing.T) {
	t.Parallel()
	r := registry(t)
	tests := []struct {
		code                         string
		kind                         lokero.PostcodeKind
		base, nameFI, nameSV, labelF string
		pointOf                      string // the code whose GeoNames point it has
	}{
		{"00100", lokero.PostcodeArea, "00100", "Helsinki", "Helsingfors", "HELSINKI", "00100"},
		{" 00100 ", lokero.PostcodeArea, "00100", "Helsinki", "Helsingfors", "HELSINKI", "00100"},
		{"00104", lokero.PostcodeLocker, "00100", "Helsinki", "Helsingfors", "SMARTPOST", "00100"},
		{"00101", lokero.PostcodePOBox, "00101", "Helsinki", "Helsingfors", "HELSINKI", "00101"},
		{"01305", lokero.PostcodeLocker, "01300", "Vantaa", "Vanda", "PAKETTIAUTOMAATTI", "01300"},
		{"37105", lokero.PostcodeLocker, "37100", "Nokia", "Nokia", "PAKETTIAUTOMAATTI", "37100"},
		{"30108", lokero.PostcodeLocker, "30100", "Forssa", "Forssa", "PAKETTIAUTOMAATTI", "30100"},
		{"04404", lokero.PostcodeLocker, "04400", "Järvenpää", "Järvenpää", "SMARTPOST", "04400"},
		{"20100", lokero.PostcodeArea, "20100", "Turku", "Åbo", "TURKU", "20100"},
		{"63400", lokero.PostcodeArea, "63400", "Alavus as", "Alavus as", "ALAVUS AS", "63400"},
		// A locker code whose area is not in the file: municipality names.
		{"11114", lokero.PostcodeLocker, "11114", "Riihimäki", "Riihimäki", "SMARTPOST", ""},
		// A pickup point keeps its own code as Base but takes its area's
		// names and point.
		{"00107", lokero.PostcodePickupPoint, "00107", "Helsinki", "Helsingfors", "NOUTOPISTE", "00100"},
		{"21422", lokero.PostcodeOther, "21422", "Lieto", "Lieto", "LIETO", ""},
	}
	points, err := postcode.BundledPoints()
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.code, func(t *testing.T) {
			t.Parallel()
			info, err := r.Lookup(tt.code)
			if err != nil {
				t.Fatal(err)
			}
			code := strings.TrimSpace(tt.code)
			if info.Code != code || info.Kind != tt.kind || info.Base != tt.base || info.NameFI != tt.nameFI ||
				info.NameSV != tt.nameSV || info.LabelFI != tt.labelF {
				t.Errorf("Lookup(%q) = %+v, want code %s kind %s base %s names %q/%q label %q",
					tt.code, info, code, tt.kind, tt.base, tt.nameFI, tt.nameSV, tt.labelF)
			}
			if !info.HasPoint {
				t.Errorf("Lookup(%q) has no point", tt.code)
			}
			if tt.pointOf != "" && info.Point != points[tt.pointOf] {
				t.Errorf("Lookup(%q).Point = %v, want the point of %s, %v", tt.code, info.Point, tt.pointOf, points[tt.pointOf])
			}
			if got := r.BaseCode(tt.code); got != tt.base {
				t.Errorf("BaseCode(%q) = %q, want %q", tt.code, got, tt.base)
			}
			if !r.Known(tt.code) {
				t.Errorf("Known(%q) = false", tt.code)
			}
		})
	}
	info, err := r.Lookup("00104")
	if err != nil {
		t.Fatal(err)
	}
	if info.MunicipalityCode != "091" || info.MunicipalityFI != "Helsinki" || info.MunicipalitySV != "Helsingfors" || info.LabelSV != "SMARTPOST" {
		t.Errorf("Lookup(00104) = %+v: wrong municipality or Swedish label", info)
	}
}

func TestLookupErrors(t *testing.T) {
	t.Parallel()
	r := registry(t)
	for _, code := range []string{"00009", "99998", "00109", "86244"} {
		_, err := r.Lookup(code)
		wantError(t, err, lokero.ENOTFOUND, "postcode", "unknown_postcode", code)
		if r.Known(code) {
			t.Errorf("Known(%q) = true", code)
		}
		if got := r.BaseCode(code); got != code {
			t.Errorf("BaseCode(%q) = %q, want the code itself", code, got)
		}
		if p, ok := r.Point(code); ok {
			t.Errorf("Point(%q) = %v, true; want false", code, p)
		}
	}
	for _, code := range []string{"", "0010", "ABCDE", "001000"} {
		_, err := r.Lookup(code)
		_, perr := postcode.Parse(code)
		if err == nil || perr == nil || err.Error() != perr.Error() {
			t.Errorf("Lookup(%q) error = %v, want the error of Parse, %v", code, err, perr)
		}
		wantError(t, err, lokero.EINVALID, "postcode", "malformed")
		if r.Known(code) {
			t.Errorf("Known(%q) = true", code)
		}
	}
}

func TestLockerCode(t *testing.T) {
	t.Parallel()
	r := registry(t)
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"00100", "00104", true},
		{"00104", "00104", true}, // a locker code is its own
		{"00105", "00105", true}, // so is a PAKETTIAUTOMAATTI code
		{" 04400", "04404", true},
		{"54915", "54914", true}, // an area not ending in 0 whose locker has no other area
		{"00107", "", false},     // a pickup point is no building
		{"86240", "", false},     // an area without a locker code
		{"01300", "01304", true}, // has both a …4 and a …5 locker code
		{"00101", "", false},     // a PO box is no building
		{"00102", "", false},     // 00104 belongs to 00100, not to EDUSKUNTA
		{"68555", "", false},     // 68554 is Öja's (Kokkola), not Bosund's (Luoto)
		{"99999", "", false},     // 99994 is Nuorgam's, not Korvatunturi's
		{"86244", "", false},     // not in the registry
		{"00109", "", false},     // unknown building code
		{"0010", "", false},      // malformed
		{"", "", false},          // empty
		{"11110", "", false},     // 11114 exists, but 11110 does not
		{"99990", "99994", true},
	}
	for _, tt := range tests {
		got, ok := r.LockerCode(tt.in)
		if got != tt.want || ok != tt.ok {
			t.Errorf("LockerCode(%q) = %q, %v; want %q, %v", tt.in, got, ok, tt.want, tt.ok)
		}
		if ok {
			if info, err := r.Lookup(got); err != nil || info.Kind != lokero.PostcodeLocker {
				t.Errorf("LockerCode(%q) = %q, which is %+v, %v: not a locker code", tt.in, got, info, err)
			}
		}
	}
	// Every area code's locker code, when it has one, belongs to it.
	n := 0
	for _, info := range r.All() {
		if info.Kind != lokero.PostcodeArea || !strings.HasSuffix(info.Code, "0") {
			continue
		}
		if locker, ok := r.LockerCode(info.Code); ok {
			n++
			if base := r.BaseCode(locker); base != info.Code {
				t.Errorf("LockerCode(%s) = %s whose base is %s", info.Code, locker, base)
			}
		}
	}
	if n < 800 {
		t.Errorf("only %d area codes have a locker code, want the ~880 SMARTPOST codes", n)
	}
}

func TestPoint(t *testing.T) {
	t.Parallel()
	r := registry(t)
	// A locker code's point is its base's point.
	for _, tt := range []struct{ locker, base string }{{"00104", "00100"}, {"01305", "01300"}, {"04404", "04400"}} {
		lp, lok := r.Point(tt.locker)
		bp, bok := r.Point(tt.base)
		if !lok || !bok || lp != bp {
			t.Errorf("Point(%s) = %v, %v; Point(%s) = %v, %v; want equal points", tt.locker, lp, lok, tt.base, bp, bok)
		}
	}
	// 60250 Seinäjoki has no GeoNames point: it gets the mean of the points
	// of Seinäjoki's codes.
	p, ok := r.Point("60250")
	if !ok || math.Abs(p.Lat-62.8) > 0.3 || math.Abs(p.Lon-22.8) > 0.5 {
		t.Errorf("Point(60250) = %v, %v; want near Seinäjoki (62.8, 22.8)", p, ok)
	}
	// Without points nothing has one.
	bare := postcode.NewRegistry([]lokero.Postcode{{Code: "00100", TypeCode: "1", NameFI: "HELSINKI", MunicipalityCode: "091"}}, nil)
	if p, ok := bare.Point("00100"); ok {
		t.Errorf("Point without points = %v, true", p)
	}
	// Every bundled code has a point, from GeoNames, its area or its
	// municipality.
	for _, info := range r.All() {
		if !info.HasPoint {
			t.Errorf("%s (%s, %s) has no point", info.Code, info.Kind, info.MunicipalityFI)
		}
	}
}

func TestNewRegistry(t *testing.T) {
	t.Parallel()
	codes := []lokero.Postcode{
		{Code: "00104", TypeCode: "6", NameFI: "SMARTPOST", NameSV: "SMARTPOST", MunicipalityCode: "091", MunicipalityFI: "Helsinki", MunicipalitySV: "Helsingfors"},
		{Code: "00100", Kind: lokero.PostcodeArea, NameFI: "HELSINKI", NameSV: "HELSINGFORS", MunicipalityCode: "091"},
		{Code: "00100", TypeCode: "2", NameFI: "DUPLICATE", MunicipalityCode: "091"}, // the first counts
		{Code: "0010", TypeCode: "1", NameFI: "MALFORMED"},                           // skipped
		{Code: "00120", TypeCode: "1", NameFI: "HELSINKI", MunicipalityCode: "091"},  // no Swedish name
		{Code: "00130", TypeCode: "1", NameFI: "HELSINKI", MunicipalityCode: "091"},
	}
	points := map[string]postcode.Point{"00100": {60, 24}, "00120": {61, 26}}
	r := postcode.NewRegistry(codes, points)
	if r.Len() != 4 {
		t.Errorf("Len = %d, want 4", r.Len())
	}
	all := r.All()
	var got []string
	for _, info := range all {
		got = append(got, info.Code)
	}
	if want := []string{"00100", "00104", "00120", "00130"}; !slices.Equal(got, want) {
		t.Errorf("All codes = %v, want %v", got, want)
	}
	all[0].NameFI = "CHANGED"
	if info, _ := r.Lookup("00100"); info.NameFI != "Helsinki" || info.Kind != lokero.PostcodeArea {
		t.Errorf("Lookup(00100) = %+v after changing All's result: want the first record, unchanged", info)
	}
	if info, _ := r.Lookup("00104"); info.Kind != lokero.PostcodeLocker || info.Base != "00100" || info.Point != (postcode.Point{60, 24}) {
		t.Errorf("Lookup(00104) = %+v, want a locker based on 00100 at its point", info)
	}
	if info, _ := r.Lookup("00120"); info.NameSV != "Helsinki" {
		t.Errorf("Lookup(00120).NameSV = %q, want the Finnish name", info.NameSV)
	}
	// 00130 has no point of its own: the mean of Helsinki's points.
	if p, ok := r.Point("00130"); !ok || p != (postcode.Point{60.5, 25}) {
		t.Errorf("Point(00130) = %v, %v; want the municipality mean {60.5 25}", p, ok)
	}
}

func TestRegistryAll(t *testing.T) {
	t.Parallel()
	r := registry(t)
	all := r.All()
	if len(all) != 5033 || r.Len() != 5033 {
		t.Fatalf("All has %d, Len %d; want 5,033", len(all), r.Len())
	}
	if !slices.IsSortedFunc(all, func(a, b postcode.Info) int { return strings.Compare(a.Code, b.Code) }) {
		t.Error("All is not sorted by code")
	}
	for _, info := range all {
		if info.NameFI == "" || info.NameSV == "" || info.NameFI == strings.ToUpper(info.NameFI) && len(info.NameFI) > 3 {
			t.Errorf("%s: display names %q/%q are not title-cased names", info.Code, info.NameFI, info.NameSV)
		}
		if info.Kind == lokero.PostcodeLocker && info.NameFI == "Smartpost" {
			t.Errorf("%s: a locker code named after the locker, not its area", info.Code)
		}
	}
}

func BenchmarkLookup(b *testing.B) {
	r := registry(b)
	codes := []string{"00100", "00104", "99999", "00009", " 33100 "}
	for i := 0; b.Loop(); i++ {
		_, _ = r.Lookup(codes[i%len(codes)])
	}
}
