package postcode_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/postcode"
)

// pcfWidths are the widths of the fields of a PCF record after "PONOT".
var pcfWidths = []int{8, 5, 30, 30, 12, 12, 8, 1, 5, 30, 30, 3, 20, 20, 1}

// pcfLine builds a PCF line from Latin-1 field values (one byte a
// character), each padded with spaces to its width.
func pcfLine(t *testing.T, fields ...string) string {
	t.Helper()
	if len(fields) != len(pcfWidths) {
		t.Fatalf("pcfLine: %d fields, want %d", len(fields), len(pcfWidths))
	}
	var b strings.Builder
	b.WriteString("PONOT")
	for i, f := range fields {
		if len(f) > pcfWidths[i] {
			t.Fatalf("pcfLine: field %d %q is wider than %d", i, f, pcfWidths[i])
		}
		b.WriteString(f + strings.Repeat(" ", pcfWidths[i]-len(f)))
	}
	return b.String()
}

// latin1 encodes a UTF-8 string as Latin-1.
func latin1(t *testing.T, s string) string {
	t.Helper()
	b := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xff {
			t.Fatalf("latin1: %q has %q, not in Latin-1", s, r)
		}
		b = append(b, byte(r))
	}
	return string(b)
}

// recordLine builds the PCF line of a record.
func recordLine(t *testing.T, p lokero.Postcode) string {
	t.Helper()
	return pcfLine(t, latin1(t, p.FileDate), p.Code, latin1(t, p.NameFI), latin1(t, p.NameSV), latin1(t, p.AbbrFI), latin1(t, p.AbbrSV),
		p.ValidFrom, p.TypeCode, p.AreaCode, latin1(t, p.AreaFI), latin1(t, p.AreaSV), p.MunicipalityCode,
		latin1(t, p.MunicipalityFI), latin1(t, p.MunicipalitySV), p.LanguageRatioCode)
}

func TestParsePCF(t *testing.T) {
	t.Parallel()
	// Latin-1: Ä = \xc4, ä = \xe4, Ö = \xd6, ö = \xf6, Å = \xc5, å = \xe5.
	jarvenpaa := pcfLine(t, "20240413", "04400", "J\xc4RVENP\xc4\xc4", "TR\xc4SK\xc4NDA", "", "", "19970107", "1",
		"FI1B1", "Helsinki-Uusimaa", "Helsingfors-Nyland", "186", "J\xe4rvenp\xe4\xe4", "Tr\xe4sk\xe4nda", "1")
	locker := pcfLine(t, "20240413", "04404", "SMARTPOST", "SMARTPOST", "", "", "20181024", "6",
		"FI1B1", "Helsinki-Uusimaa", "Helsingfors-Nyland", "186", "J\xe4rvenp\xe4\xe4", "Tr\xe4sk\xe4nda", "1")
	soderkulla := pcfLine(t, "20240413", "01150", "S\xd6DERKULLA", "S\xd6DERKULLA", "", "", "19881101", "1",
		"FI1B1", "Helsinki-Uusimaa", "Helsingfors-Nyland", "753", "Sipoo", "Sibbo", "2")
	// The last line stops short: no language ratio code, no padding.
	turku := strings.TrimRight(pcfLine(t, "20240413", "20100", "TURKU", "\xc5BO", "TKU", "\xc5BO", "19970925", "1",
		"FI1C1", "Varsinais-Suomi", "Egentliga Finland", "853", "Turku", "\xc5bo", " "), " ")
	file := jarvenpaa + "\r\n" + locker + "\r\n\r\n   \n" + soderkulla + "\n" + turku

	want := []lokero.Postcode{
		{Code: "04400", Kind: lokero.PostcodeArea, TypeCode: "1", NameFI: "JÄRVENPÄÄ", NameSV: "TRÄSKÄNDA", ValidFrom: "19970107",
			AreaCode: "FI1B1", AreaFI: "Helsinki-Uusimaa", AreaSV: "Helsingfors-Nyland", MunicipalityCode: "186",
			MunicipalityFI: "Järvenpää", MunicipalitySV: "Träskända", LanguageRatioCode: "1", FileDate: "20240413"},
		{Code: "04404", Kind: lokero.PostcodeLocker, TypeCode: "6", NameFI: "SMARTPOST", NameSV: "SMARTPOST", ValidFrom: "20181024",
			AreaCode: "FI1B1", AreaFI: "Helsinki-Uusimaa", AreaSV: "Helsingfors-Nyland", MunicipalityCode: "186",
			MunicipalityFI: "Järvenpää", MunicipalitySV: "Träskända", LanguageRatioCode: "1", FileDate: "20240413"},
		{Code: "01150", Kind: lokero.PostcodeArea, TypeCode: "1", NameFI: "SÖDERKULLA", NameSV: "SÖDERKULLA", ValidFrom: "19881101",
			AreaCode: "FI1B1", AreaFI: "Helsinki-Uusimaa", AreaSV: "Helsingfors-Nyland", MunicipalityCode: "753",
			MunicipalityFI: "Sipoo", MunicipalitySV: "Sibbo", LanguageRatioCode: "2", FileDate: "20240413"},
		{Code: "20100", Kind: lokero.PostcodeArea, TypeCode: "1", NameFI: "TURKU", NameSV: "ÅBO", AbbrFI: "TKU", AbbrSV: "ÅBO", ValidFrom: "19970925",
			AreaCode: "FI1C1", AreaFI: "Varsinais-Suomi", AreaSV: "Egentliga Finland", MunicipalityCode: "853",
			MunicipalityFI: "Turku", MunicipalitySV: "Åbo", FileDate: "20240413"},
	}
	for _, tt := range []struct {
		name  string
		input string
	}{
		{"latin1", file},
		{"utf8", utf8Of(file)}, // a file already converted to UTF-8
		{"one byte at a time", file},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := strings.NewReader(tt.input)
			var got []lokero.Postcode
			var err error
			if tt.name == "one byte at a time" {
				got, err = postcode.ParsePCF(iotest.OneByteReader(r))
			} else {
				got, err = postcode.ParsePCF(r)
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("ParsePCF: %d records, want %d: %+v", len(got), len(want), got)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("record %d =\n%+v, want\n%+v", i+1, got[i], want[i])
				}
				if !utf8.ValidString(got[i].NameFI + got[i].NameSV + got[i].MunicipalityFI + got[i].MunicipalitySV) {
					t.Errorf("record %d has invalid UTF-8", i+1)
				}
			}
		})
	}
}

// utf8Of converts Latin-1 text to UTF-8.
func utf8Of(latin1 string) string {
	rs := make([]rune, len(latin1))
	for i := range len(latin1) {
		rs[i] = rune(latin1[i])
	}
	return string(rs)
}

func TestParsePCFErrors(t *testing.T) {
	t.Parallel()
	good := func(code, typeCode string) string {
		return pcfLine(t, "20240413", code, "HELSINKI", "HELSINGFORS", "", "", "19860101", typeCode,
			"FI1B1", "Helsinki-Uusimaa", "Helsingfors-Nyland", "091", "Helsinki", "Helsingfors", "2")
	}
	ok := good("00100", "1")
	tests := []struct {
		name, input        string
		field, reason, msg string
		more               []string
	}{
		{"empty", "", "file", "empty", "no records", nil},
		{"blank lines only", "\n \r\n\n", "file", "empty", "no records", nil},
		{"not PONOT", ok + "\nKATU" + ok[4:] + "\n", "record", "malformed", "line 2", []string{"PONOT"}},
		{"bad type code", ok + "\n\n" + good("00104", "9") + "\n", "type_code", "malformed", "line 3", []string{`"9"`}},
		{"bad postcode", good("0010A", "1"), "postcode", "malformed", "line 1", []string{"0010A"}},
		{"duplicate", ok + "\r\n" + ok + "\r\n", "postcode", "duplicate", "line 2", []string{"00100", "line 1"}},
		{"too long", ok + "XYZ\n", "record", "malformed", "line 1", []string{"after the last field"}},
		// A line cut after the names has no type code.
		{"truncated", ok + "\n" + good("00120", "1")[:80] + "\n", "type_code", "malformed", "line 2", []string{`""`}},
		{"bad date", strings.Replace(ok, "19860101", "19861301", 1), "valid_from", "malformed", "line 1", []string{"19861301"}},
		{"bad municipal code", strings.Replace(ok, "091Helsinki", "09XHelsinki", 1), "municipal_code", "malformed", "line 1", []string{"09X"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := postcode.ParsePCF(strings.NewReader(tt.input))
			if err == nil {
				t.Fatalf("ParsePCF = %+v, want an error", got)
			}
			wantError(t, err, lokero.EINVALID, tt.field, tt.reason, append(tt.more, tt.msg)...)
		})
	}
}

// jsonRecord returns a valid JSON record of the postal code file, changed by
// the fields in change ("-" deletes a field).
func jsonRecord(change map[string]any) map[string]any {
	rec := map[string]any{
		"date": "20240413", "postcode": "00100", "postcode_fi_name": "HELSINKI", "postcode_sv_name": "HELSINGFORS",
		"postcode_abbr_fi": "HKI", "postcode_abbr_sv": "HFORS", "valid_from": "19860101", "type_code": "1",
		"ad_area_code": "FI1B1", "ad_area_fi": "Helsinki-Uusimaa", "ad_area_sv": "Helsingfors-Nyland",
		"municipal_code": "091", "municipal_name_fi": "Helsinki", "municipal_name_sv": "Helsingfors",
		"municipal_language_ratio_code": "2",
	}
	for k, v := range change {
		if v == "-" {
			delete(rec, k)
		} else {
			rec[k] = v
		}
	}
	return rec
}

// jsonFile marshals records to JSON.
func jsonFile(t *testing.T, records ...map[string]any) string {
	t.Helper()
	b, err := json.Marshal(records)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestParseJSON(t *testing.T) {
	t.Parallel()
	in := jsonFile(t, jsonRecord(nil), jsonRecord(map[string]any{"postcode": "00104", "postcode_fi_name": " SMARTPOST ", "type_code": "6", "extra": 1}))
	got, err := postcode.ParseJSON(strings.NewReader("\xef\xbb\xbf  " + in + "\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := []lokero.Postcode{
		{Code: "00100", Kind: lokero.PostcodeArea, TypeCode: "1", NameFI: "HELSINKI", NameSV: "HELSINGFORS", AbbrFI: "HKI", AbbrSV: "HFORS",
			ValidFrom: "19860101", AreaCode: "FI1B1", AreaFI: "Helsinki-Uusimaa", AreaSV: "Helsingfors-Nyland", MunicipalityCode: "091",
			MunicipalityFI: "Helsinki", MunicipalitySV: "Helsingfors", LanguageRatioCode: "2", FileDate: "20240413"},
		{Code: "00104", Kind: lokero.PostcodeLocker, TypeCode: "6", NameFI: "SMARTPOST", NameSV: "HELSINGFORS", AbbrFI: "HKI", AbbrSV: "HFORS",
			ValidFrom: "19860101", AreaCode: "FI1B1", AreaFI: "Helsinki-Uusimaa", AreaSV: "Helsingfors-Nyland", MunicipalityCode: "091",
			MunicipalityFI: "Helsinki", MunicipalitySV: "Helsingfors", LanguageRatioCode: "2", FileDate: "20240413"},
	}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("ParseJSON =\n%+v, want\n%+v", got, want)
	}
}

func TestParseJSONErrors(t *testing.T) {
	t.Parallel()
	ok := jsonRecord(nil)
	tests := []struct {
		name, input        string
		field, reason, msg string
	}{
		{"empty file", "", "file", "empty", "no records"},
		{"white space", " \n\t", "file", "empty", "no records"},
		{"empty array", "[]", "file", "empty", "no records"},
		{"object", `{"postcode": "00100"}`, "file", "malformed", "array"},
		{"syntax", `[{"postcode": "00100",`, "file", "malformed", "record 1"},
		{"unclosed", jsonFile(t, ok)[:len(jsonFile(t, ok))-1], "file", "malformed", "after record 1"},
		{"trailing data", jsonFile(t, ok) + " []", "file", "malformed", "after the array"},
		{"not an object", `[1]`, "file", "malformed", "record 1: expected an object"},
		{"malformed postcode", jsonFile(t, ok, jsonRecord(map[string]any{"postcode": "0010"})), "postcode", "malformed", "record 2"},
		{"missing postcode", jsonFile(t, jsonRecord(map[string]any{"postcode": "-"})), "postcode", "malformed", "record 1"},
		{"postcode a number", jsonFile(t, ok, jsonRecord(map[string]any{"postcode": 100})), "postcode", "malformed", "record 2: postcode: must be a string"},
		{"unknown type code", jsonFile(t, ok, jsonRecord(map[string]any{"postcode": "00120", "type_code": "8"})), "type_code", "malformed", "record 2"},
		{"missing type code", jsonFile(t, jsonRecord(map[string]any{"type_code": "-"})), "type_code", "malformed", "record 1"},
		{"no Finnish name", jsonFile(t, jsonRecord(map[string]any{"postcode_fi_name": "  "})), "postcode_fi_name", "required", "record 1"},
		{"bad municipal code", jsonFile(t, jsonRecord(map[string]any{"municipal_code": "91"})), "municipal_code", "malformed", "record 1"},
		{"bad valid_from", jsonFile(t, jsonRecord(map[string]any{"valid_from": "1986-01-01"})), "valid_from", "malformed", "record 1"},
		{"bad date", jsonFile(t, jsonRecord(map[string]any{"date": "20240230"})), "date", "malformed", "record 1"},
		{"duplicate", jsonFile(t, ok, jsonRecord(map[string]any{"postcode": "00120"}), ok), "postcode", "duplicate", "record 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := postcode.ParseJSON(strings.NewReader(tt.input))
			if err == nil {
				t.Fatalf("ParseJSON = %+v, want an error", got)
			}
			wantError(t, err, lokero.EINVALID, tt.field, tt.reason, tt.msg)
		})
	}
}

func TestParseFile(t *testing.T) {
	t.Parallel()
	pcf := pcfLine(t, "20240413", "00100", "HELSINKI", "HELSINGFORS", "", "", "19860101", "1",
		"FI1B1", "Helsinki-Uusimaa", "Helsingfors-Nyland", "091", "Helsinki", "Helsingfors", "2")
	js := jsonFile(t, jsonRecord(nil))
	for _, tt := range []struct{ name, input string }{
		{"JSON", js},
		{"JSON after space and BOM", "\xef\xbb\xbf\n\t  " + js},
		{"JSON after a big blank", strings.Repeat(" ", 200_000) + js},
		{"PCF", pcf + "\r\n"},
		{"PCF after blank lines", "\n\r\n" + pcf},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := postcode.ParseFile(strings.NewReader(tt.input))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != 1 || got[0].Code != "00100" || got[0].NameSV != "HELSINGFORS" || got[0].Kind != lokero.PostcodeArea {
				t.Errorf("ParseFile = %+v, want 00100 HELSINKI", got)
			}
		})
	}
	for _, tt := range []struct{ name, input, field, reason, msg string }{
		{"empty", "", "file", "empty", "no records"},
		{"blank", " \n \n", "file", "empty", "no records"},
		{"CSV", "postcode;name\n00100;HELSINKI\n", "file", "unknown_format", `"postcode;name"`},
		{"object", `{"postcode":"00100"}`, "file", "unknown_format", "PCF"},
		// Line numbers count the blank lines ParseFile looked past.
		{"PCF error", "\n\n" + strings.Replace(pcf, "00100", "0010X", 1), "postcode", "malformed", "line 3"},
		{"JSON error", "[" + `{"postcode": 1}` + "]", "postcode", "malformed", "record 1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := postcode.ParseFile(strings.NewReader(tt.input))
			wantError(t, err, lokero.EINVALID, tt.field, tt.reason, tt.msg)
		})
	}
}

// TestPCFRoundTrip writes the bundled records as a PCF file (Latin-1) and
// reads them back.
func TestPCFRoundTrip(t *testing.T) {
	t.Parallel()
	codes, err := postcode.Bundled()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for i, p := range codes {
		line := recordLine(t, p)
		if i == len(codes)-1 {
			line = strings.TrimRight(line, " ") // a short last field
		}
		b.WriteString(line + "\r\n")
	}
	if utf8.ValidString(b.String()) {
		t.Fatal("the PCF file is valid UTF-8: the Latin-1 encoding did not happen")
	}
	got, err := postcode.ParsePCF(strings.NewReader(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(codes) {
		t.Fatalf("round trip: %d records, want %d", len(got), len(codes))
	}
	for i := range codes {
		if got[i] != codes[i] {
			t.Fatalf("round trip record %d =\n%+v, want\n%+v", i+1, got[i], codes[i])
		}
	}
	// ParseFile picks the same parser.
	again, err := postcode.ParseFile(strings.NewReader(b.String()))
	if err != nil || len(again) != len(codes) {
		t.Fatalf("ParseFile of the PCF: %d records, %v", len(again), err)
	}
}

func TestParseGeoNames(t *testing.T) {
	t.Parallel()
	good := "FI\t00100\tHelsinki\tUusimaa\t01\tHelsinki\t011\tHelsinki\t091\t60.1714\t24.9316\t6\r\n" +
		"\n" +
		"AX\t22100\tMariehamn\tMariehamns stad\t211\tMariehamn\t478\t\t\t60.1007\t19.9438\t\n"
	got, err := postcode.ParseGeoNames(strings.NewReader(good))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]postcode.Point{"00100": {60.1714, 24.9316}, "22100": {60.1007, 19.9438}}
	if !maps.Equal(got, want) {
		t.Errorf("ParseGeoNames = %v, want %v", got, want)
	}
	line := func(code, lat string) string {
		return fmt.Sprintf("FI\t%s\tHelsinki\tUusimaa\t01\tHelsinki\t011\tHelsinki\t091\t%s\t24.9316\t6\n", code, lat)
	}
	for _, tt := range []struct{ name, input, field, reason, msg string }{
		{"empty", "", "file", "empty", "no records"},
		{"few columns", line("00100", "60") + "FI\t00120\tHelsinki\n", "record", "malformed", "line 2"},
		{"bad code", line("0010", "60"), "postcode", "malformed", "line 1"},
		{"bad latitude", line("00100", "sixty"), "lat", "malformed", "line 1"},
		{"latitude out of range", line("00100", "95"), "lat", "malformed", "line 1"},
		{"latitude NaN", line("00100", "NaN"), "lat", "malformed", "line 1"},
		{"longitude NaN", "FI\t00100\tHelsinki\tUusimaa\t01\tHelsinki\t011\tHelsinki\t091\t60.1714\tnan\t6\n", "lat", "malformed", "line 1"},
		{"duplicate", line("00100", "60") + line("00100", "61"), "postcode", "duplicate", "line 2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := postcode.ParseGeoNames(strings.NewReader(tt.input))
			wantError(t, err, lokero.EINVALID, tt.field, tt.reason, tt.msg)
		})
	}
}
