package service

import (
	"strings"
	"testing"
	"time"

	"github.com/lokero/lokero"
	"github.com/lokero/lokero/calendar"
	"github.com/lokero/lokero/notify/kannel"
)

// TestGSM7SegmentsAsKannel: the service decides whether the QR link fits
// an SMS by the gateway's own count (notify/kannel.Segments, which Kannel
// itself checks in notify/kannel's end-to-end test), escaped characters
// at the parts' boundaries included.
func TestGSM7SegmentsAsKannel(t *testing.T) {
	t.Parallel()
	texts := []string{
		"",
		"Noutokoodi 12345678901",
		strings.Repeat("a", 160),
		strings.Repeat("a", 161),
		strings.Repeat("€", 80),
		strings.Repeat("€", 81),
		strings.Repeat("a", 152) + "€" + strings.Repeat("a", 100), // the escape would end part one
		strings.Repeat("a", 151) + "€" + strings.Repeat("a", 154),
		strings.Repeat("a", 152) + "€" + strings.Repeat("a", 152),
		strings.Repeat("a", 305) + "[",
		strings.Repeat("€", 153),
		strings.Repeat("ä", 306),
		strings.Repeat("ä", 307),
		"Paketti odottaa: Smartpost Å",
		"emoji 📦 goes UCS-2",
	}
	for _, text := range texts {
		coding, want := kannel.Segments(text)
		got, ok := gsm7Segments(text)
		if ok != (coding == kannel.CodingGSM7) {
			t.Errorf("%d runes: GSM-7 %v here, %s at the gateway", len([]rune(text)), ok, coding)
			continue
		}
		if ok && got != want {
			t.Errorf("%d runes (%.20q…): %d segments here, %d at the gateway", len([]rune(text)), text, got, want)
		}
	}
}

// TestEverySMSFitsTwoSegments: every notice a recipient may get by SMS
// goes in two GSM-7 segments, as notify/kannel counts them with the
// longest code filled in: at a post office with a week of hours, at a
// locker with a long name and street, with a character of a name that
// GSM lacks, with a rotated code, in every language. Kannel refuses a
// longer text for good, and a recipient who gave only a phone would never
// get the code.
func TestEverySMSFitsTwoSegments(t *testing.T) {
	t.Parallel()
	long := &lokero.Location{ID: "SP-LONG", Type: lokero.TypeSmartpost,
		Name:   "Smartpost Kauppakeskus Itäkeskuksen pääsisäänkäynnin vieressä, 2. kerros, Prisman edessä",
		Street: "Itäkatu 1-7 (kauppakeskuksen pohjoispuolen huoltopiha, lastauslaiturin vieressä)", StreetSV: "Östra gatan 1-7, norra sidans servicegård",
		Postcode: "00930", City: "Helsinki"}
	quoted := &lokero.Location{ID: "SP-Q", Type: lokero.TypeSmartpost, Name: "Smartpost K‑Market Mari’s – “Šiauliai”",
		Street: "Kauppatie 3", Postcode: "00100", City: "Helsinki"}
	deadline := time.Date(2026, time.December, 29, 0, 0, 0, 0, calendar.Helsinki)
	now := time.Date(2026, time.December, 21, 12, 0, 0, 0, calendar.Helsinki)
	code := strings.Repeat("7", 11)
	for _, loc := range []*lokero.Location{postOffice(), long, quoted} {
		for _, lang := range []string{"fi", "sv", "en"} {
			for _, changed := range []bool{false, true} {
				sh := &lokero.Shipment{ID: "shp_1", TrackingCode: "JJ123456785FI", StorageDeadline: deadline,
					Recipient: lokero.Party{Phone: "+358401234567", Email: "a@example.fi", Language: lang}}
				texts := map[string]string{}
				for _, m := range notices(loc, sh, 1, len(code), deadline, now, changed) {
					texts[m.Channel] = m.Text
				}
				texts["reminder"] = smsText(reminderText(loc, sh, "28.12.2026"))
				for kind, text := range texts {
					if kind == "email" {
						continue
					}
					sent := strings.ReplaceAll(text, lokero.CodePlaceholder, code)
					if coding, n := kannel.Segments(sent); coding != kannel.CodingGSM7 || n > kannel.MaxSegments {
						t.Errorf("%s %s %s (changed %v): %d %s segments:\n%s", loc.ID, lang, kind, changed, n, coding, sent)
					}
				}
				if loc.Type.IsOutlet() && !strings.Contains(texts["sms"], "21.12.") {
					t.Errorf("%s %s: the SMS tells no hours of today: %s", loc.ID, lang, texts["sms"])
				}
				if loc.Type.IsOutlet() && !strings.Contains(texts["email"], "27.12.") {
					t.Errorf("%s %s: the e-mail's text lacks the week's hours: %s", loc.ID, lang, texts["email"])
				}
				if lang == "sv" && loc.StreetSV != "" && !strings.Contains(texts["sms"], clip(loc.StreetSV, maxStreetText)) {
					t.Errorf("%s sv: the SMS lacks the Swedish street: %s", loc.ID, texts["sms"])
				}
			}
		}
	}
}

func TestSMSText(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Mari’s – “Kauppa” …":     `Mari's - "Kauppa" ...`,
		"Šiauliai, Łódź":          "Siauliai, ?odz",
		"Åbo, Mäntsälä, Töölö €5": "Åbo, Mäntsälä, Töölö €5",
		"9.00–18.00":              "9.00-18.00",
		"漢字 📦":                    "?? ?",
	} {
		if got := smsText(in); got != want {
			t.Errorf("smsText(%q) = %q; want %q", in, got, want)
		}
	}
}
