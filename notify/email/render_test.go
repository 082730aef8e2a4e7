package email

import (
	"strings"
	"testing"
	"time"

	"github.com/lokero/lokero/notify"
)

// counterArrival is an arrival at a post office counter, with opening
// hours, in lang.
func counterArrival(lang string) notify.Message {
	m := arrival(77)
	m.Language = lang
	m.Parcel.Code = "7319"
	m.Parcel.CODCents = 1990
	m.Parcel.Place = notify.Place{ID: "PO-1", Type: "POSTOFFICE", Counter: true, Name: "Posti Kamppi",
		Street: "Urho Kekkosen katu 1", Postcode: "00100", City: "Helsinki",
		Hours: []string{"ma 8.12. 9.00–18.00", "ti 9.12. 9.00–18.00", "su 14.12. suljettu"}}
	return m
}

func TestRenderLanguages(t *testing.T) {
	t.Parallel()
	lockerWords := map[string][]string{
		"fi": {"Pakettisi on noudettavissa", "pakettiautomaatista", "Avauskoodi", "Noutopaikka", "ympäri vuorokauden", "Nouda paketti viimeistään 14.12.2025", "Postiennakko: 49,90\u00a0€", "maksupäätteellä", "Seuraa pakettiasi"},
		"sv": {"Ditt paket kan hämtas", "i paketautomaten", "Öppningskod", "Avhämtningsställe", "dygnet runt", "Hämta paketet senast 14.12.2025", "Postförskott: 49,90\u00a0€", "betalterminal", "Följ ditt paket"},
		"en": {"Your parcel is ready for pickup", "at the parcel locker", "Opening code", "Pickup point", "24 hours a day", "Collect the parcel by 14.12.2025", "Cash on delivery: €49.90", "payment terminal", "Track your parcel"},
	}
	counterWords := map[string][]string{
		"fi": {"postista", "Noutokoodi", "henkilöllisyystodistus", "Aukioloajat", "su 14.12. suljettu", "Postiennakko: 19,90\u00a0€. Maksa postiennakko, kun noudat paketin."},
		"sv": {"på postkontoret", "Avhämtningskod", "legitimation", "Öppettider", "su 14.12. suljettu", "Postförskott: 19,90\u00a0€. Betala postförskottet när du hämtar paketet."},
		"en": {"at the post office", "Pickup code", "Bring an ID", "Opening hours", "su 14.12. suljettu", "Cash on delivery: €19.90. Pay when you collect the parcel."},
	}
	reminderWords := map[string][]string{
		"fi": {"Muistutus: nouda pakettisi viimeistään 14.12.2025", "odottaa vielä noutoa", "saapumisilmoituksessa"},
		"sv": {"Påminnelse: hämta ditt paket senast 14.12.2025", "väntar fortfarande", "ankomstavin"},
		"en": {"Reminder: collect your parcel by 14.12.2025", "still waiting", "notice of arrival"},
	}
	tests := []struct {
		name, lang, want string // want: the language of the words expected
		msg              func(lang string) notify.Message
		words            map[string][]string
	}{
		{"locker fi", "fi", "fi", func(l string) notify.Message { m := arrival(1); m.Language = l; return m }, lockerWords},
		{"locker sv", "sv", "sv", func(l string) notify.Message { m := arrival(1); m.Language = l; return m }, lockerWords},
		{"locker en", "en", "en", func(l string) notify.Message { m := arrival(1); m.Language = l; return m }, lockerWords},
		{"locker de falls back to en", "de", "en", func(l string) notify.Message { m := arrival(1); m.Language = l; return m }, lockerWords},
		{"locker no language is en", "", "en", func(l string) notify.Message { m := arrival(1); m.Language = l; return m }, lockerWords},
		{"counter fi", "fi", "fi", counterArrival, counterWords},
		{"counter sv", "sv", "sv", counterArrival, counterWords},
		{"counter en", "en", "en", counterArrival, counterWords},
		{"reminder fi", "fi", "fi", reminder, reminderWords},
		{"reminder sv", "sv", "sv", reminder, reminderWords},
		{"reminder en", "en", "en", reminder, reminderWords},
	}
	// Words only one language uses: a text carries none of another's.
	markers := map[string][]string{
		"fi": {"Pakettisi", "Nouda", "Seuraa pakettiasi", "Tämä on automaattinen viesti"},
		"sv": {"Ditt paket", "Hämta", "Följ ditt paket", "Det här är ett automatiskt meddelande"},
		"en": {"Your parcel", "Collect", "Track your parcel", "This is an automated message"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			m := tc.msg(tc.lang)
			subject, text, html, err := Render(m)
			if err != nil {
				t.Fatal(err)
			}
			all := subject + "\n" + text
			for _, w := range tc.words[tc.want] {
				if !strings.Contains(all, w) {
					t.Errorf("subject or text lacks %q:\n%s\n%s", w, subject, text)
				}
			}
			for lang, words := range markers {
				for _, w := range words {
					if in := strings.Contains(all, w) && strings.Contains(html, w); in != (lang == tc.want) {
						t.Errorf("%s message: %s words %q in text and HTML: %v", tc.want, lang, w, in)
					}
				}
			}
			// The HTML part tells what the text part does.
			for _, w := range []string{m.Parcel.Place.Street, "14.12.2025", m.Parcel.TrackingURL} {
				if !strings.Contains(html, w) {
					t.Errorf("HTML lacks %q", w)
				}
			}
			if code := m.Parcel.Code; (m.Kind == notify.KindArrival) != strings.Contains(html, code) {
				t.Errorf("HTML of a %s shows the code %s: %v", m.Kind, code, strings.Contains(html, code))
			}
			if !strings.Contains(html, `<html lang="`+tc.want+`">`) {
				t.Errorf("HTML is not marked lang=%q", tc.want)
			}
		})
	}
}

// reminder is the reminder of the arrival, in lang; it is given a code,
// which it must not show.
func reminder(lang string) notify.Message {
	m := arrival(2)
	m.Kind, m.Language = notify.KindReminder, lang
	return m
}

func TestRenderTextsDiffer(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{notify.KindArrival, notify.KindReminder} {
		seen := map[string]string{}
		for _, lang := range Languages {
			m := arrival(1)
			m.Kind, m.Language = kind, lang
			subject, text, html, err := Render(m)
			if err != nil {
				t.Fatal(err)
			}
			for _, part := range []string{subject, text, html} {
				if other, dup := seen[part]; dup {
					t.Errorf("%s: %s and %s render the same: %q", kind, other, lang, part)
				}
				seen[part] = lang
			}
		}
	}
}

func TestRenderReminderHasNoCode(t *testing.T) {
	t.Parallel()
	for _, lang := range Languages {
		for _, m := range []notify.Message{reminder(lang), func() notify.Message { m := counterArrival(lang); m.Kind = notify.KindReminder; return m }()} {
			subject, text, html, err := Render(m)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(subject+text+html, m.Parcel.Code) {
				t.Errorf("%s reminder shows the code %s:\n%s\n%s", lang, m.Parcel.Code, subject, text)
			}
			// Short: a reminder's text part is under 12 lines.
			if n := strings.Count(text, "\n"); n > 12 {
				t.Errorf("%s reminder text has %d lines:\n%s", lang, n, text)
			}
		}
	}
}

func TestRenderCOD(t *testing.T) {
	t.Parallel()
	m := arrival(1)
	m.Parcel.CODCents = 0
	_, text, html, _ := Render(m)
	if strings.Contains(text, "Postiennakko") || strings.Contains(html, "Postiennakko") {
		t.Errorf("no COD, yet the notice tells one:\n%s", text)
	}
	m.Parcel.CODCents = 124990
	_, text, html, _ = Render(m)
	for _, part := range []string{text, html} {
		if !strings.Contains(part, "Postiennakko: ") || !strings.Contains(part, "1\u00a0249,90\u00a0€") {
			t.Errorf("COD 1249,90 € not shown:\n%s", part)
		}
	}
}

func TestMoney(t *testing.T) {
	t.Parallel()
	tests := []struct {
		cents          int64
		currency, lang string
		want           string
	}{
		{4990, "EUR", "fi", "49,90\u00a0€"},
		{4990, "", "sv", "49,90\u00a0€"},
		{4990, "eur", "en", "€49.90"},
		{5, "EUR", "fi", "0,05\u00a0€"},
		{100000, "EUR", "fi", "1\u00a0000,00\u00a0€"},
		{123456789, "EUR", "en", "€1,234,567.89"},
		{1500, "SEK", "sv", "15,00\u00a0SEK"},
		{0, "EUR", "fi", ""},
		{-100, "EUR", "fi", ""},
	}
	for _, tc := range tests {
		if got := money(tc.cents, tc.currency, tc.lang); got != tc.want {
			t.Errorf("money(%d, %q, %q) = %q, want %q", tc.cents, tc.currency, tc.lang, got, tc.want)
		}
	}
}

func TestLastDay(t *testing.T) {
	t.Parallel()
	hel, err := time.LoadLocation("Europe/Helsinki")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		deadline time.Time
		want     string
	}{
		// A deadline at midnight ends the day before, winter and summer.
		{time.Date(2025, 12, 15, 0, 0, 0, 0, hel), "14.12.2025"},
		{time.Date(2025, 7, 1, 0, 0, 0, 0, hel), "30.6.2025"},
		// 23:30 UTC on 14.12. is 01:30 on 15.12. in Helsinki.
		{time.Date(2025, 12, 14, 23, 30, 0, 0, time.UTC), "15.12.2025"},
		{time.Date(2026, 1, 1, 0, 1, 0, 0, hel), "1.1.2026"},
		{time.Time{}, ""},
	}
	for _, tc := range tests {
		if got := lastDay(tc.deadline); got != tc.want {
			t.Errorf("lastDay(%v) = %q, want %q", tc.deadline, got, tc.want)
		}
	}
}

func TestRenderEscapesAndSanitises(t *testing.T) {
	t.Parallel()
	m := arrival(1)
	m.Parcel.Place.Name = "Kiosk \"<script>alert(1)</script>\"\r\nBcc: eve@example.fi"
	m.Parcel.Place.Hours = []string{"ma <i>9–18</i>"}
	m.Parcel.TrackingURL = "javascript:alert(1)"
	subject, text, html, err := Render(m)
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(subject, "\r\n") {
		t.Errorf("subject spans lines: %q", subject)
	}
	for _, bad := range []string{"<script>", "<i>", "javascript:"} {
		if strings.Contains(html, bad) {
			t.Errorf("HTML carries %q unescaped:\n%s", bad, html)
		}
	}
	if !strings.Contains(html, "&lt;script&gt;") || !strings.Contains(html, "&lt;i&gt;9–18&lt;/i&gt;") {
		t.Errorf("HTML does not show the escaped name and hours:\n%s", html)
	}
	if !strings.Contains(text, "<script>alert(1)</script>") {
		t.Errorf("the text part should carry the name as it is:\n%s", text)
	}
}

func TestRenderOtherKinds(t *testing.T) {
	t.Parallel()
	for _, lang := range []string{"fi", "sv", "en", "et"} {
		m := arrival(1)
		m.Kind, m.Language, m.Text = "rerouted", lang, "Line one.\nLine two."
		subject, text, html, err := Render(m)
		if err != nil {
			t.Fatal(err)
		}
		if html != "" {
			t.Errorf("%s: a %s message has an HTML part", lang, m.Kind)
		}
		if !strings.HasPrefix(text, "Line one.\nLine two.\n") || !strings.Contains(text, m.Parcel.TrackingURL) {
			t.Errorf("%s: text %q: want m.Text, then the link", lang, text)
		}
		if !strings.Contains(subject, m.Parcel.TrackingCode) {
			t.Errorf("%s: subject %q lacks the tracking code", lang, subject)
		}
	}
}

// TestRenderWebhookDisabled: the e-mail to a webhook's contact is about
// the webhook, not a parcel.
func TestRenderWebhookDisabled(t *testing.T) {
	t.Parallel()
	for lang, want := range map[string]string{"en": "Your webhook was disabled", "fi": "Webhookisi poistettiin käytöstä", "sv": "Din webhook har stängts av"} {
		m := notify.Message{Kind: "webhook_disabled", Language: lang, Text: "lokero stopped sending events to your webhook wh_1."}
		subject, text, _, err := Render(m)
		if err != nil {
			t.Fatal(err)
		}
		if subject != want || !strings.HasPrefix(text, m.Text) {
			t.Errorf("%s: subject %q, text %q; want %q and the message", lang, subject, text, want)
		}
	}
}

// TestRenderCodeChanged: the notice of a rotated code says, in both parts
// and in each language, that the earlier code no longer works; a first
// notice does not.
func TestRenderCodeChanged(t *testing.T) {
	t.Parallel()
	for lang, want := range map[string]string{
		"fi": "Koodi on vaihdettu: aiempi koodi ei enää toimi.",
		"sv": "Koden har bytts: den tidigare koden fungerar inte längre.",
		"en": "The code has been changed: the earlier code no longer works.",
	} {
		m := counterArrival(lang)
		_, text, html, err := Render(m)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(text, want) || strings.Contains(html, want) {
			t.Errorf("%s: a first notice says the code changed", lang)
		}
		m.Parcel.CodeChanged = true
		_, text, html, err = Render(m)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, want) || !strings.Contains(html, want) {
			t.Errorf("%s: a rotated code's notice does not say %q:\n%s", lang, want, text)
		}
	}
}
